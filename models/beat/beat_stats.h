/* beat_stats — codebook usage and clustering agreement for BEAT's behaviour tokens
 * (DESIGN §4.7, the codebook-collapse guard and the planted-truth tests).
 *
 *   beat_usage_count    counts of each code among n token indices (codes in [0, K))
 *   beat_usage_summary  perplexity = exp(H), H = -sum_k p_k ln p_k over codes with p_k > 0
 *                       (K when usage is uniform, 1 when one code takes everything);
 *                       dead codes = codes never used; used = K - dead
 *   beat_nmi            normalised mutual information of two labelings of n items,
 *                       NMI = I(A;B) / ((H(A) + H(B)) / 2) (arithmetic normalisation, the
 *                       default of scikit-learn's normalized_mutual_info_score); 1 when both
 *                       labelings are constant (and equal up to renaming), 0 when only one is
 *
 * All sums run in double and in index order. Nothing is allocated that the caller frees.
 */
#ifndef BEAT_STATS_H
#define BEAT_STATS_H

#include <stddef.h>
#include <stdint.h>

/* counts[K] = occurrences of each code; an index outside [0, K) is an assertion failure. */
void beat_usage_count(const int32_t *idx, size_t n, int K, int64_t *counts);

typedef struct beat_usage_summary {
    int64_t total;     /* tokens counted */
    int used, dead;    /* codes with count > 0 / == 0 */
    double perplexity; /* exp of the entropy of the code distribution; 0 when total is 0 */
} beat_usage_summary;

beat_usage_summary beat_usage_summarise(const int64_t *counts, int K);

/* Labels are any non-negative ints (not necessarily dense). n == 0 gives 0. */
double beat_nmi(const int32_t *a, const int32_t *b, size_t n);

#endif
