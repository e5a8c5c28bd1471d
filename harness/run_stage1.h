/* run_stage1 — the stage-1 (`beat tokenize`) and LM (`lm pretrain`) config schemas, reachable
 * from the run driver and the sweep. The schema tables live in harness/cmd_beat.c and
 * harness/cmd_lm.c; these accessors are defined there, next to them, so that `beat tokenize
 * --config F`, a run's "stage1_config": F and a sweep's "stage1" section read keys the same way. */
#ifndef BB_RUN_STAGE1_H
#define BB_RUN_STAGE1_H

#include "models/base/bb_error.h"
#include "models/base/bb_config.h"
#include "models/beat/beat_stage1.h"
#include "models/lm/lm_config.h"

/* Loads a stage-1 config JSON over cfg (which holds defaults). */
int bb_run_stage1_config_load(const char *path, beat_config *cfg, bb_error *err);
/* Every stage-1 key as a flat JSON object (malloc'd): what `beat tokenize` records. */
char *bb_run_stage1_config_json(const beat_config *cfg);

/* The stage-1 schema over beat_config (models/base/bb_config.h). */
const bb_cfg_key *bb_run_stage1_schema(void);
/* The LM schema over lm_config; lm_config_check still applies after loading. */
const bb_cfg_key *bb_run_lm_schema(void);

#endif
