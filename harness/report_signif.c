/* report_signif — paired bootstrap over test pairs between two sweep cells. See
 * report_signif.h. */
#include "harness/report_signif.h"

#include <stdlib.h>
#include <string.h>

#include "datasets/csv_reader.h"
#include "metrics/significance.h"
#include "metrics/text_score.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"

/* ------------------------------------------------------------------------------------------
 * One cell's generations: keys and per-pair statistics */

typedef struct gen_cell {
    char *cell;      /* owned: cell hash */
    int present;     /* generations.csv was there */
    size_t n;
    uint64_t *keys;  /* (uid << 32) | iid, file order */
    bleu_stats *bleu;
    double *rougeL_f;
} gen_cell;

struct bb_report_gens {
    const bb_report_data *d;
    gen_cell **cells; /* owned; one allocation each, so pointers stay valid */
    size_t n, cap;
};

bb_report_gens *bb_report_gens_create(const bb_report_data *d) {
    bb_report_gens *g = bb_calloc(1, sizeof *g);
    g->d = d;
    return g;
}

void bb_report_gens_free(bb_report_gens *g) {
    if (!g) return;
    for (size_t k = 0; k < g->n; k++) {
        free(g->cells[k]->cell);
        free(g->cells[k]->keys);
        free(g->cells[k]->bleu);
        free(g->cells[k]->rougeL_f);
        free(g->cells[k]);
    }
    free(g->cells);
    free(g);
}

typedef struct gen_read {
    const char *path;
    size_t n, cap;
    uint64_t *keys;
    char **refs, **cands;
    size_t *ref_lens, *cand_lens;
} gen_read;

static const char *const gen_header[] = {"uid", "iid", "reference", "generated"};

static int on_generation(void *vctx, const bb_csv_record *rec, bb_error *err) {
    gen_read *r = vctx;
    if (rec->index == 0) return bb_csv_expect_header(r->path, rec, gen_header, 4, err);
    if (rec->n != 4)
        return bb_fail(err, "%s:%zu: expected 4 fields, got %zu", r->path, rec->line, rec->n);
    int uid, iid;
    if (bb_csv_parse_id(rec->fields[0], rec->lens[0], &uid) != BB_OK)
        return bb_csv_fail_id(err, r->path, rec->line, "uid", rec->fields[0], rec->lens[0]);
    if (bb_csv_parse_id(rec->fields[1], rec->lens[1], &iid) != BB_OK)
        return bb_csv_fail_id(err, r->path, rec->line, "iid", rec->fields[1], rec->lens[1]);
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->keys = bb_realloc(r->keys, r->cap * sizeof *r->keys);
        r->refs = bb_realloc(r->refs, r->cap * sizeof *r->refs);
        r->cands = bb_realloc(r->cands, r->cap * sizeof *r->cands);
        r->ref_lens = bb_realloc(r->ref_lens, r->cap * sizeof *r->ref_lens);
        r->cand_lens = bb_realloc(r->cand_lens, r->cap * sizeof *r->cand_lens);
    }
    r->keys[r->n] = ((uint64_t)(uint32_t)uid << 32) | (uint32_t)iid;
    r->refs[r->n] = bb_malloc(rec->lens[2] + 1);
    memcpy(r->refs[r->n], rec->fields[2], rec->lens[2] + 1);
    r->cands[r->n] = bb_malloc(rec->lens[3] + 1);
    memcpy(r->cands[r->n], rec->fields[3], rec->lens[3] + 1);
    r->ref_lens[r->n] = rec->lens[2];
    r->cand_lens[r->n] = rec->lens[3];
    r->n++;
    return BB_OK;
}

static void gen_read_free(gen_read *r) {
    for (size_t k = 0; k < r->n; k++) {
        free(r->refs[k]);
        free(r->cands[k]);
    }
    free(r->refs);
    free(r->cands);
    free(r->ref_lens);
    free(r->cand_lens);
}

