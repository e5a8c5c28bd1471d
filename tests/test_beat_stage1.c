/* Tests for BEAT stage 1 as a whole (models/beat/beat_stage1.h, beat_features.h): gradient
 * checks of every loss term of a tiny model through the graph encoder, maps, codebooks,
 * straight-through tokens and supervision modules (stop-gradients frozen at the base point);
 * recovery of the planted groups by the macro tokens (NMI); bit-identical runs; the text
 * features' use of training text only. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/split.h"
#include "datasets/synth.h"
#include "metrics/ranking.h"
#include "models/base/bb_rng.h"
#include "models/beat/beat_features.h"
#include "models/beat/beat_stage1.h"
#include "models/beat/beat_stats.h"
#include "models/beat/beat_text.h"
#include "models/nn/nn.h"
#include "tests/testhelp.h"
#include "tests/util/beat_testutil.h"

/* ------------------------------------------------------------------------------------------
 * A tiny model with hand-made text features */

#define NU 12
#define NI 10
#define NP 40

typedef struct tiny {
    int32_t tu[NP], ti[NP];
    bb_rank_lists lists;
    beat_text_features tf;
    beat_config cfg;
    beat_model m;
    int32_t bu[2 * NP], bi[2 * NP], btrain[NP];
    float label[2 * NP];
    beat_batch bt;
    beat_frozen fz;
} tiny;

