/* ranking — full-ranking top-K evaluation: per-user lists, top-K selection, metrics,
 * threaded chunked scoring. Protocol and formulas in ranking.h. */
#include "metrics/ranking.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_time.h"

#define DEFAULT_CHUNK_USERS 64

static const char *const metric_names[BB_RANK_N_METRICS] = {"recall", "precision", "ndcg",
                                                            "mrr", "hit"};

const char *bb_rank_metric_name(int metric) {
    BB_ASSERT(metric >= 0 && metric < BB_RANK_N_METRICS, "unknown ranking metric %d", metric);
    return metric_names[metric];
}

/* ------------------------------------------------------------------------------------------
 * Per-user lists */

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int bb_rank_lists_build(bb_rank_lists *lists, int32_t n_users, int32_t n_items,
                        const int32_t *users, const int32_t *items, size_t n, bb_error *err) {
    memset(lists, 0, sizeof *lists);
    if (n_users < 0 || n_items < 0)
        return bb_fail(err, "ranking lists: negative size (%d users, %d items)", (int)n_users,
                       (int)n_items);
    for (size_t p = 0; p < n; p++) {
        if (users[p] < 0 || users[p] >= n_users)
            return bb_fail(err, "ranking lists: pair %zu: user %d outside [0, %d)", p,
                           (int)users[p], (int)n_users);
        if (items[p] < 0 || items[p] >= n_items)
            return bb_fail(err, "ranking lists: pair %zu: item %d outside [0, %d)", p,
                           (int)items[p], (int)n_items);
    }
    size_t *offsets = bb_calloc((size_t)n_users + 1, sizeof *offsets);
    int32_t *flat = bb_malloc((n ? n : 1) * sizeof *flat);
    /* Counting sort by user keeps the build O(n + users); each user's run is then sorted. */
    for (size_t p = 0; p < n; p++) offsets[users[p] + 1]++;
    for (int32_t u = 0; u < n_users; u++) offsets[u + 1] += offsets[u];
    size_t *fill = bb_malloc(((size_t)n_users + 1) * sizeof *fill);
    memcpy(fill, offsets, ((size_t)n_users + 1) * sizeof *fill);
    for (size_t p = 0; p < n; p++) flat[fill[users[p]]++] = items[p];
    free(fill);
    /* Sort and deduplicate each run in place, compacting as we go. */
    size_t write = 0;
    for (int32_t u = 0; u < n_users; u++) {
        size_t begin = offsets[u], end = offsets[u + 1];
        qsort(flat + begin, end - begin, sizeof *flat, cmp_i32);
        offsets[u] = write;
        for (size_t p = begin; p < end; p++)
            if (p == begin || flat[p] != flat[p - 1]) flat[write++] = flat[p];
    }
    offsets[n_users] = write;
    lists->n_users = n_users;
    lists->n_items = n_items;
    lists->offsets = offsets;
    lists->items = flat;
    return BB_OK;
}

void bb_rank_lists_free(bb_rank_lists *lists) {
    if (!lists) return;
    free(lists->offsets);
    free(lists->items);
    memset(lists, 0, sizeof *lists);
}

static int sorted_contains(const int32_t *a, size_t n, int32_t x) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == x;
}

int bb_rank_lists_contains(const bb_rank_lists *lists, int32_t user, int32_t item) {
    if (user < 0 || user >= lists->n_users) return 0;
    size_t b = lists->offsets[user];
    return sorted_contains(lists->items + b, lists->offsets[user + 1] - b, item);
}

/* ------------------------------------------------------------------------------------------
 * Top-K selection: a binary heap of the k best (score, item) seen so far with the worst at
 * the root. Items are scanned in ascending id, so a later item with a score equal to the
 * root's is worse (higher id) and a strict `>` against the root's score is the whole test;
 * NaN fails every comparison and is stored as -inf during the initial fill. */

typedef struct {
    float score;
    int32_t item;
} scored_item;

static int worse(scored_item a, scored_item b) {
    return a.score < b.score || (a.score == b.score && a.item > b.item);
}

static void sift_down(scored_item *heap, int n, int at) {
    for (;;) {
        int l = 2 * at + 1, r = l + 1, w = at;
        if (l < n && worse(heap[l], heap[w])) w = l;
        if (r < n && worse(heap[r], heap[w])) w = r;
        if (w == at) return;
        scored_item t = heap[at];
        heap[at] = heap[w];
        heap[w] = t;
        at = w;
    }
}

