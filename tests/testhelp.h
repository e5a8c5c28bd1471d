/* testhelp — the tiny test harness (after redis's testhelp.h).
 *
 * A test file tests/test_<suite>.c defines named test functions and one table
 *     const bb_test bb_suite_<suite>[] = { {"name", fn}, ..., {NULL, NULL} };
 * The Makefile generates the registry from the file names, so adding a file is enough.
 * An assertion that fails prints file:line with both values and returns from the test.
 * The runner (tests/test_main.c) accepts --filter SUBSTRING and --list, and ends with
 *     N passed, N failed[, N skipped]
 * exiting non-zero on any failure.
 */
#ifndef BB_TESTHELP_H
#define BB_TESTHELP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/base/bb_error.h"

typedef struct bb_test {
    const char *name;
    void (*fn)(void);
} bb_test;

void bb_test_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void bb_test_skip(const char *why);
/* Directory of the shared data (env BB_SHARED, default ../shared); NULL if absent. */
const char *bb_test_shared_dir(void);
/* A fresh scratch directory for this test run, removed at exit. */
const char *bb_test_tmpdir(void);
/* Joins bb_test_tmpdir() and name into a static buffer valid until the next call. */
const char *bb_test_tmp_path(const char *name);

#define TEST_TRUE(cond)                                                                    \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            bb_test_fail(__FILE__, __LINE__, "expected true: %s", #cond);                  \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define TEST_EQ_INT(a, b)                                                                  \
    do {                                                                                   \
        long long bb_a_ = (long long)(a), bb_b_ = (long long)(b);                          \
        if (bb_a_ != bb_b_) {                                                              \
            bb_test_fail(__FILE__, __LINE__, "%s == %s: got %lld vs %lld", #a, #b, bb_a_,  \
                         bb_b_);                                                           \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define TEST_NEAR(a, b, tol)                                                               \
    do {                                                                                   \
        double bb_a_ = (double)(a), bb_b_ = (double)(b);                                   \
        if (!(fabs(bb_a_ - bb_b_) <= (tol))) {                                             \
            bb_test_fail(__FILE__, __LINE__, "%s ~ %s: got %.17g vs %.17g (diff %.3g > %g)", \
                         #a, #b, bb_a_, bb_b_, fabs(bb_a_ - bb_b_), (double)(tol));        \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define TEST_STR_EQ(a, b)                                                                  \
    do {                                                                                   \
        const char *bb_a_ = (a), *bb_b_ = (b);                                             \
        if (!bb_a_ || !bb_b_ || strcmp(bb_a_, bb_b_) != 0) {                               \
            bb_test_fail(__FILE__, __LINE__, "%s == %s: got \"%s\" vs \"%s\"", #a, #b,     \
                         bb_a_ ? bb_a_ : "(null)", bb_b_ ? bb_b_ : "(null)");              \
            return;                                                                        \
        }                                                                                  \
    } while (0)

/* Asserts that a call returning BB_OK/BB_ERR succeeded; prints the error message. */
#define TEST_OK(call, errp)                                                                \
    do {                                                                                   \
        if ((call) != BB_OK) {                                                             \
            bb_test_fail(__FILE__, __LINE__, "%s failed: %s", #call, (errp)->msg);         \
            return;                                                                        \
        }                                                                                  \
    } while (0)

/* Asserts that a call failed and that its message contains the given text. */
#define TEST_ERR_CONTAINS(call, errp, text)                                                \
    do {                                                                                   \
        (errp)->msg[0] = '\0';                                                             \
        if ((call) == BB_OK) {                                                             \
            bb_test_fail(__FILE__, __LINE__, "%s succeeded, expected an error with \"%s\"", \
                         #call, (text));                                                   \
            return;                                                                        \
        }                                                                                  \
        if (!strstr((errp)->msg, (text))) {                                                \
            bb_test_fail(__FILE__, __LINE__, "%s: message \"%s\" lacks \"%s\"", #call,      \
                         (errp)->msg, (text));                                             \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define TEST_SKIP(why)                                                                     \
    do {                                                                                   \
        bb_test_skip(why);                                                                 \
        return;                                                                            \
    } while (0)

#endif
