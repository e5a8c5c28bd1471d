/* beat_stage1_sup — the semantic supervision of a BEAT stage-1 step (DESIGN §4.4-4.5): the
 * macro InfoNCE and the micro masked phrase reconstruction (beat_sup.h) run on per-thread
 * nn tapes whose leaves are copies of the batch's token rows; their gradients flow back
 * into the step's token gradients and the modules' parameters. */
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/beat/beat_stage1_internal.h"
#include "models/nn/nn_ops.h"

/* Per supervision thread, a copy of each module whose tensors share the values but
 * accumulate gradients into a private block. The module's parameters are contiguous in the
 * registry (declared together), from mask_vec to the last cross-attention bias. */
static void shadow_tensor(nn_tensor **dst, const nn_tensor *src, const nn_tensor *first,
                          float *block) {
    nn_tensor *t = bb_malloc(sizeof *t);
    *t = *src;
    t->grad = block + (src->grad - first->grad);
    *dst = t;
}

void beat_sup_setup(beat_model *m) {
    for (int s = 0; s < 2; s++) {
        const beat_side *sd = &m->side[s];
        if (!sd->has_sup) continue;
        const beat_micro_sup *real = &sd->sup;
        const nn_tensor *first = real->mask_vec, *last = real->cross_attn.bo;
        m->sup_span[s] = (int64_t)(last->grad - first->grad) + last->numel;
        m->shadow_grad[s] = bb_calloc((size_t)m->n_sup_threads * (size_t)m->sup_span[s] + 1,
                                      sizeof(float));
        for (int p = 0; p < m->n_sup_threads; p++) {
            float *block = m->shadow_grad[s] + (size_t)p * (size_t)m->sup_span[s];
            beat_micro_sup *sh = &m->shadow[p][s];
            *sh = *real;
            shadow_tensor(&sh->mask_vec, real->mask_vec, first, block);
            const beat_attn *ra[2] = {&real->self_attn, &real->cross_attn};
            beat_attn *sa[2] = {&sh->self_attn, &sh->cross_attn};
            for (int a = 0; a < 2; a++) {
                shadow_tensor(&sa[a]->wq, ra[a]->wq, first, block);
                shadow_tensor(&sa[a]->bq, ra[a]->bq, first, block);
                shadow_tensor(&sa[a]->wk, ra[a]->wk, first, block);
                shadow_tensor(&sa[a]->wv, ra[a]->wv, first, block);
                shadow_tensor(&sa[a]->bv, ra[a]->bv, first, block);
                shadow_tensor(&sa[a]->wo, ra[a]->wo, first, block);
                shadow_tensor(&sa[a]->bo, ra[a]->bo, first, block);
            }
        }
    }
}

void beat_sup_free(beat_model *m) {
    for (int p = 0; p < BEAT_MAX_SUP_THREADS; p++)
        for (int s = 0; s < 2; s++) {
            beat_micro_sup *sh = &m->shadow[p][s];
            if (!sh->mask_vec) continue;
            free(sh->mask_vec);
            beat_attn *sa[2] = {&sh->self_attn, &sh->cross_attn};
            for (int a = 0; a < 2; a++) {
                free(sa[a]->wq), free(sa[a]->bq), free(sa[a]->wk), free(sa[a]->wv);
                free(sa[a]->bv), free(sa[a]->wo), free(sa[a]->bo);
            }
        }
}

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

/* The supervision of a step runs on the pool: thread p takes part p of each side's
 * entities (contiguous, in batch order) on its own tape, and thread 0 also the macro
 * InfoNCE. The modules' parameters are shared, so each thread's tape accumulates their
 * gradients into its own block (shadow tensors: the same values, private grads), added
 * into the registry in thread order afterwards. Each part's MSE is weighted by its share of
 * the side's masked slots, so the sum is the side's MSE. */
typedef struct sup_part {
    nn_tensor *tokens;     /* leaf: the part's micro tokens (n, T d) */
    const int32_t *rows;   /* their local rows */
    int64_t n;
    const int32_t *len, *masked;
    float weight;          /* slots of the part / slots of the side */
    double loss;
} sup_part;

