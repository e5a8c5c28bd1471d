/* nrt — NRT: ID embeddings, interaction head, GRU explanation decoder (Li et al., SIGIR
 * 2017). See nrt.h for the model, the loss and the no-ratings adaptation. */
#include "baselines/nrt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/explain_head.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_explain_log.h"
#include "models/nn/nn_ops.h"

#define NRT_MAX_MLP 8
#define NRT_NEG_TRIES 32

void bb_nrt_default_config(bb_nrt_config *cfg) {
    *cfg = (bb_nrt_config){
        .emb_dim = 64,
        .hidden = 128,
        .mlp_layers = 2,
        .negatives = 1,
        .lambda_r = 1.0,
        .lambda_text = 1.0,
        .max_words = 20000,
        .max_len = 64,
        .lr = 1e-3,
        .weight_decay = 0,
        .clip = 1.0,
        .batch = 64,
        .max_epochs = 30,
        .patience = 3,
        .gen_batch = 128,
    };
}

void bb_nrt_tiny_config(bb_nrt_config *cfg) {
    bb_nrt_default_config(cfg);
    cfg->emb_dim = 16;
    cfg->hidden = 32;
    cfg->mlp_layers = 1;
    cfg->batch = 8;
    cfg->max_epochs = 5;
    cfg->gen_batch = 16;
}

