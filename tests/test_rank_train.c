/* Tests for the BPR baselines and `beatbench rank`: the BPR loss by hand and by central
 * differences, Adam against nn_adam_step bit for bit, the fused LightGCN step against a
 * tape composition (and its gradient check), a planted toy problem, bit-identical runs,
 * and the bad-input matrix (unknown model, K <= 0, batch 0, item only in test, empty
 * test/valid split, no partial run directory). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "baselines/bpr.h"
#include "baselines/rank_run.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/graph/lightgcn.h"
#include "models/nn/nn.h"
#include "tests/testhelp.h"

/* ------------------------------------------------------------------------------------------
 * The loss */

static void test_bpr_loss_hand_worked(void) {
    /* One triple, d = 2: u = (1, 0), i = (0.5, 0.5), j = (-1, 2).
     * x = <u,i> - <u,j> = 0.5 - (-1) = 1.5; loss = softplus(-1.5) = log(1 + e^-1.5) = 0.2014133
     * dL/dx = -sigmoid(-1.5) = -0.1824255; du = dL/dx (i - j) = -0.1824255 (1.5, -1.5),
     * di = dL/dx u, dj = -dL/dx u. Reg (lambda 0.1, n 1): 0.1 (1 + 0.5 + 5) = 0.65,
     * its gradient 2 lambda e. */
    const float emb[6] = {1.0f, 0.0f, 0.5f, 0.5f, -1.0f, 2.0f};
    float grad[6] = {0};
    const int32_t u[] = {0}, i[] = {1}, j[] = {2};
    double loss = bpr_score_loss(emb, grad, 2, u, i, j, 1);
    TEST_NEAR(loss, log1p(exp(-1.5)), 1e-12);
    TEST_NEAR(loss, 0.2014133, 1e-7);
    const double g = -1.0 / (1.0 + exp(1.5));
    TEST_NEAR(g, -0.1824255, 1e-7);
    TEST_NEAR(grad[0], g * 1.5, 1e-7);
    TEST_NEAR(grad[1], g * -1.5, 1e-7);
    TEST_NEAR(grad[2], g * 1.0, 1e-7);
    TEST_NEAR(grad[3], 0.0, 0);
    TEST_NEAR(grad[4], -g * 1.0, 1e-7);
    TEST_NEAR(grad[5], 0.0, 0);
    float rg[6] = {0};
    TEST_NEAR(bpr_reg_loss(emb, rg, 2, u, i, j, 1, 0.1), 0.65, 1e-7);
    for (int k = 0; k < 6; k++) TEST_NEAR(rg[k], 0.2 * emb[k], 1e-7);
}

/* Loss of a batch with duplicate rows (a user twice, an item as positive and negative). */
typedef struct {
    int d, n;
    const int32_t *u, *i, *j;
    double lambda;
} batch_spec;

static double batch_loss(const float *emb, float *grad, const batch_spec *b) {
    return bpr_score_loss(emb, grad, b->d, b->u, b->i, b->j, b->n) +
           bpr_reg_loss(emb, grad, b->d, b->u, b->i, b->j, b->n, b->lambda);
}

static void test_bpr_loss_central_differences(void) {
    enum { ROWS = 7, D = 9 };
    const int32_t u[] = {0, 1, 0, 2}, i[] = {3, 4, 5, 3}, j[] = {5, 6, 4, 4};
    batch_spec b = {D, 4, u, i, j, 0.05};
    bb_rng r;
    bb_rng_seed(&r, 17, "test/bpr_fd");
    float emb[ROWS * D], grad[ROWS * D] = {0}, scratch[ROWS * D];
    for (int k = 0; k < ROWS * D; k++) emb[k] = (float)(bb_rng_uniform(&r) * 2.0 - 1.0);
    batch_loss(emb, grad, &b);
    double max_rel = 0;
    for (int k = 0; k < ROWS * D; k++) {
        const float h = 1e-2f, keep = emb[k];
        emb[k] = keep + h;
        double lp = batch_loss(emb, scratch, &b);
        emb[k] = keep - h;
        double lm = batch_loss(emb, scratch, &b);
        emb[k] = keep;
        double numeric = (lp - lm) / (2.0 * h);
        double rel = fabs(numeric - grad[k]) / fmax(fmax(fabs(numeric), fabs(grad[k])), 1e-3);
        max_rel = fmax(max_rel, rel);
    }
    TEST_NEAR(max_rel, 0.0, 2e-3);
}

