/* bench_explain_baselines — train + generate time and text metrics of the explanation
 * baselines retrieval, NRT and PETER with their default configs (issue #7):
 *
 *   synth_*  the default synthetic dataset (`beatbench data synth` defaults, 1,500
 *            explained pairs), default zero-shot split, seed 1; target <= 120 s each on
 *            2 cores (the brief's "well under 2 minutes");
 *   real_*   ../shared/datasets/$BB_BENCH_REAL (e.g. amazon; 3,000 pairs), run only when
 *            BB_BENCH_REAL is set (they take minutes); target <= 600 s each.
 * Each prints train and generation seconds, epochs, the best valid NLL per token, and
 * BLEU-4 (corpus, treebank, method1) and ROUGE-L F of the test generations against the
 * test references, via metrics/text_score.h. Threads: BB_THREADS or all cores. The CPU
 * seconds of all threads are printed beside the wall clock (the machine may be shared).
 *
 *   make bench FILTER=explain_baselines/synth
 *   BB_BENCH_REAL=amazon make bench FILTER=explain_baselines/real_peter
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "baselines/nrt.h"
#include "baselines/peter.h"
#include "baselines/retrieval.h"
#include "datasets/split.h"
#include "datasets/synth.h"
#include "metrics/text_score.h"
#include "models/base/bb_io.h"
#include "models/base/bb_time.h"
#include "tests/bench/benchhelp.h"

/* CPU seconds (user + system) of the process so far, all threads: on a shared machine the
 * wall clock also counts the other tenants. */
static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

typedef enum { M_RETRIEVAL, M_NRT, M_PETER } method;
static const char *const method_names[] = {"retrieval", "nrt", "peter"};

typedef struct fixture {
    bb_synth synth;
    bb_dataset data;
    bb_explanations ex;
    bb_split split;
    int is_synth;
    const char *domain;
} fixture;

static void fixture_free(fixture *f) {
    bb_split_free(&f->split);
    if (f->is_synth) {
        bb_synth_free(&f->synth);
    } else {
        bb_dataset_free(&f->data);
        bb_explanations_free(&f->ex);
    }
}

/* 1 ok, 0 skip, -1 error */
static int fixture_load(fixture *f, int real) {
    memset(f, 0, sizeof *f);
    bb_error err;
    const bb_explanations *ex;
    if (!real) {
        bb_synth_config sc;
        bb_synth_default_config(&sc);
        if (bb_synth_generate(&sc, &f->synth, &err) != BB_OK) {
            fprintf(stderr, "synth: %s\n", err.msg);
            return -1;
        }
        f->is_synth = 1;
        ex = &f->synth.expl;
        f->domain = "business";
    } else {
        const char *name = getenv("BB_BENCH_REAL");
        const char *shared = bb_bench_shared_dir();
        if (!name || !*name || !shared) return 0;
        char dir[1024], path[1200];
        snprintf(dir, sizeof dir, "%s/datasets/%s", shared, name);
        snprintf(path, sizeof path, "%s/explanations.csv", dir);
        if (bb_dataset_load(dir, &f->data, &err) != BB_OK ||
            bb_explanations_load(path, &f->ex, &err) != BB_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return -1;
        }
        ex = &f->ex;
        f->domain = strcmp(name, "amazon") == 0 ? "book" : "business";
    }
    if (bb_split_make(ex, BB_SPLIT_DEFAULT_ZERO_SHOT, 1, &f->split, &err) != BB_OK) {
        fprintf(stderr, "split: %s\n", err.msg);
        return -1;
    }
    return 1;
}

