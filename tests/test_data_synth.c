/* Tests for the synthetic generator (datasets/synth.h): byte-identical output for a seed,
 * planted-truth consistency (interactions mostly inside the group, explanations built from
 * shared aspects, summaries that split back into the planted phrases), the files pass the
 * loaders' strict validation, the planted files read back, config errors, safe replace. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "datasets/synth.h"
#include "datasets/synth_text.h"
#include "datasets/train_text.h"
#include "models/base/bb_io.h"
#include "tests/testhelp.h"

static void small_config(bb_synth_config *c) {
    bb_synth_default_config(c);
    c->users = 300;
    c->items = 200;
    c->groups = 4;
    c->aspects = 16;
    c->interactions = 6000;
    c->explained = 200;
    c->seed = 5;
}

static const char *const synth_files[] = {
    "train.csv",         "valid.csv",         "test.csv",   "explanations.csv",
    "planted_users.csv", "planted_items.csv", "aspects.csv", "planted_explanations.csv",
    "synth.json"};
#define N_SYNTH_FILES (sizeof synth_files / sizeof synth_files[0])

static int same_file(const char *dir_a, const char *dir_b, const char *name) {
    char *a = bb_path_join(dir_a, name), *b = bb_path_join(dir_b, name), *ta = NULL, *tb = NULL;
    size_t la = 0, lb = 0;
    bb_error err;
    int ok = bb_read_file(a, &ta, &la, &err) == BB_OK && bb_read_file(b, &tb, &lb, &err) == BB_OK &&
             la == lb && memcmp(ta, tb, la) == 0;
    free(a);
    free(b);
    free(ta);
    free(tb);
    return ok;
}

static int write_synth(const bb_synth_config *c, const char *dir, bb_error *err) {
    bb_synth s;
    if (bb_synth_generate(c, &s, err) != BB_OK) return BB_ERR;
    int rc = bb_synth_write(&s, dir, err);
    bb_synth_free(&s);
    return rc;
}

static void test_synth_byte_identical_by_seed(void) {
    bb_synth_config c;
    small_config(&c);
    char a[1100], b[1100], other[1100];
    snprintf(a, sizeof a, "%s/synth_a", bb_test_tmpdir());
    snprintf(b, sizeof b, "%s/synth_b", bb_test_tmpdir());
    snprintf(other, sizeof other, "%s/synth_other", bb_test_tmpdir());
    bb_error err;
    TEST_OK(write_synth(&c, a, &err), &err);
    TEST_OK(write_synth(&c, b, &err), &err);
    for (size_t k = 0; k < N_SYNTH_FILES; k++) {
        if (!same_file(a, b, synth_files[k]))
            bb_test_fail(__FILE__, __LINE__, "%s differs between two runs with seed 5",
                         synth_files[k]);
    }
    c.seed = 6;
    TEST_OK(write_synth(&c, other, &err), &err);
    TEST_TRUE(!same_file(a, other, "train.csv"));
    TEST_TRUE(!same_file(a, other, "explanations.csv"));
    /* rewriting over an earlier synth output is allowed and leaves no staging dir */
    c.seed = 5;
    TEST_OK(write_synth(&c, other, &err), &err);
    TEST_TRUE(same_file(a, other, "explanations.csv"));
}

/* The generated directory passes every loader check with duplicates rejected, and the
 * planted files read back equal to the generator's truth. */
static void test_synth_files_pass_loaders(void) {
    bb_synth_config c;
    small_config(&c);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/synth_load", bb_test_tmpdir());
    bb_synth s;
    bb_error err;
    TEST_OK(bb_synth_generate(&c, &s, &err), &err);
    TEST_OK(bb_synth_write(&s, dir, &err), &err);
    bb_dataset ds;
    bb_dataset_options strict = {1};
    TEST_OK(bb_dataset_load_opts(dir, &strict, &ds, &err), &err);
    TEST_OK(bb_dataset_check_ids(&ds, c.users, c.items, &err), &err);
    TEST_EQ_INT(ds.train.n + ds.valid.n + ds.test.n, c.interactions);
    TEST_EQ_INT(ds.train.n, s.data.train.n);
    TEST_EQ_INT(ds.n_users, c.users);
    bb_explanations ex;
    char *path = bb_path_join(dir, "explanations.csv");
    TEST_OK(bb_explanations_load(path, &ex, &err), &err);
    free(path);
    TEST_EQ_INT(ex.n, (size_t)c.explained);
    TEST_EQ_INT(ex.duplicate_pairs, 0);
    TEST_OK(bb_explanations_check_ids(&ex, c.users, c.items, &err), &err);
    for (size_t r = 0; r < ex.n; r++) {
        TEST_STR_EQ(ex.rows[r].explanation, s.expl.rows[r].explanation);
        TEST_STR_EQ(ex.rows[r].user_summary, s.expl.rows[r].user_summary);
    }
    int32_t *groups = NULL;
    bb_aspect_lists lists;
    path = bb_path_join(dir, "planted_users.csv");
    TEST_OK(bb_planted_load(path, &groups, &lists, &err), &err);
    free(path);
    TEST_EQ_INT(lists.n, c.users);
    TEST_TRUE(memcmp(groups, s.user_group, (size_t)c.users * sizeof *groups) == 0);
    TEST_TRUE(memcmp(lists.off, s.user_aspects.off, ((size_t)c.users + 1) * sizeof *lists.off) == 0);
    TEST_TRUE(memcmp(lists.list, s.user_aspects.list,
                     (size_t)lists.off[c.users] * sizeof *lists.list) == 0);
    free(groups);
    bb_aspect_lists_free(&lists);
    /* the zero-shot split of synthetic data passes the leakage check */
    bb_split split;
    TEST_OK(bb_split_make(&ex, 0.1, 1, &split, &err), &err);
    TEST_OK(bb_leakage_check(&ex, &split, NULL, &err), &err);
    bb_split_free(&split);
    bb_explanations_free(&ex);
    bb_dataset_free(&ds);
    bb_synth_free(&s);
}