int bb_nrt_check_config(const bb_nrt_config *c, bb_error *err) {
    if (c->emb_dim < 1) return bb_fail(err, "nrt: emb_dim must be >= 1, got %d", c->emb_dim);
    if (c->hidden < 1) return bb_fail(err, "nrt: hidden must be >= 1, got %d", c->hidden);
    if (c->mlp_layers < 1 || c->mlp_layers > NRT_MAX_MLP)
        return bb_fail(err, "nrt: mlp_layers must be in [1, %d], got %d", NRT_MAX_MLP,
                       c->mlp_layers);
    if (c->negatives < 0) return bb_fail(err, "nrt: negatives must be >= 0, got %d", c->negatives);
    if (!(c->lambda_r >= 0) || !(c->lambda_text > 0))
        return bb_fail(err, "nrt: lambda_r must be >= 0 and lambda_text > 0");
    if (c->max_words < 1) return bb_fail(err, "nrt: max_words must be >= 1, got %d", c->max_words);
    if (c->max_len < 1) return bb_fail(err, "nrt: max_len must be >= 1, got %d", c->max_len);
    if (!(c->lr > 0)) return bb_fail(err, "nrt: lr must be > 0, got %g", c->lr);
    if (!(c->weight_decay >= 0) || !(c->clip >= 0))
        return bb_fail(err, "nrt: weight_decay and clip must be >= 0");
    if (c->batch < 1 || c->max_epochs < 1 || c->patience < 1 || c->gen_batch < 1)
        return bb_fail(err, "nrt: batch, max_epochs, patience and gen_batch must be >= 1");
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* model */

bb_nrt_model *bb_nrt_create(int32_t n_users, int32_t n_items, int32_t vocab,
                            const bb_nrt_config *cfg, const bb_interactions *train, uint64_t seed) {
    bb_nrt_model *m = bb_calloc(1, sizeof *m);
    m->cfg = *cfg;
    m->n_users = n_users;
    m->n_items = n_items;
    m->vocab = vocab;
    int64_t E = cfg->emb_dim, H = cfg->hidden, V = vocab;
    nn_params *ps = m->params = nn_params_new();
    m->user_emb = nn_params_add2(ps, "user_emb", n_users, E);
    m->item_emb = nn_params_add2(ps, "item_emb", n_items, E);
    m->word_emb = nn_params_add2(ps, "word_emb", V, E);
    for (int l = 0; l < cfg->mlp_layers; l++) {
        char name[32];
        snprintf(name, sizeof name, "mlp.%d.w", l);
        m->mlp_w[l] = nn_params_add2(ps, name, l == 0 ? 2 * E : H, H);
        snprintf(name, sizeof name, "mlp.%d.b", l);
        m->mlp_b[l] = nn_params_add1(ps, name, H);
    }
    m->score_w = nn_params_add2(ps, "score_w", H, 1);
    m->score_b = nn_params_add1(ps, "score_b", 1);
    m->enc_w = nn_params_add2(ps, "enc_w", 2 * E + 1, H);
    m->enc_b = nn_params_add1(ps, "enc_b", H);
    m->gru_wx = nn_params_add2(ps, "gru_wx", E, 3 * H);
    m->gru_bx = nn_params_add1(ps, "gru_bx", 3 * H);
    m->gru_wh = nn_params_add2(ps, "gru_wh", H, 3 * H);
    m->gru_bh = nn_params_add1(ps, "gru_bh", 3 * H);
    m->out_w = nn_params_add2(ps, "out_w", H, V);
    m->out_b = nn_params_add1(ps, "out_b", V);
    nn_params_finalize(ps);

    bb_rng r;
    bb_rng_seed(&r, seed, "nrt/init");
    nn_init_uniform(m->user_emb, &r, -0.1f, 0.1f);
    nn_init_uniform(m->item_emb, &r, -0.1f, 0.1f);
    nn_init_uniform(m->word_emb, &r, -0.1f, 0.1f);
    for (int l = 0; l < cfg->mlp_layers; l++) nn_init_xavier_uniform(m->mlp_w[l], &r);
    nn_init_xavier_uniform(m->score_w, &r);
    nn_init_xavier_uniform(m->enc_w, &r);
    nn_init_xavier_uniform(m->gru_wx, &r);
    nn_init_xavier_uniform(m->gru_wh, &r);
    nn_init_xavier_uniform(m->out_w, &r);

    bb_pairset_init(&m->train_pairs, train ? train->n : 16);
    if (train)
        for (size_t k = 0; k < train->n; k++)
            bb_pairset_insert(&m->train_pairs, train->user[k], train->item[k], 1, NULL);
    return m;
}

void bb_nrt_free(bb_nrt_model *m) {
    if (!m) return;
    nn_params_free(m->params);
    bb_pairset_free(&m->train_pairs);
    free(m);
}

/* Interaction logit s (n,1) of the pairs whose embeddings are u, i (n,E). */
static nn_tensor *interaction_logit(bb_nrt_model *m, nn_tape *tp, nn_tensor *u, nn_tensor *i) {
    nn_tensor *parts[2] = {u, i};
    nn_tensor *x = nn_concat(tp, parts, 2, 1);
    for (int l = 0; l < m->cfg.mlp_layers; l++)
        x = nn_sigmoid(tp, nn_add(tp, nn_matmul(tp, x, m->mlp_w[l], 0, 0), m->mlp_b[l]));
    return nn_add(tp, nn_matmul(tp, x, m->score_w, 0, 0), m->score_b);
}

/* h_0 = tanh(W_e [u; i; sigma(s)] + b_e)  (n,H) */
static nn_tensor *decoder_start(bb_nrt_model *m, nn_tape *tp, nn_tensor *u, nn_tensor *i,
                                nn_tensor *s) {
    nn_tensor *parts[3] = {u, i, nn_sigmoid(tp, s)};
    nn_tensor *x = nn_concat(tp, parts, 3, 1);
    return nn_tanh(tp, nn_add(tp, nn_matmul(tp, x, m->enc_w, 0, 0), m->enc_b));
}

/* One GRU step: gx = x W_x + b_x (n,3H) precomputed, h (n,H) -> h' (n,H). */
static nn_tensor *gru_step(bb_nrt_model *m, nn_tape *tp, nn_tensor *gx, nn_tensor *h) {
    int64_t H = m->cfg.hidden;
    nn_tensor *gh = nn_add(tp, nn_matmul(tp, h, m->gru_wh, 0, 0), m->gru_bh);
    nn_tensor *rz = nn_sigmoid(tp, nn_add(tp, nn_slice(tp, gx, 1, 0, 2 * H),
                                          nn_slice(tp, gh, 1, 0, 2 * H)));
    nn_tensor *r = nn_slice(tp, rz, 1, 0, H), *z = nn_slice(tp, rz, 1, H, H);
    nn_tensor *n = nn_tanh(tp, nn_add(tp, nn_slice(tp, gx, 1, 2 * H, H),
                                      nn_mul(tp, r, nn_slice(tp, gh, 1, 2 * H, H))));
    return nn_add(tp, n, nn_mul(tp, z, nn_sub(tp, h, n)));
}

static int32_t sample_negative(bb_nrt_model *m, int32_t u, bb_rng *r) {
    int32_t j = 0;
    for (int t = 0; t < NRT_NEG_TRIES; t++) {
        j = (int32_t)bb_rng_below(r, (uint64_t)m->n_items);
        if (!bb_pairset_find(&m->train_pairs, u, j)) break;
    }
    return j;
}

nn_tensor *bb_nrt_loss(bb_nrt_model *m, nn_tape *tp, const bb_xbatch *b, bb_rng *step_rng,
                       double *text_nll) {
    int n = b->n, T = b->T;
    nn_tensor *u = nn_gather_rows(tp, m->user_emb, b->uid, n);
    nn_tensor *i = nn_gather_rows(tp, m->item_emb, b->iid, n);
    nn_tensor *s = interaction_logit(m, tp, u, i);

    /* explanation: teacher-forced GRU over time-major steps */
    int32_t *in_tm = nn_tape_scratch(tp, (size_t)n * (size_t)T * sizeof *in_tm);
    int32_t *tg_tm = nn_tape_scratch(tp, (size_t)n * (size_t)T * sizeof *tg_tm);
    for (int t = 0; t < T; t++)
        for (int k = 0; k < n; k++) {
            in_tm[(size_t)t * n + k] = b->input[(size_t)k * T + t];
            tg_tm[(size_t)t * n + k] = b->target[(size_t)k * T + t];
        }
    nn_tensor *x = nn_gather_rows(tp, m->word_emb, in_tm, (int64_t)n * T);
    nn_tensor *gx = nn_add(tp, nn_matmul(tp, x, m->gru_wx, 0, 0), m->gru_bx); /* (T*n, 3H) */
    nn_tensor *h = decoder_start(m, tp, u, i, s);
    nn_tensor **hs = nn_tape_scratch(tp, (size_t)T * sizeof *hs);
    for (int t = 0; t < T; t++) {
        h = gru_step(m, tp, nn_slice(tp, gx, 0, (int64_t)t * n, n), h);
        hs[t] = h;
    }
    nn_tensor *hall = T > 1 ? nn_concat(tp, hs, T, 0) : hs[0];
    nn_tensor *text = bb_xhead_nll(tp, hall, m->out_w, m->out_b, tg_tm, text_nll);
    nn_tensor *loss = nn_scale(tp, text, (float)m->cfg.lambda_text);
    if (!step_rng || m->cfg.lambda_r <= 0) return loss;

    /* interaction: positives (label 1) and sampled negatives (label 0); BCE as a two-way
     * cross-entropy over (0, s): -log softmax(0, s)[1] = -log sigma(s). */
    int neg = m->cfg.negatives;
    int64_t n_all = (int64_t)n * (1 + neg);
    nn_tensor *s_all = s;
    if (neg > 0) {
        int32_t *nu = nn_tape_scratch(tp, (size_t)n * (size_t)neg * sizeof *nu);
        int32_t *ni = nn_tape_scratch(tp, (size_t)n * (size_t)neg * sizeof *ni);
        for (int k = 0; k < n; k++)
            for (int q = 0; q < neg; q++) {
                nu[k * neg + q] = b->uid[k];
                ni[k * neg + q] = sample_negative(m, b->uid[k], step_rng);
            }
        nn_tensor *un = nn_gather_rows(tp, m->user_emb, nu, (int64_t)n * neg);
        nn_tensor *in = nn_gather_rows(tp, m->item_emb, ni, (int64_t)n * neg);
        nn_tensor *parts[2] = {s, interaction_logit(m, tp, un, in)};
        s_all = nn_concat(tp, parts, 2, 0);
    }
    nn_tensor *zero = nn_tape_tensor2(tp, n_all, 1);
    nn_tensor *pair[2] = {zero, s_all};
    nn_tensor *two = nn_concat(tp, pair, 2, 1); /* (n_all, 2) */
    int32_t *label = nn_tape_scratch(tp, (size_t)n_all * sizeof *label);
    for (int64_t k = 0; k < n_all; k++) label[k] = k < n ? 1 : 0;
    nn_tensor *bce = nn_cross_entropy(tp, two, label);
    return nn_add(tp, loss, nn_scale(tp, bce, (float)m->cfg.lambda_r));
}

void bb_nrt_generate(bb_nrt_model *m, nn_tape *tp, const int32_t *uid, const int32_t *iid, int n,
                     int max_len, int32_t *out, int32_t *len) {
    nn_tensor *u = nn_gather_rows(tp, m->user_emb, uid, n);
    nn_tensor *i = nn_gather_rows(tp, m->item_emb, iid, n);
    nn_tensor *h = decoder_start(m, tp, u, i, interaction_logit(m, tp, u, i));
    int32_t *prev = bb_malloc((size_t)n * sizeof *prev);
    int32_t *best = bb_malloc((size_t)n * sizeof *best);
    uint8_t *done = bb_calloc((size_t)n, 1);
    for (int k = 0; k < n; k++) {
        prev[k] = BB_WORD_BOS;
        len[k] = 0;
    }
    int alive = n;
    for (int t = 0; t < max_len && alive > 0; t++) {
        nn_tensor *x = nn_gather_rows(tp, m->word_emb, prev, n);
        nn_tensor *gx = nn_add(tp, nn_matmul(tp, x, m->gru_wx, 0, 0), m->gru_bx);
        h = gru_step(m, tp, gx, h);
        nn_tensor *logits = nn_add(tp, nn_matmul(tp, h, m->out_w, 0, 0), m->out_b);
        nn_row_max(logits, NULL, best);
        for (int k = 0; k < n; k++) {
            prev[k] = best[k];
            if (done[k]) continue;
            if (best[k] == BB_WORD_EOS) {
                done[k] = 1;
                alive--;
            } else {
                out[(size_t)k * max_len + len[k]++] = best[k];
            }
        }
    }
    free(prev);
    free(best);
    free(done);
}

static nn_tensor *xmodel_loss(void *self, nn_tape *tp, const bb_xbatch *b, bb_rng *rng,
                              double *text_nll) {
    return bb_nrt_loss(self, tp, b, rng, text_nll);
}

static void xmodel_generate(void *self, nn_tape *tp, const int32_t *uid, const int32_t *iid, int n,
                            int max_len, int32_t *out, int32_t *len) {
    bb_nrt_generate(self, tp, uid, iid, n, max_len, out, len);
}

bb_xmodel bb_nrt_xmodel(bb_nrt_model *m) {
    return (bb_xmodel){m, m->params, xmodel_loss, xmodel_generate};
}

/* ------------------------------------------------------------------------------------------ */
/* the task entry point */

int bb_nrt_explain(const bb_explain_task *task, const bb_nrt_config *cfg, bb_explain_output *out,
                   bb_error *err) {
    memset(out, 0, sizeof *out);
    if (bb_nrt_check_config(cfg, err) != BB_OK) return BB_ERR;
    bb_xcorpus c;
    if (bb_xcorpus_build(task, cfg->max_words, cfg->max_len, &c, err) != BB_OK) return BB_ERR;
    int old_threads = bb_xtrain_set_threads(task->threads);
    bb_nrt_model *m = bb_nrt_create(c.n_users, c.n_items, c.vocab.size, cfg, &task->data->train,
                                    task->seed);
    bb_xmodel xm = bb_nrt_xmodel(m);
    beat_train_log log = {0};
    bb_xtrain_opts o = {"nrt", cfg->batch, cfg->max_epochs, cfg->patience, cfg->lr,
                        cfg->weight_decay, cfg->clip, task->seed, &log};
    bb_xtrain_stats st;
    int rc = bb_xtrain_fit(&xm, &c, &o, &st, err);
    if (rc == BB_OK && task->work_dir) rc = beat_train_log_write(task->work_dir, &log, err);
    if (rc == BB_OK) {
        bb_xtrain_generate_test(&xm, &c, task->split, cfg->gen_batch, out);
        out->train_seconds = st.train_seconds;
        out->epochs_run = st.epochs_run;
        out->best_epoch = st.best_epoch;
        out->best_valid_loss = st.best_valid_nll;
    }
    beat_train_log_free(&log);
    bb_nrt_free(m);
    bb_xcorpus_free(&c);
    bb_xtrain_set_threads(old_threads);
    return rc;
}
