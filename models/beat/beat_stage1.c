/* beat_stage1 — BEAT stage 1: configuration, model set-up, and the fused forward/backward of
 * one batch (DESIGN §4). The epoch loop, full encoding and Adam live in beat_stage1_train.c.
 * Method, ablations and determinism are described in beat_stage1.h. */
#include "models/beat/beat_stage1.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_time.h"
#include "models/base/bb_rng.h"
#include "models/beat/beat_gemm.h"
#include "models/beat/beat_recon.h"
#include "models/beat/beat_stage1_internal.h"
#include "models/beat/beat_vq.h"
#include "models/nn/nn_ops.h"
#include "models/nn/nn_tensor.h"

/* ------------------------------------------------------------------------------------------
 * Configuration */

void beat_config_default(beat_config *c) {
    memset(c, 0, sizeof *c);
    c->token_len = 5;
    c->token_dim = 64;
    c->codebook_size = 512;
    c->layers = 2;
    c->batch = 10240;
    c->lr = 1e-3;
    c->epochs = 100;
    c->patience = 5;
    c->alpha = 0.2;
    c->beta = 1.0;
    c->tau = 0.2;
    c->mask_ratio = 0.2;
    c->heads = 4;
    c->max_phrases = 10;
    c->select_k = 20;
    snprintf(c->select_on, sizeof c->select_on, "valid");
    c->vq_weight = c->orth_weight = c->rec_weight = 1.0;
}

