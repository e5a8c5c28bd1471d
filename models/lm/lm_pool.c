/* lm_pool — the shared bb_pool, with OpenBLAS held at one thread while a run is in flight
 * (see lm_pool.h). */
#include "models/lm/lm_pool.h"

#include <cblas.h>


lm_pool *lm_pool_new(int n_threads) { return bb_pool_new(n_threads); }

void lm_pool_free(lm_pool *pool) { bb_pool_free(pool); }

int lm_pool_size(const lm_pool *pool) { return bb_pool_threads(pool); }

void lm_pool_run(lm_pool *pool, lm_pool_fn fn, void *ctx) {
    /* each worker calls sgemm itself: OpenBLAS must not start threads of its own */
    int blas_threads = openblas_get_num_threads();
    if (blas_threads != 1) openblas_set_num_threads(1);
    bb_pool_run(pool, fn, ctx);
    if (blas_threads != 1) openblas_set_num_threads(blas_threads);
}

void lm_split_range(long total, int tid, int n, long *begin, long *end) {
    long long lo, hi;
    bb_pool_split(total, tid, n, &lo, &hi);
    *begin = (long)lo;
    *end = (long)hi;
}
