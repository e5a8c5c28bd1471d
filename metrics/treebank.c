/* treebank — nltk's NLTKWordTokenizer as a cascade of hand-written passes. See treebank.h.
 *
 * Each pass below names the nltk 3.8 rule (nltk/tokenize/destructive.py) it reproduces.
 * A pass reads the current string and either leaves it alone or writes the rewritten
 * string into the other buffer (an "emitter" copies unchanged stretches lazily, so a pass
 * without matches copies nothing). Python's re.sub scans left to right and never lets
 * matches overlap; the passes keep that order, which matters for rules like ",," or "a' ' ".
 */
#include "metrics/treebank.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

struct treebank {
    char *buf[2];
    size_t cap[2];
    int cur;  /* buffer holding the current string */
    size_t n; /* its length */
    text_span *tokens;
    size_t token_cap;
    /* Bytes that may occur in the current string (a superset: passes only insert spaces and
     * the quote characters they mark), used to skip passes that cannot match. */
    unsigned char present[256];
    int has_double_nmt; /* "nn", "mm" or "tt": every contraction except d'ye and more'n */
};

treebank *treebank_create(void) { return bb_calloc(1, sizeof(treebank)); }

void treebank_free(treebank *tb) {
    if (!tb) return;
    free(tb->buf[0]);
    free(tb->buf[1]);
    free(tb->tokens);
    free(tb);
}

/* ------------------------------------------------------------------------------------ */
/* Emitter: rewrites buf[cur] into buf[1 - cur]                                          */

typedef struct emitter {
    treebank *tb;
    const char *in;
    size_t n;
    size_t done; /* input bytes consumed (copied or replaced) */
    size_t o;    /* output length */
    int changed;
} emitter;

static void em_init(emitter *e, treebank *tb) {
    e->tb = tb;
    e->in = tb->buf[tb->cur];
    e->n = tb->n;
    e->done = 0;
    e->o = 0;
    e->changed = 0;
}

static void em_put(emitter *e, const char *s, size_t k) {
    int dst = 1 - e->tb->cur;
    if (e->o + k > e->tb->cap[dst]) {
        size_t cap = 2 * e->tb->cap[dst];
        if (cap < e->o + k) cap = e->o + k;
        if (cap < 256) cap = 256;
        e->tb->buf[dst] = bb_realloc(e->tb->buf[dst], cap);
        e->tb->cap[dst] = cap;
    }
    memcpy(e->tb->buf[dst] + e->o, s, k);
    e->o += k;
}

static void em_str(emitter *e, const char *s) { em_put(e, s, strlen(s)); }

/* Copies the unchanged input up to upto. */
static void em_copy_to(emitter *e, size_t upto) {
    e->changed = 1;
    em_put(e, e->in + e->done, upto - e->done);
    e->done = upto;
}

/* Replaces in[i, j) by " " in[i, j) " " (the many `r" \g<0> "` rules). */
static void em_pad(emitter *e, size_t i, size_t j) {
    em_copy_to(e, i);
    em_put(e, " ", 1);
    em_put(e, e->in + i, j - i);
    em_put(e, " ", 1);
    e->done = j;
}

static void em_finish(emitter *e) {
    if (!e->changed) return;
    em_copy_to(e, e->n);
    e->tb->cur = 1 - e->tb->cur;
    e->tb->n = e->o;
}

/* ------------------------------------------------------------------------------------ */
/* Character helpers                                                                    */

static int word_at(const char *s, size_t n, size_t i) {
    if (i >= n) return 0;
    size_t len;
    return uni_is_word(uni_decode(s, n, i, &len));
}

static int word_before(const char *s, size_t i) {
    if (i == 0) return 0;
    size_t start;
    return uni_is_word(uni_decode_before(s, i, &start));
}

/* Python's (?i) match of one code point against an ASCII letter, including the non-ASCII
 * characters that fold to it (dotless/dotted i, long s, Kelvin sign). */
static int ci_letter(uint32_t cp, char lower) {
    if (cp == (uint32_t)lower || cp + 32 == (uint32_t)lower) return 1;
    if (lower == 'i') return cp == 0x130 || cp == 0x131;
    if (lower == 's') return cp == 0x17F;
    if (lower == 'k') return cp == 0x212A;
    return 0;
}