/* Reads DIR/cells/<cell>/generations.csv and scores every pair once. */
static int gen_cell_load(const bb_report_data *d, gen_cell *c, bb_error *err) {
    char rel[64];
    snprintf(rel, sizeof rel, "cells/%s/generations.csv", c->cell);
    char *path = bb_path_join(d->dir, rel);
    if (!bb_path_exists(path)) {
        free(path);
        return BB_OK;
    }
    gen_read r = {0};
    r.path = path;
    int rc = bb_csv_read_file(path, on_generation, &r, err);
    if (rc == BB_OK) {
        /* the settings of `run` (text_score_defaults): treebank tokens, method1, no stem */
        const text_score_options opt = text_score_defaults();
        const size_t n = r.n;
        c->present = 1;
        c->n = n;
        c->keys = r.keys;
        r.keys = NULL;
        c->bleu = bb_malloc((n ? n : 1) * sizeof *c->bleu);
        c->rougeL_f = bb_malloc((n ? n : 1) * sizeof *c->rougeL_f);
        double bleu[BLEU_MAX_ORDER];
        text_score_bleu((const char *const *)r.refs, r.ref_lens, (const char *const *)r.cands,
                        r.cand_lens, n, opt.tokenizer, opt.smoothing, 1, bleu, NULL, c->bleu,
                        NULL);
        rouge_prf means[4];
        double *pair_f[4] = {NULL, NULL, c->rougeL_f, NULL};
        text_score_rouge((const char *const *)r.refs, r.ref_lens, (const char *const *)r.cands,
                         r.cand_lens, n, opt.stem, 1, means, pair_f);
    }
    free(r.keys);
    gen_read_free(&r);
    free(path);
    return rc;
}

