/* Tests for metrics/ranking (full-ranking evaluation) and the Pop baseline: hand-worked
 * metric values, tie-breaking, masks, chunk/thread invariance, bad input. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/pop.h"
#include "metrics/ranking.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "tests/testhelp.h"

/* ------------------------------------------------------------------------------------------
 * A fixed-score callback scorer: row u of a dense (n_users x n_items) matrix. */
typedef struct {
    const float *matrix;
    int32_t n_items;
} dense_scores;

static void dense_score(void *ctx, const int32_t *users, int n, float *out) {
    const dense_scores *d = ctx;
    for (int r = 0; r < n; r++)
        memcpy(out + (size_t)r * d->n_items, d->matrix + (size_t)users[r] * d->n_items,
               (size_t)d->n_items * sizeof(float));
}

static bb_rank_scorer dense_scorer(dense_scores *d) {
    bb_rank_scorer s;
    memset(&s, 0, sizeof s);
    s.n_items = d->n_items;
    s.score = dense_score;
    s.ctx = d;
    return s;
}

static double inv_log2(int rank_1based) { return 1.0 / log2(rank_1based + 1.0); }

/* ------------------------------------------------------------------------------------------ */

static void test_metrics_hand_worked_single_user(void) {
    /* Items 0..5, scores below; item 0 is a training item (masked), held-out {1, 3, 5}.
     * Ranking after the mask: 2 (0.8), 3 (0.7), 5 (0.5), 4 (0.3), 1 (0.1). */
    const float scores[6] = {0.9f, 0.1f, 0.8f, 0.7f, 0.3f, 0.5f};
    dense_scores d = {scores, 6};
    bb_rank_scorer sc = dense_scorer(&d);
    bb_error err;
    bb_rank_lists train, held;
    const int32_t tu[] = {0}, ti[] = {0}, hu[] = {0, 0, 0}, hi[] = {5, 1, 3};
    TEST_OK(bb_rank_lists_build(&train, 1, 6, tu, ti, 1, &err), &err);
    TEST_OK(bb_rank_lists_build(&held, 1, 6, hu, hi, 3, &err), &err);
    bb_rank_options opt;
    bb_rank_options_default(&opt);
    opt.ks[0] = 1, opt.ks[1] = 2, opt.ks[2] = 3, opt.ks[3] = 10, opt.n_ks = 4;
    opt.mask[0] = &train;
    bb_rank_result r;
    TEST_OK(bb_rank_evaluate(&sc, &held, &opt, &r, &err), &err);
    TEST_EQ_INT(r.n_users, 1);
    TEST_EQ_INT(r.n_heldout[0], 3);
    /* K=1: [2] — no hit. */
    TEST_NEAR(r.mean[0][BB_RANK_RECALL], 0.0, 0);
    TEST_NEAR(r.mean[0][BB_RANK_NDCG], 0.0, 0);
    TEST_NEAR(r.mean[0][BB_RANK_MRR], 0.0, 0);
    TEST_NEAR(r.mean[0][BB_RANK_HIT], 0.0, 0);
    /* K=2: [2,3] — one hit at rank 2. IDCG over min(3,2) = 2 ranks.
     * ndcg = 0.63093/(1 + 0.63093) = 0.386853 */
    TEST_NEAR(r.mean[1][BB_RANK_RECALL], 1.0 / 3.0, 1e-15);
    TEST_NEAR(r.mean[1][BB_RANK_PRECISION], 0.5, 1e-15);
    TEST_NEAR(r.mean[1][BB_RANK_NDCG], inv_log2(2) / (1.0 + inv_log2(2)), 1e-15);
    TEST_NEAR(r.mean[1][BB_RANK_NDCG], 0.386853, 1e-6);
    TEST_NEAR(r.mean[1][BB_RANK_MRR], 0.5, 1e-15);
    TEST_NEAR(r.mean[1][BB_RANK_HIT], 1.0, 0);
    /* K=3: [2,3,5] — hits at ranks 2 and 3; ndcg = (0.63093+0.5)/(1+0.63093+0.5) = 0.530721 */
    TEST_NEAR(r.mean[2][BB_RANK_RECALL], 2.0 / 3.0, 1e-15);
    TEST_NEAR(r.mean[2][BB_RANK_PRECISION], 2.0 / 3.0, 1e-15);
    TEST_NEAR(r.mean[2][BB_RANK_NDCG], 0.530721, 1e-6);
    TEST_NEAR(r.mean[2][BB_RANK_MRR], 0.5, 1e-15);
    /* K=10 > 5 candidates: [2,3,5,4,1] — hits at 2, 3, 5; precision still divides by K.
     * ndcg = (0.63093+0.5+0.386853)/(1+0.63093+0.5) = 0.712263 */
    TEST_NEAR(r.mean[3][BB_RANK_RECALL], 1.0, 1e-15);
    TEST_NEAR(r.mean[3][BB_RANK_PRECISION], 0.3, 1e-15);
    TEST_NEAR(r.mean[3][BB_RANK_NDCG],
              (inv_log2(2) + inv_log2(3) + inv_log2(5)) / (1 + inv_log2(2) + inv_log2(3)), 1e-15);
    TEST_NEAR(r.mean[3][BB_RANK_NDCG], 0.712263, 1e-6);
    TEST_NEAR(r.hr_micro[3], 1.0, 0);
    TEST_EQ_INT(r.hits[3], 3);
    bb_rank_result_free(&r);
    bb_rank_lists_free(&train);
    bb_rank_lists_free(&held);
}

