/* Tests for the BERTScore-style metric and GloVe-format vectors: scores against the numpy
 * fixture (tests/fixtures/text/gen_bertscore.py -> toy_vectors.txt, bertscore_expected.json),
 * a hand-worked pair, the vector-source interface, and the vectors file errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/bertscore_style.h"
#include "metrics/glove_vectors.h"
#include "tests/testhelp.h"
#include "tests/util/text_testutil.h"

static void test_matches_numpy_fixture(void) {
    cJSON *root = tt_read_json(tt_fixture_path("bertscore_expected.json"));
    if (!root) TEST_SKIP("tests/fixtures/text/bertscore_expected.json not found (run from the repo root)");
    glove_vectors *g;
    bb_error err;
    TEST_OK(glove_load(tt_fixture_path("toy_vectors.txt"), &g, &err), &err);
    TEST_EQ_INT(glove_dim(g), (int)tt_json_number(root, "dim"));
    TEST_EQ_INT(glove_size(g), 13);

    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(root, "pairs");
    size_t n = (size_t)cJSON_GetArraySize(pairs);
    const char *refs[16], *cands[16];
    size_t ref_lens[16], cand_lens[16];
    TEST_TRUE(n > 0 && n <= 16);
    for (size_t i = 0; i < n; i++) {
        const cJSON *p = cJSON_GetArrayItem(pairs, (int)i);
        refs[i] = cJSON_GetObjectItemCaseSensitive(p, "reference")->valuestring;
        cands[i] = cJSON_GetObjectItemCaseSensitive(p, "candidate")->valuestring;
        ref_lens[i] = strlen(refs[i]);
        cand_lens[i] = strlen(cands[i]);
    }
    bertstyle_lookup *lookup = glove_source_create(g);
    bertstyle_source src = bertstyle_lookup_source(lookup);
    const cJSON *c;
    int cases = 0;
    double max_diff = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        bertstyle_options opt = {0, 0, 0};
        opt.idf = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "idf"));
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(c, "baseline");
        if (cJSON_IsNumber(b)) opt.rescale = 1, opt.baseline = b->valuedouble;
        bertstyle_result res;
        TEST_OK(bertstyle_score(&src, refs, ref_lens, cands, cand_lens, n, &opt, &res, &err), &err);
        double want[3] = {tt_json_number(c, "precision"), tt_json_number(c, "recall"),
                          tt_json_number(c, "f1")};
        double got[3] = {res.precision, res.recall, res.f1};
        for (int k = 0; k < 3; k++) {
            double d = fabs(want[k] - got[k]);
            if (d > max_diff) max_diff = d;
        }
        size_t i = 0;
        const cJSON *f;
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(c, "pair_f")) {
            double d = fabs(f->valuedouble - res.pair_f[i++]);
            if (d > max_diff) max_diff = d;
        }
        TEST_EQ_INT(i, n);
        TEST_EQ_INT(res.tokens, (long long)tt_json_number(root, "tokens"));
        TEST_EQ_INT(res.skipped, (long long)tt_json_number(root, "skipped"));
        bertstyle_result_free(&res);
        if (max_diff > 1e-12) {
            bb_test_fail(__FILE__, __LINE__, "case %d (idf %d, baseline %g): max diff %.3g from "
                         "numpy", cases, opt.idf, opt.baseline, max_diff);
            break;
        }
        cases++;
    }
    TEST_EQ_INT(cases, 4);
    bertstyle_lookup_free(lookup);
    glove_free(g);
    cJSON_Delete(root);
}

/* A two-dimensional source written by hand, through the lookup interface. */
static const float *hand_lookup(void *ctx, const char *word, size_t len) {
    static const float x[2] = {1, 0}, y[2] = {0, 1}, xy[2] = {3, 3};
    (void)ctx;
    if (len == 1 && word[0] == 'x') return x;
    if (len == 1 && word[0] == 'y') return y;
    if (len == 2 && memcmp(word, "xy", 2) == 0) return xy;
    return NULL;
}