/* Matches pat (lowercase letters case-insensitively, other characters exactly) at byte i;
 * returns the end offset, or 0 on mismatch. */
static size_t match_ci(const char *s, size_t n, size_t i, const char *pat) {
    for (const char *p = pat; *p; p++) {
        if (i >= n) return 0;
        size_t len;
        uint32_t cp = uni_decode(s, n, i, &len);
        int ok = (*p >= 'a' && *p <= 'z') ? ci_letter(cp, *p) : cp == (uint32_t)(unsigned char)*p;
        if (!ok) return 0;
        i += len;
    }
    return i;
}

static int is_p1_closer(uint32_t cp) { /* [\]\)}>"\'»”’ ] */
    return cp == ']' || cp == ')' || cp == '}' || cp == '>' || cp == '"' || cp == '\'' ||
           cp == ' ' || cp == 0xBB || cp == 0x201D || cp == 0x2019;
}

static int is_p6_closer(uint32_t cp) { /* [\]\)}>"\'] */
    return cp == ']' || cp == ')' || cp == '}' || cp == '>' || cp == '"' || cp == '\'';
}

#define HAS(tb, c) ((tb)->present[(unsigned char)(c)])

/* ------------------------------------------------------------------------------------ */
/* STARTING_QUOTES                                                                      */

/* ([«“‘„]|[`]+) -> " \1 " */
static void starting_quote_chars(treebank *tb) {
    if (!HAS(tb, '`') && !HAS(tb, 0xC2) && !HAS(tb, 0xE2)) return;
    emitter e;
    em_init(&e, tb);
    const unsigned char *s = (const unsigned char *)e.in;
    size_t n = e.n;
    for (size_t i = 0; i < n;) {
        size_t j = 0;
        if (s[i] == '`') {
            for (j = i; j < n && s[j] == '`'; j++) {
            }
        } else if (s[i] == 0xC2 && i + 1 < n && s[i + 1] == 0xAB) {
            j = i + 2;
        } else if (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x80 &&
                   (s[i + 2] == 0x9C || s[i + 2] == 0x98 || s[i + 2] == 0x9E)) {
            j = i + 3;
        }
        if (j) {
            em_pad(&e, i, j);
            i = j;
        } else {
            i++;
        }
    }
    em_finish(&e);
}

/* ^\" -> `` ; then (``) -> " \1 " */
static void starting_double_quote(treebank *tb) {
    if (tb->n > 0 && tb->buf[tb->cur][0] == '"') {
        emitter e;
        em_init(&e, tb);
        em_copy_to(&e, 0);
        em_str(&e, "``");
        e.done = 1;
        em_finish(&e);
        tb->present['`'] = 1;
    }
    if (!HAS(tb, '`')) return;
    emitter e;
    em_init(&e, tb);
    for (size_t i = 0; i + 1 < e.n;) {
        if (e.in[i] == '`' && e.in[i + 1] == '`') {
            em_pad(&e, i, i + 2);
            i += 2;
        } else {
            i++;
        }
    }
    em_finish(&e);
}

/* ([ \(\[{<])(\"|\'{2}) -> "\1 `` " */
static void opening_quote_after_space(treebank *tb) {
    if (!HAS(tb, '"') && !HAS(tb, '\'')) return;
    emitter e;
    em_init(&e, tb);
    const char *s = e.in;
    size_t n = e.n;
    for (size_t i = 0; i + 1 < n;) {
        char c = s[i];
        size_t j = 0;
        if (c == ' ' || c == '(' || c == '[' || c == '{' || c == '<') {
            if (s[i + 1] == '"')
                j = i + 2;
            else if (s[i + 1] == '\'' && i + 2 < n && s[i + 2] == '\'')
                j = i + 3;
        }
        if (j) {
            em_copy_to(&e, i + 1);
            em_str(&e, " `` ");
            e.done = j;
            i = j;
        } else {
            i++;
        }
    }
    if (e.changed) tb->present['`'] = 1;
    em_finish(&e);
}