typedef struct sup_run {
    beat_model *m;
    int32_t *side_rows[2], *side_len[2], *side_masked[2]; /* owned, batch order */
    sup_part part[BEAT_MAX_SUP_THREADS][2];
    nn_tensor *mu, *mi, *sent; /* macro leaves (thread 0) */
    int32_t *mu_rows, *mi_rows;
    int64_t n_macro;
    double macro;
} sup_run;

static void prepare_macro(beat_model *m, const beat_batch *bt, sup_run *r) {
    nn_tape *tp = m->tape[0];
    beat_work *w = m->w;
    const int d = m->d;
    int32_t *pairs = nn_tape_scratch(tp, ((size_t)bt->n_pos + 1) * sizeof *pairs);
    int64_t n = 0;
    for (int64_t p = 0; p < bt->n_pos; p++)
        if (m->tf->expl_of_train[bt->train_index[p]] >= 0) pairs[n++] = (int32_t)p;
    if (n == 0) return;
    r->mu_rows = nn_tape_scratch(tp, (size_t)n * sizeof(int32_t));
    r->mi_rows = nn_tape_scratch(tp, (size_t)n * sizeof(int32_t));
    int32_t *sent_rows = nn_tape_scratch(tp, (size_t)n * sizeof(int32_t));
    for (int64_t k = 0; k < n; k++) {
        r->mu_rows[k] = w->lu[pairs[k]];
        r->mi_rows[k] = w->li[pairs[k]];
        sent_rows[k] = m->tf->expl_of_train[bt->train_index[pairs[k]]];
    }
    r->n_macro = n;
    r->mu = leaf_rows(tp, w->s[BEAT_USER].stmac, r->mu_rows, n, d);
    r->mi = leaf_rows(tp, w->s[BEAT_ITEM].stmac, r->mi_rows, n, d);
    r->sent = leaf_rows(tp, m->tf->sent, sent_rows, n, d);
    r->sent->requires_grad = 0;
}

/* Rows, lengths and masks of the side's entities with phrases (cheap, main thread); the
 * workers copy their own parts' phrase vectors and tokens. */
static void prepare_micro(beat_model *m, int s, bb_rng *mask_rng, sup_run *r) {
    const beat_side_buf *b = &m->w->s[s];
    const beat_side_phrases *ph = &m->tf->side[s];
    const int M = beat_micro_mask_count(m->T, m->cfg.mask_ratio);
    const int parts = m->n_sup_threads;
    int32_t *rows = bb_malloc(((size_t)b->n + 1) * sizeof *rows);
    int64_t n = 0;
    for (int64_t e = 0; e < b->n; e++)
        if (ph->row[b->ent[e]] >= 0) rows[n++] = (int32_t)e;
    int32_t *len = bb_malloc(((size_t)n + 1) * sizeof *len);
    int32_t *masked = bb_malloc(((size_t)n * M + 1) * sizeof *masked);
    for (int64_t k = 0; k < n; k++) len[k] = ph->len[ph->row[b->ent[rows[k]]]];
    beat_micro_pick_masks(mask_rng, (int)n, M, len, masked); /* one stream, batch order */
    int64_t slots = 0;
    for (int64_t k = 0; k < n; k++) slots += M < len[k] ? M : len[k];
    r->side_rows[s] = rows, r->side_len[s] = len, r->side_masked[s] = masked;
    for (int p = 0; p < parts; p++) {
        long long lo, hi;
        bb_pool_split((long long)n, p, parts, &lo, &hi);
        if (hi <= lo) continue;
        sup_part *q = &r->part[p][s];
        q->n = hi - lo;
        q->rows = rows + lo, q->len = len + lo, q->masked = masked + lo * M;
        int64_t part_slots = 0;
        for (int64_t k = lo; k < hi; k++) part_slots += M < len[k] ? M : len[k];
        q->weight = (float)((double)part_slots / (double)slots);
    }
}

