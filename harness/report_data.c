/* report_data — reading a sweep directory for `beatbench report`. See report_data.h. */
#include "harness/report_data.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/csv_reader.h"
#include "models/base/bb_io.h"

static const char *const split_names[BB_REPORT_N_SPLITS] = {"test", "valid", "tokens", "cost"};
static const char *const stage_names[] = {"stage1", "stage2", "rank"};

const char *bb_report_split_name(int split) {
    BB_ASSERT(split >= 0 && split < BB_REPORT_N_SPLITS, "report: split %d out of range", split);
    return split_names[split];
}

/* ------------------------------------------------------------------------------------------
 * Interned names */

int bb_report_names_find(const bb_report_names *t, const char *name) {
    for (size_t k = 0; k < t->n; k++)
        if (strcmp(t->names[k], name) == 0) return (int)k;
    return -1;
}

int bb_report_names_intern(bb_report_names *t, const char *name) {
    int found = bb_report_names_find(t, name);
    if (found >= 0) return found;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->names = bb_realloc(t->names, t->cap * sizeof *t->names);
    }
    t->names[t->n] = bb_strdup(name);
    return (int)t->n++;
}

static void names_free(bb_report_names *t) {
    for (size_t k = 0; k < t->n; k++) free(t->names[k]);
    free(t->names);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------------------------
 * Field checks: each fills err with "PATH:LINE: field 'NAME': ..." */

/* A field value shortened and escaped so the message stays one line. */
static void shown_value(char *out, size_t cap, const char *s, size_t len) {
    size_t o = 0;
    for (size_t k = 0; k < len && o + 5 < cap; k++) {
        unsigned char c = (unsigned char)s[k];
        if (k == 40) {
            o += (size_t)snprintf(out + o, cap - o, "...");
            break;
        }
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static int fail_field(bb_error *err, const char *path, size_t line, const char *field,
                      const char *what, const char *s, size_t len) {
    char shown[256];
    shown_value(shown, sizeof shown, s, len);
    return bb_fail(err, "%s:%zu: field '%s': expected %s, got \"%s\"", path, line, field, what,
                   shown);
}

static int parse_u64(const char *s, size_t len, uint64_t *out) {
    if (len == 0 || len > 20 || strspn(s, "0123456789") != len) return BB_ERR;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno) return BB_ERR;
    *out = (uint64_t)v;
    return BB_OK;
}

/* A number as %.17g prints it; finite_only rejects inf and nan. */
static int parse_number(const char *s, size_t len, int finite_only, double *out) {
    if (len == 0 || isspace((unsigned char)s[0]) || strlen(s) != len) return BB_ERR;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s + len || (errno == ERANGE && fabs(v) > 1.0)) return BB_ERR;
    if (finite_only && !isfinite(v)) return BB_ERR;
    *out = v;
    return BB_OK;
}

/* A name that becomes a directory of the report: letters, digits, '.', '_', '-'. */
static int safe_dir_name(const char *s, size_t len) {
    if (len == 0 || len > 100 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)s[k];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-') return 0;
    }
    return 1;
}

/* Names go into tables and figure titles: non-empty, printable, no NUL bytes. */
static int check_name(bb_error *err, const char *path, const bb_csv_record *rec, size_t k,
                      const char *field) {
    const char *s = rec->fields[k];
    size_t len = rec->lens[k];
    int ok = len > 0 && strlen(s) == len;
    for (size_t j = 0; ok && j < len; j++)
        if ((unsigned char)s[j] < 0x20 || s[j] == 0x7f) ok = 0;
    if (ok) return BB_OK;
    return fail_field(err, path, rec->line, field, "a non-empty name", s, len);
}

static int index_of(const char *const *list, size_t n, const char *s) {
    for (size_t k = 0; k < n; k++)
        if (strcmp(list[k], s) == 0) return (int)k;
    return -1;
}

static int check_fields(bb_error *err, const char *path, const bb_csv_record *rec, size_t n) {
    if (rec->n == n) return BB_OK;
    return bb_fail(err, "%s:%zu: expected %zu fields, got %zu", path, rec->line, n, rec->n);
}

/* ------------------------------------------------------------------------------------------
 * results.csv */

typedef struct load_ctx {
    bb_report_data *d;
    const char *path;
    size_t cap;
} load_ctx;

/* The seven fields and the labels every sweep table starts with (dataset, method, variant,
 * seed) into row->seed; the names are interned once the whole row has been checked. */
