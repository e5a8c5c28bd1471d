/* Test runner: runs every registered suite (see testhelp.h), prints one line per
 * failure with file:line and values, and closes with "N passed, N failed[, N skipped]". */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "models/base/bb_io.h"
#include "tests/testhelp.h"
#include "tests/test_registry.h"

static int current_failed;
static int current_skipped;
static char tmpdir[256];

void bb_test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "    FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failed = 1;
}

void bb_test_skip(const char *why) {
    fprintf(stderr, "    skipped: %s\n", why);
    current_skipped = 1;
}

const char *bb_test_shared_dir(void) {
    static char path[1024];
    const char *env = getenv("BB_SHARED");
    snprintf(path, sizeof path, "%s", env && *env ? env : "../shared");
    return bb_path_exists(path) ? path : NULL;
}

const char *bb_test_tmpdir(void) {
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/bbtest.XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return tmpdir;
}

const char *bb_test_tmp_path(const char *name) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", bb_test_tmpdir(), name);
    return path;
}

static void cleanup_tmpdir(void) {
    if (tmpdir[0]) bb_remove_tree(tmpdir);
}

int main(int argc, char **argv) {
    const char *filter = NULL;
    int list_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            filter = argv[++i];
        } else if (strcmp(argv[i], "--list") == 0) {
            list_only = 1;
        } else {
            fprintf(stderr, "usage: %s [--filter SUBSTRING] [--list]\n", argv[0]);
            return 2;
        }
    }
    atexit(cleanup_tmpdir);
    int passed = 0, failed = 0, skipped = 0;
    for (const bb_suite_entry *s = bb_test_suites; s->name; s++) {
        for (const bb_test *t = s->tests; t->name; t++) {
            char full[256];
            snprintf(full, sizeof full, "%s/%s", s->name, t->name);
            if (filter && !strstr(full, filter)) continue;
            if (list_only) {
                printf("%s\n", full);
                continue;
            }
            current_failed = current_skipped = 0;
            fprintf(stderr, "  %s\n", full);
            t->fn();
            if (current_failed) {
                failed++;
                fprintf(stderr, "  FAILED %s\n", full);
            } else if (current_skipped) {
                skipped++;
            } else {
                passed++;
            }
        }
    }
    if (list_only) return 0;
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
