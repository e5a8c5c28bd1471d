/* lm_config — the LM's settings: architecture, tokenizer size and pretraining schedule.
 *
 * A flat struct so the harness can validate JSON files against a schema table over it
 * (models/base/bb_config.h; models/ never includes harness/). Defaults are the default
 * configuration (harness/configs/lm/default.json holds the same values).
 *
 * Pretraining schedule (lm_train.h): AdamW (Loshchilov & Hutter 2019), learning rate
 * warmed up linearly over `warmup` steps, then cosine-decayed to lr * min_lr_ratio at the
 * last step; gradients clipped to a global L2 norm of `clip` (0 = off). `steps` = 0 means
 * derive the step count from `epochs` passes over the training tokens.
 */
#ifndef LM_CONFIG_H
#define LM_CONFIG_H

#include "models/base/bb_error.h"
#include "models/lm/lm_model.h"

typedef struct lm_config {
    /* architecture and tokenizer */
    int vocab;   /* target BPE vocabulary (bytes + merges + specials) */
    int context; /* sequence length of training windows and maximum input length */
    int d_model, n_layers, n_heads;
    int bpe_min_frequency; /* merges need a pair seen this often */
    /* optimisation */
    int batch; /* sequences per step */
    int steps; /* optimizer steps; 0 = from epochs */
    double epochs;
    int warmup; /* linear warmup steps */
    double lr, min_lr_ratio, weight_decay, clip, beta1, beta2, eps;
    /* bookkeeping */
    int eval_every;       /* steps between validation passes (0 = only at the end) */
    int eval_windows;     /* validation windows per pass (0 = all) */
    int checkpoint_every; /* steps between checkpoints (0 = only at the end) */
} lm_config;

lm_config lm_config_default(void);
/* Cross-field checks the schema's ranges cannot express (n_heads divides d_model, warmup
 * below the step count, ...); one-line error naming the key. */
int lm_config_check(const lm_config *cfg, bb_error *err);
/* The architecture for a tokenizer of vocab_size ids (training may end below cfg->vocab). */
lm_arch lm_config_arch(const lm_config *cfg, int vocab_size);
/* JSON (cJSON) of every key, e.g. {"vocab": 4096, ..., "lr": 0.001}; malloc'd, caller frees.
 * Doubles are written with 17 significant digits, so parsing gives the same struct back. */
char *lm_config_to_json(const lm_config *cfg);
/* Sets the keys present in a JSON object (the others keep cfg's values). Unknown keys and
 * non-numbers are errors naming path and key; then lm_config_check runs. The harness
 * validates user files with ranges and help first (harness/cmd_lm.c); this reader is for
 * the config.json that pretraining writes into an LM directory. */
int lm_config_parse_json(const char *path, const char *text, lm_config *cfg, bb_error *err);
/* The first key whose value differs between a and b, or NULL when all are equal. */
const char *lm_config_first_difference(const lm_config *a, const lm_config *b);
/* Names of every key, NULL-terminated (for the harness's schema test). */
const char *const *lm_config_keys(void);

/* Learning rate at step (0-based) of total: warmup then cosine decay. */
double lm_config_lr(const lm_config *cfg, long step, long total);

#endif
