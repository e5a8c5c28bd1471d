/* bertscore_style — greedy cosine matching of token vectors. See bertscore_style.h. */
#include "metrics/bertscore_style.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/text_tokenize.h"
#include "metrics/text_vocab.h"
#include "models/base/bb_io.h"

/* ------------------------------------------------------------------------------------ */
/* Embeddings                                                                           */

void bertstyle_embedding_init(bertstyle_embedding *e, int dim) {
    memset(e, 0, sizeof *e);
    e->dim = dim;
}

void bertstyle_embedding_clear(bertstyle_embedding *e) {
    e->count = 0;
    e->skipped = 0;
    e->bytes_len = 0;
}

void bertstyle_embedding_free(bertstyle_embedding *e) {
    free(e->vectors);
    free(e->bytes);
    free(e->offsets);
    free(e->lens);
    memset(e, 0, sizeof *e);
}

void bertstyle_embedding_push(bertstyle_embedding *e, const char *token, size_t len,
                              const float *vector) {
    size_t dim = (size_t)e->dim;
    if (e->count == e->tok_cap) {
        e->tok_cap = e->tok_cap ? 2 * e->tok_cap : 64;
        e->offsets = bb_realloc(e->offsets, e->tok_cap * sizeof *e->offsets);
        e->lens = bb_realloc(e->lens, e->tok_cap * sizeof *e->lens);
    }
    if ((e->count + 1) * dim > e->vec_cap) {
        e->vec_cap = 2 * (e->count + 1) * dim;
        e->vectors = bb_realloc(e->vectors, e->vec_cap * sizeof *e->vectors);
    }
    if (e->bytes_len + len > e->bytes_cap) {
        e->bytes_cap = 2 * (e->bytes_len + len) + 64;
        e->bytes = bb_realloc(e->bytes, e->bytes_cap);
    }
    memcpy(e->bytes + e->bytes_len, token, len);
    e->offsets[e->count] = e->bytes_len;
    e->lens[e->count] = (uint32_t)len;
    e->bytes_len += len;
    memcpy(e->vectors + e->count * dim, vector, dim * sizeof *vector);
    e->count++;
}

/* ------------------------------------------------------------------------------------ */
/* Lookup adapter                                                                       */

struct bertstyle_lookup {
    bertstyle_lookup_fn fn;
    void *ctx;
    int dim;
    const char *name;
    tokenizer *tok;
};

bertstyle_lookup *bertstyle_lookup_create(bertstyle_lookup_fn fn, void *ctx, int dim,
                                          const char *name) {
    bertstyle_lookup *l = bb_calloc(1, sizeof *l);
    l->fn = fn;
    l->ctx = ctx;
    l->dim = dim;
    l->name = name;
    l->tok = tokenizer_create(TOKENIZER_WHITESPACE, 1);
    return l;
}

void bertstyle_lookup_free(bertstyle_lookup *l) {
    if (!l) return;
    tokenizer_free(l->tok);
    free(l);
}

static int lookup_embed(void *ctx, const char *text, size_t len, bertstyle_embedding *out,
                        bb_error *err) {
    (void)err;
    bertstyle_lookup *l = ctx;
    const text_span *tokens;
    size_t n = tokenizer_run(l->tok, text, len, &tokens);
    for (size_t i = 0; i < n; i++) {
        const float *v = l->fn(l->ctx, tokens[i].ptr, tokens[i].len);
        if (v)
            bertstyle_embedding_push(out, tokens[i].ptr, tokens[i].len, v);
        else
            out->skipped++;
    }
    return BB_OK;
}

