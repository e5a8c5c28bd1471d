/* Tests for `beatbench compare` through bb_cli_main: identical numbers pass; a golden
 * number nudged beyond its tolerance fails naming the metric and the golden file's line;
 * nudged within passes (and shows in the drift table); a missing metric and a NaN fail; an
 * extra metric only warns; malformed golden files give one line; usage errors exit 2; --top,
 * --json and --dir pairing. Fixtures: tests/fixtures/compare/. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "models/base/bb_io.h"
#include "tests/testhelp.h"
#include "tests/util/compare_testutil.h"

#define BLEU4_KEY "synth/beat/default/seed 1/test/bleu4"

/* ------------------------------------------------------------------------------------ */
/* command line                                                                         */

static void test_cli_identical_passes(void) {
    ct_cli_result res = ct_run_compare((const char *const[]){
        "--results", CT_FIXTURES "results.csv", "--golden", CT_FIXTURES "golden.csv", NULL});
    TEST_EQ_INT(res.rc, 0);
    TEST_CONTAINS(res.out,
                  "compared 12 metrics: 12 within tolerance, 0 beyond, 0 missing, 0 extra");
    TEST_STR_EQ(res.err, "");
    ct_cli_result_free(&res);
}

static void test_cli_nudged_beyond_fails_naming_line(void) {
    char gpath[1024];
    ct_tmp_path(gpath, sizeof gpath, "nudged_beyond.csv");
    /* bleu4 golden moved by +2.5e-6 against a tolerance of 1e-6 */
    TEST_EQ_INT(ct_fixture_variant(CT_FIXTURES "golden.csv", 3,
                                   "synth,beat,default,1,test,bleu4,0.08337372291139053,1e-06",
                                   gpath),
                BB_OK);
    ct_cli_result res = ct_run_compare(
        (const char *const[]){"--results", CT_FIXTURES "results.csv", "--golden", gpath, NULL});
    TEST_EQ_INT(res.rc, 1);
    char want[2048];
    snprintf(want, sizeof want,
             "beatbench: %s:3: " BLEU4_KEY ": 0.08337122291139053 vs golden 0.08337372291139053 "
             "(drift -2.5e-06 > tolerance 1e-06)\n",
             gpath);
    TEST_CONTAINS(res.err, want);
    TEST_EQ_INT(ct_count_lines(res.err), 2); /* that line and the closing FAILED */
    TEST_CONTAINS(res.out, "BEYOND");
    TEST_CONTAINS(res.out,
                  "compared 12 metrics: 11 within tolerance, 1 beyond, 0 missing, 0 extra");
    ct_cli_result_free(&res);
}

static void test_cli_nudged_within_passes(void) {
    char gpath[1024];
    ct_tmp_path(gpath, sizeof gpath, "nudged_within.csv");
    TEST_EQ_INT(ct_fixture_variant(CT_FIXTURES "golden.csv", 3,
                                   "synth,beat,default,1,test,bleu4,0.08337162291139052,1e-06",
                                   gpath),
                BB_OK);
    ct_cli_result res = ct_run_compare(
        (const char *const[]){"--results", CT_FIXTURES "results.csv", "--golden", gpath, NULL});
    TEST_EQ_INT(res.rc, 0);
    TEST_STR_EQ(res.err, "");
    /* the drift still shows in the table */
    TEST_CONTAINS(res.out, "within");
    TEST_CONTAINS(res.out, "-4e-07");
    TEST_CONTAINS(res.out, BLEU4_KEY);
    TEST_CONTAINS(res.out,
                  "compared 12 metrics: 12 within tolerance, 0 beyond, 0 missing, 0 extra");
    ct_cli_result_free(&res);
}

static void test_cli_missing_metric_fails(void) {
    char rpath[1024];
    ct_tmp_path(rpath, sizeof rpath, "missing_results.csv");
    TEST_EQ_INT(ct_fixture_variant(CT_FIXTURES "results.csv", 5, NULL, rpath),
                BB_OK); /* len_mean */
    ct_cli_result res = ct_run_compare(
        (const char *const[]){"--results", rpath, "--golden", CT_FIXTURES "golden.csv", NULL});
    TEST_EQ_INT(res.rc, 1);
    char want[2048];
    snprintf(want, sizeof want,
             "beatbench: " CT_FIXTURES
             "golden.csv:5: synth/beat/default/seed 1/test/len_mean: golden "
             "17.425 missing from %s\n",
             rpath);
    TEST_CONTAINS(res.err, want);
    TEST_CONTAINS(res.out, "MISSING");
    TEST_CONTAINS(res.out,
                  "compared 12 metrics: 11 within tolerance, 0 beyond, 1 missing, 0 extra");
    ct_cli_result_free(&res);
}

