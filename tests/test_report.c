/* Tests for `beatbench report` (issue #8) on the hand-made sweep directory
 * tests/fixtures/report/sweep (datasets synth: beat full/no_macro, id-prompt, peter, nrt,
 * pop, mf, lightgcn over seeds 1-3, nrt seed 1 failed; tiny: beat at codebook sizes 16, 64,
 * 256 over seeds 1-2):
 *   tables: means, sample stds, best marks and t-test p-values worked out by hand (closed
 *   forms of Student's t with 1 and 2 degrees of freedom); the paired bootstrap equals an
 *   independent matching of the generations by (uid, iid); Markdown lines and marks;
 *   ranking, codebook and cost tables; figure data files;
 *   errors: every malformed input names file:line:field, exits 1 with one line, and leaves
 *   the output directory as it was;
 *   figures: valid PNG (signature, IHDR) and SVG when gnuplot is present; without gnuplot
 *   (BB_GNUPLOT=/nonexistent, or PATH without it) the tables are written with one warning;
 *   reruns are byte-identical and keep foreign files of the output directory. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datasets/csv_reader.h"
#include "harness/report.h"
#include "harness/report_gnuplot.h"
#include "harness/report_signif.h"
#include "metrics/significance.h"
#include "metrics/text_score.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "tests/testhelp.h"
#include "tests/util/text_testutil.h"

#define FIXTURE "tests/fixtures/report/sweep"
#define NOT_FOUND "/nonexistent/gnuplot"

/* ------------------------------------------------------------------------------------------
 * Helpers */

/* One row of a report table CSV. */
typedef struct table_row {
    int found;
    char f[11][64]; /* dataset,method,variant,split,metric,mean,std,n,best,p_ttest,p_bootstrap */
} table_row;

typedef struct row_query {
    const char *method, *variant, *metric;
    table_row *out;
    size_t rows;
} row_query;

static int on_table_row(void *ctx, const bb_csv_record *rec, bb_error *err) {
    (void)err;
    row_query *q = ctx;
    if (rec->index == 0 || rec->n != 11) return BB_OK;
    q->rows++;
    if (strcmp(rec->fields[1], q->method) || strcmp(rec->fields[2], q->variant) ||
        strcmp(rec->fields[4], q->metric))
        return BB_OK;
    q->out->found = 1;
    for (int k = 0; k < 11; k++) snprintf(q->out->f[k], sizeof q->out->f[k], "%s", rec->fields[k]);
    return BB_OK;
}

/* Finds (method, variant, metric) in OUT/REL; returns the number of data rows. */
static size_t table_lookup(const char *out, const char *rel, const char *method,
                           const char *variant, const char *metric, table_row *row) {
    memset(row, 0, sizeof *row);
    row_query q = {method, variant, metric, row, 0};
    char *path = bb_path_join(out, rel);
    bb_error err;
    if (bb_csv_read_file(path, on_table_row, &q, &err) != BB_OK)
        fprintf(stderr, "    %s\n", err.msg);
    free(path);
    return q.rows;
}

#define EXPECT_ROW(out, rel, m, v, metric, row)                                            \
    do {                                                                                   \
        table_lookup(out, rel, m, v, metric, &(row));                                      \
        if (!(row).found) {                                                                \
            bb_test_fail(__FILE__, __LINE__, "%s: no row %s/%s/%s", rel, m, v, metric);    \
            return;                                                                        \
        }                                                                                  \
    } while (0)

/* Runs the report in-process; gnuplot NULL means "find it". */
static int run_report(const char *dir, const char *out, const char *gnuplot, bb_report_summary *sum,
                      bb_error *err) {
    const bb_report_options opt = {gnuplot, NULL};
    return bb_report_run(dir, out, &opt, sum, err);
}

/* A report of the fixture without figures (fast), into a fresh directory. */
static const char *fixture_report(const char *name) {
    static char out[1100];
    snprintf(out, sizeof out, "%s", bb_test_tmp_path(name));
    bb_remove_tree(out);
    bb_report_summary sum;
    bb_error err;
    int rc = run_report(FIXTURE, out, NOT_FOUND, &sum, &err);
    bb_report_summary_free(&sum);
    if (rc != BB_OK) {
        fprintf(stderr, "    report failed: %s\n", err.msg);
        return NULL;
    }
    return out;
}

static char *slurp_in(const char *dir, const char *rel) {
    char *path = bb_path_join(dir, rel);
    char *text = tt_slurp(path);
    free(path);
    return text;
}

static int file_in(const char *dir, const char *rel) {
    char *path = bb_path_join(dir, rel);
    int ok = bb_path_exists(path);
    free(path);
    return ok;
}

static double num(const char *s) { return *s ? strtod(s, NULL) : NAN; }

/* ------------------------------------------------------------------------------------------
 * Tables */

