/* text_vocab — interns token strings into dense integer ids (0, 1, 2, ...).
 *
 * The text metrics compare tokens as ids: n-gram counting and LCS then work on int32
 * arrays instead of strings. Ids are assigned in order of first sight and never change.
 *
 * API
 *   text_vocab_create() / text_vocab_free(v)
 *   text_vocab_intern(v, s, len)   id of s[0..len), adding it when new
 *   text_vocab_find(v, s, len)     id, or -1 when absent
 *   text_vocab_str(v, id, &len)    the NUL-terminated string of id; the pointer stays valid
 *                                  until text_vocab_free (strings live in fixed chunks)
 *   text_vocab_size(v)             number of ids
 *   text_vocab_hash(s, len)        the 64-bit string hash used (exposed for n-gram keys)
 * Not thread-safe: one vocabulary per thread, or external locking.
 *
 * text_span_ids is the light variant for comparing tokens within one pair of texts: ids for
 * spans that stay alive until the next reset (nothing is copied), numbered from 0 again
 * after each O(1) reset, so they are small and cache-resident.
 *   text_span_ids_create() / text_span_ids_free(t)
 *   text_span_ids_reset(t)            forget all spans
 *   text_span_ids_get(t, s, len)      id of s[0..len) among the spans since the last reset
 *   text_span_ids_count(t)            number of distinct spans since the last reset
 */
#ifndef BB_TEXT_VOCAB_H
#define BB_TEXT_VOCAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct text_vocab text_vocab;

text_vocab *text_vocab_create(void);
void text_vocab_free(text_vocab *v);
int32_t text_vocab_intern(text_vocab *v, const char *s, size_t len);
int32_t text_vocab_find(const text_vocab *v, const char *s, size_t len);
const char *text_vocab_str(const text_vocab *v, int32_t id, size_t *len);
size_t text_vocab_size(const text_vocab *v);
uint64_t text_vocab_hash(const char *s, size_t len);

typedef struct text_span_ids text_span_ids;

text_span_ids *text_span_ids_create(void);
void text_span_ids_free(text_span_ids *t);
void text_span_ids_reset(text_span_ids *t);
int32_t text_span_ids_get(text_span_ids *t, const char *s, size_t len);
size_t text_span_ids_count(const text_span_ids *t);

#endif
