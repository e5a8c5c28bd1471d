/* beat_run_io — the BEAT stage-1 run directory: tokens, codebooks, usage, metrics, logs,
 * split and manifest, each written atomically inside a staged directory (beat_run.h). */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_json.h"
#include "models/beat/beat_run_internal.h"
#include "models/nn/nn_safetensors.h"

/* ------------------------------------------------------------------------------------------
 * State */

void beat_run_state_init(beat_run_state *st, const beat_model *m) {
    memset(st, 0, sizeof *st);
    st->best = bb_malloc(((size_t)m->params->total + 1) * sizeof(float));
    memcpy(st->best, m->params->data, (size_t)m->params->total * sizeof(float));
    const size_t W = (size_t)m->T * (size_t)m->d;
    st->rec[0] = bb_malloc(((size_t)m->n_users * W + 1) * sizeof(float));
    st->rec[1] = bb_malloc(((size_t)m->n_items * W + 1) * sizeof(float));
    st->tokens[0] = bb_malloc(((size_t)m->n_users * (1 + (size_t)m->T) + 1) * sizeof(int32_t));
    st->tokens[1] = bb_malloc(((size_t)m->n_items * (1 + (size_t)m->T) + 1) * sizeof(int32_t));
    for (int k = 0; k < BEAT_N_CODEBOOKS; k++)
        st->counts[k] = bb_calloc((size_t)m->K + 1, sizeof(int64_t));
    st->metrics = open_memstream(&st->metrics_buf, &st->metrics_len);
    st->log = open_memstream(&st->log_buf, &st->log_len);
    BB_ASSERT(st->metrics && st->log, "beat: open_memstream failed");
    fprintf(st->metrics, "epoch,split,metric,k,value\n");
    fprintf(st->log, "epoch,seconds,loss,vq,orth,rec,macro,micro,selection_value\n");
}

void beat_run_state_free(beat_run_state *st) {
    if (st->metrics) fclose(st->metrics);
    if (st->log) fclose(st->log);
    free(st->metrics_buf), free(st->log_buf), free(st->best);
    for (int s = 0; s < 2; s++) free(st->rec[s]), free(st->tokens[s]);
    for (int k = 0; k < BEAT_N_CODEBOOKS; k++) free(st->counts[k]);
    memset(st, 0, sizeof *st);
}

void beat_run_usage(const beat_model *m, beat_run_state *st, beat_run_result *res) {
    const int T = m->T;
    for (int s = 0; s < 2; s++) {
        const int32_t n = s == BEAT_USER ? m->n_users : m->n_items;
        for (int kind = 0; kind < 2; kind++) {
            const int cb = s * 2 + kind;
            res->has_codebook[cb] = m->side[s].codebook[kind] != NULL;
            if (!res->has_codebook[cb]) continue;
            int64_t *c = st->counts[cb];
            memset(c, 0, (size_t)m->K * sizeof *c);
            for (int32_t e = 0; e < n; e++) {
                const int32_t *row = st->tokens[s] + (size_t)e * (1 + (size_t)T);
                if (kind == BEAT_MACRO)
                    c[row[0]]++;
                else
                    for (int k = 0; k < T; k++) c[row[1 + k]]++;
            }
            res->usage[cb] = beat_usage_summarise(c, m->K);
        }
    }
}

/* ------------------------------------------------------------------------------------------
 * Files */

static int write_stream(const char *dir, const char *name, FILE *fp, char **buf, size_t *len,
                        bb_error *err) {
    fflush(fp);
    return bb_write_in_dir(dir, name, *buf, *len, err);
}

static int write_tokens(const char *dir, const beat_model *m, const beat_run_state *st,
                        bb_error *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    BB_ASSERT(fp, "beat: open_memstream failed");
    fprintf(fp, "kind,id,macro");
    for (int k = 1; k <= m->T; k++) fprintf(fp, ",micro_%d", k);
    fputc('\n', fp);
    for (int s = 0; s < 2; s++) {
        const int32_t n = s == BEAT_USER ? m->n_users : m->n_items;
        for (int32_t e = 0; e < n; e++) {
            const int32_t *row = st->tokens[s] + (size_t)e * (1 + (size_t)m->T);
            fprintf(fp, "%s,%d", s == BEAT_USER ? "user" : "item", e);
            for (int k = 0; k <= m->T; k++) {
                if (row[k] >= 0)
                    fprintf(fp, ",%d", row[k]);
                else
                    fputc(',', fp);
            }
            fputc('\n', fp);
        }
    }
    fclose(fp);
    int rc = bb_write_in_dir(dir, "tokens.csv", buf, len, err);
    free(buf);
    return rc;
}

