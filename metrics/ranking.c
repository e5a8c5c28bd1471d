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
#include "models/base/bb_simd.h"
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
 * Top-K selection with a candidate buffer — the general path, used when the block-maxima
 * path below does not apply (small catalogues, rows of -inf/NaN). Items are scanned in
 * ascending id while a threshold t holds the score of the k-th best candidate kept at the
 * last compaction. A
 * later item whose score equals t has a higher id than every kept candidate, so it is worse
 * than all k of them: a strict `s > t` is the whole admission test, and NaN fails it. Admitted
 * items are appended; when the buffer is full, a quickselect keeps the best k and raises t.
 * Almost every item fails the test, so blocks of 16 are tested first with a branch-free OR
 * that compiles to one vector compare. This beats a binary heap, whose sift on every
 * admission cost as much as the scan itself on 14k-item rows. */

typedef struct {
    float score;
    int32_t item;
} scored_item;

/* Strict order of the protocol: higher score first, then lower item id. */
static inline int better(scored_item a, scored_item b) {
    return a.score > b.score || (a.score == b.score && a.item < b.item);
}

/* Rearranges a[0..n) so that its best k come first (in no particular order); k < n. */
static void select_best(scored_item *a, int n, int k) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        /* median of three as the pivot keeps sorted runs from going quadratic */
        int mid = lo + (hi - lo) / 2;
        scored_item x = a[lo], y = a[mid], z = a[hi], pivot;
        if (better(x, y))
            pivot = better(y, z) ? y : (better(x, z) ? z : x);
        else
            pivot = better(x, z) ? x : (better(y, z) ? z : y);
        int i = lo, j = hi;
        while (i <= j) {
            while (better(a[i], pivot)) i++;
            while (better(pivot, a[j])) j--;
            if (i <= j) {
                scored_item t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        /* a[lo..j] are not worse than the pivot, a[i..hi] not better, between them equal */
        if (k - 1 <= j)
            hi = j;
        else if (k - 1 >= i)
            lo = i;
        else
            return;
    }
}

static void sort_best_first(scored_item *a, int n) {
    for (int i = 1; i < n; i++) {
        scored_item x = a[i];
        int j = i - 1;
        for (; j >= 0 && better(x, a[j]); j--) a[j + 1] = a[j];
        a[j + 1] = x;
    }
}

/* Worst score among a[0..n). */
static float worst_score(const scored_item *a, int n) {
    float w = a[0].score;
    for (int i = 1; i < n; i++) w = a[i].score < w ? a[i].score : w;
    return w;
}

/* The plain scan: buf holds cap >= k + 16 slots. */
static int topk_scan(const float *scores, int32_t n_items, const int32_t *mask, size_t n_mask,
                     int k, scored_item *buf, int cap, int32_t *out) {
    int n = 0;
    size_t next_mask = 0;
    float threshold = -INFINITY;
    int32_t i = 0;
    while (i < n_items) {
        while (next_mask < n_mask && mask[next_mask] < i) next_mask++;
        int32_t stop = next_mask < n_mask ? mask[next_mask] : n_items;
        for (; i < stop && n < k; i++) { /* the first k unmasked items are admitted as is */
            buf[n].score = isnan(scores[i]) ? -INFINITY : scores[i];
            buf[n++].item = i;
            if (n == k) threshold = worst_score(buf, n);
        }
        while (i < stop) {
            if (stop - i >= 16) {
                int any = 0;
                for (int j = 0; j < 16; j++) any |= scores[i + j] > threshold;
                if (!any) {
                    i += 16;
                    continue;
                }
            }
            int32_t block_end = stop - i >= 16 ? i + 16 : stop;
            for (; i < block_end; i++) {
                if (!(scores[i] > threshold)) continue;
                buf[n].score = scores[i];
                buf[n++].item = i;
            }
            if (n > cap - 16) { /* room for one more block is kept free */
                select_best(buf, n, k);
                n = k;
                threshold = worst_score(buf, n);
            }
        }
        i = stop + 1; /* skip the masked item (or end the scan) */
    }
    if (n > k) {
        select_best(buf, n, k);
        n = k;
    }
    sort_best_first(buf, n);
    for (int p = 0; p < n; p++) out[p] = buf[p].item;
    return n;
}

