/* synth — synthetic dataset with planted groups and aspects. See synth.h and FORMAT.md. */
#include "datasets/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/pairset.h"
#include "datasets/synth_text.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"

/* Affinity weights (FORMAT.md): a same-group item weighs SAME_GROUP_WEIGHT times more, each
 * shared aspect adds ASPECT_WEIGHT to the multiplier (1 + ASPECT_WEIGHT x overlap). With 8
 * groups about 80% of interactions stay inside the user's group. */
#define SAME_GROUP_WEIGHT 16.0
#define ASPECT_WEIGHT 1.0
#define OWN_GROUP_ASPECT_P 0.85 /* chance an entity's aspect comes from its own group */
#define POPULARITY_SIGMA 0.7    /* item popularity: lognormal */
#define DEGREE_SIGMA 0.7        /* user activity: lognormal */
#define MIN_DEGREE 4
#define EXPLAINED_FROM_TRAIN 0.85
#define EXPLAINED_FROM_VALID 0.05 /* the rest (10%) from test, as in the XRec files */

void bb_synth_default_config(bb_synth_config *cfg) {
    cfg->users = 2000;
    cfg->items = 1500;
    cfg->groups = 8;
    cfg->aspects = 40;
    cfg->interactions = 60000;
    cfg->explained = 1500;
    cfg->seed = 1;
}

int bb_synth_check_config(const bb_synth_config *c, bb_error *err) {
    if (c->users < 1) return bb_fail(err, "--users: expected at least 1, got %d", c->users);
    if (c->items < 2 * MIN_DEGREE)
        return bb_fail(err, "--items: expected at least %d, got %d", 2 * MIN_DEGREE, c->items);
    if (c->aspects < 4 || c->aspects > BB_SYNTH_MAX_ASPECTS)
        return bb_fail(err, "--aspects: expected 4 to %d (the phrase list), got %d",
                       BB_SYNTH_MAX_ASPECTS, c->aspects);
    if (c->groups < 1 || c->groups > c->aspects)
        return bb_fail(err, "--groups: expected 1 to --aspects (%d), got %d", c->aspects,
                       c->groups);
    long long lo = (long long)MIN_DEGREE * c->users, hi = (long long)c->users * (c->items / 2);
    if (c->interactions < lo || c->interactions > hi)
        return bb_fail(err,
                       "--interactions: expected %lld to %lld (%d to items/2 per user), got %d",
                       lo, hi, MIN_DEGREE, c->interactions);
    if (c->explained < 0 || c->explained > c->interactions / 2)
        return bb_fail(err, "--explained: expected 0 to interactions/2 (%d), got %d",
                       c->interactions / 2, c->explained);
    return BB_OK;
}

/* ------------------------------------------------------------------------------------ */
/* aspects and entities                                                                 */

/* Aspect a belongs to group a mod G and takes the next unused phrase of the group's theme
 * (theme g mod 12), or of the following themes once that one is used up. */
static void make_aspects(bb_synth *s) {
    int A = s->cfg.aspects, G = s->cfg.groups;
    s->aspect_group = bb_malloc((size_t)A * sizeof *s->aspect_group);
    s->aspect_phrase = bb_malloc((size_t)A * sizeof *s->aspect_phrase);
    int next[BB_SYNTH_THEMES] = {0};
    for (int a = 0; a < A; a++) {
        int g = a % G, t = g % BB_SYNTH_THEMES;
        while (next[t] == BB_SYNTH_PHRASES_PER_THEME) t = (t + 1) % BB_SYNTH_THEMES;
        s->aspect_group[a] = g;
        s->aspect_phrase[a] = bb_synth_phrase(t, next[t]++);
    }
}

