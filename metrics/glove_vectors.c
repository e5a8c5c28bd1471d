/* glove_vectors — loading GloVe-format word vectors. See glove_vectors.h. */
#include "metrics/glove_vectors.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/text_pairs.h"
#include "metrics/text_unicode.h"
#include "metrics/text_vocab.h"
#include "models/base/bb_io.h"

struct glove_vectors {
    text_vocab *words;
    float *vectors; /* size x dim */
    size_t cap;
    int dim;
};

void glove_free(glove_vectors *g) {
    if (!g) return;
    text_vocab_free(g->words);
    free(g->vectors);
    free(g);
}

int glove_dim(const glove_vectors *g) { return g->dim; }
size_t glove_size(const glove_vectors *g) { return text_vocab_size(g->words); }

const float *glove_lookup(const glove_vectors *g, const char *word, size_t len) {
    int32_t id = text_vocab_find(g->words, word, len);
    return id < 0 ? NULL : g->vectors + (size_t)id * (size_t)g->dim;
}

static const float *lookup_fn(void *ctx, const char *word, size_t len) {
    return glove_lookup(ctx, word, len);
}

bertstyle_lookup *glove_source_create(glove_vectors *g) {
    return bertstyle_lookup_create(lookup_fn, g, g->dim, "glove");
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Splits line[0..n) on spaces/tabs in place; returns the field count (fields NUL-ended). */
static size_t split_fields(char *line, size_t n, char ***fields, size_t *cap) {
    size_t count = 0, i = 0;
    while (i < n) {
        while (i < n && is_blank(line[i])) i++;
        if (i >= n) break;
        if (count == *cap) {
            *cap = *cap ? 2 * *cap : 512;
            *fields = bb_realloc(*fields, *cap * sizeof **fields);
        }
        (*fields)[count++] = line + i;
        while (i < n && !is_blank(line[i])) i++;
        line[i < n ? i : n] = '\0';
        i++;
    }
    return count;
}

static int is_integer(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

int glove_load(const char *path, glove_vectors **out, bb_error *err) {
    *out = NULL;
    char *data;
    size_t len;
    if (text_read_all(path, &data, &len, err)) return BB_ERR;
    glove_vectors *g = bb_calloc(1, sizeof *g);
    g->words = text_vocab_create();
    char **fields = NULL;
    size_t fields_cap = 0, pos = 0, line = 0, dim_line = 0, bad;
    int rc = BB_ERR;
    while (pos < len) {
        char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        char *text = data + pos;
        size_t n = end - pos;
        pos = end + 1;
        line++;
        if (!uni_utf8_check(text, n, &bad)) {
            bb_fail(err, "%s:%zu: invalid UTF-8 (byte 0x%02x at offset %zu)", path, line,
                    (unsigned char)text[bad], bad);
            goto done;
        }
        size_t k = split_fields(text, n, &fields, &fields_cap);
        if (k == 0) continue;
        if (line == 1 && k == 2 && is_integer(fields[0]) && is_integer(fields[1]))
            continue; /* word2vec text header "count dim" */
        if (k < 2) {
            bb_fail(err, "%s:%zu: expected a word followed by its vector, got one field", path,
                    line);
            goto done;
        }
        int values = (int)(k - 1);
        if (!g->dim) {
            g->dim = values;
            dim_line = line;
        } else if (values != g->dim) {
            bb_fail(err, "%s:%zu: expected %d values as on line %zu, got %d (ragged vectors)",
                    path, line, g->dim, dim_line, values);
            goto done;
        }
        size_t before = text_vocab_size(g->words);
        int32_t id = text_vocab_intern(g->words, fields[0], strlen(fields[0]));
        if ((size_t)id < before) continue; /* repeated word: keep the first vector */
        size_t need = ((size_t)id + 1) * (size_t)g->dim;
        if (need > g->cap) {
            g->cap = 2 * need;
            g->vectors = bb_realloc(g->vectors, g->cap * sizeof *g->vectors);
        }
        float *v = g->vectors + (size_t)id * (size_t)g->dim;
        for (int d = 0; d < g->dim; d++) {
            char *endp;
            errno = 0;
            float x = strtof(fields[d + 1], &endp);
            if (*endp || endp == fields[d + 1] || !isfinite(x)) {
                bb_fail(err, "%s:%zu: value %d of '%s': expected a number, got \"%.40s\"", path,
                        line, d + 1, fields[0], fields[d + 1]);
                goto done;
            }
            v[d] = x;
        }
    }
    if (!g->dim) {
        bb_fail(err, "%s: no vectors found", path);
        goto done;
    }
    rc = BB_OK;
done:
    free(fields);
    free(data);
    if (rc) {
        glove_free(g);
        return BB_ERR;
    }
    *out = g;
    return BB_OK;
}
