/* beat_stage1_micro — fused forward/backward of BEAT's micro supervision over a side's batch
 * entities (DESIGN §4.5). Formulas and threading in beat_stage1_micro.h; the tape version
 * beat_micro_sup_loss (beat_sup.c) is the reference it is tested against. */
#include "models/beat/beat_stage1_micro.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_dot.h"
#include "models/beat/beat_gemm.h"

#define MICRO_MAX_T 64
#define MICRO_MAX_PARTS 256

void beat_micro_ws_free(beat_micro_ws *ws) {
    if (!ws) return;
    free(ws->f);
    free(ws->i);
    memset(ws, 0, sizeof *ws);
}

typedef struct micro_job {
    const beat_micro_sup *s;
    const beat_micro_rows *r;
    int T, d, H, hs;
    int64_t N;               /* valid slots */
    const int32_t *slot0;    /* (B + 1): first slot of each entity */
    const int32_t *slot_pos; /* (N): masked position of each slot */
    const float *QK;         /* (T, H, d): (q_p W_k,h^T) of each position and head */
    const float *c2, *f;     /* (d) */
    float *A;                /* (N, H, T) self-attention weights (0 beyond len) */
    float *CTX;              /* (H, N, d) sum_j a_j x_j per head; later dL/d of it */
    float *Q2;               /* (N, d) cross-attention queries (c2 included) */
    float *A2;               /* (N, T) cross-attention weights */
    float *CTX2;             /* (N, d) sum_j a2_j Z_j; later dL/d of it */
    float *OUT;              /* (N, d) out, then dL/dout, then dL/dq2 */
    float *part;             /* per part: dQK (T H d), dmask (T d), dout sum (d), dq2 sum (d) */
    size_t part_stride;
    float dout_scale, inv_sqrt_hs, inv_sqrt_d;
    double loss[MICRO_MAX_PARTS];
} micro_job;

static void entity_range(const micro_job *j, int t, int n, int64_t *lo, int64_t *hi) {
    long long a, b;
    bb_pool_split((long long)j->r->B, t, n, &a, &b);
    *lo = (int64_t)a;
    *hi = (int64_t)b;
}

static uint64_t masked_bits(const micro_job *j, int64_t b) {
    uint64_t bits = 0;
    for (int32_t s = j->slot0[b]; s < j->slot0[b + 1]; s++) bits |= (uint64_t)1 << j->slot_pos[s];
    return bits;
}

/* x_pos of entity b: its mask vector where masked, its phrase vector elsewhere */
static inline const float *x_row(const micro_job *j, int64_t b, int pos, uint64_t bits) {
    if ((bits >> pos) & 1) return j->s->mask_vec->data + (size_t)pos * j->d;
    return j->r->phrases + ((size_t)j->r->phrase_row[b] * j->T + (size_t)pos) * j->d;
}

static inline const float *z_row(const micro_job *j, int64_t b, int pos) {
    return j->r->tokens + ((size_t)j->r->token_row[b] * j->T + (size_t)pos) * j->d;
}

/* a[0..n) = softmax(a[0..n)) in place */
static void softmax_inplace(float *a, int n) {
    float mx = a[0];
    for (int k = 1; k < n; k++) mx = a[k] > mx ? a[k] : mx;
    float sum = 0.0f;
    for (int k = 0; k < n; k++) sum += a[k] = expf(a[k] - mx);
    for (int k = 0; k < n; k++) a[k] /= sum;
}

/* dst (d) = sum_k w[k] rows[k] */
static void weighted_sum(float *restrict dst, const float *const *rows, const float *w, int n, int d) {
    memset(dst, 0, (size_t)d * sizeof *dst);
    for (int k = 0; k < n; k++) beat_axpy(dst, w[k], rows[k], d);
}

/* ------------------------------------------------------------------------------------------
 * Per-slot kernels (pool workers, one entity part each) */

