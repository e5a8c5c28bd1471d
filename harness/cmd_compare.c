/* cmd_compare — `beatbench compare`: a sweep's results.csv against golden numbers
 * (issue #8 item 6; `make regress` and `make golden` run it). Formats and the tolerance
 * rule: harness/golden.h.
 *
 *   compare --results R --golden G [--results R2 --golden G2 ...] [--top N] [--json]
 *   compare --dir RUNS [--golden-dir results/golden] [--top N] [--json]
 *   compare ... --write [--tolerances harness/configs/ci/tolerances.json]
 *
 * Pairs: each --results goes with the --golden at the same position. --dir pairs every
 * RUNS/NAME/results.csv with GOLDEN_DIR/NAME.csv (a run without a golden file, or a golden
 * file without a run, is a warning: real-data configs only run where the data is).
 *
 * Compare: per pair a table of drifts on stdout (every metric whose value moved, worst
 * drift/tolerance first, at most --top lines) and the summary
 *   compared X metrics: Y within tolerance, Z beyond, M missing, E extra
 * where X counts golden rows (Y + Z + M). Every failure (beyond tolerance, missing, NaN)
 * gets one line on stderr "beatbench: GOLDEN:LINE: KEY: ...", extra result rows a warning.
 * Exit 1 on any failure or unreadable file, 2 on usage errors. With --json the table goes
 * to stderr and stdout gets one object {"ok", "pairs": [...]}.
 *
 * Write (--write): rewrites each golden file from its results atomically, keeping the
 * tolerance of every row already there and taking new rows' tolerances from the table.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/csv_reader.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/golden.h"
#include "models/base/bb_io.h"

#define DEFAULT_TOLERANCES "harness/configs/ci/tolerances.json"
#define DEFAULT_GOLDEN_DIR "results/golden"
#define MAX_EXTRA_WARNINGS 10

static const bb_cmd_spec spec = {
    "compare", "(--results R --golden G ... | --dir RUNS) [--write] [options]",
    "Compare a sweep's results.csv with golden metric numbers under per-metric absolute "
    "tolerances\n(exit 1 on a drift beyond tolerance, a missing metric or a NaN), or rewrite "
    "the golden\nfiles with --write.",
    0, 0, NULL};

typedef struct pair {
    char *results, *golden; /* owned */
} pair;

typedef struct pair_list {
    pair *items;
    size_t n, cap;
} pair_list;

static void pairs_add(pair_list *l, const char *results, const char *golden) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->items = bb_realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n].results = bb_strdup(results);
    l->items[l->n].golden = bb_strdup(golden);
    l->n++;
}

static void pairs_free(pair_list *l) {
    for (size_t k = 0; k < l->n; k++) free(l->items[k].results), free(l->items[k].golden);
    free(l->items);
}

/* ------------------------------------------------------------------------------------ */
/* arguments                                                                            */

/* Takes every --results/--golden (repeatable, paired by position) out of argv into the two
 * lists; the rest goes to rest[] for bb_opts_parse. Returns 0 or a usage exit code. */
static int take_repeated(int argc, char **argv, const char **results, size_t *n_results,
                         const char **golden, size_t *n_golden, char **rest, int *n_rest) {
    static const char *const names[2] = {"--results", "--golden"};
    const char **lists[2] = {results, golden};
    size_t *counts[2] = {n_results, n_golden};
    *n_results = *n_golden = 0;
    *n_rest = 0;
    for (int i = 0; i < argc; i++) {
        int which = -1;
        const char *value = NULL;
        for (int k = 0; k < 2; k++) {
            size_t len = strlen(names[k]);
            if (strncmp(argv[i], names[k], len) != 0) continue;
            if (argv[i][len] == '=') which = k, value = argv[i] + len + 1;
            else if (argv[i][len] == '\0') which = k, value = i + 1 < argc ? argv[++i] : NULL;
        }
        if (which < 0) {
            rest[(*n_rest)++] = argv[i];
            continue;
        }
        if (!value || !*value) return bb_cli_usage(spec.name, "%s needs a value", names[which]);
        lists[which][(*counts[which])++] = value;
    }
    return 0;
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of dir that pass keep(dir, name); NULL when dir is unreadable. */
static char **list_dir(const char *dir, int (*keep)(const char *, const char *), size_t *n) {
    DIR *d = opendir(dir);
    *n = 0;
    if (!d) return NULL;
    size_t cap = 16;
    char **names = bb_malloc(cap * sizeof *names);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || !keep(dir, e->d_name)) continue;
        if (*n == cap) names = bb_realloc(names, (cap *= 2) * sizeof *names);
        names[(*n)++] = bb_strdup(e->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof *names, name_cmp);
    return names;
}

