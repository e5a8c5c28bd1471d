/* lm_train — pretraining the LM on a corpus, with checkpoints and exact resumption.
 *
 * lm_pretrain: trains the BPE tokenizer on the training texts (or reloads it when resuming),
 * builds the token streams ("<bos> text <eos>" per text), then runs AdamW steps on random
 * windows of context + 1 tokens: batch `batch` windows drawn from the stream
 * (seed, "lm/batch", step), learning rate lm_config_lr, gradient norm clipped to `clip`.
 * Validation loss: nats per token over consecutive windows of the validation stream.
 *
 * Checkpoints (OUT/checkpoint/, lm_io.h) hold weights, AdamW moments and the step; with
 * resume, training continues from the last checkpoint and — because every batch depends
 * only on (seed, step) and the state is saved exactly — reaches bit-identical weights to an
 * uninterrupted run with the same thread count. The config, seed and corpus must match
 * the checkpoint's (an error names the first differing key otherwise).
 *
 * Reference point for the validation loss: the unigram model of the training tokens
 * (add-one smoothed), its entropy and its cross-entropy on the same validation targets.
 *
 * Output: OUT/tokenizer.json, config.json, model.safetensors, manifest.json (lm_io.h).
 * Progress (loss, learning rate, tokens/s, ETA) goes to stderr through bb_progress.
 */
#ifndef LM_TRAIN_H
#define LM_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "models/base/bb_error.h"
#include "models/lm/lm_config.h"
#include "models/lm/lm_corpus.h"
#include "models/lm/lm_model.h"

typedef struct lm_train_opts {
    const char *out_dir;
    uint64_t seed;
    int threads;
    int resume;      /* continue from OUT/checkpoint when it exists */
    long stop_after; /* > 0: checkpoint and return after this many steps in this run */
    const char *data_dir, *split_path, *code_version; /* recorded in the manifest */
} lm_train_opts;

typedef struct lm_train_result {
    long start_step, steps_done, steps_total;
    int finished; /* steps_done == steps_total */
    int vocab;
    int64_t params;
    int64_t train_tokens, valid_tokens; /* stream lengths */
    double train_loss;                  /* mean of the last (up to eval_every) step losses */
    double valid_loss;                  /* nats per token; NAN without validation text */
    double unigram_entropy;             /* of the training tokens' unigram distribution (nats) */
    double unigram_valid_ce;            /* that distribution's loss on the validation targets */
    double seconds, tokens_per_s;       /* training steps only */
} lm_train_result;

int lm_pretrain(const lm_corpus *corpus, const lm_config *cfg, const lm_train_opts *opts,
                lm_train_result *res, bb_error *err);

/* One training batch: B windows of T + 1 tokens at positions drawn from the stream
 * (seed, "lm/batch", step); ids (B, T) and next-token targets (B, T). len >= T + 1. */
void lm_sample_batch(const int32_t *stream, size_t len, int B, int T, uint64_t seed, long step,
                     int32_t *ids, int32_t *targets);
/* Loss over consecutive windows of T + 1 tokens (stride T) of a stream, batch windows at a
 * time; max_windows > 0 limits the windows. Also the unigram cross-entropy of the same
 * targets under unigram_p (may be NULL). */
lm_loss lm_eval_stream(lm_model *lm, const int32_t *stream, size_t len, int T, int batch,
                       int max_windows, const double *unigram_logp, double *unigram_ce);
/* Add-one smoothed unigram log-probabilities (V) of a stream; returns their entropy. */
double lm_unigram(const int32_t *stream, size_t len, int V, double *logp);

#endif
