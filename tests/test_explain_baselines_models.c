/* Tests of the PETER and NRT models (issue #7): central-difference gradient checks of each
 * model's whole training loss at toy size (every parameter, dropout and sampled negatives
 * included, with the stream re-seeded per evaluation), the PETER attention mask by hand and
 * by its effect on hidden states, overfitting a tiny set (valid rows equal to train rows
 * reach a near-zero NLL, and greedy decoding reproduces the training explanation of a seen
 * pair exactly), bit-identical generations for the same seed, and generations that do not
 * change when the test explanations' text does (no test text reaches training), and the
 * train_log.csv each writes into the task's work directory (one row per epoch, the kept
 * epoch's valid_loss equal to the selected value). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/explain_corpus.h"
#include "baselines/explain_head.h"
#include "baselines/nrt.h"
#include "baselines/peter.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_explain_log.h"
#include "models/nn/nn.h"
#include "tests/testhelp.h"
#include "tests/util/explain_testutil.h"
#include "tests/util/nn_testutil.h"

static int under_valgrind(void) { return getenv("BB_VALGRIND") != NULL; }

/* ------------------------------------------------------------------------------------------
 * the fused vocabulary head equals the tape path (value and every gradient), over several
 * chunks and with ignored rows */

static void test_head_matches_tape(void) {
    enum { N = 2 * BB_XHEAD_CHUNK + 37, D = 6, V = 11 };
    nn_tensor *h = nn_test_rand2(N, D, 1), *w = nn_test_rand2(D, V, 2);
    nn_tensor *b = nn_test_rand(1, (int64_t[]){V}, 3, -1, 1);
    int32_t *tg = malloc(N * sizeof *tg);
    bb_rng r;
    bb_rng_seed(&r, 4, "test/targets");
    for (int k = 0; k < N; k++) tg[k] = k % 5 == 3 ? NN_IGNORE_INDEX : (int32_t)bb_rng_below(&r, V);
    float *ref_grad[3];
    nn_tensor *ps[3] = {h, w, b};
    nn_tape *tp = nn_tape_new();
    nn_tensor *ref = nn_cross_entropy(tp, nn_add(tp, nn_matmul(tp, h, w, 0, 0), b), tg);
    double ref_value = ref->data[0];
    nn_tape_backward(tp, nn_scale(tp, ref, 0.5f));
    for (int k = 0; k < 3; k++) {
        ref_grad[k] = malloc((size_t)ps[k]->numel * sizeof(float));
        memcpy(ref_grad[k], ps[k]->grad, (size_t)ps[k]->numel * sizeof(float));
        nn_tensor_zero_grad(ps[k]);
    }
    nn_tape_reset(tp);
    double sum = 0;
    nn_tensor *fused = bb_xhead_nll(tp, h, w, b, tg, &sum);
    TEST_NEAR(fused->data[0], ref_value, 1e-5 * ref_value);
    TEST_NEAR(sum / (double)(N - N / 5), ref_value, 1e-6 * ref_value);
    nn_tape_backward(tp, nn_scale(tp, fused, 0.5f));
    for (int k = 0; k < 3; k++) {
        double worst = 0, mag = 0;
        for (int64_t e = 0; e < ps[k]->numel; e++) {
            worst = fmax(worst, fabs((double)ps[k]->grad[e] - ref_grad[k][e]));
            mag = fmax(mag, fabs(ref_grad[k][e]));
        }
        TEST_TRUE(mag > 0);
        TEST_TRUE(worst <= 1e-5 * mag);
    }
    /* evaluation mode: the value only, no gradient touched */
    for (int k = 0; k < 3; k++) nn_tensor_zero_grad(ps[k]);
    nn_tape_reset(tp);
    nn_tape_set_grad(tp, 0);
    TEST_NEAR(bb_xhead_nll(tp, h, w, b, tg, NULL)->data[0], ref_value, 1e-5 * ref_value);
    TEST_TRUE(nn_tensor_sum(w) != 0 && w->grad[0] == 0.0f);
    nn_tape_free(tp);
    for (int k = 0; k < 3; k++) {
        free(ref_grad[k]);
        nn_tensor_free(ps[k]);
    }
    free(tg);
}

