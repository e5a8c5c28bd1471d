/* Tests for the soft-prompt explainer (models/beat/beat_explain.h), SAR (beat_sar.h), the
 * projector (beat_projector.h) and the three slot providers: BEAT (beat_explain_beat.h),
 * ID-prompt (baselines/id_prompt.h) and XRec-style (baselines/xrec_style.h).
 *
 * Hand-worked SAR values, central-difference gradient checks of the projector, SAR, and the
 * whole explainer loss (CE through the frozen LM + SAR) of each provider, the prompt layout
 * token by token, the frozen LM's weights bit-identical after training, deterministic
 * generation, out-of-range ids, and the stage-1 artifact reader's errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/id_prompt.h"
#include "baselines/xrec_style.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/beat/beat_explain.h"
#include "models/beat/beat_explain_beat.h"
#include "models/beat/beat_projector.h"
#include "models/beat/beat_sar.h"
#include "models/lm/lm_bpe.h"
#include "models/lm/lm_model.h"
#include "models/nn/nn.h"
#include "tests/testhelp.h"

/* ------------------------------------------------------------------------------------------
 * A toy world: 4 users, 4 items, 8 explained pairs, a tiny tokenizer and a random tiny LM */

static const char *const toy_texts[] = {
    "The user would enjoy Blue Harbor for its quiet corners.",
    "The user would enjoy Red Lantern because of its live music.",
    "Green Garden is a good match for this user, offering fresh pastries.",
    "The user would like Amber Bridge since it is known for craft beer.",
    "Blue Harbor", "Red Lantern", "Green Garden", "Amber Bridge",
    "Explain why the user would enjoy the business within 50 words. user record:",
    " business record: business name: book record: book name:",
};

typedef struct toy {
    lm_bpe *tok;
    lm_model *lm;
    bb_explanations ex;
    bb_split split;
} toy;

static void toy_make(toy *t, int d_model, uint64_t seed) {
    memset(t, 0, sizeof *t);
    bb_error err;
    BB_ASSERT(lm_bpe_train(toy_texts, NULL, sizeof toy_texts / sizeof toy_texts[0], 330, 1, &t->tok,
                           &err) == BB_OK, "toy tokenizer: %s", err.msg);
    lm_arch arch = {t->tok->vocab_size, 96, d_model, 1, 2};
    t->lm = lm_create(&arch, seed);
    static const int uid[8] = {0, 1, 2, 3, 0, 1, 2, 3}, iid[8] = {0, 1, 2, 3, 1, 2, 3, 0};
    static const uint8_t part[8] = {BB_SPLIT_TRAIN, BB_SPLIT_TRAIN, BB_SPLIT_TRAIN, BB_SPLIT_TRAIN,
                                    BB_SPLIT_TRAIN, BB_SPLIT_VALID, BB_SPLIT_TEST, BB_SPLIT_TEST};
    static const char *const titles[4] = {"Blue Harbor", "Red Lantern", "Green Garden", "Amber Bridge"};
    t->ex.n = 8;
    t->ex.rows = bb_calloc(8, sizeof *t->ex.rows);
    t->split.n = 8;
    t->split.part = bb_malloc(8);
    t->split.uid = bb_malloc(8 * sizeof(int32_t));
    t->split.iid = bb_malloc(8 * sizeof(int32_t));
    for (int r = 0; r < 8; r++) {
        bb_explanation *row = &t->ex.rows[r];
        row->uid = uid[r], row->iid = iid[r];
        row->title = bb_strdup(titles[iid[r]]);
        row->user_summary = bb_strdup("The user likes things.");
        row->item_summary = bb_strdup("It offers things.");
        row->explanation = bb_strdup(toy_texts[r % 4]);
        row->line = (uint32_t)r + 2;
        t->split.part[r] = part[r];
        t->split.uid[r] = uid[r], t->split.iid[r] = iid[r];
    }
    t->split.n_train = 5, t->split.n_valid = 1, t->split.n_test = 2;
}

static void toy_free(toy *t) {
    lm_free(t->lm);
    lm_bpe_free(t->tok);
    bb_explanations_free(&t->ex);
    bb_split_free(&t->split);
}

