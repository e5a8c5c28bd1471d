/* run_output — scoring and the run directory of `run` / `beat explain` (run_driver.h). */
#include <cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/csv_reader.h"
#include "harness/cli.h"
#include "harness/lm_vectors.h"
#include "harness/run_internal.h"
#include "models/base/bb_io.h"
#include "models/base/bb_json.h"
#include "models/base/bb_time.h"
#include "models/beat/beat_explain.h"
#include "models/beat/beat_explain_log.h"
#include "models/lm/lm_encode.h"

/* ------------------------------------------------------------------------------------------
 * Scoring */

int bb_run_score(bb_run_state *st, const bb_run_config *cfg, const bb_run_opts *o,
                 bb_run_result *res, bb_error *err) {
    const size_t n = st->out.n;
    const char **refs = bb_malloc((n ? n : 1) * sizeof *refs);
    const char **cands = bb_malloc((n ? n : 1) * sizeof *cands);
    size_t *ref_lens = bb_malloc((n ? n : 1) * sizeof *ref_lens);
    size_t *cand_lens = bb_malloc((n ? n : 1) * sizeof *cand_lens);
    for (size_t k = 0; k < n; k++) {
        refs[k] = st->task_ex->rows[st->out.row[k]].explanation;
        cands[k] = st->out.generated[k] ? st->out.generated[k] : "";
        ref_lens[k] = strlen(refs[k]);
        cand_lens[k] = strlen(cands[k]);
    }
    text_score_options opt = text_score_defaults();
    opt.threads = o->threads;
    bb_lm_vectors vec;
    bertstyle_source src;
    if (cfg->bertscore && st->have_lm) {
        src = bb_lm_vector_source(&vec, st->lm.model, st->lm.tok, st->lm.model->arch.n_layers);
        opt.vectors = &src;
    }
    int rc = text_score_compute(refs, ref_lens, cands, cand_lens, n, &opt, &res->score, err);
    if (rc == BB_OK) text_score_signature(&opt, BB_VERSION, res->signature, sizeof res->signature);
    free(refs), free(cands), free(ref_lens), free(cand_lens);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Files */

static void num(FILE *out, const char *key, double v) {
    fprintf(out, ", \"%s\": ", key);
    bb_json_number(out, v);
}

void bb_run_print_metrics(FILE *out, const bb_run_result *res) {
    const text_score_result *r = &res->score;
    fprintf(out, "{\"method\": ");
    bb_json_string(out, res->method);
    fprintf(out, ", \"seed\": %" PRIu64 ", \"n\": %zu", res->seed, r->n);
    static const char *const bleu_keys[] = {"bleu1", "bleu2", "bleu3", "bleu4"};
    for (int k = 0; k < BLEU_MAX_ORDER; k++) num(out, bleu_keys[k], r->bleu[k]);
    num(out, "bleu4_sentence_mean", r->bleu4_sentence_mean);
    static const char *const names[] = {"rouge1", "rouge2", "rougeL", "rougeLsum"};
    const rouge_prf *prf[] = {&r->rouge1, &r->rouge2, &r->rougeL, &r->rougeLsum};
    for (int k = 0; k < 4; k++) {
        char key[32];
        snprintf(key, sizeof key, "%s_p", names[k]);
        num(out, key, prf[k]->precision);
        snprintf(key, sizeof key, "%s_r", names[k]);
        num(out, key, prf[k]->recall);
        snprintf(key, sizeof key, "%s_f", names[k]);
        num(out, key, prf[k]->fmeasure);
    }
    num(out, "distinct1", r->distinct1);
    num(out, "distinct2", r->distinct2);
    num(out, "usr", r->usr);
    num(out, "len_mean", r->len_mean);
    if (r->has_bertstyle) {
        num(out, "bertscore_p", r->bertstyle_p);
        num(out, "bertscore_r", r->bertstyle_r);
        num(out, "bertscore_f", r->bertstyle_f);
    }
    fprintf(out, ", \"signature\": ");
    bb_json_string(out, res->signature);
    fprintf(out, "}\n");
}

static int write_memstream(const char *dir, const char *name, FILE *fp, char **buf, size_t *len,
                           bb_error *err) {
    fclose(fp);
    char *path = bb_path_join(dir, name);
    int rc = bb_write_file_atomic(path, *buf, *len, err);
    free(path);
    free(*buf);
    *buf = NULL;
    return rc;
}

static int write_generations(const char *dir, const bb_run_state *st, bb_error *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    BB_ASSERT(fp, "run: open_memstream failed");
    fprintf(fp, "uid,iid,reference,generated\n");
    for (size_t k = 0; k < st->out.n; k++) {
        const bb_explanation *row = &st->task_ex->rows[st->out.row[k]];
        fprintf(fp, "%d,%d,", row->uid, row->iid);
        bb_csv_write_field(fp, row->explanation);
        fputc(',', fp);
        bb_csv_write_field(fp, st->out.generated[k] ? st->out.generated[k] : "");
        fputc('\n', fp);
    }
    return write_memstream(dir, "generations.csv", fp, &buf, &len, err);
}

static void add_hash(cJSON *obj, const char *key, uint64_t h) {
    char s[40];
    snprintf(s, sizeof s, "fnv1a64:%016" PRIx64, h);
    cJSON_AddStringToObject(obj, key, s);
}

static void add_artifact(cJSON *root, const char *key, const char *dir, int made, double seconds) {
    cJSON *a = cJSON_AddObjectToObject(root, key);
    cJSON_AddStringToObject(a, "dir", dir);
    cJSON_AddBoolToObject(a, "made_now", made);
    cJSON_AddNumberToObject(a, "seconds", seconds);
}

static int write_manifest(const char *dir, const bb_run_state *st, const bb_run_config *cfg,
                          const bb_run_opts *o, const bb_run_result *res, bb_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "command", o->command ? o->command : "run");
    cJSON_AddStringToObject(root, "version", BB_VERSION);
    cJSON_AddStringToObject(root, "method", cfg->method);
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, o->seed);
    cJSON_AddStringToObject(root, "seed", seed);
    cJSON_AddNumberToObject(root, "threads", o->threads);
    cJSON_AddStringToObject(root, "data_dir", o->data_dir);
    add_hash(root, "data_hash", st->data_hash);
    cJSON_AddStringToObject(root, "domain", st->domain);
    cJSON *split = cJSON_AddObjectToObject(root, "split");
    cJSON_AddStringToObject(split, "path", st->split_path);
    add_hash(split, "hash", st->split_hash);
    cJSON_AddNumberToObject(split, "train", (double)st->split.n_train);
    cJSON_AddNumberToObject(split, "valid", (double)st->split.n_valid);
    cJSON_AddNumberToObject(split, "test", (double)st->split.n_test);
    cJSON_AddNumberToObject(split, "test_users", (double)st->split.n_test_users);
    cJSON *rows = cJSON_AddObjectToObject(root, "task_rows");
    cJSON *caps = cJSON_AddObjectToObject(rows, "caps");
    cJSON_AddNumberToObject(caps, "train", cfg->task.max_train_rows);
    cJSON_AddNumberToObject(caps, "valid", cfg->task.max_valid_rows);
    cJSON_AddNumberToObject(caps, "test", cfg->task.max_test_rows);
    cJSON *used = cJSON_AddObjectToObject(rows, "used");
    cJSON_AddNumberToObject(used, "train", (double)st->task_split->n_train);
    cJSON_AddNumberToObject(used, "valid", (double)st->task_split->n_valid);
    cJSON_AddNumberToObject(used, "test", (double)st->task_split->n_test);
    const int soft_prompt = strcmp(cfg->method, "beat") == 0 || strcmp(cfg->method, "id-prompt") == 0 ||
                            strcmp(cfg->method, "xrec") == 0;
    if (soft_prompt) {
        cJSON_AddStringToObject(root, "prompt", beat_explain_template(st->domain));
        cJSON_AddNumberToObject(root, "slots_per_side", st->slots);
    }
    char *cfg_json = bb_run_config_json(cfg);
    cJSON *parsed = cJSON_Parse(cfg_json);
    free(cfg_json);
    if (parsed) cJSON_AddItemToObject(root, "config", parsed);
    if (st->have_lm) {
        add_artifact(root, "lm", st->lm_dir, st->lm_made, st->lm_seconds);
        add_hash(cJSON_GetObjectItem(root, "lm"), "hash", st->lm_hash);
    }
    if (st->stage1_dir) {
        add_artifact(root, "stage1", st->stage1_dir, st->stage1_made, st->stage1_seconds);
        if (st->stage1_key) add_hash(cJSON_GetObjectItem(root, "stage1"), "key", st->stage1_key);
    }
    if (st->gcn_dir) add_artifact(root, "lightgcn", st->gcn_dir, st->gcn_made, st->gcn_seconds);
    cJSON_AddNumberToObject(root, "epochs_run", res->epochs_run);
    cJSON_AddNumberToObject(root, "best_epoch", res->best_epoch);
    if (isfinite(res->best_valid_loss)) {
        /* 17 digits (cJSON prints 15 when they look close enough): the exact value, equal to
         * the kept epoch's valid_loss in train_log.csv */
        char v[40];
        snprintf(v, sizeof v, "%.17g", res->best_valid_loss);
        cJSON_AddRawToObject(root, "best_valid_loss", v);
    } else {
        cJSON_AddNullToObject(root, "best_valid_loss");
    }
    cJSON *t = cJSON_AddObjectToObject(root, "seconds");
    cJSON_AddNumberToObject(t, "train", res->train_seconds);
    cJSON_AddNumberToObject(t, "generate", res->generate_seconds);
    cJSON_AddNumberToObject(t, "score", st->score_seconds);
    cJSON_AddNumberToObject(t, "total", res->total_seconds);
    cJSON_AddNumberToObject(root, "peak_rss_mb", bb_peak_rss_mb());
    cJSON_AddStringToObject(root, "signature", res->signature);
    int rc = bb_json_write_in_dir(dir, "manifest.json", root, err);
    cJSON_Delete(root);
    return rc;
}