static void test_parallel_batch_loss_is_bitwise_serial(void) {
    enum { ROWS = 40, D = 24, N = 300 };
    bb_rng r;
    bb_rng_seed(&r, 21, "test/parallel_loss");
    float *emb = bb_malloc(ROWS * D * sizeof *emb);
    for (int k = 0; k < ROWS * D; k++) emb[k] = (float)(bb_rng_uniform(&r) * 2.0 - 1.0);
    int32_t u[N], i[N], j[N];
    for (int b = 0; b < N; b++) { /* users 0..9, items 10..39, many repeats */
        u[b] = (int32_t)bb_rng_below(&r, 10);
        i[b] = 10 + (int32_t)bb_rng_below(&r, 30);
        do j[b] = 10 + (int32_t)bb_rng_below(&r, 30);
        while (j[b] == i[b]);
    }
    float *serial = bb_calloc(ROWS * D, sizeof *serial), *par = bb_malloc(ROWS * D * sizeof *par);
    double ls = bpr_score_loss(emb, serial, D, u, i, j, N);
    ls += bpr_reg_loss(emb, serial, D, u, i, j, N, 0.01);
    for (int threads = 1; threads <= 3; threads++) {
        bb_pool *pool = bb_pool_new(threads);
        memset(par, 0, ROWS * D * sizeof *par);
        double lp = bpr_batch_loss(pool, emb, par, D, ROWS, u, i, j, N, 0.01);
        TEST_TRUE(lp == ls);
        TEST_TRUE(memcmp(par, serial, ROWS * D * sizeof *par) == 0);
        bb_pool_free(pool);
    }
    free(emb);
    free(serial);
    free(par);
}

static void test_adam_matches_nn_adam_bitwise(void) {
    nn_params *ps = nn_params_new();
    nn_tensor *w = nn_params_add2(ps, "w", 37, 13); /* 481 floats: a vector body and a tail */
    nn_params_finalize(ps);
    bb_rng r;
    bb_rng_seed(&r, 3, "test/adam");
    nn_init_uniform(w, &r, -1.0f, 1.0f);
    size_t n = (size_t)ps->total;
    float *p = bb_malloc(n * sizeof *p), *m = bb_calloc(n, sizeof *m), *v = bb_calloc(n, sizeof *v);
    memcpy(p, ps->data, n * sizeof *p);
    bb_pool *pool = bb_pool_new(3);
    nn_adam opt = nn_adam_default(1e-3f);
    for (int step = 1; step <= 5; step++) {
        for (size_t k = 0; k < n; k++) ps->grad[k] = (float)(bb_rng_uniform(&r) - 0.5) * (k % 5 ? 1.0f : 0.0f);
        nn_adam_step(ps, &opt);
        const nn_adam_consts c = nn_adam_consts_at(&opt, step);
        bpr_adam_update(pool, &c, p, ps->grad, m, v, n);
        TEST_TRUE(memcmp(p, ps->data, n * sizeof *p) == 0);
        TEST_TRUE(memcmp(m, ps->m, n * sizeof *m) == 0);
        TEST_TRUE(memcmp(v, ps->v, n * sizeof *v) == 0);
    }
    bb_pool_free(pool);
    free(p);
    free(m);
    free(v);
    nn_params_free(ps);
}

/* ------------------------------------------------------------------------------------------
 * The fused LightGCN step against the same loss on nn's tape. */

typedef struct {
    const nn_csr *adj;
    int layers, n;
    const int32_t *u, *i, *j;
    double lambda;
} tape_ctx;

