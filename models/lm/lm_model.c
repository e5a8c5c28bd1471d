/* lm_model — parameters, forward and backward of the decoder (see lm_model.h).
 *
 * The forward stores every activation the backward needs, per layer (llm.c's layout);
 * inference-only calls reuse one layer's buffers for all layers. The backward walks the
 * layers in reverse with one set of gradient buffers. Kernels are in lm_kernels.c.
 */
#include "models/lm/lm_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/lm/lm_kernels.h"
#include "models/lm/lm_pool.h"

/* ==================================== weights ======================================= */

/* Float views of every parameter inside one flat block (values or a gradient block). */
typedef struct block_w {
    float *ln1_w, *ln1_b, *qkv_w, *qkv_b, *proj_w, *proj_b;
    float *ln2_w, *ln2_b, *fc_w, *fc_b, *fcproj_w, *fcproj_b;
} block_w;

typedef struct model_w {
    float *wte, *wpe, *lnf_w, *lnf_b;
    block_w *blocks; /* n_layers entries, owned by the caller's storage */
} model_w;

static float *view_of(const lm_model *lm, const nn_tensor *t, float *base) {
    if (!base) return NULL;
    return base + (t->data - lm->params->data);
}

static void weights_view(const lm_model *lm, float *base, model_w *w) {
    w->wte = view_of(lm, lm->wte, base);
    w->wpe = view_of(lm, lm->wpe, base);
    w->lnf_w = view_of(lm, lm->lnf_w, base);
    w->lnf_b = view_of(lm, lm->lnf_b, base);
    for (int l = 0; l < lm->arch.n_layers; l++) {
        const lm_block_params *p = &lm->blocks[l];
        block_w *b = &w->blocks[l];
        b->ln1_w = view_of(lm, p->ln1_w, base);
        b->ln1_b = view_of(lm, p->ln1_b, base);
        b->qkv_w = view_of(lm, p->qkv_w, base);
        b->qkv_b = view_of(lm, p->qkv_b, base);
        b->proj_w = view_of(lm, p->proj_w, base);
        b->proj_b = view_of(lm, p->proj_b, base);
        b->ln2_w = view_of(lm, p->ln2_w, base);
        b->ln2_b = view_of(lm, p->ln2_b, base);
        b->fc_w = view_of(lm, p->fc_w, base);
        b->fc_b = view_of(lm, p->fc_b, base);
        b->fcproj_w = view_of(lm, p->fcproj_w, base);
        b->fcproj_b = view_of(lm, p->fcproj_b, base);
    }
}

/* =================================== workspaces ===================================== */

typedef struct layer_acts {
    float *ln1, *ln1_mean, *ln1_rstd, *qkv, *att, *atty, *res2;
    float *ln2, *ln2_mean, *ln2_rstd, *fch, *fch_gelu, *res3;
} layer_acts;

typedef struct grad_acts {
    float *dres, *dln, *dqkv, *datty, *dfch, *dfch_gelu, *scratch;
} grad_acts;

/* One thread's memory: grown on demand, never shrunk. */
typedef struct thread_ws {
    float *fwd;
    size_t fwd_cap;
    float *bwd;
    size_t bwd_cap;
    float *head; /* gathered rows, logits, their gradients */
    size_t head_cap;
    int32_t *rows; /* gathered row indices and targets */
    size_t rows_cap;
    float *grad; /* private gradient block (threads >= 1, training only) */
    layer_acts *layers;
    block_w *wblocks, *gblocks;
    double loss_sum;
    int64_t count;
} thread_ws;

typedef struct lm_runtime {
    lm_pool *pool;
    int n_threads;
    /* Positions per chunk: at d_model 256, 512 to 2048 rows run equally fast (CPU time per
     * token within 2%, lm bench); 512 keeps the activation memory lowest. */
    int chunk_rows;
    thread_ws *ws;
} lm_runtime;

static float *grow(float *p, size_t *cap, size_t need) {
    if (need <= *cap) return p;
    free(p);
    *cap = need;
    return bb_malloc(need * sizeof(float));
}

