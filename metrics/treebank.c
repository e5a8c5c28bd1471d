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

/* No pass writes more than 4 bytes per input byte (a lone '"' becomes " '' "), so the
 * output buffer is sized once per pass and the puts need no checks. */
static void em_init(emitter *e, treebank *tb) {
    e->tb = tb;
    e->in = tb->buf[tb->cur];
    e->n = tb->n;
    e->done = 0;
    e->o = 0;
    e->changed = 0;
    int dst = 1 - tb->cur;
    size_t need = 4 * tb->n + 16;
    if (need > tb->cap[dst]) {
        size_t cap = 2 * tb->cap[dst] > need ? 2 * tb->cap[dst] : need;
        tb->buf[dst] = bb_realloc(tb->buf[dst], cap);
        tb->cap[dst] = cap;
    }
}

static inline void em_put(emitter *e, const char *s, size_t k) {
    char *out = e->tb->buf[1 - e->tb->cur] + e->o;
    if (k <= 4) { /* the common pieces: a space, a clitic, a padded character */
        for (size_t i = 0; i < k; i++) out[i] = s[i];
    } else {
        memcpy(out, s, k);
    }
    e->o += k;
}

#define em_str(e, lit) em_put((e), (lit), sizeof(lit) - 1)

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

static inline uint64_t load8(const char *s) {
    uint64_t x;
    memcpy(&x, s, 8);
    return x;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static int ascii_word(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}


static int word_at(const char *s, size_t n, size_t i) {
    if (i >= n) return 0;
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) return ascii_word(c);
    size_t len;
    return uni_is_word(uni_decode(s, n, i, &len));
}

static int word_before(const char *s, size_t i) {
    if (i == 0) return 0;
    unsigned char c = (unsigned char)s[i - 1];
    if (c < 0x80) return ascii_word(c);
    size_t start;
    return uni_is_word(uni_decode_before(s, i, &start));
}

/* Position of the next byte c at or after from, or n (memchr: most passes look for one
 * rare character, so they jump between its occurrences instead of testing every byte). */
static size_t next_byte(const char *s, size_t from, size_t n, char c) {
    if (from >= n) return n;
    const char *p = memchr(s + from, c, n - from);
    return p ? (size_t)(p - s) : n;
}

/* The same for either of two bytes, remembering the next occurrence of each. */
typedef struct finder2 {
    const char *s;
    size_t n, pa, pb;
    char a, b;
} finder2;

static void finder2_init(finder2 *f, const char *s, size_t n, char a, char b) {
    f->s = s;
    f->n = n;
    f->a = a;
    f->b = b;
    f->pa = next_byte(s, 0, n, a);
    f->pb = next_byte(s, 0, n, b);
}

