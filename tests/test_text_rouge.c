/* Tests for ROUGE and the diversity metrics: hand-worked scores, the bit-parallel LCS against
 * the dynamic programme, rouge_score's edge cases (oracles/rouge_edge_cases.json) and parity
 * to 1e-9 with every ROUGE, Distinct and USR key of oracles/text_metrics.json. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/diversity.h"
#include "metrics/rouge.h"
#include "metrics/text_pairs.h"
#include "metrics/text_score.h"
#include "models/base/bb_rng.h"
#include "tests/testhelp.h"
#include "tests/util/text_testutil.h"

static rouge_scores score(rouge_scorer *r, const char *ref, const char *cand) {
    rouge_scores s;
    rouge_text_scores(r, ref, strlen(ref), cand, strlen(cand), &s);
    return s;
}

#define TEST_PRF(prf, p, r, f)                                                             \
    do {                                                                                   \
        TEST_NEAR((prf).precision, (p), 1e-15);                                            \
        TEST_NEAR((prf).recall, (r), 1e-15);                                               \
        TEST_NEAR((prf).fmeasure, (f), 1e-15);                                             \
    } while (0)

static void test_rouge_hand_worked(void) {
    rouge_scorer *r = rouge_scorer_create(0);
    /* ref "the cat sat on the mat" (6 tokens), cand "the cat on the mat now" (6):
     * unigrams: the x2, cat, on, mat match -> 5/6; bigrams: the-cat, on-the, the-mat -> 3/5;
     * LCS: the cat on the mat -> 5/6 */
    rouge_scores s = score(r, "The cat sat on the mat.", "the CAT on the mat, now");
    TEST_PRF(s.rouge1, 5.0 / 6, 5.0 / 6, 5.0 / 6);
    TEST_PRF(s.rouge2, 3.0 / 5, 3.0 / 5, 3.0 / 5);
    TEST_PRF(s.rougeL, 5.0 / 6, 5.0 / 6, 5.0 / 6);
    TEST_PRF(s.rougeLsum, 5.0 / 6, 5.0 / 6, 5.0 / 6);
    /* different lengths: P = 2/2, R = 2/4, F = 2PR/(P+R) = 2/3 */
    s = score(r, "a b c d", "b d");
    TEST_PRF(s.rouge1, 1.0, 0.5, 2.0 / 3);
    TEST_PRF(s.rouge2, 0.0, 0.0, 0.0);
    TEST_PRF(s.rougeL, 1.0, 0.5, 2.0 / 3);
    /* empty sides score 0 everywhere */
    s = score(r, "", "something");
    TEST_PRF(s.rougeL, 0, 0, 0);
    TEST_PRF(s.rouge1, 0, 0, 0);
    rouge_scorer_free(r);
}

static void test_rouge_lsum_union_lcs(void) {
    rouge_scorer *r = rouge_scorer_create(0);
    /* Lin (2004) section 3.2's example: reference sentence r1 = w1 w2 w3 w4 w5, candidate
     * sentences c1 = w1 w2 w6 w7 w8 and c2 = w1 w3 w8 w9 w5. LCS(r1, c1) = w1 w2,
     * LCS(r1, c2) = w1 w3 w5, union = w1 w2 w3 w5: 4 hits; m = 5, n = 10. */
    rouge_scores s = score(r, "w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5");
    TEST_PRF(s.rougeLsum, 0.4, 0.8, 2 * 0.4 * 0.8 / 1.2);
    /* ROUGE-L on the whole texts (newline is just a separator): LCS = w1 w2 w3 w5 as well */
    TEST_PRF(s.rougeL, 0.4, 0.8, 2 * 0.4 * 0.8 / 1.2);
    /* swapped lines: ROUGE-L sees one long sequence, ROUGE-Lsum matches line by line */
    s = score(r, "line one\nline two", "line two\nline one");
    TEST_PRF(s.rougeL, 0.5, 0.5, 0.5);
    TEST_PRF(s.rougeLsum, 1.0, 1.0, 1.0);
    /* counts prevent double counting: "a" occurs once in the candidate, so the union of two
     * reference sentences each matching it counts it once: hits 1, m = 2, n = 1 */
    s = score(r, "a\n\na", "a");
    TEST_PRF(s.rougeLsum, 1.0, 0.5, 2.0 / 3);
    rouge_scorer_free(r);
}

