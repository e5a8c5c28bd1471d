/* text_score — every text metric of `beatbench score` on a list of pairs (DESIGN §10).
 *
 *   BLEU-1..4 (corpus) and the mean sentence BLEU-4, on the chosen tokenizer (treebank or
 *   whitespace, both lower-cased) with the chosen smoothing (bleu.h);
 *   ROUGE-1/2/L/Lsum P/R/F means over pairs, rouge_score's tokenizer, optional stemming
 *   (rouge.h); Distinct-1/2, USR, mean length over the candidates (diversity.h);
 *   BERTScore-style P/R/F when a vector source is given (bertscore_style.h).
 * The per-pair values (sentence BLEU-4 and its statistics, ROUGE F's, BERTScore-style F)
 * are kept for paired significance tests.
 *
 *   text_score_compute(refs, ref_lens, cands, cand_lens, n, &opt, &res, &err)
 *   text_score_result_free(&res)
 *   text_score_bleu(...), text_score_rouge(...)   the BLEU or ROUGE part alone
 *   text_score_signature(&opt, version, buf, cap)
 *       e.g. "tok:treebank|smooth:method1|case:lc|stem:no|beatbench:0.1.0"; with vectors
 *       "|vec:glove|idf:yes[|baseline:B]" comes before the version
 */
#ifndef BB_TEXT_SCORE_H
#define BB_TEXT_SCORE_H

#include <stddef.h>

#include "metrics/bertscore_style.h"
#include "metrics/bleu.h"
#include "metrics/rouge.h"
#include "metrics/text_tokenize.h"
#include "models/base/bb_error.h"

typedef struct text_score_options {
    tokenizer_kind tokenizer; /* for BLEU: TOKENIZER_TREEBANK (default) or _WHITESPACE */
    bleu_smoothing smoothing; /* default BLEU_SMOOTH_METHOD1 */
    int stem;                 /* ROUGE Porter stemming */
    const bertstyle_source *vectors; /* NULL: no BERTScore-style */
    bertstyle_options bertstyle;
    int threads; /* BLEU and ROUGE over pairs; results do not depend on it */
} text_score_options;

/* The defaults: treebank, method1, no stemming, no vectors, one thread. */
text_score_options text_score_defaults(void);

typedef struct text_score_result {
    size_t n;
    double bleu[BLEU_MAX_ORDER]; /* corpus BLEU-1..4 */
    double bleu4_sentence_mean;
    rouge_prf rouge1, rouge2, rougeL, rougeLsum; /* means over pairs */
    double distinct1, distinct2, usr, len_mean;
    int has_bertstyle;
    double bertstyle_p, bertstyle_r, bertstyle_f;
    size_t bertstyle_tokens, bertstyle_skipped;
    /* per pair, owned */
    bleu_stats *pair_bleu_stats;
    double *pair_bleu4;
    double *pair_rouge1_f, *pair_rouge2_f, *pair_rougeL_f, *pair_rougeLsum_f;
    double *pair_bertstyle_f; /* NULL without vectors */
} text_score_result;

int text_score_compute(const char *const *refs, const size_t *ref_lens, const char *const *cands,
                       const size_t *cand_lens, size_t n, const text_score_options *opt,
                       text_score_result *out, bb_error *err);
void text_score_result_free(text_score_result *r);

/* The BLEU part alone (corpus BLEU-1..4; sentence_mean, pair_stats, pair_bleu4 may be NULL).
 * Pairs are split into `threads` contiguous chunks; the sums run in pair order afterwards,
 * so every result is identical for any thread count. */
void text_score_bleu(const char *const *refs, const size_t *ref_lens, const char *const *cands,
                     const size_t *cand_lens, size_t n, tokenizer_kind kind,
                     bleu_smoothing smoothing, int threads, double bleu[BLEU_MAX_ORDER],
                     double *sentence_mean, bleu_stats *pair_stats, double *pair_bleu4);
/* The ROUGE part alone: means[0..3] = ROUGE-1, -2, -L, -Lsum; pair_f (or any of its four
 * arrays) may be NULL. Threads as above. */
void text_score_rouge(const char *const *refs, const size_t *ref_lens, const char *const *cands,
                      const size_t *cand_lens, size_t n, int stem, int threads,
                      rouge_prf means[4], double *pair_f[4]);
void text_score_signature(const text_score_options *opt, const char *version, char *buf,
                          size_t cap);

#endif