static void test_cli_extra_metric_warns_only(void) {
    char rpath[1024];
    ct_tmp_path(rpath, sizeof rpath, "extra_results.csv");
    char *text = ct_slurp(CT_FIXTURES "results.csv");
    char *more = bb_malloc(strlen(text) + 64);
    sprintf(more, "%ssynth,pop,default,1,test,recall@20,0.125\n", text);
    TEST_EQ_INT(ct_write_text(rpath, more), BB_OK);
    free(text);
    free(more);
    ct_cli_result res = ct_run_compare(
        (const char *const[]){"--results", rpath, "--golden", CT_FIXTURES "golden.csv", NULL});
    TEST_EQ_INT(res.rc, 0);
    char want[2048];
    snprintf(want, sizeof want,
             "beatbench: warning: %s:17: synth/pop/default/seed 1/test/recall@20: 0.125 has no "
             "golden row in " CT_FIXTURES "golden.csv\n",
             rpath);
    TEST_STR_EQ(res.err, want);
    TEST_CONTAINS(res.out,
                  "compared 12 metrics: 12 within tolerance, 0 beyond, 0 missing, 1 extra");
    ct_cli_result_free(&res);
}

static void test_cli_nan_fails(void) {
    char rpath[1024];
    ct_tmp_path(rpath, sizeof rpath, "nan_results.csv");
    TEST_EQ_INT(ct_fixture_variant(CT_FIXTURES "results.csv", 3,
                                   "synth,beat,default,1,test,bleu4,nan", rpath),
                BB_OK);
    ct_cli_result res = ct_run_compare(
        (const char *const[]){"--results", rpath, "--golden", CT_FIXTURES "golden.csv", NULL});
    TEST_EQ_INT(res.rc, 1);
    TEST_CONTAINS(res.err, "beatbench: " CT_FIXTURES "golden.csv:3: " BLEU4_KEY
                           ": nan vs golden 0.08337122291139053 (not a number");
    TEST_CONTAINS(res.out, "(1 NaN)");
    ct_cli_result_free(&res);
}

static void test_cli_malformed_golden_one_line(void) {
    static const struct {
        const char *file, *message;
    } cases[] = {
        {CT_FIXTURES "bad_number.csv",
         "beatbench: " CT_FIXTURES "bad_number.csv:3: field 'value': expected a finite number, got "
         "\"0.0833x\"\n"},
        {CT_FIXTURES "missing_column.csv",
         "beatbench: " CT_FIXTURES
         "missing_column.csv:4: field 'tolerance': missing (the row has 7 "
         "fields, the header 8)\n"},
    };
    for (size_t k = 0; k < 2; k++) {
        ct_cli_result res = ct_run_compare((const char *const[]){
            "--results", CT_FIXTURES "results.csv", "--golden", cases[k].file, NULL});
        TEST_EQ_INT(res.rc, 1);
        TEST_STR_EQ(res.err, cases[k].message); /* that one line and nothing else */
        ct_cli_result_free(&res);
    }
    ct_cli_result res = ct_run_compare((const char *const[]){
        "--results", "/nonexistent/results.csv", "--golden", CT_FIXTURES "golden.csv", NULL});
    TEST_EQ_INT(res.rc, 1);
    TEST_CONTAINS(res.err, "/nonexistent/results.csv");
    ct_cli_result_free(&res);
}

