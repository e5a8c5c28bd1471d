/* text_unicode — UTF-8 and the Unicode character classes the reference tools use.
 *
 * nltk's tokenizer and rouge_score are Python: their regexes see code points, `\w`, `\d`,
 * `\s` are Unicode classes, and text is lower-cased with str.lower(). To tokenize exactly as
 * they do, the C tokenizers work on UTF-8 bytes and ask this module about code points.
 * The class tables are generated from Python 3.11 (Unicode 14.0) by
 * tests/fixtures/text/gen_unicode_tables.py into text_unicode_tables.c.
 *
 * API
 *   uni_utf8_check(s, n, &bad)      1 when s[0..n) is valid UTF-8 (as Python's decoder: no
 *                                    overlongs, surrogates or values above U+10FFFF); else 0
 *                                    and *bad = offset of the first bad byte
 *   uni_decode(s, n, i, &len)        code point starting at byte i of valid UTF-8
 *   uni_decode_before(s, i, &start)  code point ending just before byte i (i > 0)
 *   uni_encode(cp, out)              UTF-8 bytes of cp (1..4), returns the count
 *   uni_is_word / uni_is_digit / uni_is_space     re's \w, \d, \s (and str.isspace())
 *   uni_split_whitespace(s, n, &spans, &cap)   str.split(): tokens between runs of Unicode
 *                                    whitespace, appended to a growable span array (spans
 *                                    point into s); returns the count
 *   uni_lower(s, n, out)             str.lower() of valid UTF-8 s; out must hold
 *                                    UNI_LOWER_CAPACITY(n) bytes; returns the length written
 *                                    (incl. U+0130 -> "i\u0307" and the final-sigma rule)
 * Everything is pure and thread-safe.
 */
#ifndef BB_TEXT_UNICODE_H
#define BB_TEXT_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* A token: bytes inside a buffer owned by whoever produced it (not NUL-terminated). */
typedef struct text_span {
    const char *ptr;
    uint32_t len;
} text_span;

/* str.lower() grows UTF-8 by at most half (two-byte letters with three-byte lowercase). */
#define UNI_LOWER_CAPACITY(n) ((n) + (n) / 2 + 4)

typedef struct uni_range {
    uint32_t lo, hi; /* inclusive */
} uni_range;

typedef struct uni_lower_run {
    uint32_t first, last; /* inclusive; members are first + k*stride */
    uint32_t stride;
    int32_t delta; /* lowercase = cp + delta */
} uni_lower_run;

int uni_utf8_check(const char *s, size_t n, size_t *bad_offset);
uint32_t uni_decode(const char *s, size_t n, size_t i, size_t *len);
uint32_t uni_decode_before(const char *s, size_t i, size_t *start);
size_t uni_encode(uint32_t cp, char *out);

int uni_is_word(uint32_t cp);
int uni_is_digit(uint32_t cp);
int uni_is_space(uint32_t cp);

size_t uni_lower(const char *s, size_t n, char *out);
size_t uni_split_whitespace(const char *s, size_t n, text_span **spans, size_t *cap);
/* Simple (one code point) lowercase mapping; U+0130 and U+03A3 need uni_lower's context. */
uint32_t uni_lower_cp(uint32_t cp);

/* Generated tables (text_unicode_tables.c). */
extern const uni_range uni_word_ranges[];
extern const size_t uni_word_count;
extern const uni_range uni_digit_ranges[];
extern const size_t uni_digit_count;
extern const uni_range uni_space_ranges[];
extern const size_t uni_space_count;
extern const uni_range uni_cased_ranges[];
extern const size_t uni_cased_count;
extern const uni_range uni_case_ignorable_ranges[];
extern const size_t uni_case_ignorable_count;
extern const uni_lower_run uni_lower_runs[];
extern const size_t uni_lower_run_count;

#endif
