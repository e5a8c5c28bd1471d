/* golden — results vs golden metric numbers: reading, joining, judging, writing.
 * See golden.h for the file formats, the tolerance rule and ownership. */
#include "harness/golden.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/csv_reader.h"
#include "models/base/bb_io.h"

static const char *const column_names[GOLDEN_COLUMNS] = {
    "dataset", "method", "variant", "seed", "split", "metric", "value", "tolerance"};
enum { COL_DATASET, COL_METHOD, COL_VARIANT, COL_SEED, COL_SPLIT, COL_METRIC, COL_VALUE, COL_TOL };

/* ------------------------------------------------------------------------------------ */
/* table storage                                                                        */

static const char *pool_add(golden_table *t, const char *s, size_t len) {
    if (t->pool_n == t->pool_cap) {
        t->pool_cap = t->pool_cap ? 2 * t->pool_cap : 64;
        t->pool = bb_realloc(t->pool, t->pool_cap * sizeof *t->pool);
    }
    char *copy = bb_malloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    t->pool[t->pool_n++] = copy;
    return copy;
}

/* Names repeat on every row (a sweep has few datasets, methods, variants, metrics): reuse
 * the last copy of the same text in the same column instead of one string per field. */
static const char *intern(golden_table *t, const char *s, size_t len, const char *prev) {
    if (prev && strlen(prev) == len && memcmp(prev, s, len) == 0) return prev;
    return pool_add(t, s, len);
}