/* mean softplus(-(<u,i> - <u,j>)) + lambda * sum of squared rows / n, on final rows. */
static nn_tensor *tape_loss(nn_tape *tp, nn_tensor **params, int n_params, void *ctx) {
    (void)n_params;
    tape_ctx *c = ctx;
    nn_tensor *f = lgcn_forward(tp, c->adj, params[0], c->layers);
    nn_tensor *eu = nn_gather_rows(tp, f, c->u, c->n);
    nn_tensor *ei = nn_gather_rows(tp, f, c->i, c->n);
    nn_tensor *ej = nn_gather_rows(tp, f, c->j, c->n);
    nn_tensor *x = nn_sub(tp, nn_sum_last(tp, nn_mul(tp, eu, ei)), nn_sum_last(tp, nn_mul(tp, eu, ej)));
    nn_tensor *bpr = nn_scale(tp, nn_mean(tp, nn_log(tp, nn_sigmoid(tp, x))), -1.0f);
    nn_tensor *sq = nn_add(tp, nn_add(tp, nn_sum(tp, nn_square(tp, eu)), nn_sum(tp, nn_square(tp, ei))),
                           nn_sum(tp, nn_square(tp, ej)));
    return nn_add(tp, bpr, nn_scale(tp, sq, (float)(c->lambda / c->n)));
}

static void test_fused_lightgcn_step_matches_tape_and_gradcheck(void) {
    /* 5 users, 4 items (nodes 5..8), 2 layers, d = 8. */
    const int32_t tu[] = {0, 0, 1, 2, 2, 3, 4, 4, 1}, ti[] = {0, 1, 1, 2, 3, 0, 2, 3, 3};
    graph_adj g;
    bb_error err;
    TEST_OK(graph_adj_build(&g, 5, 4, tu, ti, 9, &err), &err);
    nn_csr adj = graph_adj_csr(&g);
    const int d = 8, layers = 2, n = 4;
    const int32_t u[] = {0, 2, 0, 4}, i[] = {5, 7, 6, 8}, j[] = {8, 5, 7, 6};
    const double lambda = 0.3;
    size_t cells = (size_t)g.n_nodes * d;
    nn_tensor *ego = nn_tensor_new2(g.n_nodes, d, 1);
    bb_rng r;
    bb_rng_seed(&r, 8, "test/fused");
    for (size_t k = 0; k < cells; k++) ego->data[k] = (float)(bb_rng_uniform(&r) - 0.5);

    /* fused: final rows of the batch, loss, gradient back through P */
    bb_pool *pool = bb_pool_new(2);
    lgcn_plan p;
    lgcn_plan_init(&p, &g, d, layers, pool);
    int32_t rows[] = {0, 2, 4, 5, 6, 7, 8};
    float *final = bb_calloc(cells, sizeof *final), *gf = bb_calloc(cells, sizeof *gf),
          *ge = bb_malloc(cells * sizeof *ge);
    lgcn_propagate_rows(&p, ego->data, final, rows, 7);
    double loss = bpr_score_loss(final, gf, d, u, i, j, n);
    loss += bpr_reg_loss(final, gf, d, u, i, j, n, lambda);
    lgcn_propagate_sparse(&p, gf, rows, 7, ge);

    /* tape */
    tape_ctx c = {&adj, layers, n, u, i, j, lambda};
    nn_tape *tp = nn_tape_new();
    nn_tensor_zero_grad(ego);
    nn_tensor *tl = tape_loss(tp, &ego, 1, &c);
    nn_tape_backward(tp, tl);
    TEST_NEAR(loss, tl->data[0], 1e-5);
    double max_err = 0;
    for (size_t k = 0; k < cells; k++) max_err = fmax(max_err, fabs(ge[k] - ego->grad[k]));
    TEST_NEAR(max_err, 0.0, 1e-6);
    nn_tape_free(tp);

    /* and the tape loss itself against central differences */
    nn_gradcheck_opts o = nn_gradcheck_defaults();
    o.max_elems = (int64_t)cells;
    o.abs_floor = 1e-2; /* the float loss (~0.8) leaves ~3e-6 of noise in a difference */
    nn_gradcheck_report rep;
    double rel = nn_gradcheck(tape_loss, &c, &ego, 1, &o, &rep);
    char line[256];
    nn_gradcheck_format(&rep, line, sizeof line);
    if (!(rel < 2e-3)) bb_test_fail(__FILE__, __LINE__, "%s", line);
    TEST_TRUE(rel < 2e-3);

    free(final);
    free(gf);
    free(ge);
    lgcn_plan_free(&p);
    bb_pool_free(pool);
    nn_tensor_free(ego);
    graph_adj_free(&g);
}

