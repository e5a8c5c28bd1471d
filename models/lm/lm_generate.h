/* lm_generate — incremental decoding with a key/value cache, and text generation.
 *
 * KV cache: lm_kv_append runs n new positions through the model, attending to the cached
 * keys/values of the earlier positions, and stores their keys/values in turn. Appending a
 * prompt and then one token at a time gives the logits of the full forward (lm_logits)
 * within float rounding (the tests hold it to 1e-5). Injected vectors work as in lm_input.
 *
 * Generation: greedy (temperature 0), sampling with temperature, top-k and top-p (nucleus;
 * Holtzman et al. 2020), or beam search (beam > 1; hypotheses scored by summed log-prob
 * divided by length^length_penalty, as in GNMT, Wu et al. 2016). Generation stops at <eos>
 * (not included in the output) or after max_new tokens or at the context length. Special
 * tokens other than <eos> are never generated. Sampling draws from the stream
 * (seed, "lm/sample", prompt index): deterministic by seed, whatever the thread count.
 *
 * lm_generate_batch spreads prompts over the model's threads (each prompt is decoded by one
 * thread alone, so results do not depend on the thread count).
 *
 * Ownership: lm_kv_new returns a cache freed with lm_kv_free. Output lm_ids are appended to
 * (the caller frees them with lm_ids_free).
 */
#ifndef LM_GENERATE_H
#define LM_GENERATE_H

#include <stdint.h>

#include "models/base/bb_error.h"
#include "models/lm/lm_bpe.h"
#include "models/lm/lm_model.h"

typedef struct lm_kv {
    int cap, len; /* positions the cache holds at most / now */
    int n_layers, d_model;
    float *k, *v;     /* (n_layers, cap, d_model) each */
    int scratch_rows; /* rows the scratch below can take */
    float *scratch;
} lm_kv;

lm_kv *lm_kv_new(const lm_model *lm, int cap); /* cap <= context */
void lm_kv_free(lm_kv *kv);
void lm_kv_reset(lm_kv *kv);
void lm_kv_copy(lm_kv *dst, const lm_kv *src); /* same model and cap */
/* Appends n positions: ids (n), inject_row (n; -1 or an index into inject_vec) or NULL.
 * Writes logits of every new position (n, V) when all_logits, else of the last one (V). */
void lm_kv_append(const lm_model *lm, lm_kv *kv, const int32_t *ids, int n,
                  const int32_t *inject_row, const float *inject_vec, float *logits,
                  int all_logits);

/* A prompt: ids, with optional injected vectors at the listed positions (as lm_input). */
typedef struct lm_prompt {
    const int32_t *ids;
    int n;
    int n_inject;
    const int32_t *inject_pos; /* positions in [0, n) */
    const float *inject_vec;   /* (n_inject, d_model) */
} lm_prompt;

typedef struct lm_gen_opts {
    int max_new;          /* new tokens at most (default 128) */
    float temperature;    /* 0 = greedy (default) */
    int top_k;            /* keep the k most likely tokens; 0 = all */
    float top_p;          /* keep the smallest set with this much mass; 1 = all */
    int beam;             /* > 1: beam search of that width (temperature ignored) */
    float length_penalty; /* beam scores: logprob / length^length_penalty (default 1) */
    uint64_t seed;
} lm_gen_opts;

lm_gen_opts lm_gen_defaults(void);
/* Generates for one prompt (stream index 0). tok gives <eos> and the special ids to ban. */
int lm_generate(lm_model *lm, const lm_bpe *tok, const lm_prompt *prompt, const lm_gen_opts *opts,
                lm_ids *out, bb_error *err);
/* n prompts; prompt i uses sampling stream index i; outs[i] receives its tokens. */
int lm_generate_batch(lm_model *lm, const lm_bpe *tok, const lm_prompt *prompts, int n,
                      const lm_gen_opts *opts, lm_ids *outs, bb_error *err);

#endif
