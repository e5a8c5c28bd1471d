/* lm_train — the pretraining loop, validation, checkpoints and resume (see lm_train.h). */
#include "models/lm/lm_train.h"

#include <cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_progress.h"
#include "models/base/bb_rng.h"
#include "models/base/bb_time.h"
#include "models/lm/lm_io.h"

/* ================================ batches and evaluation ============================ */

void lm_sample_batch(const int32_t *stream, size_t len, int B, int T, uint64_t seed, long step,
                     int32_t *ids, int32_t *targets) {
    BB_ASSERT(len >= (size_t)T + 1, "stream of %zu tokens is shorter than a window of %d", len,
              T + 1);
    bb_rng rng;
    bb_rng_seed_indexed(&rng, seed, "lm/batch", (uint64_t)step);
    for (int b = 0; b < B; b++) {
        size_t start = (size_t)bb_rng_below(&rng, len - (size_t)T);
        memcpy(ids + (size_t)b * T, stream + start, (size_t)T * sizeof *ids);
        memcpy(targets + (size_t)b * T, stream + start + 1, (size_t)T * sizeof *targets);
    }
}

double lm_unigram(const int32_t *stream, size_t len, int V, double *logp) {
    double *count = bb_calloc((size_t)V, sizeof *count);
    for (size_t i = 0; i < len; i++) count[stream[i]] += 1.0;
    double entropy = 0.0;
    for (int v = 0; v < V; v++) {
        double p = (count[v] + 1.0) / ((double)len + V);
        logp[v] = log(p);
        entropy -= p * logp[v];
    }
    free(count);
    return entropy;
}

lm_loss lm_eval_stream(lm_model *lm, const int32_t *stream, size_t len, int T, int batch,
                       int max_windows, const double *unigram_logp, double *unigram_ce) {
    lm_loss total = {0.0, 0.0, 0};
    double uni = 0.0;
    int32_t *ids = bb_malloc((size_t)batch * T * sizeof *ids);
    int32_t *tg = bb_malloc((size_t)batch * T * sizeof *tg);
    long windows = 0;
    size_t start = 0;
    while (start + 1 < len && (max_windows <= 0 || windows < max_windows)) {
        /* Gather up to `batch` full windows, or one final shorter window. */
        int B = 0, Tw = T;
        while (B < batch && start + 1 < len && (max_windows <= 0 || windows < max_windows)) {
            size_t avail = len - 1 - start;
            int w = avail < (size_t)T ? (int)avail : T;
            if (w < T && B > 0) break; /* a short window goes alone */
            Tw = w;
            memcpy(ids + (size_t)B * Tw, stream + start, (size_t)Tw * sizeof *ids);
            memcpy(tg + (size_t)B * Tw, stream + start + 1, (size_t)Tw * sizeof *tg);
            B++;
            windows++;
            start += (size_t)Tw;
            if (Tw < T) break;
        }
        lm_input in = {.B = B, .T = Tw, .ids = ids};
        lm_loss l = lm_evaluate(lm, &in, tg, NULL);
        total.sum += l.sum;
        total.count += l.count;
        if (unigram_logp)
            for (size_t i = 0; i < (size_t)B * Tw; i++) uni -= unigram_logp[tg[i]];
    }
    free(ids);
    free(tg);
    total.mean = total.count ? total.sum / (double)total.count : NAN;
    if (unigram_ce) *unigram_ce = total.count ? uni / (double)total.count : NAN;
    return total;
}

/* ==================================== checkpoints =================================== */

static char *hex64(uint64_t v) {
    char *s = bb_malloc(17);
    snprintf(s, 17, "%016" PRIx64, v);
    return s;
}

