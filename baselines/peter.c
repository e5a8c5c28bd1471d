/* peter — PETER: ID tokens + words through a small post-LN transformer with the PETER
 * mask, generation and context-prediction losses (Li et al., ACL 2021). See peter.h. */
#include "baselines/peter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/explain_head.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_explain_log.h"
#include "models/nn/nn_ops.h"

#define PETER_MASKED (-1e9f) /* additive mask value: exp underflows to exactly 0 */
#define PETER_LN_EPS 1e-5f   /* torch's LayerNorm default */

void bb_peter_default_config(bb_peter_config *cfg) {
    *cfg = (bb_peter_config){
        .d_model = 128,
        .n_heads = 2,
        .n_layers = 2,
        .d_ff = 512,
        .dropout = 0.2,
        .context_weight = 1.0,
        .text_weight = 1.0,
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

void bb_peter_tiny_config(bb_peter_config *cfg) {
    bb_peter_default_config(cfg);
    cfg->d_model = 32;
    cfg->n_heads = 2;
    cfg->n_layers = 1;
    cfg->d_ff = 64;
    cfg->dropout = 0;
    cfg->batch = 8;
    cfg->max_epochs = 5;
    cfg->gen_batch = 16;
}

int bb_peter_check_config(const bb_peter_config *c, bb_error *err) {
    if (c->d_model < 2 || c->d_model % 2)
        return bb_fail(err, "peter: d_model must be even and >= 2, got %d", c->d_model);
    if (c->n_heads < 1 || c->d_model % c->n_heads)
        return bb_fail(err, "peter: n_heads (%d) must divide d_model (%d)", c->n_heads,
                       c->d_model);
    if (c->n_layers < 1 || c->n_layers > BB_PETER_MAX_LAYERS)
        return bb_fail(err, "peter: n_layers must be in [1, %d], got %d", BB_PETER_MAX_LAYERS,
                       c->n_layers);
    if (c->d_ff < 1) return bb_fail(err, "peter: d_ff must be >= 1, got %d", c->d_ff);
    if (!(c->dropout >= 0 && c->dropout < 1))
        return bb_fail(err, "peter: dropout must be in [0, 1), got %g", c->dropout);
    if (!(c->context_weight >= 0) || !(c->text_weight > 0))
        return bb_fail(err, "peter: context_weight must be >= 0 and text_weight > 0");
    if (c->max_words < 1)
        return bb_fail(err, "peter: max_words must be >= 1, got %d", c->max_words);
    if (c->max_len < 1) return bb_fail(err, "peter: max_len must be >= 1, got %d", c->max_len);
    if (!(c->lr > 0)) return bb_fail(err, "peter: lr must be > 0, got %g", c->lr);
    if (!(c->weight_decay >= 0) || !(c->clip >= 0))
        return bb_fail(err, "peter: weight_decay and clip must be >= 0");
    if (c->batch < 1 || c->max_epochs < 1 || c->patience < 1 || c->gen_batch < 1)
        return bb_fail(err, "peter: batch, max_epochs, patience and gen_batch must be >= 1");
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* model */

bb_peter_model *bb_peter_create(int32_t n_users, int32_t n_items, int32_t vocab,
                                const bb_peter_config *cfg, uint64_t seed) {
    bb_peter_model *m = bb_calloc(1, sizeof *m);
    m->cfg = *cfg;
    m->n_users = n_users;
    m->n_items = n_items;
    m->vocab = vocab;
    int64_t d = cfg->d_model, F = cfg->d_ff, V = vocab;
    nn_params *ps = m->params = nn_params_new();
    m->user_emb = nn_params_add2(ps, "user_emb", n_users, d);
    m->item_emb = nn_params_add2(ps, "item_emb", n_items, d);
    m->word_emb = nn_params_add2(ps, "word_emb", V, d);
    for (int l = 0; l < cfg->n_layers; l++) {
        bb_peter_layer *L = &m->layers[l];
        char name[48];
#define PETER_ADD(field, fmt, ...)                                                         \
    do {                                                                                   \
        snprintf(name, sizeof name, "layer.%d." fmt, l);                                   \
        L->field = nn_params_add(ps, name, __VA_ARGS__);                                   \
    } while (0)
        PETER_ADD(qkv_w, "qkv_w", 2, (int64_t[]){d, 3 * d});
        PETER_ADD(qkv_b, "qkv_b", 1, (int64_t[]){3 * d});
        PETER_ADD(proj_w, "proj_w", 2, (int64_t[]){d, d});
        PETER_ADD(proj_b, "proj_b", 1, (int64_t[]){d});
        PETER_ADD(ln1_g, "ln1_g", 1, (int64_t[]){d});
        PETER_ADD(ln1_b, "ln1_b", 1, (int64_t[]){d});
        PETER_ADD(ff1_w, "ff1_w", 2, (int64_t[]){d, F});
        PETER_ADD(ff1_b, "ff1_b", 1, (int64_t[]){F});
        PETER_ADD(ff2_w, "ff2_w", 2, (int64_t[]){F, d});
        PETER_ADD(ff2_b, "ff2_b", 1, (int64_t[]){d});
        PETER_ADD(ln2_g, "ln2_g", 1, (int64_t[]){d});
        PETER_ADD(ln2_b, "ln2_b", 1, (int64_t[]){d});
#undef PETER_ADD
    }
    m->out_w = nn_params_add2(ps, "out_w", d, V);
    m->out_b = nn_params_add1(ps, "out_b", V);
    nn_params_finalize(ps);

    bb_rng r;
    bb_rng_seed(&r, seed, "peter/init");
    nn_init_uniform(m->user_emb, &r, -0.1f, 0.1f);
    nn_init_uniform(m->item_emb, &r, -0.1f, 0.1f);
    nn_init_uniform(m->word_emb, &r, -0.1f, 0.1f);
    for (int l = 0; l < cfg->n_layers; l++) {
        bb_peter_layer *L = &m->layers[l];
        nn_init_xavier_uniform(L->qkv_w, &r);
        nn_init_xavier_uniform(L->proj_w, &r);
        nn_init_xavier_uniform(L->ff1_w, &r);
        nn_init_xavier_uniform(L->ff2_w, &r);
        nn_init_constant(L->ln1_g, 1.0f);
        nn_init_constant(L->ln2_g, 1.0f);
    }
    nn_init_uniform(m->out_w, &r, -0.1f, 0.1f);

    /* sinusoids (Vaswani et al. 2017, §3.5):
     * pe[p, 2k] = sin(p / 10000^(2k/d)), pe[p, 2k+1] = cos(p / 10000^(2k/d)) */
    m->max_pos = cfg->max_len + 3;
    m->pos_table = bb_malloc((size_t)m->max_pos * (size_t)d * sizeof *m->pos_table);
    for (int p = 0; p < m->max_pos; p++)
        for (int64_t k = 0; k < d; k += 2) {
            double freq = exp(-(double)k * log(10000.0) / (double)d);
            m->pos_table[p * d + k] = (float)sin(p * freq);
            if (k + 1 < d) m->pos_table[p * d + k + 1] = (float)cos(p * freq);
        }
    return m;
}

void bb_peter_free(bb_peter_model *m) {
    if (!m) return;
    nn_params_free(m->params);
    free(m->pos_table);
    free(m);
}

void bb_peter_mask(float *mask, int T) {
    for (int q = 0; q < T; q++)
        for (int k = 0; k < T; k++) mask[q * T + k] = k <= q ? 0.0f : PETER_MASKED;
    if (T > 1) mask[0 * T + 1] = 0.0f; /* the user position sees the item position */
}

/* One post-LN block (torch's TransformerEncoderLayer): x (n*S, d) -> (n*S, d). */
static nn_tensor *block_forward(bb_peter_model *m, const bb_peter_layer *L, nn_tape *tp,
                                nn_tensor *x, int n, int S, nn_tensor *mask, float p,
                                bb_rng *rng) {
    int64_t d = m->cfg.d_model, H = m->cfg.n_heads, hs = d / H;
    nn_tensor *qkv = nn_add(tp, nn_matmul(tp, x, L->qkv_w, 0, 0), L->qkv_b); /* (nS, 3d) */
    nn_tensor *heads[3];
    for (int k = 0; k < 3; k++) {
        nn_tensor *part = nn_slice(tp, qkv, 1, k * d, d);
        part = nn_reshape(tp, part, 4, (int64_t[]){n, S, H, hs});
        part = nn_transpose(tp, part, 1, 2); /* (n, H, S, hs) */
        heads[k] = nn_reshape(tp, part, 3, (int64_t[]){(int64_t)n * H, S, hs});
    }
    nn_tensor *att = nn_bmm(tp, heads[0], heads[1], 0, 1); /* (nH, S, S) */
    att = nn_add(tp, nn_scale(tp, att, (float)(1.0 / sqrt((double)hs))), mask);
    att = nn_dropout(tp, nn_softmax(tp, att), p, rng);
    nn_tensor *y = nn_bmm(tp, att, heads[2], 0, 0); /* (nH, S, hs) */
    y = nn_reshape(tp, y, 4, (int64_t[]){n, H, S, hs});
    y = nn_transpose(tp, y, 1, 2); /* (n, S, H, hs) */
    y = nn_reshape(tp, y, 2, (int64_t[]){(int64_t)n * S, d});
    y = nn_add(tp, nn_matmul(tp, y, L->proj_w, 0, 0), L->proj_b);
    x = nn_layernorm(tp, nn_add(tp, x, nn_dropout(tp, y, p, rng)), L->ln1_g, L->ln1_b,
                     PETER_LN_EPS);
    nn_tensor *f = nn_relu(tp, nn_add(tp, nn_matmul(tp, x, L->ff1_w, 0, 0), L->ff1_b));
    f = nn_add(tp, nn_matmul(tp, nn_dropout(tp, f, p, rng), L->ff2_w, 0, 0), L->ff2_b);
    return nn_layernorm(tp, nn_add(tp, x, nn_dropout(tp, f, p, rng)), L->ln2_g, L->ln2_b,
                        PETER_LN_EPS);
}

nn_tensor *bb_peter_encode(bb_peter_model *m, nn_tape *tp, const int32_t *uid,
                           const int32_t *iid, const int32_t *words, int n, int Tw, bb_rng *rng) {
    int S = Tw + 2;
    int64_t d = m->cfg.d_model;
    BB_ASSERT(S <= m->max_pos, "peter: sequence of %d positions, table has %d", S, m->max_pos);
    float p = rng ? (float)m->cfg.dropout : 0.0f;
    nn_tensor *parts[3];
    parts[0] = nn_reshape(tp, nn_gather_rows(tp, m->user_emb, uid, n), 3, (int64_t[]){n, 1, d});
    parts[1] = nn_reshape(tp, nn_gather_rows(tp, m->item_emb, iid, n), 3, (int64_t[]){n, 1, d});
    parts[2] = nn_reshape(tp, nn_gather_rows(tp, m->word_emb, words, (int64_t)n * Tw), 3,
                          (int64_t[]){n, Tw, d});
    nn_tensor *x = nn_concat(tp, parts, 3, 1); /* (n, S, d) */
    nn_tensor *pos = nn_tape_from(tp, 2, (int64_t[]){S, d}, m->pos_table);
    x = nn_add(tp, nn_scale(tp, x, (float)sqrt((double)d)), pos);
    x = nn_dropout(tp, x, p, rng);
    x = nn_reshape(tp, x, 2, (int64_t[]){(int64_t)n * S, d});
    nn_tensor *mask = nn_tape_tensor2(tp, S, S);
    bb_peter_mask(mask->data, S);
    for (int l = 0; l < m->cfg.n_layers; l++)
        x = block_forward(m, &m->layers[l], tp, x, n, S, mask, p, rng);
    return x;
}

static nn_tensor *output_logits(bb_peter_model *m, nn_tape *tp, nn_tensor *h) {
    return nn_add(tp, nn_matmul(tp, h, m->out_w, 0, 0), m->out_b);
}

nn_tensor *bb_peter_loss(bb_peter_model *m, nn_tape *tp, const bb_xbatch *b, bb_rng *step_rng,
                         double *text_nll) {
    int n = b->n, T = b->T, S = T + 2;
    nn_tensor *hidden = bb_peter_encode(m, tp, b->uid, b->iid, b->input, n, T, step_rng);

    /* generation: position 2 + t of row k predicts target[k, t]; the ID positions predict
     * nothing */
    int32_t *targets = nn_tape_scratch(tp, (size_t)n * (size_t)S * sizeof *targets);
    for (int k = 0; k < n; k++) {
        targets[(size_t)k * S] = targets[(size_t)k * S + 1] = NN_IGNORE_INDEX;
        memcpy(targets + (size_t)k * S + 2, b->target + (size_t)k * T, (size_t)T * sizeof *targets);
    }
    nn_tensor *text = bb_xhead_nll(tp, hidden, m->out_w, m->out_b, targets, text_nll);
    nn_tensor *loss = nn_scale(tp, text, (float)m->cfg.text_weight);
    if (!step_rng || m->cfg.context_weight <= 0) return loss;

    /* context prediction: hidden[1] predicts the bag of target words (not <eos>):
     * -sum_k sum_{w in words_k} log p_k(w) / #words */
    int32_t *ctx_rows = nn_tape_scratch(tp, (size_t)n * sizeof *ctx_rows);
    for (int k = 0; k < n; k++) ctx_rows[k] = k * S + 1;
    nn_tensor *counts = nn_tape_tensor2(tp, n, m->vocab);
    int64_t n_words = 0;
    for (int k = 0; k < n; k++)
        for (int t = 0; t + 1 < b->len[k]; t++) {
            counts->data[(int64_t)k * m->vocab + b->target[(size_t)k * T + t]] += 1.0f;
            n_words++;
        }
    if (n_words == 0) return loss;
    nn_tensor *hc = nn_gather_rows(tp, hidden, ctx_rows, n);
    nn_tensor *logp = nn_log_softmax(tp, output_logits(m, tp, hc));
    nn_tensor *ctx = nn_sum(tp, nn_mul(tp, logp, counts));
    return nn_add(tp, loss, nn_scale(tp, ctx, (float)(-m->cfg.context_weight / (double)n_words)));
}

void bb_peter_generate(bb_peter_model *m, nn_tape *tp, const int32_t *uid, const int32_t *iid,
                       int n, int max_len, int32_t *out, int32_t *len) {
    BB_ASSERT(max_len + 2 <= m->max_pos, "peter: max_len %d beyond the model's %d", max_len,
              m->max_pos - 3);
    /* words[k*(max_len+1) + t]: <bos> then the generated words */
    int W = max_len + 1;
    int32_t *words = bb_malloc((size_t)n * (size_t)W * sizeof *words);
    int32_t *cur = bb_malloc((size_t)n * (size_t)W * sizeof *cur);
    int32_t *last = bb_malloc((size_t)n * sizeof *last);
    int32_t *best = bb_malloc((size_t)n * sizeof *best);
    uint8_t *done = bb_calloc((size_t)n, 1);
    for (int k = 0; k < n; k++) {
        words[(size_t)k * W] = BB_WORD_BOS;
        len[k] = 0;
    }
    int alive = n;
    for (int t = 0; t < max_len && alive > 0; t++) {
        int Tw = t + 1, S = Tw + 2;
        nn_tape_reset(tp); /* every step starts from the token ids alone */
        for (int k = 0; k < n; k++)
            memcpy(cur + (size_t)k * Tw, words + (size_t)k * W, (size_t)Tw * sizeof *cur);
        nn_tensor *hidden = bb_peter_encode(m, tp, uid, iid, cur, n, Tw, NULL);
        for (int k = 0; k < n; k++) last[k] = k * S + S - 1;
        nn_tensor *logits = output_logits(m, tp, nn_gather_rows(tp, hidden, last, n));
        nn_row_max(logits, NULL, best);
        for (int k = 0; k < n; k++) {
            words[(size_t)k * W + Tw] = best[k];
            if (done[k]) continue;
            if (best[k] == BB_WORD_EOS) {
                done[k] = 1;
                alive--;
            } else {
                out[(size_t)k * max_len + len[k]++] = best[k];
            }
        }
    }
    free(words);
    free(cur);
    free(last);
    free(best);
    free(done);
}

static nn_tensor *xmodel_loss(void *self, nn_tape *tp, const bb_xbatch *b, bb_rng *rng,
                              double *text_nll) {
    return bb_peter_loss(self, tp, b, rng, text_nll);
}

static void xmodel_generate(void *self, nn_tape *tp, const int32_t *uid, const int32_t *iid, int n,
                            int max_len, int32_t *out, int32_t *len) {
    bb_peter_generate(self, tp, uid, iid, n, max_len, out, len);
}

bb_xmodel bb_peter_xmodel(bb_peter_model *m) {
    return (bb_xmodel){m, m->params, xmodel_loss, xmodel_generate};
}

/* ------------------------------------------------------------------------------------------ */
/* the task entry point */

int bb_peter_explain(const bb_explain_task *task, const bb_peter_config *cfg,
                     bb_explain_output *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    if (bb_peter_check_config(cfg, err) != BB_OK) return BB_ERR;
    bb_xcorpus c;
    if (bb_xcorpus_build(task, cfg->max_words, cfg->max_len, &c, err) != BB_OK) return BB_ERR;
    int old_threads = bb_xtrain_set_threads(task->threads);
    bb_peter_model *m = bb_peter_create(c.n_users, c.n_items, c.vocab.size, cfg, task->seed);
    bb_xmodel xm = bb_peter_xmodel(m);
    beat_train_log log = {0};
    bb_xtrain_opts o = {"peter", cfg->batch, cfg->max_epochs, cfg->patience, cfg->lr,
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
    bb_peter_free(m);
    bb_xcorpus_free(&c);
    bb_xtrain_set_threads(old_threads);
    return rc;
}
