/* beat_lm_cache — the frozen LM a new user gets without asking (DESIGN §3, §10: "missing
 * inputs (split, LM) are made with defaults or reused from the cache").
 *
 * beat_lm_cached returns the directory of an LM pretrained (models/lm/lm_train.h) on the
 * training text of a dataset's zero-shot split, under CACHE/lm-<key>, where the key is the
 * FNV-1a 64 hash of everything that decides the weights: the bytes of explanations.csv and
 * of the split file, every lm_config value, the seed, the thread count (results are
 * bit-identical per thread count) and the code version. A directory with that key is
 * reused as it is; otherwise the LM is pretrained into a staging directory that is renamed
 * into place when complete (bb_stage_dir_*), so an interrupted run never leaves a directory
 * that looks reusable.
 *
 * beat_split_cached does the same for the default zero-shot split (bb_split_make with the
 * seed) when no split file is given: CACHE/split-<hash of explanations.csv and seed>.csv.
 *
 * The cache directory is $BB_CACHE_DIR, else "results/runs/cache" under the working
 * directory (results/runs/ is git-ignored).
 * Ownership: returned paths are malloc'd; the caller frees them.
 */
#ifndef BEAT_LM_CACHE_H
#define BEAT_LM_CACHE_H

#include <stdint.h>

#include "models/base/bb_error.h"
#include "models/lm/lm_config.h"

/* "$BB_CACHE_DIR" or "results/runs/cache" (malloc'd). */
char *beat_cache_dir(void);

/* *split_out: the split file (made and written when absent). *made: 1 when written now. */
int beat_split_cached(const char *cache_dir, const char *data_dir, uint64_t seed,
                      char **split_out, int *made, bb_error *err);

/* *lm_out: the LM directory (pretrained now when absent, *made = 1). */
int beat_lm_cached(const char *cache_dir, const char *data_dir, const char *split_path,
                   const lm_config *cfg, uint64_t seed, int threads, const char *version,
                   char **lm_out, int *made, bb_error *err);

#endif
