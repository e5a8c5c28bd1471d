/* rouge — rouge_score-exact ROUGE-1/2/L/Lsum on token ids. See rouge.h. */
#include "metrics/rouge.h"

#include <stdlib.h>
#include <string.h>

#include "metrics/ngram_count.h"
#include "models/base/bb_error.h"
#include "models/base/bb_io.h"

/* ------------------------------------------------------------------------------------ */
/* A small id -> slot map with generation stamps (cleared in O(1) per use)              */

typedef struct id_slot {
    int32_t id;
    uint32_t gen;
    int32_t a, b; /* payload: mask index, or two counters */
} id_slot;

typedef struct id_map {
    id_slot *slots;
    size_t mask;
    uint32_t gen;
} id_map;

static void id_map_reset(id_map *m, size_t expected) {
    size_t want = 2 * expected + 16, cap = m->mask + 1;
    if (!m->slots || cap < want) {
        cap = 64;
        while (cap < want) cap *= 2;
        free(m->slots);
        m->slots = bb_calloc(cap, sizeof *m->slots);
        m->mask = cap - 1;
        m->gen = 1;
        return;
    }
    if (++m->gen == 0) {
        memset(m->slots, 0, cap * sizeof *m->slots);
        m->gen = 1;
    }
}

/* Returns the slot of id, creating it (payload zero) when insert is set; NULL if absent. */
static id_slot *id_map_get(id_map *m, int32_t id, int insert) {
    size_t i = ((uint32_t)id * 0x9E3779B1u) & m->mask;
    for (;;) {
        id_slot *s = &m->slots[i];
        if (s->gen != m->gen) {
            if (!insert) return NULL;
            s->gen = m->gen;
            s->id = id;
            s->a = s->b = 0;
            return s;
        }
        if (s->id == id) return s;
        i = (i + 1) & m->mask;
    }
}

/* ------------------------------------------------------------------------------------ */

struct rouge_scorer {
    text_vocab *vocab;
    text_encoder *enc;
    ngram_table *table;
    id_map map;
    uint64_t *masks, *v;
    size_t masks_cap, v_cap;
    int32_t *ref_ids, *cand_ids;
    size_t ref_cap, cand_cap;
    int32_t *dp;
    size_t dp_cap;
    unsigned char *in_union;
    size_t union_cap;
    size_t *starts[2];
    size_t starts_cap[2];
};

rouge_scorer *rouge_scorer_create(int stem) {
    rouge_scorer *r = bb_calloc(1, sizeof *r);
    r->vocab = text_vocab_create();
    r->enc = text_encoder_create(TOKENIZER_ROUGE, 1, stem, r->vocab);
    r->table = ngram_table_create();
    return r;
}

void rouge_scorer_free(rouge_scorer *r) {
    if (!r) return;
    text_encoder_free(r->enc);
    text_vocab_free(r->vocab);
    ngram_table_free(r->table);
    free(r->map.slots);
    free(r->masks);
    free(r->v);
    free(r->ref_ids);
    free(r->cand_ids);
    free(r->dp);
    free(r->in_union);
    free(r->starts[0]);
    free(r->starts[1]);
    free(r);
}

static void *ensure(void *p, size_t *cap, size_t n, size_t elem) {
    if (n <= *cap) return p;
    size_t c = *cap ? *cap : 64;
    while (c < n) c *= 2;
    *cap = c;
    return bb_realloc(p, c * elem);
}

double rouge_fmeasure(double precision, double recall) {
    if (precision + recall > 0) return 2 * precision * recall / (precision + recall);
    return 0.0;
}

static rouge_prf prf(double p, double r) {
    rouge_prf s = {p, r, rouge_fmeasure(p, r)};
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* ROUGE-N                                                                              */

static rouge_prf ngram_prf(int64_t overlap, size_t nr, size_t nc, int n) {
    size_t ref_grams = nr >= (size_t)n ? nr - (size_t)n + 1 : 0;
    size_t cand_grams = nc >= (size_t)n ? nc - (size_t)n + 1 : 0;
    return prf((double)overlap / (double)(cand_grams > 1 ? cand_grams : 1),
               (double)overlap / (double)(ref_grams > 1 ? ref_grams : 1));
}

rouge_prf rouge_n(rouge_scorer *r, const int32_t *ref, size_t nr, const int32_t *cand,
                  size_t nc, int n) {
    BB_ASSERT(n >= 1 && n <= NGRAM_MAX_ORDER, "ROUGE-N with n = %d", n);
    int64_t matches[NGRAM_MAX_ORDER];
    ngram_table_reset(r->table, n, nr * (size_t)n, 0);
    ngram_table_add_ref(r->table, ref, nr);
    ngram_table_match(r->table, cand, nc, matches);
    return ngram_prf(matches[n - 1], nr, nc, n);
}

/* ------------------------------------------------------------------------------------ */
/* LCS                                                                                  */

size_t rouge_lcs_length_dp(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    size_t *row = bb_calloc(nb + 1, sizeof *row);
    for (size_t i = 1; i <= na; i++) {
        size_t diag = 0; /* row[j - 1] of the previous row */
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            row[j] = a[i - 1] == b[j - 1] ? diag + 1 : (up > row[j - 1] ? up : row[j - 1]);
            diag = up;
        }
    }
    size_t lcs = row[nb];
    free(row);
    return lcs;
}