/* In-memory stage-1 tokens: T = 2, K = 4, d = 6, codebooks from the seed. */
static void toy_tokens(beat_tokens *tk, uint64_t seed) {
    memset(tk, 0, sizeof *tk);
    tk->T = 2, tk->K = 4, tk->d = 6, tk->n_users = 4, tk->n_items = 4;
    tk->user = bb_malloc(4 * 3 * sizeof(int32_t));
    tk->item = bb_malloc(4 * 3 * sizeof(int32_t));
    for (int e = 0; e < 4; e++)
        for (int k = 0; k < 3; k++) tk->user[e * 3 + k] = (e + k) % 4, tk->item[e * 3 + k] = (3 * e + k) % 4;
    bb_rng r;
    bb_rng_seed(&r, seed, "test/codebooks");
    for (int c = 0; c < 4; c++) {
        tk->codebook[c] = bb_malloc(4 * 6 * sizeof(float));
        for (int k = 0; k < 24; k++) tk->codebook[c][k] = (float)bb_rng_normal(&r) * 0.5f;
    }
}

/* ------------------------------------------------------------------------------------------
 * Projector */

typedef struct proj_case {
    beat_projector *p;
    nn_tensor *x;
    float w[12];
} proj_case;

static nn_tensor *proj_loss(nn_tape *tp, nn_tensor **params, int n, void *ctx) {
    (void)params, (void)n;
    proj_case *c = ctx;
    nn_tensor *y = beat_projector_forward(tp, c->p, c->x);
    nn_tensor *w = nn_tape_from(tp, 2, y->shape, c->w);
    return nn_sum(tp, nn_mul(tp, y, w));
}

static void test_projector_shape_and_gradcheck(void) {
    nn_params *ps = nn_params_new();
    beat_projector p;
    beat_projector_add(&p, ps, "proj", 5, 4);
    nn_params_finalize(ps);
    TEST_EQ_INT(p.d_hidden, 4); /* (5 + 4) / 2 */
    TEST_EQ_INT(p.w1->shape[0], 5);
    TEST_EQ_INT(p.w2->shape[1], 4);
    bb_rng r;
    bb_rng_seed(&r, 7, "test/projector");
    beat_projector_init(&p, &r);
    nn_init_uniform(p.b1, &r, -0.3f, 0.3f);
    nn_init_uniform(p.b2, &r, -0.3f, 0.3f);
    proj_case c = {&p, nn_tensor_new2(3, 5, 1), {0}};
    nn_init_uniform(c.x, &r, -1.0f, 1.0f);
    for (int k = 0; k < 12; k++) c.w[k] = (float)bb_rng_normal(&r);
    nn_tensor *params[5] = {p.w1, p.b1, p.w2, p.b2, c.x};
    nn_gradcheck_opts o = nn_gradcheck_defaults();
    o.step = 1e-2;
    nn_gradcheck_report rep;
    double e = nn_gradcheck(proj_loss, &c, params, 5, &o, &rep);
    char msg[256];
    nn_gradcheck_format(&rep, msg, sizeof msg);
    if (!(e < 1e-2)) fprintf(stderr, "    projector: %s\n", msg);
    TEST_TRUE(e < 1e-2);
    TEST_TRUE(rep.n_checked >= 40);
    nn_tensor_free(c.x);
    nn_params_free(ps);
}

/* ------------------------------------------------------------------------------------------
 * SAR */