static int contains_phrase_list(const char *summary, const char *const *want, int n) {
    /* "<lead-in> p1, p2 and p3.": drop the lead-in, split on ", " and " and " */
    const char *leadins[BB_SYNTH_USER_LEADINS + BB_SYNTH_ITEM_LEADINS];
    for (int k = 0; k < BB_SYNTH_USER_LEADINS; k++) leadins[k] = bb_synth_user_leadin(k);
    for (int k = 0; k < BB_SYNTH_ITEM_LEADINS; k++)
        leadins[BB_SYNTH_USER_LEADINS + k] = bb_synth_item_leadin(k);
    const char *rest = NULL;
    for (int k = 0; k < BB_SYNTH_USER_LEADINS + BB_SYNTH_ITEM_LEADINS && !rest; k++) {
        size_t n_lead = strlen(leadins[k]);
        if (strncmp(summary, leadins[k], n_lead) == 0 && summary[n_lead] == ' ')
            rest = summary + n_lead + 1;
    }
    if (!rest) return 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", rest);
    size_t len = strlen(buf);
    if (len == 0 || buf[len - 1] != '.') return 0;
    buf[len - 1] = '\0';
    int got = 0;
    for (char *p = buf; p && *p;) {
        char *comma = strstr(p, ", "), *and = strstr(p, " and ");
        char *cut = comma && (!and || comma < and) ? comma : and;
        if (cut) *cut = '\0';
        if (got >= n || strcmp(p, want[got]) != 0) return 0;
        got++;
        p = cut ? cut + (cut == comma ? 2 : 5) : NULL;
    }
    return got == n;
}

