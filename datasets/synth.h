/* synth — the synthetic dataset with planted truth (DESIGN §2 "Synthetic generator").
 *
 * Planted structure (datasets/FORMAT.md has the details):
 * - A aspects, each a short phrase owned by one of G groups (aspect a -> group a mod G,
 *   phrases from that group's theme).
 * - Every user and item draws a group uniformly and 2-4 distinct aspects, each from its own
 *   group with probability 0.85, otherwise from all aspects.
 * - Interactions: user degrees are lognormal around interactions/users (at least 4, at
 *   most items/2), items are drawn without replacement with weight
 *       popularity(i) x (16 if same group else 1) x (1 + overlap(u, i))
 *   where popularity is lognormal and overlap counts shared aspects, so most interactions
 *   stay inside a group and shared aspects raise the odds.
 * - Per user the drawn items split about 80/10/10 into train/valid/test, at least one train.
 * - Explained pairs: 85% drawn from train rows, 5% from valid, 10% from test. The
 *   explanation names the item title and the aspects user and item share (or the item's
 *   own aspects when they share none); summaries list the entity's aspects in prose.
 *
 * Every draw comes from bb_rng streams seeded with (seed, "synth/<purpose>"), so a seed
 * gives byte-identical files. bb_synth_write builds the directory under a staging name and
 * renames it into place (bb_stage_dir_*).
 *
 * Files: train.csv valid.csv test.csv explanations.csv (the dataset format), aspects.csv
 * (id,group,phrase), planted_users.csv / planted_items.csv (id,group,aspects with aspect
 * ids joined by ';'), planted_explanations.csv (uid,iid,aspects named in the explanation),
 * synth.json (the configuration).
 *
 * Ownership: bb_synth owns everything in it; bb_synth_free releases it.
 */
#ifndef BB_SYNTH_H
#define BB_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/dataset.h"
#include "models/base/bb_error.h"

typedef struct bb_synth_config {
    int users, items, groups, aspects;
    int interactions, explained;
    uint64_t seed;
} bb_synth_config;

/* users 2000, items 1500, groups 8, aspects 40, interactions 60000, explained 1500, seed 1 */
void bb_synth_default_config(bb_synth_config *cfg);
/* Fails with a message naming the flag ("--aspects: at most 96, got 120"). */
int bb_synth_check_config(const bb_synth_config *cfg, bb_error *err);

/* Aspect lists in CSR form: entity e has list[off[e] .. off[e+1]). */
typedef struct bb_aspect_lists {
    int32_t *off;  /* n + 1 */
    int32_t *list; /* off[n] */
    int32_t n;
} bb_aspect_lists;

typedef struct bb_synth {
    bb_synth_config cfg;
    int32_t *aspect_group;        /* [aspects] */
    const char **aspect_phrase;   /* [aspects], static strings */
    int32_t *user_group;          /* [users] */
    int32_t *item_group;          /* [items] */
    bb_aspect_lists user_aspects, item_aspects;
    bb_aspect_lists expl_aspects; /* aspects named by each explanation row */
    bb_dataset data;              /* interactions (dir and line are NULL) */
    bb_explanations expl;         /* path NULL */
    size_t same_group_interactions; /* interactions whose user and item share the group */
} bb_synth;

int bb_synth_generate(const bb_synth_config *cfg, bb_synth *out, bb_error *err);
/* Writes the directory atomically; refuses to replace an existing non-empty directory
 * that holds no planted_users.csv (so a typo cannot delete unrelated files). */
int bb_synth_write(const bb_synth *s, const char *dir, bb_error *err);
void bb_synth_free(bb_synth *s);

/* Reads planted_users.csv / planted_items.csv (id,group,aspects); ids must be 0..n-1 in
 * order. groups gets n entries (owned, free()), aspects the lists. */
int bb_planted_load(const char *path, int32_t **groups, bb_aspect_lists *aspects,
                    bb_error *err);
void bb_aspect_lists_free(bb_aspect_lists *a);

#endif