int beat_config_check(const beat_config *c, int d, bb_error *err) {
    if (c->token_len < 1 || c->token_len > 64)
        return bb_fail(err, "key 'token_len': expected 1..64, got %d", c->token_len);
    if (c->token_dim < 1) return bb_fail(err, "key 'token_dim': must be positive, got %d", c->token_dim);
    if (c->codebook_size < 1)
        return bb_fail(err, "key 'codebook_size': must be positive, got %d", c->codebook_size);
    if (c->layers < 0) return bb_fail(err, "key 'layers': must be >= 0, got %d", c->layers);
    if (c->batch < 1) return bb_fail(err, "key 'batch': must be positive, got %d", c->batch);
    if (!(c->lr > 0)) return bb_fail(err, "key 'lr': must be positive, got %g", c->lr);
    if (c->epochs < 1) return bb_fail(err, "key 'epochs': must be at least 1, got %d", c->epochs);
    if (c->patience < 1) return bb_fail(err, "key 'patience': must be at least 1, got %d", c->patience);
    if (!(c->tau > 0)) return bb_fail(err, "key 'tau': must be positive, got %g", c->tau);
    if (!(c->mask_ratio >= 0 && c->mask_ratio <= 1))
        return bb_fail(err, "key 'mask_ratio': expected [0, 1], got %g", c->mask_ratio);
    if (c->heads < 1 || (d > 0 && d % c->heads != 0))
        return bb_fail(err, "key 'heads': %d must divide the text width d = %d", c->heads, d);
    if (c->max_phrases < 1 || c->max_phrases > 10)
        return bb_fail(err, "key 'max_phrases': expected 1..10, got %d", c->max_phrases);
    if (c->select_k < 1) return bb_fail(err, "key 'select_k': must be positive, got %d", c->select_k);
    if (strcmp(c->select_on, "valid") != 0 && strcmp(c->select_on, "test") != 0)
        return bb_fail(err, "key 'select_on': expected valid or test, got \"%s\"", c->select_on);
    if (c->no_macro && c->no_micro)
        return bb_fail(err, "keys 'no_macro' and 'no_micro': at least one token kind must stay");
    const double w[5] = {c->alpha, c->beta, c->vq_weight, c->orth_weight, c->rec_weight};
    const char *names[5] = {"alpha", "beta", "vq_weight", "orth_weight", "rec_weight"};
    for (int k = 0; k < 5; k++)
        if (!(w[k] >= 0)) return bb_fail(err, "key '%s': must be >= 0, got %g", names[k], w[k]);
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * Model */

static void side_buf_alloc(beat_side_buf *b, int64_t cap, int32_t n_entities, int D, int T,
                           int d, int64_t pcap) {
    memset(b, 0, sizeof *b);
    b->cap = cap;
    const size_t c = (size_t)cap + 1;
    b->ent = bb_malloc(c * sizeof *b->ent);
    b->local = bb_malloc(((size_t)n_entities + 1) * sizeof *b->local);
    for (int32_t e = 0; e < n_entities; e++) b->local[e] = -1;
    b->x = bb_malloc(c * D * sizeof(float));
    b->dx = bb_malloc(c * D * sizeof(float));
    b->zmac = bb_malloc(c * d * sizeof(float));
    b->nmac = bb_malloc(c * sizeof(float));
    b->stmac = bb_malloc(c * d * sizeof(float));
    b->dmac = bb_malloc(c * d * sizeof(float));
    b->imac = bb_malloc(c * sizeof(int32_t));
    b->zmic = bb_malloc(c * T * d * sizeof(float));
    b->nmic = bb_malloc(c * T * sizeof(float));
    b->stmic = bb_malloc(c * T * d * sizeof(float));
    b->imic = bb_malloc(c * T * sizeof(int32_t));
    b->rec = bb_malloc(c * T * d * sizeof(float));
    b->drec = bb_malloc(c * T * d * sizeof(float));
    b->pix.off = bb_malloc(c * sizeof(int64_t));
    b->pix.pairs = bb_malloc(((size_t)pcap + 1) * sizeof(int32_t));
}

static void side_buf_free(beat_side_buf *b) {
    free(b->ent), free(b->local), free(b->x), free(b->dx), free(b->zmac), free(b->nmac);
    free(b->stmac), free(b->dmac), free(b->imac), free(b->zmic), free(b->nmic), free(b->stmic);
    free(b->imic), free(b->rec), free(b->drec), free(b->pix.off), free(b->pix.pairs);
    memset(b, 0, sizeof *b);
}

static void declare_side(beat_model *m, int s) {
    const char *who = s == BEAT_USER ? "user" : "item";
    beat_side *sd = &m->side[s];
    char name[64];
    const beat_config *c = &m->cfg;
    for (int k = 0; k < 2; k++) {
        if (k == BEAT_MACRO ? c->no_macro : c->no_micro) continue;
        const char *kind = k == BEAT_MACRO ? "macro" : "micro";
        snprintf(name, sizeof name, "%s.%s.map", who, kind);
        if (k == BEAT_MACRO)
            sd->map[k] = nn_params_add2(m->params, name, m->D, m->d);
        else
            sd->map[k] = nn_params_add(m->params, name, 3, (int64_t[]){m->T, m->t, m->d});
        if (c->continuous) continue;
        snprintf(name, sizeof name, "%s.%s.codebook", who, kind);
        sd->codebook[k] = nn_params_add2(m->params, name, m->K, m->d);
    }
    if (!c->no_micro && !c->no_micro_sup && c->beta > 0 && m->tf &&
        m->tf->side[s].n_rows > 0) {
        snprintf(name, sizeof name, "%s.sup", who);
        beat_micro_sup_declare(&sd->sup, m->params, name, m->d, m->T, c->heads);
        sd->has_sup = 1;
    }
}

static void init_side(beat_model *m, int s, bb_rng *r) {
    beat_side *sd = &m->side[s];
    /* Xavier uniform over the side's (n, D) matrix (torch's xavier_uniform_ on an
     * nn.Embedding weight), drawn in row-major order, stored chunk-major */
    const double a = sqrt(6.0 / ((double)sd->n + (double)m->D));
    const size_t N = (size_t)m->n_nodes, t = (size_t)m->t;
    for (int32_t e = 0; e < sd->n; e++)
        for (int c = 0; c < m->D; c++)
            m->ego->data[(size_t)(c / m->t) * N * t + ((size_t)sd->node0 + (size_t)e) * t +
                         (size_t)(c % m->t)] = (float)((2.0 * bb_rng_uniform(r) - 1.0) * a);
    if (sd->map[BEAT_MACRO]) nn_init_xavier_uniform(sd->map[BEAT_MACRO], r);
    if (sd->map[BEAT_MICRO])
        for (int k = 0; k < m->T; k++) { /* each chunk's (t, d) map on its own */
            nn_tensor one = nn_tensor_view_rows(sd->map[BEAT_MICRO], k, 1);
            nn_tensor view = nn_tensor_view_shape(&one, 2, (int64_t[]){m->t, m->d});
            nn_init_xavier_uniform(&view, r);
        }
    const float bound = 1.0f / (float)m->K;
    for (int k = 0; k < 2; k++)
        if (sd->codebook[k]) nn_init_uniform(sd->codebook[k], r, -bound, bound);
    if (sd->has_sup) beat_micro_sup_init(&sd->sup, r);
}

int beat_model_init(beat_model *m, const beat_config *cfg, uint64_t seed, int threads,
                    int32_t n_users, int32_t n_items, const int32_t *train_u,
                    const int32_t *train_i, size_t n_train, const bb_rank_lists *train_lists,
                    const beat_text_features *tf, int d, bb_error *err) {
    memset(m, 0, sizeof *m);
    if (beat_config_check(cfg, d, err) != BB_OK) return BB_ERR;
    if (d < 1) return bb_fail(err, "beat: the text width d must be positive, got %d", d);
    if (tf && tf->d != d)
        return bb_fail(err, "beat: text features are %d wide, the model expects %d", tf->d, d);
    if (tf && tf->T != cfg->token_len)
        return bb_fail(err, "beat: text features hold %d phrases per entity, token_len is %d",
                       tf->T, cfg->token_len);
    if (n_users < 1 || n_items < 2 || n_train == 0)
        return bb_fail(err, "beat: needs users, at least two items and training pairs "
                            "(%d users, %d items, %zu pairs)", n_users, n_items, n_train);
    for (int32_t u = 0; u < n_users; u++)
        if (train_lists->offsets[u + 1] - train_lists->offsets[u] >= (size_t)n_items)
            return bb_fail(err, "beat: user %d has a training pair with every item, so no "
                                "negative can be drawn", u);
    m->cfg = *cfg;
    m->T = cfg->token_len, m->t = cfg->token_dim, m->D = m->T * m->t, m->d = d;
    m->K = cfg->codebook_size;
    m->seed = seed;
    m->threads = threads < 1 ? 1 : threads;
    m->n_users = n_users, m->n_items = n_items, m->n_nodes = n_users + n_items;
    m->train_u = train_u, m->train_i = train_i, m->n_train = n_train;
    m->train_lists = train_lists;
    m->tf = tf;
    if (graph_adj_build(&m->adj, n_users, n_items, train_u, train_i, n_train, err) != BB_OK)
        return BB_ERR;
    m->side[BEAT_USER].n = n_users, m->side[BEAT_USER].node0 = 0;
    m->side[BEAT_ITEM].n = n_items, m->side[BEAT_ITEM].node0 = n_users;

    m->params = nn_params_new();
    m->ego = nn_params_add(m->params, "ego", 3, (int64_t[]){m->T, m->n_nodes, m->t});
    declare_side(m, BEAT_USER);
    declare_side(m, BEAT_ITEM);
    nn_params_finalize(m->params);
    bb_rng r;
    bb_rng_seed(&r, seed, "beat/init");
    init_side(m, BEAT_USER, &r);
    init_side(m, BEAT_ITEM, &r);

    /* one level of threads: the pool's workers each call single-threaded OpenBLAS */
    nn_set_threads(1);
    m->pool = bb_pool_new(m->threads);
    lgcn_plan_init(&m->plan, &m->adj, m->t, cfg->layers, m->pool);
    m->tape = nn_tape_new();
    beat_work *w = bb_calloc(1, sizeof *w);
    m->w = w;
    w->pcap = 2 * (int64_t)cfg->batch;
    const int64_t cap_u = n_users < cfg->batch ? n_users : cfg->batch;
    const int64_t cap_i = n_items < w->pcap ? n_items : w->pcap;
    side_buf_alloc(&w->s[BEAT_USER], cap_u, n_users, m->D, m->T, d, w->pcap);
    side_buf_alloc(&w->s[BEAT_ITEM], cap_i, n_items, m->D, m->T, d, w->pcap);
    const size_t cells = (size_t)m->n_nodes * (size_t)m->D + 1;
    w->F = bb_malloc(cells * sizeof(float));
    w->dF = bb_calloc(cells, sizeof(float));
    w->search = bb_malloc(beat_vq_search_scratch(m->K, m->threads) * sizeof(float));
    w->fold = bb_malloc(((size_t)m->T * m->K * m->t + 1) * sizeof(float));
    const int64_t cap_max = cap_u > cap_i ? cap_u : cap_i;
    w->inv = bb_malloc(((size_t)cap_max * m->T + 1) * sizeof(float));
    w->vqgrad = bb_malloc(beat_vq_backward_scratch(m->K, d, m->threads) * sizeof(float));
    w->nodes = bb_malloc(((size_t)cap_u + (size_t)cap_i + 1) * sizeof *w->nodes);
    const size_t pc = (size_t)w->pcap + 1;
    w->lu = bb_malloc(pc * sizeof *w->lu), w->li = bb_malloc(pc * sizeof *w->li);
    w->scores = bb_malloc(pc * sizeof *w->scores), w->g = bb_malloc(pc * sizeof *w->g);
    w->bu = bb_malloc(pc * sizeof *w->bu), w->bi = bb_malloc(pc * sizeof *w->bi);
    w->blabel = bb_malloc(pc * sizeof *w->blabel);
    w->btrain = bb_malloc(pc * sizeof *w->btrain);
    const size_t mask_slots = (size_t)beat_micro_mask_count(m->T, cfg->mask_ratio);
    w->sup_rows = bb_malloc(((size_t)cap_max + 1) * sizeof *w->sup_rows);
    w->sup_prow = bb_malloc(((size_t)cap_max + 1) * sizeof *w->sup_prow);
    w->sup_len = bb_malloc(((size_t)cap_max + 1) * sizeof *w->sup_len);
    w->sup_masked = bb_malloc(((size_t)cap_max * mask_slots + 1) * sizeof *w->sup_masked);
    m->perm = bb_malloc((n_train + 1) * sizeof *m->perm);
    return BB_OK;
}

void beat_model_free(beat_model *m) {
    if (!m) return;
    if (m->w) {
        side_buf_free(&m->w->s[0]);
        side_buf_free(&m->w->s[1]);
        free(m->w->F), free(m->w->dF), free(m->w->nodes), free(m->w->lu), free(m->w->li);
        free(m->w->scores), free(m->w->g), free(m->w->bu), free(m->w->bi), free(m->w->blabel);
        free(m->w->btrain), free(m->w->search), free(m->w->fold), free(m->w->inv);
        free(m->w->vqgrad), free(m->w->sup_rows), free(m->w->sup_prow), free(m->w->sup_len);
        free(m->w->sup_masked);
        beat_micro_ws_free(&m->w->micro_ws);
        free(m->w);
    }
    if (m->pool) lgcn_plan_free(&m->plan);
    bb_pool_free(m->pool);
    graph_adj_free(&m->adj);
    nn_tape_free(m->tape);
    nn_params_free(m->params);
    free(m->perm);
    memset(m, 0, sizeof *m);
}

void beat_frozen_free(beat_frozen *fz) {
    if (!fz) return;
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 2; k++) free(fz->idx[s][k]), free(fz->z[s][k]), free(fz->q[s][k]);
    memset(fz, 0, sizeof *fz);
}

