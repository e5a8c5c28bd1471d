/* bpr — BPR training of MF and LightGCN: batches, negatives, fused loss, sparse-aware
 * propagation, Adam (nn's kernel) split across the pool or fused into the backward pass.
 * Protocol and exactness notes in bpr.h. */
#include "baselines/bpr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_progress.h"
#include "models/base/bb_rng.h"
#include "models/base/bb_simd.h"

void bpr_config_default(bpr_config *c, bpr_kind kind) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->dim = 64;
    c->layers = 2;
    c->batch = 2048;
    c->lr = 1e-3;
    c->reg = 1e-4;
    c->reg_on = BPR_REG_FINAL;
    c->seed = 0;
    c->threads = 1;
}

const char *bpr_kind_name(bpr_kind kind) { return kind == BPR_MF ? "mf" : "lightgcn"; }

/* ------------------------------------------------------------------------------------------
 * Loss terms */

/* <a, b> over d floats: 8 lanes then the lanes in a fixed order (deterministic). */
static float dot(const float *a, const float *b, int d) {
    int c = 0;
    bb_vec8f acc = bb_splat8(0.0f);
    for (; c + 8 <= d; c += 8) acc += bb_load8(a + c) * bb_load8(b + c);
    float lanes[8];
    memcpy(lanes, &acc, sizeof lanes);
    float s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
              ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (; c < d; c++) s += a[c] * b[c];
    return s;
}

/* dst += alpha * src over d floats */
static void axpy(float *dst, float alpha, const float *src, int d) {
    int c = 0;
    const bb_vec8f av = bb_splat8(alpha);
    for (; c + 8 <= d; c += 8) bb_store8(dst + c, bb_load8(dst + c) + av * bb_load8(src + c));
    for (; c < d; c++) dst[c] += alpha * src[c];
}

/* softplus(z) = log(1 + e^z), stable for large |z| */
static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

double bpr_score_loss(const float *emb, float *grad, int d, const int32_t *u, const int32_t *i,
                      const int32_t *j, int n) {
    /* L = (1/n) Σ softplus(-x_b), x_b = <u,i> - <u,j>;  dL/dx_b = -sigmoid(-x_b)/n,
     * dx/du = i - j, dx/di = u, dx/dj = -u. */
    double loss = 0.0;
    for (int b = 0; b < n; b++) {
        const float *eu = emb + (size_t)u[b] * d, *ei = emb + (size_t)i[b] * d,
                    *ej = emb + (size_t)j[b] * d;
        double x = (double)dot(eu, ei, d) - (double)dot(eu, ej, d);
        loss += softplus(-x);
        float gx = (float)(-1.0 / (1.0 + exp(x)) / n); /* -sigmoid(-x)/n */
        axpy(grad + (size_t)u[b] * d, gx, ei, d);
        axpy(grad + (size_t)u[b] * d, -gx, ej, d);
        axpy(grad + (size_t)i[b] * d, gx, eu, d);
        axpy(grad + (size_t)j[b] * d, -gx, eu, d);
    }
    return n ? loss / n : 0.0;
}

double bpr_reg_loss(const float *emb, float *grad, int d, const int32_t *u, const int32_t *i,
                    const int32_t *j, int n, double lambda) {
    if (lambda == 0.0 || n == 0) return 0.0;
    double sq = 0.0;
    const float g2 = (float)(2.0 * lambda / n);
    const int32_t *lists[3] = {u, i, j};
    for (int b = 0; b < n; b++) {
        for (int w = 0; w < 3; w++) {
            const float *e = emb + (size_t)lists[w][b] * d;
            sq += (double)dot(e, e, d);
            axpy(grad + (size_t)lists[w][b] * d, g2, e, d);
        }
    }
    return lambda * sq / n;
}

/* The same two terms on the pool, bit-identical to bpr_score_loss + bpr_reg_loss:
 * phase 1 computes each triple's dot products (threads take equal shares of the batch);
 * phase 2 applies the gradient rows, each thread owning a range of node ids and walking
 * all triples in order, so every row receives its contributions in exactly the serial
 * order (score terms for all triples, then L2 terms). The loss sums run in batch order. */
typedef struct {
    const float *emb;
    float *grad;
    int d, n;
    const int32_t *u, *i, *j;
    double lambda;
    int32_t n_nodes;
    float *gx;       /* n: dL/dx_b */
    double *term;    /* n: softplus(-x_b) */
    float *sq;       /* 3n: squared norms of the u, i, j rows */
} loss_job;

