/* rouge — ROUGE-N, ROUGE-L and ROUGE-Lsum exactly as Google's rouge_score computes them.
 *
 * Lin (2004), "ROUGE: A Package for Automatic Evaluation of Summaries". On token ids
 * (rouge tokenizer, optional stemming: text_tokenize.h):
 *   ROUGE-N   clipped n-gram overlap; P = overlap / max(1, candidate n-grams),
 *             R = overlap / max(1, reference n-grams)
 *   ROUGE-L   LCS length; P = LCS / |cand|, R = LCS / |ref|; 0 when either side is empty
 *   ROUGE-Lsum  summary-level LCS (Lin 2004, section 3.2) over sentences (texts split on
 *             "\n", empty lines dropped): for each reference sentence, the union of the
 *             LCS token positions against every candidate sentence (one LCS chosen by
 *             rouge_score's backtrack), counted at most as often as the token occurs on
 *             both sides
 *   F = 2PR / (P + R), 0 when P + R = 0.
 * rouge_text_scores() runs the whole rouge_score pipeline (tokenize, optional stem, score)
 * on two texts. LCS lengths use the bit-parallel algorithm of Hyyrö (2004) when only the
 * length is needed; ROUGE-Lsum's backtrack uses the O(n*m) table.
 *
 * A rouge_scorer owns scratch memory; one per thread.
 */
#ifndef BB_ROUGE_H
#define BB_ROUGE_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/text_tokenize.h"

typedef struct rouge_prf {
    double precision, recall, fmeasure;
} rouge_prf;

typedef struct rouge_scores {
    rouge_prf rouge1, rouge2, rougeL, rougeLsum;
} rouge_scores;

typedef struct rouge_scorer rouge_scorer;

/* stem: rouge_score's use_stemmer. The scorer owns its vocabulary. */
rouge_scorer *rouge_scorer_create(int stem);
void rouge_scorer_free(rouge_scorer *r);

/* Full pipeline on valid UTF-8 texts: rouge_score's RougeScorer.score(reference, candidate). */
void rouge_text_scores(rouge_scorer *r, const char *reference, size_t ref_len,
                       const char *candidate, size_t cand_len, rouge_scores *out);

/* Building blocks on token ids. */
rouge_prf rouge_n(rouge_scorer *r, const int32_t *ref, size_t nr, const int32_t *cand,
                  size_t nc, int n);
rouge_prf rouge_l(rouge_scorer *r, const int32_t *ref, size_t nr, const int32_t *cand,
                  size_t nc);
/* Sentences: sentence k is ids[starts[k] .. starts[k + 1]), starts has count + 1 entries. */
typedef struct rouge_sentences {
    const int32_t *ids;
    const size_t *starts;
    size_t count;
} rouge_sentences;
rouge_prf rouge_lsum(rouge_scorer *r, const rouge_sentences *ref, const rouge_sentences *cand);

size_t rouge_lcs_length(rouge_scorer *r, const int32_t *a, size_t na, const int32_t *b,
                        size_t nb);
/* Reference O(n*m) dynamic programme (for tests of the bit-parallel version). */
size_t rouge_lcs_length_dp(const int32_t *a, size_t na, const int32_t *b, size_t nb);

double rouge_fmeasure(double precision, double recall);

#endif
