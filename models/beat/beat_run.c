/* beat_run — BEAT stage 1 end to end: data, split, text features, training with epoch
 * selection, final encoding (DESIGN §4, §10). Protocol and outputs in beat_run.h; the run
 * directory writers are in beat_run_io.c. */
#include "models/beat/beat_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "datasets/train_text.h"
#include "models/base/bb_hash.h"
#include "models/base/bb_io.h"
#include "models/base/bb_time.h"
#include "models/beat/beat_run_internal.h"

static const char *const codebook_names[BEAT_N_CODEBOOKS] = {"user_macro", "user_micro",
                                                             "item_macro", "item_micro"};

const char *beat_codebook_name(int k) {
    BB_ASSERT(k >= 0 && k < BEAT_N_CODEBOOKS, "beat_codebook_name: %d", k);
    return codebook_names[k];
}

void beat_run_result_free(beat_run_result *res) {
    if (!res) return;
    bb_rank_result_free(&res->valid);
    bb_rank_result_free(&res->test);
    free(res->epoch_seconds);
    memset(res, 0, sizeof *res);
}

void beat_note(const char *fmt, ...) {
    const char *q = getenv("BB_QUIET");
    if (q && *q && strcmp(q, "0") != 0) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------------------------
 * Hashes */


/* ------------------------------------------------------------------------------------------
 * Inputs */

void beat_inputs_free(beat_inputs *in) {
    bb_rank_lists_free(&in->train), bb_rank_lists_free(&in->valid), bb_rank_lists_free(&in->test);
    beat_text_features_free(&in->tf);
    if (in->have_split) bb_split_free(&in->split);
    if (in->have_ex) bb_explanations_free(&in->ex);
    bb_dataset_free(&in->ds);
    memset(in, 0, sizeof *in);
}

static int supervision_on(const beat_config *c) {
    int macro = !c->no_macro && !c->no_macro_sup && c->alpha > 0;
    int micro = !c->no_micro && !c->no_micro_sup && c->beta > 0;
    return macro || micro;
}

static int load_inputs(const beat_config *cfg, const beat_run_opts *o, beat_inputs *in,
                       bb_error *err) {
    memset(in, 0, sizeof *in);
    if (bb_dataset_load(o->data_dir, &in->ds, err) != BB_OK) return BB_ERR;
    const bb_dataset *ds = &in->ds;
    uint64_t h = BB_HASH_INIT;
    for (int k = 0; k < 3; k++) {
        char *p = bb_path_join(o->data_dir, bb_dataset_split_file(k));
        int rc = bb_hash_file(p, &h, err);
        free(p);
        if (rc != BB_OK) return BB_ERR;
    }
    if (ds->valid.n == 0 || ds->test.n == 0) {
        char *p = bb_path_join(o->data_dir, ds->valid.n == 0 ? "valid.csv" : "test.csv");
        bb_fail(err, "%s: no %s pairs: beat tokenize %s", p, ds->valid.n == 0 ? "validation" : "test",
                ds->valid.n == 0 ? "selects the epoch on them" : "evaluates them");
        free(p);
        return BB_ERR;
    }
    const int sup = supervision_on(cfg);
    char *ex_path = bb_path_join(o->data_dir, "explanations.csv");
    int rc = BB_OK;
    if (bb_path_exists(ex_path)) {
        rc = bb_explanations_load(ex_path, &in->ex, err);
        in->have_ex = rc == BB_OK;
        if (rc == BB_OK) rc = bb_explanations_check_ids(&in->ex, ds->n_users, ds->n_items, err);
        if (rc == BB_OK) rc = bb_hash_file(ex_path, &h, err);
    } else if (sup) {
        rc = bb_fail(err, "%s: not found: BEAT's macro/micro supervision reads the training "
                          "explanations and summaries (switch both off with no_macro_sup and "
                          "no_micro_sup to run without text)", ex_path);
    }
    free(ex_path);
    in->data_hash = h;
    if (rc != BB_OK) return BB_ERR;
    if (in->have_ex) {
        if (o->split_path)
            rc = bb_split_load(o->split_path, &in->ex, &in->split, err);
        else
            rc = bb_split_make(&in->ex, BB_SPLIT_DEFAULT_ZERO_SHOT, o->seed, &in->split, err);
        if (rc != BB_OK) return BB_ERR;
        in->have_split = 1;
        bb_leakage_report rep;
        if (bb_leakage_check(&in->ex, &in->split, &rep, err) != BB_OK) return BB_ERR;
        uint64_t sh = BB_HASH_INIT;
        sh = bb_hash_bytes(in->split.uid, in->split.n * sizeof *in->split.uid, sh);
        sh = bb_hash_bytes(in->split.iid, in->split.n * sizeof *in->split.iid, sh);
        in->split_hash = bb_hash_bytes(in->split.part, in->split.n, sh);
    }
    if (sup) {
        if (!o->encoder)
            return bb_fail(err, "beat: the supervision needs a text encoder (an LM)");
        if (beat_text_features_build(ds, &in->ex, &in->split, o->encoder, cfg->token_len,
                                     cfg->max_phrases, &in->tf, err) != BB_OK)
            return BB_ERR;
        in->have_tf = 1;
    }
    if (bb_rank_lists_build(&in->train, ds->n_users, ds->n_items, ds->train.user, ds->train.item,
                            ds->train.n, err) != BB_OK ||
        bb_rank_lists_build(&in->valid, ds->n_users, ds->n_items, ds->valid.user, ds->valid.item,
                            ds->valid.n, err) != BB_OK ||
        bb_rank_lists_build(&in->test, ds->n_users, ds->n_items, ds->test.user, ds->test.item,
                            ds->test.n, err) != BB_OK)
        return BB_ERR;
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * Training with selection */

static void rank_options(const beat_run_opts *o, const beat_inputs *in, const int *ks, int n_ks,
                         bb_rank_options *opt) {
    bb_rank_options_default(opt);
    memcpy(opt->ks, ks, (size_t)n_ks * sizeof *ks);
    opt->n_ks = n_ks;
    opt->threads = o->threads;
    opt->mask[0] = &in->train;
}

static int evaluate(beat_model *m, const bb_rank_lists *held, const bb_rank_options *opt,
                    float *rec[2], bb_rank_result *out, bb_error *err) {
    bb_rank_scorer sc = {m->n_items, rec[0], rec[1], m->T * m->d, NULL, NULL};
    return bb_rank_evaluate(&sc, held, opt, out, err);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    if (n <= 0) return 0.0;
    double *s = bb_malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double r = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return r;
}

int beat_run_execute(const beat_config *cfg, const beat_run_opts *o, beat_run_result *res,
                     bb_error *err) {
    memset(res, 0, sizeof *res);
    const double t_start = bb_now();
    const int d_text = o->encoder ? o->encoder->dim : 256;
    if (beat_config_check(cfg, d_text, err) != BB_OK) return BB_ERR;
    beat_inputs in;
    if (load_inputs(cfg, o, &in, err) != BB_OK) {
        beat_inputs_free(&in);
        return BB_ERR;
    }
    res->data_hash = in.data_hash;
    res->split_hash = in.split_hash;
    res->select_on_test = strcmp(cfg->select_on, "test") == 0;
    const bb_dataset *ds = &in.ds;
    beat_model m;
    if (beat_model_init(&m, cfg, o->seed, o->threads, ds->n_users, ds->n_items, ds->train.user,
                        ds->train.item, ds->train.n, &in.train, in.have_tf ? &in.tf : NULL,
                        d_text, err) != BB_OK) {
        beat_inputs_free(&in);
        return BB_ERR;
    }
    if (in.have_tf)
        beat_note("beat: text %s: %d training explanations, phrases for %d users and %d items\n",
                  in.tf.encoder, in.tf.n_sent, in.tf.side[0].n_rows, in.tf.side[1].n_rows);
    int ks[BB_RANK_MAX_KS] = {10, 20, 50}, n_ks = 3, sel = -1;
    for (int k = 0; k < n_ks; k++)
        if (ks[k] == cfg->select_k) sel = k;
    if (sel < 0) ks[n_ks] = cfg->select_k, sel = n_ks++;
    bb_rank_options ropt;
    rank_options(o, &in, ks, n_ks, &ropt);

    beat_run_state st;
    beat_run_state_init(&st, &m);
    res->epoch_seconds = bb_calloc((size_t)cfg->epochs + 1, sizeof *res->epoch_seconds);
    double best = -1.0;
    int without_gain = 0, rc = BB_OK;
    for (int epoch = 1; epoch <= cfg->epochs && rc == BB_OK; epoch++) {
        char label[64];
        snprintf(label, sizeof label, "beat epoch %d/%d", epoch, cfg->epochs);
        double t0 = bb_now();
        beat_losses l = beat_train_epoch(&m, epoch, label);
        res->epoch_seconds[epoch - 1] = bb_now() - t0;
        res->epochs_run = epoch;
        res->last_losses = l;
        beat_encode_all(&m, st.rec, NULL);
        bb_rank_result vr, tr;
        memset(&tr, 0, sizeof tr);
        if ((rc = evaluate(&m, &in.valid, &ropt, st.rec, &vr, err)) != BB_OK) break;
        if (res->select_on_test) {
            double te = bb_now();
            if ((rc = evaluate(&m, &in.test, &ropt, st.rec, &tr, err)) != BB_OK) {
                bb_rank_result_free(&vr);
                break;
            }
            res->eval_seconds = bb_now() - te;
            bb_rank_write_metrics_csv(st.metrics, epoch, "test", &tr);
        }
        bb_rank_write_metrics_csv(st.metrics, epoch, "valid", &vr);
        double value = res->select_on_test ? tr.hr_micro[sel] : vr.hr_micro[sel];
        fprintf(st.log, "%d,%.6f,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", epoch,
                res->epoch_seconds[epoch - 1], l.total, l.vq, l.orth, l.rec, l.macro, l.micro,
                value);
        if (value > best) {
            best = value;
            res->best_epoch = epoch;
            memcpy(st.best, m.params->data, (size_t)m.params->total * sizeof(float));
            bb_rank_result_free(&res->valid);
            bb_rank_result_free(&res->test);
            res->valid = vr;
            res->test = tr;
            without_gain = 0;
        } else {
            bb_rank_result_free(&vr);
            bb_rank_result_free(&tr);
            without_gain++;
        }
        beat_note("beat epoch %d: %s hr_micro@%d %.4f (best %.4f at epoch %d), %.2f s\n", epoch,
                  res->select_on_test ? "TEST" : "valid", ks[sel], value, best, res->best_epoch,
                  res->epoch_seconds[epoch - 1]);
        if (without_gain >= cfg->patience) {
            beat_note("beat: no gain in %d epochs, stopping after epoch %d\n", cfg->patience, epoch);
            break;
        }
    }
    if (rc == BB_OK) { /* the kept parameters: tokens, vectors, test */
        memcpy(m.params->data, st.best, (size_t)m.params->total * sizeof(float));
        beat_encode_all(&m, st.rec, st.tokens);
        if (!res->select_on_test) {
            double te = bb_now();
            rc = evaluate(&m, &in.test, &ropt, st.rec, &res->test, err);
            res->eval_seconds = bb_now() - te;
            if (rc == BB_OK) bb_rank_write_metrics_csv(st.metrics, res->best_epoch, "test", &res->test);
        }
    }
    if (rc == BB_OK) {
        beat_run_usage(&m, &st, res);
        res->seconds_per_epoch = median(res->epoch_seconds, res->epochs_run);
        res->train_flops = m.flops;
        res->phases = m.times;
        for (int e = 0; e < res->epochs_run; e++) res->train_seconds += res->epoch_seconds[e];
        uint64_t ih = bb_hash_bytes(&res->data_hash, sizeof res->data_hash, BB_HASH_INIT);
        ih = bb_hash_bytes(&res->split_hash, sizeof res->split_hash, ih);
        ih = bb_hash_bytes(&o->seed, sizeof o->seed, ih);
        ih = bb_hash_bytes(&o->threads, sizeof o->threads, ih);
        if (o->config_json) ih = bb_hash_bytes(o->config_json, strlen(o->config_json), ih);
        if (o->encoder) ih = bb_hash_bytes(o->encoder->name, strlen(o->encoder->name), ih);
        if (o->lm_desc) ih = bb_hash_bytes(o->lm_desc, strlen(o->lm_desc), ih);
        res->input_hash = ih;
        res->peak_rss_mb = bb_peak_rss_mb();
        res->total_seconds = bb_now() - t_start;
        if (o->out_dir) rc = beat_run_write(o->out_dir, cfg, o, &in, &m, &st, res, err);
    }
    beat_run_state_free(&st);
    beat_model_free(&m);
    beat_inputs_free(&in);
    if (rc != BB_OK) beat_run_result_free(res);
    return rc;
}
