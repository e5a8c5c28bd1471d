/* peter — PETER (Li, Zhang, Chen; "Personalized Transformer for Explainable
 * Recommendation", ACL 2021), a small transformer trained from scratch (DESIGN §7).
 *
 * Input sequence of one pair: [u, i, <bos>, w_1 .. w_L] (positions 0 .. L+2). Position 0
 * embeds the user ID, position 1 the item ID (their own tables), the rest are word
 * embeddings; the sum is scaled by sqrt(d) and sinusoidal positions are added (PETER's
 * code). Encoder: n_layers post-LayerNorm blocks as torch's TransformerEncoderLayer, which
 * PETER uses:  x = LN(x + Drop(MHA(x)));  x = LN(x + Drop(W_2 Drop(ReLU(W_1 x)))).
 * Attention mask (PETER mask): left to right, except that position 0 also sees position 1,
 * so the ID block [u, i] is fully visible to itself and every word sees both IDs and the
 * words before it. Padding sits after every real token, so no real position sees it.
 * Heads (one output layer W_out (d, V) shared, as PETER's hidden2token):
 *   - explanation generation: position 2 + t predicts target t (w_{t+1} .. <eos>), NLL;
 *   - context prediction: the hidden state of position 1 (PETER's code reads hidden[1],
 *     the item position, which sees both IDs) predicts every word of the explanation as a
 *     bag: NLL of each target word (not <eos>) under that one distribution, averaged over
 *     words;
 *   - no rating head: the XRec data has no ratings (PETER's rating_reg = 0 case).
 * Loss = text_weight * generation NLL + context_weight * context NLL (1 and 1, PETER).
 * Greedy decoding from [u, i, <bos>], at most max_len words, stop at <eos>; every step
 * re-runs the prefix (no cache; prefixes are short).
 * Training (baselines/explain_train.h): Adam lr 1e-3, clipping 1.0 (PETER clips at 1.0),
 * dropout 0.2, batch 64, early stopping on the valid explanation NLL (patience 3).
 *
 *   bb_peter_config cfg; bb_peter_default_config(&cfg);
 *   bb_explain_output out; bb_peter_explain(&task, &cfg, &out, &err);
 *   ...; bb_explain_output_free(&out);
 *
 * Lower level (tests): bb_peter_create / bb_peter_loss / bb_peter_generate / bb_peter_free.
 * Ownership: bb_peter_model owns its parameters and its position table.
 */
#ifndef BB_PETER_H
#define BB_PETER_H

#include <stdint.h>

#include "baselines/explain_corpus.h"
#include "baselines/explain_train.h"
#include "datasets/explain_task.h"
#include "models/base/bb_error.h"
#include "models/nn/nn_optim.h"

#define BB_PETER_MAX_LAYERS 8

typedef struct bb_peter_config {
    int d_model;      /* 128 (PETER: 512; smaller for CPU) */
    int n_heads;      /* 2, as PETER */
    int n_layers;     /* 2, as PETER */
    int d_ff;         /* 512 (4 d) */
    double dropout;   /* 0.2, as PETER */
    double context_weight; /* 1.0 */
    double text_weight;    /* 1.0 */
    int max_words;    /* 20000 */
    int max_len;      /* 64 words */
    double lr;        /* 1e-3 (Adam) */
    double weight_decay; /* 0; > 0 makes it AdamW */
    double clip;      /* 1.0 */
    int batch;        /* 64 */
    int max_epochs;   /* 30 */
    int patience;     /* 3 */
    int gen_batch;    /* 128 */
} bb_peter_config;

void bb_peter_default_config(bb_peter_config *cfg);
/* A tiny model for tests (d 32, 2 heads, 1 layer, ff 64, no dropout, batch 8). */
void bb_peter_tiny_config(bb_peter_config *cfg);
int bb_peter_check_config(const bb_peter_config *cfg, bb_error *err);
/* The `run --config` schema is bb_peter_config_keys in baselines/explain_schema.h. */

/* Trains on the task's train rows and generates one explanation per test row (in order). */
int bb_peter_explain(const bb_explain_task *task, const bb_peter_config *cfg,
                     bb_explain_output *out, bb_error *err);

/* ---- lower level ------------------------------------------------------------------------- */

typedef struct bb_peter_layer {
    nn_tensor *qkv_w, *qkv_b;   /* (d,3d) (3d): q | k | v */
    nn_tensor *proj_w, *proj_b; /* (d,d) (d) */
    nn_tensor *ln1_g, *ln1_b;   /* (d) */
    nn_tensor *ff1_w, *ff1_b;   /* (d,ff) (ff) */
    nn_tensor *ff2_w, *ff2_b;   /* (ff,d) (d) */
    nn_tensor *ln2_g, *ln2_b;   /* (d) */
} bb_peter_layer;

typedef struct bb_peter_model {
    bb_peter_config cfg;
    int32_t n_users, n_items, vocab;
    int max_pos;                /* positions in the sinusoid table: max_len + 3 */
    nn_params *params;
    nn_tensor *user_emb, *item_emb, *word_emb; /* (U,d) (I,d) (V,d) */
    bb_peter_layer layers[BB_PETER_MAX_LAYERS];
    nn_tensor *out_w, *out_b;   /* (d,V) (V), shared by generation and context heads */
    float *pos_table;           /* owned (max_pos, d) sinusoids */
} bb_peter_model;

/* Parameters from stream (seed, "peter/init"): embeddings and out_w U(-0.1, 0.1) (PETER's
 * init_weights), other weights Xavier, biases 0, LayerNorm gains 1. */
bb_peter_model *bb_peter_create(int32_t n_users, int32_t n_items, int32_t vocab,
                                const bb_peter_config *cfg, uint64_t seed);
void bb_peter_free(bb_peter_model *m);
/* Final hidden states (n*S, d), S = Tw + 2, of n sequences [uid[k], iid[k], words[k*Tw ..
 * k*Tw + Tw)] (row k*S + p is position p of sequence k). rng != NULL: training mode
 * (dropout drawn from it); NULL: evaluation. */
nn_tensor *bb_peter_encode(bb_peter_model *m, nn_tape *tp, const int32_t *uid,
                           const int32_t *iid, const int32_t *words, int n, int Tw, bb_rng *rng);
/* The training objective of a batch (see bb_xmodel.loss); dropout from step_rng. */
nn_tensor *bb_peter_loss(bb_peter_model *m, nn_tape *tp, const bb_xbatch *b, bb_rng *step_rng,
                         double *text_nll);
void bb_peter_generate(bb_peter_model *m, nn_tape *tp, const int32_t *uid, const int32_t *iid,
                       int n, int max_len, int32_t *out, int32_t *len);
/* The (T,T) additive PETER mask into mask: 0 where a query row may attend, -1e9 elsewhere. */
void bb_peter_mask(float *mask, int T);
bb_xmodel bb_peter_xmodel(bb_peter_model *m);

#endif
