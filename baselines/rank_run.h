/* rank_run — one ranking experiment end to end: load a dataset directory, train Pop, MF-BPR
 * or LightGCN-BPR, select the epoch on validation, evaluate test, write the run directory.
 * `beatbench rank` (harness/cmd_rank.c) and the benchmarks call it.
 *
 * Protocol (DESIGN §7-8, SELFRec's):
 *   - Validation is evaluated every `eval_every` epochs and after the last one, with the
 *     user's training items masked. The selection metric is recall@20 (recall at the first
 *     listed K when 20 is not listed); an evaluation that does not raise the best value
 *     counts towards `patience`, and training stops once `patience` evaluations in a row
 *     brought no gain. The final embeddings of the best evaluation are kept.
 *   - Test is evaluated once, on the kept embeddings; it never selects anything.
 *     Mask for test (`mask`): RANK_MASK_TRAIN (default) removes the training items only, as
 *     SELFRec and the BEAT tables do; RANK_MASK_TRAIN_VALID also removes validation items
 *     (the stricter protocol: the user is known to have them).
 *   - Pop has no epochs: epochs_run = best_epoch = 0.
 *
 * Inputs that are legal and how they behave:
 *   - an item (or user) that appears only in valid/test: the id range covers it; it has no
 *     training pair, so Pop scores it 0 and LightGCN leaves it at its layer-0 share; it can
 *     be recommended, just not well.
 * Inputs that are errors (one line, nothing written): an empty valid or test split (no
 * selection / nothing to evaluate), K <= 0, batch <= 0, epochs/eval_every/patience < 1, a
 * bad width, layer count, learning rate or L2 weight, and every dataset error.
 *
 * Run directory (written only when out_dir is set; built under a staging name and renamed
 * into place, so an error leaves no directory behind):
 *   metrics.csv            epoch,split,metric,k,value — valid at every evaluation, test at
 *                          the best epoch; metrics recall precision ndcg mrr hit hr_micro
 *   per_user.csv           valid and test values per user at the best epoch
 *   embeddings.safetensors user_emb (n_users, d), item_emb (n_items, d): the scoring
 *                          (final) embeddings of the best epoch (MF/LightGCN only)
 *   manifest.json          config, seed, data hash (FNV-1a 64 of the three split files),
 *                          version, timings, epochs, peak RSS
 * metrics.csv and per_user.csv are byte-identical for the same data, config, seed and
 * thread count.
 *
 * Ownership: rank_run_result owns its two ranking results and epoch times
 * (rank_run_result_free).
 */
#ifndef RANK_RUN_H
#define RANK_RUN_H

#include <stdint.h>

#include "baselines/bpr.h"
#include "metrics/ranking.h"
#include "models/base/bb_error.h"

typedef enum { RANK_MODEL_POP, RANK_MODEL_MF, RANK_MODEL_LIGHTGCN } rank_model;
typedef enum { RANK_MASK_TRAIN, RANK_MASK_TRAIN_VALID } rank_mask;

typedef struct rank_run_config {
    const char *data_dir;
    rank_model model;
    int epochs;      /* maximum epochs (default 100) */
    int dim;         /* 64 */
    int layers;      /* 2 (LightGCN) */
    double lr;       /* 1e-3 */
    double reg;      /* 1e-4 */
    int batch;       /* 2048 */
    int eval_every;  /* 1 */
    int patience;    /* 5 evaluations */
    int ks[BB_RANK_MAX_KS];
    int n_ks;        /* default 10, 20, 50 */
    rank_mask mask;  /* for test; valid always masks train */
    bpr_reg_on reg_on;
    uint64_t seed;   /* 0 */
    int threads;     /* default 1 here; the CLI passes all cores */
    const char *out_dir; /* NULL: write nothing */
    const char *version; /* recorded in the manifest (the CLI passes BB_VERSION) */
} rank_run_config;

void rank_run_config_default(rank_run_config *c);
/* "pop", "mf", "lightgcn" -> model; returns BB_ERR for anything else. */
int rank_model_parse(const char *name, rank_model *out);
const char *rank_model_name(rank_model m);

typedef struct rank_run_result {
    rank_model model;
    int epochs_run, best_epoch;
    double seconds_per_epoch; /* median training seconds per epoch (evaluation excluded) */
    double *epoch_seconds;    /* epochs_run entries; owned */
    double eval_seconds;      /* the test full-ranking pass */
    double peak_rss_mb;
    double total_seconds;
    bb_rank_result valid;     /* at the best epoch */
    bb_rank_result test;      /* at the best epoch */
    uint64_t data_hash;
} rank_run_result;

/* The option checks alone (values out of range), so a CLI can report them as usage errors;
 * messages name the option: "--batch must be at least 1, got 0". */
int rank_run_check_config(const rank_run_config *c, bb_error *err);
int rank_run_execute(const rank_run_config *c, rank_run_result *res, bb_error *err);
void rank_run_result_free(rank_run_result *res);

/* FNV-1a 64 over the bytes of DIR/train.csv, valid.csv, test.csv in that order. */
int rank_run_data_hash(const char *dir, uint64_t *hash, bb_error *err);

#endif
