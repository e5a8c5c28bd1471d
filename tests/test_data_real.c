/* Tests on the real XRec datasets in ../shared/datasets (skipped when absent; `make
 * check-real` selects them by the "real" in the suite name): the counts of DESIGN §2, no
 * duplicates, explained pairs where the README says they lie, the zero-shot split passing
 * the leakage check, and fetch_xrec.sh's conversion reproducing the files from XRec-shaped
 * inputs (the hand-made conversion fixture is in test_data_fetch.c). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "datasets/stats.h"
#include "datasets/train_text.h"
#include "models/base/bb_io.h"
#include "tests/testhelp.h"

typedef struct expected_counts {
    const char *name;
    int32_t users, items;
    size_t train, valid, test, explained;
} expected_counts;

/* DESIGN §2 */
static const expected_counts expected[3] = {
    {"amazon", 15349, 15247, 288671, 36084, 36084, 3000},
    {"yelp", 15962, 14085, 314944, 39368, 39368, 3000},
    {"google", 22582, 16557, 329472, 41184, 41184, 3000},
};

/* ../shared/datasets, or NULL with *why set (then the caller skips). Under valgrind only
 * with BB_REAL, to keep `make valgrind` short. */
static const char *real_root(char *buf, size_t cap, const char **why) {
    *why = "../shared/datasets not present";
    if (getenv("BB_VALGRIND") && !getenv("BB_REAL")) {
        *why = "real data under valgrind only with BB_REAL=1";
        return NULL;
    }
    const char *shared = bb_test_shared_dir();
    if (!shared) return NULL;
    snprintf(buf, cap, "%s/datasets", shared);
    return bb_path_exists(buf) ? buf : NULL;
}

static void test_real_counts_match_design(void) {
    char root[1024];
    const char *why;
    if (!real_root(root, sizeof root, &why)) TEST_SKIP(why);
    for (int k = 0; k < 3; k++) {
        const expected_counts *e = &expected[k];
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/%s", root, e->name);
        bb_dataset ds;
        bb_explanations ex;
        bb_error err;
        bb_dataset_options strict = {1}; /* the README says the splits are disjoint */
        TEST_OK(bb_dataset_load_opts(dir, &strict, &ds, &err), &err);
        char *path = bb_path_join(dir, "explanations.csv");
        int rc = bb_explanations_load(path, &ex, &err);
        free(path);
        TEST_OK(rc, &err);
        TEST_OK(bb_explanations_check_ids(&ex, ds.n_users, ds.n_items, &err), &err);
        TEST_EQ_INT(ds.n_users, e->users);
        TEST_EQ_INT(ds.n_items, e->items);
        TEST_EQ_INT(ds.train.n, e->train);
        TEST_EQ_INT(ds.valid.n, e->valid);
        TEST_EQ_INT(ds.test.n, e->test);
        TEST_EQ_INT(ex.n, e->explained);
        TEST_EQ_INT(ex.duplicate_pairs, 0);
        bb_data_stats st;
        bb_data_stats_compute(&ds, &ex, &st);
        /* README: most explained pairs lie in train.csv, a few hundred in test.csv */
        TEST_TRUE(st.explained_in_train > 2000);
        TEST_TRUE(st.explained_in_test > 200 && st.explained_in_test < 500);
        TEST_EQ_INT(st.explained_in_train + st.explained_in_valid + st.explained_in_test +
                        st.explained_in_none, 3000);

        /* the zero-shot split of real data passes the leakage check (every explanation is
         * distinct and none equals a title or summary; see FORMAT.md) */
        bb_split split;
        bb_leakage_report rep;
        TEST_OK(bb_split_make(&ex, BB_SPLIT_DEFAULT_ZERO_SHOT, 1, &split, &err), &err);
        TEST_OK(bb_leakage_check(&ex, &split, &rep, &err), &err);
        TEST_EQ_INT(split.n_test_users, (size_t)(0.1 * (double)split.n_users + 0.5));
        TEST_TRUE(rep.test_only_texts > 0);
        bb_split_free(&split);
        bb_explanations_free(&ex);
        bb_dataset_free(&ds);
    }
}

/* ------------------------------------------------------------------------------------ */
/* fetch_xrec.sh conversion                                                             */

static int have_python(void) { return system("python3 -c 'import csv, pickle' 2>/dev/null") == 0; }

static int run(const char *cmd) {
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* XRec-shaped inputs for amazon (para_dict.pickle with trn_user_nb, tst.pkl as a pickled
 * dict of columns) made from the converted files, converted back: must give the same
 * bytes. Covers the para_dict path and RFC 4180 output quoting on real text. */
static void test_real_xrec_conversion_round_trip(void) {
    char root[1024];
    const char *why;
    if (!real_root(root, sizeof root, &why)) TEST_SKIP(why);
    if (!have_python()) TEST_SKIP("python3 not available");
    char raw[1100], out[1100], cmd[4096];
    snprintf(raw, sizeof raw, "%s/xrec_raw", bb_test_tmpdir());
    snprintf(out, sizeof out, "%s/xrec_out", bb_test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/amazon && python3 - '%s/amazon' '%s/amazon' <<'PY'\n"
             "import csv, pickle, shutil, sys\n"
             "src, dst = sys.argv[1:3]\n"
             "rows = list(csv.reader(open(src + '/train.csv')))[1:]\n"
             "nb = [[] for _ in range(max(int(r[0]) for r in rows) + 1)]\n"
             "for u, i in rows: nb[int(u)].append(int(i))\n"
             "pickle.dump({'user_num': len(nb), 'trn_user_nb': nb}, open(dst + "
             "'/para_dict.pickle', 'wb'))\n"
             "shutil.copy(src + '/valid.csv', dst + '/total_val.csv')\n"
             "shutil.copy(src + '/test.csv', dst + '/total_tst.csv')\n"
             "r = list(csv.reader(open(src + '/explanations.csv', newline='', "
             "encoding='utf-8')))\n"
             "cols = {c: [] for c in r[0]}\n"
             "for row in r[1:]:\n"
             "    for c, v in zip(r[0], row): cols[c].append(int(v) if c in ('uid', 'iid') "
             "else v)\n"
             "pickle.dump(cols, open(dst + '/tst.pkl', 'wb'))\n"
             "PY",
             raw, root, raw);
    TEST_EQ_INT(run(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "bash datasets/fetch_xrec.sh --from %s --out %s --datasets amazon 2>/dev/null", raw,
             out);
    TEST_EQ_INT(run(cmd), 0);
    const char *files[4] = {"train.csv", "valid.csv", "test.csv", "explanations.csv"};
    for (int k = 0; k < 4; k++) {
        snprintf(cmd, sizeof cmd, "cmp -s %s/amazon/%s %s/amazon/%s", root, files[k], out,
                 files[k]);
        if (run(cmd) != 0) bb_test_fail(__FILE__, __LINE__, "converted %s differs", files[k]);
    }
}

const bb_test bb_suite_data_real[] = {
    {"real_counts_match_design", test_real_counts_match_design},
    {"real_xrec_conversion_round_trip", test_real_xrec_conversion_round_trip},
    {NULL, NULL},
};
