/* nn_tape — the node list, lazy gradients and the reverse pass (one switch over ops). */
#include "models/nn/nn_tape.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"
#include "models/nn/nn_ops_internal.h"

static const char *const op_names[NN_OP_COUNT] = {
    [NN_OP_NONE] = "none",
    [NN_OP_MATMUL] = "matmul",
    [NN_OP_BMM] = "bmm",
    [NN_OP_ADD] = "add",
    [NN_OP_SUB] = "sub",
    [NN_OP_MUL] = "mul",
    [NN_OP_SCALE] = "scale",
    [NN_OP_ADD_SCALAR] = "add_scalar",
    [NN_OP_SUM] = "sum",
    [NN_OP_MEAN] = "mean",
    [NN_OP_SUM_LAST] = "sum_last",
    [NN_OP_GATHER_ROWS] = "gather_rows",
    [NN_OP_SCATTER_ADD_ROWS] = "scatter_add_rows",
    [NN_OP_MSE] = "mse",
    [NN_OP_SPMM] = "spmm",
    [NN_OP_SPMM_T] = "spmm_t",
    [NN_OP_RESHAPE] = "reshape",
    [NN_OP_TRANSPOSE] = "transpose",
    [NN_OP_CONCAT] = "concat",
    [NN_OP_SLICE] = "slice",
    [NN_OP_L2_NORMALIZE] = "l2_normalize",
    [NN_OP_SOFTMAX] = "softmax",
    [NN_OP_LOG_SOFTMAX] = "log_softmax",
    [NN_OP_CROSS_ENTROPY] = "cross_entropy",
    [NN_OP_GELU] = "gelu",
    [NN_OP_TANH] = "tanh",
    [NN_OP_SIGMOID] = "sigmoid",
    [NN_OP_RELU] = "relu",
    [NN_OP_EXP] = "exp",
    [NN_OP_LOG] = "log",
    [NN_OP_SQRT] = "sqrt",
    [NN_OP_LAYERNORM] = "layernorm",
    [NN_OP_DROPOUT] = "dropout",
    [NN_OP_CAUSAL_MASK] = "causal_mask",
    [NN_OP_MEAN_LAST] = "mean_last",
    [NN_OP_SQUARE] = "square",
};

const char *nn_op_name(nn_op op) {
    if ((int)op < 0 || op >= NN_OP_COUNT || !op_names[op]) return "unknown";
    return op_names[op];
}

/* ------------------------------------------------------------------------------------------ */
/* life cycle */

nn_tape *nn_tape_new(void) {
    nn_tape *tp = bb_calloc(1, sizeof *tp);
    nn_arena_init(&tp->arena, 0);
    tp->grad_enabled = 1;
    return tp;
}

void nn_tape_free(nn_tape *tp) {
    if (!tp) return;
    nn_arena_free(&tp->arena);
    free(tp->nodes);
    free(tp);
}

void nn_tape_reset(nn_tape *tp) {
    tp->n_nodes = 0;
    nn_arena_reset(&tp->arena);
}

void nn_tape_set_grad(nn_tape *tp, int enabled) { tp->grad_enabled = enabled != 0; }

void *nn_tape_scratch(nn_tape *tp, size_t bytes) { return nn_arena_alloc(&tp->arena, bytes); }

/* ------------------------------------------------------------------------------------------ */
/* tensors on the tape */

static nn_tensor *tape_tensor_raw(nn_tape *tp, int ndim, const int64_t *shape) {
    nn_tensor *t = nn_arena_calloc(&tp->arena, sizeof *t);
    nn_tensor_set_shape(t, ndim, shape);
    t->data = nn_arena_alloc(&tp->arena, (size_t)t->numel * sizeof(float));
    return t;
}

nn_tensor *nn_tape_tensor(nn_tape *tp, int ndim, const int64_t *shape) {
    nn_tensor *t = tape_tensor_raw(tp, ndim, shape);
    memset(t->data, 0, (size_t)t->numel * sizeof(float));
    return t;
}

nn_tensor *nn_tape_tensor1(nn_tape *tp, int64_t n) {
    int64_t s[1] = {n};
    return nn_tape_tensor(tp, 1, s);
}

nn_tensor *nn_tape_tensor2(nn_tape *tp, int64_t rows, int64_t cols) {
    int64_t s[2] = {rows, cols};
    return nn_tape_tensor(tp, 2, s);
}

nn_tensor *nn_tape_tensor3(nn_tape *tp, int64_t d0, int64_t d1, int64_t d2) {
    int64_t s[3] = {d0, d1, d2};
    return nn_tape_tensor(tp, 3, s);
}

nn_tensor *nn_tape_from(nn_tape *tp, int ndim, const int64_t *shape, const float *data) {
    nn_tensor *t = tape_tensor_raw(tp, ndim, shape);
    memcpy(t->data, data, (size_t)t->numel * sizeof(float));
    return t;
}

nn_tensor *nn_tape_out(nn_tape *tp, int ndim, const int64_t *shape, nn_tensor *a,
                       nn_tensor *b, nn_tensor *c) {
    nn_tensor *t = tape_tensor_raw(tp, ndim, shape);
    t->requires_grad = tp->grad_enabled && ((a && a->requires_grad) ||
                                            (b && b->requires_grad) || (c && c->requires_grad));
    return t;
}