/* ------------------------------------------------------------------------------------------
 * Forward of one side's rows */

/* Quantises rows z (n, d) of kind k: codes, straight-through tokens st, loss value. With
 * rec set and a codebook, the behaviour vectors rec = st + add[row / T] (add NULL: st) are
 * written in the same pass (beat_vq_forward_rec). */
static double quantise(beat_model *m, int s, int k, float *z, int64_t n, int32_t *idx,
                       float *st, beat_frozen *fz, int searched, int T, const float *add,
                       float *rec) {
    const nn_tensor *cb = m->side[s].codebook[k];
    const size_t cells = (size_t)n * (size_t)m->d;
    if (!cb) { /* continuous: the normalised projection is the token */
        memcpy(st, z, cells * sizeof(float));
        return 0.0;
    }
    const int replay = fz && fz->use;
    if (replay) {
        BB_ASSERT(fz->rows[s][k] == n, "beat: frozen values of %lld rows replayed on %lld",
                  (long long)fz->rows[s][k], (long long)n);
        memcpy(idx, fz->idx[s][k], (size_t)n * sizeof *idx);
    } else if (!searched) {
        beat_vq_search(m->pool, z, n, m->d, cb->data, m->K, idx, m->w->search);
    }
    if (fz && !fz->use) { /* record sg(z), sg(q) and the codes of this base point */
        free(fz->idx[s][k]), free(fz->z[s][k]), free(fz->q[s][k]);
        fz->rows[s][k] = n;
        fz->idx[s][k] = bb_malloc(((size_t)n + 1) * sizeof(int32_t));
        fz->z[s][k] = bb_malloc((cells + 1) * sizeof(float));
        fz->q[s][k] = bb_malloc((cells + 1) * sizeof(float));
        memcpy(fz->idx[s][k], idx, (size_t)n * sizeof *idx);
        memcpy(fz->z[s][k], z, cells * sizeof(float));
        for (int64_t r = 0; r < n; r++)
            memcpy(fz->q[s][k] + (size_t)r * m->d, cb->data + (size_t)idx[r] * m->d,
                   (size_t)m->d * sizeof(float));
    }
    if (rec)
        return beat_vq_forward_rec(m->pool, z, cb->data, idx, n / T, T, m->d,
                                   replay ? fz->z[s][k] : NULL, replay ? fz->q[s][k] : NULL, st,
                                   add, rec);
    return beat_vq_forward(m->pool, z, cb->data, idx, n, m->d, replay ? fz->z[s][k] : NULL,
                           replay ? fz->q[s][k] : NULL, st);
}

