/* Benchmarks for the text metrics (`make bench FILTER=text`), on 3,000 pairs: the three
 * oracle pair files of ../shared/oracles concatenated (1,000 each).
 *   bleu4_corpus   corpus BLEU-4 including Treebank tokenisation (nltk 3.8 took 0.675 s on
 *                  this kind of machine); target <= 10 ms (issue #4)
 *   rouge_stem     ROUGE-1/2/L (and Lsum) with Porter stemming, including tokenisation
 *                  (rouge_score took 1.86 s); target <= 25 ms (issue #4)
 *   tokenize       the Treebank tokenizer alone, and whitespace BLEU-4 (figures)
 * Targets apply to the harness's thread count (BB_THREADS, default all cores; results do
 * not depend on it); the single-thread times are printed as figures beside them. Each time
 * is the fastest of 15 runs after one warm-up (the cost of the work itself: on a shared
 * machine slower runs measure the other tenants); the median is printed as a note. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/text_pairs.h"
#include "metrics/text_score.h"
#include "metrics/treebank.h"
#include "models/base/bb_time.h"
#include "tests/bench/benchhelp.h"

#define RUNS 15
#define NLTK_BLEU_SECONDS 0.675
#define ROUGE_SCORE_SECONDS 1.86

typedef struct corpus {
    text_pairs parts[3];
    size_t n, bytes;
    const char **refs, **cands;
    size_t *ref_lens, *cand_lens;
} corpus;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v; returns the fastest run and stores the median in *med. */
static double fastest(double *v, int n, double *med) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *med = v[n / 2];
    return v[0];
}

static void corpus_free(corpus *c) {
    for (int d = 0; d < 3; d++) text_pairs_free(&c->parts[d]);
    free(c->refs);
    free(c->cands);
    free(c->ref_lens);
    free(c->cand_lens);
}

/* 0 when the oracle files are missing (the caller skips). */
static int corpus_load(corpus *c) {
    memset(c, 0, sizeof *c);
    const char *shared = bb_bench_shared_dir();
    if (!shared) return 0;
    static const char *const names[3] = {"amazon", "yelp", "google"};
    for (int d = 0; d < 3; d++) {
        char path[1024];
        bb_error err;
        snprintf(path, sizeof path, "%s/oracles/pairs_%s.csv", shared, names[d]);
        if (text_pairs_load_csv(path, NULL, NULL, &c->parts[d], &err) != BB_OK) {
            bb_bench_note("%s", err.msg);
            corpus_free(c);
            return 0;
        }
        c->n += c->parts[d].n;
    }
    c->refs = malloc(c->n * sizeof *c->refs);
    c->cands = malloc(c->n * sizeof *c->cands);
    c->ref_lens = malloc(c->n * sizeof *c->ref_lens);
    c->cand_lens = malloc(c->n * sizeof *c->cand_lens);
    size_t k = 0;
    for (int d = 0; d < 3; d++)
        for (size_t i = 0; i < c->parts[d].n; i++, k++) {
            c->refs[k] = c->parts[d].refs[i];
            c->cands[k] = c->parts[d].cands[i];
            c->ref_lens[k] = c->parts[d].ref_lens[i];
            c->cand_lens[k] = c->parts[d].cand_lens[i];
            c->bytes += c->ref_lens[k] + c->cand_lens[k];
        }
    return 1;
}

static double time_bleu(const corpus *c, tokenizer_kind kind, int threads, double *bleu4,
                        double *med) {
    double t[RUNS], bleu[4];
    for (int k = -1; k < RUNS; k++) {
        double t0 = bb_now();
        text_score_bleu(c->refs, c->ref_lens, c->cands, c->cand_lens, c->n, kind,
                        BLEU_SMOOTH_METHOD1, threads, bleu, NULL, NULL, NULL);
        if (k >= 0) t[k] = bb_now() - t0;
    }
    *bleu4 = bleu[3];
    return fastest(t, RUNS, med);
}

static double time_rouge(const corpus *c, int threads, double *rouge_l, double *med) {
    double t[RUNS];
    rouge_prf means[4];
    for (int k = -1; k < RUNS; k++) {
        double t0 = bb_now();
        text_score_rouge(c->refs, c->ref_lens, c->cands, c->cand_lens, c->n, 1, threads, means,
                         NULL);
        if (k >= 0) t[k] = bb_now() - t0;
    }
    *rouge_l = means[2].fmeasure;
    return fastest(t, RUNS, med);
}

