/* Tests for harness/golden: reading results and golden files (cost rows skipped, one-line
 * errors naming file, line and field), joining and judging drifts against absolute
 * tolerances, worst-first ranking and messages naming the golden line, tolerance tables
 * (first match wins; the shipped table's defaults), and --write: kept tolerances, pattern
 * defaults, atomic on error, refused after failed sweep cells. Fixtures:
 * tests/fixtures/compare/ (results.csv is sweep-shaped with cost rows; golden.csv holds the
 * same numbers with hand-picked tolerances). The command line: tests/test_compare_cli.c. */
#include <stdlib.h>
#include <string.h>

#include "harness/golden.h"
#include "models/base/bb_io.h"
#include "tests/testhelp.h"
#include "tests/util/compare_testutil.h"

/* ------------------------------------------------------------------------------------ */
/* library                                                                              */

/* library                                                                              */

static void test_read_results_and_golden(void) {
    golden_table r, g;
    bb_error err;
    TEST_OK(golden_table_read(CT_FIXTURES "results.csv", GOLDEN_READ_RESULTS, &r, &err), &err);
    TEST_EQ_INT(r.n, 12); /* 15 rows less 3 of split cost */
    TEST_EQ_INT(r.skipped_cost, 3);
    TEST_EQ_INT(r.has_tolerance, 0);
    TEST_STR_EQ(r.rows[1].metric, "bleu4");
    TEST_EQ_INT(r.rows[1].line, 3);
    TEST_TRUE(isnan(r.rows[1].tolerance));
    TEST_NEAR(r.rows[1].value, 0.083371222911390527, 0);
    /* rows after the two cost rows keep their physical lines */
    TEST_STR_EQ(r.rows[7].method, "mf");
    TEST_EQ_INT(r.rows[7].line, 11);
    TEST_EQ_INT(r.rows[11].seed, 2);
    char key[256];
    golden_row_key(&r.rows[5], key, sizeof key);
    TEST_STR_EQ(key, "synth/beat/default/seed 1/tokens/perplexity/user_macro");
    TEST_OK(golden_table_read(CT_FIXTURES "golden.csv", GOLDEN_READ_GOLDEN, &g, &err), &err);
    TEST_EQ_INT(g.n, 12);
    TEST_EQ_INT(g.has_tolerance, 1);
    TEST_NEAR(g.rows[8].tolerance, 0.005, 0);
    TEST_NEAR(g.rows[0].tolerance, 0, 0);
    golden_table_free(&r);
    golden_table_free(&g);
    /* a golden file must carry tolerances; a results file read as golden does not */
    TEST_ERR_CONTAINS(golden_table_read(CT_FIXTURES "results.csv", GOLDEN_READ_GOLDEN, &r, &err),
                      &err, CT_FIXTURES "results.csv:1: wrong header");
}