static int save_checkpoint(const lm_model *lm, const lm_config *cfg, const lm_train_opts *o,
                           uint64_t corpus_hash, long step, bb_error *err) {
    char *dir = bb_path_join(o->out_dir, "checkpoint");
    bb_stage_dir sd;
    int rc = bb_stage_dir_begin(&sd, dir, err);
    free(dir);
    if (rc != BB_OK) return rc;
    char *w = bb_path_join(sd.staging, "model.safetensors");
    char *opt = bb_path_join(sd.staging, "optimizer.safetensors");
    char *cfg_path = bb_path_join(sd.staging, "config.json");
    char *state_path = bb_path_join(sd.staging, "state.json");
    char *cfg_json = lm_config_to_json(cfg), *hash = hex64(corpus_hash);
    char state[512];
    snprintf(state, sizeof state,
             "{\n  \"step\": %ld,\n  \"seed\": \"%" PRIu64 "\",\n  \"threads\": %d,\n"
             "  \"corpus_hash\": \"%s\"\n}\n",
             step, o->seed, lm_get_threads(lm), hash);
    rc = lm_save_weights(lm, w, err);
    if (rc == BB_OK) rc = lm_save_optimizer(lm, opt, err);
    if (rc == BB_OK) rc = bb_write_file_atomic(cfg_path, cfg_json, strlen(cfg_json), err);
    if (rc == BB_OK) rc = bb_write_file_atomic(state_path, state, strlen(state), err);
    if (rc == BB_OK)
        rc = bb_stage_dir_commit(&sd, err);
    else
        bb_stage_dir_abort(&sd);
    free(w), free(opt), free(cfg_path), free(state_path), free(cfg_json), free(hash);
    return rc;
}

/* Restores weights, moments and the step; checks config, seed and corpus. */
static int load_checkpoint(lm_model *lm, const lm_config *cfg, const lm_train_opts *o,
                           uint64_t corpus_hash, long *step, bb_error *err) {
    char *dir = bb_path_join(o->out_dir, "checkpoint");
    char *w = bb_path_join(dir, "model.safetensors");
    char *opt = bb_path_join(dir, "optimizer.safetensors");
    char *cfg_path = bb_path_join(dir, "config.json");
    char *state_path = bb_path_join(dir, "state.json");
    char *text = NULL, *hash = hex64(corpus_hash);
    size_t len;
    cJSON *state = NULL;
    lm_config saved = lm_config_default();
    int rc = bb_read_file(cfg_path, &text, &len, err);
    if (rc == BB_OK) rc = lm_config_parse_json(cfg_path, text, &saved, err);
    if (rc == BB_OK) {
        const char *key = lm_config_first_difference(&saved, cfg);
        if (key)
            rc = bb_fail(err,
                         "%s: key '%s' differs from the requested config; resume with the "
                         "checkpoint's config or start a new --out",
                         cfg_path, key);
    }
    free(text);
    text = NULL;
    if (rc == BB_OK) rc = bb_read_file(state_path, &text, &len, err);
    if (rc == BB_OK) {
        state = cJSON_Parse(text);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(state, "step");
        const cJSON *seed = cJSON_GetObjectItemCaseSensitive(state, "seed");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(state, "corpus_hash");
        char *end = NULL;
        uint64_t saved_seed = cJSON_IsString(seed) ? strtoull(seed->valuestring, &end, 10) : 0;
        if (!cJSON_IsNumber(s) || s->valuedouble < 0 || !end || *end || !cJSON_IsString(h))
            rc = bb_fail(err, "%s: expected fields 'step', 'seed' and 'corpus_hash'", state_path);
        else if (saved_seed != o->seed)
            rc = bb_fail(err,
                         "%s: field 'seed': the checkpoint was trained with seed %" PRIu64
                         ", not %" PRIu64,
                         state_path, saved_seed, o->seed);
        else if (strcmp(h->valuestring, hash) != 0)
            rc = bb_fail(err,
                         "%s: field 'corpus_hash': the training text differs from the checkpoint's "
                         "(data or split changed)",
                         state_path);
        else
            *step = (long)s->valuedouble;
    }
    if (rc == BB_OK) rc = lm_load_weights(lm, w, err);
    if (rc == BB_OK) rc = lm_load_optimizer(lm, opt, err);
    if (rc == BB_OK && lm->params->step != *step)
        rc = bb_fail(err, "%s: optimizer step %lld does not match state step %ld", opt,
                     (long long)lm->params->step, *step);
    cJSON_Delete(state);
    free(text), free(hash), free(dir), free(w), free(opt), free(cfg_path), free(state_path);
    return rc;
}

/* ==================================== manifest ====================================== */