static void test_fused_adam_equals_separate_pass(void) {
    /* LightGCN applies Adam to each gradient row inside the backward pass; the separate
     * pass over a gradient block must give the same bits after whole epochs. */
    setenv("BB_QUIET", "1", 1);
    enum { USERS = 50, ITEMS = 40, PAIRS = 400 };
    int32_t u[PAIRS], it[PAIRS];
    bb_rng r;
    bb_rng_seed(&r, 4, "test/fused_adam");
    for (int p = 0; p < PAIRS; p++) {
        u[p] = (int32_t)bb_rng_below(&r, USERS);
        it[p] = (int32_t)((u[p] % 4) * 10 + bb_rng_below(&r, 10));
    }
    bb_rank_lists lists;
    bb_error err;
    TEST_OK(bb_rank_lists_build(&lists, USERS, ITEMS, u, it, PAIRS, &err), &err);
    const int dims[] = {64, 12};
    for (int di = 0; di < 2; di++) {
        bpr_model m[2];
        for (int k = 0; k < 2; k++) {
            bpr_config c;
            bpr_config_default(&c, BPR_LIGHTGCN);
            c.dim = dims[di];
            c.batch = 64;
            c.lr = 0.01;
            c.threads = 2;
            c.seed = 5;
            c.unfused_adam = k;
            TEST_OK(bpr_model_init(&m[k], &c, USERS, ITEMS, u, it, PAIRS, &lists, &err), &err);
            for (int epoch = 1; epoch <= 2; epoch++) bpr_train_epoch(&m[k], epoch, NULL);
        }
        size_t n = (size_t)m[0].params->total;
        TEST_TRUE(memcmp(m[0].params->data, m[1].params->data, n * sizeof(float)) == 0);
        TEST_TRUE(memcmp(m[0].params->m, m[1].params->m, n * sizeof(float)) == 0);
        TEST_TRUE(memcmp(m[0].params->v, m[1].params->v, n * sizeof(float)) == 0);
        TEST_EQ_INT(m[0].steps, 14);
        bpr_model_free(&m[0]);
        bpr_model_free(&m[1]);
    }
    bb_rank_lists_free(&lists);
}

/* ------------------------------------------------------------------------------------------
 * Datasets on disk */

static void write_file(const char *dir, const char *name, const char *text) {
    char *path = bb_path_join(dir, name);
    bb_error err;
    BB_ASSERT(bb_write_file_atomic(path, text, strlen(text), &err) == BB_OK, "%s", err.msg);
    free(path);
}

/* Planted toy data: users and items in 4 groups; each user has 10 items of its own group
 * (8 train, 1 valid, 1 test) and one random item in train. */
static const char *planted_dataset(const char *name, int n_users, int n_items) {
    const char *dir = bb_test_tmp_path(name);
    static char path[1024];
    snprintf(path, sizeof path, "%s", dir);
    bb_error err;
    BB_ASSERT(bb_mkdir_p(path, &err) == BB_OK, "%s", err.msg);
    bb_rng r;
    bb_rng_seed(&r, 99, "test/planted");
    size_t cap = (size_t)n_users * 200 + 64;
    char *tr = bb_malloc(cap), *va = bb_malloc(cap), *te = bb_malloc(cap);
    size_t lt = (size_t)sprintf(tr, "user,item\n"), lv = (size_t)sprintf(va, "user,item\n"),
           le = (size_t)sprintf(te, "user,item\n");
    const int groups = 4, per_group = n_items / groups;
    for (int uu = 0; uu < n_users; uu++) {
        int grp = uu % groups, chosen[11], n = 0;
        while (n < 10) {
            int it = grp * per_group + (int)bb_rng_below(&r, (uint64_t)per_group), dup = 0;
            for (int k = 0; k < n; k++) dup |= chosen[k] == it;
            if (!dup) chosen[n++] = it;
        }
        int noise = (int)bb_rng_below(&r, (uint64_t)n_items), dup = 0;
        for (int k = 0; k < 10; k++) dup |= chosen[k] == noise;
        for (int k = 0; k < 8; k++) lt += (size_t)sprintf(tr + lt, "%d,%d\n", uu, chosen[k]);
        if (!dup) lt += (size_t)sprintf(tr + lt, "%d,%d\n", uu, noise);
        lv += (size_t)sprintf(va + lv, "%d,%d\n", uu, chosen[8]);
        le += (size_t)sprintf(te + le, "%d,%d\n", uu, chosen[9]);
    }
    write_file(path, "train.csv", tr);
    write_file(path, "valid.csv", va);
    write_file(path, "test.csv", te);
    free(tr);
    free(va);
    free(te);
    return path;
}