/* Carves the forward activations for (B, T) out of ws->fwd. With per_layer = 0 all layers
 * share one set (inference). */
static void layout_forward(thread_ws *ws, const lm_arch *a, int B, int T, int per_layer, float **x0,
                           float **lnf, float **lnf_mean, float **lnf_rstd, float **tmp) {
    size_t N = (size_t)B * T, C = (size_t)a->d_model, NH = (size_t)a->n_heads;
    size_t per = N * C * 16 + N * 4 + (size_t)B * NH * T * T;
    int n_sets = per_layer ? a->n_layers : 1;
    size_t need = N * C * 3 + N * 2 + per * (size_t)n_sets;
    ws->fwd = grow(ws->fwd, &ws->fwd_cap, need);
    float *p = ws->fwd;
    *x0 = p, p += N * C;
    *lnf = p, p += N * C;
    *lnf_mean = p, p += N;
    *lnf_rstd = p, p += N;
    *tmp = p, p += N * C;
    for (int l = 0; l < a->n_layers; l++) {
        layer_acts *la = &ws->layers[l];
        if (l >= n_sets) {
            *la = ws->layers[0];
            continue;
        }
        la->ln1 = p, p += N * C;
        la->ln1_mean = p, p += N;
        la->ln1_rstd = p, p += N;
        la->qkv = p, p += 3 * N * C;
        la->att = p, p += (size_t)B * NH * T * T;
        la->atty = p, p += N * C;
        la->res2 = p, p += N * C;
        la->ln2 = p, p += N * C;
        la->ln2_mean = p, p += N;
        la->ln2_rstd = p, p += N;
        la->fch = p, p += 4 * N * C;
        la->fch_gelu = p, p += 4 * N * C;
        la->res3 = p, p += N * C;
    }
}

static void layout_backward(thread_ws *ws, const lm_arch *a, int B, int T, grad_acts *g) {
    size_t N = (size_t)B * T, C = (size_t)a->d_model;
    size_t need = N * C * 14 + (size_t)T * T;
    ws->bwd = grow(ws->bwd, &ws->bwd_cap, need);
    float *p = ws->bwd;
    g->dres = p, p += N * C;
    g->dln = p, p += N * C;
    g->dqkv = p, p += 3 * N * C;
    g->datty = p, p += N * C;
    g->dfch = p, p += 4 * N * C;
    g->dfch_gelu = p, p += 4 * N * C;
    g->scratch = p;
}

/* ==================================== creation ====================================== */

int lm_arch_check(const lm_arch *a, bb_error *err) {
    if (a->vocab < 2 || a->vocab > (1 << 24))
        return bb_fail(err, "LM field 'vocab': expected an integer in [2, 16777216], got %d",
                       a->vocab);
    if (a->context < 1 || a->context > 65536)
        return bb_fail(err, "LM field 'context': expected an integer in [1, 65536], got %d",
                       a->context);
    if (a->d_model < 1 || a->n_layers < 1 || a->n_heads < 1)
        return bb_fail(err, "LM fields 'd_model', 'n_layers', 'n_heads' must be positive");
    if (a->d_model % a->n_heads != 0)
        return bb_fail(err, "LM field 'n_heads': %d does not divide d_model %d", a->n_heads,
                       a->d_model);
    return BB_OK;
}