/* ------------------------------------------------------------------------------------------
 * Top-K by block maxima, the fast path. Items are dealt into G groups by id modulo G
 * (G = a multiple of 8 near n_items/16), so the maxima of all groups come from a vertical
 * max over rows of G scores, which vectorises. Let t be the k-th largest group maximum: k
 * distinct items score >= t, so the final k-th best score is >= t and every member of the
 * top k lies in a group whose maximum is >= t and itself scores >= t. Only those groups are
 * visited; the few candidates found go through the exact selection above. Masked items are
 * set to -inf in the (scratch) row first; NaN never wins a `>` and never passes `>= t`.
 * When fewer than k groups hold a finite score (tiny catalogues, rows of -inf/NaN), the
 * plain scan decides. */

static int group_count(int32_t n_items) { return (int)((n_items / 16 + 7) / 8 * 8); }

static void group_maxima(const float *row, int32_t n_items, int groups, float *gmax) {
    int full_rows = n_items / groups;
    for (int b = 0; b < groups; b += 8) {
        bb_vec8f m = bb_splat8(-INFINITY);
        for (int j = 0; j < full_rows; j++) {
            bb_vec8f v = bb_load8(row + (size_t)j * groups + b);
            bb_vec8i gt = v > m;
            m = (bb_vec8f)(((bb_vec8i)v & gt) | ((bb_vec8i)m & ~gt));
        }
        bb_store8(gmax + b, m);
    }
    for (int32_t i = (int32_t)full_rows * groups; i < n_items; i++) {
        int b = (int)(i - (int32_t)full_rows * groups);
        if (row[i] > gmax[b]) gmax[b] = row[i];
    }
}

/* k-th largest value of a[0..n) (1 <= k <= n); a and b (n floats each) are scratch.
 * Quickselect with a branch-free three-way partition: each element is written to both
 * ends of the other buffer — greater ones at the front, smaller ones at the back — and only
 * the matching end advances, so the loop has no data-dependent branch (a Hoare partition
 * mispredicts about every other comparison on these values and cost as much as the whole
 * scan of the row). NaN never occurs here (group maxima start at -inf and grow by `>`). */
static float kth_largest(float *a, float *b, int n, int k) {
    float *cur = a, *spare = b;
    for (;;) {
        if (n == 1) return cur[0];
        float x = cur[0], y = cur[n / 2], z = cur[n - 1];
        float pivot = x > y ? (y > z ? y : (x > z ? z : x)) : (x > z ? x : (y > z ? z : y));
        int n_gt = 0, n_lt = 0;
        for (int i = 0; i < n; i++) {
            float v = cur[i];
            spare[n_gt] = v;
            spare[n - 1 - n_lt] = v;
            n_gt += v > pivot;
            n_lt += v < pivot;
        }
        /* spare[0, n_gt) > pivot, spare[n - n_lt, n) < pivot; the old run becomes spare */
        int n_eq = n - n_gt - n_lt;
        float *old = cur;
        if (k <= n_gt) {
            cur = spare;
            n = n_gt;
        } else if (k <= n_gt + n_eq) {
            return pivot;
        } else {
            k -= n_gt + n_eq;
            cur = spare + (n - n_lt);
            n = n_lt;
        }
        spare = old;
    }
}

typedef struct topk_scratch {
    scored_item *cand; /* max(n_items, topk_buffer_cap(k)) */
    float *gmax;       /* 3 * group_count(n_items) */
} topk_scratch;

static int topk_buffer_cap(int k) { return 2 * k + 64; }