static void test_hand_worked_pair(void) {
    bertstyle_lookup *l = bertstyle_lookup_create(hand_lookup, NULL, 2, "hand");
    bertstyle_source src = bertstyle_lookup_source(l);
    /* ref "x y", cand "XY q": q has no vector (skipped); the candidate's only token xy is at
     * 45 degrees to both x and y: P = cos 45 = 1/sqrt(2); each reference token's best match is
     * xy too: R = 1/sqrt(2); F = 1/sqrt(2) */
    const char *refs[] = {"x y"}, *cands[] = {"XY q"};
    size_t rl[] = {3}, cl[] = {4};
    bertstyle_options opt = {0, 0, 0};
    bertstyle_result r;
    bb_error err;
    TEST_OK(bertstyle_score(&src, refs, rl, cands, cl, 1, &opt, &r, &err), &err);
    TEST_NEAR(r.precision, sqrt(0.5), 1e-15);
    TEST_NEAR(r.recall, sqrt(0.5), 1e-15);
    TEST_NEAR(r.f1, sqrt(0.5), 1e-15);
    TEST_EQ_INT(r.skipped, 1);
    TEST_EQ_INT(r.tokens, 3);
    bertstyle_result_free(&r);
    /* rescaling with b = 0.5: (s - 0.5) / 0.5 */
    opt.rescale = 1;
    opt.baseline = 0.5;
    TEST_OK(bertstyle_score(&src, refs, rl, cands, cl, 1, &opt, &r, &err), &err);
    TEST_NEAR(r.f1, (sqrt(0.5) - 0.5) / 0.5, 1e-15);
    bertstyle_result_free(&r);
    /* with idf over a single reference every reference word has df = 1 = M: weight
     * log(2/2) = 0, so recall has no weight and is 0; xy is unseen: weight log 2 */
    opt.rescale = 0;
    opt.idf = 1;
    TEST_OK(bertstyle_score(&src, refs, rl, cands, cl, 1, &opt, &r, &err), &err);
    TEST_NEAR(r.precision, sqrt(0.5), 1e-15);
    TEST_NEAR(r.recall, 0, 0);
    TEST_NEAR(r.f1, 0, 0);
    bertstyle_result_free(&r);
    bertstyle_lookup_free(l);
}

static const char *write_text(const char *name, const char *text) {
    return tt_write_tmp(name, text, strlen(text));
}

static void test_vectors_file_errors_and_header(void) {
    glove_vectors *g = NULL;
    bb_error err;
    const char *ragged = write_text("ragged.txt", "a 1 2 3\nb 4 5 6\nc 7 8\n");
    TEST_ERR_CONTAINS(glove_load(ragged, &g, &err), &err, "ragged.txt:3: expected 3 values as on line 1, got 2");
    const char *bad = write_text("bad.txt", "a 1 2\nb 4 x\n");
    TEST_ERR_CONTAINS(glove_load(bad, &g, &err), &err, "bad.txt:2: value 2 of 'b': expected a number, got \"x\"");
    const char *utf = write_text("utf.txt", "a 1 2\n\xff 4 5\n");
    TEST_ERR_CONTAINS(glove_load(utf, &g, &err), &err, "utf.txt:2: invalid UTF-8");
    const char *empty = write_text("empty.txt", "\n\n");
    TEST_ERR_CONTAINS(glove_load(empty, &g, &err), &err, "no vectors found");
    TEST_ERR_CONTAINS(glove_load("/nonexistent/vectors.txt", &g, &err), &err, "/nonexistent/vectors.txt");
    /* a word2vec header line, CRLF endings, tabs and a repeated word (first one kept) */
    const char *ok = write_text("w2v.txt", "3 2\r\nthe 0.5 -1\r\ncat\t2 4e-1\r\nthe 9 9\r\n");
    TEST_OK(glove_load(ok, &g, &err), &err);
    TEST_EQ_INT(glove_dim(g), 2);
    TEST_EQ_INT(glove_size(g), 2);
    const float *v = glove_lookup(g, "cat", 3);
    TEST_TRUE(v != NULL);
    TEST_NEAR(v[0], 2.0, 0);
    TEST_NEAR(v[1], 0.4f, 0);
    TEST_NEAR(glove_lookup(g, "the", 3)[0], 0.5, 0);
    TEST_TRUE(glove_lookup(g, "dog", 3) == NULL);
    glove_free(g);
}

static void test_empty_sides_score_zero(void) {
    bertstyle_lookup *l = bertstyle_lookup_create(hand_lookup, NULL, 2, "hand");
    bertstyle_source src = bertstyle_lookup_source(l);
    const char *refs[] = {"", "x", "q"}, *cands[] = {"x", "", "x"};
    size_t rl[] = {0, 1, 1}, cl[] = {1, 0, 1};
    bertstyle_options opt = {0, 0, 0};
    bertstyle_result r;
    bb_error err;
    TEST_OK(bertstyle_score(&src, refs, rl, cands, cl, 3, &opt, &r, &err), &err);
    for (int i = 0; i < 3; i++) TEST_NEAR(r.pair_f[i], 0, 0);
    TEST_NEAR(r.f1, 0, 0);
    TEST_EQ_INT(r.skipped, 1);
    bertstyle_result_free(&r);
    bertstyle_lookup_free(l);
}

const bb_test bb_suite_text_bertscore[] = {
    {"matches_numpy_fixture", test_matches_numpy_fixture},
    {"hand_worked_pair", test_hand_worked_pair},
    {"vectors_file_errors_and_header", test_vectors_file_errors_and_header},
    {"empty_sides_score_zero", test_empty_sides_score_zero},
    {NULL, NULL},
};
