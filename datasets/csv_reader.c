/* csv_reader — libcsv with physical line numbers. See csv_reader.h. */
#include "datasets/csv_reader.h"

#include <csv.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

/* ------------------------------------------------------------------------------------ */
/* reader state shared with the libcsv callbacks                                        */

typedef struct reader {
    const char *path;
    bb_csv_record_fn fn;
    void *ctx;
    bb_error *err;
    /* fields of the record being built: bytes in buf, each NUL-terminated */
    char *buf;
    size_t buf_len, buf_cap;
    size_t *offs, *lens;
    const char **ptrs;
    size_t n_fields, fields_cap;
    size_t line;         /* physical line now being fed to libcsv */
    size_t record_line;  /* first line of the record being built */
    int in_record;       /* bytes of a record have been fed since the last record ended */
    size_t records;
    int failed;
} reader;

static void on_field(void *data, size_t len, void *vr) {
    reader *r = vr;
    if (r->failed) return;
    if (r->n_fields == r->fields_cap) {
        r->fields_cap = r->fields_cap ? 2 * r->fields_cap : 16;
        r->offs = bb_realloc(r->offs, r->fields_cap * sizeof *r->offs);
        r->lens = bb_realloc(r->lens, r->fields_cap * sizeof *r->lens);
        r->ptrs = bb_realloc(r->ptrs, r->fields_cap * sizeof *r->ptrs);
    }
    if (r->buf_len + len + 1 > r->buf_cap) {
        while (r->buf_len + len + 1 > r->buf_cap) r->buf_cap = r->buf_cap ? 2 * r->buf_cap : 4096;
        r->buf = bb_realloc(r->buf, r->buf_cap);
    }
    if (len) memcpy(r->buf + r->buf_len, data, len);
    r->buf[r->buf_len + len] = '\0';
    r->offs[r->n_fields] = r->buf_len;
    r->lens[r->n_fields] = len;
    r->n_fields++;
    r->buf_len += len + 1;
}

static void on_record_end(int term, void *vr) {
    (void)term;
    reader *r = vr;
    r->in_record = 0;
    if (r->failed) return;
    for (size_t k = 0; k < r->n_fields; k++) r->ptrs[k] = r->buf + r->offs[k];
    bb_csv_record rec = {r->ptrs, r->lens, r->n_fields, r->record_line, r->records};
    r->records++;
    if (r->fn(r->ctx, &rec, r->err) != BB_OK) r->failed = 1;
    r->n_fields = 0;
    r->buf_len = 0;
}

/* No trimming: RFC 4180 says spaces are part of a field (libcsv trims space and tab by
 * default). */
static int never_space(unsigned char c) {
    (void)c;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* reading                                                                              */

int bb_csv_read_buffer(const char *name, const char *data, size_t len, bb_csv_record_fn fn,
                       void *ctx, bb_error *err) {
    reader r = {0};
    r.path = name;
    r.fn = fn;
    r.ctx = ctx;
    r.err = err;
    r.line = 1;
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return bb_fail(err, "%s: cannot initialise the CSV parser", name);
    csv_set_space_func(&p, never_space);
    /* One big block per field buffer growth: fewer reallocations on long text fields. */
    csv_set_blk_size(&p, 1 << 16);

    size_t pos = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) pos = 3; /* UTF-8 BOM */
    int rc = BB_OK;
    /* Feed one physical line at a time so callbacks know the line. A line that is blank
     * (starts with CR or LF) between records starts no record: libcsv skips it. */
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t seg = nl ? (size_t)(nl - (data + pos)) + 1 : len - pos;
        if (!r.in_record && data[pos] != '\n' && data[pos] != '\r') {
            r.in_record = 1;
            r.record_line = r.line;
        }
        size_t used = csv_parse(&p, data + pos, seg, on_field, on_record_end, &r);
        if (r.failed) {
            rc = BB_ERR;
            break;
        }
        if (used != seg) {
            int e = csv_error(&p);
            BB_ASSERT(e != CSV_ENOMEM && e != CSV_ETOOBIG, "libcsv ran out of memory on %s", name);
            rc = bb_fail(err,
                         "%s:%zu: malformed quoting: a quote inside an unquoted field, or text "
                         "after a closing quote (quote a field that holds quotes and double "
                         "them: \"a \"\"b\"\"\")",
                         name, r.line);
            break;
        }
        pos += seg;
        if (nl) r.line++;
    }
    if (rc == BB_OK) {
        size_t start = r.record_line;
        int was_open = r.in_record;
        if (csv_fini(&p, on_field, on_record_end, &r) != 0) {
            rc = bb_fail(err, "%s:%zu: unterminated quoted field (the record starting here "
                              "never closes its quote)",
                         name, was_open ? start : r.line);
        } else if (r.failed) {
            rc = BB_ERR;
        } else if (r.records == 0) {
            rc = bb_fail(err, "%s:1: empty file", name);
        }
    }
    csv_free(&p);
    free(r.buf);
    free(r.offs);
    free(r.lens);
    free(r.ptrs);
    return rc;
}