lm_model *lm_create(const lm_arch *arch, uint64_t seed) {
    bb_error err;
    BB_ASSERT(lm_arch_check(arch, &err) == BB_OK, "%s", err.msg);
    lm_model *lm = bb_calloc(1, sizeof *lm);
    lm->arch = *arch;
    int64_t C = arch->d_model, L = arch->n_layers;
    nn_params *ps = lm->params = nn_params_new();
    lm->wte = nn_params_add2(ps, "wte", arch->vocab, C);
    lm->wpe = nn_params_add2(ps, "wpe", arch->context, C);
    lm->blocks = bb_calloc((size_t)L, sizeof *lm->blocks);
    for (int l = 0; l < L; l++) {
        lm_block_params *b = &lm->blocks[l];
        char name[64];
#define ADD1(field, suffix, n)                                                                     \
    (snprintf(name, sizeof name, "h.%d.%s", l, suffix), b->field = nn_params_add1(ps, name, n))
#define ADD2(field, suffix, r, c)                                                                  \
    (snprintf(name, sizeof name, "h.%d.%s", l, suffix), b->field = nn_params_add2(ps, name, r, c))
        ADD1(ln1_w, "ln_1.weight", C);
        ADD1(ln1_b, "ln_1.bias", C);
        ADD2(qkv_w, "attn.qkv.weight", 3 * C, C);
        ADD1(qkv_b, "attn.qkv.bias", 3 * C);
        ADD2(proj_w, "attn.proj.weight", C, C);
        ADD1(proj_b, "attn.proj.bias", C);
        ADD1(ln2_w, "ln_2.weight", C);
        ADD1(ln2_b, "ln_2.bias", C);
        ADD2(fc_w, "mlp.fc.weight", 4 * C, C);
        ADD1(fc_b, "mlp.fc.bias", 4 * C);
        ADD2(fcproj_w, "mlp.proj.weight", C, 4 * C);
        ADD1(fcproj_b, "mlp.proj.bias", C);
#undef ADD1
#undef ADD2
    }
    lm->lnf_w = nn_params_add1(ps, "ln_f.weight", C);
    lm->lnf_b = nn_params_add1(ps, "ln_f.bias", C);
    nn_params_finalize(ps);

    /* GPT-2 initialisation (Radford et al. 2019, §2.3): residual projections scaled by
     * 1/sqrt(N) with N = 2L residual additions. */
    bb_rng rng;
    bb_rng_seed(&rng, seed, "lm/init");
    float std = 0.02f, std_res = 0.02f / sqrtf(2.0f * (float)L);
    nn_init_normal(lm->wte, &rng, 0.0f, std);
    nn_init_normal(lm->wpe, &rng, 0.0f, std);
    for (int l = 0; l < L; l++) {
        lm_block_params *b = &lm->blocks[l];
        nn_init_constant(b->ln1_w, 1.0f);
        nn_init_constant(b->ln2_w, 1.0f);
        nn_init_normal(b->qkv_w, &rng, 0.0f, std);
        nn_init_normal(b->proj_w, &rng, 0.0f, std_res);
        nn_init_normal(b->fc_w, &rng, 0.0f, std);
        nn_init_normal(b->fcproj_w, &rng, 0.0f, std_res);
    }
    nn_init_constant(lm->lnf_w, 1.0f);
    lm_set_threads(lm, 1);
    return lm;
}

static void runtime_free(lm_model *lm) {
    lm_runtime *rt = lm->rt;
    if (!rt) return;
    for (int t = 0; t < rt->n_threads; t++) {
        thread_ws *ws = &rt->ws[t];
        free(ws->fwd);
        free(ws->bwd);
        free(ws->head);
        free(ws->rows);
        free(ws->grad);
        free(ws->layers);
        free(ws->wblocks);
        free(ws->gblocks);
    }
    free(rt->ws);
    lm_pool_free(rt->pool);
    free(rt);
    lm->rt = NULL;
}

void lm_set_threads(lm_model *lm, int n_threads) {
    if (n_threads < 1) n_threads = 1;
    if (lm->rt && lm->rt->n_threads == n_threads) return;
    runtime_free(lm);
    lm_runtime *rt = lm->rt = bb_calloc(1, sizeof *rt);
    rt->n_threads = n_threads;
    rt->chunk_rows = LM_CHUNK_ROWS;
    rt->pool = lm_pool_new(n_threads);
    rt->ws = bb_calloc((size_t)n_threads, sizeof *rt->ws);
    for (int t = 0; t < n_threads; t++) {
        thread_ws *ws = &rt->ws[t];
        size_t L = (size_t)lm->arch.n_layers;
        ws->layers = bb_calloc(L, sizeof *ws->layers);
        ws->wblocks = bb_calloc(L, sizeof *ws->wblocks);
        ws->gblocks = bb_calloc(L, sizeof *ws->gblocks);
    }
}

int lm_get_threads(const lm_model *lm) { return lm->rt->n_threads; }

