/* porter — nltk's PorterStemmer (NLTK_EXTENSIONS) on code points. See porter.h.
 *
 * The word is a code point array w[0..n). Every step follows nltk's `_stepN` methods,
 * including their rule-list semantics: within a list, the FIRST rule whose suffix matches
 * decides; if its condition fails the word is returned unchanged (later rules are not
 * tried). Measures and conditions are those of the paper (m = number of VC sequences).
 */
#include "metrics/porter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/text_unicode.h"
#include "models/base/bb_io.h"

typedef struct word {
    uint32_t *w;
    size_t n;
} word;

/* ------------------------------------------------------------------------------------ */
/* Conditions                                                                           */

static int is_vowel_letter(uint32_t c) {
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* A consonant is a letter other than a, e, i, o, u, and other than y preceded by a
 * consonant. */
static int is_consonant(const uint32_t *w, size_t i) {
    int cons = 0;
    for (size_t k = 0; k <= i; k++) {
        if (is_vowel_letter(w[k]))
            cons = 0;
        else if (w[k] == 'y')
            cons = (k == 0) ? 1 : !cons;
        else
            cons = 1;
    }
    return cons;
}

/* m in [C](VC)^m[V]: the number of vowel -> consonant transitions. */
static int measure(const uint32_t *w, size_t n) {
    int m = 0, prev_vowel = 0;
    for (size_t k = 0; k < n; k++) {
        int cons;
        if (is_vowel_letter(w[k]))
            cons = 0;
        else if (w[k] == 'y')
            cons = (k == 0) ? 1 : prev_vowel; /* y after a vowel is a consonant */
        else
            cons = 1;
        if (cons && prev_vowel) m++;
        prev_vowel = !cons;
    }
    return m;
}

static int contains_vowel(const uint32_t *w, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (!is_consonant(w, k)) return 1;
    return 0;
}

/* *d: ends with a double consonant. */
static int ends_double_consonant(const uint32_t *w, size_t n) {
    return n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1);
}

/* *o: ends consonant-vowel-consonant, the last not w, x or y; nltk also accepts a
 * two-letter vowel-consonant word. */
static int ends_cvc(const uint32_t *w, size_t n) {
    if (n >= 3 && is_consonant(w, n - 3) && !is_consonant(w, n - 2) && is_consonant(w, n - 1) &&
        w[n - 1] != 'w' && w[n - 1] != 'x' && w[n - 1] != 'y')
        return 1;
    return n == 2 && !is_consonant(w, 0) && is_consonant(w, 1);
}

static int ends_with(const word *x, const char *suffix) {
    size_t k = strlen(suffix);
    if (k > x->n) return 0;
    for (size_t i = 0; i < k; i++)
        if (x->w[x->n - k + i] != (uint32_t)(unsigned char)suffix[i]) return 0;
    return 1;
}

/* Drops `drop` code points and appends the ASCII replacement. */
static void replace_end(word *x, size_t drop, const char *replacement) {
    x->n -= drop;
    for (const char *r = replacement; *r; r++) x->w[x->n++] = (uint32_t)(unsigned char)*r;
}

/* ------------------------------------------------------------------------------------ */
/* Rule lists                                                                           */

typedef enum {
    COND_NONE,
    COND_M_GT0,   /* m(stem) > 0 */
    COND_M_GT1,   /* m(stem) > 1 */
    COND_ION,     /* m(stem) > 1 and stem ends in s or t */
    COND_LOGI,    /* nltk: m(word[:-3]) > 0 */
    COND_E_CVC,   /* m(stem) == 1 and *o */
    COND_NOT_LSZ, /* the doubled consonant is not l, s or z */
    COND_LL       /* m(word[:-1]) > 1 */
} rule_cond;

typedef struct rule {
    const char *suffix; /* "*d" means: ends with a double consonant */
    const char *replacement;
    rule_cond cond;
} rule;

