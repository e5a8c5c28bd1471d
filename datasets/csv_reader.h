/* csv_reader — RFC 4180 records with physical line numbers, on top of libcsv.
 *
 * libcsv parses quoting (commas, doubled quotes and newlines inside quoted fields, CRLF or
 * LF line ends) but does not say where a record starts. bb_csv_read feeds it one physical
 * line at a time: a non-blank line fed while no record is open starts a record on that
 * line, and the record stays open (over quoted newlines) until libcsv reports its end.
 *
 * Strict RFC 4180: spaces around fields are kept (no trimming), a quote inside an unquoted
 * field or text after a closing quote is an error, and so is a file that ends inside a
 * quoted field. A leading UTF-8 byte order mark is skipped; blank lines are skipped.
 *
 *   static int on_record(void *ctx, const bb_csv_record *rec, bb_error *err) { ... }
 *   if (bb_csv_read_file(path, on_record, &ctx, err) != BB_OK) ...
 *
 * The callback returns BB_OK to go on or BB_ERR (having filled err) to stop the read;
 * bb_csv_read_file then returns BB_ERR with that message. Errors name "PATH:LINE: ...".
 * Ownership: rec and its fields are valid only during the callback.
 */
#ifndef BB_CSV_READER_H
#define BB_CSV_READER_H

#include <stddef.h>
#include <stdio.h>

#include "models/base/bb_error.h"

typedef struct bb_csv_record {
    const char *const *fields; /* n NUL-terminated fields (may also hold NUL bytes: use lens) */
    const size_t *lens;
    size_t n;
    size_t line;  /* 1-based physical line where the record starts */
    size_t index; /* 0-based record index; the header is record 0 */
} bb_csv_record;

typedef int (*bb_csv_record_fn)(void *ctx, const bb_csv_record *rec, bb_error *err);

/* Reads the whole file at path; an empty file (no record at all) is an error
 * "PATH:1: empty file". */
int bb_csv_read_file(const char *path, bb_csv_record_fn fn, void *ctx, bb_error *err);

/* Same on a buffer in memory; name is used in messages. */
int bb_csv_read_buffer(const char *name, const char *data, size_t len, bb_csv_record_fn fn,
                       void *ctx, bb_error *err);

/* Checks that rec (the header) is exactly the given column names, else fills err with
 * "PATH:LINE: wrong header: expected \"a,b\", got \"x,y\"". */
int bb_csv_expect_header(const char *path, const bb_csv_record *rec, const char *const *names,
                         size_t n_names, bb_error *err);

/* Parses a non-negative decimal integer below INT32_MAX (digits only, no sign
 * or spaces), so that id + 1 still fits; returns BB_ERR otherwise. */
int bb_csv_parse_id(const char *s, size_t len, int *out);

/* Fills err with "PATH:LINE: field 'NAME': expected a non-negative integer, got \"VALUE\""
 * (VALUE shortened and escaped for one line) and returns BB_ERR. */
int bb_csv_fail_id(bb_error *err, const char *path, size_t line, const char *field,
                   const char *value, size_t len);

/* Writes one field to fp, quoted when it holds a comma, quote, CR or LF (RFC 4180);
 * returns 0, or EOF on a write error. */
int bb_csv_write_field(FILE *fp, const char *s);

#endif
