/* lm_encode — the frozen LM as a text encoder (DESIGN §6): sentence vectors for BEAT's
 * macro/micro supervision and per-token vectors for the BERTScore-style metric.
 *
 * A text is encoded as "<bos> text" (BPE, no other specials), truncated to the context.
 * Hidden states come from `layer` (lm_hidden): 0 = input embeddings, 1..L-1 = after that
 * many blocks, L = after the final LayerNorm (the last hidden layer, the default).
 *   sentence vector = mean of the layer's states over the text's tokens (not <bos>); a text
 *                     with no tokens gets the zero vector;
 *   token vectors   = the layer's state at each token of the text, in order.
 * Batched: texts are sorted by length and packed into padded batches of about
 * LM_CHUNK_ROWS positions per thread (padding goes at the end, which a causal model never
 * sees from earlier positions), so a text's vectors do not depend on the other texts of a
 * call beyond float rounding.
 *
 * For the metric (which never includes the LM, DESIGN §1), lm_text_encoder_embed feeds
 * tokens to a callback; the harness adapts it to a bertstyle_source in a few lines.
 *
 * Ownership: lm_token_vectors arrays are owned by the struct (lm_token_vectors_free).
 * The tokenizer's chunk cache is written, so calls must not share a tokenizer across threads.
 */
#ifndef LM_ENCODE_H
#define LM_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "models/lm/lm_bpe.h"
#include "models/lm/lm_model.h"

/* out: (n, d_model). lens may be NULL (NUL-terminated texts). */
void lm_sentence_vectors(lm_model *lm, lm_bpe *tok, const char *const *texts, const size_t *lens,
                         size_t n, int layer, float *out);

typedef struct lm_token_vectors {
    size_t n_texts;
    size_t *start;  /* n_texts + 1: text i owns tokens [start[i], start[i+1]) */
    int32_t *ids;   /* start[n_texts] token ids */
    float *vectors; /* (start[n_texts], dim) */
    int dim;
    size_t truncated; /* tokens past the context, over all texts (not embedded) */
} lm_token_vectors;

void lm_encode_tokens(lm_model *lm, lm_bpe *tok, const char *const *texts, const size_t *lens,
                      size_t n, int layer, lm_token_vectors *out);
void lm_token_vectors_free(lm_token_vectors *tv);

/* The metric adapter: the token vectors of one text, token by token. */
typedef void (*lm_token_sink)(void *ctx, const char *token, size_t len, const float *vector);
typedef struct lm_text_encoder {
    lm_model *model;
    lm_bpe *tok;
    int layer;
} lm_text_encoder;

/* Calls sink once per token (its BPE bytes, e.g. " food", and its d_model floats); returns
 * the number of tokens past the context that were left out. */
size_t lm_text_encoder_embed(const lm_text_encoder *enc, const char *text, size_t len,
                             lm_token_sink sink, void *ctx);

#endif
