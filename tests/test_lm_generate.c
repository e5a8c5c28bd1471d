/* Tests for KV-cached decoding and generation (models/lm/lm_generate.h): cache logits equal
 * the full forward, greedy follows the argmax chain, a memorised sentence is reproduced and
 * ends at <eos> (greedy and beam), sampling is deterministic by seed and never emits
 * special tokens, a batch over threads equals one-by-one generation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_rng.h"
#include "models/lm/lm_bpe.h"
#include "models/lm/lm_generate.h"
#include "models/lm/lm_model.h"
#include "tests/testhelp.h"

static const char *texts[] = {"the staff was friendly and the food was fresh.",
                              "a gripping plot with vivid characters!"};

static lm_bpe *small_tok(void) {
    lm_bpe *tok = NULL;
    bb_error err;
    if (lm_bpe_train(texts, NULL, 2, 300, 2, &tok, &err) != BB_OK) return NULL;
    return tok;
}

static lm_model *random_model(int vocab, uint64_t seed) {
    lm_arch a = {.vocab = vocab, .context = 24, .d_model = 16, .n_layers = 2, .n_heads = 2};
    lm_model *lm = lm_create(&a, seed);
    bb_rng rng;
    bb_rng_seed(&rng, seed, "test/lm-gen-weights");
    for (int i = 0; i < lm->params->n; i++) {
        const char *name = lm->params->names[i];
        int gain = strstr(name, "ln_") && strstr(name, "weight");
        nn_init_normal(lm->params->items[i], &rng, gain ? 1.0f : 0.0f, gain ? 0.1f : 0.5f);
    }
    return lm;
}

static void test_kv_cache_matches_full_forward(void) {
    lm_model *lm = random_model(60, 1);
    int32_t ids[10] = {5, 7, 11, 3, 59, 0, 42, 8, 8, 1}, inject_pos[1] = {1};
    float vec[16];
    for (int c = 0; c < 16; c++) vec[c] = 0.1f * (float)(c - 8);
    lm_input in = {
        .B = 1, .T = 10, .ids = ids, .n_inject = 1, .inject_pos = inject_pos, .inject_vec = vec};
    float *full = malloc(10 * 60 * sizeof(float)), *step = malloc(10 * 60 * sizeof(float));
    lm_logits(lm, &in, full);
    lm_kv *kv = lm_kv_new(lm, 12);
    int32_t inject_row[4] = {-1, 0, -1, -1};
    lm_kv_append(lm, kv, ids, 4, inject_row, vec, step, 1); /* prefill 4 positions */
    for (int t = 4; t < 10; t++) lm_kv_append(lm, kv, &ids[t], 1, NULL, NULL, step + t * 60, 0);
    double worst = 0.0, scale = 0.0;
    for (int i = 0; i < 600; i++) {
        worst = fmax(worst, fabs(full[i] - step[i]));
        scale = fmax(scale, fabs(full[i]));
    }
    /* Copying the cache and continuing gives the same logits as continuing the original. */
    lm_kv *twin = lm_kv_new(lm, 12);
    lm_kv_copy(twin, kv);
    float a[60], b[60];
    int32_t next = 9;
    lm_kv_append(lm, kv, &next, 1, NULL, NULL, a, 0);
    lm_kv_append(lm, twin, &next, 1, NULL, NULL, b, 0);
    int same = memcmp(a, b, sizeof a) == 0;
    lm_kv_free(kv);
    lm_kv_free(twin);
    free(full);
    free(step);
    lm_free(lm);
    TEST_TRUE(scale > 0.1);
    TEST_TRUE(worst < 1e-5);
    TEST_TRUE(same);
}

static void test_greedy_follows_argmax(void) {
    lm_bpe *tok = small_tok();
    TEST_TRUE(tok != NULL);
    lm_model *lm = random_model(tok->vocab_size, 2);
    int32_t prompt_ids[3] = {lm_bpe_special(tok, LM_BOS), 't', 'h'};
    lm_prompt p = {.ids = prompt_ids, .n = 3};
    lm_gen_opts o = lm_gen_defaults();
    o.max_new = 6;
    lm_ids out = {0};
    bb_error err;
    TEST_OK(lm_generate(lm, tok, &p, &o, &out, &err), &err);
    int32_t seq[12];
    memcpy(seq, prompt_ids, sizeof prompt_ids);
    int n = 3, ok = 1;
    float *logits = malloc(12 * (size_t)tok->vocab_size * sizeof(float));
    for (size_t g = 0; g < out.n; g++) {
        lm_input in = {.B = 1, .T = n, .ids = seq};
        lm_logits(lm, &in, logits);
        const float *last = logits + (size_t)(n - 1) * tok->vocab_size;
        int32_t best = -1;
        for (int32_t j = 0; j < tok->vocab_size; j++)
            if ((!lm_bpe_is_special(tok, j) || j == lm_bpe_special(tok, LM_EOS)) &&
                (best < 0 || last[j] > last[best]))
                best = j;
        ok &= best == out.v[g];
        seq[n++] = out.v[g];
    }
    size_t produced = out.n;
    free(logits);
    lm_ids_free(&out);
    lm_free(lm);
    lm_bpe_free(tok);
    TEST_TRUE(produced >= 1);
    TEST_TRUE(ok);
}