/* (?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b -> "\1 \2": a quote before a one-letter word. */
static void quote_before_single_letter(treebank *tb) {
    if (!HAS(tb, '\'')) return;
    emitter e;
    em_init(&e, tb);
    const char *s = e.in;
    size_t n = e.n;
    for (size_t i = 0; i + 1 < n;) {
        if (s[i] != '\'') {
            i++;
            continue;
        }
        size_t l1;
        uint32_t c1 = uni_decode(s, n, i + 1, &l1);
        size_t k = i + 1 + l1;
        int blocked = ci_letter(c1, 'm') || ci_letter(c1, 't') || ci_letter(c1, 's') ||
                      ci_letter(c1, 'd') || ci_letter(c1, 'n');
        if (!blocked && k < n) {
            size_t l2;
            uint32_t c2 = uni_decode(s, n, k, &l2);
            blocked = ((ci_letter(c1, 'r') || ci_letter(c1, 'v')) && ci_letter(c2, 'e')) ||
                      (ci_letter(c1, 'l') && ci_letter(c2, 'l'));
        }
        if (!blocked && uni_is_word(c1) && !word_at(s, n, k)) {
            em_copy_to(&e, i);
            em_str(&e, "' ");
            em_put(&e, s + i + 1, l1);
            e.done = k;
            i = k;
        } else {
            i++;
        }
    }
    em_finish(&e);
}

/* ------------------------------------------------------------------------------------ */
/* PUNCTUATION                                                                          */

/* The final period: ([^\.])(\.)([closers]*)\s*$ -> "\1 \2 \3 " (spaced = 1, first rule)
 * or "\1 \2\3 " (spaced = 0, the later rule with fewer closers). The match is anchored at
 * the end, so it is found from the back: strip trailing whitespace, then closers; what is
 * left must end in a period that does not follow another period. Only one period can
 * qualify, because any later period would have to be a closer or whitespace. */
static void final_period(treebank *tb, int spaced) {
    if (!HAS(tb, '.')) return;
    int (*closer)(uint32_t) = spaced ? is_p1_closer : is_p6_closer;
    const char *s = tb->buf[tb->cur];
    size_t n = tb->n, e = n, q, start;
    while (e > 0 && uni_is_space(uni_decode_before(s, e, &start))) e = start;
    q = e;
    while (q > 0 && closer(uni_decode_before(s, q, &start))) q = start;
    if (q < 2 || s[q - 1] != '.') return;
    if (uni_decode_before(s, q - 1, &start) == '.') return;
    size_t a = q; /* \3: the longest run of closers after the period */
    while (a < n) {
        size_t len;
        if (!closer(uni_decode(s, n, a, &len))) break;
        a += len;
    }
    emitter em;
    em_init(&em, tb);
    em_copy_to(&em, q - 1);
    em_str(&em, spaced ? " . " : " .");
    em_put(&em, s + q, a - q);
    em_str(&em, " ");
    em.done = n; /* the trailing whitespace is part of the match */
    em_finish(&em);
}

/* ([:,])([^\d]) -> " \1 \2" ; then ([:,])$ -> " \1 " */
static void commas_and_colons(treebank *tb) {
    if (!HAS(tb, ',') && !HAS(tb, ':')) return;
    emitter e;
    em_init(&e, tb);
    const char *s = e.in;
    size_t n = e.n;
    for (size_t i = 0; i + 1 < n;) {
        char c = s[i];
        if (c == ',' || c == ':') {
            size_t len;
            uint32_t next = uni_decode(s, n, i + 1, &len);
            if (!uni_is_digit(next)) {
                em_copy_to(&e, i);
                em_put(&e, " ", 1);
                em_put(&e, s + i, 1);
                em_put(&e, " ", 1);
                em_put(&e, s + i + 1, len);
                e.done = i + 1 + len;
                i = e.done;
                continue;
            }
        }
        i++;
    }
    em_finish(&e);

    /* $ also matches just before a final newline. */
    s = tb->buf[tb->cur];
    n = tb->n;
    size_t at = n;
    if (n >= 1 && (s[n - 1] == ',' || s[n - 1] == ':'))
        at = n - 1;
    else if (n >= 2 && s[n - 1] == '\n' && (s[n - 2] == ',' || s[n - 2] == ':'))
        at = n - 2;
    if (at < n) {
        em_init(&e, tb);
        em_pad(&e, at, at + 1);
        em_finish(&e);
    }
}

