/* golden — metric numbers under regression: reading a sweep's results.csv and a golden file,
 * joining them, judging each drift against its tolerance, and rewriting a golden file
 * (issue #8 item 6; used by `beatbench compare`, which `make regress` / `make golden` run).
 *
 * Files (RFC 4180, read with libcsv through datasets/csv_reader):
 *   results  DIR/results.csv          dataset,method,variant,seed,split,metric,value
 *   golden   results/golden/NAME.csv  dataset,method,variant,seed,split,metric,value,tolerance
 * A results file may also be in the golden layout (its tolerances are ignored), so two golden
 * files can be compared. value is written with %.17g; tolerance with the shortest text that
 * reads back to the same double (what %g prints for the usual 1e-06). tolerance is ABSOLUTE:
 * a metric passes when |value - golden| <= tolerance. Rows of split "cost" (wall seconds,
 * peak RSS) are not deterministic: they are skipped when reading either file.
 *
 * Key of a row: (dataset, method, variant, seed, split, metric); duplicate keys in one file
 * are an error. A golden row whose key the results lack is MISSING (a metric that
 * disappeared is a regression); a results row the golden file lacks is EXTRA (a warning);
 * a NaN value in the results is always a failure.
 *
 * Tolerance tables (harness/configs/ci/tolerances.json): one JSON object whose members map
 * fnmatch(3) patterns on the metric name to absolute tolerances, tried in file order, the
 * first match wins ("*" matches "/" too):  {"n": 0, "bertscore_*": 1e-5, "*": 1e-6}.
 * Members whose key starts with "_" hold string comments and are ignored. Why the shipped
 * defaults are what they are is written in that file's "_why" member.
 *
 * Errors are one line naming file, line and field:
 *   results/golden/ci.csv:5: field 'value': expected a finite number, got "0.1x"
 * Ownership: a golden_table owns its strings and rows (golden_table_free); a golden_report
 * points into the two tables it was built from, which must outlive it.
 */
#ifndef BB_GOLDEN_H
#define BB_GOLDEN_H

#include <stddef.h>
#include <stdio.h>

#include "models/base/bb_error.h"

#define GOLDEN_COLUMNS 8

typedef struct golden_row {
    const char *dataset, *method, *variant, *split, *metric; /* point into the table's pool */
    long long seed;
    double value;     /* NaN possible in results (never in a golden file) */
    double tolerance; /* >= 0; NaN when the file had no tolerance column */
    size_t line;      /* physical line in the file (for messages) */
} golden_row;

typedef struct golden_table {
    char *path;        /* owned copy, used in messages */
    int has_tolerance; /* the file had the golden layout */
    golden_row *rows;  /* owned, in file order, cost rows already dropped */
    size_t n, cap;
    size_t skipped_cost; /* rows of split "cost" that were dropped */
    char **pool;         /* owned strings */
    size_t pool_n, pool_cap;
} golden_table;

typedef enum {
    GOLDEN_READ_RESULTS, /* value column required, tolerance column optional */
    GOLDEN_READ_GOLDEN   /* tolerance required, value finite */
} golden_read_mode;

/* Reads path into *out (zeroed on entry); on error *out is left empty. */
int golden_table_read(const char *path, golden_read_mode mode, golden_table *out, bb_error *err);
void golden_table_free(golden_table *t);

/* "yelp/beat/default/seed 1/test/bleu4" into buf (always NUL-terminated). */
void golden_row_key(const golden_row *r, char *buf, size_t cap);

/* ------------------------------------------------------------------------------------ */
/* comparison                                                                           */

typedef enum {
    GOLDEN_SAME,    /* drift exactly 0 */
    GOLDEN_WITHIN,  /* 0 < |drift| <= tolerance */
    GOLDEN_BEYOND,  /* |drift| > tolerance */
    GOLDEN_NAN,     /* the results value is NaN (golden row may be NULL: an extra NaN row) */
    GOLDEN_MISSING, /* golden row without a results row */
    GOLDEN_EXTRA    /* results row without a golden row (a warning) */
} golden_status;

typedef struct golden_entry {
    const golden_row *golden; /* NULL for EXTRA (and an extra NaN) */
    const golden_row *actual; /* NULL for MISSING */
    golden_status status;
    double drift; /* actual - golden; 0 when either is absent */
    double ratio; /* |drift| / tolerance (inf when tolerance 0 and drift != 0; inf for NaN
                     and MISSING so they sort first) */
} golden_entry;

typedef struct golden_report {
    golden_entry *entries; /* owned; golden rows in file order, then extra rows */
    size_t n;
    size_t compared; /* golden rows = within + beyond + missing, where within counts SAME and
                        WITHIN and beyond counts BEYOND and NaN */
    size_t same, within, beyond, nan, missing, extra;
} golden_report;

/* Joins golden with results. Fails (one line) only on duplicate keys. */
int golden_compare(const golden_table *golden, const golden_table *results, golden_report *out,
                   bb_error *err);
void golden_report_free(golden_report *r);
/* True when the report fails the gate: beyond, NaN or missing rows. */
int golden_report_failed(const golden_report *r);

/* Indices of report entries with a nonzero drift or a failure (not EXTRA rows without NaN),
 * most serious first: ratio descending, then |drift| descending, then golden line. Returns
 * a malloc'd array (caller frees) and its length in *n. */
size_t *golden_report_ranked(const golden_report *r, size_t *n);

/* One line (no newline) for a failing entry, e.g.
 *   results/golden/ci.csv:17: yelp/beat/default/seed 1/test/bleu4: 0.1234 vs golden 0.12
 *   (drift +0.0034 > tolerance 0.001)
 * and for MISSING "...: golden 0.12 missing from DIR/results.csv", for NaN "...: nan vs
 * golden 0.12 (not a number)". */
void golden_entry_message(const golden_entry *e, const golden_table *golden,
                          const golden_table *results, char *buf, size_t cap);

/* Shortest %.Ng text (N <= 17) that reads back to v exactly. */
void golden_format_double(double v, char *buf, size_t cap);

/* ------------------------------------------------------------------------------------ */
/* tolerance tables and writing                                                         */

typedef struct golden_tolerances {
    char *path;       /* owned */
    char **patterns;  /* owned, file order */
    double *values;   /* >= 0 */
    size_t *lines;    /* line of each pattern in the file */
    size_t n;
} golden_tolerances;

int golden_tolerances_load(const char *path, golden_tolerances *out, bb_error *err);
/* Same on text in memory; path is used in messages. */
int golden_tolerances_parse(const char *path, const char *text, golden_tolerances *out,
                            bb_error *err);
void golden_tolerances_free(golden_tolerances *t);
/* The first pattern matching metric: returns its index, or -1 when none matches. */
int golden_tolerances_match(const golden_tolerances *t, const char *metric);

typedef struct golden_write_stats {
    size_t rows;    /* rows written */
    size_t kept;    /* tolerances kept from the old golden file */
    size_t added;   /* tolerances from the table */
    size_t dropped; /* old golden rows the results no longer have */
} golden_write_stats;

/* Writes path atomically from results: one row per results row, in results order. Each
 * row keeps the tolerance of the same key in old (may be NULL: no old file), else the
 * table's first matching pattern. A NaN value or a metric no pattern matches fails with a
 * one-line message naming the results line, and leaves path untouched (no partial file). */
int golden_write(const char *path, const golden_table *results, const golden_table *old,
                 const golden_tolerances *tol, golden_write_stats *stats, bb_error *err);

#endif
