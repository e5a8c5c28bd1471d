/* Tests for the decoder (models/lm/lm_model.h): a gradient check of the whole model at toy
 * size by central differences, injected-vector gradients, frozen weights, thread
 * determinism, and overfitting a two-sentence corpus. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_rng.h"
#include "models/lm/lm_bpe.h"
#include "models/lm/lm_model.h"
#include "models/nn/nn_ops.h"
#include "models/nn/nn_tape.h"
#include "tests/testhelp.h"

static const lm_arch toy = {.vocab = 53, .context = 8, .d_model = 16, .n_layers = 2, .n_heads = 2};

/* A toy model far from its tiny initialisation, so every path carries real gradient. */
static lm_model *toy_model(uint64_t seed) {
    lm_model *lm = lm_create(&toy, seed);
    bb_rng rng;
    bb_rng_seed(&rng, seed, "test/lm-toy-weights");
    for (int i = 0; i < lm->params->n; i++) {
        nn_tensor *t = lm->params->items[i];
        int is_gain = strstr(lm->params->names[i], "ln_") && strstr(lm->params->names[i], "weight");
        nn_init_normal(t, &rng, is_gain ? 1.0f : 0.0f, is_gain ? 0.2f : 0.3f);
    }
    return lm;
}

typedef struct toy_batch {
    int32_t ids[16], targets[16], inject_pos[3];
    uint8_t mask[16];
    float inject_vec[3 * 16];
    lm_input in;
} toy_batch;

static void toy_batch_init(toy_batch *tb, uint64_t seed, int with_inject) {
    bb_rng rng;
    bb_rng_seed(&rng, seed, "test/lm-toy-batch");
    for (int p = 0; p < 16; p++) {
        tb->ids[p] = (int32_t)bb_rng_below(&rng, 53);
        tb->targets[p] = (int32_t)bb_rng_below(&rng, 53);
        tb->mask[p] = p % 8 >= 2; /* a "prompt" of two positions per sequence is not counted */
    }
    tb->targets[5] = LM_IGNORE;
    tb->inject_pos[0] = 1, tb->inject_pos[1] = 2, tb->inject_pos[2] = 9;
    for (int i = 0; i < 48; i++) tb->inject_vec[i] = 0.5f * (float)bb_rng_normal(&rng);
    tb->in = (lm_input){.B = 2, .T = 8, .ids = tb->ids};
    if (with_inject) {
        tb->in.n_inject = 3;
        tb->in.inject_pos = tb->inject_pos;
        tb->in.inject_vec = tb->inject_vec;
    }
}

static double numeric_grad(lm_model *lm, toy_batch *tb, float *x) {
    const double h = 1e-2;
    float keep = *x;
    *x = keep + (float)h;
    double up = lm_evaluate(lm, &tb->in, tb->targets, tb->mask).mean;
    *x = keep - (float)h;
    double down = lm_evaluate(lm, &tb->in, tb->targets, tb->mask).mean;
    *x = keep;
    return (up - down) / (2 * h);
}

static double rel_err(double a, double b) {
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), 1e-3);
}

static void test_full_model_gradcheck(void) {
    lm_model *lm = toy_model(11);
    toy_batch tb;
    toy_batch_init(&tb, 12, 1);
    float dinj[48] = {0};
    nn_params_zero_grad(lm->params);
    lm_loss loss = lm_forward_backward(lm, &tb.in, tb.targets, tb.mask, LM_TRAIN, dinj);
    double worst = 0.0;
    char worst_name[96] = "";
    for (int i = 0; i < lm->params->n; i++) {
        nn_tensor *t = lm->params->items[i];
        /* Under valgrind one element per tensor still walks every code path. */
        int64_t per = getenv("BB_VALGRIND") ? 1 : 5;
        int64_t stride = t->numel > per ? t->numel / per : 1;
        for (int64_t e = 0; e < t->numel; e += stride) {
            double r = rel_err(numeric_grad(lm, &tb, &t->data[e]), t->grad[e]);
            if (r > worst)
                worst = r,
                snprintf(worst_name, sizeof worst_name, "%s[%ld]", lm->params->names[i], (long)e);
        }
    }
    double worst_inj = 0.0;
    for (int i = 0; i < 48; i += 3)
        worst_inj = fmax(worst_inj, rel_err(numeric_grad(lm, &tb, &tb.inject_vec[i]), dinj[i]));
    int64_t count = loss.count;
    lm_free(lm);
    /* Float32 activations put ~1e-5 of noise on each difference quotient; bugs give O(1). */
    if (worst >= 2e-2) {
        bb_test_fail(__FILE__, __LINE__, "worst relative error %g at %s", worst, worst_name);
        return;
    }
    TEST_TRUE(worst_inj < 2e-2);
    TEST_EQ_INT(count, 11); /* 12 masked-in positions minus one LM_IGNORE target */
}

