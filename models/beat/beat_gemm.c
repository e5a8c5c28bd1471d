/* beat_gemm — pool-parallel sgemm by rows or by output columns (see beat_gemm.h). */
#include "models/beat/beat_gemm.h"

#include <cblas.h>

typedef struct gemm_job {
    int trans_b;
    int64_t M;
    int N, K;
    const float *A, *B;
    int lda, ldb, ldc;
    float beta;
    float *C;
    int64_t n; /* at_b: rows of A and B */
} gemm_job;

static void rows_worker(void *ctx, int t, int parts) {
    const gemm_job *j = ctx;
    long long lo, hi;
    bb_pool_split((long long)j->M, t, parts, &lo, &hi);
    if (hi <= lo) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, j->trans_b ? CblasTrans : CblasNoTrans,
                (int)(hi - lo), j->N, j->K, 1.0f, j->A + lo * j->lda, j->lda, j->B, j->ldb,
                j->beta, j->C + lo * j->ldc, j->ldc);
}

void beat_gemm_rows(bb_pool *pool, int trans_b, int64_t M, int N, int K, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0) return;
    gemm_job j = {trans_b, M, N, K, A, B, lda, ldb, ldc, beta, C, 0};
    bb_pool_run(pool, rows_worker, &j);
}

/* Column blocks are multiples of 16 floats (one AVX-512 vector) where the width allows. */
static void cols_worker(void *ctx, int t, int parts) {
    const gemm_job *j = ctx;
    const long long blocks = (j->N + 15) / 16;
    long long lo, hi;
    bb_pool_split(blocks, t, parts, &lo, &hi);
    lo *= 16, hi *= 16;
    if (hi > j->N) hi = j->N;
    if (hi <= lo) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)j->M, (int)(hi - lo), (int)j->n,
                1.0f, j->A, j->lda, j->B + lo, j->ldb, 1.0f, j->C + lo, j->ldc);
}

void beat_gemm_at_b(bb_pool *pool, int M, int N, int64_t n, const float *A, int lda,
                    const float *B, int ldb, float *C, int ldc) {
    if (n <= 0) return;
    gemm_job j = {0, M, N, 0, A, B, lda, ldb, ldc, 1.0f, C, n};
    bb_pool_run(pool, cols_worker, &j);
}
