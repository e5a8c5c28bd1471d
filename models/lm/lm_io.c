/* lm_io — safetensors weights and optimizer state, the LM directory (see lm_io.h). */
#include "models/lm/lm_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/nn/nn_safetensors.h"

#define LM_FORMAT "beatbench-lm"

/* ==================================== weights ======================================= */

int lm_save_weights(const lm_model *lm, const char *path, bb_error *err) {
    char v[5][16];
    const lm_arch *a = &lm->arch;
    snprintf(v[0], sizeof v[0], "%d", a->vocab);
    snprintf(v[1], sizeof v[1], "%d", a->context);
    snprintf(v[2], sizeof v[2], "%d", a->d_model);
    snprintf(v[3], sizeof v[3], "%d", a->n_layers);
    snprintf(v[4], sizeof v[4], "%d", a->n_heads);
    const char *meta[] = {"format", LM_FORMAT,  "vocab", v[0],      "context", v[1], "d_model",
                          v[2],     "n_layers", v[3],    "n_heads", v[4],      NULL};
    return nn_params_save(lm->params, path, meta, err);
}

static int check_meta(const nn_safetensors *st, const char *path, const char *key, int want,
                      bb_error *err) {
    const char *got = nn_st_meta(st, key);
    char w[16];
    snprintf(w, sizeof w, "%d", want);
    if (!got) return bb_fail(err, "%s: metadata '%s' is missing", path, key);
    if (strcmp(got, w) != 0)
        return bb_fail(err, "%s: metadata '%s' is %s but the model has %s", path, key, got, w);
    return BB_OK;
}

int lm_load_weights(lm_model *lm, const char *path, bb_error *err) {
    nn_safetensors st;
    int rc = nn_st_open(&st, path, err);
    if (rc == BB_OK) {
        const char *fmt = nn_st_meta(&st, "format");
        const lm_arch *a = &lm->arch;
        if (!fmt || strcmp(fmt, LM_FORMAT) != 0)
            rc = bb_fail(err, "%s: metadata 'format' is not \"%s\"", path, LM_FORMAT);
        if (rc == BB_OK) rc = check_meta(&st, path, "vocab", a->vocab, err);
        if (rc == BB_OK) rc = check_meta(&st, path, "context", a->context, err);
        if (rc == BB_OK) rc = check_meta(&st, path, "d_model", a->d_model, err);
        if (rc == BB_OK) rc = check_meta(&st, path, "n_layers", a->n_layers, err);
        if (rc == BB_OK) rc = check_meta(&st, path, "n_heads", a->n_heads, err);
    }
    nn_st_close(&st);
    if (rc != BB_OK) return rc;
    return nn_params_load(lm->params, path, err);
}

/* ================================ optimizer state =================================== */

static nn_tensor flat_view(float *data, int64_t n) {
    nn_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    nn_tensor_set_shape(&t, 1, &n);
    return t;
}

int lm_save_optimizer(const lm_model *lm, const char *path, bb_error *err) {
    const nn_params *ps = lm->params;
    nn_tensor m = flat_view(ps->m, ps->total), v = flat_view(ps->v, ps->total);
    const char *names[] = {"m", "v"};
    const nn_tensor *ts[] = {&m, &v};
    char step[32];
    snprintf(step, sizeof step, "%lld", (long long)ps->step);
    const char *meta[] = {"format", LM_FORMAT "-adamw", "step", step, NULL};
    return nn_st_write(path, names, ts, 2, meta, err);
}

int lm_load_optimizer(lm_model *lm, const char *path, bb_error *err) {
    nn_params *ps = lm->params;
    nn_safetensors st;
    int rc = nn_st_open(&st, path, err);
    long long step = -1;
    if (rc == BB_OK) {
        const char *s = nn_st_meta(&st, "step");
        char *end = NULL;
        if (s) step = strtoll(s, &end, 10);
        if (!s || !*s || *end || step < 0)
            rc = bb_fail(err, "%s: metadata 'step': expected a non-negative integer", path);
    }
    int64_t shape[1] = {ps->total};
    if (rc == BB_OK) rc = nn_st_read_f32(&st, "m", 1, shape, ps->m, err);
    if (rc == BB_OK) rc = nn_st_read_f32(&st, "v", 1, shape, ps->v, err);
    nn_st_close(&st);
    if (rc == BB_OK) ps->step = step;
    return rc;
}

/* ================================== LM directory ==================================== */

int lm_bundle_load(const char *dir, lm_bundle *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    out->cfg = lm_config_default();
    char *cfg_path = bb_path_join(dir, "config.json");
    char *tok_path = bb_path_join(dir, "tokenizer.json");
    char *w_path = bb_path_join(dir, "model.safetensors");
    char *text = NULL;
    size_t len;
    int rc = bb_read_file(cfg_path, &text, &len, err);
    if (rc == BB_OK) rc = lm_config_parse_json(cfg_path, text, &out->cfg, err);
    if (rc == BB_OK) rc = lm_bpe_load(tok_path, &out->tok, err);
    if (rc == BB_OK && out->tok->vocab_size != out->cfg.vocab)
        rc = bb_fail(err, "%s: key 'vocab': %d but %s has %d tokens", cfg_path, out->cfg.vocab,
                     tok_path, out->tok->vocab_size);
    if (rc == BB_OK) {
        lm_arch arch = lm_config_arch(&out->cfg, out->tok->vocab_size);
        rc = lm_arch_check(&arch, err);
        if (rc != BB_OK) bb_fail_prefix(err, "%s", cfg_path);
        if (rc == BB_OK) {
            out->model = lm_create(&arch, 0);
            rc = lm_load_weights(out->model, w_path, err);
        }
    }
    free(text);
    free(cfg_path);
    free(tok_path);
    free(w_path);
    if (rc != BB_OK) lm_bundle_free(out);
    return rc;
}

int lm_bundle_save(const char *dir, const lm_bundle *b, const char *manifest_json, bb_error *err) {
    if (bb_mkdir_p(dir, err) != BB_OK) return BB_ERR;
    char *cfg_path = bb_path_join(dir, "config.json");
    char *tok_path = bb_path_join(dir, "tokenizer.json");
    char *w_path = bb_path_join(dir, "model.safetensors");
    char *man_path = bb_path_join(dir, "manifest.json");
    lm_config cfg = b->cfg;
    cfg.vocab = b->tok->vocab_size;
    char *json = lm_config_to_json(&cfg);
    int rc = lm_bpe_save(b->tok, tok_path, err);
    if (rc == BB_OK) rc = bb_write_file_atomic(cfg_path, json, strlen(json), err);
    if (rc == BB_OK) rc = lm_save_weights(b->model, w_path, err);
    if (rc == BB_OK && manifest_json)
        rc = bb_write_file_atomic(man_path, manifest_json, strlen(manifest_json), err);
    free(json);
    free(cfg_path);
    free(tok_path);
    free(w_path);
    free(man_path);
    return rc;
}

void lm_bundle_free(lm_bundle *b) {
    lm_bpe_free(b->tok);
    lm_free(b->model);
    b->tok = NULL;
    b->model = NULL;
}
