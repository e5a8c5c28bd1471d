/* lm_generate — KV-cached decoding, sampling and beam search (see lm_generate.h). */
#include "models/lm/lm_generate.h"

#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/lm/lm_kernels.h"
#include "models/lm/lm_pool.h"

/* =================================== KV cache ======================================= */

lm_kv *lm_kv_new(const lm_model *lm, int cap) {
    BB_ASSERT(cap >= 1 && cap <= lm->arch.context, "KV cache of %d positions: need 1..%d", cap,
              lm->arch.context);
    lm_kv *kv = bb_calloc(1, sizeof *kv);
    kv->cap = cap;
    kv->n_layers = lm->arch.n_layers;
    kv->d_model = lm->arch.d_model;
    size_t n = (size_t)kv->n_layers * cap * kv->d_model;
    kv->k = bb_malloc(n * sizeof(float));
    kv->v = bb_malloc(n * sizeof(float));
    return kv;
}

void lm_kv_free(lm_kv *kv) {
    if (!kv) return;
    free(kv->k);
    free(kv->v);
    free(kv->scratch);
    free(kv);
}

void lm_kv_reset(lm_kv *kv) { kv->len = 0; }

void lm_kv_copy(lm_kv *dst, const lm_kv *src) {
    BB_ASSERT(dst->cap == src->cap && dst->n_layers == src->n_layers &&
                  dst->d_model == src->d_model,
              "KV caches of different shapes");
    size_t rows = (size_t)src->len * src->d_model, layer = (size_t)src->cap * src->d_model;
    for (int l = 0; l < src->n_layers; l++) {
        memcpy(dst->k + l * layer, src->k + l * layer, rows * sizeof(float));
        memcpy(dst->v + l * layer, src->v + l * layer, rows * sizeof(float));
    }
    dst->len = src->len;
}

// ids (n) [+ injected rows] -> logits (n,V) or (V); the cache grows by n positions
void lm_kv_append(const lm_model *lm, lm_kv *kv, const int32_t *ids, int n,
                  const int32_t *inject_row, const float *inject_vec, float *logits,
                  int all_logits) {
    const lm_arch *a = &lm->arch;
    int C = a->d_model, C3 = 3 * C, NH = a->n_heads, hs = C / NH, V = a->vocab, cap = kv->cap;
    int past = kv->len, total = past + n;
    BB_ASSERT(n >= 1 && total <= cap, "KV cache holds %d of %d positions, cannot add %d", past, cap,
              n);
    if (n > kv->scratch_rows) {
        free(kv->scratch);
        kv->scratch_rows = n;
        kv->scratch = bb_malloc((size_t)n * (11 * (size_t)C + cap + 2) * sizeof(float));
    }
    float *x = kv->scratch, *ln = x + (size_t)n * C, *qkv = ln + (size_t)n * C;
    float *atty = qkv + (size_t)n * C3, *tmp = atty + (size_t)n * C, *fch = tmp + (size_t)n * C;
    float *att = fch + (size_t)n * 4 * C, *mean = att + (size_t)n * cap, *rstd = mean + n;

    for (int i = 0; i < n; i++) {
        int32_t k = inject_row ? inject_row[i] : -1;
        BB_ASSERT(k >= 0 || (ids[i] >= 0 && ids[i] < V), "token id %d outside [0, %d)", ids[i], V);
        const float *src = k >= 0 ? inject_vec + (size_t)k * C : lm->wte->data + (size_t)ids[i] * C;
        const float *pos = lm->wpe->data + (size_t)(past + i) * C;
        for (int c = 0; c < C; c++) x[(size_t)i * C + c] = src[c] + pos[c];
    }
    float scale = 1.0f / sqrtf((float)hs);
    for (int l = 0; l < a->n_layers; l++) {
        const lm_block_params *b = &lm->blocks[l];
        float *kc = kv->k + (size_t)l * cap * C, *vc = kv->v + (size_t)l * cap * C;
        lm_layernorm_forward(ln, mean, rstd, x, b->ln1_w->data, b->ln1_b->data, n, C);
        lm_matmul_forward(qkv, ln, b->qkv_w->data, b->qkv_b->data, n, C, C3);
        for (int i = 0; i < n; i++) {
            memcpy(kc + (size_t)(past + i) * C, qkv + (size_t)i * C3 + C, C * sizeof(float));
            memcpy(vc + (size_t)(past + i) * C, qkv + (size_t)i * C3 + 2 * C, C * sizeof(float));
        }
        for (int h = 0; h < NH; h++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, total, hs, scale,
                        qkv + (size_t)h * hs, C3, kc + (size_t)h * hs, C, 0.0f, att, cap);
            lm_causal_softmax_rows(att, n, total, cap, past);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hs, total, 1.0f, att, cap,
                        vc + (size_t)h * hs, C, 0.0f, atty + (size_t)h * hs, C);
        }
        lm_matmul_forward(tmp, atty, b->proj_w->data, b->proj_b->data, n, C, C);
        lm_residual_forward(x, x, tmp, (size_t)n * C);
        lm_layernorm_forward(ln, mean, rstd, x, b->ln2_w->data, b->ln2_b->data, n, C);
        lm_matmul_forward(fch, ln, b->fc_w->data, b->fc_b->data, n, C, 4 * C);
        lm_gelu_forward(fch, fch, (size_t)n * 4 * C);
        lm_matmul_forward(tmp, fch, b->fcproj_w->data, b->fcproj_b->data, n, 4 * C, C);
        lm_residual_forward(x, x, tmp, (size_t)n * C);
    }
    kv->len = total;
    if (!logits) return;
    int first = all_logits ? 0 : n - 1, rows = n - first;
    const float *xs = x + (size_t)first * C;
    lm_layernorm_forward(ln, mean, rstd, xs, lm->lnf_w->data, lm->lnf_b->data, rows, C);
    lm_matmul_forward(logits, ln, lm->wte->data, NULL, rows, C, V);
}