static void test_text_table_by_hand(void) {
    const char *out = fixture_report("text_table");
    TEST_TRUE(out != NULL);
    table_row r;
    /* 4 methods x 7 metrics, and nrt (seeds 2, 3 ok) with bleu4 and rougeL_f only */
    TEST_EQ_INT(table_lookup(out, "synth/text.csv", "beat", "full", "bleu4", &r), 30);
    TEST_TRUE(r.found);
    /* bleu4 of beat (full): 0.05, 0.06, 0.07 -> mean 0.06, sample std 0.01 */
    TEST_STR_EQ(r.f[0], "synth");
    TEST_STR_EQ(r.f[3], "test");
    TEST_NEAR(num(r.f[5]), 0.06, 1e-15);
    TEST_NEAR(num(r.f[6]), 0.01, 1e-15);
    TEST_STR_EQ(r.f[7], "3");
    TEST_STR_EQ(r.f[8], "1");
    TEST_STR_EQ(r.f[9], ""); /* the reference row is not tested against itself */
    TEST_STR_EQ(r.f[10], "");
    /* id-prompt: 0.04 three times; differences 0.01, 0.02, 0.03: t = 0.02 / (0.01 / sqrt 3)
     * = 2 sqrt 3 with 2 df, two-sided p = 1 - t / sqrt(t^2 + 2) = 1 - sqrt(6/7) */
    EXPECT_ROW(out, "synth/text.csv", "id-prompt", "id-prompt", "bleu4", r);
    TEST_NEAR(num(r.f[5]), 0.04, 1e-15);
    TEST_NEAR(num(r.f[6]), 0.0, 1e-15);
    TEST_STR_EQ(r.f[8], "0");
    TEST_NEAR(num(r.f[9]), 1.0 - sqrt(6.0 / 7.0), 1e-12);
    /* nrt, seeds 2 and 3: differences 0.0477 and 0.0577, t = 0.0527 / 0.005 = 10.54 with
     * 1 df (Cauchy): p = (2 / pi) atan(1 / t) */
    EXPECT_ROW(out, "synth/text.csv", "nrt", "default", "bleu4", r);
    TEST_STR_EQ(r.f[7], "2");
    TEST_NEAR(num(r.f[9]), 2.0 / M_PI * atan(1.0 / 10.54), 1e-10);
    /* distinct2: 0.5, 0.625, 0.75 and 0.75, 0.625, 0.5 tie on 0.625 (std 0.125): both best */
    EXPECT_ROW(out, "synth/text.csv", "beat", "full", "distinct2", r);
    TEST_STR_EQ(r.f[5], "0.625");
    TEST_STR_EQ(r.f[6], "0.125");
    TEST_STR_EQ(r.f[8], "1");
    EXPECT_ROW(out, "synth/text.csv", "beat", "no_macro", "distinct2", r);
    TEST_STR_EQ(r.f[8], "1");
    TEST_NEAR(num(r.f[9]), 1.0, 0); /* all differences 0: p = 1 */
    /* usr: id-prompt (0.98) beats beat (0.92) */
    EXPECT_ROW(out, "synth/text.csv", "id-prompt", "id-prompt", "usr", r);
    TEST_STR_EQ(r.f[8], "1");
    EXPECT_ROW(out, "synth/text.csv", "beat", "full", "usr", r);
    TEST_STR_EQ(r.f[8], "0");
    /* not a table column: len_mean; no ranking method in the text table */
    table_lookup(out, "synth/text.csv", "beat", "full", "len_mean", &r);
    TEST_TRUE(!r.found);
    table_lookup(out, "synth/text.csv", "pop", "default", "bleu4", &r);
    TEST_TRUE(!r.found);
}

/* The paired bootstrap recomputed independently: pairs matched by (uid, iid) with a
 * quadratic search, per-pair statistics from text_score, the same resampling seed. */
typedef struct gen_file {
    size_t n;
    int uid[16], iid[16];
    char *ref[16], *gen[16];
} gen_file;

static int on_gen(void *ctx, const bb_csv_record *rec, bb_error *err) {
    (void)err;
    gen_file *g = ctx;
    if (rec->index == 0 || g->n == 16) return BB_OK;
    g->uid[g->n] = atoi(rec->fields[0]);
    g->iid[g->n] = atoi(rec->fields[1]);
    g->ref[g->n] = bb_strdup(rec->fields[2]);
    g->gen[g->n] = bb_strdup(rec->fields[3]);
    g->n++;
    return BB_OK;
}

static int load_gen(const char *dataset, const char *method, const char *variant, int seed,
                    gen_file *g) {
    memset(g, 0, sizeof *g);
    bb_report_data d;
    bb_error err;
    if (bb_report_data_load(&d, FIXTURE, &err) != BB_OK) return 0;
    const bb_report_cell *c = bb_report_cell_find(&d, dataset, method, variant, (uint64_t)seed);
    char rel[200];
    snprintf(rel, sizeof rel, "%s/cells/%s/generations.csv", FIXTURE, c ? c->cell : "none");
    bb_report_data_free(&d);
    return c && bb_csv_read_file(rel, on_gen, g, &err) == BB_OK;
}

static void free_gen(gen_file *g) {
    for (size_t k = 0; k < g->n; k++) free(g->ref[k]), free(g->gen[k]);
}