/* Memorise both sentences, then complete them from their first tokens. */
static void test_memorised_sentence_ends_at_eos(void) {
    if (getenv("BB_VALGRIND")) TEST_SKIP("150 training steps: numerics checked in the normal run");
    lm_bpe *tok = small_tok();
    TEST_TRUE(tok != NULL);
    lm_ids seq[2] = {{0}, {0}};
    int T = 0;
    for (int s = 0; s < 2; s++) {
        lm_ids_push(&seq[s], lm_bpe_special(tok, LM_BOS));
        lm_bpe_encode(tok, texts[s], strlen(texts[s]), &seq[s]);
        lm_ids_push(&seq[s], lm_bpe_special(tok, LM_EOS));
        if ((int)seq[s].n - 1 > T) T = (int)seq[s].n - 1;
    }
    int32_t *ids = calloc(2 * (size_t)T, sizeof *ids), *tg = malloc(2 * (size_t)T * sizeof *tg);
    for (int s = 0; s < 2; s++)
        for (int t = 0; t < T; t++) {
            int have = t + 1 < (int)seq[s].n;
            ids[s * T + t] = have ? seq[s].v[t] : lm_bpe_special(tok, LM_PAD);
            tg[s * T + t] = have ? seq[s].v[t + 1] : LM_IGNORE;
        }
    lm_arch arch = {
        .vocab = tok->vocab_size, .context = T + 8, .d_model = 32, .n_layers = 2, .n_heads = 2};
    lm_model *lm = lm_create(&arch, 3);
    lm_input in = {.B = 2, .T = T, .ids = ids};
    nn_adam opt = nn_adamw_default(3e-3f, 0.0f);
    for (int step = 0; step < 150; step++) {
        nn_params_zero_grad(lm->params);
        lm_forward_backward(lm, &in, tg, NULL, LM_TRAIN, NULL);
        nn_adam_step(lm->params, &opt);
    }
    int ok_greedy = 1, ok_beam = 1;
    for (int s = 0; s < 2; s++) {
        lm_prompt p = {.ids = seq[s].v, .n = 3};
        for (int beam = 1; beam <= 3; beam += 2) {
            lm_gen_opts o = lm_gen_defaults();
            o.max_new = 40;
            o.beam = beam;
            lm_ids out = {0};
            bb_error err;
            int rc = lm_generate(lm, tok, &p, &o, &out, &err);
            /* The rest of the sentence, without the <eos> that ended it. */
            int ok = rc == BB_OK && out.n == seq[s].n - 4 &&
                     memcmp(out.v, seq[s].v + 3, out.n * sizeof(int32_t)) == 0;
            if (beam == 1)
                ok_greedy &= ok;
            else
                ok_beam &= ok;
            lm_ids_free(&out);
        }
    }
    free(ids), free(tg);
    lm_ids_free(&seq[0]), lm_ids_free(&seq[1]);
    lm_free(lm);
    lm_bpe_free(tok);
    TEST_TRUE(ok_greedy);
    TEST_TRUE(ok_beam);
}

static int same_ids(const lm_ids *a, const lm_ids *b) {
    return a->n == b->n && memcmp(a->v, b->v, a->n * sizeof(int32_t)) == 0;
}

