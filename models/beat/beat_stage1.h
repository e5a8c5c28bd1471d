/* beat_stage1 — BEAT stage 1, the behaviour vocabulary (DESIGN §4; Feng et al., AAAI 2026).
 *
 * Model. Ego embeddings of users and items (D = T t wide, Xavier uniform) go through
 * LightGCN propagation (2 layers, mean of layers 0..2) every step (models/graph). Four
 * quantisers (beat_vq.h): user/item macro maps the whole D-vector through a (D x d) map,
 * user/item micro maps chunk k of t through its own (t x d) map; outputs are L2-normalised
 * and snap to the nearest of K codewords (codebooks U(-1/K, 1/K), maps Xavier), straight-
 * through. rec(e) = micro tokens + macro token repeated T times (beat_recon.h) reconstructs
 * the behaviour: scores rec(u) . rec(i) of the batch's pairs, min-max scaled, RMSE against
 * 1/0 labels; that score is also the ranking score. Supervision (beat_sup.h): macro InfoNCE
 * against training explanations' sentence vectors, micro masked phrase reconstruction.
 *     loss = vq_w (sum of the 4 VQ losses) + orth_w (sum of the 2 orthogonality losses)
 *          + rec_w L_rec + beta L_micro (sum over the two sides) + alpha L_macro
 *
 * Batches. Each epoch shuffles the training interactions (stream (seed, "beat/shuffle",
 * epoch)); a batch holds `batch` of them as positives (label 1) and, for each, the same user
 * with an item drawn uniformly among those the user has no training pair with (label 0;
 * stream (seed, "beat/negatives", epoch)). The quantisers and losses run over the batch's
 * distinct users and items; the micro masks come from (seed, "beat/micro-mask", step).
 *
 * Ablations (beat_config): no_macro / no_micro drop a token kind (and its quantisers,
 * supervision and, for micro, the orthogonality loss); no_macro_sup / no_micro_sup / no_orth
 * drop a loss; continuous skips quantisation (tokens are the normalised projections, no VQ
 * loss, no codebooks); codebook_size, token_len, token_dim set K, T, t.
 *
 * Computation. The forward and backward passes are fused kernels over flat buffers (sgemm
 * for the projections and the codeword search, beat_vq.h, beat_recon.h, beat_gemm.h), the
 * micro supervision is one fused pass per side (beat_stage1_micro.h), the macro InfoNCE
 * runs on an nn tape whose leaves are copies of the token rows it reads
 * (beat_stage1_sup.c), and Adam (torch's formula, the same float operations as
 * nn_adam_step) updates every parameter, split across the pool's threads — in training the
 * ego rows are updated as the graph backward produces their gradients. OpenBLAS runs at one
 * thread inside the pool's workers. Results are bit-identical for the same seed and thread
 * count. Files: beat_stage1.c (model, step), beat_stage1_sup.c (supervision),
 * beat_stage1_train.c (epochs, encoding, Adam, phase clock).
 *
 * Gradient checks (tests): beat_step_grad with a beat_frozen records, then replays, every
 * stop-gradient quantity (codeword indices, sg(z), sg(q)) of a base point, so central
 * differences of the replayed loss equal the analytic gradient.
 *
 * Ownership: beat_model owns its parameters, graph, pool, tape and buffers
 * (beat_model_free); it borrows the training pairs, lists and text features, which must
 * outlive it.
 */
#ifndef BEAT_STAGE1_H
#define BEAT_STAGE1_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/ranking.h"
#include "models/base/bb_error.h"
#include "models/beat/beat_features.h"
#include "models/beat/beat_sup.h"
#include "models/graph/graph_adj.h"
#include "models/base/bb_pool.h"
#include "models/graph/lightgcn.h"
#include "models/nn/nn_optim.h"
#include "models/nn/nn_tape.h"

/* A flat struct so the harness can validate JSON configs against a schema over it. */
typedef struct beat_config {
    int token_len;     /* T, 5 */
    int token_dim;     /* t, 64 */
    int codebook_size; /* K, 512 */
    int layers;        /* LightGCN layers, 2 */
    int batch;         /* training interactions per step, 10240 (+ as many negatives) */
    double lr;         /* Adam, 1e-3 */
    int epochs;        /* maximum epochs, 100 */
    int patience;      /* evaluations without gain before stopping, 5 */
    double alpha;      /* macro supervision weight, 0.2 */
    double beta;       /* micro supervision weight, 1 */
    double tau;        /* InfoNCE temperature, 0.2 */
    double mask_ratio; /* masked share of the T phrase positions, 0.2 */
    int heads;         /* self-attention heads of the micro supervision, 4 */
    int max_phrases;   /* phrases kept per summary, 10 */
    int select_k;      /* selection metric hr_micro@select_k, 20 */
    char select_on[8]; /* "valid" (default) | "test" (the released code's behaviour) */
    double vq_weight, orth_weight, rec_weight; /* 1, 1, 1 */
    int no_macro, no_micro, no_macro_sup, no_micro_sup, no_orth, continuous;
} beat_config;

void beat_config_default(beat_config *c);
/* Range and combination checks; messages name the key ("key 'heads': ..."). d is the text
 * width (the encoder's), needed for the heads check. */
int beat_config_check(const beat_config *c, int d, bb_error *err);

enum { BEAT_USER = 0, BEAT_ITEM = 1 };
enum { BEAT_MACRO = 0, BEAT_MICRO = 1 };

typedef struct beat_side {
    int32_t n;     /* entities */
    int32_t node0; /* graph node of entity 0 */
    nn_tensor *map[2];              /* macro (D, d), micro (T, t, d); NULL when ablated */
    nn_tensor *codebook[2];         /* (K, d); NULL when ablated or continuous */
    beat_micro_sup sup;             /* when micro supervision is on */
    int has_sup;
} beat_side;

typedef struct beat_work beat_work; /* buffers (beat_stage1.c) */

/* Where a training step spends its time (accumulated over steps): wall seconds, process CPU
 * seconds and the calling thread's CPU seconds of each phase. On a machine shared with other
 * jobs, max(main CPU, process CPU / threads) estimates the phase's wall time alone. */
enum {
    BEAT_PH_GRAPH_FWD,  /* batch rows, LightGCN forward */
    BEAT_PH_TOKENS_FWD, /* projections, normalisation, codeword search, rec vectors */
    BEAT_PH_RECON,      /* pair scores, min-max RMSE and its backward */
    BEAT_PH_SUP,        /* macro InfoNCE and micro reconstruction, forward and backward */
    BEAT_PH_TOKENS_BWD, /* VQ, normalisation, projections, orthogonality backward */
    BEAT_PH_GRAPH_BWD,  /* LightGCN backward into the ego gradient */
    BEAT_PH_ADAM,
    BEAT_N_PHASES
};
typedef struct beat_phase_times {
    double wall[BEAT_N_PHASES], cpu[BEAT_N_PHASES], main_cpu[BEAT_N_PHASES];
} beat_phase_times;
const char *beat_phase_name(int phase);

typedef struct beat_model {
    beat_config cfg;
    int T, t, D, d, K;
    uint64_t seed;
    int threads;
    int32_t n_users, n_items, n_nodes;
    nn_params *params;
    nn_tensor *ego;     /* (T, n_nodes, t): chunk k of every node's D-vector, nodes = users
                         * then items. Chunk-major, so LightGCN runs on T contiguous t-wide
                         * matrices (its fast kernel is for t = 64); declared first, so the
                         * parameter block starts with it */
    beat_side side[2];
    graph_adj adj;
    lgcn_plan plan;
    bb_pool *pool;
    nn_tape *tape; /* the macro InfoNCE's (beat_stage1_sup.c) */
    /* borrowed */
    const int32_t *train_u, *train_i;
    size_t n_train;
    const bb_rank_lists *train_lists;
    const beat_text_features *tf; /* NULL: no supervision (both switched off) */
    /* training state */
    int64_t steps;
    double flops; /* dense-product FLOPs of the training steps so far (beat_step_flops) */
    beat_phase_times times;
    int32_t *perm;
    beat_work *w;
} beat_model;

/* Builds the model and initialises it from (seed, "beat/init"). d is the text width (the
 * features' d when tf is given). Errors: bad config, a user with a training pair on every
 * item (no negative exists), bad ids. */
int beat_model_init(beat_model *m, const beat_config *cfg, uint64_t seed, int threads,
                    int32_t n_users, int32_t n_items, const int32_t *train_u,
                    const int32_t *train_i, size_t n_train, const bb_rank_lists *train_lists,
                    const beat_text_features *tf, int d, bb_error *err);
void beat_model_free(beat_model *m);

typedef struct beat_losses {
    double total, vq, orth, rec, macro, micro;
    int64_t macro_pairs;    /* pairs with a training explanation in the batch */
    int64_t micro_entities; /* batch entities with phrases */
    int64_t users, items;   /* distinct batch entities */
} beat_losses;

/* A batch: n_pos positives (u[p], i[p]) for p < n_pos then n_pos negatives; label[p];
 * train_index[p] (p < n_pos) = the positive's index among the training pairs (macro lookup). */
typedef struct beat_batch {
    int64_t n_pos;
    const int32_t *u, *i;
    const float *label;
    const int32_t *train_index;
    int64_t step; /* keys the micro-mask stream */
} beat_batch;

/* Stop-gradient values of a base point (tests). */
typedef struct beat_frozen {
    int use; /* 0: record them at the next call; 1: replay them */
    int32_t *idx[2][2];
    float *z[2][2], *q[2][2];
    int64_t rows[2][2];
} beat_frozen;
void beat_frozen_free(beat_frozen *fz);

/* Forward and backward of one batch: params->grad holds the gradient on return (zeroed
 * first). fz may be NULL. */
beat_losses beat_step_grad(beat_model *m, const beat_batch *b, beat_frozen *fz);
/* One Adam step over every parameter from params->grad. */
void beat_step_update(beat_model *m);
/* Training step: beat_step_grad then beat_step_update, with Adam applied to each ego row as
 * the graph backward produces its gradient (the ego gradient block is left untouched).
 * Bit-identical to the two calls. */
beat_losses beat_step_train(beat_model *m, const beat_batch *bt);

/* One epoch (1-based, keys the streams); returns the mean batch losses. `label` names the
 * progress line (may be NULL). */
beat_losses beat_train_epoch(beat_model *m, int epoch, const char *label);

/* Tokens and behaviour vectors of every entity from the current parameters (full
 * propagation, no gradient). Any output may be NULL:
 *   rec[side]    (n, T d) behaviour vectors
 *   tokens[side] (n, 1 + T): macro index then T micro indices; -1 where a kind is ablated
 *                or continuous */
void beat_encode_all(beat_model *m, float *rec[2], int32_t *tokens[2]);

/* FLOPs of one training step's dense products (projections and codeword search, forward and
 * backward) for u users and i items — the bench's GFLOP/s numerator. */
double beat_step_flops(const beat_model *m, int64_t users, int64_t items);

#endif