void beat_side_forward(beat_model *m, int s, beat_frozen *fz) {
    beat_work *w = m->w;
    beat_side_buf *b = &w->s[s];
    const beat_side *sd = &m->side[s];
    const int64_t n = b->n;
    const int D = m->D, d = m->d, T = m->T, t = m->t;
    const size_t N = (size_t)m->n_nodes;
    for (int64_t e = 0; e < n; e++)
        for (int k = 0; k < T; k++)
            memcpy(b->x + (size_t)e * D + (size_t)k * t,
                   w->F + ((size_t)k * N + (size_t)sd->node0 + (size_t)b->ent[e]) * t,
                   (size_t)t * sizeof(float));
    b->vq[0] = b->vq[1] = b->orth = 0.0;
    if (n == 0) return;
    if (sd->map[BEAT_MACRO]) {
        beat_gemm_rows_chunks(m->pool, 0, n, 1, d, D, b->x, D, 0, sd->map[BEAT_MACRO]->data, d,
                              0, 0.0f, b->zmac, d, d, b->nmac);
        b->vq[BEAT_MACRO] =
            quantise(m, s, BEAT_MACRO, b->zmac, n, b->imac, b->stmac, fz, 0, 1, NULL, NULL);
    }
    if (sd->map[BEAT_MICRO]) {
        const float *wmic = sd->map[BEAT_MICRO]->data;
        /* chunk k of every row through its own (t, d) map, then normalised */
        beat_gemm_rows_chunks(m->pool, 0, n, T, d, t, b->x, D, t, wmic, d, (int64_t)t * d, 0.0f,
                              b->zmic, T * d, d, b->nmic);
        const nn_tensor *cb = sd->codebook[BEAT_MICRO];
        const int fold = cb && !(fz && fz->use) && t < d;
        if (fold) { /* search chunk k with C W_k^T: inner dimension t instead of d */
            beat_vq_code_norms(cb->data, m->K, d, w->search);
            beat_gemm_rows_chunks(m->pool, 1, m->K, T, t, d, cb->data, d, 0, wmic, d,
                                  (int64_t)t * d, 0.0f, w->fold, t, (int64_t)m->K * t, NULL);
            for (int64_t r = 0; r < n * T; r++) w->inv[r] = 1.0f / b->nmic[r];
            for (int k = 0; k < T; k++)
                beat_vq_search_rows(m->pool, b->x + (size_t)k * t, n, t, D,
                                    w->fold + (size_t)k * m->K * t, m->K, w->search, w->inv + k,
                                    T, b->imic + k, T, w->search + m->K);
        }
        b->vq[BEAT_MICRO] = /* with a codebook, the behaviour vectors too */
            quantise(m, s, BEAT_MICRO, b->zmic, n * T, b->imic, b->stmic, fz, fold, T,
                     sd->map[BEAT_MACRO] ? b->stmac : NULL, b->rec);
        if (!m->cfg.no_orth) b->orth = beat_orth_forward(m->pool, b->x, D, n, T, t);
    }
    if (!sd->codebook[BEAT_MICRO])
        beat_rec_build(m->pool, sd->map[BEAT_MICRO] ? b->stmic : NULL,
                       sd->map[BEAT_MACRO] ? b->stmac : NULL, n, T, d, b->rec);
}