/* \.{2,} -> " \g<0> " */
static void ellipses(treebank *tb) {
    if (!HAS(tb, '.')) return;
    emitter e;
    em_init(&e, tb);
    const char *s = e.in;
    size_t n = e.n;
    for (size_t i = 0; i < n;) {
        const char *dot = memchr(s + i, '.', n - i);
        if (!dot) break;
        size_t j = (size_t)(dot - s), k = j;
        while (k < n && s[k] == '.') k++;
        if (k - j >= 2) em_pad(&e, j, k);
        i = k;
    }
    em_finish(&e);
}

/* Pads every byte of set (single-character classes such as [;@#$%&], [?!], [*], brackets). */
static void pad_chars(treebank *tb, const char *set) {
    int any = 0;
    for (const char *c = set; *c; c++) any |= HAS(tb, *c);
    if (!any) return;
    unsigned char in_set[256] = {0};
    for (const char *c = set; *c; c++) in_set[(unsigned char)*c] = 1;
    emitter e;
    em_init(&e, tb);
    for (size_t i = 0; i < e.n; i++)
        if (in_set[(unsigned char)e.in[i]]) em_pad(&e, i, i + 1);
    em_finish(&e);
}

/* ([^'])' -> "\1 ' " */
static void quote_before_space(treebank *tb) {
    if (!HAS(tb, '\'')) return;
    emitter e;
    em_init(&e, tb);
    const char *s = e.in;
    size_t n = e.n;
    for (size_t j = 1; j + 1 < n; j++) {
        if (s[j] != '\'' || s[j + 1] != ' ') continue;
        size_t start;
        uint32_t prev = uni_decode_before(s, j, &start);
        if (start < e.done || prev == '\'') continue; /* \1 inside the previous match */
        em_copy_to(&e, j);
        em_str(&e, " ' ");
        e.done = j + 2;
        j++;
    }
    em_finish(&e);
}

/* -- -> " -- " */
static void double_dashes(treebank *tb) {
    if (!HAS(tb, '-')) return;
    emitter e;
    em_init(&e, tb);
    for (size_t i = 0; i + 1 < e.n;) {
        if (e.in[i] == '-' && e.in[i + 1] == '-') {
            em_pad(&e, i, i + 2);
            i += 2;
        } else {
            i++;
        }
    }
    em_finish(&e);
}

/* text = " " + text + " " */
static void add_spaces(treebank *tb) {
    emitter e;
    em_init(&e, tb);
    e.changed = 1;
    em_put(&e, " ", 1);
    em_copy_to(&e, e.n);
    em_put(&e, " ", 1);
    em_finish(&e);
}

/* ------------------------------------------------------------------------------------ */
/* ENDING_QUOTES                                                                        */

/* ([»”’]) -> " \1 " */
static void ending_quote_chars(treebank *tb) {
    if (!HAS(tb, 0xC2) && !HAS(tb, 0xE2)) return;
    emitter e;
    em_init(&e, tb);
    const unsigned char *s = (const unsigned char *)e.in;
    size_t n = e.n;
    for (size_t i = 0; i < n;) {
        size_t j = 0;
        if (s[i] == 0xC2 && i + 1 < n && s[i + 1] == 0xBB)
            j = i + 2;
        else if (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x80 &&
                 (s[i + 2] == 0x9D || s[i + 2] == 0x99))
            j = i + 3;
        if (j) {
            em_pad(&e, i, j);
            i = j;
        } else {
            i++;
        }
    }
    em_finish(&e);
}

/* '' -> " '' " ; then " -> " '' " */
static void closing_double_quotes(treebank *tb) {
    if (HAS(tb, '\'')) {
        emitter e;
        em_init(&e, tb);
        for (size_t i = 0; i + 1 < e.n;) {
            if (e.in[i] == '\'' && e.in[i + 1] == '\'') {
                em_pad(&e, i, i + 2);
                i += 2;
            } else {
                i++;
            }
        }
        em_finish(&e);
    }
    if (HAS(tb, '"')) {
        emitter e;
        em_init(&e, tb);
        for (size_t i = 0; i < e.n; i++) {
            if (e.in[i] != '"') continue;
            em_copy_to(&e, i);
            em_str(&e, " '' ");
            e.done = i + 1;
        }
        if (e.changed) tb->present['\''] = 1;
        em_finish(&e);
    }
}

