/* text_testutil — helpers shared by the text-metric tests (tests/test_text_*.c): the oracle
 * files under ../shared/oracles, JSON fixtures (cJSON), and running the CLI. */
#ifndef BB_TEXT_TESTUTIL_H
#define BB_TEXT_TESTUTIL_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "metrics/text_pairs.h"

/* SHARED/oracles/NAME in a static buffer, or NULL when the shared directory is absent. */
const char *tt_oracle_path(const char *name);
/* tests/fixtures/text/NAME relative to the repository root (tests run from there). */
const char *tt_fixture_path(const char *name);
/* Parses a whole JSON file; NULL (with a message on stderr) when unreadable. */
cJSON *tt_read_json(const char *path);
/* Number member of obj, or NaN when missing. */
double tt_json_number(const cJSON *obj, const char *key);
/* Writes text to a fresh file under the test's scratch directory; returns its path
 * (static buffer, valid until the next call). */
const char *tt_write_tmp(const char *name, const char *text, size_t len);
/* Runs "$BB_BIN ARGS < in > out 2> err" (in may be NULL); returns the exit code, or -1
 * without BB_BIN. out and err are paths under the scratch directory. */
int tt_run_cli(const char *args, const char *in, const char *out, const char *err);
/* The whole file as a NUL-terminated string (caller frees), "" when unreadable. */
char *tt_slurp(const char *path);

#endif