/* ------------------------------------------------------------------------------------------
 * One batch */

/* Distinct users and items of the pairs, ascending, and each pair's local rows. */
static void collect_rows(beat_model *m, const beat_batch *bt, int64_t P) {
    beat_work *w = m->w;
    const int32_t *ids[2] = {bt->u, bt->i};
    int32_t *loc[2] = {w->lu, w->li};
    w->n_nodes_batch = 0;
    for (int s = 0; s < 2; s++) {
        beat_side_buf *b = &w->s[s];
        const int32_t n_ent = m->side[s].n;
        for (int64_t p = 0; p < P; p++) b->local[ids[s][p]] = 0; /* mark */
        b->n = 0;
        for (int32_t e = 0; e < n_ent; e++)
            if (b->local[e] == 0) {
                BB_ASSERT(b->n < b->cap, "beat: batch holds more than %lld rows", (long long)b->cap);
                b->local[e] = (int32_t)b->n;
                b->ent[b->n++] = e;
                w->nodes[w->n_nodes_batch++] = m->side[s].node0 + e;
            }
        for (int64_t p = 0; p < P; p++) loc[s][p] = b->local[ids[s][p]];
        b->pix.n = b->n;
        beat_pair_index_build(&b->pix, loc[s], P);
    }
}

static void release_rows(beat_model *m) {
    for (int s = 0; s < 2; s++) {
        beat_side_buf *b = &m->w->s[s];
        for (int64_t e = 0; e < b->n; e++) b->local[b->ent[e]] = -1;
    }
}

