/* run_config — the configuration of `beatbench run` and `beatbench beat explain` (DESIGN §10):
 * one flat struct whose schema (models/base/bb_config.h) is composed from the methods' own schemas
 * under a prefix, so a JSON config can hold every method's settings at once:
 *
 *   {"method": "beat", "domain": "auto",
 *    "lm_config": "harness/configs/run/demo_lm.json",
 *    "stage1_config": "harness/configs/run/demo_stage1.json",
 *    "explain": {"batch": 16, "lr": 0.001, "max_epochs": 10, ...},   shared soft-prompt loop
 *    "id_prompt": {"slots": 0, ...}, "xrec": {"experts": 8, ...},
 *    "peter": {...}, "nrt": {...}, "retrieval": {"variant": "item"},
 *    "task": {"max_train_rows": 0, "max_valid_rows": 0, "max_test_rows": 0}}
 *
 * Keys:
 *   method          beat | id-prompt | xrec | peter | nrt | retrieval
 *   domain          auto | book | business: the prompt wording (DESIGN §5). auto: "book" when
 *                   the dataset directory's name contains "amazon" (any case), else "business"
 *   lm_config       LM config JSON (harness/configs/lm/) for the cached default LM; "" = the
 *                   LM defaults (the same LM `beat tokenize` makes); ignored with --lm DIR
 *   stage1_config   BEAT stage-1 config JSON (harness/configs/beat/); "" = stage-1 defaults
 *   bertscore       score BERTScore-style with the frozen LM's last-layer token vectors
 *   explain.*       the shared loop of beat, id-prompt and xrec (beat_explain_config)
 *   id_prompt.*     bb_id_prompt_config; slots 0 = the slots BEAT has under stage1_config:
 *                   1 + token_len by default, token_len with no_macro, 1 with no_micro
 *   xrec.*          bb_xrec_config; slots 0 as above
 *   peter.*, nrt.*, retrieval.*   the baselines' configs (baselines/explain_schema.h)
 *   task.max_train_rows, task.max_valid_rows, task.max_test_rows
 *                   integers >= 0 (0 = all, the default): a deterministic subset of that
 *                   part of the split, the same for every method of a seed (run_driver.h)
 * File paths inside a config are used as written: relative ones are relative to the working
 * directory (the repository root for the shipped configs, as `make demo` runs).
 * Defaults are the structs' defaults; harness/configs/run/default.json holds the same values
 * (PETER's, NRT's and retrieval's are in harness/configs/baselines/). demo.json,
 * demo_lm.json and demo_stage1.json are the sizes of `make demo` and the e2e test.
 * Command-line flags win over the file (bb_run_config_set).
 */
#ifndef BB_RUN_CONFIG_H
#define BB_RUN_CONFIG_H

#include "baselines/id_prompt.h"
#include "baselines/nrt.h"
#include "baselines/peter.h"
#include "baselines/retrieval.h"
#include "baselines/xrec_style.h"
#include "models/base/bb_config.h"
#include "models/base/bb_error.h"
#include "models/beat/beat_explain.h"

/* Row caps for quick experiments (run_driver.h, step 1b): keep at most this many rows of a
 * part of the split, 0 = all. */
typedef struct bb_run_task_config {
    int max_train_rows, max_valid_rows, max_test_rows;
} bb_run_task_config;

typedef struct bb_run_config {
    char method[16];
    char domain[16];
    char lm_config[512];
    char stage1_config[512];
    int bertscore;
    beat_explain_config explain;
    bb_id_prompt_config id_prompt;
    bb_xrec_config xrec;
    bb_peter_config peter;
    bb_nrt_config nrt;
    bb_retrieval_config retrieval;
    bb_run_task_config task;
} bb_run_config;

void bb_run_config_default(bb_run_config *c);
/* The composed schema (built once; static storage). */
const bb_cfg_key *bb_run_config_schema(void);
int bb_run_config_load(const char *path, bb_run_config *c, bb_error *err);
int bb_run_config_set(bb_run_config *c, const char *key, const char *value, const char *source,
                      bb_error *err);
/* "k=v,k=v" through the schema; source names the flag in messages. */
int bb_run_config_set_list(bb_run_config *c, const char *list, const char *source, bb_error *err);
/* Every key as a flat JSON object (malloc'd). */
char *bb_run_config_json(const bb_run_config *c);
/* Checks every method's settings (not only the chosen one's, so a config file is valid as a
 * whole); messages name the key with its prefix. */
int bb_run_config_check(const bb_run_config *c, bb_error *err);
/* "book" or "business" for the data directory under c->domain. */
const char *bb_run_config_domain(const bb_run_config *c, const char *data_dir);
/* 1 when the method is one of the six. */
int bb_run_method_known(const char *method);

#endif
