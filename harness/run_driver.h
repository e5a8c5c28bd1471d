/* run_driver — one explanation experiment end to end: dataset x method x seed (DESIGN §3,
 * §7, §10 `run`); also the back end of `beat explain`.
 *
 * Steps (every artifact made when missing and reused by the hash of its inputs, under the
 * cache directory beat_cache_dir(): $BB_CACHE_DIR or results/runs/cache):
 *   1. split: the given file, the stage-1 run's split.csv (beat explain --tokens), or the
 *      default zero-shot split of the seed (beat_split_cached); the explanations' ids are
 *      checked against the dataset (an out-of-range uid/iid is an error naming the row) and
 *      the leakage check must pass;
 *   1b. row caps (cfg->task.max_{train,valid,test}_rows, 0 = all; bb_run_cap_rows): a part
 *      with more rows than its cap keeps `cap` of them, drawn without replacement with stream
 *      (seed, "task/<part>-rows") — the first `cap` entries of a bb_rng_shuffle_i32
 *      permutation of the part's rows (numbered in split order) — and kept in split order;
 *      the other parts are untouched. Only the task the method sees shrinks: the split file,
 *      the LM and stage 1 (and their cache keys) still use the full split's train text, so
 *      capped and uncapped runs share those artifacts, and every method of a seed sees the
 *      same rows;
 *   2. frozen LM (beat, id-prompt, xrec, and the BERTScore-style metric): --lm DIR, or the LM
 *      pretrained on the split's training text with cfg->lm_config (beat_lm_cached);
 *   3. beat: stage 1 (beat_run.h) with cfg->stage1_config and the LM as text encoder, cached
 *      under CACHE/stage1-<key> (key: FNV-1a of the four data files, the split file, the
 *      stage-1 config, the LM files, the seed, the thread count and the code version), or the
 *      given stage-1 run directory; xrec: the LightGCN embeddings (xrec_style.h, cached);
 *   4. the method on the task (datasets/explain_task.h): trains on train rows, early-stops on
 *      valid rows, generates every test row once; methods with epochs write train_log.csv
 *      into the staged run directory (task.work_dir);
 *      beat: the stage-1 run's token kinds decide the slots per side ([macro] + T [micro],
 *      beat_explain_beat.h), so the stage-1 ablations no_macro, no_micro and continuous run;
 *      id-prompt and xrec with slots 0 take the slot count BEAT has under the same stage-1
 *      config (1 + T by default);
 *   5. every `score` metric (metrics/text_score.h: treebank BLEU with method1 smoothing,
 *      ROUGE without stemming, Distinct, USR, and BERTScore-style with the LM's last-layer
 *      token vectors when cfg->bertscore) of the generations against the test references;
 *   6. the run directory, built under a staging name and renamed into place (nothing is left
 *      behind on error):
 *        generations.csv  uid,iid,reference,generated (RFC 4180), test rows in split order
 *        metrics.json     {"method", "seed", then the `score --json` keys}
 *        train_log.csv    epoch,train_loss,valid_loss,seconds — one row per epoch run
 *                         (models/beat/beat_explain_log.h); retrieval, which has no epochs,
 *                         gets the header alone
 *        manifest.json    command, version, method, seed, threads, domain, prompt, resolved
 *                         config, data/split/LM hashes, cached artifact directories and
 *                         whether they were made now, epochs, timings, peak RSS, and
 *                         "task_rows": {"caps": {"train", "valid", "test"}, "used": {"train",
 *                         "valid", "test"}} (caps as configured, 0 = all; used = rows the
 *                         method saw); "split" keeps the full split's counts
 *      generations.csv and metrics.json are byte-identical for the same inputs, seed and
 *      thread count.
 *
 * Ownership: bb_run_result owns its score and stage1_dir (bb_run_result_free).
 */
#ifndef BB_RUN_DRIVER_H
#define BB_RUN_DRIVER_H

#include <stdint.h>
#include <stdio.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "harness/run_config.h"
#include "metrics/text_score.h"
#include "models/beat/beat_stage1.h"
#include "models/lm/lm_config.h"
#include "models/base/bb_error.h"

typedef struct bb_run_opts {
    const char *data_dir;
    const char *out_dir;    /* the run directory to write */
    const char *lm_dir;     /* NULL: the cached LM of cfg->lm_config */
    const char *tokens_dir; /* beat: a stage-1 run directory; NULL: stage 1 cached */
    const char *split_path; /* NULL: tokens_dir/split.csv, else the cached default split */
    uint64_t seed;
    int threads;
    const char *command; /* recorded in the manifest ("run", "beat explain") */
    /* Resolved configs that replace cfg->stage1_config / cfg->lm_config when non-NULL (a
     * sweep holds them in memory after applying its overrides). */
    const beat_config *stage1_config;
    const lm_config *lm_config;
} bb_run_opts;

typedef struct bb_run_result {
    char method[16];
    uint64_t seed;
    text_score_result score;
    char signature[256];
    int epochs_run, best_epoch;
    double best_valid_loss;
    double train_seconds, generate_seconds, total_seconds;
    char *stage1_dir; /* beat: the stage-1 run directory used (owned); NULL otherwise */
    size_t rows_used[3]; /* train, valid, test rows the method saw (after the row caps) */
} bb_run_result;

int bb_run_execute(const bb_run_config *cfg, const bb_run_opts *o, bb_run_result *res, bb_error *err);

/* Step 1b: the rows of ex/split kept under caps[BB_SPLIT_TRAIN..BB_SPLIT_TEST] (0 = all) for
 * seed, as a new explanations/split pair in split order (deep copies, owned by the caller:
 * bb_explanations_free, bb_split_free; duplicate_pairs is not recounted). Returns 1 when a
 * row was dropped, 0 when every row is kept (outputs untouched), -1 on error (err filled). */
int bb_run_cap_rows(const bb_explanations *ex, const bb_split *split, const int caps[3],
                    uint64_t seed, bb_explanations *ex_out, bb_split *split_out, bb_error *err);
void bb_run_result_free(bb_run_result *res);
/* The metrics object (metrics.json and `--json`): method, seed and the `score --json` keys. */
void bb_run_print_metrics(FILE *out, const bb_run_result *res);

#endif