/* dL/d(rows of one side): VQ, normalisation and projections back to dx. */
static void side_backward(beat_model *m, int s, beat_frozen *fz) {
    beat_side_buf *b = &m->w->s[s];
    const beat_side *sd = &m->side[s];
    const int64_t n = b->n;
    const int D = m->D, d = m->d, T = m->T, t = m->t;
    const int replay = fz && fz->use;
    const float vq_w = (float)m->cfg.vq_weight;
    int dx_written = 0;
    if (n == 0) return;
    if (sd->map[BEAT_MACRO]) {
        nn_tensor *cb = sd->codebook[BEAT_MACRO];
        if (cb) /* VQ and normalisation backward in one pass */
            beat_vq_backward(m->pool, b->zmac, cb->data, b->imac, n, d, m->K,
                             replay ? fz->z[s][0] : NULL, replay ? fz->q[s][0] : NULL, vq_w,
                             b->dmac, cb->grad, m->w->vqgrad, b->nmac);
        else
            beat_l2norm_backward(m->pool, b->zmac, b->nmac, b->dmac, n, d);
        nn_tensor *wm = sd->map[BEAT_MACRO];
        beat_gemm_at_b(m->pool, D, d, n, b->x, D, b->dmac, d, wm->grad, d);
        beat_gemm_rows(m->pool, 1, n, D, d, b->dmac, d, wm->data, d, 0.0f, b->dx, D);
        dx_written = 1;
    }
    if (sd->map[BEAT_MICRO]) {
        nn_tensor *cb = sd->codebook[BEAT_MICRO], *wm = sd->map[BEAT_MICRO];
        if (cb)
            beat_vq_backward(m->pool, b->zmic, cb->data, b->imic, n * T, d, m->K,
                             replay ? fz->z[s][1] : NULL, replay ? fz->q[s][1] : NULL, vq_w,
                             b->drec, cb->grad, m->w->vqgrad, b->nmic);
        else
            beat_l2norm_backward(m->pool, b->zmic, b->nmic, b->drec, n * T, d);
        beat_gemm_at_b_chunks(m->pool, T, t, d, n, b->x, D, t, b->drec, T * d, d, wm->grad, d,
                              (int64_t)t * d);
        beat_gemm_rows_chunks(m->pool, 1, n, T, t, d, b->drec, T * d, d, wm->data, d,
                              (int64_t)t * d, dx_written ? 1.0f : 0.0f, b->dx, D, t, NULL);
        if (!m->cfg.no_orth && m->cfg.orth_weight > 0)
            beat_orth_backward(m->pool, b->x, D, n, T, t, (float)m->cfg.orth_weight, b->dx);
    }
}