/* ([^' ])('[sS]|'[mM]|'[dD]|') -> "\1 \2 " */
static void clitic_s_m_d(treebank *tb) {
    if (!HAS(tb, '\'')) return;
    emitter e;
    em_init(&e, tb);
    const char *s = e.in;
    size_t n = e.n;
    for (size_t j = 1; j < n; j++) {
        if (s[j] != '\'') continue;
        size_t start;
        uint32_t prev = uni_decode_before(s, j, &start);
        if (start < e.done || prev == '\'' || prev == ' ') continue;
        size_t end = 0;
        char c = j + 1 < n ? s[j + 1] : 0;
        if (j + 2 < n && s[j + 2] == ' ' &&
            (c == 's' || c == 'S' || c == 'm' || c == 'M' || c == 'd' || c == 'D'))
            end = j + 3;
        else if (c == ' ')
            end = j + 2;
        if (!end) continue;
        em_copy_to(&e, j);
        em_put(&e, " ", 1);
        em_put(&e, s + j, end - 1 - j);
        em_put(&e, " ", 1);
        e.done = end;
        j = end - 1;
    }
    em_finish(&e);
}

/* ([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) -> "\1 \2 " */
static void clitic_ll_re_ve_nt(treebank *tb) {
    if (!HAS(tb, '\'')) return;
    static const char *const alts[] = {"'ll", "'LL", "'re", "'RE", "'ve", "'VE", "n't", "N'T"};
    emitter e;
    em_init(&e, tb);
    const char *s = e.in;
    size_t n = e.n;
    for (size_t j = 1; j + 3 < n; j++) {
        if (s[j + 3] != ' ' || (s[j] != '\'' && s[j + 1] != '\'')) continue;
        int hit = 0;
        for (size_t a = 0; a < sizeof alts / sizeof alts[0] && !hit; a++)
            hit = memcmp(s + j, alts[a], 3) == 0;
        if (!hit) continue;
        size_t start;
        uint32_t prev = uni_decode_before(s, j, &start);
        if (start < e.done || prev == '\'' || prev == ' ') continue;
        em_copy_to(&e, j);
        em_put(&e, " ", 1);
        em_put(&e, s + j, 3);
        em_put(&e, " ", 1);
        e.done = j + 4;
        j += 3;
    }
    em_finish(&e);
}

/* ------------------------------------------------------------------------------------ */
/* CONTRACTIONS                                                                         */

/* CONTRACTIONS2, (?i)\b(can)(not)\b etc. -> " \1 \2 ". nltk applies the eight rules one
 * after another; one combined scan is equivalent because a match is a whole word bounded by
 * \b on both sides, so no rule's inserted spaces can create or break another rule's match
 * (the second halves "not", "'ye", "me", "na", "ta", "'n" start no rule). */
static void contractions(treebank *tb) {
    if (!tb->has_double_nmt && !HAS(tb, '\'')) return;
    static const struct {
        const char *first, *second;
        int space_after; /* (?=\s) instead of \b */
    } rules[] = {{"can", "not", 0}, {"d", "'ye", 0}, {"gim", "me", 0}, {"gon", "na", 0},
                 {"got", "ta", 0},  {"lem", "me", 0}, {"more", "'n", 0}, {"wan", "na", 1}};
    emitter e;
    em_init(&e, tb);
    const char *s = e.in;
    size_t n = e.n;
    for (size_t i = 0; i < n; i++) {
        char c = (char)(s[i] | 0x20);
        if (c != 'c' && c != 'd' && c != 'g' && c != 'l' && c != 'm' && c != 'w') continue;
        if (word_before(s, i)) continue;
        for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
            if (rules[r].first[0] != c) continue;
            size_t mid = match_ci(s, n, i, rules[r].first);
            size_t end = mid ? match_ci(s, n, mid, rules[r].second) : 0;
            if (!end) continue;
            int ok;
            if (rules[r].space_after) {
                size_t len;
                ok = end < n && uni_is_space(uni_decode(s, n, end, &len));
            } else {
                ok = !word_at(s, n, end);
            }
            if (!ok) continue;
            em_copy_to(&e, i);
            em_put(&e, " ", 1);
            em_put(&e, s + i, mid - i);
            em_put(&e, " ", 1);
            em_put(&e, s + mid, end - mid);
            em_put(&e, " ", 1);
            e.done = end;
            i = end - 1;
            break;
        }
    }
    em_finish(&e);
}

