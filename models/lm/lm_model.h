/* lm_model — the GPT-style decoder of the frozen LM (DESIGN §6).
 *
 * Architecture (GPT-2): token + learned position embeddings; n_layers pre-LayerNorm blocks
 *     x = x + attn(ln_1(x))   causal multi-head self-attention, qkv and output projections
 *     x = x + mlp(ln_2(x))    d -> 4d, GELU (tanh approximation), 4d -> d
 * a final LayerNorm, and an output head tied to the token embedding (logits = ln_f(x) wte^T).
 *
 * Parameters live in one nn_params registry (models/nn/nn_optim.h): one flat block each for
 * values, gradients and AdamW moments, names "wte", "wpe", "h.L.ln_1.weight", ...,
 * "ln_f.bias" (weights stored (out, in)). lm_forward_backward ADDS to params->grad.
 *
 * Inputs: an lm_input holds B sequences of T token ids and, optionally, injected vectors:
 * at the listed positions the token embedding is replaced by a caller vector (the <U>/<I>
 * behaviour slots of BEAT, DESIGN §5), the position embedding is still added. With
 * inject_grad, dloss/dvector is added there, so a projector upstream can be trained:
 *     loss = lm_forward_backward(lm, &in, targets, mask, LM_FROZEN, inject_grad);
 *     nn_tape_backward_seed(tape, projected, inject_grad);   // projector on an nn tape
 * LM_FROZEN skips every weight-gradient computation (faster, and the weights are never
 * touched, so they stay bit-identical).
 *
 * Loss: mean cross-entropy over the counted positions: those with mask[p] != 0 (all when
 * mask is NULL) and targets[p] != LM_IGNORE; targets[p] is the token that follows p.
 *
 * Threads: the batch is split by sequence into n_threads contiguous parts (lm_set_threads;
 * default 1), each thread runs the kernels on its part, in chunks of about LM_CHUNK_ROWS
 * positions (bounded activation memory), with a private workspace and gradient block, and
 * gradients are summed in thread order: results are bit-identical for a given thread count.
 * Each thread calls OpenBLAS itself (set to one thread meanwhile, see lm_pool.h). A model
 * runs one call at a time.
 *
 * Ownership: lm_create returns a model freed with lm_free; it owns its registry, thread
 * pool and workspaces. Pointers into params stay valid for the model's life.
 */
#ifndef LM_MODEL_H
#define LM_MODEL_H

#include <stdint.h>

#include "models/base/bb_error.h"
#include "models/nn/nn_optim.h"

#define LM_IGNORE (-1)
#define LM_CHUNK_ROWS 512 /* default positions per work chunk (lm_set_chunk_rows) */

typedef struct lm_arch {
    int vocab;    /* V: rows of the token embedding (= tokenizer vocab_size) */
    int context;  /* maximum sequence length (rows of wpe) */
    int d_model;  /* C */
    int n_layers; /* L */
    int n_heads;  /* NH; C % NH == 0 */
} lm_arch;

typedef struct lm_block_params {
    nn_tensor *ln1_w, *ln1_b;       /* (C) */
    nn_tensor *qkv_w, *qkv_b;       /* (3C, C), (3C) */
    nn_tensor *proj_w, *proj_b;     /* (C, C), (C) */
    nn_tensor *ln2_w, *ln2_b;       /* (C) */
    nn_tensor *fc_w, *fc_b;         /* (4C, C), (4C) */
    nn_tensor *fcproj_w, *fcproj_b; /* (C, 4C), (C) */
} lm_block_params;

typedef struct lm_model {
    lm_arch arch;
    nn_params *params;       /* owned */
    nn_tensor *wte, *wpe;    /* (V, C), (context, C) */
    lm_block_params *blocks; /* n_layers, owned */
    nn_tensor *lnf_w, *lnf_b;
    struct lm_runtime *rt; /* owned: threads, workspaces, private gradient blocks */
} lm_model;

typedef struct lm_input {
    int B, T;                  /* B sequences of T positions, 1 <= T <= context */
    const int32_t *ids;        /* (B, T); ignored at injected positions */
    int n_inject;              /* injected positions (0 for plain text) */
    const int32_t *inject_pos; /* (n_inject) distinct flat positions b*T + t */
    const float *inject_vec;   /* (n_inject, C) input embeddings for those positions */
} lm_input;

typedef struct lm_loss {
    double mean;   /* sum / count (0 when count is 0) */
    double sum;    /* summed cross-entropy (nats) */
    int64_t count; /* counted positions */
} lm_loss;

enum { LM_TRAIN = 0, LM_FROZEN = 1 };

/* Checks an architecture; one-line error naming the field. */
int lm_arch_check(const lm_arch *arch, bb_error *err);
/* GPT-2 initialisation from stream (seed, "lm/init"): N(0, 0.02) weights, residual
 * projections N(0, 0.02 / sqrt(2 L)), zero biases, LayerNorm gain 1. */
lm_model *lm_create(const lm_arch *arch, uint64_t seed);
void lm_free(lm_model *lm); /* NULL is fine */
void lm_set_threads(lm_model *lm, int n_threads);
int lm_get_threads(const lm_model *lm);
/* Each thread walks its sequences in chunks of about `rows` positions (whole sequences, at
 * least one; default LM_CHUNK_ROWS), accumulating gradients chunk by chunk: it bounds the
 * activation memory. Results change only within rounding; for tuning and tests. */
void lm_set_chunk_rows(lm_model *lm, int rows);
int64_t lm_num_params(const lm_model *lm);

/* nn_adam_step over the model's registry with the parameter tensors split across the
 * model's threads (contiguous groups of about equal size). Each element's update depends on
 * that element alone, so the result equals nn_adam_step exactly, whatever the threads. */
void lm_adam_step(lm_model *lm, const nn_adam *opt);

/* The model's thread pool (lm_pool.h), for modules that split their own work (generation,
 * encoding) over the same threads. */
struct bb_pool *lm_model_pool(lm_model *lm);

/* Forward and backward. mode LM_TRAIN adds weight gradients to params->grad; LM_FROZEN
 * computes none. inject_grad (n_inject, C), when not NULL, receives += dloss/dinject_vec.
 * targets (B,T) required; mask (B,T) may be NULL. */
lm_loss lm_forward_backward(lm_model *lm, const lm_input *in, const int32_t *targets,
                            const uint8_t *mask, int mode, float *inject_grad);
/* Forward only: the loss, no gradients. */
lm_loss lm_evaluate(lm_model *lm, const lm_input *in, const int32_t *targets, const uint8_t *mask);
/* Forward only: logits (B, T, V). */
void lm_logits(lm_model *lm, const lm_input *in, float *logits);
/* Forward only: hidden states (B, T, C) after `layer` blocks: 0 = the input embeddings,
 * l in 1..L-1 = the residual stream after block l, L = after the final LayerNorm (the
 * "last hidden layer", as in GPT-2's hidden_states[-1]). */
void lm_hidden(lm_model *lm, const lm_input *in, int layer, float *out);

#endif