/* Draws group and 2-4 distinct aspects for n entities into group[] and lists. */
static void draw_entities(const bb_synth *s, uint64_t seed, const char *purpose, int n,
                          int32_t *group, bb_aspect_lists *lists) {
    int A = s->cfg.aspects, G = s->cfg.groups;
    /* aspects of each group: by construction a = g, g + G, g + 2G, ... */
    bb_rng r;
    bb_rng_seed(&r, seed, purpose);
    lists->n = n;
    lists->off = bb_malloc(((size_t)n + 1) * sizeof *lists->off);
    lists->list = bb_malloc((size_t)n * 4 * sizeof *lists->list);
    lists->off[0] = 0;
    for (int e = 0; e < n; e++) {
        int g = (int)bb_rng_below(&r, (uint64_t)G);
        int in_group = (A - g + G - 1) / G; /* count of a < A with a mod G == g */
        int k = 2 + (int)bb_rng_below(&r, 3);
        if (k > A) k = A;
        int32_t *mine = lists->list + lists->off[e];
        int have = 0;
        while (have < k) {
            int a;
            if (bb_rng_uniform(&r) < OWN_GROUP_ASPECT_P)
                a = g + G * (int)bb_rng_below(&r, (uint64_t)in_group);
            else
                a = (int)bb_rng_below(&r, (uint64_t)A);
            int dup = 0;
            for (int j = 0; j < have; j++) dup |= mine[j] == a;
            if (!dup) mine[have++] = a;
        }
        group[e] = g;
        lists->off[e + 1] = lists->off[e] + k;
    }
}

/* ------------------------------------------------------------------------------------ */
/* interactions                                                                         */

/* Degrees summing to exactly cfg.interactions: MIN_DEGREE each plus a lognormal share of
 * the rest, capped at items/2; rounding leftovers go one by one in a random user order. */
static int32_t *draw_degrees(const bb_synth_config *c) {
    bb_rng r;
    bb_rng_seed(&r, c->seed, "synth/degrees");
    int U = c->users, cap = c->items / 2;
    double *w = bb_malloc((size_t)U * sizeof *w), wsum = 0;
    for (int u = 0; u < U; u++) wsum += w[u] = exp(DEGREE_SIGMA * bb_rng_normal(&r));
    int32_t *deg = bb_malloc((size_t)U * sizeof *deg);
    long long spare = (long long)c->interactions - (long long)MIN_DEGREE * U, left = spare;
    for (int u = 0; u < U; u++) {
        long long d = MIN_DEGREE + (long long)floor((double)spare * w[u] / wsum);
        if (d > cap) d = cap;
        deg[u] = (int32_t)d;
        left -= d - MIN_DEGREE;
    }
    int32_t *order = bb_malloc((size_t)U * sizeof *order);
    for (int u = 0; u < U; u++) order[u] = u;
    bb_rng_shuffle_i32(&r, order, (size_t)U);
    for (int k = 0; left > 0; k = (k + 1) % U)
        if (deg[order[k]] < cap) {
            deg[order[k]]++;
            left--;
        }
    free(order);
    free(w);
    return deg;
}

typedef struct growing_pairs {
    bb_interactions *x;
    size_t cap;
} growing_pairs;

static void push_pair(growing_pairs *g, int32_t u, int32_t i) {
    if (g->x->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 1024;
        g->x->user = bb_realloc(g->x->user, g->cap * sizeof *g->x->user);
        g->x->item = bb_realloc(g->x->item, g->cap * sizeof *g->x->item);
    }
    g->x->user[g->x->n] = u;
    g->x->item[g->x->n] = i;
    g->x->n++;
}

/* For each user: affinity weights over all items, deg[u] distinct items drawn by weight
 * (inverse CDF with rejection of repeats), shuffled and split ~80/10/10. */
