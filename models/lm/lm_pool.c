/* lm_pool — persistent pthread pool with a generation counter (see lm_pool.h). */
#include "models/lm/lm_pool.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"

struct lm_pool {
    int n;
    pthread_t *threads; /* n - 1 workers */
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    unsigned long generation; /* bumped by each run */
    int remaining;            /* workers still busy with this generation */
    int stop;
    lm_pool_fn fn;
    void *ctx;
};

typedef struct worker_arg {
    lm_pool *pool;
    int tid;
} worker_arg;

static void *worker_main(void *arg) {
    worker_arg *wa = arg;
    lm_pool *pool = wa->pool;
    int tid = wa->tid;
    free(wa);
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&pool->mu);
        while (!pool->stop && pool->generation == seen)
            pthread_cond_wait(&pool->work_cv, &pool->mu);
        if (pool->stop) {
            pthread_mutex_unlock(&pool->mu);
            return NULL;
        }
        seen = pool->generation;
        lm_pool_fn fn = pool->fn;
        void *ctx = pool->ctx;
        pthread_mutex_unlock(&pool->mu);
        fn(ctx, tid, pool->n);
        pthread_mutex_lock(&pool->mu);
        if (--pool->remaining == 0) pthread_cond_signal(&pool->done_cv);
        pthread_mutex_unlock(&pool->mu);
    }
}

lm_pool *lm_pool_new(int n_threads) {
    lm_pool *pool = bb_calloc(1, sizeof *pool);
    pool->n = n_threads < 1 ? 1 : n_threads;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->work_cv, NULL);
    pthread_cond_init(&pool->done_cv, NULL);
    pool->threads = bb_calloc((size_t)pool->n, sizeof *pool->threads);
    for (int t = 1; t < pool->n; t++) {
        worker_arg *wa = bb_malloc(sizeof *wa);
        wa->pool = pool;
        wa->tid = t;
        int rc = pthread_create(&pool->threads[t], NULL, worker_main, wa);
        BB_ASSERT(rc == 0, "could not start LM worker thread %d (pthread_create: %d)", t, rc);
    }
    return pool;
}

void lm_pool_free(lm_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
    for (int t = 1; t < pool->n; t++) pthread_join(pool->threads[t], NULL);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->work_cv);
    pthread_cond_destroy(&pool->done_cv);
    free(pool->threads);
    free(pool);
}

int lm_pool_size(const lm_pool *pool) { return pool->n; }

void lm_pool_run(lm_pool *pool, lm_pool_fn fn, void *ctx) {
    int blas_threads = openblas_get_num_threads();
    if (blas_threads != 1) openblas_set_num_threads(1);
    if (pool->n > 1) {
        pthread_mutex_lock(&pool->mu);
        pool->fn = fn;
        pool->ctx = ctx;
        pool->remaining = pool->n - 1;
        pool->generation++;
        pthread_cond_broadcast(&pool->work_cv);
        pthread_mutex_unlock(&pool->mu);
    }
    fn(ctx, 0, pool->n);
    if (pool->n > 1) {
        pthread_mutex_lock(&pool->mu);
        while (pool->remaining > 0) pthread_cond_wait(&pool->done_cv, &pool->mu);
        pthread_mutex_unlock(&pool->mu);
    }
    if (blas_threads != 1) openblas_set_num_threads(blas_threads);
}

void lm_split_range(long total, int tid, int n, long *begin, long *end) {
    *begin = total * tid / n;
    *end = total * (tid + 1) / n;
}
