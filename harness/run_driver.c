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
#include "models/base/bb_config.h"
#include "models/base/bb_hash.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/base/bb_time.h"
#include "models/beat/beat_explain_beat.h"
#include "models/beat/beat_lm_cache.h"
#include "models/beat/beat_run.h"
#include "models/beat/beat_text.h"
#include "models/lm/lm_io.h"

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
    free(res->stage1_dir);
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

/* ------------------------------------------------------------------------------------------
 * Row caps (step 1b) */

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static size_t distinct_i32(int32_t *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_i32);
    size_t d = 0;
    for (size_t k = 0; k < n; k++) d += k == 0 || v[k] != v[k - 1];
    return d;
}

int bb_run_cap_rows(const bb_explanations *ex, const bb_split *split, const int caps[3],
                    uint64_t seed, bb_explanations *ex_out, bb_split *split_out, bb_error *err) {
    if (split->n != ex->n) {
        bb_fail(err, "the split has %zu rows but the explanations %zu", split->n, ex->n);
        return -1;
    }
    static const char *const purposes[3] = {"task/train-rows", "task/valid-rows", "task/test-rows"};
    uint8_t *keep = bb_malloc(split->n + 1);
    memset(keep, 1, split->n + 1);
    int32_t *rows = bb_malloc((split->n + 1) * sizeof *rows);
    int32_t *order = bb_malloc((split->n + 1) * sizeof *order);
    size_t dropped = 0;
    for (int part = 0; part < 3; part++) {
        size_t n = 0;
        for (size_t r = 0; r < split->n; r++)
            if (split->part[r] == part) rows[n++] = (int32_t)r;
        if (caps[part] <= 0 || (size_t)caps[part] >= n) continue;
        for (size_t k = 0; k < n; k++) order[k] = (int32_t)k;
        bb_rng rng;
        bb_rng_seed(&rng, seed, purposes[part]);
        bb_rng_shuffle_i32(&rng, order, n);
        for (size_t k = 0; k < n; k++) keep[rows[k]] = 0;
        for (size_t k = 0; k < (size_t)caps[part]; k++) keep[rows[order[k]]] = 1;
        dropped += n - (size_t)caps[part];
    }
    free(order);
    if (!dropped) {
        free(keep), free(rows);
        return 0;
    }
    const size_t m = split->n - dropped;
    memset(ex_out, 0, sizeof *ex_out);
    memset(split_out, 0, sizeof *split_out);
    ex_out->rows = bb_calloc(m, sizeof *ex_out->rows);
    ex_out->n = m;
    ex_out->path = ex->path ? bb_strdup(ex->path) : NULL;
    split_out->n = m;
    split_out->part = bb_malloc(m);
    split_out->uid = bb_malloc(m * sizeof *split_out->uid);
    split_out->iid = bb_malloc(m * sizeof *split_out->iid);
    size_t j = 0, n_test = 0;
    for (size_t r = 0; r < split->n; r++) {
        if (!keep[r]) continue;
        const bb_explanation *a = &ex->rows[r];
        bb_explanation *b = &ex_out->rows[j];
        *b = *a;
        b->title = bb_strdup(a->title);
        b->user_summary = bb_strdup(a->user_summary);
        b->item_summary = bb_strdup(a->item_summary);
        b->explanation = bb_strdup(a->explanation);
        split_out->part[j] = split->part[r];
        split_out->uid[j] = split->uid[r], split_out->iid[j] = split->iid[r];
        split_out->n_train += split->part[r] == BB_SPLIT_TRAIN;
        split_out->n_valid += split->part[r] == BB_SPLIT_VALID;
        split_out->n_test += split->part[r] == BB_SPLIT_TEST;
        if (split->part[r] == BB_SPLIT_TEST) rows[n_test++] = split->uid[r];
        j++;
    }
    split_out->n_test_users = distinct_i32(rows, n_test);
    memcpy(rows, split_out->uid, m * sizeof *rows);
    split_out->n_users = distinct_i32(rows, m);
    free(keep), free(rows);
    return 1;
}

