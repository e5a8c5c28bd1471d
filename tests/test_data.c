/* Tests for datasets/: the CSV bad-input matrix (exact FILE:LINE and field in every
 * message), RFC 4180 cases (quoted comma/quote/newline, CRLF, BOM), the duplicate policy,
 * id range checks, hand-worked statistics and the `data stats` command. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "datasets/csv_reader.h"
#include "datasets/dataset.h"
#include "datasets/stats.h"
#include "models/base/bb_io.h"
#include "tests/testhelp.h"

/* ------------------------------------------------------------------------------------ */
/* fixtures written into the test's scratch directory                                   */

static void write_text(const char *dir, const char *name, const char *text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        abort();
    }
    fwrite(text, 1, strlen(text), fp);
    fclose(fp);
}

/* A fresh directory bb_test_tmpdir()/name holding the three split files; NULL skips one. */
static const char *make_dataset(const char *name, const char *train, const char *valid,
                                const char *test) {
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", bb_test_tmpdir(), name);
    bb_remove_tree(dir);
    mkdir(dir, 0755);
    if (train) write_text(dir, "train.csv", train);
    if (valid) write_text(dir, "valid.csv", valid);
    if (test) write_text(dir, "test.csv", test);
    return dir;
}

#define OK_SPLIT "user,item\n0,0\n"

/* Loads DIR and expects an error whose message is exactly "DIR/<expected>". */
static int expect_load_error(const char *dir, const char *expected, char *got, size_t cap) {
    bb_dataset ds;
    bb_error err = {{0}};
    if (bb_dataset_load(dir, &ds, &err) == BB_OK) {
        bb_dataset_free(&ds);
        snprintf(got, cap, "(loaded without error)");
        return 0;
    }
    char want[1200];
    snprintf(want, sizeof want, "%s/%s", dir, expected);
    snprintf(got, cap, "%s", err.msg);
    return strcmp(err.msg, want) == 0;
}

#define TEST_LOAD_ERROR(train, valid, test, expected)                                       \
    do {                                                                                   \
        char got_[1200];                                                                   \
        const char *dir_ = make_dataset("bad", (train), (valid), (test));                  \
        if (!expect_load_error(dir_, (expected), got_, sizeof got_)) {                     \
            bb_test_fail(__FILE__, __LINE__, "expected \"DIR/%s\", got \"%s\"", (expected), \
                         got_);                                                            \
            return;                                                                        \
        }                                                                                  \
    } while (0)

/* ------------------------------------------------------------------------------------ */
/* interaction files: the bad-input matrix                                              */

static void test_interaction_bad_input_matrix(void) {
    TEST_LOAD_ERROR("usr,item\n0,1\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:1: wrong header: expected \"user,item\", got \"usr,item\"");
    TEST_LOAD_ERROR("user,item,rating\n0,1,5\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:1: wrong header: expected \"user,item\", got \"user,item,rating\"");
    TEST_LOAD_ERROR("user,item\n0,1\n2,3,4\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:3: ragged row: expected 2 fields (user,item), got 3");
    TEST_LOAD_ERROR(OK_SPLIT, "user,item\n5\n", OK_SPLIT,
                    "valid.csv:2: ragged row: expected 2 fields (user,item), got 1");
    /* the blank line 3 is skipped but still counted */
    TEST_LOAD_ERROR("user,item\n0,1\n\n1,x1\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:4: field 'item': expected a non-negative integer, got \"x1\"");
    TEST_LOAD_ERROR(OK_SPLIT, OK_SPLIT, "user,item\n0,1\n-3,1\n",
                    "test.csv:3: field 'user': expected a non-negative integer, got \"-3\"");
    TEST_LOAD_ERROR("user,item\n,1\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:2: field 'user': expected a non-negative integer, got \"\"");
    TEST_LOAD_ERROR("user,item\n 1,2\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:2: field 'user': expected a non-negative integer, got \" 1\"");
    TEST_LOAD_ERROR("user,item\n1,2.0\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:2: field 'item': expected a non-negative integer, got \"2.0\"");
    TEST_LOAD_ERROR("user,item\n99999999999,1\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:2: field 'user': expected a non-negative integer below 2147483647, got "
                    "\"99999999999\"");
    TEST_LOAD_ERROR("user,item\n2147483647,1\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:2: field 'user': expected a non-negative integer below 2147483647, "
                    "got \"2147483647\"");
    TEST_LOAD_ERROR("", OK_SPLIT, OK_SPLIT, "train.csv:1: empty file");
    TEST_LOAD_ERROR(OK_SPLIT, "\xEF\xBB\xBF", OK_SPLIT, "valid.csv:1: empty file");
    TEST_LOAD_ERROR(OK_SPLIT, OK_SPLIT, "\n\n", "test.csv:1: empty file");
    TEST_LOAD_ERROR("user,item\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:1: no interactions after the header (train needs at least one)");
    TEST_LOAD_ERROR("user,item\n0,1\n\"1,2\n3,4\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:3: unterminated quoted field (the record starting here never "
                    "closes its quote)");
    TEST_LOAD_ERROR("user,item\n1\"2,3\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:2: malformed quoting: a quote inside an unquoted field, or text "
                    "after a closing quote (quote a field that holds quotes and double them: "
                    "\"a \"\"b\"\"\")");
    TEST_LOAD_ERROR("user,item\r\n0,1\r\n1,x\r\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:3: field 'item': expected a non-negative integer, got \"x\"");
    /* control bytes are escaped so the message stays one line */
    TEST_LOAD_ERROR("user,item\n\"1\n\",2\n", OK_SPLIT, OK_SPLIT,
                    "train.csv:2: field 'user': expected a non-negative integer, got \"1\\x0a\"");
}