static void test_frozen_matches_train_and_touches_nothing(void) {
    lm_model *lm = toy_model(21);
    toy_batch tb;
    toy_batch_init(&tb, 22, 1);
    float d_train[48] = {0}, d_frozen[48] = {0};
    nn_params_zero_grad(lm->params);
    lm_loss a = lm_forward_backward(lm, &tb.in, tb.targets, tb.mask, LM_TRAIN, d_train);
    nn_params_zero_grad(lm->params);
    size_t bytes = (size_t)lm->params->total * sizeof(float);
    float *before = malloc(bytes);
    memcpy(before, lm->params->data, bytes);
    lm_loss b = lm_forward_backward(lm, &tb.in, tb.targets, tb.mask, LM_FROZEN, d_frozen);
    int grads_zero = 1;
    for (int64_t i = 0; i < lm->params->total; i++) grads_zero &= lm->params->grad[i] == 0.0f;
    int data_same = memcmp(before, lm->params->data, bytes) == 0;
    free(before);
    lm_free(lm);
    TEST_TRUE(a.sum == b.sum);
    TEST_TRUE(memcmp(d_train, d_frozen, sizeof d_train) == 0);
    TEST_TRUE(grads_zero);
    TEST_TRUE(data_same);
    double norm = 0.0;
    for (int i = 0; i < 48; i++) norm += d_frozen[i] * d_frozen[i];
    TEST_TRUE(norm > 0.0);
}

/* BEAT stage 2 in miniature: a linear projector on an nn tape feeds the <U> slots of the
 * frozen LM; AdamW steps change the projector and lower the loss, never the LM. */
static void test_projector_only_training_keeps_lm_bit_identical(void) {
    lm_model *lm = toy_model(31);
    toy_batch tb;
    toy_batch_init(&tb, 32, 1);
    size_t bytes = (size_t)lm->params->total * sizeof(float);
    float *before = malloc(bytes);
    memcpy(before, lm->params->data, bytes);
    nn_params *proj = nn_params_new();
    nn_tensor *w = nn_params_add2(proj, "proj", 4, 16);
    nn_params_finalize(proj);
    bb_rng rng;
    bb_rng_seed(&rng, 33, "test/lm-proj");
    nn_init_xavier_uniform(w, &rng);
    nn_tensor *feat = nn_tensor_new2(3, 4, 0);
    for (int i = 0; i < 12; i++) feat->data[i] = (float)bb_rng_normal(&rng);
    nn_adam opt = nn_adamw_default(0.05f, 0.0f);
    nn_tape *tp = nn_tape_new();
    double first = 0.0, last = 0.0;
    for (int step = 0; step < 20; step++) {
        nn_tape_reset(tp);
        nn_params_zero_grad(proj);
        nn_tensor *projected = nn_matmul(tp, feat, w, 0, 0); /* (3, 16) */
        tb.in.inject_vec = projected->data;
        float dinj[48] = {0};
        lm_loss loss = lm_forward_backward(lm, &tb.in, tb.targets, tb.mask, LM_FROZEN, dinj);
        nn_tape_backward_seed(tp, projected, dinj);
        nn_adam_step(proj, &opt);
        if (step == 0) first = loss.mean;
        last = loss.mean;
    }
    int same = memcmp(before, lm->params->data, bytes) == 0;
    nn_tape_free(tp);
    nn_tensor_free(feat);
    nn_params_free(proj);
    free(before);
    lm_free(lm);
    TEST_TRUE(same);
    TEST_TRUE(last < first - 0.1);
}