static void add_number(cJSON *o, const char *k, double v) {
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static char *manifest_json(const lm_config *cfg, const lm_train_opts *o, const lm_corpus *c,
                           const lm_train_result *r) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "format", "beatbench-lm");
    cJSON_AddNumberToObject(m, "version", 1);
    cJSON_AddStringToObject(m, "code_version", o->code_version ? o->code_version : "unknown");
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, o->seed);
    cJSON_AddStringToObject(m, "seed", seed);
    cJSON_AddNumberToObject(m, "threads", o->threads);
    cJSON_AddStringToObject(m, "data", o->data_dir ? o->data_dir : "");
    cJSON_AddStringToObject(m, "split",
                            o->split_path ? o->split_path : "(default zero-shot split)");
    char *hash = hex64(c->hash);
    cJSON_AddStringToObject(m, "corpus_hash", hash);
    free(hash);
    cJSON_AddNumberToObject(m, "train_texts", (double)c->n_train);
    cJSON_AddNumberToObject(m, "valid_texts", (double)c->n_valid);
    cJSON_AddNumberToObject(m, "leakage_test_only_texts", (double)c->leakage.test_only_texts);
    char *cfg_json = lm_config_to_json(cfg);
    cJSON_AddItemToObject(m, "config", cJSON_Parse(cfg_json));
    free(cfg_json);
    cJSON_AddNumberToObject(m, "vocab", r->vocab);
    cJSON_AddNumberToObject(m, "params", (double)r->params);
    cJSON_AddNumberToObject(m, "steps_done", (double)r->steps_done);
    cJSON_AddNumberToObject(m, "steps_total", (double)r->steps_total);
    cJSON_AddBoolToObject(m, "finished", r->finished);
    cJSON_AddNumberToObject(m, "train_tokens", (double)r->train_tokens);
    cJSON_AddNumberToObject(m, "valid_tokens", (double)r->valid_tokens);
    add_number(m, "train_loss", r->train_loss);
    add_number(m, "valid_loss", r->valid_loss);
    add_number(m, "unigram_entropy", r->unigram_entropy);
    add_number(m, "unigram_valid_ce", r->unigram_valid_ce);
    add_number(m, "seconds", r->seconds);
    add_number(m, "tokens_per_s", r->tokens_per_s);
    char *s = cJSON_Print(m);
    cJSON_Delete(m);
    size_t n = strlen(s);
    s = bb_realloc(s, n + 2);
    s[n] = '\n', s[n + 1] = '\0';
    return s;
}

/* =================================== the loop ======================================= */

typedef struct streams {
    lm_ids train, valid;
    double *unigram_logp;
} streams;

static void streams_free(streams *s) {
    lm_ids_free(&s->train);
    lm_ids_free(&s->valid);
    free(s->unigram_logp);
}

static int setup(const lm_corpus *c, const lm_config *cfg, const lm_train_opts *o, lm_bpe **tok,
                 lm_model **lm, long *start, bb_error *err) {
    char *tok_path = bb_path_join(o->out_dir, "tokenizer.json");
    char *state_path = bb_path_join(o->out_dir, "checkpoint/state.json");
    int resuming = o->resume && bb_path_exists(state_path), rc;
    *start = 0;
    if (resuming) {
        rc = lm_bpe_load(tok_path, tok, err);
    } else {
        rc = lm_bpe_train(c->train, c->train_len, c->n_train, cfg->vocab, cfg->bpe_min_frequency,
                          tok, err);
        if (rc == BB_OK) rc = lm_bpe_save(*tok, tok_path, err);
    }
    if (rc == BB_OK) {
        lm_arch arch = lm_config_arch(cfg, (*tok)->vocab_size);
        rc = lm_arch_check(&arch, err);
        if (rc == BB_OK) {
            *lm = lm_create(&arch, o->seed);
            lm_set_threads(*lm, o->threads);
            if (resuming) rc = load_checkpoint(*lm, cfg, o, c->hash, start, err);
        }
    }
    free(tok_path);
    free(state_path);
    return rc;
}

