/* significance — paired significance tests for comparing two systems.
 *
 *   signif_paired_t(a, b, n)       paired t-test on a[i] - b[i] (e.g. per-seed scores):
 *                                  t = mean / (sd / sqrt(n)), df = n - 1, two-sided p from
 *                                  Student's t (GSL), and the 95% interval of the mean
 *                                  difference. All differences equal: t = 0, p = 1 when they
 *                                  are 0, else t = +-inf, p = 0.
 *   signif_wilcoxon(a, b, n)       Wilcoxon signed-rank test (Wilcoxon 1945) on a[i] - b[i]:
 *                                  zero differences dropped, tied |d| get average ranks,
 *                                  statistic = min(W+, W-); two-sided p exact (the null
 *                                  distribution of W+ by counting) for at most 50 pairs
 *                                  without zero differences or ties, otherwise the normal
 *                                  approximation with tie correction
 *                                  var = n(n+1)(2n+1)/24 - sum(t^3 - t)/48, no continuity
 *                                  correction (scipy.stats.wilcoxon's defaults).
 *   signif_paired_bootstrap(...)   paired bootstrap (Koehn 2004; Efron & Tibshirani 1993) of
 *                                  metric(A) - metric(B) for a corpus metric computed from
 *                                  per-item statistics that add up (BLEU's n-gram counts,
 *                                  or one value per item for mean metrics such as ROUGE-L F
 *                                  or BERTScore-style F): R resamples of n items with
 *                                  replacement from bb_rng(seed, "bootstrap"); reports the
 *                                  observed difference, the 2.5/97.5 percentiles of the
 *                                  resampled differences (linear interpolation, as numpy),
 *                                  and the two-sided p = min(1, 2 min(#{d <= 0}, #{d >= 0}) / R)
 *                                  (p = 0 means p < 1/R).
 *   signif_bootstrap_bleu / signif_bootstrap_mean: the two usual cases.
 * Deterministic for a given seed.
 */
#ifndef BB_SIGNIFICANCE_H
#define BB_SIGNIFICANCE_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/bleu.h"
#include "models/base/bb_error.h"

#define SIGNIF_DEFAULT_RESAMPLES 1000

typedef struct signif_test {
    size_t n;          /* pairs used (Wilcoxon: nonzero differences) */
    double statistic;  /* t, or min(W+, W-) */
    double p_value;    /* two-sided */
    double mean_diff;  /* mean of a - b */
    double ci_low, ci_high; /* t-test: 95% interval of the mean difference */
    double z;          /* Wilcoxon, normal approximation: the z score (0 when exact) */
    int exact;         /* Wilcoxon: exact null distribution used */
} signif_test;

int signif_paired_t(const double *a, const double *b, size_t n, signif_test *out, bb_error *err);
int signif_wilcoxon(const double *a, const double *b, size_t n, signif_test *out, bb_error *err);

typedef struct signif_bootstrap {
    double observed;         /* metric(A) - metric(B) on all items */
    double ci_low, ci_high;  /* 95% percentile interval of the resampled differences */
    double p_value;
    int resamples;
} signif_bootstrap;

/* The corpus metric from statistics summed over the items of a sample (n_items of them). */
typedef double (*signif_metric_fn)(const double *summed, size_t n_items, void *ctx);

/* stats_a, stats_b: n rows of k statistics (row-major) for systems A and B on the same items. */
int signif_paired_bootstrap(const double *stats_a, const double *stats_b, size_t n, int k,
                            signif_metric_fn metric, void *ctx, int resamples, uint64_t seed,
                            signif_bootstrap *out, bb_error *err);

/* Corpus BLEU-4 (nltk, given smoothing) from per-pair statistics. */
int signif_bootstrap_bleu(const bleu_stats *a, const bleu_stats *b, size_t n,
                          bleu_smoothing smoothing, int resamples, uint64_t seed,
                          signif_bootstrap *out, bb_error *err);
/* Mean of per-item values (ROUGE-L F, BERTScore-style F, ...). */
int signif_bootstrap_mean(const double *a, const double *b, size_t n, int resamples,
                          uint64_t seed, signif_bootstrap *out, bb_error *err);

#endif