static void test_lcs_bit_parallel_equals_dp(void) {
    bb_rng rng;
    bb_rng_seed(&rng, 11, "test/lcs");
    rouge_scorer *r = rouge_scorer_create(0);
    int32_t a[300], b[300];
    for (int trial = 0; trial < 400; trial++) {
        /* lengths across the 64-bit word boundaries; small alphabets make long LCSs */
        size_t na = bb_rng_below(&rng, 200), nb = bb_rng_below(&rng, 200);
        if (trial % 7 == 0) na = 64, nb = 130;
        int32_t alphabet = 1 + (int32_t)bb_rng_below(&rng, trial % 2 ? 4 : 50);
        for (size_t i = 0; i < na; i++) a[i] = (int32_t)bb_rng_below(&rng, (uint64_t)alphabet);
        for (size_t i = 0; i < nb; i++) b[i] = (int32_t)bb_rng_below(&rng, (uint64_t)alphabet);
        TEST_EQ_INT(rouge_lcs_length(r, a, na, b, nb), rouge_lcs_length_dp(a, na, b, nb));
    }
    int32_t x[] = {1, 2, 3, 4}, y[] = {4, 3, 2, 1};
    TEST_EQ_INT(rouge_lcs_length(r, x, 4, y, 4), 1);
    TEST_EQ_INT(rouge_lcs_length(r, x, 4, x, 4), 4);
    rouge_scorer_free(r);
}

static void test_rouge_edge_cases_oracle(void) {
    const char *path = tt_oracle_path("rouge_edge_cases.json");
    if (!path) TEST_SKIP("no ../shared/oracles/rouge_edge_cases.json");
    cJSON *root = tt_read_json(path);
    TEST_TRUE(cJSON_IsArray(root));
    rouge_scorer *r = rouge_scorer_create(1); /* the file was made with use_stemmer=True */
    const cJSON *c;
    int cases = 0;
    cJSON_ArrayForEach(c, root) {
        const char *ref = cJSON_GetObjectItemCaseSensitive(c, "reference")->valuestring;
        const char *cand = cJSON_GetObjectItemCaseSensitive(c, "candidate")->valuestring;
        rouge_scores s = score(r, ref, cand);
        const rouge_prf *got[4] = {&s.rouge1, &s.rouge2, &s.rougeL, &s.rougeLsum};
        static const char *const keys[4] = {"rouge1", "rouge2", "rougeL", "rougeLsum"};
        for (int k = 0; k < 4; k++) {
            const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, keys[k]);
            double w[3] = {cJSON_GetArrayItem(want, 0)->valuedouble,
                           cJSON_GetArrayItem(want, 1)->valuedouble,
                           cJSON_GetArrayItem(want, 2)->valuedouble};
            double g[3] = {got[k]->precision, got[k]->recall, got[k]->fmeasure};
            for (int j = 0; j < 3; j++)
                if (!(fabs(w[j] - g[j]) <= 1e-9)) {
                    bb_test_fail(__FILE__, __LINE__, "case %d (\"%s\" vs \"%s\") %s[%d]: rouge_score "
                                 "%.17g, beatbench %.17g", cases, ref, cand, keys[k], j, w[j], g[j]);
                    rouge_scorer_free(r);
                    cJSON_Delete(root);
                    return;
                }
        }
        cases++;
    }
    TEST_TRUE(cases >= 8);
    rouge_scorer_free(r);
    cJSON_Delete(root);
}

static void test_diversity_hand_worked(void) {
    /* lower-cased whitespace tokens: "the cat the", "The dog", "the cat the":
     * unigrams the, cat, dog -> 3 distinct of 8; bigrams the-cat, cat-the, the-dog -> 3 of 5;
     * USR keeps case: 2 distinct sequences of 3 texts; mean length 8/3 */
    const char *texts[] = {"the cat the", "The dog", "the  cat the"};
    size_t lens[] = {11, 7, 12};
    diversity_result d;
    diversity_compute(texts, lens, 3, &d);
    TEST_NEAR(d.distinct1, 3.0 / 8, 1e-15);
    TEST_NEAR(d.distinct2, 3.0 / 5, 1e-15);
    TEST_NEAR(d.usr, 2.0 / 3, 1e-15);
    TEST_NEAR(d.len_mean, 8.0 / 3, 1e-15);
    diversity_compute(texts, lens, 0, &d);
    TEST_NEAR(d.distinct1 + d.distinct2 + d.usr + d.len_mean, 0, 0);
    const char *blank[] = {"", "x"};
    size_t blank_lens[] = {0, 1};
    diversity_compute(blank, blank_lens, 2, &d);
    TEST_NEAR(d.distinct1, 1.0, 0);
    TEST_NEAR(d.distinct2, 0.0, 0); /* no bigrams at all */
    TEST_NEAR(d.usr, 1.0, 0);
}

/* ------------------------------------------------------------------------------------ */
/* Parity with rouge_score on the oracle pairs                                          */

typedef struct parity {
    size_t checked, failed;
    double max_diff;
    char first[512];
} parity;