static void test_missing_split_file_names_it(void) {
    const char *dir = make_dataset("missing", OK_SPLIT, OK_SPLIT, NULL);
    bb_dataset ds;
    bb_error err;
    char want[1200];
    snprintf(want, sizeof want, "%s/test.csv: cannot open", dir);
    TEST_ERR_CONTAINS(bb_dataset_load(dir, &ds, &err), &err, want);
}

static void test_interactions_load_rfc4180_and_counts(void) {
    /* BOM, CRLF, quoted ids, a blank line, no final newline, cold ids in test */
    const char *dir = make_dataset("good", "\xEF\xBB\xBFuser,item\r\n0,0\r\n\"1\",\"2\"\r\n\r\n2,1",
                                   "user,item\n", "user,item\n5,1\n0,9\n");
    bb_dataset ds;
    bb_error err;
    TEST_OK(bb_dataset_load(dir, &ds, &err), &err);
    TEST_EQ_INT(ds.train.n, 3);
    TEST_EQ_INT(ds.valid.n, 0);
    TEST_EQ_INT(ds.test.n, 2);
    TEST_EQ_INT(ds.train.user[1], 1);
    TEST_EQ_INT(ds.train.item[1], 2);
    TEST_EQ_INT(ds.train.line[1], 3);
    TEST_EQ_INT(ds.train.line[2], 5); /* after the blank line 4 */
    TEST_EQ_INT(ds.n_users, 6);       /* ids 0..5 over all splits */
    TEST_EQ_INT(ds.n_items, 10);
    TEST_EQ_INT(ds.duplicates_dropped, 0);
    bb_dataset_free(&ds);
    /* a trailing slash gives the same messages (no "dir//train.csv") */
    char slashed[1100];
    snprintf(slashed, sizeof slashed, "%s/", dir);
    TEST_OK(bb_dataset_load(slashed, &ds, &err), &err);
    char want[1200];
    snprintf(want, sizeof want, "%s/test.csv:2: field 'user': id 5 is beyond the user count 5",
             dir);
    TEST_ERR_CONTAINS(bb_dataset_check_ids(&ds, 5, 10, &err), &err, want);
    bb_dataset_free(&ds);
}

static void test_largest_id_and_leading_zeros(void) {
    const char *dir = make_dataset("big", "user,item\n00000000003,2147483646\n", "user,item\n",
                                   "user,item\n");
    bb_dataset ds;
    bb_error err;
    TEST_OK(bb_dataset_load(dir, &ds, &err), &err);
    TEST_EQ_INT(ds.train.user[0], 3);
    TEST_EQ_INT(ds.n_items, 2147483647); /* largest id + 1 still fits */
    bb_dataset_free(&ds);
}