static void test_sar_hand_worked(void) {
    /* one sequence, C = 2, slots q1 = (2, 0), q2 = (0, 3) (normalised: the axes); text rows
     * e1 = (1, 0.5) and e2 = (0.5, 1): e1 picks q1 (cos 0.894 > 0.447), e2 picks q2, so
     * A = [x; y], A A^T = I, and E E^T has off-diagonal cos(e1, e2) = 1 / 1.25 = 0.8:
     * SAR = (0.8^2 + 0.8^2) / 4 = 0.32. */
    nn_tape *tp = nn_tape_new();
    float slots[4] = {2, 0, 0, 3};
    float e[4] = {1, 0.5f, 0.5f, 1};
    nn_tensor *s = nn_tape_from(tp, 3, (int64_t[]){1, 2, 2}, slots);
    const float *rows[1] = {e};
    int n_e[1] = {2};
    nn_tensor *l = beat_sar_loss(tp, s, rows, n_e);
    TEST_NEAR(l->data[0], 0.32, 1e-6);
    /* both rows pick q1: A A^T is all ones; off-diagonal (1 - 0.8)^2 twice: 0.08 / 4 = 0.02 */
    float slots2[4] = {1, 1, -1, 0};
    nn_tensor *s2 = nn_tape_from(tp, 3, (int64_t[]){1, 2, 2}, slots2);
    l = beat_sar_loss(tp, s2, rows, n_e);
    TEST_NEAR(l->data[0], 0.02, 1e-6);
    /* pooled over a batch: sequence 2 has one row (its 1x1 error is 0), so the summed squared
     * error 1.28 of sequence 1 is divided by 4 + 1 */
    float slots3[8] = {2, 0, 0, 3, 1, 0, 0, 1};
    float e2[2] = {0.3f, -2};
    nn_tensor *s3 = nn_tape_from(tp, 3, (int64_t[]){2, 2, 2}, slots3);
    const float *rows3[2] = {e, e2};
    int n_e3[2] = {2, 1};
    l = beat_sar_loss(tp, s3, rows3, n_e3);
    TEST_NEAR(l->data[0], 1.28 / 5.0, 1e-6);
    /* negative best cosine: normalise(v q) flips q; A A^T still has a unit diagonal */
    float slots4[2] = {1, 0};
    float e4[2] = {-1, 0};
    nn_tensor *s4 = nn_tape_from(tp, 3, (int64_t[]){1, 1, 2}, slots4);
    const float *rows4[1] = {e4};
    int n_e4[1] = {1};
    l = beat_sar_loss(tp, s4, rows4, n_e4);
    TEST_NEAR(l->data[0], 0.0, 1e-7);
    nn_tape_free(tp);
}

typedef struct sar_case {
    nn_tensor *slots;
    float e[2][5 * 6];
    int n_e[2];
} sar_case;

static nn_tensor *sar_loss_fn(nn_tape *tp, nn_tensor **params, int n, void *ctx) {
    (void)params, (void)n;
    sar_case *c = ctx;
    const float *rows[2] = {c->e[0], c->e[1]};
    return beat_sar_loss(tp, c->slots, rows, c->n_e);
}

static void test_sar_gradcheck(void) {
    sar_case c;
    memset(&c, 0, sizeof c);
    c.slots = nn_tensor_new(3, (int64_t[]){2, 4, 6}, 1);
    bb_rng r;
    bb_rng_seed(&r, 11, "test/sar");
    nn_init_normal(c.slots, &r, 0.0f, 1.0f);
    c.n_e[0] = 3, c.n_e[1] = 5;
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < c.n_e[b] * 6; k++) c.e[b][k] = (float)bb_rng_normal(&r);
    nn_gradcheck_opts o = nn_gradcheck_defaults();
    o.step = 1e-3;
    o.skip_kinks = 1; /* an argmax that flips inside [p - h, p + h] */
    nn_gradcheck_report rep;
    double e = nn_gradcheck(sar_loss_fn, &c, &c.slots, 1, &o, &rep);
    char msg[256];
    nn_gradcheck_format(&rep, msg, sizeof msg);
    if (!(e < 2e-2)) fprintf(stderr, "    sar: %s\n", msg);
    TEST_TRUE(e < 2e-2);
    TEST_TRUE(rep.n_checked >= 40);
    TEST_TRUE(rep.loss > 0);
    nn_tensor_free(c.slots);
}

/* ------------------------------------------------------------------------------------------
 * The explainer */

static beat_explain_config toy_config(void) {
    beat_explain_config c;
    beat_explain_config_default(&c);
    c.batch = 3;
    c.max_epochs = 2;
    c.max_new = 8;
    c.lr = 1e-2;
    return c;
}