/* p of corpus BLEU-4 (which = 0) or mean ROUGE-L F (which = 1), ref vs other at one seed. */
static double direct_bootstrap(const gen_file *a, const gen_file *b, uint64_t seed, int which) {
    const char *ra[16], *ca[16], *cb[16];
    size_t la[16], lca[16], lcb[16], n = 0;
    int used[16] = {0};
    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; j < b->n; j++)
            if (!used[j] && a->uid[i] == b->uid[j] && a->iid[i] == b->iid[j]) {
                used[j] = 1;
                ra[n] = a->ref[i], ca[n] = a->gen[i], cb[n] = b->gen[j];
                la[n] = strlen(ra[n]), lca[n] = strlen(ca[n]), lcb[n] = strlen(cb[n]);
                n++;
                break;
            }
    bb_rng rng;
    bb_rng_seed(&rng, seed, "report/bootstrap");
    const uint64_t boot_seed = bb_rng_next(&rng);
    signif_bootstrap res;
    bb_error err;
    if (which == 0) {
        bleu_stats sa[16], sb[16];
        double bleu[4];
        text_score_bleu(ra, la, ca, lca, n, TOKENIZER_TREEBANK, BLEU_SMOOTH_METHOD1, 1, bleu, NULL,
                        sa, NULL);
        text_score_bleu(ra, la, cb, lcb, n, TOKENIZER_TREEBANK, BLEU_SMOOTH_METHOD1, 1, bleu, NULL,
                        sb, NULL);
        if (signif_bootstrap_bleu(sa, sb, n, BLEU_SMOOTH_METHOD1, 1000, boot_seed, &res, &err))
            return NAN;
    } else {
        double fa[16], fb[16];
        rouge_prf means[4];
        double *pa[4] = {NULL, NULL, fa, NULL}, *pb[4] = {NULL, NULL, fb, NULL};
        text_score_rouge(ra, la, ca, lca, n, 0, 1, means, pa);
        text_score_rouge(ra, la, cb, lcb, n, 0, 1, means, pb);
        if (signif_bootstrap_mean(fa, fb, n, 1000, boot_seed, &res, &err)) return NAN;
    }
    return res.p_value;
}

static void test_bootstrap_matches_pairs_by_uid_iid(void) {
    const char *out = fixture_report("bootstrap");
    TEST_TRUE(out != NULL);
    /* id-prompt's generations come in reverse order, and at seed 2 lack one pair and hold
     * one more: the report must match pairs by (uid, iid) */
    double p_max[2] = {0, 0};
    for (int seed = 1; seed <= 3; seed++) {
        gen_file a, b;
        TEST_TRUE(load_gen("synth", "beat", "full", seed, &a));
        TEST_TRUE(load_gen("synth", "id-prompt", "id-prompt", seed, &b));
        for (int which = 0; which < 2; which++) {
            double p = direct_bootstrap(&a, &b, (uint64_t)seed, which);
            if (p > p_max[which]) p_max[which] = p;
        }
        free_gen(&a);
        free_gen(&b);
    }
    table_row r;
    EXPECT_ROW(out, "synth/text.csv", "id-prompt", "id-prompt", "bleu4", r);
    TEST_NEAR(num(r.f[10]), p_max[0], 0);
    EXPECT_ROW(out, "synth/text.csv", "id-prompt", "id-prompt", "rougeL_f", r);
    TEST_NEAR(num(r.f[10]), p_max[1], 0);
    /* the pairs split between the systems: neither significant nor degenerate */
    TEST_TRUE(p_max[0] > 0.05 && p_max[0] < 1 && p_max[1] > 0.05 && p_max[1] < 1);
    /* peter shares no word with any reference: every resample favours beat, p = 0 */
    EXPECT_ROW(out, "synth/text.csv", "peter", "default", "bleu4", r);
    TEST_STR_EQ(r.f[10], "0");
    /* only bleu4 and rougeL_f are bootstrapped */
    EXPECT_ROW(out, "synth/text.csv", "peter", "default", "bleu1", r);
    TEST_STR_EQ(r.f[10], "");
}

static void test_markdown_marks(void) {
    const char *out = fixture_report("markdown");
    TEST_TRUE(out != NULL);
    char *md = slurp_in(out, "synth/text.md");
    static const char *const want[] = {
        "### synth: explanation quality (test pairs)\n\n"
        "| method | seeds | BLEU-1 | BLEU-4 | ROUGE-1 F | ROUGE-2 F | ROUGE-L F | Distinct-2 | USR "
        "|\n"
        "|:--|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        "| beat (full) | 3 | **0.3100 ± 0.0100** | **0.0600 ± 0.0100** | **0.4100 ± 0.0100** | "
        "**0.1600 ± 0.0100** | **0.3400 ± 0.0100** | **0.6250 ± 0.1250** | 0.9200 ± 0.0200 |\n",
        /* bleu4 p = 0.074 (no mark); rougeL_f by t-test only; usr best */
        "| id-prompt | 3 | 0.2800 ± 0.0100 \\* | 0.0400 ± 0.0000 | 0.3800 ± 0.0100 \\* | "
        "0.1400 ± 0.0100 \\* | 0.3100 ± 0.0100 \\* | 0.4500 ± 0.0500 | **0.9800 ± 0.0100** \\* |\n",
        "| peter | 3 | 0.2100 ± 0.0100 \\* | 0.0150 ± 0.0050 \\*† |",
        "| nrt | 2 | – | 0.0123 ± 0.0000 † | – | – | 0.0123 ± 0.0000 \\*† | – | – |\n",
        "Marks compare each row with beat (full)",
        "† paired bootstrap over the test pairs (1000 resamples"};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (!strstr(md, want[k])) {
            bb_test_fail(__FILE__, __LINE__, "text.md lacks:\n%s\n--- text.md:\n%s", want[k], md);
            free(md);
            return;
        }
    free(md);
    /* report.md gathers every table */
    char *all = slurp_in(out, "report.md");
    int ok = strstr(all, "## synth\n") && strstr(all, "## tiny\n") &&
             strstr(all, "### tiny: codebook statistics (stage-1 tokens)") &&
             strstr(all, "No significance marks: no beat row with variant full or default.");
    free(all);
    TEST_TRUE(ok);
}

