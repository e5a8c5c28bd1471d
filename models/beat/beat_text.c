/* beat_text — text encoders for BEAT's supervision: the hashed bag-of-words stand-in and
 * the frozen-LM adapter. Interface and semantics in beat_text.h. */
#include "models/beat/beat_text.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "models/lm/lm_encode.h"

/* ------------------------------------------------------------------------------------------
 * Hashed bag of words */

static int hash_encode(void *ctx, const char *const *texts, size_t n, float *out,
                       bb_error *err) {
    const int dim = (int)(intptr_t)ctx;
    (void)err;
    for (size_t r = 0; r < n; r++) {
        float *row = out + r * (size_t)dim;
        memset(row, 0, (size_t)dim * sizeof *row);
        const unsigned char *s = (const unsigned char *)texts[r];
        while (s && *s) {
            while (*s && !isalnum(*s)) s++;
            if (!*s) break;
            uint64_t h = 0xCBF29CE484222325ULL; /* FNV-1a 64 of the lower-cased word */
            while (*s && isalnum(*s)) {
                h ^= (uint64_t)tolower(*s++);
                h *= 0x100000001B3ULL;
            }
            h ^= h >> 29; /* mix the high bits into the low ones the modulo keeps */
            h *= 0xBF58476D1CE4E5B9ULL;
            h ^= h >> 32;
            row[h % (uint64_t)dim] += (h >> 63) ? -1.0f : 1.0f;
        }
        double ss = 0.0;
        for (int c = 0; c < dim; c++) ss += (double)row[c] * row[c];
        if (ss > 0) {
            float inv = (float)(1.0 / sqrt(ss));
            for (int c = 0; c < dim; c++) row[c] *= inv;
        }
    }
    return BB_OK;
}

void beat_hash_encoder(beat_text_encoder *enc, int dim) {
    BB_ASSERT(dim >= 1, "beat_hash_encoder: width must be positive, got %d", dim);
    memset(enc, 0, sizeof *enc);
    enc->dim = dim;
    enc->encode = hash_encode;
    enc->ctx = (void *)(intptr_t)dim;
    snprintf(enc->name, sizeof enc->name, "hash-bow-%d (stand-in, not an LM)", dim);
}

/* ------------------------------------------------------------------------------------------
 * Frozen LM */

static int lm_encode(void *ctx, const char *const *texts, size_t n, float *out, bb_error *err) {
    beat_lm_ctx *c = ctx;
    (void)err;
    if (n == 0) return BB_OK;
    lm_sentence_vectors(c->lm, c->tok, texts, NULL, n, c->lm->arch.n_layers, out);
    return BB_OK;
}

void beat_lm_encoder(beat_text_encoder *enc, beat_lm_ctx *ctx) {
    BB_ASSERT(ctx && ctx->lm && ctx->tok, "beat_lm_encoder: needs an LM and its tokenizer");
    memset(enc, 0, sizeof *enc);
    enc->dim = ctx->lm->arch.d_model;
    enc->encode = lm_encode;
    enc->ctx = ctx;
    snprintf(enc->name, sizeof enc->name, "lm (d_model %d, %d layers, last hidden layer mean)",
             ctx->lm->arch.d_model, ctx->lm->arch.n_layers);
}

int beat_text_encode(const beat_text_encoder *enc, const char *const *texts, size_t n,
                     float *out, bb_error *err) {
    BB_ASSERT(enc && enc->encode && enc->dim >= 1, "beat_text_encode: encoder not set up");
    if (n == 0) return BB_OK;
    return enc->encode(enc->ctx, texts, n, out, err);
}