static void test_metrics_averages_and_hr_micro(void) {
    /* 3 users, 4 items, no mask, K = 1 and 2.
     * user 0: scores favour item 0; held-out {0}        -> K1: 1 hit of 1
     * user 1: scores favour item 3, then 2; held-out {0, 1, 2} -> K1: 0 of 3; K2: 1 of 3 (rank 2)
     * user 2: no held-out item -> not evaluated. */
    const float m[3 * 4] = {0.9f, 0.1f, 0.2f, 0.3f, /**/ 0.1f, 0.2f, 0.5f, 0.9f,
                            /**/ 1.0f, 1.0f, 1.0f, 1.0f};
    dense_scores d = {m, 4};
    bb_rank_scorer sc = dense_scorer(&d);
    bb_error err;
    bb_rank_lists held;
    const int32_t hu[] = {0, 1, 1, 1, 1}, hi[] = {0, 0, 1, 2, 2}; /* (1,2) duplicated */
    TEST_OK(bb_rank_lists_build(&held, 3, 4, hu, hi, 5, &err), &err);
    TEST_EQ_INT(held.offsets[2] - held.offsets[1], 3); /* duplicate kept once */
    bb_rank_options opt;
    bb_rank_options_default(&opt);
    opt.ks[0] = 1, opt.ks[1] = 2, opt.n_ks = 2;
    bb_rank_result r;
    TEST_OK(bb_rank_evaluate(&sc, &held, &opt, &r, &err), &err);
    TEST_EQ_INT(r.n_users, 2);
    TEST_EQ_INT(r.users[0], 0);
    TEST_EQ_INT(r.users[1], 1);
    TEST_EQ_INT(r.total_heldout, 4);
    /* K=1: recall (1 + 0)/2, hit 1/2, hr_micro 1/4, precision (1 + 0)/2 */
    TEST_NEAR(r.mean[0][BB_RANK_RECALL], 0.5, 1e-15);
    TEST_NEAR(r.mean[0][BB_RANK_HIT], 0.5, 1e-15);
    TEST_NEAR(r.mean[0][BB_RANK_PRECISION], 0.5, 1e-15);
    TEST_NEAR(r.hr_micro[0], 0.25, 1e-15);
    /* K=2: user 0 recall 1, precision 1/2, ndcg 1, mrr 1; user 1 [3,2]: recall 1/3,
     * precision 1/2, ndcg (1/log2 3)/(1 + 1/log2 3), mrr 1/2. hr_micro = 2/4. */
    TEST_NEAR(r.mean[1][BB_RANK_RECALL], (1.0 + 1.0 / 3.0) / 2, 1e-15);
    TEST_NEAR(r.mean[1][BB_RANK_PRECISION], 0.5, 1e-15);
    TEST_NEAR(r.mean[1][BB_RANK_NDCG], (1.0 + inv_log2(2) / (1.0 + inv_log2(2))) / 2, 1e-15);
    TEST_NEAR(r.mean[1][BB_RANK_MRR], 0.75, 1e-15);
    TEST_NEAR(r.mean[1][BB_RANK_HIT], 1.0, 1e-15);
    TEST_NEAR(r.hr_micro[1], 0.5, 1e-15);
    TEST_NEAR(bb_rank_user_value(&r, 1, 1, BB_RANK_RECALL), 1.0 / 3.0, 1e-15);
    TEST_EQ_INT(r.hits[1 * 2 + 1], 1);
    bb_rank_result_free(&r);
    bb_rank_lists_free(&held);
}