int bb_csv_read_file(const char *path, bb_csv_record_fn fn, void *ctx, bb_error *err) {
    char *data = NULL;
    size_t len = 0;
    if (bb_read_file(path, &data, &len, err) != BB_OK) return BB_ERR;
    int rc = bb_csv_read_buffer(path, data, len, fn, ctx, err);
    free(data);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* validation helpers                                                                   */

/* Copies s into out for a one-line message: quotes and backslashes escaped, control bytes
 * as \xNN, cut at about 60 characters. */
static void quote_for_message(char *out, size_t cap, const char *s, size_t len) {
    size_t o = 0;
    const size_t limit = 60;
    for (size_t k = 0; k < len && o + 8 < cap; k++) {
        if (k == limit) {
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

int bb_csv_expect_header(const char *path, const bb_csv_record *rec, const char *const *names,
                         size_t n_names, bb_error *err) {
    int ok = rec->n == n_names;
    for (size_t k = 0; ok && k < n_names; k++)
        ok = rec->lens[k] == strlen(names[k]) && memcmp(rec->fields[k], names[k], rec->lens[k]) == 0;
    if (ok) return BB_OK;
    char want[256] = "", got[256] = "", piece[160];
    for (size_t k = 0; k < n_names; k++) {
        strncat(want, k ? "," : "", sizeof want - strlen(want) - 1);
        strncat(want, names[k], sizeof want - strlen(want) - 1);
    }
    for (size_t k = 0; k < rec->n && strlen(got) < 120; k++) {
        quote_for_message(piece, sizeof piece, rec->fields[k], rec->lens[k]);
        strncat(got, k ? "," : "", sizeof got - strlen(got) - 1);
        strncat(got, piece, sizeof got - strlen(got) - 1);
    }
    return bb_fail(err, "%s:%zu: wrong header: expected \"%s\", got \"%s\"", path, rec->line,
                   want, got);
}

int bb_csv_parse_id(const char *s, size_t len, int *out) {
    if (len == 0) return BB_ERR;
    long long v = 0;
    for (size_t k = 0; k < len; k++) {
        if (s[k] < '0' || s[k] > '9') return BB_ERR;
        v = v * 10 + (s[k] - '0');
        if (v >= INT_MAX) return BB_ERR; /* so that a count, id + 1, still fits in int32 */
    }
    *out = (int)v;
    return BB_OK;
}

int bb_csv_fail_id(bb_error *err, const char *path, size_t line, const char *field,
                   const char *value, size_t len) {
    char shown[256];
    quote_for_message(shown, sizeof shown, value, len);
    int too_big = len > 0 && strspn(value, "0123456789") == len;
    return bb_fail(err, "%s:%zu: field '%s': expected a non-negative integer%s, got \"%s\"",
                   path, line, field, too_big ? " below 2147483647" : "", shown);
}

/* ------------------------------------------------------------------------------------ */
/* writing                                                                              */

int bb_csv_write_field(FILE *fp, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) return fputs(s, fp) < 0 ? EOF : 0;
    if (fputc('"', fp) == EOF) return EOF;
    for (const char *c = s; *c; c++) {
        if (*c == '"' && fputc('"', fp) == EOF) return EOF;
        if (fputc(*c, fp) == EOF) return EOF;
    }
    return fputc('"', fp) == EOF ? EOF : 0;
}
