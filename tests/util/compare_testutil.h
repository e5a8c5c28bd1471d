/* compare_testutil — helpers shared by tests/test_compare.c (harness/golden) and
 * tests/test_compare_cli.c (`beatbench compare`): scratch files, fixture variants with one
 * line replaced, and running the command in-process with stdout/stderr captured. */
#ifndef BB_COMPARE_TESTUTIL_H
#define BB_COMPARE_TESTUTIL_H

#include <stddef.h>

#define CT_FIXTURES "tests/fixtures/compare/"

/* bb_test_tmp_path(name) copied into buf (that function's buffer is shared); returns buf. */
char *ct_tmp_path(char *buf, size_t cap, const char *name);
/* The whole file (caller frees); "" when unreadable. */
char *ct_slurp(const char *path);
/* Writes text to path atomically; BB_OK or BB_ERR. */
int ct_write_text(const char *path, const char *text);
/* text with its 1-based line `line` replaced by `with` (NULL deletes it); caller frees. */
char *ct_replace_line(const char *text, int line, const char *with);
/* The file `name` with line `line` replaced (or deleted), written to `as`. */
int ct_fixture_variant(const char *name, int line, const char *with, const char *as);
int ct_count_lines(const char *s);
/* Files named *.tmp.* in dir (an aborted atomic write leaves none); -1 when unreadable. */
int ct_temp_files_in(const char *dir);

typedef struct ct_cli_result {
    int rc;
    char *out, *err; /* owned: captured stdout and stderr */
} ct_cli_result;

/* Runs `beatbench compare ARGS...` (NULL-terminated) through bb_cli_main. */
ct_cli_result ct_run_compare(const char *const *args);
void ct_cli_result_free(ct_cli_result *r);

#define TEST_CONTAINS(hay, needle)                                                                 \
    do {                                                                                           \
        if (!strstr((hay), (needle))) {                                                            \
            bb_test_fail(__FILE__, __LINE__, "\"%s\" lacks \"%s\"", (hay), (needle));              \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#endif
