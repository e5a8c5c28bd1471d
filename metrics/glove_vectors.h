/* glove_vectors — word vectors from a GloVe-format text file, for the BERTScore-style metric.
 *
 * Format: one word per line, "word v1 v2 ... vd", fields separated by spaces or tabs. All
 * lines must have the same d (a line with another count is an error naming FILE:LINE); a
 * first line of exactly two integers is taken as a word2vec header ("count dim") and
 * skipped; blank lines are ignored; a repeated word keeps its first vector. Words are used
 * as written (GloVe's files are lower-case; the metric lower-cases text before lookup).
 *
 *   glove_load(path, &g, &err) / glove_free(g)
 *   glove_dim(g), glove_size(g)
 *   glove_lookup(g, word, len)   the word's d floats, or NULL
 *   glove_source_create(g)       a lookup adapter over g (whitespace tokens of the
 *                                lower-cased text); free it with bertstyle_lookup_free and
 *                                get the source with bertstyle_lookup_source
 * A loaded table is read-only and may be shared between threads; a source is not.
 */
#ifndef BB_GLOVE_VECTORS_H
#define BB_GLOVE_VECTORS_H

#include <stddef.h>

#include "metrics/bertscore_style.h"
#include "models/base/bb_error.h"

typedef struct glove_vectors glove_vectors;

int glove_load(const char *path, glove_vectors **out, bb_error *err);
void glove_free(glove_vectors *g);
int glove_dim(const glove_vectors *g);
size_t glove_size(const glove_vectors *g);
const float *glove_lookup(const glove_vectors *g, const char *word, size_t len);

bertstyle_lookup *glove_source_create(glove_vectors *g);

#endif