static void test_duplicates_dropped_and_counted(void) {
    const char *dir = make_dataset("dups", "user,item\n0,1\n0,2\n0,1\n1,1\n",
                                   "user,item\n0,2\n3,3\n", "user,item\n3,3\n3,3\n4,4\n");
    bb_dataset ds;
    bb_error err;
    TEST_OK(bb_dataset_load(dir, &ds, &err), &err);
    /* train keeps 3 (one repeat inside), valid loses (0,2) already in train, test loses both
     * (3,3): one already in valid, one a repeat of it */
    TEST_EQ_INT(ds.train.n, 3);
    TEST_EQ_INT(ds.valid.n, 1);
    TEST_EQ_INT(ds.test.n, 1);
    TEST_EQ_INT(ds.valid.user[0], 3);
    TEST_EQ_INT(ds.test.item[0], 4);
    TEST_EQ_INT(ds.test.line[0], 4);
    TEST_EQ_INT(ds.duplicates_dropped, 4);
    TEST_EQ_INT(ds.duplicates_within_split, 1);
    TEST_EQ_INT(ds.duplicates_across_splits, 3);
    bb_dataset_free(&ds);

    bb_dataset_options strict = {1};
    char want[1200];
    snprintf(want, sizeof want,
             "%s/train.csv:4: duplicate pair (user 0, item 1), first at %s/train.csv:2", dir, dir);
    TEST_ERR_CONTAINS(bb_dataset_load_opts(dir, &strict, &ds, &err), &err, want);
}

static void test_check_ids_names_row(void) {
    const char *dir = make_dataset("ids", "user,item\n0,0\n1,1\n", "user,item\n1,0\n",
                                   "user,item\n\n0,7\n");
    bb_dataset ds;
    bb_error err;
    TEST_OK(bb_dataset_load(dir, &ds, &err), &err);
    TEST_OK(bb_dataset_check_ids(&ds, 2, 8, &err), &err);
    char want[1200];
    snprintf(want, sizeof want, "%s/test.csv:3: field 'item': id 7 is beyond the item count 5",
             dir);
    TEST_ERR_CONTAINS(bb_dataset_check_ids(&ds, 2, 5, &err), &err, want);
    snprintf(want, sizeof want, "%s/train.csv:3: field 'user': id 1 is beyond the user count 1",
             dir);
    TEST_ERR_CONTAINS(bb_dataset_check_ids(&ds, 1, 8, &err), &err, want);
    bb_dataset_free(&ds);
}

/* ------------------------------------------------------------------------------------ */
/* explanations.csv                                                                      */

#define EX_HEADER "uid,iid,title,user_summary,item_summary,explanation"

static void test_explanations_rfc4180(void) {
    const char *dir = make_dataset("ex_rfc", NULL, NULL, NULL);
    write_text(dir, "explanations.csv",
               "\xEF\xBB\xBF" EX_HEADER "\r\n"
               "0,1,\"Cafe, Bar\",\"He said \"\"hi\"\"\",\"line1\r\nline2\",plain text\r\n"
               "2,3,T,U,I,\"multi\nline\nexplanation\"\r\n"
               "4,5, padded ,,\"\",last\r\n");
    char path[1100];
    snprintf(path, sizeof path, "%s/explanations.csv", dir);
    bb_explanations ex;
    bb_error err;
    TEST_OK(bb_explanations_load(path, &ex, &err), &err);
    TEST_EQ_INT(ex.n, 3);
    TEST_STR_EQ(ex.rows[0].title, "Cafe, Bar");
    TEST_STR_EQ(ex.rows[0].user_summary, "He said \"hi\"");
    TEST_STR_EQ(ex.rows[0].item_summary, "line1\r\nline2");
    TEST_STR_EQ(ex.rows[0].explanation, "plain text");
    TEST_STR_EQ(ex.rows[1].explanation, "multi\nline\nexplanation");
    TEST_STR_EQ(ex.rows[2].title, " padded "); /* RFC 4180: spaces are data */
    TEST_STR_EQ(ex.rows[2].user_summary, "");
    TEST_STR_EQ(ex.rows[2].item_summary, "");
    TEST_EQ_INT(ex.rows[0].line, 2);
    TEST_EQ_INT(ex.rows[1].line, 4); /* row 0 spans lines 2-3 */
    TEST_EQ_INT(ex.rows[2].line, 7); /* row 1 spans lines 4-6 */
    TEST_EQ_INT(ex.rows[2].uid, 4);
    TEST_EQ_INT(ex.duplicate_pairs, 0);
    char want[1200];
    snprintf(want, sizeof want, "%s:7: field 'iid': id 5 is beyond the item count 5", path);
    TEST_ERR_CONTAINS(bb_explanations_check_ids(&ex, 5, 5, &err), &err, want);
    TEST_OK(bb_explanations_check_ids(&ex, 5, 6, &err), &err);
    bb_explanations_free(&ex);
}