/* ------------------------------------------------------------------------------------------
 * a hand-made batch: 3 rows of 3, 1 and 2 words (T = 4), vocabulary of 9 */

static void toy_batch(bb_xbatch *b) {
    static int32_t uid[] = {0, 1, 2}, iid[] = {1, 3, 0}, len[] = {4, 2, 3};
    static int32_t input[] = {BB_WORD_BOS, 4, 5, 6, BB_WORD_BOS, 7, BB_WORD_PAD, BB_WORD_PAD,
                              BB_WORD_BOS, 8, 4, BB_WORD_PAD};
    static int32_t target[] = {4, 5, 6, BB_WORD_EOS, 7, BB_WORD_EOS, -1, -1, 8, 4, BB_WORD_EOS, -1};
    memset(b, 0, sizeof *b);
    b->n = 3;
    b->T = 4;
    b->uid = uid;
    b->iid = iid;
    b->len = len;
    b->input = input;
    b->target = target;
    b->n_targets = 4 + 2 + 3;
}

typedef struct model_ctx {
    void *model;
    const bb_xbatch *batch;
    int is_peter;
} model_ctx;

static nn_tensor *model_loss(nn_tape *tp, nn_tensor **params, int n_params, void *ctx) {
    (void)params;
    (void)n_params;
    model_ctx *c = ctx;
    bb_rng r;
    bb_rng_seed(&r, 99, "test/step"); /* same dropout mask / negatives at every evaluation */
    double nll;
    return c->is_peter ? bb_peter_loss(c->model, tp, c->batch, &r, &nll)
                       : bb_nrt_loss(c->model, tp, c->batch, &r, &nll);
}

static void test_nrt_gradcheck(void) {
    bb_nrt_config cfg;
    bb_nrt_tiny_config(&cfg);
    cfg.emb_dim = 4;
    cfg.hidden = 5;
    cfg.mlp_layers = 2;
    cfg.negatives = 2;
    cfg.lambda_r = 0.7;
    cfg.lambda_text = 1.3;
    bb_nrt_model *m = bb_nrt_create(3, 4, 9, &cfg, NULL, 5);
    bb_xbatch b;
    toy_batch(&b);
    model_ctx ctx = {m, &b, 0};
    nn_gradcheck_opts o = nn_gradcheck_defaults();
    o.step = 1e-2;
    o.abs_floor = 1e-2;
    o.max_elems = under_valgrind() ? 8 : 64;
    NN_TEST_GRADCHECK_OPTS(model_loss, &ctx, m->params->items, m->params->n, &o, 1e-2);
    /* the loss is the weighted sum of its two parts */
    nn_tape *tp = nn_tape_new();
    double nll;
    bb_rng r;
    bb_rng_seed(&r, 99, "test/step");
    double total = bb_nrt_loss(m, tp, &b, &r, &nll)->data[0];
    nn_tape_reset(tp);
    double text_only = bb_nrt_loss(m, tp, &b, NULL, &nll)->data[0];
    TEST_NEAR(text_only, 1.3 * nll / 9.0, 1e-5);
    TEST_TRUE(total > text_only + 0.1); /* 0.7 x a BCE near log 2 */
    nn_tape_free(tp);
    bb_nrt_free(m);
}

static void test_peter_gradcheck(void) {
    bb_peter_config cfg;
    bb_peter_tiny_config(&cfg);
    cfg.d_model = 8;
    cfg.n_heads = 2;
    cfg.n_layers = 2;
    cfg.d_ff = 12;
    cfg.dropout = 0.1;
    cfg.context_weight = 0.5;
    bb_peter_model *m = bb_peter_create(3, 4, 9, &cfg, 5);
    bb_xbatch b;
    toy_batch(&b);
    model_ctx ctx = {m, &b, 1};
    nn_gradcheck_opts o = nn_gradcheck_defaults();
    o.step = 3e-3;
    o.abs_floor = 2e-2; /* float32 loss of ~3.4 at h = 3e-3: differences carry ~7e-5 noise;
                        * h = 1e-2 shows truncation error through the sqrt(d)-scaled IDs */
    o.skip_kinks = 1; /* ReLU */
    o.max_elems = under_valgrind() ? 8 : 64;
    NN_TEST_GRADCHECK_OPTS(model_loss, &ctx, m->params->items, m->params->n, &o, 1e-2);
    bb_peter_free(m);
}