lm_pool *lm_model_pool(lm_model *lm) { return lm->rt->pool; }

void lm_set_chunk_rows(lm_model *lm, int rows) { lm->rt->chunk_rows = rows < 1 ? 1 : rows; }

int64_t lm_num_params(const lm_model *lm) { return lm->params->total; }

void lm_free(lm_model *lm) {
    if (!lm) return;
    runtime_free(lm);
    nn_params_free(lm->params);
    free(lm->blocks);
    free(lm);
}

/* ================================ forward / backward ================================ */

enum { WANT_HIDDEN, WANT_LOGITS, WANT_LOSS, WANT_GRAD };

typedef struct run_ctx {
    lm_model *lm;
    const lm_input *in;
    const int32_t *inject_row; /* (B*T): -1 or the injected vector's index */
    const int32_t *targets;
    const uint8_t *mask;
    int want, frozen;
    float dscale; /* 1 / counted positions */
    float *inject_grad;
    int layer;  /* WANT_HIDDEN: which hidden state */
    float *out; /* WANT_HIDDEN (B,T,C) or WANT_LOGITS (B,T,V) */
} run_ctx;

static int counted(const run_ctx *rc, size_t p) {
    return rc->targets[p] != LM_IGNORE && (!rc->mask || rc->mask[p]);
}

