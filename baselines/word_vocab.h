/* word_vocab — the word-level vocabulary of the from-scratch explanation baselines (PETER,
 * NRT; DESIGN §7), built from TRAIN-row explanations only (DESIGN §2: no text of a
 * valid/test pair may reach any vocabulary statistic).
 *
 * Tokenizer (deliberately simple, and invertible enough for the text metrics):
 *   - ASCII letters are lower-cased; other bytes (UTF-8 included) are kept as they are;
 *   - ASCII whitespace separates tokens;
 *   - each of  . , ! ? ; : ( ) [ ] { } "  is a token of its own, except '.' and ','
 *     between two digits ("3.5", "1,000" stay one token);
 *   - apostrophes, hyphens, slashes and everything else stay inside words ("don't",
 *     "well-known", "user's").
 * Detokenising joins tokens with one space, with no space before  . , ! ? ; : ) ] }  and
 * none after  ( [ { , so "great food , and fast ." comes back as "great food, and fast.".
 *
 * Vocabulary (PETER, Li et al. ACL 2021, keeps the 20,000 most frequent words): ids
 * 0..3 are <pad> <unk> <bos> <eos>; then the max_words most frequent train words, by count
 * (descending), ties in byte order, so the ids do not depend on row order or hashing.
 * A text token spelled like a special ("<eos>") is counted and encoded as <unk>.
 *
 *   bb_word_vocab v;  bb_word_vocab_build(&ex, &split, 20000, &v);
 *   n = bb_word_vocab_encode(&v, text, ids, cap);      // ids of up to cap tokens
 *   char *s = bb_word_vocab_decode(&v, ids, n);        // malloc'd, free()
 *   bb_word_vocab_free(&v);
 *
 * Ownership: the vocabulary owns its strings (a text_vocab, metrics/text_vocab.h) and its
 * counts; bb_word_vocab_free releases them. Not thread-safe for encoding (one scratch
 * buffer); decoding and lookups are read-only.
 */
#ifndef BB_WORD_VOCAB_H
#define BB_WORD_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "metrics/text_vocab.h"

/* One token of a text: bytes [start, start + len) of the lower-cased copy. */
typedef struct bb_word_span {
    size_t start, len;
} bb_word_span;

enum { BB_WORD_PAD = 0, BB_WORD_UNK = 1, BB_WORD_BOS = 2, BB_WORD_EOS = 3, BB_WORD_SPECIALS = 4 };
#define BB_WORD_VOCAB_DEFAULT_MAX 20000

typedef struct bb_word_vocab {
    int32_t size;       /* specials + words */
    text_vocab *words;  /* owned; id i is token i */
    int64_t *count;     /* owned, [size]: train occurrences (0 for specials) */
    int64_t train_tokens; /* tokens counted over train explanations */
    int32_t distinct_train_words; /* before the max_words cut */
    char *scratch;      /* owned lower-cased copy used by encode */
    size_t scratch_cap;
    bb_word_span *spans;     /* owned token spans used by encode */
    size_t spans_cap;
} bb_word_vocab;

/* Lower-cases text into *buf (grown as needed, caller-owned, free()) and splits it into
 * *spans (grown as needed, caller-owned). Returns the token count. */
size_t bb_word_tokenize(const char *text, char **buf, size_t *buf_cap, bb_word_span **spans,
                        size_t *spans_cap);

/* Vocabulary of the train rows of split (split->part[r] == BB_SPLIT_TRAIN) of ex.
 * max_words >= 1 regular words at most. */
void bb_word_vocab_build(const bb_explanations *ex, const bb_split *split, int max_words,
                         bb_word_vocab *out);
/* Same from an explicit list of training texts (tests, other corpora). */
void bb_word_vocab_build_texts(const char *const *texts, size_t n, int max_words,
                               bb_word_vocab *out);
void bb_word_vocab_free(bb_word_vocab *v);

/* Id of a (lower-case) token, or BB_WORD_UNK. */
int32_t bb_word_vocab_id(const bb_word_vocab *v, const char *word, size_t len);
/* The token of id (NUL-terminated, owned by the vocabulary). */
const char *bb_word_vocab_word(const bb_word_vocab *v, int32_t id);
/* Ids of text's first cap tokens into ids; returns how many were written (no <bos>/<eos>).
 * *truncated (may be NULL) is set when the text had more than cap tokens. */
size_t bb_word_vocab_encode(bb_word_vocab *v, const char *text, int32_t *ids, size_t cap,
                            int *truncated);
/* Space-joined text of ids[0..n) with the punctuation spacing above; <pad>/<bos>/<eos> are
 * skipped, <unk> is written as "<unk>". Returns a malloc'd string (free()). */
char *bb_word_vocab_decode(const bb_word_vocab *v, const int32_t *ids, size_t n);

#endif