static void test_ties_break_by_lower_item_id(void) {
    /* All-equal scores: the top K are the lowest unmasked ids. NaN counts as -inf. */
    float s[10];
    for (int i = 0; i < 10; i++) s[i] = 0.5f;
    s[7] = 0.9f;
    s[1] = NAN;
    const int32_t mask[] = {0, 3, 3};
    int32_t out[10];
    int n = bb_rank_topk(s, 10, mask, 3, 4, out);
    TEST_EQ_INT(n, 4);
    TEST_EQ_INT(out[0], 7);
    TEST_EQ_INT(out[1], 2);
    TEST_EQ_INT(out[2], 4);
    TEST_EQ_INT(out[3], 5);
    /* All of them: NaN last, masked absent. */
    n = bb_rank_topk(s, 10, mask, 3, 10, out);
    TEST_EQ_INT(n, 8);
    TEST_EQ_INT(out[6], 9);
    TEST_EQ_INT(out[7], 1);
    /* Equal-score items later in the scan never displace earlier ones. */
    const float t[6] = {0.1f, 0.3f, 0.3f, 0.2f, 0.3f, 0.3f};
    n = bb_rank_topk(t, 6, NULL, 0, 3, out);
    TEST_EQ_INT(n, 3);
    TEST_EQ_INT(out[0], 1);
    TEST_EQ_INT(out[1], 2);
    TEST_EQ_INT(out[2], 4);
}

/* qsort order of the protocol: score descending (NaN as -inf), then item id ascending. */
static const float *cmp_scores;
static int cmp_rank(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    float sx = isnan(cmp_scores[x]) ? -INFINITY : cmp_scores[x];
    float sy = isnan(cmp_scores[y]) ? -INFINITY : cmp_scores[y];
    if (sx != sy) return sx > sy ? -1 : 1;
    return (x > y) - (x < y);
}

static int cmp_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void test_topk_matches_full_sort(void) {
    /* Random rows with heavy ties (8 distinct values, some NaN) and random masks with
     * repeats, against a full qsort of the unmasked items. */
    bb_rng rng;
    bb_rng_seed(&rng, 5, "test/topk");
    enum { N = 300 };
    float s[N];
    int32_t order[N], out[N], mask[40];
    for (int trial = 0; trial < 300; trial++) {
        for (int i = 0; i < N; i++) s[i] = (float)bb_rng_below(&rng, 8) * 0.25f - 1.0f;
        s[bb_rng_below(&rng, N)] = NAN;
        size_t n_mask = bb_rng_below(&rng, 40);
        for (size_t m = 0; m < n_mask; m++) mask[m] = (int32_t)bb_rng_below(&rng, N);
        qsort(mask, n_mask, sizeof *mask, cmp_int32);
        int n_order = 0;
        for (int32_t i = 0; i < N; i++) {
            int masked = 0;
            for (size_t m = 0; m < n_mask; m++) masked |= mask[m] == i;
            if (!masked) order[n_order++] = i;
        }
        cmp_scores = s;
        qsort(order, (size_t)n_order, sizeof *order, cmp_rank);
        int k = 1 + (int)bb_rng_below(&rng, N + 20);
        int n = bb_rank_topk(s, N, mask, n_mask, k, out);
        TEST_EQ_INT(n, k < n_order ? k : n_order);
        for (int p = 0; p < n; p++) TEST_EQ_INT(out[p], order[p]);
    }
    /* A catalogue large enough for the block-maxima path at K up to 100 (128 groups), with
     * continuous scores, few distinct scores, and masked stretches. */
    enum { N2 = 2000 };
    float *s2 = bb_malloc(N2 * sizeof *s2);
    int32_t *order2 = bb_malloc(N2 * sizeof *order2), *out2 = bb_malloc(N2 * sizeof *out2);
    int32_t mask2[200];
    for (int trial = 0; trial < 60; trial++) {
        int distinct = trial % 3 == 0 ? 5 : trial % 3 == 1 ? 1000 : 0;
        for (int i = 0; i < N2; i++)
            s2[i] = distinct ? (float)bb_rng_below(&rng, (uint64_t)distinct)
                             : (float)bb_rng_normal(&rng);
        size_t n_mask = bb_rng_below(&rng, 200);
        int32_t start = (int32_t)bb_rng_below(&rng, N2 - 200);
        for (size_t m = 0; m < n_mask; m++) mask2[m] = start + (int32_t)m; /* a masked run */
        int n_order = 0;
        for (int32_t i = 0; i < N2; i++)
            if (i < start || i >= start + (int32_t)n_mask) order2[n_order++] = i;
        cmp_scores = s2;
        qsort(order2, (size_t)n_order, sizeof *order2, cmp_rank);
        int k = 1 + (int)bb_rng_below(&rng, 100);
        int n = bb_rank_topk(s2, N2, mask2, n_mask, k, out2);
        TEST_EQ_INT(n, k);
        for (int p = 0; p < n; p++) TEST_EQ_INT(out2[p], order2[p]);
    }
    free(s2);
    free(order2);
    free(out2);
}