void golden_table_free(golden_table *t) {
    if (!t) return;
    for (size_t k = 0; k < t->pool_n; k++) free(t->pool[k]);
    free(t->pool);
    free(t->rows);
    free(t->path);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------------------ */
/* reading                                                                              */

typedef struct read_ctx {
    golden_table *t;
    golden_read_mode mode;
    size_t n_columns; /* 7 or 8, from the header */
    const golden_row *last;
} read_ctx;

/* s for a one-line message: quotes, backslashes and control bytes escaped, cut at 40. */
static void shown(char *out, size_t cap, const char *s, size_t len) {
    size_t o = 0;
    for (size_t k = 0; k < len && o + 8 < cap; k++) {
        if (k == 40) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)s[k];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

static int fail_field(bb_error *err, const golden_table *t, size_t line, int col,
                      const char *expected, const char *s, size_t len) {
    char text[200];
    shown(text, sizeof text, s, len);
    return bb_fail(err, "%s:%zu: field '%s': expected %s, got \"%s\"", t->path, line,
                   column_names[col], expected, text);
}

/* Strict decimal number: the whole field, no spaces; "nan"/"-nan" accepted (as NaN) only
 * when allow_nan. */
static int parse_number(const char *s, size_t len, int allow_nan, double *out) {
    if (len == 0 || strlen(s) != len) return BB_ERR;
    if (allow_nan && (strcmp(s, "nan") == 0 || strcmp(s, "-nan") == 0 || strcmp(s, "NaN") == 0)) {
        *out = NAN;
        return BB_OK;
    }
    char c = s[0];
    if (!(c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'))) return BB_ERR;
    if (strpbrk(s, "xXnN")) return BB_ERR; /* no hex floats, no nan/inf spellings */
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s + len) return BB_ERR;
    if (errno == ERANGE && fabs(v) > 1) return BB_ERR; /* overflow; underflow to 0 is fine */
    *out = v;
    return BB_OK;
}

static int parse_seed(const char *s, size_t len, long long *out) {
    if (len == 0 || len > 19 || strlen(s) != len) return BB_ERR;
    size_t k = s[0] == '-' ? 1 : 0;
    if (k == len) return BB_ERR;
    long long v = 0;
    for (; k < len; k++) {
        if (s[k] < '0' || s[k] > '9') return BB_ERR;
        v = v * 10 + (s[k] - '0');
    }
    *out = s[0] == '-' ? -v : v;
    return BB_OK;
}

static int on_header(read_ctx *c, const bb_csv_record *rec, bb_error *err) {
    golden_table *t = c->t;
    /* A results file may come in either layout; a golden file must carry tolerances. */
    size_t want = c->mode == GOLDEN_READ_GOLDEN || rec->n == GOLDEN_COLUMNS ? GOLDEN_COLUMNS
                                                                            : GOLDEN_COLUMNS - 1;
    if (bb_csv_expect_header(t->path, rec, column_names, want, err) != BB_OK) return BB_ERR;
    c->n_columns = want;
    t->has_tolerance = want == GOLDEN_COLUMNS;
    return BB_OK;
}

static int on_record(void *vc, const bb_csv_record *rec, bb_error *err) {
    read_ctx *c = vc;
    golden_table *t = c->t;
    if (rec->index == 0) return on_header(c, rec, err);
    if (rec->n < c->n_columns)
        return bb_fail(err, "%s:%zu: field '%s': missing (the row has %zu fields, the header %zu)",
                       t->path, rec->line, column_names[rec->n], rec->n, c->n_columns);
    if (rec->n > c->n_columns)
        return bb_fail(err, "%s:%zu: %zu fields, the header has %zu (an unquoted comma?)", t->path,
                       rec->line, rec->n, c->n_columns);
    for (int col = COL_DATASET; col <= COL_METRIC; col++) {
        if (col == COL_SEED) continue;
        if (rec->lens[col] == 0 || strlen(rec->fields[col]) != rec->lens[col])
            return fail_field(err, t, rec->line, col, "a non-empty name", rec->fields[col],
                              rec->lens[col]);
    }
    if (strcmp(rec->fields[COL_SPLIT], "cost") == 0) { /* timings: never deterministic */
        t->skipped_cost++;
        return BB_OK;
    }
    golden_row r;
    memset(&r, 0, sizeof r);
    r.line = rec->line;
    r.tolerance = NAN;
    if (parse_seed(rec->fields[COL_SEED], rec->lens[COL_SEED], &r.seed) != BB_OK)
        return fail_field(err, t, rec->line, COL_SEED, "an integer", rec->fields[COL_SEED],
                          rec->lens[COL_SEED]);
    int golden = c->mode == GOLDEN_READ_GOLDEN;
    if (parse_number(rec->fields[COL_VALUE], rec->lens[COL_VALUE], !golden, &r.value) != BB_OK ||
        (golden && !isfinite(r.value)))
        return fail_field(err, t, rec->line, COL_VALUE, golden ? "a finite number" : "a number",
                          rec->fields[COL_VALUE], rec->lens[COL_VALUE]);
    if (c->n_columns == GOLDEN_COLUMNS &&
        (parse_number(rec->fields[COL_TOL], rec->lens[COL_TOL], 0, &r.tolerance) != BB_OK ||
         !isfinite(r.tolerance) || r.tolerance < 0))
        return fail_field(err, t, rec->line, COL_TOL, "a non-negative number",
                          rec->fields[COL_TOL], rec->lens[COL_TOL]);
    if (!golden) r.tolerance = NAN; /* a results file's tolerances mean nothing here */
    const golden_row *p = c->last;
    r.dataset = intern(t, rec->fields[COL_DATASET], rec->lens[COL_DATASET], p ? p->dataset : NULL);
    r.method = intern(t, rec->fields[COL_METHOD], rec->lens[COL_METHOD], p ? p->method : NULL);
    r.variant = intern(t, rec->fields[COL_VARIANT], rec->lens[COL_VARIANT], p ? p->variant : NULL);
    r.split = intern(t, rec->fields[COL_SPLIT], rec->lens[COL_SPLIT], p ? p->split : NULL);
    r.metric = intern(t, rec->fields[COL_METRIC], rec->lens[COL_METRIC], p ? p->metric : NULL);
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->rows = bb_realloc(t->rows, t->cap * sizeof *t->rows);
    }
    t->rows[t->n++] = r;
    c->last = &t->rows[t->n - 1];
    return BB_OK;
}

int golden_table_read(const char *path, golden_read_mode mode, golden_table *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    out->path = bb_strdup(path);
    read_ctx c = {out, mode, 0, NULL};
    if (bb_csv_read_file(path, on_record, &c, err) != BB_OK) {
        golden_table_free(out);
        return BB_ERR;
    }
    return BB_OK;
}

void golden_row_key(const golden_row *r, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s/%s/seed %lld/%s/%s", r->dataset, r->method, r->variant, r->seed,
             r->split, r->metric);
}

/* ------------------------------------------------------------------------------------ */
/* joining                                                                              */

static int key_cmp(const golden_row *a, const golden_row *b) {
    int c = strcmp(a->dataset, b->dataset);
    if (!c) c = strcmp(a->method, b->method);
    if (!c) c = strcmp(a->variant, b->variant);
    if (!c) c = (a->seed > b->seed) - (a->seed < b->seed);
    if (!c) c = strcmp(a->split, b->split);
    if (!c) c = strcmp(a->metric, b->metric);
    return c;
}

static int row_ptr_cmp(const void *pa, const void *pb) {
    const golden_row *a = *(const golden_row *const *)pa, *b = *(const golden_row *const *)pb;
    int c = key_cmp(a, b);
    return c ? c : (a->line > b->line) - (a->line < b->line);
}

/* Pointers to t's rows sorted by key; fails on a duplicate key naming its second line. */
static const golden_row **sorted_rows(const golden_table *t, bb_error *err) {
    const golden_row **s = bb_malloc((t->n ? t->n : 1) * sizeof *s);
    for (size_t k = 0; k < t->n; k++) s[k] = &t->rows[k];
    qsort(s, t->n, sizeof *s, row_ptr_cmp);
    for (size_t k = 1; k < t->n; k++) {
        if (key_cmp(s[k - 1], s[k]) != 0) continue;
        char key[512];
        golden_row_key(s[k], key, sizeof key);
        bb_fail(err, "%s:%zu: duplicate row for %s (first at line %zu)", t->path, s[k]->line, key,
                s[k - 1]->line);
        free(s);
        return NULL;
    }
    return s;
}

static const golden_row *find_row(const golden_row **sorted, size_t n, const golden_row *key) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(sorted[mid], key);
        if (c == 0) return sorted[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static void judge(golden_entry *e) {
    const golden_row *g = e->golden, *a = e->actual;
    e->drift = 0;
    e->ratio = 0;
    if (a && isnan(a->value)) {
        e->status = GOLDEN_NAN;
        e->ratio = INFINITY;
        return;
    }
    if (!a) {
        e->status = GOLDEN_MISSING;
        e->ratio = INFINITY;
        return;
    }
    if (!g) {
        e->status = GOLDEN_EXTRA;
        return;
    }
    /* golden values are finite, so the drift is a number (inf for an infinite result) */
    e->drift = a->value - g->value;
    double mag = fabs(e->drift);
    e->ratio = mag == 0 ? 0 : g->tolerance > 0 ? mag / g->tolerance : INFINITY;
    e->status = mag == 0 ? GOLDEN_SAME : mag <= g->tolerance ? GOLDEN_WITHIN : GOLDEN_BEYOND;
}

int golden_compare(const golden_table *golden, const golden_table *results, golden_report *out,
                   bb_error *err) {
    memset(out, 0, sizeof *out);
    const golden_row **gs = sorted_rows(golden, err);
    if (!gs) return BB_ERR;
    const golden_row **rs = sorted_rows(results, err);
    if (!rs) {
        free(gs);
        return BB_ERR;
    }
    out->entries = bb_calloc(golden->n + results->n + 1, sizeof *out->entries);
    for (size_t k = 0; k < golden->n; k++) {
        golden_entry *e = &out->entries[out->n++];
        e->golden = &golden->rows[k];
        e->actual = find_row(rs, results->n, e->golden);
        judge(e);
    }
    for (size_t k = 0; k < results->n; k++) {
        const golden_row *a = &results->rows[k];
        if (find_row(gs, golden->n, a)) continue;
        golden_entry *e = &out->entries[out->n++];
        e->actual = a;
        judge(e);
    }
    for (size_t k = 0; k < out->n; k++) {
        const golden_entry *e = &out->entries[k];
        if (!e->golden) {
            out->extra++;
            out->nan += e->status == GOLDEN_NAN;
            continue;
        }
        out->compared++;
        switch (e->status) {
        case GOLDEN_SAME: out->same++, out->within++; break;
        case GOLDEN_WITHIN: out->within++; break;
        case GOLDEN_BEYOND: out->beyond++; break;
        case GOLDEN_NAN: out->nan++, out->beyond++; break;
        case GOLDEN_MISSING: out->missing++; break;
        case GOLDEN_EXTRA: BB_ASSERT(0, "an entry with a golden row cannot be extra"); break;
        }
    }
    free(gs);
    free(rs);
    return BB_OK;
}

void golden_report_free(golden_report *r) {
    if (!r) return;
    free(r->entries);
    memset(r, 0, sizeof *r);
}

int golden_report_failed(const golden_report *r) {
    return r->beyond > 0 || r->missing > 0 || r->nan > 0;
}

static const golden_entry *rank_base;

static size_t entry_line(const golden_entry *e) {
    return e->golden ? e->golden->line : e->actual->line;
}

static int rank_cmp(const void *pa, const void *pb) {
    const golden_entry *a = &rank_base[*(const size_t *)pa], *b = &rank_base[*(const size_t *)pb];
    if (a->ratio != b->ratio) return a->ratio > b->ratio ? -1 : 1;
    double da = fabs(a->drift), db = fabs(b->drift);
    if (da != db) return da > db ? -1 : 1;
    if (!a->golden != !b->golden) return a->golden ? -1 : 1; /* golden-file lines first */
    size_t la = entry_line(a), lb = entry_line(b);
    return (la > lb) - (la < lb);
}

size_t *golden_report_ranked(const golden_report *r, size_t *n) {
    size_t *idx = bb_malloc((r->n ? r->n : 1) * sizeof *idx);
    size_t m = 0;
    for (size_t k = 0; k < r->n; k++) {
        golden_status s = r->entries[k].status;
        if (s != GOLDEN_SAME && s != GOLDEN_EXTRA) idx[m++] = k;
    }
    /* qsort has no context argument in C11; the comparator reads the report through a
     * file-level pointer set only for this call (compare is single-threaded). */
    rank_base = r->entries;
    qsort(idx, m, sizeof *idx, rank_cmp);
    rank_base = NULL;
    *n = m;
    return idx;
}

void golden_format_double(double v, char *buf, size_t cap) {
    if (isnan(v)) {
        snprintf(buf, cap, "nan");
        return;
    }
    int p = 1;
    for (; p < 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    snprintf(buf, cap, "%.*g", p, v);
    /* %.1g of 40 is "4e+01": write integers-sized exponents out in full like %g would */
    const char *e = strchr(buf, 'e');
    int x = e ? atoi(e + 1) : -1;
    if (x >= p && x < 17) snprintf(buf, cap, "%.*g", x + 1, v);
}

void golden_entry_message(const golden_entry *e, const golden_table *golden,
                          const golden_table *results, char *buf, size_t cap) {
    char key[512], a[40], g[40], tol[40];
    const golden_row *row = e->golden ? e->golden : e->actual;
    golden_row_key(row, key, sizeof key);
    const char *where = e->golden ? golden->path : results->path;
    if (e->golden) golden_format_double(e->golden->value, g, sizeof g);
    if (e->actual) golden_format_double(e->actual->value, a, sizeof a);
    switch (e->status) {
    case GOLDEN_MISSING:
        snprintf(buf, cap, "%s:%zu: %s: golden %s missing from %s", where, row->line, key, g,
                 results->path);
        return;
    case GOLDEN_NAN:
        if (e->golden)
            snprintf(buf, cap, "%s:%zu: %s: nan vs golden %s (not a number, %s:%zu)", where,
                     row->line, key, g, results->path, e->actual->line);
        else
            snprintf(buf, cap, "%s:%zu: %s: nan (not a number; no golden row)", where, row->line,
                     key);
        return;
    case GOLDEN_EXTRA:
        snprintf(buf, cap, "%s:%zu: %s: %s has no golden row in %s", where, row->line, key, a,
                 golden->path);
        return;
    case GOLDEN_SAME:
    case GOLDEN_WITHIN:
    case GOLDEN_BEYOND:
        break;
    }
    golden_format_double(e->golden->tolerance, tol, sizeof tol);
    snprintf(buf, cap, "%s:%zu: %s: %s vs golden %s (drift %+.3g %s tolerance %s)", where,
             row->line, key, a, g, e->drift, e->status == GOLDEN_BEYOND ? ">" : "<=", tol);
}

/* ------------------------------------------------------------------------------------ */
/* tolerance tables                                                                     */

/* Line of the next occurrence of "key" at or after *cursor (advanced past it), else the
 * cursor's line: a key with escapes is not found literally and keeps the previous line. */
static size_t key_line(const char *text, const char *key, const char **cursor) {
    size_t n = strlen(key);
    const char *hit = NULL;
    for (const char *p = *cursor; (p = strchr(p, '"')) != NULL; p++) {
        if (strncmp(p + 1, key, n) == 0 && p[n + 1] == '"') {
            hit = p;
            break;
        }
    }
    if (hit) *cursor = hit + n + 2;
    size_t line = 1;
    for (const char *p = text; p < *cursor && *p; p++) line += *p == '\n';
    return line;
}

void golden_tolerances_free(golden_tolerances *t) {
    if (!t) return;
    for (size_t k = 0; k < t->n; k++) free(t->patterns[k]);
    free(t->patterns);
    free(t->values);
    free(t->lines);
    free(t->path);
    memset(t, 0, sizeof *t);
}

int golden_tolerances_parse(const char *path, const char *text, golden_tolerances *out,
                            bb_error *err) {
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        size_t line = 1;
        for (const char *p = text; end && p < end && *p; p++) line += *p == '\n';
        return bb_fail(err, "%s:%zu: invalid JSON", path, line);
    }
    int rc = BB_OK;
    if (!cJSON_IsObject(root)) {
        rc = bb_fail(err, "%s:1: expected a JSON object {\"pattern\": tolerance, ...}", path);
        goto done;
    }
    size_t cap = (size_t)cJSON_GetArraySize(root) + 1;
    out->path = bb_strdup(path);
    out->patterns = bb_calloc(cap, sizeof *out->patterns);
    out->values = bb_calloc(cap, sizeof *out->values);
    out->lines = bb_calloc(cap, sizeof *out->lines);
    const char *cursor = text;
    for (const cJSON *m = root->child; m; m = m->next) {
        size_t line = key_line(text, m->string, &cursor);
        if (m->string[0] == '_') { /* comment members */
            if (!cJSON_IsString(m)) {
                rc = bb_fail(err, "%s:%zu: key '%s': keys starting with '_' are comments and "
                                  "take a string", path, line, m->string);
                goto done;
            }
            continue;
        }
        if (m->string[0] == '\0') {
            rc = bb_fail(err, "%s:%zu: empty pattern", path, line);
            goto done;
        }
        if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble) || m->valuedouble < 0) {
            rc = bb_fail(err, "%s:%zu: key '%s': expected a non-negative number (an absolute "
                              "tolerance)", path, line, m->string);
            goto done;
        }
        for (size_t k = 0; k < out->n; k++) {
            if (strcmp(out->patterns[k], m->string) != 0) continue;
            rc = bb_fail(err, "%s:%zu: key '%s': pattern repeated (first at line %zu)", path,
                         line, m->string, out->lines[k]);
            goto done;
        }
        out->patterns[out->n] = bb_strdup(m->string);
        out->values[out->n] = m->valuedouble;
        out->lines[out->n] = line;
        out->n++;
    }
    if (out->n == 0) rc = bb_fail(err, "%s:1: no tolerance patterns", path);
done:
    cJSON_Delete(root);
    if (rc != BB_OK) golden_tolerances_free(out);
    return rc;
}

