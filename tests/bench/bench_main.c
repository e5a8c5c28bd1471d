/* Benchmark runner for `make bench`: runs every registered group (see benchhelp.h),
 * optionally filtered, and prints a summary line of targets met and missed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_time.h"
#include "tests/bench/benchhelp.h"
#include "tests/bench/bench_registry.h"

static int targets_met, targets_missed;

int bb_bench_report(const char *name, double value, const char *unit, const char *op,
                    double limit) {
    if (!op) {
        printf("  %-44s %12.4g %s\n", name, value, unit);
        return 0;
    }
    int ok = strcmp(op, "<=") == 0 ? value <= limit : value >= limit;
    printf("  %-44s %12.4g %-8s target %s %g -> %s\n", name, value, unit, op, limit,
           ok ? "ok" : "MISSED");
    if (ok)
        targets_met++;
    else
        targets_missed++;
    return ok ? 0 : 1;
}

void bb_bench_note(const char *fmt, ...) {
    va_list ap;
    printf("  # ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

const char *bb_bench_shared_dir(void) {
    static char path[1024];
    const char *env = getenv("BB_SHARED");
    snprintf(path, sizeof path, "%s", env && *env ? env : "../shared");
    return bb_path_exists(path) ? path : NULL;
}

int bb_bench_threads(void) {
    const char *env = getenv("BB_THREADS");
    int n = env ? atoi(env) : 0;
    return n > 0 ? n : bb_num_cores();
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    int failures = 0;
    for (const bb_bench_group *g = bb_bench_groups; g->name; g++) {
        for (const bb_bench *b = g->benches; b->name; b++) {
            char full[256];
            snprintf(full, sizeof full, "%s/%s", g->name, b->name);
            if (filter && !strstr(full, filter)) continue;
            printf("%s\n", full);
            fflush(stdout);
            failures += b->fn();
            fflush(stdout);
        }
    }
    printf("bench: %d targets met, %d missed\n", targets_met, targets_missed);
    return failures ? 1 : 0;
}
