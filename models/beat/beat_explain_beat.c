/* beat_explain_beat — the BEAT slot provider and stage-2 entry point (beat_explain_beat.h). */
#include "models/beat/beat_explain_beat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/csv_reader.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/nn/nn_ops.h"
#include "models/nn/nn_safetensors.h"

static const char *const table_names[4] = {"user_macro", "user_micro", "item_macro", "item_micro"};

int beat_tokens_slots(const beat_tokens *t) {
    return (t->has_macro ? 1 : 0) + (t->has_micro ? t->T : 0);
}

/* ------------------------------------------------------------------------------------------
 * Stage-1 artifacts: tokens.csv */

typedef struct tokens_reader {
    const char *path;
    int T, K;
    int has[2]; /* macro, micro */
    int32_t *rows[2];
    int32_t n[2], cap[2];
} tokens_reader;

static int on_token_row(void *ctx, const bb_csv_record *rec, bb_error *err) {
    tokens_reader *r = ctx;
    const size_t want = 3 + (size_t)r->T;
    if (rec->index == 0) {
        const char *names[3 + 64];
        char micro[64][24];
        names[0] = "kind", names[1] = "id", names[2] = "macro";
        for (int k = 0; k < r->T; k++) {
            snprintf(micro[k], sizeof micro[k], "micro_%d", k + 1);
            names[3 + k] = micro[k];
        }
        return bb_csv_expect_header(r->path, rec, names, want, err);
    }
    if (rec->n != want)
        return bb_fail(err, "%s:%zu: expected %zu fields, got %zu", r->path, rec->line, want, rec->n);
    int side;
    if (strcmp(rec->fields[0], "user") == 0)
        side = 0;
    else if (strcmp(rec->fields[0], "item") == 0)
        side = 1;
    else
        return bb_fail(err, "%s:%zu: field 'kind': expected user or item, got \"%s\"", r->path,
                       rec->line, rec->fields[0]);
    int id;
    if (bb_csv_parse_id(rec->fields[1], rec->lens[1], &id) != BB_OK)
        return bb_csv_fail_id(err, r->path, rec->line, "id", rec->fields[1], rec->lens[1]);
    if (id != r->n[side] || (side == 0 && r->n[1] > 0))
        return bb_fail(err, "%s:%zu: field 'id': expected %s %d next (users 0.., then items 0..), "
                            "got %d", r->path, rec->line, side ? "item" : "user", r->n[side], id);
    if (r->n[side] == r->cap[side]) {
        r->cap[side] = r->cap[side] ? 2 * r->cap[side] : 1024;
        r->rows[side] = bb_realloc(r->rows[side], (size_t)r->cap[side] * (1 + (size_t)r->T) * sizeof(int32_t));
    }
    int32_t *row = r->rows[side] + (size_t)r->n[side] * (1 + (size_t)r->T);
    for (int k = 0; k <= r->T; k++) {
        const char *field = rec->fields[2 + k];
        const int kind = k == 0 ? 0 : 1;
        char name[24];
        if (k == 0)
            snprintf(name, sizeof name, "macro");
        else
            snprintf(name, sizeof name, "micro_%d", k);
        if (!r->has[kind]) { /* an ablated kind: stage 1 leaves its fields empty */
            if (rec->lens[2 + k] != 0)
                return bb_fail(err, "%s:%zu: field '%s': expected empty (the run has no %s "
                                    "codebook), got \"%s\"", r->path, rec->line, name,
                               kind ? "micro" : "macro", field);
            row[k] = -1;
            continue;
        }
        if (rec->lens[2 + k] == 0)
            return bb_fail(err, "%s:%zu: field '%s': empty, but the run has a %s codebook", r->path,
                           rec->line, name, kind ? "micro" : "macro");
        int v;
        if (bb_csv_parse_id(field, rec->lens[2 + k], &v) != BB_OK)
            return bb_csv_fail_id(err, r->path, rec->line, name, field, rec->lens[2 + k]);
        if (v >= r->K)
            return bb_fail(err, "%s:%zu: field '%s': code %d is beyond the codebook size %d", r->path,
                           rec->line, name, v, r->K);
        row[k] = v;
    }
    r->n[side]++;
    return BB_OK;
}

static int meta_int(const nn_safetensors *st, const char *key, int lo, int hi, int *out, bb_error *err) {
    const char *v = nn_st_meta(st, key);
    char *end = NULL;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || x < lo || x > hi)
        return bb_fail(err, "%s: metadata '%s': expected an integer in [%d, %d], got %s%s%s", st->path,
                       key, lo, hi, v ? "\"" : "", v ? v : "nothing", v ? "\"" : "");
    *out = (int)x;
    return BB_OK;
}

