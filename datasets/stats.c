/* stats — dataset statistics. See stats.h. */
#include "datasets/stats.h"

#include <stdlib.h>
#include <string.h>

#include "datasets/pairset.h"
#include "models/base/bb_io.h"

double bb_data_quantile(const int32_t *sorted, size_t n, double q) {
    BB_ASSERT(n >= 1 && q >= 0.0 && q <= 1.0, "quantile %g of %zu values", q, n);
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)h;
    if (lo >= n - 1) return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static bb_degree_summary summarise(int32_t *degree, size_t n) {
    bb_degree_summary d = {0, 0, 0, 0, 0};
    if (n == 0) return d;
    double sum = 0;
    for (size_t k = 0; k < n; k++) sum += degree[k];
    qsort(degree, n, sizeof *degree, cmp_i32);
    d.min = degree[0];
    d.median = bb_data_quantile(degree, n, 0.5);
    d.p90 = bb_data_quantile(degree, n, 0.9);
    d.max = degree[n - 1];
    d.mean = sum / (double)n;
    return d;
}

void bb_data_stats_compute(const bb_dataset *ds, const bb_explanations *ex, bb_data_stats *st) {
    memset(st, 0, sizeof *st);
    st->n_users = ds->n_users;
    st->n_items = ds->n_items;
    st->n_train = ds->train.n;
    st->n_valid = ds->valid.n;
    st->n_test = ds->test.n;
    double cells = (double)ds->n_users * (double)ds->n_items;
    st->density = cells > 0 ? (double)(st->n_train + st->n_valid + st->n_test) / cells : 0.0;
    st->train_density = cells > 0 ? (double)st->n_train / cells : 0.0;
    st->duplicates_dropped = ds->duplicates_dropped;
    st->duplicates_within_split = ds->duplicates_within_split;
    st->duplicates_across_splits = ds->duplicates_across_splits;

    size_t nu = (size_t)ds->n_users, ni = (size_t)ds->n_items;
    int32_t *user_deg = bb_calloc(nu, sizeof *user_deg), *item_deg = bb_calloc(ni, sizeof *item_deg);
    uint8_t *user_seen = bb_calloc(nu, 1), *item_seen = bb_calloc(ni, 1);
    for (size_t r = 0; r < ds->train.n; r++) {
        user_deg[ds->train.user[r]]++;
        item_deg[ds->train.item[r]]++;
    }
    for (int k = 1; k < 3; k++) {
        const bb_interactions *x = bb_dataset_split(ds, k);
        for (size_t r = 0; r < x->n; r++) {
            user_seen[x->user[r]] = 1;
            item_seen[x->item[r]] = 1;
        }
    }
    for (size_t u = 0; u < nu; u++) {
        st->cold_users += user_seen[u] && user_deg[u] == 0;
        st->users_without_rows += !user_seen[u] && user_deg[u] == 0;
    }
    for (size_t i = 0; i < ni; i++) {
        st->cold_items += item_seen[i] && item_deg[i] == 0;
        st->items_without_rows += !item_seen[i] && item_deg[i] == 0;
    }
    for (size_t r = 0; r < ds->test.n; r++)
        st->cold_test_rows += user_deg[ds->test.user[r]] == 0 || item_deg[ds->test.item[r]] == 0;

    if (ex) {
        st->has_explanations = 1;
        st->explained_pairs = ex->n;
        st->explained_duplicate_pairs = ex->duplicate_pairs;
        bb_pairset where;
        bb_pairset_init(&where, ds->train.n + ds->valid.n + ds->test.n);
        for (int k = 0; k < 3; k++) {
            const bb_interactions *x = bb_dataset_split(ds, k);
            for (size_t r = 0; r < x->n; r++)
                bb_pairset_insert(&where, x->user[r], x->item[r], (uint32_t)k, NULL);
        }
        memset(user_seen, 0, nu);
        memset(item_seen, 0, ni);
        for (size_t r = 0; r < ex->n; r++) {
            int32_t u = ex->rows[r].uid, i = ex->rows[r].iid;
            BB_ASSERT(u < ds->n_users && i < ds->n_items,
                      "explained pair (%d, %d) beyond the dataset; call bb_explanations_check_ids",
                      u, i);
            const uint32_t *k = bb_pairset_find(&where, u, i);
            if (!k)
                st->explained_in_none++;
            else if (*k == 0)
                st->explained_in_train++;
            else if (*k == 1)
                st->explained_in_valid++;
            else
                st->explained_in_test++;
            if (!user_seen[u]) {
                user_seen[u] = 1;
                st->explained_users++;
                st->explained_cold_users += user_deg[u] == 0;
            }
            if (!item_seen[i]) {
                item_seen[i] = 1;
                st->explained_items++;
                st->explained_cold_items += item_deg[i] == 0;
            }
        }
        bb_pairset_free(&where);
    }
    st->user_degree = summarise(user_deg, nu);
    st->item_degree = summarise(item_deg, ni);
    free(user_deg);
    free(item_deg);
    free(user_seen);
    free(item_seen);
}