static void loss_phase1(void *ctx, int t, int n_threads) {
    const loss_job *L = ctx;
    int lo = (int)((int64_t)L->n * t / n_threads), hi = (int)((int64_t)L->n * (t + 1) / n_threads);
    const int d = L->d;
    for (int b = lo; b < hi; b++) {
        const float *eu = L->emb + (size_t)L->u[b] * d, *ei = L->emb + (size_t)L->i[b] * d,
                    *ej = L->emb + (size_t)L->j[b] * d;
        double x = (double)dot(eu, ei, d) - (double)dot(eu, ej, d);
        L->term[b] = softplus(-x);
        L->gx[b] = (float)(-1.0 / (1.0 + exp(x)) / L->n);
        if (L->lambda != 0.0) {
            L->sq[3 * b] = dot(eu, eu, d);
            L->sq[3 * b + 1] = dot(ei, ei, d);
            L->sq[3 * b + 2] = dot(ej, ej, d);
        }
    }
}

static void loss_phase2(void *ctx, int t, int n_threads) {
    const loss_job *L = ctx;
    const int32_t lo = (int32_t)((int64_t)L->n_nodes * t / n_threads),
                  hi = (int32_t)((int64_t)L->n_nodes * (t + 1) / n_threads);
    const int d = L->d;
    for (int b = 0; b < L->n; b++) {
        const int32_t u = L->u[b], i = L->i[b], j = L->j[b];
        const float gx = L->gx[b];
        const float *eu = L->emb + (size_t)u * d;
        if (u >= lo && u < hi) {
            axpy(L->grad + (size_t)u * d, gx, L->emb + (size_t)i * d, d);
            axpy(L->grad + (size_t)u * d, -gx, L->emb + (size_t)j * d, d);
        }
        if (i >= lo && i < hi) axpy(L->grad + (size_t)i * d, gx, eu, d);
        if (j >= lo && j < hi) axpy(L->grad + (size_t)j * d, -gx, eu, d);
    }
    if (L->lambda == 0.0) return;
    const float g2 = (float)(2.0 * L->lambda / L->n);
    for (int b = 0; b < L->n; b++) {
        const int32_t rows[3] = {L->u[b], L->i[b], L->j[b]};
        for (int w = 0; w < 3; w++)
            if (rows[w] >= lo && rows[w] < hi)
                axpy(L->grad + (size_t)rows[w] * d, g2, L->emb + (size_t)rows[w] * d, d);
    }
}

/* scratch: gx (n floats), term (n doubles), sq (3n floats), owned by the caller */
static double batch_loss(bb_pool *pool, const float *emb, float *grad, int d,
                         int32_t n_nodes, const int32_t *u, const int32_t *i, const int32_t *j,
                         int n, double lambda, float *gx, double *term, float *sqs) {
    if (n == 0) return 0.0;
    loss_job L = {emb, grad, d, n, u, i, j, lambda, n_nodes, gx, term, sqs};
    bb_pool_run(pool, loss_phase1, &L);
    bb_pool_run(pool, loss_phase2, &L);
    double loss = 0.0, sq = 0.0;
    for (int b = 0; b < n; b++) loss += term[b];
    loss /= n;
    if (lambda != 0.0) {
        for (int k = 0; k < 3 * n; k++) sq += (double)sqs[k];
        loss += lambda * sq / n;
    }
    return loss;
}

double bpr_batch_loss(bb_pool *pool, const float *emb, float *grad, int d, int32_t n_nodes,
                      const int32_t *u, const int32_t *i, const int32_t *j, int n,
                      double lambda) {
    float *gx = bb_malloc(((size_t)n + 1) * sizeof *gx);
    double *term = bb_malloc(((size_t)n + 1) * sizeof *term);
    float *sq = bb_malloc((3 * (size_t)n + 1) * sizeof *sq);
    double loss = batch_loss(pool, emb, grad, d, n_nodes, u, i, j, n, lambda, gx, term, sq);
    free(gx);
    free(term);
    free(sq);
    return loss;
}

/* ------------------------------------------------------------------------------------------
 * Adam: the element update is nn_adam_apply (torch.optim.Adam's float operations, the
 * same bits as nn_adam_step); here only how the block is split and fed to it. */