static int explanation_error(const char *text, const char *expected, char *got, size_t cap) {
    const char *dir = make_dataset("ex_bad", NULL, NULL, NULL);
    write_text(dir, "explanations.csv", text);
    char path[1100];
    snprintf(path, sizeof path, "%s/explanations.csv", dir);
    bb_explanations ex;
    bb_error err = {{0}};
    if (bb_explanations_load(path, &ex, &err) == BB_OK) {
        bb_explanations_free(&ex);
        snprintf(got, cap, "(loaded without error)");
        return 0;
    }
    char want[1200];
    snprintf(want, sizeof want, "%s:%s", path, expected);
    snprintf(got, cap, "%s", err.msg);
    return strcmp(want, err.msg) == 0;
}

#define TEST_EX_ERROR(text, expected)                                                      \
    do {                                                                                   \
        char got_[1200];                                                                   \
        if (!explanation_error((text), (expected), got_, sizeof got_)) {                   \
            bb_test_fail(__FILE__, __LINE__, "expected \"PATH:%s\", got \"%s\"", (expected), \
                         got_);                                                            \
            return;                                                                        \
        }                                                                                  \
    } while (0)

static void test_explanations_bad_input_matrix(void) {
    TEST_EX_ERROR("uid,iid,title,user_summary,item_summary\n",
                  "1: wrong header: expected "
                  "\"uid,iid,title,user_summary,item_summary,explanation\", got "
                  "\"uid,iid,title,user_summary,item_summary\"");
    TEST_EX_ERROR(EX_HEADER "\n0,1,\"a\nb\",u,i,e\n2,3,t,u,i\n",
                  "4: ragged row: expected 6 fields "
                  "(uid,iid,title,user_summary,item_summary,explanation), got 5");
    TEST_EX_ERROR(EX_HEADER "\nu7,1,t,u,i,e\n",
                  "2: field 'uid': expected a non-negative integer, got \"u7\"");
    TEST_EX_ERROR(EX_HEADER "\n7,-1,t,u,i,e\n",
                  "2: field 'iid': expected a non-negative integer, got \"-1\"");
    TEST_EX_ERROR("", "1: empty file");
    TEST_EX_ERROR(EX_HEADER "\n0,1,t,u,i,\"never closed\n",
                  "2: unterminated quoted field (the record starting here never closes its "
                  "quote)");
    TEST_EX_ERROR(EX_HEADER "\n0,1,t,u,i,\"closed\" then text\n",
                  "2: malformed quoting: a quote inside an unquoted field, or text after a "
                  "closing quote (quote a field that holds quotes and double them: "
                  "\"a \"\"b\"\"\")");
}

static void test_explanations_duplicates_kept_and_counted(void) {
    const char *dir = make_dataset("ex_dup", NULL, NULL, NULL);
    write_text(dir, "explanations.csv",
               EX_HEADER "\n0,1,t,u,i,e1\n0,2,t,u,i,e2\n0,1,t,u,i,e3\n");
    char path[1100];
    snprintf(path, sizeof path, "%s/explanations.csv", dir);
    bb_explanations ex;
    bb_error err;
    TEST_OK(bb_explanations_load(path, &ex, &err), &err);
    TEST_EQ_INT(ex.n, 3);
    TEST_EQ_INT(ex.duplicate_pairs, 1);
    TEST_STR_EQ(ex.rows[2].explanation, "e3");
    bb_explanations_free(&ex);
}

/* ------------------------------------------------------------------------------------ */
/* CSV writing round trip                                                               */

