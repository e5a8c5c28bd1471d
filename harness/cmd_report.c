/* cmd_report — `beatbench report DIR [--out DIR2]`: tables and figures of a sweep (issue #8).
 *
 *   beatbench report DIR [--out DIR2] [--gnuplot PROG] [--plots DIR] [--json]
 *
 * DIR is a sweep output directory (results.csv, cells.csv, curves.csv, cells/); DIR2
 * (default DIR/report) receives per-dataset tables (CSV, Markdown), figures (PNG, SVG) and
 * report.md; see harness/report.h for the layout and report_tables.h for the formats.
 * Bad input exits 1 with one line naming file, line and field, and leaves DIR2 as it was.
 * Warnings (gnuplot missing, a figure gnuplot could not draw, generations missing for a
 * bootstrap) go to stderr, one line each, and into the JSON; they do not change the exit
 * status. `--json` prints one object: out, tables, figures, skipped, warnings.
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/report.h"
#include "models/base/bb_io.h"

int bb_cmd_report(int argc, char **argv) {
    const char *out = NULL, *gnuplot = NULL, *plots = NULL;
    int json = 0;
    const bb_opt opts[] = {
        {"--out", BB_OPT_STR, &out, "DIR2", "output directory (default DIR/report)"},
        {"--gnuplot", BB_OPT_STR, &gnuplot, "PROG",
         "gnuplot program (default $BB_GNUPLOT, else gnuplot on PATH)"},
        {"--plots", BB_OPT_STR, &plots, "DIR",
         "gnuplot templates (default $BB_PLOTS_DIR, else plots/ of the source tree)"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print one JSON object on stdout"},
        {0}};
    const bb_cmd_spec spec = {
        "report", "DIR [--out DIR2] [options]",
        "Tables (CSV, Markdown: mean ± std over seeds, best marked, significance of BEAT) and\n"
        "gnuplot figures (PNG, SVG: codebook size, tokenization variants, codebook usage,\n"
        "training curves) of a sweep output directory.",
        1, 1, "DIR  sweep output directory (results.csv, cells.csv, curves.csv, cells/)"};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc < 0) return BB_EXIT_OK;
    if (rc) return rc;
    const char *dir = pos.values[0];
    char *default_out = out ? NULL : bb_path_join(dir, "report");
    const bb_report_options ropt = {gnuplot, plots};
    bb_report_summary sum;
    bb_error err;
    rc = bb_report_run(dir, out ? out : default_out, &ropt, &sum, &err);
    free(default_out);
    if (rc != BB_OK) {
        bb_report_summary_free(&sum);
        return bb_cli_fail(&err);
    }
    for (size_t k = 0; k < sum.warnings.n; k++)
        fprintf(stderr, "beatbench report: warning: %s\n", sum.warnings.items[k]);
    if (json)
        bb_report_print_json(stdout, &sum);
    else
        fprintf(stderr, "beatbench report: %zu table files, %zu figure files -> %s\n",
                sum.tables.n, sum.figures.n, sum.out_dir);
    bb_report_summary_free(&sum);
    return BB_EXIT_OK;
}
