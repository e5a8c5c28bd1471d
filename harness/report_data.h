/* report_data — a sweep directory's CSV files in memory, for `beatbench report` (issue #8).
 *
 * Reads (formats: /work/notes/sweep_contract.md, the sweep's output contract)
 *   DIR/results.csv  dataset,method,variant,seed,split,metric,value   (required)
 *   DIR/costs.csv    dataset,method,variant,seed,cell,seconds,peak_rss_mb (optional: its
 *                    rows become split cost rows "seconds", "peak_rss_mb"; negative values
 *                    mean unknown and are left out)
 *   DIR/cells.csv    cell,dataset,method,variant,seed,status          (optional: without it
 *                    no per-pair bootstrap, since generations are found through it)
 *   DIR/curves.csv   dataset,method,variant,seed,stage,epoch,metric,value (optional)
 * strictly: a wrong header, a wrong field count, an unknown split/stage/status, a value that
 * is not a (finite, for results.csv) number, a cell name that is not 16 hex digits, a
 * dataset name that cannot be a directory name, or a duplicated results row is an error
 * naming "PATH:LINE: field 'NAME': ...".
 *
 *   bb_report_data_load(&d, dir, &err)   fills d (caller frees with bb_report_data_free)
 *   bb_report_find(&d, dataset, method, variant, split, metric)
 *       the group of one (dataset, method, variant, split, metric) over seeds, or NULL
 *   bb_report_group_stats(&d, g, &mean, &std)
 *       mean and sample standard deviation (n - 1; 0 for a single seed)
 *   bb_report_cell_find(&d, dataset, method, variant, seed)
 *       the ok cell of cells.csv with those names (strings), or NULL
 *
 * Names are interned: rows hold indices into d.datasets, d.methods, d.variants, d.metrics
 * (and d.stages, d.curve_metrics for curves), numbered in order of first appearance, so
 * variant indices follow the sweep's grid order. Rows are sorted by (dataset, method,
 * variant, split, metric, seed); a group is a run of rows sharing all but the seed.
 * Everything is owned by d.
 */
#ifndef BB_REPORT_DATA_H
#define BB_REPORT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "models/base/bb_error.h"

typedef enum {
    BB_REPORT_TEST,
    BB_REPORT_VALID,
    BB_REPORT_TOKENS,
    BB_REPORT_COST,
    BB_REPORT_N_SPLITS
} bb_report_split;

const char *bb_report_split_name(int split);

typedef struct bb_report_names {
    char **names; /* owned */
    size_t n, cap;
} bb_report_names;

/* Index of name in t, adding it when absent. */
int bb_report_names_intern(bb_report_names *t, const char *name);
/* Index of name in t, or -1. */
int bb_report_names_find(const bb_report_names *t, const char *name);

typedef struct bb_report_row {
    int dataset, method, variant, split, metric;
    uint64_t seed;
    double value;
    size_t line; /* in its file */
    int file;    /* 0: results.csv, 1: costs.csv */
} bb_report_row;

typedef struct bb_report_group {
    int dataset, method, variant, split, metric;
    size_t first, count; /* rows[first .. first + count), ascending seeds */
} bb_report_group;

typedef struct bb_report_cell {
    char *cell, *dataset, *method, *variant; /* owned */
    uint64_t seed;
    int ok; /* status ok */
} bb_report_cell;

typedef struct bb_report_curve {
    int dataset, method, variant, stage, metric; /* metric indexes curve_metrics */
    uint64_t seed;
    int epoch;
    double value; /* may be non-finite: such points are left out of the figures */
} bb_report_curve;

typedef struct bb_report_data {
    char *dir; /* owned copy of the sweep directory */
    bb_report_names datasets, methods, variants, metrics, stages, curve_metrics;
    bb_report_row *rows;
    size_t n_rows;
    bb_report_group *groups;
    size_t n_groups;
    int have_cells;
    bb_report_cell *cells;
    size_t n_cells;
    int have_curves;
    bb_report_curve *curves; /* in file order */
    size_t n_curves;
} bb_report_data;

int bb_report_data_load(bb_report_data *d, const char *dir, bb_error *err);
void bb_report_data_free(bb_report_data *d);

const bb_report_group *bb_report_find(const bb_report_data *d, int dataset, int method,
                                      int variant, int split, int metric);
void bb_report_group_stats(const bb_report_data *d, const bb_report_group *g, double *mean,
                           double *std);
const bb_report_cell *bb_report_cell_find(const bb_report_data *d, const char *dataset,
                                          const char *method, const char *variant,
                                          uint64_t seed);

#endif
