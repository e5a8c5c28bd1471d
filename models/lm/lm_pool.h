/* lm_pool — a small persistent thread pool for the LM's data-parallel work.
 *
 * lm_pool_run(pool, fn, ctx) calls fn(ctx, tid, n) once on each of the pool's n threads
 * (tid 0 runs on the caller) and returns when all have finished. The work split is the
 * caller's: it divides by tid in a fixed way, so results depend on the thread count only,
 * never on timing. Idle workers sleep on a condition variable (no spinning), so the pool
 * costs nothing between calls.
 *
 * OpenBLAS: while a pool runs n > 1 threads, each thread calls sgemm itself, so OpenBLAS
 * must not start threads of its own; lm_pool_run sets it to one thread for the duration of
 * the call and restores the previous setting afterwards.
 *
 * Ownership: lm_pool_new returns a pool the caller frees with lm_pool_free (joins the
 * workers). One lm_pool_run at a time per pool.
 */
#ifndef LM_POOL_H
#define LM_POOL_H

#include "models/base/bb_pool.h"

/* The LM runs on the shared pool; only lm_pool_run adds the OpenBLAS setting. */
typedef bb_pool lm_pool;
typedef bb_pool_fn lm_pool_fn;

lm_pool *lm_pool_new(int n_threads); /* n_threads < 1 -> 1 */
void lm_pool_free(lm_pool *pool);    /* NULL is fine */
int lm_pool_size(const lm_pool *pool);
void lm_pool_run(lm_pool *pool, lm_pool_fn fn, void *ctx);

/* [begin, end) of the tid-th of n equal contiguous parts of [0, total). */
void lm_split_range(long total, int tid, int n, long *begin, long *end);

#endif
