/* Tests for the significance tests: paired t-test and Wilcoxon signed-rank against
 * scipy 1.10 (values from tests/fixtures/text/gen_reference_values.py), the exact null
 * distribution by hand, and the paired bootstrap's determinism and limiting cases. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/bleu.h"
#include "metrics/significance.h"
#include "models/base/bb_rng.h"
#include "tests/testhelp.h"

static void test_paired_t_matches_scipy(void) {
    /* scipy.stats.ttest_rel(a, b): t 5.0990195135927845, p 0.0069873746653197405;
     * 95% interval mean +- t.ppf(0.975, 4) * sd / sqrt(5) */
    double a[] = {0.31, 0.29, 0.35, 0.33, 0.30}, b[] = {0.28, 0.27, 0.31, 0.30, 0.29};
    signif_test t;
    bb_error err;
    TEST_OK(signif_paired_t(a, b, 5, &t, &err), &err);
    TEST_NEAR(t.statistic, 5.0990195135927845, 1e-12);
    TEST_NEAR(t.p_value, 0.0069873746653197405, 1e-12);
    TEST_NEAR(t.mean_diff, 0.026, 1e-15);
    TEST_NEAR(t.ci_low, 0.011842852230177246, 1e-12);
    TEST_NEAR(t.ci_high, 0.04015714776982273, 1e-12);
    /* identical systems: t = 0, p = 1; a constant shift: p = 0 */
    TEST_OK(signif_paired_t(a, a, 5, &t, &err), &err);
    TEST_NEAR(t.p_value, 1, 0);
    double c[] = {1, 2, 3}, d[] = {0, 1, 2};
    TEST_OK(signif_paired_t(c, d, 3, &t, &err), &err);
    TEST_NEAR(t.p_value, 0, 0);
    TEST_TRUE(isinf(t.statistic) && t.statistic > 0);
    TEST_ERR_CONTAINS(signif_paired_t(a, b, 1, &t, &err), &err, "at least 2 pairs");
}

static void test_wilcoxon_exact_matches_scipy_and_hand(void) {
    /* scipy.stats.wilcoxon (exact, n = 9): statistic 5.0, p 0.0390625 */
    double x[] = {1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30};
    double y[] = {0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29};
    signif_test w;
    bb_error err;
    TEST_OK(signif_wilcoxon(x, y, 9, &w, &err), &err);
    TEST_TRUE(w.exact);
    TEST_NEAR(w.statistic, 5.0, 0);
    TEST_NEAR(w.p_value, 0.0390625, 1e-15);
    /* by hand, n = 3, all differences positive: W- = 0; P(W+ <= 0) = 1/8; p = 2/8 */
    double a[] = {3, 5, 7}, b[] = {1, 2, 3};
    TEST_OK(signif_wilcoxon(a, b, 3, &w, &err), &err);
    TEST_NEAR(w.statistic, 0, 0);
    TEST_NEAR(w.p_value, 0.25, 0);
    /* a zero difference is dropped and switches to the normal approximation, as scipy:
     * differences 2, 3, 4, 0 -> n = 3, W- = 0, z = (0 - 3) / sqrt(3.5); scipy gives
     * statistic 0.0, p 0.10880943004054568 */
    double c[] = {3, 5, 7, 4}, e[] = {1, 2, 3, 4};
    TEST_OK(signif_wilcoxon(c, e, 4, &w, &err), &err);
    TEST_TRUE(!w.exact);
    TEST_EQ_INT(w.n, 3);
    TEST_NEAR(w.p_value, 0.10880943004054568, 1e-12);
    /* all differences zero: p = 1 */
    TEST_OK(signif_wilcoxon(a, a, 3, &w, &err), &err);
    TEST_NEAR(w.p_value, 1, 0);
    TEST_EQ_INT(w.n, 0);
}

static void test_wilcoxon_normal_approximation_matches_scipy(void) {
    /* 60 pairs with ties and zero differences (55 nonzero): scipy mode="approx" gives
     * statistic 512.0, p 0.03043277194267358 */
    static const double x[60] = {
        0.29, 0.33, 0.29, 0.28, 0.25, 0.29, 0.36, 0.32, 0.35, 0.31, 0.32, 0.31, 0.22, 0.34, 0.33,
        0.32, 0.22, 0.21, 0.26, 0.28, 0.32, 0.3,  0.33, 0.27, 0.32, 0.32, 0.27, 0.39, 0.33, 0.36,
        0.27, 0.26, 0.28, 0.29, 0.33, 0.31, 0.28, 0.25, 0.27, 0.36, 0.26, 0.31, 0.32, 0.23, 0.3,
        0.37, 0.2,  0.28, 0.29, 0.26, 0.32, 0.3,  0.23, 0.34, 0.33, 0.35, 0.37, 0.32, 0.31, 0.24};
    static const double y[60] = {
        0.32, 0.32, 0.29, 0.25, 0.23, 0.28, 0.41, 0.27, 0.32, 0.33, 0.37, 0.34, 0.17, 0.27, 0.35,
        0.31, 0.2,  0.25, 0.3,  0.29, 0.34, 0.32, 0.39, 0.3,  0.35, 0.35, 0.23, 0.44, 0.37, 0.39,
        0.22, 0.25, 0.32, 0.25, 0.33, 0.35, 0.25, 0.31, 0.3,  0.37, 0.28, 0.34, 0.33, 0.27, 0.29,
        0.37, 0.24, 0.29, 0.27, 0.3,  0.37, 0.3,  0.2,  0.35, 0.34, 0.35, 0.42, 0.3,  0.36, 0.21};
    signif_test w;
    bb_error err;
    TEST_OK(signif_wilcoxon(x, y, 60, &w, &err), &err);
    TEST_TRUE(!w.exact);
    TEST_EQ_INT(w.n, 55);
    TEST_NEAR(w.statistic, 512.0, 0);
    TEST_NEAR(w.p_value, 0.03043277194267358, 1e-12);
}