int lm_pretrain(const lm_corpus *c, const lm_config *cfg, const lm_train_opts *o,
                lm_train_result *res, bb_error *err) {
    memset(res, 0, sizeof *res);
    res->valid_loss = NAN;
    if (lm_config_check(cfg, err) != BB_OK) return BB_ERR;
    if (!c->n_train) return bb_fail(err, "the split leaves no training text for the LM");
    if (bb_mkdir_p(o->out_dir, err) != BB_OK) return BB_ERR;
    lm_bpe *tok = NULL;
    lm_model *lm = NULL;
    streams st = {{0}, {0}, NULL};
    int32_t *ids = NULL, *tg = NULL;
    double *recent = NULL;
    long start = 0;
    int rc = setup(c, cfg, o, &tok, &lm, &start, err);
    if (rc != BB_OK) goto done;

    lm_corpus_stream(tok, c->train, c->train_len, c->n_train, &st.train);
    lm_corpus_stream(tok, c->valid, c->valid_len, c->n_valid, &st.valid);
    int T = cfg->context, B = cfg->batch, V = tok->vocab_size;
    if (st.train.n < (size_t)T + 1) {
        rc = bb_fail(err,
                     "the training text has %zu tokens, fewer than one window of context %d + 1; "
                     "lower 'context'",
                     st.train.n, T);
        goto done;
    }
    st.unigram_logp = bb_malloc((size_t)V * sizeof *st.unigram_logp);
    res->unigram_entropy = lm_unigram(st.train.v, st.train.n, V, st.unigram_logp);
    res->vocab = V;
    res->params = lm_num_params(lm);
    res->train_tokens = (int64_t)st.train.n;
    res->valid_tokens = (int64_t)st.valid.n;
    long total = cfg->steps > 0 ? cfg->steps
                                : (long)ceil(cfg->epochs * (double)st.train.n / ((double)B * T));
    if (total < 1) total = 1;
    res->steps_total = total;
    res->start_step = start;
    long end = o->stop_after > 0 && start + o->stop_after < total ? start + o->stop_after : total;

    ids = bb_malloc((size_t)B * T * sizeof *ids);
    tg = bb_malloc((size_t)B * T * sizeof *tg);
    int window = cfg->eval_every > 0 ? cfg->eval_every : 100;
    recent = bb_calloc((size_t)window, sizeof *recent);
    nn_adam opt = nn_adamw_default((float)cfg->lr, (float)cfg->weight_decay);
    opt.beta1 = (float)cfg->beta1;
    opt.beta2 = (float)cfg->beta2;
    opt.eps = (float)cfg->eps;
    bb_progress prog;
    bb_progress_begin(&prog, "lm pretrain", (uint64_t)total, "step");
    double train_time = 0.0, last_valid = NAN;
    long n_recent = 0;
    for (long step = start; step < end; step++) {
        double t0 = bb_now();
        lm_sample_batch(st.train.v, st.train.n, B, T, o->seed, step, ids, tg);
        lm_input in = {.B = B, .T = T, .ids = ids};
        nn_params_zero_grad(lm->params);
        lm_loss loss = lm_forward_backward(lm, &in, tg, NULL, LM_TRAIN, NULL);
        if (cfg->clip > 0) nn_params_clip_grad_norm(lm->params, cfg->clip);
        opt.lr = (float)lm_config_lr(cfg, step, total);
        lm_adam_step(lm, &opt);
        train_time += bb_now() - t0;
        recent[n_recent++ % window] = loss.mean;
        int last = step + 1 == end;
        if ((cfg->eval_every > 0 && (step + 1) % cfg->eval_every == 0) || last)
            if (st.valid.n > 1)
                last_valid =
                    lm_eval_stream(lm, st.valid.v, st.valid.n, T, B, cfg->eval_windows, NULL, NULL)
                        .mean;
        if ((cfg->checkpoint_every > 0 && (step + 1) % cfg->checkpoint_every == 0) || last) {
            rc = save_checkpoint(lm, cfg, o, c->hash, step + 1, err);
            if (rc != BB_OK) goto done;
        }
        double tps = (double)(step + 1 - start) * B * T / train_time;
        bb_progress_update(&prog, (uint64_t)(step + 1), "loss %.4f valid %.4f lr %.2e %.0f tok/s",
                           loss.mean, last_valid, opt.lr, tps);
    }
    long done_steps = end - start;
    double mean_recent = 0.0;
    long k = n_recent < window ? n_recent : window;
    for (long i = 0; i < k; i++) mean_recent += recent[i];
    res->train_loss = k ? mean_recent / (double)k : NAN;
    res->seconds = train_time;
    res->tokens_per_s = train_time > 0 ? (double)done_steps * B * T / train_time : 0.0;
    res->steps_done = end;
    res->finished = end == total;
    if (st.valid.n > 1)
        res->valid_loss = lm_eval_stream(lm, st.valid.v, st.valid.n, T, B, cfg->eval_windows,
                                         st.unigram_logp, &res->unigram_valid_ce)
                              .mean;
    bb_progress_end(&prog, "loss %.4f valid %.4f (unigram %.4f)", res->train_loss, res->valid_loss,
                    res->unigram_valid_ce);
    {
        lm_config saved = *cfg;
        saved.vocab = V;
        lm_bundle b = {saved, tok, lm};
        char *man = manifest_json(&saved, o, c, res);
        rc = lm_bundle_save(o->out_dir, &b, man, err);
        free(man);
    }
done:
    free(ids);
    free(tg);
    free(recent);
    streams_free(&st);
    lm_free(lm);
    lm_bpe_free(tok);
    return rc;
}