static void draw_interactions(bb_synth *s, const int32_t *deg) {
    const bb_synth_config *c = &s->cfg;
    int U = c->users, I = c->items, A = c->aspects;
    bb_rng pop_rng, pick, split;
    bb_rng_seed(&pop_rng, c->seed, "synth/popularity");
    bb_rng_seed(&pick, c->seed, "synth/interactions");
    bb_rng_seed(&split, c->seed, "synth/split");
    double *pop = bb_malloc((size_t)I * sizeof *pop);
    for (int i = 0; i < I; i++) pop[i] = exp(POPULARITY_SIGMA * bb_rng_normal(&pop_rng));
    double *cum = bb_malloc((size_t)I * sizeof *cum);
    int32_t *stamp = bb_malloc((size_t)I * sizeof *stamp);
    for (int i = 0; i < I; i++) stamp[i] = -1;
    uint8_t *user_has = bb_calloc((size_t)A, 1);
    int32_t *drawn = bb_malloc((size_t)(I / 2 + 1) * sizeof *drawn);
    growing_pairs parts[3] = {{&s->data.train, 0}, {&s->data.valid, 0}, {&s->data.test, 0}};

    for (int u = 0; u < U; u++) {
        const bb_aspect_lists *ua = &s->user_aspects, *ia = &s->item_aspects;
        for (int32_t k = ua->off[u]; k < ua->off[u + 1]; k++) user_has[ua->list[k]] = 1;
        double total = 0;
        for (int i = 0; i < I; i++) {
            int overlap = 0;
            for (int32_t k = ia->off[i]; k < ia->off[i + 1]; k++) overlap += user_has[ia->list[k]];
            double w = pop[i] * (s->user_group[u] == s->item_group[i] ? SAME_GROUP_WEIGHT : 1.0) *
                       (1.0 + ASPECT_WEIGHT * overlap);
            cum[i] = total += w;
        }
        for (int32_t k = ua->off[u]; k < ua->off[u + 1]; k++) user_has[ua->list[k]] = 0;
        for (int n = 0; n < deg[u];) {
            double x = bb_rng_uniform(&pick) * total;
            int lo = 0, hi = I - 1; /* first i with cum[i] > x */
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (cum[mid] > x)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            if (stamp[lo] == u) continue;
            stamp[lo] = u;
            drawn[n++] = lo;
        }
        bb_rng_shuffle_i32(&split, drawn, (size_t)deg[u]);
        int n_test = (int)floor(0.1 * deg[u] + bb_rng_uniform(&split));
        int n_valid = (int)floor(0.1 * deg[u] + bb_rng_uniform(&split));
        while (deg[u] - n_test - n_valid < 1) n_test > 0 ? n_test-- : n_valid--;
        for (int n = 0; n < deg[u]; n++) {
            int part = n < n_test ? 2 : n < n_test + n_valid ? 1 : 0;
            push_pair(&parts[part], u, drawn[n]);
            s->same_group_interactions += s->user_group[u] == s->item_group[drawn[n]];
        }
    }
    s->data.n_users = U;
    s->data.n_items = I;
    free(pop);
    free(cum);
    free(stamp);
    free(user_has);
    free(drawn);
}

/* ------------------------------------------------------------------------------------ */
/* explained pairs and their text                                                       */

static int shared_aspects(const bb_synth *s, int32_t u, int32_t i) {
    const bb_aspect_lists *ua = &s->user_aspects, *ia = &s->item_aspects;
    int n = 0;
    for (int32_t j = ua->off[u]; j < ua->off[u + 1]; j++)
        for (int32_t k = ia->off[i]; k < ia->off[i + 1]; k++) n += ua->list[j] == ia->list[k];
    return n;
}

/* Picks cfg.explained distinct interaction rows: 85% train, 5% valid, 10% test, preferring
 * pairs that share an aspect (the explanation is built from the shared aspects); returns
 * (split, row) pairs packed as split << 32 | row. */
