/* nn_tape — tape-based reverse-mode automatic differentiation.
 *
 * Every op (nn_ops.h, nn_sparse.h) takes the tape first, allocates its output in the
 * tape's arena, computes the forward value at once, and — when any input has
 * requires_grad — records a node {op, inputs, attributes, output}. nn_tape_backward()
 * walks the nodes in reverse and runs one switch over the op kinds (nn_tape.c); each case
 * calls the op's backward, which lives next to its forward in nn_ops_*.c and ADDS (+=)
 * into its inputs' gradients. Gradients of tape tensors are allocated lazily (zeroed,
 * in the arena) the first time something flows into them; parameters bring their own.
 *
 * Typical step:
 *     nn_tape_reset(tp);                    // frees last step's temporaries
 *     nn_params_zero_grad(params);          // one memset
 *     nn_tensor *loss = ...ops on tp...;
 *     nn_tape_backward(tp, loss);
 *     nn_adam_step(params, &adam);
 *
 * Ownership: the tape owns its arena and its node list. Every tensor an op returns (and
 * every nn_tape_new* tensor) is invalid after nn_tape_reset()/nn_tape_free(). Inputs that
 * are not tape tensors (parameters, heap tensors, and views made with
 * nn_tensor_view_rows/_shape, which are structs the caller owns) must outlive the backward
 * pass: the nodes keep pointers to them. Index arrays handed to ops (gather, cross-entropy
 * targets) are copied into the arena. A view of a parameter shares its grad, so gradients
 * flowing into the view land in the parameter.
 *
 * Grad mode: nn_tape_set_grad(tp, 0) records nothing (inference); ops still compute.
 */
#ifndef NN_TAPE_H
#define NN_TAPE_H

#include <stdint.h>

#include "models/nn/nn_tensor.h"

/* Op kinds. Append only: the numbers appear in messages, never in files. */
typedef enum nn_op {
    NN_OP_NONE = 0,
    NN_OP_MATMUL,        /* a (M,K)|(K,M)^T  x  b (K,N)|(N,K)^T -> (M,N) */
    NN_OP_BMM,           /* batched: (B,M,K) x (B,K,N) -> (B,M,N), transposes as matmul */
    NN_OP_ADD,           /* a + b, b broadcast (see nn_ops.h) */
    NN_OP_SUB,
    NN_OP_MUL,
    NN_OP_SCALE,         /* a * s */
    NN_OP_ADD_SCALAR,    /* a + s */
    NN_OP_SUM,           /* all elements -> (1) */
    NN_OP_MEAN,
    NN_OP_SUM_LAST,      /* (..., C) -> (..., 1) */
    NN_OP_GATHER_ROWS,   /* table (N,D), idx (n) -> (n,D) */
    NN_OP_SCATTER_ADD_ROWS, /* src (n,D), idx (n) -> (N,D) */
    NN_OP_MSE,           /* mean((a-b)^2) -> (1) */
    NN_OP_SPMM,          /* CSR A (R,C) x X (C,D) -> (R,D) */
    NN_OP_SPMM_T,        /* A^T (C,R) x X (R,D) -> (C,D) */
    NN_OP_RESHAPE,
    NN_OP_TRANSPOSE,     /* swap two dims */
    NN_OP_CONCAT,
    NN_OP_SLICE,
    NN_OP_L2_NORMALIZE,  /* rows of the last dim */
    NN_OP_SOFTMAX,       /* over the last dim */
    NN_OP_LOG_SOFTMAX,
    NN_OP_CROSS_ENTROPY, /* logits (N,V), targets (N) with ignore -> (1) */
    NN_OP_GELU,
    NN_OP_TANH,
    NN_OP_SIGMOID,
    NN_OP_RELU,
    NN_OP_EXP,
    NN_OP_LOG,
    NN_OP_SQRT,
    NN_OP_LAYERNORM,     /* x (R,C), gamma (C), beta (C) -> (R,C) */
    NN_OP_DROPOUT,
    NN_OP_CAUSAL_MASK,   /* (..., T, T): j > i -> -inf */
    NN_OP_MEAN_LAST,     /* (..., C) -> (..., 1) */
    NN_OP_SQUARE,
    NN_OP_COUNT
} nn_op;

const char *nn_op_name(nn_op op);

typedef struct nn_node {
    nn_op op;
    nn_tensor *in[3];   /* inputs (NULL when unused) */
    nn_tensor **many;   /* CONCAT: n_many inputs (arena) */
    int n_many;
    nn_tensor *out;
    int64_t iattr[4];   /* op attributes: transposes, axes, sizes */
    float fattr[2];     /* scale, eps, dropout p */
    void *aux;          /* arena data kept for backward: indices, masks, stats, csr */
    void *aux2;
} nn_node;

typedef struct nn_tape {
    nn_arena arena;
    nn_node *nodes; /* owned, growable */
    int64_t n_nodes, cap_nodes;
    int grad_enabled;
} nn_tape;

nn_tape *nn_tape_new(void);
void nn_tape_free(nn_tape *tp);
/* Drops all nodes and every tape tensor (arena reset). */
void nn_tape_reset(nn_tape *tp);
void nn_tape_set_grad(nn_tape *tp, int enabled);

/* Tensors in the tape's arena: zero-filled, no grad (leaf inputs, constants). */
nn_tensor *nn_tape_tensor(nn_tape *tp, int ndim, const int64_t *shape);
nn_tensor *nn_tape_tensor1(nn_tape *tp, int64_t n);
nn_tensor *nn_tape_tensor2(nn_tape *tp, int64_t rows, int64_t cols);
nn_tensor *nn_tape_tensor3(nn_tape *tp, int64_t d0, int64_t d1, int64_t d2);
/* A tape tensor holding a copy of data (numel floats). */
nn_tensor *nn_tape_from(nn_tape *tp, int ndim, const int64_t *shape, const float *data);
/* Arena scratch memory for op implementations (valid until reset). */
void *nn_tape_scratch(nn_tape *tp, size_t bytes);

/* Reverse pass from a scalar (numel 1) loss: seeds d loss = 1 and accumulates every
 * gradient. Parameters' grads are added to (+=), never cleared here. */
void nn_tape_backward(nn_tape *tp, nn_tensor *loss);
/* Same, seeded with an explicit output gradient (numel floats, copied). */
void nn_tape_backward_seed(nn_tape *tp, nn_tensor *out, const float *seed);

/* ---- for op implementations (nn_ops_*.c) -------------------------------------------- */

/* Output tensor for an op: arena, uninitialised data, requires_grad = any input's. */
nn_tensor *nn_tape_out(nn_tape *tp, int ndim, const int64_t *shape, nn_tensor *a,
                       nn_tensor *b, nn_tensor *c);
/* Records a node when grad mode is on and out->requires_grad; returns it (or NULL). */
nn_node *nn_tape_record(nn_tape *tp, nn_op op, nn_tensor *out, nn_tensor *a, nn_tensor *b,
                        nn_tensor *c);
/* The tensor's gradient, allocated zeroed in the arena if it has none yet. */
float *nn_tape_grad(nn_tape *tp, nn_tensor *t);

#endif
