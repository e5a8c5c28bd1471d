/* text_pairs — loading reference/candidate pairs. See text_pairs.h.
 *
 * CSV line numbers: libcsv reports fields and record ends but not positions, so the file is
 * fed to it one physical line at a time; a record that ends while line L is being fed, and
 * whose fields contain k newlines, started on line L - k.
 */
#include "metrics/text_pairs.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/text_unicode.h"
#include "models/base/bb_io.h"

void text_pairs_free(text_pairs *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->refs[i]);
        free(p->cands[i]);
    }
    free(p->refs);
    free(p->cands);
    free(p->ref_lens);
    free(p->cand_lens);
    free(p->lines);
    memset(p, 0, sizeof *p);
}

static void pairs_push(text_pairs *p, size_t *cap, char *ref, size_t ref_len, char *cand,
                       size_t cand_len, size_t line) {
    if (p->n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        p->refs = bb_realloc(p->refs, *cap * sizeof *p->refs);
        p->cands = bb_realloc(p->cands, *cap * sizeof *p->cands);
        p->ref_lens = bb_realloc(p->ref_lens, *cap * sizeof *p->ref_lens);
        p->cand_lens = bb_realloc(p->cand_lens, *cap * sizeof *p->cand_lens);
        p->lines = bb_realloc(p->lines, *cap * sizeof *p->lines);
    }
    p->refs[p->n] = ref;
    p->ref_lens[p->n] = ref_len;
    p->cands[p->n] = cand;
    p->cand_lens[p->n] = cand_len;
    p->lines[p->n] = line;
    p->n++;
}

static char *copy_text(const char *s, size_t len) {
    char *t = bb_malloc(len + 1);
    memcpy(t, s, len);
    t[len] = '\0';
    return t;
}

static int check_utf8(const char *s, size_t len, const char *path, size_t line,
                      const char *field, bb_error *err) {
    size_t bad;
    if (uni_utf8_check(s, len, &bad)) return BB_OK;
    /* name the line the bad byte is on, for texts spanning several lines */
    for (size_t i = 0; i < bad; i++) line += s[i] == '\n';
    if (field)
        return bb_fail(err, "%s:%zu: field '%s': invalid UTF-8 (byte 0x%02x at offset %zu)", path,
                       line, field, (unsigned char)s[bad], bad);
    return bb_fail(err, "%s:%zu: invalid UTF-8 (byte 0x%02x at offset %zu)", path, line,
                   (unsigned char)s[bad], bad);
}

int text_read_all(const char *path, char **data, size_t *len, bb_error *err) {
    if (strcmp(path, "-") != 0) return bb_read_file(path, data, len, err);
    size_t cap = 1 << 16, n = 0;
    char *buf = bb_malloc(cap);
    for (;;) {
        if (cap - n < 4096) buf = bb_realloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, stdin);
        n += got;
        if (got == 0) break;
    }
    if (ferror(stdin)) {
        free(buf);
        return bb_fail(err, "<stdin>: read error: %s", strerror(errno));
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return BB_OK;
}

/* ------------------------------------------------------------------------------------ */
/* CSV                                                                                  */

typedef struct csv_state {
    const char *path;
    const char *ref_col, *cand_col;
    size_t line;             /* physical line being fed */
    size_t record_newlines;  /* newlines inside the current record's fields */
    size_t field;            /* index of the next field in the record */
    int header_done;
    size_t header_fields;
    long ref_idx, cand_idx;
    char *header_names;      /* "a, b, c" for the missing-column message */
    size_t header_names_len;
    char *ref, *cand;
    size_t ref_len, cand_len;
    text_pairs *out;
    size_t cap;
    bb_error *err;
    int failed;
} csv_state;

static void on_field(void *s, size_t len, void *data) {
    csv_state *st = data;
    if (st->failed) return;
    const char *text = s ? (const char *)s : "";
    for (size_t i = 0; i < len; i++) st->record_newlines += text[i] == '\n';
    size_t idx = st->field++;
    if (!st->header_done) {
        size_t k = len > 64 ? 64 : len;
        st->header_names = bb_realloc(st->header_names, st->header_names_len + k + 3);
        if (idx) {
            memcpy(st->header_names + st->header_names_len, ", ", 2);
            st->header_names_len += 2;
        }
        memcpy(st->header_names + st->header_names_len, text, k);
        st->header_names_len += k;
        st->header_names[st->header_names_len] = '\0';
        if (len == strlen(st->ref_col) && memcmp(text, st->ref_col, len) == 0 && st->ref_idx < 0)
            st->ref_idx = (long)idx;
        if (len == strlen(st->cand_col) && memcmp(text, st->cand_col, len) == 0 &&
            st->cand_idx < 0)
            st->cand_idx = (long)idx;
        return;
    }
    if ((long)idx == st->ref_idx) {
        st->ref = copy_text(text, len);
        st->ref_len = len;
    }
    if ((long)idx == st->cand_idx) {
        st->cand = copy_text(text, len);
        st->cand_len = len;
    }
}

