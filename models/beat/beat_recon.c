/* beat_recon — micro orthogonality, behaviour vectors and the min-max RMSE reconstruction
 * loss (DESIGN §4.2-4.3). Formulas in beat_recon.h. */
#include "models/beat/beat_recon.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_dot.h"
#include "models/beat/beat_gemm.h"
#include "models/beat/beat_vq.h"

#define MAX_PARTS 256
#define MAX_T 64

static void split_rows(int64_t n, int t, int parts, int64_t *lo, int64_t *hi) {
    long long a, b;
    bb_pool_split((long long)n, t, parts, &a, &b);
    *lo = (int64_t)a;
    *hi = (int64_t)b;
}

/* ------------------------------------------------------------------------------------------
 * Orthogonality */

typedef struct orth_job {
    const float *x;
    int64_t ldx, n;
    int T, t;
    float coef; /* backward: 4 w / N */
    float *dx;
    double part[MAX_PARTS];
} orth_job;

/* Chunk norms (clamped as nn_l2_normalize) and the Gram matrix of the normalised chunks. */
static void row_gram(const float *x, int T, int t, float *norm, float *gram) {
    for (int k = 0; k < T; k++) {
        float n = sqrtf(beat_dot(x + k * t, x + k * t, t));
        norm[k] = (double)n >= BEAT_L2_EPS ? n : (float)BEAT_L2_EPS;
    }
    for (int k = 0; k < T; k++)
        for (int l = k; l < T; l++)
            gram[k * T + l] = gram[l * T + k] =
                beat_dot(x + k * t, x + l * t, t) / (norm[k] * norm[l]);
}

double beat_orth_rows(const float *x, int64_t ldx, int64_t n, int T, int t) {
    BB_ASSERT(T >= 1 && T <= MAX_T, "beat_orth: token_len %d outside [1, %d]", T, MAX_T);
    float norm[MAX_T], gram[MAX_T * MAX_T];
    double sum = 0.0;
    for (int64_t r = 0; r < n; r++) {
        row_gram(x + r * ldx, T, t, norm, gram);
        float row = 0.0f;
        for (int k = 0; k < T; k++)
            for (int l = 0; l < T; l++)
                if (k != l) row += gram[k * T + l] * gram[k * T + l];
        sum += row;
    }
    return sum;
}

static void orth_forward_worker(void *ctx, int tid, int n_parts) {
    orth_job *j = ctx;
    int64_t lo, hi;
    split_rows(j->n, tid, n_parts, &lo, &hi);
    j->part[tid] = hi > lo ? beat_orth_rows(j->x + lo * j->ldx, j->ldx, hi - lo, j->T, j->t) : 0.0;
}

double beat_orth_forward(bb_pool *pool, const float *x, int64_t ldx, int64_t n, int T, int t) {
    BB_ASSERT(T >= 1 && T <= MAX_T, "beat_orth: token_len %d outside [1, %d]", T, MAX_T);
    if (n <= 0 || T < 2) return 0.0;
    orth_job *j = bb_calloc(1, sizeof *j);
    j->x = x, j->ldx = ldx, j->n = n, j->T = T, j->t = t;
    bb_pool_run(pool, orth_forward_worker, j);
    double sum = 0.0;
    for (int p = 0; p < bb_pool_threads(pool); p++) sum += j->part[p];
    free(j);
    return sum / ((double)n * T * (T - 1));
}

static void orth_backward_worker(void *ctx, int tid, int n_parts) {
    orth_job *j = ctx;
    int64_t lo, hi;
    split_rows(j->n, tid, n_parts, &lo, &hi);
    const int T = j->T, t = j->t;
    float norm[MAX_T], gram[MAX_T * MAX_T];
    float *dc = bb_malloc((size_t)t * sizeof *dc);
    for (int64_t r = lo; r < hi; r++) {
        const float *x = j->x + r * j->ldx;
        float *dx = j->dx + r * j->ldx;
        row_gram(x, T, t, norm, gram);
        for (int k = 0; k < T; k++) {
            /* dL/dc_k = coef * sum_{l != k} G_kl c_l, with c_l = x_l / |x_l| */
            for (int c = 0; c < t; c++) dc[c] = 0.0f;
            for (int l = 0; l < T; l++) {
                if (l == k) continue;
                beat_axpy(dc, gram[k * T + l] / norm[l], x + l * t, t);
            }
            /* through c_k = x_k / |x_k|: (dc - c_k (c_k . dc)) / |x_k| */
            const float inv = 1.0f / norm[k], scale = j->coef * inv;
            if ((double)norm[k] <= BEAT_L2_EPS) {
                beat_axpy(dx + k * t, scale, dc, t);
                continue;
            }
            const float dot = beat_dot(dc, x + k * t, t) * inv;
            const float *xk = x + k * t;
            float *dxk = dx + k * t;
            const bb_vec8f sv = bb_splat8(scale), iv = bb_splat8(inv), dv = bb_splat8(dot);
            int c = 0;
            for (; c + 8 <= t; c += 8)
                bb_store8(dxk + c, bb_load8(dxk + c) + sv * (bb_load8(dc + c) - bb_load8(xk + c) * iv * dv));
            for (; c < t; c++) dxk[c] += scale * (dc[c] - xk[c] * inv * dot);
        }
    }
    free(dc);
}