static void small_config(rank_run_config *c, const char *dir, rank_model m) {
    setenv("BB_QUIET", "1", 1); /* no progress lines in the test log */
    rank_run_config_default(c);
    c->data_dir = dir;
    c->model = m;
    c->epochs = 30;
    c->dim = 16;
    c->batch = 128;
    c->lr = 0.02;
    c->eval_every = 5;
    c->patience = 3;
    c->threads = 2;
    c->seed = 7;
    c->version = "test";
}

static void test_planted_toy_problem(void) {
    /* Group structure is all there is to learn: trained models must beat popularity by a
     * wide margin on test recall@10, and the BPR loss must fall. */
    const char *dir = planted_dataset("planted", 160, 120);
    rank_run_config c;
    rank_run_result pop, mf, lg;
    bb_error err;
    small_config(&c, dir, RANK_MODEL_POP);
    TEST_OK(rank_run_execute(&c, &pop, &err), &err);
    small_config(&c, dir, RANK_MODEL_MF);
    TEST_OK(rank_run_execute(&c, &mf, &err), &err);
    small_config(&c, dir, RANK_MODEL_LIGHTGCN);
    TEST_OK(rank_run_execute(&c, &lg, &err), &err);
    double rp = pop.test.mean[0][BB_RANK_RECALL], rm = mf.test.mean[0][BB_RANK_RECALL],
           rl = lg.test.mean[0][BB_RANK_RECALL];
    /* random within the right group: 10/(30 - 8) ~ 0.45 at best; popularity ~ 0.1 */
    if (!(rm > 2 * rp && rl > 2 * rp && rl > 0.25))
        bb_test_fail(__FILE__, __LINE__, "recall@10: pop %.3f mf %.3f lightgcn %.3f", rp, rm, rl);
    TEST_TRUE(rm > 2 * rp && rl > 2 * rp && rl > 0.25);
    TEST_EQ_INT(pop.epochs_run, 0);
    TEST_TRUE(lg.best_epoch >= 5 && lg.best_epoch <= lg.epochs_run);
    TEST_EQ_INT(lg.test.n_users, 160);
    rank_run_result_free(&pop);
    rank_run_result_free(&mf);
    rank_run_result_free(&lg);
}

static char *slurp(const char *dir, const char *name) {
    char *path = bb_path_join(dir, name), *text = NULL;
    bb_error err;
    if (bb_read_file(path, &text, NULL, &err) != BB_OK) text = bb_strdup("");
    free(path);
    return text;
}

