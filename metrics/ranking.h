/* ranking — full-ranking evaluation of top-K recommendation (DESIGN §8).
 *
 * Protocol. Every evaluated user is scored against ALL items; the items of the mask lists
 * (the user's training items, and optionally validation items) are removed from the ranking;
 * the top K of the rest are compared with the user's held-out items. Users with no held-out
 * item are not evaluated. A held-out item that is also masked (a pair present in both the
 * mask split and the held-out split) cannot be recommended, so it is dropped from that user's
 * held-out set and counted in bb_rank_result.heldout_masked.
 *
 * Ordering. Items are ranked by score, descending; equal scores are broken by the lower item
 * id; a NaN score counts as -infinity. The ranking of a user therefore depends only on the
 * user's row of scores, never on chunk size or thread count.
 *
 * Metrics, per user u with held-out set T_u and top-K list R_u (binary relevance):
 *   recall@K    = |R_u ∩ T_u| / |T_u|
 *   precision@K = |R_u ∩ T_u| / K
 *   ndcg@K      = DCG / IDCG, DCG = Σ_{p: R_u[p] ∈ T_u} 1/log2(p+1) (p 1-based),
 *                 IDCG = Σ_{p=1}^{min(|T_u|,K)} 1/log2(p+1)
 *   mrr@K       = 1/p of the first hit within the top K, 0 without a hit
 *   hit@K       = 1 when |R_u ∩ T_u| >= 1, else 0
 * Averages are means over evaluated users (in user-id order, double precision).
 * hr_micro@K   = Σ_u |R_u ∩ T_u| / Σ_u |T_u| — SELFRec's "Hit Ratio", which BEAT reports.
 *
 * Scoring. Scores come either from embeddings (score(u,i) = <user_emb[u], item_emb[i]>,
 * computed for a chunk of users at a time with cblas_sgemm) or from a callback (Pop).
 * Chunks are processed by `threads` worker threads; each user's values depend only on its
 * own score row, and aggregates are summed in user order after the workers finish, so
 * results are bit-identical for any thread count or chunk size. While workers run, OpenBLAS
 * is held at one thread (restored afterwards) so the two levels of threading do not fight.
 *
 * Ownership. bb_rank_lists and bb_rank_result own their arrays (free with the matching
 * _free); the evaluator reads the scorer's matrices and the lists without keeping them.
 */
#ifndef BB_RANKING_H
#define BB_RANKING_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "models/base/bb_error.h"

#define BB_RANK_MAX_KS 8
#define BB_RANK_MAX_MASKS 2

/* Per-user metrics, in this order in bb_rank_result.per_user. */
enum {
    BB_RANK_RECALL,
    BB_RANK_PRECISION,
    BB_RANK_NDCG,
    BB_RANK_MRR,
    BB_RANK_HIT,
    BB_RANK_N_METRICS
};

/* "recall", "precision", "ndcg", "mrr", "hit". */
const char *bb_rank_metric_name(int metric);

/* ------------------------------------------------------------------------------------------
 * Per-user item lists (CSR): items of user u are items[offsets[u] .. offsets[u+1]), sorted
 * ascending, without duplicates. */
typedef struct bb_rank_lists {
    int32_t n_users, n_items;
    size_t *offsets; /* n_users + 1 entries; owned */
    int32_t *items;  /* offsets[n_users] entries; owned */
} bb_rank_lists;

/* Builds the lists from n (user, item) pairs; duplicate pairs are kept once. Ids outside
 * [0, n_users) x [0, n_items) are an error naming the pair index. */
int bb_rank_lists_build(bb_rank_lists *lists, int32_t n_users, int32_t n_items,
                        const int32_t *users, const int32_t *items, size_t n, bb_error *err);
void bb_rank_lists_free(bb_rank_lists *lists);
/* 1 when item is in user's list (binary search). */
int bb_rank_lists_contains(const bb_rank_lists *lists, int32_t user, int32_t item);

