/* bleu — nltk-exact BLEU from n-gram statistics. See bleu.h. */
#include "metrics/bleu.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "models/base/bb_error.h"

int bleu_smoothing_parse(const char *name, bleu_smoothing *out) {
    static const char *const names[] = {"none", "method1", "method2", "method3", "method4"};
    for (int i = 0; i < 5; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (bleu_smoothing)i;
            return 0;
        }
    return -1;
}

const char *bleu_smoothing_name(bleu_smoothing s) {
    switch (s) {
    case BLEU_SMOOTH_NONE: return "none";
    case BLEU_SMOOTH_METHOD1: return "method1";
    case BLEU_SMOOTH_METHOD2: return "method2";
    case BLEU_SMOOTH_METHOD3: return "method3";
    case BLEU_SMOOTH_METHOD4: return "method4";
    }
    return "?";
}

void bleu_pair_stats(ngram_table *table, const int32_t *hyp, size_t hyp_len,
                     const int32_t *const *refs, const size_t *ref_lens, size_t n_refs,
                     uint64_t id_bound, bleu_stats *out) {
    BB_ASSERT(n_refs >= 1, "BLEU needs at least one reference per hypothesis");
    size_t ref_total = 0;
    for (size_t r = 0; r < n_refs; r++) ref_total += ref_lens[r];
    if (id_bound > 0 && id_bound <= NGRAM_SMALL_IDS) {
        ngram_clip_small(table, BLEU_MAX_ORDER, hyp, hyp_len, refs, ref_lens, n_refs,
                         (uint32_t)id_bound, out->matches);
    } else {
        ngram_table_reset(table, BLEU_MAX_ORDER, ref_total * BLEU_MAX_ORDER, id_bound);
        for (size_t r = 0; r < n_refs; r++) ngram_table_add_ref(table, refs[r], ref_lens[r]);
        ngram_table_match(table, hyp, hyp_len, out->matches);
    }
    for (int k = 0; k < BLEU_MAX_ORDER; k++) {
        size_t grams = hyp_len > (size_t)k ? hyp_len - (size_t)k : 0;
        out->totals[k] = grams > 1 ? (int64_t)grams : 1; /* nltk: max(1, count) */
    }
    out->hyp_len = (int64_t)hyp_len;
    /* closest_ref_length: min over references of (|r - c|, r) */
    size_t best = ref_lens[0];
    for (size_t r = 1; r < n_refs; r++) {
        size_t len = ref_lens[r];
        size_t d = len > hyp_len ? len - hyp_len : hyp_len - len;
        size_t db = best > hyp_len ? best - hyp_len : hyp_len - best;
        if (d < db || (d == db && len < best)) best = len;
    }
    out->ref_len = (int64_t)best;
}

void bleu_stats_add(bleu_stats *acc, const bleu_stats *x) {
    for (int k = 0; k < BLEU_MAX_ORDER; k++) {
        acc->matches[k] += x->matches[k];
        acc->totals[k] += x->totals[k];
    }
    acc->hyp_len += x->hyp_len;
    acc->ref_len += x->ref_len;
}

/* Shewchuk's exact partial sums, rounded once at the end with the round-half-even fix-up,
 * as CPython's math.fsum does (Shewchuk 1997, "Adaptive precision floating-point
 * arithmetic"). Inputs here are finite. */
double bleu_fsum(const double *x, size_t n) {
    double partials[64];
    size_t np = 0;
    for (size_t k = 0; k < n; k++) {
        double v = x[k];
        size_t i = 0;
        for (size_t j = 0; j < np; j++) {
            double y = partials[j];
            if (fabs(v) < fabs(y)) {
                double t = v;
                v = y;
                y = t;
            }
            double hi = v + y;
            double lo = y - (hi - v);
            if (lo != 0.0) partials[i++] = lo;
            v = hi;
        }
        BB_ASSERT(i < 64, "fsum: too many partials");
        partials[i++] = v;
        np = i;
    }
    if (np == 0) return 0.0;
    double hi = partials[--np], lo = 0.0;
    while (np > 0) {
        double v = hi, y = partials[--np];
        hi = v + y;
        double yr = hi - v;
        lo = y - yr;
        if (lo != 0.0) break;
    }
    /* Round half to even: if the remaining partials push lo past the half-way point. */
    if (np > 0 && ((lo < 0 && partials[np - 1] < 0) || (lo > 0 && partials[np - 1] > 0))) {
        double y = lo * 2.0;
        double v = hi + y;
        double yr = v - hi;
        if (y == yr) hi = v;
    }
    return hi;
}

double bleu_score_weighted(const bleu_stats *s, const double *weights, int n_weights,
                           bleu_smoothing smoothing) {
    BB_ASSERT(n_weights >= 1 && n_weights <= BLEU_MAX_ORDER, "BLEU weights: %d orders",
              n_weights);
    if (s->matches[0] == 0) return 0.0; /* nltk returns 0 when no unigram matches */

    /* p[k] <= 0 marks a precision that stays out of the sum (a Fraction 0 nltk skips). */
    double p[BLEU_MAX_ORDER];
    int incvnt = 1; /* k of methods 3 and 4 */
    for (int k = 0; k < n_weights; k++) {
        int64_t num = s->matches[k], den = s->totals[k];
        double exact = (double)num / (double)den; /* Fraction -> float, correctly rounded */
        switch (smoothing) {
        case BLEU_SMOOTH_NONE: p[k] = num ? exact : DBL_MIN; break;
        case BLEU_SMOOTH_METHOD1: p[k] = num ? exact : (0.0 + 0.1) / (double)den; break;
        case BLEU_SMOOTH_METHOD2:
            p[k] = k == 0 ? exact : (double)(num + 1) / (double)(den + 1);
            break;
        case BLEU_SMOOTH_METHOD3:
            if (num == 0) {
                p[k] = 1.0 / (double)(((int64_t)1 << incvnt) * den);
                incvnt++;
            } else {
                p[k] = exact;
            }
            break;
        case BLEU_SMOOTH_METHOD4:
            if (num == 0 && s->hyp_len > 1) {
                /* numerator = 1 / (2**incvnt * k / math.log(hyp_len)), with k = 5 */
                double t = (double)(((int64_t)1 << incvnt) * 5) / log((double)s->hyp_len);
                p[k] = (1.0 / t) / (double)den;
                incvnt++;
            } else {
                p[k] = exact;
            }
            break;
        }
    }
    double terms[BLEU_MAX_ORDER];
    size_t nt = 0;
    for (int k = 0; k < n_weights; k++)
        if (p[k] > 0) terms[nt++] = weights[k] * log(p[k]);

    double bp;
    if (s->hyp_len > s->ref_len)
        bp = 1.0;
    else if (s->hyp_len == 0)
        bp = 0.0;
    else
        bp = exp(1.0 - (double)s->ref_len / (double)s->hyp_len);
    return bp * exp(bleu_fsum(terms, nt));
}

double bleu_score(const bleu_stats *s, int max_order, bleu_smoothing smoothing) {
    BB_ASSERT(max_order >= 1 && max_order <= BLEU_MAX_ORDER, "BLEU order %d", max_order);
    double w[BLEU_MAX_ORDER];
    for (int k = 0; k < max_order; k++) w[k] = 1.0 / max_order;
    return bleu_score_weighted(s, w, max_order, smoothing);
}
