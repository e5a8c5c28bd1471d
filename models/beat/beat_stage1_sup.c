/* beat_stage1_sup — the semantic supervision of a BEAT stage-1 step (DESIGN §4.4-4.5): the
 * macro InfoNCE on an nn tape whose leaves are copies of the batch's macro token rows (a
 * hundred pairs or so per batch), and the micro masked phrase reconstruction of each side as
 * one fused pass over the side's entities with phrases (beat_stage1_micro.h). Their
 * gradients flow back into the step's token gradients and the modules' parameters. */
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/beat/beat_stage1_internal.h"
#include "models/beat/beat_stage1_micro.h"
#include "models/nn/nn_ops.h"

/* A tape leaf holding copies of rows rows[0..n) of src (width d). */
static nn_tensor *leaf_rows(nn_tape *tp, const float *src, const int32_t *rows, int64_t n, int d) {
    nn_tensor *t = nn_tape_tensor2(tp, n, d);
    for (int64_t r = 0; r < n; r++)
        memcpy(t->data + (size_t)r * d, src + (size_t)rows[r] * d, (size_t)d * sizeof(float));
    t->requires_grad = 1;
    return t;
}

static void add_rows(float *dst, const int32_t *rows, const float *src, int64_t n, int d) {
    for (int64_t r = 0; r < n; r++) {
        float *o = dst + (size_t)rows[r] * d;
        const float *g = src + (size_t)r * d;
        for (int c = 0; c < d; c++) o[c] += g[c];
    }
}

/* Macro InfoNCE over the batch's positives with a training explanation: loss value, and
 * alpha times its gradient added into the sides' dmac. */
static void macro_supervision(beat_model *m, const beat_batch *bt, beat_losses *L) {
    nn_tape *tp = m->tape;
    beat_work *w = m->w;
    const int d = m->d;
    nn_tape_reset(tp);
    int32_t *pairs = nn_tape_scratch(tp, ((size_t)bt->n_pos + 1) * sizeof *pairs);
    int64_t n = 0;
    for (int64_t p = 0; p < bt->n_pos; p++)
        if (m->tf->expl_of_train[bt->train_index[p]] >= 0) pairs[n++] = (int32_t)p;
    if (n == 0) return;
    int32_t *mu_rows = nn_tape_scratch(tp, (size_t)n * sizeof(int32_t));
    int32_t *mi_rows = nn_tape_scratch(tp, (size_t)n * sizeof(int32_t));
    int32_t *sent_rows = nn_tape_scratch(tp, (size_t)n * sizeof(int32_t));
    for (int64_t k = 0; k < n; k++) {
        mu_rows[k] = w->lu[pairs[k]];
        mi_rows[k] = w->li[pairs[k]];
        sent_rows[k] = m->tf->expl_of_train[bt->train_index[pairs[k]]];
    }
    nn_tensor *mu = leaf_rows(tp, w->s[BEAT_USER].stmac, mu_rows, n, d);
    nn_tensor *mi = leaf_rows(tp, w->s[BEAT_ITEM].stmac, mi_rows, n, d);
    nn_tensor *sent = leaf_rows(tp, m->tf->sent, sent_rows, n, d);
    sent->requires_grad = 0;
    nn_tensor *l = beat_macro_infonce(tp, mu, mi, sent, (float)m->cfg.tau);
    L->macro = l->data[0];
    L->macro_pairs = n;
    nn_tape_backward(tp, nn_scale(tp, l, (float)m->cfg.alpha));
    if (mu->grad) add_rows(w->s[BEAT_USER].dmac, mu_rows, mu->grad, n, d);
    if (mi->grad) add_rows(w->s[BEAT_ITEM].dmac, mi_rows, mi->grad, n, d);
}

/* Micro reconstruction of side s: its entities with phrases, in batch order, with masks
 * drawn from mask_rng in that order. Returns the side's MSE; beta times its gradient goes
 * into drec (the micro tokens' gradient) and the module's parameters. */
static double micro_supervision(beat_model *m, int s, bb_rng *mask_rng, int64_t *entities) {
    beat_work *w = m->w;
    const beat_side_buf *b = &w->s[s];
    const beat_side_phrases *ph = &m->tf->side[s];
    const int M = beat_micro_mask_count(m->T, m->cfg.mask_ratio);
    int32_t *rows = w->sup_rows, *prow = w->sup_prow, *len = w->sup_len, *masked = w->sup_masked;
    int64_t n = 0;
    for (int64_t e = 0; e < b->n; e++) {
        const int32_t r = ph->row[b->ent[e]];
        if (r < 0) continue;
        rows[n] = (int32_t)e, prow[n] = r, len[n] = ph->len[r];
        n++;
    }
    *entities = n;
    if (n == 0) return 0.0;
    beat_micro_pick_masks(mask_rng, (int)n, M, len, masked); /* one stream, batch order */
    const beat_micro_rows mr = {(int)n, M, len, masked, ph->vec, prow, b->stmic, b->drec, rows};
    return beat_micro_sup_fused(m->pool, &m->side[s].sup, &mr, (float)m->cfg.beta, &w->micro_ws);
}

void beat_supervision(beat_model *m, const beat_batch *bt, beat_losses *L) {
    const beat_config *c = &m->cfg;
    if (m->tf && !c->no_macro && !c->no_macro_sup && c->alpha > 0) macro_supervision(m, bt, L);
    bb_rng mask_rng; /* one stream per step: users' masks, then items' */
    bb_rng_seed_indexed(&mask_rng, m->seed, "beat/micro-mask", (uint64_t)bt->step);
    for (int s = 0; s < 2; s++)
        if (m->side[s].has_sup) {
            int64_t n = 0;
            L->micro += micro_supervision(m, s, &mask_rng, &n);
            L->micro_entities += n;
        }
}