static void test_threads_bit_identical(void) {
    toy_batch tb;
    toy_batch_init(&tb, 42, 1);
    float *grads[3];
    double sums[3];
    float dinj[3][48];
    int threads[3] = {2, 2, 1};
    for (int r = 0; r < 3; r++) {
        lm_model *lm = toy_model(41);
        lm_set_threads(lm, threads[r]);
        nn_params_zero_grad(lm->params);
        memset(dinj[r], 0, sizeof dinj[r]);
        sums[r] = lm_forward_backward(lm, &tb.in, tb.targets, tb.mask, LM_TRAIN, dinj[r]).sum;
        grads[r] = malloc((size_t)lm->params->total * sizeof(float));
        memcpy(grads[r], lm->params->grad, (size_t)lm->params->total * sizeof(float));
        if (r == 2) {
            size_t n = (size_t)lm->params->total;
            int same = memcmp(grads[0], grads[1], n * sizeof(float)) == 0;
            double worst = 0.0;
            for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(grads[0][i] - grads[2][i]));
            lm_free(lm);
            for (int k = 0; k < 3; k++) free(grads[k]);
            TEST_TRUE(same);
            TEST_TRUE(sums[0] == sums[1]);
            TEST_TRUE(memcmp(dinj[0], dinj[1], sizeof dinj[0]) == 0);
            /* One thread adds the same numbers in another order: equal up to float rounding
             * (OpenBLAS kernels may also round differently for other matrix heights). */
            TEST_NEAR(sums[0], sums[2], 1e-6 * fabs(sums[0]));
            TEST_TRUE(worst < 1e-5);
            return;
        }
        lm_free(lm);
    }
}

/* One sequence per chunk instead of the whole batch in one: the same loss and gradients
 * up to the order of the gradient sums. */
static void test_chunks_match_whole_batch(void) {
    toy_batch tb;
    toy_batch_init(&tb, 52, 1);
    lm_model *lm = toy_model(51);
    size_t n = (size_t)lm->params->total;
    float *whole = malloc(n * sizeof(float)), dinj_whole[48] = {0}, dinj_chunk[48] = {0};
    nn_params_zero_grad(lm->params);
    double a = lm_forward_backward(lm, &tb.in, tb.targets, tb.mask, LM_TRAIN, dinj_whole).sum;
    memcpy(whole, lm->params->grad, n * sizeof(float));
    lm_set_chunk_rows(lm, 1);
    nn_params_zero_grad(lm->params);
    double b = lm_forward_backward(lm, &tb.in, tb.targets, tb.mask, LM_TRAIN, dinj_chunk).sum;
    double worst = 0.0, norm = 0.0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs(whole[i] - lm->params->grad[i]));
        norm = fmax(norm, fabs(whole[i]));
    }
    free(whole);
    lm_free(lm);
    TEST_NEAR(a, b, 1e-6 * fabs(a));
    TEST_TRUE(norm > 1e-3);
    TEST_TRUE(worst < 1e-5 * norm);
    for (int i = 0; i < 48; i++) TEST_NEAR(dinj_whole[i], dinj_chunk[i], 1e-5);
}