static void test_ranking_codebook_cost_tables(void) {
    const char *out = fixture_report("other_tables");
    TEST_TRUE(out != NULL);
    table_row r;
    /* 5 rows x (recall@10, recall@20, ndcg@20, hit@20, hr_micro@20) of split test */
    TEST_EQ_INT(table_lookup(out, "synth/ranking.csv", "lightgcn", "default", "recall@20", &r), 25);
    TEST_NEAR(num(r.f[5]), 0.12, 1e-15);
    TEST_STR_EQ(r.f[8], "1");
    TEST_TRUE(num(r.f[9]) < 0.05); /* differences -0.01 at every seed */
    EXPECT_ROW(out, "synth/ranking.csv", "beat", "full", "recall@10", r);
    TEST_NEAR(num(r.f[5]), 0.07, 1e-15);
    char *md = slurp_in(out, "synth/ranking.md");
    int ok = strstr(md, "| method | seeds | Recall@20 | NDCG@20 | Hit@20 | HR (micro)@20 |\n") &&
             !strstr(md, "Recall@10") && strstr(md, "Other cut-offs: ranking.csv.") &&
             strstr(md, "| lightgcn | 3 | **0.1200 ± 0.0100** \\* |");
    if (!ok) bb_test_fail(__FILE__, __LINE__, "ranking.md:\n%s", md);
    free(md);
    if (!ok) return;
    /* codebook: beat (full) has all four codebooks, no_macro only the micro ones */
    TEST_EQ_INT(table_lookup(out, "synth/codebook.csv", "beat", "full", "used/user_macro", &r), 18);
    TEST_STR_EQ(r.f[3], "tokens");
    TEST_NEAR(num(r.f[5]), 310, 1e-12);
    TEST_NEAR(num(r.f[6]), 10, 1e-12);
    TEST_STR_EQ(r.f[8], ""); /* no best mark, no tests */
    TEST_STR_EQ(r.f[9], "");
    table_lookup(out, "synth/codebook.csv", "beat", "no_macro", "used/user_macro", &r);
    TEST_TRUE(!r.found);
    /* cost, from costs.csv: nrt's failed seed 1 is absent (n = 2): seconds 52, 53; pop's
     * peak memory is unknown (-1) */
    EXPECT_ROW(out, "synth/cost.csv", "nrt", "default", "seconds", r);
    TEST_STR_EQ(r.f[7], "2");
    TEST_NEAR(num(r.f[5]), 52.5, 1e-12);
    TEST_NEAR(num(r.f[6]), sqrt(0.5), 1e-12);
    TEST_STR_EQ(r.f[3], "cost");
    TEST_STR_EQ(r.f[8], "");
    table_lookup(out, "synth/cost.csv", "pop", "default", "peak_rss_mb", &r);
    TEST_TRUE(!r.found);
    /* tiny keeps its cost as split cost rows of results.csv */
    EXPECT_ROW(out, "tiny/cost.csv", "beat", "stage1.codebook_size=64", "seconds", r);
    TEST_NEAR(num(r.f[5]), 5, 0);
}

/* The figure data is written even without gnuplot: means and stds over seeds per K. */
static void test_figure_data(void) {
    const char *out = fixture_report("figure_data");
    TEST_TRUE(out != NULL);
    char *dat = slurp_in(out, "tiny/figures/codebook_bleu4.dat");
    /* K=16: 0.02, 0.03 -> 0.025 +- sqrt(0.00005); K=256: 0.045, 0.055 -> 0.05 */
    double k16[3] = {0}, k256[3] = {0};
    const char *p16 = strstr(dat, "\n16 "), *p256 = strstr(dat, "\n256 ");
    int ok = p16 && p256 && sscanf(p16, "%lf %lf %lf", &k16[0], &k16[1], &k16[2]) == 3 &&
             sscanf(p256, "%lf %lf %lf", &k256[0], &k256[1], &k256[2]) == 3;
    free(dat);
    TEST_TRUE(ok);
    TEST_NEAR(k16[1], 0.025, 1e-15);
    TEST_NEAR(k16[2], sqrt(0.00005), 1e-15);
    TEST_NEAR(k256[1], 0.05, 1e-15);
    char *usage = slurp_in(out, "tiny/figures/codebook_usage.dat");
    /* user_macro at K=64: used = 48 + seed -> share (48 + 1.5) / 64 */
    double k, ppl, ppl_sd, share = 0;
    const char *p64 = strstr(usage, "\n64 ");
    ok = p64 && sscanf(p64, "%lf %lf %lf %lf", &k, &ppl, &ppl_sd, &share) == 4;
    free(usage);
    TEST_TRUE(ok);
    TEST_NEAR(share, 49.5 / 64.0, 1e-15);
    TEST_TRUE(file_in(out, "tiny/figures/codebook_bleu4.gp")); /* templates found */
    TEST_TRUE(!file_in(out, "tiny/figures/codebook_bleu4.png"));
    TEST_TRUE(!file_in(out, "synth/figures/codebook_bleu4.dat")); /* no codebook variants */
}

