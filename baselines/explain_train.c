/* explain_train — shared loop of PETER and NRT: shuffled batches, Adam, clipping, early
 * stopping on the valid explanation NLL, greedy generation of the test rows. See
 * explain_train.h. */
#include "baselines/explain_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_progress.h"
#include "models/base/bb_time.h"
#include "models/nn/nn_tensor.h"

int bb_xtrain_set_threads(int threads) {
    int old = nn_get_threads();
    if (threads >= 1) nn_set_threads(threads);
    return old;
}

static double eval_nll(const bb_xmodel *m, const bb_xcorpus *c, const size_t *rows, size_t n,
                       int batch, nn_tape *tp) {
    if (n == 0) return NAN;
    nn_tape_set_grad(tp, 0);
    bb_xbatch b = {0};
    double nll = 0;
    int64_t count = 0;
    for (size_t k = 0; k < n; k += (size_t)batch) {
        int nb = (int)(n - k < (size_t)batch ? n - k : (size_t)batch);
        bb_xbatch_fill(&b, c, rows + k, nb);
        nn_tape_reset(tp);
        double part = 0;
        m->loss(m->self, tp, &b, NULL, &part);
        nll += part;
        count += b.n_targets;
    }
    bb_xbatch_free(&b);
    return count ? nll / (double)count : NAN;
}

double bb_xtrain_eval_nll(const bb_xmodel *m, const bb_xcorpus *c, const size_t *rows, size_t n,
                          int batch) {
    nn_tape *tp = nn_tape_new();
    double v = eval_nll(m, c, rows, n, batch, tp);
    nn_tape_free(tp);
    return v;
}

int bb_xtrain_fit(const bb_xmodel *m, const bb_xcorpus *c, const bb_xtrain_opts *o,
                  bb_xtrain_stats *st, bb_error *err) {
    memset(st, 0, sizeof *st);
    st->best_valid_nll = NAN;
    double t0 = bb_now();
    nn_params *ps = m->params;
    nn_adam opt = o->weight_decay > 0 ? nn_adamw_default((float)o->lr, (float)o->weight_decay)
                                      : nn_adam_default((float)o->lr);
    float *best = bb_malloc((size_t)ps->total * sizeof *best);
    memcpy(best, ps->data, (size_t)ps->total * sizeof *best);
    int32_t *perm = bb_malloc(c->n_train * sizeof *perm);
    size_t *rows = bb_malloc(c->n_train * sizeof *rows);
    nn_tape *tp = nn_tape_new(), *eval_tp = nn_tape_new(); /* each keeps its arena warm */
    bb_xbatch b = {0};
    char purpose_shuffle[64], purpose_step[64];
    snprintf(purpose_shuffle, sizeof purpose_shuffle, "%s/shuffle", o->name);
    snprintf(purpose_step, sizeof purpose_step, "%s/step", o->name);
    int since_best = 0, rc = BB_OK;
    bb_progress prog;
    bb_progress_begin(&prog, o->name, (uint64_t)o->max_epochs, "epoch");
    for (int epoch = 1; epoch <= o->max_epochs; epoch++) {
        const double t_epoch = bb_now();
        bb_rng shuf;
        bb_rng_seed_indexed(&shuf, o->seed, purpose_shuffle, (uint64_t)epoch);
        for (size_t k = 0; k < c->n_train; k++) perm[k] = (int32_t)k;
        bb_rng_shuffle_i32(&shuf, perm, c->n_train);
        for (size_t k = 0; k < c->n_train; k++) rows[k] = c->train_rows[perm[k]];
        double loss_sum = 0, nll_sum = 0;
        int64_t nll_count = 0, steps = 0;
        for (size_t k = 0; k < c->n_train; k += (size_t)o->batch) {
            int nb = (int)(c->n_train - k < (size_t)o->batch ? c->n_train - k : (size_t)o->batch);
            bb_xbatch_fill(&b, c, rows + k, nb);
            bb_rng step_rng;
            bb_rng_seed_indexed(&step_rng, o->seed, purpose_step, (uint64_t)st->steps);
            nn_tape_reset(tp);
            nn_params_zero_grad(ps);
            double nll = 0;
            nn_tensor *loss = m->loss(m->self, tp, &b, &step_rng, &nll);
            double lv = loss->data[0];
            if (!isfinite(lv)) {
                rc = bb_fail(err,
                             "%s: training diverged (loss %g at epoch %d, step %lld); lower lr",
                             o->name, lv, epoch, (long long)steps + 1);
                goto done;
            }
            nn_tape_backward(tp, loss);
            if (o->clip > 0) nn_params_clip_grad_norm(ps, o->clip);
            nn_adam_step(ps, &opt);
            loss_sum += lv;
            nll_sum += nll;
            nll_count += b.n_targets;
            steps++;
            st->steps++;
        }
        st->epochs_run = epoch;
        st->last_train_loss = steps ? loss_sum / (double)steps : NAN;
        if (epoch == 1) st->first_train_loss = st->last_train_loss;
        st->last_train_nll = nll_count ? nll_sum / (double)nll_count : NAN;
        if (c->n_valid > 0) {
            double v = eval_nll(m, c, c->valid_rows, c->n_valid, o->batch, eval_tp);
            if (!isfinite(v)) {
                rc = bb_fail(err, "%s: valid loss %g at epoch %d; lower lr", o->name, v, epoch);
                goto done;
            }
            if (o->log) beat_train_log_add(o->log, st->last_train_loss, v, bb_now() - t_epoch);
            if (st->best_epoch == 0 || v < st->best_valid_nll) {
                st->best_valid_nll = v;
                st->best_epoch = epoch;
                since_best = 0;
                memcpy(best, ps->data, (size_t)ps->total * sizeof *best);
            } else {
                since_best++;
            }
            bb_progress_update(&prog, (uint64_t)epoch, "train %.4f nll %.4f valid %.4f (best %d)",
                               st->last_train_loss, st->last_train_nll, v, st->best_epoch);
            if (since_best >= o->patience) break;
        } else {
            if (o->log) beat_train_log_add(o->log, st->last_train_loss, NAN, bb_now() - t_epoch);
            st->best_epoch = epoch;
            memcpy(best, ps->data, (size_t)ps->total * sizeof *best);
            bb_progress_update(&prog, (uint64_t)epoch, "train %.4f nll %.4f", st->last_train_loss,
                               st->last_train_nll);
        }
    }
    memcpy(ps->data, best, (size_t)ps->total * sizeof *best);
    prog.total = (uint64_t)st->epochs_run; /* early stop: the bar ends where training did */
    bb_progress_end(&prog, "best epoch %d of %d, valid nll %.4f", st->best_epoch, st->epochs_run,
                    st->best_valid_nll);
done:
    st->train_seconds = bb_now() - t0;
    bb_xbatch_free(&b);
    nn_tape_free(tp);
    nn_tape_free(eval_tp);
    free(rows);
    free(perm);
    free(best);
    return rc;
}

