/* bb_error — recoverable error reporting shared by every module.
 *
 * A function that can fail returns BB_OK (0) or BB_ERR (-1) and fills a caller-owned
 * bb_error with one line that names the file, line and field where possible:
 *   "data/train.csv:12: field 'item': expected a non-negative integer, got \"x1\""
 * The CLI prints it as "beatbench: <msg>" and exits 1.
 *
 * Impossible states use BB_ASSERT, which stays on in release builds.
 */
#ifndef BB_ERROR_H
#define BB_ERROR_H

#include <stddef.h>

#define BB_OK 0
#define BB_ERR (-1)

typedef struct bb_error {
    char msg[1024];
} bb_error;

/* Formats msg into err (err may be NULL) and returns BB_ERR, so callers can write
 * `return bb_fail(err, "%s:%zu: ...", path, line);`. */
int bb_fail(bb_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prefixes an existing message, e.g. with the caller's context: "loading run: <old>". */
int bb_fail_prefix(bb_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void bb_error_clear(bb_error *err);

/* Aborts with file:line and a message telling what to fix. Never compiled out. */
#define BB_ASSERT(cond, ...)                                                                  \
    do {                                                                                      \
        if (!(cond)) bb_assert_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                  \
    } while (0)

void bb_assert_fail(const char *file, int line, const char *cond, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((noreturn, format(printf, 4, 5)))
#endif
    ;

#endif