static int cond_holds(rule_cond c, const word *x, size_t stem_len) {
    const uint32_t *w = x->w;
    switch (c) {
    case COND_NONE: return 1;
    case COND_M_GT0: return measure(w, stem_len) > 0;
    case COND_M_GT1: return measure(w, stem_len) > 1;
    case COND_ION:
        return measure(w, stem_len) > 1 && (w[stem_len - 1] == 's' || w[stem_len - 1] == 't');
    case COND_LOGI: return measure(w, x->n - 3) > 0;
    case COND_E_CVC: return measure(w, stem_len) == 1 && ends_cvc(w, stem_len);
    case COND_NOT_LSZ: {
        uint32_t last = w[x->n - 1];
        return last != 'l' && last != 's' && last != 'z';
    }
    case COND_LL: return measure(w, x->n - 1) > 1;
    }
    return 0;
}

/* nltk's _apply_rule_list. */
static void apply_rules(word *x, const rule *rules, size_t count) {
    for (size_t r = 0; r < count; r++) {
        const rule *ru = &rules[r];
        if (strcmp(ru->suffix, "*d") == 0) {
            if (!ends_double_consonant(x->w, x->n)) continue;
            if (cond_holds(ru->cond, x, x->n - 2)) {
                /* the replacement is the doubled letter itself: drop one of the pair */
                x->n -= 1;
            }
            return;
        }
        if (!ends_with(x, ru->suffix)) continue;
        size_t drop = strlen(ru->suffix);
        if (cond_holds(ru->cond, x, x->n - drop)) replace_end(x, drop, ru->replacement);
        return;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Steps                                                                                */

static void step1a(word *x) {
    if (ends_with(x, "ies") && x->n == 4) {
        replace_end(x, 3, "ie");
        return;
    }
    static const rule rules[] = {
        {"sses", "ss", COND_NONE}, {"ies", "i", COND_NONE}, {"ss", "ss", COND_NONE},
        {"s", "", COND_NONE}};
    apply_rules(x, rules, 4);
}

static void step1b(word *x) {
    if (ends_with(x, "ied")) {
        replace_end(x, 3, x->n == 4 ? "ie" : "i");
        return;
    }
    if (ends_with(x, "eed")) {
        if (measure(x->w, x->n - 3) > 0) replace_end(x, 3, "ee");
        return;
    }
    size_t drop = 0;
    if (ends_with(x, "ed") && contains_vowel(x->w, x->n - 2))
        drop = 2;
    else if (ends_with(x, "ing") && contains_vowel(x->w, x->n - 3))
        drop = 3;
    if (!drop) return;
    x->n -= drop;
    static const rule rules[] = {{"at", "ate", COND_NONE},
                                 {"bl", "ble", COND_NONE},
                                 {"iz", "ize", COND_NONE},
                                 {"*d", "", COND_NOT_LSZ},
                                 {"", "e", COND_E_CVC}};
    apply_rules(x, rules, 5);
}

/* nltk: y -> i only when preceded by a consonant that is not the word's first letter. */
static void step1c(word *x) {
    if (ends_with(x, "y") && x->n - 1 > 1 && is_consonant(x->w, x->n - 2)) replace_end(x, 1, "i");
}

static void step2(word *x) {
    if (ends_with(x, "alli") && measure(x->w, x->n - 4) > 0) {
        replace_end(x, 4, "al");
        step2(x);
        return;
    }
    static const rule rules[] = {
        {"ational", "ate", COND_M_GT0}, {"tional", "tion", COND_M_GT0},
        {"enci", "ence", COND_M_GT0},   {"anci", "ance", COND_M_GT0},
        {"izer", "ize", COND_M_GT0},    {"bli", "ble", COND_M_GT0},
        {"alli", "al", COND_M_GT0},     {"entli", "ent", COND_M_GT0},
        {"eli", "e", COND_M_GT0},       {"ousli", "ous", COND_M_GT0},
        {"ization", "ize", COND_M_GT0}, {"ation", "ate", COND_M_GT0},
        {"ator", "ate", COND_M_GT0},    {"alism", "al", COND_M_GT0},
        {"iveness", "ive", COND_M_GT0}, {"fulness", "ful", COND_M_GT0},
        {"ousness", "ous", COND_M_GT0}, {"aliti", "al", COND_M_GT0},
        {"iviti", "ive", COND_M_GT0},   {"biliti", "ble", COND_M_GT0},
        {"fulli", "ful", COND_M_GT0},   {"logi", "log", COND_LOGI}};
    apply_rules(x, rules, sizeof rules / sizeof rules[0]);
}

static void step3(word *x) {
    static const rule rules[] = {
        {"icate", "ic", COND_M_GT0}, {"ative", "", COND_M_GT0}, {"alize", "al", COND_M_GT0},
        {"iciti", "ic", COND_M_GT0}, {"ical", "ic", COND_M_GT0}, {"ful", "", COND_M_GT0},
        {"ness", "", COND_M_GT0}};
    apply_rules(x, rules, sizeof rules / sizeof rules[0]);
}

static void step4(word *x) {
    static const rule rules[] = {
        {"al", "", COND_M_GT1},   {"ance", "", COND_M_GT1}, {"ence", "", COND_M_GT1},
        {"er", "", COND_M_GT1},   {"ic", "", COND_M_GT1},   {"able", "", COND_M_GT1},
        {"ible", "", COND_M_GT1}, {"ant", "", COND_M_GT1},  {"ement", "", COND_M_GT1},
        {"ment", "", COND_M_GT1}, {"ent", "", COND_M_GT1},  {"ion", "", COND_ION},
        {"ou", "", COND_M_GT1},   {"ism", "", COND_M_GT1},  {"ate", "", COND_M_GT1},
        {"iti", "", COND_M_GT1},  {"ous", "", COND_M_GT1},  {"ive", "", COND_M_GT1},
        {"ize", "", COND_M_GT1}};
    apply_rules(x, rules, sizeof rules / sizeof rules[0]);
}

static void step5a(word *x) {
    if (!ends_with(x, "e")) return;
    int m = measure(x->w, x->n - 1);
    if (m > 1 || (m == 1 && !ends_cvc(x->w, x->n - 1))) x->n -= 1;
}

static void step5b(word *x) {
    static const rule rules[] = {{"ll", "l", COND_LL}};
    apply_rules(x, rules, 1);
}

/* ------------------------------------------------------------------------------------ */

/* nltk's irregular forms (NLTK_EXTENSIONS), looked up with the word as given. */
static const char *irregular_stem(const char *w, size_t len) {
    static const char *const pool[][2] = {
        {"sky", "sky"},         {"skies", "sky"},      {"dying", "die"},
        {"lying", "lie"},       {"tying", "tie"},      {"news", "news"},
        {"innings", "inning"},  {"inning", "inning"},  {"outings", "outing"},
        {"outing", "outing"},   {"cannings", "canning"}, {"canning", "canning"},
        {"howe", "howe"},       {"proceed", "proceed"}, {"exceed", "exceed"},
        {"succeed", "succeed"}};
    for (size_t i = 0; i < sizeof pool / sizeof pool[0]; i++)
        if (strlen(pool[i][0]) == len && memcmp(pool[i][0], w, len) == 0) return pool[i][1];
    return NULL;
}

size_t porter_stem(const char *text, size_t len, char *out) {
    const char *irregular = irregular_stem(text, len);
    if (irregular) {
        size_t k = strlen(irregular);
        memcpy(out, irregular, k);
        return k;
    }
    /* Lower-case into out (large enough), then decode to code points. */
    size_t low_len = uni_lower(text, len, out);
    size_t n_orig = 0;
    for (size_t i = 0; i < len; i++) n_orig += ((unsigned char)text[i] & 0xC0) != 0x80;
    if (n_orig <= 2) return low_len;

    uint32_t local[64];
    uint32_t *cps = low_len + 4 <= 64 ? local : bb_malloc((low_len + 4) * sizeof *cps);
    word x = {cps, 0};
    for (size_t i = 0; i < low_len;) {
        size_t l;
        cps[x.n++] = uni_decode(out, low_len, i, &l);
        i += l;
    }
    step1a(&x);
    step1b(&x);
    step1c(&x);
    step2(&x);
    step3(&x);
    step4(&x);
    step5a(&x);
    step5b(&x);
    size_t o = 0;
    for (size_t i = 0; i < x.n; i++) o += uni_encode(x.w[i], out + o);
    if (cps != local) free(cps);
    return o;
}
