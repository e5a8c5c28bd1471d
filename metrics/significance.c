/* significance — paired t, Wilcoxon signed-rank and paired bootstrap. See significance.h. */
#include "metrics/significance.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"

/* ------------------------------------------------------------------------------------ */
/* Paired t-test                                                                        */

int signif_paired_t(const double *a, const double *b, size_t n, signif_test *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 2) return bb_fail(err, "paired t-test: need at least 2 pairs, got %zu", n);
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += a[i] - b[i];
    mean /= (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - b[i] - mean;
        ss += d * d;
    }
    double df = (double)(n - 1);
    double se = sqrt(ss / df) / sqrt((double)n);
    out->n = n;
    out->mean_diff = mean;
    if (se == 0) { /* all differences equal */
        out->statistic = mean == 0 ? 0 : (mean > 0 ? INFINITY : -INFINITY);
        out->p_value = mean == 0 ? 1 : 0;
        out->ci_low = out->ci_high = mean;
        return BB_OK;
    }
    double t = mean / se;
    out->statistic = t;
    out->p_value = 2 * gsl_cdf_tdist_Q(fabs(t), df);
    if (out->p_value > 1) out->p_value = 1;
    double q = gsl_cdf_tdist_Pinv(0.975, df);
    out->ci_low = mean - q * se;
    out->ci_high = mean + q * se;
    return BB_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Wilcoxon signed-rank                                                                 */

typedef struct signed_abs {
    double abs;
    int positive;
} signed_abs;

static int cmp_abs(const void *x, const void *y) {
    double a = ((const signed_abs *)x)->abs, b = ((const signed_abs *)y)->abs;
    return (a > b) - (a < b);
}

int signif_wilcoxon(const double *a, const double *b, size_t n, signif_test *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    signed_abs *d = bb_malloc((n ? n : 1) * sizeof *d);
    size_t m = 0;
    double mean = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = a[i] - b[i];
        mean += diff;
        if (diff == 0) continue; /* zero_method "wilcox": drop zero differences */
        d[m].abs = fabs(diff);
        d[m].positive = diff > 0;
        m++;
    }
    out->mean_diff = n ? mean / (double)n : 0;
    out->n = m;
    if (m == 0) {
        free(d);
        if (n == 0) return bb_fail(err, "Wilcoxon test: no pairs");
        out->p_value = 1; /* all differences zero */
        return BB_OK;
    }
    qsort(d, m, sizeof *d, cmp_abs);
    /* average ranks over ties; tie term sum(t^3 - t) */
    double w_plus = 0, w_minus = 0, tie_term = 0;
    int ties = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && d[j].abs == d[i].abs) j++;
        double rank = (double)(i + 1 + j) / 2.0; /* mean of ranks i+1 .. j */
        double t = (double)(j - i);
        if (j - i > 1) {
            ties = 1;
            tie_term += t * t * t - t;
        }
        for (size_t k = i; k < j; k++) {
            if (d[k].positive)
                w_plus += rank;
            else
                w_minus += rank;
        }
        i = j;
    }
    free(d);
    double stat = w_plus < w_minus ? w_plus : w_minus;
    out->statistic = stat;
    if (m <= 50 && !ties && m == n) { /* as scipy: zeros or ties -> normal approximation */
        /* Exact: count subsets of {1..m} by rank sum; P(W+ <= stat), doubled. */
        size_t max_sum = m * (m + 1) / 2;
        double *count = bb_calloc(max_sum + 1, sizeof *count);
        count[0] = 1;
        for (size_t r = 1; r <= m; r++)
            for (size_t s = max_sum; s >= r; s--) count[s] += count[s - r];
        double total = ldexp(1.0, (int)m), below = 0;
        for (size_t s = 0; s <= (size_t)stat; s++) below += count[s];
        free(count);
        out->exact = 1;
        out->p_value = 2 * below / total;
        if (out->p_value > 1) out->p_value = 1;
        return BB_OK;
    }
    double mm = (double)m;
    double mu = mm * (mm + 1) / 4;
    double var = mm * (mm + 1) * (2 * mm + 1) / 24 - tie_term / 48;
    double z = (stat - mu) / sqrt(var);
    out->z = z;
    out->p_value = 2 * gsl_cdf_ugaussian_Q(fabs(z));
    if (out->p_value > 1) out->p_value = 1;
    return BB_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Paired bootstrap                                                                     */

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* numpy.percentile's default (linear): position q (n - 1) in the sorted values. */
static double percentile(const double *sorted, size_t n, double q) {
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n) return sorted[n - 1];
    double frac = pos - (double)lo;
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