int golden_tolerances_load(const char *path, golden_tolerances *out, bb_error *err) {
    char *text = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    if (bb_read_file(path, &text, &len, err) != BB_OK) return BB_ERR;
    int rc = golden_tolerances_parse(path, text, out, err);
    free(text);
    return rc;
}

int golden_tolerances_match(const golden_tolerances *t, const char *metric) {
    for (size_t k = 0; k < t->n; k++)
        if (fnmatch(t->patterns[k], metric, 0) == 0) return (int)k;
    return -1;
}

/* ------------------------------------------------------------------------------------ */
/* writing                                                                              */

static int write_row(FILE *fp, const golden_row *r, double tolerance) {
    const char *names[] = {r->dataset, r->method, r->variant};
    for (int k = 0; k < 3; k++)
        if (bb_csv_write_field(fp, names[k]) == EOF || fputc(',', fp) == EOF) return EOF;
    if (fprintf(fp, "%lld,", r->seed) < 0) return EOF;
    if (bb_csv_write_field(fp, r->split) == EOF || fputc(',', fp) == EOF) return EOF;
    if (bb_csv_write_field(fp, r->metric) == EOF) return EOF;
    char tol[40];
    golden_format_double(tolerance, tol, sizeof tol);
    return fprintf(fp, ",%.17g,%s\n", r->value, tol) < 0 ? EOF : 0;
}

