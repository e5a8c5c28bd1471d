/* benchhelp — the benchmark runner's interface (`make bench`).
 *
 * A file tests/bench/bench_<group>.c defines
 *     const bb_bench bb_benches_<group>[] = { {"name", fn}, ..., {NULL, NULL} };
 * Each function measures, prints its figures with bb_bench_report (as ratios against a
 * reference measured in the same run where possible, or against the target), and
 * returns 0, or 1 when a target is missed. Benchmarks needing ../shared data skip without it.
 */
#ifndef BB_BENCHHELP_H
#define BB_BENCHHELP_H

typedef struct bb_bench {
    const char *name;
    int (*fn)(void);
} bb_bench;

/* Prints "name  value unit  [target: op limit -> ok|MISSED]"; returns 1 when missed.
 * op is "<=" or ">=", or NULL for a figure without a target. */
int bb_bench_report(const char *name, double value, const char *unit, const char *op,
                    double limit);
void bb_bench_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
const char *bb_bench_shared_dir(void);
int bb_bench_threads(void);

#endif