static int keep_run(const char *dir, const char *name) {
    char *run = bb_path_join(dir, name);
    char *results = bb_path_join(run, "results.csv");
    int ok = bb_path_exists(results);
    free(results);
    free(run);
    return ok;
}

static int keep_golden(const char *dir, const char *name) {
    (void)dir;
    return has_suffix(name, ".csv") && strlen(name) > 4;
}

static void free_names(char **names, size_t n) {
    for (size_t k = 0; k < n; k++) free(names[k]);
    free(names);
}

/* --dir: RUNS/NAME/results.csv with GOLDEN/NAME.csv; unmatched sides are warnings. */
static int pairs_from_dir(pair_list *pairs, const char *runs, const char *golden_dir, int write) {
    size_t n_runs = 0, n_gold = 0;
    char **run_names = list_dir(runs, keep_run, &n_runs);
    if (!run_names) {
        fprintf(stderr, "beatbench: %s: cannot read the runs directory\n", runs);
        return BB_EXIT_DATA;
    }
    char **gold_names = list_dir(golden_dir, keep_golden, &n_gold);
    for (size_t k = 0; k < n_runs; k++) {
        char file[4096];
        snprintf(file, sizeof file, "%s.csv", run_names[k]);
        char *run = bb_path_join(runs, run_names[k]);
        char *results = bb_path_join(run, "results.csv");
        char *golden = bb_path_join(golden_dir, file);
        if (write || bb_path_exists(golden))
            pairs_add(pairs, results, golden);
        else
            fprintf(stderr, "beatbench: warning: %s: no golden file %s (make golden writes it); "
                            "not compared\n", results, golden);
        free(golden), free(results), free(run);
    }
    for (size_t k = 0; k < n_gold; k++) {
        size_t len = strlen(gold_names[k]) - 4;
        int found = 0;
        for (size_t j = 0; j < n_runs && !found; j++)
            found = strlen(run_names[j]) == len && strncmp(run_names[j], gold_names[k], len) == 0;
        if (found) continue;
        char *golden = bb_path_join(golden_dir, gold_names[k]);
        fprintf(stderr, "beatbench: warning: %s: no run %s/%.*s/results.csv; not compared\n",
                golden, runs, (int)len, gold_names[k]);
        free(golden);
    }
    free_names(run_names, n_runs);
    free_names(gold_names, n_gold);
    if (n_runs == 0) {
        fprintf(stderr, "beatbench: %s: no NAME/results.csv under it\n", runs);
        return BB_EXIT_DATA;
    }
    return BB_EXIT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* compare                                                                              */

static int count_record(void *ctx, const bb_csv_record *rec, bb_error *err) {
    (void)err;
    *(size_t *)ctx += rec->index > 0;
    return BB_OK;
}

/* Cells listed in failures.csv beside a sweep's results.csv (sweep contract); 0 when the
 * file is absent or unreadable (a results file outside a sweep directory). Their metrics
 * are absent from results.csv, which is why they matter here. */
static size_t failed_cells(const char *results, char *failures, size_t cap) {
    const char *slash = strrchr(results, '/');
    if (slash)
        snprintf(failures, cap, "%.*s/failures.csv", (int)(slash - results), results);
    else
        snprintf(failures, cap, "failures.csv");
    size_t n = 0;
    bb_error err;
    if (!bb_path_exists(failures) || bb_csv_read_file(failures, count_record, &n, &err) != BB_OK)
        return 0;
    return n;
}

static const char *status_name(golden_status s) {
    switch (s) {
    case GOLDEN_SAME: return "same";
    case GOLDEN_WITHIN: return "within";
    case GOLDEN_BEYOND: return "beyond";
    case GOLDEN_NAN: return "nan";
    case GOLDEN_MISSING: return "missing";
    case GOLDEN_EXTRA: return "extra";
    }
    return "?";
}

static void print_table(FILE *out, const pair *p, const golden_report *rep, const size_t *rank,
                        size_t n_rank, int top) {
    fprintf(out, "%s vs %s\n", p->results, p->golden);
    size_t shown = n_rank < (size_t)top ? n_rank : (size_t)top;
    if (shown > 0)
        fprintf(out, "  %-7s %9s %10s %-22s %-22s %-9s %5s  %s\n", "status", "drift/tol", "drift",
                "value", "golden", "tolerance", "line", "metric");
    for (size_t k = 0; k < shown; k++) {
        const golden_entry *e = &rep->entries[rank[k]];
        const golden_row *row = e->golden ? e->golden : e->actual;
        char key[512], a[40] = "-", g[40] = "-", tol[40] = "-", ratio[24] = "-", drift[24] = "-";
        golden_row_key(row, key, sizeof key);
        if (e->actual) golden_format_double(e->actual->value, a, sizeof a);
        if (e->golden) golden_format_double(e->golden->value, g, sizeof g);
        if (e->golden) golden_format_double(e->golden->tolerance, tol, sizeof tol);
        if (e->status == GOLDEN_WITHIN || e->status == GOLDEN_BEYOND) {
            snprintf(drift, sizeof drift, "%+.3g", e->drift);
            snprintf(ratio, sizeof ratio, isinf(e->ratio) ? "inf" : "%.3g", e->ratio);
        }
        char upper[12];
        snprintf(upper, sizeof upper, "%s", status_name(e->status));
        if (e->status != GOLDEN_WITHIN)
            for (char *c = upper; *c; c++) *c = (char)(*c - 'a' + 'A');
        fprintf(out, "  %-7s %9s %10s %-22s %-22s %-9s %5zu  %s\n", upper, ratio, drift, a, g, tol,
                row->line, key);
    }
    if (n_rank > shown)
        fprintf(out, "  ... %zu more drifts not shown (--top N shows more)\n", n_rank - shown);
    fprintf(out, "compared %zu metrics: %zu within tolerance, %zu beyond, %zu missing, %zu extra",
            rep->compared, rep->within, rep->beyond, rep->missing, rep->extra);
    if (rep->nan) fprintf(out, " (%zu NaN)", rep->nan);
    fprintf(out, "\n");
}

static void json_key_value(FILE *out, const char *key, double v) {
    fprintf(out, ", \"%s\": ", key);
    bb_json_number(out, v);
}

static void print_json_entry(FILE *out, const golden_entry *e, int first) {
    const golden_row *row = e->golden ? e->golden : e->actual;
    char key[512];
    golden_row_key(row, key, sizeof key);
    fprintf(out, "%s{\"status\": \"%s\", \"key\": ", first ? "" : ", ", status_name(e->status));
    bb_json_string(out, key);
    fprintf(out, ", \"dataset\": ");
    bb_json_string(out, row->dataset);
    fprintf(out, ", \"method\": ");
    bb_json_string(out, row->method);
    fprintf(out, ", \"variant\": ");
    bb_json_string(out, row->variant);
    fprintf(out, ", \"seed\": %lld, \"split\": ", row->seed);
    bb_json_string(out, row->split);
    fprintf(out, ", \"metric\": ");
    bb_json_string(out, row->metric);
    if (e->golden) fprintf(out, ", \"golden_line\": %zu", e->golden->line);
    if (e->actual) fprintf(out, ", \"results_line\": %zu", e->actual->line);
    json_key_value(out, "value", e->actual ? e->actual->value : NAN);
    json_key_value(out, "golden", e->golden ? e->golden->value : NAN);
    json_key_value(out, "tolerance", e->golden ? e->golden->tolerance : NAN);
    int judged = e->status == GOLDEN_WITHIN || e->status == GOLDEN_BEYOND;
    json_key_value(out, "drift", judged ? e->drift : NAN);
    json_key_value(out, "ratio", judged ? e->ratio : NAN); /* inf prints null */
    fprintf(out, "}");
}

static void print_json_pair_head(FILE *out, const pair *p, int first) {
    fprintf(out, "%s{\"results\": ", first ? "" : ", ");
    bb_json_string(out, p->results);
    fprintf(out, ", \"golden\": ");
    bb_json_string(out, p->golden);
}

enum { PAIR_OK = 0, PAIR_FAILED = 1, PAIR_UNREADABLE = 2 };

/* Compares one pair: PAIR_FAILED when a metric fails the gate, PAIR_UNREADABLE when a file
 * cannot be read (its one-line error printed), else PAIR_OK. */
static int compare_pair(const pair *p, int top, int json, int first) {
    FILE *human = json ? stderr : stdout;
    golden_table golden, results;
    golden_report rep;
    bb_error err;
    int rc = 0;
    memset(&rep, 0, sizeof rep);
    if (golden_table_read(p->golden, GOLDEN_READ_GOLDEN, &golden, &err) != BB_OK) goto read_fail;
    if (golden_table_read(p->results, GOLDEN_READ_RESULTS, &results, &err) != BB_OK) {
        golden_table_free(&golden);
        goto read_fail;
    }
    if (golden_compare(&golden, &results, &rep, &err) != BB_OK) {
        golden_table_free(&golden);
        golden_table_free(&results);
        goto read_fail;
    }
    size_t n_rank = 0;
    size_t *rank = golden_report_ranked(&rep, &n_rank);
    print_table(human, p, &rep, rank, n_rank, top);
    fflush(human); /* the table before the failure lines in a log that merges both streams */
    char line[2048];
    for (size_t k = 0; k < n_rank; k++) { /* every failure, not only the shown ones */
        const golden_entry *e = &rep.entries[rank[k]];
        if (e->status == GOLDEN_WITHIN) continue;
        golden_entry_message(e, &golden, &results, line, sizeof line);
        fprintf(stderr, "beatbench: %s\n", line);
    }
    size_t warned = 0;
    for (size_t k = 0; k < rep.n; k++) {
        const golden_entry *e = &rep.entries[k];
        if (e->status != GOLDEN_EXTRA) continue;
        if (warned++ == MAX_EXTRA_WARNINGS) continue;
        golden_entry_message(e, &golden, &results, line, sizeof line);
        fprintf(stderr, "beatbench: warning: %s\n", line);
    }
    if (warned > MAX_EXTRA_WARNINGS)
        fprintf(stderr, "beatbench: warning: ... and %zu more result rows without a golden row "
                        "in %s\n", warned - MAX_EXTRA_WARNINGS, p->golden);
    rc = golden_report_failed(&rep) ? PAIR_FAILED : PAIR_OK;
    char failures[4096];
    size_t n_failed = rep.missing ? failed_cells(p->results, failures, sizeof failures) : 0;
    if (n_failed)
        fprintf(stderr, "beatbench: note: %zu sweep cells failed, so their metrics are missing: "
                        "see %s\n", n_failed, failures);
    if (json) {
        print_json_pair_head(stdout, p, first);
        fprintf(stdout, ", \"failed\": %s, \"compared\": %zu, \"within\": %zu, \"same\": %zu, "
                        "\"beyond\": %zu, \"nan\": %zu, \"missing\": %zu, \"extra\": %zu, "
                        "\"entries\": [",
                rc ? "true" : "false", rep.compared, rep.within, rep.same, rep.beyond, rep.nan,
                rep.missing, rep.extra);
        int first_entry = 1;
        for (size_t k = 0; k < n_rank; k++, first_entry = 0)
            print_json_entry(stdout, &rep.entries[rank[k]], first_entry);
        for (size_t k = 0; k < rep.n; k++) {
            if (rep.entries[k].status != GOLDEN_EXTRA) continue;
            print_json_entry(stdout, &rep.entries[k], first_entry);
            first_entry = 0;
        }
        fprintf(stdout, "]}");
    }
    free(rank);
    golden_report_free(&rep);
    golden_table_free(&golden);
    golden_table_free(&results);
    return rc;
read_fail:
    bb_cli_fail(&err);
    if (json) {
        print_json_pair_head(stdout, p, first);
        fprintf(stdout, ", \"failed\": true, \"error\": ");
        bb_json_string(stdout, err.msg);
        fprintf(stdout, "}");
    }
    return PAIR_UNREADABLE;
}

/* ------------------------------------------------------------------------------------ */
/* write                                                                                */

static int ensure_parent_dir(const char *path, bb_error *err) {
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return BB_OK;
    char *dir = bb_strdup(path);
    dir[slash - path] = '\0';
    int rc = bb_mkdir_p(dir, err);
    free(dir);
    return rc;
}

static int write_pair(const pair *p, const golden_tolerances *tol, int json, int first) {
    golden_table results, old;
    golden_write_stats stats;
    bb_error err;
    int have_old = 0, rc = 1;
    memset(&old, 0, sizeof old);
    if (golden_table_read(p->results, GOLDEN_READ_RESULTS, &results, &err) != BB_OK) goto done;
    /* Golden numbers from a sweep with failed cells would lack those cells' metrics, and
     * the gate would never notice them again. */
    char failures[4096];
    size_t n_failed = failed_cells(p->results, failures, sizeof failures);
    if (n_failed || results.n == 0) {
        if (n_failed)
            bb_fail(&err, "%s: %zu sweep cells failed (see %s); fix them before writing golden "
                          "numbers (nothing was written)", p->results, n_failed, failures);
        else
            bb_fail(&err, "%s: no metric rows besides split cost; nothing was written",
                    p->results);
        golden_table_free(&results);
        goto done;
    }
    if (bb_path_exists(p->golden)) {
        /* A malformed old file stops the write: its tolerances were chosen by someone. */
        if (golden_table_read(p->golden, GOLDEN_READ_GOLDEN, &old, &err) != BB_OK) {
            bb_fail_prefix(&err, "the old golden file is unreadable (fix or delete it): ");
            golden_table_free(&results);
            goto done;
        }
        have_old = 1;
    }
    if (ensure_parent_dir(p->golden, &err) == BB_OK &&
        golden_write(p->golden, &results, have_old ? &old : NULL, tol, &stats, &err) == BB_OK)
        rc = 0;
    golden_table_free(&results);
    golden_table_free(&old);
done:
    if (rc) {
        bb_cli_fail(&err);
    } else {
        fprintf(json ? stderr : stdout,
                "wrote %s from %s: %zu rows (%zu tolerances kept, %zu from %s, %zu old rows "
                "dropped)\n",
                p->golden, p->results, stats.rows, stats.kept, stats.added, tol->path,
                stats.dropped);
    }
    if (json) {
        print_json_pair_head(stdout, p, first);
        if (rc) {
            fprintf(stdout, ", \"failed\": true, \"error\": ");
            bb_json_string(stdout, err.msg);
        } else {
            fprintf(stdout, ", \"failed\": false, \"rows\": %zu, \"kept\": %zu, \"added\": %zu, "
                            "\"dropped\": %zu",
                    stats.rows, stats.kept, stats.added, stats.dropped);
        }
        fprintf(stdout, "}");
    }
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* command                                                                              */

int bb_cmd_compare(int argc, char **argv) {
    const char *dummy = NULL, *runs_dir = NULL, *golden_dir = DEFAULT_GOLDEN_DIR;
    const char *tolerances = DEFAULT_TOLERANCES;
    int write = 0, json = 0, top = 20, failed = 0;
    const bb_opt opts[] = {
        {"--results", BB_OPT_STR, &dummy, "FILE",
         "a sweep's results.csv (repeatable; paired with --golden by position)"},
        {"--golden", BB_OPT_STR, &dummy, "FILE", "its golden file, e.g. results/golden/ci.csv"},
        {"--dir", BB_OPT_STR, &runs_dir, "RUNS",
         "pair every RUNS/NAME/results.csv with GOLDEN_DIR/NAME.csv"},
        {"--golden-dir", BB_OPT_STR, &golden_dir, "DIR",
         "golden files for --dir (default " DEFAULT_GOLDEN_DIR ")"},
        {"--write", BB_OPT_FLAG, &write, NULL,
         "rewrite the golden files from the results (keeps their tolerances)"},
        {"--tolerances", BB_OPT_STR, &tolerances, "FILE",
         "default tolerances of new rows for --write (default " DEFAULT_TOLERANCES ")"},
        {"--top", BB_OPT_INT, &top, "N", "drift lines shown per pair (default 20)"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print one JSON object on stdout"},
        {0}};
    const char **results = bb_malloc((size_t)(argc + 1) * sizeof *results);
    const char **golden = bb_malloc((size_t)(argc + 1) * sizeof *golden);
    char **rest = bb_malloc((size_t)(argc + 1) * sizeof *rest);
    size_t n_results = 0, n_golden = 0;
    int n_rest = 0;
    pair_list pairs = {0};
    golden_tolerances tol;
    memset(&tol, 0, sizeof tol);
    int rc = take_repeated(argc, argv, results, &n_results, golden, &n_golden, rest, &n_rest);
    if (rc) goto done;
    rc = bb_opts_parse(&spec, opts, n_rest, rest, NULL);
    if (rc == -1) {
        rc = BB_EXIT_OK;
        goto done;
    }
    if (rc) goto done;
    if (n_results != n_golden) {
        rc = bb_cli_usage(spec.name, "%zu --results but %zu --golden: give them in pairs",
                          n_results, n_golden);
        goto done;
    }
    if (n_results == 0 && !runs_dir) {
        rc = bb_cli_usage(spec.name,
                          "nothing to compare: give --results R --golden G or --dir RUNS");
        goto done;
    }
    if (top < 0) {
        rc = bb_cli_usage(spec.name, "--top: expected a non-negative integer, got %d", top);
        goto done;
    }
    for (size_t k = 0; k < n_results; k++) pairs_add(&pairs, results[k], golden[k]);
    if (runs_dir) failed = pairs_from_dir(&pairs, runs_dir, golden_dir, write) != BB_EXIT_OK;
    if (write) {
        bb_error err;
        if (golden_tolerances_load(tolerances, &tol, &err) != BB_OK) {
            rc = bb_cli_fail(&err);
            goto done;
        }
    }
    int metrics_failed = 0;
    if (json) printf("{\"pairs\": [");
    for (size_t k = 0; k < pairs.n; k++) {
        int r = write ? write_pair(&pairs.items[k], &tol, json, k == 0)
                      : compare_pair(&pairs.items[k], top, json, k == 0);
        failed |= r != PAIR_OK;
        metrics_failed |= r == PAIR_FAILED;
    }
    if (json) printf("], \"ok\": %s}\n", failed ? "false" : "true");
    if (metrics_failed && !write && !json)
        fprintf(stderr, "beatbench: compare: FAILED (metrics beyond tolerance, missing or NaN; "
                        "listed above)\n");
    rc = failed ? BB_EXIT_DATA : BB_EXIT_OK;
done:
    golden_tolerances_free(&tol);
    pairs_free(&pairs);
    free(results);
    free(golden);
    free(rest);
    return rc;
}
