/* bb_error — see bb_error.h. */
#include "models/base/bb_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bb_fail(bb_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return BB_ERR;
}

int bb_fail_prefix(bb_error *err, const char *fmt, ...) {
    if (!err) return BB_ERR;
    char prefix[512];
    char old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Assembled by hand: the message is cut at the buffer's end on purpose. */
    size_t cap = sizeof err->msg, n = 0;
    for (const char *parts[3] = {prefix, ": ", old}, **p = parts; p < parts + 3; p++) {
        size_t len = strlen(*p);
        if (len > cap - 1 - n) len = cap - 1 - n;
        memcpy(err->msg + n, *p, len);
        n += len;
    }
    err->msg[n] = '\0';
    return BB_ERR;
}

void bb_error_clear(bb_error *err) {
    if (err) err->msg[0] = '\0';
}

void bb_assert_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
    fprintf(stderr, "beatbench: internal error at %s:%d: assertion '%s' failed: ", file, line,
            cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
