/* ngram_count — clipped n-gram matching between a hypothesis and its references.
 *
 * BLEU's modified precision and ROUGE-N both need, per n-gram order,
 *     matches = sum over distinct n-grams g of min(count_hyp(g), max over refs count_ref(g))
 * An ngram_table holds the reference side: for every n-gram of orders 1..max_order it keeps
 * the largest count over the references added so far. ngram_table_match then walks the
 * hypothesis and consumes those counts, which yields exactly the clipped sum.
 *
 * N-grams are identified by their token ids, exactly. When the ids are known to be small
 * (id_bound at reset), an n-gram is packed into one 64-bit key: bits = 64 / max_order per
 * token, token t stored as t + 1, so n-grams of different orders fall in disjoint ranges
 * (BLEU-4 with pair-local ids below 65535, ROUGE-2 with any int32 ids). Otherwise slots
 * keep a hash and a pointer to the ids and compare them. Slots carry a generation stamp,
 * so ngram_table_reset is O(1) and the table stays small and cache-resident.
 *
 *   ngram_table_create() / ngram_table_free(t)
 *   ngram_table_reset(t, max_order, expected, id_bound)
 *                                    start a new pair; expected = rough number of reference
 *                                    n-grams (sizes the table); every id used until the next
 *                                    reset is below id_bound (0: unknown)
 *   ngram_table_add_ref(t, ids, len)            add one reference (call once per reference;
 *                                               ids must stay valid until the match call)
 *   ngram_table_match(t, ids, len, matches)     matches[k] for order k + 1, k < max_order
 *   ngram_clip_small(...)            reset + add_ref + match in one call, for small ids
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
void ngram_table_reset(ngram_table *t, int max_order, size_t expected, uint64_t id_bound);
void ngram_table_add_ref(ngram_table *t, const int32_t *ids, size_t len);
void ngram_table_match(ngram_table *t, const int32_t *ids, size_t len, int64_t *matches);

/* The same clipped counts in one call, for small ids (all below id_bound <= NGRAM_SMALL_IDS,
 * e.g. ids local to one pair): unigrams are counted in arrays, and a reference n-gram of
 * order >= 2 is stored only when each of its bigrams occurs in the hypothesis (otherwise it
 * cannot match), which skips most of them. */
#define NGRAM_SMALL_IDS 65535
void ngram_clip_small(ngram_table *t, int max_order, const int32_t *hyp, size_t hyp_len,
                      const int32_t *const *refs, const size_t *ref_lens, size_t n_refs,
                      uint32_t id_bound, int64_t *matches);

#endif
