/* explain_schema — the `run --config` schemas (models/base/bb_config.h) of the explanation
 * baselines PETER, NRT and retrieval, one flat key per config field:
 *
 *   bb_peter_config cfg; bb_peter_default_config(&cfg);
 *   bb_config_load("harness/configs/baselines/peter.json", bb_peter_config_keys, &cfg, &err);
 *   bb_config_set(bb_peter_config_keys, &cfg, "d_model", "64", "--d_model", &err);
 *
 * The JSON defaults in harness/configs/baselines/{peter,nrt,retrieval}.json equal the
 * bb_*_default_config values (a test checks it); *_tiny.json are the test-sized models.
 */
#ifndef BB_EXPLAIN_SCHEMA_H
#define BB_EXPLAIN_SCHEMA_H

#include "baselines/nrt.h"
#include "baselines/peter.h"
#include "baselines/retrieval.h"
#include "models/base/bb_config.h"

extern const bb_cfg_key bb_peter_config_keys[];
extern const bb_cfg_key bb_nrt_config_keys[];
extern const bb_cfg_key bb_retrieval_config_keys[];

#endif
