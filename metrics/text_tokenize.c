/* text_tokenize — whitespace and rouge tokenizers, dispatch, and id encoding.
 * See text_tokenize.h. */
#include "metrics/text_tokenize.h"

#include <stdlib.h>
#include <string.h>

#include "metrics/porter.h"
#include "metrics/treebank.h"
#include "models/base/bb_io.h"

struct tokenizer {
    tokenizer_kind kind;
    int lowercase;
    treebank *tb;
    char *buf; /* lower-cased text (whitespace) or token characters (rouge) */
    size_t buf_cap;
    text_span *spans;
    size_t span_cap;
};

int tokenizer_kind_parse(const char *name, tokenizer_kind *out) {
    if (strcmp(name, "whitespace") == 0)
        *out = TOKENIZER_WHITESPACE;
    else if (strcmp(name, "treebank") == 0)
        *out = TOKENIZER_TREEBANK;
    else if (strcmp(name, "rouge") == 0)
        *out = TOKENIZER_ROUGE;
    else
        return -1;
    return 0;
}

const char *tokenizer_kind_name(tokenizer_kind kind) {
    switch (kind) {
    case TOKENIZER_WHITESPACE: return "whitespace";
    case TOKENIZER_TREEBANK: return "treebank";
    case TOKENIZER_ROUGE: return "rouge";
    }
    return "?";
}

tokenizer *tokenizer_create(tokenizer_kind kind, int lowercase) {
    tokenizer *t = bb_calloc(1, sizeof *t);
    t->kind = kind;
    t->lowercase = lowercase;
    if (kind == TOKENIZER_TREEBANK) t->tb = treebank_create();
    return t;
}

void tokenizer_free(tokenizer *t) {
    if (!t) return;
    treebank_free(t->tb);
    free(t->buf);
    free(t->spans);
    free(t);
}

static void reserve_buf(tokenizer *t, size_t n) {
    if (n <= t->buf_cap) return;
    t->buf_cap = n > 2 * t->buf_cap ? n : 2 * t->buf_cap;
    t->buf = bb_realloc(t->buf, t->buf_cap);
}

static void grow_spans(tokenizer *t) {
    t->span_cap = t->span_cap ? 2 * t->span_cap : 64;
    t->spans = bb_realloc(t->spans, t->span_cap * sizeof *t->spans);
}

static inline void push_span(tokenizer *t, size_t *count, const char *ptr, size_t len) {
    if (*count == t->span_cap) grow_spans(t);
    t->spans[*count].ptr = ptr;
    t->spans[*count].len = (uint32_t)len;
    (*count)++;
}

/* str.split() */
static size_t split_whitespace(tokenizer *t, const char *s, size_t n) {
    return uni_split_whitespace(s, n, &t->spans, &t->span_cap);
}

/* str.lower() into t->buf; returns the length. */
static size_t lower_text(tokenizer *t, const char *text, size_t len) {
    reserve_buf(t, UNI_LOWER_CAPACITY(len));
    return uni_lower(text, len, t->buf);
}

/* rouge_score: text.lower(); re.sub(r"[^a-z0-9]+", " "); split. Only three things lower
 * into ASCII letters or digits: ASCII capitals, U+0130 ("i" + a combining dot, which is then
 * a separator) and the Kelvin sign U+212A ("k"). */
static size_t rouge_split(tokenizer *t, const char *s, size_t n) {
    reserve_buf(t, n + 1);
    char *out = t->buf;
    size_t o = 0, count = 0, start = 0;
    int in_token = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        char keep = 0;
        size_t len = 1;
        if (c < 0x80) {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                keep = (char)c;
            else if (c >= 'A' && c <= 'Z')
                keep = (char)(c + 32);
        } else {
            uint32_t cp = uni_decode(s, n, i, &len);
            if (cp == 0x130)
                keep = 'i';
            else if (cp == 0x212A)
                keep = 'k';
        }
        if (keep) {
            if (!in_token) start = o, in_token = 1;
            out[o++] = keep;
            /* "i" from U+0130 is followed by U+0307, which ends the token */
            if (c >= 0x80 && keep == 'i') {
                push_span(t, &count, out + start, o - start);
                in_token = 0;
            }
        } else if (in_token) {
            push_span(t, &count, out + start, o - start);
            in_token = 0;
        }
        i += len;
    }
    if (in_token) push_span(t, &count, out + start, o - start);
    return count;
}