static void test_malformed_rows_name_file_line_field(void) {
    golden_table t;
    bb_error err;
    TEST_ERR_CONTAINS(golden_table_read(CT_FIXTURES "bad_number.csv", GOLDEN_READ_GOLDEN, &t, &err),
                      &err,
                      CT_FIXTURES "bad_number.csv:3: field 'value': expected a finite number, got "
                                  "\"0.0833x\"");
    TEST_ERR_CONTAINS(
        golden_table_read(CT_FIXTURES "missing_column.csv", GOLDEN_READ_GOLDEN, &t, &err), &err,
        CT_FIXTURES "missing_column.csv:4: field 'tolerance': missing (the row has 7 fields, the "
                    "header 8)");
    char path[1024];
    ct_tmp_path(path, sizeof path, "malformed.csv");
    const char *head = "dataset,method,variant,seed,split,metric,value,tolerance\n";
    static const struct {
        const char *row, *message;
    } cases[] = {
        {"s,m,v,1,test,bleu4,0.5,-1e-6",
         ":2: field 'tolerance': expected a non-negative number, got \"-1e-6\""},
        {"s,m,v,1,test,bleu4,nan,1e-6", ":2: field 'value': expected a finite number, got \"nan\""},
        {"s,m,v,1,test,bleu4,inf,1e-6", ":2: field 'value': expected a finite number, got \"inf\""},
        {"s,m,v,1,test,bleu4, 0.5,1e-6",
         ":2: field 'value': expected a finite number, got \" 0.5\""},
        {"s,m,v,1,test,bleu4,0x1p-3,1e-6", ":2: field 'value': expected a finite number"},
        {"s,m,v,one,test,bleu4,0.5,1e-6", ":2: field 'seed': expected an integer, got \"one\""},
        {"s,m,v,1,test,,0.5,1e-6", ":2: field 'metric': expected a non-empty name, got \"\""},
        {"s,m,v,1,test,bleu4,0.5,1e-6,9", ":2: 9 fields, the header has 8"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s\n", head, cases[k].row);
        TEST_EQ_INT(ct_write_text(path, text), BB_OK);
        TEST_ERR_CONTAINS(golden_table_read(path, GOLDEN_READ_GOLDEN, &t, &err), &err,
                          cases[k].message);
        TEST_TRUE(strncmp(err.msg, path, strlen(path)) == 0);
    }
    /* results accept nan (judged later as a failure) but not other junk */
    TEST_EQ_INT(ct_write_text(path, "dataset,method,variant,seed,split,metric,value\n"
                                    "s,m,v,1,test,bleu4,nan\ns,m,v,1,test,bleu1,-nan\n"),
                BB_OK);
    TEST_OK(golden_table_read(path, GOLDEN_READ_RESULTS, &t, &err), &err);
    TEST_TRUE(isnan(t.rows[0].value) && isnan(t.rows[1].value));
    golden_table_free(&t);
}

/* Builds a report of the fixture golden against fixture results with line `line` of the
 * results replaced by `with` (NULL deletes it). */
static int report_with_results_line(int line, const char *with, golden_table *g, golden_table *r,
                                    golden_report *rep, bb_error *err) {
    char path[1024];
    ct_tmp_path(path, sizeof path, "results_variant.csv");
    if (ct_fixture_variant(CT_FIXTURES "results.csv", line, with, path) != BB_OK) return BB_ERR;
    if (golden_table_read(CT_FIXTURES "golden.csv", GOLDEN_READ_GOLDEN, g, err) != BB_OK)
        return BB_ERR;
    if (golden_table_read(path, GOLDEN_READ_RESULTS, r, err) != BB_OK) return BB_ERR;
    return golden_compare(g, r, rep, err);
}

static void test_compare_judges_each_row(void) {
    golden_table g, r;
    golden_report rep;
    bb_error err;
    /* mf seed 1 test recall@20 has tolerance 0.005: +0.004 is within, and the golden
     * line 10 of that row is what the report points at */
    TEST_OK(report_with_results_line(12, "synth,mf,default,1,test,recall@20,0.18108333333333334",
                                     &g, &r, &rep, &err),
            &err);
    TEST_EQ_INT(rep.compared, 12);
    TEST_EQ_INT(rep.within, 12);
    TEST_EQ_INT(rep.same, 11);
    TEST_EQ_INT(rep.beyond + rep.missing + rep.extra + rep.nan, 0);
    TEST_TRUE(!golden_report_failed(&rep));
    const golden_entry *e = &rep.entries[8];
    TEST_EQ_INT(e->status, GOLDEN_WITHIN);
    TEST_EQ_INT(e->golden->line, 10);
    TEST_EQ_INT(e->actual->line, 12);
    TEST_NEAR(e->drift, 0.004, 1e-15);
    TEST_NEAR(e->ratio, 0.8, 1e-12);
    golden_report_free(&rep);
    golden_table_free(&g);
    golden_table_free(&r);

    /* dead_codes has tolerance 0: any change is beyond, with an infinite ratio */
    TEST_OK(report_with_results_line(8, "synth,beat,default,1,tokens,dead_codes/user_macro,4", &g,
                                     &r, &rep, &err),
            &err);
    TEST_EQ_INT(rep.beyond, 1);
    TEST_TRUE(golden_report_failed(&rep));
    TEST_EQ_INT(rep.entries[6].status, GOLDEN_BEYOND);
    TEST_TRUE(isinf(rep.entries[6].ratio));
    TEST_NEAR(rep.entries[6].drift, 1, 0);
    golden_report_free(&rep);
    golden_table_free(&g);
    golden_table_free(&r);

    /* a deleted row is missing, a renamed one missing plus extra, nan is a failure */
    TEST_OK(report_with_results_line(2, "synth,beat,default,1,test,n_pairs,40", &g, &r, &rep, &err),
            &err);
    TEST_EQ_INT(rep.missing, 1);
    TEST_EQ_INT(rep.extra, 1);
    TEST_EQ_INT(rep.entries[0].status, GOLDEN_MISSING);
    TEST_EQ_INT(rep.entries[12].status, GOLDEN_EXTRA);
    TEST_STR_EQ(rep.entries[12].actual->metric, "n_pairs");
    golden_report_free(&rep);
    golden_table_free(&g);
    golden_table_free(&r);
    TEST_OK(
        report_with_results_line(4, "synth,beat,default,1,test,rougeL_f,nan", &g, &r, &rep, &err),
        &err);
    TEST_EQ_INT(rep.nan, 1);
    TEST_EQ_INT(rep.beyond, 1);
    TEST_EQ_INT(rep.entries[2].status, GOLDEN_NAN);
    TEST_TRUE(golden_report_failed(&rep));
    golden_report_free(&rep);
    golden_table_free(&g);
    golden_table_free(&r);
    /* an extra row alone only warns; an extra NaN row fails */
    TEST_OK(
        report_with_results_line(16, "synth,pop,default,1,test,recall@20,nan", &g, &r, &rep, &err),
        &err);
    TEST_EQ_INT(rep.extra, 1);
    TEST_EQ_INT(rep.nan, 1);
    TEST_TRUE(golden_report_failed(&rep));
    golden_report_free(&rep);
    golden_table_free(&g);
    golden_table_free(&r);
}

static void test_compare_rejects_duplicate_keys(void) {
    golden_table g, r;
    golden_report rep;
    bb_error err;
    char path[1024];
    TEST_ERR_CONTAINS(
        report_with_results_line(16, "synth,mf,default,2,test,recall@20,0.5", &g, &r, &rep, &err),
        &err,
        "results_variant.csv:16: duplicate row for "
        "synth/mf/default/seed 2/test/recall@20 (first at line 15)");
    golden_table_free(&g);
    golden_table_free(&r);
    ct_tmp_path(path, sizeof path, "dup_golden.csv");
    TEST_EQ_INT(
        ct_fixture_variant(CT_FIXTURES "golden.csv", 13, "synth,beat,default,1,test,n,40,0", path),
        BB_OK);
    TEST_OK(golden_table_read(path, GOLDEN_READ_GOLDEN, &g, &err), &err);
    TEST_OK(golden_table_read(CT_FIXTURES "results.csv", GOLDEN_READ_RESULTS, &r, &err), &err);
    TEST_ERR_CONTAINS(golden_compare(&g, &r, &rep, &err), &err,
                      "dup_golden.csv:13: duplicate row for synth/beat/default/seed 1/test/n "
                      "(first at line 2)");
    golden_table_free(&g);
    golden_table_free(&r);
}

static void test_ranking_worst_first(void) {
    golden_table g, r;
    golden_report rep;
    bb_error err;
    char rpath[1024];
    ct_tmp_path(rpath, sizeof rpath, "ranked.csv");
    /* drifts: bleu4 +5e-7 (ratio 0.5), rougeL_f +3e-6 (ratio 3), mf s1 test recall +1e-3
     * (ratio 0.2, largest |drift|), ndcg s2 deleted (missing, first) */
    char *text = ct_slurp(CT_FIXTURES "results.csv");
    char *a = ct_replace_line(text, 3, "synth,beat,default,1,test,bleu4,0.083371722911390522");
    char *b = ct_replace_line(a, 4, "synth,beat,default,1,test,rougeL_f,0.31416226535897931");
    char *c = ct_replace_line(b, 12, "synth,mf,default,1,test,recall@20,0.17808333333333334");
    char *d = ct_replace_line(c, 16, NULL);
    TEST_EQ_INT(ct_write_text(rpath, d), BB_OK);
    free(text), free(a), free(b), free(c), free(d);
    TEST_OK(golden_table_read(CT_FIXTURES "golden.csv", GOLDEN_READ_GOLDEN, &g, &err), &err);
    TEST_OK(golden_table_read(rpath, GOLDEN_READ_RESULTS, &r, &err), &err);
    TEST_OK(golden_compare(&g, &r, &rep, &err), &err);
    size_t n = 0;
    size_t *rank = golden_report_ranked(&rep, &n);
    TEST_EQ_INT(n, 4);
    TEST_EQ_INT(rep.entries[rank[0]].status, GOLDEN_MISSING);
    TEST_STR_EQ(rep.entries[rank[0]].golden->metric, "ndcg@20");
    TEST_STR_EQ(rep.entries[rank[1]].golden->metric, "rougeL_f");
    TEST_STR_EQ(rep.entries[rank[2]].golden->metric, "bleu4");
    TEST_STR_EQ(rep.entries[rank[3]].golden->metric, "recall@20");
    char msg[1024];
    golden_entry_message(&rep.entries[rank[1]], &g, &r, msg, sizeof msg);
    TEST_STR_EQ(msg, CT_FIXTURES "golden.csv:4: synth/beat/default/seed 1/test/rougeL_f: "
                                 "0.3141622653589793 vs golden 0.3141592653589793 "
                                 "(drift +3e-06 > tolerance 1e-06)");
    golden_entry_message(&rep.entries[rank[0]], &g, &r, msg, sizeof msg);
    TEST_TRUE(strstr(msg, "golden.csv:13: synth/mf/default/seed 2/test/ndcg@20: golden "
                          "0.08771929824561403 missing from ") != NULL);
    free(rank);
    golden_report_free(&rep);
    golden_table_free(&g);
    golden_table_free(&r);
}

static void test_format_double_shortest_roundtrip(void) {
    char buf[40];
    golden_format_double(0.1, buf, sizeof buf);
    TEST_STR_EQ(buf, "0.1");
    golden_format_double(1e-6, buf, sizeof buf);
    TEST_STR_EQ(buf, "1e-06");
    golden_format_double(40, buf, sizeof buf);
    TEST_STR_EQ(buf, "40");
    golden_format_double(1.0 / 3.0, buf, sizeof buf);
    TEST_STR_EQ(buf, "0.3333333333333333");
    golden_format_double(0.1 + 0.2, buf, sizeof buf); /* needs all 17 digits */
    TEST_STR_EQ(buf, "0.30000000000000004");
    golden_format_double(NAN, buf, sizeof buf);
    TEST_STR_EQ(buf, "nan");
}

static void test_tolerance_table_first_match_wins(void) {
    golden_tolerances t;
    bb_error err;
    TEST_OK(golden_tolerances_parse("t.json",
                                    "{\"_note\": \"x\",\n \"bleu4\": 1e-3,\n \"bleu*\": 1e-6,\n"
                                    " \"perplexity/*\": 1e-4, \"*\": 0}",
                                    &t, &err),
            &err);
    TEST_EQ_INT(t.n, 4);
    TEST_EQ_INT(golden_tolerances_match(&t, "bleu4"), 0);
    TEST_EQ_INT(golden_tolerances_match(&t, "bleu1"), 1);
    TEST_EQ_INT(golden_tolerances_match(&t, "perplexity/user_micro"), 2);
    TEST_EQ_INT(golden_tolerances_match(&t, "recall@20"), 3);
    TEST_EQ_INT(t.lines[1], 3);
    golden_tolerances_free(&t);
    /* reversed order: the general pattern shadows the specific one */
    TEST_OK(golden_tolerances_parse("t.json", "{\"bleu*\": 1e-6, \"bleu4\": 1e-3}", &t, &err),
            &err);
    TEST_EQ_INT(golden_tolerances_match(&t, "bleu4"), 0);
    TEST_EQ_INT(golden_tolerances_match(&t, "rouge1_f"), -1);
    golden_tolerances_free(&t);
    TEST_ERR_CONTAINS(golden_tolerances_parse("t.json", "{\"a\": 1,\n\"b\": \"1e-6\"}", &t, &err),
                      &err, "t.json:2: key 'b': expected a non-negative number");
    TEST_ERR_CONTAINS(golden_tolerances_parse("t.json", "{\n\n\"b\": -1}", &t, &err), &err,
                      "t.json:3: key 'b': expected a non-negative number");
    TEST_ERR_CONTAINS(golden_tolerances_parse("t.json", "{\"_c\": 3}", &t, &err), &err,
                      "t.json:1: key '_c': keys starting with '_' are comments");
    TEST_ERR_CONTAINS(golden_tolerances_parse("t.json", "{\"a\": 1,\n \"a\": 2}", &t, &err), &err,
                      "t.json:2: key 'a': pattern repeated (first at line 1)");
    TEST_ERR_CONTAINS(golden_tolerances_parse("t.json", "{\"a\": 1,\n\n \"b\" 2}", &t, &err), &err,
                      "t.json:3: invalid JSON");
    TEST_ERR_CONTAINS(golden_tolerances_parse("t.json", "{\"_only\": \"comments\"}", &t, &err),
                      &err, "no tolerance patterns");
    TEST_ERR_CONTAINS(golden_tolerances_parse("t.json", "[1e-6]", &t, &err), &err,
                      "t.json:1: expected a JSON object");
}

static void test_shipped_tolerance_table(void) {
    golden_tolerances t;
    bb_error err;
    TEST_OK(golden_tolerances_load("harness/configs/ci/tolerances.json", &t, &err), &err);
    /* counts exact, float32-vector metrics looser, scale-aware slack elsewhere */
    static const struct {
        const char *metric;
        double tol;
    } want[] = {{"n", 0},
                {"used/item_micro", 0},
                {"dead_codes/user_macro", 0},
                {"bleu4", 1e-6},
                {"rougeLsum_f", 1e-6},
                {"recall@20", 1e-6},
                {"hr_micro@50", 1e-6},
                {"perplexity/user_micro", 1e-4},
                {"len_mean", 1e-5},
                {"bertscore_f", 1e-5},
                {"usr", 1e-6},
                {"something_new", 1e-6}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int m = golden_tolerances_match(&t, want[k].metric);
        TEST_TRUE(m >= 0);
        TEST_NEAR(t.values[m], want[k].tol, 0);
    }
    golden_tolerances_free(&t);
}

/* ------------------------------------------------------------------------------------ */
/* writing                                                                              */

static void test_write_keeps_tolerances_and_applies_defaults(void) {
    char gpath[1024];
    ct_tmp_path(gpath, sizeof gpath, "golden/written.csv");
    bb_error err;
    TEST_OK(bb_mkdir_p(bb_test_tmp_path("golden"), &err), &err);
    /* old file: bleu4 hand-tuned to 0.002, a row the results no longer have, and
     * no rows for the mf seed-2 metrics */
    const char *old = "dataset,method,variant,seed,split,metric,value,tolerance\n"
                      "synth,beat,default,1,test,bleu4,0.5,0.002\n"
                      "synth,beat,default,1,test,bleu1,0.9,1e-06\n"
                      "synth,mf,default,1,test,recall@20,0.17,0.005\n";
    TEST_EQ_INT(ct_write_text(gpath, old), BB_OK);
    ct_cli_result res = ct_run_compare(
        (const char *const[]){"--results", CT_FIXTURES "results.csv", "--golden", gpath, "--write",
                              "--tolerances", CT_FIXTURES "tolerances.json", NULL});
    TEST_EQ_INT(res.rc, 0);
    TEST_CONTAINS(res.out, "12 rows (2 tolerances kept, 10 from " CT_FIXTURES "tolerances.json, "
                           "1 old rows dropped)");
    ct_cli_result_free(&res);
    golden_table g, r;
    TEST_OK(golden_table_read(gpath, GOLDEN_READ_GOLDEN, &g, &err), &err);
    TEST_OK(golden_table_read(CT_FIXTURES "results.csv", GOLDEN_READ_RESULTS, &r, &err), &err);
    TEST_EQ_INT(g.n, 12);
    TEST_EQ_INT(g.skipped_cost, 0); /* cost rows are never written */
    static const double want_tol[12] = {0,    0.002, 1e-6,  1e-6, 2e-6, 1e-4,
                                        1e-6, 2e-6,  0.005, 1e-6, 2e-6, 1e-6};
    for (size_t k = 0; k < g.n; k++) {
        TEST_STR_EQ(g.rows[k].metric, r.rows[k].metric); /* results order */
        TEST_TRUE(g.rows[k].value == r.rows[k].value);   /* %.17g reads back exactly */
        TEST_NEAR(g.rows[k].tolerance, want_tol[k], 0);
    }
    golden_table_free(&g);
    golden_table_free(&r);
    char *text = ct_slurp(gpath);
    TEST_CONTAINS(text, "synth,beat,default,1,test,bleu4,0.083371222911390527,0.002\n");
    TEST_CONTAINS(text, "synth,beat,default,1,tokens,perplexity/user_macro,7.8958178922713911,"
                        "0.0001\n");
    free(text);
    /* the written file compares clean against its results */
    res = ct_run_compare(
        (const char *const[]){"--results", CT_FIXTURES "results.csv", "--golden", gpath, NULL});
    TEST_EQ_INT(res.rc, 0);
    TEST_CONTAINS(res.out,
                  "compared 12 metrics: 12 within tolerance, 0 beyond, 0 missing, 0 extra");
    ct_cli_result_free(&res);
}

static void test_write_is_atomic_on_error(void) {
    char gpath[1024], rpath[1024], tpath[1024];
    ct_tmp_path(gpath, sizeof gpath, "atomic/golden.csv");
    ct_tmp_path(rpath, sizeof rpath, "atomic/results.csv");
    ct_tmp_path(tpath, sizeof tpath, "atomic/tol.json");
    bb_error err;
    TEST_OK(bb_mkdir_p(bb_test_tmp_path("atomic"), &err), &err);
    char *before = ct_slurp(CT_FIXTURES "golden.csv");
    TEST_EQ_INT(ct_write_text(gpath, before), BB_OK);
    /* a NaN on line 14: thirteen rows are written before the error is found */
    TEST_EQ_INT(ct_fixture_variant(CT_FIXTURES "results.csv", 14,
                                   "synth,mf,default,1,test,bleu4,nan", rpath),
                BB_OK);
    ct_cli_result res =
        ct_run_compare((const char *const[]){"--results", rpath, "--golden", gpath, "--write",
                                             "--tolerances", CT_FIXTURES "tolerances.json", NULL});
    TEST_EQ_INT(res.rc, 1);
    TEST_CONTAINS(res.err, "results.csv:14: synth/mf/default/seed 1/test/bleu4: value nan is not "
                           "a finite number");
    TEST_EQ_INT(ct_count_lines(res.err), 1);
    ct_cli_result_free(&res);
    char *after = ct_slurp(gpath);
    TEST_STR_EQ(after, before);
    free(after);
    TEST_EQ_INT(ct_temp_files_in(bb_test_tmp_path("atomic")), 0);
    /* a metric no pattern matches: same, and no new file where none existed */
    TEST_EQ_INT(ct_write_text(tpath, "{\"bleu*\": 1e-6, \"n\": 0}"), BB_OK);
    char fresh[1024];
    ct_tmp_path(fresh, sizeof fresh, "atomic/fresh.csv");
    res = ct_run_compare((const char *const[]){"--results", CT_FIXTURES "results.csv", "--golden",
                                               fresh, "--write", "--tolerances", tpath, NULL});
    TEST_EQ_INT(res.rc, 1);
    TEST_CONTAINS(res.err, "results.csv:4: synth/beat/default/seed 1/test/rougeL_f: no tolerance "
                           "pattern matches metric 'rougeL_f' in ");
    ct_cli_result_free(&res);
    TEST_TRUE(!bb_path_exists(fresh));
    TEST_EQ_INT(ct_temp_files_in(bb_test_tmp_path("atomic")), 0);
    /* a malformed old golden file stops the write and is left as it was */
    TEST_EQ_INT(ct_write_text(gpath, "dataset,method,variant,seed,split,metric,value,tolerance\n"
                                     "synth,beat,default,1,test,n,40\n"),
                BB_OK);
    res = ct_run_compare((const char *const[]){"--results", CT_FIXTURES "results.csv", "--golden",
                                               gpath, "--write", "--tolerances",
                                               CT_FIXTURES "tolerances.json", NULL});
    TEST_EQ_INT(res.rc, 1);
    TEST_CONTAINS(res.err, "the old golden file is unreadable (fix or delete it): ");
    TEST_CONTAINS(res.err, "golden.csv:2: field 'tolerance': missing");
    ct_cli_result_free(&res);
    after = ct_slurp(gpath);
    TEST_STR_EQ(after, "dataset,method,variant,seed,split,metric,value,tolerance\n"
                       "synth,beat,default,1,test,n,40\n");
    free(after);
    free(before);
}

static void test_write_refuses_failed_cells_and_empty_results(void) {
    bb_error err;
    char rpath[1024], gpath[1024], fpath[1024];
    TEST_OK(bb_mkdir_p(bb_test_tmp_path("failedsweep"), &err), &err);
    ct_tmp_path(rpath, sizeof rpath, "failedsweep/results.csv");
    ct_tmp_path(gpath, sizeof gpath, "failedsweep/golden.csv");
    ct_tmp_path(fpath, sizeof fpath, "failedsweep/failures.csv");
    /* the mf seed-2 cell failed: its rows are absent from results.csv */
    TEST_EQ_INT(ct_fixture_variant(CT_FIXTURES "results.csv", 15, NULL, rpath), BB_OK);
    char *text = ct_slurp(rpath);
    char *less = ct_replace_line(text, 15, NULL);
    TEST_EQ_INT(ct_write_text(rpath, less), BB_OK);
    free(text);
    free(less);
    TEST_EQ_INT(ct_write_text(fpath,
                              "dataset,method,variant,seed,cell,reason\n"
                              "synth,mf,default,2,00ff00ff00ff00ff,\"loss is NaN at epoch 3,\n"
                              "step 17\"\n"),
                BB_OK);
    ct_cli_result res =
        ct_run_compare((const char *const[]){"--results", rpath, "--golden", gpath, "--write",
                                             "--tolerances", CT_FIXTURES "tolerances.json", NULL});
    TEST_EQ_INT(res.rc, 1);
    TEST_CONTAINS(res.err, "results.csv: 1 sweep cells failed (see ");
    TEST_CONTAINS(res.err, "failedsweep/failures.csv); fix them before writing golden numbers");
    TEST_TRUE(!bb_path_exists(gpath));
    ct_cli_result_free(&res);
    /* comparing that sweep names the missing metrics and points at failures.csv */
    res = ct_run_compare(
        (const char *const[]){"--results", rpath, "--golden", CT_FIXTURES "golden.csv", NULL});
    TEST_EQ_INT(res.rc, 1);
    TEST_CONTAINS(res.err, "golden.csv:12: synth/mf/default/seed 2/test/recall@20: golden ");
    TEST_CONTAINS(res.err, "golden.csv:13: synth/mf/default/seed 2/test/ndcg@20: golden ");
    TEST_CONTAINS(res.err, "note: 1 sweep cells failed, so their metrics are missing: see ");
    TEST_CONTAINS(res.out,
                  "compared 12 metrics: 10 within tolerance, 0 beyond, 2 missing, 0 extra");
    ct_cli_result_free(&res);
    /* a results file with nothing but cost rows */
    TEST_EQ_INT(ct_write_text(fpath, "dataset,method,variant,seed,cell,reason\n"), BB_OK);
    TEST_EQ_INT(ct_write_text(rpath, "dataset,method,variant,seed,split,metric,value\n"
                                     "synth,mf,default,1,cost,seconds,1.5\n"),
                BB_OK);
    res =
        ct_run_compare((const char *const[]){"--results", rpath, "--golden", gpath, "--write",
                                             "--tolerances", CT_FIXTURES "tolerances.json", NULL});
    TEST_EQ_INT(res.rc, 1);
    TEST_CONTAINS(res.err, "results.csv: no metric rows besides split cost; nothing was written");
    TEST_TRUE(!bb_path_exists(gpath));
    ct_cli_result_free(&res);
}

const bb_test bb_suite_compare[] = {
    {"read_results_and_golden", test_read_results_and_golden},
    {"malformed_rows_name_file_line_field", test_malformed_rows_name_file_line_field},
    {"compare_judges_each_row", test_compare_judges_each_row},
    {"compare_rejects_duplicate_keys", test_compare_rejects_duplicate_keys},
    {"ranking_worst_first", test_ranking_worst_first},
    {"format_double_shortest_roundtrip", test_format_double_shortest_roundtrip},
    {"tolerance_table_first_match_wins", test_tolerance_table_first_match_wins},
    {"shipped_tolerance_table", test_shipped_tolerance_table},
    {"write_keeps_tolerances_and_applies_defaults",
     test_write_keeps_tolerances_and_applies_defaults},
    {"write_is_atomic_on_error", test_write_is_atomic_on_error},
    {"write_refuses_failed_cells_and_empty_results",
     test_write_refuses_failed_cells_and_empty_results},
    {NULL, NULL},
};
