/* bleu — BLEU exactly as nltk 3.8's corpus_bleu / sentence_bleu compute it.
 *
 * Papineni et al. (2002): BLEU = BP * exp(sum_n w_n log p_n), with the modified n-gram
 * precisions p_n micro-averaged over the corpus and the brevity penalty
 * BP = exp(1 - r/c) for c <= r (c = hypothesis length, r = closest reference length, ties
 * to the shorter reference; BP = 0 when c = 0). nltk's details are kept: each sentence adds
 * max(1, its n-gram count) to the denominator, the score is 0 when no unigram matches, the
 * log-sum uses math.fsum (exactly rounded), precisions that are still 0 after smoothing are
 * left out of the sum, and smoothing follows SmoothingFunction (Chen & Cherry, 2014):
 *   none     zero precisions become sys.float_info.min (score ~1e-77 rather than 0)
 *   method1  epsilon 0.1 added to zero numerators
 *   method2  +1 to numerator and denominator of orders >= 2
 *   method3  NIST geometric: zero precisions become 1 / (2^k * denominator)
 *   method4  1 / (2^k * 5 / ln(hyp_len)) / denominator for zero precisions when hyp_len > 1
 *
 * Usage: for each pair, bleu_pair_stats() on token ids (one or more references); sum the
 * stats with bleu_stats_add; bleu_score() the sum (corpus BLEU) or one pair's stats
 * (sentence BLEU). Stats are also the sufficient statistics for bootstrap resampling.
 */
#ifndef BB_BLEU_H
#define BB_BLEU_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/ngram_count.h"

#define BLEU_MAX_ORDER 4

typedef enum {
    BLEU_SMOOTH_NONE,
    BLEU_SMOOTH_METHOD1,
    BLEU_SMOOTH_METHOD2,
    BLEU_SMOOTH_METHOD3,
    BLEU_SMOOTH_METHOD4
} bleu_smoothing;

/* "none" | "method1" .. "method4"; returns 0, or -1 for an unknown name. */
int bleu_smoothing_parse(const char *name, bleu_smoothing *out);
const char *bleu_smoothing_name(bleu_smoothing s);

typedef struct bleu_stats {
    int64_t matches[BLEU_MAX_ORDER]; /* clipped n-gram matches, order k + 1 */
    int64_t totals[BLEU_MAX_ORDER];  /* max(1, hypothesis n-grams) */
    int64_t hyp_len;                 /* hypothesis tokens */
    int64_t ref_len;                 /* closest reference length */
} bleu_stats;

/* table is scratch (ngram_table_create); refs[k] has ref_lens[k] ids; n_refs >= 1; every id
 * is below id_bound (0 if unknown; small bounds let n-grams be packed into one key). */
void bleu_pair_stats(ngram_table *table, const int32_t *hyp, size_t hyp_len,
                     const int32_t *const *refs, const size_t *ref_lens, size_t n_refs,
                     uint64_t id_bound, bleu_stats *out);
void bleu_stats_add(bleu_stats *acc, const bleu_stats *x);

/* BLEU-max_order with uniform weights 1/max_order (1 <= max_order <= 4). */
double bleu_score(const bleu_stats *s, int max_order, bleu_smoothing smoothing);
/* General weights (n_weights <= 4), as nltk's `weights` argument. */
double bleu_score_weighted(const bleu_stats *s, const double *weights, int n_weights,
                           bleu_smoothing smoothing);

/* Python's math.fsum: the correctly rounded sum of x[0..n). */
double bleu_fsum(const double *x, size_t n);

#endif