static void test_masked_heldout_is_dropped_and_second_mask_applies(void) {
    /* user 0: train {1}, valid {2}, held-out {1, 3}: item 1 is both train and held-out.
     * user 1: held-out only {2}, which valid masks -> not evaluated with train+valid. */
    const float m[2 * 5] = {0.1f, 0.9f, 0.8f, 0.7f, 0.2f, /**/ 0.1f, 0.2f, 0.9f, 0.3f, 0.0f};
    dense_scores d = {m, 5};
    bb_rank_scorer sc = dense_scorer(&d);
    bb_error err;
    bb_rank_lists train, valid, held;
    const int32_t tu[] = {0}, ti[] = {1}, vu[] = {0, 1}, vi[] = {2, 2}, hu[] = {0, 0, 1},
                  hi[] = {1, 3, 2};
    TEST_OK(bb_rank_lists_build(&train, 2, 5, tu, ti, 1, &err), &err);
    TEST_OK(bb_rank_lists_build(&valid, 2, 5, vu, vi, 2, &err), &err);
    TEST_OK(bb_rank_lists_build(&held, 2, 5, hu, hi, 3, &err), &err);
    bb_rank_options opt;
    bb_rank_options_default(&opt);
    opt.ks[0] = 1, opt.n_ks = 1;
    opt.mask[0] = &train;
    bb_rank_result r;
    /* train only: user 0 ranks [2 (0.8), 3, ...] -> no hit at 1; user 1 ranks [2] -> hit. */
    TEST_OK(bb_rank_evaluate(&sc, &held, &opt, &r, &err), &err);
    TEST_EQ_INT(r.n_users, 2);
    TEST_EQ_INT(r.heldout_masked, 1);
    TEST_EQ_INT(r.n_heldout[0], 1);
    TEST_NEAR(r.mean[0][BB_RANK_RECALL], 0.5, 0);
    bb_rank_result_free(&r);
    /* train+valid: user 0 ranks [3] -> hit; user 1 has nothing left. */
    opt.mask[1] = &valid;
    TEST_OK(bb_rank_evaluate(&sc, &held, &opt, &r, &err), &err);
    TEST_EQ_INT(r.n_users, 1);
    TEST_EQ_INT(r.users[0], 0);
    TEST_EQ_INT(r.heldout_masked, 2);
    TEST_NEAR(r.mean[0][BB_RANK_RECALL], 1.0, 0);
    TEST_NEAR(r.mean[0][BB_RANK_MRR], 1.0, 0);
    bb_rank_result_free(&r);
    bb_rank_lists_free(&train);
    bb_rank_lists_free(&valid);
    bb_rank_lists_free(&held);
}