static uint64_t *pick_explained(const bb_synth *s) {
    const bb_synth_config *c = &s->cfg;
    bb_rng r;
    bb_rng_seed(&r, c->seed, "synth/explained");
    bb_pairset taken;
    bb_pairset_init(&taken, (size_t)c->explained);
    uint64_t *picks = bb_malloc(((size_t)c->explained + 1) * sizeof *picks);
    for (int e = 0; e < c->explained; e++) {
        double x = bb_rng_uniform(&r);
        int part = x < EXPLAINED_FROM_TRAIN ? 0 : x < EXPLAINED_FROM_TRAIN + EXPLAINED_FROM_VALID ? 1 : 2;
        int found = 0;
        /* random tries in the chosen split, then a scan of all splits from a random row,
         * which ends because at most half of all rows are ever taken */
        for (int attempt = 0; attempt < 32 && !found; attempt++) {
            const bb_interactions *x_part = bb_dataset_split(&s->data, part);
            if (x_part->n == 0) break;
            size_t row = bb_rng_below(&r, x_part->n);
            if (attempt < 24 && !shared_aspects(s, x_part->user[row], x_part->item[row]))
                continue;
            if (bb_pairset_insert(&taken, x_part->user[row], x_part->item[row], 0, NULL)) {
                picks[e] = (uint64_t)part << 32 | row;
                found = 1;
            }
        }
        for (int p = 0; p < 3 && !found; p++) {
            const bb_interactions *x_part = bb_dataset_split(&s->data, (part + p) % 3);
            if (x_part->n == 0) continue;
            size_t start = bb_rng_below(&r, x_part->n);
            for (size_t k = 0; k < x_part->n && !found; k++) {
                size_t row = (start + k) % x_part->n;
                if (bb_pairset_insert(&taken, x_part->user[row], x_part->item[row], 0, NULL)) {
                    picks[e] = (uint64_t)((part + p) % 3) << 32 | row;
                    found = 1;
                }
            }
        }
        BB_ASSERT(found, "no free interaction left for explained pair %d", e);
    }
    bb_pairset_free(&taken);
    return picks;
}

static char *dup_text(const char *s) { return bb_strdup(s); }

static void entity_summary(const bb_synth *s, const bb_aspect_lists *lists, int e, int is_user,
                           char *out, size_t cap) {
    bb_rng r;
    bb_rng_seed_indexed(&r, s->cfg.seed, is_user ? "synth/user-summary" : "synth/item-summary",
                        (uint64_t)e);
    const char *names[4];
    int n = 0;
    for (int32_t k = lists->off[e]; k < lists->off[e + 1]; k++)
        names[n++] = s->aspect_phrase[lists->list[k]];
    if (is_user)
        bb_synth_user_summary(&r, names, n, out, cap);
    else
        bb_synth_item_summary(&r, names, n, out, cap);
}

/* Writes an explanation no earlier row has: an identical text in a train and a test pair
 * would fail the leakage check (train_text.h), and the XRec explanations are all distinct.
 * Retries draw another template and aspect order (mention is reordered in place, so the
 * planted order follows the text); a config too small for distinct sentences gets a
 * "(pair U-I)" tag as the last resort. */
static void unique_explanation(const bb_synth *s, bb_rng *text, const bb_pairset *written,
                               const char *title, int32_t *mention, int n,
                               const char *user_only, int32_t u, int32_t i, char *buf,
                               size_t cap) {
    for (int attempt = 0;; attempt++) {
        if (attempt > 0) bb_rng_shuffle_i32(text, mention, (size_t)n);
        const char *names[3];
        for (int k = 0; k < n; k++) names[k] = s->aspect_phrase[mention[k]];
        bb_synth_explanation(text, title, names, n, user_only, buf, cap);
        if (attempt >= 64) {
            size_t used = strlen(buf);
            snprintf(buf + used, cap - used, " (pair %d-%d)", u, i);
        }
        uint64_t h = bb_hash64(buf) >> 1; /* never the set's empty marker */
        if (!bb_pairset_find(written, (int32_t)(h >> 32), (int32_t)h)) return;
    }
}