static void test_bootstrap_mean_limits_and_determinism(void) {
    double a[200], b[200];
    bb_rng rng;
    bb_rng_seed(&rng, 3, "test/bootstrap");
    for (int i = 0; i < 200; i++) {
        a[i] = bb_rng_uniform(&rng);
        b[i] = a[i] - 0.05 - 0.01 * bb_rng_uniform(&rng); /* A better on every item */
    }
    signif_bootstrap r1, r2;
    bb_error err;
    TEST_OK(signif_bootstrap_mean(a, b, 200, SIGNIF_DEFAULT_RESAMPLES, 42, &r1, &err), &err);
    TEST_OK(signif_bootstrap_mean(a, b, 200, SIGNIF_DEFAULT_RESAMPLES, 42, &r2, &err), &err);
    TEST_NEAR(r1.ci_low, r2.ci_low, 0); /* same seed, same numbers */
    TEST_NEAR(r1.ci_high, r2.ci_high, 0);
    TEST_NEAR(r1.p_value, 0, 0); /* no resample can favour B */
    TEST_TRUE(r1.ci_low > 0.05 && r1.ci_high < 0.06 && r1.ci_low <= r1.observed &&
              r1.observed <= r1.ci_high);
    TEST_EQ_INT(r1.resamples, 1000);
    /* identical systems: every difference is 0, p = 1 */
    TEST_OK(signif_bootstrap_mean(a, a, 200, 100, 1, &r1, &err), &err);
    TEST_NEAR(r1.p_value, 1, 0);
    TEST_NEAR(r1.observed, 0, 0);
    TEST_NEAR(r1.ci_low, 0, 0);
    /* pure noise around 0: p well above 0.05, interval covering 0 */
    for (int i = 0; i < 200; i++) b[i] = a[i] + (bb_rng_uniform(&rng) - 0.5) * 0.01;
    TEST_OK(signif_bootstrap_mean(a, b, 200, 1000, 7, &r1, &err), &err);
    TEST_TRUE(r1.ci_low < 0 && r1.ci_high > 0 && r1.p_value > 0.05);
    TEST_ERR_CONTAINS(signif_bootstrap_mean(a, b, 0, 10, 1, &r1, &err), &err, "no items");
}

static void test_bootstrap_bleu_uses_corpus_statistics(void) {
    /* system A matches 3 of 4 unigrams on each item, B 1 of 4; BLEU-4 needs higher orders,
     * so give A bigram..4-gram matches too. The observed difference is corpus BLEU(A) -
     * corpus BLEU(B), computed from summed statistics. */
    enum { N = 50 };
    bleu_stats a[N], b[N], sa, sb;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    for (int i = 0; i < N; i++) {
        bleu_stats x = {{3, 2, 1, 1}, {4, 3, 2, 1}, 4, 4};
        bleu_stats y = {{1, 0, 0, 0}, {4, 3, 2, 1}, 4, 4};
        a[i] = x;
        b[i] = y;
        bleu_stats_add(&sa, &x);
        bleu_stats_add(&sb, &y);
    }
    signif_bootstrap r;
    bb_error err;
    TEST_OK(signif_bootstrap_bleu(a, b, N, BLEU_SMOOTH_METHOD1, 200, 5, &r, &err), &err);
    double want = bleu_score(&sa, 4, BLEU_SMOOTH_METHOD1) - bleu_score(&sb, 4, BLEU_SMOOTH_METHOD1);
    TEST_NEAR(r.observed, want, 1e-15);
    /* every item is identical, so every resample gives the observed difference */
    TEST_NEAR(r.ci_low, want, 1e-15);
    TEST_NEAR(r.ci_high, want, 1e-15);
    TEST_NEAR(r.p_value, 0, 0);
}

const bb_test bb_suite_text_signif[] = {
    {"paired_t_matches_scipy", test_paired_t_matches_scipy},
    {"wilcoxon_exact_matches_scipy_and_hand", test_wilcoxon_exact_matches_scipy_and_hand},
    {"wilcoxon_normal_approximation_matches_scipy", test_wilcoxon_normal_approximation_matches_scipy},
    {"bootstrap_mean_limits_and_determinism", test_bootstrap_mean_limits_and_determinism},
    {"bootstrap_bleu_uses_corpus_statistics", test_bootstrap_bleu_uses_corpus_statistics},
    {NULL, NULL},
};