/* Which kinds (macro, micro) the tensors "<table name><suffix>" hold; user and item must
 * agree. */
static int kinds_present(const nn_safetensors *st, const char *suffix, int has[2], bb_error *err) {
    for (int kind = 0; kind < 2; kind++) {
        char user[48], item[48];
        snprintf(user, sizeof user, "%s%s", table_names[kind], suffix);
        snprintf(item, sizeof item, "%s%s", table_names[2 + kind], suffix);
        const int u = nn_st_find(st, user) != NULL, i = nn_st_find(st, item) != NULL;
        if (u != i)
            return bb_fail(err, "%s: no tensor '%s' while '%s' is there (stage 1 ablates a token "
                                "kind on both sides)", st->path, u ? item : user, u ? user : item);
        has[kind] = u;
    }
    if (!has[0] && !has[1])
        return bb_fail(err, "%s: neither macro nor micro tensors (stage 1 kept no token kind)", st->path);
    return BB_OK;
}

/* continuous.safetensors: the vectors of every user and item, of the kinds the probe found. */
static int load_continuous(const char *run_dir, beat_tokens *out, bb_error *err) {
    char *path = bb_path_join(run_dir, "continuous.safetensors");
    if (!bb_path_exists(path)) {
        int rc = bb_fail(err, "%s: not found (a continuous stage-1 run must carry its vectors; "
                              "rerun stage 1 with this version)", path);
        free(path);
        return rc;
    }
    nn_safetensors st;
    int rc = nn_st_open(&st, path, err);
    free(path);
    int has[2] = {0, 0};
    if (rc == BB_OK) rc = kinds_present(&st, "", has, err);
    if (rc == BB_OK && (has[0] != out->has_macro || has[1] != out->has_micro))
        rc = bb_fail(err, "%s: holds %s%s%s vectors but the codebooks' metadata says macro %d, "
                          "micro %d", st.path, has[0] ? "macro" : "", has[0] && has[1] ? " and " : "",
                     has[1] ? "micro" : "", out->has_macro, out->has_micro);
    for (int s = 0; s < 2 && rc == BB_OK; s++) {
        int32_t n = -1;
        for (int kind = 0; kind < 2 && rc == BB_OK; kind++) {
            if (!has[kind]) continue;
            const char *name = table_names[s * 2 + kind];
            const nn_st_entry *e = nn_st_find(&st, name);
            const int want_dims = kind ? 3 : 2;
            if (e->ndim != want_dims || e->shape[0] < 1 || e->shape[0] > INT32_MAX ||
                e->shape[want_dims - 1] != out->d || (kind && e->shape[1] != out->T)) {
                rc = bb_fail(err, "%s: tensor '%s': expected shape (n, %s%d)", st.path, name,
                             kind ? "token_len, " : "", out->d);
                break;
            }
            if (n >= 0 && e->shape[0] != n) {
                rc = bb_fail(err, "%s: tensor '%s' has %lld rows but the macro tensor %d", st.path,
                             name, (long long)e->shape[0], n);
                break;
            }
            n = (int32_t)e->shape[0];
            float *v = bb_malloc((size_t)e->numel * sizeof(float));
            if (kind)
                out->micro_vec[s] = v;
            else
                out->macro_vec[s] = v;
            rc = nn_st_read_f32(&st, name, e->ndim, e->shape, v, err);
        }
        if (s == 0) out->n_users = n;
        else out->n_items = n;
    }
    nn_st_close(&st);
    return rc;
}

/* The "0"/"1" metadata flag key, or -1 when absent (runs written before the ablations
 * reached stage 2). */
static int meta_flag(const nn_safetensors *st, const char *key) {
    const char *v = nn_st_meta(st, key);
    return v ? strcmp(v, "1") == 0 : -1;
}

