/* Tests for the zero-shot split (datasets/split.h) and the leakage rule
 * (datasets/train_text.h): determinism by seed, test users' pairs all in test, ~90/10
 * train/valid, no overlap, split-file validation, allowed training texts, and the leakage
 * check on clean and on planted-leak explanations (API and `data split`). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "datasets/train_text.h"
#include "models/base/bb_io.h"
#include "tests/testhelp.h"

/* ------------------------------------------------------------------------------------ */
/* fixture: explanations built in memory                                                */

static char *text_of(const char *prefix, int id) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s %d", prefix, id);
    return bb_strdup(buf);
}

/* n_users users, user u has 1 + u % 4 rows with items (u * 7 + k) % n_items; every text
 * is unique per pair/user/item ("usum u", "title i", ...). */
static void make_explanations(int n_users, int n_items, bb_explanations *ex) {
    memset(ex, 0, sizeof *ex);
    size_t cap = (size_t)n_users * 4;
    ex->rows = bb_calloc(cap, sizeof *ex->rows);
    for (int u = 0; u < n_users; u++)
        for (int k = 0; k <= u % 4; k++) {
            bb_explanation *r = &ex->rows[ex->n];
            r->uid = u;
            r->iid = (u * 7 + k) % n_items;
            r->title = text_of("title", r->iid);
            r->user_summary = text_of("usum", u);
            r->item_summary = text_of("isum", r->iid);
            char buf[64];
            snprintf(buf, sizeof buf, "explanation of %d for %d", r->iid, u);
            r->explanation = bb_strdup(buf);
            r->line = (uint32_t)ex->n + 2;
            ex->n++;
        }
    ex->path = bb_strdup("fixture/explanations.csv");
}

static void replace_text(char **slot, const char *text) {
    free(*slot);
    *slot = bb_strdup(text);
}

/* ------------------------------------------------------------------------------------ */
/* split properties                                                                     */

static void test_split_properties(void) {
    bb_explanations ex;
    make_explanations(400, 97, &ex);
    bb_split s;
    bb_error err;
    TEST_OK(bb_split_make(&ex, 0.1, 11, &s, &err), &err);
    TEST_EQ_INT(s.n, ex.n);
    TEST_EQ_INT(s.n_users, 400);
    TEST_EQ_INT(s.n_test_users, 40); /* round(0.1 x 400) */
    /* per user: every row in test, or none */
    int test_users = 0;
    for (int u = 0; u < 400; u++) {
        int in_test = 0, out_test = 0;
        for (size_t r = 0; r < s.n; r++)
            if (s.uid[r] == u) s.part[r] == BB_SPLIT_TEST ? in_test++ : out_test++;
        TEST_TRUE(in_test == 0 || out_test == 0);
        test_users += in_test > 0;
    }
    TEST_EQ_INT(test_users, 40);
    size_t rest = s.n_train + s.n_valid;
    TEST_EQ_INT(s.n_train + s.n_valid + s.n_test, s.n);
    TEST_EQ_INT(s.n_valid, (size_t)(0.1 * (double)rest + 0.5)); /* round(10%) */
    for (size_t r = 0; r < s.n; r++) {
        TEST_TRUE(s.part[r] <= BB_SPLIT_TEST);
        TEST_EQ_INT(s.uid[r], ex.rows[r].uid);
        TEST_EQ_INT(s.iid[r], ex.rows[r].iid);
    }
    bb_split_free(&s);
    bb_explanations_free(&ex);
}

static void test_split_deterministic_by_seed(void) {
    bb_explanations ex;
    make_explanations(300, 50, &ex);
    bb_split a, b, c;
    bb_error err;
    TEST_OK(bb_split_make(&ex, 0.1, 5, &a, &err), &err);
    TEST_OK(bb_split_make(&ex, 0.1, 5, &b, &err), &err);
    TEST_OK(bb_split_make(&ex, 0.1, 6, &c, &err), &err);
    TEST_TRUE(memcmp(a.part, b.part, a.n) == 0);
    TEST_TRUE(memcmp(a.part, c.part, a.n) != 0);
    bb_split_free(&a);
    bb_split_free(&b);
    bb_split_free(&c);
    bb_explanations_free(&ex);
}

