/* beat_phrases — deterministic interest-phrase splitter for user and item summaries
 * (DESIGN §4.5). The rules and their order are listed in beat_phrases.h; the word lists
 * below come from the lead-ins of the synthetic generator and from reading the summaries
 * of the three XRec datasets (most begin "This user is likely to enjoy businesses that
 * offer ...", "Based on the user's reviews and ratings, ...", "Fans of X would enjoy ..."). */
#include "models/beat/beat_phrases.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

/* ------------------------------------------------------------------------------------------
 * Word lists. Multi-word entries match word by word; the longest alternative wins. */

static const char *const openers[] = {
    "overall", "additionally", "in addition", "furthermore", "moreover", "also",
    "in summary", "in short", "however", "in general", "generally", "finally", "lastly", NULL};

static const char *const subjects[] = {
    "it can be inferred that the user", "it can be inferred that this user",
    "it can be inferred that they", "it seems that the user", "it appears that the user",
    "it is likely that the user", "it is evident that the user", "it is likely that this user",
    "it seems that this user", "it appears that this user", "it is evident that this user",
    "it is clear that the user", "it is clear that this user", "this user", "the user",
    "users", "they", "he", "she", "this reader", "the reader", "readers", "this customer",
    "the customer", "its fans", "fans", "regulars", "it", "this book", "the book",
    "this business", "the business", "this place", "this restaurant", NULL};

static const char *const auxiliaries[] = {
    "is", "are", "also", "likely", "to", "would", "may", "might", "will", "could", "tends",
    "tend", "seems", "seem", "particularly", "especially", "generally", "really",
    "probably", "be", "has", "have", "shows", "show", "shown", "a", "strong", "clear", "most",
    "highly", "definitely", "greatly", "truly", "consistently", "often", NULL};

static const char *const verbs[] = {
    "enjoy", "enjoys", "enjoy reading", "enjoys reading", "appreciate", "appreciates",
    "like", "likes", "love", "loves", "prefer", "prefers", "value", "values", "favor",
    "favors", "favour", "favours", "seek", "seeks", "seek out", "seeks out", "look for",
    "looks for", "looking for", "interested in", "drawn to", "fond of", "offer", "offers",
    "provide", "provides", "feature", "features", "serve", "serves", "specializes in",
    "praise", "praises", "known for", "praised for", "loved for", "preference for",
    "appeal to", "appeals to", "gravitate towards", "gravitate toward", "gravitates towards",
    "gravitates toward", "lean towards", "leans towards", "lean toward", "leans toward",
    "is drawn to", "are drawn to", "tend to enjoy", "tends to enjoy", "tends to prefer",
    "tend to prefer", "have an interest in", "has an interest in", "show interest in",
    "shows interest in", "be interested in", "an interest in", "interest in",
    "an affinity for", "affinity for", "a fondness for", "suitable for", "ideal for",
    "perfect for", "great for", "explores", "explore", "celebrates", "showcases", "a fan of",
    "fans of", "attracted to", "an appreciation for", "a fascination with", "recommended for",
    "popular for", "appealing to", NULL};

/* Audience-style subjects of item summaries; those ending in "who" need a verb after. */
static const char *const audiences[] = {
    "fans of", "lovers of", "users who", "those who", "people who", "readers who",
    "customers who", "anyone who", "individuals who", "visitors who", "diners who",
    "shoppers who", "travelers who", "guests who", "families who", "fans who",
    "users looking for", "those looking for", "people looking for", "individuals looking for",
    "anyone looking for", "readers looking for", "customers looking for", "users seeking",
    "those seeking", "people seeking", "individuals seeking", "readers of",
    "this book would appeal to readers who", "this book would appeal to fans of",
    "this book is perfect for readers who", "this book is perfect for fans of", NULL};

/* A generic object after the verb, and what joins it to the content. */
static const char *const objects[] = {
    "businesses", "business", "local businesses", "books", "book", "restaurants", "places",
    "establishments", "dining establishments", "venues", "shops", "stores", "novels",
    "stories", "reads", "eateries", "spots", "locations", NULL};

static const char *const connectors[] = {
    "that offer", "that offers", "that provide", "that provides", "that have", "that has",
    "that feature", "that features", "that serve", "that serves", "that are", "that is",
    "that combine", "that focus on", "that specialize in", "that cater to", "that include",
    "which offer", "which provide", "which have", "which feature", "which are", "offering",
    "providing", "featuring", "serving", "with", "related to", "known for", "focused on",
    "specializing in", "that", "which", "like", "such as", "in", NULL};

/* The verb clause of "Fans of X would enjoy <Name> ...". */
static const char *const modals[] = {"would", "will", "should", "might", "may", "could", NULL};
static const char *const modal_adverbs[] = {"also", "all", "likely", "definitely", "really", "surely",
                                            "certainly", "particularly", "especially", "greatly",
                                            NULL};