int golden_write(const char *path, const golden_table *results, const golden_table *old,
                 const golden_tolerances *tol, golden_write_stats *stats, bb_error *err) {
    memset(stats, 0, sizeof *stats);
    const golden_row **rs = sorted_rows(results, err); /* a duplicate would never compare */
    if (!rs) return BB_ERR;
    const golden_row **os = NULL;
    if (old && !(os = sorted_rows(old, err))) {
        free(rs);
        return BB_ERR;
    }
    bb_atomic_file af;
    if (bb_atomic_open(&af, path, err) != BB_OK) goto fail_early;
    if (fprintf(af.fp, "dataset,method,variant,seed,split,metric,value,tolerance\n") < 0) {
        bb_fail(err, "%s: write error: %s", path, strerror(errno));
        goto fail;
    }
    /* Rows are checked as they are written: any error aborts the temporary file, so the
     * old golden file stays as it was. */
    for (size_t k = 0; k < results->n; k++) {
        const golden_row *r = &results->rows[k];
        char key[512];
        if (!isfinite(r->value)) {
            golden_row_key(r, key, sizeof key);
            bb_fail(err, "%s:%zu: %s: value %s is not a finite number; a golden file holds "
                         "numbers only (fix the run, nothing was written)",
                    results->path, r->line, key, isnan(r->value) ? "nan" : "inf");
            goto fail;
        }
        const golden_row *prev = os ? find_row(os, old->n, r) : NULL;
        double t;
        if (prev) {
            t = prev->tolerance;
            stats->kept++;
        } else {
            int m = tol ? golden_tolerances_match(tol, r->metric) : -1;
            if (m < 0) {
                golden_row_key(r, key, sizeof key);
                bb_fail(err, "%s:%zu: %s: no tolerance pattern matches metric '%s'%s%s "
                             "(nothing was written)",
                        results->path, r->line, key, r->metric, tol ? " in " : "",
                        tol ? tol->path : "");
                goto fail;
            }
            t = tol->values[m];
            stats->added++;
        }
        if (write_row(af.fp, r, t) != 0) {
            bb_fail(err, "%s: write error: %s", path, strerror(errno));
            goto fail;
        }
        stats->rows++;
    }
    if (bb_atomic_commit(&af, err) != BB_OK) goto fail_early;
    for (size_t k = 0; old && k < old->n; k++)
        stats->dropped += !find_row(rs, results->n, &old->rows[k]);
    free(rs);
    free(os);
    return BB_OK;
fail:
    bb_atomic_abort(&af);
fail_early:
    free(rs);
    free(os);
    stats->rows = stats->kept = stats->added = 0;
    return BB_ERR;
}
