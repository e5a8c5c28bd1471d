/* bpr — the shared BPR training loop of MF and LightGCN (DESIGN §7), SELFRec's protocol:
 *
 *   - every epoch the training pairs are shuffled (stream (seed, "bpr/shuffle", epoch));
 *   - each batch of B (user, positive) pairs gets one negative per pair, drawn uniformly
 *     among the items the user has no training pair with (stream (seed, "bpr/negatives",
 *     epoch), drawn in batch order by rejection);
 *   - scores come from the model's final embeddings (MF: the ego embeddings; LightGCN: the
 *     mean of layers 0..L over the whole graph, recomputed every step);
 *   - loss = mean_b -log sigmoid(s_ui - s_uj) + lambda * sum_b (|u_b|^2 + |i_b|^2 + |j_b|^2) / n_b
 *     (n_b = pairs in the batch; the last batch may be short). `reg_on` picks the rows the
 *     L2 term reads: the final embeddings (default, the batch embeddings the loss scores) or
 *     the ego ones (layer 0, as the LightGCN paper); for MF both are the same;
 *   - Adam (torch's formula, bias-corrected, no weight decay) over every parameter.
 * -log sigmoid(x) is computed as softplus(-x), exact where SELFRec adds 1e-7 inside the log.
 *
 * Exactness of the fast path. A step touches only the batch's rows of the loss, so the
 * LightGCN forward computes its last layer only for those rows and the backward scatters
 * its first layer from them (lightgcn.h); the loss and every gradient are exactly those of
 * full propagation. Adam is dense (every parameter moves every step, as torch's Adam):
 * nn's kernel (nn_adam_apply, the bits of nn_adam_step) split across the pool; for
 * LightGCN it runs on each gradient row as the backward pass produces it.
 *
 * Determinism: one thread draws the batches and reduces the loss in batch order; the
 * propagation and Adam split work across the pool's threads in a fixed way. Two runs with
 * the same seed and thread count give the same bits.
 *
 * Ownership: bpr_model owns its parameters, graph, pool and buffers (bpr_model_free).
 */
#ifndef BPR_H
#define BPR_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/ranking.h"
#include "models/base/bb_error.h"
#include "models/graph/graph_adj.h"
#include "models/base/bb_pool.h"
#include "models/graph/lightgcn.h"
#include "models/nn/nn_optim.h"

typedef enum { BPR_MF, BPR_LIGHTGCN } bpr_kind;
typedef enum { BPR_REG_FINAL, BPR_REG_EGO } bpr_reg_on;

typedef struct bpr_config {
    bpr_kind kind;
    int dim;        /* 64 */
    int layers;     /* LightGCN layers, 2 */
    int batch;      /* 2048 */
    double lr;      /* 1e-3 */
    double reg;     /* lambda, 1e-4 */
    bpr_reg_on reg_on;
    uint64_t seed;
    int threads;
    int unfused_adam; /* 0: LightGCN applies Adam row by row inside the backward pass; 1:
                       * writes the gradient block, then a separate Adam pass (tests check
                       * both give the same bits; ego regularisation always uses this form) */
} bpr_config;

void bpr_config_default(bpr_config *c, bpr_kind kind);
const char *bpr_kind_name(bpr_kind kind); /* "mf" | "lightgcn" */

typedef struct bpr_model {
    bpr_config cfg;
    int32_t n_users, n_items, n_nodes;
    /* training pairs (borrowed, must outlive the model) and per-user item lists */
    const int32_t *train_users, *train_items;
    size_t n_train;
    const bb_rank_lists *train_lists; /* borrowed: negatives avoid these */
    nn_params *params;   /* "user_emb" (n_users, d) then "item_emb" (n_items, d): one block,
                          * so params->data is the (n_nodes, d) ego matrix in node order */
    bb_pool *pool;
    graph_adj adj;       /* LightGCN only */
    lgcn_plan plan;      /* LightGCN only */
    float *final;        /* (n_nodes, d) scoring embeddings; MF: aliases params->data */
    float *grad_final;   /* (n_nodes, d) loss gradient w.r.t. final rows; zero off-batch.
                          * MF: aliases params->grad */
    /* per-step scratch */
    int32_t *perm, *batch_u, *batch_i, *batch_j, *rows, *row_stamp;
    int32_t n_rows;
    float *loss_gx, *loss_sq; /* batch loss scratch (no allocation per step) */
    double *loss_term;
    int64_t steps; /* Adam steps taken */
} bpr_model;

/* Builds the model and Xavier-initialises the embeddings from (seed, "init/<kind>").
 * users/items: the n training pairs; train_lists: the same pairs as per-user lists.
 * Errors: a user with a training pair on every item (no negative exists), bad config. */
int bpr_model_init(bpr_model *m, const bpr_config *cfg, int32_t n_users, int32_t n_items,
                   const int32_t *users, const int32_t *items, size_t n,
                   const bb_rank_lists *train_lists, bb_error *err);
void bpr_model_free(bpr_model *m);

/* One epoch (1-based index `epoch` keys the random streams). Returns the mean batch loss.
 * `label` (may be NULL) names the progress line. */
double bpr_train_epoch(bpr_model *m, int epoch, const char *label);

/* Full final embeddings of every node into m->final (LightGCN: full propagation). */
void bpr_model_compute_final(bpr_model *m);

/* ------------------------------------------------------------------------------------------
 * Building blocks, public for the gradient checks. */

/* BPR term of a batch of n triples (node ids into emb, rows of width d): returns
 * mean -log sigmoid(<u,i> - <u,j>) and ADDS its gradient into grad (same layout). */
double bpr_score_loss(const float *emb, float *grad, int d, const int32_t *u, const int32_t *i,
                      const int32_t *j, int n);
/* L2 term: lambda/n * sum of squared norms of the 3n rows; ADDS its gradient. */
double bpr_reg_loss(const float *emb, float *grad, int d, const int32_t *u, const int32_t *i,
                    const int32_t *j, int n, double lambda);

/* Both terms (lambda = 0: the BPR term alone), split across the pool; the same bits as
 * bpr_score_loss + bpr_reg_loss (n_nodes: rows of emb/grad). */
double bpr_batch_loss(bb_pool *pool, const float *emb, float *grad, int d, int32_t n_nodes,
                      const int32_t *u, const int32_t *i, const int32_t *j, int n,
                      double lambda);

/* Adam over n floats with the constants of one step (nn_adam_consts_at: torch.optim.Adam,
 * no weight decay), nn_adam_apply split across the pool. Bit-identical to nn_adam_step on
 * the same inputs. */
void bpr_adam_update(bb_pool *pool, const nn_adam_consts *c, float *p, const float *g,
                     float *m1, float *m2, size_t n);

#endif