/* ------------------------------------------------------------------------------------------
 * Errors */

/* Copies the fixture into a scratch directory; returns its path (static buffer). */
static const char *copy_fixture(const char *name) {
    static char dir[1100];
    snprintf(dir, sizeof dir, "%s", bb_test_tmp_path(name));
    bb_remove_tree(dir);
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "cp -R %s %s", FIXTURE, dir);
    return system(cmd) == 0 ? dir : NULL;
}

/* Replaces line `line` (1-based) of DIR/REL with text. */
static int replace_line(const char *dir, const char *rel, int line, const char *text) {
    char *path = bb_path_join(dir, rel);
    char *data = tt_slurp(path);
    char *buf = bb_malloc(strlen(data) + strlen(text) + 2);
    size_t o = 0;
    int at = 1;
    for (const char *s = data; *s; s++) {
        if (at == line) {
            o += (size_t)sprintf(buf + o, "%s\n", text);
            while (*s && *s != '\n') s++;
            at++;
            if (!*s) break;
            continue;
        }
        buf[o++] = *s;
        if (*s == '\n') at++;
    }
    bb_error err;
    int rc = bb_write_file_atomic(path, buf, o, &err);
    free(buf), free(data), free(path);
    return rc == BB_OK;
}

typedef struct bad_case {
    const char *file;
    int line;
    const char *text;
    const char *message;
} bad_case;

