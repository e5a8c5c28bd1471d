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

/* T products at once, chunk k with A + k a_step, B + k b_step, C + k c_step (the micro
 * chunks' maps): each row block does all T products in turn (its rows stay in cache, one
 * pool run instead of T), the same sgemm calls on the same blocks as T beat_gemm_rows calls,
 * so the same bits. With norms not NULL (requires beta 0, ldc = T N, c_step = N), each
 * block's C rows, read as (M T, N) rows, are then L2-normalised in place with their
 * denominators in norms (M T): beat_l2norm_forward afterwards, bit for bit. */
void beat_gemm_rows_chunks(bb_pool *pool, int trans_b, int64_t M, int T, int N, int K,
                           const float *A, int lda, int64_t a_step, const float *B, int ldb,
                           int64_t b_step, float beta, float *C, int ldc, int64_t c_step,
                           float *norms);

/* Row-major C (M, N) += A^T B for A (n, M), B (n, N) — the weight gradient of a projection:
 * the n rows in fixed blocks (about two per thread) across the pool, each block's product
 * added into C in block order (so the bits depend on the thread count, and are fixed for a
 * given one). */
void beat_gemm_at_b(bb_pool *pool, int M, int N, int64_t n, const float *A, int lda,
                    const float *B, int ldb, float *C, int ldc);

/* T weight gradients at once (chunk k: A + k a_step, B + k b_step, C + k c_step): the same
 * row blocks and block-order sums as T beat_gemm_at_b calls (same bits), in two pool runs
 * instead of 2 T, each row block doing all T products while its rows are in cache. */
void beat_gemm_at_b_chunks(bb_pool *pool, int T, int M, int N, int64_t n, const float *A,
                           int lda, int64_t a_step, const float *B, int ldb, int64_t b_step,
                           float *C, int ldc, int64_t c_step);

#endif
