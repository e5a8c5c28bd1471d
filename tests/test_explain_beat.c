/* Tests for the soft-prompt explainer (models/beat/beat_explain.h), SAR (beat_sar.h), the
 * projector (beat_projector.h) and the three slot providers: BEAT (beat_explain_beat.h),
 * ID-prompt (baselines/id_prompt.h) and XRec-style (baselines/xrec_style.h).
 *
 * Hand-worked SAR values, central-difference gradient checks of the projector, SAR, and the
 * whole explainer loss (CE through the frozen LM + SAR) of each provider, the prompt layout
 * token by token, the frozen LM's weights bit-identical after training, deterministic
 * generation, out-of-range ids; the stage-1 ablations in stage 2 (no_macro, no_micro,
 * continuous): slot counts and what each slot carries, the prompt's slot positions,
 * whole-loss gradient checks, training with the LM frozen and the epoch log. The stage-1
 * artifacts stage 2 reads and train_log.csv are tested in test_explain_beat_io.c. */
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
#include "models/beat/beat_explain_log.h"
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

/* The stage-1 variants stage 2 reads (beat_explain_beat.h). */
enum { V_FULL, V_NO_MACRO, V_NO_MICRO, V_CONTINUOUS, V_CONTINUOUS_NO_MACRO, V_COUNT };
static const char *const variant_names[V_COUNT] = {"full", "no_macro", "no_micro", "continuous",
                                                   "continuous+no_macro"};

/* In-memory stage-1 tokens of a variant: T = 2, K = 4, d = 6, codebooks (or, continuous,
 * unit vectors) from the seed. */
static void toy_tokens_variant(beat_tokens *tk, uint64_t seed, int variant) {
    memset(tk, 0, sizeof *tk);
    tk->T = 2, tk->K = 4, tk->d = 6, tk->n_users = 4, tk->n_items = 4;
    tk->has_macro = variant != V_NO_MACRO && variant != V_CONTINUOUS_NO_MACRO;
    tk->has_micro = variant != V_NO_MICRO;
    tk->continuous = variant == V_CONTINUOUS || variant == V_CONTINUOUS_NO_MACRO;
    bb_rng r;
    bb_rng_seed(&r, seed, "test/codebooks");
    if (tk->continuous) {
        for (int s = 0; s < 2; s++) {
            if (tk->has_macro) tk->macro_vec[s] = bb_malloc(4 * 6 * sizeof(float));
            tk->micro_vec[s] = bb_malloc(4 * 2 * 6 * sizeof(float));
            float *v[2] = {tk->macro_vec[s], tk->micro_vec[s]};
            const int rows[2] = {4, 8};
            for (int kind = 0; kind < 2; kind++)
                for (int row = 0; v[kind] && row < rows[kind]; row++) {
                    float *x = v[kind] + row * 6;
                    double ss = 0;
                    for (int c = 0; c < 6; c++) x[c] = (float)bb_rng_normal(&r), ss += (double)x[c] * x[c];
                    for (int c = 0; c < 6; c++) x[c] = (float)(x[c] / sqrt(ss));
                }
        }
        return;
    }
    tk->user = bb_malloc(4 * 3 * sizeof(int32_t));
    tk->item = bb_malloc(4 * 3 * sizeof(int32_t));
    for (int e = 0; e < 4; e++)
        for (int k = 0; k < 3; k++) {
            const int present = k == 0 ? tk->has_macro : tk->has_micro;
            tk->user[e * 3 + k] = present ? (e + k) % 4 : -1;
            tk->item[e * 3 + k] = present ? (3 * e + k) % 4 : -1;
        }
    for (int c = 0; c < 4; c++) {
        if (!(c % 2 ? tk->has_micro : tk->has_macro)) continue;
        tk->codebook[c] = bb_malloc(4 * 6 * sizeof(float));
        for (int k = 0; k < 24; k++) tk->codebook[c][k] = (float)bb_rng_normal(&r) * 0.5f;
    }
}

