/* run_stage1 — the stage-1 (`beat tokenize`) config schema, reachable from the run driver.
 * The schema table lives in harness/cmd_beat.c; these two accessors are defined there, next
 * to it, so that `beat tokenize --config F` and a run's "stage1_config": F read a file the
 * same way. */
#ifndef BB_RUN_STAGE1_H
#define BB_RUN_STAGE1_H

#include "models/base/bb_error.h"
#include "models/beat/beat_stage1.h"

/* Loads a stage-1 config JSON over cfg (which holds defaults). */
int bb_run_stage1_config_load(const char *path, beat_config *cfg, bb_error *err);
/* Every stage-1 key as a flat JSON object (malloc'd): what `beat tokenize` records. */
char *bb_run_stage1_config_json(const beat_config *cfg);

#endif
