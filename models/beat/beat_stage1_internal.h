/* beat_stage1_internal — the work buffers shared by beat_stage1.c (model, step) and
 * beat_stage1_train.c (epochs, encoding, Adam). Not a public API. */
#ifndef BEAT_STAGE1_INTERNAL_H
#define BEAT_STAGE1_INTERNAL_H

#include <stdint.h>

#include "models/beat/beat_recon.h"
#include "models/beat/beat_stage1.h"
#include "models/beat/beat_stage1_micro.h"
#include "models/nn/nn_optim.h"

/* Per side: the rows (distinct entities) of the current batch or encoding chunk. */
typedef struct beat_side_buf {
    int64_t cap;   /* rows the buffers hold */
    int64_t n;     /* rows in use */
    int32_t *ent;  /* (cap) entity of each row, ascending */
    int32_t *local;/* (n entities) row of an entity in the batch, -1 otherwise */
    float *x, *dx; /* (cap, D) graph rows and their gradient */
    /* macro: projections -> normalised z, norms, codes, straight-through tokens, gradient */
    float *zmac, *nmac, *stmac, *dmac;
    int32_t *imac;
    /* micro: (cap, T, d) and (cap, T) */
    float *zmic, *nmic, *stmic;
    int32_t *imic;
    float *rec, *drec; /* (cap, T, d); drec doubles as the micro tokens' gradient */
    beat_pair_index pix;
    double vq[2], orth;
} beat_side_buf;

struct beat_work {
    beat_side_buf s[2];
    float *F, *dF;      /* (T, n_nodes, t) like the ego block: propagated rows / their
                         * gradient (zero off the batch rows) */
    float *search;      /* beat_vq_search scratch: K code norms, then per-thread scores */
    float *fold;        /* (T, K, t): C W_k^T, the micro codebook folded into chunk k's map */
    float *inv;         /* (cap, T): 1 / ||x_k W_k|| of the micro rows */
    float *vqgrad;      /* beat_vq_backward scratch */
    int32_t *nodes;     /* batch nodes, ascending */
    int32_t n_nodes_batch;
    int64_t pcap;       /* pairs a batch holds: 2 x batch */
    int32_t *lu, *li;   /* (pcap) local rows of each pair */
    float *scores, *g;  /* (pcap) */
    /* micro supervision: per entity with phrases, its local row, phrase row, phrase count;
     * its masked positions; the fused pass's scratch */
    int32_t *sup_rows, *sup_prow, *sup_len, *sup_masked;
    beat_micro_ws micro_ws;
    /* epoch staging */
    int32_t *bu, *bi, *btrain;
    float *blabel;
};

/* Adam (torch.optim.Adam): nn's constants and element kernel (nn_adam_apply, the bits of
 * nn_adam_step). beat_adam_begin counts the step (params->step) and returns its constants;
 * beat_adam_block applies them over [lo, hi) of the registry's flat block, split across
 * the pool. */
nn_adam_consts beat_adam_begin(beat_model *m);
void beat_adam_block(beat_model *m, const nn_adam_consts *a, int64_t lo, int64_t hi);

/* Phase clock (beat_phase_times). */
typedef struct beat_clock {
    double wall, cpu, main_cpu;
} beat_clock;
void beat_clock_start(beat_clock *c);
/* Adds the time since the last start/lap to phase ph and restarts. */
void beat_clock_lap(beat_clock *c, beat_phase_times *t, int ph);

/* Supervision (beat_stage1_sup.c): the forward and backward of one step, which adds the
 * token gradients into the sides' dmac / drec and the modules' gradients into the registry. */
void beat_supervision(beat_model *m, const beat_batch *bt, beat_losses *L);

/* Rows s->ent[0..n) of side `side`: graph rows from w->F (gathered into row-major (n, D)),
 * projections, quantisation, rec.
 * With fz (may be NULL) recording or replaying the stop-gradient values. */
void beat_side_forward(beat_model *m, int side, beat_frozen *fz);

#endif