/* CONTRACTIONS3, (?i) ('t)(is)\b and (?i) ('t)(was)\b -> " \1 \2 " */
static void contraction_tis(treebank *tb, const char *rest) {
    if (!HAS(tb, '\'')) return;
    emitter e;
    em_init(&e, tb);
    const char *s = e.in;
    size_t n = e.n;
    for (size_t i = 0; i + 2 < n; i++) {
        if (s[i] != ' ' || s[i + 1] != '\'' || (s[i + 2] | 0x20) != 't') continue;
        size_t end = match_ci(s, n, i + 3, rest);
        if (!end || word_at(s, n, end)) continue;
        em_copy_to(&e, i);
        em_str(&e, " ");
        em_put(&e, s + i + 1, 2);
        em_str(&e, " ");
        em_put(&e, s + i + 3, end - i - 3);
        em_str(&e, " ");
        e.done = end;
        i = end - 1;
    }
    em_finish(&e);
}

/* ------------------------------------------------------------------------------------ */
/* Driver                                                                               */

static void load_text(treebank *tb, const char *text, size_t len, int lowercase) {
    size_t need = UNI_LOWER_CAPACITY(len);
    if (tb->cap[0] < need) {
        tb->buf[0] = bb_realloc(tb->buf[0], need);
        tb->cap[0] = need;
    }
    tb->cur = 0;
    tb->n = lowercase ? uni_lower(text, len, tb->buf[0]) : (memcpy(tb->buf[0], text, len), len);
    memset(tb->present, 0, sizeof tb->present);
    tb->present[' '] = 1;
    tb->has_double_nmt = 0;
    const unsigned char *s = (const unsigned char *)tb->buf[0];
    for (size_t i = 0; i < tb->n; i++) {
        tb->present[s[i]] = 1;
        unsigned char c = s[i] | 0x20;
        if (i > 0 && (c == 'n' || c == 'm' || c == 't') && (s[i - 1] | 0x20) == c)
            tb->has_double_nmt = 1;
    }
}

static size_t split_whitespace(treebank *tb, const text_span **tokens) {
    const char *s = tb->buf[tb->cur];
    size_t n = tb->n, count = 0, i = 0;
    while (i < n) {
        size_t len = 1;
        unsigned char c = (unsigned char)s[i];
        int space = c < 0x80 ? uni_is_space(c) : uni_is_space(uni_decode(s, n, i, &len));
        if (space) {
            i += len;
            continue;
        }
        size_t start = i;
        i += len;
        while (i < n) {
            c = (unsigned char)s[i];
            len = 1;
            if (c < 0x80 ? uni_is_space(c) : uni_is_space(uni_decode(s, n, i, &len))) break;
            i += len;
        }
        if (count == tb->token_cap) {
            tb->token_cap = tb->token_cap ? 2 * tb->token_cap : 64;
            tb->tokens = bb_realloc(tb->tokens, tb->token_cap * sizeof *tb->tokens);
        }
        tb->tokens[count].ptr = s + start;
        tb->tokens[count].len = (uint32_t)(i - start);
        count++;
    }
    *tokens = tb->tokens;
    return count;
}

size_t treebank_tokenize(treebank *tb, const char *text, size_t len, int lowercase,
                         const text_span **tokens) {
    load_text(tb, text, len, lowercase);
    /* STARTING_QUOTES */
    starting_quote_chars(tb);
    starting_double_quote(tb);
    opening_quote_after_space(tb);
    quote_before_single_letter(tb);
    /* PUNCTUATION */
    final_period(tb, 1);
    commas_and_colons(tb);
    ellipses(tb);
    pad_chars(tb, ";@#$%&");
    final_period(tb, 0);
    pad_chars(tb, "?!");
    quote_before_space(tb);
    pad_chars(tb, "*");
    /* PARENS_BRACKETS, DOUBLE_DASHES */
    pad_chars(tb, "[](){}<>");
    double_dashes(tb);
    add_spaces(tb);
    /* ENDING_QUOTES */
    ending_quote_chars(tb);
    closing_double_quotes(tb);
    clitic_s_m_d(tb);
    clitic_ll_re_ve_nt(tb);
    /* CONTRACTIONS2, CONTRACTIONS3 */
    contractions(tb);
    contraction_tis(tb, "is");
    contraction_tis(tb, "was");
    return split_whitespace(tb, tokens);
}
