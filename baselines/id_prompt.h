/* id_prompt — the ID-prompt explanation baseline (PEPLER-style continuous prompt; Li, Zhang,
 * Chen, "Personalized Prompt Learning for Explainable Recommendation", TOIS 2023), the direct
 * control for BEAT (DESIGN §7).
 *
 * Learned vectors per user and per item id fill the same <U>/<I> slots of the same prompt on
 * the same frozen LM as BEAT (models/beat/beat_explain.h), trained by the same loop: the two
 * methods differ only in the slot provider. Slot count: S per side, by default the same as
 * BEAT's 1 + token_len (so the prompts are token-for-token identical); each slot has its own
 * d_model-wide vector, so an id owns S x d_model numbers. Initialisation N(0, init_std) from
 * stream (seed, "id-prompt/init"); init_std 0 means the standard deviation of the LM's token
 * embeddings, so a fresh ID vector looks like a token embedding to the frozen LM.
 * The loop settings (beat_explain_config) are passed separately and are the same as BEAT's
 * by default, SAR included, so the comparison changes the provider alone; no_sar = true gives
 * PEPLER's plain cross-entropy objective.
 *
 * Zero-shot: users of test rows have no train row, so their vectors never receive a gradient
 * and stay at their initial values — expected, and the point of the comparison with BEAT.
 *
 * Parameters "user_id" (n_users, S d_model) and "item_id" (n_items, S d_model).
 * Ownership: bb_id_prompt_model owns its registry (bb_id_prompt_free).
 */
#ifndef BB_ID_PROMPT_H
#define BB_ID_PROMPT_H

#include <stdint.h>

#include "datasets/explain_task.h"
#include "models/base/bb_error.h"
#include "models/beat/beat_explain.h"
#include "models/lm/lm_bpe.h"
#include "models/lm/lm_model.h"

typedef struct bb_id_prompt_config {
    int slots;                /* S per side, >= 1 (the harness passes 1 + BEAT's token_len) */
    double init_std;          /* 0 = std of the LM's token embeddings */
} bb_id_prompt_config;

void bb_id_prompt_default_config(bb_id_prompt_config *cfg); /* slots 6 = 1 + T(5) */
int bb_id_prompt_check_config(const bb_id_prompt_config *cfg, bb_error *err);

typedef struct bb_id_prompt_model {
    nn_params *params;
    nn_tensor *user_id, *item_id; /* (n_users, S C), (n_items, S C) */
    int S, C;
    beat_slot_provider prov;
} bb_id_prompt_model;

void bb_id_prompt_init(bb_id_prompt_model *m, int32_t n_users, int32_t n_items, int slots,
                       int d_model, double init_std, uint64_t seed);
void bb_id_prompt_free(bb_id_prompt_model *m);

/* Trains on the task's train rows (early stopping on valid) and generates every test row. */
int bb_id_prompt_explain(const bb_explain_task *task, const beat_explain_config *loop,
                         const bb_id_prompt_config *cfg, lm_model *lm, lm_bpe *tok,
                         bb_explain_output *out, bb_error *err);

#endif