void beat_orth_backward(bb_pool *pool, const float *x, int64_t ldx, int64_t n, int T, int t,
                        float w, float *dx) {
    BB_ASSERT(T >= 1 && T <= MAX_T, "beat_orth: token_len %d outside [1, %d]", T, MAX_T);
    if (n <= 0 || T < 2) return;
    orth_job *j = bb_calloc(1, sizeof *j);
    j->x = x, j->ldx = ldx, j->n = n, j->T = T, j->t = t, j->dx = dx;
    j->coef = (float)(4.0 * (double)w / ((double)n * T * (T - 1)));
    bb_pool_run(pool, orth_backward_worker, j);
    free(j);
}

/* ------------------------------------------------------------------------------------------
 * Behaviour vectors */

typedef struct rec_job {
    const float *micro, *macro, *drec;
    float *rec, *dmacro;
    int64_t n;
    int T, d;
} rec_job;

void beat_rec_build_rows(const float *micro, const float *macro, int64_t n, int T, int d,
                         float *rec) {
    const size_t W = (size_t)T * d;
    for (int64_t e = 0; e < n; e++) {
        float *re = rec + (size_t)e * W;
        const float *mi = micro ? micro + (size_t)e * W : NULL;
        const float *ma = macro ? macro + (size_t)e * d : NULL;
        for (int k = 0; k < T; k++) {
            float *rk = re + (size_t)k * d;
            if (mi && ma) {
                const float *mk = mi + (size_t)k * d;
                int c = 0;
                for (; c + 8 <= d; c += 8) bb_store8(rk + c, bb_load8(mk + c) + bb_load8(ma + c));
                for (; c < d; c++) rk[c] = mk[c] + ma[c];
            } else {
                memcpy(rk, mi ? mi + (size_t)k * d : ma, (size_t)d * sizeof *rk);
            }
        }
    }
}

static void rec_build_worker(void *ctx, int tid, int n_parts) {
    rec_job *j = ctx;
    int64_t lo, hi;
    split_rows(j->n, tid, n_parts, &lo, &hi);
    const size_t W = (size_t)j->T * j->d;
    if (hi > lo)
        beat_rec_build_rows(j->micro ? j->micro + (size_t)lo * W : NULL,
                            j->macro ? j->macro + (size_t)lo * j->d : NULL, hi - lo, j->T, j->d,
                            j->rec + (size_t)lo * W);
}

void beat_rec_build(bb_pool *pool, const float *micro, const float *macro, int64_t n, int T,
                    int d, float *rec) {
    BB_ASSERT(micro || macro, "beat_rec_build: needs micro or macro tokens");
    if (n <= 0) return;
    rec_job j = {micro, macro, NULL, rec, NULL, n, T, d};
    bb_pool_run(pool, rec_build_worker, &j);
}

static void rec_macro_worker(void *ctx, int tid, int n_parts) {
    rec_job *j = ctx;
    int64_t lo, hi;
    split_rows(j->n, tid, n_parts, &lo, &hi);
    const size_t W = (size_t)j->T * j->d;
    for (int64_t e = lo; e < hi; e++) {
        const float *g = j->drec + (size_t)e * W;
        float *dm = j->dmacro + (size_t)e * j->d;
        memset(dm, 0, (size_t)j->d * sizeof *dm);
        for (int k = 0; k < j->T; k++) beat_add(dm, g + (size_t)k * j->d, j->d);
    }
}

