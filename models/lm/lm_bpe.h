/* lm_bpe — byte-level BPE tokenizer of the frozen LM (DESIGN §6).
 *
 * Vocabulary layout (ids):
 *   0..255                   the 256 single bytes (so every byte string is encodable)
 *   256..256+n_merges-1      merge i joins the pair merges[i] into token 256+i
 *   then the special tokens  <bos> <eos> <pad> <U> <I> <EXPLAIN>, in that order
 *
 * Pre-tokenisation (GPT-2 in spirit, rules of our own) cuts text into chunks so merges
 * never cross a word boundary:
 *   - a run of letters (ASCII letters and every byte >= 0x80, so UTF-8 words stay whole),
 *     a run of digits, or a run of other punctuation/symbol bytes, each taking ONE leading
 *     space with it (" the", " 42", " ...");
 *   - an apostrophe followed by letters starts a letter chunk ("user" "'s");
 *   - a run of whitespace is its own chunk, except that when it ends in a space before a
 *     non-space, that last space goes to the next chunk;
 *   - chunks longer than LM_BPE_MAX_CHUNK bytes are cut (it bounds merge work per chunk).
 *
 * Training (lm_bpe_train) counts distinct chunks, then repeatedly merges the most frequent
 * adjacent pair, ties broken by the lowest (left id, right id): deterministic. Encoding
 * applies merges by rank within each chunk (GPT-2's rule) and caches the ids of every
 * distinct chunk, so repeated words cost one hash lookup.
 *
 * Special tokens are never produced by merges and never by lm_bpe_encode, even if the text
 * contains "<eos>": the caller adds them by id (lm_bpe_special), or opts in explicitly with
 * lm_bpe_encode_special, which recognises the special strings in a template.
 *
 * Round trip: lm_bpe_decode(lm_bpe_encode(s)) == s for every byte string s.
 *
 * File format (tokenizer.json, cJSON):
 *   {"format": "beatbench-bpe", "version": 1, "pretokenizer": "beatbench-v1",
 *    "vocab_size": V, "merges": [[a, b], ...], "specials": ["<bos>", ...]}
 *
 * Threads: encoding writes to the chunk cache, so one lm_bpe must not encode from two
 * threads at once; decoding and lookups are read-only.
 * Ownership: lm_bpe_train/lm_bpe_load return a tokenizer the caller frees with lm_bpe_free.
 */
#ifndef LM_BPE_H
#define LM_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "models/base/bb_error.h"
#include "models/lm/lm_hash.h"

#define LM_BPE_MAX_CHUNK 128

typedef enum lm_special {
    LM_BOS = 0,
    LM_EOS,
    LM_PAD,
    LM_USER,    /* "<U>" */
    LM_ITEM,    /* "<I>" */
    LM_EXPLAIN, /* "<EXPLAIN>" */
    LM_N_SPECIAL
} lm_special;

/* Growable id list; free with lm_ids_free. */
typedef struct lm_ids {
    int32_t *v;
    size_t n, cap;
} lm_ids;

void lm_ids_push(lm_ids *ids, int32_t id);
void lm_ids_free(lm_ids *ids);

typedef struct lm_bpe {
    int32_t n_merges;
    int32_t vocab_size; /* 256 + n_merges + LM_N_SPECIAL */
    int32_t *merges;    /* 2 * n_merges ids: (left, right) of merge i */
    /* Token bytes: token t is tok_bytes[tok_off[t] .. tok_off[t+1]) (specials: their name). */
    char *tok_bytes;
    size_t *tok_off; /* vocab_size + 1 entries */
    lm_u64map ranks; /* (left << 32 | right) -> merge index */
    lm_strmap cache; /* chunk bytes -> (offset << 8 | count) into cache_ids */
    int32_t *cache_ids;
    size_t cache_n, cache_cap;
} lm_bpe;

/* Trains on n_texts texts (lens[i] bytes each; lens may be NULL for NUL-terminated texts)
 * to vocab_size ids in all (bytes + merges + specials). Training stops early when no pair
 * occurs at least min_frequency (>= 1) times, giving a smaller vocabulary. */
int lm_bpe_train(const char *const *texts, const size_t *lens, size_t n_texts, int vocab_size,
                 int min_frequency, lm_bpe **out, bb_error *err);
void lm_bpe_free(lm_bpe *tok);

int32_t lm_bpe_special(const lm_bpe *tok, lm_special which);
/* 1 when id is one of the special tokens. */
int lm_bpe_is_special(const lm_bpe *tok, int32_t id);
/* Name of a special token ("<eos>"). */
const char *lm_bpe_special_name(lm_special which);

/* Appends the ids of len bytes of text to out (no special tokens). */
void lm_bpe_encode(lm_bpe *tok, const char *text, size_t len, lm_ids *out);
/* Same, but the exact strings "<bos>", "<eos>", "<pad>", "<U>", "<I>", "<EXPLAIN>" become
 * their special ids: for prompt templates the caller wrote on purpose. */
void lm_bpe_encode_special(lm_bpe *tok, const char *text, size_t len, lm_ids *out);
/* Decodes n ids into a malloc'd NUL-terminated string (*len_out bytes before the NUL, may
 * be NULL). Specials are written as their names when keep_special, else skipped. Ids out
 * of range are an assertion failure (callers pass ids the model produced). */
char *lm_bpe_decode(const lm_bpe *tok, const int32_t *ids, size_t n, int keep_special,
                    size_t *len_out);
/* The bytes of one token (not NUL-terminated). */
const char *lm_bpe_token_bytes(const lm_bpe *tok, int32_t id, size_t *len);

/* Splits text into pre-tokenisation chunks: returns the end of the chunk starting at pos. */
size_t lm_bpe_chunk_end(const char *text, size_t len, size_t pos);

/* Builds a tokenizer from a merge list (2 * n_merges ids; merge i may only use ids below
 * 256 + i — the caller validates, lm_bpe_parse does). */
lm_bpe *lm_bpe_from_merges(const int32_t *merges, int32_t n_merges);

int lm_bpe_save(const lm_bpe *tok, const char *path, bb_error *err);
int lm_bpe_load(const char *path, lm_bpe **out, bb_error *err);
/* Same from JSON text in memory; path is only used in messages. */
int lm_bpe_parse(const char *path, const char *json, lm_bpe **out, bb_error *err);

#endif
