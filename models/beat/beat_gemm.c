/* beat_gemm — pool-parallel sgemm by rows or by output columns (see beat_gemm.h). */
#include "models/beat/beat_gemm.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_dot.h"
#include "models/beat/beat_vq.h"


typedef struct gemm_job {
    int trans_b;
    int64_t M;
    int N, K;
    const float *A, *B;
    int lda, ldb, ldc;
    float beta;
    float *C;
    int64_t n;         /* at_b: rows of A and B */
    beat_blocks *rows; /* rows: the blocks of M */
} gemm_job;

void beat_blocks_init(beat_blocks *b, long long total, int threads, long long min_block) {
    long long block = total / (8LL * (threads < 1 ? 1 : threads));
    if (block < min_block) block = min_block;
    if (block < 1) block = 1;
    b->block = (block + 15) / 16 * 16;
    b->total = total;
    atomic_init(&b->next, 0);
}

int beat_blocks_next(beat_blocks *b, long long *lo, long long *hi) {
    const long long k = atomic_fetch_add(&b->next, 1);
    if (k * b->block >= b->total) return 0;
    *lo = k * b->block;
    *hi = *lo + b->block < b->total ? *lo + b->block : b->total;
    return 1;
}

/* beta = 0 runs as a memset of the part's rows and beta = 1: OpenBLAS's own zeroing pass
 * (sgemm_beta) is slower than memset, by ~15% of a whole K = 64 product on yelp's shapes;
 * C = 0 + A op(B) either way, the same bits. */
static void rows_worker(void *ctx, int t, int parts) {
    const gemm_job *j = ctx;
    (void)t, (void)parts;
    long long lo, hi;
    while (beat_blocks_next(j->rows, &lo, &hi)) {
        float *C = j->C + lo * j->ldc;
        float beta = j->beta;
        if (beta == 0.0f) {
            if (j->ldc == j->N)
                memset(C, 0, (size_t)(hi - lo) * (size_t)j->N * sizeof *C);
            else
                for (long long r = 0; r < hi - lo; r++)
                    memset(C + r * j->ldc, 0, (size_t)j->N * sizeof *C);
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, j->trans_b ? CblasTrans : CblasNoTrans,
                    (int)(hi - lo), j->N, j->K, 1.0f, j->A + lo * j->lda, j->lda, j->B, j->ldb,
                    beta, C, j->ldc);
    }
}

void beat_gemm_rows(bb_pool *pool, int trans_b, int64_t M, int N, int K, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0) return;
    beat_blocks blocks;
    beat_blocks_init(&blocks, (long long)M, bb_pool_threads(pool), 64);
    gemm_job j = {trans_b, M, N, K, A, B, lda, ldb, ldc, beta, C, 0, &blocks};
    bb_pool_run(pool, rows_worker, &j);
}

/* The weight gradient C += A^T B sums over the n rows: fixed blocks of rows (taken by the
 * threads as they come free, as beat_blocks) each write their product into their own
 * scratch block, and the blocks are added into C in block order — so the bits do not depend
 * on timing. Whole-width products run ~10% faster than column slices of them (measured on
 * yelp's shapes). */
#define AT_B_BLOCKS_PER_THREAD 2

typedef struct at_b_job {
    gemm_job g;
    beat_blocks blocks;
    float *scratch; /* one M x N block per row block */
} at_b_job;

static void k_split_worker(void *ctx, int t, int parts) {
    at_b_job *j = ctx;
    const gemm_job *g = &j->g;
    (void)t, (void)parts;
    long long lo, hi;
    while (beat_blocks_next(&j->blocks, &lo, &hi)) {
        float *P = j->scratch + (size_t)(lo / j->blocks.block) * (size_t)g->M * (size_t)g->N;
        memset(P, 0, (size_t)g->M * (size_t)g->N * sizeof *P);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->M, g->N, (int)(hi - lo),
                    1.0f, g->A + lo * g->lda, g->lda, g->B + lo * g->ldb, g->ldb, 1.0f, P, g->N);
    }
}