/* The threaded AdamW step equals nn_adam_step bit for bit. */
static void test_threaded_adam_equals_nn(void) {
    lm_model *a = toy_model(61), *b = toy_model(61);
    lm_set_threads(a, 2);
    toy_batch tb;
    toy_batch_init(&tb, 62, 0);
    nn_adam opt = nn_adamw_default(1e-2f, 0.1f);
    for (int step = 0; step < 3; step++) {
        nn_params_zero_grad(a->params);
        lm_forward_backward(a, &tb.in, tb.targets, tb.mask, LM_TRAIN, NULL);
        memcpy(b->params->grad, a->params->grad, (size_t)a->params->total * sizeof(float));
        lm_adam_step(a, &opt);
        nn_adam_step(b->params, &opt);
    }
    size_t bytes = (size_t)a->params->total * sizeof(float);
    int same = memcmp(a->params->data, b->params->data, bytes) == 0 &&
               memcmp(a->params->m, b->params->m, bytes) == 0 &&
               memcmp(a->params->v, b->params->v, bytes) == 0 && a->params->step == b->params->step;
    int64_t steps = a->params->step;
    lm_free(a);
    lm_free(b);
    TEST_TRUE(same);
    TEST_EQ_INT(steps, 3);
}

/* Two sentences, a byte-level vocabulary with a few merges, a small model and AdamW:
 * the training loss must fall close to zero (the model memorises both). */
static void test_overfits_two_sentences(void) {
    if (getenv("BB_VALGRIND")) TEST_SKIP("150 training steps: numerics checked in the normal run");
    const char *texts[] = {"the staff was friendly and the food was fresh.",
                           "a gripping plot with vivid characters!"};
    lm_bpe *tok;
    bb_error err;
    TEST_OK(lm_bpe_train(texts, NULL, 2, 300, 2, &tok, &err), &err);
    lm_ids seq[2] = {{0}, {0}};
    int T = 0;
    for (int s = 0; s < 2; s++) {
        lm_ids_push(&seq[s], lm_bpe_special(tok, LM_BOS));
        lm_bpe_encode(tok, texts[s], strlen(texts[s]), &seq[s]);
        lm_ids_push(&seq[s], lm_bpe_special(tok, LM_EOS));
        if ((int)seq[s].n - 1 > T) T = (int)seq[s].n - 1;
    }
    int32_t *ids = calloc(2 * (size_t)T, sizeof *ids),
            *targets = malloc(2 * (size_t)T * sizeof *targets);
    for (int s = 0; s < 2; s++)
        for (int t = 0; t < T; t++) {
            int have = t + 1 < (int)seq[s].n;
            ids[s * T + t] = have ? seq[s].v[t] : lm_bpe_special(tok, LM_PAD);
            targets[s * T + t] = have ? seq[s].v[t + 1] : LM_IGNORE;
        }
    lm_arch arch = {
        .vocab = tok->vocab_size, .context = T, .d_model = 32, .n_layers = 2, .n_heads = 2};
    lm_model *lm = lm_create(&arch, 5);
    lm_input in = {.B = 2, .T = T, .ids = ids};
    nn_adam opt = nn_adamw_default(3e-3f, 0.0f);
    double first = 0.0, last = 0.0;
    for (int step = 0; step < 150; step++) {
        nn_params_zero_grad(lm->params);
        lm_loss loss = lm_forward_backward(lm, &in, targets, NULL, LM_TRAIN, NULL);
        nn_adam_step(lm->params, &opt);
        if (step == 0) first = loss.mean;
        last = loss.mean;
    }
    lm_loss final = lm_evaluate(lm, &in, targets, NULL);
    lm_free(lm);
    free(ids), free(targets);
    lm_ids_free(&seq[0]), lm_ids_free(&seq[1]);
    lm_bpe_free(tok);
    TEST_TRUE(first > 4.0); /* about log(vocab) at the start */
    TEST_TRUE(last < 0.05);
    TEST_TRUE(final.mean < 0.05);
}

const bb_test bb_suite_lm_model[] = {
    {"full_model_gradcheck", test_full_model_gradcheck},
    {"frozen_matches_train_and_touches_nothing", test_frozen_matches_train_and_touches_nothing},
    {"projector_only_training_keeps_lm_bit_identical",
     test_projector_only_training_keeps_lm_bit_identical},
    {"threads_bit_identical", test_threads_bit_identical},
    {"chunks_match_whole_batch", test_chunks_match_whole_batch},
    {"threaded_adam_equals_nn", test_threaded_adam_equals_nn},
    {"overfits_two_sentences", test_overfits_two_sentences},
    {NULL, NULL},
};
