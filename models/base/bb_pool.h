/* bb_pool — a small persistent fork-join pool for the multithreaded kernels (graph, BPR,
 * BEAT, the LM).
 *
 * bb_pool_run(pool, fn, ctx) calls fn(ctx, t, n) for every t in [0, n), n = the pool's
 * thread count, t = 0 on the caller's thread, and returns when all calls have returned.
 * Results must not depend on timing. Callers either split work by t in a fixed way, or hand
 * out fixed blocks to threads as they come free (beat_gemm.h, lightgcn.h: a late-waking thread
 * then holds nobody up) provided each block's result does not depend on which thread computed
 * it and any sum over blocks is taken in block order, never in completion order. Threads are started once by bb_pool_new and sleep on a condition
 * variable between runs; a run costs a wake-up, not a thread creation — the LightGCN
 * trainer makes ~10 runs per step and ~1,500 per epoch.
 *
 * Ownership: bb_pool_free joins and frees the workers. One run at a time per pool: the
 * pool is not re-entrant and is meant to be used from one thread.
 */
#ifndef BB_POOL_H
#define BB_POOL_H

typedef struct bb_pool bb_pool;

typedef void (*bb_pool_fn)(void *ctx, int t, int n);

/* threads < 1 means 1 (everything runs on the caller). */
bb_pool *bb_pool_new(int threads);
void bb_pool_free(bb_pool *pool); /* NULL is fine */
int bb_pool_threads(const bb_pool *pool);
void bb_pool_run(bb_pool *pool, bb_pool_fn fn, void *ctx);

/* [lo, hi) of the t-th of n near-equal contiguous parts of [0, total). */
void bb_pool_split(long long total, int t, int n, long long *lo, long long *hi);

#endif
