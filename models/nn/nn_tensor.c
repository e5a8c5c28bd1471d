/* nn_tensor — tensors, views, the chunked arena and the thread-count setting.
 * See nn_tensor.h for ownership rules. */
#include "models/nn/nn_tensor.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"

/* Under AddressSanitizer the arena poisons memory it has not handed out, so a tape tensor
 * used after nn_tape_reset() (or an overrun into the alignment gap) is reported. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_POISON(p, n) ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* ------------------------------------------------------------------------------------------ */
/* shapes */

void nn_tensor_set_shape(nn_tensor *t, int ndim, const int64_t *shape) {
    BB_ASSERT(ndim >= 1 && ndim <= NN_MAX_DIMS, "tensor ndim %d outside 1..%d", ndim,
              NN_MAX_DIMS);
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < NN_MAX_DIMS; i++) {
        t->shape[i] = i < ndim ? shape[i] : 1;
        BB_ASSERT(t->shape[i] > 0, "tensor dim %d has extent %lld; extents must be > 0", i,
                  (long long)t->shape[i]);
        t->numel *= t->shape[i];
    }
}

int nn_tensor_same_shape(const nn_tensor *a, const nn_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

int64_t nn_tensor_cols(const nn_tensor *t) { return t->shape[t->ndim - 1]; }
int64_t nn_tensor_rows(const nn_tensor *t) { return t->numel / t->shape[t->ndim - 1]; }

const char *nn_shape_str(const nn_tensor *t, char *buf, size_t cap) {
    size_t pos = 0;
    pos += (size_t)snprintf(buf + pos, cap - pos, "(");
    for (int i = 0; i < t->ndim && pos < cap; i++)
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s%lld", i ? ", " : "",
                                (long long)t->shape[i]);
    if (pos < cap) snprintf(buf + pos, cap - pos, ")");
    return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* heap tensors and views */

nn_tensor *nn_tensor_new(int ndim, const int64_t *shape, int with_grad) {
    nn_tensor *t = bb_calloc(1, sizeof *t);
    nn_tensor_set_shape(t, ndim, shape);
    t->data = bb_calloc((size_t)t->numel, sizeof(float));
    if (with_grad) {
        t->grad = bb_calloc((size_t)t->numel, sizeof(float));
        t->requires_grad = 1;
    }
    t->owns = 1;
    return t;
}

nn_tensor *nn_tensor_new1(int64_t n, int with_grad) {
    int64_t s[1] = {n};
    return nn_tensor_new(1, s, with_grad);
}

nn_tensor *nn_tensor_new2(int64_t rows, int64_t cols, int with_grad) {
    int64_t s[2] = {rows, cols};
    return nn_tensor_new(2, s, with_grad);
}

void nn_tensor_free(nn_tensor *t) {
    if (!t) return;
    if (t->owns) {
        free(t->data);
        free(t->grad);
    }
    free(t);
}

nn_tensor nn_tensor_view_rows(const nn_tensor *t, int64_t row0, int64_t n_rows) {
    BB_ASSERT(row0 >= 0 && n_rows > 0 && row0 + n_rows <= t->shape[0],
              "view rows [%lld, %lld) outside a first dim of %lld", (long long)row0,
              (long long)(row0 + n_rows), (long long)t->shape[0]);
    nn_tensor v = *t;
    int64_t row_size = t->numel / t->shape[0];
    v.shape[0] = n_rows;
    v.numel = n_rows * row_size;
    v.data = t->data ? t->data + row0 * row_size : NULL;
    v.grad = t->grad ? t->grad + row0 * row_size : NULL;
    v.owns = 0;
    return v;
}

nn_tensor nn_tensor_view_shape(const nn_tensor *t, int ndim, const int64_t *shape) {
    nn_tensor v = *t;
    nn_tensor_set_shape(&v, ndim, shape);
    BB_ASSERT(v.numel == t->numel, "view shape has %lld elements, tensor has %lld",
              (long long)v.numel, (long long)t->numel);
    v.owns = 0;
    return v;
}

void nn_tensor_fill(nn_tensor *t, float value) {
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = value;
}

void nn_tensor_copy_from(nn_tensor *t, const float *src) {
    memcpy(t->data, src, (size_t)t->numel * sizeof(float));
}

void nn_tensor_zero_grad(nn_tensor *t) {
    if (t->grad) memset(t->grad, 0, (size_t)t->numel * sizeof(float));
}

double nn_tensor_sum(const nn_tensor *t) {
    double s = 0;
    for (int64_t i = 0; i < t->numel; i++) s += t->data[i];
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* arena: a list of chunks; the newest chunk is at the head */

struct nn_arena_chunk {
    nn_arena_chunk *next;
    size_t size, used;
    unsigned char *mem; /* 64-byte aligned */
    void *raw;          /* what malloc returned */
};

#define NN_ARENA_ALIGN 64u

static nn_arena_chunk *chunk_new(size_t size) {
    nn_arena_chunk *c = bb_calloc(1, sizeof *c);
    c->raw = bb_malloc(size + NN_ARENA_ALIGN);
    uintptr_t p = (uintptr_t)c->raw;
    c->mem = (unsigned char *)((p + NN_ARENA_ALIGN - 1) & ~(uintptr_t)(NN_ARENA_ALIGN - 1));
    c->size = size;
    ARENA_POISON(c->mem, size);
    return c;
}

void nn_arena_init(nn_arena *a, size_t chunk_size) {
    memset(a, 0, sizeof *a);
    a->chunk_size = chunk_size ? chunk_size : (size_t)16 << 20;
}

void *nn_arena_alloc(nn_arena *a, size_t bytes) {
    size_t need = (bytes + NN_ARENA_ALIGN - 1) & ~(size_t)(NN_ARENA_ALIGN - 1);
    if (need == 0) need = NN_ARENA_ALIGN;
    nn_arena_chunk *c = a->chunks;
    if (!c || c->size - c->used < need) {
        size_t size = need > a->chunk_size ? need : a->chunk_size;
        c = chunk_new(size);
        c->next = a->chunks;
        a->chunks = c;
    }
    void *p = c->mem + c->used;
    ARENA_UNPOISON(p, bytes);
    c->used += need;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

void *nn_arena_calloc(nn_arena *a, size_t bytes) {
    void *p = nn_arena_alloc(a, bytes);
    memset(p, 0, bytes);
    return p;
}

static void free_chunks(nn_arena_chunk *c) {
    while (c) {
        nn_arena_chunk *next = c->next;
        ARENA_UNPOISON(c->mem, c->size);
        free(c->raw);
        free(c);
        c = next;
    }
}

void nn_arena_reset(nn_arena *a) {
    nn_arena_chunk *c = a->chunks;
    if (c && c->next) {
        /* The step needed several chunks: replace them by one that holds the peak, so
         * the next step of the same shape runs in a single chunk. */
        size_t size = a->peak > a->chunk_size ? a->peak : a->chunk_size;
        free_chunks(c);
        a->chunks = chunk_new(size);
    } else if (c) {
        c->used = 0;
        ARENA_POISON(c->mem, c->size);
    }
    a->used = 0;
}

void nn_arena_free(nn_arena *a) {
    free_chunks(a->chunks);
    a->chunks = NULL;
    a->used = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* threads */

static int nn_threads = 1;

void nn_set_threads(int n) {
    nn_threads = n < 1 ? 1 : n;
    openblas_set_num_threads(nn_threads);
}

int nn_get_threads(void) { return nn_threads; }
