/* nn_ops_internal — backward entry points of the ops, called by the switch in nn_tape.c.
 * Not part of the public API: only nn_tape.c and the nn_ops_*.c / nn_sparse.c files use
 * it. Each nn_bw_<op> adds the node's output gradient, pulled back, into the gradients of
 * the node's inputs that have requires_grad. */
#ifndef NN_OPS_INTERNAL_H
#define NN_OPS_INTERNAL_H

#include "models/nn/nn_tape.h"

/* nn_ops_basic.c */
void nn_bw_matmul(nn_tape *tp, nn_node *n);
void nn_bw_bmm(nn_tape *tp, nn_node *n);
void nn_bw_binary(nn_tape *tp, nn_node *n); /* ADD, SUB, MUL */
void nn_bw_scale(nn_tape *tp, nn_node *n);
void nn_bw_add_scalar(nn_tape *tp, nn_node *n);
void nn_bw_square(nn_tape *tp, nn_node *n);
void nn_bw_sum(nn_tape *tp, nn_node *n);  /* SUM, MEAN */
void nn_bw_sum_last(nn_tape *tp, nn_node *n); /* SUM_LAST, MEAN_LAST */
void nn_bw_mse(nn_tape *tp, nn_node *n);

/* nn_ops_index.c */
void nn_bw_gather_rows(nn_tape *tp, nn_node *n);
void nn_bw_scatter_add_rows(nn_tape *tp, nn_node *n);
void nn_bw_reshape(nn_tape *tp, nn_node *n);
void nn_bw_transpose(nn_tape *tp, nn_node *n);
void nn_bw_concat(nn_tape *tp, nn_node *n);
void nn_bw_slice(nn_tape *tp, nn_node *n);

/* nn_ops_act.c */
void nn_bw_unary(nn_tape *tp, nn_node *n); /* GELU TANH SIGMOID RELU EXP LOG SQRT */
void nn_bw_softmax(nn_tape *tp, nn_node *n);
void nn_bw_log_softmax(nn_tape *tp, nn_node *n);
void nn_bw_cross_entropy(nn_tape *tp, nn_node *n);
void nn_bw_l2_normalize(nn_tape *tp, nn_node *n);
void nn_bw_layernorm(nn_tape *tp, nn_node *n);
void nn_bw_dropout(nn_tape *tp, nn_node *n);
void nn_bw_causal_mask(nn_tape *tp, nn_node *n);

/* nn_sparse.c */
void nn_bw_spmm(nn_tape *tp, nn_node *n); /* SPMM, SPMM_T */

/* Asserts that the gradient buffer about to be used for input t matches its shape. */
void nn_check_grad_shape(const nn_node *n, const nn_tensor *in, const nn_tensor *grad_like);

#endif