static void test_sampling_deterministic_and_no_specials(void) {
    lm_bpe *tok = small_tok();
    TEST_TRUE(tok != NULL);
    lm_model *lm = random_model(tok->vocab_size, 4);
    int32_t prompt_ids[2] = {lm_bpe_special(tok, LM_BOS), 'a'};
    lm_prompt p = {.ids = prompt_ids, .n = 2};
    lm_gen_opts o = lm_gen_defaults();
    o.max_new = 20;
    o.temperature = 3.0f;
    o.seed = 7;
    lm_ids a = {0}, b = {0}, c = {0}, greedy = {0}, k1 = {0}, p0 = {0};
    bb_error err;
    TEST_OK(lm_generate(lm, tok, &p, &o, &a, &err), &err);
    TEST_OK(lm_generate(lm, tok, &p, &o, &b, &err), &err);
    o.seed = 8;
    TEST_OK(lm_generate(lm, tok, &p, &o, &c, &err), &err);
    o.top_k = 1;
    TEST_OK(lm_generate(lm, tok, &p, &o, &k1, &err), &err);
    o.top_k = 0;
    o.top_p = 1e-6f;
    TEST_OK(lm_generate(lm, tok, &p, &o, &p0, &err), &err);
    lm_gen_opts g = lm_gen_defaults();
    g.max_new = 20;
    TEST_OK(lm_generate(lm, tok, &p, &g, &greedy, &err), &err);
    int specials = 0;
    for (size_t i = 0; i < a.n; i++) specials += lm_bpe_is_special(tok, a.v[i]);
    for (size_t i = 0; i < c.n; i++) specials += lm_bpe_is_special(tok, c.v[i]);
    int r1 = same_ids(&a, &b), r2 = !same_ids(&a, &c), r3 = same_ids(&k1, &greedy),
        r4 = same_ids(&p0, &greedy);
    lm_ids_free(&a), lm_ids_free(&b), lm_ids_free(&c);
    lm_ids_free(&greedy), lm_ids_free(&k1), lm_ids_free(&p0);
    lm_free(lm);
    lm_bpe_free(tok);
    TEST_TRUE(r1); /* same seed, same tokens */
    TEST_TRUE(r2); /* another seed, other tokens (hot sampling, 20 tokens) */
    TEST_TRUE(r3); /* top-k 1 is greedy */
    TEST_TRUE(r4); /* a tiny nucleus is greedy */
    TEST_EQ_INT(specials, 0);
}

static void test_batch_over_threads_equals_singles(void) {
    lm_bpe *tok = small_tok();
    TEST_TRUE(tok != NULL);
    lm_model *lm = random_model(tok->vocab_size, 5);
    int32_t bos = lm_bpe_special(tok, LM_BOS);
    int32_t p0[2] = {bos, 'x'}, p1[4] = {bos, 't', 'h', 'e'}, p2[1] = {bos};
    lm_prompt prompts[3] = {{.ids = p0, .n = 2}, {.ids = p1, .n = 4}, {.ids = p2, .n = 1}};
    lm_gen_opts o = lm_gen_defaults();
    o.max_new = 10;
    o.temperature = 1.0f;
    o.seed = 3;
    lm_ids batch[3] = {{0}, {0}, {0}};
    bb_error err;
    lm_set_threads(lm, 2);
    TEST_OK(lm_generate_batch(lm, tok, prompts, 3, &o, batch, &err), &err);
    lm_set_threads(lm, 1);
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        lm_ids one[3] = {{0}, {0}, {0}};
        TEST_OK(lm_generate_batch(lm, tok, prompts, i + 1, &o, one, &err), &err);
        ok &= same_ids(&one[i], &batch[i]);
        for (int k = 0; k < 3; k++) lm_ids_free(&one[k]);
    }
    /* A prompt as long as the context is an error, not a crash. */
    int32_t *longp = calloc(24, sizeof *longp);
    lm_prompt too_long = {.ids = longp, .n = 24};
    lm_ids none = {0};
    int rc = lm_generate(lm, tok, &too_long, &o, &none, &err);
    free(longp);
    for (int k = 0; k < 3; k++) lm_ids_free(&batch[k]);
    lm_free(lm);
    lm_bpe_free(tok);
    TEST_TRUE(ok);
    TEST_TRUE(rc == BB_ERR && strstr(err.msg, "prompt 0 has 24 tokens"));
}

const bb_test bb_suite_lm_generate[] = {
    {"kv_cache_matches_full_forward", test_kv_cache_matches_full_forward},
    {"greedy_follows_argmax", test_greedy_follows_argmax},
    {"memorised_sentence_ends_at_eos", test_memorised_sentence_ends_at_eos},
    {"sampling_deterministic_and_no_specials", test_sampling_deterministic_and_no_specials},
    {"batch_over_threads_equals_singles", test_batch_over_threads_equals_singles},
    {NULL, NULL},
};
