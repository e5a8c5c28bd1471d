/* beat_explain_beat — BEAT stage 2 (DESIGN §5): the behaviour-token slot provider of the
 * soft-prompt explainer (beat_explain.h), and the method's entry point.
 *
 * Inputs come from a stage-1 run directory (beat_run.h):
 *   tokens.csv              kind,id,macro,micro_1..micro_T: every user, then every item
 *   codebooks.safetensors   {user,item}_{macro,micro}_codebook (K, d) of the kinds stage 1
 *                           kept; metadata token_len, codebook_size, d (and, from stage-1
 *                           runs written since the ablations reach stage 2, macro, micro,
 *                           continuous as "0"/"1")
 *   continuous.safetensors  (stage-1 ablation continuous only) {user,item}_macro (n, d) and
 *                           {user,item}_micro (n, T, d): the normalised projections
 * Stage 1 saw every user's interactions (not the text of zero-shot test users), so a test
 * user has tokens although no explanation of theirs was ever trained on: that is how BEAT
 * reaches unseen users.
 *
 * Provider (full BEAT): four trainable token tables (K, d) initialised from the four
 * codebooks; the slots of a pair are, per side, [macro, micro_1..micro_T] rows of that side's
 * tables (S = 1 + T) through the side's projector (beat_projector.h, d -> (d + d_model)/2 ->
 * d_model). Parameters "user_macro", "user_micro", "item_macro", "item_micro",
 * "user_proj.*", "item_proj.*"; projectors from stream (seed, "beat-explain/init").
 *
 * Stage-1 ablations (the paper's tokenization study; the paper says only what is removed,
 * the rest is our choice, kept as close to full BEAT as the missing part allows):
 *   no_macro    the slots of a side are its T micro tokens (S = T); no macro tables.
 *   no_micro    the slot of a side is its macro token (S = 1); no micro tables.
 *   continuous  no quantisation, so no codebooks and no tables: the slots carry the stage-1
 *               vectors themselves (macro then micro_1..T, each kind only when stage 1 kept
 *               it) through the same trainable projectors. The vectors stay fixed: in full
 *               BEAT every trainable slot parameter (K-row tables, projectors) is shared by
 *               all users, so a zero-shot test user's slots move with training exactly as a
 *               train user's do; per-entity trainable vectors would move only for the users
 *               and items seen in train rows and leave test users behind (an ID-prompt in
 *               disguise). So only the projectors (and the shared <EXPLAIN> separator) train.
 * The slot count per side is S = [macro kept] + T [micro kept]; the prompt's <U>/<I> expand
 * to S positions (beat_explain.h) and SAR aligns with the 2S projected slots. The two sides
 * always carry the same kinds (stage 1 ablates a kind on both); a run whose sides differ,
 * or that keeps no kind, is an error naming the file.
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
    int has_macro, has_micro; /* token kinds stage 1 kept (both sides alike) */
    int continuous;           /* 1: vectors instead of codes (stage-1 ablation continuous) */
    int32_t n_users, n_items;
    /* quantised: (n, 1 + T) macro index then T micro indices, -1 where the kind is absent;
     * NULL when continuous */
    int32_t *user, *item;
    float *codebook[4];  /* (K, d): user_macro, user_micro, item_macro, item_micro; NULL when
                          * the kind is absent or continuous */
    float *macro_vec[2]; /* continuous: (n, d) of users / items; NULL otherwise */
    float *micro_vec[2]; /* continuous: (n, T, d) of users / items; NULL otherwise */
} beat_tokens;

/* Reads RUNDIR/codebooks.safetensors and RUNDIR/tokens.csv (quantised) or
 * RUNDIR/continuous.safetensors (continuous); errors name file, line, field. */
int beat_tokens_load(const char *run_dir, beat_tokens *out, bb_error *err);
/* Only T, K, d and the kinds (has_macro, has_micro, continuous), from the metadata and tensor
 * names of RUNDIR/codebooks.safetensors; no arrays (nothing to free). */
int beat_tokens_probe(const char *run_dir, beat_tokens *out, bb_error *err);
void beat_tokens_free(beat_tokens *t);
/* Slots per side: [has_macro] + T [has_micro]. */
int beat_tokens_slots(const beat_tokens *t);

typedef struct beat_stage2 {
    nn_params *params;
    nn_tensor *table[4];    /* (K, d) trainable, in codebook order; NULL for an absent kind
                             * and when continuous */
    beat_projector proj[2]; /* user, item */
    const beat_tokens *tokens;
    beat_slot_provider prov;
} beat_stage2;

void beat_stage2_init(beat_stage2 *m, const beat_tokens *tokens, int d_model, uint64_t seed);
void beat_stage2_free(beat_stage2 *m);

/* BEAT stage 2 on a task: tokens from tokens_dir, the frozen LM (borrowed), generations of
 * every test row into out; train_log.csv into task->work_dir (beat_explain_task_run). */
int beat_explain_run(const bb_explain_task *task, const beat_explain_config *cfg,
                     const char *tokens_dir, lm_model *lm, lm_bpe *tok, bb_explain_output *out,
                     bb_error *err);

#endif
