/* text_tokenize — the three tokenizers of the text metrics, and token-id encoding.
 *
 *   whitespace  Python's str.split() (Unicode whitespace), optionally after str.lower()
 *   treebank    nltk's NLTKWordTokenizer (treebank.h), optionally after str.lower()
 *   rouge       rouge_score's tokenize: str.lower(), every run of characters outside
 *               [a-z0-9] becomes one separator (so "café" gives "caf"), split; the optional
 *               Porter stemming of tokens longer than 3 characters is done by the encoder
 *
 * A tokenizer owns scratch buffers; tokens point into them until the next call.
 * A text_encoder turns text into int32 ids of a shared text_vocab, optionally replacing
 * each token longer than 3 characters by its Porter stem (rouge_score's rule); stems are
 * cached per distinct token id, so each distinct word is stemmed once.
 * Input text must be valid UTF-8 (callers check with uni_utf8_check when reading files).
 * Neither object is thread-safe; use one per thread.
 */
#ifndef BB_TEXT_TOKENIZE_H
#define BB_TEXT_TOKENIZE_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/text_unicode.h"
#include "metrics/text_vocab.h"

typedef enum { TOKENIZER_WHITESPACE, TOKENIZER_TREEBANK, TOKENIZER_ROUGE } tokenizer_kind;

/* "whitespace" | "treebank" | "rouge"; returns 0 on success, -1 for an unknown name. */
int tokenizer_kind_parse(const char *name, tokenizer_kind *out);
const char *tokenizer_kind_name(tokenizer_kind kind);

typedef struct tokenizer tokenizer;

/* lowercase applies to whitespace and treebank; the rouge tokenizer always lower-cases. */
tokenizer *tokenizer_create(tokenizer_kind kind, int lowercase);
void tokenizer_free(tokenizer *t);
size_t tokenizer_run(tokenizer *t, const char *text, size_t len, const text_span **tokens);

typedef struct text_encoder text_encoder;

/* vocab is shared and not owned; it must outlive the encoder. */
text_encoder *text_encoder_create(tokenizer_kind kind, int lowercase, int stem, text_vocab *vocab);
void text_encoder_free(text_encoder *e);
/* Ids of text's tokens, valid until the next call. */
size_t text_encoder_encode(text_encoder *e, const char *text, size_t len, const int32_t **ids);
/* The (cached) id of token id's Porter stem, or id itself for tokens of <= 3 characters. */
int32_t text_encoder_stem_id(text_encoder *e, int32_t id);

#endif