static void sup_worker(void *ctx, int tid, int n_threads) {
    sup_run *r = ctx;
    beat_model *m = r->m;
    if (tid >= m->n_sup_threads) return;
    (void)n_threads;
    nn_tape *tp = m->tape[tid];
    const int d = m->d, T = m->T, M = beat_micro_mask_count(T, m->cfg.mask_ratio);
    nn_tensor *total = NULL;
    if (tid == 0 && r->mu) {
        nn_tensor *l = beat_macro_infonce(tp, r->mu, r->mi, r->sent, (float)m->cfg.tau);
        r->macro = l->data[0];
        total = nn_scale(tp, l, (float)m->cfg.alpha);
    }
    for (int s = 0; s < 2; s++) {
        sup_part *q = &r->part[tid][s];
        if (q->n == 0) continue;
        const beat_side_buf *b = &m->w->s[s];
        const beat_side_phrases *ph = &m->tf->side[s];
        float *phr = nn_tape_scratch(tp, (size_t)q->n * T * d * sizeof(float));
        for (int64_t k = 0; k < q->n; k++)
            memcpy(phr + (size_t)k * T * d, ph->vec + (size_t)ph->row[b->ent[q->rows[k]]] * T * d,
                   (size_t)T * d * sizeof(float));
        q->tokens = leaf_rows(tp, b->stmic, q->rows, q->n, T * d);
        beat_micro_batch mb = {(int)q->n, M, phr, q->len, q->masked};
        nn_tensor *l = beat_micro_sup_loss(tp, &m->shadow[tid][s], &mb, q->tokens);
        q->loss = l->data[0];
        nn_tensor *wl = nn_scale(tp, l, (float)m->cfg.beta * q->weight);
        total = total ? nn_add(tp, total, wl) : wl;
    }
    if (total) nn_tape_backward(tp, total);
}

/* Forward and backward of both supervisions; leaf gradients go into dmac / drec and the
 * modules' gradients into the registry. */
void beat_supervision(beat_model *m, const beat_batch *bt, beat_losses *L) {
    const beat_config *c = &m->cfg;
    beat_work *w = m->w;
    sup_run *r = bb_calloc(1, sizeof *r);
    r->m = m;
    for (int p = 0; p < m->n_sup_threads; p++) nn_tape_reset(m->tape[p]);
    if (m->tf && !c->no_macro && !c->no_macro_sup && c->alpha > 0) prepare_macro(m, bt, r);
    bb_rng mask_rng; /* one stream per step: users' masks, then items' */
    bb_rng_seed_indexed(&mask_rng, m->seed, "beat/micro-mask", (uint64_t)bt->step);
    int any = r->mu != NULL;
    for (int s = 0; s < 2; s++)
        if (m->side[s].has_sup) {
            prepare_micro(m, s, &mask_rng, r);
            for (int p = 0; p < m->n_sup_threads; p++) any |= r->part[p][s].n > 0;
        }
    if (any) {
        for (int s = 0; s < 2; s++)
            if (m->side[s].has_sup)
                memset(m->shadow_grad[s], 0,
                       (size_t)m->n_sup_threads * (size_t)m->sup_span[s] * sizeof(float));
        bb_pool_run(m->pool, sup_worker, r);
    }
    const int d = m->d, W = m->T * m->d;
    if (r->mu) {
        L->macro = r->macro;
        L->macro_pairs = r->n_macro;
        if (r->mu->grad) add_rows(w->s[BEAT_USER].dmac, r->mu_rows, r->mu->grad, r->n_macro, d);
        if (r->mi->grad) add_rows(w->s[BEAT_ITEM].dmac, r->mi_rows, r->mi->grad, r->n_macro, d);
    }
    for (int s = 0; s < 2 && any; s++) {
        if (!m->side[s].has_sup) continue;
        float *dst = m->side[s].sup.mask_vec->grad; /* the module's block in the registry */
        for (int p = 0; p < m->n_sup_threads; p++) {
            sup_part *q = &r->part[p][s];
            if (q->n == 0) continue;
            L->micro += q->weight * q->loss;
            L->micro_entities += q->n;
            if (q->tokens->grad) add_rows(w->s[s].drec, q->rows, q->tokens->grad, q->n, W);
            const float *src = m->shadow_grad[s] + (size_t)p * (size_t)m->sup_span[s];
            for (int64_t i = 0; i < m->sup_span[s]; i++) dst[i] += src[i];
        }
    }
    for (int s = 0; s < 2; s++) free(r->side_rows[s]), free(r->side_len[s]), free(r->side_masked[s]);
    free(r);
}