typedef struct {
    const nn_adam_consts *c;
    float *p, *m1, *m2;
    const float *g;
    size_t n;
} adam_job;

static void adam_worker(void *ctx, int t, int n_threads) {
    const adam_job *a = ctx;
    /* parts aligned to 8 floats so only the last part has a scalar tail */
    size_t blocks = a->n / 8;
    size_t lo = blocks * (size_t)t / (size_t)n_threads * 8;
    size_t hi = t == n_threads - 1 ? a->n : blocks * (size_t)(t + 1) / (size_t)n_threads * 8;
    nn_adam_apply(a->c, a->p + lo, a->m1 + lo, a->m2 + lo, a->g + lo, hi - lo);
}

void bpr_adam_update(bb_pool *pool, const nn_adam_consts *c, float *p, const float *g,
                     float *m1, float *m2, size_t n) {
    adam_job a = {c, p, m1, m2, g, n};
    bb_pool_run(pool, adam_worker, &a);
}

/* The fused form: the backward pass hands each gradient row of the ego embeddings to this
 * sink, which applies Adam to that row at once (lgcn_propagate_sparse_to). Same element
 * operations as bpr_adam_update, so the same bits, without writing and re-reading a
 * gradient block. */
typedef struct {
    const nn_adam_consts *c;
    float *p, *m1, *m2;
    size_t d, n_total;
} adam_row_ctx;

#define ADAM_PREFETCH_ROWS 4

static void adam_row_sink(void *ctx, int32_t row, const float *g) {
    const adam_row_ctx *a = ctx;
    size_t off = (size_t)row * a->d;
    /* rows arrive in ascending order per thread: fetch the moments a few rows ahead, which
     * the hardware prefetcher misses between the gathers (they come from DRAM each step) */
    size_t ahead = off + ADAM_PREFETCH_ROWS * a->d;
    if (ahead + a->d <= a->n_total) {
        for (size_t c = 0; c < a->d; c += 16) {
            __builtin_prefetch(a->m1 + ahead + c, 1);
            __builtin_prefetch(a->m2 + ahead + c, 1);
            __builtin_prefetch(a->p + ahead + c, 1);
        }
    }
    nn_adam_apply(a->c, a->p + off, a->m1 + off, a->m2 + off, g, a->d);
}

/* ------------------------------------------------------------------------------------------
 * Model */

int bpr_model_init(bpr_model *m, const bpr_config *cfg, int32_t n_users, int32_t n_items,
                   const int32_t *users, const int32_t *items, size_t n,
                   const bb_rank_lists *train_lists, bb_error *err) {
    memset(m, 0, sizeof *m);
    if (cfg->dim <= 0) return bb_fail(err, "bpr: embedding width must be positive, got %d", cfg->dim);
    if (cfg->batch <= 0) return bb_fail(err, "bpr: batch size must be positive, got %d", cfg->batch);
    if (cfg->kind == BPR_LIGHTGCN && cfg->layers < 0)
        return bb_fail(err, "bpr: layers must be >= 0, got %d", cfg->layers);
    if (!(cfg->lr > 0)) return bb_fail(err, "bpr: learning rate must be positive, got %g", cfg->lr);
    if (!(cfg->reg >= 0)) return bb_fail(err, "bpr: L2 weight must be >= 0, got %g", cfg->reg);
    if (n == 0) return bb_fail(err, "bpr: no training pairs");
    if (train_lists->n_users != n_users || train_lists->n_items != n_items)
        return bb_fail(err, "bpr: training lists are %d x %d, the model %d x %d",
                       (int)train_lists->n_users, (int)train_lists->n_items, (int)n_users,
                       (int)n_items);
    for (int32_t u = 0; u < n_users; u++)
        if (train_lists->offsets[u + 1] - train_lists->offsets[u] >= (size_t)n_items)
            return bb_fail(err, "bpr: user %d has a training pair with every item, so no "
                                "negative item can be sampled", (int)u);
    m->cfg = *cfg;
    m->n_users = n_users;
    m->n_items = n_items;
    m->n_nodes = n_users + n_items;
    m->train_users = users;
    m->train_items = items;
    m->n_train = n;
    m->train_lists = train_lists;
    const int d = cfg->dim;

    m->params = nn_params_new();
    nn_tensor *ue = nn_params_add2(m->params, "user_emb", n_users > 0 ? n_users : 1, d);
    nn_tensor *ie = nn_params_add2(m->params, "item_emb", n_items > 0 ? n_items : 1, d);
    nn_params_finalize(m->params); /* cache-line aligned blocks: whole-line rows */
    char purpose[64];
    snprintf(purpose, sizeof purpose, "init/%s", bpr_kind_name(cfg->kind));
    bb_rng r;
    bb_rng_seed(&r, cfg->seed, purpose);
    nn_init_xavier_uniform(ue, &r);
    nn_init_xavier_uniform(ie, &r);

    m->pool = bb_pool_new(cfg->threads);
    size_t cells = (size_t)m->n_nodes * (size_t)d;
    if (cfg->kind == BPR_LIGHTGCN) {
        if (graph_adj_build(&m->adj, n_users, n_items, users, items, n, err) != BB_OK) {
            bpr_model_free(m);
            return BB_ERR;
        }
        lgcn_plan_init(&m->plan, &m->adj, d, cfg->layers, m->pool);
        m->final = bb_calloc(cells + 8, sizeof(float));
        m->grad_final = bb_calloc(cells + 8, sizeof(float));
    } else {
        m->final = m->params->data;
        m->grad_final = m->params->grad;
    }
    size_t cap = (size_t)cfg->batch < n ? (size_t)cfg->batch : n;
    m->perm = bb_malloc(n * sizeof *m->perm);
    m->batch_u = bb_malloc(cap * sizeof *m->batch_u);
    m->batch_i = bb_malloc(cap * sizeof *m->batch_i);
    m->batch_j = bb_malloc(cap * sizeof *m->batch_j);
    m->rows = bb_malloc((3 * cap + 1) * sizeof *m->rows);
    m->row_stamp = bb_calloc((size_t)m->n_nodes + 1, sizeof *m->row_stamp);
    m->loss_gx = bb_malloc((cap + 1) * sizeof *m->loss_gx);
    m->loss_term = bb_malloc((cap + 1) * sizeof *m->loss_term);
    m->loss_sq = bb_malloc((3 * cap + 1) * sizeof *m->loss_sq);
    return BB_OK;
}

