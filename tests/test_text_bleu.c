/* Tests for BLEU: nltk's documentation examples and edge cases (values from nltk 3.8, see
 * tests/fixtures/text/gen_reference_values.py), math.fsum, the n-gram counters, and parity
 * to 1e-9 with every BLEU key of ../shared/oracles/text_metrics.json. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/bleu.h"
#include "metrics/ngram_count.h"
#include "metrics/text_pairs.h"
#include "metrics/text_score.h"
#include "metrics/text_tokenize.h"
#include "metrics/text_vocab.h"
#include "models/base/bb_rng.h"
#include "tests/testhelp.h"
#include "tests/util/text_testutil.h"

/* Token ids of whitespace-separated words (case kept, one vocabulary per test). */
typedef struct sent {
    int32_t ids[64];
    size_t n;
} sent;

static sent words(text_vocab *v, const char *text) {
    sent s = {{0}, 0};
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        const char *start = p;
        while (*p && *p != ' ') p++;
        if (p > start && s.n < 64) s.ids[s.n++] = text_vocab_intern(v, start, (size_t)(p - start));
    }
    return s;
}

static double sentence_bleu(const char *hyp, const char *const *refs, size_t n_refs,
                            bleu_smoothing sm) {
    text_vocab *v = text_vocab_create();
    ngram_table *t = ngram_table_create();
    sent h = words(v, hyp), r[4];
    const int32_t *rp[4];
    size_t rl[4];
    for (size_t k = 0; k < n_refs; k++) {
        r[k] = words(v, refs[k]);
        rp[k] = r[k].ids;
        rl[k] = r[k].n;
    }
    bleu_stats s;
    bleu_pair_stats(t, h.ids, h.n, rp, rl, n_refs, 0, &s);
    double b = bleu_score(&s, 4, sm);
    ngram_table_free(t);
    text_vocab_free(v);
    return b;
}

static const char *const HYP1 =
    "It is a guide to action which ensures that the military always obeys the commands of the party";
static const char *const HYP2 =
    "It is to insure the troops forever hearing the activity guidebook that party direct";
static const char *const REFS[] = {
    "It is a guide to action that ensures that the military will forever heed Party commands",
    "It is the guiding principle which guarantees the military forces always being under the "
    "command of the Party",
    "It is the practical guide for the army always to heed the directions of the party"};

static void test_nltk_docstring_examples(void) {
    TEST_NEAR(sentence_bleu(HYP1, REFS, 3, BLEU_SMOOTH_NONE), 0.5045666840058485, 1e-15);
    /* no 3-gram or 4-gram matches: no smoothing gives sys.float_info.min's log, not 0 */
    double none = sentence_bleu(HYP2, REFS, 3, BLEU_SMOOTH_NONE);
    TEST_TRUE(none > 0);
    TEST_NEAR(none / 5.92086005993801e-155, 1.0, 1e-13);
    TEST_NEAR(sentence_bleu(HYP2, REFS, 3, BLEU_SMOOTH_METHOD1), 0.03703131191121491, 1e-15);
    TEST_NEAR(sentence_bleu(HYP2, REFS, 3, BLEU_SMOOTH_METHOD2), 0.13111209575157431, 1e-15);
    TEST_NEAR(sentence_bleu(HYP2, REFS, 3, BLEU_SMOOTH_METHOD3), 0.06963003305718092, 1e-15);
    TEST_NEAR(sentence_bleu(HYP2, REFS, 3, BLEU_SMOOTH_METHOD4), 0.050586660655564, 1e-15);
}

static void test_corpus_bleu_sums_statistics(void) {
    /* nltk's corpus_bleu example: 0.5920778868801042 (not the mean of sentence BLEUs) */
    text_vocab *v = text_vocab_create();
    ngram_table *t = ngram_table_create();
    sent h1 = words(v, HYP1), r1 = words(v, REFS[0]), r2 = words(v, REFS[1]),
         r3 = words(v, REFS[2]);
    sent h2 = words(v, "he read the book because he was interested in world history");
    sent r4 = words(v, "he was interested in world history because he read the book");
    const int32_t *refs1[3] = {r1.ids, r2.ids, r3.ids}, *refs2[1] = {r4.ids};
    size_t lens1[3] = {r1.n, r2.n, r3.n}, lens2[1] = {r4.n};
    bleu_stats a, b, corpus;
    memset(&corpus, 0, sizeof corpus);
    bleu_pair_stats(t, h1.ids, h1.n, refs1, lens1, 3, 0, &a);
    bleu_pair_stats(t, h2.ids, h2.n, refs2, lens2, 1, 0, &b);
    bleu_stats_add(&corpus, &a);
    bleu_stats_add(&corpus, &b);
    TEST_NEAR(bleu_score(&corpus, 4, BLEU_SMOOTH_NONE), 0.5920778868801042, 1e-15);
    /* hand-checked statistics of the second pair: 11 unigrams all match, 9 of 10 bigrams */
    TEST_EQ_INT(b.matches[0], 11);
    TEST_EQ_INT(b.totals[0], 11);
    TEST_EQ_INT(b.matches[1], 9);
    TEST_EQ_INT(b.totals[1], 10);
    TEST_EQ_INT(b.ref_len, 11);
    ngram_table_free(t);
    text_vocab_free(v);
}