static void topk_scratch_init(topk_scratch *ws, int32_t n_items, int k) {
    size_t cap = (size_t)n_items > (size_t)topk_buffer_cap(k) ? (size_t)n_items
                                                              : (size_t)topk_buffer_cap(k);
    ws->cand = bb_malloc(cap * sizeof *ws->cand);
    ws->gmax = bb_malloc(3 * ((size_t)group_count(n_items) + 8) * sizeof *ws->gmax);
}

static void topk_scratch_free(topk_scratch *ws) {
    free(ws->cand);
    free(ws->gmax);
}

/* Top-k of a scratch row (masked entries are overwritten with -inf). */
static int topk_core(float *row, int32_t n_items, const int32_t *mask, size_t n_mask, int k,
                     topk_scratch *ws, int32_t *out) {
    int groups = group_count(n_items);
    if (groups >= k && groups > 0) {
        for (size_t m = 0; m < n_mask; m++) row[mask[m]] = -INFINITY;
        float *gmax = ws->gmax, *work = ws->gmax + groups, *work2 = ws->gmax + 2 * groups;
        group_maxima(row, n_items, groups, gmax);
        memcpy(work, gmax, (size_t)groups * sizeof *work);
        float t = kth_largest(work, work2, groups, k);
        if (t > -INFINITY) {
            int n = 0;
            for (int b = 0; b < groups; b++) {
                if (!(gmax[b] >= t)) continue;
                for (int32_t i = b; i < n_items; i += groups) {
                    if (!(row[i] >= t)) continue;
                    ws->cand[n].score = row[i];
                    ws->cand[n++].item = i;
                }
            }
            if (n > k) select_best(ws->cand, n, k);
            n = n > k ? k : n;
            sort_best_first(ws->cand, n);
            for (int p = 0; p < n; p++) out[p] = ws->cand[p].item;
            return n;
        }
    }
    return topk_scan(row, n_items, mask, n_mask, k, ws->cand, topk_buffer_cap(k), out);
}

int bb_rank_topk(const float *scores, int32_t n_items, const int32_t *mask, size_t n_mask,
                 int k, int32_t *out) {
    if (k <= 0 || n_items <= 0) return 0;
    float *row = bb_malloc((size_t)n_items * sizeof *row);
    memcpy(row, scores, (size_t)n_items * sizeof *row);
    topk_scratch ws;
    topk_scratch_init(&ws, n_items, k);
    int n = topk_core(row, n_items, mask, n_mask, k, &ws, out);
    topk_scratch_free(&ws);
    free(row);
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
    topk_scratch topk;
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

static void score_user(eval_worker *w, int32_t index, float *row) {
    eval_shared *sh = w->sh;
    bb_rank_result *res = sh->res;
    const bb_rank_options *opt = sh->opt;
    const bb_rank_lists *ho = sh->heldout;
    int32_t user = res->users[index];
    int32_t tag = index + 1;
    for (size_t p = ho->offsets[user]; p < ho->offsets[user + 1]; p++)
        if (!is_masked(opt, user, ho->items[p])) w->stamp[ho->items[p]] = tag;
    size_t n_mask = merge_masks(w, user);
    int n = topk_core(row, sh->scorer->n_items, w->mask, n_mask, sh->k_max, &w->topk, w->ranked);

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
        topk_scratch_init(&w->topk, scorer->n_items, k_max);
        w->ranked = bb_malloc(((size_t)k_max + 1) * sizeof *w->ranked);
    }

    /* One BLAS thread per worker: the parallelism is ours. */
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    pthread_t *tids = bb_malloc((size_t)threads * sizeof *tids);
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tids[t], NULL, eval_worker_main, &workers[t]) != 0) break;
        started = t;
    }
    eval_worker_main(&workers[0]); /* the caller works too, and drains what others leave */
    for (int t = 1; t <= started; t++) pthread_join(tids[t], NULL);
    free(tids);
    openblas_set_num_threads(blas_threads);

    for (int t = 0; t < threads; t++) {
        free(workers[t].scores);
        free(workers[t].user_rows);
        free(workers[t].stamp);
        free(workers[t].mask);
        topk_scratch_free(&workers[t].topk);
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