static void sift_up(scored_item *heap, int at) {
    while (at > 0) {
        int parent = (at - 1) / 2;
        if (!worse(heap[at], heap[parent])) return;
        scored_item t = heap[at];
        heap[at] = heap[parent];
        heap[parent] = t;
        at = parent;
    }
}

static int topk_core(const float *scores, int32_t n_items, const int32_t *mask, size_t n_mask,
                     int k, scored_item *heap, int32_t *out) {
    int filled = 0;
    size_t next_mask = 0;
    int32_t i = 0;
    while (i < n_items) {
        while (next_mask < n_mask && mask[next_mask] < i) next_mask++;
        int32_t stop = next_mask < n_mask && mask[next_mask] < n_items ? mask[next_mask] : n_items;
        for (; i < stop && filled < k; i++) {
            float s = scores[i];
            heap[filled].score = isnan(s) ? -INFINITY : s;
            heap[filled].item = i;
            sift_up(heap, filled++);
        }
        if (filled == k && k > 0) {
            float threshold = heap[0].score;
            for (; i < stop; i++) {
                if (scores[i] > threshold) {
                    heap[0].score = scores[i];
                    heap[0].item = i;
                    sift_down(heap, k, 0);
                    threshold = heap[0].score;
                }
            }
        }
        i = stop + 1; /* skip the masked item (or end the scan) */
    }
    /* Pop the worst to the back: out ends up best first. */
    int n = filled;
    for (int p = n - 1; p >= 0; p--) {
        out[p] = heap[0].item;
        heap[0] = heap[--filled];
        sift_down(heap, filled, 0);
    }
    return n;
}

int bb_rank_topk(const float *scores, int32_t n_items, const int32_t *mask, size_t n_mask,
                 int k, int32_t *out) {
    if (k <= 0) return 0;
    scored_item *heap = bb_malloc((size_t)k * sizeof *heap);
    int n = topk_core(scores, n_items, mask, n_mask, k, heap, out);
    free(heap);
    return n;
}

/* ------------------------------------------------------------------------------------------
 * Evaluation */

typedef struct eval_shared {
    const bb_rank_scorer *scorer;
    const bb_rank_lists *heldout;
    const bb_rank_options *opt;
    bb_rank_result *res;
    int k_max;
    int chunk;
    int32_t n_chunks;
    atomic_int next_chunk;
    double *discount; /* discount[p] = 1/log2(p+2): the DCG weight of 0-based rank p */
} eval_shared;

typedef struct eval_worker {
    eval_shared *sh;
    float *scores;      /* chunk x n_items */
    float *user_rows;   /* chunk x dim (embedding scorer) */
    int32_t *stamp;     /* n_items: stamp[i] == tag marks a held-out item of the current user */
    int32_t *mask;      /* merged mask of the current user */
    size_t mask_cap;
    scored_item *heap;  /* k_max */
    int32_t *ranked;    /* k_max */
} eval_worker;

/* Sorted merge of the user's lists from every mask into w->mask; returns its length. */
static size_t merge_masks(eval_worker *w, int32_t user) {
    const bb_rank_options *opt = w->sh->opt;
    size_t total = 0;
    for (int m = 0; m < BB_RANK_MAX_MASKS; m++)
        if (opt->mask[m]) total += opt->mask[m]->offsets[user + 1] - opt->mask[m]->offsets[user];
    if (total > w->mask_cap) {
        free(w->mask);
        w->mask_cap = total * 2;
        w->mask = bb_malloc(w->mask_cap * sizeof *w->mask);
    }
    size_t n = 0;
    for (int m = 0; m < BB_RANK_MAX_MASKS; m++) {
        const bb_rank_lists *l = opt->mask[m];
        if (!l) continue;
        size_t b = l->offsets[user], e = l->offsets[user + 1];
        memcpy(w->mask + n, l->items + b, (e - b) * sizeof *w->mask);
        /* merge in place: insertion of a sorted run into a sorted prefix */
        size_t mid = n;
        n += e - b;
        if (mid > 0 && mid < n && w->mask[mid - 1] > w->mask[mid])
            qsort(w->mask, n, sizeof *w->mask, cmp_i32);
    }
    return n;
}