static int run_method(method mth, int real) {
    fixture f;
    int st = fixture_load(&f, real);
    if (st == 0) {
        bb_bench_note("skipped: set BB_BENCH_REAL=amazon|yelp|google (and ../shared)");
        return 0;
    }
    if (st < 0) return 1;
    bb_explain_task task = {f.is_synth ? &f.synth.data : &f.data,
                            f.is_synth ? &f.synth.expl : &f.ex,
                            &f.split,
                            f.domain,
                            1,
                            bb_bench_threads(),
                            NULL};
    bb_explain_output out;
    bb_error err;
    double t0 = bb_now(), c0 = cpu_seconds();
    int rc;
    if (mth == M_RETRIEVAL) {
        bb_retrieval_config c;
        bb_retrieval_default_config(&c);
        rc = bb_retrieval_explain(&task, &c, &out, &err);
    } else if (mth == M_NRT) {
        bb_nrt_config c;
        bb_nrt_default_config(&c);
        rc = bb_nrt_explain(&task, &c, &out, &err);
    } else {
        bb_peter_config c;
        bb_peter_default_config(&c);
        rc = bb_peter_explain(&task, &c, &out, &err);
    }
    double wall = bb_now() - t0, cpu = cpu_seconds() - c0;
    if (rc != BB_OK) {
        fprintf(stderr, "%s: %s\n", method_names[mth], err.msg);
        fixture_free(&f);
        return 1;
    }
    const char **refs = bb_malloc((out.n ? out.n : 1) * sizeof *refs);
    size_t *ref_lens = bb_malloc((out.n ? out.n : 1) * sizeof *ref_lens);
    size_t *cand_lens = bb_malloc((out.n ? out.n : 1) * sizeof *cand_lens);
    for (size_t k = 0; k < out.n; k++) {
        refs[k] = task.ex->rows[out.row[k]].explanation;
        ref_lens[k] = strlen(refs[k]);
        cand_lens[k] = strlen(out.generated[k]);
    }
    text_score_options so = text_score_defaults();
    so.threads = task.threads;
    text_score_result sr;
    int failed = 0;
    if (text_score_compute(refs, ref_lens, (const char *const *)out.generated, cand_lens, out.n,
                           &so, &sr, &err) != BB_OK) {
        fprintf(stderr, "score: %s\n", err.msg);
        failed = 1;
    } else {
        char name[64];
        snprintf(name, sizeof name, "%s train+generate", method_names[mth]);
        failed |= bb_bench_report(name, wall, "s", "<=", real ? 600.0 : 120.0);
        bb_bench_report("  cpu (all threads)", cpu, "s", NULL, 0);
        bb_bench_report("  train", out.train_seconds, "s", NULL, 0);
        bb_bench_report("  generate", out.generate_seconds, "s", NULL, 0);
        bb_bench_report("  BLEU-4", sr.bleu[3], "", NULL, 0);
        bb_bench_report("  ROUGE-L F", sr.rougeL.fmeasure, "", NULL, 0);
        bb_bench_report("  Distinct-2", sr.distinct2, "", NULL, 0);
        bb_bench_report("  USR", sr.usr, "", NULL, 0);
        bb_bench_note("%zu test pairs, %d threads, epochs %d (best %d), best valid NLL/token %.4f",
                      out.n, task.threads, out.epochs_run, out.best_epoch, out.best_valid_loss);
        for (size_t k = 0; k < out.n && k < 2; k++)
            bb_bench_note("  ref: %s\n      gen: %s", refs[k], out.generated[k]);
        text_score_result_free(&sr);
    }
    free(refs);
    free(ref_lens);
    free(cand_lens);
    bb_explain_output_free(&out);
    fixture_free(&f);
    return failed;
}

static int synth_retrieval(void) { return run_method(M_RETRIEVAL, 0); }
static int synth_nrt(void) { return run_method(M_NRT, 0); }
static int synth_peter(void) { return run_method(M_PETER, 0); }
static int real_retrieval(void) { return run_method(M_RETRIEVAL, 1); }
static int real_nrt(void) { return run_method(M_NRT, 1); }
static int real_peter(void) { return run_method(M_PETER, 1); }

const bb_bench bb_benches_explain_baselines[] = {
    {"synth_retrieval", synth_retrieval},
    {"synth_nrt", synth_nrt},
    {"synth_peter", synth_peter},
    {"real_retrieval", real_retrieval},
    {"real_nrt", real_nrt},
    {"real_peter", real_peter},
    {NULL, NULL},
};