size_t tokenizer_run(tokenizer *t, const char *text, size_t len, const text_span **tokens) {
    size_t count = 0;
    switch (t->kind) {
    case TOKENIZER_TREEBANK: return treebank_tokenize(t->tb, text, len, t->lowercase, tokens);
    case TOKENIZER_WHITESPACE:
        if (t->lowercase) {
            size_t n = lower_text(t, text, len);
            count = split_whitespace(t, t->buf, n);
        } else {
            count = split_whitespace(t, text, len);
        }
        break;
    case TOKENIZER_ROUGE: count = rouge_split(t, text, len); break;
    }
    *tokens = t->spans;
    return count;
}

/* ------------------------------------------------------------------------------------ */
/* Encoder                                                                              */

struct text_encoder {
    tokenizer *tok;
    text_vocab *vocab;
    int stem;
    int32_t *ids;
    size_t ids_cap;
    int32_t *stem_of; /* stem id per token id, -1 = not computed */
    size_t stem_cap;
    char *stem_buf;
    size_t stem_buf_cap;
};

text_encoder *text_encoder_create(tokenizer_kind kind, int lowercase, int stem, text_vocab *vocab) {
    text_encoder *e = bb_calloc(1, sizeof *e);
    e->tok = tokenizer_create(kind, lowercase);
    e->vocab = vocab;
    e->stem = stem;
    return e;
}

void text_encoder_free(text_encoder *e) {
    if (!e) return;
    tokenizer_free(e->tok);
    free(e->ids);
    free(e->stem_of);
    free(e->stem_buf);
    free(e);
}

int32_t text_encoder_stem_id(text_encoder *e, int32_t id) {
    if ((size_t)id >= e->stem_cap) {
        size_t cap = e->stem_cap ? e->stem_cap : 1024;
        while (cap <= (size_t)id) cap *= 2;
        e->stem_of = bb_realloc(e->stem_of, cap * sizeof *e->stem_of);
        for (size_t i = e->stem_cap; i < cap; i++) e->stem_of[i] = -1;
        e->stem_cap = cap;
    }
    if (e->stem_of[id] >= 0) return e->stem_of[id];
    size_t len;
    const char *word = text_vocab_str(e->vocab, id, &len);
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) chars += ((unsigned char)word[i] & 0xC0) != 0x80;
    int32_t stem_id = id;
    if (chars > 3) { /* rouge_score stems only tokens longer than 3 characters */
        size_t need = PORTER_STEM_CAPACITY(len);
        if (need > e->stem_buf_cap) {
            e->stem_buf = bb_realloc(e->stem_buf, need);
            e->stem_buf_cap = need;
        }
        size_t k = porter_stem(word, len, e->stem_buf);
        stem_id = text_vocab_intern(e->vocab, e->stem_buf, k);
    }
    /* interning may have grown the vocabulary but not past stem_cap's coverage of id */
    e->stem_of[id] = stem_id;
    return stem_id;
}

size_t text_encoder_encode(text_encoder *e, const char *text, size_t len, const int32_t **ids) {
    const text_span *tokens;
    size_t n = tokenizer_run(e->tok, text, len, &tokens);
    if (n > e->ids_cap) {
        e->ids_cap = n > 2 * e->ids_cap ? n : 2 * e->ids_cap;
        e->ids = bb_realloc(e->ids, e->ids_cap * sizeof *e->ids);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = text_vocab_intern(e->vocab, tokens[i].ptr, tokens[i].len);
        if (e->stem) {
            id = text_encoder_stem_id(e, id);
            size_t stem_len;
            text_vocab_str(e->vocab, id, &stem_len);
            if (stem_len == 0) continue; /* rouge_score drops tokens that stem to nothing */
        }
        e->ids[k++] = id;
    }
    *ids = e->ids;
    return k;
}