static void test_runs_are_bit_identical(void) {
    const char *dir = planted_dataset("ident", 90, 80);
    char out_a[1024], out_b[1024], out_c[1024];
    snprintf(out_a, sizeof out_a, "%s", bb_test_tmp_path("ident_a"));
    snprintf(out_b, sizeof out_b, "%s", bb_test_tmp_path("ident_b"));
    snprintf(out_c, sizeof out_c, "%s", bb_test_tmp_path("ident_c"));
    const rank_model models[2] = {RANK_MODEL_MF, RANK_MODEL_LIGHTGCN};
    for (int mi = 0; mi < 2; mi++) {
        rank_run_config c;
        rank_run_result r;
        bb_error err;
        small_config(&c, dir, models[mi]);
        c.epochs = 6;
        c.eval_every = 2;
        c.out_dir = out_a;
        TEST_OK(rank_run_execute(&c, &r, &err), &err);
        rank_run_result_free(&r);
        c.out_dir = out_b;
        TEST_OK(rank_run_execute(&c, &r, &err), &err);
        rank_run_result_free(&r);
        c.seed = 8;
        c.out_dir = out_c;
        TEST_OK(rank_run_execute(&c, &r, &err), &err);
        rank_run_result_free(&r);
        const char *files[2] = {"metrics.csv", "per_user.csv"};
        for (int f = 0; f < 2; f++) {
            char *a = slurp(out_a, files[f]), *b = slurp(out_b, files[f]), *cc = slurp(out_c, files[f]);
            TEST_TRUE(strlen(a) > 100);
            TEST_STR_EQ(a, b);
            TEST_TRUE(strcmp(a, cc) != 0); /* another seed, other numbers */
            free(a);
            free(b);
            free(cc);
        }
        /* the rows: 3 validation passes and the test pass, 6 metrics x 3 K each, + header */
        char *m = slurp(out_a, "metrics.csv");
        int lines = 0;
        for (const char *q = m; *q; q++) lines += *q == '\n';
        TEST_EQ_INT(lines, 1 + 4 * 18);
        TEST_TRUE(strncmp(m, "epoch,split,metric,k,value\n2,valid,recall,10,", 45) == 0);
        free(m);
        char *manifest = slurp(out_a, "manifest.json");
        cJSON *js = cJSON_Parse(manifest);
        TEST_TRUE(js != NULL);
        cJSON *data = cJSON_GetObjectItem(js, "data");
        TEST_TRUE(cJSON_IsString(cJSON_GetObjectItem(data, "hash")));
        TEST_TRUE(strncmp(cJSON_GetObjectItem(data, "hash")->valuestring, "fnv1a64:", 8) == 0);
        TEST_STR_EQ(cJSON_GetObjectItem(js, "version")->valuestring, "test");
        cJSON_Delete(js);
        free(manifest);
        /* embeddings of the best epoch, readable back */
        char *st_path = bb_path_join(out_a, "embeddings.safetensors");
        nn_safetensors st;
        TEST_OK(nn_st_open(&st, st_path, &err), &err);
        const nn_st_entry *e = nn_st_find(&st, "item_emb");
        TEST_TRUE(e && e->ndim == 2 && e->shape[0] == 80 && e->shape[1] == 16);
        nn_st_close(&st);
        free(st_path);
    }
}

static void test_thread_count_does_not_change_results(void) {
    /* Stronger than required: every kernel splits per row or per element and the loss is
     * reduced in batch order, so even the thread count leaves the numbers unchanged. */
    const char *dir = planted_dataset("threads", 70, 60);
    rank_run_config c;
    rank_run_result r1, r3;
    bb_error err;
    small_config(&c, dir, RANK_MODEL_LIGHTGCN);
    c.epochs = 4;
    c.threads = 1;
    TEST_OK(rank_run_execute(&c, &r1, &err), &err);
    c.threads = 3;
    TEST_OK(rank_run_execute(&c, &r3, &err), &err);
    TEST_TRUE(memcmp(r1.test.mean, r3.test.mean, sizeof r1.test.mean) == 0);
    TEST_TRUE(memcmp(r1.valid.mean, r3.valid.mean, sizeof r1.valid.mean) == 0);
    rank_run_result_free(&r1);
    rank_run_result_free(&r3);
}

/* ------------------------------------------------------------------------------------------
 * Bad input */

static const char *tiny_dataset(const char *name, const char *train, const char *valid,
                                const char *test) {
    static char path[1024];
    snprintf(path, sizeof path, "%s", bb_test_tmp_path(name));
    bb_error err;
    BB_ASSERT(bb_mkdir_p(path, &err) == BB_OK, "%s", err.msg);
    write_file(path, "train.csv", train);
    write_file(path, "valid.csv", valid);
    write_file(path, "test.csv", test);
    return path;
}

static int dir_has_partial(const char *parent) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q partial", parent);
    return system(cmd) == 0;
}