static void make_explanations(bb_synth *s) {
    const bb_synth_config *c = &s->cfg;
    uint64_t *picks = pick_explained(s);
    bb_explanations *ex = &s->expl;
    ex->n = (size_t)c->explained;
    ex->rows = bb_calloc(ex->n ? ex->n : 1, sizeof *ex->rows);
    bb_aspect_lists *ea = &s->expl_aspects;
    ea->n = c->explained;
    ea->off = bb_malloc(((size_t)c->explained + 1) * sizeof *ea->off);
    ea->list = bb_malloc(((size_t)c->explained * 3 + 1) * sizeof *ea->list);
    ea->off[0] = 0;
    bb_rng text;
    bb_rng_seed(&text, c->seed, "synth/explanation-text");
    bb_pairset written; /* hashes of the explanations so far */
    bb_pairset_init(&written, (size_t)c->explained);
    char buf[1024], title[128];
    for (int e = 0; e < c->explained; e++) {
        const bb_interactions *x = bb_dataset_split(&s->data, (int)(picks[e] >> 32));
        size_t row = (size_t)(picks[e] & 0xffffffffu);
        int32_t u = x->user[row], i = x->item[row];
        bb_explanation *out = &ex->rows[e];
        out->uid = u;
        out->iid = i;
        out->line = (uint32_t)e + 2;
        bb_rng title_rng;
        bb_rng_seed_indexed(&title_rng, c->seed, "synth/title", (uint64_t)i);
        bb_synth_title(&title_rng, title, sizeof title);
        out->title = dup_text(title);
        entity_summary(s, &s->user_aspects, u, 1, buf, sizeof buf);
        out->user_summary = dup_text(buf);
        entity_summary(s, &s->item_aspects, i, 0, buf, sizeof buf);
        out->item_summary = dup_text(buf);

        /* mentioned: shared aspects in the item's order (at most 3), topped up to two
         * with the item's own; user_only: a user aspect the item lacks */
        const bb_aspect_lists *ua = &s->user_aspects, *ia = &s->item_aspects;
        int32_t *mention = ea->list + ea->off[e];
        int n = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int32_t k = ia->off[i]; k < ia->off[i + 1]; k++) {
                int32_t a = ia->list[k], shared = 0, already = 0;
                for (int32_t j = ua->off[u]; j < ua->off[u + 1]; j++) shared |= ua->list[j] == a;
                for (int j = 0; j < n; j++) already |= mention[j] == a;
                if (already || (pass == 0 ? !shared || n == 3 : n >= 2)) continue;
                mention[n++] = a;
            }
        const char *user_only = NULL;
        for (int32_t j = ua->off[u]; j < ua->off[u + 1] && !user_only; j++) {
            int in_item = 0;
            for (int32_t k = ia->off[i]; k < ia->off[i + 1]; k++) in_item |= ia->list[k] == ua->list[j];
            if (!in_item) user_only = s->aspect_phrase[ua->list[j]];
        }
        unique_explanation(s, &text, &written, title, mention, n, user_only, u, i, buf,
                           sizeof buf);
        out->explanation = dup_text(buf);
        uint64_t h = bb_hash64(buf) >> 1;
        bb_pairset_insert(&written, (int32_t)(h >> 32), (int32_t)h, (uint32_t)e, NULL);
        ea->off[e + 1] = ea->off[e] + n;
    }
    bb_pairset_free(&written);
    free(picks);
}

/* ------------------------------------------------------------------------------------ */
/* generate / free                                                                       */

int bb_synth_generate(const bb_synth_config *cfg, bb_synth *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    if (bb_synth_check_config(cfg, err) != BB_OK) return BB_ERR;
    out->cfg = *cfg;
    make_aspects(out);
    out->user_group = bb_malloc((size_t)cfg->users * sizeof *out->user_group);
    out->item_group = bb_malloc((size_t)cfg->items * sizeof *out->item_group);
    draw_entities(out, cfg->seed, "synth/users", cfg->users, out->user_group, &out->user_aspects);
    draw_entities(out, cfg->seed, "synth/items", cfg->items, out->item_group, &out->item_aspects);
    int32_t *deg = draw_degrees(cfg);
    draw_interactions(out, deg);
    free(deg);
    make_explanations(out);
    return BB_OK;
}

void bb_aspect_lists_free(bb_aspect_lists *a) {
    free(a->off);
    free(a->list);
    memset(a, 0, sizeof *a);
}

void bb_synth_free(bb_synth *s) {
    free(s->aspect_group);
    free(s->aspect_phrase);
    free(s->user_group);
    free(s->item_group);
    bb_aspect_lists_free(&s->user_aspects);
    bb_aspect_lists_free(&s->item_aspects);
    bb_aspect_lists_free(&s->expl_aspects);
    bb_dataset_free(&s->data);
    bb_explanations_free(&s->expl);
    memset(s, 0, sizeof *s);
}
