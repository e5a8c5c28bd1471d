/* beat_vq — nearest-codeword search, straight-through quantisation with codebook and
 * commitment losses, and row L2 normalisation (DESIGN §4.2). Semantics in beat_vq.h. */
#include "models/beat/beat_vq.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_dot.h"
#include "models/beat/beat_gemm.h"

#define SEARCH_CHUNK_ROWS 256 /* rows per sgemm: the codebook is packed once per chunk */
#define MAX_PARTS 256

static void split_rows(int64_t n, int t, int parts, int64_t *lo, int64_t *hi) {
    long long a, b;
    bb_pool_split((long long)n, t, parts, &a, &b);
    *lo = (int64_t)a;
    *hi = (int64_t)b;
}

/* ------------------------------------------------------------------------------------------
 * Search: scores = -2 z C^T + ||c||^2, argmin per row */

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

/* argmin_k cnorm[k] - f s[k], ties to the lowest k: sixteen lanes keep their own minimum
 * (strict <, so each lane keeps its first k), then the lowest index among the lanes holding
 * the overall minimum wins. NaN scores never win; an all-NaN row gives 0. */
static int32_t argmin_row(const float *cnorm, const float *s, float f, int K) {
    int k = 0;
    float best = INFINITY;
    int32_t arg = 0;
    if (K >= 16) {
        v16f vbest;
        v16i vidx, lane;
        for (int l = 0; l < 16; l++) vbest[l] = INFINITY, vidx[l] = 0, lane[l] = l;
        const v16f vf = {f, f, f, f, f, f, f, f, f, f, f, f, f, f, f, f};
        for (; k + 16 <= K; k += 16) {
            v16f c, x;
            memcpy(&c, cnorm + k, sizeof c);
            memcpy(&x, s + k, sizeof x);
            v16f v = c - vf * x;
            v16i lt = v < vbest;
            vbest = (v16f)(((v16i)v & lt) | ((v16i)vbest & ~lt));
            v16i kk = lane + k;
            vidx = (kk & lt) | (vidx & ~lt);
        }
        for (int l = 0; l < 16; l++)
            if (vbest[l] < best || (vbest[l] == best && vidx[l] < arg)) best = vbest[l], arg = vidx[l];
    }
    for (; k < K; k++) {
        float v = cnorm[k] - f * s[k];
        if (v < best) best = v, arg = k;
    }
    return arg;
}

typedef struct search_job {
    const float *A, *B;
    int64_t n;
    int kdim, lda, K;
    const float *cnorm, *scale;
    int64_t scale_stride, idx_stride;
    int32_t *idx;
    float *scratch; /* per part: SEARCH_CHUNK_ROWS x K scores */
    beat_blocks *blocks;
} search_job;

void beat_vq_search_block(const float *A, int64_t n, int kdim, int lda, const float *B, int K,
                          const float *cnorm, const float *scale, int64_t scale_stride,
                          int32_t *idx, int64_t idx_stride, float *scores) {
    for (int64_t r0 = 0; r0 < n; r0 += SEARCH_CHUNK_ROWS) {
        const int64_t rows = n - r0 < SEARCH_CHUNK_ROWS ? n - r0 : SEARCH_CHUNK_ROWS;
        /* memset + beta 1 rather than beta 0: OpenBLAS's zeroing pass is slower (same bits) */
        memset(scores, 0, (size_t)rows * (size_t)K * sizeof *scores);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, K, kdim, 1.0f,
                    A + r0 * lda, lda, B, kdim, 1.0f, scores, K);
        for (int64_t r = 0; r < rows; r++) {
            const float f = scale ? 2.0f * scale[(r0 + r) * scale_stride] : 2.0f;
            idx[(r0 + r) * idx_stride] = argmin_row(cnorm, scores + r * K, f, K);
        }
    }
}

size_t beat_vq_search_block_scratch(int K) { return (size_t)SEARCH_CHUNK_ROWS * (size_t)K; }

static void search_worker(void *ctx, int t, int n_parts) {
    const search_job *j = ctx;
    (void)n_parts;
    long long lo, hi;
    while (beat_blocks_next(j->blocks, &lo, &hi)) /* a row's code depends on the row only */
        beat_vq_search_block(j->A + lo * j->lda, hi - lo, j->kdim, j->lda, j->B, j->K, j->cnorm,
                             j->scale ? j->scale + lo * j->scale_stride : NULL, j->scale_stride,
                             j->idx + lo * j->idx_stride, j->idx_stride,
                             j->scratch + (size_t)t * SEARCH_CHUNK_ROWS * (size_t)j->K);
}

void beat_vq_code_norms(const float *cb, int K, int d, float *cnorm) {
    for (int k = 0; k < K; k++) cnorm[k] = beat_dot(cb + (size_t)k * d, cb + (size_t)k * d, d);
}