static void self_forward_worker(void *ctx, int t, int n) {
    micro_job *j = ctx;
    int64_t lo, hi;
    entity_range(j, t, n, &lo, &hi);
    const int T = j->T, d = j->d, H = j->H;
    const float *x[MICRO_MAX_T];
    for (int64_t b = lo; b < hi; b++) {
        const uint64_t bits = masked_bits(j, b);
        const int len = j->r->len[b];
        for (int k = 0; k < len; k++) x[k] = x_row(j, b, k, bits);
        for (int32_t s = j->slot0[b]; s < j->slot0[b + 1]; s++)
            for (int h = 0; h < H; h++) {
                const float *qk = j->QK + ((size_t)j->slot_pos[s] * H + h) * d;
                float *a = j->A + ((size_t)s * H + h) * T;
                for (int k = 0; k < len; k++) a[k] = beat_dot(qk, x[k], d) * j->inv_sqrt_hs;
                softmax_inplace(a, len);
                for (int k = len; k < T; k++) a[k] = 0.0f;
                weighted_sum(j->CTX + ((size_t)h * j->N + s) * d, x, a, len, d);
            }
    }
}

static void cross_forward_worker(void *ctx, int t, int n) {
    micro_job *j = ctx;
    int64_t lo, hi;
    entity_range(j, t, n, &lo, &hi);
    const int T = j->T, d = j->d;
    const float *z[MICRO_MAX_T];
    for (int64_t b = lo; b < hi; b++) {
        for (int k = 0; k < T; k++) z[k] = z_row(j, b, k);
        for (int32_t s = j->slot0[b]; s < j->slot0[b + 1]; s++) {
            float *q2 = j->Q2 + (size_t)s * d, *a = j->A2 + (size_t)s * T;
            beat_add(q2, j->c2, d);
            for (int k = 0; k < T; k++) a[k] = beat_dot(q2, z[k], d) * j->inv_sqrt_d;
            softmax_inplace(a, T);
            weighted_sum(j->CTX2 + (size_t)s * d, z, a, T, d);
        }
    }
}

/* out + f - phrase: the part's squared error; OUT becomes dL/dout, summed per part */
static void loss_worker(void *ctx, int t, int n) {
    micro_job *j = ctx;
    int64_t lo, hi;
    entity_range(j, t, n, &lo, &hi);
    const int T = j->T, d = j->d;
    float *dsum = j->part + (size_t)t * j->part_stride + (size_t)T * j->H * d + (size_t)T * d;
    for (int c = 0; c < d; c++) dsum[c] = 0.0f;
    double sq = 0.0;
    for (int64_t b = lo; b < hi; b++)
        for (int32_t s = j->slot0[b]; s < j->slot0[b + 1]; s++) {
            float *o = j->OUT + (size_t)s * d;
            const float *tgt =
                j->r->phrases + ((size_t)j->r->phrase_row[b] * T + (size_t)j->slot_pos[s]) * d;
            bb_vec8f row8 = bb_splat8(0.0f);
            const bb_vec8f sv = bb_splat8(j->dout_scale);
            int c = 0;
            for (; c + 8 <= d; c += 8) {
                const bb_vec8f e = (bb_load8(o + c) + bb_load8(j->f + c)) - bb_load8(tgt + c);
                row8 += e * e;
                const bb_vec8f g = sv * e;
                bb_store8(o + c, g);
                bb_store8(dsum + c, bb_load8(dsum + c) + g);
            }
            float row = ((row8[0] + row8[4]) + (row8[1] + row8[5])) +
                        ((row8[2] + row8[6]) + (row8[3] + row8[7]));
            for (; c < d; c++) {
                const float e = (o[c] + j->f[c]) - tgt[c];
                row += e * e;
                o[c] = j->dout_scale * e;
                dsum[c] += o[c];
            }
            sq += row;
        }
    j->loss[t] = sq;
}