static void test_malformed_inputs(void) {
    static const bad_case cases[] = {
        {"results.csv", 5, "synth,beat,full,1,test,bleu4,abc",
         "results.csv:5: field 'value': expected a finite number, got \"abc\""},
        {"results.csv", 5, "synth,beat,full,1,test,bleu4,nan", "results.csv:5: field 'value'"},
        {"results.csv", 1, "dataset,method,variant,seed,split,metric",
         "results.csv:1: wrong header"},
        {"results.csv", 7, "synth,beat,full,1,test", "results.csv:7: expected 7 fields, got 5"},
        {"results.csv", 9, "synth,beat,full,x1,test,bleu4,0.1",
         "results.csv:9: field 'seed': expected a non-negative integer, got \"x1\""},
        {"results.csv", 9, "synth,beat,full,1,train,bleu4,0.1", "results.csv:9: field 'split'"},
        {"results.csv", 9, "../x,beat,full,1,test,bleu4,0.1", "results.csv:9: field 'dataset'"},
        {"results.csv", 9, "synth,beat,full,1,test,bleu1,0.3",
         "results.csv:9: duplicate row for synth/beat/full seed 1 test bleu1 (first at "
         "results.csv:3)"},
        {"cells.csv", 3, "../../etc,synth,beat,full,1,ok", "cells.csv:3: field 'cell'"},
        {"cells.csv", 3, "0123456789abcdef,synth,beat,full,1,done", "cells.csv:3: field 'status'"},
        {"curves.csv", 2, "synth,beat,full,1,stage1,-1,loss,2", "curves.csv:2: field 'epoch'"},
        {"costs.csv", 2, "synth,beat,full,1,7c53ab757cb8d15f,1.5s,100",
         "costs.csv:2: field 'seconds': expected a finite number, got \"1.5s\""},
        {"curves.csv", 2, "synth,beat,full,1,stage3,1,loss,2", "curves.csv:2: field 'stage'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *dir = copy_fixture("bad");
        TEST_TRUE(dir != NULL);
        TEST_TRUE(replace_line(dir, cases[k].file, cases[k].line, cases[k].text));
        char out[1200];
        snprintf(out, sizeof out, "%s/report", dir);
        bb_report_summary sum;
        bb_error err;
        TEST_ERR_CONTAINS(run_report(dir, out, NOT_FOUND, &sum, &err), &err, cases[k].message);
        bb_report_summary_free(&sum);
        TEST_TRUE(strchr(err.msg, '\n') == NULL);
        TEST_TRUE(!bb_path_exists(out)); /* nothing written, not even a partial directory */
        char partial[1300];
        snprintf(partial, sizeof partial, "%s.partial.", out);
        TEST_TRUE(!bb_path_exists(partial));
    }
    /* a malformed generations.csv is found when the bootstrap reads it */
    const char *dir = copy_fixture("bad_gen");
    TEST_TRUE(dir != NULL);
    bb_report_data d;
    bb_error err;
    TEST_OK(bb_report_data_load(&d, dir, &err), &err);
    const bb_report_cell *c = bb_report_cell_find(&d, "synth", "id-prompt", "id-prompt", 2);
    TEST_TRUE(c != NULL);
    char rel[100];
    snprintf(rel, sizeof rel, "cells/%s/generations.csv", c->cell);
    bb_report_data_free(&d);
    TEST_TRUE(replace_line(dir, rel, 3, "7,x,\"a\",\"b\""));
    char out[1200];
    snprintf(out, sizeof out, "%s/report", dir);
    bb_report_summary sum;
    TEST_ERR_CONTAINS(run_report(dir, out, NOT_FOUND, &sum, &err), &err,
                      "generations.csv:3: field 'iid': expected a non-negative integer, got \"x\"");
    bb_report_summary_free(&sum);
    TEST_TRUE(!bb_path_exists(out));
}

static void test_cli_errors_leave_output_alone(void) {
    if (!getenv("BB_BIN")) TEST_SKIP("BB_BIN not set (run through make test)");
    const char *dir = copy_fixture("cli_bad");
    TEST_TRUE(dir != NULL);
    char sweep[1100];
    snprintf(sweep, sizeof sweep, "%s", dir);
    /* an earlier report in DIR2: a failed run must leave it as it was */
    char out[1200], args[4000];
    snprintf(out, sizeof out, "%s/old_report", sweep);
    TEST_TRUE(bb_mkdir_p(out, NULL) == BB_OK);
    char *old = bb_path_join(out, "keep.txt");
    TEST_TRUE(bb_write_file_atomic(old, "old\n", 4, NULL) == BB_OK);
    TEST_TRUE(replace_line(sweep, "results.csv", 12, "synth,beat,full,2,test,bleu4,0.06x"));
    char o[1100], e[1100];
    snprintf(o, sizeof o, "%s", bb_test_tmp_path("cli_bad.out"));
    snprintf(e, sizeof e, "%s", bb_test_tmp_path("cli_bad.err"));
    snprintf(args, sizeof args, "report %s --out %s", sweep, out);
    TEST_EQ_INT(tt_run_cli(args, NULL, o, e), 1);
    char *msg = tt_slurp(e);
    char want[1400];
    snprintf(want, sizeof want,
             "beatbench: %s/results.csv:12: field 'value': expected a finite number, got "
             "\"0.06x\"\n", sweep);
    int same = strcmp(msg, want) == 0;
    if (!same) bb_test_fail(__FILE__, __LINE__, "stderr \"%s\", expected \"%s\"", msg, want);
    free(msg);
    char *kept = tt_slurp(old);
    int kept_ok = strcmp(kept, "old\n") == 0 && !file_in(out, "synth");
    free(kept);
    free(old);
    if (!same) return;
    TEST_TRUE(kept_ok);
    /* no results.csv at all; a usage error without DIR */
    snprintf(args, sizeof args, "report %s/cells --out %s", sweep, out);
    TEST_EQ_INT(tt_run_cli(args, NULL, o, e), 1);
    msg = tt_slurp(e);
    int one_line = strstr(msg, "cells/results.csv: no such file") &&
                   strchr(msg, '\n') == msg + strlen(msg) - 1;
    free(msg);
    TEST_TRUE(one_line);
    TEST_EQ_INT(tt_run_cli("report", NULL, o, e), 2);
}

/* ------------------------------------------------------------------------------------------
 * Figures */

static int valid_png(const char *path, unsigned *width, unsigned *height) {
    unsigned char h[24];
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    size_t n = fread(h, 1, sizeof h, fp);
    fclose(fp);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n != 24 || memcmp(h, sig, 8) != 0) return 0;
    /* the first chunk is IHDR with 13 bytes of data: width, height (big-endian) ... */
    if (h[8] || h[9] || h[10] || h[11] != 13 || memcmp(h + 12, "IHDR", 4) != 0) return 0;
    *width = (unsigned)h[16] << 24 | (unsigned)h[17] << 16 | (unsigned)h[18] << 8 | h[19];
    *height = (unsigned)h[20] << 24 | (unsigned)h[21] << 16 | (unsigned)h[22] << 8 | h[23];
    return *width > 0 && *height > 0;
}

static int valid_svg(const char *path) {
    char *text = tt_slurp(path);
    const char *root = strstr(text, "<svg");
    size_t len = strlen(text);
    while (len && (text[len - 1] == '\n' || text[len - 1] == ' ')) len--;
    int ok = strncmp(text, "<?xml", 5) == 0 && root && (root[4] == ' ' || root[4] == '\n') &&
             len >= 6 && strncmp(text + len - 6, "</svg>", 6) == 0;
    free(text);
    return ok;
}