int signif_paired_bootstrap(const double *stats_a, const double *stats_b, size_t n, int k,
                            signif_metric_fn metric, void *ctx, int resamples, uint64_t seed,
                            signif_bootstrap *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    if (n == 0) return bb_fail(err, "bootstrap: no items");
    if (resamples < 1) return bb_fail(err, "bootstrap: resamples must be positive, got %d", resamples);
    size_t kk = (size_t)k;
    double *sum_a = bb_calloc(kk, sizeof *sum_a), *sum_b = bb_calloc(kk, sizeof *sum_b);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < kk; j++) {
            sum_a[j] += stats_a[i * kk + j];
            sum_b[j] += stats_b[i * kk + j];
        }
    out->observed = metric(sum_a, n, ctx) - metric(sum_b, n, ctx);

    bb_rng rng;
    bb_rng_seed(&rng, seed, "bootstrap");
    double *diffs = bb_malloc((size_t)resamples * sizeof *diffs);
    size_t at_most_zero = 0, at_least_zero = 0;
    for (int r = 0; r < resamples; r++) {
        memset(sum_a, 0, kk * sizeof *sum_a);
        memset(sum_b, 0, kk * sizeof *sum_b);
        for (size_t i = 0; i < n; i++) {
            size_t pick = (size_t)bb_rng_below(&rng, n);
            for (size_t j = 0; j < kk; j++) {
                sum_a[j] += stats_a[pick * kk + j];
                sum_b[j] += stats_b[pick * kk + j];
            }
        }
        double d = metric(sum_a, n, ctx) - metric(sum_b, n, ctx);
        diffs[r] = d;
        at_most_zero += d <= 0;
        at_least_zero += d >= 0;
    }
    qsort(diffs, (size_t)resamples, sizeof *diffs, cmp_double);
    out->ci_low = percentile(diffs, (size_t)resamples, 0.025);
    out->ci_high = percentile(diffs, (size_t)resamples, 0.975);
    size_t tail = at_most_zero < at_least_zero ? at_most_zero : at_least_zero;
    out->p_value = 2.0 * (double)tail / (double)resamples;
    if (out->p_value > 1) out->p_value = 1;
    out->resamples = resamples;
    free(diffs);
    free(sum_a);
    free(sum_b);
    return BB_OK;
}

/* Per-pair BLEU statistics as rows of 2 * BLEU_MAX_ORDER + 2 doubles (exact below 2^53). */
#define BLEU_ROW (2 * BLEU_MAX_ORDER + 2)

static void bleu_rows(const bleu_stats *s, size_t n, double *rows) {
    for (size_t i = 0; i < n; i++) {
        double *row = rows + i * BLEU_ROW;
        for (int k = 0; k < BLEU_MAX_ORDER; k++) {
            row[k] = (double)s[i].matches[k];
            row[BLEU_MAX_ORDER + k] = (double)s[i].totals[k];
        }
        row[2 * BLEU_MAX_ORDER] = (double)s[i].hyp_len;
        row[2 * BLEU_MAX_ORDER + 1] = (double)s[i].ref_len;
    }
}

static double bleu4_metric(const double *summed, size_t n_items, void *ctx) {
    (void)n_items;
    bleu_stats s;
    for (int k = 0; k < BLEU_MAX_ORDER; k++) {
        s.matches[k] = (int64_t)summed[k];
        s.totals[k] = (int64_t)summed[BLEU_MAX_ORDER + k];
    }
    s.hyp_len = (int64_t)summed[2 * BLEU_MAX_ORDER];
    s.ref_len = (int64_t)summed[2 * BLEU_MAX_ORDER + 1];
    return bleu_score(&s, BLEU_MAX_ORDER, *(const bleu_smoothing *)ctx);
}

int signif_bootstrap_bleu(const bleu_stats *a, const bleu_stats *b, size_t n,
                          bleu_smoothing smoothing, int resamples, uint64_t seed,
                          signif_bootstrap *out, bb_error *err) {
    double *ra = bb_malloc((n ? n : 1) * BLEU_ROW * sizeof *ra);
    double *rb = bb_malloc((n ? n : 1) * BLEU_ROW * sizeof *rb);
    bleu_rows(a, n, ra);
    bleu_rows(b, n, rb);
    int rc = signif_paired_bootstrap(ra, rb, n, BLEU_ROW, bleu4_metric, &smoothing, resamples,
                                     seed, out, err);
    free(ra);
    free(rb);
    return rc;
}

static double mean_metric(const double *summed, size_t n_items, void *ctx) {
    (void)ctx;
    return summed[0] / (double)n_items;
}

int signif_bootstrap_mean(const double *a, const double *b, size_t n, int resamples,
                          uint64_t seed, signif_bootstrap *out, bb_error *err) {
    return signif_paired_bootstrap(a, b, n, 1, mean_metric, NULL, resamples, seed, out, err);
}
