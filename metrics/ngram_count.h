/* ngram_count — clipped n-gram matching between a hypothesis and its references.
 *
 * BLEU's modified precision and ROUGE-N both need, per n-gram order,
 *     matches = sum over distinct n-grams g of min(count_hyp(g), max over refs count_ref(g))
 * An ngram_table holds the reference side: for every n-gram of orders 1..max_order it keeps
 * the largest count over the references added so far. ngram_table_match then walks the
 * hypothesis and consumes those counts, which yields exactly the clipped sum.
 *
 * N-grams are identified by their token ids (compared exactly; the 64-bit hash only picks
 * the slot). Slots carry a generation stamp, so ngram_table_reset is O(1) and the table
 * stays small and cache-resident for sentence-sized inputs.
 *
 *   ngram_table_create() / ngram_table_free(t)
 *   ngram_table_reset(t, max_order, expected)   start a new pair; expected = rough number
 *                                               of reference n-grams (sizes the table)
 *   ngram_table_add_ref(t, ids, len)            add one reference (call once per reference;
 *                                               ids must stay valid until the match call)
 *   ngram_table_match(t, ids, len, matches)     matches[k] for order k + 1, k < max_order
 * One table per thread.
 */
#ifndef BB_NGRAM_COUNT_H
#define BB_NGRAM_COUNT_H

#include <stddef.h>
#include <stdint.h>

#define NGRAM_MAX_ORDER 8

typedef struct ngram_table ngram_table;

ngram_table *ngram_table_create(void);
void ngram_table_free(ngram_table *t);
void ngram_table_reset(ngram_table *t, int max_order, size_t expected);
void ngram_table_add_ref(ngram_table *t, const int32_t *ids, size_t len);
void ngram_table_match(ngram_table *t, const int32_t *ids, size_t len, int64_t *matches);

#endif