static size_t finder2_next(finder2 *f, size_t from) {
    if (f->pa < from) f->pa = next_byte(f->s, from, f->n, f->a);
    if (f->pb < from) f->pb = next_byte(f->s, from, f->n, f->b);
    return f->pa < f->pb ? f->pa : f->pb;
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
    for (size_t i = next_byte(e.in, 0, e.n, '`'); i + 1 < e.n; i = next_byte(e.in, i, e.n, '`')) {
        if (e.in[i + 1] == '`') {
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
    finder2 f;
    finder2_init(&f, s, n, '"', '\'');
    /* q is the quote; the opener before it must lie outside the previous match */
    for (size_t q = finder2_next(&f, 1); q < n; q = finder2_next(&f, q + 1)) {
        char c = s[q - 1];
        if (q - 1 < e.done || !(c == ' ' || c == '(' || c == '[' || c == '{' || c == '<')) continue;
        size_t j = 0;
        if (s[q] == '"')
            j = q + 1;
        else if (q + 1 < n && s[q + 1] == '\'')
            j = q + 2;
        if (!j) continue;
        em_copy_to(&e, q);
        em_str(&e, " `` ");
        e.done = j;
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
    for (size_t i = next_byte(s, 0, n, '\''); i + 1 < n; i = next_byte(s, i, n, '\'')) {
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
    if (spaced)
        em_str(&em, " . ");
    else
        em_str(&em, " .");
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
    finder2 f;
    finder2_init(&f, s, n, ',', ':');
    for (size_t i = finder2_next(&f, 0); i + 1 < n; i = finder2_next(&f, i)) {
        if (i < e.done) { /* consumed as the previous match's \2 */
            i = e.done;
            continue;
        }
        size_t len;
        uint32_t next = uni_decode(s, n, i + 1, &len);
        if (uni_is_digit(next)) {
            i++;
            continue;
        }
        em_copy_to(&e, i);
        em_put(&e, " ", 1);
        em_put(&e, s + i, 1);
        em_put(&e, " ", 1);
        em_put(&e, s + i + 1, len);
        e.done = i + 1 + len;
        i = e.done;
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
    for (size_t j = next_byte(s, 1, n, '\''); j + 1 < n; j = next_byte(s, j + 1, n, '\'')) {
        if (s[j + 1] != ' ') continue;
        size_t start;
        uint32_t prev = uni_decode_before(s, j, &start);
        if (start < e.done || prev == '\'') continue; /* \1 inside the previous match */
        em_copy_to(&e, j);
        em_str(&e, " ' ");
        e.done = j + 2;
    }
    em_finish(&e);
}

/* -- -> " -- " */
static void double_dashes(treebank *tb) {
    if (!HAS(tb, '-')) return;
    emitter e;
    em_init(&e, tb);
    for (size_t i = next_byte(e.in, 0, e.n, '-'); i + 1 < e.n; i = next_byte(e.in, i, e.n, '-')) {
        if (e.in[i + 1] == '-') {
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
        for (size_t i = next_byte(e.in, 0, e.n, '\''); i + 1 < e.n;
             i = next_byte(e.in, i, e.n, '\'')) {
            if (e.in[i + 1] == '\'') {
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
        for (size_t i = next_byte(e.in, 0, e.n, '"'); i < e.n; i = next_byte(e.in, i + 1, e.n, '"')) {
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
    for (size_t j = next_byte(s, 1, n, '\''); j < n; j = next_byte(s, j + 1, n, '\'')) {
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
    /* each apostrophe at a is the quote of a candidate at j = a - 1 (n't) or j = a ('ll) */
    for (size_t a = next_byte(s, 1, n, '\''); a < n; a = next_byte(s, a + 1, n, '\'')) {
        for (size_t j = a - 1; j <= a; j++) {
            if (j < 1 || j + 3 >= n || s[j + 3] != ' ') continue;
            int hit = 0;
            for (size_t k = 0; k < sizeof alts / sizeof alts[0] && !hit; k++)
                hit = memcmp(s + j, alts[k], 3) == 0;
            if (!hit) continue;
            size_t start;
            uint32_t prev = uni_decode_before(s, j, &start);
            if (start < e.done || prev == '\'' || prev == ' ') continue;
            em_copy_to(&e, j);
            em_put(&e, " ", 1);
            em_put(&e, s + j, 3);
            em_put(&e, " ", 1);
            e.done = j + 4;
        }
    }
    em_finish(&e);
}

/* ------------------------------------------------------------------------------------ */
/* CONTRACTIONS                                                                         */

/* CONTRACTIONS2, (?i)\b(can)(not)\b etc. -> " \1 \2 ". nltk applies the eight rules one
 * after another; one combined scan is equivalent because a match is a whole word bounded by
 * \b on both sides, so no rule's inserted spaces can create or break another rule's match
 * (the second halves "not", "'ye", "me", "na", "ta", "'n" start no rule). Every rule has a
 * tell-tale letter pair at a fixed number of code points from its start (caNNot, goNNa,
 * waNNa, giMMe, leMMe, goTTa, d'Ye, more'N), so only those spots are examined. */
static void contractions(treebank *tb) {
    static const struct {
        const char *first, *second;
        char pair0, pair1; /* the tell-tale pair (lower case) ... */
        int back;          /* ... this many code points after the rule's start */
        int space_after;   /* (?=\s) instead of \b */
    } rules[] = {{"can", "not", 'n', 'n', 2, 0}, {"d", "'ye", '\'', 'y', 1, 0},
                 {"gim", "me", 'm', 'm', 2, 0},  {"gon", "na", 'n', 'n', 2, 0},
                 {"got", "ta", 't', 't', 2, 0},  {"lem", "me", 'm', 'm', 2, 0},
                 {"more", "'n", '\'', 'n', 4, 0}, {"wan", "na", 'n', 'n', 2, 1}};
    emitter e;
    em_init(&e, tb);
    const char *s = e.in;
    size_t n = e.n;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i + 1 < n; i++) {
        /* fast test, eight positions at a time: a byte equal to the next one (ignoring the
         * 0x20 bit) or an apostrophe; false alarms are rejected just below */
        while (i + 9 <= n) {
            uint64_t x = load8(s + i) | 0x20 * ONES, y = load8(s + i + 1) | 0x20 * ONES;
            uint64_t eq = x ^ y, ap = x ^ ('\'' * ONES);
            uint64_t m = ((eq - ONES) & ~eq & HIGHS) | ((ap - ONES) & ~ap & HIGHS);
            if (m) {
                i += (size_t)__builtin_ctzll(m) >> 3;
                break;
            }
            i += 8;
        }
        if (i + 1 >= n) break;
        if ((u[i] | 0x20) != (u[i + 1] | 0x20) && u[i] != '\'') continue;
        char c0 = (char)(s[i] | 0x20), c1 = (char)(s[i + 1] | 0x20);
        int doubled = c0 == c1 && (c0 == 'n' || c0 == 'm' || c0 == 't');
        if (!doubled && !(s[i] == '\'' && (c1 == 'y' || c1 == 'n'))) continue;
        if (s[i] == '\'') c0 = '\'';
        for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
            if (rules[r].pair0 != c0 || rules[r].pair1 != c1) continue;
            size_t start = i;
            int k;
            for (k = 0; k < rules[r].back && start > 0; k++) {
                size_t prev;
                uni_decode_before(s, start, &prev);
                start = prev;
            }
            if (k < rules[r].back || start < e.done || word_before(s, start)) continue;
            size_t mid = match_ci(s, n, start, rules[r].first);
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
            em_copy_to(&e, start);
            em_put(&e, " ", 1);
            em_put(&e, s + start, mid - start);
            em_put(&e, " ", 1);
            em_put(&e, s + mid, end - mid);
            em_put(&e, " ", 1);
            e.done = end;
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
    for (size_t a = next_byte(s, 1, n, '\''); a + 1 < n; a = next_byte(s, a + 1, n, '\'')) {
        size_t i = a - 1;
        if (i < e.done || s[i] != ' ' || (s[i + 2] | 0x20) != 't') continue;
        size_t end = match_ci(s, n, i + 3, rest);
        if (!end || word_at(s, n, end)) continue;
        em_copy_to(&e, i);
        em_str(&e, " ");
        em_put(&e, s + i + 1, 2);
        em_str(&e, " ");
        em_put(&e, s + i + 3, end - i - 3);
        em_str(&e, " ");
        e.done = end;
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
    memset(tb->present, 0, sizeof tb->present);
    tb->present[' '] = 1;
    unsigned char *out = (unsigned char *)tb->buf[0];
    tb->n = lowercase ? uni_lower(text, len, tb->buf[0]) : (memcpy(out, text, len), len);
    for (size_t k = 0; k < tb->n; k++) tb->present[out[k]] = 1;
}

static size_t split_whitespace(treebank *tb, const text_span **tokens) {
    size_t count = uni_split_whitespace(tb->buf[tb->cur], tb->n, &tb->tokens, &tb->token_cap);
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