static int bench_bleu4_corpus(void) {
    corpus c;
    if (!corpus_load(&c)) {
        bb_bench_note("skipped: ../shared/oracles not present");
        return 0;
    }
    int threads = bb_bench_threads();
    double b1, bt, m1, mt;
    double t1 = time_bleu(&c, TOKENIZER_TREEBANK, 1, &b1, &m1);
    double tt = time_bleu(&c, TOKENIZER_TREEBANK, threads, &bt, &mt);
    bb_bench_note("%zu pairs, %.2f MB of text; corpus BLEU-4 %.6f (same with %d threads: %s)",
                  c.n, (double)c.bytes / 1e6, b1, threads, b1 == bt ? "yes" : "NO");
    bb_bench_note("median of %d runs: %.3f ms (1 thread), %.3f ms (%d threads)", RUNS, m1 * 1e3,
                  mt * 1e3, threads);
    bb_bench_report("BLEU-4 corpus + treebank, 1 thread", t1 * 1e3, "ms", NULL, 0);
    bb_bench_report("  speed-up vs nltk (0.675 s), 1 thread", NLTK_BLEU_SECONDS / t1, "x", NULL, 0);
    char name[96];
    snprintf(name, sizeof name, "BLEU-4 corpus + treebank, %d threads", threads);
    int missed = bb_bench_report(name, tt * 1e3, "ms", "<=", 10.0);
    snprintf(name, sizeof name, "  speed-up vs nltk (0.675 s), %d threads", threads);
    bb_bench_report(name, NLTK_BLEU_SECONDS / tt, "x", NULL, 0);
    corpus_free(&c);
    return missed || b1 != bt;
}

static int bench_rouge_stem(void) {
    corpus c;
    if (!corpus_load(&c)) {
        bb_bench_note("skipped: ../shared/oracles not present");
        return 0;
    }
    int threads = bb_bench_threads();
    double r1, rt, m1, mt;
    double t1 = time_rouge(&c, 1, &r1, &m1);
    double tt = time_rouge(&c, threads, &rt, &mt);
    bb_bench_note("median of %d runs: %.3f ms (1 thread), %.3f ms (%d threads)", RUNS, m1 * 1e3,
                  mt * 1e3, threads);
    bb_bench_note("ROUGE-1/2/L/Lsum with stemming on %zu pairs; mean ROUGE-L F %.6f (same with %d "
                  "threads: %s)", c.n, r1, threads, r1 == rt ? "yes" : "NO");
    bb_bench_report("ROUGE-1/2/L + stemming, 1 thread", t1 * 1e3, "ms", NULL, 0);
    bb_bench_report("  speed-up vs rouge_score (1.86 s), 1 thread", ROUGE_SCORE_SECONDS / t1, "x",
                    NULL, 0);
    char name[96];
    snprintf(name, sizeof name, "ROUGE-1/2/L + stemming, %d threads", threads);
    int missed = bb_bench_report(name, tt * 1e3, "ms", "<=", 25.0);
    snprintf(name, sizeof name, "  speed-up vs rouge_score (1.86 s), %d threads", threads);
    bb_bench_report(name, ROUGE_SCORE_SECONDS / tt, "x", NULL, 0);
    corpus_free(&c);
    return missed || r1 != rt;
}

static int bench_tokenize(void) {
    corpus c;
    if (!corpus_load(&c)) {
        bb_bench_note("skipped: ../shared/oracles not present");
        return 0;
    }
    treebank *tb = treebank_create();
    double t[RUNS];
    size_t tokens = 0;
    for (int k = -1; k < RUNS; k++) {
        double t0 = bb_now();
        tokens = 0;
        for (size_t i = 0; i < c.n; i++) {
            const text_span *s;
            tokens += treebank_tokenize(tb, c.refs[i], c.ref_lens[i], 1, &s);
            tokens += treebank_tokenize(tb, c.cands[i], c.cand_lens[i], 1, &s);
        }
        if (k >= 0) t[k] = bb_now() - t0;
    }
    treebank_free(tb);
    double med, tm = fastest(t, RUNS, &med);
    bb_bench_note("%zu texts, %zu tokens", 2 * c.n, tokens);
    bb_bench_report("treebank tokenizer, 1 thread", tm * 1e3, "ms", NULL, 0);
    bb_bench_report("treebank tokenizer throughput", (double)c.bytes / tm / 1e6, "MB/s", NULL, 0);
    double b4;
    bb_bench_report("BLEU-4 corpus + whitespace, 1 thread",
                    time_bleu(&c, TOKENIZER_WHITESPACE, 1, &b4, &med) * 1e3, "ms", NULL, 0);
    corpus_free(&c);
    return 0;
}

const bb_bench bb_benches_text[] = {
    {"bleu4_corpus", bench_bleu4_corpus},
    {"rouge_stem", bench_rouge_stem},
    {"tokenize", bench_tokenize},
    {NULL, NULL},
};