static int write_usage(const char *dir, const beat_model *m, const beat_run_state *st,
                       const beat_run_result *res, bb_error *err) {
    char *buf = NULL, *sbuf = NULL;
    size_t len = 0, slen = 0;
    FILE *fp = open_memstream(&buf, &len), *sp = open_memstream(&sbuf, &slen);
    BB_ASSERT(fp && sp, "beat: open_memstream failed");
    fprintf(fp, "codebook,code,count\n");
    fprintf(sp, "codebook,tokens,used,dead_codes,perplexity\n");
    for (int cb = 0; cb < BEAT_N_CODEBOOKS; cb++) {
        if (!res->has_codebook[cb]) continue;
        for (int k = 0; k < m->K; k++)
            fprintf(fp, "%s,%d,%" PRId64 "\n", beat_codebook_name(cb), k, st->counts[cb][k]);
        const beat_usage_summary *u = &res->usage[cb];
        fprintf(sp, "%s,%" PRId64 ",%d,%d,%.17g\n", beat_codebook_name(cb), u->total, u->used,
                u->dead, u->perplexity);
    }
    fclose(fp);
    fclose(sp);
    int rc = bb_write_in_dir(dir, "usage.csv", buf, len, err);
    if (rc == BB_OK) rc = bb_write_in_dir(dir, "codebook_stats.csv", sbuf, slen, err);
    free(buf);
    free(sbuf);
    return rc;
}

static int write_codebooks(const char *dir, const beat_model *m, const beat_run_opts *o,
                           bb_error *err) {
    const char *names[8];
    const nn_tensor *tensors[8];
    char name_buf[8][48];
    int n = 0;
    for (int s = 0; s < 2; s++)
        for (int kind = 0; kind < 2; kind++) {
            const char *who = s == BEAT_USER ? "user" : "item";
            const char *what = kind == BEAT_MACRO ? "macro" : "micro";
            if (m->side[s].codebook[kind]) {
                snprintf(name_buf[n], sizeof name_buf[n], "%s_%s_codebook", who, what);
                names[n] = name_buf[n];
                tensors[n++] = m->side[s].codebook[kind];
            }
            if (m->side[s].map[kind]) {
                snprintf(name_buf[n], sizeof name_buf[n], "%s_%s_map", who, what);
                names[n] = name_buf[n];
                tensors[n++] = m->side[s].map[kind];
            }
        }
    char T[16], t[16], K[16], d[16], seed[32];
    snprintf(T, sizeof T, "%d", m->T), snprintf(t, sizeof t, "%d", m->t);
    snprintf(K, sizeof K, "%d", m->K), snprintf(d, sizeof d, "%d", m->d);
    snprintf(seed, sizeof seed, "%" PRIu64, o->seed);
    const char *meta[] = {"format", "beatbench-beat-stage1", "token_len", T, "token_dim", t,
                          "codebook_size", K, "d", d, "seed", seed, "beatbench",
                          o->version ? o->version : "unknown",
                          "macro", m->cfg.no_macro ? "0" : "1", "micro", m->cfg.no_micro ? "0" : "1",
                          "continuous", m->cfg.continuous ? "1" : "0", NULL};
    char *path = bb_path_join(dir, "codebooks.safetensors");
    int rc = nn_st_write(path, names, tensors, n, meta, err);
    free(path);
    return rc;
}

/* Rows x (n, w) -> x / max(||x||, 1e-12), as the quantisers' normalisation (beat_vq.h). */
static void normalise_rows(float *x, int64_t n, int w) {
    for (int64_t r = 0; r < n; r++) {
        float *row = x + (size_t)r * (size_t)w;
        double ss = 0.0;
        for (int c = 0; c < w; c++) ss += (double)row[c] * row[c];
        const float inv = (float)(1.0 / fmax(sqrt(ss), 1e-12));
        for (int c = 0; c < w; c++) row[c] *= inv;
    }
}

/* continuous.safetensors (stage-1 ablation continuous): what the slots of stage 2 carry in
 * place of codewords, the normalised projections of the kept parameters — "{user,item}_macro"
 * (n, d) = normalise(x W_macro) and "{user,item}_micro" (n, T, d) with row k =
 * normalise(x_k W_micro_k), x = the entity's propagated D-vector (chunks x_k of t), as in the
 * stage-1 forward pass (beat_stage1.h). Propagated here with a plan of our own (m is const);
 * the product runs in sgemm. */