void bpr_model_free(bpr_model *m) {
    if (!m) return;
    if (m->cfg.kind == BPR_LIGHTGCN) {
        free(m->final);
        free(m->grad_final);
        lgcn_plan_free(&m->plan);
        graph_adj_free(&m->adj);
    }
    nn_params_free(m->params);
    bb_pool_free(m->pool);
    free(m->perm);
    free(m->batch_u);
    free(m->batch_i);
    free(m->batch_j);
    free(m->rows);
    free(m->row_stamp);
    free(m->loss_gx);
    free(m->loss_term);
    free(m->loss_sq);
    memset(m, 0, sizeof *m);
}

/* Distinct nodes of the batch in ascending order, found by stamping: a scan over the node
 * range instead of a sort (cheaper for a few thousand rows out of ~30k nodes). */
static void collect_rows(bpr_model *m, int nb) {
    const int32_t stamp = (int32_t)(m->steps % 2147483647) + 1;
    const int32_t *lists[3] = {m->batch_u, m->batch_i, m->batch_j};
    for (int w = 0; w < 3; w++)
        for (int b = 0; b < nb; b++) m->row_stamp[lists[w][b]] = stamp;
    int32_t n = 0;
    for (int32_t r = 0; r < m->n_nodes; r++)
        if (m->row_stamp[r] == stamp) m->rows[n++] = r;
    m->n_rows = n;
}

static int32_t sample_negative(const bpr_model *m, int32_t user, bb_rng *r) {
    const bb_rank_lists *l = m->train_lists;
    for (;;) {
        int32_t j = (int32_t)bb_rng_below(r, (uint64_t)m->n_items);
        if (!bb_rank_lists_contains(l, user, j)) return j;
    }
}