static void test_prompt_layout_and_targets(void) {
    toy t;
    toy_make(&t, 8, 1);
    beat_tokens tk;
    toy_tokens(&tk, 1);
    beat_stage2 m;
    beat_stage2_init(&m, &tk, 8, 1);
    beat_explain_config cfg = toy_config();
    beat_explainer x;
    bb_error err;
    TEST_OK(beat_explainer_init(&x, &cfg, t.lm, t.tok, &m.prov, &t.ex, &t.split, "business", 1, &err), &err);
    TEST_EQ_INT(x.S, 3);
    const size_t r = 1; /* a train row */
    const int32_t *ids = x.seqs.ids + x.seqs.off[r];
    const int P = x.seqs.prompt_len[r];
    char *prompt = lm_bpe_decode(t.tok, ids, (size_t)P, 1, NULL);
    TEST_STR_EQ(prompt, "<bos>Explain why the user would enjoy the business within 50 words. user "
                        "record:<U><U><U> business record:<I><I><I> business name: Red Lantern<EXPLAIN>");
    free(prompt);
    TEST_EQ_INT(ids[x.seqs.user_at], lm_bpe_special(t.tok, LM_USER));
    TEST_EQ_INT(ids[x.seqs.item_at + 2], lm_bpe_special(t.tok, LM_ITEM));
    const int L = (int)(x.seqs.off[r + 1] - x.seqs.off[r]);
    char *rest = lm_bpe_decode(t.tok, ids + P, (size_t)(L - P), 1, NULL);
    TEST_STR_EQ(rest, "The user would enjoy Red Lantern because of its live music.<eos>");
    free(rest);
    TEST_EQ_INT(x.seqs.n_expl[r], L - P - 1);
    /* test rows carry the prompt only */
    TEST_EQ_INT(x.seqs.off[7] - x.seqs.off[6], x.seqs.prompt_len[6]);
    TEST_EQ_INT(x.seqs.n_expl[6], 0);
    /* the loss counts the explanation tokens and <eos> of each row, nothing else */
    nn_tape *tp = nn_tape_new();
    size_t rows[2] = {0, 1};
    beat_explain_losses parts;
    nn_tensor *loss = beat_explain_batch_loss(&x, tp, rows, 2, &parts);
    TEST_EQ_INT(parts.tokens, x.seqs.n_expl[0] + 1 + x.seqs.n_expl[1] + 1);
    TEST_NEAR(loss->data[0], parts.total, 1e-5 * (1 + fabs(parts.total)));
    TEST_NEAR(parts.total, parts.ce + parts.sar, 1e-12);
    TEST_TRUE(parts.sar > 0 && parts.ce > 0);
    /* the book wording */
    beat_explainer xb;
    TEST_OK(beat_explainer_init(&xb, &cfg, t.lm, t.tok, &m.prov, &t.ex, &t.split, "book", 1, &err), &err);
    char *pb = lm_bpe_decode(t.tok, xb.seqs.ids, (size_t)xb.seqs.prompt_len[0], 1, NULL);
    TEST_STR_EQ(pb, "<bos>Explain why the user would buy the book within 50 words. user "
                    "record:<U><U><U> book record:<I><I><I> book name: Blue Harbor<EXPLAIN>");
    free(pb);
    beat_explainer_free(&xb);
    nn_tape_free(tp);
    beat_explainer_free(&x);
    beat_stage2_free(&m);
    beat_tokens_free(&tk);
    toy_free(&t);
}

typedef struct loss_case {
    beat_explainer *x;
    size_t rows[4];
    int n;
} loss_case;

static nn_tensor *explain_loss_fn(nn_tape *tp, nn_tensor **params, int n, void *ctx) {
    (void)params, (void)n;
    loss_case *c = ctx;
    return beat_explain_batch_loss(c->x, tp, c->rows, c->n, NULL);
}

/* Central differences of the whole loss (CE through the frozen LM + SAR) against the
 * explainer's gradient, for every parameter of the provider and the separator. */