/* ------------------------------------------------------------------------------------------
 * the PETER mask */

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0;
    for (int64_t k = 0; k < n; k++) m = fmax(m, fabs((double)a[k] - (double)b[k]));
    return m;
}

static void test_peter_mask(void) {
    float mask[25];
    bb_peter_mask(mask, 5);
    for (int q = 0; q < 5; q++)
        for (int k = 0; k < 5; k++) {
            int visible = k <= q || (q == 0 && k == 1);
            TEST_TRUE(visible ? mask[q * 5 + k] == 0.0f : mask[q * 5 + k] < -1e8f);
        }
    /* effects: the user position sees the item; no position sees a later word */
    bb_peter_config cfg;
    bb_peter_tiny_config(&cfg);
    cfg.n_layers = 2;
    bb_peter_model *m = bb_peter_create(3, 4, 9, &cfg, 7);
    nn_tape *tp = nn_tape_new();
    nn_tape_set_grad(tp, 0);
    int32_t uid[3] = {0, 0, 0}, iid[3] = {1, 1, 2};
    int32_t words[9] = {BB_WORD_BOS, 5, 6, BB_WORD_BOS, 5, 7, BB_WORD_BOS, 5, 6};
    nn_tensor *h = bb_peter_encode(m, tp, uid, iid, words, 3, 3, NULL); /* S = 5 */
    int64_t d = cfg.d_model;
    const float *a = h->data, *b = h->data + 5 * d, *c = h->data + 10 * d;
    /* sequences 0 and 1 differ only in the last word: positions 0..3 agree (up to the
     * rounding of row-blocked sgemm: a masked weight is exactly 0, but rows of different
     * sequences may go through different kernel edges) */
    TEST_TRUE(max_abs_diff(a, b, 4 * d) < 1e-5);
    TEST_TRUE(max_abs_diff(a + 4 * d, b + 4 * d, d) > 1e-3);
    /* sequences 0 and 2 differ in the item: the user position (0) changes too */
    TEST_TRUE(max_abs_diff(a, c, d) > 1e-3);
    nn_tape_free(tp);
    bb_peter_free(m);
}

/* ------------------------------------------------------------------------------------------
 * overfitting six explanations */

static const char *const overfit_texts[6] = {
    "great coffee and quiet corners.",  "the pasta is fresh and cheap.",
    "friendly staff, fast service.",    "a cozy place for long talks.",
    "live music every friday night!",   "clean rooms and a calm garden.",
};

static void overfit_fixture(xtest_fix *f) {
    static const int32_t tu[] = {0, 1, 2, 3, 4, 5, 0, 1};
    static const int32_t ti[] = {0, 1, 2, 3, 4, 5, 2, 3};
    xtest_row rows[10];
    for (int k = 0; k < 6; k++) rows[k] = (xtest_row){k, k, BB_SPLIT_TRAIN, overfit_texts[k]};
    /* valid rows equal to train rows: their NLL is the training NLL of those rows */
    rows[6] = (xtest_row){0, 0, BB_SPLIT_VALID, overfit_texts[0]};
    rows[7] = (xtest_row){3, 3, BB_SPLIT_VALID, overfit_texts[3]};
    /* test rows on seen pairs (their reference text is never read) */
    rows[8] = (xtest_row){1, 1, BB_SPLIT_TEST, "unused reference"};
    rows[9] = (xtest_row){4, 4, BB_SPLIT_TEST, "unused reference"};
    xtest_fix_init(f, 6, 6, tu, ti, 8, rows, 10);
}