static void test_cli_usage_errors(void) {
    const char *const *cases[] = {
        (const char *const[]){NULL},
        (const char *const[]){"--results", CT_FIXTURES "results.csv", NULL},
        (const char *const[]){"--results", CT_FIXTURES "results.csv", "--golden",
                              CT_FIXTURES "golden.csv", "--golden", CT_FIXTURES "golden.csv", NULL},
        (const char *const[]){"--results", NULL},
        (const char *const[]){"--results", CT_FIXTURES "results.csv", "--golden",
                              CT_FIXTURES "golden.csv", "--frobnicate", NULL},
        (const char *const[]){"--results", CT_FIXTURES "results.csv", "--golden",
                              CT_FIXTURES "golden.csv", "--top", "-1", NULL},
        (const char *const[]){"--golden", CT_FIXTURES "golden.csv", "extra-positional", NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ct_cli_result res = ct_run_compare(cases[k]);
        if (res.rc != 2) {
            bb_test_fail(__FILE__, __LINE__, "case %zu: rc %d, expected 2", k, res.rc);
            ct_cli_result_free(&res);
            return;
        }
        TEST_CONTAINS(res.err, "beatbench: compare: ");
        TEST_STR_EQ(res.out, "");
        ct_cli_result_free(&res);
    }
    ct_cli_result res = ct_run_compare((const char *const[]){"--help", NULL});
    TEST_EQ_INT(res.rc, 0);
    TEST_CONTAINS(res.out, "--tolerances FILE");
    ct_cli_result_free(&res);
}

static void test_cli_top_limits_table(void) {
    char rpath[1024];
    ct_tmp_path(rpath, sizeof rpath, "top_results.csv");
    char *text = ct_slurp(CT_FIXTURES "results.csv");
    char *a = ct_replace_line(text, 3, "synth,beat,default,1,test,bleu4,0.083371422911390522");
    char *b = ct_replace_line(a, 4, "synth,beat,default,1,test,rougeL_f,0.31415936535897931");
    TEST_EQ_INT(ct_write_text(rpath, b), BB_OK);
    free(text), free(a), free(b);
    ct_cli_result res = ct_run_compare((const char *const[]){
        "--results", rpath, "--golden", CT_FIXTURES "golden.csv", "--top=1", NULL});
    TEST_EQ_INT(res.rc, 0);
    TEST_CONTAINS(res.out, "... 1 more drifts not shown");
    TEST_CONTAINS(res.out, "/test/bleu4"); /* drift/tol 0.2 shown before rougeL_f's 0.1 */
    TEST_TRUE(strstr(res.out, "rougeL_f") == NULL);
    ct_cli_result_free(&res);
}

static void test_cli_json(void) {
    char gpath[1024];
    ct_tmp_path(gpath, sizeof gpath, "json_golden.csv");
    TEST_EQ_INT(ct_fixture_variant(CT_FIXTURES "golden.csv", 3,
                                   "synth,beat,default,1,test,bleu4,0.08337372291139053,1e-06",
                                   gpath),
                BB_OK);
    ct_cli_result res = ct_run_compare((const char *const[]){
        "--results", CT_FIXTURES "results.csv", "--golden", gpath, "--results",
        CT_FIXTURES "results.csv", "--golden", CT_FIXTURES "golden.csv", "--json", NULL});
    TEST_EQ_INT(res.rc, 1);
    cJSON *root = cJSON_Parse(res.out);
    TEST_TRUE(root != NULL);
    TEST_TRUE(cJSON_IsFalse(cJSON_GetObjectItem(root, "ok")));
    const cJSON *pairs = cJSON_GetObjectItem(root, "pairs");
    TEST_EQ_INT(cJSON_GetArraySize(pairs), 2);
    const cJSON *p0 = cJSON_GetArrayItem(pairs, 0), *p1 = cJSON_GetArrayItem(pairs, 1);
    TEST_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(p0, "failed")));
    TEST_TRUE(cJSON_IsFalse(cJSON_GetObjectItem(p1, "failed")));
    TEST_EQ_INT(cJSON_GetObjectItem(p0, "beyond")->valueint, 1);
    TEST_EQ_INT(cJSON_GetObjectItem(p1, "compared")->valueint, 12);
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(p0, "entries"), 0);
    TEST_STR_EQ(cJSON_GetObjectItem(e, "status")->valuestring, "beyond");
    TEST_STR_EQ(cJSON_GetObjectItem(e, "metric")->valuestring, "bleu4");
    TEST_EQ_INT(cJSON_GetObjectItem(e, "golden_line")->valueint, 3);
    TEST_NEAR(cJSON_GetObjectItem(e, "drift")->valuedouble, -2.5e-6, 1e-15);
    TEST_NEAR(cJSON_GetObjectItem(e, "ratio")->valuedouble, 2.5, 1e-8);
    cJSON_Delete(root);
    /* the human table went to stderr */
    TEST_CONTAINS(res.err, "compared 12 metrics: 11 within tolerance, 1 beyond");
    ct_cli_result_free(&res);
}