size_t beat_vq_search_scratch(int K, int threads) {
    return (size_t)K + (size_t)(threads < 1 ? 1 : threads) * SEARCH_CHUNK_ROWS * (size_t)K;
}

void beat_vq_search_rows(bb_pool *pool, const float *A, int64_t n, int kdim, int lda,
                         const float *B, int K, const float *cnorm, const float *scale,
                         int64_t scale_stride, int32_t *idx, int64_t idx_stride,
                         float *scratch) {
    BB_ASSERT(K >= 1 && kdim >= 1, "beat_vq_search: K %d and width %d must be positive", K, kdim);
    if (n <= 0) return;
    beat_blocks blocks;
    beat_blocks_init(&blocks, (long long)n, bb_pool_threads(pool), SEARCH_CHUNK_ROWS);
    search_job j = {A, B, n, kdim, lda, K, cnorm, scale, scale_stride, idx_stride, idx, scratch,
                    &blocks};
    bb_pool_run(pool, search_worker, &j);
}

void beat_vq_search(bb_pool *pool, const float *z, int64_t n, int d, const float *cb, int K,
                    int32_t *idx, float *scratch) {
    if (n <= 0) return;
    const int parts = bb_pool_threads(pool);
    float *own = scratch ? NULL : bb_malloc(beat_vq_search_scratch(K, parts) * sizeof(float));
    float *cnorm = scratch ? scratch : own;
    beat_vq_code_norms(cb, K, d, cnorm);
    beat_vq_search_rows(pool, z, n, d, d, cb, K, cnorm, NULL, 0, idx, 1, cnorm + K);
    free(own);
}

/* ------------------------------------------------------------------------------------------
 * Forward: st and the loss value */

typedef struct vq_job {
    const float *z, *cb, *z_sg, *q_sg;
    const int32_t *idx;
    int64_t n;
    int d, K;
    float *st;
    float scale_dz, scale_dcb; /* backward: w / (n d), 2 w / (n d) */
    float *dz, *dcb;
    float *partial; /* backward: per part (K, d) codebook-term sums */
    const float *norms; /* backward: fused normalisation backward when set */
    const float *add;   /* forward: rec = st + add (per T rows) when rec is set */
    float *rec;
    int T;
    beat_blocks blocks; /* forward: fixed row blocks, taken as threads come free */
    double (*block_sum)[2]; /* forward: per block, the two sums */
} vq_job;

/* Rows [lo, hi) of the forward; with rec set, also rec row r = st row r + add row r / T
 * (add NULL: a copy), written while the st row is in L1. */
static void forward_rows(const float *z, const float *cb, const int32_t *idx, int64_t lo,
                         int64_t hi, int d, const float *z_sg, const float *q_sg, float *st,
                         double sums[2], const float *add, int T, float *rec) {
    double cb_sum = 0.0, commit_sum = 0.0;
    for (int64_t r = lo; r < hi; r++) {
        const float *zr = z + r * d, *q = cb + (size_t)idx[r] * d;
        const float *z0 = z_sg ? z_sg + r * d : zr;
        const float *q0 = q_sg ? q_sg + r * d : q;
        float *str = st + r * d;
        const float cb_term = beat_sqdist(z0, q, d);
        cb_sum += cb_term; /* without frozen values both terms are ||z - q||^2 */
        commit_sum += z_sg || q_sg ? beat_sqdist(zr, q0, d) : cb_term;
        int c = 0;
        for (; c + 8 <= d; c += 8)
            bb_store8(str + c, bb_load8(zr + c) + (bb_load8(q0 + c) - bb_load8(z0 + c)));
        for (; c < d; c++) str[c] = zr[c] + (q0[c] - z0[c]);
        if (!rec) continue;
        float *rr = rec + r * d;
        if (!add) {
            memcpy(rr, str, (size_t)d * sizeof *rr);
            continue;
        }
        const float *a = add + (r / T) * d;
        for (c = 0; c + 8 <= d; c += 8) bb_store8(rr + c, bb_load8(str + c) + bb_load8(a + c));
        for (; c < d; c++) rr[c] = str[c] + a[c];
    }
    sums[0] += cb_sum;
    sums[1] += commit_sum;
}

void beat_vq_forward_rows(const float *z, const float *cb, const int32_t *idx, int64_t n, int d,
                          const float *z_sg, const float *q_sg, float *st, double sums[2]) {
    forward_rows(z, cb, idx, 0, n, d, z_sg, q_sg, st, sums, NULL, 1, NULL);
}

static void vq_forward_worker(void *ctx, int t, int n_parts) {
    vq_job *j = ctx;
    (void)t, (void)n_parts;
    long long lo, hi;
    while (beat_blocks_next(&j->blocks, &lo, &hi)) {
        double *sums = j->block_sum[lo / j->blocks.block];
        sums[0] = sums[1] = 0.0;
        forward_rows(j->z, j->cb, j->idx, lo, hi, j->d, j->z_sg, j->q_sg, j->st, sums, j->add,
                     j->T, j->rec);
    }
}

