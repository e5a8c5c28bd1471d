/* beat_lm_cache — the default zero-shot split and the default LM, made once and reused
 * from a cache keyed by the hash of their inputs (beat_lm_cache.h). */
#include "models/beat/beat_lm_cache.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "models/base/bb_hash.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_run.h"
#include "models/beat/beat_run_internal.h"
#include "models/lm/lm_corpus.h"
#include "models/lm/lm_train.h"

char *beat_cache_dir(void) {
    const char *env = getenv("BB_CACHE_DIR");
    return bb_strdup(env && *env ? env : "results/runs/cache");
}

int beat_split_cached(const char *cache_dir, const char *data_dir, uint64_t seed,
                      char **split_out, int *made, bb_error *err) {
    *split_out = NULL;
    *made = 0;
    char *ex_path = bb_path_join(data_dir, "explanations.csv");
    uint64_t h = BB_HASH_INIT;
    int rc = bb_hash_file(ex_path, &h, err);
    h = bb_hash_bytes(&seed, sizeof seed, h);
    char name[64];
    snprintf(name, sizeof name, "split-%016" PRIx64 ".csv", h);
    char *path = bb_path_join(cache_dir, name);
    int lock = -1;
    if (rc == BB_OK) rc = bb_lock_entry(path, &lock, err);
    if (rc == BB_OK && !bb_path_exists(path)) {
        bb_explanations ex;
        rc = bb_explanations_load(ex_path, &ex, err);
        if (rc == BB_OK) {
            bb_split sp;
            rc = bb_split_make(&ex, BB_SPLIT_DEFAULT_ZERO_SHOT, seed, &sp, err);
            if (rc == BB_OK) rc = bb_mkdir_p(cache_dir, err);
            if (rc == BB_OK) rc = bb_split_write(&sp, path, err); /* atomic */
            if (rc == BB_OK) *made = 1;
            bb_split_free(&sp);
            bb_explanations_free(&ex);
        }
    }
    bb_lock_release(lock);
    free(ex_path);
    if (rc != BB_OK) {
        free(path);
        return BB_ERR;
    }
    *split_out = path;
    return BB_OK;
}

/* Every lm_config field, in a fixed text form, for the key. */
static uint64_t hash_config(const lm_config *c, uint64_t h) {
    char buf[1024];
    int n = snprintf(buf, sizeof buf,
                     "vocab=%d context=%d d_model=%d n_layers=%d n_heads=%d bpe_min=%d batch=%d "
                     "steps=%d epochs=%.17g warmup=%d lr=%.17g min_lr=%.17g wd=%.17g clip=%.17g "
                     "b1=%.17g b2=%.17g eps=%.17g eval_every=%d eval_windows=%d ckpt=%d",
                     c->vocab, c->context, c->d_model, c->n_layers, c->n_heads,
                     c->bpe_min_frequency, c->batch, c->steps, c->epochs, c->warmup, c->lr,
                     c->min_lr_ratio, c->weight_decay, c->clip, c->beta1, c->beta2, c->eps,
                     c->eval_every, c->eval_windows, c->checkpoint_every);
    return bb_hash_bytes(buf, (size_t)n, h);
}

static int lm_cached_build(const char *dir, const char *data_dir, const char *split_path,
                           const lm_config *cfg, uint64_t seed, int threads, const char *version,
                           int *made, bb_error *err);

int beat_lm_cached(const char *cache_dir, const char *data_dir, const char *split_path,
                   const lm_config *cfg, uint64_t seed, int threads, const char *version,
                   char **lm_out, int *made, bb_error *err) {
    *lm_out = NULL;
    *made = 0;
    uint64_t h = BB_HASH_INIT;
    char *ex_path = bb_path_join(data_dir, "explanations.csv");
    int rc = bb_hash_file(ex_path, &h, err);
    free(ex_path);
    if (rc == BB_OK) rc = bb_hash_file(split_path, &h, err);
    if (rc != BB_OK) return BB_ERR;
    h = hash_config(cfg, h);
    h = bb_hash_bytes(&seed, sizeof seed, h);
    h = bb_hash_bytes(&threads, sizeof threads, h);
    if (version) h = bb_hash_bytes(version, strlen(version), h);
    char name[64];
    snprintf(name, sizeof name, "lm-%016" PRIx64, h);
    char *dir = bb_path_join(cache_dir, name);
    int lock = -1;
    if (bb_lock_entry(dir, &lock, err) != BB_OK) {
        free(dir);
        return BB_ERR;
    }
    rc = lm_cached_build(dir, data_dir, split_path, cfg, seed, threads, version, made, err);
    bb_lock_release(lock);
    if (rc != BB_OK) {
        free(dir);
        return BB_ERR;
    }
    *lm_out = dir;
    return BB_OK;
}

/* Under the entry's lock: reuse DIR when complete, else pretrain into it. */
static int lm_cached_build(const char *dir, const char *data_dir, const char *split_path,
                           const lm_config *cfg, uint64_t seed, int threads, const char *version,
                           int *made, bb_error *err) {
    char *model = bb_path_join(dir, "model.safetensors");
    int present = bb_path_exists(model);
    free(model);
    if (present) return BB_OK;
    beat_note("beat: no cached LM for these inputs; pretraining the default LM into %s\n", dir);
    lm_corpus corpus;
    if (lm_corpus_build(data_dir, split_path, seed, &corpus, err) != BB_OK) return BB_ERR;
    bb_stage_dir sd;
    int rc = bb_stage_dir_begin(&sd, dir, err);
    if (rc == BB_OK) {
        lm_train_opts o = {.out_dir = sd.staging, .seed = seed, .threads = threads, .resume = 0,
                           .stop_after = 0, .data_dir = data_dir, .split_path = split_path,
                           .code_version = version};
        lm_train_result r;
        rc = lm_pretrain(&corpus, cfg, &o, &r, err);
        if (rc == BB_OK)
            rc = bb_stage_dir_commit(&sd, err);
        else
            bb_stage_dir_abort(&sd);
    }
    lm_corpus_free(&corpus);
    if (rc != BB_OK) return BB_ERR;
    *made = 1;
    return BB_OK;
}
