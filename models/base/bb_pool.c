/* bb_pool — persistent fork-join workers. See bb_pool.h. */
#include "models/base/bb_pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"

struct bb_pool {
    int n_threads;
    pthread_t *threads; /* n_threads - 1 workers */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    unsigned long generation; /* bumped by every run; workers run once per generation */
    int pending;              /* workers still busy with the current generation */
    int stop;
    bb_pool_fn fn;
    void *ctx;
};

typedef struct {
    bb_pool *pool;
    int index;
} worker_arg;

static void *worker_main(void *arg) {
    worker_arg *w = arg;
    bb_pool *p = w->pool;
    int index = w->index;
    free(w);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop) break;
        seen = p->generation;
        bb_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->lock);
        fn(ctx, index, p->n_threads);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

bb_pool *bb_pool_new(int threads) {
    bb_pool *p = bb_calloc(1, sizeof *p);
    p->n_threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = bb_calloc((size_t)p->n_threads, sizeof *p->threads);
    for (int t = 1; t < p->n_threads; t++) {
        worker_arg *w = bb_malloc(sizeof *w);
        w->pool = p;
        w->index = t;
        BB_ASSERT(pthread_create(&p->threads[t], NULL, worker_main, w) == 0,
                  "bb_pool: cannot start worker thread %d of %d", t, p->n_threads);
    }
    return p;
}

void bb_pool_free(bb_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int t = 1; t < p->n_threads; t++) pthread_join(p->threads[t], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}

int bb_pool_threads(const bb_pool *p) { return p ? p->n_threads : 1; }

void bb_pool_run(bb_pool *p, bb_pool_fn fn, void *ctx) {
    if (!p || p->n_threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->pending = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    fn(ctx, 0, p->n_threads);
    pthread_mutex_lock(&p->lock);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

void bb_pool_split(long long total, int t, int n, long long *lo, long long *hi) {
    *lo = total * t / n;
    *hi = total * (t + 1) / n;
}
