/* cli — command-line conventions shared by every `beatbench` command (DESIGN §10).
 *
 * Exit codes: 0 success, 1 data/config error (one line "beatbench: FILE:LINE: message"),
 * 2 usage error. `--json` prints one JSON object on stdout; human text goes to stderr.
 *
 * Options are declared in a table and parsed by bb_opts_parse:
 *     int epochs = 10; const char *out = NULL; int json = 0;
 *     const bb_opt opts[] = {
 *         {"--epochs", BB_OPT_INT, &epochs, "N", "training epochs (default 10)"},
 *         {"--out", BB_OPT_STR, &out, "DIR", "run directory"},
 *         {"--json", BB_OPT_FLAG, &json, NULL, "print results as JSON"},
 *         {0}};
 *     int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
 * "--name value" and "--name=value" both work; integers and numbers are parsed strictly.
 * Every command gets --help from its table.
 */
#ifndef BB_CLI_H
#define BB_CLI_H

#include <stdio.h>

#include "models/base/bb_error.h"

#define BB_EXIT_OK 0
#define BB_EXIT_DATA 1
#define BB_EXIT_USAGE 2

typedef enum { BB_OPT_FLAG, BB_OPT_STR, BB_OPT_INT, BB_OPT_DOUBLE, BB_OPT_U64 } bb_opt_kind;

typedef struct bb_opt {
    const char *name;    /* "--epochs" */
    bb_opt_kind kind;
    void *dest;          /* int* (FLAG, INT), const char** (STR), double*, uint64_t* */
    const char *metavar; /* shown in help; NULL for flags */
    const char *help;
} bb_opt;

typedef struct bb_cmd_spec {
    const char *name;     /* "data synth" */
    const char *synopsis; /* "--out DIR [options]" */
    const char *summary;  /* one line */
    int min_positional, max_positional;
    const char *positional_help; /* e.g. "DIR  dataset directory"; may be NULL */
} bb_cmd_spec;

typedef struct bb_positionals {
    int count;
    char *values[8];
} bb_positionals;

/* Returns BB_EXIT_OK to go on, -1 after printing --help (caller exits 0), or BB_EXIT_USAGE
 * after printing a usage error. */
int bb_opts_parse(const bb_cmd_spec *spec, const bb_opt *opts, int argc, char **argv,
                  bb_positionals *pos);
void bb_opts_print_help(const bb_cmd_spec *spec, const bb_opt *opts, FILE *out);

/* Prints "beatbench: <msg>" and returns BB_EXIT_DATA. */
int bb_cli_fail(const bb_error *err);
/* Prints "beatbench: <cmd>: <msg>" plus a hint to --help and returns BB_EXIT_USAGE. */
int bb_cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Parses a comma-separated list of positive integers ("10,20,50") into out (max n_max). */
int bb_parse_int_list(const char *text, int *out, int n_max, int *n_out);

/* Prints a double with 17 significant digits as JSON (non-finite values print null). */
void bb_json_number(FILE *out, double v);
/* Prints a JSON string literal with escapes. */
void bb_json_string(FILE *out, const char *s);

#define BB_VERSION "0.1.0"

#endif