/* One chunk of whole sequences [b0, b0 + B) through the model, on thread tid's workspace. */
static void run_chunk(run_ctx *rc, thread_ws *ws, int tid, long b0, int B) {
    lm_model *lm = rc->lm;
    const lm_arch *a = &lm->arch;
    int T = rc->in->T, C = a->d_model, V = a->vocab, NH = a->n_heads, L = a->n_layers;
    int backward = rc->want == WANT_GRAD;
    size_t N = (size_t)B * T, row0 = (size_t)b0 * T;
    const int32_t *ids = rc->in->ids + row0;
    const int32_t *inject_row = rc->inject_row ? rc->inject_row + row0 : NULL;

    model_w W = {.blocks = ws->wblocks}, G = {.blocks = ws->gblocks};
    weights_view(lm, lm->params->data, &W);
    float *gbase = rc->frozen || !backward ? NULL : tid == 0 ? lm->params->grad : ws->grad;
    weights_view(lm, gbase, &G);

    float *x0, *lnf, *lnf_mean, *lnf_rstd, *tmp;
    layout_forward(ws, a, B, T, backward, &x0, &lnf, &lnf_mean, &lnf_rstd, &tmp);
    float *hidden_out = rc->want == WANT_HIDDEN ? rc->out + row0 * C : NULL;

    lm_embed_forward(x0, ids, inject_row, rc->in->inject_vec, W.wte, W.wpe, B, T, C);
    if (hidden_out && rc->layer == 0) {
        memcpy(hidden_out, x0, N * C * sizeof(float));
        return;
    }
    const float *res = x0;
    for (int l = 0; l < L; l++) {
        layer_acts *la = &ws->layers[l];
        const block_w *w = &W.blocks[l];
        lm_layernorm_forward(la->ln1, la->ln1_mean, la->ln1_rstd, res, w->ln1_w, w->ln1_b, (int)N,
                             C);
        lm_matmul_forward(la->qkv, la->ln1, w->qkv_w, w->qkv_b, (int)N, C, 3 * C);
        lm_attention_forward(la->atty, la->att, la->qkv, B, T, C, NH);
        lm_matmul_forward(tmp, la->atty, w->proj_w, w->proj_b, (int)N, C, C);
        lm_residual_forward(la->res2, res, tmp, N * C);
        lm_layernorm_forward(la->ln2, la->ln2_mean, la->ln2_rstd, la->res2, w->ln2_w, w->ln2_b,
                             (int)N, C);
        lm_matmul_forward(la->fch, la->ln2, w->fc_w, w->fc_b, (int)N, C, 4 * C);
        lm_gelu_forward(la->fch_gelu, la->fch, N * 4 * C);
        lm_matmul_forward(tmp, la->fch_gelu, w->fcproj_w, w->fcproj_b, (int)N, 4 * C, C);
        lm_residual_forward(la->res3, la->res2, tmp, N * C);
        res = la->res3;
        if (hidden_out && rc->layer == l + 1 && l + 1 < L) {
            memcpy(hidden_out, res, N * C * sizeof(float));
            return;
        }
    }
    lm_layernorm_forward(lnf, lnf_mean, lnf_rstd, res, W.lnf_w, W.lnf_b, (int)N, C);
    if (hidden_out) {
        memcpy(hidden_out, lnf, N * C * sizeof(float));
        return;
    }
    if (rc->want == WANT_LOGITS) {
        lm_matmul_forward(rc->out + row0 * V, lnf, W.wte, NULL, (int)N, C, V);
        return;
    }

    /* Head on the counted rows only: prompts and padding cost no vocabulary products. */
    if (ws->rows_cap < 2 * N) {
        free(ws->rows);
        ws->rows_cap = 2 * N;
        ws->rows = bb_malloc(ws->rows_cap * sizeof *ws->rows);
    }
    int32_t *rows = ws->rows, *tg = ws->rows + N;
    int M = 0;
    for (size_t r = 0; r < N; r++)
        if (counted(rc, row0 + r)) {
            rows[M] = (int32_t)r;
            tg[M] = rc->targets[row0 + r];
            M++;
        }
    ws->count += M;
    if (M == 0) return;
    ws->head = grow(ws->head, &ws->head_cap, (size_t)M * (2 * C + V));
    float *g = ws->head, *dg = g + (size_t)M * C, *logits = dg + (size_t)M * C;
    for (int m = 0; m < M; m++)
        memcpy(g + (size_t)m * C, lnf + (size_t)rows[m] * C, C * sizeof(float));
    lm_matmul_forward(logits, g, W.wte, NULL, M, C, V);
    ws->loss_sum +=
        lm_crossentropy_forward_backward(logits, tg, M, V, backward ? rc->dscale : 0.0f, NULL);
    if (!backward) return;
    if (rc->frozen) {
        /* Frozen: the backward exists only to reach injected vectors in this slice. */
        int any = 0;
        for (size_t r = 0; inject_row && rc->inject_grad && r < N && !any; r++)
            any = inject_row[r] >= 0;
        if (!any) return;
    }

    grad_acts ga;
    layout_backward(ws, a, B, T, &ga);
    memset(dg, 0, (size_t)M * C * sizeof(float));
    lm_matmul_backward(dg, G.wte, NULL, logits, g, W.wte, M, C, V);
    memset(ga.dln, 0, N * C * sizeof(float));
    for (int m = 0; m < M; m++)
        memcpy(ga.dln + (size_t)rows[m] * C, dg + (size_t)m * C, C * sizeof(float));
    memset(ga.dres, 0, N * C * sizeof(float));
    lm_layernorm_backward(ga.dres, G.lnf_w, G.lnf_b, ga.dln, res, W.lnf_w, lnf_mean, lnf_rstd,
                          (int)N, C);
    for (int l = L - 1; l >= 0; l--) {
        layer_acts *la = &ws->layers[l];
        const block_w *w = &W.blocks[l], *gw = &G.blocks[l];
        const float *res_in = l == 0 ? x0 : ws->layers[l - 1].res3;
        /* res3 = res2 + mlp(ln2(res2)): dres flows to res2 unchanged plus the MLP path. */
        memset(ga.dfch_gelu, 0, N * 4 * C * sizeof(float));
        lm_matmul_backward(ga.dfch_gelu, gw->fcproj_w, gw->fcproj_b, ga.dres, la->fch_gelu,
                           w->fcproj_w, (int)N, 4 * C, C);
        memset(ga.dfch, 0, N * 4 * C * sizeof(float));
        lm_gelu_backward(ga.dfch, la->fch, ga.dfch_gelu, N * 4 * C);
        memset(ga.dln, 0, N * C * sizeof(float));
        lm_matmul_backward(ga.dln, gw->fc_w, gw->fc_b, ga.dfch, la->ln2, w->fc_w, (int)N, C, 4 * C);
        lm_layernorm_backward(ga.dres, gw->ln2_w, gw->ln2_b, ga.dln, la->res2, w->ln2_w,
                              la->ln2_mean, la->ln2_rstd, (int)N, C);
        /* res2 = res_in + attn(ln1(res_in)). */
        memset(ga.datty, 0, N * C * sizeof(float));
        lm_matmul_backward(ga.datty, gw->proj_w, gw->proj_b, ga.dres, la->atty, w->proj_w, (int)N,
                           C, C);
        memset(ga.dqkv, 0, N * 3 * C * sizeof(float));
        lm_attention_backward(ga.dqkv, ga.scratch, ga.datty, la->qkv, la->att, B, T, C, NH);
        memset(ga.dln, 0, N * C * sizeof(float));
        lm_matmul_backward(ga.dln, gw->qkv_w, gw->qkv_b, ga.dqkv, la->ln1, w->qkv_w, (int)N, C,
                           3 * C);
        lm_layernorm_backward(ga.dres, gw->ln1_w, gw->ln1_b, ga.dln, res_in, w->ln1_w, la->ln1_mean,
                              la->ln1_rstd, (int)N, C);
    }
    lm_embed_backward(G.wte, G.wpe, rc->inject_grad, ga.dres, ids, inject_row, B, T, C);
}