static int apply_row_caps(bb_run_state *st, const bb_run_config *cfg, const bb_run_opts *o,
                          bb_error *err) {
    const int caps[3] = {cfg->task.max_train_rows, cfg->task.max_valid_rows, cfg->task.max_test_rows};
    st->task_ex = &st->ex;
    st->task_split = &st->split;
    int r = bb_run_cap_rows(&st->ex, &st->split, caps, o->seed, &st->capped_ex, &st->capped_split, err);
    if (r < 0) return BB_ERR;
    if (r == 1) {
        st->capped = 1;
        st->task_ex = &st->capped_ex;
        st->task_split = &st->capped_split;
    }
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
        } else if (cfg->lm_config[0]) { /* the schema of `lm pretrain --config`: ranges checked */
            if (bb_config_load(cfg->lm_config, bb_run_lm_schema(), &lc, err) != BB_OK) return BB_ERR;
            if (lm_config_check(&lc, err) != BB_OK) return bb_fail_prefix(err, "%s", cfg->lm_config);
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
    /* a continuous entry made before stage 1 wrote its vectors lacks continuous.safetensors:
     * it is remade (the commit replaces it) */
    char *tokens = bb_path_join(st->stage1_dir, "tokens.csv");
    char *vectors = bb_path_join(st->stage1_dir, "continuous.safetensors");
    const int present = bb_path_exists(tokens) && (!st->stage1.continuous || bb_path_exists(vectors));
    free(tokens), free(vectors);
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

/* BEAT's slots per side under a stage-1 config: [macro] + T [micro] (beat_explain_beat.h). */
static int config_slots(const beat_config *c) {
    return (c->no_macro ? 0 : 1) + (c->no_micro ? 0 : c->token_len);
}

static int run_method(bb_run_state *st, const bb_run_config *cfg, const bb_run_opts *o,
                      const char *work_dir, bb_error *err) {
    const bb_explain_task task = {&st->ds, st->task_ex, st->task_split, st->domain, o->seed,
                                  o->threads, work_dir};
    const char *m = cfg->method;
    const int slots = config_slots(&st->stage1); /* BEAT's: the prompts stay identical */
    if (strcmp(m, "beat") == 0) {
        if (resolve_stage1(st, o, err) != BB_OK) return BB_ERR;
        beat_tokens kinds; /* the slots of the stage-1 run actually read (--tokens may differ) */
        if (beat_tokens_probe(st->stage1_dir, &kinds, err) != BB_OK) return BB_ERR;
        st->slots = beat_tokens_slots(&kinds);
        return beat_explain_run(&task, &cfg->explain, st->stage1_dir, st->lm.model, st->lm.tok,
                                &st->out, err);
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
    if (st->capped) bb_explanations_free(&st->capped_ex), bb_split_free(&st->capped_split);
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
    st.slots = config_slots(&st.stage1);
    if (rc == BB_OK) rc = resolve_split(&st, o, err);
    if (rc == BB_OK) rc = load_inputs(&st, o, err);
    if (rc == BB_OK) rc = apply_row_caps(&st, cfg, o, err);
    if (rc == BB_OK && (uses_lm(cfg->method) || cfg->bertscore)) rc = resolve_lm(&st, cfg, o, err);
    bb_stage_dir sd;
    int staged = 0;
    if (rc == BB_OK) {
        rc = bb_stage_dir_begin(&sd, o->out_dir, err);
        staged = rc == BB_OK;
    }
    if (rc == BB_OK) {
        bb_run_note("run: %s on %s (seed %" PRIu64 ", %zu train / %zu valid / %zu test rows%s, domain %s)\n",
                    cfg->method, o->data_dir, o->seed, st.task_split->n_train, st.task_split->n_valid,
                    st.task_split->n_test, st.capped ? " after the row caps" : "", st.domain);
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
        if (st.stage1_dir) res->stage1_dir = bb_strdup(st.stage1_dir);
        res->train_seconds = st.out.train_seconds;
        res->generate_seconds = st.out.generate_seconds;
        res->rows_used[0] = st.task_split->n_train;
        res->rows_used[1] = st.task_split->n_valid;
        res->rows_used[2] = st.task_split->n_test;
        res->total_seconds = bb_now() - t_start;
        rc = bb_run_write(sd.staging, &st, cfg, o, res, err);
    }
    if (rc == BB_OK) rc = bb_stage_dir_commit(&sd, err);
    else if (staged) bb_stage_dir_abort(&sd);
    state_free(&st);
    if (rc != BB_OK) bb_run_result_free(res);
    return rc;
}