static void check_value(parity *p, const char *what, double want, double got) {
    double d = fabs(want - got);
    p->checked++;
    if (!(d <= p->max_diff)) p->max_diff = d;
    if (!(d <= 1e-9) && p->failed++ == 0)
        snprintf(p->first, sizeof p->first, "%s: reference %.17g, beatbench %.17g", what, want, got);
}

static void rouge_parity_for(const char *dataset) {
    char name[64];
    snprintf(name, sizeof name, "pairs_%s.csv", dataset);
    char pairs_path[2048], json_path[2048];
    const char *p1 = tt_oracle_path(name);
    snprintf(pairs_path, sizeof pairs_path, "%s", p1 ? p1 : "");
    const char *p2 = tt_oracle_path("text_metrics.json");
    snprintf(json_path, sizeof json_path, "%s", p2 ? p2 : "");
    if (!p1 || !p2) TEST_SKIP("no ../shared/oracles");
    cJSON *root = tt_read_json(json_path);
    TEST_TRUE(root != NULL);
    const cJSON *oracle = cJSON_GetObjectItemCaseSensitive(root, dataset);
    text_pairs pairs;
    bb_error err;
    TEST_OK(text_pairs_load_csv(pairs_path, NULL, NULL, &pairs, &err), &err);
    parity p = {0, 0, 0, ""};
    static const char *const types[4] = {"rouge1", "rouge2", "rougeL", "rougeLsum"};
    for (int stem = 0; stem <= 1; stem++) {
        rouge_prf means[4];
        double *pair_f[4];
        for (int k = 0; k < 4; k++) pair_f[k] = calloc(pairs.n, sizeof(double));
        text_score_rouge((const char *const *)pairs.refs, pairs.ref_lens,
                         (const char *const *)pairs.cands, pairs.cand_lens, pairs.n, stem,
                         1 + stem, means, pair_f);
        for (int k = 0; k < 4; k++) {
            char key[96];
            const char *st = stem ? "True" : "False";
            snprintf(key, sizeof key, "%s/precision/stem=%s", types[k], st);
            check_value(&p, key, tt_json_number(oracle, key), means[k].precision);
            snprintf(key, sizeof key, "%s/recall/stem=%s", types[k], st);
            check_value(&p, key, tt_json_number(oracle, key), means[k].recall);
            snprintf(key, sizeof key, "%s/fmeasure/stem=%s", types[k], st);
            check_value(&p, key, tt_json_number(oracle, key), means[k].fmeasure);
        }
        if (!stem) {
            const cJSON *rec;
            size_t i = 0;
            cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(oracle, "per_pair")) {
                static const char *const keys[3] = {"rouge1_f", "rouge2_f", "rougeL_f"};
                for (int k = 0; k < 3; k++) {
                    char key[64];
                    snprintf(key, sizeof key, "per_pair[%zu].%s", i, keys[k]);
                    check_value(&p, key, tt_json_number(rec, keys[k]), pair_f[k][i]);
                }
                i++;
            }
        }
        for (int k = 0; k < 4; k++) free(pair_f[k]);
    }
    diversity_result d;
    diversity_compute((const char *const *)pairs.cands, pairs.cand_lens, pairs.n, &d);
    check_value(&p, "distinct-1", tt_json_number(oracle, "distinct-1"), d.distinct1);
    check_value(&p, "distinct-2", tt_json_number(oracle, "distinct-2"), d.distinct2);
    check_value(&p, "usr", tt_json_number(oracle, "usr"), d.usr);
    text_pairs_free(&pairs);
    cJSON_Delete(root);
    TEST_EQ_INT(p.checked, 2 * 12 + 90 + 3);
    if (p.failed)
        bb_test_fail(__FILE__, __LINE__, "%s: %zu of %zu values differ by > 1e-9 (max diff %.3g); "
                     "first: %s", dataset, p.failed, p.checked, p.max_diff, p.first);
}

static void test_rouge_parity_amazon(void) { rouge_parity_for("amazon"); }
static void test_rouge_parity_yelp(void) { rouge_parity_for("yelp"); }
static void test_rouge_parity_google(void) { rouge_parity_for("google"); }

const bb_test bb_suite_text_rouge[] = {
    {"rouge_hand_worked", test_rouge_hand_worked},
    {"rouge_lsum_union_lcs", test_rouge_lsum_union_lcs},
    {"lcs_bit_parallel_equals_dp", test_lcs_bit_parallel_equals_dp},
    {"rouge_edge_cases_oracle", test_rouge_edge_cases_oracle},
    {"diversity_hand_worked", test_diversity_hand_worked},
    {"rouge_parity_amazon", test_rouge_parity_amazon},
    {"rouge_parity_yelp", test_rouge_parity_yelp},
    {"rouge_parity_google", test_rouge_parity_google},
    {NULL, NULL},
};