static void test_item_only_in_test_is_legal(void) {
    /* item 4 appears only in test: it is in the ranking (n_items = 5), Pop scores it 0,
     * LightGCN keeps its layer-0 share; user 1's test item 4 can still be found. */
    const char *dir = tiny_dataset("only_test", "user,item\n0,0\n0,1\n1,1\n1,2\n2,0\n2,3\n",
                                   "user,item\n0,2\n1,0\n", "user,item\n0,3\n1,4\n2,1\n");
    rank_run_config c;
    rank_run_result r;
    bb_error err;
    small_config(&c, dir, RANK_MODEL_POP);
    c.ks[0] = 1, c.ks[1] = 3, c.n_ks = 2;
    TEST_OK(rank_run_execute(&c, &r, &err), &err);
    /* Pop ranks 0,1 (2 each) then 2,3 (1) then 4 (0). user 0 (train 0,1): [2,3,4] -> test 3
     * at rank 2; user 1 (train 1,2): [0,3,4] -> 4 at rank 3; user 2 (train 0,3): [1,2,4] ->
     * 1 at rank 1. K=1: recall (0+0+1)/3; K=3: all found. */
    TEST_EQ_INT(r.test.n_users, 3);
    TEST_NEAR(r.test.mean[0][BB_RANK_RECALL], 1.0 / 3.0, 1e-15);
    TEST_NEAR(r.test.mean[1][BB_RANK_RECALL], 1.0, 0);
    TEST_NEAR(r.test.mean[1][BB_RANK_MRR], (0.5 + 1.0 / 3.0 + 1.0) / 3.0, 1e-15);
    rank_run_result_free(&r);
    small_config(&c, dir, RANK_MODEL_LIGHTGCN);
    c.ks[0] = 3, c.n_ks = 1;
    c.epochs = 2;
    TEST_OK(rank_run_execute(&c, &r, &err), &err);
    TEST_EQ_INT(r.test.n_users, 3);
    rank_run_result_free(&r);
}

static void test_empty_splits_and_bad_options_leave_nothing(void) {
    const char *parent = bb_test_tmpdir();
    char out[1100];
    snprintf(out, sizeof out, "%s/bad_run", parent);
    rank_run_config c;
    rank_run_result r;
    bb_error err;
    const char *dir = tiny_dataset("empty_test", "user,item\n0,0\n1,1\n", "user,item\n0,1\n",
                                   "user,item\n");
    small_config(&c, dir, RANK_MODEL_MF);
    c.out_dir = out;
    TEST_ERR_CONTAINS(rank_run_execute(&c, &r, &err), &err, "test.csv: no test pairs");
    TEST_TRUE(!bb_path_exists(out));
    dir = tiny_dataset("empty_valid", "user,item\n0,0\n1,1\n", "user,item\n", "user,item\n0,1\n");
    small_config(&c, dir, RANK_MODEL_POP);
    c.out_dir = out;
    TEST_ERR_CONTAINS(rank_run_execute(&c, &r, &err), &err, "valid.csv: no validation pairs");
    TEST_TRUE(!bb_path_exists(out));
    /* option values */
    dir = planted_dataset("opts", 20, 40);
    small_config(&c, dir, RANK_MODEL_LIGHTGCN);
    c.out_dir = out;
    c.batch = 0;
    TEST_ERR_CONTAINS(rank_run_execute(&c, &r, &err), &err, "--batch must be at least 1, got 0");
    small_config(&c, dir, RANK_MODEL_LIGHTGCN);
    c.ks[1] = -5;
    TEST_ERR_CONTAINS(rank_run_execute(&c, &r, &err), &err, "cut-off K must be positive, got -5");
    /* a user who has every item: no negative exists */
    dir = tiny_dataset("all_items", "user,item\n0,0\n0,1\n1,0\n2,1\n", "user,item\n1,1\n",
                       "user,item\n2,0\n");
    small_config(&c, dir, RANK_MODEL_MF);
    c.out_dir = out;
    TEST_ERR_CONTAINS(rank_run_execute(&c, &r, &err), &err, "user 0 has a training pair with every item");
    TEST_TRUE(!bb_path_exists(out));
    TEST_TRUE(!dir_has_partial(parent));
}