nn_node *nn_tape_record(nn_tape *tp, nn_op op, nn_tensor *out, nn_tensor *a, nn_tensor *b,
                        nn_tensor *c) {
    if (!tp->grad_enabled || !out->requires_grad) return NULL;
    if (tp->n_nodes == tp->cap_nodes) {
        tp->cap_nodes = tp->cap_nodes ? tp->cap_nodes * 2 : 256;
        tp->nodes = bb_realloc(tp->nodes, (size_t)tp->cap_nodes * sizeof *tp->nodes);
    }
    nn_node *n = &tp->nodes[tp->n_nodes++];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->out = out;
    n->in[0] = a;
    n->in[1] = b;
    n->in[2] = c;
    return n;
}

float *nn_tape_grad(nn_tape *tp, nn_tensor *t) {
    if (!t->grad) t->grad = nn_arena_calloc(&tp->arena, (size_t)t->numel * sizeof(float));
    return t->grad;
}

void nn_check_grad_shape(const nn_node *n, const nn_tensor *in, const nn_tensor *grad_like) {
    char s1[64], s2[64];
    BB_ASSERT(nn_tensor_same_shape(in, grad_like),
              "backward of %s: gradient shape %s differs from input shape %s",
              nn_op_name(n->op), nn_shape_str(grad_like, s1, sizeof s1),
              nn_shape_str(in, s2, sizeof s2));
}

/* ------------------------------------------------------------------------------------------ */
/* reverse pass */

static void backward_node(nn_tape *tp, nn_node *n) {
    switch (n->op) {
    case NN_OP_MATMUL: nn_bw_matmul(tp, n); break;
    case NN_OP_BMM: nn_bw_bmm(tp, n); break;
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL: nn_bw_binary(tp, n); break;
    case NN_OP_SCALE: nn_bw_scale(tp, n); break;
    case NN_OP_ADD_SCALAR: nn_bw_add_scalar(tp, n); break;
    case NN_OP_SQUARE: nn_bw_square(tp, n); break;
    case NN_OP_SUM:
    case NN_OP_MEAN: nn_bw_sum(tp, n); break;
    case NN_OP_SUM_LAST:
    case NN_OP_MEAN_LAST: nn_bw_sum_last(tp, n); break;
    case NN_OP_MSE: nn_bw_mse(tp, n); break;
    case NN_OP_GATHER_ROWS: nn_bw_gather_rows(tp, n); break;
    case NN_OP_SCATTER_ADD_ROWS: nn_bw_scatter_add_rows(tp, n); break;
    case NN_OP_SPMM:
    case NN_OP_SPMM_T: nn_bw_spmm(tp, n); break;
    case NN_OP_RESHAPE: nn_bw_reshape(tp, n); break;
    case NN_OP_TRANSPOSE: nn_bw_transpose(tp, n); break;
    case NN_OP_CONCAT: nn_bw_concat(tp, n); break;
    case NN_OP_SLICE: nn_bw_slice(tp, n); break;
    case NN_OP_L2_NORMALIZE: nn_bw_l2_normalize(tp, n); break;
    case NN_OP_SOFTMAX: nn_bw_softmax(tp, n); break;
    case NN_OP_LOG_SOFTMAX: nn_bw_log_softmax(tp, n); break;
    case NN_OP_CROSS_ENTROPY: nn_bw_cross_entropy(tp, n); break;
    case NN_OP_GELU:
    case NN_OP_TANH:
    case NN_OP_SIGMOID:
    case NN_OP_RELU:
    case NN_OP_EXP:
    case NN_OP_LOG:
    case NN_OP_SQRT: nn_bw_unary(tp, n); break;
    case NN_OP_LAYERNORM: nn_bw_layernorm(tp, n); break;
    case NN_OP_DROPOUT: nn_bw_dropout(tp, n); break;
    case NN_OP_CAUSAL_MASK: nn_bw_causal_mask(tp, n); break;
    case NN_OP_NONE:
    case NN_OP_COUNT:
    default:
        BB_ASSERT(0, "backward: no rule for op %d (%s); add a case to nn_tape.c",
                  (int)n->op, nn_op_name(n->op));
    }
}

static void run_backward(nn_tape *tp) {
    for (int64_t i = tp->n_nodes - 1; i >= 0; i--) {
        nn_node *n = &tp->nodes[i];
        if (!n->out->grad) continue; /* nothing flowed into this node */
        backward_node(tp, n);
    }
}

void nn_tape_backward(nn_tape *tp, nn_tensor *loss) {
    BB_ASSERT(loss->numel == 1, "backward needs a scalar loss, got %lld elements",
              (long long)loss->numel);
    BB_ASSERT(loss->requires_grad, "backward: the loss does not depend on any tensor with "
                                   "requires_grad (or grad mode was off)");
    float *g = nn_tape_grad(tp, loss);
    g[0] += 1.0f;
    run_backward(tp);
}

void nn_tape_backward_seed(nn_tape *tp, nn_tensor *out, const float *seed) {
    BB_ASSERT(out->requires_grad, "backward: the output does not depend on any tensor with "
                                  "requires_grad (or grad mode was off)");
    float *g = nn_tape_grad(tp, out);
    for (int64_t i = 0; i < out->numel; i++) g[i] += seed[i];
    run_backward(tp);
}
