/* nrt — NRT (Li, Wang, Ren, Bing, Lam; "Neural Rating Regression with Abstractive Tips
 * Generation", SIGIR 2017) as re-implemented in PETER's benchmarks (DESIGN §7).
 *
 * Model (weights stored (in, out)):
 *   u = E_user[uid], i = E_item[iid]                      (emb_dim each)
 *   interaction head: s = w_o . sigma(... sigma(W_1 [u; i] + b_1) ...) + b_o
 *       (mlp_layers sigmoid layers of width `hidden`, as NRT's rating MLP)
 *   decoder start: h_0 = tanh(W_e [u; i; sigma(s)] + b_e)  (NRT feeds its predicted rating to
 *       the tips decoder; here the predicted interaction probability)
 *   GRU (Cho et al. 2014, PyTorch's gate layout), input = embedding of the previous word:
 *       r = sigma(x W_xr + b_xr + h W_hr + b_hr),  z = sigma(x W_xz + b_xz + h W_hz + b_hz)
 *       n = tanh(x W_xn + b_xn + r * (h W_hn + b_hn)),  h' = n + z * (h - n)
 *   word distribution: softmax(h_t W_out + b_out) over the train-only word vocabulary.
 * Loss = lambda_text * NLL(explanation words and <eos>, mean per token)
 *      + lambda_r * interaction loss, both weights 1 as PETER's NRT runs (rating_reg =
 *        text_reg = 1).
 * The XRec data has no ratings, so the rating regression becomes interaction prediction:
 * every train explanation pair (u, i) is a positive (label 1) and `negatives` items per
 * positive, drawn uniformly among the items u has no train interaction with (stream
 * (seed, "nrt/step", step)), are negatives (label 0); the loss is the mean binary
 * cross-entropy -log sigma(s) / -log sigma(-s), computed exactly as a two-way
 * cross-entropy over the logits (0, s). Only explained train pairs train the head, as in
 * NRT/PETER where ratings come with the reviews; zero-shot test users therefore keep their
 * initial embedding (the ID baselines' known limit, DESIGN §7).
 * Greedy decoding from <bos>, at most max_len words, stop at <eos>.
 * Training, early stopping and generation: baselines/explain_train.h (Adam, lr 1e-3,
 * clipping 1.0, valid explanation NLL, patience 3).
 *
 *   bb_nrt_config cfg; bb_nrt_default_config(&cfg);
 *   bb_explain_output out; bb_nrt_explain(&task, &cfg, &out, &err);
 *   ...; bb_explain_output_free(&out);
 *
 * Lower level (tests): bb_nrt_create / bb_nrt_loss / bb_nrt_free and bb_nrt_xmodel.
 * Ownership: bb_nrt_model owns its parameters and negative-sampling set; it borrows the
 * train interactions' dataset only during create.
 */
#ifndef BB_NRT_H
#define BB_NRT_H

#include <stdint.h>

#include "baselines/explain_corpus.h"
#include "baselines/explain_train.h"
#include "datasets/explain_task.h"
#include "datasets/pairset.h"
#include "models/base/bb_error.h"
#include "models/nn/nn_optim.h"

typedef struct bb_nrt_config {
    int emb_dim;       /* 64: user, item and word embeddings */
    int hidden;        /* 128: GRU state and interaction MLP width */
    int mlp_layers;    /* 2 sigmoid layers in the interaction head */
    int negatives;     /* 1 sampled negative item per positive pair */
    double lambda_r;   /* 1.0, interaction loss weight */
    double lambda_text;/* 1.0, explanation NLL weight */
    int max_words;     /* 20000 words in the vocabulary (PETER's setting) */
    int max_len;       /* 64 words per explanation (train cut and generation cap) */
    double lr;         /* 1e-3 (Adam) */
    double weight_decay; /* 0; > 0 makes it AdamW */
    double clip;       /* 1.0, global gradient norm; 0 = off */
    int batch;         /* 64 */
    int max_epochs;    /* 30 */
    int patience;      /* 3 epochs without a lower valid NLL */
    int gen_batch;     /* 128 pairs decoded together */
} bb_nrt_config;

void bb_nrt_default_config(bb_nrt_config *cfg);
/* A tiny model for tests (emb 16, hidden 32, batch 8). */
void bb_nrt_tiny_config(bb_nrt_config *cfg);
int bb_nrt_check_config(const bb_nrt_config *cfg, bb_error *err);
/* The `run --config` schema is bb_nrt_config_keys in baselines/explain_schema.h. */

/* Trains on the task's train rows and generates one explanation per test row (in order). */
int bb_nrt_explain(const bb_explain_task *task, const bb_nrt_config *cfg, bb_explain_output *out,
                   bb_error *err);

/* ---- lower level ------------------------------------------------------------------------- */

typedef struct bb_nrt_model {
    bb_nrt_config cfg;
    int32_t n_users, n_items, vocab;
    nn_params *params;
    nn_tensor *user_emb, *item_emb, *word_emb;  /* (U,E) (I,E) (V,E) */
    nn_tensor *mlp_w[8], *mlp_b[8];              /* (in,H) (H) per layer */
    nn_tensor *score_w, *score_b;               /* (H,1) (1) */
    nn_tensor *enc_w, *enc_b;                   /* (2E+1,H) (H) */
    nn_tensor *gru_wx, *gru_bx, *gru_wh, *gru_bh; /* (E,3H) (3H) (H,3H) (3H): r | z | n */
    nn_tensor *out_w, *out_b;                   /* (H,V) (V) */
    bb_pairset train_pairs; /* (u, i) of train interactions: negatives avoid them */
} bb_nrt_model;

/* train may be NULL (no pair is excluded from negatives). Parameters are initialised from
 * stream (seed, "nrt/init"): embeddings U(-0.1, 0.1) (PETER's code), weights Xavier, biases 0. */
bb_nrt_model *bb_nrt_create(int32_t n_users, int32_t n_items, int32_t vocab,
                            const bb_nrt_config *cfg, const bb_interactions *train, uint64_t seed);
void bb_nrt_free(bb_nrt_model *m);
/* The training objective of a batch (see bb_xmodel.loss). */
nn_tensor *bb_nrt_loss(bb_nrt_model *m, nn_tape *tp, const bb_xbatch *b, bb_rng *step_rng,
                       double *text_nll);
void bb_nrt_generate(bb_nrt_model *m, nn_tape *tp, const int32_t *uid, const int32_t *iid, int n,
                     int max_len, int32_t *out, int32_t *len);
/* The model behind the shared training driver. */
bb_xmodel bb_nrt_xmodel(bb_nrt_model *m);

#endif