static void test_cli_dir_mode(void) {
    bb_error err;
    char runs[1024], gold[1024], path[1024];
    ct_tmp_path(runs, sizeof runs, "dirmode/runs");
    ct_tmp_path(gold, sizeof gold, "dirmode/golden");
    TEST_OK(bb_mkdir_p(bb_test_tmp_path("dirmode/runs/ci"), &err), &err);
    TEST_OK(bb_mkdir_p(bb_test_tmp_path("dirmode/runs/new"), &err), &err);
    TEST_OK(bb_mkdir_p(bb_test_tmp_path("dirmode/runs/empty"), &err), &err);
    char *text = ct_slurp(CT_FIXTURES "results.csv");
    TEST_EQ_INT(ct_write_text(ct_tmp_path(path, sizeof path, "dirmode/runs/ci/results.csv"), text),
                BB_OK);
    TEST_EQ_INT(ct_write_text(ct_tmp_path(path, sizeof path, "dirmode/runs/new/results.csv"), text),
                BB_OK);
    free(text);
    /* golden: ci.csv with one number beyond tolerance, real.csv without a run */
    TEST_OK(bb_mkdir_p(gold, &err), &err);
    TEST_EQ_INT(ct_fixture_variant(CT_FIXTURES "golden.csv", 2, "synth,beat,default,1,test,n,41,0",
                                   ct_tmp_path(path, sizeof path, "dirmode/golden/ci.csv")),
                BB_OK);
    text = ct_slurp(CT_FIXTURES "golden.csv");
    TEST_EQ_INT(ct_write_text(ct_tmp_path(path, sizeof path, "dirmode/golden/real.csv"), text),
                BB_OK);
    free(text);
    ct_cli_result res =
        ct_run_compare((const char *const[]){"--dir", runs, "--golden-dir", gold, NULL});
    TEST_EQ_INT(res.rc, 1);
    TEST_CONTAINS(res.err, "golden/ci.csv:2: synth/beat/default/seed 1/test/n: 40 vs golden 41 "
                           "(drift -1 > tolerance 0)");
    TEST_CONTAINS(res.err, "warning: ");
    TEST_CONTAINS(res.err, "runs/new/results.csv: no golden file ");
    TEST_CONTAINS(res.err, "golden/real.csv: no run ");
    TEST_TRUE(strstr(res.err, "empty") == NULL); /* a run directory without results.csv */
    ct_cli_result_free(&res);
    /* --write in dir mode: writes ci.csv and new.csv, keeps real.csv */
    res =
        ct_run_compare((const char *const[]){"--dir", runs, "--golden-dir", gold, "--write",
                                             "--tolerances", CT_FIXTURES "tolerances.json", NULL});
    TEST_EQ_INT(res.rc, 0);
    TEST_CONTAINS(res.out, "ci.csv from ");
    TEST_CONTAINS(res.out, "(12 tolerances kept, 0 from");
    TEST_CONTAINS(res.out, "new.csv from ");
    ct_cli_result_free(&res);
    res = ct_run_compare((const char *const[]){"--dir", runs, "--golden-dir", gold, NULL});
    TEST_EQ_INT(res.rc, 0);
    TEST_CONTAINS(res.out,
                  "compared 12 metrics: 12 within tolerance, 0 beyond, 0 missing, 0 extra");
    ct_cli_result_free(&res);
    char *ci = ct_slurp(ct_tmp_path(path, sizeof path, "dirmode/golden/ci.csv"));
    char *fixture = ct_slurp(CT_FIXTURES "golden.csv");
    /* kept tolerances, the results' numbers: the rewrite is the fixture, byte for byte */
    TEST_STR_EQ(ci, fixture);
    free(ci);
    free(fixture);
    res = ct_run_compare((const char *const[]){"--dir", bb_test_tmp_path("dirmode/none"), NULL});
    TEST_EQ_INT(res.rc, 1);
    ct_cli_result_free(&res);
}

const bb_test bb_suite_compare_cli[] = {
    {"cli_identical_passes", test_cli_identical_passes},
    {"cli_nudged_beyond_fails_naming_line", test_cli_nudged_beyond_fails_naming_line},
    {"cli_nudged_within_passes", test_cli_nudged_within_passes},
    {"cli_missing_metric_fails", test_cli_missing_metric_fails},
    {"cli_extra_metric_warns_only", test_cli_extra_metric_warns_only},
    {"cli_nan_fails", test_cli_nan_fails},
    {"cli_malformed_golden_one_line", test_cli_malformed_golden_one_line},
    {"cli_usage_errors", test_cli_usage_errors},
    {"cli_top_limits_table", test_cli_top_limits_table},
    {"cli_json", test_cli_json},
    {"cli_dir_mode", test_cli_dir_mode},
    {NULL, NULL},
};
