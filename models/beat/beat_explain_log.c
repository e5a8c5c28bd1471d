/* beat_explain_log — per-epoch training log of the explanation methods (beat_explain_log.h). */
#include "models/beat/beat_explain_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/csv_reader.h"
#include "models/base/bb_io.h"
#include "models/base/bb_time.h"

void beat_train_log_add(beat_train_log *l, double train_loss, double valid_loss, double seconds) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->rows = bb_realloc(l->rows, (size_t)l->cap * sizeof *l->rows);
    }
    l->rows[l->n++] = (beat_epoch_row){train_loss, valid_loss, seconds};
}

void beat_train_log_free(beat_train_log *l) {
    free(l->rows);
    memset(l, 0, sizeof *l);
}

char *beat_train_log_csv(const beat_train_log *l, size_t *len) {
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);
    BB_ASSERT(fp, "train log: open_memstream failed");
    fputs(BEAT_TRAIN_LOG_HEADER, fp);
    for (int e = 0; e < l->n; e++) {
        const beat_epoch_row *r = &l->rows[e];
        fprintf(fp, "%d,%.17g,", e + 1, r->train_loss);
        if (isnan(r->valid_loss))
            fputs("nan", fp); /* a literal, not an empty field: field-splitting parsers keep the columns */
        else
            fprintf(fp, "%.17g", r->valid_loss);
        fprintf(fp, ",%.6f\n", r->seconds);
    }
    fclose(fp);
    *len = n;
    return buf;
}

int beat_train_log_write(const char *dir, const beat_train_log *l, bb_error *err) {
    size_t len;
    char *text = beat_train_log_csv(l, &len);
    int rc = bb_write_in_dir(dir, "train_log.csv", text, len, err);
    free(text);
    return rc;
}

typedef struct log_reader {
    const char *path;
    beat_train_log *log;
} log_reader;

/* A finite number (or, with nan_ok, "nan" or an empty field: NAN). */
static int parse_number(const log_reader *r, const bb_csv_record *rec, int k, int nan_ok,
                        double *out, bb_error *err) {
    static const char *const names[4] = {"epoch", "train_loss", "valid_loss", "seconds"};
    const char *f = rec->fields[k];
    if (nan_ok && (rec->lens[k] == 0 || strcmp(f, "nan") == 0)) {
        *out = NAN;
        return BB_OK;
    }
    char *end = NULL;
    *out = rec->lens[k] ? strtod(f, &end) : NAN;
    if (rec->lens[k] == 0 || *end || !isfinite(*out))
        return bb_fail(err, "%s:%zu: field '%s': expected a finite number, got \"%s\"", r->path,
                       rec->line, names[k], f);
    return BB_OK;
}

static int on_log_row(void *ctx, const bb_csv_record *rec, bb_error *err) {
    log_reader *r = ctx;
    static const char *const names[4] = {"epoch", "train_loss", "valid_loss", "seconds"};
    if (rec->index == 0) return bb_csv_expect_header(r->path, rec, names, 4, err);
    if (rec->n != 4)
        return bb_fail(err, "%s:%zu: expected 4 fields, got %zu", r->path, rec->line, rec->n);
    int epoch;
    if (bb_csv_parse_id(rec->fields[0], rec->lens[0], &epoch) != BB_OK || epoch != r->log->n + 1)
        return bb_fail(err, "%s:%zu: field 'epoch': expected %d, got \"%s\"", r->path, rec->line,
                       r->log->n + 1, rec->fields[0]);
    double v[3];
    for (int k = 1; k < 4; k++)
        if (parse_number(r, rec, k, k == 2, &v[k - 1], err) != BB_OK) return BB_ERR;
    beat_train_log_add(r->log, v[0], v[1], v[2]);
    return BB_OK;
}

int beat_train_log_read(const char *path, beat_train_log *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    log_reader r = {path, out};
    int rc = bb_csv_read_file(path, on_log_row, &r, err);
    if (rc != BB_OK) beat_train_log_free(out);
    return rc;
}
