/* beat_explain_beat — BEAT stage 2 (DESIGN §5): the behaviour-token slot provider of the
 * soft-prompt explainer (beat_explain.h), and the method's entry point.
 *
 * Inputs come from a stage-1 run directory (beat_run.h):
 *   tokens.csv             kind,id,macro,micro_1..micro_T: every user, then every item
 *   codebooks.safetensors  {user,item}_{macro,micro}_codebook (K, d), metadata token_len, d
 * Stage 1 saw every user's interactions (not the text of zero-shot test users), so a test
 * user has tokens although no explanation of theirs was ever trained on: that is how BEAT
 * reaches unseen users.
 *
 * Provider: four trainable token tables (K, d) initialised from the four codebooks; the slots
 * of a pair are, per side, [macro, micro_1..micro_T] rows of that side's tables (S = 1 + T)
 * through the side's projector (beat_projector.h, d -> (d + d_model)/2 -> d_model).
 * Parameters "user_macro", "user_micro", "item_macro", "item_micro", "user_proj.*",
 * "item_proj.*"; projectors from stream (seed, "beat-explain/init").
 * A run whose tokens lack a kind (stage-1 ablations no_macro / no_micro / continuous) is an
 * error naming the field: stage 2 reads all four token kinds.
 *
 * Ownership: beat_tokens owns its arrays (beat_tokens_free); beat_stage2 owns its registry
 * and borrows the tokens (beat_stage2_free).
 */
#ifndef BEAT_EXPLAIN_BEAT_H
#define BEAT_EXPLAIN_BEAT_H

#include <stdint.h>

#include "datasets/explain_task.h"
#include "models/base/bb_error.h"
#include "models/beat/beat_explain.h"
#include "models/beat/beat_projector.h"
#include "models/lm/lm_bpe.h"
#include "models/lm/lm_model.h"

typedef struct beat_tokens {
    int T, K, d;
    int32_t n_users, n_items;
    int32_t *user, *item; /* (n, 1 + T): macro index, then T micro indices */
    float *codebook[4];   /* (K, d): user_macro, user_micro, item_macro, item_micro */
} beat_tokens;

/* Reads RUNDIR/tokens.csv and RUNDIR/codebooks.safetensors; errors name file, line, field. */
int beat_tokens_load(const char *run_dir, beat_tokens *out, bb_error *err);
void beat_tokens_free(beat_tokens *t);

typedef struct beat_stage2 {
    nn_params *params;
    nn_tensor *table[4];    /* (K, d) trainable, in codebook order */
    beat_projector proj[2]; /* user, item */
    const beat_tokens *tokens;
    beat_slot_provider prov;
} beat_stage2;

void beat_stage2_init(beat_stage2 *m, const beat_tokens *tokens, int d_model, uint64_t seed);
void beat_stage2_free(beat_stage2 *m);

/* BEAT stage 2 on a task: tokens from tokens_dir, the frozen LM (borrowed), generations of
 * every test row into out. */
int beat_explain_run(const bb_explain_task *task, const beat_explain_config *cfg,
                     const char *tokens_dir, lm_model *lm, lm_bpe *tok, bb_explain_output *out,
                     bb_error *err);

#endif
