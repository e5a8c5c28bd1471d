/* beat_text — the text encoder BEAT's semantic supervision reads (DESIGN §4.4-4.5, §6).
 *
 * Stage 1 needs d-wide vectors for training explanations (macro InfoNCE) and for interest
 * phrases (micro masked reconstruction), d = the frozen LM's d_model. It reads them through
 * this small interface so the method can be tested without an LM:
 *
 *     beat_text_encoder enc;
 *     beat_hash_encoder(&enc, 64);                  // deterministic stand-in (tests)
 *     beat_lm_ctx lc = {lm, tok};
 *     beat_lm_encoder(&enc, &lc);                   // the frozen LM (models/lm)
 *     beat_text_encode(&enc, texts, n, out, &err);  // out: (n, enc.dim) floats
 *
 * The LM encoder gives lm_encode.h's sentence vectors: the mean of the last hidden layer
 * (after the final LayerNorm) over the text's tokens.
 *
 * The stand-in ("hash-bow") is a hashed bag of words (feature hashing, Weinberger et al.
 * 2009): each lower-cased alphanumeric word adds +-1 at hash(word) mod d, the sum is
 * L2-normalised; a text without words gives the zero vector. It is NOT a language model —
 * texts sharing words get similar vectors, nothing more — and manifests name it as such.
 *
 * Ownership: an encoder borrows its context (the beat_lm_ctx, LM and tokenizer must outlive
 * it); there is nothing to free. The LM encoder writes the tokenizer's cache: one call at a
 * time.
 */
#ifndef BEAT_TEXT_H
#define BEAT_TEXT_H

#include <stddef.h>

#include "models/base/bb_error.h"
#include "models/lm/lm_bpe.h"
#include "models/lm/lm_model.h"

/* Writes n rows of dim floats to out. Returns BB_OK or BB_ERR with a one-line message. */
typedef int (*beat_encode_fn)(void *ctx, const char *const *texts, size_t n, float *out,
                              bb_error *err);

typedef struct beat_text_encoder {
    int dim;               /* d: width of every vector */
    beat_encode_fn encode;
    void *ctx;             /* borrowed */
    char name[96];         /* for manifests: "hash-bow-64 (stand-in, not an LM)", "lm" */
} beat_text_encoder;

/* The deterministic stand-in of width dim (>= 1). */
void beat_hash_encoder(beat_text_encoder *enc, int dim);

/* The frozen LM: sentence vectors from the last hidden layer. lm and tok are borrowed. */
typedef struct beat_lm_ctx {
    lm_model *lm;
    lm_bpe *tok;
} beat_lm_ctx;
void beat_lm_encoder(beat_text_encoder *enc, beat_lm_ctx *ctx);

/* enc->encode with an argument check; n == 0 is fine. */
int beat_text_encode(const beat_text_encoder *enc, const char *const *texts, size_t n,
                     float *out, bb_error *err);

#endif