void beat_rec_backward_macro(bb_pool *pool, const float *drec, int64_t n, int T, int d,
                             float *dmacro) {
    if (n <= 0) return;
    rec_job j = {NULL, NULL, drec, NULL, dmacro, n, T, d};
    bb_pool_run(pool, rec_macro_worker, &j);
}

/* ------------------------------------------------------------------------------------------
 * Reconstruction */

void beat_pair_index_build(beat_pair_index *ix, const int32_t *ent, int64_t P) {
    memset(ix->off, 0, ((size_t)ix->n + 1) * sizeof *ix->off);
    for (int64_t p = 0; p < P; p++) {
        BB_ASSERT(ent[p] >= 0 && ent[p] < ix->n, "beat_pair_index: entity %d outside [0, %lld)",
                  ent[p], (long long)ix->n);
        ix->off[ent[p] + 1]++;
    }
    for (int64_t e = 0; e < ix->n; e++) ix->off[e + 1] += ix->off[e];
    int64_t *fill = bb_malloc(((size_t)ix->n + 1) * sizeof *fill);
    memcpy(fill, ix->off, ((size_t)ix->n + 1) * sizeof *fill);
    for (int64_t p = 0; p < P; p++) ix->pairs[fill[ent[p]]++] = (int32_t)p;
    free(fill);
}

typedef struct score_job {
    const float *rec_u, *rec_i;
    int64_t W;
    const int32_t *pu, *pi;
    int64_t P;
    float *scores;
    /* backward */
    const float *g;
    const beat_pair_index *ix;
    const float *other;      /* the other side's rec */
    const int32_t *other_id; /* the other side's entity of each pair */
    float *drec;
    int T;          /* d = W / T wide tokens per row (dmacro) */
    float *dmacro;  /* NULL, or (n, d): sum over the T blocks of drec */
    beat_blocks *blocks; /* entities of ix, in fixed blocks (each entity's rows its own) */
} score_job;

static void score_worker(void *ctx, int tid, int n_parts) {
    score_job *j = ctx;
    int64_t lo, hi;
    if (!j->ix) {
        split_rows(j->P, tid, n_parts, &lo, &hi);
        for (int64_t p = lo; p < hi; p++) {
            const float *a = j->rec_u + (size_t)j->pu[p] * j->W, *b = j->rec_i + (size_t)j->pi[p] * j->W;
            j->scores[p] = beat_dot(a, b, j->W);
        }
        return;
    }
    /* user by user: a user's row is read from memory once for all its pairs */
    long long blo, bhi;
    while (beat_blocks_next(j->blocks, &blo, &bhi)) {
        const int64_t last = j->ix->off[bhi];
        for (int64_t e = blo; e < bhi; e++) {
            const float *a = j->rec_u + (size_t)e * j->W;
            for (int64_t k = j->ix->off[e]; k < j->ix->off[e + 1]; k++) {
                const int32_t p = j->ix->pairs[k];
                if (k + 1 < last) /* the next item row is elsewhere in memory */
                    for (int c = 0; c < 8; c++)
                        __builtin_prefetch(j->rec_i + (size_t)j->pi[j->ix->pairs[k + 1]] * j->W +
                                           16 * c);
                j->scores[p] = beat_dot(a, j->rec_i + (size_t)j->pi[p] * j->W, j->W);
            }
        }
    }
}

beat_recon_state beat_recon_forward(bb_pool *pool, const float *rec_u, const float *rec_i,
                                    int64_t W, const int32_t *pu, const int32_t *pi,
                                    const float *label, int64_t P, float *scores,
                                    const beat_pair_index *by_user) {
    beat_recon_state st = {0.0, 0.0, 0.0, 0, 0};
    if (P <= 0) return st;
    beat_blocks blocks;
    if (by_user) beat_blocks_init(&blocks, (long long)by_user->n, bb_pool_threads(pool), 64);
    score_job j = {rec_u, rec_i, W, pu, pi, P, scores, NULL, by_user, NULL, NULL, NULL, 1, NULL,
                   &blocks};
    bb_pool_run(pool, score_worker, &j);
    st.smin = st.smax = scores[0];
    for (int64_t p = 1; p < P; p++) {
        if (scores[p] < st.smin) st.smin = scores[p], st.argmin = p;
        if (scores[p] > st.smax) st.smax = scores[p], st.argmax = p;
    }
    const double range = fmax(st.smax - st.smin, 1e-12);
    double sum = 0.0;
    for (int64_t p = 0; p < P; p++) {
        double e = ((double)scores[p] - st.smin) / range - label[p];
        sum += e * e;
    }
    st.loss = sqrt(sum / (double)P);
    return st;
}

