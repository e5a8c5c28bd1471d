/* report_figures — the gnuplot figures of `beatbench report`, per dataset D, into
 * DIR2/D/figures/ (each figure NAME as NAME.png and NAME.svg, with NAME.dat, the numbers
 * plotted, and NAME.gp, the script that drew them; `gnuplot NAME.gp` in that directory
 * redraws it):
 *
 *   codebook_<metric>  metric vs codebook size K for bleu4, rougeL_f and recall@20 (split
 *                      test): variants holding "codebook_size=K" (a grid key ending in
 *                      codebook_size); one line per method and remaining grid keys; x on a
 *                      log2 axis; error bars = sample std over seeds
 *   codebook_usage     perplexity and share of codes used (split tokens) vs K, one line
 *                      per codebook
 *   variants_text      tokenization variants (beat variants without '=', at least two,
 *                      plus every id-prompt row) as grouped bars over the text metrics
 *   curves             curves.csv: one panel per stage (stage1 loss, stage2 train/valid
 *                      loss, rank recall@20; else the stage's first metric), mean over seeds
 *
 * A figure without data is skipped: listed in sum->skipped with the reason, nothing
 * written. Without templates only NAME.dat is written; without gnuplot NAME.dat and NAME.gp
 * (the caller warns once). A gnuplot failure is a warning naming the figure.
 */
#ifndef BB_REPORT_FIGURES_H
#define BB_REPORT_FIGURES_H

#include "harness/report.h"
#include "harness/report_data.h"

typedef struct bb_report_plotter {
    const char *gnuplot;   /* NULL: do not render */
    const char *plots_dir; /* NULL: no templates, data files only */
} bb_report_plotter;

int bb_report_figures(const bb_report_data *d, int dataset, const bb_report_plotter *p,
                      bb_report_out *o, bb_error *err);

#endif