static int check_provider_loss(toy *t, const beat_slot_provider *prov, int no_sar, char *msg, int cap) {
    beat_explain_config cfg = toy_config();
    cfg.no_sar = no_sar;
    beat_explainer x;
    bb_error err;
    if (beat_explainer_init(&x, &cfg, t->lm, t->tok, prov, &t->ex, &t->split, "business", 1, &err) != BB_OK) {
        snprintf(msg, (size_t)cap, "init: %.200s", err.msg);
        return 0;
    }
    loss_case c = {&x, {0, 1, 4, 5}, 4};
    nn_params *ps = prov->params;
    nn_tensor **params = bb_malloc((size_t)(ps->n + 1) * sizeof *params);
    for (int k = 0; k < ps->n; k++) params[k] = ps->items[k];
    params[ps->n] = x.sep;
    nn_gradcheck_opts o = nn_gradcheck_defaults();
    o.step = 2e-2;
    o.abs_floor = 5e-3; /* the LM's float32 loss (about 6) carries ~1e-5 of noise per difference */
    o.max_elems = getenv("BB_VALGRIND") ? 4 : 24; /* each element costs two LM passes */
    o.skip_kinks = 1; /* SAR's argmax */
    nn_gradcheck_report rep;
    double e = nn_gradcheck(explain_loss_fn, &c, params, ps->n + 1, &o, &rep);
    nn_gradcheck_format(&rep, msg, cap);
    free(params);
    beat_explainer_free(&x);
    return e < 2e-2 && rep.n_checked >= (getenv("BB_VALGRIND") ? 4 : 10);
}

static void test_beat_loss_gradcheck(void) {
    toy t;
    toy_make(&t, 8, 2);
    beat_tokens tk;
    toy_tokens(&tk, 2);
    beat_stage2 m;
    beat_stage2_init(&m, &tk, 8, 2);
    char msg[256];
    int ok = check_provider_loss(&t, &m.prov, 0, msg, sizeof msg);
    if (!ok) fprintf(stderr, "    beat: %s\n", msg);
    TEST_TRUE(ok);
    beat_stage2_free(&m);
    beat_tokens_free(&tk);
    toy_free(&t);
}

static void test_id_prompt_loss_gradcheck(void) {
    toy t;
    toy_make(&t, 8, 3);
    bb_id_prompt_model m;
    /* vectors of norm ~1.4, so a step of 0.02 stays a small move through the LM's LayerNorms */
    bb_id_prompt_init(&m, 4, 4, 3, 8, 0.5, 3);
    char msg[256];
    int ok = check_provider_loss(&t, &m.prov, 0, msg, sizeof msg);
    if (!ok) fprintf(stderr, "    id-prompt: %s\n", msg);
    TEST_TRUE(ok);
    ok = check_provider_loss(&t, &m.prov, 1, msg, sizeof msg); /* CE alone */
    if (!ok) fprintf(stderr, "    id-prompt no_sar: %s\n", msg);
    TEST_TRUE(ok);
    bb_id_prompt_free(&m);
    toy_free(&t);
}

static void test_xrec_loss_gradcheck(void) {
    toy t;
    toy_make(&t, 8, 4);
    bb_xrec_embeddings emb = {4, 4, 5, bb_malloc(20 * sizeof(float)), bb_malloc(20 * sizeof(float))};
    bb_rng r;
    bb_rng_seed(&r, 4, "test/xrec");
    for (int k = 0; k < 20; k++) emb.user[k] = (float)bb_rng_normal(&r), emb.item[k] = (float)bb_rng_normal(&r);
    bb_xrec_config cfg;
    bb_xrec_default_config(&cfg);
    cfg.slots = 2, cfg.experts = 3, cfg.hidden = 4;
    bb_xrec_model m;
    bb_xrec_init(&m, &emb, &cfg, 8, 4);
    TEST_EQ_INT(m.params->n, 2 * (2 + 4 * 3));
    /* the gates of a row sum to one: scaling every expert's output bias by the same vector
     * moves the output by exactly that vector */
    char msg[256];
    int ok = check_provider_loss(&t, &m.prov, 0, msg, sizeof msg);
    if (!ok) fprintf(stderr, "    xrec: %s\n", msg);
    TEST_TRUE(ok);
    nn_tape *tp = nn_tape_new();
    nn_tensor *x = nn_tape_from(tp, 2, (int64_t[]){4, 5}, emb.user);
    nn_tensor *y0 = bb_xrec_adapter(&m, tp, 0, x);
    float before = y0->data[3];
    for (int k = 0; k < 3; k++) m.side[0].b2[k]->data[3] += 0.5f;
    nn_tensor *y1 = bb_xrec_adapter(&m, tp, 0, x);
    TEST_NEAR(y1->data[3] - before, 0.5, 1e-5);
    nn_tape_free(tp);
    bb_xrec_free(&m);
    bb_xrec_embeddings_free(&emb);
    toy_free(&t);
}