static int is_masked(const bb_rank_options *opt, int32_t user, int32_t item) {
    for (int m = 0; m < BB_RANK_MAX_MASKS; m++)
        if (opt->mask[m] && bb_rank_lists_contains(opt->mask[m], user, item)) return 1;
    return 0;
}

static void score_user(eval_worker *w, int32_t index, const float *row) {
    eval_shared *sh = w->sh;
    bb_rank_result *res = sh->res;
    const bb_rank_options *opt = sh->opt;
    const bb_rank_lists *ho = sh->heldout;
    int32_t user = res->users[index];
    int32_t tag = index + 1;
    for (size_t p = ho->offsets[user]; p < ho->offsets[user + 1]; p++)
        if (!is_masked(opt, user, ho->items[p])) w->stamp[ho->items[p]] = tag;
    size_t n_mask = merge_masks(w, user);
    int n = topk_core(row, sh->scorer->n_items, w->mask, n_mask, sh->k_max, w->heap, w->ranked);

    int32_t n_held = res->n_heldout[index];
    for (int ki = 0; ki < res->n_ks; ki++) {
        int k = opt->ks[ki];
        int upto = k < n ? k : n;
        int hits = 0, first = 0;
        double dcg = 0.0;
        for (int p = 0; p < upto; p++) {
            if (w->stamp[w->ranked[p]] != tag) continue;
            hits++;
            dcg += sh->discount[p];
            if (!first) first = p + 1;
        }
        int ideal_n = n_held < k ? n_held : k;
        double idcg = 0.0;
        for (int p = 0; p < ideal_n; p++) idcg += sh->discount[p];
        double *v = res->per_user + ((size_t)index * res->n_ks + ki) * BB_RANK_N_METRICS;
        v[BB_RANK_RECALL] = (double)hits / n_held;
        v[BB_RANK_PRECISION] = (double)hits / k;
        v[BB_RANK_NDCG] = dcg / idcg;
        v[BB_RANK_MRR] = first ? 1.0 / first : 0.0;
        v[BB_RANK_HIT] = hits > 0;
        res->hits[(size_t)index * res->n_ks + ki] = hits;
    }
}

static void *eval_worker_main(void *arg) {
    eval_worker *w = arg;
    eval_shared *sh = w->sh;
    const bb_rank_scorer *sc = sh->scorer;
    bb_rank_result *res = sh->res;
    int32_t n_items = sc->n_items;
    for (;;) {
        /* Chunks are claimed dynamically; that is safe for determinism because a user's
         * values depend only on its own score row (see ranking.h). */
        int32_t c = atomic_fetch_add(&sh->next_chunk, 1);
        if (c >= sh->n_chunks) break;
        int32_t begin = c * sh->chunk;
        int32_t m = res->n_users - begin < sh->chunk ? res->n_users - begin : sh->chunk;
        const int32_t *users = res->users + begin;
        if (sc->user_emb) {
            int d = sc->dim;
            for (int32_t r = 0; r < m; r++)
                memcpy(w->user_rows + (size_t)r * d, sc->user_emb + (size_t)users[r] * d,
                       (size_t)d * sizeof(float));
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n_items, d, 1.0f,
                        w->user_rows, d, sc->item_emb, d, 0.0f, w->scores, n_items);
        } else {
            sc->score(sc->ctx, users, m, w->scores);
        }
        for (int32_t r = 0; r < m; r++) score_user(w, begin + r, w->scores + (size_t)r * n_items);
    }
    return NULL;
}

void bb_rank_options_default(bb_rank_options *opt) {
    memset(opt, 0, sizeof *opt);
    opt->ks[0] = 10;
    opt->ks[1] = 20;
    opt->ks[2] = 50;
    opt->n_ks = 3;
    opt->threads = 1;
}

void bb_rank_result_free(bb_rank_result *res) {
    if (!res) return;
    free(res->users);
    free(res->n_heldout);
    free(res->hits);
    free(res->per_user);
    memset(res, 0, sizeof *res);
}

double bb_rank_user_value(const bb_rank_result *res, int32_t user_index, int k_index,
                          int metric) {
    BB_ASSERT(user_index >= 0 && user_index < res->n_users && k_index >= 0 &&
                  k_index < res->n_ks && metric >= 0 && metric < BB_RANK_N_METRICS,
              "bb_rank_user_value: index out of range");
    return res->per_user[((size_t)user_index * res->n_ks + k_index) * BB_RANK_N_METRICS + metric];
}

