/* report — `beatbench report DIR --out DIR2`: tables and figures of a sweep (issue #8).
 *
 *   bb_report_run(sweep_dir, out_dir, &opt, &summary, &err)
 *       reads the sweep directory (report_data.h) and writes, per dataset D,
 *         DIR2/D/{text,ranking,codebook,cost}.csv and .md   (tables present in the data)
 *         DIR2/D/figures/NAME.{png,svg}                      (gnuplot; with NAME.dat, the
 *                                                            data, and NAME.gp, the script)
 *       and DIR2/report.md (every table and figure of every dataset). Everything is
 *       written into a staging directory "DIR2.partial.<pid>" first: on any error nothing
 *       of DIR2 changes. On success the staging directory becomes DIR2 when DIR2 does not
 *       exist, else each file is renamed into DIR2 (files of DIR2 that the report does not
 *       write are kept, so DIR2 may be the sweep directory itself).
 *       A missing gnuplot or missing templates is not an error: the tables, .dat and .gp
 *       files are written and one warning says so. A figure without data is skipped (listed
 *       in summary.skipped with the reason), not an error.
 *   bb_report_print_json(stdout, &summary)   one JSON object: out, tables, figures,
 *                                            skipped [{figure, reason}], warnings
 *   bb_report_summary_free(&summary)
 *
 * Table formats (CSV header, Markdown marks): report_tables.h. Figures: report_figures.h.
 * gnuplot: opt.gnuplot, else $BB_GNUPLOT, else "gnuplot" on PATH (a value without '/' is
 * looked up on PATH). Templates (the .gp files of plots/): opt.plots_dir, else $BB_PLOTS_DIR, else
 * plots/ found from the executable's directory upwards, else ./plots.
 */
#ifndef BB_REPORT_H
#define BB_REPORT_H

#include <stdio.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"

typedef struct bb_report_options {
    const char *gnuplot;   /* NULL: see above */
    const char *plots_dir; /* NULL: see above */
} bb_report_options;

typedef struct bb_report_list {
    char **items; /* owned */
    size_t n, cap;
} bb_report_list;

void bb_report_list_add(bb_report_list *l, const char *s);
void bb_report_list_free(bb_report_list *l);

typedef struct bb_report_summary {
    char *out_dir;          /* owned */
    bb_report_list tables;  /* paths relative to out_dir */
    bb_report_list figures; /* .png and .svg paths relative to out_dir */
    bb_report_list skipped, skipped_reasons; /* figure names (D/NAME) and why */
    bb_report_list warnings;
} bb_report_summary;

int bb_report_run(const char *sweep_dir, const char *out_dir, const bb_report_options *opt,
                  bb_report_summary *sum, bb_error *err);
void bb_report_summary_free(bb_report_summary *s);
void bb_report_print_json(FILE *out, const bb_report_summary *s);

/* Adds one warning line (no newline) to s. */
void bb_report_warn(bb_report_summary *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ------------------------------------------------------------------------------------------
 * For the report's own modules: the staging directory and the files written into it. */

typedef struct bb_report_out {
    char *stage;          /* owned: staging root */
    bb_report_list files; /* every file written, relative to stage */
    bb_report_summary *sum;
} bb_report_out;

/* Opens STAGE/rel for writing (parent directories created). */
int bb_report_out_open(bb_report_out *o, const char *rel, bb_atomic_file *af, bb_error *err);
/* Commits it and records rel among the report's files. */
int bb_report_out_commit(bb_report_out *o, const char *rel, bb_atomic_file *af, bb_error *err);
/* STAGE/rel, freshly allocated. */
char *bb_report_out_path(const bb_report_out *o, const char *rel);

#endif
