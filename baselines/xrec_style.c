/* xrec_style — LightGCN embeddings through a mixture-of-experts adapter into the prompt slots
 * (xrec_style.h). */
#include "baselines/xrec_style.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/rank_run.h"
#include "models/base/bb_hash.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/nn/nn_ops.h"
#include "models/nn/nn_safetensors.h"

void bb_xrec_default_config(bb_xrec_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->slots = 6;
    cfg->experts = 8;
    cfg->hidden = 0;
    cfg->gcn_dim = 64;
    cfg->gcn_layers = 2;
    cfg->gcn_epochs = 100;
    cfg->gcn_patience = 5;
    cfg->gcn_batch = 2048;
    cfg->gcn_lr = 1e-3;
    cfg->gcn_reg = 1e-4;
}

int bb_xrec_check_config(const bb_xrec_config *cfg, bb_error *err) {
    if (cfg->slots < 1 || cfg->slots > 65)
        return bb_fail(err, "key 'slots': expected 1 to 65, got %d", cfg->slots);
    if (cfg->experts < 1 || cfg->experts > BB_XREC_MAX_EXPERTS)
        return bb_fail(err, "key 'experts': expected 1 to %d, got %d", BB_XREC_MAX_EXPERTS, cfg->experts);
    if (cfg->hidden < 0) return bb_fail(err, "key 'hidden': expected >= 0, got %d", cfg->hidden);
    if (cfg->gcn_dim < 1) return bb_fail(err, "key 'gcn_dim': expected at least 1, got %d", cfg->gcn_dim);
    if (cfg->gcn_layers < 0) return bb_fail(err, "key 'gcn_layers': expected >= 0, got %d", cfg->gcn_layers);
    if (cfg->gcn_epochs < 1) return bb_fail(err, "key 'gcn_epochs': expected at least 1, got %d", cfg->gcn_epochs);
    if (cfg->gcn_patience < 1)
        return bb_fail(err, "key 'gcn_patience': expected at least 1, got %d", cfg->gcn_patience);
    if (cfg->gcn_batch < 1) return bb_fail(err, "key 'gcn_batch': expected at least 1, got %d", cfg->gcn_batch);
    if (!(cfg->gcn_lr > 0)) return bb_fail(err, "key 'gcn_lr': expected > 0, got %g", cfg->gcn_lr);
    if (!(cfg->gcn_reg >= 0)) return bb_fail(err, "key 'gcn_reg': expected >= 0, got %g", cfg->gcn_reg);
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * LightGCN embeddings */

int bb_xrec_embeddings_load(const char *run_dir, bb_xrec_embeddings *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    char *path = bb_path_join(run_dir, "embeddings.safetensors");
    nn_safetensors st;
    int rc = nn_st_open(&st, path, err);
    free(path);
    const nn_st_entry *u = rc == BB_OK ? nn_st_find(&st, "user_emb") : NULL;
    const nn_st_entry *i = rc == BB_OK ? nn_st_find(&st, "item_emb") : NULL;
    if (rc == BB_OK && (!u || !i || u->ndim != 2 || i->ndim != 2 || u->shape[1] != i->shape[1] ||
                        u->shape[0] < 1 || i->shape[0] < 1 || u->shape[1] < 1))
        rc = bb_fail(err, "%s: expected tensors user_emb (U, e) and item_emb (I, e)", st.path);
    if (rc == BB_OK) {
        out->n_users = (int32_t)u->shape[0];
        out->n_items = (int32_t)i->shape[0];
        out->dim = (int)u->shape[1];
        out->user = bb_malloc((size_t)u->numel * sizeof(float));
        out->item = bb_malloc((size_t)i->numel * sizeof(float));
        rc = nn_st_read_f32(&st, "user_emb", 2, u->shape, out->user, err);
        if (rc == BB_OK) rc = nn_st_read_f32(&st, "item_emb", 2, i->shape, out->item, err);
    }
    nn_st_close(&st);
    if (rc != BB_OK) bb_xrec_embeddings_free(out);
    return rc;
}

void bb_xrec_embeddings_free(bb_xrec_embeddings *e) {
    free(e->user), free(e->item);
    memset(e, 0, sizeof *e);
}

int bb_xrec_embeddings_cached(const char *data_dir, const bb_xrec_config *cfg, uint64_t seed,
                              int threads, const char *cache_dir, const char *version,
                              bb_xrec_embeddings *out, char **run_dir_out, int *made,
                              bb_error *err) {
    memset(out, 0, sizeof *out);
    if (run_dir_out) *run_dir_out = NULL;
    *made = 0;
    if (bb_xrec_check_config(cfg, err) != BB_OK) return BB_ERR;
    uint64_t h;
    if (rank_run_data_hash(data_dir, &h, err) != BB_OK) return BB_ERR;
    char key[512];
    int n = snprintf(key, sizeof key, "lightgcn dim=%d layers=%d epochs=%d patience=%d batch=%d "
                                      "lr=%.17g reg=%.17g seed=%" PRIu64 " threads=%d version=%s",
                     cfg->gcn_dim, cfg->gcn_layers, cfg->gcn_epochs, cfg->gcn_patience,
                     cfg->gcn_batch, cfg->gcn_lr, cfg->gcn_reg, seed, threads, version ? version : "");
    h = bb_hash_bytes(key, (size_t)n, h);
    char name[64];
    snprintf(name, sizeof name, "lightgcn-%016" PRIx64, h);
    char *dir = bb_path_join(cache_dir, name);
    int lock = -1;
    if (bb_lock_entry(dir, &lock, err) != BB_OK) {
        free(dir);
        return BB_ERR;
    }
    char *emb = bb_path_join(dir, "embeddings.safetensors");
    int present = bb_path_exists(emb);
    free(emb);
    int rc = BB_OK;
    if (!present) {
        rank_run_config rc_cfg;
        rank_run_config_default(&rc_cfg);
        rc_cfg.data_dir = data_dir;
        rc_cfg.model = RANK_MODEL_LIGHTGCN;
        rc_cfg.epochs = cfg->gcn_epochs;
        rc_cfg.dim = cfg->gcn_dim;
        rc_cfg.layers = cfg->gcn_layers;
        rc_cfg.lr = cfg->gcn_lr;
        rc_cfg.reg = cfg->gcn_reg;
        rc_cfg.batch = cfg->gcn_batch;
        rc_cfg.patience = cfg->gcn_patience;
        rc_cfg.seed = seed;
        rc_cfg.threads = threads;
        rc_cfg.out_dir = dir; /* staged and renamed into place by rank_run */
        rc_cfg.version = version ? version : "unknown";
        rank_run_result res;
        rc = bb_mkdir_p(cache_dir, err);
        if (rc == BB_OK) rc = rank_run_execute(&rc_cfg, &res, err);
        if (rc == BB_OK) {
            rank_run_result_free(&res);
            *made = 1;
        }
    }
    bb_lock_release(lock);
    if (rc == BB_OK) rc = bb_xrec_embeddings_load(dir, out, err);
    if (rc == BB_OK && run_dir_out)
        *run_dir_out = dir;
    else
        free(dir);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Adapter */

nn_tensor *bb_xrec_adapter(bb_xrec_model *m, nn_tape *tp, int side, nn_tensor *x) {
    const bb_xrec_side *s = &m->side[side];
    const int64_t n = x->shape[0];
    nn_tensor *gates = nn_softmax(tp, nn_add(tp, nn_matmul(tp, x, s->gate_w, 0, 0), s->gate_b));
    nn_tensor *y = NULL;
    for (int k = 0; k < m->E; k++) {
        nn_tensor *h = nn_gelu(tp, nn_add(tp, nn_matmul(tp, x, s->w1[k], 0, 0), s->b1[k]));
        nn_tensor *yk = nn_add(tp, nn_matmul(tp, h, s->w2[k], 0, 0), s->b2[k]);
        nn_tensor *weighted = nn_mul(tp, yk, nn_slice(tp, gates, 1, k, 1)); /* per-row gate */
        y = y ? nn_add(tp, y, weighted) : weighted;
    }
    return nn_reshape(tp, y, 3, (int64_t[]){n, m->S, m->C});
}

static nn_tensor *embedding_rows(nn_tape *tp, const float *table, int dim, const int32_t *ids, int n) {
    nn_tensor *x = nn_tape_tensor2(tp, n, dim);
    for (int k = 0; k < n; k++)
        memcpy(x->data + (size_t)k * dim, table + (size_t)ids[k] * dim, (size_t)dim * sizeof(float));
    return x;
}

static nn_tensor *build(void *self, nn_tape *tp, const int32_t *uid, const int32_t *iid, int n) {
    bb_xrec_model *m = self;
    const bb_xrec_embeddings *e = m->emb;
    nn_tensor *sides[2] = {
        bb_xrec_adapter(m, tp, 0, embedding_rows(tp, e->user, e->dim, uid, n)),
        bb_xrec_adapter(m, tp, 1, embedding_rows(tp, e->item, e->dim, iid, n))};
    return nn_concat(tp, sides, 2, 1);
}

void bb_xrec_init(bb_xrec_model *m, const bb_xrec_embeddings *emb, const bb_xrec_config *cfg,
                  int d_model, uint64_t seed) {
    memset(m, 0, sizeof *m);
    BB_ASSERT(cfg->experts >= 1 && cfg->experts <= BB_XREC_MAX_EXPERTS, "xrec: %d experts", cfg->experts);
    m->emb = emb;
    m->S = cfg->slots;
    m->C = d_model;
    m->E = cfg->experts;
    m->hidden = cfg->hidden > 0 ? cfg->hidden : (emb->dim + d_model) / 2;
    if (m->hidden < 1) m->hidden = 1;
    const int64_t e = emb->dim, out = (int64_t)m->S * d_model;
    m->params = nn_params_new();
    char name[64];
    for (int s = 0; s < 2; s++) {
        const char *who = s ? "item" : "user";
        bb_xrec_side *sd = &m->side[s];
        snprintf(name, sizeof name, "%s.gate.w", who);
        sd->gate_w = nn_params_add2(m->params, name, e, m->E);
        snprintf(name, sizeof name, "%s.gate.b", who);
        sd->gate_b = nn_params_add1(m->params, name, m->E);
        for (int k = 0; k < m->E; k++) {
            snprintf(name, sizeof name, "%s.expert%d.w1", who, k);
            sd->w1[k] = nn_params_add2(m->params, name, e, m->hidden);
            snprintf(name, sizeof name, "%s.expert%d.b1", who, k);
            sd->b1[k] = nn_params_add1(m->params, name, m->hidden);
            snprintf(name, sizeof name, "%s.expert%d.w2", who, k);
            sd->w2[k] = nn_params_add2(m->params, name, m->hidden, out);
            snprintf(name, sizeof name, "%s.expert%d.b2", who, k);
            sd->b2[k] = nn_params_add1(m->params, name, out);
        }
    }
    nn_params_finalize(m->params); /* biases start at 0 */
    bb_rng r;
    bb_rng_seed(&r, seed, "xrec/init");
    for (int s = 0; s < 2; s++) {
        nn_init_xavier_uniform(m->side[s].gate_w, &r);
        for (int k = 0; k < m->E; k++) {
            nn_init_xavier_uniform(m->side[s].w1[k], &r);
            nn_init_xavier_uniform(m->side[s].w2[k], &r);
        }
    }
    m->prov = (beat_slot_provider){.name = "xrec", .self = m, .params = m->params,
                                   .n_users = emb->n_users, .n_items = emb->n_items,
                                   .slots = m->S, .width = d_model, .build = build};
}

void bb_xrec_free(bb_xrec_model *m) {
    nn_params_free(m->params);
    memset(m, 0, sizeof *m);
}

int bb_xrec_explain(const bb_explain_task *task, const beat_explain_config *loop,
                    const bb_xrec_config *cfg, const bb_xrec_embeddings *emb, lm_model *lm,
                    lm_bpe *tok, bb_explain_output *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    if (bb_xrec_check_config(cfg, err) != BB_OK) return BB_ERR;
    if (task->data && (emb->n_users != task->data->n_users || emb->n_items != task->data->n_items))
        return bb_fail(err, "xrec: the embeddings cover %d users and %d items, the dataset %d and %d",
                       emb->n_users, emb->n_items, task->data->n_users, task->data->n_items);
    bb_xrec_model m;
    bb_xrec_init(&m, emb, cfg, lm->arch.d_model, task->seed);
    int rc = beat_explain_task_run(task, loop, lm, tok, &m.prov, out, err);
    bb_xrec_free(&m);
    return rc;
}