static const char *const tail_verbs[] = {"enjoy", "love", "appreciate", "like", "find",
                                         "be drawn to", "be interested in", "want to visit",
                                         "want to try", "be delighted by", NULL};
/* After the name: where the reasons start. */
static const char *const reason_marks[] = {"for its", "for their", "for the", "for", "because of",
                                           "thanks to", "due to", NULL};

/* Leading connectors of a piece. */
static const char *const piece_leads[] = {
    "and", "or", "as well as", "along with", "also", "especially", "particularly",
    "including", "such as", "plus", "with", "like", "offering", "providing", "featuring", "a preference for", "an appreciation for",
    "a love for", "a focus on", "those looking for", "people looking for", "users looking for",
    "those interested in", "people interested in", "individuals interested in",
    "individuals looking for", "anyone looking for", "those seeking",
    "looking for", "fans of", "lovers of", NULL};
static const char *const piece_who[] = {"those who", "users who", "people who", "anyone who",
                                        "readers who", "customers who", "individuals who",
                                        "fans who", "who", NULL};

/* An audience inside a piece: "foodies seeking X", "groups looking for X". */
static const char *const piece_audience[] = {"looking for", "seeking", "who appreciate",
                                             "who enjoy", "who love", "who like", "who prefer",
                                             "who value", "who want", NULL};
#define PIECE_AUDIENCE_WORDS 5 /* searched within this many leading words */

static const char *const abbreviations[] = {"st", "dr", "mr", "mrs", "ms", "jr", "sr", "vs",
                                            "etc", "e.g", "i.e", "mt", "ave", "no", "inc",
                                            NULL};

/* ------------------------------------------------------------------------------------------
 * Matching */

static int is_word_char(char c) {
    unsigned char u = (unsigned char)c;
    return isalnum(u) || c == '\'' || c == '-' || u >= 0x80;
}

/* Length of `seq` (space-separated words) at s, case-insensitive, on word boundaries, plus
 * the spaces after it; 0 when it does not match. */
static size_t match_seq(const char *s, const char *seq) {
    const char *p = s, *q = seq;
    while (*q) {
        const char *we = strchr(q, ' ');
        size_t wl = we ? (size_t)(we - q) : strlen(q);
        if (strncasecmp(p, q, wl) != 0 || is_word_char(p[wl])) return 0;
        p += wl;
        q += wl;
        if (*q == ' ') {
            q++;
            if (*p != ' ') return 0;
        }
        while (*p == ' ') p++;
    }
    return (size_t)(p - s);
}

static size_t match_any(const char *s, const char *const *list) {
    size_t best = 0;
    for (int k = 0; list[k]; k++) {
        size_t n = match_seq(s, list[k]);
        if (n > best) best = n;
    }
    return best;
}

static size_t skip_all(const char *s, const char *const *list) {
    size_t total = 0, n;
    while ((n = match_any(s + total, list)) > 0) total += n;
    return total;
}

/* "businesses that offer" after the verb. */
static size_t match_object(const char *s) {
    size_t n = match_any(s, objects);
    return n ? n + match_any(s + n, connectors) : 0;
}

/* "It can be concluded that", "it is likely that", "it seems that", ... before a subject. */
static const char *const hedge_words[] = {
    "can", "could", "be", "is", "seems", "appears", "also", "concluded", "inferred",
    "determined", "evident", "clear", "apparent", "likely", "safe", "to", "say", "said",
    "observed", "noted", "understood", NULL};

static size_t match_hedge(const char *s) {
    size_t n = match_seq(s, "it");
    if (!n) return 0;
    size_t h = skip_all(s + n, hedge_words);
    if (!h) return 0;
    size_t t = match_seq(s + n + h, "that");
    return t ? n + h + t : 0;
}

/* Length of the lead-in at the start of a sentence (0 when there is none). */
static size_t match_leadin(const char *s) {
    size_t best = 0;
    const size_t hedge = match_hedge(s);
    for (int k = 0; subjects[k]; k++) {
        size_t n = match_seq(s + hedge, subjects[k]);
        if (n) n += hedge;
        if (!n) continue;
        n += skip_all(s + n, auxiliaries);
        size_t v = match_any(s + n, verbs);
        if (!v) continue;
        n += v;
        n += match_object(s + n);
        if (n > best) best = n;
    }
    for (int k = 0; audiences[k]; k++) {
        size_t n = match_seq(s, audiences[k]);
        if (!n) continue;
        const char *last = strrchr(audiences[k], ' ');
        if (last && strcmp(last + 1, "who") == 0) {
            n += skip_all(s + n, auxiliaries);
            size_t v = match_any(s + n, verbs);
            if (!v) continue;
            n += v;
            n += match_object(s + n);
        }
        if (n > best) best = n;
    }
    return best;
}

