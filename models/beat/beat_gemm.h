/* beat_gemm — dense products of BEAT stage 1 split across a bb_pool, each worker calling
 * single-threaded OpenBLAS sgemm on its part (OpenBLAS itself must run at one thread).
 *
 * One level of threading, and no OpenBLAS worker threads spinning while the pool's kernels
 * run. beat_gemm_rows computes each output element in one sgemm call whose operands do not
 * depend on the split; beat_gemm_at_b adds per-block partial sums in block order.
 */
#ifndef BEAT_GEMM_H
#define BEAT_GEMM_H

#include <stdatomic.h>
#include <stdint.h>

#include "models/base/bb_pool.h"

/* Fixed blocks of a range [0, total), handed to the pool's threads as they come free. The
 * blocks themselves are fixed by (total, block), and each block's output is computed the
 * same way whichever thread takes it (no per-thread sums), so results do not depend on
 * timing; but a thread that starts late (woken from sleep) or runs slower (a shared
 * machine) no longer holds up the other, as a fixed half would. Kernels with per-thread
 * reductions keep fixed splits. */
typedef struct beat_blocks {
    atomic_llong next;
    long long total, block;
} beat_blocks;
/* block = max(min_block, total / (8 threads)), rounded up to a multiple of 16 */
void beat_blocks_init(beat_blocks *b, long long total, int threads, long long min_block);
/* The next block [lo, hi); 0 when none is left. */
int beat_blocks_next(beat_blocks *b, long long *lo, long long *hi);

/* Row-major C (M, N) = A (M, K) op(B) + beta C, op(B) = B (K, N) or B^T for B (N, K) when
 * trans_b; rows of A and C in fixed blocks (beat_blocks) across the pool. */
void beat_gemm_rows(bb_pool *pool, int trans_b, int64_t M, int N, int K, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* Row-major C (M, N) += A^T B for A (n, M), B (n, N) — the weight gradient of a projection:
 * the n rows in fixed blocks (about two per thread) across the pool, each block's product
 * added into C in block order (so the bits depend on the thread count, and are fixed for a
 * given one). */
void beat_gemm_at_b(bb_pool *pool, int M, int N, int64_t n, const float *A, int lda,
                    const float *B, int ldb, float *C, int ldc);

#endif