/* Random embeddings (scores rounded to force ties) and random lists. */
typedef struct {
    int32_t n_users, n_items;
    int dim;
    float *user_emb, *item_emb;
    bb_rank_lists train, held;
} random_case;

static void random_case_make(random_case *c, int32_t n_users, int32_t n_items, int dim,
                             uint64_t seed) {
    bb_rng rng;
    bb_rng_seed(&rng, seed, "test/random_case");
    c->n_users = n_users, c->n_items = n_items, c->dim = dim;
    c->user_emb = bb_malloc((size_t)n_users * dim * sizeof(float));
    c->item_emb = bb_malloc((size_t)n_items * dim * sizeof(float));
    /* Small integers: every dot product is exact, and many scores tie. */
    for (size_t i = 0; i < (size_t)n_users * dim; i++)
        c->user_emb[i] = (float)bb_rng_below(&rng, 3) - 1.0f;
    for (size_t i = 0; i < (size_t)n_items * dim; i++)
        c->item_emb[i] = (float)bb_rng_below(&rng, 3) - 1.0f;
    size_t n = (size_t)n_users * 8;
    int32_t *u = bb_malloc(n * sizeof *u), *it = bb_malloc(n * sizeof *it);
    for (size_t p = 0; p < n; p++) u[p] = (int32_t)bb_rng_below(&rng, n_users),
                                   it[p] = (int32_t)bb_rng_below(&rng, n_items);
    bb_error err;
    BB_ASSERT(bb_rank_lists_build(&c->train, n_users, n_items, u, it, n, &err) == BB_OK, "%s",
              err.msg);
    for (size_t p = 0; p < n / 2; p++) u[p] = (int32_t)bb_rng_below(&rng, n_users),
                                       it[p] = (int32_t)bb_rng_below(&rng, n_items);
    BB_ASSERT(bb_rank_lists_build(&c->held, n_users, n_items, u, it, n / 2, &err) == BB_OK,
              "%s", err.msg);
    free(u);
    free(it);
}

static void random_case_free(random_case *c) {
    free(c->user_emb);
    free(c->item_emb);
    bb_rank_lists_free(&c->train);
    bb_rank_lists_free(&c->held);
}