static void test_csv_write_field_round_trips(void) {
    const char *values[4] = {"plain", "comma, inside", "quote \"q\" inside", "new\nline"};
    const char *path = bb_test_tmp_path("roundtrip.csv");
    FILE *fp = fopen(path, "wb");
    TEST_TRUE(fp != NULL);
    fputs(EX_HEADER "\n", fp);
    fputs("1,2,", fp);
    for (int k = 0; k < 4; k++) {
        bb_csv_write_field(fp, values[k]);
        fputc(k < 3 ? ',' : '\n', fp);
    }
    fclose(fp);
    bb_explanations ex;
    bb_error err;
    TEST_OK(bb_explanations_load(path, &ex, &err), &err);
    TEST_EQ_INT(ex.n, 1);
    TEST_STR_EQ(ex.rows[0].title, values[0]);
    TEST_STR_EQ(ex.rows[0].user_summary, values[1]);
    TEST_STR_EQ(ex.rows[0].item_summary, values[2]);
    TEST_STR_EQ(ex.rows[0].explanation, values[3]);
    bb_explanations_free(&ex);
}

/* ------------------------------------------------------------------------------------ */
/* statistics, worked by hand                                                           */

static void test_quantile_matches_numpy(void) {
    const int32_t v[4] = {1, 2, 3, 4};
    TEST_NEAR(bb_data_quantile(v, 4, 0.5), 2.5, 1e-12); /* np.quantile([1,2,3,4], .5) */
    TEST_NEAR(bb_data_quantile(v, 4, 0.9), 3.7, 1e-12);
    TEST_NEAR(bb_data_quantile(v, 4, 0.0), 1.0, 0);
    TEST_NEAR(bb_data_quantile(v, 4, 1.0), 4.0, 0);
    const int32_t one[1] = {7};
    TEST_NEAR(bb_data_quantile(one, 1, 0.9), 7.0, 0);
}

/* train (0,0) (0,1) (1,1) (2,2); valid (3,1); test (0,2) (3,3).
 * user train degrees 2,1,1,0 and item train degrees 1,2,1,0: both sort to 0,1,1,2, so
 * median 1, p90 = 1 + 0.7 x (2 - 1) = 1.7. User 3 and item 3 are cold; test row (3,3) is
 * cold. Explained: (0,1) train, (3,1) valid, (3,3) test, (1,0) nowhere. */
static const char *stats_fixture(void) {
    const char *dir = make_dataset("stats", "user,item\n0,0\n0,1\n1,1\n2,2\n", "user,item\n3,1\n",
                                   "user,item\n0,2\n3,3\n");
    write_text(dir, "explanations.csv",
               EX_HEADER "\n0,1,t,u,i,e\n3,1,t,u,i,e\n3,3,t,u,i,e\n1,0,t,u,i,e\n");
    return dir;
}

static void test_stats_hand_worked(void) {
    const char *dir = stats_fixture();
    bb_dataset ds;
    bb_explanations ex;
    bb_error err;
    TEST_OK(bb_dataset_load(dir, &ds, &err), &err);
    char path[1100];
    snprintf(path, sizeof path, "%s/explanations.csv", dir);
    TEST_OK(bb_explanations_load(path, &ex, &err), &err);
    bb_data_stats st;
    bb_data_stats_compute(&ds, &ex, &st);
    TEST_EQ_INT(st.n_users, 4);
    TEST_EQ_INT(st.n_items, 4);
    TEST_NEAR(st.density, 7.0 / 16.0, 1e-15);
    TEST_NEAR(st.train_density, 4.0 / 16.0, 1e-15);
    TEST_NEAR(st.user_degree.min, 0, 0);
    TEST_NEAR(st.user_degree.median, 1.0, 1e-12);
    TEST_NEAR(st.user_degree.p90, 1.7, 1e-12);
    TEST_NEAR(st.user_degree.max, 2, 0);
    TEST_NEAR(st.user_degree.mean, 1.0, 1e-12);
    TEST_NEAR(st.item_degree.p90, 1.7, 1e-12);
    TEST_EQ_INT(st.cold_users, 1);
    TEST_EQ_INT(st.cold_items, 1);
    TEST_EQ_INT(st.cold_test_rows, 1);
    TEST_EQ_INT(st.users_without_rows, 0);
    TEST_EQ_INT(st.explained_pairs, 4);
    TEST_EQ_INT(st.explained_users, 3);
    TEST_EQ_INT(st.explained_items, 3);
    TEST_EQ_INT(st.explained_in_train, 1);
    TEST_EQ_INT(st.explained_in_valid, 1);
    TEST_EQ_INT(st.explained_in_test, 1);
    TEST_EQ_INT(st.explained_in_none, 1);
    TEST_EQ_INT(st.explained_cold_users, 1);
    TEST_EQ_INT(st.explained_cold_items, 1);
    bb_explanations_free(&ex);
    bb_dataset_free(&ds);
}

