/* retrieval — copy the train explanation of the most similar item (or nearest user) by
 * cosine over the binary train interaction matrix. See retrieval.h. */
#include "baselines/retrieval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/explain_corpus.h"
#include "models/base/bb_io.h"
#include "models/base/bb_time.h"

void bb_retrieval_default_config(bb_retrieval_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->variant, "item");
}

int bb_retrieval_check_config(const bb_retrieval_config *cfg, bb_error *err) {
    if (strcmp(cfg->variant, "item") != 0 && strcmp(cfg->variant, "user") != 0)
        return bb_fail(err, "retrieval: variant must be item or user, got \"%s\"", cfg->variant);
    return BB_OK;
}

void bb_retrieval_trace_free(bb_retrieval_trace *t) {
    free(t->source_row);
    free(t->source);
    free(t->similarity);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------------------------ */
/* adjacency lists in CSR form */

typedef struct csr {
    int64_t *off; /* n + 1 */
    int32_t *adj;
    int32_t n;
} csr;

/* Rows (key[r], val[r]) for r with keep[r] (NULL: all) grouped by key, vals in row order. */
static void csr_build(csr *c, int32_t n, const int32_t *key, const int32_t *val, size_t m,
                      const uint8_t *keep) {
    c->n = n;
    c->off = bb_calloc((size_t)n + 1, sizeof *c->off);
    for (size_t r = 0; r < m; r++)
        if (!keep || keep[r]) c->off[key[r] + 1]++;
    for (int32_t k = 0; k < n; k++) c->off[k + 1] += c->off[k];
    c->adj = bb_malloc(((size_t)c->off[n] ? (size_t)c->off[n] : 1) * sizeof *c->adj);
    int64_t *fill = bb_malloc(((size_t)n ? (size_t)n : 1) * sizeof *fill);
    memcpy(fill, c->off, (size_t)n * sizeof *fill);
    for (size_t r = 0; r < m; r++)
        if (!keep || keep[r]) c->adj[fill[key[r]]++] = val[r];
    free(fill);
}

static void csr_free(csr *c) {
    free(c->off);
    free(c->adj);
}

static int64_t csr_deg(const csr *c, int32_t k) { return c->off[k + 1] - c->off[k]; }

typedef struct retr {
    csr user_items, item_users; /* train interactions */
    csr item_rows, user_rows;   /* train explanation rows (row indices) per item / user */
    double *count;              /* co-occurrence counts, max(n_users, n_items) */
    int32_t *touched;
    uint32_t *stamp;            /* marks, max(n_users, n_items) */
    uint32_t stamp_now;
    const bb_explanations *ex;
    size_t common_row;          /* most frequent train explanation */
} retr;

/* The entity x (same side as q) with train rows that maximises cosine(q, x), reached over
 * q -> first hop (via q_adj) -> x (via hop_adj); -1 when no x has a positive similarity. */
static int32_t nearest(retr *R, int32_t q, const csr *q_adj, const csr *hop_adj,
                       const csr *rows, double *best_sim) {
    int64_t dq = csr_deg(q_adj, q);
    int32_t n_touched = 0;
    for (int64_t a = q_adj->off[q]; a < q_adj->off[q + 1]; a++) {
        int32_t h = q_adj->adj[a];
        for (int64_t b = hop_adj->off[h]; b < hop_adj->off[h + 1]; b++) {
            int32_t x = hop_adj->adj[b];
            if (csr_deg(rows, x) == 0) continue;
            if (R->count[x] == 0) R->touched[n_touched++] = x;
            R->count[x] += 1;
        }
    }
    int32_t best = -1;
    double bs = 0;
    for (int32_t t = 0; t < n_touched; t++) {
        int32_t x = R->touched[t];
        double s = R->count[x] / sqrt((double)dq * (double)csr_deg(q_adj, x));
        R->count[x] = 0;
        if (s > bs || (s == bs && best >= 0 && x < best)) {
            bs = s;
            best = x;
        }
    }
    *best_sim = bs;
    return best;
}

/* Among rows list [lo, hi) of one entity, the row whose other-side entity (other_of_row) is
 * most similar to q2 (cosine over adj); ties to the lowest row. */
static size_t pick_row(retr *R, const int32_t *list, int64_t lo, int64_t hi, int32_t q2,
                       const csr *adj, int other_is_user) {
    R->stamp_now++;
    for (int64_t a = adj->off[q2]; a < adj->off[q2 + 1]; a++) R->stamp[adj->adj[a]] = R->stamp_now;
    int64_t d2 = csr_deg(adj, q2);
    size_t best = (size_t)list[lo];
    double bs = -1;
    for (int64_t k = lo; k < hi; k++) {
        size_t r = (size_t)list[k];
        int32_t o = other_is_user ? R->ex->rows[r].uid : R->ex->rows[r].iid;
        int64_t dov = csr_deg(adj, o), shared = 0;
        for (int64_t a = adj->off[o]; a < adj->off[o + 1]; a++)
            shared += R->stamp[adj->adj[a]] == R->stamp_now;
        double s = (d2 > 0 && dov > 0) ? (double)shared / sqrt((double)d2 * (double)dov) : 0.0;
        if (s > bs || (s == bs && r < best)) {
            bs = s;
            best = r;
        }
    }
    return best;
}

typedef struct row_ref {
    const char *text;
    size_t row;
} row_ref;

static int cmp_row_ref(const void *pa, const void *pb) {
    const row_ref *a = pa, *b = pb;
    int c = strcmp(a->text, b->text);
    if (c) return c;
    return (a->row > b->row) - (a->row < b->row);
}

/* Most frequent train explanation (exact string); ties to the earliest first row. */
static size_t most_common_row(const bb_explanations *ex, const bb_split *s) {
    row_ref *refs = bb_malloc(s->n_train * sizeof *refs);
    size_t n = 0;
    for (size_t r = 0; r < ex->n; r++)
        if (s->part[r] == BB_SPLIT_TRAIN) refs[n++] = (row_ref){ex->rows[r].explanation, r};
    qsort(refs, n, sizeof *refs, cmp_row_ref);
    size_t best_row = refs[0].row, best_count = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && strcmp(refs[b].text, refs[a].text) == 0) b++;
        size_t cnt = b - a, first = refs[a].row; /* sorted by row within equal texts */
        if (cnt > best_count || (cnt == best_count && first < best_row)) {
            best_count = cnt;
            best_row = first;
        }
        a = b;
    }
    free(refs);
    return best_row;
}

