/* beat_sar — SAR on an nn tape (beat_sar.h; DESIGN §5). */
#include "models/beat/beat_sar.h"

#include <math.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/nn/nn_ops.h"

/* Copies n rows of C floats into a tape tensor, each row L2-normalised as nn_l2_normalize
 * does (x / max(||x||, 1e-12)), so E and Q go through the same normalisation. */
static nn_tensor *normalised_rows(nn_tape *tp, const float *rows, int n, int64_t C) {
    nn_tensor *t = nn_tape_tensor2(tp, n, C);
    for (int r = 0; r < n; r++) {
        const float *x = rows + (size_t)r * (size_t)C;
        float *y = t->data + (size_t)r * (size_t)C;
        double ss = 0.0;
        for (int64_t c = 0; c < C; c++) ss += (double)x[c] * x[c];
        float norm = (float)sqrt(ss);
        if (norm < 1e-12f) norm = 1e-12f;
        for (int64_t c = 0; c < C; c++) y[c] = x[c] / norm;
    }
    return t;
}

/* Squared error sum ||A A^T - E E^T||^2 of one sequence: q (Q, C) its slots. */
static nn_tensor *sequence_sq_error(nn_tape *tp, nn_tensor *q, const float *e_rows, int n_e) {
    const int64_t C = q->shape[1];
    nn_tensor *qn = nn_l2_normalize(tp, q);
    nn_tensor *en = normalised_rows(tp, e_rows, n_e, C);
    /* j(s) = argmax_j cos(E_s, Q_j): a constant index once chosen */
    nn_tensor *cos = nn_matmul(tp, en, qn, 0, 1); /* (n_e, Q) */
    int32_t *j = nn_tape_scratch(tp, (size_t)n_e * sizeof *j);
    nn_row_max(cos, NULL, j);
    nn_tensor *qj = nn_gather_rows(tp, qn, j, n_e);  /* (n_e, C) */
    nn_tensor *v = nn_sum_last(tp, nn_mul(tp, qj, en)); /* (n_e, 1): cos(E_s, Q_j(s)) */
    nn_tensor *a = nn_l2_normalize(tp, nn_mul(tp, qj, v));
    nn_tensor *gram = nn_matmul(tp, a, a, 0, 1);      /* (n_e, n_e) */
    nn_tensor *target = nn_matmul(tp, en, en, 0, 1);  /* constant: sg(E E^T) */
    return nn_sum(tp, nn_square(tp, nn_sub(tp, gram, target)));
}

nn_tensor *beat_sar_loss(nn_tape *tp, nn_tensor *slots, const float *const *e_rows,
                         const int *n_e) {
    BB_ASSERT(slots->ndim == 3, "beat_sar_loss: slots must be (B, Q, C), got %d dims", slots->ndim);
    const int64_t B = slots->shape[0], Q = slots->shape[1], C = slots->shape[2];
    nn_tensor *total = NULL;
    double pairs = 0.0;
    for (int64_t b = 0; b < B; b++) {
        if (n_e[b] <= 0) continue;
        nn_tensor *q = nn_reshape(tp, nn_slice(tp, slots, 0, b, 1), 2, (int64_t[]){Q, C});
        nn_tensor *sq = sequence_sq_error(tp, q, e_rows[b], n_e[b]);
        total = total ? nn_add(tp, total, sq) : sq;
        pairs += (double)n_e[b] * (double)n_e[b];
    }
    if (!total) return nn_tape_tensor1(tp, 1); /* zero */
    return nn_scale(tp, total, (float)(1.0 / pairs));
}