static void on_record(int c, void *data) {
    (void)c;
    csv_state *st = data;
    if (st->failed) return;
    size_t start_line = st->line - st->record_newlines;
    size_t fields = st->field;
    st->field = 0;
    st->record_newlines = 0;
    if (!st->header_done) {
        st->header_done = 1;
        st->header_fields = fields;
        const char *missing = st->ref_idx < 0 ? st->ref_col : st->cand_idx < 0 ? st->cand_col : NULL;
        if (missing) {
            bb_fail(st->err, "%s:%zu: no column '%s' (columns: %s)", st->path, start_line, missing,
                    st->header_names ? st->header_names : "");
            st->failed = 1;
        }
        return;
    }
    if (fields != st->header_fields) {
        bb_fail(st->err, "%s:%zu: expected %zu fields as in the header, got %zu", st->path,
                start_line, st->header_fields, fields);
        st->failed = 1;
    } else if (check_utf8(st->ref, st->ref_len, st->path, start_line, st->ref_col, st->err) ||
               check_utf8(st->cand, st->cand_len, st->path, start_line, st->cand_col, st->err)) {
        st->failed = 1;
    } else {
        pairs_push(st->out, &st->cap, st->ref, st->ref_len, st->cand, st->cand_len, start_line);
        st->ref = st->cand = NULL;
        return;
    }
    free(st->ref);
    free(st->cand);
    st->ref = st->cand = NULL;
}

int text_pairs_load_csv(const char *path, const char *ref_col, const char *cand_col,
                        text_pairs *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    char *data;
    size_t len;
    if (text_read_all(path, &data, &len, err)) return BB_ERR;
    csv_state st = {0};
    st.path = strcmp(path, "-") == 0 ? "<stdin>" : path;
    st.ref_col = ref_col ? ref_col : "reference";
    st.cand_col = cand_col ? cand_col : "candidate";
    st.ref_idx = st.cand_idx = -1;
    st.out = out;
    st.err = err;
    struct csv_parser parser;
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        free(data);
        return bb_fail(err, "%s: cannot initialise the CSV parser", st.path);
    }
    size_t pos = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) pos = 3; /* byte-order mark */
    while (pos < len && !st.failed) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) + 1 : len;
        st.line++;
        if (csv_parse(&parser, data + pos, end - pos, on_field, on_record, &st) != end - pos) {
            if (!st.failed)
                bb_fail(err, "%s:%zu: malformed CSV: %s", st.path, st.line,
                        csv_strerror(csv_error(&parser)));
            st.failed = 1;
        }
        pos = end;
    }
    if (!st.failed && csv_fini(&parser, on_field, on_record, &st) != 0 && !st.failed) {
        bb_fail(err, "%s:%zu: malformed CSV: %s (unterminated quoted field?)", st.path, st.line,
                csv_strerror(csv_error(&parser)));
        st.failed = 1;
    }
    if (!st.failed && !st.header_done) {
        bb_fail(err, "%s: empty file (expected a header with '%s' and '%s')", st.path, st.ref_col,
                st.cand_col);
        st.failed = 1;
    }
    csv_free(&parser);
    free(st.ref);
    free(st.cand);
    free(st.header_names);
    free(data);
    if (st.failed) {
        text_pairs_free(out);
        return BB_ERR;
    }
    return BB_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Line files                                                                           */

typedef struct line_list {
    char **text;
    size_t *len;
    size_t n;
} line_list;

static int split_lines(char *data, size_t len, const char *path, line_list *out, bb_error *err) {
    size_t cap = 0;
    memset(out, 0, sizeof *out);
    size_t pos = 0, line = 0;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t k = end - pos;
        if (k > 0 && data[pos + k - 1] == '\r') k--;
        line++;
        if (check_utf8(data + pos, k, path, line, NULL, err)) {
            for (size_t i = 0; i < out->n; i++) free(out->text[i]);
            free(out->text);
            free(out->len);
            memset(out, 0, sizeof *out); /* the caller frees what is left: nothing */
            return BB_ERR;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 256;
            out->text = bb_realloc(out->text, cap * sizeof *out->text);
            out->len = bb_realloc(out->len, cap * sizeof *out->len);
        }
        out->text[out->n] = copy_text(data + pos, k);
        out->len[out->n++] = k;
        pos = end + 1;
    }
    return BB_OK;
}

int text_pairs_load_lines(const char *ref_path, const char *cand_path, text_pairs *out,
                          bb_error *err) {
    memset(out, 0, sizeof *out);
    if (strcmp(ref_path, "-") == 0 && strcmp(cand_path, "-") == 0)
        return bb_fail(err, "--refs and --cands cannot both read standard input");
    const char *paths[2] = {ref_path, cand_path};
    line_list lists[2] = {{0}, {0}};
    for (int side = 0; side < 2; side++) {
        char *data;
        size_t len;
        const char *name = strcmp(paths[side], "-") == 0 ? "<stdin>" : paths[side];
        if (text_read_all(paths[side], &data, &len, err)) goto fail;
        int rc = split_lines(data, len, name, &lists[side], err);
        free(data);
        if (rc) goto fail;
    }
    if (lists[0].n != lists[1].n) {
        bb_fail(err, "%s has %zu lines but %s has %zu (one reference per candidate line)",
                strcmp(ref_path, "-") == 0 ? "<stdin>" : ref_path, lists[0].n,
                strcmp(cand_path, "-") == 0 ? "<stdin>" : cand_path, lists[1].n);
        goto fail;
    }
    out->n = lists[0].n;
    out->refs = lists[0].text;
    out->ref_lens = lists[0].len;
    out->cands = lists[1].text;
    out->cand_lens = lists[1].len;
    out->lines = bb_malloc((out->n + 1) * sizeof *out->lines);
    for (size_t i = 0; i < out->n; i++) out->lines[i] = i + 1;
    return BB_OK;
fail:
    for (int side = 0; side < 2; side++) {
        for (size_t i = 0; i < lists[side].n; i++) free(lists[side].text[i]);
        free(lists[side].text);
        free(lists[side].len);
    }
    return BB_ERR;
}
