/* report_tables — the per-dataset tables of `beatbench report`.
 *
 * Four tables per dataset, each written only when the data has rows for it:
 *   text      split test, the main text metrics: bleu1 bleu4 rouge1_f rouge2_f rougeL_f
 *             [bertscore_f] distinct2 usr (those present)
 *   ranking   split test, every "<metric>@<k>" (recall precision ndcg mrr hit hr_micro);
 *             the Markdown shows k = 20 (or the smallest k present), the CSV every k
 *   codebook  split tokens: perplexity/, used/, dead_codes/ per codebook
 *   cost      split cost: seconds, peak_rss_mb (not deterministic; shown apart)
 * Rows: (method, variant) pairs with data, methods in the order beat, id-prompt, xrec,
 * peter, nrt, retrieval, pop, mf, lightgcn (others after, as first seen), variants in the
 * sweep's grid order. A cell is mean ± sample std (n - 1) over the seeds present.
 *
 * Marks (text and ranking): the best mean of each column; significance of the BEAT
 * reference row (method beat, variant "full", else "default") against every other row:
 *   p_ttest      two-sided paired t-test over the matched seeds (signif_paired_t, GSL),
 *                needs >= 2 matched seeds
 *   p_bootstrap  (text table, bleu4 and rougeL_f) the largest, over the matched seeds, of
 *                the paired bootstrap p over test pairs (report_signif.h): "significant at
 *                every matched seed"; left out unless every matched seed has generations
 * Markdown marks at p < 0.05: "*" t-test, "†" bootstrap; best in bold.
 *
 * CSV (RFC 4180, one row per table cell, numbers %.17g, empty = not applicable):
 *   dataset,method,variant,split,metric,mean,std,n,best,p_ttest,p_bootstrap
 * best is 1/0 in text and ranking tables, empty in codebook and cost tables.
 */
#ifndef BB_REPORT_TABLES_H
#define BB_REPORT_TABLES_H

#include <stddef.h>
#include <stdio.h>

#include "harness/report.h"
#include "harness/report_data.h"
#include "harness/report_signif.h"

typedef enum {
    BB_TABLE_TEXT,
    BB_TABLE_RANKING,
    BB_TABLE_CODEBOOK,
    BB_TABLE_COST,
    BB_N_TABLES
} bb_table_kind;

#define BB_REPORT_ALPHA 0.05

typedef struct bb_report_stat {
    int present;
    size_t n;
    double mean, std;
    int best;
    int has_t, has_boot;
    double p_t, p_boot;
} bb_report_stat;

typedef struct bb_report_table {
    int kind, dataset, split;
    size_t n_rows, n_cols;
    int *row_method, *row_variant; /* owned, n_rows */
    int *col_metric;               /* owned, n_cols */
    int *col_shown;                /* owned, n_cols: column appears in the Markdown */
    bb_report_stat *stats;         /* owned, n_rows x n_cols */
    int ref_row;                   /* the BEAT reference row, or -1 */
    int boot_tested;               /* some bootstrap p was computed */
} bb_report_table;

/* File stem of a table kind: "text", "ranking", "codebook", "cost". */
const char *bb_report_table_name(int kind);

/* Builds one table of one dataset; t->n_rows == 0 when the data has nothing for it.
 * Missing generations become warnings in sum; BB_ERR only for malformed input. */
int bb_report_table_build(const bb_report_data *d, int dataset, int kind, bb_report_gens *gens,
                          bb_report_summary *sum, bb_report_table *t, bb_error *err);
void bb_report_table_free(bb_report_table *t);

void bb_report_table_csv(const bb_report_data *d, const bb_report_table *t, FILE *fp);
/* Markdown: a "### " heading, the table, and notes explaining n, bold and marks. */
void bb_report_table_markdown(const bb_report_data *d, const bb_report_table *t, FILE *fp);

#endif