/* Thread tid takes a fixed contiguous share of the sequences and walks it in chunks of
 * about chunk_rows positions: activations stay small enough to be cache- and RSS-friendly,
 * and the per-thread gradient block accumulates over the chunks in order. */
static void run_thread(void *arg, int tid, int n_threads) {
    run_ctx *rc = arg;
    lm_model *lm = rc->lm;
    thread_ws *ws = &lm->rt->ws[tid];
    ws->loss_sum = 0.0;
    ws->count = 0;
    if (rc->want == WANT_GRAD && !rc->frozen && tid > 0)
        memset(ws->grad, 0, (size_t)lm->params->total * sizeof(float));
    long b0, b1;
    lm_split_range(rc->in->B, tid, n_threads, &b0, &b1);
    int per_chunk = lm->rt->chunk_rows / rc->in->T;
    if (per_chunk < 1) per_chunk = 1;
    for (long b = b0; b < b1; b += per_chunk)
        run_chunk(rc, ws, tid, b, (int)(b1 - b < per_chunk ? b1 - b : per_chunk));
}

/* Sums the private gradient blocks into params->grad, each thread a fixed slice, in thread
 * order: the same additions in the same order for a given thread count. */
static void reduce_thread(void *arg, int tid, int n_threads) {
    lm_model *lm = arg;
    long i0, i1;
    lm_split_range((long)lm->params->total, tid, n_threads, &i0, &i1);
    float *dst = lm->params->grad;
    for (int t = 1; t < n_threads; t++) {
        const float *src = lm->rt->ws[t].grad;
        for (long i = i0; i < i1; i++) dst[i] += src[i];
    }
}