/* Pins the stream contract (seed, "split/zero-shot"): every method that uses seed 7 must
 * see these test users. A change here changes every published split. */
static void test_split_pinned_test_users(void) {
    bb_explanations ex;
    make_explanations(20, 13, &ex);
    bb_split s;
    bb_error err;
    TEST_OK(bb_split_make(&ex, 0.25, 7, &s, &err), &err);
    char got[256] = "";
    for (int u = 0; u < 20; u++)
        for (size_t r = 0; r < s.n; r++)
            if (s.uid[r] == u && s.part[r] == BB_SPLIT_TEST) {
                snprintf(got + strlen(got), sizeof got - strlen(got), "%d ", u);
                break;
            }
    TEST_STR_EQ(got, "0 3 5 7 11 ");
    bb_split_free(&s);
    bb_explanations_free(&ex);
}

static void test_split_extreme_shares(void) {
    bb_explanations ex;
    make_explanations(30, 11, &ex);
    bb_split s;
    bb_error err;
    TEST_OK(bb_split_make(&ex, 0.0, 1, &s, &err), &err);
    TEST_EQ_INT(s.n_test, 0);
    bb_split_free(&s);
    TEST_OK(bb_split_make(&ex, 1.0, 1, &s, &err), &err);
    TEST_EQ_INT(s.n_test, s.n);
    bb_split_free(&s);
    TEST_ERR_CONTAINS(bb_split_make(&ex, 1.5, 1, &s, &err), &err, "outside [0, 1]");
    bb_explanations_free(&ex);
}

/* ------------------------------------------------------------------------------------ */
/* split files                                                                          */

static void write_text(const char *path, const char *text) {
    FILE *fp = fopen(path, "wb");
    if (!fp) abort();
    fputs(text, fp);
    fclose(fp);
}

static void test_split_file_round_trip_and_validation(void) {
    bb_explanations ex;
    make_explanations(3, 5, &ex); /* rows: (0,0) (1,2) (1,3) (2,4) (2,0) (2,1) */
    TEST_EQ_INT(ex.n, 6);
    bb_split s, back;
    bb_error err;
    TEST_OK(bb_split_make(&ex, 0.34, 2, &s, &err), &err); /* one test user */
    const char *path = bb_test_tmp_path("split.csv");
    TEST_OK(bb_split_write(&s, path, &err), &err);
    TEST_OK(bb_split_load(path, &ex, &back, &err), &err);
    TEST_TRUE(memcmp(s.part, back.part, s.n) == 0);
    TEST_EQ_INT(back.n_test_users, 1);
    TEST_EQ_INT(back.n_users, 3);
    bb_split_free(&back);
    bb_split_free(&s);

    char want[1200];
    write_text(path, "uid,iid,split\n0,0,train\n1,2,train\n1,3,valid\n2,4,test\n2,0,test\n"
                     "2,1,test\n");
    TEST_OK(bb_split_load(path, &ex, &back, &err), &err);
    TEST_EQ_INT(back.n_train, 2);
    TEST_EQ_INT(back.n_valid, 1);
    TEST_EQ_INT(back.n_test, 3);
    bb_split_free(&back);

    write_text(path, "uid,iid,split\n0,0,train\n1,2,train\n1,3,valid\n2,4,test\n2,0,train\n"
                     "2,1,test\n");
    snprintf(want, sizeof want,
             "%s:6: field 'split': user 2 has pairs in test, so this pair cannot be in train", path);
    TEST_ERR_CONTAINS(bb_split_load(path, &ex, &back, &err), &err, want);

    write_text(path, "uid,iid,split\n0,0,train\n1,2,training\n");
    snprintf(want, sizeof want,
             "%s:3: field 'split': expected train, valid or test, got \"training\"", path);
    TEST_ERR_CONTAINS(bb_split_load(path, &ex, &back, &err), &err, want);

    write_text(path, "uid,iid,split\n0,0,train\n1,9,train\n");
    snprintf(want, sizeof want,
             "%s:3: field 'iid': pair (1, 9) does not match fixture/explanations.csv:3 (1, 2)",
             path);
    TEST_ERR_CONTAINS(bb_split_load(path, &ex, &back, &err), &err, want);

    write_text(path, "uid,iid,split\n0,0,train\n");
    snprintf(want, sizeof want, "%s:1: has 1 rows but fixture/explanations.csv has 6", path);
    TEST_ERR_CONTAINS(bb_split_load(path, &ex, &back, &err), &err, want);

    write_text(path, "uid,iid,part\n0,0,train\n");
    snprintf(want, sizeof want, "%s:1: wrong header: expected \"uid,iid,split\"", path);
    TEST_ERR_CONTAINS(bb_split_load(path, &ex, &back, &err), &err, want);
    bb_explanations_free(&ex);
}

/* ------------------------------------------------------------------------------------ */
/* allowed training texts and the leakage check                                         */

static void test_train_texts_only_from_train_rows(void) {
    bb_explanations ex;
    make_explanations(3, 5, &ex); /* rows: (0,0) (1,2) (1,3) (2,4) (2,0) (2,1) */
    bb_split s = {0};
    bb_error err;
    const char *path = bb_test_tmp_path("split_texts.csv");
    write_text(path, "uid,iid,split\n0,0,train\n1,2,train\n1,3,valid\n2,4,test\n2,0,test\n"
                     "2,1,test\n");
    TEST_OK(bb_split_load(path, &ex, &s, &err), &err);
    bb_train_texts t;
    bb_train_texts_build(&ex, &s, &t);
    /* two train rows, four distinct texts each */
    TEST_EQ_INT(t.n, 8);
    TEST_STR_EQ(t.texts[0], "explanation of 0 for 0");
    TEST_EQ_INT(t.kinds[1], BB_TEXT_TITLE);
    TEST_TRUE(bb_train_texts_find(&t, "title 0") >= 0);       /* item 0 has a train row */
    TEST_TRUE(bb_train_texts_find(&t, "  title 0 \n") >= 0);  /* compared trimmed */
    TEST_TRUE(bb_train_texts_find(&t, "title 4") < 0);        /* item 4: test only */
    TEST_TRUE(bb_train_texts_find(&t, "title 3") < 0);        /* item 3: valid only */
    TEST_TRUE(bb_train_texts_find(&t, "usum 2") < 0);         /* zero-shot test user */
    TEST_TRUE(bb_train_texts_find(&t, "usum 1") >= 0);
    TEST_TRUE(bb_train_texts_find(&t, "explanation of 3 for 1") < 0); /* valid row */
    TEST_TRUE(bb_train_texts_find(&t, "explanation of 0 for 2") < 0); /* test row */
    TEST_TRUE(bb_train_texts_find(&t, "") < 0);

    bb_leakage_report rep;
    TEST_OK(bb_leakage_check(&ex, &s, &rep, &err), &err);
    TEST_EQ_INT(rep.leaked, 0);
    TEST_EQ_INT(rep.test_rows, 3);
    /* test rows (2,4) (2,0) (2,1): 3 explanations, titles 4 and 1, usum 2, isum 4 and 1 kept
     * out = 8; title 0 and isum 0 shared with train row (0,0) = 2 */
    TEST_EQ_INT(rep.test_only_texts, 8);
    TEST_EQ_INT(rep.shared_texts, 2);

    /* plant a leak: a test explanation equal (after trimming) to a train row's title */
    replace_text(&ex.rows[4].explanation, "  title 2\t");
    char want[1200];
    snprintf(want, sizeof want,
             "fixture/explanations.csv:6: leakage: the explanation of test pair (uid 2, iid 0) "
             "appears verbatim in a training text source (the title of train pair at "
             "fixture/explanations.csv:3); 1 test explanation leak");
    TEST_ERR_CONTAINS(bb_leakage_check(&ex, &s, &rep, &err), &err, want);
    TEST_EQ_INT(rep.leaked, 1);
    /* a second one, equal to a train explanation */
    replace_text(&ex.rows[5].explanation, "explanation of 0 for 0");
    TEST_ERR_CONTAINS(bb_leakage_check(&ex, &s, &rep, &err), &err, "2 test explanations leak");
    TEST_EQ_INT(rep.leaked, 2);
    TEST_EQ_INT(rep.first_source_kind, BB_TEXT_TITLE);
    /* the same text in a valid row is not a leak */
    replace_text(&ex.rows[4].explanation, "e4");
    replace_text(&ex.rows[5].explanation, "explanation of 3 for 1");
    TEST_OK(bb_leakage_check(&ex, &s, &rep, &err), &err);
    bb_train_texts_free(&t);
    bb_split_free(&s);
    bb_explanations_free(&ex);
}

static int run_cli(const char *args) {
    const char *bin = getenv("BB_BIN");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s > %s 2> %s", bin, args, bb_test_tmp_path("split_cli.out"),
             "/dev/null");
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_cli_split_writes_and_refuses_leaks(void) {
    if (!getenv("BB_BIN")) TEST_SKIP("BB_BIN not set (run through make test)");
    char dir[1100], args[3000], out[1200];
    snprintf(dir, sizeof dir, "%s/split_cli", bb_test_tmpdir());
    mkdir(dir, 0755);
    /* 40 users with one row each; with seed 3 and share 0.1, four test users */
    char path[1200];
    snprintf(path, sizeof path, "%s/explanations.csv", dir);
    FILE *fp = fopen(path, "wb");
    TEST_TRUE(fp != NULL);
    fputs("uid,iid,title,user_summary,item_summary,explanation\n", fp);
    for (int u = 0; u < 40; u++)
        fprintf(fp, "%d,%d,Title %d,\"User %d likes things, many\",Item %d,Because %d.\n", u,
                u % 5, u % 5, u, u % 5, u);
    fclose(fp);
    snprintf(out, sizeof out, "%s/split.csv", dir);
    snprintf(args, sizeof args, "data split %s --seed 3 --out %s --json", dir, out);
    TEST_EQ_INT(run_cli(args), 0);
    bb_explanations ex;
    bb_split s;
    bb_error err;
    TEST_OK(bb_explanations_load(path, &ex, &err), &err);
    TEST_OK(bb_split_load(out, &ex, &s, &err), &err);
    TEST_EQ_INT(s.n_test_users, 4);
    TEST_EQ_INT(s.n_test, 4);
    TEST_EQ_INT(s.n_valid, 4); /* round(0.1 x 36) */
    char *json = NULL;
    TEST_OK(bb_read_file(bb_test_tmp_path("split_cli.out"), &json, NULL, &err), &err);
    int ok = strstr(json, "\"test_users\": 4") && strstr(json, "\"leaked\": 0");
    if (!ok) bb_test_fail(__FILE__, __LINE__, "unexpected JSON %s", json);
    free(json);
    if (!ok) return;

    /* make every explanation the same text: some test one then equals a train one */
    fp = fopen(path, "wb");
    fputs("uid,iid,title,user_summary,item_summary,explanation\n", fp);
    for (int u = 0; u < 40; u++) fprintf(fp, "%d,%d,T,U%d,I,Great place.\n", u, u % 5, u);
    fclose(fp);
    remove(out);
    TEST_EQ_INT(run_cli(args), 1);
    TEST_TRUE(!bb_path_exists(out)); /* nothing written */
    snprintf(args, sizeof args, "data split %s --zero-shot-users 2 --out %s", dir, out);
    TEST_EQ_INT(run_cli(args), 2);
    snprintf(args, sizeof args, "data split %s", dir);
    TEST_EQ_INT(run_cli(args), 2); /* --out is required */
    bb_split_free(&s);
    bb_explanations_free(&ex);
}

const bb_test bb_suite_data_split[] = {
    {"split_properties", test_split_properties},
    {"split_deterministic_by_seed", test_split_deterministic_by_seed},
    {"split_pinned_test_users", test_split_pinned_test_users},
    {"split_extreme_shares", test_split_extreme_shares},
    {"split_file_round_trip_and_validation", test_split_file_round_trip_and_validation},
    {"train_texts_only_from_train_rows", test_train_texts_only_from_train_rows},
    {"cli_split_writes_and_refuses_leaks", test_cli_split_writes_and_refuses_leaks},
    {NULL, NULL},
};