static int gens_get(bb_report_gens *g, const char *cell, const gen_cell **out, bb_error *err) {
    for (size_t k = 0; k < g->n; k++)
        if (strcmp(g->cells[k]->cell, cell) == 0) {
            *out = g->cells[k];
            return BB_OK;
        }
    gen_cell *c = bb_calloc(1, sizeof *c);
    c->cell = bb_strdup(cell);
    if (gen_cell_load(g->d, c, err) != BB_OK) {
        free(c->cell);
        free(c);
        return BB_ERR;
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 16;
        g->cells = bb_realloc(g->cells, g->cap * sizeof *g->cells);
    }
    g->cells[g->n++] = c;
    *out = c;
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * Matching pairs by (uid, iid) */

typedef struct keyed {
    uint64_t key;
    size_t index;
} keyed;

static int cmp_keyed(const void *va, const void *vb) {
    const keyed *a = va, *b = vb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* For each pair of a (file order), the index of its partner in b, or SIZE_MAX. */
static size_t match_pairs(const gen_cell *a, const gen_cell *b, size_t *partner) {
    keyed *sorted = bb_malloc((b->n ? b->n : 1) * sizeof *sorted);
    unsigned char *used = bb_calloc(b->n ? b->n : 1, 1);
    for (size_t k = 0; k < b->n; k++) sorted[k] = (keyed){b->keys[k], k};
    if (b->n) qsort(sorted, b->n, sizeof *sorted, cmp_keyed);
    size_t matched = 0;
    for (size_t k = 0; k < a->n; k++) {
        size_t lo = 0, hi = b->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (sorted[mid].key < a->keys[k])
                lo = mid + 1;
            else
                hi = mid;
        }
        while (lo < b->n && sorted[lo].key == a->keys[k] && used[lo]) lo++;
        if (lo < b->n && sorted[lo].key == a->keys[k]) {
            used[lo] = 1;
            partner[k] = sorted[lo].index;
            matched++;
        } else {
            partner[k] = SIZE_MAX;
        }
    }
    free(sorted);
    free(used);
    return matched;
}

/* ------------------------------------------------------------------------------------------
 * The bootstrap */

static int find_cell(bb_report_gens *g, const char *dataset, const char *method,
                     const char *variant, uint64_t seed, const gen_cell **out,
                     bb_report_boot *res, bb_error *err) {
    *out = NULL;
    const bb_report_cell *cell = g->d->have_cells
                                     ? bb_report_cell_find(g->d, dataset, method, variant, seed)
                                     : NULL;
    if (!cell) {
        snprintf(res->why, sizeof res->why, "%s: no ok cell for %s/%s/%s seed %llu",
                 g->d->have_cells ? "cells.csv" : "no cells.csv", dataset, method, variant,
                 (unsigned long long)seed);
        return BB_OK;
    }
    if (gens_get(g, cell->cell, out, err) != BB_OK) return BB_ERR;
    if (!(*out)->present) {
        snprintf(res->why, sizeof res->why,
                 "cells/%s/generations.csv (%s/%s/%s seed %llu) is missing", cell->cell, dataset,
                 method, variant, (unsigned long long)seed);
        *out = NULL;
    }
    return BB_OK;
}

int bb_report_bootstrap(bb_report_gens *g, const char *dataset, const char *ref_method,
                        const char *ref_variant, const char *method, const char *variant,
                        uint64_t seed, bb_report_boot *res, bb_error *err) {
    memset(res, 0, sizeof *res);
    const gen_cell *a, *b;
    if (find_cell(g, dataset, ref_method, ref_variant, seed, &a, res, err) != BB_OK) return BB_ERR;
    if (!a) return BB_OK;
    if (find_cell(g, dataset, method, variant, seed, &b, res, err) != BB_OK) return BB_ERR;
    if (!b) return BB_OK;
    size_t *partner = bb_malloc((a->n ? a->n : 1) * sizeof *partner);
    size_t n = match_pairs(a, b, partner);
    if (n == 0) {
        snprintf(res->why, sizeof res->why,
                 "no (uid,iid) pair in common between %s/%s and %s/%s seed %llu", ref_method,
                 ref_variant, method, variant, (unsigned long long)seed);
        free(partner);
        return BB_OK;
    }
    bleu_stats *bleu_a = bb_malloc(n * sizeof *bleu_a), *bleu_b = bb_malloc(n * sizeof *bleu_b);
    double *rl_a = bb_malloc(n * sizeof *rl_a), *rl_b = bb_malloc(n * sizeof *rl_b);
    size_t m = 0;
    for (size_t k = 0; k < a->n; k++) {
        if (partner[k] == SIZE_MAX) continue;
        bleu_a[m] = a->bleu[k];
        bleu_b[m] = b->bleu[partner[k]];
        rl_a[m] = a->rougeL_f[k];
        rl_b[m] = b->rougeL_f[partner[k]];
        m++;
    }
    /* one resampling seed per (sweep seed, purpose): both metrics see the same resamples */
    bb_rng rng;
    bb_rng_seed(&rng, seed, "report/bootstrap");
    const uint64_t boot_seed = bb_rng_next(&rng);
    signif_bootstrap sb, sr;
    const text_score_options opt = text_score_defaults();
    int rc = signif_bootstrap_bleu(bleu_a, bleu_b, n, opt.smoothing, BB_REPORT_RESAMPLES,
                                   boot_seed, &sb, err);
    if (rc == BB_OK)
        rc = signif_bootstrap_mean(rl_a, rl_b, n, BB_REPORT_RESAMPLES, boot_seed, &sr, err);
    if (rc == BB_OK) {
        res->found = 1;
        res->n_pairs = n;
        res->p_bleu4 = sb.p_value;
        res->p_rougeL_f = sr.p_value;
        res->d_bleu4 = sb.observed;
        res->d_rougeL_f = sr.observed;
    }
    free(partner);
    free(bleu_a), free(bleu_b), free(rl_a), free(rl_b);
    return rc;
}