int beat_tokens_probe(const char *run_dir, beat_tokens *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    char *cb_path = bb_path_join(run_dir, "codebooks.safetensors");
    nn_safetensors st;
    int rc = nn_st_open(&st, cb_path, err);
    free(cb_path);
    if (rc == BB_OK) rc = meta_int(&st, "token_len", 1, 64, &out->T, err);
    if (rc == BB_OK) rc = meta_int(&st, "codebook_size", 1, 1 << 24, &out->K, err);
    if (rc == BB_OK) rc = meta_int(&st, "d", 1, 1 << 16, &out->d, err);
    if (rc == BB_OK) {
        const int continuous = meta_flag(&st, "continuous");
        out->continuous = continuous == 1;
        if (continuous == -1 && !nn_st_find(&st, "user_macro_codebook") &&
            !nn_st_find(&st, "user_micro_codebook"))
            rc = bb_fail(err, "%s: no codebooks and no 'continuous' metadata (a continuous stage-1 "
                              "run of an older version: rerun stage 1)", st.path);
    }
    if (rc == BB_OK && out->continuous) {
        const int macro = meta_flag(&st, "macro"), micro = meta_flag(&st, "micro");
        if (macro < 0 || micro < 0)
            rc = bb_fail(err, "%s: metadata 'macro' and 'micro' are required with 'continuous'", st.path);
        out->has_macro = macro == 1, out->has_micro = micro == 1;
        if (rc == BB_OK && !out->has_macro && !out->has_micro)
            rc = bb_fail(err, "%s: metadata: stage 1 kept no token kind", st.path);
    } else if (rc == BB_OK) {
        int has[2];
        rc = kinds_present(&st, "_codebook", has, err);
        out->has_macro = has[0], out->has_micro = has[1];
    }
    nn_st_close(&st);
    return rc;
}

int beat_tokens_load(const char *run_dir, beat_tokens *out, bb_error *err) {
    int rc = beat_tokens_probe(run_dir, out, err);
    if (rc == BB_OK && out->continuous) {
        rc = load_continuous(run_dir, out, err);
    } else if (rc == BB_OK) {
        char *cb_path = bb_path_join(run_dir, "codebooks.safetensors");
        nn_safetensors st;
        rc = nn_st_open(&st, cb_path, err);
        free(cb_path);
        const int has[2] = {out->has_macro, out->has_micro};
        for (int k = 0; k < 4 && rc == BB_OK; k++) {
            if (!has[k % 2]) continue;
            char name[48];
            snprintf(name, sizeof name, "%s_codebook", table_names[k]);
            out->codebook[k] = bb_malloc((size_t)out->K * (size_t)out->d * sizeof(float));
            rc = nn_st_read_f32(&st, name, 2, (int64_t[]){out->K, out->d}, out->codebook[k], err);
        }
        nn_st_close(&st);
    }
    if (rc == BB_OK && !out->continuous) {
        char *path = bb_path_join(run_dir, "tokens.csv");
        tokens_reader r = {.path = path, .T = out->T, .K = out->K,
                           .has = {out->has_macro, out->has_micro}};
        rc = bb_csv_read_file(path, on_token_row, &r, err);
        if (rc == BB_OK && (r.n[0] == 0 || r.n[1] == 0))
            rc = bb_fail(err, "%s: no %s rows", path, r.n[0] == 0 ? "user" : "item");
        out->user = r.rows[0], out->item = r.rows[1];
        out->n_users = r.n[0], out->n_items = r.n[1];
        free(path);
    }
    if (rc != BB_OK) beat_tokens_free(out);
    return rc;
}

