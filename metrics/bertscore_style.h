/* bertscore_style — BERTScore-style similarity of candidate and reference texts.
 *
 * Greedy matching of L2-normalised token vectors, after Zhang et al. (2020), "BERTScore:
 * Evaluating Text Generation with BERT", section 3 — but with whatever token vectors a
 * source provides (a GloVe-format file now, the frozen LM's hidden states later), so it is
 * called BERTScore-style and never BERTScore. For a pair with candidate tokens c_i and
 * reference tokens r_j (only tokens that have a vector):
 *   P = sum_i w(c_i) max_j cos(c_i, r_j) / sum_i w(c_i)
 *   R = sum_j w(r_j) max_i cos(c_i, r_j) / sum_j w(r_j)
 *   F = 2PR / (P + R)                         (0 when P + R = 0)
 * with w = 1 (uniform) or idf weights w(t) = log((M + 1) / (df(t) + 1)), M the number of
 * references and df(t) the number of references containing t (a word no reference has gets
 * log(M + 1)). A pair where either side has no token with a vector scores 0; a side whose
 * weights sum to 0 scores 0; an all-zero vector has cosine 0 with everything. Optional baseline rescaling maps each score s to
 * (s - b) / (1 - b) (Zhang et al., section 6). Corpus values are means over pairs.
 *
 * Token vectors come through bertstyle_source, so this module never includes the LM:
 *   embed(ctx, text, len, out, err) appends the text's tokens that have vectors (strings for
 *   idf, and dim floats each) to out with bertstyle_embedding_push, and counts the others in
 *   out->skipped.
 * bertstyle_lookup_create(fn, ctx, dim, name) adapts a per-word lookup (word -> vector or
 * NULL) into a source that splits the lower-cased text on whitespace (glove_vectors.h).
 *
 * The similarity matrix is one dgemm per pair (OpenBLAS), in double precision.
 */
#ifndef BB_BERTSCORE_STYLE_H
#define BB_BERTSCORE_STYLE_H

#include <stddef.h>
#include <stdint.h>

#include "models/base/bb_error.h"

typedef struct bertstyle_embedding {
    int dim;
    size_t count;   /* tokens with a vector */
    size_t skipped; /* tokens without one */
    float *vectors; /* count x dim */
    char *bytes;    /* token strings, back to back */
    size_t *offsets;
    uint32_t *lens;
    size_t vec_cap, bytes_len, bytes_cap, tok_cap;
} bertstyle_embedding;

void bertstyle_embedding_init(bertstyle_embedding *e, int dim);
void bertstyle_embedding_clear(bertstyle_embedding *e);
void bertstyle_embedding_push(bertstyle_embedding *e, const char *token, size_t len,
                              const float *vector);
void bertstyle_embedding_free(bertstyle_embedding *e);

typedef struct bertstyle_source {
    void *ctx;
    int dim;
    const char *name; /* for the score signature, e.g. "glove" */
    int (*embed)(void *ctx, const char *text, size_t len, bertstyle_embedding *out,
                 bb_error *err);
} bertstyle_source;

typedef const float *(*bertstyle_lookup_fn)(void *ctx, const char *word, size_t len);
typedef struct bertstyle_lookup bertstyle_lookup;
bertstyle_lookup *bertstyle_lookup_create(bertstyle_lookup_fn fn, void *ctx, int dim,
                                          const char *name);
void bertstyle_lookup_free(bertstyle_lookup *l);
/* The source view of an adapter (valid while the adapter lives). */
bertstyle_source bertstyle_lookup_source(bertstyle_lookup *l);

typedef struct bertstyle_options {
    int idf;          /* idf weights instead of uniform */
    int rescale;      /* apply the baseline */
    double baseline;  /* b < 1 */
} bertstyle_options;

typedef struct bertstyle_result {
    size_t n;
    double precision, recall, f1;   /* means over pairs */
    double *pair_p, *pair_r, *pair_f; /* per pair, owned */
    size_t tokens, skipped;           /* over all texts: with / without a vector */
} bertstyle_result;

int bertstyle_score(const bertstyle_source *src, const char *const *refs, const size_t *ref_lens,
                    const char *const *cands, const size_t *cand_lens, size_t n,
                    const bertstyle_options *opt, bertstyle_result *out, bb_error *err);
void bertstyle_result_free(bertstyle_result *r);

#endif
