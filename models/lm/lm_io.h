/* lm_io — the LM directory and training checkpoints on disk.
 *
 * An LM directory (what `beatbench lm pretrain --out DIR` leaves, what --lm DIR reads):
 *   DIR/tokenizer.json      the BPE tokenizer (lm_bpe.h)
 *   DIR/config.json         every lm_config key; "vocab" is the tokenizer's actual size
 *   DIR/model.safetensors   F32 weights under the registry names ("wte", "h.0.ln_1.weight",
 *                           ...), metadata {"format": "beatbench-lm", "vocab", "context",
 *                           "d_model", "n_layers", "n_heads"}
 *   DIR/manifest.json       provenance and results (seed, data hash, code version, losses)
 *   DIR/checkpoint/         resumable training state (below); kept after training
 *
 * A checkpoint directory holds model.safetensors, optimizer.safetensors (AdamW moments as
 * two flat tensors "m" and "v", metadata "step") and state.json; it is written as a whole
 * into a staging directory and renamed over the old one, so a crash leaves either the old
 * or the new checkpoint, never a mix.
 *
 * Every file is validated on load; a truncated, corrupt or mismatched file is an error
 * naming the file and the problem, never a crash. On error the model's values are
 * unspecified (a load may have filled part of them): discard it.
 */
#ifndef LM_IO_H
#define LM_IO_H

#include <stdint.h>

#include "models/base/bb_error.h"
#include "models/lm/lm_bpe.h"
#include "models/lm/lm_config.h"
#include "models/lm/lm_model.h"

int lm_save_weights(const lm_model *lm, const char *path, bb_error *err);
/* Loads into a model of the same architecture (checked against the file's metadata). */
int lm_load_weights(lm_model *lm, const char *path, bb_error *err);
/* AdamW moments and step count (params->m, params->v, params->step). */
int lm_save_optimizer(const lm_model *lm, const char *path, bb_error *err);
int lm_load_optimizer(lm_model *lm, const char *path, bb_error *err);

/* A loaded LM directory. Ownership: lm_bundle_free releases tok and model. */
typedef struct lm_bundle {
    lm_config cfg;
    lm_bpe *tok;
    lm_model *model;
} lm_bundle;

int lm_bundle_load(const char *dir, lm_bundle *out, bb_error *err);
/* Writes tokenizer.json, config.json, model.safetensors (each atomically) and, when
 * manifest_json is not NULL, manifest.json. */
int lm_bundle_save(const char *dir, const lm_bundle *b, const char *manifest_json, bb_error *err);
void lm_bundle_free(lm_bundle *b);

#endif
