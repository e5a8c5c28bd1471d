/* text_unicode — UTF-8 decoding and Python's character classes. See text_unicode.h. */
#include "metrics/text_unicode.h"

#include <string.h>

#include "models/base/bb_io.h"

static inline uint64_t load8_split(const char *s) {
    uint64_t x;
    memcpy(&x, s, 8);
    return x;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* ------------------------------------------------------------------------------------ */
/* UTF-8                                                                                */

int uni_utf8_check(const char *text, size_t n, size_t *bad_offset) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            goto bad;
        }
        if (i + len > n) goto bad;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* Python's decoder rejects overlong forms, UTF-16 surrogates and > U+10FFFF. */
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) goto bad;
        i += len;
    }
    return 1;
bad:
    if (bad_offset) *bad_offset = i;
    return 0;
}

uint32_t uni_decode(const char *text, size_t n, size_t i, size_t *len) {
    const unsigned char *s = (const unsigned char *)text;
    unsigned char c = s[i];
    if (c < 0x80 || i + 1 >= n) {
        *len = 1;
        return c;
    }
    if (c < 0xE0) {
        *len = 2;
        return ((uint32_t)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
    }
    if (c < 0xF0) {
        *len = 3;
        return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[i + 1] & 0x3F) << 6) |
               (s[i + 2] & 0x3F);
    }
    *len = 4;
    return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[i + 1] & 0x3F) << 12) |
           ((uint32_t)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
}

uint32_t uni_decode_before(const char *text, size_t i, size_t *start) {
    const unsigned char *s = (const unsigned char *)text;
    size_t j = i - 1;
    while (j > 0 && (s[j] & 0xC0) == 0x80) j--;
    size_t len;
    *start = j;
    return uni_decode(text, i, j, &len);
}

size_t uni_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ------------------------------------------------------------------------------------ */
/* Classes                                                                              */

static int in_ranges(const uni_range *r, size_t count, uint32_t cp) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int uni_is_word(uint32_t cp) {
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
               cp == '_';
    return in_ranges(uni_word_ranges, uni_word_count, cp);
}

int uni_is_digit(uint32_t cp) {
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    return in_ranges(uni_digit_ranges, uni_digit_count, cp);
}

int uni_is_space(uint32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
    return in_ranges(uni_space_ranges, uni_space_count, cp);
}

uint32_t uni_lower_cp(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    if (cp == 0x3A3) return 0x3C3;
    size_t lo = 0, hi = uni_lower_run_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const uni_lower_run *r = &uni_lower_runs[mid];
        if (cp < r->first)
            hi = mid;
        else if (cp > r->last)
            lo = mid + 1;
        else
            return (cp - r->first) % r->stride == 0 ? (uint32_t)((int32_t)cp + r->delta) : cp;
    }
    return cp;
}

/* Unicode's Final_Sigma context, as CPython's str.lower() applies it: a capital sigma
 * preceded by a cased letter (skipping case-ignorable marks) and not followed by one lowers
 * to final sigma U+03C2. */
static int sigma_is_final(const char *s, size_t n, size_t at, size_t len) {
    size_t i = at;
    int cased_before = 0;
    while (i > 0) {
        size_t start;
        uint32_t cp = uni_decode_before(s, i, &start);
        i = start;
        if (in_ranges(uni_case_ignorable_ranges, uni_case_ignorable_count, cp)) continue;
        cased_before = in_ranges(uni_cased_ranges, uni_cased_count, cp);
        break;
    }
    if (!cased_before) return 0;
    for (size_t j = at + len; j < n;) {
        size_t l;
        uint32_t cp = uni_decode(s, n, j, &l);
        j += l;
        if (in_ranges(uni_case_ignorable_ranges, uni_case_ignorable_count, cp)) continue;
        return !in_ranges(uni_cased_ranges, uni_cased_count, cp);
    }
    return 1;
}

size_t uni_lower(const char *s, size_t n, char *out) {
    size_t o = 0, i = 0;
    /* ASCII prefix eight bytes at a time (SWAR): +0x20 on bytes 'A'..'Z' */
    for (; i + 8 <= n; i += 8) {
        uint64_t x = load8_split(s + i);
        if (x & HIGHS) break;
        uint64_t at_least_a = x + (0x80 - 'A') * ONES; /* bit 7: byte >= 'A' */
        uint64_t beyond_z = x + (0x80 - 'Z' - 1) * ONES; /* bit 7: byte > 'Z' */
        x |= (at_least_a & ~beyond_z & HIGHS) >> 2;
        memcpy(out + i, &x, 8);
    }
    o = i;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            out[o++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
            i++;
            continue;
        }
        size_t len;
        uint32_t cp = uni_decode(s, n, i, &len);
        if (cp == 0x130) { /* LATIN CAPITAL I WITH DOT ABOVE -> "i" + COMBINING DOT ABOVE */
            out[o++] = 'i';
            o += uni_encode(0x307, out + o);
        } else if (cp == 0x3A3) {
            o += uni_encode(sigma_is_final(s, n, i, len) ? 0x3C2 : 0x3C3, out + o);
        } else {
            o += uni_encode(uni_lower_cp(cp), out + o);
        }
        i += len;
    }
    return o;
}

/* ------------------------------------------------------------------------------------ */
/* str.split()                                                                          */

/* Byte classes for the final split: 0 token byte, 1 ASCII whitespace, 2 non-ASCII lead or
 * continuation byte (decoded to ask about Unicode whitespace). */
static const unsigned char split_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1,
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static int space_at(const char *s, size_t n, size_t i, size_t *len) {
    unsigned char c = (unsigned char)s[i];
    *len = 1;
    if (split_class[c] != 2) return split_class[c];
    return uni_is_space(uni_decode(s, n, i, len));
}

/* Bytes below 0x21 or from 0x80 up get their high bit set; the lowest flagged byte is
 * always a real one (the borrow of x - 0x21.. only spills upwards), which is all the
 * scans below use. */
static inline uint64_t flag_space_or_high(uint64_t x) {
    return ((x - 0x21 * ONES) & ~x & HIGHS) | (x & HIGHS);
}

size_t uni_split_whitespace(const char *s, size_t n, text_span **spans, size_t *cap) {
    const unsigned char *u = (const unsigned char *)s;
    size_t count = 0, i = 0, len;
    while (i < n) {
        while (i < n && split_class[u[i]] == 1) i++;
        if (i >= n) break;
        if (space_at(s, n, i, &len)) {
            i += len;
            continue;
        }
        size_t start = i;
        for (;;) {
            /* jump eight token bytes at a time to the next byte that might end the token */
            while (i + 8 <= n) {
                uint64_t m = flag_space_or_high(load8_split(s + i));
                if (m) {
                    i += (size_t)__builtin_ctzll(m) >> 3;
                    break;
                }
                i += 8;
            }
            while (i < n && split_class[u[i]] == 0) i++;
            if (i >= n || space_at(s, n, i, &len)) break;
            i += len;
        }
        if (count == *cap) {
            *cap = *cap ? 2 * *cap : 64;
            *spans = bb_realloc(*spans, *cap * sizeof **spans);
        }
        (*spans)[count].ptr = s + start;
        (*spans)[count].len = (uint32_t)(i - start);
        count++;
    }
    return count;
}

