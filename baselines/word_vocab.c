/* word_vocab — word tokenizer and train-only vocabulary of PETER and NRT. See word_vocab.h. */
#include "baselines/word_vocab.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"

static const char *const special_words[BB_WORD_SPECIALS] = {"<pad>", "<unk>", "<bos>", "<eos>"};

/* ------------------------------------------------------------------------------------------ */
/* tokenizer */

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_split_punct(unsigned char c) {
    return c != 0 && strchr(".,!?;:()[]{}\"", c) != NULL;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static void grow_spans(bb_word_span **spans, size_t *cap, size_t need) {
    if (need <= *cap) return;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    *spans = bb_realloc(*spans, c * sizeof **spans);
    *cap = c;
}

size_t bb_word_tokenize(const char *text, char **buf, size_t *buf_cap, bb_word_span **spans,
                        size_t *spans_cap) {
    size_t len = strlen(text);
    if (*buf_cap < len + 1) {
        *buf = bb_realloc(*buf, len + 1);
        *buf_cap = len + 1;
    }
    char *s = *buf;
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)text[k];
        s[k] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    s[len] = '\0';
    size_t n = 0, k = 0;
    while (k < len) {
        unsigned char c = (unsigned char)s[k];
        if (is_space(c)) {
            k++;
            continue;
        }
        grow_spans(spans, spans_cap, n + 1);
        if (is_split_punct(c)) {
            (*spans)[n++] = (bb_word_span){k, 1};
            k++;
            continue;
        }
        size_t start = k;
        while (k < len) {
            unsigned char d = (unsigned char)s[k];
            if (is_space(d)) break;
            if (is_split_punct(d)) {
                /* "3.5" and "1,000" keep their separator */
                int numeric = (d == '.' || d == ',') && k > start &&
                              is_digit((unsigned char)s[k - 1]) && k + 1 < len &&
                              is_digit((unsigned char)s[k + 1]);
                if (!numeric) break;
            }
            k++;
        }
        (*spans)[n++] = (bb_word_span){start, k - start};
    }
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* building */

typedef struct word_count {
    const char *word;
    size_t len;
    int64_t count;
} word_count;

static int cmp_word_count(const void *pa, const void *pb) {
    const word_count *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    size_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->word, b->word, m);
    if (c) return c;
    return a->len < b->len ? -1 : (a->len > b->len ? 1 : 0);
}

static int is_special(const char *w, size_t len) {
    for (int k = 0; k < BB_WORD_SPECIALS; k++)
        if (strlen(special_words[k]) == len && memcmp(special_words[k], w, len) == 0) return 1;
    return 0;
}

void bb_word_vocab_build_texts(const char *const *texts, size_t n, int max_words,
                               bb_word_vocab *out) {
    BB_ASSERT(max_words >= 1, "word vocab: max_words must be >= 1, got %d", max_words);
    memset(out, 0, sizeof *out);
    text_vocab *seen = text_vocab_create();
    int64_t *counts = NULL;
    size_t counts_cap = 0;
    char *buf = NULL;
    size_t buf_cap = 0, spans_cap = 0;
    bb_word_span *spans = NULL;
    int64_t unk_like = 0;
    for (size_t t = 0; t < n; t++) {
        size_t m = bb_word_tokenize(texts[t], &buf, &buf_cap, &spans, &spans_cap);
        out->train_tokens += (int64_t)m;
        for (size_t k = 0; k < m; k++) {
            const char *w = buf + spans[k].start;
            if (is_special(w, spans[k].len)) {
                unk_like++;
                continue;
            }
            int32_t id = text_vocab_intern(seen, w, spans[k].len);
            if ((size_t)id >= counts_cap) {
                size_t c = counts_cap ? counts_cap * 2 : 1024;
                counts = bb_realloc(counts, c * sizeof *counts);
                memset(counts + counts_cap, 0, (c - counts_cap) * sizeof *counts);
                counts_cap = c;
            }
            counts[id]++;
        }
    }
    size_t distinct = text_vocab_size(seen);
    word_count *wc = bb_malloc((distinct ? distinct : 1) * sizeof *wc);
    for (size_t id = 0; id < distinct; id++) {
        size_t len;
        const char *w = text_vocab_str(seen, (int32_t)id, &len);
        wc[id] = (word_count){w, len, counts[id]};
    }
    qsort(wc, distinct, sizeof *wc, cmp_word_count);
    size_t keep = distinct < (size_t)max_words ? distinct : (size_t)max_words;

    out->words = text_vocab_create();
    out->size = (int32_t)(BB_WORD_SPECIALS + keep);
    out->count = bb_calloc((size_t)out->size, sizeof *out->count);
    out->distinct_train_words = (int32_t)distinct;
    for (int k = 0; k < BB_WORD_SPECIALS; k++)
        text_vocab_intern(out->words, special_words[k], strlen(special_words[k]));
    out->count[BB_WORD_UNK] = unk_like;
    for (size_t k = 0; k < keep; k++) {
        int32_t id = text_vocab_intern(out->words, wc[k].word, wc[k].len);
        BB_ASSERT(id == (int32_t)(BB_WORD_SPECIALS + k), "word vocab: id %d for rank %zu", id, k);
        out->count[id] = wc[k].count;
    }
    for (size_t k = keep; k < distinct; k++) out->count[BB_WORD_UNK] += wc[k].count;
    free(wc);
    free(counts);
    free(buf);
    free(spans);
    text_vocab_free(seen);
}