static int check_labels(const load_ctx *c, const bb_csv_record *rec, bb_report_row *row, bb_error *err) {
    if (check_fields(err, c->path, rec, 7) != BB_OK) return BB_ERR;
    if (!safe_dir_name(rec->fields[0], rec->lens[0]))
        return fail_field(err, c->path, rec->line, "dataset",
                          "a name of letters, digits, '.', '_' or '-'", rec->fields[0],
                          rec->lens[0]);
    static const char *const name_fields[] = {"dataset", "method", "variant"};
    for (size_t k = 1; k < 3; k++)
        if (check_name(err, c->path, rec, k, name_fields[k]) != BB_OK) return BB_ERR;
    memset(row, 0, sizeof *row);
    if (parse_u64(rec->fields[3], rec->lens[3], &row->seed) != BB_OK)
        return fail_field(err, c->path, rec->line, "seed", "a non-negative integer",
                          rec->fields[3], rec->lens[3]);
    return BB_OK;
}

static void intern_labels(bb_report_data *d, const bb_csv_record *rec, bb_report_row *row) {
    row->dataset = bb_report_names_intern(&d->datasets, rec->fields[0]);
    row->method = bb_report_names_intern(&d->methods, rec->fields[1]);
    row->variant = bb_report_names_intern(&d->variants, rec->fields[2]);
    row->line = rec->line;
}

static void push_row(load_ctx *c, const bb_report_row *row) {
    bb_report_data *d = c->d;
    if (d->n_rows == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        d->rows = bb_realloc(d->rows, c->cap * sizeof *d->rows);
    }
    d->rows[d->n_rows++] = *row;
}

static const char *const results_header[] = {"dataset", "method", "variant", "seed",
                                             "split",   "metric", "value"};

static int on_result(void *vctx, const bb_csv_record *rec, bb_error *err) {
    load_ctx *c = vctx;
    bb_report_data *d = c->d;
    if (rec->index == 0) return bb_csv_expect_header(c->path, rec, results_header, 7, err);
    bb_report_row row;
    if (check_labels(c, rec, &row, err) != BB_OK) return BB_ERR;
    row.split = index_of(split_names, BB_REPORT_N_SPLITS, rec->fields[4]);
    if (row.split < 0)
        return fail_field(err, c->path, rec->line, "split", "test, valid, tokens or cost",
                          rec->fields[4], rec->lens[4]);
    if (check_name(err, c->path, rec, 5, "metric") != BB_OK) return BB_ERR;
    if (parse_number(rec->fields[6], rec->lens[6], 1, &row.value) != BB_OK)
        return fail_field(err, c->path, rec->line, "value", "a finite number", rec->fields[6],
                          rec->lens[6]);
    intern_labels(d, rec, &row);
    row.metric = bb_report_names_intern(&d->metrics, rec->fields[5]);
    push_row(c, &row);
    return BB_OK;
}

/* costs.csv (the sweep keeps wall time and memory out of results.csv: not deterministic):
 * each row becomes split cost rows "seconds" and "peak_rss_mb"; negative = unknown. */
static const char *const costs_header[] = {"dataset", "method", "variant",    "seed",
                                           "cell",    "seconds", "peak_rss_mb"};

static int on_cost(void *vctx, const bb_csv_record *rec, bb_error *err) {
    load_ctx *c = vctx;
    bb_report_data *d = c->d;
    if (rec->index == 0) return bb_csv_expect_header(c->path, rec, costs_header, 7, err);
    bb_report_row row;
    if (check_labels(c, rec, &row, err) != BB_OK) return BB_ERR;
    double v[2];
    for (int k = 0; k < 2; k++)
        if (parse_number(rec->fields[5 + k], rec->lens[5 + k], 1, &v[k]) != BB_OK)
            return fail_field(err, c->path, rec->line, costs_header[5 + k], "a finite number",
                              rec->fields[5 + k], rec->lens[5 + k]);
    intern_labels(d, rec, &row);
    row.split = BB_REPORT_COST;
    row.file = 1;
    for (int k = 0; k < 2; k++) {
        if (v[k] < 0) continue;
        row.metric = bb_report_names_intern(&d->metrics, costs_header[5 + k]);
        row.value = v[k];
        push_row(c, &row);
    }
    return BB_OK;
}

static int cmp_key(const bb_report_row *a, const bb_report_row *b) {
    const int ka[5] = {a->dataset, a->method, a->variant, a->split, a->metric};
    const int kb[5] = {b->dataset, b->method, b->variant, b->split, b->metric};
    for (int k = 0; k < 5; k++)
        if (ka[k] != kb[k]) return ka[k] < kb[k] ? -1 : 1;
    return 0;
}