static int write_continuous(const char *dir, const beat_model *m, bb_error *err) {
    const int T = m->T, t = m->t, D = m->D, d = m->d;
    const size_t N = (size_t)m->n_nodes, chunk = N * (size_t)t;
    float *F = bb_malloc((size_t)T * chunk * sizeof *F + 1);
    lgcn_plan plan;
    lgcn_plan_init(&plan, &m->adj, t, m->cfg.layers, m->pool);
    for (int k = 0; k < T; k++)
        lgcn_propagate(&plan, m->ego->data + (size_t)k * chunk, F + (size_t)k * chunk, 0);
    lgcn_plan_free(&plan);
    nn_tensor *out[4] = {NULL, NULL, NULL, NULL};
    const char *names[4];
    int n_out = 0;
    for (int s = 0; s < 2; s++) {
        const beat_side *sd = &m->side[s];
        const int64_t n = sd->n;
        const float *rows0 = F + (size_t)sd->node0 * (size_t)t; /* chunk 0 of entity 0 */
        if (sd->map[BEAT_MACRO]) {
            float *x = bb_malloc((size_t)n * (size_t)D * sizeof *x + 1);
            for (int64_t e = 0; e < n; e++)
                for (int k = 0; k < T; k++)
                    memcpy(x + (size_t)e * D + (size_t)k * t, rows0 + (size_t)k * chunk + (size_t)e * t,
                           (size_t)t * sizeof *x);
            nn_tensor *z = nn_tensor_new2(n, d, 0);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, d, D, 1.0f, x, D,
                        sd->map[BEAT_MACRO]->data, d, 0.0f, z->data, d);
            normalise_rows(z->data, n, d);
            free(x);
            names[n_out] = s == BEAT_USER ? "user_macro" : "item_macro";
            out[n_out++] = z;
        }
        if (sd->map[BEAT_MICRO]) {
            nn_tensor *z = nn_tensor_new(3, (int64_t[]){n, T, d}, 0);
            for (int k = 0; k < T; k++) /* chunk k of every entity is contiguous (ldA = t) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, d, t, 1.0f,
                            rows0 + (size_t)k * chunk, t, sd->map[BEAT_MICRO]->data + (size_t)k * t * d,
                            d, 0.0f, z->data + (size_t)k * d, T * d);
            normalise_rows(z->data, n * T, d);
            names[n_out] = s == BEAT_USER ? "user_micro" : "item_micro";
            out[n_out++] = z;
        }
    }
    free(F);
    char T_s[16], d_s[16];
    snprintf(T_s, sizeof T_s, "%d", T), snprintf(d_s, sizeof d_s, "%d", d);
    const char *meta[] = {"format", "beatbench-beat-stage1-continuous", "token_len", T_s, "d", d_s,
                          NULL};
    char *path = bb_path_join(dir, "continuous.safetensors");
    int rc = nn_st_write(path, names, (const nn_tensor *const *)out, n_out, meta, err);
    free(path);
    for (int k = 0; k < n_out; k++) nn_tensor_free(out[k]);
    return rc;
}

static void add_hash(cJSON *obj, const char *key, uint64_t h) {
    char s[40];
    snprintf(s, sizeof s, "fnv1a64:%016" PRIx64, h);
    cJSON_AddStringToObject(obj, key, s);
}

static int write_manifest(const char *dir, const beat_config *cfg, const beat_run_opts *o,
                          const beat_inputs *in, const beat_model *m,
                          const beat_run_result *res, bb_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "command", "beat tokenize");
    cJSON_AddStringToObject(root, "version", o->version ? o->version : "unknown");
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, o->seed);
    cJSON_AddStringToObject(root, "seed", seed);
    cJSON_AddNumberToObject(root, "threads", o->threads);
    cJSON *c = o->config_json ? cJSON_Parse(o->config_json) : NULL;
    cJSON_AddItemToObject(root, "config", c ? c : cJSON_CreateNull());
    cJSON *sel = cJSON_AddObjectToObject(root, "selection");
    cJSON_AddStringToObject(sel, "split", res->select_on_test ? "test" : "valid");
    char metric[32];
    snprintf(metric, sizeof metric, "hr_micro@%d", cfg->select_k);
    cJSON_AddStringToObject(sel, "metric", metric);
    if (res->select_on_test)
        cJSON_AddStringToObject(sel, "warning",
                                "epoch selected on TEST metrics (the released BEAT code's "
                                "behaviour); test numbers are optimistically biased");
    cJSON *text = cJSON_AddObjectToObject(root, "text");
    cJSON_AddStringToObject(text, "encoder", o->encoder ? o->encoder->name : "none");
    if (o->lm_desc) cJSON_AddStringToObject(text, "lm", o->lm_desc);
    cJSON_AddNumberToObject(text, "d", m->d);
    if (in->have_tf) {
        cJSON_AddNumberToObject(text, "train_explanations", in->tf.n_sent);
        cJSON_AddNumberToObject(text, "users_with_phrases", in->tf.side[0].n_rows);
        cJSON_AddNumberToObject(text, "items_with_phrases", in->tf.side[1].n_rows);
        cJSON_AddNumberToObject(text, "phrases_encoded",
                                (double)(in->tf.side[0].n_phrases + in->tf.side[1].n_phrases));
    }
    cJSON *data = cJSON_AddObjectToObject(root, "data");
    cJSON_AddStringToObject(data, "dir", o->data_dir);
    add_hash(data, "hash", res->data_hash);
    cJSON_AddStringToObject(data, "split", o->split_path ? o->split_path : "made from the seed");
    if (in->have_split) add_hash(data, "split_hash", res->split_hash);
    cJSON_AddNumberToObject(data, "n_users", in->ds.n_users);
    cJSON_AddNumberToObject(data, "n_items", in->ds.n_items);
    cJSON_AddNumberToObject(data, "n_train", (double)in->ds.train.n);
    add_hash(root, "input_hash", res->input_hash);
    cJSON *r = cJSON_AddObjectToObject(root, "result");
    cJSON_AddNumberToObject(r, "epochs_run", res->epochs_run);
    cJSON_AddNumberToObject(r, "best_epoch", res->best_epoch);
    cJSON *cbs = cJSON_AddObjectToObject(r, "codebooks");
    for (int k = 0; k < BEAT_N_CODEBOOKS; k++) {
        if (!res->has_codebook[k]) continue;
        cJSON *one = cJSON_AddObjectToObject(cbs, beat_codebook_name(k));
        cJSON_AddNumberToObject(one, "perplexity", res->usage[k].perplexity);
        cJSON_AddNumberToObject(one, "dead_codes", res->usage[k].dead);
        cJSON_AddNumberToObject(one, "used", res->usage[k].used);
    }
    cJSON *tm = cJSON_AddObjectToObject(root, "timings");
    cJSON_AddNumberToObject(tm, "seconds_per_epoch", res->seconds_per_epoch);
    cJSON *ep = cJSON_AddArrayToObject(tm, "epoch_seconds");
    for (int e = 0; e < res->epochs_run; e++)
        cJSON_AddItemToArray(ep, cJSON_CreateNumber(res->epoch_seconds[e]));
    cJSON_AddNumberToObject(tm, "eval_seconds", res->eval_seconds);
    cJSON_AddNumberToObject(tm, "total_seconds", res->total_seconds);
    cJSON_AddNumberToObject(root, "peak_rss_mb", res->peak_rss_mb);
    int rc = bb_json_write_in_dir(dir, "manifest.json", root, err);
    cJSON_Delete(root);
    return rc;
}

int beat_run_write(const char *out_dir, const beat_config *cfg, const beat_run_opts *o,
                   const beat_inputs *in, const beat_model *m, beat_run_state *st,
                   const beat_run_result *res, bb_error *err) {
    bb_stage_dir sd;
    if (bb_stage_dir_begin(&sd, out_dir, err) != BB_OK) return BB_ERR;
    const char *dir = sd.staging;
    int rc = write_tokens(dir, m, st, err);
    if (rc == BB_OK) rc = write_codebooks(dir, m, o, err);
    if (rc == BB_OK && m->cfg.continuous) rc = write_continuous(dir, m, err);
    if (rc == BB_OK) rc = write_usage(dir, m, st, res, err);
    if (rc == BB_OK)
        rc = write_stream(dir, "metrics.csv", st->metrics, &st->metrics_buf, &st->metrics_len, err);
    if (rc == BB_OK)
        rc = write_stream(dir, "train_log.csv", st->log, &st->log_buf, &st->log_len, err);
    if (rc == BB_OK && in->have_split) {
        char *p = bb_path_join(dir, "split.csv");
        rc = bb_split_write(&in->split, p, err);
        free(p);
    }
    if (rc == BB_OK) rc = write_manifest(dir, cfg, o, in, m, res, err);
    if (rc == BB_OK) return bb_stage_dir_commit(&sd, err);
    bb_stage_dir_abort(&sd);
    return BB_ERR;
}