static void test_chunk_and_thread_invariance(void) {
    random_case c;
    random_case_make(&c, 97, 301, 16, 11);
    bb_rank_scorer sc = {c.n_items, c.user_emb, c.item_emb, c.dim, NULL, NULL};
    bb_rank_options opt;
    bb_rank_options_default(&opt);
    opt.mask[0] = &c.train;
    const int chunks[] = {1, 7, 64, 500}, threads[] = {1, 3, 2, 2};
    bb_rank_result ref, r;
    bb_error err;
    opt.chunk_users = chunks[0], opt.threads = threads[0];
    TEST_OK(bb_rank_evaluate(&sc, &c.held, &opt, &ref, &err), &err);
    TEST_TRUE(ref.n_users > 80);
    for (int t = 1; t < 4; t++) {
        opt.chunk_users = chunks[t], opt.threads = threads[t];
        TEST_OK(bb_rank_evaluate(&sc, &c.held, &opt, &r, &err), &err);
        TEST_EQ_INT(r.n_users, ref.n_users);
        size_t nv = (size_t)r.n_users * r.n_ks * BB_RANK_N_METRICS;
        TEST_TRUE(memcmp(r.per_user, ref.per_user, nv * sizeof(double)) == 0);
        TEST_TRUE(memcmp(r.mean, ref.mean, sizeof r.mean) == 0);
        bb_rank_result_free(&r);
    }
    /* The same embeddings through the callback path give the same values. */
    float *full = bb_malloc((size_t)c.n_users * c.n_items * sizeof(float));
    for (int32_t u = 0; u < c.n_users; u++)
        for (int32_t i = 0; i < c.n_items; i++) {
            float s = 0;
            for (int k = 0; k < c.dim; k++)
                s += c.user_emb[(size_t)u * c.dim + k] * c.item_emb[(size_t)i * c.dim + k];
            full[(size_t)u * c.n_items + i] = s;
        }
    dense_scores d = {full, c.n_items};
    bb_rank_scorer dsc = dense_scorer(&d);
    opt.chunk_users = 5, opt.threads = 2;
    TEST_OK(bb_rank_evaluate(&dsc, &c.held, &opt, &r, &err), &err);
    size_t nv = (size_t)r.n_users * r.n_ks * BB_RANK_N_METRICS;
    TEST_TRUE(memcmp(r.per_user, ref.per_user, nv * sizeof(double)) == 0);
    bb_rank_result_free(&r);
    free(full);
    bb_rank_result_free(&ref);
    /* Real-valued embeddings (dim 64, as trained models have): sgemm's rounding of a row
     * must not depend on how many rows share the call. */
    bb_rng rng;
    bb_rng_seed(&rng, 3, "test/real_emb");
    float *ue = bb_malloc((size_t)c.n_users * 64 * sizeof(float));
    float *ie = bb_malloc((size_t)c.n_items * 64 * sizeof(float));
    for (size_t i = 0; i < (size_t)c.n_users * 64; i++) ue[i] = (float)bb_rng_normal(&rng);
    for (size_t i = 0; i < (size_t)c.n_items * 64; i++) ie[i] = (float)bb_rng_normal(&rng);
    bb_rank_scorer rsc = {c.n_items, ue, ie, 64, NULL, NULL};
    opt.chunk_users = 1, opt.threads = 1;
    TEST_OK(bb_rank_evaluate(&rsc, &c.held, &opt, &ref, &err), &err);
    for (int t = 1; t < 4; t++) {
        opt.chunk_users = chunks[t], opt.threads = threads[t];
        TEST_OK(bb_rank_evaluate(&rsc, &c.held, &opt, &r, &err), &err);
        nv = (size_t)r.n_users * r.n_ks * BB_RANK_N_METRICS;
        TEST_TRUE(memcmp(r.per_user, ref.per_user, nv * sizeof(double)) == 0);
        bb_rank_result_free(&r);
    }
    bb_rank_result_free(&ref);
    free(ue);
    free(ie);
    random_case_free(&c);
}

static void test_pop_scores_are_training_counts(void) {
    const int32_t items[] = {2, 2, 0, 2, 0, 3};
    bb_pop pop;
    bb_pop_fit(&pop, 5, items, 6);
    TEST_NEAR(pop.score[0], 2, 0);
    TEST_NEAR(pop.score[1], 0, 0);
    TEST_NEAR(pop.score[2], 3, 0);
    TEST_NEAR(pop.score[3], 1, 0);
    TEST_NEAR(pop.score[4], 0, 0); /* an item seen only outside training scores 0 */
    /* user 0 trained on 2, held-out {4, 0}: ranking [0 (2), 3 (1), 1 (0), 4 (0)] -> at K=2
     * one hit at rank 1; at K=4 two hits (ranks 1 and 4). */
    bb_rank_scorer sc;
    bb_pop_scorer(&pop, &sc);
    bb_error err;
    bb_rank_lists train, held;
    const int32_t tu[] = {0}, ti[] = {2}, hu[] = {0, 0}, hi[] = {4, 0};
    TEST_OK(bb_rank_lists_build(&train, 1, 5, tu, ti, 1, &err), &err);
    TEST_OK(bb_rank_lists_build(&held, 1, 5, hu, hi, 2, &err), &err);
    bb_rank_options opt;
    bb_rank_options_default(&opt);
    opt.ks[0] = 2, opt.ks[1] = 4, opt.n_ks = 2;
    opt.mask[0] = &train;
    bb_rank_result r;
    TEST_OK(bb_rank_evaluate(&sc, &held, &opt, &r, &err), &err);
    TEST_NEAR(r.mean[0][BB_RANK_RECALL], 0.5, 0);
    TEST_NEAR(r.mean[0][BB_RANK_MRR], 1.0, 0);
    TEST_NEAR(r.mean[1][BB_RANK_RECALL], 1.0, 0);
    TEST_NEAR(r.mean[1][BB_RANK_NDCG], (1.0 + inv_log2(4)) / (1.0 + inv_log2(2)), 1e-15);
    bb_rank_result_free(&r);
    bb_rank_lists_free(&train);
    bb_rank_lists_free(&held);
    bb_pop_free(&pop);
}