/* C rows [lo, hi) += the row blocks' products, in block order */
typedef struct at_b_sum {
    const at_b_job *j;
    long long n_blocks;
    beat_blocks rows;
} at_b_sum;

static void at_b_sum_worker(void *ctx, int t, int parts) {
    at_b_sum *s = ctx;
    const gemm_job *g = &s->j->g;
    (void)t, (void)parts;
    const size_t block = (size_t)g->M * (size_t)g->N;
    long long lo, hi;
    while (beat_blocks_next(&s->rows, &lo, &hi))
        for (long long r = lo; r < hi; r++)
            for (long long b = 0; b < s->n_blocks; b++)
                beat_add(g->C + (size_t)r * g->ldc, s->j->scratch + (size_t)b * block + (size_t)r * g->N,
                         g->N);
}

void beat_gemm_at_b(bb_pool *pool, int M, int N, int64_t n, const float *A, int lda,
                    const float *B, int ldb, float *C, int ldc) {
    if (n <= 0) return;
    const int parts = bb_pool_threads(pool);
    at_b_job j;
    memset(&j, 0, sizeof j);
    j.g = (gemm_job){0, M, N, 0, A, B, lda, ldb, ldc, 1.0f, C, n, NULL};
    long long block = n / ((long long)AT_B_BLOCKS_PER_THREAD * parts);
    beat_blocks_init(&j.blocks, (long long)n, 1, block < 64 ? 64 : block);
    const long long n_blocks = ((long long)n + j.blocks.block - 1) / j.blocks.block;
    j.scratch = bb_malloc((size_t)n_blocks * (size_t)M * (size_t)N * sizeof(float));
    bb_pool_run(pool, k_split_worker, &j);
    at_b_sum sum = {&j, n_blocks, {0, 0, 0}};
    beat_blocks_init(&sum.rows, (long long)M, parts, 16);
    bb_pool_run(pool, at_b_sum_worker, &sum);
    free(j.scratch);
}

/* ------------------------------------------------------------------------------------------
 * T chunk products per pool run */

typedef struct chunks_job {
    gemm_job g;
    int T;
    int64_t a_step, b_step, c_step;
    float *norms;
} chunks_job;

static void rows_chunks_worker(void *ctx, int t, int parts) {
    const chunks_job *j = ctx;
    const gemm_job *g = &j->g;
    (void)t, (void)parts;
    long long lo, hi;
    while (beat_blocks_next(g->rows, &lo, &hi)) {
        for (int k = 0; k < j->T; k++) {
            float *C = g->C + k * j->c_step + lo * g->ldc;
            float beta = g->beta;
            if (beta == 0.0f) { /* as rows_worker */
                for (long long r = 0; r < hi - lo; r++)
                    memset(C + r * g->ldc, 0, (size_t)g->N * sizeof *C);
                beta = 1.0f;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, g->trans_b ? CblasTrans : CblasNoTrans,
                        (int)(hi - lo), g->N, g->K, 1.0f, g->A + k * j->a_step + lo * g->lda,
                        g->lda, g->B + k * j->b_step, g->ldb, beta, C, g->ldc);
        }
        if (j->norms)
            beat_l2norm_rows(g->C + lo * g->ldc, (hi - lo) * j->T, g->N, j->norms + lo * j->T);
    }
}

