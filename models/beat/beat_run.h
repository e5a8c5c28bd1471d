/* beat_run — BEAT stage 1 end to end: load a dataset directory and its zero-shot split,
 * build the text features with a frozen text encoder, train with epoch selection, encode
 * every user and item, and write the run directory (DESIGN §3-4, §10 `beat tokenize`).
 *
 * Protocol:
 *   - Validation (valid.csv, training items masked) is evaluated after every epoch with the
 *     behaviour-vector scores rec(u) . rec(i) (metrics/ranking.h, K = 10, 20, 50). The
 *     selection metric is hr_micro@select_k (SELFRec's Hit Ratio, which BEAT reports); an
 *     epoch that does not raise it counts towards `patience`, and training stops after
 *     `patience` epochs in a row without gain. The parameters of the best epoch are kept.
 *   - Test is evaluated once, on the kept parameters. With select_on = "test" (the released
 *     BEAT code's behaviour, for fidelity studies only) test is evaluated every epoch and
 *     selects the epoch instead; the manifest and the result say so.
 *   - Text: only the split's train rows (beat_features.h). The split is read from
 *     split_path, or made with bb_split_make(seed, 10% zero-shot users) when it is NULL; a
 *     leakage check (datasets/train_text.h) must pass.
 *
 * Run directory (built under a staging name and renamed into place, bb_stage_dir_*; an
 * error leaves nothing behind):
 *   tokens.csv            kind,id,macro,micro_1..micro_T — every user then every item; a
 *                         kind that is ablated (or continuous) leaves its fields empty
 *   codebooks.safetensors the four codebooks "{user,item}_{macro,micro}_codebook" (K, d)
 *                         and projections "{user,item}_macro_map" (D, d),
 *                         "{user,item}_micro_map" (T, t, d), each only for a kept kind (no
 *                         codebooks when continuous); metadata token_len, token_dim,
 *                         codebook_size, d, seed, and the kinds as "0"/"1": macro, micro,
 *                         continuous
 *   continuous.safetensors  only with continuous: the tokens themselves, which stage 2
 *                         (beat_explain_beat.h) puts in its slots — "{user,item}_macro"
 *                         (n, d) and "{user,item}_micro" (n, T, d), the L2-normalised
 *                         projections of every entity's propagated vector at the kept epoch
 *                         (macro: x W_macro; micro row k: chunk k of x times W_micro_k), each
 *                         only for a kept kind; metadata token_len, d
 *   usage.csv             codebook,code,count for every code of every codebook
 *   codebook_stats.csv    codebook,tokens,used,dead_codes,perplexity
 *   metrics.csv           epoch,split,metric,k,value (ranking.h rows): valid every epoch,
 *                         test at the kept epoch (every epoch with select_on = test)
 *   train_log.csv         epoch,seconds,loss,vq,orth,rec,macro,micro,valid_<selection>
 *   split.csv             the split used (uid,iid,split)
 *   manifest.json         command, version, seed, threads, config, text encoder, data and
 *                         split hashes, input hash, selection, epochs, timings, codebook
 *                         statistics, peak RSS
 * tokens.csv, usage.csv and metrics.csv are byte-identical for the same inputs, seed and
 * thread count.
 *
 * Ownership: beat_run_result owns its ranking results and epoch times
 * (beat_run_result_free). The encoder is borrowed for the call.
 */
#ifndef BEAT_RUN_H
#define BEAT_RUN_H

#include <stdint.h>

#include "metrics/ranking.h"
#include "models/base/bb_error.h"
#include "models/beat/beat_stage1.h"
#include "models/beat/beat_stats.h"
#include "models/beat/beat_text.h"

typedef struct beat_run_opts {
    const char *data_dir;
    const char *split_path;   /* NULL: make the default zero-shot split from seed */
    const char *out_dir;      /* NULL: write nothing */
    const beat_text_encoder *encoder; /* NULL only when both supervisions are off */
    uint64_t seed;
    int threads;
    const char *version;      /* recorded in the manifest */
    const char *config_json;  /* the resolved config as JSON, recorded (may be NULL) */
    const char *lm_desc;      /* how the encoder was obtained, recorded (may be NULL) */
} beat_run_opts;

enum { BEAT_N_CODEBOOKS = 4 };
/* "user_macro", "user_micro", "item_macro", "item_micro" (index side * 2 + kind). */
const char *beat_codebook_name(int k);

typedef struct beat_run_result {
    int epochs_run, best_epoch;
    int select_on_test;
    double seconds_per_epoch;  /* median training seconds per epoch (evaluation excluded) */
    double *epoch_seconds;     /* epochs_run entries; owned */
    double eval_seconds;       /* one full-ranking pass over test */
    double peak_rss_mb, total_seconds;
    double train_flops;         /* dense-product FLOPs of all training steps */
    double train_seconds;       /* sum of the epoch times */
    beat_phase_times phases;    /* where the training steps spent their time */
    bb_rank_result valid, test; /* at the kept epoch */
    int has_codebook[BEAT_N_CODEBOOKS];
    beat_usage_summary usage[BEAT_N_CODEBOOKS];
    uint64_t data_hash, split_hash, input_hash;
    beat_losses last_losses;
} beat_run_result;

int beat_run_execute(const beat_config *cfg, const beat_run_opts *opts, beat_run_result *res,
                     bb_error *err);
void beat_run_result_free(beat_run_result *res);


#endif
