/* nn_ops_index — ops that move values without arithmetic: row gather (embedding lookup)
 * and scatter-add, reshape, transpose, concat, slice. Backward adds (+=) into inputs. */
#include <string.h>

#include "models/base/bb_error.h"
#include "models/nn/nn_ops.h"
#include "models/nn/nn_ops_internal.h"

/* ------------------------------------------------------------------------------------------ */
/* gather_rows: table (N, ...), idx (n) -> (n, ...) */

nn_tensor *nn_gather_rows(nn_tape *tp, nn_tensor *table, const int32_t *idx, int64_t n) {
    int64_t N = table->shape[0], row = table->numel / N;
    int64_t s[NN_MAX_DIMS];
    memcpy(s, table->shape, sizeof s);
    s[0] = n;
    nn_tensor *out = nn_tape_out(tp, table->ndim, s, table, NULL, NULL);
    for (int64_t i = 0; i < n; i++) {
        BB_ASSERT(idx[i] >= 0 && idx[i] < N, "gather_rows: index %lld is %d, table has %lld rows",
                  (long long)i, (int)idx[i], (long long)N);
        memcpy(out->data + i * row, table->data + (int64_t)idx[i] * row, (size_t)row * sizeof(float));
    }
    nn_node *nd = nn_tape_record(tp, NN_OP_GATHER_ROWS, out, table, NULL, NULL);
    if (nd) {
        int32_t *copy = nn_tape_scratch(tp, (size_t)n * sizeof(int32_t));
        memcpy(copy, idx, (size_t)n * sizeof(int32_t));
        nd->aux = copy;
    }
    return out;
}

void nn_bw_gather_rows(nn_tape *tp, nn_node *nd) {
    nn_tensor *table = nd->in[0];
    const int32_t *idx = nd->aux;
    int64_t n = nd->out->shape[0], row = table->numel / table->shape[0];
    float *gt = nn_tape_grad(tp, table);
    const float *g = nd->out->grad;
    /* serial, in index order: repeated rows accumulate in a fixed order */
    for (int64_t i = 0; i < n; i++) {
        float *dst = gt + (int64_t)idx[i] * row;
        const float *src = g + i * row;
        for (int64_t j = 0; j < row; j++) dst[j] += src[j];
    }
}

/* scatter_add_rows: src (n, ...), idx (n) -> (n_out, ...), out[idx[i]] += src[i] */
nn_tensor *nn_scatter_add_rows(nn_tape *tp, nn_tensor *src, const int32_t *idx,
                               int64_t n_out) {
    int64_t n = src->shape[0], row = src->numel / n;
    int64_t s[NN_MAX_DIMS];
    memcpy(s, src->shape, sizeof s);
    s[0] = n_out;
    nn_tensor *out = nn_tape_out(tp, src->ndim, s, src, NULL, NULL);
    memset(out->data, 0, (size_t)out->numel * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        BB_ASSERT(idx[i] >= 0 && idx[i] < n_out,
                  "scatter_add_rows: index %lld is %d, output has %lld rows", (long long)i,
                  (int)idx[i], (long long)n_out);
        float *dst = out->data + (int64_t)idx[i] * row;
        const float *x = src->data + i * row;
        for (int64_t j = 0; j < row; j++) dst[j] += x[j];
    }
    nn_node *nd = nn_tape_record(tp, NN_OP_SCATTER_ADD_ROWS, out, src, NULL, NULL);
    if (nd) {
        int32_t *copy = nn_tape_scratch(tp, (size_t)n * sizeof(int32_t));
        memcpy(copy, idx, (size_t)n * sizeof(int32_t));
        nd->aux = copy;
    }
    return out;
}

void nn_bw_scatter_add_rows(nn_tape *tp, nn_node *nd) {
    nn_tensor *src = nd->in[0];
    const int32_t *idx = nd->aux;
    int64_t n = src->shape[0], row = src->numel / n;
    float *gs = nn_tape_grad(tp, src);
    for (int64_t i = 0; i < n; i++) {
        const float *g = nd->out->grad + (int64_t)idx[i] * row;
        for (int64_t j = 0; j < row; j++) gs[i * row + j] += g[j];
    }
}

/* ------------------------------------------------------------------------------------------ */
/* reshape: same data, new shape (the output shares a's values; its gradient is its own) */

nn_tensor *nn_reshape(nn_tape *tp, nn_tensor *a, int ndim, const int64_t *shape) {
    nn_tensor *out = nn_tape_scratch(tp, sizeof *out);
    memset(out, 0, sizeof *out);
    nn_tensor_set_shape(out, ndim, shape);
    char s1[64], s2[64];
    BB_ASSERT(out->numel == a->numel, "reshape: %s has %lld elements, target %s has %lld",
              nn_shape_str(a, s1, sizeof s1), (long long)a->numel,
              nn_shape_str(out, s2, sizeof s2), (long long)out->numel);
    out->data = a->data;
    out->requires_grad = tp->grad_enabled && a->requires_grad;
    nn_tape_record(tp, NN_OP_RESHAPE, out, a, NULL, NULL);
    return out;
}