static void test_frozen_lm_and_deterministic_generation(void) {
    setenv("BB_QUIET", "1", 1); /* no progress lines in the test log */
    toy t;
    toy_make(&t, 16, 5);
    const size_t bytes = (size_t)t.lm->params->total * sizeof(float);
    float *before = bb_malloc(bytes);
    memcpy(before, t.lm->params->data, bytes);
    beat_tokens tk;
    toy_tokens(&tk, 5);
    char *texts[2][2] = {{NULL, NULL}, {NULL, NULL}};
    double first = 0, last = 0;
    for (int run = 0; run < 2; run++) {
        beat_stage2 m;
        beat_stage2_init(&m, &tk, 16, 5);
        float *p0 = bb_malloc((size_t)m.params->total * sizeof(float));
        memcpy(p0, m.params->data, (size_t)m.params->total * sizeof(float));
        beat_explain_config cfg = toy_config();
        cfg.max_epochs = 4;
        cfg.patience = 4;
        beat_explainer x;
        bb_error err;
        TEST_OK(beat_explainer_init(&x, &cfg, t.lm, t.tok, &m.prov, &t.ex, &t.split, "business", 9, &err), &err);
        beat_explain_stats st;
        TEST_OK(beat_explain_fit(&x, &st, &err), &err);
        TEST_EQ_INT(st.epochs_run, 4);
        TEST_TRUE(st.best_epoch >= 1 && st.best_epoch <= 4);
        TEST_TRUE(isfinite(st.best_valid_ce));
        first = st.first_train_loss, last = st.last_train_loss;
        /* training moved the provider's parameters... */
        TEST_TRUE(memcmp(p0, m.params->data, (size_t)m.params->total * sizeof(float)) != 0);
        free(p0);
        size_t rows[2] = {6, 7};
        TEST_OK(beat_explain_generate(&x, rows, 2, texts[run], &err), &err);
        if (run == 1) { /* beam search through the same prompts (lm_generate's beam) */
            char *beamed[2] = {NULL, NULL};
            x.cfg.beam = 3;
            TEST_OK(beat_explain_generate(&x, rows, 2, beamed, &err), &err);
            TEST_TRUE(beamed[0] != NULL && beamed[1] != NULL);
            free(beamed[0]), free(beamed[1]);
        }
        beat_explainer_free(&x);
        beat_stage2_free(&m);
    }
    /* ...and never the LM's */
    TEST_TRUE(memcmp(before, t.lm->params->data, bytes) == 0);
    TEST_TRUE(last < first);
    for (int k = 0; k < 2; k++) {
        TEST_TRUE(texts[0][k] != NULL);
        TEST_STR_EQ(texts[0][k], texts[1][k]);
    }
    for (int run = 0; run < 2; run++) free(texts[run][0]), free(texts[run][1]);
    free(before);
    beat_tokens_free(&tk);
    toy_free(&t);
}

static void test_out_of_range_pair_is_an_error(void) {
    toy t;
    toy_make(&t, 8, 6);
    bb_id_prompt_model m;
    bb_id_prompt_init(&m, 4, 4, 2, 8, 0.02, 6);
    beat_explain_config cfg = toy_config();
    beat_explainer x;
    bb_error err;
    t.ex.rows[3].uid = 4; /* the provider knows users 0..3 */
    TEST_ERR_CONTAINS(beat_explainer_init(&x, &cfg, t.lm, t.tok, &m.prov, &t.ex, &t.split, "business", 1, &err),
                      &err, "explanations:5: field 'uid': id 4 is beyond the 4 users id-prompt knows");
    t.ex.rows[3].uid = 3;
    t.ex.rows[5].iid = 17;
    TEST_ERR_CONTAINS(beat_explainer_init(&x, &cfg, t.lm, t.tok, &m.prov, &t.ex, &t.split, "business", 1, &err),
                      &err, "field 'iid': id 17 is beyond the 4 items");
    t.ex.rows[5].iid = 2;
    /* a slot width that is not the LM's */
    bb_id_prompt_model wide;
    bb_id_prompt_init(&wide, 4, 4, 2, 12, 0.02, 6);
    TEST_ERR_CONTAINS(beat_explainer_init(&x, &cfg, t.lm, t.tok, &wide.prov, &t.ex, &t.split, "business", 1, &err),
                      &err, "12 wide but the LM's d_model is 8");
    cfg.batch = 0;
    TEST_ERR_CONTAINS(beat_explainer_init(&x, &cfg, t.lm, t.tok, &m.prov, &t.ex, &t.split, "business", 1, &err),
                      &err, "key 'batch'");
    bb_id_prompt_free(&wide);
    bb_id_prompt_free(&m);
    toy_free(&t);
}