/* Hyyrö (2004): with PM[c] the bit set of positions of symbol c in a and V = all ones,
 * for each symbol y of b: U = V & PM[y]; V = (V + U) | (V - U). The LCS length is the
 * number of zero bits among the low |a| bits. U is a subset of V, so V - U = V & ~U and
 * only the addition carries between words. */
size_t rouge_lcs_length(rouge_scorer *r, const int32_t *a, size_t na, const int32_t *b,
                        size_t nb) {
    if (na == 0 || nb == 0) return 0;
    if (na > nb) { /* the shorter side becomes the bit pattern */
        const int32_t *t = a;
        a = b;
        b = t;
        size_t tn = na;
        na = nb;
        nb = tn;
    }
    size_t words = (na + 63) / 64;
    id_map_reset(&r->map, na);
    size_t distinct = 0;
    r->masks = ensure(r->masks, &r->masks_cap, na * words, sizeof *r->masks);
    for (size_t i = 0; i < na; i++) {
        id_slot *s = id_map_get(&r->map, a[i], 1);
        if (s->a == 0) { /* new symbol: mask index + 1 */
            s->a = (int32_t)++distinct;
            memset(r->masks + (distinct - 1) * words, 0, words * sizeof *r->masks);
        }
        r->masks[(size_t)(s->a - 1) * words + i / 64] |= (uint64_t)1 << (i % 64);
    }
    r->v = ensure(r->v, &r->v_cap, words, sizeof *r->v);
    uint64_t *v = r->v;
    for (size_t w = 0; w < words; w++) v[w] = ~(uint64_t)0;
    for (size_t j = 0; j < nb; j++) {
        id_slot *s = id_map_get(&r->map, b[j], 0);
        if (!s) continue; /* U = 0 leaves V unchanged */
        const uint64_t *pm = r->masks + (size_t)(s->a - 1) * words;
        uint64_t carry = 0;
        for (size_t w = 0; w < words; w++) {
            uint64_t u = v[w] & pm[w];
            uint64_t x = v[w] + carry;
            uint64_t c1 = x < carry;
            uint64_t sum = x + u;
            carry = c1 | (sum < x);
            v[w] = sum | (v[w] & ~u);
        }
    }
    size_t ones = 0;
    for (size_t w = 0; w < words; w++) {
        uint64_t bits = v[w];
        if (w == words - 1 && na % 64) bits &= ((uint64_t)1 << (na % 64)) - 1;
        ones += (size_t)__builtin_popcountll(bits);
    }
    return na - ones;
}

rouge_prf rouge_l(rouge_scorer *r, const int32_t *ref, size_t nr, const int32_t *cand,
                  size_t nc) {
    if (nr == 0 || nc == 0) return prf(0, 0);
    size_t lcs = rouge_lcs_length(r, ref, nr, cand, nc);
    return prf((double)lcs / (double)nc, (double)lcs / (double)nr);
}

/* ------------------------------------------------------------------------------------ */
/* ROUGE-Lsum                                                                           */

/* Marks the positions of ref that rouge_score's lcs_ind(ref, can) returns: the LCS table
 * read back from the end, preferring to step in `can` only when that keeps a longer LCS
 * (rouge_score's _backtrack_norec). */
static void mark_lcs(rouge_scorer *r, const int32_t *ref, size_t nr, const int32_t *can,
                     size_t nc, unsigned char *mark) {
    if (nr == 0 || nc == 0) return;
    size_t cols = nc + 1;
    r->dp = ensure(r->dp, &r->dp_cap, (nr + 1) * cols, sizeof *r->dp);
    int32_t *t = r->dp;
    for (size_t j = 0; j <= nc; j++) t[j] = 0;
    for (size_t i = 1; i <= nr; i++) {
        t[i * cols] = 0;
        for (size_t j = 1; j <= nc; j++) {
            int32_t up = t[(i - 1) * cols + j], left = t[i * cols + j - 1];
            t[i * cols + j] = ref[i - 1] == can[j - 1] ? t[(i - 1) * cols + j - 1] + 1
                                                       : (up > left ? up : left);
        }
    }
    size_t i = nr, j = nc;
    while (i > 0 && j > 0) {
        if (ref[i - 1] == can[j - 1]) {
            mark[i - 1] = 1;
            i--;
            j--;
        } else if (t[i * cols + j - 1] > t[(i - 1) * cols + j]) {
            j--;
        } else {
            i--;
        }
    }
}

