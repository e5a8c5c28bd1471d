/* text_pairs — reference/candidate pairs read from a CSV file or two line-aligned files.
 *
 *   text_pairs_load_csv(path, ref_col, cand_col, &pairs, &err)
 *       RFC 4180 CSV with a header row (libcsv; quoted fields may hold commas, quotes and
 *       newlines; a UTF-8 byte-order mark is skipped). ref_col / cand_col name the columns
 *       (NULL: "reference", "candidate").
 *   text_pairs_load_lines(ref_path, cand_path, &pairs, &err)
 *       one text per line ("\n" or "\r\n"); "-" reads standard input (for one of the two).
 *       Empty lines are empty texts. Both files must have the same number of lines.
 *   text_pairs_free(&pairs)
 * Every text is checked to be valid UTF-8. Errors name the file and line, e.g.
 *   "out.csv:14: field 'candidate': invalid UTF-8 (byte 0xff at offset 3)"
 *   "refs.txt has 100 lines but cands.txt has 99"
 * The pairs own their strings (NUL-terminated; texts may contain "\n" when read from CSV).
 */
#ifndef BB_TEXT_PAIRS_H
#define BB_TEXT_PAIRS_H

#include <stddef.h>

#include "models/base/bb_error.h"

typedef struct text_pairs {
    size_t n;
    char **refs, **cands;
    size_t *ref_lens, *cand_lens;
    size_t *lines; /* source line of each pair (CSV: first line of its record) */
} text_pairs;

int text_pairs_load_csv(const char *path, const char *ref_col, const char *cand_col,
                        text_pairs *out, bb_error *err);
int text_pairs_load_lines(const char *ref_path, const char *cand_path, text_pairs *out,
                          bb_error *err);
void text_pairs_free(text_pairs *p);

/* Reads a whole file, or standard input for "-"; *data is NUL-terminated, caller frees. */
int text_read_all(const char *path, char **data, size_t *len, bb_error *err);

#endif
