/* run_driver — one dataset x method x seed, end to end (run_driver.h). The run directory's
 * writers are in run_output.c. */
#include "harness/run_driver.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/id_prompt.h"
#include "baselines/nrt.h"
#include "baselines/peter.h"
#include "baselines/retrieval.h"
#include "baselines/xrec_style.h"
#include "datasets/dataset.h"
#include "datasets/explain_task.h"
#include "datasets/split.h"
#include "datasets/train_text.h"
#include "harness/cli.h"
#include "harness/run_internal.h"
#include "harness/run_stage1.h"
#include "models/base/bb_hash.h"
#include "models/base/bb_io.h"
#include "models/base/bb_time.h"
#include "models/beat/beat_explain_beat.h"
#include "models/beat/beat_lm_cache.h"
#include "models/beat/beat_run.h"
#include "models/beat/beat_text.h"
#include "models/lm/lm_io.h"
#include "models/nn/nn_safetensors.h"

void bb_run_note(const char *fmt, ...) {
    const char *q = getenv("BB_QUIET");
    if (q && *q && strcmp(q, "0") != 0) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

void bb_run_result_free(bb_run_result *res) {
    if (!res) return;
    text_score_result_free(&res->score);
    memset(res, 0, sizeof *res);
}

static int uses_lm(const char *method) {
    return strcmp(method, "beat") == 0 || strcmp(method, "id-prompt") == 0 || strcmp(method, "xrec") == 0;
}

/* ------------------------------------------------------------------------------------------
 * Inputs */

static int load_inputs(bb_run_state *st, const bb_run_opts *o, bb_error *err) {
    if (bb_dataset_load(o->data_dir, &st->ds, err) != BB_OK) return BB_ERR;
    st->have_ds = 1;
    char *ex_path = bb_path_join(o->data_dir, "explanations.csv");
    int rc = bb_explanations_load(ex_path, &st->ex, err);
    free(ex_path);
    if (rc != BB_OK) return BB_ERR;
    st->have_ex = 1;
    /* a pair naming a user or item the dataset does not have is a data error, named by row */
    if (bb_explanations_check_ids(&st->ex, st->ds.n_users, st->ds.n_items, err) != BB_OK) return BB_ERR;
    if (bb_split_load(st->split_path, &st->ex, &st->split, err) != BB_OK) return BB_ERR;
    st->have_split = 1;
    if (st->split.n_test == 0)
        return bb_fail(err, "%s: no test rows: nothing to explain", st->split_path);
    bb_leakage_report rep;
    if (bb_leakage_check(&st->ex, &st->split, &rep, err) != BB_OK) return BB_ERR;
    /* the data hash: the four files a method may read */
    uint64_t h = BB_HASH_INIT;
    static const char *const files[] = {"train.csv", "valid.csv", "test.csv", "explanations.csv"};
    for (size_t k = 0; k < 4; k++) {
        char *p = bb_path_join(o->data_dir, files[k]);
        rc = bb_hash_file(p, &h, err);
        free(p);
        if (rc != BB_OK) return BB_ERR;
    }
    st->data_hash = h;
    st->split_hash = BB_HASH_INIT;
    return bb_hash_file(st->split_path, &st->split_hash, err);
}

static int resolve_split(bb_run_state *st, const bb_run_opts *o, bb_error *err) {
    if (o->split_path) {
        st->split_path = bb_strdup(o->split_path);
        return BB_OK;
    }
    if (o->tokens_dir) { /* the split stage 1 ran on */
        st->split_path = bb_path_join(o->tokens_dir, "split.csv");
        if (!bb_path_exists(st->split_path))
            return bb_fail(err, "%s: not found (is %s a `beat tokenize` run directory?)",
                           st->split_path, o->tokens_dir);
        return BB_OK;
    }
    int made = 0;
    if (beat_split_cached(st->cache_dir, o->data_dir, o->seed, &st->split_path, &made, err) != BB_OK)
        return BB_ERR;
    bb_run_note("run: zero-shot split %s %s\n", made ? "made in" : "reused from", st->split_path);
    return BB_OK;
}

static int hash_lm_dir(const char *dir, uint64_t *h, bb_error *err) {
    static const char *const files[] = {"config.json", "tokenizer.json", "model.safetensors"};
    *h = BB_HASH_INIT;
    for (size_t k = 0; k < 3; k++) {
        char *p = bb_path_join(dir, files[k]);
        int rc = bb_hash_file(p, h, err);
        free(p);
        if (rc != BB_OK) return BB_ERR;
    }
    return BB_OK;
}

static int resolve_lm(bb_run_state *st, const bb_run_config *cfg, const bb_run_opts *o, bb_error *err) {
    const double t0 = bb_now();
    if (o->lm_dir) {
        st->lm_dir = bb_strdup(o->lm_dir);
    } else {
        lm_config lc = lm_config_default();
        if (o->lm_config) {
            lc = *o->lm_config;
        } else if (cfg->lm_config[0]) {
            char *text = NULL;
            if (bb_read_file(cfg->lm_config, &text, NULL, err) != BB_OK) return BB_ERR;
            int rc = lm_config_parse_json(cfg->lm_config, text, &lc, err);
            free(text);
            if (rc != BB_OK) return BB_ERR;
        }
        if (beat_lm_cached(st->cache_dir, o->data_dir, st->split_path, &lc, o->seed, o->threads,
                           BB_VERSION, &st->lm_dir, &st->lm_made, err) != BB_OK)
            return BB_ERR;
        bb_run_note("run: LM %s %s\n", st->lm_made ? "pretrained into" : "reused from", st->lm_dir);
    }
    if (lm_bundle_load(st->lm_dir, &st->lm, err) != BB_OK) return BB_ERR;
    st->have_lm = 1;
    lm_set_threads(st->lm.model, o->threads);
    st->lm_seconds = bb_now() - t0;
    return hash_lm_dir(st->lm_dir, &st->lm_hash, err);
}

/* Stage 1 from the cache, keyed by everything that decides its tokens. */
static int resolve_stage1(bb_run_state *st, const bb_run_opts *o, bb_error *err) {
    const double t0 = bb_now();
    if (o->tokens_dir) {
        st->stage1_dir = bb_strdup(o->tokens_dir);
        return BB_OK;
    }
    char *s1json = bb_run_stage1_config_json(&st->stage1);
    uint64_t h = bb_hash_bytes(&st->data_hash, sizeof st->data_hash, BB_HASH_INIT);
    h = bb_hash_bytes(&st->split_hash, sizeof st->split_hash, h);
    h = bb_hash_bytes(s1json, strlen(s1json), h);
    h = bb_hash_bytes(&st->lm_hash, sizeof st->lm_hash, h);
    h = bb_hash_bytes(&o->seed, sizeof o->seed, h);
    h = bb_hash_bytes(&o->threads, sizeof o->threads, h);
    h = bb_hash_bytes(BB_VERSION, strlen(BB_VERSION), h);
    st->stage1_key = h;
    char name[64];
    snprintf(name, sizeof name, "stage1-%016" PRIx64, h);
    st->stage1_dir = bb_path_join(st->cache_dir, name);
    int lock = -1;
    if (bb_lock_entry(st->stage1_dir, &lock, err) != BB_OK) {
        free(s1json);
        return BB_ERR;
    }
    char *tokens = bb_path_join(st->stage1_dir, "tokens.csv");
    const int present = bb_path_exists(tokens);
    free(tokens);
    int rc = BB_OK;
    if (!present) {
        bb_run_note("run: BEAT stage 1 into %s\n", st->stage1_dir);
        beat_lm_ctx ctx = {st->lm.model, st->lm.tok};
        beat_text_encoder enc;
        beat_lm_encoder(&enc, &ctx);
        beat_run_opts ro = {o->data_dir, st->split_path, st->stage1_dir, &enc, o->seed, o->threads,
                            BB_VERSION, s1json, st->lm_dir};
        beat_run_result r1;
        rc = bb_mkdir_p(st->cache_dir, err);
        if (rc == BB_OK) rc = beat_run_execute(&st->stage1, &ro, &r1, err);
        if (rc == BB_OK) {
            beat_run_result_free(&r1);
            st->stage1_made = 1;
        }
    } else {
        bb_run_note("run: BEAT stage 1 reused from %s\n", st->stage1_dir);
    }
    bb_lock_release(lock);
    free(s1json);
    st->stage1_seconds = bb_now() - t0;
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * The method */

/* 1 + T of a stage-1 run (its codebooks' metadata), for the manifest. */
static int stage1_slots(const char *dir, int *slots, bb_error *err) {
    char *path = bb_path_join(dir, "codebooks.safetensors");
    nn_safetensors f;
    int rc = nn_st_open(&f, path, err);
    free(path);
    const char *t = rc == BB_OK ? nn_st_meta(&f, "token_len") : NULL;
    if (t) *slots = 1 + atoi(t);
    nn_st_close(&f);
    return rc;
}

static int run_method(bb_run_state *st, const bb_run_config *cfg, const bb_run_opts *o,
                      const char *work_dir, bb_error *err) {
    const bb_explain_task task = {&st->ds, &st->ex, &st->split, st->domain, o->seed, o->threads, work_dir};
    const char *m = cfg->method;
    const int slots = 1 + st->stage1.token_len; /* BEAT's: the prompts stay identical */
    if (strcmp(m, "beat") == 0) {
        if (resolve_stage1(st, o, err) != BB_OK) return BB_ERR;
        if (beat_explain_run(&task, &cfg->explain, st->stage1_dir, st->lm.model, st->lm.tok,
                             &st->out, err) != BB_OK)
            return BB_ERR;
        return stage1_slots(st->stage1_dir, &st->slots, err);
    }
    if (strcmp(m, "id-prompt") == 0) {
        bb_id_prompt_config c = cfg->id_prompt;
        if (c.slots == 0) c.slots = slots;
        st->slots = c.slots;
        return bb_id_prompt_explain(&task, &cfg->explain, &c, st->lm.model, st->lm.tok, &st->out, err);
    }
    if (strcmp(m, "xrec") == 0) {
        bb_xrec_config c = cfg->xrec;
        if (c.slots == 0) c.slots = slots;
        st->slots = c.slots;
        const double t0 = bb_now();
        bb_xrec_embeddings emb;
        if (bb_xrec_embeddings_cached(o->data_dir, &c, o->seed, o->threads, st->cache_dir, BB_VERSION,
                                      &emb, &st->gcn_dir, &st->gcn_made, err) != BB_OK)
            return BB_ERR;
        st->gcn_seconds = bb_now() - t0;
        bb_run_note("run: LightGCN embeddings %s %s\n", st->gcn_made ? "trained into" : "reused from",
                    st->gcn_dir);
        int rc = bb_xrec_explain(&task, &cfg->explain, &c, &emb, st->lm.model, st->lm.tok, &st->out, err);
        bb_xrec_embeddings_free(&emb);
        return rc;
    }
    if (strcmp(m, "peter") == 0) return bb_peter_explain(&task, &cfg->peter, &st->out, err);
    if (strcmp(m, "nrt") == 0) return bb_nrt_explain(&task, &cfg->nrt, &st->out, err);
    if (strcmp(m, "retrieval") == 0) return bb_retrieval_explain(&task, &cfg->retrieval, &st->out, err);
    return bb_fail(err, "run: unknown method \"%s\"", m);
}

/* ------------------------------------------------------------------------------------------
 * Execute */

static void state_free(bb_run_state *st) {
    bb_explain_output_free(&st->out);
    if (st->have_lm) lm_bundle_free(&st->lm);
    if (st->have_split) bb_split_free(&st->split);
    if (st->have_ex) bb_explanations_free(&st->ex);
    if (st->have_ds) bb_dataset_free(&st->ds);
    free(st->cache_dir), free(st->split_path), free(st->lm_dir), free(st->stage1_dir), free(st->gcn_dir);
    memset(st, 0, sizeof *st);
}

int bb_run_execute(const bb_run_config *cfg, const bb_run_opts *o, bb_run_result *res, bb_error *err) {
    memset(res, 0, sizeof *res);
    const double t_start = bb_now();
    if (bb_run_config_check(cfg, err) != BB_OK) return BB_ERR;
    if (o->threads < 1) return bb_fail(err, "run: threads must be at least 1, got %d", o->threads);
    bb_run_state st;
    memset(&st, 0, sizeof st);
    st.cache_dir = beat_cache_dir();
    st.domain = bb_run_config_domain(cfg, o->data_dir);
    beat_config_default(&st.stage1);
    int rc = BB_OK;
    if (o->stage1_config) st.stage1 = *o->stage1_config;
    else if (cfg->stage1_config[0]) rc = bb_run_stage1_config_load(cfg->stage1_config, &st.stage1, err);
    st.slots = 1 + st.stage1.token_len;
    if (rc == BB_OK) rc = resolve_split(&st, o, err);
    if (rc == BB_OK) rc = load_inputs(&st, o, err);
    if (rc == BB_OK && (uses_lm(cfg->method) || cfg->bertscore)) rc = resolve_lm(&st, cfg, o, err);
    bb_stage_dir sd;
    int staged = 0;
    if (rc == BB_OK) {
        rc = bb_stage_dir_begin(&sd, o->out_dir, err);
        staged = rc == BB_OK;
    }
    if (rc == BB_OK) {
        bb_run_note("run: %s on %s (seed %" PRIu64 ", %zu train / %zu valid / %zu test rows, domain %s)\n",
                    cfg->method, o->data_dir, o->seed, st.split.n_train, st.split.n_valid,
                    st.split.n_test, st.domain);
        rc = run_method(&st, cfg, o, sd.staging, err);
    }
    if (rc == BB_OK) {
        const double t0 = bb_now();
        rc = bb_run_score(&st, cfg, o, res, err);
        st.score_seconds = bb_now() - t0;
    }
    if (rc == BB_OK) {
        snprintf(res->method, sizeof res->method, "%s", cfg->method);
        res->seed = o->seed;
        res->epochs_run = st.out.epochs_run;
        res->best_epoch = st.out.best_epoch;
        res->best_valid_loss = st.out.best_valid_loss;
        res->train_seconds = st.out.train_seconds;
        res->generate_seconds = st.out.generate_seconds;
        res->total_seconds = bb_now() - t_start;
        rc = bb_run_write(sd.staging, &st, cfg, o, res, err);
    }
    if (rc == BB_OK) rc = bb_stage_dir_commit(&sd, err);
    else if (staged) bb_stage_dir_abort(&sd);
    state_free(&st);
    if (rc != BB_OK) bb_run_result_free(res);
    return rc;
}