static int pool_parts(bb_pool *pool) {
    int n = bb_pool_threads(pool);
    BB_ASSERT(n <= MAX_PARTS, "beat_vq: at most %d threads, got %d", MAX_PARTS, n);
    return n;
}

/* The loss sums are per block, added in block order: the bits do not depend on timing. */
static double forward_run(vq_job *j, bb_pool *pool) {
    beat_blocks_init(&j->blocks, (long long)j->n, pool_parts(pool), 64);
    const long long n_blocks = ((long long)j->n + j->blocks.block - 1) / j->blocks.block;
    j->block_sum = bb_malloc((size_t)n_blocks * sizeof *j->block_sum);
    bb_pool_run(pool, vq_forward_worker, j);
    double cb_sum = 0.0, commit_sum = 0.0;
    for (long long b = 0; b < n_blocks; b++) {
        cb_sum += j->block_sum[b][0];
        commit_sum += j->block_sum[b][1];
    }
    free(j->block_sum);
    const double count = (double)j->n * (double)j->d;
    return cb_sum / count + 0.5 * commit_sum / count;
}

double beat_vq_forward(bb_pool *pool, const float *z, const float *cb, const int32_t *idx,
                       int64_t n, int d, const float *z_sg, const float *q_sg, float *st) {
    if (n <= 0) return 0.0;
    vq_job *j = bb_calloc(1, sizeof *j);
    j->z = z, j->cb = cb, j->z_sg = z_sg, j->q_sg = q_sg, j->idx = idx, j->n = n, j->d = d;
    j->st = st, j->T = 1;
    double loss = forward_run(j, pool);
    free(j);
    return loss;
}

double beat_vq_forward_rec(bb_pool *pool, const float *z, const float *cb, const int32_t *idx,
                           int64_t n, int T, int d, const float *z_sg, const float *q_sg,
                           float *st, const float *add, float *rec) {
    if (n <= 0) return 0.0;
    vq_job *j = bb_calloc(1, sizeof *j);
    j->z = z, j->cb = cb, j->z_sg = z_sg, j->q_sg = q_sg, j->idx = idx, j->n = n * T, j->d = d;
    j->st = st, j->add = add, j->rec = rec, j->T = T;
    double loss = forward_run(j, pool);
    free(j);
    return loss;
}

/* ------------------------------------------------------------------------------------------
 * Backward */

/* dz -> (dz - z (z . dz)) / |x| for one row (1/eps on a clamped row). */
static inline void norm_backward_row(const float *z, float norm, float *g, int d) {
    const float inv = 1.0f / norm;
    if ((double)norm <= BEAT_L2_EPS) { /* clamped: z = x / eps is linear */
        beat_scale(g, inv, d);
        return;
    }
    const float dot = beat_dot(z, g, d);
    const bb_vec8f dv = bb_splat8(dot), iv = bb_splat8(inv);
    int c = 0;
    for (; c + 8 <= d; c += 8) bb_store8(g + c, (bb_load8(g + c) - bb_load8(z + c) * dv) * iv);
    for (; c < d; c++) g[c] = (g[c] - z[c] * dot) * inv;
}

/* One pass over the part's rows: dz += scale_dz (z - q_sg), and the codebook term
 * sum_r (q_r - z_sg_r) of each code into the part's own (K, d) accumulator. */
static void vq_backward_worker(void *ctx, int t, int n_parts) {
    vq_job *j = ctx;
    int64_t lo, hi;
    split_rows(j->n, t, n_parts, &lo, &hi);
    const int d = j->d;
    float *restrict acc = j->partial + (size_t)t * j->K * d;
    memset(acc, 0, (size_t)j->K * d * sizeof *acc);
    const float sdz = j->scale_dz;
    for (int64_t r = lo; r < hi; r++) {
        const float *restrict z = j->z + r * d;
        const float *restrict q = j->cb + (size_t)j->idx[r] * d;
        const float *restrict q0 = j->q_sg ? j->q_sg + r * d : q;
        const float *restrict z0 = j->z_sg ? j->z_sg + r * d : z;
        float *restrict dz = j->dz + r * d;
        float *restrict a = acc + (size_t)j->idx[r] * d;
        const bb_vec8f sv = bb_splat8(sdz);
        int c = 0;
        for (; c + 8 <= d; c += 8) {
            bb_store8(dz + c, bb_load8(dz + c) + sv * (bb_load8(z + c) - bb_load8(q0 + c)));
            bb_store8(a + c, bb_load8(a + c) + (bb_load8(q + c) - bb_load8(z0 + c)));
        }
        for (; c < d; c++) {
            dz[c] += sdz * (z[c] - q0[c]);
            a[c] += q[c] - z0[c];
        }
        if (j->norms) norm_backward_row(z, j->norms[r], dz, d);
    }
}