/* One step on batch pairs perm[from, from + nb). Returns the batch loss. */
static double train_step(bpr_model *m, size_t from, int nb, bb_rng *neg_rng) {
    const int d = m->cfg.dim;
    for (int b = 0; b < nb; b++) {
        int32_t p = m->perm[from + (size_t)b];
        int32_t user = m->train_users[p];
        m->batch_u[b] = user;
        m->batch_i[b] = m->n_users + m->train_items[p];
        m->batch_j[b] = m->n_users + sample_negative(m, user, neg_rng);
    }
    m->steps++;
    const nn_adam opt = nn_adam_default((float)m->cfg.lr); /* no weight decay: L2 is in the loss */
    const nn_adam_consts adam = nn_adam_consts_at(&opt, m->steps);
    float *ego = m->params->data, *grad = m->params->grad;
    double loss;
    if (m->cfg.kind == BPR_MF) {
        /* final = ego, grad_final = grad: the batch rows are all that is nonzero */
        loss = batch_loss(m->pool, ego, grad, d, m->n_nodes, m->batch_u, m->batch_i, m->batch_j,
                          nb, m->cfg.reg, m->loss_gx, m->loss_term, m->loss_sq);
        bpr_adam_update(m->pool, &adam, ego, grad, m->params->m, m->params->v,
                        (size_t)m->params->total);
        collect_rows(m, nb);
        for (int32_t k = 0; k < m->n_rows; k++)
            memset(grad + (size_t)m->rows[k] * d, 0, (size_t)d * sizeof(float));
        return loss;
    }
    collect_rows(m, nb);
    lgcn_propagate_rows(&m->plan, ego, m->final, m->rows, m->n_rows);
    loss = batch_loss(m->pool, m->final, m->grad_final, d, m->n_nodes, m->batch_u, m->batch_i,
                      m->batch_j, nb, m->cfg.reg_on == BPR_REG_FINAL ? m->cfg.reg : 0.0,
                      m->loss_gx, m->loss_term, m->loss_sq);
    const int ego_reg = m->cfg.reg_on == BPR_REG_EGO && m->cfg.reg != 0.0;
    if (!ego_reg && !m->cfg.unfused_adam) {
        /* dL/dE0 = P dL/dF (P symmetric); each row goes straight into Adam */
        adam_row_ctx a = {&adam, ego, m->params->m, m->params->v, (size_t)d,
                          (size_t)m->params->total};
        lgcn_propagate_sparse_to(&m->plan, m->grad_final, m->rows, m->n_rows, adam_row_sink, &a);
    } else {
        /* the L2 term on the ego rows joins the gradient after propagation, so the whole
         * gradient block is written first, then Adam runs over it */
        lgcn_propagate_sparse(&m->plan, m->grad_final, m->rows, m->n_rows, grad);
        if (ego_reg)
            loss += bpr_reg_loss(ego, grad, d, m->batch_u, m->batch_i, m->batch_j, nb, m->cfg.reg);
        bpr_adam_update(m->pool, &adam, ego, grad, m->params->m, m->params->v,
                        (size_t)m->params->total);
    }
    for (int32_t k = 0; k < m->n_rows; k++)
        memset(m->grad_final + (size_t)m->rows[k] * d, 0, (size_t)d * sizeof(float));
    return loss;
}

double bpr_train_epoch(bpr_model *m, int epoch, const char *label) {
    bb_rng shuffle_rng, neg_rng;
    bb_rng_seed_indexed(&shuffle_rng, m->cfg.seed, "bpr/shuffle", (uint64_t)epoch);
    bb_rng_seed_indexed(&neg_rng, m->cfg.seed, "bpr/negatives", (uint64_t)epoch);
    for (size_t p = 0; p < m->n_train; p++) m->perm[p] = (int32_t)p;
    bb_rng_shuffle_i32(&shuffle_rng, m->perm, m->n_train);
    size_t batch = (size_t)m->cfg.batch;
    size_t n_batches = (m->n_train + batch - 1) / batch;
    bb_progress prog;
    char name[96];
    snprintf(name, sizeof name, "%s", label ? label : bpr_kind_name(m->cfg.kind));
    bb_progress_begin(&prog, name, n_batches, "batch");
    double loss_sum = 0.0;
    for (size_t bi = 0; bi < n_batches; bi++) {
        size_t from = bi * batch;
        int nb = (int)(m->n_train - from < batch ? m->n_train - from : batch);
        loss_sum += train_step(m, from, nb, &neg_rng);
        bb_progress_update(&prog, bi + 1, "loss %.4f", loss_sum / (double)(bi + 1));
    }
    double mean = loss_sum / (double)n_batches;
    bb_progress_end(&prog, "loss %.4f", mean);
    return mean;
}

void bpr_model_compute_final(bpr_model *m) {
    if (m->cfg.kind == BPR_MF) return; /* final aliases the ego embeddings */
    lgcn_propagate(&m->plan, m->params->data, m->final, 0);
}