static int cmp_rows(const void *va, const void *vb) {
    const bb_report_row *a = va, *b = vb;
    int c = cmp_key(a, b);
    if (c) return c;
    if (a->seed != b->seed) return a->seed < b->seed ? -1 : 1;
    if (a->file != b->file) return a->file < b->file ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

static const char *const row_files[] = {"results.csv", "costs.csv"};

/* Sorts the rows, rejects duplicates and cuts them into groups. */
static int build_groups(bb_report_data *d, bb_error *err) {
    if (d->n_rows) qsort(d->rows, d->n_rows, sizeof *d->rows, cmp_rows);
    d->groups = bb_malloc((d->n_rows ? d->n_rows : 1) * sizeof *d->groups);
    for (size_t k = 0; k < d->n_rows; k++) {
        const bb_report_row *r = &d->rows[k];
        if (k > 0 && cmp_key(r, r - 1) == 0) {
            if (r->seed == r[-1].seed) {
                char *path = bb_path_join(d->dir, row_files[r->file]);
                bb_fail(err, "%s:%zu: duplicate row for %s/%s/%s seed %llu %s %s (first at %s:%zu)",
                        path, r->line, d->datasets.names[r->dataset], d->methods.names[r->method],
                        d->variants.names[r->variant], (unsigned long long)r->seed,
                        split_names[r->split], d->metrics.names[r->metric], row_files[r[-1].file],
                        r[-1].line);
                free(path);
                return BB_ERR;
            }
            d->groups[d->n_groups - 1].count++;
            continue;
        }
        bb_report_group g = {r->dataset, r->method, r->variant, r->split, r->metric, k, 1};
        d->groups[d->n_groups++] = g;
    }
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * cells.csv */

static const char *const cells_header[] = {"cell", "dataset", "method", "variant", "seed",
                                           "status"};

static int on_cell(void *vctx, const bb_csv_record *rec, bb_error *err) {
    load_ctx *c = vctx;
    bb_report_data *d = c->d;
    if (rec->index == 0) return bb_csv_expect_header(c->path, rec, cells_header, 6, err);
    if (check_fields(err, c->path, rec, 6) != BB_OK) return BB_ERR;
    /* the cell name becomes a path under DIR/cells: exactly 16 lowercase hex digits */
    if (rec->lens[0] != 16 || strspn(rec->fields[0], "0123456789abcdef") != 16)
        return fail_field(err, c->path, rec->line, "cell", "16 lowercase hex digits",
                          rec->fields[0], rec->lens[0]);
    static const char *const name_fields[] = {"cell", "dataset", "method", "variant"};
    for (size_t k = 1; k < 4; k++)
        if (check_name(err, c->path, rec, k, name_fields[k]) != BB_OK) return BB_ERR;
    bb_report_cell cell = {0};
    if (parse_u64(rec->fields[4], rec->lens[4], &cell.seed) != BB_OK)
        return fail_field(err, c->path, rec->line, "seed", "a non-negative integer",
                          rec->fields[4], rec->lens[4]);
    static const char *const statuses[] = {"ok", "failed", "pending"};
    int status = index_of(statuses, 3, rec->fields[5]);
    if (status < 0)
        return fail_field(err, c->path, rec->line, "status", "ok, failed or pending",
                          rec->fields[5], rec->lens[5]);
    cell.ok = status == 0;
    cell.cell = bb_strdup(rec->fields[0]);
    cell.dataset = bb_strdup(rec->fields[1]);
    cell.method = bb_strdup(rec->fields[2]);
    cell.variant = bb_strdup(rec->fields[3]);
    if (d->n_cells == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        d->cells = bb_realloc(d->cells, c->cap * sizeof *d->cells);
    }
    d->cells[d->n_cells++] = cell;
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * curves.csv */

static const char *const curves_header[] = {"dataset", "method", "variant", "seed",
                                            "stage",   "epoch",  "metric",  "value"};

static int on_curve(void *vctx, const bb_csv_record *rec, bb_error *err) {
    load_ctx *c = vctx;
    bb_report_data *d = c->d;
    if (rec->index == 0) return bb_csv_expect_header(c->path, rec, curves_header, 8, err);
    if (check_fields(err, c->path, rec, 8) != BB_OK) return BB_ERR;
    if (!safe_dir_name(rec->fields[0], rec->lens[0]))
        return fail_field(err, c->path, rec->line, "dataset",
                          "a name of letters, digits, '.', '_' or '-'", rec->fields[0],
                          rec->lens[0]);
    static const char *const name_fields[] = {"dataset", "method", "variant"};
    for (size_t k = 1; k < 3; k++)
        if (check_name(err, c->path, rec, k, name_fields[k]) != BB_OK) return BB_ERR;
    bb_report_curve p = {0};
    if (parse_u64(rec->fields[3], rec->lens[3], &p.seed) != BB_OK)
        return fail_field(err, c->path, rec->line, "seed", "a non-negative integer",
                          rec->fields[3], rec->lens[3]);
    if (index_of(stage_names, 3, rec->fields[4]) < 0)
        return fail_field(err, c->path, rec->line, "stage", "stage1, stage2 or rank",
                          rec->fields[4], rec->lens[4]);
    if (bb_csv_parse_id(rec->fields[5], rec->lens[5], &p.epoch) != BB_OK)
        return fail_field(err, c->path, rec->line, "epoch", "a non-negative integer",
                          rec->fields[5], rec->lens[5]);
    if (check_name(err, c->path, rec, 6, "metric") != BB_OK) return BB_ERR;
    if (parse_number(rec->fields[7], rec->lens[7], 0, &p.value) != BB_OK)
        return fail_field(err, c->path, rec->line, "value", "a number", rec->fields[7],
                          rec->lens[7]);
    p.dataset = bb_report_names_intern(&d->datasets, rec->fields[0]);
    p.method = bb_report_names_intern(&d->methods, rec->fields[1]);
    p.variant = bb_report_names_intern(&d->variants, rec->fields[2]);
    p.stage = bb_report_names_intern(&d->stages, rec->fields[4]);
    p.metric = bb_report_names_intern(&d->curve_metrics, rec->fields[6]);
    if (d->n_curves == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        d->curves = bb_realloc(d->curves, c->cap * sizeof *d->curves);
    }
    d->curves[d->n_curves++] = p;
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * Loading */

int bb_report_data_load(bb_report_data *d, const char *dir, bb_error *err) {
    memset(d, 0, sizeof *d);
    d->dir = bb_strdup(dir);
    char *path = bb_path_join(dir, "results.csv");
    int rc = BB_OK;
    if (!bb_path_exists(path)) {
        rc = bb_fail(err, "%s: no such file (is %s a sweep output directory?)", path, dir);
        goto done;
    }
    load_ctx c = {d, path, 0};
    /* results first: datasets, methods and variants are numbered in the sweep's grid order */
    rc = bb_csv_read_file(path, on_result, &c, err);
    free(path);
    path = bb_path_join(dir, "costs.csv");
    if (rc == BB_OK && bb_path_exists(path)) {
        c.path = path;
        rc = bb_csv_read_file(path, on_cost, &c, err);
    }
    if (rc == BB_OK) rc = build_groups(d, err);
    free(path);
    path = bb_path_join(dir, "cells.csv");
    if (rc == BB_OK && bb_path_exists(path)) {
        d->have_cells = 1;
        load_ctx cc = {d, path, 0};
        rc = bb_csv_read_file(path, on_cell, &cc, err);
    }
    free(path);
    path = bb_path_join(dir, "curves.csv");
    if (rc == BB_OK && bb_path_exists(path)) {
        d->have_curves = 1;
        load_ctx cc = {d, path, 0};
        rc = bb_csv_read_file(path, on_curve, &cc, err);
    }
done:
    free(path);
    if (rc != BB_OK) bb_report_data_free(d);
    return rc;
}

void bb_report_data_free(bb_report_data *d) {
    free(d->dir);
    names_free(&d->datasets);
    names_free(&d->methods);
    names_free(&d->variants);
    names_free(&d->metrics);
    names_free(&d->stages);
    names_free(&d->curve_metrics);
    free(d->rows);
    free(d->groups);
    for (size_t k = 0; k < d->n_cells; k++) {
        free(d->cells[k].cell);
        free(d->cells[k].dataset);
        free(d->cells[k].method);
        free(d->cells[k].variant);
    }
    free(d->cells);
    free(d->curves);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------------------------------------
 * Queries */

const bb_report_group *bb_report_find(const bb_report_data *d, int dataset, int method,
                                      int variant, int split, int metric) {
    if (dataset < 0 || method < 0 || variant < 0 || split < 0 || metric < 0) return NULL;
    bb_report_row key = {dataset, method, variant, split, metric, 0, 0, 0, 0};
    size_t lo = 0, hi = d->n_groups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_key(&d->rows[d->groups[mid].first], &key);
        if (c == 0) return &d->groups[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void bb_report_group_stats(const bb_report_data *d, const bb_report_group *g, double *mean,
                           double *std) {
    const bb_report_row *r = &d->rows[g->first];
    double sum = 0;
    for (size_t k = 0; k < g->count; k++) sum += r[k].value;
    double m = sum / (double)g->count;
    double ss = 0;
    for (size_t k = 0; k < g->count; k++) ss += (r[k].value - m) * (r[k].value - m);
    *mean = m;
    *std = g->count > 1 ? sqrt(ss / (double)(g->count - 1)) : 0.0;
}

const bb_report_cell *bb_report_cell_find(const bb_report_data *d, const char *dataset,
                                          const char *method, const char *variant,
                                          uint64_t seed) {
    for (size_t k = 0; k < d->n_cells; k++) {
        const bb_report_cell *c = &d->cells[k];
        if (c->ok && c->seed == seed && strcmp(c->dataset, dataset) == 0 &&
            strcmp(c->method, method) == 0 && strcmp(c->variant, variant) == 0)
            return c;
    }
    return NULL;
}