static void toy_tokens(beat_tokens *tk, uint64_t seed) { toy_tokens_variant(tk, seed, V_FULL); }

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
static int check_provider_loss(toy *t, const beat_slot_provider *prov, int no_sar, double step,
                               char *msg, int cap) {
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
    o.step = step;
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
    int ok = check_provider_loss(&t, &m.prov, 0, 2e-2, msg, sizeof msg);
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
    int ok = check_provider_loss(&t, &m.prov, 0, 2e-2, msg, sizeof msg);
    if (!ok) fprintf(stderr, "    id-prompt: %s\n", msg);
    TEST_TRUE(ok);
    ok = check_provider_loss(&t, &m.prov, 1, 2e-2, msg, sizeof msg); /* CE alone */
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
    int ok = check_provider_loss(&t, &m.prov, 0, 2e-2, msg, sizeof msg);
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

/* ------------------------------------------------------------------------------------------
 * Stage-1 ablations in stage 2: no_macro, no_micro, continuous */

static const int variant_slots[V_COUNT] = {3, 2, 1, 3, 2};
/* tables of the kept kinds (none when continuous) + 2 projectors of 4 tensors */
static const int variant_params[V_COUNT] = {12, 10, 10, 8, 8};

/* The d-vector slot j of entity e's side must carry before the projector. */
static const float *expected_token(const beat_tokens *tk, int side, int32_t e, int j) {
    const int T = tk->T, d = tk->d;
    const int is_macro = tk->has_macro && j == 0, micro_k = tk->has_macro ? j - 1 : j;
    if (tk->continuous)
        return is_macro ? tk->macro_vec[side] + (size_t)e * d
                        : tk->micro_vec[side] + ((size_t)e * T + (size_t)micro_k) * d;
    const int32_t *row = (side ? tk->item : tk->user) + (size_t)e * (1 + T);
    return is_macro ? tk->codebook[side * 2] + (size_t)row[0] * d
                    : tk->codebook[side * 2 + 1] + (size_t)row[1 + micro_k] * d;
}

static void test_ablation_slots_and_prompt(void) {
    for (int v = 0; v < V_COUNT; v++) {
        toy t;
        toy_make(&t, 8, 20 + (uint64_t)v);
        beat_tokens tk;
        toy_tokens_variant(&tk, 20 + (uint64_t)v, v);
        beat_stage2 m;
        beat_stage2_init(&m, &tk, 8, 3);
        if (m.prov.slots != variant_slots[v]) fprintf(stderr, "    variant %s\n", variant_names[v]);
        TEST_EQ_INT(m.prov.slots, variant_slots[v]);
        TEST_EQ_INT(beat_tokens_slots(&tk), variant_slots[v]);
        TEST_EQ_INT(m.params->n, variant_params[v]);
        for (int k = 0; k < 4; k++) /* a table exactly for each kept kind, none when continuous */
            TEST_EQ_INT(m.table[k] != NULL, !tk.continuous && (k % 2 ? tk.has_micro : tk.has_macro));
        /* each slot is the projection of the right token vector */
        nn_tape *tp = nn_tape_new();
        nn_tape_set_grad(tp, 0);
        const int32_t uid[2] = {1, 3}, iid[2] = {2, 0};
        nn_tensor *slots = m.prov.build(m.prov.self, tp, uid, iid, 2);
        const int S = variant_slots[v];
        TEST_EQ_INT(slots->ndim, 3);
        TEST_EQ_INT(slots->shape[1], 2 * S);
        TEST_EQ_INT(slots->shape[2], 8);
        double worst = 0;
        for (int k = 0; k < 2; k++)
            for (int side = 0; side < 2; side++)
                for (int j = 0; j < S; j++) {
                    const float *x = expected_token(&tk, side, side ? iid[k] : uid[k], j);
                    nn_tensor *in = nn_tape_from(tp, 2, (int64_t[]){1, 6}, x);
                    nn_tensor *y = beat_projector_forward(tp, &m.proj[side], in);
                    const float *got = slots->data + ((size_t)k * 2 * S + (size_t)side * S + (size_t)j) * 8;
                    for (int c = 0; c < 8; c++) worst = fmax(worst, fabs(got[c] - y->data[c]));
                }
        TEST_TRUE(worst < 1e-5);
        nn_tape_free(tp);
        /* the prompt expands <U> and <I> to S positions each */
        beat_explain_config cfg = toy_config();
        beat_explainer x;
        bb_error err;
        TEST_OK(beat_explainer_init(&x, &cfg, t.lm, t.tok, &m.prov, &t.ex, &t.split, "business", 1, &err), &err);
        TEST_EQ_INT(x.S, S);
        int n_user = 0, n_item = 0;
        for (int p = 0; p < x.seqs.prompt_len[0]; p++) {
            n_user += x.seqs.ids[p] == lm_bpe_special(t.tok, LM_USER);
            n_item += x.seqs.ids[p] == lm_bpe_special(t.tok, LM_ITEM);
        }
        TEST_EQ_INT(n_user, S);
        TEST_EQ_INT(n_item, S);
        TEST_EQ_INT(x.seqs.ids[x.seqs.user_at + S - 1], lm_bpe_special(t.tok, LM_USER));
        TEST_TRUE(x.seqs.ids[x.seqs.user_at + S] != lm_bpe_special(t.tok, LM_USER));
        TEST_EQ_INT(x.seqs.ids[x.seqs.item_at + S - 1], lm_bpe_special(t.tok, LM_ITEM));
        TEST_TRUE(x.seqs.ids[x.seqs.item_at + S] != lm_bpe_special(t.tok, LM_ITEM));
        beat_explainer_free(&x);
        beat_stage2_free(&m);
        beat_tokens_free(&tk);
        toy_free(&t);
    }
}

/* The whole loss (CE through the frozen LM + SAR) of each ablation's provider by central
 * differences: the new paths are the partial concatenations (no_macro, no_micro) and the
 * constant vectors into the projectors (continuous). A smaller step than full BEAT's: with
 * fewer slots the separator's curvature shows at 2e-2 (the error halves by four with the
 * step: truncation, not a wrong gradient). Under valgrind (another sgemm kernel, so other
 * float noise) only continuous, CE alone: SAR's argmax jumps are too close at 4 elements. */
static void test_ablation_loss_gradcheck(void) {
    const int valgrind = getenv("BB_VALGRIND") != NULL;
    for (int v = V_NO_MACRO; v < V_COUNT; v++) {
        if (valgrind && v != V_CONTINUOUS) continue; /* two LM passes an element */
        toy t;
        toy_make(&t, 8, 30 + (uint64_t)v);
        beat_tokens tk;
        toy_tokens_variant(&tk, 30 + (uint64_t)v, v);
        beat_stage2 m;
        beat_stage2_init(&m, &tk, 8, 30 + (uint64_t)v);
        char msg[256];
        int ok = check_provider_loss(&t, &m.prov, valgrind, 5e-3, msg, sizeof msg);
        if (!ok) fprintf(stderr, "    %s: %s\n", variant_names[v], msg);
        TEST_TRUE(ok);
        beat_stage2_free(&m);
        beat_tokens_free(&tk);
        toy_free(&t);
    }
}

/* Each ablation trains a few epochs on the toy task: the provider's parameters move, the
 * LM's stay bit-identical, the validation CE falls, and the epoch log matches the stats. */
static void test_ablation_training(void) {
    setenv("BB_QUIET", "1", 1);
    for (int v = V_NO_MACRO; v < V_COUNT; v++) {
        toy t;
        toy_make(&t, 16, 40 + (uint64_t)v);
        const size_t bytes = (size_t)t.lm->params->total * sizeof(float);
        float *before = bb_malloc(bytes);
        memcpy(before, t.lm->params->data, bytes);
        beat_tokens tk;
        toy_tokens_variant(&tk, 40 + (uint64_t)v, v);
        beat_stage2 m;
        beat_stage2_init(&m, &tk, 16, 40 + (uint64_t)v);
        float *p0 = bb_malloc((size_t)m.params->total * sizeof(float));
        memcpy(p0, m.params->data, (size_t)m.params->total * sizeof(float));
        beat_explain_config cfg = toy_config();
        cfg.max_epochs = getenv("BB_VALGRIND") ? 2 : 4;
        cfg.patience = 4;
        beat_explainer x;
        bb_error err;
        TEST_OK(beat_explainer_init(&x, &cfg, t.lm, t.tok, &m.prov, &t.ex, &t.split, "business", 9, &err), &err);
        beat_explain_stats st;
        TEST_OK(beat_explain_fit(&x, &st, &err), &err);
        /* the selection value falls (the objective's SAR part may rise as CE trades against it) */
        const double v_first = st.log.rows[0].valid_loss, v_last = st.log.rows[st.log.n - 1].valid_loss;
        if (!(v_last < v_first)) fprintf(stderr, "    %s: valid CE %g -> %g\n", variant_names[v], v_first, v_last);
        TEST_TRUE(v_last < v_first);
        TEST_TRUE(memcmp(p0, m.params->data, (size_t)m.params->total * sizeof(float)) != 0);
        TEST_TRUE(memcmp(before, t.lm->params->data, bytes) == 0);
        TEST_EQ_INT(st.log.n, st.epochs_run);
        TEST_TRUE(st.best_epoch >= 1 && st.best_epoch <= st.log.n);
        TEST_TRUE(memcmp(&st.log.rows[st.best_epoch - 1].valid_loss, &st.best_valid_ce, sizeof(double)) == 0);
        TEST_NEAR(st.log.rows[0].train_loss, st.first_train_loss, 0);
        TEST_NEAR(st.log.rows[st.log.n - 1].train_loss, st.last_train_loss, 0);
        size_t rows[2] = {6, 7};
        char *texts[2] = {NULL, NULL};
        TEST_OK(beat_explain_generate(&x, rows, 2, texts, &err), &err);
        TEST_TRUE(texts[0] != NULL && texts[1] != NULL);
        free(texts[0]), free(texts[1]);
        beat_explain_stats_free(&st);
        beat_explainer_free(&x);
        free(p0), free(before);
        beat_stage2_free(&m);
        beat_tokens_free(&tk);
        toy_free(&t);
    }
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
        TEST_EQ_INT(st.log.n, 4); /* one log row per epoch */
        beat_explain_stats_free(&st);
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
    {"ablation_slots_and_prompt", test_ablation_slots_and_prompt},
    {"ablation_loss_gradcheck", test_ablation_loss_gradcheck},
    {"ablation_training", test_ablation_training},
    {NULL, NULL},
};