void nn_bw_reshape(nn_tape *tp, nn_node *nd) {
    nn_tensor *a = nd->in[0];
    float *ga = nn_tape_grad(tp, a);
    for (int64_t i = 0; i < a->numel; i++) ga[i] += nd->out->grad[i];
}

/* detach: same data, no gradient flows back (stop-gradient, "sg" in BEAT's losses) */
nn_tensor *nn_detach(nn_tape *tp, nn_tensor *a) {
    nn_tensor *out = nn_tape_scratch(tp, sizeof *out);
    memset(out, 0, sizeof *out);
    nn_tensor_set_shape(out, a->ndim, a->shape);
    out->data = a->data;
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* transpose: swap dims d0 and d1 (copy); (.., A, .., B, ..) -> (.., B, .., A, ..) */

/* Adds (accumulate) or copies src (shape in, padded to 4-D) into dst laid out with dims
 * d0 and d1 swapped. */
static void swap_dims_copy(const float *src, const int64_t *in_shape, int d0, int d1,
                           float *dst, int accumulate) {
    int64_t stride[4];
    stride[3] = 1;
    for (int i = 2; i >= 0; i--) stride[i] = stride[i + 1] * in_shape[i + 1];
    int64_t os[4], ostride[4];
    memcpy(os, in_shape, sizeof os);
    os[d0] = in_shape[d1];
    os[d1] = in_shape[d0];
    /* stride in src of each output dim */
    memcpy(ostride, stride, sizeof ostride);
    ostride[d0] = stride[d1];
    ostride[d1] = stride[d0];
    int64_t o = 0;
    for (int64_t i0 = 0; i0 < os[0]; i0++)
        for (int64_t i1 = 0; i1 < os[1]; i1++)
            for (int64_t i2 = 0; i2 < os[2]; i2++) {
                const float *s = src + i0 * ostride[0] + i1 * ostride[1] + i2 * ostride[2];
                if (accumulate)
                    for (int64_t i3 = 0; i3 < os[3]; i3++) dst[o++] += s[i3 * ostride[3]];
                else
                    for (int64_t i3 = 0; i3 < os[3]; i3++) dst[o++] = s[i3 * ostride[3]];
            }
}

/* Pads a shape to 4-D on the left; returns the offset added to dim numbers. */
static int pad4(const nn_tensor *t, int64_t *s4) {
    int off = NN_MAX_DIMS - t->ndim;
    for (int i = 0; i < NN_MAX_DIMS; i++) s4[i] = i < off ? 1 : t->shape[i - off];
    return off;
}

nn_tensor *nn_transpose(nn_tape *tp, nn_tensor *a, int d0, int d1) {
    BB_ASSERT(d0 >= 0 && d1 >= 0 && d0 < a->ndim && d1 < a->ndim,
              "transpose: dims %d and %d outside a %d-D tensor", d0, d1, a->ndim);
    int64_t s[NN_MAX_DIMS];
    memcpy(s, a->shape, sizeof s);
    s[d0] = a->shape[d1];
    s[d1] = a->shape[d0];
    nn_tensor *out = nn_tape_out(tp, a->ndim, s, a, NULL, NULL);
    int64_t s4[4];
    int off = pad4(a, s4);
    swap_dims_copy(a->data, s4, d0 + off, d1 + off, out->data, 0);
    nn_node *nd = nn_tape_record(tp, NN_OP_TRANSPOSE, out, a, NULL, NULL);
    if (nd) {
        nd->iattr[0] = d0;
        nd->iattr[1] = d1;
    }
    return out;
}

void nn_bw_transpose(nn_tape *tp, nn_node *nd) {
    nn_tensor *a = nd->in[0], *out = nd->out;
    int64_t s4[4];
    int off = pad4(out, s4);
    /* swapping the same dims of the output gradient gives a's layout */
    swap_dims_copy(out->grad, s4, (int)nd->iattr[0] + off, (int)nd->iattr[1] + off,
                   nn_tape_grad(tp, a), 1);
}

/* ------------------------------------------------------------------------------------------ */
/* concat along axis: parts agree on every other dim; slice: [start, start+len) of axis.
 * Both see a tensor as (outer, extent(axis) * inner). */

static void axis_split(const nn_tensor *t, int axis, int64_t *outer, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= t->shape[i];
    for (int i = axis + 1; i < t->ndim; i++) *inner *= t->shape[i];
}

nn_tensor *nn_concat(nn_tape *tp, nn_tensor **parts, int n_parts, int axis) {
    BB_ASSERT(n_parts >= 1, "concat: needs at least one part");
    nn_tensor *p0 = parts[0];
    BB_ASSERT(axis >= 0 && axis < p0->ndim, "concat: axis %d outside a %d-D tensor", axis,
              p0->ndim);
    int64_t s[NN_MAX_DIMS];
    memcpy(s, p0->shape, sizeof s);
    s[axis] = 0;
    int any_grad = 0;
    for (int k = 0; k < n_parts; k++) {
        nn_tensor *p = parts[k];
        int ok = p->ndim == p0->ndim;
        for (int i = 0; ok && i < p0->ndim; i++) ok = i == axis || p->shape[i] == p0->shape[i];
        char s1[64], s2[64];
        BB_ASSERT(ok, "concat: part %d has shape %s, part 0 has %s (axis %d)", k,
                  nn_shape_str(p, s1, sizeof s1), nn_shape_str(p0, s2, sizeof s2), axis);
        s[axis] += p->shape[axis];
        any_grad |= p->requires_grad;
    }
    nn_tensor *out = nn_tape_out(tp, p0->ndim, s, NULL, NULL, NULL);
    out->requires_grad = tp->grad_enabled && any_grad;
    int64_t outer, inner;
    axis_split(out, axis, &outer, &inner);
    int64_t out_block = s[axis] * inner, pos = 0;
    for (int k = 0; k < n_parts; k++) {
        int64_t blk = parts[k]->shape[axis] * inner;
        for (int64_t o = 0; o < outer; o++)
            memcpy(out->data + o * out_block + pos, parts[k]->data + o * blk,
                   (size_t)blk * sizeof(float));
        pos += blk;
    }
    nn_node *nd = nn_tape_record(tp, NN_OP_CONCAT, out, NULL, NULL, NULL);
    if (nd) {
        nd->many = nn_tape_scratch(tp, (size_t)n_parts * sizeof(nn_tensor *));
        memcpy(nd->many, parts, (size_t)n_parts * sizeof(nn_tensor *));
        nd->n_many = n_parts;
        nd->iattr[0] = axis;
    }
    return out;
}

void nn_bw_concat(nn_tape *tp, nn_node *nd) {
    int axis = (int)nd->iattr[0];
    int64_t outer, inner;
    axis_split(nd->out, axis, &outer, &inner);
    int64_t out_block = nd->out->shape[axis] * inner, pos = 0;
    for (int k = 0; k < nd->n_many; k++) {
        nn_tensor *p = nd->many[k];
        int64_t blk = p->shape[axis] * inner;
        if (p->requires_grad) {
            float *gp = nn_tape_grad(tp, p);
            for (int64_t o = 0; o < outer; o++) {
                const float *g = nd->out->grad + o * out_block + pos;
                for (int64_t j = 0; j < blk; j++) gp[o * blk + j] += g[j];
            }
        }
        pos += blk;
    }
}

nn_tensor *nn_slice(nn_tape *tp, nn_tensor *a, int axis, int64_t start, int64_t len) {
    BB_ASSERT(axis >= 0 && axis < a->ndim, "slice: axis %d outside a %d-D tensor", axis,
              a->ndim);
    BB_ASSERT(start >= 0 && len > 0 && start + len <= a->shape[axis],
              "slice: [%lld, %lld) outside extent %lld of axis %d", (long long)start,
              (long long)(start + len), (long long)a->shape[axis], axis);
    int64_t s[NN_MAX_DIMS];
    memcpy(s, a->shape, sizeof s);
    s[axis] = len;
    nn_tensor *out = nn_tape_out(tp, a->ndim, s, a, NULL, NULL);
    int64_t outer, inner;
    axis_split(a, axis, &outer, &inner);
    int64_t in_block = a->shape[axis] * inner, blk = len * inner;
    for (int64_t o = 0; o < outer; o++)
        memcpy(out->data + o * blk, a->data + o * in_block + start * inner,
               (size_t)blk * sizeof(float));
    nn_node *nd = nn_tape_record(tp, NN_OP_SLICE, out, a, NULL, NULL);
    if (nd) {
        nd->iattr[0] = axis;
        nd->iattr[1] = start;
    }
    return out;
}

void nn_bw_slice(nn_tape *tp, nn_node *nd) {
    nn_tensor *a = nd->in[0];
    int axis = (int)nd->iattr[0];
    int64_t start = nd->iattr[1], outer, inner;
    axis_split(a, axis, &outer, &inner);
    int64_t in_block = a->shape[axis] * inner, blk = nd->out->shape[axis] * inner;
    float *ga = nn_tape_grad(tp, a);
    for (int64_t o = 0; o < outer; o++) {
        float *dst = ga + o * in_block + start * inner;
        const float *g = nd->out->grad + o * blk;
        for (int64_t j = 0; j < blk; j++) dst[j] += g[j];
    }
}

void nn_split(nn_tape *tp, nn_tensor *a, int axis, int n_parts, nn_tensor **out) {
    BB_ASSERT(n_parts >= 1 && a->shape[axis] % n_parts == 0,
              "split: extent %lld of axis %d is not divisible into %d parts",
              (long long)a->shape[axis], axis, n_parts);
    int64_t len = a->shape[axis] / n_parts;
    for (int k = 0; k < n_parts; k++) out[k] = nn_slice(tp, a, axis, k * len, len);
}