/* ------------------------------------------------------------------------------------------
 * Scorers. */

/* Fills scores[r * n_items + i] for users[r], r < n_users_chunk. Called concurrently from
 * several worker threads with disjoint outputs; must not depend on which users share a call. */
typedef void (*bb_rank_score_fn)(void *ctx, const int32_t *users, int n_users_chunk,
                                 float *scores);

typedef struct bb_rank_scorer {
    int32_t n_items;
    /* Embedding scorer: row-major user (n_users x dim) and item (n_items x dim) matrices. */
    const float *user_emb, *item_emb;
    int dim;
    /* Callback scorer, used when user_emb is NULL. */
    bb_rank_score_fn score;
    void *ctx;
} bb_rank_scorer;

typedef struct bb_rank_options {
    int ks[BB_RANK_MAX_KS]; /* cut-offs, each > 0, any order; n_ks of them */
    int n_ks;
    const bb_rank_lists *mask[BB_RANK_MAX_MASKS]; /* NULL entries are ignored */
    int threads;     /* worker threads; <= 0 means 1 */
    int chunk_users; /* users scored per sgemm call; <= 0 means the default (64) */
} bb_rank_options;

/* Sets ks = {10, 20, 50}, no mask, 1 thread, default chunk. */
void bb_rank_options_default(bb_rank_options *opt);

typedef struct bb_rank_result {
    int n_ks;
    int ks[BB_RANK_MAX_KS]; /* as given in the options */
    int32_t n_users;        /* evaluated users (>= 1 held-out item after masking) */
    int32_t *users;         /* n_users ids, ascending; owned */
    int32_t *n_heldout;     /* per evaluated user |T_u|; owned */
    int32_t *hits;          /* [n_users][n_ks] |R_u ∩ T_u|; owned */
    double *per_user;       /* [n_users][n_ks][BB_RANK_N_METRICS]; owned */
    double mean[BB_RANK_MAX_KS][BB_RANK_N_METRICS];
    double hr_micro[BB_RANK_MAX_KS];
    int64_t total_heldout;
    int64_t total_hits[BB_RANK_MAX_KS];
    size_t heldout_masked; /* held-out pairs dropped because a mask list holds them */
    double seconds;        /* wall time of the evaluation pass */
} bb_rank_result;

/* Evaluates every user of `heldout` with at least one unmasked held-out item. The lists must
 * agree with the scorer on n_items. Errors: a cut-off <= 0, too many cut-offs, mismatched
 * sizes. On error res is left empty (safe to free). */
int bb_rank_evaluate(const bb_rank_scorer *scorer, const bb_rank_lists *heldout,
                     const bb_rank_options *opt, bb_rank_result *res, bb_error *err);
void bb_rank_result_free(bb_rank_result *res);

/* Per-user value of metric at cut-off index k_index (0-based into ks). */
double bb_rank_user_value(const bb_rank_result *res, int32_t user_index, int k_index, int metric);

/* Top-k of one score row: writes up to k item ids (fewer when fewer items are unmasked) to
 * out, best first, and returns how many. mask is a sorted list of excluded item ids
 * (duplicates allowed). Allocates its own scratch; the evaluator uses a per-thread one. */
int bb_rank_topk(const float *scores, int32_t n_items, const int32_t *mask, size_t n_mask,
                 int k, int32_t *out);

/* ------------------------------------------------------------------------------------------
 * Output rows. Values are printed with 17 significant digits, so equal results give
 * byte-identical files. */

/* CSV rows "epoch,split,metric,k,value" for every metric (incl. hr_micro) and cut-off. */
void bb_rank_write_metrics_csv(FILE *fp, int epoch, const char *split, const bb_rank_result *res);
/* Header "split,user,n_heldout,k,recall,precision,ndcg,mrr,hit,hits". */
void bb_rank_write_per_user_header(FILE *fp);
void bb_rank_write_per_user_csv(FILE *fp, const char *split, const bb_rank_result *res);

#endif