static int check_inputs(const bb_rank_scorer *sc, const bb_rank_lists *heldout,
                        const bb_rank_options *opt, bb_error *err) {
    if (opt->n_ks <= 0 || opt->n_ks > BB_RANK_MAX_KS)
        return bb_fail(err, "ranking: between 1 and %d cut-offs needed, got %d", BB_RANK_MAX_KS,
                       opt->n_ks);
    for (int i = 0; i < opt->n_ks; i++)
        if (opt->ks[i] <= 0)
            return bb_fail(err, "ranking: cut-off K must be positive, got %d", opt->ks[i]);
    if (!sc->user_emb && !sc->score)
        return bb_fail(err, "ranking: the scorer has neither embeddings nor a score callback");
    if (sc->user_emb && (!sc->item_emb || sc->dim <= 0))
        return bb_fail(err, "ranking: embedding scorer needs item embeddings and dim > 0");
    if (heldout->n_items != sc->n_items)
        return bb_fail(err, "ranking: held-out lists have %d items, the scorer %d",
                       (int)heldout->n_items, (int)sc->n_items);
    for (int m = 0; m < BB_RANK_MAX_MASKS; m++) {
        const bb_rank_lists *l = opt->mask[m];
        if (l && (l->n_users != heldout->n_users || l->n_items != heldout->n_items))
            return bb_fail(err, "ranking: mask %d is %d x %d, held-out lists %d x %d", m,
                           (int)l->n_users, (int)l->n_items, (int)heldout->n_users,
                           (int)heldout->n_items);
    }
    return BB_OK;
}

