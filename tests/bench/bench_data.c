/* Benchmarks for datasets/ (`make bench FILTER=data`):
 *   yelp_load    train/valid/test.csv of ../shared/datasets/yelp (315k training pairs) with
 *                full validation and duplicate detection; target <= 0.5 s (issue #2)
 *   yelp_explanations_load, yelp_split   explanations.csv and split + leakage check (figures)
 *   synth_default  `data synth` at its default size, generation and atomic write; target
 *                <= 1 s (issue #2)
 * Each figure is the median of 5 runs. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "datasets/synth.h"
#include "datasets/train_text.h"
#include "models/base/bb_io.h"
#include "models/base/bb_time.h"
#include "tests/bench/benchhelp.h"

#define RUNS 5

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static int yelp_dir(char *buf, size_t cap) {
    const char *shared = bb_bench_shared_dir();
    if (!shared) return 0;
    snprintf(buf, cap, "%s/datasets/yelp", shared);
    return bb_path_exists(buf);
}

static int bench_yelp_load(void) {
    char dir[1024];
    if (!yelp_dir(dir, sizeof dir)) {
        bb_bench_note("skipped: ../shared/datasets/yelp not present");
        return 0;
    }
    double t[RUNS];
    size_t n_train = 0;
    for (int k = 0; k < RUNS; k++) {
        bb_dataset ds;
        bb_error err;
        double t0 = bb_now();
        if (bb_dataset_load(dir, &ds, &err) != BB_OK) {
            bb_bench_note("load failed: %s", err.msg);
            return 1;
        }
        t[k] = bb_now() - t0;
        n_train = ds.train.n;
        bb_dataset_free(&ds);
    }
    bb_bench_note("%zu training pairs plus valid and test", n_train);
    return bb_bench_report("yelp load (train+valid+test)", median(t, RUNS), "s", "<=", 0.5);
}

static int bench_yelp_explanations_and_split(void) {
    char dir[1024];
    if (!yelp_dir(dir, sizeof dir)) {
        bb_bench_note("skipped: ../shared/datasets/yelp not present");
        return 0;
    }
    char *path = bb_path_join(dir, "explanations.csv");
    double t_load[RUNS], t_split[RUNS];
    for (int k = 0; k < RUNS; k++) {
        bb_explanations ex;
        bb_error err;
        double t0 = bb_now();
        if (bb_explanations_load(path, &ex, &err) != BB_OK) {
            bb_bench_note("load failed: %s", err.msg);
            free(path);
            return 1;
        }
        double t1 = bb_now();
        bb_split s;
        int rc = bb_split_make(&ex, BB_SPLIT_DEFAULT_ZERO_SHOT, 1, &s, &err);
        if (rc == BB_OK) {
            rc = bb_leakage_check(&ex, &s, NULL, &err);
            bb_split_free(&s);
        }
        double t2 = bb_now();
        bb_explanations_free(&ex);
        if (rc != BB_OK) {
            bb_bench_note("split failed: %s", err.msg);
            free(path);
            return 1;
        }
        t_load[k] = t1 - t0;
        t_split[k] = t2 - t1;
    }
    free(path);
    bb_bench_report("yelp explanations.csv load", median(t_load, RUNS), "s", NULL, 0);
    bb_bench_report("yelp zero-shot split + leakage check", median(t_split, RUNS), "s", NULL, 0);
    return 0;
}

static int bench_synth_default(void) {
    char tmp[] = "/tmp/bbbench_synth.XXXXXX";
    if (!mkdtemp(tmp)) {
        bb_bench_note("cannot create a scratch directory");
        return 1;
    }
    char *out = bb_path_join(tmp, "synth");
    bb_synth_config cfg;
    bb_synth_default_config(&cfg);
    double t[RUNS];
    int rc = 0;
    for (int k = 0; k < RUNS && rc == 0; k++) {
        bb_synth s;
        bb_error err;
        double t0 = bb_now();
        if (bb_synth_generate(&cfg, &s, &err) != BB_OK || bb_synth_write(&s, out, &err) != BB_OK) {
            bb_bench_note("synth failed: %s", err.msg);
            rc = 1;
        }
        t[k] = bb_now() - t0;
        bb_synth_free(&s);
    }
    free(out);
    bb_remove_tree(tmp);
    if (rc) return rc;
    bb_bench_note("default size: %d users, %d items, %d interactions, %d explained", cfg.users,
                  cfg.items, cfg.interactions, cfg.explained);
    return bb_bench_report("synth default (generate + write)", median(t, RUNS), "s", "<=", 1.0);
}

const bb_bench bb_benches_data[] = {
    {"yelp_load", bench_yelp_load},
    {"yelp_explanations_and_split", bench_yelp_explanations_and_split},
    {"synth_default", bench_synth_default},
    {NULL, NULL},
};
