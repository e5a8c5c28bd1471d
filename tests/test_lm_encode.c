/* Tests for the LM as a text encoder (models/lm/lm_encode.h): sentence vectors are the
 * mean of the chosen layer over the text's tokens, batching does not change them, token
 * vectors line up with the hidden states and their bytes spell the text, layer 0 is the
 * input embedding, empty and over-long texts are handled. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_rng.h"
#include "models/lm/lm_bpe.h"
#include "models/lm/lm_encode.h"
#include "models/lm/lm_model.h"
#include "tests/testhelp.h"

static const char *corpus[] = {"fresh food and friendly staff", "a quiet cafe with good coffee",
                               "the plot was gripping", "", "x"};

typedef struct fixture {
    lm_bpe *tok;
    lm_model *lm;
} fixture;

static int fixture_init(fixture *f) {
    bb_error err;
    if (lm_bpe_train(corpus, NULL, 5, 320, 1, &f->tok, &err) != BB_OK) return 0;
    lm_arch a = {
        .vocab = f->tok->vocab_size, .context = 16, .d_model = 8, .n_layers = 2, .n_heads = 2};
    f->lm = lm_create(&a, 9);
    bb_rng rng;
    bb_rng_seed(&rng, 9, "test/lm-encode-weights");
    for (int i = 0; i < f->lm->params->n; i++) {
        const char *name = f->lm->params->names[i];
        int gain = strstr(name, "ln_") && strstr(name, "weight");
        nn_init_normal(f->lm->params->items[i], &rng, gain ? 1.0f : 0.0f, gain ? 0.1f : 0.5f);
    }
    return 1;
}

static void fixture_free(fixture *f) {
    lm_free(f->lm);
    lm_bpe_free(f->tok);
}

/* The hidden states of "<bos> text" computed directly. */
static float *states_of(fixture *f, const char *text, int layer, size_t *n_out) {
    lm_ids ids = {0};
    lm_ids_push(&ids, lm_bpe_special(f->tok, LM_BOS));
    lm_bpe_encode(f->tok, text, strlen(text), &ids);
    float *h = malloc(ids.n * 8 * sizeof(float));
    lm_input in = {.B = 1, .T = (int)ids.n, .ids = ids.v};
    lm_hidden(f->lm, &in, layer, h);
    *n_out = ids.n;
    lm_ids_free(&ids);
    return h;
}

static void test_sentence_vector_is_token_mean(void) {
    fixture f;
    TEST_TRUE(fixture_init(&f));
    float batch[5 * 8], single[8];
    lm_set_threads(f.lm, 2);
    lm_sentence_vectors(f.lm, f.tok, corpus, NULL, 5, 2, batch);
    double worst_mean = 0.0, worst_batch = 0.0;
    for (int i = 0; i < 5; i++) {
        size_t n;
        float *h = states_of(&f, corpus[i], 2, &n);
        for (int c = 0; c < 8; c++) {
            double m = 0.0;
            for (size_t t = 1; t < n; t++) m += h[t * 8 + c];
            m = n > 1 ? m / (double)(n - 1) : 0.0;
            worst_mean = fmax(worst_mean, fabs(m - batch[i * 8 + c]));
        }
        free(h);
        lm_sentence_vectors(f.lm, f.tok, &corpus[i], NULL, 1, 2, single);
        for (int c = 0; c < 8; c++)
            worst_batch = fmax(worst_batch, fabs(single[c] - batch[i * 8 + c]));
    }
    int empty_zero = 1;
    for (int c = 0; c < 8; c++) empty_zero &= batch[3 * 8 + c] == 0.0f;
    fixture_free(&f);
    TEST_TRUE(worst_mean < 1e-5);
    TEST_TRUE(worst_batch < 1e-5);
    TEST_TRUE(empty_zero);
}

typedef struct sink_ctx {
    char text[256];
    size_t len, count;
    float first[8];
} sink_ctx;

static void collect(void *ctx, const char *token, size_t len, const float *vector) {
    sink_ctx *s = ctx;
    memcpy(s->text + s->len, token, len);
    s->len += len;
    if (s->count++ == 0) memcpy(s->first, vector, sizeof s->first);
}

static void test_token_vectors_and_adapter(void) {
    fixture f;
    TEST_TRUE(fixture_init(&f));
    lm_token_vectors tv;
    lm_encode_tokens(f.lm, f.tok, corpus, NULL, 5, 1, &tv);
    size_t n;
    float *h = states_of(&f, corpus[1], 1, &n);
    size_t k0 = tv.start[1], count = tv.start[2] - tv.start[1];
    double worst = 0.0;
    for (size_t t = 0; t < count; t++)
        for (int c = 0; c < 8; c++)
            worst = fmax(worst, fabs(h[(t + 1) * 8 + c] - tv.vectors[(k0 + t) * 8 + c]));
    free(h);
    lm_text_encoder enc = {.model = f.lm, .tok = f.tok, .layer = 1};
    sink_ctx s = {.len = 0};
    size_t skipped = lm_text_encoder_embed(&enc, corpus[1], strlen(corpus[1]), collect, &s);
    s.text[s.len] = '\0';
    int first_same = memcmp(s.first, tv.vectors + k0 * 8, sizeof s.first) == 0;
    /* Layer 0 is the input embedding: wte[id] + wpe[position]. */
    lm_token_vectors l0;
    lm_encode_tokens(f.lm, f.tok, &corpus[0], NULL, 1, 0, &l0);
    int32_t id = l0.ids[0];
    double worst_l0 = 0.0;
    for (int c = 0; c < 8; c++)
        worst_l0 = fmax(
            worst_l0, fabs(l0.vectors[c] - (f.lm->wte->data[id * 8 + c] + f.lm->wpe->data[8 + c])));
    /* A text longer than the context is cut; the rest is counted as truncated. */
    const char *longtext = "fresh food and friendly staff fresh food and friendly staff again";
    sink_ctx s2 = {.len = 0};
    size_t cut = lm_text_encoder_embed(&enc, longtext, strlen(longtext), collect, &s2);
    lm_token_vectors_free(&l0);
    lm_token_vectors_free(&tv);
    fixture_free(&f);
    TEST_TRUE(count > 0);
    TEST_TRUE(worst < 1e-5);
    TEST_STR_EQ(s.text, corpus[1]);
    TEST_EQ_INT(s.count, count);
    TEST_EQ_INT(skipped, 0);
    TEST_TRUE(first_same);
    TEST_TRUE(worst_l0 == 0.0);
    TEST_EQ_INT(s2.count, 15); /* 16 positions minus <bos> */
    TEST_TRUE(cut > 0);
}

const bb_test bb_suite_lm_encode[] = {
    {"sentence_vector_is_token_mean", test_sentence_vector_is_token_mean},
    {"token_vectors_and_adapter", test_token_vectors_and_adapter},
    {NULL, NULL},
};