/* ------------------------------------------------------------------------------------ */
/* the `data stats` command                                                             */

/* Runs "$BB_BIN ARGS > out 2> err" and returns the exit code, or -1 without BB_BIN. */
static int run_cli(const char *args, const char *out, const char *errf) {
    const char *bin = getenv("BB_BIN");
    if (!bin || !*bin) return -1;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s > %s 2> %s", bin, args, out, errf);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *path) {
    char *text = NULL;
    bb_error err;
    if (bb_read_file(path, &text, NULL, &err) != BB_OK) return bb_strdup("");
    return text;
}

static void test_cli_stats_json_and_errors(void) {
    if (!getenv("BB_BIN")) TEST_SKIP("BB_BIN not set (run through make test)");
    const char *dir = stats_fixture();
    char args[2048], out[1100], errf[1100];
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("stats.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("stats.err"));
    snprintf(args, sizeof args, "data stats %s --json", dir);
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    char *json = slurp(out);
    int ok = strstr(json, "\"users\": 4, \"items\": 4, \"train\": 4, \"valid\": 1, \"test\": 2") &&
             strstr(json, "\"p90\": 1.7") && strstr(json, "\"cold_users\": 1") &&
             strstr(json, "\"in_none\": 1") && json[strlen(json) - 1] == '\n' &&
             strchr(json, '\n') == json + strlen(json) - 1;
    if (!ok) bb_test_fail(__FILE__, __LINE__, "unexpected JSON: %s", json);
    free(json);
    if (!ok) return;

    /* a bad row: exit 1 with one line naming file, line and field */
    dir = make_dataset("cli_bad", "user,item\n0,1\n1,x1\n", OK_SPLIT, OK_SPLIT);
    snprintf(args, sizeof args, "data stats %s", dir);
    TEST_EQ_INT(run_cli(args, out, errf), 1);
    char *msg = slurp(errf), want[1200];
    snprintf(want, sizeof want,
             "beatbench: %s/train.csv:3: field 'item': expected a non-negative integer, got "
             "\"x1\"\n",
             dir);
    TEST_STR_EQ(msg, want);
    free(msg);

    /* duplicates: a note on stderr, the count in JSON */
    dir = make_dataset("cli_dup", "user,item\n0,1\n0,1\n", "user,item\n", "user,item\n1,1\n");
    snprintf(args, sizeof args, "data stats %s --json", dir);
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    msg = slurp(errf);
    json = slurp(out);
    ok = strstr(msg, "dropped 1 duplicate pair (1 within a split, 0 already in an earlier split)") &&
         strstr(json, "\"duplicates_dropped\": 1") && strstr(json, "\"explained\": null");
    if (!ok) bb_test_fail(__FILE__, __LINE__, "stderr \"%s\" / json \"%s\"", msg, json);
    free(msg);
    free(json);
    if (!ok) return;

    TEST_EQ_INT(run_cli("data stats", out, errf), 2);
    TEST_EQ_INT(run_cli("data nosuch", out, errf), 2);
    TEST_EQ_INT(run_cli("data stats --help", out, errf), 0);
}

const bb_test bb_suite_data[] = {
    {"interaction_bad_input_matrix", test_interaction_bad_input_matrix},
    {"missing_split_file_names_it", test_missing_split_file_names_it},
    {"interactions_load_rfc4180_and_counts", test_interactions_load_rfc4180_and_counts},
    {"largest_id_and_leading_zeros", test_largest_id_and_leading_zeros},
    {"duplicates_dropped_and_counted", test_duplicates_dropped_and_counted},
    {"check_ids_names_row", test_check_ids_names_row},
    {"explanations_rfc4180", test_explanations_rfc4180},
    {"explanations_bad_input_matrix", test_explanations_bad_input_matrix},
    {"explanations_duplicates_kept_and_counted", test_explanations_duplicates_kept_and_counted},
    {"csv_write_field_round_trips", test_csv_write_field_round_trips},
    {"quantile_matches_numpy", test_quantile_matches_numpy},
    {"stats_hand_worked", test_stats_hand_worked},
    {"cli_stats_json_and_errors", test_cli_stats_json_and_errors},
    {NULL, NULL},
};
