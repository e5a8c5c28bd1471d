/* report_signif — per-example significance for `beatbench report`: the paired bootstrap
 * over test pairs (Koehn 2004) between two sweep cells of the same dataset and seed.
 *
 *   g = bb_report_gens_create(&data)        a cache of per-pair statistics, one entry per
 *                                           cell's generations.csv (read on first use)
 *   bb_report_bootstrap(g, dataset, ref_method, ref_variant, method, variant, seed, &res, err)
 *       finds both ok cells in cells.csv, reads DIR/cells/<cell>/generations.csv
 *       (uid,iid,reference,generated), matches the pairs by (uid, iid) (the k-th
 *       occurrence of a key in one file with the k-th in the other), and runs the paired
 *       bootstrap of corpus BLEU-4 (treebank tokens, nltk method1 smoothing) and of the
 *       mean ROUGE-L F (rouge_score tokens, no stemming) — the settings of `run`'s
 *       metrics.json (text_score_defaults) — with BB_REPORT_RESAMPLES resamples drawn from
 *       bb_rng(seed, "report/bootstrap"), so the report is deterministic.
 *       res.found = 0 with res.why set when a cell or its generations.csv is missing or no
 *       pair matches; BB_ERR only for a malformed generations.csv (named PATH:LINE).
 *   bb_report_gens_free(g)
 */
#ifndef BB_REPORT_SIGNIF_H
#define BB_REPORT_SIGNIF_H

#include <stddef.h>
#include <stdint.h>

#include "harness/report_data.h"
#include "models/base/bb_error.h"

#define BB_REPORT_RESAMPLES 1000

typedef struct bb_report_gens bb_report_gens;

typedef struct bb_report_boot {
    int found;
    char why[256];      /* when !found */
    size_t n_pairs;     /* matched pairs */
    double p_bleu4;     /* two-sided p of corpus BLEU-4(ref) - BLEU-4(other) */
    double p_rougeL_f;  /* same for the mean ROUGE-L F */
    double d_bleu4, d_rougeL_f; /* observed differences ref - other */
} bb_report_boot;

bb_report_gens *bb_report_gens_create(const bb_report_data *d);
void bb_report_gens_free(bb_report_gens *g);

int bb_report_bootstrap(bb_report_gens *g, const char *dataset, const char *ref_method,
                        const char *ref_variant, const char *method, const char *variant,
                        uint64_t seed, bb_report_boot *res, bb_error *err);

#endif