/* through the cross-attention: dtokens, and dL/dq2 into OUT (summed per part for dc2) */
static void cross_backward_worker(void *ctx, int t, int n) {
    micro_job *j = ctx;
    int64_t lo, hi;
    entity_range(j, t, n, &lo, &hi);
    const int T = j->T, d = j->d;
    float *dsum = j->part + (size_t)t * j->part_stride + (size_t)T * j->H * d + (size_t)T * d + d;
    for (int c = 0; c < d; c++) dsum[c] = 0.0f;
    const float *z[MICRO_MAX_T];
    float ds[MICRO_MAX_T];
    for (int64_t b = lo; b < hi; b++) {
        for (int k = 0; k < T; k++) z[k] = z_row(j, b, k);
        float *dz0 = j->r->dtokens + (size_t)j->r->token_row[b] * T * d;
        for (int32_t s = j->slot0[b]; s < j->slot0[b + 1]; s++) {
            const float *g = j->CTX2 + (size_t)s * d, *q2 = j->Q2 + (size_t)s * d;
            const float *a = j->A2 + (size_t)s * T;
            float dot = 0.0f;
            for (int k = 0; k < T; k++) {
                ds[k] = beat_dot(g, z[k], d);
                dot += a[k] * ds[k];
            }
            for (int k = 0; k < T; k++) ds[k] = a[k] * (ds[k] - dot) * j->inv_sqrt_d;
            float *dq = j->OUT + (size_t)s * d;
            weighted_sum(dq, z, ds, T, d);
            beat_add(dsum, dq, d);
            for (int k = 0; k < T; k++) {
                float *restrict dz = dz0 + (size_t)k * d;
                const float ak = a[k], dk = ds[k];
                const bb_vec8f av = bb_splat8(ak), dv = bb_splat8(dk);
                int c = 0;
                for (; c + 8 <= d; c += 8)
                    bb_store8(dz + c, bb_load8(dz + c) + (av * bb_load8(g + c) + dv * bb_load8(q2 + c)));
                for (; c < d; c++) dz[c] += ak * g[c] + dk * q2[c];
            }
        }
    }
}

/* through the self-attention: per part, dL/d(q_p W_k,h^T) and the mask vectors' gradient
 * through the keys and values (CTX holds dL/dctx) */
static void self_backward_worker(void *ctx, int t, int n) {
    micro_job *j = ctx;
    int64_t lo, hi;
    entity_range(j, t, n, &lo, &hi);
    const int T = j->T, d = j->d, H = j->H;
    float *dqk = j->part + (size_t)t * j->part_stride, *dmask = dqk + (size_t)T * H * d;
    memset(dqk, 0, ((size_t)T * H * d + (size_t)T * d) * sizeof(float));
    const float *x[MICRO_MAX_T];
    float ds[MICRO_MAX_T];
    for (int64_t b = lo; b < hi; b++) {
        const uint64_t bits = masked_bits(j, b);
        const int len = j->r->len[b];
        for (int k = 0; k < len; k++) x[k] = x_row(j, b, k, bits);
        for (int32_t s = j->slot0[b]; s < j->slot0[b + 1]; s++)
            for (int h = 0; h < H; h++) {
                const size_t qh = (size_t)j->slot_pos[s] * H + h;
                const float *g = j->CTX + ((size_t)h * j->N + s) * d, *qk = j->QK + qh * d;
                const float *a = j->A + ((size_t)s * H + h) * T;
                float dot = 0.0f;
                for (int k = 0; k < len; k++) {
                    ds[k] = beat_dot(g, x[k], d);
                    dot += a[k] * ds[k];
                }
                for (int k = 0; k < len; k++) ds[k] = a[k] * (ds[k] - dot) * j->inv_sqrt_hs;
                float *restrict acc = dqk + qh * d;
                for (int k = 0; k < len; k++) beat_axpy(acc, ds[k], x[k], d);
                for (int k = 0; k < len; k++) {
                    if (!((bits >> k) & 1)) continue;
                    float *restrict dm = dmask + (size_t)k * d;
                    const bb_vec8f av = bb_splat8(a[k]), dv = bb_splat8(ds[k]);
                    int c = 0;
                    for (; c + 8 <= d; c += 8)
                        bb_store8(dm + c, bb_load8(dm + c) + (av * bb_load8(g + c) + dv * bb_load8(qk + c)));
                    for (; c < d; c++) dm[c] += a[k] * g[c] + ds[k] * qk[c];
                }
            }
    }
}

/* ------------------------------------------------------------------------------------------
 * The whole pass */

static float *take(float **at, size_t n) {
    float *p = *at;
    *at += (n + 15) / 16 * 16; /* 64-byte steps: rows of d = 16 k floats stay aligned alike */
    return p;
}