static void test_nrt_overfit(void) {
    xtest_fix f;
    overfit_fixture(&f);
    bb_nrt_config cfg;
    bb_nrt_tiny_config(&cfg);
    cfg.lr = 1e-2;
    cfg.max_epochs = 150;
    cfg.patience = 1000;
    bb_explain_output out;
    bb_error err;
    TEST_OK(bb_nrt_explain(&f.task, &cfg, &out, &err), &err);
    TEST_TRUE(out.best_valid_loss < 0.05);
    TEST_EQ_INT(out.n, 2);
    TEST_STR_EQ(out.generated[0], overfit_texts[1]);
    TEST_STR_EQ(out.generated[1], overfit_texts[4]);
    bb_explain_output_free(&out);
    xtest_fix_free(&f);
}

static void test_peter_overfit(void) {
    xtest_fix f;
    overfit_fixture(&f);
    bb_peter_config cfg;
    bb_peter_tiny_config(&cfg);
    cfg.lr = 1e-2;
    cfg.max_epochs = 150;
    cfg.patience = 1000;
    bb_explain_output out;
    bb_error err;
    TEST_OK(bb_peter_explain(&f.task, &cfg, &out, &err), &err);
    TEST_TRUE(out.best_valid_loss < 0.05);
    TEST_EQ_INT(out.n, 2);
    TEST_STR_EQ(out.generated[0], overfit_texts[1]);
    TEST_STR_EQ(out.generated[1], overfit_texts[4]);
    bb_explain_output_free(&out);
    xtest_fix_free(&f);
}

/* ------------------------------------------------------------------------------------------
 * determinism and no test text in training */

typedef int (*run_fn)(const bb_explain_task *, const void *, bb_explain_output *, bb_error *);

static int run_peter(const bb_explain_task *t, const void *c, bb_explain_output *o, bb_error *e) {
    return bb_peter_explain(t, c, o, e);
}

static int run_nrt(const bb_explain_task *t, const void *c, bb_explain_output *o, bb_error *e) {
    return bb_nrt_explain(t, c, o, e);
}

static int same_output(const bb_explain_output *a, const bb_explain_output *b) {
    if (a->n != b->n) return 0;
    for (size_t k = 0; k < a->n; k++)
        if (a->row[k] != b->row[k] || strcmp(a->generated[k], b->generated[k]) != 0) return 0;
    return memcmp(&a->best_valid_loss, &b->best_valid_loss, sizeof(double)) == 0 &&
           a->best_epoch == b->best_epoch;
}

static void check_repeatable(run_fn run, const void *cfg) {
    xtest_fix f;
    if (under_valgrind()) TEST_TRUE(xtest_fix_synth(&f, 60, 50, 400, 60));
    else TEST_TRUE(xtest_fix_synth(&f, 120, 100, 1200, 160));
    f.task.threads = 2;
    f.task.seed = 11;
    bb_explain_output a, b, c;
    bb_error err;
    TEST_OK(run(&f.task, cfg, &a, &err), &err);
    TEST_OK(run(&f.task, cfg, &b, &err), &err);
    TEST_TRUE(a.n == f.split.n_test && a.n >= 5);
    TEST_TRUE(isfinite(a.best_valid_loss));
    TEST_TRUE(same_output(&a, &b));
    /* replace every test explanation: nothing may change */
    for (size_t r = 0; r < f.split.n; r++)
        if (f.split.part[r] == BB_SPLIT_TEST) {
            free(f.synth.expl.rows[r].explanation);
            f.synth.expl.rows[r].explanation = strdup("zyzzyva quux unseen words only.");
        }
    TEST_OK(run(&f.task, cfg, &c, &err), &err);
    TEST_TRUE(same_output(&a, &c));
    /* after 3 epochs every generation has words (one epoch on the valgrind-sized data may
     * still put <eos> first) */
    size_t nonempty = 0;
    for (size_t k = 0; k < a.n; k++) nonempty += a.generated[k][0] != '\0';
    if (!under_valgrind()) TEST_TRUE(nonempty == a.n);
    bb_explain_output_free(&a);
    bb_explain_output_free(&b);
    bb_explain_output_free(&c);
    xtest_fix_free(&f);
}