static void test_figures_are_png_and_svg(void) {
    char *gnuplot = bb_report_gnuplot_find(NULL);
    if (!gnuplot) TEST_SKIP("gnuplot not installed");
    free(gnuplot);
    char out[1100];
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("figures"));
    bb_report_summary sum;
    bb_error err;
    TEST_OK(run_report(FIXTURE, out, NULL, &sum, &err), &err);
    static const char *const want[] = {
        "synth/figures/variants_text", "synth/figures/curves",      "tiny/figures/codebook_bleu4",
        "tiny/figures/codebook_rougeL_f", "tiny/figures/codebook_recall_20",
        "tiny/figures/codebook_usage",    "tiny/figures/curves"};
    const size_t n_want = sizeof want / sizeof want[0];
    size_t n_fig = sum.figures.n, n_skip = sum.skipped.n, n_warn = sum.warnings.n;
    int reason_ok = n_skip == 5 && strcmp(sum.skipped.items[0], "synth/codebook_bleu4") == 0 &&
                    strcmp(sum.skipped_reasons.items[0], "no variant with a codebook_size") == 0 &&
                    strcmp(sum.skipped.items[4], "tiny/variants_text") == 0;
    if (n_warn) fprintf(stderr, "    warning: %s\n", sum.warnings.items[0]);
    bb_report_summary_free(&sum);
    TEST_EQ_INT(n_warn, 0);
    TEST_EQ_INT(n_fig, 2 * n_want);
    TEST_TRUE(reason_ok);
    for (size_t k = 0; k < n_want; k++) {
        char rel[200];
        unsigned w = 0, h = 0;
        snprintf(rel, sizeof rel, "%s.png", want[k]);
        char *png = bb_path_join(out, rel);
        int png_ok = valid_png(png, &w, &h);
        free(png);
        if (!png_ok) bb_test_fail(__FILE__, __LINE__, "%s is not a PNG", rel);
        if (!png_ok) return;
        TEST_TRUE(w >= 500 && h >= 300);
        snprintf(rel, sizeof rel, "%s.svg", want[k]);
        char *svg = bb_path_join(out, rel);
        int svg_ok = valid_svg(svg);
        free(svg);
        if (!svg_ok) bb_test_fail(__FILE__, __LINE__, "%s is not an SVG document", rel);
        if (!svg_ok) return;
        snprintf(rel, sizeof rel, "%s.png.part", want[k]);
        TEST_TRUE(!file_in(out, rel)); /* renamed into place */
    }
    /* the codebook figure has error bars on a log2 axis over the three sizes */
    char *gp = slurp_in(out, "tiny/figures/codebook_bleu4.gp");
    int gp_ok = strstr(gp, "sizes = '16 64 256'") && strstr(gp, "set logscale x 2") &&
                strstr(gp, "yerrorlines");
    free(gp);
    TEST_TRUE(gp_ok);
    char *md = slurp_in(out, "report.md");
    int md_ok =
        strstr(md, "![tiny/figures/codebook_usage](tiny/figures/codebook_usage.png)") != NULL;
    free(md);
    TEST_TRUE(md_ok);
}

/* Runs the CLI with an environment prefix (sh syntax); returns the exit code. */
static int run_cli_env(const char *env, const char *args, const char *out, const char *errf) {
    const char *bin = getenv("BB_BIN");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s %s > %s 2> %s", env, bin, args, out, errf);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static size_t count_lines(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_without_gnuplot_one_warning(void) {
    if (!getenv("BB_BIN")) TEST_SKIP("BB_BIN not set (run through make test)");
    static const char *const envs[] = {"BB_GNUPLOT=/nonexistent", "BB_GNUPLOT= PATH=/nonexistent"};
    for (int k = 0; k < 2; k++) {
        char out[1100], o[1100], e[1100], args[2400];
        snprintf(out, sizeof out, "%s", bb_test_tmp_path(k ? "nognuplot_path" : "nognuplot_env"));
        snprintf(o, sizeof o, "%s", bb_test_tmp_path("nognuplot.out"));
        snprintf(e, sizeof e, "%s", bb_test_tmp_path("nognuplot.err"));
        snprintf(args, sizeof args, "report %s --out %s --json", FIXTURE, out);
        TEST_EQ_INT(run_cli_env(envs[k], args, o, e), 0);
        char *err_text = tt_slurp(e);
        int one = count_lines(err_text) == 1 &&
                  strstr(err_text, "beatbench report: warning: gnuplot not found");
        if (!one) bb_test_fail(__FILE__, __LINE__, "stderr (%s): %s", envs[k], err_text);
        free(err_text);
        if (!one) return;
        cJSON *root = tt_read_json(o);
        TEST_TRUE(root != NULL);
        const cJSON *tables = cJSON_GetObjectItemCaseSensitive(root, "tables");
        const cJSON *figures = cJSON_GetObjectItemCaseSensitive(root, "figures");
        const cJSON *skipped = cJSON_GetObjectItemCaseSensitive(root, "skipped");
        const cJSON *warnings = cJSON_GetObjectItemCaseSensitive(root, "warnings");
        const cJSON *first_skip = cJSON_GetArrayItem(skipped, 0);
        int json_ok = cJSON_GetArraySize(tables) == 17 && cJSON_GetArraySize(figures) == 0 &&
                      cJSON_GetArraySize(skipped) == 5 && cJSON_GetArraySize(warnings) == 1 &&
                      cJSON_IsString(cJSON_GetObjectItemCaseSensitive(first_skip, "reason"));
        cJSON_Delete(root);
        TEST_TRUE(json_ok);
        TEST_TRUE(file_in(out, "synth/text.csv") && file_in(out, "synth/text.md") &&
                  file_in(out, "report.md"));
        TEST_TRUE(file_in(out, "tiny/figures/codebook_bleu4.dat"));
        TEST_TRUE(!file_in(out, "tiny/figures/codebook_bleu4.png"));
    }
}

