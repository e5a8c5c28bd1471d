/* beat_explain — prompt assembly, batch loss (CE + SAR), training with validation-based
 * epoch selection, and generation for the soft-prompt explainers (beat_explain.h, DESIGN §5). */
#include "models/beat/beat_explain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_progress.h"
#include "models/base/bb_rng.h"
#include "models/base/bb_time.h"
#include "models/beat/beat_sar.h"
#include "models/lm/lm_generate.h"
#include "models/nn/nn_ops.h"

void beat_explain_config_default(beat_explain_config *c) {
    memset(c, 0, sizeof *c);
    c->batch = 16;
    c->lr = 3e-3;
    c->clip = 1.0;
    c->max_epochs = 20;
    c->patience = 3;
    c->beta_sar = 1.0;
    c->no_sar = 0;
    c->max_new = 128;
    c->beam = 1;
    c->max_title_tokens = 32;
}

int beat_explain_config_check(const beat_explain_config *c, bb_error *err) {
    if (c->batch < 1) return bb_fail(err, "key 'batch': expected at least 1, got %d", c->batch);
    if (!(c->lr > 0) || !isfinite(c->lr))
        return bb_fail(err, "key 'lr': expected a positive number, got %g", c->lr);
    if (!(c->clip >= 0)) return bb_fail(err, "key 'clip': expected >= 0, got %g", c->clip);
    if (c->max_epochs < 1)
        return bb_fail(err, "key 'max_epochs': expected at least 1, got %d", c->max_epochs);
    if (c->patience < 1) return bb_fail(err, "key 'patience': expected at least 1, got %d", c->patience);
    if (!(c->beta_sar >= 0)) return bb_fail(err, "key 'beta_sar': expected >= 0, got %g", c->beta_sar);
    if (c->max_new < 1) return bb_fail(err, "key 'max_new': expected at least 1, got %d", c->max_new);
    if (c->beam < 1 || c->beam > 64) return bb_fail(err, "key 'beam': expected 1 to 64, got %d", c->beam);
    if (c->max_title_tokens < 0)
        return bb_fail(err, "key 'max_title_tokens': expected >= 0, got %d", c->max_title_tokens);
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * Prompt */

static int is_book(const char *domain) { return domain && strcmp(domain, "book") == 0; }

const char *beat_explain_template(const char *domain) {
    return is_book(domain)
               ? "<bos> Explain why the user would buy the book within 50 words. user record: <U> "
                 "book record: <I> book name: {title} <EXPLAIN> {explanation} <eos>"
               : "<bos> Explain why the user would enjoy the business within 50 words. user "
                 "record: <U> business record: <I> business name: {title} <EXPLAIN> "
                 "{explanation} <eos>";
}

static void encode(lm_bpe *tok, const char *text, lm_ids *out) {
    lm_bpe_encode(tok, text, strlen(text), out);
}

/* Appends n copies of id. */
static void push_n(lm_ids *ids, int32_t id, int n) {
    for (int k = 0; k < n; k++) lm_ids_push(ids, id);
}

static int encode_sequences(beat_explainer *x, const char *domain, bb_error *err) {
    beat_explain_seqs *s = &x->seqs;
    lm_bpe *tok = x->tok;
    const int book = is_book(domain);
    const char *thing = book ? "book" : "business";
    char instr[160], mid[64], name[64];
    snprintf(instr, sizeof instr, "Explain why the user would %s within 50 words. user record:",
             book ? "buy the book" : "enjoy the business");
    snprintf(mid, sizeof mid, " %s record:", thing);
    snprintf(name, sizeof name, " %s name:", thing);
    lm_ids head = {0}, mid_ids = {0}, name_ids = {0};
    lm_ids_push(&head, lm_bpe_special(tok, LM_BOS));
    encode(tok, instr, &head);
    encode(tok, mid, &mid_ids);
    encode(tok, name, &name_ids);
    const int S = x->S, context = x->lm->arch.context;
    s->user_at = (int)head.n;
    s->item_at = s->user_at + S + (int)mid_ids.n;

    s->n = x->ex->n;
    s->off = bb_calloc(s->n + 1, sizeof *s->off);
    s->prompt_len = bb_calloc(s->n ? s->n : 1, sizeof *s->prompt_len);
    s->n_expl = bb_calloc(s->n ? s->n : 1, sizeof *s->n_expl);
    lm_ids all = {0}, piece = {0};
    int rc = BB_OK;
    for (size_t r = 0; r < s->n && rc == BB_OK; r++) {
        const bb_explanation *row = &x->ex->rows[r];
        const size_t start = all.n;
        for (size_t k = 0; k < head.n; k++) lm_ids_push(&all, head.v[k]);
        push_n(&all, lm_bpe_special(tok, LM_USER), S);
        for (size_t k = 0; k < mid_ids.n; k++) lm_ids_push(&all, mid_ids.v[k]);
        push_n(&all, lm_bpe_special(tok, LM_ITEM), S);
        for (size_t k = 0; k < name_ids.n; k++) lm_ids_push(&all, name_ids.v[k]);
        piece.n = 0;
        char *title = bb_malloc(strlen(row->title) + 2);
        title[0] = ' ';
        strcpy(title + 1, row->title);
        encode(tok, title, &piece);
        free(title);
        for (size_t k = 0; k < piece.n && (int)k < x->cfg.max_title_tokens; k++)
            lm_ids_push(&all, piece.v[k]);
        lm_ids_push(&all, lm_bpe_special(tok, LM_EXPLAIN));
        const int P = (int)(all.n - start);
        if (P >= context) {
            rc = bb_fail(err, "%s:%u: the prompt has %d tokens but the LM's context is %d (lower "
                              "max_title_tokens or use an LM with a longer context)",
                         x->ex->path ? x->ex->path : "explanations", row->line, P, context);
            break;
        }
        s->prompt_len[r] = P;
        /* only train and valid rows carry their explanation: test text never enters */
        if (x->split->part[r] != BB_SPLIT_TEST) {
            piece.n = 0;
            encode(tok, row->explanation, &piece);
            int room = context - P; /* explanation tokens + <eos> that fit */
            int n_expl = (int)piece.n < room ? (int)piece.n : room;
            for (int k = 0; k < n_expl; k++) lm_ids_push(&all, piece.v[k]);
            if (n_expl < room) lm_ids_push(&all, lm_bpe_special(tok, LM_EOS));
            s->n_expl[r] = n_expl;
        }
        s->off[r + 1] = all.n;
    }
    s->ids = all.v ? all.v : bb_malloc(sizeof *s->ids);
    lm_ids_free(&head), lm_ids_free(&mid_ids), lm_ids_free(&name_ids), lm_ids_free(&piece);
    return rc;
}

int beat_explainer_init(beat_explainer *x, const beat_explain_config *cfg, lm_model *lm,
                        lm_bpe *tok, const beat_slot_provider *prov, const bb_explanations *ex,
                        const bb_split *split, const char *domain, uint64_t seed, bb_error *err) {
    memset(x, 0, sizeof *x);
    if (beat_explain_config_check(cfg, err) != BB_OK) return BB_ERR;
    if (tok->vocab_size != lm->arch.vocab)
        return bb_fail(err, "the tokenizer has %d tokens but the LM %d", tok->vocab_size, lm->arch.vocab);
    if (prov->width != lm->arch.d_model)
        return bb_fail(err, "%s: slot vectors are %d wide but the LM's d_model is %d", prov->name,
                       prov->width, lm->arch.d_model);
    if (prov->slots < 1) return bb_fail(err, "%s: no slots", prov->name);
    if (split->n != ex->n)
        return bb_fail(err, "the split has %zu rows but the explanations %zu", split->n, ex->n);
    const char *path = ex->path ? ex->path : "explanations";
    for (size_t r = 0; r < ex->n; r++) {
        const bb_explanation *row = &ex->rows[r];
        if (row->uid < 0 || row->uid >= prov->n_users)
            return bb_fail(err, "%s:%u: field 'uid': id %d is beyond the %d users %s knows", path,
                           row->line, row->uid, prov->n_users, prov->name);
        if (row->iid < 0 || row->iid >= prov->n_items)
            return bb_fail(err, "%s:%u: field 'iid': id %d is beyond the %d items %s knows", path,
                           row->line, row->iid, prov->n_items, prov->name);
    }
    x->cfg = *cfg;
    x->lm = lm;
    x->tok = tok;
    x->prov = prov;
    x->ex = ex;
    x->split = split;
    x->S = prov->slots;
    x->C = lm->arch.d_model;
    x->seed = seed;
    x->own = nn_params_new();
    x->sep = nn_params_add2(x->own, "explain_sep", 1, x->C);
    nn_params_finalize(x->own);
    nn_tensor_copy_from(x->sep, lm->wte->data + (size_t)lm_bpe_special(tok, LM_BOS) * (size_t)x->C);
    if (encode_sequences(x, domain, err) != BB_OK) {
        beat_explainer_free(x);
        return BB_ERR;
    }
    return BB_OK;
}

void beat_explainer_free(beat_explainer *x) {
    nn_params_free(x->own);
    free(x->seqs.off);
    free(x->seqs.ids);
    free(x->seqs.prompt_len);
    free(x->seqs.n_expl);
    memset(x, 0, sizeof *x);
}

double beat_explain_wte_std(const lm_model *lm) {
    const nn_tensor *w = lm->wte;
    double s = 0.0, ss = 0.0;
    for (int64_t k = 0; k < w->numel; k++) s += w->data[k], ss += (double)w->data[k] * w->data[k];
    double mean = s / (double)w->numel, var = ss / (double)w->numel - mean * mean;
    return var > 0 ? sqrt(var) : 0.0;
}

/* ------------------------------------------------------------------------------------------
 * Batches */

typedef struct batch {
    int B, T, n_inject;
    int32_t *ids, *targets, *inject_pos, *uid, *iid;
} batch;

static int row_len(const beat_explainer *x, size_t r) {
    return (int)(x->seqs.off[r + 1] - x->seqs.off[r]);
}

/* Padded ids, next-token targets on the explanation positions only, slot positions. */
static void batch_build(const beat_explainer *x, const size_t *rows, int n, batch *b) {
    const beat_explain_seqs *s = &x->seqs;
    int T = 1;
    for (int k = 0; k < n; k++) T = row_len(x, rows[k]) > T ? row_len(x, rows[k]) : T;
    b->B = n;
    b->T = T;
    b->n_inject = n * (2 * x->S + 1); /* slots of every row, then every row's separator */
    b->ids = bb_malloc((size_t)n * (size_t)T * sizeof *b->ids);
    b->targets = bb_malloc((size_t)n * (size_t)T * sizeof *b->targets);
    b->inject_pos = bb_malloc((size_t)b->n_inject * sizeof *b->inject_pos);
    b->uid = bb_malloc((size_t)n * sizeof *b->uid);
    b->iid = bb_malloc((size_t)n * sizeof *b->iid);
    const int32_t pad = lm_bpe_special(x->tok, LM_PAD);
    for (int k = 0; k < n; k++) {
        const size_t r = rows[k];
        const int L = row_len(x, r), P = s->prompt_len[r];
        const int32_t *seq = s->ids + s->off[r];
        int32_t *ids = b->ids + (size_t)k * T, *tg = b->targets + (size_t)k * T;
        for (int p = 0; p < T; p++) {
            ids[p] = p < L ? seq[p] : pad;
            /* position p predicts seq[p + 1]: from <EXPLAIN> (P - 1) to the last token */
            tg[p] = p >= P - 1 && p + 1 < L ? seq[p + 1] : LM_IGNORE;
        }
        for (int j = 0; j < x->S; j++) {
            b->inject_pos[k * 2 * x->S + j] = k * T + s->user_at + j;
            b->inject_pos[k * 2 * x->S + x->S + j] = k * T + s->item_at + j;
        }
        b->inject_pos[n * 2 * x->S + k] = k * T + P - 1; /* <EXPLAIN> */
        b->uid[k] = x->ex->rows[r].uid;
        b->iid[k] = x->ex->rows[r].iid;
    }
}

static void batch_free(batch *b) {
    free(b->ids), free(b->targets), free(b->inject_pos), free(b->uid), free(b->iid);
    memset(b, 0, sizeof *b);
}

static nn_tensor *build_slots(beat_explainer *x, nn_tape *tp, const batch *b) {
    nn_tensor *slots = x->prov->build(x->prov->self, tp, b->uid, b->iid, b->B);
    BB_ASSERT(slots->ndim == 3 && slots->shape[0] == b->B && slots->shape[1] == 2 * x->S &&
                  slots->shape[2] == x->C,
              "%s: slot provider returned the wrong shape (want (%d, %d, %d))", x->prov->name,
              b->B, 2 * x->S, x->C);
    return slots;
}

/* The injected vectors in batch order: (B 2S + B, C) = every row's slots, then the separator
 * once per row. */
static nn_tensor *injected(beat_explainer *x, nn_tape *tp, nn_tensor *slots, int n) {
    int32_t *zeros = nn_tape_scratch(tp, (size_t)n * sizeof *zeros);
    memset(zeros, 0, (size_t)n * sizeof *zeros);
    nn_tensor *parts[2] = {nn_reshape(tp, slots, 2, (int64_t[]){(int64_t)n * 2 * x->S, x->C}),
                           nn_gather_rows(tp, x->sep, zeros, n)};
    return nn_concat(tp, parts, 2, 0);
}

/* SAR inputs: the raw wte rows of each sequence's explanation tokens (not <eos>). */
static nn_tensor *sar_term(beat_explainer *x, nn_tape *tp, nn_tensor *slots, const size_t *rows,
                           int n) {
    const float **e_rows = nn_tape_scratch(tp, (size_t)n * sizeof *e_rows);
    int *n_e = nn_tape_scratch(tp, (size_t)n * sizeof *n_e);
    const int C = x->C;
    for (int k = 0; k < n; k++) {
        const size_t r = rows[k];
        n_e[k] = x->seqs.n_expl[r];
        float *buf = nn_tape_scratch(tp, (size_t)(n_e[k] ? n_e[k] : 1) * (size_t)C * sizeof(float));
        const int32_t *expl = x->seqs.ids + x->seqs.off[r] + x->seqs.prompt_len[r];
        for (int s = 0; s < n_e[k]; s++)
            memcpy(buf + (size_t)s * C, x->lm->wte->data + (size_t)expl[s] * C, (size_t)C * sizeof(float));
        e_rows[k] = buf;
    }
    return beat_sar_loss(tp, slots, e_rows, n_e);
}

nn_tensor *beat_explain_batch_loss(beat_explainer *x, nn_tape *tp, const size_t *rows, int n,
                                   beat_explain_losses *parts) {
    batch b;
    batch_build(x, rows, n, &b);
    nn_tensor *slots = build_slots(x, tp, &b);
    nn_tensor *vecs = injected(x, tp, slots, n);
    lm_input in = {b.B, b.T, b.ids, b.n_inject, b.inject_pos, vecs->data};
    const int want_grad = tp->grad_enabled && vecs->requires_grad;
    lm_loss ce;
    nn_tensor *loss;
    if (want_grad) {
        nn_tensor *g = nn_tape_tensor2(tp, b.n_inject, x->C); /* zeroed: inject_grad accumulates */
        ce = lm_forward_backward(x->lm, &in, b.targets, NULL, LM_FROZEN, g->data);
        /* value 0, gradient G = dCE/dvectors (see the header) */
        nn_tensor *surrogate = nn_sub(tp, nn_sum(tp, nn_mul(tp, vecs, g)),
                                      nn_sum(tp, nn_mul(tp, nn_detach(tp, vecs), g)));
        loss = nn_add_scalar(tp, surrogate, (float)ce.mean);
    } else {
        ce = lm_evaluate(x->lm, &in, b.targets, NULL);
        loss = nn_tape_tensor1(tp, 1);
        loss->data[0] = (float)ce.mean;
    }
    double sar = 0.0;
    if (!x->cfg.no_sar && x->cfg.beta_sar > 0) {
        nn_tensor *s = sar_term(x, tp, slots, rows, n);
        sar = s->data[0];
        loss = nn_add(tp, loss, nn_scale(tp, s, (float)x->cfg.beta_sar));
    }
    if (parts) {
        parts->ce = ce.mean;
        parts->sar = sar;
        parts->total = ce.mean + x->cfg.beta_sar * sar;
        parts->tokens = ce.count;
    }
    batch_free(&b);
    return loss;
}

double beat_explain_eval_ce(beat_explainer *x, const size_t *rows, size_t n) {
    nn_tape *tp = nn_tape_new();
    nn_tape_set_grad(tp, 0);
    double sum = 0.0;
    int64_t count = 0;
    for (size_t k0 = 0; k0 < n; k0 += (size_t)x->cfg.batch) {
        int m = (int)(n - k0 < (size_t)x->cfg.batch ? n - k0 : (size_t)x->cfg.batch);
        nn_tape_reset(tp);
        batch b;
        batch_build(x, rows + k0, m, &b);
        nn_tensor *vecs = injected(x, tp, build_slots(x, tp, &b), m);
        lm_input in = {b.B, b.T, b.ids, b.n_inject, b.inject_pos, vecs->data};
        lm_loss l = lm_evaluate(x->lm, &in, b.targets, NULL);
        sum += l.sum;
        count += l.count;
        batch_free(&b);
    }
    nn_tape_free(tp);
    return count ? sum / (double)count : NAN;
}

/* ------------------------------------------------------------------------------------------
 * Training */

static size_t *rows_of(const bb_split *split, int part, size_t *n) {
    size_t *rows = bb_malloc((split->n ? split->n : 1) * sizeof *rows);
    *n = 0;
    for (size_t r = 0; r < split->n; r++)
        if (split->part[r] == part) rows[(*n)++] = r;
    return rows;
}

/* The loop trains two registries: the provider's and the separator's (x->own). */
static void params_copy(beat_explainer *x, float *buf, int save) {
    nn_params *ps[2] = {x->prov->params, x->own};
    for (int k = 0; k < 2; k++) {
        const size_t bytes = (size_t)ps[k]->total * sizeof(float);
        if (save)
            memcpy(buf, ps[k]->data, bytes);
        else
            memcpy(ps[k]->data, buf, bytes);
        buf += ps[k]->total;
    }
}

/* torch.nn.utils.clip_grad_norm_ over both registries together. */
static void clip_joint(beat_explainer *x, double max_norm) {
    nn_params *ps[2] = {x->prov->params, x->own};
    double a = nn_params_grad_norm(ps[0]), b = nn_params_grad_norm(ps[1]);
    const double coef = max_norm / (sqrt(a * a + b * b) + 1e-6); /* applied only when < 1 */
    if (!(coef < 1.0)) return;
    for (int k = 0; k < 2; k++)
        for (int64_t e = 0; e < ps[k]->total; e++) ps[k]->grad[e] = (float)(ps[k]->grad[e] * coef);
}

int beat_explain_fit(beat_explainer *x, beat_explain_stats *st, bb_error *err) {
    memset(st, 0, sizeof *st);
    st->best_valid_ce = NAN;
    size_t n_train, n_valid;
    size_t *train = rows_of(x->split, BB_SPLIT_TRAIN, &n_train);
    size_t *valid = rows_of(x->split, BB_SPLIT_VALID, &n_valid);
    if (n_train == 0) {
        free(train), free(valid);
        return bb_fail(err, "%s: the split has no train rows to learn from", x->prov->name);
    }
    nn_params *ps = x->prov->params;
    float *best = bb_malloc((size_t)(ps->total + x->own->total) * sizeof *best);
    params_copy(x, best, 1);
    int32_t *perm = bb_malloc(n_train * sizeof *perm);
    size_t *batch_rows = bb_malloc((size_t)x->cfg.batch * sizeof *batch_rows);
    nn_tape *tp = nn_tape_new();
    nn_adam opt = nn_adam_default((float)x->cfg.lr);
    char purpose[64];
    snprintf(purpose, sizeof purpose, "%s/shuffle", x->prov->name);
    const double t0 = bb_now();
    const size_t steps_per_epoch = (n_train + (size_t)x->cfg.batch - 1) / (size_t)x->cfg.batch;
    int without_gain = 0, rc = BB_OK;
    for (int epoch = 1; epoch <= x->cfg.max_epochs && rc == BB_OK; epoch++) {
        const double t_epoch = bb_now();
        bb_rng r;
        bb_rng_seed_indexed(&r, x->seed, purpose, (uint64_t)epoch);
        for (size_t k = 0; k < n_train; k++) perm[k] = (int32_t)k;
        bb_rng_shuffle_i32(&r, perm, n_train);
        char label[96];
        snprintf(label, sizeof label, "%s explain epoch %d/%d", x->prov->name, epoch, x->cfg.max_epochs);
        bb_progress pg;
        bb_progress_begin(&pg, label, steps_per_epoch, "step");
        double sum_loss = 0.0, sum_ce = 0.0, sum_sar = 0.0;
        size_t steps = 0;
        for (size_t k0 = 0; k0 < n_train; k0 += (size_t)x->cfg.batch, steps++) {
            int m = (int)(n_train - k0 < (size_t)x->cfg.batch ? n_train - k0 : (size_t)x->cfg.batch);
            for (int k = 0; k < m; k++) batch_rows[k] = train[perm[k0 + (size_t)k]];
            nn_tape_reset(tp);
            nn_params_zero_grad(ps);
            nn_params_zero_grad(x->own);
            beat_explain_losses parts;
            nn_tensor *loss = beat_explain_batch_loss(x, tp, batch_rows, m, &parts);
            if (!isfinite(parts.total)) {
                rc = bb_fail(err, "%s: the loss became %g at epoch %d step %zu (lower lr)",
                             x->prov->name, parts.total, epoch, steps + 1);
                break;
            }
            nn_tape_backward(tp, loss);
            if (x->cfg.clip > 0) clip_joint(x, x->cfg.clip);
            nn_adam_step(ps, &opt);
            nn_adam_step(x->own, &opt);
            sum_loss += parts.total, sum_ce += parts.ce, sum_sar += parts.sar;
            st->steps++;
            bb_progress_update(&pg, steps + 1, "loss %.4f", sum_loss / (double)(steps + 1));
        }
        if (rc != BB_OK) {
            bb_progress_end(&pg, "stopped");
            break;
        }
        const double mean = steps ? sum_loss / (double)steps : 0.0;
        if (epoch == 1) st->first_train_loss = mean;
        st->last_train_loss = mean;
        st->last_train_ce = steps ? sum_ce / (double)steps : 0.0;
        st->last_train_sar = steps ? sum_sar / (double)steps : 0.0;
        st->epochs_run = epoch;
        double v = n_valid ? beat_explain_eval_ce(x, valid, n_valid) : NAN;
        beat_train_log_add(&st->log, mean, v, bb_now() - t_epoch);
        bb_progress_end(&pg, "loss %.4f ce %.4f sar %.4f valid ce %.4f", mean, st->last_train_ce,
                        st->last_train_sar, v);
        if (!n_valid || !(v >= st->best_valid_ce)) { /* NAN best: first epoch wins */
            st->best_valid_ce = v;
            st->best_epoch = epoch;
            params_copy(x, best, 1);
            without_gain = 0;
        } else if (++without_gain >= x->cfg.patience) {
            break;
        }
    }
    if (rc == BB_OK) params_copy(x, best, 0);
    st->train_seconds = bb_now() - t0;
    nn_tape_free(tp);
    free(best), free(perm), free(batch_rows), free(train), free(valid);
    return rc;
}

void beat_explain_stats_free(beat_explain_stats *st) {
    beat_train_log_free(&st->log);
    memset(st, 0, sizeof *st);
}

/* ------------------------------------------------------------------------------------------
 * Generation */

static char *trimmed(char *s) {
    size_t len = strlen(s), a = 0;
    while (a < len && (s[a] == ' ' || s[a] == '\n' || s[a] == '\t' || s[a] == '\r')) a++;
    while (len > a && (s[len - 1] == ' ' || s[len - 1] == '\n' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    memmove(s, s + a, len - a);
    s[len - a] = '\0';
    return s;
}

#define GEN_CHUNK 256 /* prompts per generation call (bounds the slot memory) */

int beat_explain_generate(beat_explainer *x, const size_t *rows, size_t n, char **texts,
                          bb_error *err) {
    const int S = x->S, C = x->C;
    int32_t *pos = bb_malloc((size_t)GEN_CHUNK * (2 * S + 1) * sizeof *pos);
    lm_gen_opts o = lm_gen_defaults();
    o.max_new = x->cfg.max_new;
    o.beam = x->cfg.beam;
    o.seed = x->seed;
    nn_tape *tp = nn_tape_new();
    nn_tape_set_grad(tp, 0);
    lm_prompt *prompts = bb_calloc(GEN_CHUNK, sizeof *prompts);
    lm_ids *outs = bb_calloc(GEN_CHUNK, sizeof *outs);
    int rc = BB_OK;
    for (size_t k0 = 0; k0 < n && rc == BB_OK; k0 += GEN_CHUNK) {
        int m = (int)(n - k0 < GEN_CHUNK ? n - k0 : GEN_CHUNK);
        nn_tape_reset(tp);
        batch b;
        batch_build(x, rows + k0, m, &b);
        nn_tensor *slots = build_slots(x, tp, &b);
        float *vecs = nn_tape_scratch(tp, (size_t)m * (2 * S + 1) * C * sizeof(float));
        for (int k = 0; k < m; k++) {
            const size_t r = rows[k0 + (size_t)k];
            int32_t *p = pos + (size_t)k * (2 * S + 1);
            for (int j = 0; j < S; j++) p[j] = x->seqs.user_at + j, p[S + j] = x->seqs.item_at + j;
            p[2 * S] = x->seqs.prompt_len[r] - 1; /* <EXPLAIN> */
            float *v = vecs + (size_t)k * (2 * S + 1) * C;
            memcpy(v, slots->data + (size_t)k * 2 * S * C, (size_t)2 * S * C * sizeof(float));
            memcpy(v + (size_t)2 * S * C, x->sep->data, (size_t)C * sizeof(float));
            prompts[k] = (lm_prompt){x->seqs.ids + x->seqs.off[r], x->seqs.prompt_len[r], 2 * S + 1, p, v};
            outs[k].n = 0;
        }
        rc = lm_generate_batch(x->lm, x->tok, prompts, m, &o, outs, err);
        for (int k = 0; k < m && rc == BB_OK; k++)
            texts[k0 + (size_t)k] = trimmed(lm_bpe_decode(x->tok, outs[k].v, outs[k].n, 0, NULL));
        batch_free(&b);
    }
    for (int k = 0; k < GEN_CHUNK; k++) lm_ids_free(&outs[k]);
    free(outs), free(prompts), free(pos);
    nn_tape_free(tp);
    return rc;
}

int beat_explain_task_run(const bb_explain_task *task, const beat_explain_config *cfg,
                          lm_model *lm, lm_bpe *tok, const beat_slot_provider *prov,
                          bb_explain_output *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    if (task->threads >= 1) lm_set_threads(lm, task->threads);
    beat_explainer x;
    if (beat_explainer_init(&x, cfg, lm, tok, prov, task->ex, task->split, task->domain,
                            task->seed, err) != BB_OK)
        return BB_ERR;
    bb_explain_output_init(out, task->split);
    beat_explain_stats st;
    int rc = beat_explain_fit(&x, &st, err);
    if (rc == BB_OK) {
        out->train_seconds = st.train_seconds;
        out->epochs_run = st.epochs_run;
        out->best_epoch = st.best_epoch;
        out->best_valid_loss = st.best_valid_ce;
        if (task->work_dir) rc = beat_train_log_write(task->work_dir, &st.log, err);
    }
    if (rc == BB_OK) {
        const double t0 = bb_now();
        rc = beat_explain_generate(&x, out->row, out->n, out->generated, err);
        out->generate_seconds = bb_now() - t0;
    }
    beat_explain_stats_free(&st);
    beat_explainer_free(&x);
    if (rc != BB_OK) bb_explain_output_free(out);
    return rc;
}
