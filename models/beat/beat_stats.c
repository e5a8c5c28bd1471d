/* beat_stats — code usage, perplexity, dead codes and NMI; definitions in beat_stats.h. */
#include "models/beat/beat_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_error.h"
#include "models/base/bb_io.h"

void beat_usage_count(const int32_t *idx, size_t n, int K, int64_t *counts) {
    memset(counts, 0, (size_t)K * sizeof *counts);
    for (size_t i = 0; i < n; i++) {
        BB_ASSERT(idx[i] >= 0 && idx[i] < K, "beat_usage_count: code %d at %zu outside [0, %d)",
                  idx[i], i, K);
        counts[idx[i]]++;
    }
}

beat_usage_summary beat_usage_summarise(const int64_t *counts, int K) {
    beat_usage_summary s = {0, 0, 0, 0.0};
    for (int k = 0; k < K; k++) {
        s.total += counts[k];
        if (counts[k] > 0)
            s.used++;
        else
            s.dead++;
    }
    if (s.total == 0) return s;
    double h = 0.0;
    for (int k = 0; k < K; k++) {
        if (counts[k] == 0) continue;
        double p = (double)counts[k] / (double)s.total;
        h -= p * log(p);
    }
    s.perplexity = exp(h);
    return s;
}

/* Dense relabelling 0..m-1 in order of first appearance; returns m. */
static int dense_labels(const int32_t *a, size_t n, int32_t *out) {
    int32_t max = 0;
    for (size_t i = 0; i < n; i++) {
        BB_ASSERT(a[i] >= 0, "beat_nmi: negative label %d at %zu", a[i], i);
        if (a[i] > max) max = a[i];
    }
    int32_t *map = bb_malloc(((size_t)max + 1) * sizeof *map);
    for (int32_t k = 0; k <= max; k++) map[k] = -1;
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        if (map[a[i]] < 0) map[a[i]] = m++;
        out[i] = map[a[i]];
    }
    free(map);
    return m;
}

static double entropy(const double *count, int m, double n) {
    double h = 0.0;
    for (int k = 0; k < m; k++)
        if (count[k] > 0) h -= count[k] / n * log(count[k] / n);
    return h;
}

double beat_nmi(const int32_t *a, const int32_t *b, size_t n) {
    if (n == 0) return 0.0;
    int32_t *da = bb_malloc(n * sizeof *da), *db = bb_malloc(n * sizeof *db);
    int ma = dense_labels(a, n, da), mb = dense_labels(b, n, db);
    double *joint = bb_calloc((size_t)ma * (size_t)mb, sizeof *joint);
    double *ca = bb_calloc((size_t)ma, sizeof *ca), *cb = bb_calloc((size_t)mb, sizeof *cb);
    for (size_t i = 0; i < n; i++) {
        joint[(size_t)da[i] * (size_t)mb + (size_t)db[i]] += 1.0;
        ca[da[i]] += 1.0;
        cb[db[i]] += 1.0;
    }
    const double N = (double)n;
    double ha = entropy(ca, ma, N), hb = entropy(cb, mb, N), mi = 0.0;
    for (int x = 0; x < ma; x++)
        for (int y = 0; y < mb; y++) {
            double c = joint[(size_t)x * (size_t)mb + (size_t)y];
            if (c > 0) mi += c / N * log(c * N / (ca[x] * cb[y]));
        }
    free(da), free(db), free(joint), free(ca), free(cb);
    if (ha == 0.0 && hb == 0.0) return 1.0; /* both constant: the same partition */
    if (ha == 0.0 || hb == 0.0) return 0.0;
    double nmi = mi / (0.5 * (ha + hb));
    return nmi < 0 ? 0.0 : (nmi > 1 ? 1.0 : nmi);
}