/* dst[0..n) = sum over the parts (in part order) of part + offset */
static void sum_parts(const micro_job *j, int parts, size_t offset, size_t n, float *dst) {
    for (size_t c = 0; c < n; c++) {
        float v = 0.0f;
        for (int p = 0; p < parts; p++) v += j->part[(size_t)p * j->part_stride + offset + c];
        dst[c] = v;
    }
}

double beat_micro_sup_fused(bb_pool *pool, const beat_micro_sup *s, const beat_micro_rows *r,
                            float weight, beat_micro_ws *ws) {
    const int T = s->T, d = s->d, H = s->heads, hs = d / H, B = r->B, M = r->M;
    const int parts = bb_pool_threads(pool);
    BB_ASSERT(T >= 1 && T <= MICRO_MAX_T && parts <= MICRO_MAX_PARTS,
              "beat_micro_sup_fused: T %d (at most %d), %d threads (at most %d)", T, MICRO_MAX_T,
              parts, MICRO_MAX_PARTS);
    /* slots: the valid masked positions, entity by entity */
    const size_t ineed = (size_t)B + 1 + (size_t)B * M + 1;
    if (ws->icap < ineed) {
        free(ws->i);
        ws->i = bb_malloc(ineed * sizeof *ws->i);
        ws->icap = ineed;
    }
    int32_t *slot0 = ws->i, *slot_pos = ws->i + B + 1;
    int64_t N = 0;
    for (int b = 0; b < B; b++) {
        slot0[b] = (int32_t)N;
        BB_ASSERT(r->len[b] >= 1 && r->len[b] <= T, "beat_micro_sup_fused: length %d outside [1, %d]",
                  r->len[b], T);
        for (int m = 0; m < M; m++) {
            const int32_t p = r->masked[(size_t)b * M + m];
            BB_ASSERT(p < r->len[b], "beat_micro_sup_fused: masked position %d beyond length %d",
                      p, r->len[b]);
            if (p >= 0) slot_pos[N++] = p;
        }
    }
    slot0[B] = (int32_t)N;
    if (N == 0) return 0.0;

    const size_t dd = (size_t)d * d, Nd = (size_t)N * d;
    const size_t part_stride = ((size_t)T * H * d + (size_t)T * d + 2 * (size_t)d + 15) / 16 * 16;
    const size_t fneed = 2 * (size_t)T * d + 2 * (size_t)T * H * d + 6 * dd + 4 * (size_t)d +
                         (size_t)N * H * T + (size_t)H * Nd + 4 * Nd + (size_t)N * T +
                         (size_t)parts * part_stride + 16 * 32;
    if (ws->fcap < fneed) {
        free(ws->f);
        ws->f = bb_malloc(fneed * sizeof *ws->f);
        ws->fcap = fneed;
    }
    float *at = ws->f;
    float *Q = take(&at, (size_t)T * d), *dQ = take(&at, (size_t)T * d);
    float *QK = take(&at, (size_t)T * H * d), *dQK = take(&at, (size_t)T * H * d);
    float *WQK2 = take(&at, dd), *G = take(&at, dd), *F = take(&at, dd);
    float *dF = take(&at, dd), *dG = take(&at, dd), *dWQK2 = take(&at, dd);
    float *c2 = take(&at, d), *f = take(&at, d), *df = take(&at, d), *dc2 = take(&at, d);
    micro_job j;
    memset(&j, 0, sizeof j);
    j.s = s, j.r = r, j.T = T, j.d = d, j.H = H, j.hs = hs, j.N = N;
    j.slot0 = slot0, j.slot_pos = slot_pos, j.QK = QK, j.c2 = c2, j.f = f;
    j.A = take(&at, (size_t)N * H * T);
    j.CTX = take(&at, (size_t)H * Nd);
    float *V = take(&at, Nd);
    j.Q2 = take(&at, Nd);
    j.A2 = take(&at, (size_t)N * T);
    j.CTX2 = take(&at, Nd);
    j.OUT = take(&at, Nd);
    j.part = take(&at, (size_t)parts * part_stride);
    j.part_stride = part_stride;
    BB_ASSERT((size_t)(at - ws->f) <= fneed, "beat_micro_sup_fused: workspace overrun");
    j.inv_sqrt_hs = 1.0f / sqrtf((float)hs);
    j.inv_sqrt_d = 1.0f / sqrtf((float)d);
    j.dout_scale = (float)(2.0 * (double)weight / ((double)N * d));

    const beat_attn *sa = &s->self_attn, *ca = &s->cross_attn;
    const float *Mv = s->mask_vec->data;

    /* weight-only quantities: queries of the T mask vectors folded into the keys, and the
     * products of the consecutive linear maps (beat_sup.h) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, d, 1.0f, Mv, d, sa->wq->data, d,
                0.0f, Q, d);
    for (int p = 0; p < T; p++)
        for (int c = 0; c < d; c++) Q[(size_t)p * d + c] += sa->bq->data[c];
    for (int p = 0; p < T; p++) /* QK[p][h][i] = sum_c Q[p][h hs + c] W_k[i][h hs + c] */
        for (int h = 0; h < H; h++)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, d, hs, 1.0f, sa->wk->data + (size_t)h * hs, d,
                        Q + (size_t)p * d + (size_t)h * hs, 1, 0.0f,
                        QK + ((size_t)p * H + h) * d, 1);
    beat_gemm_rows(pool, 1, d, d, d, ca->wq->data, d, ca->wk->data, d, 0.0f, WQK2, d);
    beat_gemm_rows(pool, 0, d, d, d, sa->wo->data, d, WQK2, d, 0.0f, G, d);
    beat_gemm_rows(pool, 0, d, d, d, ca->wv->data, d, ca->wo->data, d, 0.0f, F, d);
    cblas_sgemv(CblasRowMajor, CblasTrans, d, d, 1.0f, G, d, sa->bv->data, 1, 0.0f, c2, 1);
    cblas_sgemv(CblasRowMajor, CblasTrans, d, d, 1.0f, WQK2, d, sa->bo->data, 1, 1.0f, c2, 1);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, d, d, 1.0f, ca->wk->data, d, ca->bq->data, 1, 1.0f,
                c2, 1);
    cblas_sgemv(CblasRowMajor, CblasTrans, d, d, 1.0f, ca->wo->data, d, ca->bv->data, 1, 0.0f, f, 1);
    for (int c = 0; c < d; c++) f[c] += ca->bo->data[c];

    /* forward */
    bb_pool_run(pool, self_forward_worker, &j);
    for (int h = 0; h < H; h++) /* v_h = ctx_h W_v,h, the heads side by side */
        beat_gemm_rows(pool, 0, N, hs, d, j.CTX + (size_t)h * Nd, d, sa->wv->data + (size_t)h * hs,
                       d, 0.0f, V + (size_t)h * hs, d);
    beat_gemm_rows(pool, 0, N, d, d, V, d, G, d, 0.0f, j.Q2, d);
    bb_pool_run(pool, cross_forward_worker, &j);
    beat_gemm_rows(pool, 0, N, d, d, j.CTX2, d, F, d, 0.0f, j.OUT, d);
    bb_pool_run(pool, loss_worker, &j);
    double sq = 0.0;
    for (int p = 0; p < parts; p++) sq += j.loss[p];

    /* backward through out = ctx2 F + f (OUT holds dL/dout) */
    const size_t off_dout = (size_t)T * H * d + (size_t)T * d, off_dq2 = off_dout + d;
    sum_parts(&j, parts, off_dout, (size_t)d, df);
    memset(dF, 0, dd * sizeof *dF);
    beat_gemm_at_b(pool, d, d, N, j.CTX2, d, j.OUT, d, dF, d);
    beat_gemm_rows(pool, 1, N, d, d, j.OUT, d, F, d, 0.0f, j.CTX2, d); /* CTX2 := dL/dctx2 */
    beat_gemm_rows(pool, 1, d, d, d, dF, d, ca->wo->data, d, 1.0f, ca->wv->grad, d);
    beat_gemm_at_b(pool, d, d, d, ca->wv->data, d, dF, d, ca->wo->grad, d);
    cblas_sger(CblasRowMajor, d, d, 1.0f, ca->bv->data, 1, df, 1, ca->wo->grad, d);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, d, d, 1.0f, ca->wo->data, d, df, 1, 1.0f,
                ca->bv->grad, 1);
    for (int c = 0; c < d; c++) ca->bo->grad[c] += df[c];

    /* cross-attention; OUT := dL/dq2 */
    bb_pool_run(pool, cross_backward_worker, &j);
    sum_parts(&j, parts, off_dq2, (size_t)d, dc2);

    /* q2 = v G + c2 and the folded maps */
    memset(dG, 0, dd * sizeof *dG);
    beat_gemm_at_b(pool, d, d, N, V, d, j.OUT, d, dG, d);
    cblas_sger(CblasRowMajor, d, d, 1.0f, sa->bv->data, 1, dc2, 1, dG, d);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, d, d, 1.0f, G, d, dc2, 1, 1.0f, sa->bv->grad, 1);
    memset(dWQK2, 0, dd * sizeof *dWQK2);
    cblas_sger(CblasRowMajor, d, d, 1.0f, sa->bo->data, 1, dc2, 1, dWQK2, d);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, d, d, 1.0f, WQK2, d, dc2, 1, 1.0f, sa->bo->grad, 1);
    cblas_sgemv(CblasRowMajor, CblasTrans, d, d, 1.0f, ca->wk->data, d, dc2, 1, 1.0f,
                ca->bq->grad, 1);
    cblas_sger(CblasRowMajor, d, d, 1.0f, dc2, 1, ca->bq->data, 1, ca->wk->grad, d);
    beat_gemm_rows(pool, 1, d, d, d, dG, d, WQK2, d, 1.0f, sa->wo->grad, d);
    beat_gemm_at_b(pool, d, d, d, sa->wo->data, d, dG, d, dWQK2, d);
    beat_gemm_rows(pool, 0, d, d, d, dWQK2, d, ca->wk->data, d, 1.0f, ca->wq->grad, d);
    beat_gemm_at_b(pool, d, d, d, dWQK2, d, ca->wq->data, d, ca->wk->grad, d);
    beat_gemm_rows(pool, 1, N, d, d, j.OUT, d, G, d, 0.0f, V, d); /* V := dL/dv */
    for (int h = 0; h < H; h++) { /* CTX := dL/dctx, head by head */
        float *ctx_h = j.CTX + (size_t)h * Nd;
        beat_gemm_at_b(pool, d, hs, N, ctx_h, d, V + (size_t)h * hs, d,
                       sa->wv->grad + (size_t)h * hs, d);
        beat_gemm_rows(pool, 1, N, d, hs, V + (size_t)h * hs, d, sa->wv->data + (size_t)h * hs, d,
                       0.0f, ctx_h, d);
    }

    /* self-attention, then the queries q_p = mask_vec[p] W_q + b_q */
    bb_pool_run(pool, self_backward_worker, &j);
    sum_parts(&j, parts, 0, (size_t)T * H * d, dQK);
    for (int p = 0; p < T; p++)
        for (int h = 0; h < H; h++) {
            const float *g = dQK + ((size_t)p * H + h) * d;
            cblas_sgemv(CblasRowMajor, CblasTrans, d, hs, 1.0f, sa->wk->data + (size_t)h * hs, d,
                        g, 1, 0.0f, dQ + (size_t)p * d + (size_t)h * hs, 1);
            cblas_sger(CblasRowMajor, d, hs, 1.0f, g, 1, Q + (size_t)p * d + (size_t)h * hs, 1,
                       sa->wk->grad + (size_t)h * hs, d);
        }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, T, 1.0f, Mv, d, dQ, d, 1.0f,
                sa->wq->grad, d);
    for (int p = 0; p < T; p++)
        for (int c = 0; c < d; c++) sa->bq->grad[c] += dQ[(size_t)p * d + c];
    float *dmask = QK; /* QK is no longer needed: the mask gradient of the keys and values */
    sum_parts(&j, parts, (size_t)T * H * d, (size_t)T * d, dmask);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, d, d, 1.0f, dQ, d, sa->wq->data, d,
                1.0f, dmask, d);
    float *gmask = s->mask_vec->grad;
    for (size_t c = 0; c < (size_t)T * d; c++) gmask[c] += dmask[c];
    return sq / ((double)N * d);
}