static lm_loss run(lm_model *lm, run_ctx *rc) {
    const lm_input *in = rc->in;
    const lm_arch *a = &lm->arch;
    BB_ASSERT(in->B >= 1 && in->T >= 1 && in->T <= a->context,
              "LM input of %d x %d positions: need B >= 1 and 1 <= T <= context %d", in->B, in->T,
              a->context);
    size_t n = (size_t)in->B * in->T;
    int32_t *inject_row = NULL;
    if (in->n_inject > 0) {
        inject_row = bb_malloc(n * sizeof *inject_row);
        for (size_t p = 0; p < n; p++) inject_row[p] = -1;
        for (int k = 0; k < in->n_inject; k++) {
            int32_t p = in->inject_pos[k];
            BB_ASSERT(p >= 0 && (size_t)p < n && inject_row[p] < 0,
                      "injected position %d is outside the batch or repeated", p);
            inject_row[p] = k;
        }
    }
    for (size_t p = 0; p < n; p++)
        BB_ASSERT((inject_row && inject_row[p] >= 0) || (in->ids[p] >= 0 && in->ids[p] < a->vocab),
                  "token id %d at position %zu outside the vocabulary [0, %d)", in->ids[p], p,
                  a->vocab);
    rc->inject_row = inject_row;
    int64_t total = 0;
    if (rc->want >= WANT_LOSS)
        for (size_t p = 0; p < n; p++) total += counted(rc, p);
    rc->dscale = total > 0 ? (float)(1.0 / (double)total) : 0.0f;
    if (rc->want == WANT_GRAD && !rc->frozen && lm->rt->n_threads > 1) {
        for (int t = 1; t < lm->rt->n_threads; t++)
            if (!lm->rt->ws[t].grad)
                lm->rt->ws[t].grad = bb_malloc((size_t)lm->params->total * sizeof(float));
    }
    lm_pool_run(lm->rt->pool, run_thread, rc);
    if (rc->want == WANT_GRAD && !rc->frozen && lm->rt->n_threads > 1)
        lm_pool_run(lm->rt->pool, reduce_thread, lm);
    lm_loss loss = {0.0, 0.0, 0};
    for (int t = 0; t < lm->rt->n_threads; t++) {
        loss.sum += lm->rt->ws[t].loss_sum;
        loss.count += lm->rt->ws[t].count;
    }
    loss.mean = loss.count ? loss.sum / (double)loss.count : 0.0;
    free(inject_row);
    return loss;
}

/* ===================================== AdamW ======================================== */

typedef struct adam_ctx {
    lm_model *lm;
    const nn_adam *opt;
} adam_ctx;

/* Thread tid updates the tensors whose first element lies in its share of the flat block:
 * a registry view over those tensors (same blocks, same offsets) goes to nn_adam_step. */
static void adam_thread(void *arg, int tid, int n_threads) {
    adam_ctx *ac = arg;
    const nn_params *ps = ac->lm->params;
    long lo, hi;
    lm_split_range((long)ps->total, tid, n_threads, &lo, &hi);
    int i0 = 0, i1;
    while (i0 < ps->n && ps->offsets[i0] < lo) i0++;
    for (i1 = i0; i1 < ps->n && ps->offsets[i1] < hi; i1++) {
    }
    if (i1 == i0) return;
    nn_params view = *ps;
    view.items = ps->items + i0;
    view.names = ps->names + i0;
    view.offsets = ps->offsets + i0;
    view.n = i1 - i0;
    nn_adam_step(&view, ac->opt); /* increments only the view's copy of step */
}

void lm_adam_step(lm_model *lm, const nn_adam *opt) {
    adam_ctx ac = {lm, opt};
    lm_pool_run(lm->rt->pool, adam_thread, &ac);
    lm->params->step++;
}

lm_loss lm_forward_backward(lm_model *lm, const lm_input *in, const int32_t *targets,
                            const uint8_t *mask, int mode, float *inject_grad) {
    run_ctx rc = {.lm = lm,
                  .in = in,
                  .targets = targets,
                  .mask = mask,
                  .want = WANT_GRAD,
                  .frozen = mode == LM_FROZEN,
                  .inject_grad = inject_grad};
    BB_ASSERT(targets, "lm_forward_backward needs targets");
    return run(lm, &rc);
}

lm_loss lm_evaluate(lm_model *lm, const lm_input *in, const int32_t *targets, const uint8_t *mask) {
    run_ctx rc = {
        .lm = lm, .in = in, .targets = targets, .mask = mask, .want = WANT_LOSS, .frozen = 1};
    BB_ASSERT(targets, "lm_evaluate needs targets");
    return run(lm, &rc);
}

void lm_logits(lm_model *lm, const lm_input *in, float *logits) {
    run_ctx rc = {.lm = lm, .in = in, .want = WANT_LOGITS, .frozen = 1, .out = logits};
    run(lm, &rc);
}

void lm_hidden(lm_model *lm, const lm_input *in, int layer, float *out) {
    BB_ASSERT(layer >= 0 && layer <= lm->arch.n_layers, "hidden layer %d outside [0, %d]", layer,
              lm->arch.n_layers);
    run_ctx rc = {.lm = lm, .in = in, .want = WANT_HIDDEN, .frozen = 1, .layer = layer, .out = out};
    run(lm, &rc);
}