/* Adam on the ego rows as the graph backward produces their gradients (lgcn sink): each
 * row's update needs only that row, so no ego gradient block is written or read again. */
typedef struct ego_adam {
    beat_model *m;
    const nn_adam_consts *a;
    size_t offset; /* chunk k's start in the ego block (= in the registry: ego comes first) */
} ego_adam;

static void ego_adam_sink(void *ctx, int32_t row, const float *g) {
    const ego_adam *e = ctx;
    const nn_params *ps = e->m->params;
    const size_t at = e->offset + (size_t)row * (size_t)e->m->t;
    nn_adam_apply(e->a, ps->data + at, ps->m + at, ps->v + at, g, (size_t)e->m->t);
}

static beat_losses step(beat_model *m, const beat_batch *bt, beat_frozen *fz, int train) {
    beat_work *w = m->w;
    const beat_config *c = &m->cfg;
    const int64_t P = 2 * bt->n_pos;
    const int D = m->D, d = m->d, T = m->T;
    const int64_t W = (int64_t)T * d;
    const size_t chunk = (size_t)m->n_nodes * (size_t)m->t, t = (size_t)m->t;
    BB_ASSERT(P <= w->pcap, "beat_step_grad: %lld pairs exceed the batch capacity %lld",
              (long long)P, (long long)w->pcap);
    beat_losses L;
    memset(&L, 0, sizeof L);
    beat_clock ck;

    /* forward */
    beat_clock_start(&ck);
    collect_rows(m, bt, P);
    for (int k = 0; k < T; k++) /* LightGCN is column-separable: one t-wide chunk at a time */
        lgcn_propagate_rows(&m->plan, m->ego->data + k * chunk, w->F + k * chunk, w->nodes,
                            w->n_nodes_batch);
    beat_clock_lap(&ck, &m->times, BEAT_PH_GRAPH_FWD);
    beat_side_forward(m, BEAT_USER, fz);
    beat_side_forward(m, BEAT_ITEM, fz);
    beat_clock_lap(&ck, &m->times, BEAT_PH_TOKENS_FWD);
    beat_side_buf *bu = &w->s[BEAT_USER], *bi = &w->s[BEAT_ITEM];
    L.users = bu->n, L.items = bi->n;
    L.vq = bu->vq[0] + bu->vq[1] + bi->vq[0] + bi->vq[1];
    L.orth = bu->orth + bi->orth;
    beat_recon_state rs = beat_recon_forward(m->pool, bu->rec, bi->rec, W, w->lu, w->li,
                                             bt->label, P, w->scores, &bu->pix);
    L.rec = rs.loss;

    /* backward: everything but the ego block is zeroed; its gradient is written whole (or
     * never, when Adam takes it row by row) */
    const size_t ego_cells = (size_t)m->ego->numel;
    memset(m->params->grad + ego_cells, 0,
           (size_t)(m->params->total - (int64_t)ego_cells) * sizeof(float));
    /* every row of drec and (with macro tokens) of dmac = sum_k drec[k] is written here,
     * before the supervision adds its terms */
    const int macro = m->side[BEAT_USER].map[BEAT_MACRO] != NULL;
    if (c->rec_weight > 0) {
        beat_recon_backward(m->pool, &rs, bu->rec, bi->rec, W, w->lu, w->li, bt->label, P,
                            w->scores, &bu->pix, &bi->pix, (float)c->rec_weight, w->g,
                            bu->drec, bi->drec, T, macro ? bu->dmac : NULL,
                            macro ? bi->dmac : NULL);
    } else {
        for (int s = 0; s < 2; s++) {
            memset(w->s[s].drec, 0, (size_t)w->s[s].n * W * sizeof(float));
            if (macro) memset(w->s[s].dmac, 0, (size_t)w->s[s].n * d * sizeof(float));
        }
    }
    beat_clock_lap(&ck, &m->times, BEAT_PH_RECON);
    beat_supervision(m, bt, &L); /* adds into dmac (macro) and drec (micro tokens) */
    beat_clock_lap(&ck, &m->times, BEAT_PH_SUP);
    L.total = c->vq_weight * L.vq + c->orth_weight * L.orth + c->rec_weight * L.rec +
              c->beta * L.micro + c->alpha * L.macro;
    side_backward(m, BEAT_USER, fz);
    side_backward(m, BEAT_ITEM, fz);
    beat_clock_lap(&ck, &m->times, BEAT_PH_TOKENS_BWD);
    for (int s = 0; s < 2; s++) {
        const beat_side_buf *b = &w->s[s];
        for (int64_t e = 0; e < b->n; e++)
            for (int k = 0; k < T; k++)
                memcpy(w->dF + k * chunk + ((size_t)m->side[s].node0 + (size_t)b->ent[e]) * t,
                       b->dx + (size_t)e * D + k * t, t * sizeof(float));
    }
    /* dL/dE0 = P dL/dF (P symmetric): written over the whole ego gradient, or in training
     * straight into Adam, followed by Adam on the other parameters */
    if (!train) {
        for (int k = 0; k < T; k++)
            lgcn_propagate_sparse(&m->plan, w->dF + k * chunk, w->nodes, w->n_nodes_batch,
                                  m->ego->grad + k * chunk);
    } else {
        const nn_adam_consts a = beat_adam_begin(m);
        for (int k = 0; k < T; k++) {
            ego_adam e = {m, &a, k * chunk};
            lgcn_propagate_sparse_to(&m->plan, w->dF + k * chunk, w->nodes, w->n_nodes_batch,
                                     ego_adam_sink, &e);
        }
        beat_clock_lap(&ck, &m->times, BEAT_PH_GRAPH_BWD);
        beat_adam_block(m, &a, m->ego->numel, m->params->total);
        beat_clock_lap(&ck, &m->times, BEAT_PH_ADAM);
    }
    for (int k = 0; k < T; k++)
        for (int32_t r = 0; r < w->n_nodes_batch; r++)
            memset(w->dF + k * chunk + (size_t)w->nodes[r] * t, 0, t * sizeof(float));
    beat_clock_lap(&ck, &m->times, train ? BEAT_PH_ADAM : BEAT_PH_GRAPH_BWD);
    release_rows(m);
    if (fz && !fz->use) fz->use = 1;
    return L;
}

beat_losses beat_step_grad(beat_model *m, const beat_batch *bt, beat_frozen *fz) {
    return step(m, bt, fz, 0);
}

beat_losses beat_step_train(beat_model *m, const beat_batch *bt) { return step(m, bt, NULL, 1); }
