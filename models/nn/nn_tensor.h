/* nn_tensor — float32 tensors, the per-step arena, and the thread-count setting.
 *
 * Everything numerical in beatbench (LightGCN, the LM, BEAT) stands on this module and on
 * nn_tape.h (autograd), nn_ops.h (ops), nn_sparse.h (CSR x dense), nn_optim.h (parameter
 * registry, Adam/AdamW, initialisers), nn_gradcheck.h and nn_safetensors.h. nn.h
 * includes them all.
 *
 * Tensors
 *   Row-major float32, 1..4 dims. `data` holds numel floats; `grad` (same shape) is NULL
 *   until a gradient is wanted. A tensor struct never owns its buffers by itself:
 *     - tensors made by nn_tensor_new() own data (and grad, if asked for); free with
 *       nn_tensor_free();
 *     - tensors made on a tape (nn_tape_new*, every op) live in the tape's arena and die at
 *       nn_tape_reset()/nn_tape_free();
 *     - parameters live in an nn_params registry (one flat block each for data, grad and
 *       Adam moments) and die with it.
 *   Views (nn_tensor_view_rows, nn_tensor_view_shape) share storage with their base: the
 *   base must outlive them and nothing is freed through a view.
 *
 * Arena
 *   A bump allocator made of chunks; allocations stay put until nn_arena_reset(), which
 *   keeps the memory for the next step (ggml's context). Returned memory is 64-byte aligned.
 *   Built with SANITIZER=address, memory not handed out is poisoned, so using a tape
 *   tensor after the reset is reported as use-after-poison.
 *
 * Threads
 *   nn_set_threads(n) sets the worker count used by the threaded kernels here (sparse
 *   products) and by OpenBLAS (openblas_set_num_threads). Work is always split in a fixed
 *   way, so results are bit-identical for a given thread count.
 */
#ifndef NN_TENSOR_H
#define NN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define NN_MAX_DIMS 4

typedef struct nn_tensor {
    float *data;                 /* numel floats, row-major; not owned by the struct */
    float *grad;                 /* NULL, or numel floats (same layout as data) */
    int64_t shape[NN_MAX_DIMS];  /* shape[ndim..3] are 1 */
    int ndim;                    /* 1..4 */
    int64_t numel;
    int requires_grad;           /* backward fills grad (allocating it on a tape if NULL) */
    int owns;                    /* internal: 1 when made by nn_tensor_new */
    const char *name;            /* optional, for messages; not owned */
} nn_tensor;

/* ---- heap tensors (owned by the caller) ------------------------------------------- */

/* Zero-filled tensor; with_grad also allocates a zeroed grad and sets requires_grad. */
nn_tensor *nn_tensor_new(int ndim, const int64_t *shape, int with_grad);
nn_tensor *nn_tensor_new1(int64_t n, int with_grad);
nn_tensor *nn_tensor_new2(int64_t rows, int64_t cols, int with_grad);
void nn_tensor_free(nn_tensor *t); /* NULL is fine; frees data/grad it owns */

/* ---- views (share storage with the base; the base must outlive the view) ---------- */

/* Rows [row0, row0+n_rows) of the first dimension. */
nn_tensor nn_tensor_view_rows(const nn_tensor *t, int64_t row0, int64_t n_rows);
/* Same data, new shape with the same numel. */
nn_tensor nn_tensor_view_shape(const nn_tensor *t, int ndim, const int64_t *shape);

/* ---- helpers ------------------------------------------------------------------------ */

/* Fills shape/ndim/numel; asserts 1 <= ndim <= 4 and positive extents. */
void nn_tensor_set_shape(nn_tensor *t, int ndim, const int64_t *shape);
int nn_tensor_same_shape(const nn_tensor *a, const nn_tensor *b);
/* Last dimension and the product of the others: a tensor seen as (rows, cols). */
int64_t nn_tensor_cols(const nn_tensor *t);
int64_t nn_tensor_rows(const nn_tensor *t);
/* "(3, 4)" into buf; returns buf. */
const char *nn_shape_str(const nn_tensor *t, char *buf, size_t cap);
void nn_tensor_fill(nn_tensor *t, float value);
void nn_tensor_copy_from(nn_tensor *t, const float *src); /* numel floats */
void nn_tensor_zero_grad(nn_tensor *t);                   /* no-op when grad is NULL */
/* Sum of data in double (tests, diagnostics). */
double nn_tensor_sum(const nn_tensor *t);

/* ---- arena ---------------------------------------------------------------------------- */

typedef struct nn_arena_chunk nn_arena_chunk;
typedef struct nn_arena {
    nn_arena_chunk *chunks; /* owned list */
    size_t chunk_size;      /* default size of new chunks */
    size_t used;            /* bytes handed out since the last reset (all chunks) */
    size_t peak;            /* max of used over the arena's life */
} nn_arena;

void nn_arena_init(nn_arena *a, size_t chunk_size); /* 0 -> 16 MiB */
void *nn_arena_alloc(nn_arena *a, size_t bytes);   /* uninitialised, 64-byte aligned */
void *nn_arena_calloc(nn_arena *a, size_t bytes);  /* zeroed */
/* Forgets every allocation (memory is kept; chunks are merged into one big enough for
 * the peak so steady-state steps use a single chunk). */
void nn_arena_reset(nn_arena *a);
void nn_arena_free(nn_arena *a);

/* ---- threads -------------------------------------------------------------------------- */

void nn_set_threads(int n); /* n < 1 -> 1; also openblas_set_num_threads(n) */
int nn_get_threads(void);   /* default 1 until set */

#endif
