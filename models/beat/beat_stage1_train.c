/* beat_stage1_train — BEAT stage 1's epoch loop (shuffle, uniform negatives, batches), Adam,
 * the encoding of every entity, and the FLOP count for benchmarks. See beat_stage1.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/base/bb_io.h"
#include "models/base/bb_progress.h"
#include "models/base/bb_rng.h"
#include "models/base/bb_time.h"
#include "models/beat/beat_stage1.h"
#include "models/beat/beat_stage1_internal.h"

/* ------------------------------------------------------------------------------------------
 * Adam: torch.optim.Adam through nn's kernel (the bits of nn_adam_step), the parameter
 * block split into fixed contiguous parts across the pool. */

nn_adam_consts beat_adam_begin(beat_model *m) {
    const nn_adam opt = nn_adam_default((float)m->cfg.lr);
    return nn_adam_consts_at(&opt, ++m->params->step);
}

typedef struct adam_job {
    nn_params *ps;
    const nn_adam_consts *a;
    int64_t lo, hi;
} adam_job;

static void adam_worker(void *ctx, int t, int n_parts) {
    const adam_job *j = ctx;
    long long lo, hi;
    bb_pool_split((long long)(j->hi - j->lo), t, n_parts, &lo, &hi);
    const int64_t at = j->lo + (int64_t)lo;
    nn_adam_apply(j->a, j->ps->data + at, j->ps->m + at, j->ps->v + at, j->ps->grad + at,
                  (size_t)(hi - lo));
}

void beat_adam_block(beat_model *m, const nn_adam_consts *a, int64_t lo, int64_t hi) {
    adam_job j = {m->params, a, lo, hi};
    bb_pool_run(m->pool, adam_worker, &j);
}

void beat_step_update(beat_model *m) {
    const nn_adam_consts a = beat_adam_begin(m);
    beat_adam_block(m, &a, 0, m->params->total);
}

/* ------------------------------------------------------------------------------------------
 * Phase clock */

static const char *const phase_names[BEAT_N_PHASES] = {
    "graph forward", "tokens forward", "reconstruction", "supervision", "tokens backward",
    "graph backward", "adam"};

const char *beat_phase_name(int phase) {
    BB_ASSERT(phase >= 0 && phase < BEAT_N_PHASES, "beat_phase_name: %d", phase);
    return phase_names[phase];
}