static void test_rerun_identical_and_merge(void) {
    const char *first = fixture_report("rerun_a");
    TEST_TRUE(first != NULL);
    char a[1100];
    snprintf(a, sizeof a, "%s", first);
    /* a second report into an existing directory with a foreign file */
    char b[1100];
    snprintf(b, sizeof b, "%s", bb_test_tmp_path("rerun_b"));
    bb_remove_tree(b);
    TEST_TRUE(bb_mkdir_p(b, NULL) == BB_OK);
    char *foreign = bb_path_join(b, "notes.txt");
    TEST_TRUE(bb_write_file_atomic(foreign, "mine\n", 5, NULL) == BB_OK);
    bb_report_summary sum;
    bb_error err;
    TEST_OK(run_report(FIXTURE, b, NOT_FOUND, &sum, &err), &err);
    bb_report_summary_free(&sum);
    TEST_OK(run_report(FIXTURE, b, NOT_FOUND, &sum, &err), &err); /* and once more */
    bb_report_summary_free(&sum);
    char *kept = tt_slurp(foreign);
    int kept_ok = strcmp(kept, "mine\n") == 0;
    free(kept);
    free(foreign);
    TEST_TRUE(kept_ok);
    static const char *const files[] = {"synth/text.csv",
                                        "synth/text.md",
                                        "synth/ranking.csv",
                                        "synth/codebook.csv",
                                        "tiny/text.csv",
                                        "report.md",
                                        "tiny/figures/codebook_usage.dat",
                                        "synth/figures/curves.gp"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char *x = slurp_in(a, files[k]), *y = slurp_in(b, files[k]);
        int same = *x && strcmp(x, y) == 0;
        free(x);
        free(y);
        if (!same) bb_test_fail(__FILE__, __LINE__, "%s differs between runs", files[k]);
        if (!same) return;
    }
    char partial[1200];
    snprintf(partial, sizeof partial, "%s.partial.%ld", b, (long)getpid());
    TEST_TRUE(!bb_path_exists(partial));
}

/* gnuplot's exit status is checked, and so is its output; templates may be missing. */
static void test_gnuplot_failures_are_warnings(void) {
    if (!bb_path_exists("/bin/false") || !bb_path_exists("/bin/true"))
        TEST_SKIP("no /bin/false or /bin/true");
    static const char *const progs[] = {"/bin/false", "/bin/true"};
    static const char *const why[] = {"not drawn: gnuplot exited with status 1",
                                      "not drawn: gnuplot wrote no png output"};
    for (int k = 0; k < 2; k++) {
        char out[1100];
        snprintf(out, sizeof out, "%s", bb_test_tmp_path(k ? "gp_true" : "gp_false"));
        bb_report_summary sum;
        bb_error err;
        TEST_OK(run_report(FIXTURE, out, progs[k], &sum, &err), &err);
        size_t n_fig = sum.figures.n, n_warn = sum.warnings.n;
        int all = 1;
        for (size_t w = 0; w < n_warn; w++) all &= strstr(sum.warnings.items[w], why[k]) != NULL;
        if (!all) fprintf(stderr, "    %s\n", sum.warnings.items[0]);
        bb_report_summary_free(&sum);
        TEST_EQ_INT(n_fig, 0);
        TEST_EQ_INT(n_warn, 7); /* one per figure with data */
        TEST_TRUE(all);
        TEST_TRUE(file_in(out, "synth/text.csv") && file_in(out, "tiny/figures/curves.gp"));
        TEST_TRUE(!file_in(out, "tiny/figures/curves.png"));
        TEST_TRUE(!file_in(out, "tiny/figures/curves.png.part"));
    }
    /* no templates: one warning, data files only */
    char out[1100];
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("no_templates"));
    const bb_report_options opt = {"/bin/true", "/nonexistent/plots"};
    bb_report_summary sum;
    bb_error err;
    TEST_OK(bb_report_run(FIXTURE, out, &opt, &sum, &err), &err);
    int one = sum.warnings.n == 1 && strstr(sum.warnings.items[0], "plot templates not found");
    bb_report_summary_free(&sum);
    TEST_TRUE(one);
    TEST_TRUE(file_in(out, "tiny/figures/curves.dat") && !file_in(out, "tiny/figures/curves.gp"));
}

const bb_test bb_suite_report[] = {
    {"text_table_by_hand", test_text_table_by_hand},
    {"bootstrap_matches_pairs_by_uid_iid", test_bootstrap_matches_pairs_by_uid_iid},
    {"markdown_marks", test_markdown_marks},
    {"ranking_codebook_cost_tables", test_ranking_codebook_cost_tables},
    {"figure_data", test_figure_data},
    {"malformed_inputs", test_malformed_inputs},
    {"cli_errors_leave_output_alone", test_cli_errors_leave_output_alone},
    {"figures_are_png_and_svg", test_figures_are_png_and_svg},
    {"without_gnuplot_one_warning", test_without_gnuplot_one_warning},
    {"gnuplot_failures_are_warnings", test_gnuplot_failures_are_warnings},
    {"rerun_identical_and_merge", test_rerun_identical_and_merge},
    {NULL, NULL}};