/* ------------------------------------------------------------------------------------------
 * Nesting: parentheses, brackets and double quotes (ASCII and curly) */

typedef struct nest {
    int depth, quote;
} nest;

/* Updates the nesting state for the character at s; returns its byte length. */
static int nest_step(nest *st, const char *s) {
    unsigned char c = (unsigned char)s[0];
    if (c == '(' || c == '[') st->depth++;
    if ((c == ')' || c == ']') && st->depth > 0) st->depth--;
    if (c == '"') st->quote = !st->quote;
    if (c == 0xE2 && (unsigned char)s[1] == 0x80 &&
        ((unsigned char)s[2] == 0x9C || (unsigned char)s[2] == 0x9D)) {
        st->quote = (unsigned char)s[2] == 0x9C;
        return 3;
    }
    return 1;
}

static int top_level(const nest *st) { return st->depth == 0 && !st->quote; }

/* First top-level comma in [s, s+len), or len. */
static size_t first_comma(const char *s, size_t len) {
    nest st = {0, 0};
    for (size_t i = 0; i < len;) {
        if (s[i] == ',' && top_level(&st)) return i;
        i += (size_t)nest_step(&st, s + i);
    }
    return len;
}

/* ------------------------------------------------------------------------------------------
 * Output */

typedef struct sink {
    beat_phrase_list *out;
    int max;
    char *w; /* write position in out->buf */
} sink;

static void trim(const char **a, const char **b) {
    while (*a < *b && (isspace((unsigned char)**a) || strchr(".,;:!?", **a))) (*a)++;
    while (*b > *a && (isspace((unsigned char)(*b)[-1]) || strchr(".,;:!?", (*b)[-1]))) (*b)--;
    if (*b - *a >= 2 && **a == '"' && (*b)[-1] == '"') {
        (*a)++;
        (*b)--;
        trim(a, b);
    }
}

static int count_words(const char *a, const char *b) {
    int words = 0, in = 0, alnum = 0;
    for (const char *p = a; p <= b; p++) {
        int sp = p == b || isspace((unsigned char)*p);
        if (!sp) {
            in = 1;
            if (isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80) alnum = 1;
        } else if (in) {
            words += alnum;
            in = alnum = 0;
        }
    }
    return words;
}

static void emit_piece(sink *sk, const char *a, const char *b) {
    if (sk->out->n >= sk->max) return;
    trim(&a, &b);
    if (match_seq(a, "based on")) return; /* "..., based on their reviews, ..." */
    for (;;) { /* leading connectors, repeatedly: "and especially those who enjoy X" */
        trim(&a, &b);
        size_t n = match_leadin(a); /* a lead-in after a comma: ", and they also enjoy X" */
        if (!n) n = match_any(a, piece_leads);
        if (!n) { /* "books with X" inside a list, as after the lead-in */
            size_t o = match_any(a, objects);
            size_t c = o ? match_any(a + o, connectors) : 0;
            if (c) n = o + c;
        }
        if (!n) {
            n = match_any(a, piece_who);
            if (n) {
                n += skip_all(a + n, auxiliaries);
                n += match_any(a + n, verbs);
            }
        }
        if (!n || a + n > b) break;
        a += n;
    }
    trim(&a, &b);
    int words = 0;
    for (const char *p = a; p < b && words < PIECE_AUDIENCE_WORDS; p++) {
        if (p != a && p[-1] != ' ') continue;
        words++;
        size_t n = p != a ? match_any(p, piece_audience) : 0;
        if (n && p + n < b) {
            a = p + n;
            break;
        }
    }
    trim(&a, &b);
    if (b <= a || count_words(a, b) < 2) return;
    size_t len = (size_t)(b - a);
    for (int k = 0; k < sk->out->n; k++)
        if (strlen(sk->out->items[k]) == len && strncasecmp(sk->out->items[k], a, len) == 0)
            return;
    memcpy(sk->w, a, len);
    sk->w[len] = '\0';
    sk->out->items[sk->out->n++] = sk->w;
    sk->w += len + 1;
}

/* Splits [a, b) on top-level commas, semicolons and the word "and". */
static void split_pieces(sink *sk, const char *a, const char *b) {
    nest st = {0, 0};
    const char *start = a;
    for (const char *p = a; p < b;) {
        if (top_level(&st)) {
            if (*p == ',' || *p == ';') {
                emit_piece(sk, start, p);
                start = ++p;
                continue;
            }
            if ((p == a || !is_word_char(p[-1])) && strncasecmp(p, "and", 3) == 0 &&
                p + 3 <= b && (p + 3 == b || !is_word_char(p[3])) &&
                count_words(start, p) >= 2) {
                /* a one-word left side is a coordinated modifier ("authentic and
                 * flavorful food"): it stays with the right side */
                emit_piece(sk, start, p);
                p += 3;
                start = p;
                continue;
            }
        }
        p += nest_step(&st, p);
    }
    emit_piece(sk, start, b);
}