static double clock_seconds(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void beat_clock_start(beat_clock *c) {
    c->wall = bb_now();
    c->cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    c->main_cpu = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
}

void beat_clock_lap(beat_clock *c, beat_phase_times *t, int ph) {
    beat_clock now;
    beat_clock_start(&now);
    t->wall[ph] += now.wall - c->wall;
    t->cpu[ph] += now.cpu - c->cpu;
    t->main_cpu[ph] += now.main_cpu - c->main_cpu;
    *c = now;
}

/* ------------------------------------------------------------------------------------------
 * Epochs */

static void add_losses(beat_losses *acc, const beat_losses *l) {
    acc->total += l->total, acc->vq += l->vq, acc->orth += l->orth, acc->rec += l->rec;
    acc->macro += l->macro, acc->micro += l->micro;
    acc->macro_pairs += l->macro_pairs, acc->micro_entities += l->micro_entities;
    acc->users += l->users, acc->items += l->items;
}

beat_losses beat_train_epoch(beat_model *m, int epoch, const char *label) {
    beat_work *w = m->w;
    const int64_t n = (int64_t)m->n_train, B = m->cfg.batch;
    for (int64_t k = 0; k < n; k++) m->perm[k] = (int32_t)k;
    bb_rng shuffle, neg;
    bb_rng_seed_indexed(&shuffle, m->seed, "beat/shuffle", (uint64_t)epoch);
    bb_rng_seed_indexed(&neg, m->seed, "beat/negatives", (uint64_t)epoch);
    bb_rng_shuffle_i32(&shuffle, m->perm, (size_t)n);
    const int64_t n_batches = (n + B - 1) / B;
    beat_losses acc;
    memset(&acc, 0, sizeof acc);
    bb_progress pr;
    bb_progress_begin(&pr, label ? label : "beat epoch", (uint64_t)n_batches, "batch");
    for (int64_t bi = 0; bi < n_batches; bi++) {
        const int64_t lo = bi * B, np = (lo + B <= n ? B : n - lo);
        for (int64_t k = 0; k < np; k++) {
            const int32_t p = m->perm[lo + k], u = m->train_u[p];
            int32_t j;
            do /* uniform among the items the user has no training pair with */
                j = (int32_t)bb_rng_below(&neg, (uint64_t)m->n_items);
            while (bb_rank_lists_contains(m->train_lists, u, j));
            w->bu[k] = u, w->bi[k] = m->train_i[p], w->blabel[k] = 1.0f, w->btrain[k] = p;
            w->bu[np + k] = u, w->bi[np + k] = j, w->blabel[np + k] = 0.0f;
        }
        beat_batch bt = {np, w->bu, w->bi, w->blabel, w->btrain, m->steps + 1};
        beat_losses l = beat_step_train(m, &bt);
        m->steps++;
        m->flops += beat_step_flops(m, l.users, l.items);
        add_losses(&acc, &l);
        bb_progress_update(&pr, (uint64_t)(bi + 1), "loss %.4f", l.total);
    }
    const double inv = 1.0 / (double)n_batches;
    acc.total *= inv, acc.vq *= inv, acc.orth *= inv, acc.rec *= inv, acc.macro *= inv;
    acc.micro *= inv;
    bb_progress_end(&pr, "loss %.4f (vq %.4f orth %.4f rec %.4f macro %.4f micro %.4f)",
                    acc.total, acc.vq, acc.orth, acc.rec, acc.macro, acc.micro);
    return acc;
}

/* ------------------------------------------------------------------------------------------
 * Encoding every entity */

void beat_encode_all(beat_model *m, float *rec[2], int32_t *tokens[2]) {
    beat_work *w = m->w;
    const int T = m->T;
    const size_t W = (size_t)T * (size_t)m->d;
    const size_t chunk = (size_t)m->n_nodes * (size_t)m->t;
    for (int k = 0; k < T; k++) lgcn_propagate(&m->plan, m->ego->data + k * chunk, w->F + k * chunk, 0);
    for (int s = 0; s < 2; s++) {
        beat_side_buf *b = &w->s[s];
        const beat_side *sd = &m->side[s];
        const int macro = sd->codebook[BEAT_MACRO] != NULL, micro = sd->codebook[BEAT_MICRO] != NULL;
        for (int32_t c0 = 0; c0 < sd->n; c0 += (int32_t)b->cap) {
            const int64_t n = sd->n - c0 < b->cap ? sd->n - c0 : b->cap;
            b->n = n;
            for (int64_t e = 0; e < n; e++) b->ent[e] = c0 + (int32_t)e;
            beat_side_forward(m, s, NULL);
            if (rec && rec[s])
                memcpy(rec[s] + (size_t)c0 * W, b->rec, (size_t)n * W * sizeof(float));
            if (tokens && tokens[s])
                for (int64_t e = 0; e < n; e++) {
                    int32_t *row = tokens[s] + ((size_t)c0 + (size_t)e) * (size_t)(1 + T);
                    row[0] = macro ? b->imac[e] : -1;
                    for (int k = 0; k < T; k++) row[1 + k] = micro ? b->imic[e * T + k] : -1;
                }
        }
        b->n = 0;
    }
}

double beat_step_flops(const beat_model *m, int64_t users, int64_t items) {
    double total = 0.0;
    const double D = m->D, d = m->d, T = m->T, t = m->t, K = m->K;
    for (int s = 0; s < 2; s++) {
        const double n = s == BEAT_USER ? (double)users : (double)items;
        const beat_side *sd = &m->side[s];
        if (sd->map[BEAT_MACRO]) total += 6.0 * n * D * d; /* forward + two backward products */
        if (sd->map[BEAT_MICRO]) total += 6.0 * n * T * t * d;
        if (sd->codebook[BEAT_MACRO]) total += 2.0 * n * K * d; /* codeword search */
        if (sd->codebook[BEAT_MICRO]) /* folded into the chunk maps when t < d */
            total += 2.0 * n * T * K * (t < d ? t : d) + (t < d ? 2.0 * T * K * t * d : 0.0);
    }
    return total;
}