rouge_prf rouge_lsum(rouge_scorer *r, const rouge_sentences *ref, const rouge_sentences *cand) {
    if (ref->count == 0 || cand->count == 0) return prf(0, 0);
    size_t m = ref->starts[ref->count] - ref->starts[0];
    size_t n = cand->starts[cand->count] - cand->starts[0];
    if (m == 0 || n == 0) return prf(0, 0);

    /* token counts on both sides (a = reference, b = candidate) prevent double counting */
    id_map_reset(&r->map, m + n);
    for (size_t i = ref->starts[0]; i < ref->starts[ref->count]; i++)
        id_map_get(&r->map, ref->ids[i], 1)->a++;
    for (size_t i = cand->starts[0]; i < cand->starts[cand->count]; i++)
        id_map_get(&r->map, cand->ids[i], 1)->b++;

    int64_t hits = 0;
    for (size_t s = 0; s < ref->count; s++) {
        const int32_t *rs = ref->ids + ref->starts[s];
        size_t rn = ref->starts[s + 1] - ref->starts[s];
        r->in_union = ensure(r->in_union, &r->union_cap, rn + 1, 1);
        memset(r->in_union, 0, rn + 1);
        for (size_t c = 0; c < cand->count; c++)
            mark_lcs(r, rs, rn, cand->ids + cand->starts[c], cand->starts[c + 1] - cand->starts[c],
                     r->in_union);
        for (size_t i = 0; i < rn; i++) {
            if (!r->in_union[i]) continue;
            id_slot *slot = id_map_get(&r->map, rs[i], 0);
            if (slot->a > 0 && slot->b > 0) {
                hits++;
                slot->a--;
                slot->b--;
            }
        }
    }
    return prf((double)hits / (double)n, (double)hits / (double)m);
}

/* ------------------------------------------------------------------------------------ */
/* Whole texts                                                                          */

static size_t nonempty_lines(const char *s, size_t n) {
    size_t count = 0, start = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || s[i] == '\n') {
            count += i > start;
            start = i + 1;
        }
    return count;
}

/* rouge_score's get_sents: text.split("\n") without empty strings, each tokenized. */
static void encode_sentences(rouge_scorer *r, const char *s, size_t n, int side,
                             int32_t **ids, size_t *ids_cap, rouge_sentences *out) {
    size_t lines = nonempty_lines(s, n), count = 0, total = 0, start = 0;
    r->starts[side] = ensure(r->starts[side], &r->starts_cap[side], lines + 1, sizeof(size_t));
    size_t *starts = r->starts[side];
    starts[0] = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '\n') continue;
        if (i > start) {
            const int32_t *line_ids;
            size_t k = text_encoder_encode(r->enc, s + start, i - start, &line_ids);
            *ids = ensure(*ids, ids_cap, total + k, sizeof **ids);
            if (k) memcpy(*ids + total, line_ids, k * sizeof **ids);
            total += k;
            starts[++count] = total;
        }
        start = i + 1;
    }
    out->ids = *ids;
    out->starts = starts;
    out->count = count;
}

void rouge_text_scores(rouge_scorer *r, const char *reference, size_t ref_len,
                       const char *candidate, size_t cand_len, rouge_scores *out) {
    const int32_t *ids;
    size_t nr = text_encoder_encode(r->enc, reference, ref_len, &ids);
    r->ref_ids = ensure(r->ref_ids, &r->ref_cap, nr, sizeof *r->ref_ids);
    if (nr) memcpy(r->ref_ids, ids, nr * sizeof *ids);
    size_t nc = text_encoder_encode(r->enc, candidate, cand_len, &ids);
    r->cand_ids = ensure(r->cand_ids, &r->cand_cap, nc, sizeof *r->cand_ids);
    if (nc) memcpy(r->cand_ids, ids, nc * sizeof *ids);

    int64_t matches[NGRAM_MAX_ORDER];
    ngram_table_reset(r->table, 2, 2 * nr, text_vocab_size(r->vocab));
    ngram_table_add_ref(r->table, r->ref_ids, nr);
    ngram_table_match(r->table, r->cand_ids, nc, matches);
    out->rouge1 = ngram_prf(matches[0], nr, nc, 1);
    out->rouge2 = ngram_prf(matches[1], nr, nc, 2);
    out->rougeL = rouge_l(r, r->ref_ids, nr, r->cand_ids, nc);

    /* With at most one sentence per side the summary-level LCS is the LCS: every LCS token
     * occurs on both sides at least as often as in the LCS, so all of them count. */
    if (nonempty_lines(reference, ref_len) <= 1 && nonempty_lines(candidate, cand_len) <= 1) {
        out->rougeLsum = out->rougeL;
        return;
    }
    rouge_sentences rs, cs;
    encode_sentences(r, reference, ref_len, 0, &r->ref_ids, &r->ref_cap, &rs);
    encode_sentences(r, candidate, cand_len, 1, &r->cand_ids, &r->cand_cap, &cs);
    out->rougeLsum = rouge_lsum(r, &rs, &cs);
}
