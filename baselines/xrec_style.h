/* xrec_style — the XRec-style explanation baseline (Ma, Ren, Huang, "XRec: Large Language
 * Models for Explainable Recommendation", EMNLP 2024 Findings; DESIGN §7): collaborative
 * embeddings from a LightGCN ranking model, through a mixture-of-experts adapter, into the
 * <U>/<I> slots of the frozen LM, trained by the same soft-prompt loop as BEAT and ID-prompt
 * (models/beat/beat_explain.h) — only the slot provider differs.
 *
 * Embeddings: the final (mean-of-layers) LightGCN embeddings of baselines/rank_run.h trained
 * with BPR on the dataset's train interactions, same seed, early stopping on valid recall@20;
 * zero-shot test users have interactions in train (only their text is held out), so they have
 * embeddings. bb_xrec_embeddings_cached trains them once into CACHE/lightgcn-<key> (key: FNV-1a
 * of the three interaction files, every LightGCN setting, the seed, the thread count and the
 * code version) and reuses that run directory afterwards. The embeddings are inputs, frozen.
 *
 * Adapter, one per side (user, item), on an embedding x (e wide):
 *     g = softmax(W_g x + b_g)                      (E gates; E = experts, 8)
 *     y = sum_k g_k (W2_k gelu(W1_k x + b1_k) + b2_k)   (e -> hidden -> S d_model)
 * reshaped to S slot vectors (S as BEAT's 1 + token_len so the prompts are identical; XRec
 * itself injects one vector per side). Each expert is a 2-layer MLP; hidden 0 means
 * (e + d_model) / 2, as BEAT's projector. No dropout (XRec's adapter has dropout; the loop here
 * is deterministic and early-stopped instead). Weights Xavier, biases 0, from stream
 * (seed, "xrec/init"); parameters "{user,item}.gate.{w,b}", "{user,item}.expert<k>.{w1,b1,w2,b2}".
 *
 * Ownership: bb_xrec_embeddings owns its arrays; bb_xrec_model owns its registry and borrows the
 * embeddings.
 */
#ifndef BB_XREC_STYLE_H
#define BB_XREC_STYLE_H

#include <stdint.h>

#include "datasets/explain_task.h"
#include "models/base/bb_error.h"
#include "models/beat/beat_explain.h"
#include "models/lm/lm_bpe.h"
#include "models/lm/lm_model.h"

#define BB_XREC_MAX_EXPERTS 16

typedef struct bb_xrec_config {
    int slots;    /* S per side, >= 1 (the harness passes 1 + BEAT's token_len) */
    int experts;  /* 8 */
    int hidden;   /* expert hidden width; 0 = (e + d_model) / 2 */
    /* the LightGCN ranking model whose embeddings feed the adapter (rank_run.h) */
    int gcn_dim;      /* 64 */
    int gcn_layers;   /* 2 */
    int gcn_epochs;   /* 100 (at most; early stopping on valid recall@20) */
    int gcn_patience; /* 5 */
    int gcn_batch;    /* 2048 */
    double gcn_lr;    /* 1e-3 */
    double gcn_reg;   /* 1e-4 */
} bb_xrec_config;

void bb_xrec_default_config(bb_xrec_config *cfg);
int bb_xrec_check_config(const bb_xrec_config *cfg, bb_error *err);

typedef struct bb_xrec_embeddings {
    int32_t n_users, n_items;
    int dim;
    float *user, *item; /* (n_users, dim), (n_items, dim) */
} bb_xrec_embeddings;

/* The LightGCN embeddings of data_dir, trained now (*made = 1) or reused from cache_dir;
 * *run_dir_out (may be NULL) receives the LightGCN run directory (malloc'd). */
int bb_xrec_embeddings_cached(const char *data_dir, const bb_xrec_config *cfg, uint64_t seed,
                              int threads, const char *cache_dir, const char *version,
                              bb_xrec_embeddings *out, char **run_dir_out, int *made,
                              bb_error *err);
/* Reads RUNDIR/embeddings.safetensors (user_emb, item_emb) of a rank run. */
int bb_xrec_embeddings_load(const char *run_dir, bb_xrec_embeddings *out, bb_error *err);
void bb_xrec_embeddings_free(bb_xrec_embeddings *e);

typedef struct bb_xrec_side {
    nn_tensor *gate_w, *gate_b; /* (e, E), (E) */
    nn_tensor *w1[BB_XREC_MAX_EXPERTS], *b1[BB_XREC_MAX_EXPERTS]; /* (e, h), (h) */
    nn_tensor *w2[BB_XREC_MAX_EXPERTS], *b2[BB_XREC_MAX_EXPERTS]; /* (h, S C), (S C) */
} bb_xrec_side;

typedef struct bb_xrec_model {
    nn_params *params;
    bb_xrec_side side[2];
    const bb_xrec_embeddings *emb;
    int S, C, E, hidden;
    beat_slot_provider prov;
} bb_xrec_model;

void bb_xrec_init(bb_xrec_model *m, const bb_xrec_embeddings *emb, const bb_xrec_config *cfg,
                  int d_model, uint64_t seed);
void bb_xrec_free(bb_xrec_model *m);
/* The adapter of one side on embedding rows x (n, e) (a tape tensor) -> (n, S, C). */
nn_tensor *bb_xrec_adapter(bb_xrec_model *m, nn_tape *tp, int side, nn_tensor *x);

int bb_xrec_explain(const bb_explain_task *task, const beat_explain_config *loop,
                    const bb_xrec_config *cfg, const bb_xrec_embeddings *emb, lm_model *lm,
                    lm_bpe *tok, bb_explain_output *out, bb_error *err);

#endif