static void test_peter_repeatable(void) {
    bb_peter_config cfg;
    bb_peter_tiny_config(&cfg);
    cfg.dropout = 0.1; /* dropout draws must repeat too */
    cfg.max_epochs = under_valgrind() ? 1 : 3;
    cfg.max_len = 24; /* cut and cap: an undertrained model rarely stops early */
    check_repeatable(run_peter, &cfg);
}

static void test_nrt_repeatable(void) {
    bb_nrt_config cfg;
    bb_nrt_tiny_config(&cfg);
    cfg.max_epochs = under_valgrind() ? 1 : 3;
    cfg.max_len = 24;
    check_repeatable(run_nrt, &cfg);
}

/* ------------------------------------------------------------------------------------------
 * train_log.csv in the task's work directory (models/beat/beat_explain_log.h) */

static void check_train_log(run_fn run, const void *cfg, const char *name) {
    xtest_fix f;
    TEST_TRUE(xtest_fix_synth(&f, 60, 50, 400, 60));
    f.task.seed = 5;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", bb_test_tmp_path(name));
    bb_error err;
    TEST_OK(bb_mkdir_p(dir, &err), &err);
    f.task.work_dir = dir;
    bb_explain_output out;
    TEST_OK(run(&f.task, cfg, &out, &err), &err);
    char *path = bb_path_join(dir, "train_log.csv");
    beat_train_log log;
    TEST_OK(beat_train_log_read(path, &log, &err), &err);
    free(path);
    TEST_EQ_INT(log.n, out.epochs_run);
    TEST_TRUE(out.best_epoch >= 1 && out.best_epoch <= log.n);
    /* the kept epoch's row holds the selection value itself, and it is the first minimum */
    TEST_TRUE(memcmp(&log.rows[out.best_epoch - 1].valid_loss, &out.best_valid_loss, sizeof(double)) == 0);
    for (int e = 0; e < log.n; e++) {
        TEST_TRUE(isfinite(log.rows[e].train_loss) && log.rows[e].train_loss > 0);
        TEST_TRUE(e < out.best_epoch - 1 ? log.rows[e].valid_loss > out.best_valid_loss
                                         : log.rows[e].valid_loss >= out.best_valid_loss);
        TEST_TRUE(log.rows[e].seconds >= 0);
    }
    /* training lowers the objective */
    TEST_TRUE(log.rows[log.n - 1].train_loss < log.rows[0].train_loss);
    beat_train_log_free(&log);
    bb_explain_output_free(&out);
    xtest_fix_free(&f);
}

static void test_peter_train_log(void) {
    bb_peter_config cfg;
    bb_peter_tiny_config(&cfg);
    cfg.max_epochs = under_valgrind() ? 2 : 4;
    cfg.max_len = 16;
    check_train_log(run_peter, &cfg, "peter_log");
}

static void test_nrt_train_log(void) {
    bb_nrt_config cfg;
    bb_nrt_tiny_config(&cfg);
    cfg.max_epochs = under_valgrind() ? 2 : 4;
    cfg.max_len = 16;
    check_train_log(run_nrt, &cfg, "nrt_log");
}

const bb_test bb_suite_explain_baselines_models[] = {
    {"head_matches_tape", test_head_matches_tape},
    {"nrt_gradcheck", test_nrt_gradcheck},
    {"peter_gradcheck", test_peter_gradcheck},
    {"peter_mask", test_peter_mask},
    {"nrt_overfit", test_nrt_overfit},
    {"peter_overfit", test_peter_overfit},
    {"peter_repeatable", test_peter_repeatable},
    {"nrt_repeatable", test_nrt_repeatable},
    {"peter_train_log", test_peter_train_log},
    {"nrt_train_log", test_nrt_train_log},
    {NULL, NULL},
};