/* ------------------------------------------------------------------------------------------
 * Stage-1 artifacts */

static int write_text(const char *path, const char *text) {
    bb_error err;
    return bb_write_file_atomic(path, text, strlen(text), &err);
}

static void write_codebooks(const char *dir, int with_item_micro) {
    nn_tensor *cb = nn_tensor_new2(3, 2, 0);
    for (int k = 0; k < 6; k++) cb->data[k] = (float)k;
    const char *names[4] = {"user_macro_codebook", "user_micro_codebook", "item_macro_codebook",
                            "item_micro_codebook"};
    const nn_tensor *ts[4] = {cb, cb, cb, cb};
    const char *meta[] = {"token_len", "2", "codebook_size", "3", "d", "2", NULL};
    char *path = bb_path_join(dir, "codebooks.safetensors");
    bb_error err;
    nn_st_write(path, names, ts, with_item_micro ? 4 : 3, meta, &err);
    free(path);
    nn_tensor_free(cb);
}

static void test_tokens_load_and_errors(void) {
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", bb_test_tmp_path("stage1_fake"));
    bb_error err;
    TEST_OK(bb_mkdir_p(dir, &err), &err);
    write_codebooks(dir, 1);
    char path[1200];
    snprintf(path, sizeof path, "%s/tokens.csv", dir);
    write_text(path, "kind,id,macro,micro_1,micro_2\nuser,0,1,2,0\nuser,1,0,0,1\nitem,0,2,1,1\n");
    beat_tokens tk;
    TEST_OK(beat_tokens_load(dir, &tk, &err), &err);
    TEST_EQ_INT(tk.T, 2);
    TEST_EQ_INT(tk.K, 3);
    TEST_EQ_INT(tk.n_users, 2);
    TEST_EQ_INT(tk.n_items, 1);
    TEST_EQ_INT(tk.user[3 * 1 + 2], 1);
    TEST_EQ_INT(tk.item[0], 2);
    TEST_NEAR(tk.codebook[3][5], 5.0, 0);
    beat_tokens_free(&tk);
    write_text(path, "kind,id,macro,micro_1,micro_2\nuser,0,,2,0\nitem,0,2,1,1\n");
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "tokens.csv:2: field 'macro': empty");
    write_text(path, "kind,id,macro,micro_1,micro_2\nuser,0,1,3,0\nitem,0,2,1,1\n");
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "field 'micro_1': code 3 is beyond the codebook size 3");
    write_text(path, "kind,id,macro,micro_1,micro_2\nuser,1,1,1,0\n");
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "field 'id': expected user 0 next");
    write_text(path, "kind,id,macro,micro_1\nuser,0,1,1\n");
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "wrong header");
    write_codebooks(dir, 0);
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "no tensor 'item_micro_codebook'");
}

const bb_test bb_suite_explain_beat[] = {
    {"projector_shape_and_gradcheck", test_projector_shape_and_gradcheck},
    {"sar_hand_worked", test_sar_hand_worked},
    {"sar_gradcheck", test_sar_gradcheck},
    {"prompt_layout_and_targets", test_prompt_layout_and_targets},
    {"beat_loss_gradcheck", test_beat_loss_gradcheck},
    {"id_prompt_loss_gradcheck", test_id_prompt_loss_gradcheck},
    {"xrec_loss_gradcheck", test_xrec_loss_gradcheck},
    {"frozen_lm_and_deterministic_generation", test_frozen_lm_and_deterministic_generation},
    {"out_of_range_pair_is_an_error", test_out_of_range_pair_is_an_error},
    {"tokens_load_and_errors", test_tokens_load_and_errors},
    {NULL, NULL},
};
