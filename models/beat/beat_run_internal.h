/* beat_run_internal — state shared by beat_run.c (training, selection) and beat_run_io.c
 * (run directory writers). Not a public API. */
#ifndef BEAT_RUN_INTERNAL_H
#define BEAT_RUN_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "metrics/ranking.h"
#include "models/beat/beat_features.h"
#include "models/beat/beat_run.h"

typedef struct beat_inputs {
    bb_dataset ds;
    bb_explanations ex;
    bb_split split;
    beat_text_features tf;
    bb_rank_lists train, valid, test;
    int have_ex, have_split, have_tf;
    uint64_t data_hash, split_hash;
} beat_inputs;

void beat_inputs_free(beat_inputs *in);

typedef struct beat_run_state {
    float *best;         /* parameters of the kept epoch */
    float *rec[2];       /* behaviour vectors of all users / items */
    int32_t *tokens[2];  /* (n, 1 + T) */
    int64_t *counts[BEAT_N_CODEBOOKS]; /* code usage (K each) */
    FILE *metrics, *log; /* memory streams of metrics.csv / train_log.csv rows */
    char *metrics_buf, *log_buf;
    size_t metrics_len, log_len;
} beat_run_state;

void beat_run_state_init(beat_run_state *st, const beat_model *m);
void beat_run_state_free(beat_run_state *st);
/* Code counts of every codebook over all entities' tokens into st and res. */
void beat_run_usage(const beat_model *m, beat_run_state *st, beat_run_result *res);
/* The run directory (staged). */
int beat_run_write(const char *out_dir, const beat_config *cfg, const beat_run_opts *o,
                   const beat_inputs *in, const beat_model *m, beat_run_state *st,
                   const beat_run_result *res, bb_error *err);
/* A progress note on stderr; BB_QUIET=1 silences it. */
void beat_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif
