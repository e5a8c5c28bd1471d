/* Tests for datasets/fetch_xrec.sh's conversion on a tiny hand-made XRec-shaped fixture
 * (no network; needs python3, skipped without it): columns picked by name, texts with a
 * comma, quotes and a newline written as RFC 4180 CSV that our loaders read back, and a
 * bad id refused without leaving a half-written dataset. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "datasets/dataset.h"
#include "models/base/bb_io.h"
#include "tests/testhelp.h"

static int have_python(void) { return system("python3 -c 'import csv, pickle' 2>/dev/null") == 0; }

static int run(const char *cmd) {
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void write_text(const char *path, const char *text) {
    FILE *fp = fopen(path, "wb");
    if (!fp) abort();
    fputs(text, fp);
    fclose(fp);
}

/* A hand-made XRec-shaped yelp: total_*.csv with an extra index column, tst.pkl as a list
 * of row dicts whose texts hold a comma, quotes and a newline. */
static void test_fetch_xrec_converts_fixture(void) {
    if (!have_python()) TEST_SKIP("python3 not available");
    char raw[1100], out[1100], path[1200], cmd[4096];
    snprintf(raw, sizeof raw, "%s/xrec_fixture", bb_test_tmpdir());
    snprintf(out, sizeof out, "%s/xrec_fixture_out", bb_test_tmpdir());
    snprintf(path, sizeof path, "%s/yelp", raw);
    bb_mkdir_p(path, NULL);
    snprintf(path, sizeof path, "%s/yelp/total_trn.csv", raw);
    write_text(path, ",user,item\n0,0,1\n1,1,0\n2,2,2\n");
    snprintf(path, sizeof path, "%s/yelp/total_val.csv", raw);
    write_text(path, "user,item\n0,2\n");
    snprintf(path, sizeof path, "%s/yelp/total_tst.csv", raw);
    write_text(path, "user,item\n1,2\n");
    char script[1200];
    snprintf(script, sizeof script, "%s/make_pkl.py", raw);
    write_text(script, "import pickle, sys\n"
                       "rows = [{'uid': 1, 'iid': 2, 'title': 'Cafe, Bar',\n"
                       "         'user_summary': 'likes \"quiet\" places',\n"
                       "         'item_summary': 'two\\nlines',\n"
                       "         'explanation': 'The user would enjoy it.'}]\n"
                       "pickle.dump(rows, open(sys.argv[1], 'wb'))\n");
    snprintf(cmd, sizeof cmd, "python3 %s %s/yelp/tst.pkl", script, raw);
    TEST_EQ_INT(run(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "bash datasets/fetch_xrec.sh --from %s --out %s --datasets yelp 2>/dev/null", raw,
             out);
    TEST_EQ_INT(run(cmd), 0);
    snprintf(path, sizeof path, "%s/yelp", out);
    bb_dataset ds;
    bb_error err;
    TEST_OK(bb_dataset_load(path, &ds, &err), &err);
    TEST_EQ_INT(ds.train.n, 3);
    TEST_EQ_INT(ds.train.user[1], 1);
    TEST_EQ_INT(ds.train.item[1], 0);
    TEST_EQ_INT(ds.valid.n, 1);
    TEST_EQ_INT(ds.test.item[0], 2);
    bb_dataset_free(&ds);
    snprintf(path, sizeof path, "%s/yelp/explanations.csv", out);
    bb_explanations ex;
    TEST_OK(bb_explanations_load(path, &ex, &err), &err);
    TEST_EQ_INT(ex.n, 1);
    TEST_EQ_INT(ex.rows[0].uid, 1);
    TEST_STR_EQ(ex.rows[0].title, "Cafe, Bar");
    TEST_STR_EQ(ex.rows[0].user_summary, "likes \"quiet\" places");
    TEST_STR_EQ(ex.rows[0].item_summary, "two\nlines");
    bb_explanations_free(&ex);
    /* a negative id is refused and nothing is written */
    snprintf(path, sizeof path, "%s/yelp/total_val.csv", raw);
    write_text(path, "user,item\n0,-2\n");
    snprintf(cmd, sizeof cmd,
             "bash datasets/fetch_xrec.sh --from %s --out %s/bad --datasets yelp 2>/dev/null",
             raw, out);
    TEST_EQ_INT(run(cmd), 1);
    snprintf(path, sizeof path, "%s/bad/yelp", out);
    TEST_TRUE(!bb_path_exists(path));
}

const bb_test bb_suite_data_fetch[] = {
    {"fetch_xrec_converts_fixture", test_fetch_xrec_converts_fixture},
    {NULL, NULL},
};