/* Entity e's gradient row: sum over its pairs of g_p times the other side's row. The first
 * pair writes the row (no zeroing pass); the next pair's row, which may belong to the next
 * entity, is prefetched. With dmacro set, the row's T blocks of d are summed there while
 * the row is in L1 (the same operations as beat_rec_backward_macro). */
static void accumulate_worker(void *ctx, int tid, int n_parts) {
    score_job *j = ctx;
    (void)tid, (void)n_parts;
    const int64_t W = j->W;
    long long lo, hi;
    while (beat_blocks_next(j->blocks, &lo, &hi)) {
        const int64_t last = j->ix->off[hi];
        for (int64_t e = lo; e < hi; e++) {
            float *restrict dr = j->drec + (size_t)e * W;
            const int64_t beg = j->ix->off[e], end = j->ix->off[e + 1];
            if (beg == end) memset(dr, 0, (size_t)W * sizeof *dr);
            for (int64_t k = beg; k < end; k++) {
                const int32_t p = j->ix->pairs[k];
                const float g = j->g[p];
                const float *restrict o = j->other + (size_t)j->other_id[p] * W;
                if (k + 1 < last) /* the next row is elsewhere in memory: start its first lines */
                    for (int c = 0; c < 8; c++)
                        __builtin_prefetch(j->other + (size_t)j->other_id[j->ix->pairs[k + 1]] * W + 16 * c);
                if (k == beg)
                    beat_scale_to(dr, g, o, W);
                else
                    beat_axpy(dr, g, o, W);
            }
            if (j->dmacro) {
                const int d = (int)(W / j->T);
                float *restrict dm = j->dmacro + (size_t)e * d;
                memset(dm, 0, (size_t)d * sizeof *dm);
                for (int k = 0; k < j->T; k++) beat_add(dm, dr + (size_t)k * d, d);
            }
        }
    }
}

void beat_recon_backward(bb_pool *pool, const beat_recon_state *st, const float *rec_u,
                         const float *rec_i, int64_t W, const int32_t *pu, const int32_t *pi,
                         const float *label, int64_t P, const float *scores,
                         const beat_pair_index *by_user, const beat_pair_index *by_item,
                         float w, float *gscratch, float *drec_u, float *drec_i, int T,
                         float *dmacro_u, float *dmacro_i) {
    if (P <= 0) return;
    const double range = st->smax - st->smin > 1e-12 ? st->smax - st->smin : 1e-12;
    const int clamped = !(st->smax - st->smin > 1e-12);
    /* a_p = dL/dshat_p = e_p / (P L); ds_p = a_p / R; min and max collect the rest */
    double dmin = 0.0, dmax = 0.0;
    for (int64_t p = 0; p < P; p++) {
        double e = ((double)scores[p] - st->smin) / range - label[p];
        double a = st->loss > 0 ? (double)w * e / ((double)P * st->loss) : 0.0;
        gscratch[p] = (float)(a / range);
        if (!clamped) {
            dmin += a * ((double)scores[p] - st->smax) / (range * range);
            dmax -= a * ((double)scores[p] - st->smin) / (range * range);
        } else {
            dmin -= a / range;
        }
    }
    gscratch[st->argmin] += (float)dmin;
    gscratch[st->argmax] += (float)dmax;
    BB_ASSERT(T >= 1 && W % T == 0, "beat_recon_backward: width %lld is not %d tokens",
              (long long)W, T);
    beat_blocks bu, bi;
    beat_blocks_init(&bu, (long long)by_user->n, bb_pool_threads(pool), 64);
    beat_blocks_init(&bi, (long long)by_item->n, bb_pool_threads(pool), 64);
    score_job j = {rec_u, rec_i, W, pu, pi, P, NULL, gscratch, by_user, rec_i, pi, drec_u,
                   T, dmacro_u, &bu};
    bb_pool_run(pool, accumulate_worker, &j);
    score_job k = {rec_u, rec_i, W, pu, pi, P, NULL, gscratch, by_item, rec_u, pu, drec_i,
                   T, dmacro_i, &bi};
    bb_pool_run(pool, accumulate_worker, &k);
}