void bb_xtrain_generate(const bb_xmodel *m, const bb_xcorpus *c, const int32_t *uid,
                        const int32_t *iid, size_t n, int batch, char **texts) {
    int L = c->max_len;
    int32_t *out = bb_malloc((size_t)batch * (size_t)L * sizeof *out);
    int32_t *len = bb_malloc((size_t)batch * sizeof *len);
    nn_tape *tp = nn_tape_new();
    nn_tape_set_grad(tp, 0);
    for (size_t k = 0; k < n; k += (size_t)batch) {
        int nb = (int)(n - k < (size_t)batch ? n - k : (size_t)batch);
        nn_tape_reset(tp);
        m->generate(m->self, tp, uid + k, iid + k, nb, L, out, len);
        for (int j = 0; j < nb; j++)
            texts[k + (size_t)j] =
                bb_word_vocab_decode(&c->vocab, out + (size_t)j * L, (size_t)len[j]);
    }
    nn_tape_free(tp);
    free(out);
    free(len);
}

void bb_xtrain_generate_test(const bb_xmodel *m, const bb_xcorpus *c, const bb_split *split,
                             int batch, bb_explain_output *out) {
    double t0 = bb_now();
    bb_explain_output_init(out, split);
    size_t n = out->n;
    int32_t *uid = bb_malloc((n ? n : 1) * sizeof *uid);
    int32_t *iid = bb_malloc((n ? n : 1) * sizeof *iid);
    for (size_t k = 0; k < n; k++) {
        uid[k] = split->uid[out->row[k]];
        iid[k] = split->iid[out->row[k]];
    }
    bb_xtrain_generate(m, c, uid, iid, n, batch, out->generated);
    free(uid);
    free(iid);
    out->generate_seconds = bb_now() - t0;
}
