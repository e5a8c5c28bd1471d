/* lm_encode — sentence and token vectors from the frozen LM (see lm_encode.h). */
#include "models/lm/lm_encode.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

/* The token ids of every text ("<bos> text", truncated to the context). */
typedef struct encoded {
    lm_ids *ids;
    size_t *order; /* text indices by increasing length (ties by index) */
    size_t truncated;
} encoded;

typedef struct len_index {
    size_t len, index;
} len_index;

static int by_length(const void *x, const void *y) {
    const len_index *a = x, *b = y;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static void encode_all(lm_model *lm, lm_bpe *tok, const char *const *texts, const size_t *lens,
                       size_t n, encoded *e) {
    e->ids = bb_calloc(n ? n : 1, sizeof *e->ids);
    e->order = bb_malloc((n ? n : 1) * sizeof *e->order);
    e->truncated = 0;
    size_t ctx = (size_t)lm->arch.context;
    for (size_t i = 0; i < n; i++) {
        lm_ids_push(&e->ids[i], lm_bpe_special(tok, LM_BOS));
        lm_bpe_encode(tok, texts[i], lens ? lens[i] : strlen(texts[i]), &e->ids[i]);
        if (e->ids[i].n > ctx) {
            e->truncated += e->ids[i].n - ctx;
            e->ids[i].n = ctx;
        }
    }
    len_index *keys = bb_malloc((n ? n : 1) * sizeof *keys);
    for (size_t i = 0; i < n; i++) keys[i] = (len_index){e->ids[i].n, i};
    qsort(keys, n, sizeof *keys, by_length);
    for (size_t i = 0; i < n; i++) e->order[i] = keys[i].index;
    free(keys);
}

static void encoded_free(encoded *e, size_t n) {
    for (size_t i = 0; i < n; i++) lm_ids_free(&e->ids[i]);
    free(e->ids);
    free(e->order);
}

/* Runs texts order[first .. first+B) as one padded batch; states (B, T, C) in out. */
static void run_batch(lm_model *lm, lm_bpe *tok, const encoded *e, size_t first, int B, int T,
                      int layer, int32_t *ids, float *out) {
    int32_t pad = lm_bpe_special(tok, LM_PAD);
    for (int b = 0; b < B; b++) {
        const lm_ids *s = &e->ids[e->order[first + (size_t)b]];
        for (int t = 0; t < T; t++) ids[(size_t)b * T + t] = (size_t)t < s->n ? s->v[t] : pad;
    }
    lm_input in = {.B = B, .T = T, .ids = ids};
    lm_hidden(lm, &in, layer, out);
}

/* Walks the sorted texts in batches of about chunk rows per thread; calls visit(b, text). */
typedef void (*visit_fn)(void *ctx, size_t text, const float *states, size_t n_tokens, int dim);

static void for_each_batch(lm_model *lm, lm_bpe *tok, const encoded *e, size_t n, int layer,
                           visit_fn visit, void *ctx) {
    int C = lm->arch.d_model;
    size_t budget = (size_t)LM_CHUNK_ROWS * (size_t)lm_get_threads(lm);
    int32_t *ids = NULL;
    float *states = NULL;
    size_t cap = 0;
    for (size_t first = 0; first < n;) {
        /* Sorted by length: the batch's width is its last (longest) text. */
        size_t B = 1;
        while (first + B < n && (B + 1) * e->ids[e->order[first + B]].n <= budget) B++;
        int T = (int)e->ids[e->order[first + B - 1]].n;
        if (B * (size_t)T > cap) {
            cap = B * (size_t)T;
            free(ids);
            free(states);
            ids = bb_malloc(cap * sizeof *ids);
            states = bb_malloc(cap * (size_t)C * sizeof *states);
        }
        run_batch(lm, tok, e, first, (int)B, T, layer, ids, states);
        for (size_t b = 0; b < B; b++) {
            size_t text = e->order[first + b];
            visit(ctx, text, states + b * (size_t)T * C, e->ids[text].n, C);
        }
        first += B;
    }
    free(ids);
    free(states);
}

/* ================================= sentence vectors ================================= */

static void mean_visit(void *ctx, size_t text, const float *states, size_t n_tokens, int dim) {
    float *out = (float *)ctx + text * (size_t)dim;
    memset(out, 0, (size_t)dim * sizeof *out);
    if (n_tokens < 2) return; /* only <bos>: an empty text */
    /* Position 0 is <bos>; the mean runs over the text's own tokens. */
    double *acc = bb_calloc((size_t)dim, sizeof *acc);
    for (size_t t = 1; t < n_tokens; t++)
        for (int c = 0; c < dim; c++) acc[c] += states[t * (size_t)dim + c];
    for (int c = 0; c < dim; c++) out[c] = (float)(acc[c] / (double)(n_tokens - 1));
    free(acc);
}

void lm_sentence_vectors(lm_model *lm, lm_bpe *tok, const char *const *texts, const size_t *lens,
                         size_t n, int layer, float *out) {
    encoded e;
    encode_all(lm, tok, texts, lens, n, &e);
    for_each_batch(lm, tok, &e, n, layer, mean_visit, out);
    encoded_free(&e, n);
}

/* =================================== token vectors ================================== */

static void copy_visit(void *ctx, size_t text, const float *states, size_t n_tokens, int dim) {
    lm_token_vectors *tv = ctx;
    size_t k = tv->start[text];
    if (n_tokens > 1)
        memcpy(tv->vectors + k * (size_t)dim, states + (size_t)dim,
               (n_tokens - 1) * (size_t)dim * sizeof(float));
}

void lm_encode_tokens(lm_model *lm, lm_bpe *tok, const char *const *texts, const size_t *lens,
                      size_t n, int layer, lm_token_vectors *out) {
    encoded e;
    encode_all(lm, tok, texts, lens, n, &e);
    out->n_texts = n;
    out->dim = lm->arch.d_model;
    out->truncated = e.truncated;
    out->start = bb_malloc((n + 1) * sizeof *out->start);
    out->start[0] = 0;
    for (size_t i = 0; i < n; i++) out->start[i + 1] = out->start[i] + e.ids[i].n - 1;
    size_t total = out->start[n];
    out->ids = bb_malloc((total ? total : 1) * sizeof *out->ids);
    out->vectors = bb_malloc((total ? total : 1) * (size_t)out->dim * sizeof *out->vectors);
    for (size_t i = 0; i < n; i++)
        if (e.ids[i].n > 1)
            memcpy(out->ids + out->start[i], e.ids[i].v + 1, (e.ids[i].n - 1) * sizeof(int32_t));
    for_each_batch(lm, tok, &e, n, layer, copy_visit, out);
    encoded_free(&e, n);
}

void lm_token_vectors_free(lm_token_vectors *tv) {
    free(tv->start);
    free(tv->ids);
    free(tv->vectors);
    memset(tv, 0, sizeof *tv);
}

size_t lm_text_encoder_embed(const lm_text_encoder *enc, const char *text, size_t len,
                             lm_token_sink sink, void *ctx) {
    lm_token_vectors tv;
    const char *texts[1] = {text};
    lm_encode_tokens(enc->model, enc->tok, texts, &len, 1, enc->layer, &tv);
    for (size_t k = 0; k < tv.start[1]; k++) {
        size_t blen;
        const char *bytes = lm_bpe_token_bytes(enc->tok, tv.ids[k], &blen);
        sink(ctx, bytes, blen, tv.vectors + k * (size_t)tv.dim);
    }
    size_t skipped = tv.truncated;
    lm_token_vectors_free(&tv);
    return skipped;
}