/* train_log.csv: written by every method with epochs into the staged directory (the task's
 * work_dir); retrieval has none, so its file is the header alone (the same file set in every
 * explanation run directory). */
static int check_train_log(const char *dir, const bb_run_config *cfg, bb_error *err) {
    if (strcmp(cfg->method, "retrieval") == 0) {
        const beat_train_log empty = {0};
        return beat_train_log_write(dir, &empty, err);
    }
    char *path = bb_path_join(dir, "train_log.csv");
    const int present = bb_path_exists(path);
    free(path);
    if (!present) return bb_fail(err, "run: method %s wrote no train_log.csv", cfg->method);
    return BB_OK;
}

int bb_run_write(const char *dir, const bb_run_state *st, const bb_run_config *cfg,
                 const bb_run_opts *o, const bb_run_result *res, bb_error *err) {
    if (check_train_log(dir, cfg, err) != BB_OK) return BB_ERR;
    if (write_generations(dir, st, err) != BB_OK) return BB_ERR;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    BB_ASSERT(fp, "run: open_memstream failed");
    bb_run_print_metrics(fp, res);
    if (write_memstream(dir, "metrics.json", fp, &buf, &len, err) != BB_OK) return BB_ERR;
    return write_manifest(dir, st, cfg, o, res, err);
}