int bb_rank_evaluate(const bb_rank_scorer *scorer, const bb_rank_lists *heldout,
                     const bb_rank_options *opt, bb_rank_result *res, bb_error *err) {
    memset(res, 0, sizeof *res);
    if (check_inputs(scorer, heldout, opt, err) != BB_OK) return BB_ERR;
    double t0 = bb_now();
    res->n_ks = opt->n_ks;
    memcpy(res->ks, opt->ks, sizeof res->ks);

    /* Evaluated users and their held-out counts after removing masked items. */
    int32_t n_users = 0;
    res->users = bb_malloc(((size_t)heldout->n_users + 1) * sizeof *res->users);
    res->n_heldout = bb_malloc(((size_t)heldout->n_users + 1) * sizeof *res->n_heldout);
    for (int32_t u = 0; u < heldout->n_users; u++) {
        int32_t kept = 0;
        for (size_t p = heldout->offsets[u]; p < heldout->offsets[u + 1]; p++) {
            if (is_masked(opt, u, heldout->items[p]))
                res->heldout_masked++;
            else
                kept++;
        }
        if (kept == 0) continue;
        res->users[n_users] = u;
        res->n_heldout[n_users++] = kept;
    }
    res->n_users = n_users;
    res->hits = bb_calloc((size_t)n_users * opt->n_ks + 1, sizeof *res->hits);
    res->per_user =
        bb_calloc((size_t)n_users * opt->n_ks * BB_RANK_N_METRICS + 1, sizeof *res->per_user);

    int k_max = 0;
    for (int i = 0; i < opt->n_ks; i++) k_max = opt->ks[i] > k_max ? opt->ks[i] : k_max;
    if (k_max > scorer->n_items) k_max = scorer->n_items; /* never more than all items */
    eval_shared *sh = bb_calloc(1, sizeof *sh);
    sh->discount = bb_malloc((size_t)(k_max + 1) * sizeof *sh->discount);
    sh->scorer = scorer;
    sh->heldout = heldout;
    sh->opt = opt;
    sh->res = res;
    sh->k_max = k_max;
    for (int p = 0; p < k_max; p++) sh->discount[p] = 1.0 / log2((double)p + 2.0);
    sh->chunk = opt->chunk_users > 0 ? opt->chunk_users : DEFAULT_CHUNK_USERS;
    sh->n_chunks = (n_users + sh->chunk - 1) / sh->chunk;
    atomic_init(&sh->next_chunk, 0);

    int threads = opt->threads > 0 ? opt->threads : 1;
    if (threads > sh->n_chunks) threads = sh->n_chunks > 0 ? sh->n_chunks : 1;
    eval_worker *workers = bb_calloc((size_t)threads, sizeof *workers);
    for (int t = 0; t < threads; t++) {
        eval_worker *w = &workers[t];
        w->sh = sh;
        w->scores = bb_malloc((size_t)sh->chunk * (size_t)scorer->n_items * sizeof(float) + 4);
        if (scorer->user_emb)
            w->user_rows = bb_malloc((size_t)sh->chunk * (size_t)scorer->dim * sizeof(float));
        w->stamp = bb_calloc((size_t)scorer->n_items + 1, sizeof *w->stamp);
        w->heap = bb_malloc(((size_t)k_max + 1) * sizeof *w->heap);
        w->ranked = bb_malloc(((size_t)k_max + 1) * sizeof *w->ranked);
    }

    if (threads == 1) {
        eval_worker_main(&workers[0]);
    } else {
        /* One BLAS thread per worker: the parallelism is ours. */
        int blas_threads = openblas_get_num_threads();
        openblas_set_num_threads(1);
        pthread_t *tids = bb_malloc((size_t)threads * sizeof *tids);
        int started = 0;
        for (int t = 1; t < threads; t++)
            if (pthread_create(&tids[t], NULL, eval_worker_main, &workers[t]) == 0) started = t;
            else break;
        eval_worker_main(&workers[0]); /* the caller's thread works too; it drains any chunk */
        for (int t = 1; t <= started; t++) pthread_join(tids[t], NULL);
        free(tids);
        openblas_set_num_threads(blas_threads);
    }

    for (int t = 0; t < threads; t++) {
        free(workers[t].scores);
        free(workers[t].user_rows);
        free(workers[t].stamp);
        free(workers[t].mask);
        free(workers[t].heap);
        free(workers[t].ranked);
    }
    free(workers);
    free(sh->discount);
    free(sh);

    /* Aggregates in user order, so they do not depend on which thread scored whom. */
    for (int32_t i = 0; i < n_users; i++) {
        res->total_heldout += res->n_heldout[i];
        for (int ki = 0; ki < res->n_ks; ki++) {
            res->total_hits[ki] += res->hits[(size_t)i * res->n_ks + ki];
            for (int m = 0; m < BB_RANK_N_METRICS; m++)
                res->mean[ki][m] += bb_rank_user_value(res, i, ki, m);
        }
    }
    for (int ki = 0; ki < res->n_ks; ki++) {
        for (int m = 0; m < BB_RANK_N_METRICS; m++)
            res->mean[ki][m] = n_users ? res->mean[ki][m] / n_users : 0.0;
        res->hr_micro[ki] =
            res->total_heldout ? (double)res->total_hits[ki] / (double)res->total_heldout : 0.0;
    }
    res->seconds = bb_now() - t0;
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * Output */

void bb_rank_write_metrics_csv(FILE *fp, int epoch, const char *split,
                               const bb_rank_result *res) {
    for (int ki = 0; ki < res->n_ks; ki++) {
        for (int m = 0; m < BB_RANK_N_METRICS; m++)
            fprintf(fp, "%d,%s,%s,%d,%.17g\n", epoch, split, metric_names[m], res->ks[ki],
                    res->mean[ki][m]);
        fprintf(fp, "%d,%s,hr_micro,%d,%.17g\n", epoch, split, res->ks[ki], res->hr_micro[ki]);
    }
}

void bb_rank_write_per_user_header(FILE *fp) {
    fprintf(fp, "split,user,n_heldout,k,recall,precision,ndcg,mrr,hit,hits\n");
}

void bb_rank_write_per_user_csv(FILE *fp, const char *split, const bb_rank_result *res) {
    for (int32_t i = 0; i < res->n_users; i++) {
        for (int ki = 0; ki < res->n_ks; ki++) {
            const double *v = res->per_user + ((size_t)i * res->n_ks + ki) * BB_RANK_N_METRICS;
            fprintf(fp, "%s,%d,%d,%d,%.17g,%.17g,%.17g,%.17g,%.17g,%d\n", split, (int)res->users[i],
                    (int)res->n_heldout[i], res->ks[ki], v[BB_RANK_RECALL], v[BB_RANK_PRECISION],
                    v[BB_RANK_NDCG], v[BB_RANK_MRR], v[BB_RANK_HIT],
                    (int)res->hits[(size_t)i * res->n_ks + ki]);
        }
    }
}