/* dcb += scale_dcb * sum over parts (in part order) of the accumulators; codes split. */
static void vq_reduce_worker(void *ctx, int t, int n_parts) {
    vq_job *j = ctx;
    int64_t lo, hi;
    split_rows((int64_t)j->K * j->d, t, n_parts, &lo, &hi);
    const size_t stride = (size_t)j->K * j->d;
    const bb_vec8f scale = bb_splat8(j->scale_dcb);
    int64_t i = lo;
    for (; i + 8 <= hi; i += 8) {
        bb_vec8f s = bb_splat8(0.0f);
        for (int p = 0; p < n_parts; p++) s += bb_load8(j->partial + (size_t)p * stride + (size_t)i);
        bb_store8(j->dcb + i, bb_load8(j->dcb + i) + scale * s);
    }
    for (; i < hi; i++) {
        float s = 0.0f;
        for (int p = 0; p < n_parts; p++) s += j->partial[(size_t)p * stride + (size_t)i];
        j->dcb[i] += j->scale_dcb * s;
    }
}

void beat_vq_backward(bb_pool *pool, const float *z, const float *cb, const int32_t *idx,
                      int64_t n, int d, int K, const float *z_sg, const float *q_sg, float w,
                      float *dz_inout, float *dcb, float *scratch, const float *norms) {
    if (n <= 0) return;
    vq_job *j = bb_calloc(1, sizeof *j);
    j->z = z, j->cb = cb, j->z_sg = z_sg, j->q_sg = q_sg, j->idx = idx, j->n = n, j->d = d;
    j->K = K;
    double count = (double)n * (double)d;
    j->scale_dz = (float)((double)w / count);        /* 0.5 * 2 from the commitment term */
    j->scale_dcb = (float)(2.0 * (double)w / count); /* codebook term */
    j->dz = dz_inout;
    j->dcb = dcb;
    j->norms = norms;
    const int parts = bb_pool_threads(pool);
    float *own = scratch ? NULL : bb_malloc(beat_vq_backward_scratch(K, d, parts) * sizeof(float));
    j->partial = scratch ? scratch : own;
    bb_pool_run(pool, vq_backward_worker, j);
    if (dcb) bb_pool_run(pool, vq_reduce_worker, j);
    free(own);
    free(j);
}

size_t beat_vq_backward_scratch(int K, int d, int threads) {
    return (size_t)(threads < 1 ? 1 : threads) * (size_t)K * (size_t)d;
}

/* ------------------------------------------------------------------------------------------
 * Row L2 normalisation */

typedef struct norm_job {
    float *x;
    const float *z;
    float *norms;
    const float *cnorms;
    int64_t n;
    int d;
    beat_blocks *blocks; /* forward: fixed row blocks */
} norm_job;

void beat_l2norm_rows(float *x, int64_t n, int d, float *norms) {
    for (int64_t r = 0; r < n; r++) {
        float *xr = x + r * d;
        float nrm = sqrtf(beat_dot(xr, xr, d));
        if (!((double)nrm >= BEAT_L2_EPS)) nrm = (float)BEAT_L2_EPS;
        norms[r] = nrm;
        beat_scale(xr, 1.0f / nrm, d);
    }
}

static void norm_forward_worker(void *ctx, int t, int n_parts) {
    norm_job *j = ctx;
    (void)t, (void)n_parts;
    long long lo, hi;
    while (beat_blocks_next(j->blocks, &lo, &hi)) /* rows are independent */
        beat_l2norm_rows(j->x + lo * j->d, hi - lo, j->d, j->norms + lo);
}

void beat_l2norm_forward(bb_pool *pool, float *x, int64_t n, int d, float *norms) {
    if (n <= 0) return;
    beat_blocks blocks;
    beat_blocks_init(&blocks, (long long)n, bb_pool_threads(pool), 64);
    norm_job j = {x, NULL, norms, NULL, n, d, &blocks};
    bb_pool_run(pool, norm_forward_worker, &j);
}

static void norm_backward_worker(void *ctx, int t, int n_parts) {
    norm_job *j = ctx;
    int64_t lo, hi;
    split_rows(j->n, t, n_parts, &lo, &hi);
    for (int64_t r = lo; r < hi; r++)
        norm_backward_row(j->z + r * j->d, j->cnorms[r], j->x + r * j->d, j->d);
}

void beat_l2norm_backward(bb_pool *pool, const float *z, const float *norms, float *dz,
                          int64_t n, int d) {
    if (n <= 0) return;
    norm_job j = {dz, z, NULL, norms, n, d, NULL};
    bb_pool_run(pool, norm_backward_worker, &j);
}