static void test_edge_cases_as_nltk(void) {
    const char *ref4[] = {"a b c d"};
    /* 3 tokens: no 3- or 4-grams, each order's denominator is max(1, 0) = 1 */
    double none = sentence_bleu("a b x", ref4, 1, BLEU_SMOOTH_NONE);
    TEST_NEAR(none / 8.121328445417258e-155, 1.0, 1e-13);
    TEST_NEAR(sentence_bleu("a b x", ref4, 1, BLEU_SMOOTH_METHOD4), 0.15174681566793558, 1e-15);
    const char *ref2[] = {"a b"}, *empty[] = {""};
    TEST_NEAR(sentence_bleu("", ref2, 1, BLEU_SMOOTH_METHOD1), 0, 0);
    TEST_NEAR(sentence_bleu("a b", empty, 1, BLEU_SMOOTH_METHOD1), 0, 0);
    /* references of 13 and 11 tokens for a 12-token hypothesis: ties go to the shorter one,
     * so there is no brevity penalty and the score is exactly 1 */
    const char *tie[] = {"w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 x", "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10"};
    TEST_NEAR(sentence_bleu("w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11", tie, 2, BLEU_SMOOTH_NONE), 1.0, 0);
    /* brevity penalty by hand: 2 of 4 tokens, all unigrams match -> exp(1 - 4/2) */
    bleu_stats s = {{2, 1, 0, 0}, {2, 1, 1, 1}, 2, 4};
    TEST_NEAR(bleu_score(&s, 1, BLEU_SMOOTH_NONE), exp(-1.0), 1e-16);
}

static void test_fsum_is_exactly_rounded(void) {
    /* math.fsum: 1e-100, 1.0, 1.0000000000000002 */
    double a[] = {1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50};
    TEST_NEAR(bleu_fsum(a, 7), 1e-100, 0);
    double b[10];
    for (int i = 0; i < 10; i++) b[i] = 0.1;
    TEST_NEAR(bleu_fsum(b, 10), 1.0, 0);
    double c[] = {1.0, 1e-16, 1e-16};
    TEST_NEAR(bleu_fsum(c, 3), 1.0000000000000002, 0);
    TEST_NEAR(bleu_fsum(NULL, 0), 0, 0);
}

/* The small-id counter (arrays, bitmaps, pruning) and the general hashed one must agree. */
static void test_ngram_counters_agree(void) {
    bb_rng rng;
    bb_rng_seed(&rng, 5, "test/ngram");
    ngram_table *t = ngram_table_create();
    for (int trial = 0; trial < 300; trial++) {
        int32_t hyp[80], refs[3][80];
        const int32_t *rp[3] = {refs[0], refs[1], refs[2]};
        size_t rl[3], hl = bb_rng_below(&rng, 80), n_refs = 1 + bb_rng_below(&rng, 3);
        uint32_t vocab = trial % 3 == 0 ? 200 : 2 + (uint32_t)bb_rng_below(&rng, 12);
        for (size_t i = 0; i < hl; i++) hyp[i] = (int32_t)bb_rng_below(&rng, vocab);
        for (size_t r = 0; r < n_refs; r++) {
            rl[r] = bb_rng_below(&rng, 80);
            for (size_t i = 0; i < rl[r]; i++) refs[r][i] = (int32_t)bb_rng_below(&rng, vocab);
        }
        int64_t fast[4], slow[4];
        ngram_clip_small(t, 4, hyp, hl, rp, rl, n_refs, vocab, fast);
        ngram_table_reset(t, 4, 0, 0);
        for (size_t r = 0; r < n_refs; r++) ngram_table_add_ref(t, rp[r], rl[r]);
        ngram_table_match(t, hyp, hl, slow);
        /* brute force: clipped counts by comparing every n-gram */
        for (int k = 0; k < 4; k++) {
            int64_t brute = 0;
            size_t order = (size_t)k + 1;
            for (size_t i = 0; i + order <= hl; i++) {
                int seen_before = 0;
                for (size_t j = 0; j < i && !seen_before; j++)
                    seen_before = memcmp(hyp + j, hyp + i, order * sizeof *hyp) == 0;
                if (seen_before) continue;
                int64_t in_hyp = 0, max_ref = 0;
                for (size_t j = 0; j + order <= hl; j++)
                    in_hyp += memcmp(hyp + j, hyp + i, order * sizeof *hyp) == 0;
                for (size_t r = 0; r < n_refs; r++) {
                    int64_t c = 0;
                    for (size_t j = 0; j + order <= rl[r]; j++)
                        c += memcmp(refs[r] + j, hyp + i, order * sizeof *hyp) == 0;
                    if (c > max_ref) max_ref = c;
                }
                brute += in_hyp < max_ref ? in_hyp : max_ref;
            }
            TEST_EQ_INT(fast[k], brute);
            TEST_EQ_INT(slow[k], brute);
        }
    }
    ngram_table_free(t);
}