/* One answer by item (by_item = 1) or by user; returns 0 when nothing similar exists. */
static int answer(retr *R, int by_item, int32_t u, int32_t i, size_t *row, double *sim) {
    if (by_item) {
        int32_t j = nearest(R, i, &R->item_users, &R->user_items, &R->item_rows, sim);
        if (j < 0) return 0;
        *row = pick_row(R, R->item_rows.adj, R->item_rows.off[j], R->item_rows.off[j + 1], u,
                        &R->user_items, 1);
    } else {
        int32_t v = nearest(R, u, &R->user_items, &R->item_users, &R->user_rows, sim);
        if (v < 0) return 0;
        *row = pick_row(R, R->user_rows.adj, R->user_rows.off[v], R->user_rows.off[v + 1], i,
                        &R->item_users, 0);
    }
    return 1;
}

int bb_retrieval_explain_traced(const bb_explain_task *task, const bb_retrieval_config *cfg,
                                bb_explain_output *out, bb_retrieval_trace *trace, bb_error *err) {
    memset(out, 0, sizeof *out);
    if (trace) memset(trace, 0, sizeof *trace);
    if (bb_retrieval_check_config(cfg, err) != BB_OK) return BB_ERR;
    if (bb_xcorpus_check_task(task, err) != BB_OK) return BB_ERR;
    double t0 = bb_now();
    const bb_dataset *d = task->data;
    const bb_explanations *ex = task->ex;
    const bb_split *s = task->split;
    retr R;
    memset(&R, 0, sizeof R);
    R.ex = ex;
    csr_build(&R.user_items, d->n_users, d->train.user, d->train.item, d->train.n, NULL);
    csr_build(&R.item_users, d->n_items, d->train.item, d->train.user, d->train.n, NULL);
    int32_t *rid = bb_malloc((ex->n ? ex->n : 1) * sizeof *rid);
    uint8_t *is_train = bb_malloc(ex->n ? ex->n : 1);
    for (size_t r = 0; r < ex->n; r++) {
        rid[r] = (int32_t)r;
        is_train[r] = s->part[r] == BB_SPLIT_TRAIN;
    }
    csr_build(&R.item_rows, d->n_items, s->iid, rid, ex->n, is_train);
    csr_build(&R.user_rows, d->n_users, s->uid, rid, ex->n, is_train);
    free(rid);
    free(is_train);
    size_t nmax = (size_t)(d->n_users > d->n_items ? d->n_users : d->n_items);
    R.count = bb_calloc(nmax, sizeof *R.count);
    R.touched = bb_malloc(nmax * sizeof *R.touched);
    R.stamp = bb_calloc(nmax, sizeof *R.stamp);
    R.common_row = most_common_row(ex, s);
    double t1 = bb_now();

    bb_explain_output_init(out, s);
    if (trace) {
        trace->n = out->n;
        trace->source_row = bb_malloc((out->n ? out->n : 1) * sizeof *trace->source_row);
        trace->source = bb_malloc(out->n ? out->n : 1);
        trace->similarity = bb_malloc((out->n ? out->n : 1) * sizeof *trace->similarity);
    }
    int by_item = strcmp(cfg->variant, "item") == 0;
    for (size_t k = 0; k < out->n; k++) {
        size_t r = out->row[k], row = R.common_row;
        double sim = 0;
        int source = BB_RETRIEVAL_BY_COMMON;
        if (answer(&R, by_item, s->uid[r], s->iid[r], &row, &sim))
            source = by_item ? BB_RETRIEVAL_BY_ITEM : BB_RETRIEVAL_BY_USER;
        else if (answer(&R, !by_item, s->uid[r], s->iid[r], &row, &sim))
            source = by_item ? BB_RETRIEVAL_BY_USER : BB_RETRIEVAL_BY_ITEM;
        else
            row = R.common_row, sim = 0;
        out->generated[k] = bb_strdup(ex->rows[row].explanation);
        if (trace) {
            trace->source_row[k] = row;
            trace->source[k] = (uint8_t)source;
            trace->similarity[k] = sim;
        }
    }
    out->train_seconds = t1 - t0;
    out->generate_seconds = bb_now() - t1;
    out->epochs_run = 0;
    out->best_valid_loss = NAN;
    csr_free(&R.user_items);
    csr_free(&R.item_users);
    csr_free(&R.item_rows);
    csr_free(&R.user_rows);
    free(R.count);
    free(R.touched);
    free(R.stamp);
    return BB_OK;
}

int bb_retrieval_explain(const bb_explain_task *task, const bb_retrieval_config *cfg,
                         bb_explain_output *out, bb_error *err) {
    return bb_retrieval_explain_traced(task, cfg, out, NULL, err);
}