static void test_synth_planted_truth_is_consistent(void) {
    bb_synth_config c;
    bb_synth_default_config(&c); /* the default size, as the later stages use it */
    bb_synth s;
    bb_error err;
    TEST_OK(bb_synth_generate(&c, &s, &err), &err);
    size_t total = s.data.train.n + s.data.valid.n + s.data.test.n;
    TEST_EQ_INT(total, 60000);
    /* most interactions stay inside the user's group (planted ~80%; 1/8 by chance) */
    double same = (double)s.same_group_interactions / (double)total;
    if (!(same > 0.72 && same < 0.88))
        bb_test_fail(__FILE__, __LINE__, "same-group share %.3f outside (0.72, 0.88)", same);
    /* ~80/10/10 per user, every user with a train row */
    double train_share = (double)s.data.train.n / (double)total;
    TEST_TRUE(train_share > 0.76 && train_share < 0.84);
    int32_t *train_deg = bb_calloc((size_t)c.users, sizeof *train_deg);
    for (size_t r = 0; r < s.data.train.n; r++) train_deg[s.data.train.user[r]]++;
    int users_without_train = 0;
    for (int u = 0; u < c.users; u++) users_without_train += train_deg[u] == 0;
    free(train_deg);
    TEST_EQ_INT(users_without_train, 0);
    /* each aspect belongs to group a mod G; entities draw most aspects from their group */
    size_t own = 0, all = 0;
    for (int u = 0; u < c.users; u++)
        for (int32_t k = s.user_aspects.off[u]; k < s.user_aspects.off[u + 1]; k++) {
            own += s.aspect_group[s.user_aspects.list[k]] == s.user_group[u];
            all++;
        }
    TEST_TRUE((double)own / (double)all > 0.8);
    for (int a = 0; a < c.aspects; a++) TEST_EQ_INT(s.aspect_group[a], a % c.groups);

    /* explanations: title named, mentioned aspects are the item's, mostly shared with the
     * user, and their phrases appear in the text; summaries split back into the phrases */
    size_t mentioned = 0, shared = 0;
    for (size_t r = 0; r < s.expl.n; r++) {
        const bb_explanation *e = &s.expl.rows[r];
        TEST_TRUE(strstr(e->explanation, e->title) != NULL);
        for (int32_t k = s.expl_aspects.off[r]; k < s.expl_aspects.off[r + 1]; k++) {
            int32_t a = s.expl_aspects.list[k], in_item = 0, in_user = 0;
            for (int32_t j = s.item_aspects.off[e->iid]; j < s.item_aspects.off[e->iid + 1]; j++)
                in_item |= s.item_aspects.list[j] == a;
            for (int32_t j = s.user_aspects.off[e->uid]; j < s.user_aspects.off[e->uid + 1]; j++)
                in_user |= s.user_aspects.list[j] == a;
            TEST_TRUE(in_item);
            TEST_TRUE(strstr(e->explanation, s.aspect_phrase[a]) != NULL);
            mentioned++;
            shared += in_user;
        }
        const char *names[4];
        int n = 0;
        for (int32_t j = s.user_aspects.off[e->uid]; j < s.user_aspects.off[e->uid + 1]; j++)
            names[n++] = s.aspect_phrase[s.user_aspects.list[j]];
        if (!contains_phrase_list(e->user_summary, names, n)) {
            bb_test_fail(__FILE__, __LINE__, "user summary \"%s\" does not split into the user's "
                         "aspects", e->user_summary);
            break;
        }
        n = 0;
        for (int32_t j = s.item_aspects.off[e->iid]; j < s.item_aspects.off[e->iid + 1]; j++)
            names[n++] = s.aspect_phrase[s.item_aspects.list[j]];
        if (!contains_phrase_list(e->item_summary, names, n)) {
            bb_test_fail(__FILE__, __LINE__, "item summary \"%s\" does not split into the item's "
                         "aspects", e->item_summary);
            break;
        }
    }
    TEST_TRUE((double)shared / (double)mentioned > 0.6);
    TEST_TRUE(mentioned >= 2 * s.expl.n - s.expl.n / 10);
    bb_synth_free(&s);
}

static void test_synth_phrases_are_splittable(void) {
    /* 2+ words, no comma, no word "and", all distinct */
    for (int t = 0; t < BB_SYNTH_THEMES; t++)
        for (int k = 0; k < BB_SYNTH_PHRASES_PER_THEME; k++) {
            const char *p = bb_synth_phrase(t, k);
            TEST_TRUE(strchr(p, ' ') != NULL);
            TEST_TRUE(strchr(p, ',') == NULL);
            TEST_TRUE(strstr(p, " and ") == NULL && strncmp(p, "and ", 4) != 0);
            for (int t2 = 0; t2 < BB_SYNTH_THEMES; t2++)
                for (int k2 = 0; k2 < BB_SYNTH_PHRASES_PER_THEME; k2++)
                    if (t2 != t || k2 != k) TEST_TRUE(strcmp(p, bb_synth_phrase(t2, k2)) != 0);
        }
}

static void test_synth_config_errors_and_safe_replace(void) {
    bb_synth_config c;
    small_config(&c);
    bb_error err;
    c.aspects = 200;
    TEST_ERR_CONTAINS(bb_synth_check_config(&c, &err), &err, "--aspects: expected 4 to 96");
    small_config(&c);
    c.groups = 17;
    TEST_ERR_CONTAINS(bb_synth_check_config(&c, &err), &err, "--groups");
    small_config(&c);
    c.interactions = 100;
    TEST_ERR_CONTAINS(bb_synth_check_config(&c, &err), &err, "--interactions: expected 1200");
    small_config(&c);
    c.explained = 5000;
    TEST_ERR_CONTAINS(bb_synth_check_config(&c, &err), &err, "--explained");
    /* a directory with other files is never replaced */
    small_config(&c);
    char dir[1100], keep[1200];
    snprintf(dir, sizeof dir, "%s/not_synth", bb_test_tmpdir());
    mkdir(dir, 0755);
    snprintf(keep, sizeof keep, "%s/precious.txt", dir);
    FILE *fp = fopen(keep, "wb");
    TEST_TRUE(fp != NULL);
    fclose(fp);
    TEST_ERR_CONTAINS(write_synth(&c, dir, &err), &err, "refusing to replace it");
    TEST_TRUE(bb_path_exists(keep));
}

const bb_test bb_suite_data_synth[] = {
    {"synth_byte_identical_by_seed", test_synth_byte_identical_by_seed},
    {"synth_files_pass_loaders", test_synth_files_pass_loaders},
    {"synth_planted_truth_is_consistent", test_synth_planted_truth_is_consistent},
    {"synth_phrases_are_splittable", test_synth_phrases_are_splittable},
    {"synth_config_errors_and_safe_replace", test_synth_config_errors_and_safe_replace},
    {NULL, NULL},
};