bertstyle_source bertstyle_lookup_source(bertstyle_lookup *l) {
    bertstyle_source s = {l, l->dim, l->name, lookup_embed};
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* Scoring                                                                              */

typedef struct side {
    double *unit; /* count x dim, L2-normalised */
    double *weight;
    size_t count, cap;
} side;

/* Normalises e's vectors (zero vectors stay zero: cosine 0 with everything) and looks up
 * each token's weight. */
static void prepare_side(const bertstyle_embedding *e, const text_vocab *df_vocab,
                         const int32_t *df, size_t m, int idf, side *s) {
    size_t dim = (size_t)e->dim;
    if (e->count > s->cap) {
        s->cap = e->count;
        s->unit = bb_realloc(s->unit, s->cap * dim * sizeof *s->unit);
        s->weight = bb_realloc(s->weight, s->cap * sizeof *s->weight);
    }
    s->count = e->count;
    for (size_t i = 0; i < e->count; i++) {
        const float *v = e->vectors + i * dim;
        double norm = 0;
        for (size_t k = 0; k < dim; k++) norm += (double)v[k] * (double)v[k];
        norm = sqrt(norm);
        for (size_t k = 0; k < dim; k++) s->unit[i * dim + k] = norm > 0 ? (double)v[k] / norm : 0;
        if (idf) {
            int32_t id = text_vocab_find(df_vocab, e->bytes + e->offsets[i], e->lens[i]);
            int32_t d = id >= 0 ? df[id] : 0;
            s->weight[i] = log((double)(m + 1) / (double)(d + 1));
        } else {
            s->weight[i] = 1.0;
        }
    }
}

static double rescale(double s, const bertstyle_options *opt) {
    return opt->rescale ? (s - opt->baseline) / (1.0 - opt->baseline) : s;
}

int bertstyle_score(const bertstyle_source *src, const char *const *refs, const size_t *ref_lens,
                    const char *const *cands, const size_t *cand_lens, size_t n,
                    const bertstyle_options *opt, bertstyle_result *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    BB_ASSERT(!opt->rescale || opt->baseline < 1.0, "baseline %g must be below 1", opt->baseline);
    size_t dim = (size_t)src->dim;
    bertstyle_embedding re, ce;
    bertstyle_embedding_init(&re, src->dim);
    bertstyle_embedding_init(&ce, src->dim);
    text_vocab *df_vocab = text_vocab_create();
    int32_t *df = NULL, *seen = NULL;
    size_t df_cap = 0;
    side rs = {0}, cs = {0};
    double *sim = NULL;
    size_t sim_cap = 0;
    int rc = BB_ERR;

    /* Document frequencies over the references (idf only). */
    if (opt->idf) {
        for (size_t p = 0; p < n; p++) {
            bertstyle_embedding_clear(&re);
            if (src->embed(src->ctx, refs[p], ref_lens[p], &re, err)) goto done;
            for (size_t i = 0; i < re.count; i++) {
                int32_t id = text_vocab_intern(df_vocab, re.bytes + re.offsets[i], re.lens[i]);
                if ((size_t)id >= df_cap) {
                    size_t cap = df_cap ? 2 * df_cap : 1024;
                    df = bb_realloc(df, cap * sizeof *df);
                    seen = bb_realloc(seen, cap * sizeof *seen);
                    for (size_t k = df_cap; k < cap; k++) df[k] = 0, seen[k] = -1;
                    df_cap = cap;
                }
                if (seen[id] != (int32_t)p) { /* count each word once per reference */
                    seen[id] = (int32_t)p;
                    df[id]++;
                }
            }
        }
    }

    out->n = n;
    out->pair_p = bb_calloc(n ? n : 1, sizeof *out->pair_p);
    out->pair_r = bb_calloc(n ? n : 1, sizeof *out->pair_r);
    out->pair_f = bb_calloc(n ? n : 1, sizeof *out->pair_f);
    double sum_p = 0, sum_r = 0, sum_f = 0;
    for (size_t p = 0; p < n; p++) {
        bertstyle_embedding_clear(&re);
        bertstyle_embedding_clear(&ce);
        if (src->embed(src->ctx, refs[p], ref_lens[p], &re, err)) goto done;
        if (src->embed(src->ctx, cands[p], cand_lens[p], &ce, err)) goto done;
        out->tokens += re.count + ce.count;
        out->skipped += re.skipped + ce.skipped;
        double prec = 0, rec = 0;
        if (re.count > 0 && ce.count > 0) {
            prepare_side(&re, df_vocab, df, n, opt->idf, &rs);
            prepare_side(&ce, df_vocab, df, n, opt->idf, &cs);
            size_t nc = cs.count, nr = rs.count;
            if (nc * nr > sim_cap) {
                sim_cap = nc * nr;
                sim = bb_realloc(sim, sim_cap * sizeof *sim);
            }
            /* sim (nc x nr) = C R^T: cosines of unit vectors */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nc, (int)nr, (int)dim, 1.0,
                        cs.unit, (int)dim, rs.unit, (int)dim, 0.0, sim, (int)nr);
            double num = 0, den = 0;
            for (size_t i = 0; i < nc; i++) {
                double best = sim[i * nr];
                for (size_t j = 1; j < nr; j++)
                    if (sim[i * nr + j] > best) best = sim[i * nr + j];
                num += cs.weight[i] * best;
                den += cs.weight[i];
            }
            prec = den > 0 ? num / den : 0;
            num = den = 0;
            for (size_t j = 0; j < nr; j++) {
                double best = sim[j];
                for (size_t i = 1; i < nc; i++)
                    if (sim[i * nr + j] > best) best = sim[i * nr + j];
                num += rs.weight[j] * best;
                den += rs.weight[j];
            }
            rec = den > 0 ? num / den : 0;
        }
        double f = prec + rec != 0 ? 2 * prec * rec / (prec + rec) : 0;
        out->pair_p[p] = rescale(prec, opt);
        out->pair_r[p] = rescale(rec, opt);
        out->pair_f[p] = rescale(f, opt);
        sum_p += out->pair_p[p];
        sum_r += out->pair_r[p];
        sum_f += out->pair_f[p];
    }
    if (n) {
        out->precision = sum_p / (double)n;
        out->recall = sum_r / (double)n;
        out->f1 = sum_f / (double)n;
    }
    rc = BB_OK;
done:
    if (rc) bertstyle_result_free(out);
    bertstyle_embedding_free(&re);
    bertstyle_embedding_free(&ce);
    text_vocab_free(df_vocab);
    free(df);
    free(seen);
    free(rs.unit);
    free(rs.weight);
    free(cs.unit);
    free(cs.weight);
    free(sim);
    return rc;
}

void bertstyle_result_free(bertstyle_result *r) {
    free(r->pair_p);
    free(r->pair_r);
    free(r->pair_f);
    memset(r, 0, sizeof *r);
}