/* ------------------------------------------------------------------------------------ */
/* Parity with nltk on the oracle pairs                                                 */

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
        snprintf(p->first, sizeof p->first, "%s: nltk %.17g, beatbench %.17g", what, want, got);
}

static void bleu_parity_for(const char *dataset) {
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
    TEST_EQ_INT(pairs.n, 1000);

    parity p = {0, 0, 0, ""};
    static const char *const toks[] = {"treebank", "whitespace"};
    static const char *const smooths[] = {"method1", "none"};
    for (int ti = 0; ti < 2; ti++)
        for (int si = 0; si < 2; si++) {
            tokenizer_kind kind = ti == 0 ? TOKENIZER_TREEBANK : TOKENIZER_WHITESPACE;
            bleu_smoothing sm = si == 0 ? BLEU_SMOOTH_METHOD1 : BLEU_SMOOTH_NONE;
            double bleu[4], mean;
            double *pair_b4 = calloc(pairs.n, sizeof *pair_b4);
            text_score_bleu((const char *const *)pairs.refs, pairs.ref_lens,
                            (const char *const *)pairs.cands, pairs.cand_lens, pairs.n, kind, sm,
                            1 + ti, bleu, &mean, NULL, pair_b4);
            for (int k = 0; k < 4; k++) {
                char key[64];
                snprintf(key, sizeof key, "BLEU-%d/%s/%s", k + 1, toks[ti], smooths[si]);
                check_value(&p, key, tt_json_number(oracle, key), bleu[k]);
            }
            if (ti == 0 && si == 0) {
                check_value(&p, "sentence_bleu4_mean/treebank/method1",
                            tt_json_number(oracle, "sentence_bleu4_mean/treebank/method1"), mean);
                const cJSON *per_pair = cJSON_GetObjectItemCaseSensitive(oracle, "per_pair");
                size_t i = 0;
                const cJSON *rec;
                cJSON_ArrayForEach(rec, per_pair) {
                    char key[64];
                    snprintf(key, sizeof key, "per_pair[%zu].sentence_bleu4", i);
                    check_value(&p, key, tt_json_number(rec, "sentence_bleu4"), pair_b4[i]);
                    i++;
                }
                TEST_EQ_INT(i, 30);
            }
            free(pair_b4);
        }
    text_pairs_free(&pairs);
    cJSON_Delete(root);
    TEST_EQ_INT(p.checked, 4 * 4 + 1 + 30);
    if (p.failed)
        bb_test_fail(__FILE__, __LINE__, "%s: %zu of %zu BLEU values differ from nltk by > 1e-9 "
                     "(max diff %.3g); first: %s", dataset, p.failed, p.checked, p.max_diff, p.first);
}

static void test_bleu_parity_amazon(void) { bleu_parity_for("amazon"); }
static void test_bleu_parity_yelp(void) { bleu_parity_for("yelp"); }
static void test_bleu_parity_google(void) { bleu_parity_for("google"); }

const bb_test bb_suite_text_bleu[] = {
    {"nltk_docstring_examples", test_nltk_docstring_examples},
    {"corpus_bleu_sums_statistics", test_corpus_bleu_sums_statistics},
    {"edge_cases_as_nltk", test_edge_cases_as_nltk},
    {"fsum_is_exactly_rounded", test_fsum_is_exactly_rounded},
    {"ngram_counters_agree", test_ngram_counters_agree},
    {"bleu_parity_amazon", test_bleu_parity_amazon},
    {"bleu_parity_yelp", test_bleu_parity_yelp},
    {"bleu_parity_google", test_bleu_parity_google},
    {NULL, NULL},
};