void beat_tokens_free(beat_tokens *t) {
    free(t->user), free(t->item);
    for (int k = 0; k < 4; k++) free(t->codebook[k]);
    for (int s = 0; s < 2; s++) free(t->macro_vec[s]), free(t->micro_vec[s]);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------------------------
 * Provider */

/* (n S, d) token vectors of one side, quantised: [macro, micro_1..T] rows of the side's
 * tables, each kind only when present. */
static nn_tensor *side_codes(beat_stage2 *m, nn_tape *tp, int side, const int32_t *ids, int n) {
    const beat_tokens *t = m->tokens;
    const int T = t->T, W = 1 + T;
    const int64_t d = t->d;
    const int32_t *rows = side ? t->item : t->user;
    nn_tensor *parts[2];
    int n_parts = 0;
    if (t->has_macro) {
        int32_t *macro = nn_tape_scratch(tp, (size_t)n * sizeof *macro);
        for (int k = 0; k < n; k++) macro[k] = rows[(size_t)ids[k] * W];
        parts[n_parts++] = nn_reshape(tp, nn_gather_rows(tp, m->table[side * 2], macro, n), 3,
                                      (int64_t[]){n, 1, d});
    }
    if (t->has_micro) {
        int32_t *micro = nn_tape_scratch(tp, (size_t)n * (size_t)T * sizeof *micro);
        for (int k = 0; k < n; k++)
            memcpy(micro + (size_t)k * T, rows + (size_t)ids[k] * W + 1, (size_t)T * sizeof *micro);
        nn_tensor *rows_t = nn_gather_rows(tp, m->table[side * 2 + 1], micro, (int64_t)n * T);
        parts[n_parts++] = nn_reshape(tp, rows_t, 3, (int64_t[]){n, T, d});
    }
    nn_tensor *tokens = n_parts == 2 ? nn_concat(tp, parts, 2, 1) : parts[0];
    return nn_reshape(tp, tokens, 2, (int64_t[]){(int64_t)n * beat_tokens_slots(t), d});
}

/* (n S, d) token vectors of one side, continuous: the stage-1 vectors, constants. */
static nn_tensor *side_vectors(beat_stage2 *m, nn_tape *tp, int side, const int32_t *ids, int n) {
    const beat_tokens *t = m->tokens;
    const int T = t->T, S = beat_tokens_slots(t);
    const size_t d = (size_t)t->d;
    nn_tensor *x = nn_tape_tensor2(tp, (int64_t)n * S, (int64_t)d);
    for (int k = 0; k < n; k++) {
        float *dst = x->data + (size_t)k * (size_t)S * d;
        if (t->has_macro) {
            memcpy(dst, t->macro_vec[side] + (size_t)ids[k] * d, d * sizeof(float));
            dst += d;
        }
        if (t->has_micro)
            memcpy(dst, t->micro_vec[side] + (size_t)ids[k] * (size_t)T * d,
                   (size_t)T * d * sizeof(float));
    }
    return x;
}

/* (n, S, C) slots of one side: its token vectors through the side's projector. */
static nn_tensor *side_slots(beat_stage2 *m, nn_tape *tp, int side, const int32_t *ids, int n) {
    nn_tensor *tokens = m->tokens->continuous ? side_vectors(m, tp, side, ids, n)
                                              : side_codes(m, tp, side, ids, n);
    nn_tensor *y = beat_projector_forward(tp, &m->proj[side], tokens);
    return nn_reshape(tp, y, 3, (int64_t[]){n, beat_tokens_slots(m->tokens), m->proj[side].d_out});
}

static nn_tensor *build(void *self, nn_tape *tp, const int32_t *uid, const int32_t *iid, int n) {
    beat_stage2 *m = self;
    nn_tensor *sides[2] = {side_slots(m, tp, 0, uid, n), side_slots(m, tp, 1, iid, n)};
    return nn_concat(tp, sides, 2, 1);
}

void beat_stage2_init(beat_stage2 *m, const beat_tokens *tokens, int d_model, uint64_t seed) {
    BB_ASSERT(beat_tokens_slots(tokens) >= 1, "beat_stage2: tokens without a kind");
    memset(m, 0, sizeof *m);
    m->tokens = tokens;
    m->params = nn_params_new();
    const int has[2] = {tokens->has_macro, tokens->has_micro};
    for (int k = 0; k < 4; k++)
        if (!tokens->continuous && has[k % 2])
            m->table[k] = nn_params_add2(m->params, table_names[k], tokens->K, tokens->d);
    beat_projector_add(&m->proj[0], m->params, "user_proj", tokens->d, d_model);
    beat_projector_add(&m->proj[1], m->params, "item_proj", tokens->d, d_model);
    nn_params_finalize(m->params);
    for (int k = 0; k < 4; k++)
        if (m->table[k]) nn_tensor_copy_from(m->table[k], tokens->codebook[k]);
    bb_rng r;
    bb_rng_seed(&r, seed, "beat-explain/init");
    beat_projector_init(&m->proj[0], &r);
    beat_projector_init(&m->proj[1], &r);
    m->prov = (beat_slot_provider){.name = "beat", .self = m, .params = m->params,
                                   .n_users = tokens->n_users, .n_items = tokens->n_items,
                                   .slots = beat_tokens_slots(tokens), .width = d_model, .build = build};
}

void beat_stage2_free(beat_stage2 *m) {
    nn_params_free(m->params);
    memset(m, 0, sizeof *m);
}

int beat_explain_run(const bb_explain_task *task, const beat_explain_config *cfg,
                     const char *tokens_dir, lm_model *lm, lm_bpe *tok, bb_explain_output *out,
                     bb_error *err) {
    memset(out, 0, sizeof *out);
    beat_tokens tokens;
    if (beat_tokens_load(tokens_dir, &tokens, err) != BB_OK) return BB_ERR;
    int rc = BB_OK;
    if (task->data && (tokens.n_users != task->data->n_users || tokens.n_items != task->data->n_items))
        rc = bb_fail(err, "%s: %d users and %d items, but the dataset has %d and %d (tokens of "
                          "another dataset?)", tokens_dir, tokens.n_users, tokens.n_items,
                     task->data->n_users, task->data->n_items);
    if (rc == BB_OK) {
        beat_stage2 m;
        beat_stage2_init(&m, &tokens, lm->arch.d_model, task->seed);
        rc = beat_explain_task_run(task, cfg, lm, tok, &m.prov, out, err);
        beat_stage2_free(&m);
    }
    beat_tokens_free(&tokens);
    return rc;
}