static float *fill_rand(bb_rng *r, size_t n) {
    float *p = malloc((n + 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = 2.0f * bb_rng_uniformf(r) - 1.0f;
    return p;
}

static int tiny_init(tiny *t, int threads) {
    memset(t, 0, sizeof *t);
    bb_rng r;
    bb_rng_seed(&r, 41, "test/beat/tiny");
    /* 40 distinct pairs: user p % 12 with item (3p + p / 12) % 10 */
    for (int p = 0; p < NP; p++) t->tu[p] = p % NU, t->ti[p] = (3 * p + p / NU) % NI;
    bb_error err;
    if (bb_rank_lists_build(&t->lists, NU, NI, t->tu, t->ti, NP, &err) != BB_OK) return 0;
    beat_config_default(&t->cfg);
    t->cfg.token_len = 3, t->cfg.token_dim = 4, t->cfg.codebook_size = 6, t->cfg.batch = NP;
    t->cfg.heads = 2;
    const int d = 8, T = 3;
    /* text: explanations on every third pair, phrases for users 0-5 and items 0-4 */
    beat_text_features *f = &t->tf;
    f->d = d, f->T = T, f->n_train = NP;
    f->expl_of_train = malloc(NP * sizeof *f->expl_of_train);
    for (int p = 0; p < NP; p++) f->expl_of_train[p] = p % 3 == 0 ? f->n_sent++ : -1;
    f->sent = fill_rand(&r, (size_t)f->n_sent * d);
    for (int s = 0; s < 2; s++) {
        beat_side_phrases *ph = &f->side[s];
        ph->n_entities = s ? NI : NU;
        ph->row = malloc((size_t)ph->n_entities * sizeof *ph->row);
        ph->n_rows = s ? 5 : 6;
        ph->len = malloc((size_t)ph->n_rows * sizeof *ph->len);
        ph->vec = calloc((size_t)ph->n_rows * T * d, sizeof *ph->vec);
        for (int e = 0; e < ph->n_entities; e++) ph->row[e] = e < ph->n_rows ? e : -1;
        for (int k = 0; k < ph->n_rows; k++) {
            ph->len[k] = 1 + k % T;
            for (int j = 0; j < ph->len[k] * d; j++)
                ph->vec[(size_t)k * T * d + j] = 2.0f * bb_rng_uniformf(&r) - 1.0f;
        }
    }
    if (beat_model_init(&t->m, &t->cfg, 7, threads, NU, NI, t->tu, t->ti, NP, &t->lists, &t->tf,
                        d, &err) != BB_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 0;
    }
    /* codebooks spread like the tokens, so codes differ between rows */
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 2; k++)
            if (t->m.side[s].codebook[k]) nn_init_uniform(t->m.side[s].codebook[k], &r, -0.4f, 0.4f);
    for (int p = 0; p < NP; p++) {
        int j = (t->ti[p] + 1 + p % 3) % NI;
        while (bb_rank_lists_contains(&t->lists, t->tu[p], j)) j = (j + 1) % NI;
        t->bu[p] = t->bu[NP + p] = t->tu[p];
        t->bi[p] = t->ti[p], t->bi[NP + p] = j;
        t->label[p] = 1.0f, t->label[NP + p] = 0.0f;
        t->btrain[p] = p;
    }
    beat_batch bt = {NP, t->bu, t->bi, t->label, t->btrain, 3};
    t->bt = bt;
    return 1;
}

static void tiny_free(tiny *t) {
    beat_model_free(&t->m);
    beat_frozen_free(&t->fz);
    beat_text_features_free(&t->tf);
    bb_rank_lists_free(&t->lists);
}

/* beat_step_grad writes the registry's gradients, which nn_gradcheck owns (it reads the
 * analytic values from them between evaluations): they are saved and restored around it. */
static double tiny_run(beat_manual_case *c, int want_grad) {
    tiny *t = c->user;
    const size_t bytes = (size_t)t->m.params->total * sizeof(float);
    float *saved = malloc(bytes);
    memcpy(saved, t->m.params->grad, bytes);
    beat_losses l = beat_step_grad(&t->m, &t->bt, &t->fz);
    if (want_grad)
        for (int k = 0; k < c->n_params; k++)
            memcpy(c->grads[k], c->params[k]->grad, (size_t)c->params[k]->numel * sizeof(float));
    memcpy(t->m.params->grad, saved, bytes);
    free(saved);
    return l.total;
}

typedef struct term {
    const char *name;
    double vq, orth, rec, alpha, beta;
    int kinks;
} term;

static void test_every_loss_term_gradcheck(void) {
    const term terms[] = {
        {"vq", 1, 0, 0, 0, 0, 0},      {"orth", 0, 1, 0, 0, 0, 0},
        {"rec (straight-through)", 0, 0, 1, 0, 0, 1},
        {"macro InfoNCE", 0, 0, 0, 0.7, 0, 0},
        {"micro masked", 0, 0, 0, 0, 1.3, 0},
        {"all", 1, 1, 1, 0.2, 1, 1},
    };
    for (size_t k = 0; k < sizeof terms / sizeof terms[0]; k++) {
        tiny t;
        if (!tiny_init(&t, 2)) {
            bb_test_fail(__FILE__, __LINE__, "tiny model set-up failed");
            return;
        }
        t.m.cfg.vq_weight = terms[k].vq, t.m.cfg.orth_weight = terms[k].orth;
        t.m.cfg.rec_weight = terms[k].rec, t.m.cfg.alpha = terms[k].alpha;
        t.m.cfg.beta = terms[k].beta;
        beat_model *m = &t.m;
        nn_tensor *params[16];
        int n = 0;
        params[n++] = m->ego;
        for (int s = 0; s < 2; s++)
            for (int q = 0; q < 2; q++) {
                params[n++] = m->side[s].map[q];
                params[n++] = m->side[s].codebook[q];
            }
        params[n++] = m->side[0].sup.mask_vec;
        params[n++] = m->side[0].sup.self_attn.wk;
        params[n++] = m->side[1].sup.cross_attn.wv;
        params[n++] = m->side[1].sup.self_attn.bq;
        beat_manual_case c = {tiny_run, params, n, NULL, &t};
        /* record the stop-gradient values at the base point, then check against them */
        beat_losses base = beat_step_grad(m, &t.bt, &t.fz);
        /* the term is really there: its loss and some gradient are non-zero */
        double gsum = 0;
        for (int64_t i = 0; i < m->params->total; i++) gsum += fabs(m->params->grad[i]);
        char msg[256];
        int ok = beat_test_gradcheck(&c, 1e-2, 1e-3, 2e-2, terms[k].kinks, 24, msg, sizeof msg);
        fprintf(stderr, "    %s: %s\n", terms[k].name, msg);
        beat_manual_case_free(&c);
        tiny_free(&t);
        if (!ok) bb_test_fail(__FILE__, __LINE__, "%s: %s", terms[k].name, msg);
        if (!ok) return;
        TEST_TRUE(base.total > 1e-4);
        TEST_TRUE(gsum > 1e-4);
        if (terms[k].alpha > 0) TEST_TRUE(base.macro_pairs == 14);
        if (terms[k].beta > 0) TEST_TRUE(base.micro_entities == 11);
    }
}

static void test_ablations_drop_parameters(void) {
    tiny t;
    TEST_TRUE(tiny_init(&t, 1));
    TEST_TRUE(t.m.side[0].codebook[0] && t.m.side[1].codebook[1] && t.m.side[0].has_sup);
    tiny_free(&t);
    const char *keys[4] = {"no_macro", "no_micro", "continuous", "no_micro_sup"};
    for (int k = 0; k < 4; k++) {
        TEST_TRUE(tiny_init(&t, 1));
        beat_config c = t.cfg;
        beat_model_free(&t.m);
        c.no_macro = k == 0, c.no_micro = k == 1, c.continuous = k == 2, c.no_micro_sup = k == 3;
        bb_error err;
        TEST_OK(beat_model_init(&t.m, &c, 7, 1, NU, NI, t.tu, t.ti, NP, &t.lists, &t.tf, 8, &err), &err);
        const beat_side *u = &t.m.side[0];
        int ok = k == 0   ? !u->map[0] && !u->codebook[0] && u->map[1]
                 : k == 1 ? !u->map[1] && !u->codebook[1] && !u->has_sup && u->map[0]
                 : k == 2 ? !u->codebook[0] && !u->codebook[1] && u->map[0] && u->map[1]
                          : !u->has_sup && u->codebook[1];
        /* one step runs, and the ablated losses are zero */
        beat_losses l = beat_step_grad(&t.m, &t.bt, NULL);
        int zero_ok = k == 2 ? l.vq == 0 : k == 1 ? l.orth == 0 && l.micro == 0
                      : k == 0 ? l.macro == 0 : l.micro == 0;
        int32_t *tok[2] = {malloc(NU * 4 * sizeof(int32_t)), malloc(NI * 4 * sizeof(int32_t))};
        beat_encode_all(&t.m, NULL, tok);
        int empty_ok = k == 0 ? tok[0][0] == -1 && tok[0][1] >= 0
                       : k == 1 ? tok[1][0] >= 0 && tok[1][3] == -1
                       : k == 2 ? tok[0][0] == -1 && tok[1][2] == -1 : tok[0][1] >= 0;
        free(tok[0]), free(tok[1]);
        tiny_free(&t);
        if (!ok || !zero_ok || !empty_ok)
            bb_test_fail(__FILE__, __LINE__, "%s: params %d losses %d tokens %d", keys[k], ok,
                         zero_ok, empty_ok);
        if (!ok || !zero_ok || !empty_ok) return;
    }
}

static void test_fused_adam_is_bit_identical(void) {
    /* beat_step_train (Adam on each ego row inside the graph backward) against
     * beat_step_grad + beat_step_update, three steps, parameters and both moments */
    tiny a, b;
    TEST_TRUE(tiny_init(&a, 2));
    TEST_TRUE(tiny_init(&b, 2));
    for (int k = 0; k < 3; k++) {
        a.bt.step = b.bt.step = k + 1;
        beat_step_grad(&a.m, &a.bt, NULL);
        beat_step_update(&a.m);
        beat_step_train(&b.m, &b.bt);
    }
    const size_t bytes = (size_t)a.m.params->total * sizeof(float);
    int same = memcmp(a.m.params->data, b.m.params->data, bytes) == 0 &&
               memcmp(a.m.params->m, b.m.params->m, bytes) == 0 &&
               memcmp(a.m.params->v, b.m.params->v, bytes) == 0 &&
               a.m.params->step == 3 && b.m.params->step == 3;
    /* and the parameters did move */
    tiny c;
    int moved = 0;
    if (tiny_init(&c, 2)) {
        for (int64_t i = 0; i < c.m.params->total; i++) moved += c.m.params->data[i] != a.m.params->data[i];
        tiny_free(&c);
    }
    tiny_free(&a);
    tiny_free(&b);
    TEST_TRUE(same);
    TEST_TRUE(moved > 1000);
}

static void test_config_checks(void) {
    beat_config c;
    beat_config_default(&c);
    bb_error err;
    TEST_OK(beat_config_check(&c, 256, &err), &err);
    c.no_macro = c.no_micro = 1;
    TEST_ERR_CONTAINS(beat_config_check(&c, 256, &err), &err, "at least one token kind");
    beat_config_default(&c);
    c.heads = 3;
    TEST_ERR_CONTAINS(beat_config_check(&c, 256, &err), &err, "key 'heads'");
    beat_config_default(&c);
    snprintf(c.select_on, sizeof c.select_on, "train");
    TEST_ERR_CONTAINS(beat_config_check(&c, 256, &err), &err, "key 'select_on'");
}

/* ------------------------------------------------------------------------------------------
 * Synthetic data: planted groups, determinism, training text only */

typedef struct synth_run {
    bb_synth syn;
    bb_split split;
    beat_text_features tf;
    bb_rank_lists train;
    beat_model m;
} synth_run;

static int synth_setup(synth_run *s, int users, int items, int interactions, const beat_config *cfg,
                       int threads, bb_error *err) {
    memset(s, 0, sizeof *s);
    bb_synth_config sc;
    bb_synth_default_config(&sc);
    if (users) sc.users = users, sc.items = items, sc.interactions = interactions;
    if (sc.explained > sc.users) sc.explained = sc.users;
    if (bb_synth_generate(&sc, &s->syn, err) != BB_OK) return BB_ERR;
    if (bb_split_make(&s->syn.expl, BB_SPLIT_DEFAULT_ZERO_SHOT, 1, &s->split, err) != BB_OK)
        return BB_ERR;
    beat_text_encoder enc;
    beat_hash_encoder(&enc, 64);
    const bb_dataset *ds = &s->syn.data;
    if (beat_text_features_build(ds, &s->syn.expl, &s->split, &enc, cfg->token_len,
                                 cfg->max_phrases, &s->tf, err) != BB_OK)
        return BB_ERR;
    if (bb_rank_lists_build(&s->train, ds->n_users, ds->n_items, ds->train.user, ds->train.item,
                            ds->train.n, err) != BB_OK)
        return BB_ERR;
    return beat_model_init(&s->m, cfg, 1, threads, ds->n_users, ds->n_items, ds->train.user,
                           ds->train.item, ds->train.n, &s->train, &s->tf, 64, err);
}

static void synth_free(synth_run *s) {
    beat_model_free(&s->m);
    bb_rank_lists_free(&s->train);
    beat_text_features_free(&s->tf);
    bb_split_free(&s->split);
    bb_synth_free(&s->syn);
}

static void small_config(beat_config *c) {
    beat_config_default(c);
    c->token_dim = 16, c->codebook_size = 16, c->batch = 4096;
}

static void test_macro_tokens_recover_planted_groups(void) {
    if (getenv("BB_VALGRIND")) TEST_SKIP("trains on the default synthetic dataset: minutes under valgrind");
    beat_config cfg;
    small_config(&cfg);
    synth_run s;
    bb_error err;
    TEST_OK(synth_setup(&s, 0, 0, 0, &cfg, 2, &err), &err);
    for (int epoch = 1; epoch <= 6; epoch++) beat_train_epoch(&s.m, epoch, NULL);
    const int32_t n = s.m.n_users;
    int32_t *tok = malloc((size_t)n * (1 + cfg.token_len) * sizeof *tok);
    int32_t *tokens[2] = {tok, NULL};
    beat_encode_all(&s.m, NULL, tokens);
    int32_t *macro = malloc(n * sizeof *macro);
    for (int32_t u = 0; u < n; u++) macro[u] = tok[(size_t)u * (1 + cfg.token_len)];
    double nmi = beat_nmi(macro, s.syn.user_group, (size_t)n);
    /* a random assignment with the same code counts: the tokens shuffled */
    bb_rng r;
    bb_rng_seed(&r, 3, "test/beat/nmi-shuffle");
    bb_rng_shuffle_i32(&r, macro, (size_t)n);
    double nmi_random = beat_nmi(macro, s.syn.user_group, (size_t)n);
    int64_t counts[16];
    beat_usage_count(macro, (size_t)n, 16, counts);
    beat_usage_summary us = beat_usage_summarise(counts, 16);
    free(tok), free(macro);
    synth_free(&s);
    fprintf(stderr, "    NMI %.3f (shuffled %.3f), %d codes used, perplexity %.2f\n", nmi,
            nmi_random, us.used, us.perplexity);
    TEST_TRUE(nmi >= 0.5);
    TEST_TRUE(nmi_random < 0.05);
    TEST_TRUE(nmi >= nmi_random + 0.4);
    TEST_TRUE(us.used >= 8); /* the groups spread over codes: no collapse */
}

static void test_same_seed_same_tokens(void) {
    if (getenv("BB_VALGRIND")) TEST_SKIP("two trainings: slow under valgrind");
    beat_config cfg;
    small_config(&cfg);
    cfg.batch = 2048;
    const size_t w = 1 + (size_t)cfg.token_len;
    int32_t *tok[2][2];
    float *params[2];
    int64_t n_params = 0, n_users = 0, n_items = 0;
    for (int run = 0; run < 2; run++) {
        synth_run s;
        bb_error err;
        TEST_OK(synth_setup(&s, 400, 300, 9000, &cfg, 2, &err), &err);
        for (int epoch = 1; epoch <= 2; epoch++) beat_train_epoch(&s.m, epoch, NULL);
        n_users = s.m.n_users, n_items = s.m.n_items, n_params = s.m.params->total;
        tok[run][0] = malloc((size_t)n_users * w * sizeof(int32_t));
        tok[run][1] = malloc((size_t)n_items * w * sizeof(int32_t));
        beat_encode_all(&s.m, NULL, tok[run]);
        params[run] = malloc((size_t)n_params * sizeof(float));
        memcpy(params[run], s.m.params->data, (size_t)n_params * sizeof(float));
        synth_free(&s);
    }
    int same_tokens = memcmp(tok[0][0], tok[1][0], (size_t)n_users * w * sizeof(int32_t)) == 0 &&
                      memcmp(tok[0][1], tok[1][1], (size_t)n_items * w * sizeof(int32_t)) == 0;
    int same_params = memcmp(params[0], params[1], (size_t)n_params * sizeof(float)) == 0;
    /* the tokens are not trivially constant */
    int distinct = 0;
    for (int64_t u = 1; u < n_users; u++) distinct += tok[0][0][u * w] != tok[0][0][0];
    for (int run = 0; run < 2; run++) free(tok[run][0]), free(tok[run][1]);
    free(params[0]), free(params[1]);
    TEST_TRUE(same_tokens);
    TEST_TRUE(same_params);
    TEST_TRUE(distinct > 0);
}

static void test_features_use_training_text_only(void) {
    beat_config cfg;
    small_config(&cfg);
    cfg.epochs = 1;
    synth_run s;
    bb_error err;
    TEST_OK(synth_setup(&s, 400, 300, 9000, &cfg, 1, &err), &err);
    const bb_explanations *ex = &s.syn.expl;
    int test_user_with_phrases = 0, test_rows = 0, train_rows = 0;
    for (size_t r = 0; r < ex->n; r++) {
        if (s.split.part[r] == BB_SPLIT_TEST) {
            test_rows++;
            test_user_with_phrases += s.tf.side[0].row[ex->rows[r].uid] >= 0;
        }
        train_rows += s.split.part[r] == BB_SPLIT_TRAIN;
    }
    /* every sentence vector belongs to a train row whose pair is a training interaction */
    int attached = 0;
    for (size_t p = 0; p < s.tf.n_train; p++) attached += s.tf.expl_of_train[p] >= 0;
    int users_with_train_rows = 0;
    char *seen = calloc((size_t)s.m.n_users, 1);
    for (size_t r = 0; r < ex->n; r++)
        if (s.split.part[r] == BB_SPLIT_TRAIN && !seen[ex->rows[r].uid]++) users_with_train_rows++;
    free(seen);
    const int n_sent = s.tf.n_sent, with_phrases = s.tf.side[0].n_rows;
    synth_free(&s);
    TEST_TRUE(test_rows > 0);
    TEST_EQ_INT(test_user_with_phrases, 0);
    TEST_EQ_INT(attached, n_sent);
    TEST_TRUE(n_sent > 0 && n_sent <= train_rows);
    /* synthetic summaries always give phrases: every user with a train row has them */
    TEST_EQ_INT(with_phrases, users_with_train_rows);
}

const bb_test bb_suite_beat_stage1[] = {
    {"every_loss_term_gradcheck", test_every_loss_term_gradcheck},
    {"ablations_drop_parameters", test_ablations_drop_parameters},
    {"fused_adam_is_bit_identical", test_fused_adam_is_bit_identical},
    {"config_checks", test_config_checks},
    {"features_use_training_text_only", test_features_use_training_text_only},
    {"same_seed_same_tokens", test_same_seed_same_tokens},
    {"macro_tokens_recover_planted_groups", test_macro_tokens_recover_planted_groups},
    {NULL, NULL},
};
