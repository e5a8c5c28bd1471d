/* run_internal — state shared by run_driver.c (steps) and run_output.c (scoring, run
 * directory). Not a public API. */
#ifndef BB_RUN_INTERNAL_H
#define BB_RUN_INTERNAL_H

#include <stdint.h>

#include "datasets/dataset.h"
#include "datasets/explain_task.h"
#include "datasets/split.h"
#include "harness/run_driver.h"
#include "models/beat/beat_stage1.h"
#include "models/lm/lm_io.h"

typedef struct bb_run_state {
    char *cache_dir;
    const char *domain; /* static string */
    char *split_path;
    bb_dataset ds;
    bb_explanations ex;
    bb_split split;
    int have_ds, have_ex, have_split;
    /* the rows the method sees: ex/split, or their capped copies (task.max_*_rows) */
    bb_explanations capped_ex;
    bb_split capped_split;
    int capped;
    const bb_explanations *task_ex;
    const bb_split *task_split;
    uint64_t data_hash, split_hash;
    beat_config stage1; /* the stage-1 config (also fixes the slot count) */
    int slots;          /* slots per side of the soft-prompt methods */
    lm_bundle lm;
    int have_lm, lm_made;
    char *lm_dir;
    uint64_t lm_hash;
    char *stage1_dir; /* beat */
    int stage1_made;
    uint64_t stage1_key;
    char *gcn_dir; /* xrec */
    int gcn_made;
    bb_explain_output out;
    double lm_seconds, stage1_seconds, gcn_seconds, score_seconds;
} bb_run_state;

/* A progress note on stderr; BB_QUIET=1 silences it. */
void bb_run_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Every text metric of st->out against the test references into res->score/signature. */
int bb_run_score(bb_run_state *st, const bb_run_config *cfg, const bb_run_opts *o,
                 bb_run_result *res, bb_error *err);
/* generations.csv, metrics.json, manifest.json (and retrieval's header-only train_log.csv)
 * into dir; every other method must have written train_log.csv there. */
int bb_run_write(const char *dir, const bb_run_state *st, const bb_run_config *cfg,
                 const bb_run_opts *o, const bb_run_result *res, bb_error *err);

#endif