void bb_word_vocab_build(const bb_explanations *ex, const bb_split *split, int max_words,
                         bb_word_vocab *out) {
    BB_ASSERT(split->n == ex->n, "word vocab: split has %zu rows, explanations %zu", split->n,
              ex->n);
    const char **texts = bb_malloc((ex->n ? ex->n : 1) * sizeof *texts);
    size_t n = 0;
    for (size_t r = 0; r < ex->n; r++)
        if (split->part[r] == BB_SPLIT_TRAIN) texts[n++] = ex->rows[r].explanation;
    bb_word_vocab_build_texts(texts, n, max_words, out);
    free(texts);
}

void bb_word_vocab_free(bb_word_vocab *v) {
    if (v->words) text_vocab_free(v->words);
    free(v->count);
    free(v->scratch);
    free(v->spans);
    memset(v, 0, sizeof *v);
}

/* ------------------------------------------------------------------------------------------ */
/* lookups */

int32_t bb_word_vocab_id(const bb_word_vocab *v, const char *word, size_t len) {
    int32_t id = text_vocab_find(v->words, word, len);
    return id < BB_WORD_SPECIALS ? BB_WORD_UNK : id;
}

const char *bb_word_vocab_word(const bb_word_vocab *v, int32_t id) {
    BB_ASSERT(id >= 0 && id < v->size, "word vocab: id %d outside [0, %d)", id, v->size);
    return text_vocab_str(v->words, id, NULL);
}

size_t bb_word_vocab_encode(bb_word_vocab *v, const char *text, int32_t *ids, size_t cap,
                            int *truncated) {
    size_t m = bb_word_tokenize(text, &v->scratch, &v->scratch_cap, &v->spans, &v->spans_cap);
    size_t n = m < cap ? m : cap;
    for (size_t k = 0; k < n; k++)
        ids[k] = bb_word_vocab_id(v, v->scratch + v->spans[k].start, v->spans[k].len);
    if (truncated) *truncated = m > cap;
    return n;
}

static int no_space_before(const char *w) {
    return w[0] && !w[1] && strchr(".,!?;:)]}", w[0]) != NULL;
}

static int no_space_after(const char *w) { return w[0] && !w[1] && strchr("([{", w[0]) != NULL; }

char *bb_word_vocab_decode(const bb_word_vocab *v, const int32_t *ids, size_t n) {
    size_t cap = 1;
    for (size_t k = 0; k < n; k++) cap += strlen(bb_word_vocab_word(v, ids[k])) + 1;
    char *s = bb_malloc(cap);
    size_t len = 0;
    int glue = 1; /* no space before the next token */
    for (size_t k = 0; k < n; k++) {
        int32_t id = ids[k];
        if (id == BB_WORD_PAD || id == BB_WORD_BOS || id == BB_WORD_EOS) continue;
        const char *w = bb_word_vocab_word(v, id);
        if (!glue && !no_space_before(w)) s[len++] = ' ';
        size_t wl = strlen(w);
        memcpy(s + len, w, wl);
        len += wl;
        glue = no_space_after(w);
    }
    s[len] = '\0';
    return s;
}