/* Runs "$BB_BIN ARGS > out 2> err" and returns the exit code. */
static int run_cli(const char *args, const char *out, const char *errf) {
    const char *bin = getenv("BB_BIN");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "BB_QUIET=1 %s %s > %s 2> %s", bin, args, out, errf);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_cli_json_and_exit_codes(void) {
    if (!getenv("BB_BIN")) TEST_SKIP("BB_BIN not set (run through make test)");
    const char *dir = planted_dataset("cli", 40, 40);
    char out[1100], errf[1100], run[1100], args[4096];
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("cli.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("cli.err"));
    snprintf(run, sizeof run, "%s", bb_test_tmp_path("cli_run"));
    snprintf(args, sizeof args,
             "rank --data %s --model lightgcn --epochs 2 --dim 8 --batch 64 --threads 2 "
             "--topk 5,20 --mask train+valid --reg-on ego --seed 3 --out %s --json",
             dir, run);
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    char *text = NULL;
    bb_error err;
    TEST_OK(bb_read_file(out, &text, NULL, &err), &err);
    cJSON *js = cJSON_Parse(text);
    free(text);
    TEST_TRUE(js != NULL);
    TEST_STR_EQ(cJSON_GetObjectItem(js, "model")->valuestring, "lightgcn");
    TEST_EQ_INT(cJSON_GetObjectItem(js, "epochs_run")->valueint, 2);
    const char *keys[] = {"best_epoch", "seconds_per_epoch", "eval_seconds", "peak_rss_mb"};
    for (int k = 0; k < 4; k++) TEST_TRUE(cJSON_IsNumber(cJSON_GetObjectItem(js, keys[k])));
    const char *splits[] = {"valid", "test"};
    const char *metrics[] = {"recall", "precision", "ndcg", "mrr", "hit", "hr_micro"};
    for (int s = 0; s < 2; s++) {
        cJSON *o = cJSON_GetObjectItem(js, splits[s]);
        TEST_EQ_INT(cJSON_GetArraySize(o), 12);
        for (int m = 0; m < 6; m++) {
            char key[32];
            snprintf(key, sizeof key, "%s@20", metrics[m]);
            cJSON *v = cJSON_GetObjectItem(o, key);
            TEST_TRUE(cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1);
        }
    }
    cJSON_Delete(js);
    TEST_TRUE(bb_path_exists(run));
    /* usage errors exit 2, data errors 1, each one line, no run directory */
    char bad[1100];
    snprintf(bad, sizeof bad, "%s", bb_test_tmp_path("cli_bad_run"));
    const char *cases[][2] = {
        {"--model knn", "unknown model \"knn\""},
        {"--model mf --topk 10,0", "--topk: expected"},
        {"--model mf --batch 0", "--batch must be at least 1, got 0"},
        {"--model mf --mask valid", "--mask: expected train or train+valid"},
    };
    for (int k = 0; k < 4; k++) {
        snprintf(args, sizeof args, "rank --data %s %s --out %s", dir, cases[k][0], bad);
        TEST_EQ_INT(run_cli(args, out, errf), 2);
        char *msg = NULL;
        TEST_OK(bb_read_file(errf, &msg, NULL, &err), &err);
        int one_line = strchr(msg, '\n') == msg + strlen(msg) - 1;
        int names = strstr(msg, cases[k][1]) != NULL;
        if (!(one_line && names)) bb_test_fail(__FILE__, __LINE__, "case %d: %s", k, msg);
        free(msg);
        TEST_TRUE(one_line && names);
        TEST_TRUE(!bb_path_exists(bad));
    }
    const char *empty = tiny_dataset("cli_empty", "user,item\n0,0\n1,1\n", "user,item\n0,1\n",
                                     "user,item\n");
    snprintf(args, sizeof args, "rank --data %s --model pop --out %s", empty, bad);
    TEST_EQ_INT(run_cli(args, out, errf), 1);
    TEST_TRUE(!bb_path_exists(bad));
}

const bb_test bb_suite_rank_train[] = {
    {"bpr_loss_hand_worked", test_bpr_loss_hand_worked},
    {"bpr_loss_central_differences", test_bpr_loss_central_differences},
    {"parallel_batch_loss_is_bitwise_serial", test_parallel_batch_loss_is_bitwise_serial},
    {"adam_matches_nn_adam_bitwise", test_adam_matches_nn_adam_bitwise},
    {"fused_lightgcn_step_matches_tape_and_gradcheck",
     test_fused_lightgcn_step_matches_tape_and_gradcheck},
    {"fused_adam_equals_separate_pass", test_fused_adam_equals_separate_pass},
    {"planted_toy_problem", test_planted_toy_problem},
    {"runs_are_bit_identical", test_runs_are_bit_identical},
    {"thread_count_does_not_change_results", test_thread_count_does_not_change_results},
    {"item_only_in_test_is_legal", test_item_only_in_test_is_legal},
    {"empty_splits_and_bad_options_leave_nothing", test_empty_splits_and_bad_options_leave_nothing},
    {"cli_json_and_exit_codes", test_cli_json_and_exit_codes},
    {NULL, NULL},
};