static void test_bad_input(void) {
    bb_error err;
    bb_rank_lists l;
    const int32_t u[] = {0, 2}, i[] = {1, 1};
    TEST_ERR_CONTAINS(bb_rank_lists_build(&l, 2, 3, u, i, 2, &err), &err, "pair 1: user 2");
    const int32_t u2[] = {0}, i2[] = {-1};
    TEST_ERR_CONTAINS(bb_rank_lists_build(&l, 2, 3, u2, i2, 1, &err), &err, "item -1");
    TEST_OK(bb_rank_lists_build(&l, 2, 3, u, i, 1, &err), &err);
    float m[6] = {0};
    dense_scores d = {m, 3};
    bb_rank_scorer sc = dense_scorer(&d);
    bb_rank_options opt;
    bb_rank_options_default(&opt);
    opt.ks[1] = 0;
    bb_rank_result r;
    TEST_ERR_CONTAINS(bb_rank_evaluate(&sc, &l, &opt, &r, &err), &err, "must be positive, got 0");
    bb_rank_result_free(&r);
    bb_rank_options_default(&opt);
    d.n_items = 4;
    sc = dense_scorer(&d);
    TEST_ERR_CONTAINS(bb_rank_evaluate(&sc, &l, &opt, &r, &err), &err, "3 items, the scorer 4");
    bb_rank_result_free(&r);
    bb_rank_lists_free(&l);
}

static void test_metrics_csv_rows(void) {
    const float m[2] = {0.2f, 0.1f};
    dense_scores d = {m, 2};
    bb_rank_scorer sc = dense_scorer(&d);
    bb_error err;
    bb_rank_lists held;
    const int32_t hu[] = {0}, hi[] = {1};
    TEST_OK(bb_rank_lists_build(&held, 1, 2, hu, hi, 1, &err), &err);
    bb_rank_options opt;
    bb_rank_options_default(&opt);
    opt.ks[0] = 2, opt.n_ks = 1;
    bb_rank_result r;
    TEST_OK(bb_rank_evaluate(&sc, &held, &opt, &r, &err), &err);
    char buf[1024] = {0};
    FILE *fp = fmemopen(buf, sizeof buf - 1, "w");
    bb_rank_write_metrics_csv(fp, 3, "valid", &r);
    bb_rank_write_per_user_csv(fp, "valid", &r);
    fclose(fp);
    /* one hit at rank 2 of 2 items: ndcg = (1/log2 3) / 1, printed with 17 digits */
    char ndcg[64], want[512];
    snprintf(ndcg, sizeof ndcg, "%.17g", 1.0 / log2(3.0));
    TEST_TRUE(strncmp(ndcg, "0.630929753571457", 17) == 0);
    snprintf(want, sizeof want,
             "3,valid,recall,2,1\n3,valid,precision,2,0.5\n3,valid,ndcg,2,%s\n"
             "3,valid,mrr,2,0.5\n3,valid,hit,2,1\n3,valid,hr_micro,2,1\n"
             "valid,0,1,2,1,0.5,%s,0.5,1,1\n",
             ndcg, ndcg);
    TEST_STR_EQ(buf, want);
    bb_rank_result_free(&r);
    bb_rank_lists_free(&held);
}

const bb_test bb_suite_rank[] = {
    {"metrics_hand_worked_single_user", test_metrics_hand_worked_single_user},
    {"metrics_averages_and_hr_micro", test_metrics_averages_and_hr_micro},
    {"ties_break_by_lower_item_id", test_ties_break_by_lower_item_id},
    {"topk_matches_full_sort", test_topk_matches_full_sort},
    {"masked_heldout_is_dropped_and_second_mask_applies",
     test_masked_heldout_is_dropped_and_second_mask_applies},
    {"chunk_and_thread_invariance", test_chunk_and_thread_invariance},
    {"pop_scores_are_training_counts", test_pop_scores_are_training_counts},
    {"bad_input", test_bad_input},
    {"metrics_csv_rows", test_metrics_csv_rows},
    {NULL, NULL},
};