void beat_gemm_rows_chunks(bb_pool *pool, int trans_b, int64_t M, int T, int N, int K,
                           const float *A, int lda, int64_t a_step, const float *B, int ldb,
                           int64_t b_step, float beta, float *C, int ldc, int64_t c_step,
                           float *norms) {
    if (M <= 0 || T <= 0) return;
    BB_ASSERT(!norms || (beta == 0.0f && ldc == (int64_t)T * N && c_step == N),
              "beat_gemm_rows_chunks: normalised rows need contiguous chunks and beta 0");
    beat_blocks blocks;
    beat_blocks_init(&blocks, (long long)M, bb_pool_threads(pool), 64);
    chunks_job j = {{trans_b, M, N, K, A, B, lda, ldb, ldc, beta, C, 0, &blocks},
                    T, a_step, b_step, c_step, norms};
    bb_pool_run(pool, rows_chunks_worker, &j);
}

typedef struct at_b_chunks_job {
    gemm_job g;
    int T;
    int64_t a_step, b_step, c_step;
    beat_blocks blocks;
    long long n_blocks;
    float *scratch; /* per chunk, one M x N block per row block */
    beat_blocks sum_rows;
} at_b_chunks_job;

static void k_split_chunks_worker(void *ctx, int t, int parts) {
    at_b_chunks_job *j = ctx;
    const gemm_job *g = &j->g;
    (void)t, (void)parts;
    const size_t block = (size_t)g->M * (size_t)g->N;
    long long lo, hi;
    while (beat_blocks_next(&j->blocks, &lo, &hi))
        for (int k = 0; k < j->T; k++) {
            float *P = j->scratch + ((size_t)k * (size_t)j->n_blocks +
                                     (size_t)(lo / j->blocks.block)) * block;
            memset(P, 0, block * sizeof *P);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->M, g->N,
                        (int)(hi - lo), 1.0f, g->A + k * j->a_step + lo * g->lda, g->lda,
                        g->B + k * j->b_step + lo * g->ldb, g->ldb, 1.0f, P, g->N);
        }
}

/* sum rows are (chunk, row) pairs: k M + r */
static void at_b_chunks_sum_worker(void *ctx, int t, int parts) {
    at_b_chunks_job *j = ctx;
    const gemm_job *g = &j->g;
    (void)t, (void)parts;
    const size_t block = (size_t)g->M * (size_t)g->N;
    long long lo, hi;
    while (beat_blocks_next(&j->sum_rows, &lo, &hi))
        for (long long kr = lo; kr < hi; kr++) {
            const long long k = kr / g->M, r = kr % g->M;
            float *c = g->C + k * j->c_step + r * g->ldc;
            const float *P = j->scratch + (size_t)k * (size_t)j->n_blocks * block +
                             (size_t)r * (size_t)g->N;
            for (long long b = 0; b < j->n_blocks; b++) beat_add(c, P + (size_t)b * block, g->N);
        }
}

void beat_gemm_at_b_chunks(bb_pool *pool, int T, int M, int N, int64_t n, const float *A,
                           int lda, int64_t a_step, const float *B, int ldb, int64_t b_step,
                           float *C, int ldc, int64_t c_step) {
    if (n <= 0 || T <= 0) return;
    const int parts = bb_pool_threads(pool);
    at_b_chunks_job j;
    memset(&j, 0, sizeof j);
    j.g = (gemm_job){0, M, N, 0, A, B, lda, ldb, ldc, 1.0f, C, n, NULL};
    j.T = T, j.a_step = a_step, j.b_step = b_step, j.c_step = c_step;
    /* the row blocks of beat_gemm_at_b */
    long long block = n / ((long long)AT_B_BLOCKS_PER_THREAD * parts);
    beat_blocks_init(&j.blocks, (long long)n, 1, block < 64 ? 64 : block);
    j.n_blocks = ((long long)n + j.blocks.block - 1) / j.blocks.block;
    j.scratch = bb_malloc((size_t)T * (size_t)j.n_blocks * (size_t)M * (size_t)N * sizeof(float));
    bb_pool_run(pool, k_split_chunks_worker, &j);
    beat_blocks_init(&j.sum_rows, (long long)T * M, parts, 16);
    bb_pool_run(pool, at_b_chunks_sum_worker, &j);
    free(j.scratch);
}
