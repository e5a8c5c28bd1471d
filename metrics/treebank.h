/* treebank — nltk 3.8's NLTKWordTokenizer (the improved Penn Treebank tokenizer), in C.
 *
 * treebank_tokenize(tb, text, len, lowercase, &tokens) returns exactly the tokens of
 *     NLTKWordTokenizer().tokenize(text.lower() if lowercase else text)
 * (no sentence splitting: a period is split off only at the end of the whole string).
 * nltk's tokenizer is a cascade of regex substitutions on the whole string (starting
 * quotes, punctuation, brackets, double dashes, ending quotes, contractions) followed by a
 * split on whitespace; each stage here is a hand-written pass that rewrites the string the
 * same way, including Python's Unicode \w, \d, \s and its non-overlapping, leftmost match
 * order. Passes whose trigger characters are absent are skipped, so plain prose costs
 * little more than the lower-casing and the final split.
 *
 * Ownership: a treebank holds reusable scratch buffers; the returned tokens point into them
 * and stay valid until the next call or treebank_free. One treebank per thread.
 * text must be valid UTF-8 (see uni_utf8_check); behaviour on invalid input is undefined.
 */
#ifndef BB_TREEBANK_H
#define BB_TREEBANK_H

#include <stddef.h>

#include "metrics/text_unicode.h"

typedef struct treebank treebank;

treebank *treebank_create(void);
void treebank_free(treebank *tb);
size_t treebank_tokenize(treebank *tb, const char *text, size_t len, int lowercase,
                         const text_span **tokens);

#endif