/* ==================================== choosing ====================================== */

lm_gen_opts lm_gen_defaults(void) {
    lm_gen_opts o = {.max_new = 128,
                     .temperature = 0.0f,
                     .top_k = 0,
                     .top_p = 1.0f,
                     .beam = 1,
                     .length_penalty = 1.0f,
                     .seed = 0};
    return o;
}

static void ban_specials(const lm_bpe *tok, float *logits) {
    int32_t eos = lm_bpe_special(tok, LM_EOS);
    for (int32_t id = 256 + tok->n_merges; id < tok->vocab_size; id++)
        if (id != eos) logits[id] = -INFINITY;
}

static int32_t argmax(const float *x, int V) {
    int32_t best = 0;
    for (int32_t j = 1; j < V; j++)
        if (x[j] > x[best]) best = j;
    return best;
}

typedef struct cand {
    double p;
    int32_t id;
} cand;

/* Most probable first; equal probabilities by the lower id, so the order is total. */
static int cand_cmp(const void *x, const void *y) {
    const cand *a = x, *b = y;
    if (a->p != b->p) return a->p < b->p ? 1 : -1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Temperature, then top-k, then top-p over the sorted distribution; one uniform draw. */
static int32_t sample(const float *logits, int V, const lm_gen_opts *o, cand *buf, bb_rng *rng) {
    double mx = -INFINITY;
    for (int j = 0; j < V; j++) mx = logits[j] > mx ? logits[j] : mx;
    double sum = 0.0;
    for (int j = 0; j < V; j++) {
        buf[j].id = j;
        buf[j].p = exp(((double)logits[j] - mx) / o->temperature);
        sum += buf[j].p;
    }
    qsort(buf, (size_t)V, sizeof *buf, cand_cmp);
    int keep = o->top_k > 0 && o->top_k < V ? o->top_k : V;
    if (o->top_p < 1.0f) {
        double mass = 0.0;
        for (int j = 0; j < keep; j++) {
            mass += buf[j].p / sum;
            if (mass >= o->top_p) {
                keep = j + 1;
                break;
            }
        }
    }
    double kept = 0.0;
    for (int j = 0; j < keep; j++) kept += buf[j].p;
    double u = bb_rng_uniform(rng) * kept, acc = 0.0;
    for (int j = 0; j < keep; j++) {
        acc += buf[j].p;
        if (u < acc) return buf[j].id;
    }
    return buf[keep - 1].id;
}

/* ================================ one prompt, greedy/sampled ======================== */

typedef struct gen_ws {
    lm_kv **kv; /* beam (or 1) caches, and as many for reordering */
    lm_kv **kv_next;
    float *logits; /* (beam, V) */
    cand *cands;   /* max(V, beam * 2 * beam) */
    int32_t *inject_row;
    int beam;
} gen_ws;

static void prefill(lm_model *lm, lm_kv *kv, const lm_prompt *p, int32_t *inject_row,
                    float *logits) {
    for (int i = 0; i < p->n; i++) inject_row[i] = -1;
    for (int k = 0; k < p->n_inject; k++) inject_row[p->inject_pos[k]] = k;
    lm_kv_reset(kv);
    lm_kv_append(lm, kv, p->ids, p->n, p->n_inject ? inject_row : NULL, p->inject_vec, logits, 0);
}

static void generate_simple(lm_model *lm, const lm_bpe *tok, const lm_prompt *p,
                            const lm_gen_opts *o, uint64_t index, gen_ws *ws, lm_ids *out) {
    int V = lm->arch.vocab;
    int32_t eos = lm_bpe_special(tok, LM_EOS);
    bb_rng rng;
    bb_rng_seed_indexed(&rng, o->seed, "lm/sample", index);
    lm_kv *kv = ws->kv[0];
    prefill(lm, kv, p, ws->inject_row, ws->logits);
    for (int step = 0; step < o->max_new; step++) {
        ban_specials(tok, ws->logits);
        int32_t next = o->temperature > 0.0f ? sample(ws->logits, V, o, ws->cands, &rng)
                                             : argmax(ws->logits, V);
        if (next == eos) break;
        lm_ids_push(out, next);
        if (kv->len >= kv->cap || step + 1 == o->max_new) break;
        lm_kv_append(lm, kv, &next, 1, NULL, NULL, ws->logits, 0);
    }
}

/* ==================================== beam search =================================== */

typedef struct hyp {
    int32_t *tokens; /* max_new */
    int len;
    double score; /* summed log-probabilities */
} hyp;

typedef struct beam_cand {
    double total;
    int beam;
    int32_t id;
} beam_cand;

static int beam_cand_cmp(const void *x, const void *y) {
    const beam_cand *a = x, *b = y;
    if (a->total != b->total) return a->total < b->total ? 1 : -1;
    if (a->beam != b->beam) return a->beam - b->beam;
    return a->id < b->id ? -1 : a->id > b->id;
}

static double normalised(double score, int len, float penalty) {
    return score / pow((double)(len > 0 ? len : 1), (double)penalty);
}

static void generate_beam(lm_model *lm, const lm_bpe *tok, const lm_prompt *p, const lm_gen_opts *o,
                          gen_ws *ws, lm_ids *out) {
    int V = lm->arch.vocab, W = o->beam, max_new = o->max_new;
    int32_t eos = lm_bpe_special(tok, LM_EOS);
    hyp *cur = bb_calloc((size_t)W, sizeof *cur), *nxt = bb_calloc((size_t)W, sizeof *nxt);
    hyp best = {bb_malloc((size_t)max_new * sizeof(int32_t)), -1, 0.0};
    double best_norm = -INFINITY;
    for (int b = 0; b < W; b++) {
        cur[b].tokens = bb_malloc((size_t)max_new * sizeof(int32_t));
        nxt[b].tokens = bb_malloc((size_t)max_new * sizeof(int32_t));
    }
    int n_cur = 1, n_finished = 0;
    prefill(lm, ws->kv[0], p, ws->inject_row, ws->logits);
    beam_cand *cands = bb_malloc((size_t)W * 2 * W * sizeof *cands);
    double *lp = bb_malloc((size_t)V * sizeof *lp);
    for (int step = 0; step < max_new && n_cur > 0; step++) {
        int n_c = 0;
        for (int b = 0; b < n_cur; b++) {
            float *lg = ws->logits + (size_t)b * V;
            ban_specials(tok, lg);
            double mx = -INFINITY, sum = 0.0;
            for (int j = 0; j < V; j++) mx = lg[j] > mx ? lg[j] : mx;
            for (int j = 0; j < V; j++) sum += exp((double)lg[j] - mx);
            double lse = mx + log(sum);
            for (int j = 0; j < V; j++) lp[j] = (double)lg[j] - lse;
            /* The 2W best continuations of this beam (enough to fill W after <eos>s). */
            for (int r = 0; r < 2 * W && r < V; r++) {
                int32_t arg = -1;
                for (int32_t j = 0; j < V; j++)
                    if (lp[j] > -INFINITY && (arg < 0 || lp[j] > lp[arg])) arg = j;
                if (arg < 0) break;
                cands[n_c++] = (beam_cand){cur[b].score + lp[arg], b, arg};
                lp[arg] = -INFINITY;
            }
        }
        qsort(cands, (size_t)n_c, sizeof *cands, beam_cand_cmp);
        int n_next = 0;
        int last_step = step + 1 == max_new || ws->kv[0]->len >= ws->kv[0]->cap;
        for (int c = 0; c < n_c && n_next < W; c++) {
            const hyp *parent = &cur[cands[c].beam];
            if (cands[c].id == eos || last_step) {
                /* Scored tokens: the parent's plus this one (<eos> included). */
                int len = parent->len + (cands[c].id == eos ? 0 : 1);
                double norm = normalised(cands[c].total, parent->len + 1, o->length_penalty);
                if (norm > best_norm) {
                    best_norm = norm;
                    memcpy(best.tokens, parent->tokens, (size_t)parent->len * sizeof(int32_t));
                    if (cands[c].id != eos) best.tokens[parent->len] = cands[c].id;
                    best.len = len;
                }
                n_finished++;
                continue;
            }
            hyp *h = &nxt[n_next];
            memcpy(h->tokens, parent->tokens, (size_t)parent->len * sizeof(int32_t));
            h->tokens[parent->len] = cands[c].id;
            h->len = parent->len + 1;
            h->score = cands[c].total;
            lm_kv_copy(ws->kv_next[n_next], ws->kv[cands[c].beam]);
            n_next++;
        }
        /* Stop once W hypotheses have finished and none alive can still beat the best: with
         * log-probs <= 0 an alive score only falls (for length_penalty 0 exactly; a common
         * and deterministic approximation otherwise). */
        if (n_finished >= W &&
            (n_next == 0 || normalised(nxt[0].score, nxt[0].len, o->length_penalty) <= best_norm))
            break;
        for (int b = 0; b < n_next; b++) {
            lm_kv *t = ws->kv[b];
            ws->kv[b] = ws->kv_next[b];
            ws->kv_next[b] = t;
            lm_kv_append(lm, ws->kv[b], &nxt[b].tokens[nxt[b].len - 1], 1, NULL, NULL,
                         ws->logits + (size_t)b * V, 0);
        }
        hyp *t = cur;
        cur = nxt;
        nxt = t;
        n_cur = n_next;
    }
    for (int i = 0; i < best.len; i++) lm_ids_push(out, best.tokens[i]);
    for (int b = 0; b < W; b++) {
        free(cur[b].tokens);
        free(nxt[b].tokens);
    }
    free(cur);
    free(nxt);
    free(best.tokens);
    free(cands);
    free(lp);
}

/* ====================================== batch ======================================= */

typedef struct gen_ctx {
    lm_model *lm;
    const lm_bpe *tok;
    const lm_prompt *prompts;
    int n;
    const lm_gen_opts *opts;
    lm_ids *outs;
    atomic_int next; /* dynamic assignment: each prompt is decoded by one thread alone */
} gen_ctx;

static void gen_thread(void *arg, int tid, int n_threads) {
    (void)tid;
    (void)n_threads;
    gen_ctx *g = arg;
    const lm_arch *a = &g->lm->arch;
    int W = g->opts->beam > 1 ? g->opts->beam : 1;
    int max_prompt = 1;
    for (int i = 0; i < g->n; i++)
        max_prompt = g->prompts[i].n > max_prompt ? g->prompts[i].n : max_prompt;
    int cap =
        max_prompt + g->opts->max_new < a->context ? max_prompt + g->opts->max_new : a->context;
    gen_ws ws = {.beam = W};
    ws.kv = bb_malloc((size_t)W * sizeof *ws.kv);
    ws.kv_next = bb_malloc((size_t)W * sizeof *ws.kv_next);
    for (int b = 0; b < W; b++) {
        ws.kv[b] = lm_kv_new(g->lm, cap);
        ws.kv_next[b] = W > 1 ? lm_kv_new(g->lm, cap) : NULL;
    }
    ws.logits = bb_malloc((size_t)W * a->vocab * sizeof(float));
    ws.cands = bb_malloc((size_t)a->vocab * sizeof *ws.cands);
    ws.inject_row = bb_malloc((size_t)max_prompt * sizeof(int32_t));
    for (int i; (i = atomic_fetch_add(&g->next, 1)) < g->n;) {
        if (W > 1)
            generate_beam(g->lm, g->tok, &g->prompts[i], g->opts, &ws, &g->outs[i]);
        else
            generate_simple(g->lm, g->tok, &g->prompts[i], g->opts, (uint64_t)i, &ws, &g->outs[i]);
    }
    for (int b = 0; b < W; b++) {
        lm_kv_free(ws.kv[b]);
        lm_kv_free(ws.kv_next[b]);
    }
    free(ws.kv);
    free(ws.kv_next);
    free(ws.logits);
    free(ws.cands);
    free(ws.inject_row);
}

int lm_generate_batch(lm_model *lm, const lm_bpe *tok, const lm_prompt *prompts, int n,
                      const lm_gen_opts *opts, lm_ids *outs, bb_error *err) {
    if (tok->vocab_size != lm->arch.vocab)
        return bb_fail(err, "tokenizer has %d tokens but the model %d", tok->vocab_size,
                       lm->arch.vocab);
    if (opts->max_new < 1) return bb_fail(err, "max_new must be at least 1, got %d", opts->max_new);
    if (opts->beam < 1 || opts->beam > 64)
        return bb_fail(err, "beam must be in [1, 64], got %d", opts->beam);
    if (opts->temperature < 0 || opts->top_k < 0 || !(opts->top_p > 0 && opts->top_p <= 1))
        return bb_fail(err, "need temperature >= 0, top_k >= 0 and top_p in (0, 1]");
    for (int i = 0; i < n; i++) {
        const lm_prompt *p = &prompts[i];
        if (p->n < 1 || p->n >= lm->arch.context)
            return bb_fail(err, "prompt %d has %d tokens; need 1 to %d (context %d)", i, p->n,
                           lm->arch.context - 1, lm->arch.context);
        for (int k = 0; k < p->n_inject; k++)
            if (p->inject_pos[k] < 0 || p->inject_pos[k] >= p->n)
                return bb_fail(err, "prompt %d: injected position %d outside [0, %d)", i,
                               p->inject_pos[k], p->n);
    }
    gen_ctx g = {.lm = lm, .tok = tok, .prompts = prompts, .n = n, .opts = opts, .outs = outs};
    atomic_init(&g.next, 0);
    lm_pool_run(lm_model_pool(lm), gen_thread, &g);
    return BB_OK;
}

int lm_generate(lm_model *lm, const lm_bpe *tok, const lm_prompt *prompt, const lm_gen_opts *opts,
                lm_ids *out, bb_error *err) {
    return lm_generate_batch(lm, tok, prompt, 1, opts, out, err);
}