/* Finds "would enjoy" (modal, adverbs, verb) at a top-level word start of [a, b): sets
 * *at and *after and returns 1. */
static int find_tail_clause(const char *a, const char *b, const char **at, const char **after) {
    nest st = {0, 0};
    for (const char *p = a; p < b;) {
        if (top_level(&st) && p > a && p[-1] == ' ') {
            size_t n = match_any(p, modals);
            if (n) {
                n += skip_all(p + n, modal_adverbs);
                size_t v = match_any(p + n, tail_verbs);
                if (v && p + n + v <= b) {
                    *at = p;
                    *after = p + n + v;
                    return 1;
                }
            }
        }
        p += nest_step(&st, p);
    }
    return 0;
}

static void process_sentence(sink *sk, const char *a, const char *b) {
    /* openers: "Based on ..., " and "Overall, " */
    for (;;) {
        while (a < b && *a == ' ') a++;
        if (match_seq(a, "based on")) {
            size_t c = first_comma(a, (size_t)(b - a));
            a = c < (size_t)(b - a) ? a + c + 1 : b;
            continue;
        }
        size_t n = match_any(a, openers); /* the match stops at the comma after it */
        if (n && a + n < b && a[n] == ',') {
            a += n + 1;
            continue;
        }
        break;
    }
    a += match_leadin(a);
    if (a > b) a = b;
    const char *at, *after;
    if (find_tail_clause(a, b, &at, &after)) {
        /* "X would enjoy <Name> in <City> for its Y, ...": keep X, drop the name */
        size_t c = first_comma(after, (size_t)(b - after));
        const char *reason = NULL;
        for (const char *p = after; p < after + c; p++) {
            if (p != after && p[-1] != ' ') continue;
            size_t n = match_any(p, reason_marks);
            if (n) {
                reason = p + n;
                break;
            }
        }
        split_pieces(sk, a, at);
        const char *rest = reason ? reason : (after + c < b ? after + c + 1 : b);
        split_pieces(sk, rest, b);
        return;
    }
    split_pieces(sk, a, b);
}

static int is_abbreviation(const char *start, const char *dot) {
    const char *w = dot;
    while (w > start && (isalpha((unsigned char)w[-1]) || w[-1] == '.')) w--;
    size_t len = (size_t)(dot - w);
    if (len == 1) return 1; /* an initial: "J. K. Rowling" */
    for (int k = 0; abbreviations[k]; k++)
        if (strlen(abbreviations[k]) == len && strncasecmp(w, abbreviations[k], len) == 0)
            return 1;
    return 0;
}

void beat_phrases_split(const char *summary, int max_phrases, beat_phrase_list *out) {
    memset(out, 0, sizeof *out);
    if (max_phrases > BEAT_PHRASES_MAX) max_phrases = BEAT_PHRASES_MAX;
    if (!summary || max_phrases <= 0) return;
    size_t len = strlen(summary);
    /* whitespace collapsed to single spaces, so word matching sees one separator */
    char *text = bb_malloc(len + 1);
    size_t m = 0;
    for (size_t i = 0; i < len; i++) {
        char c = summary[i];
        if (isspace((unsigned char)c)) {
            if (m > 0 && text[m - 1] != ' ') text[m++] = ' ';
        } else {
            text[m++] = c;
        }
    }
    while (m > 0 && text[m - 1] == ' ') m--;
    text[m] = '\0';
    out->buf = bb_malloc(m + (size_t)max_phrases + 1);
    sink sk = {out, max_phrases, out->buf};
    nest st = {0, 0};
    const char *start = text, *end = text + m;
    for (const char *p = text; p < end;) {
        char c = *p;
        if ((c == '.' || c == '!' || c == '?') && top_level(&st)) {
            const char *q = p + 1;
            int boundary = q == end || (*q == ' ' && q + 1 < end && isupper((unsigned char)q[1]));
            if (boundary && c == '.' && is_abbreviation(start, p)) boundary = 0;
            if (boundary) {
                process_sentence(&sk, start, p);
                start = q;
                p = q;
                continue;
            }
        }
        p += nest_step(&st, p);
    }
    if (start < end) process_sentence(&sk, start, end);
    free(text);
}

void beat_phrase_list_free(beat_phrase_list *l) {
    if (!l) return;
    free(l->buf);
    memset(l, 0, sizeof *l);
}
