/* beat_features — the text side of BEAT stage 1: sentence vectors of training explanations
 * (macro supervision) and phrase vectors of user/item summaries (micro supervision), from a
 * frozen text encoder (beat_text.h). DESIGN §4.4-4.5, §2 (no test text in training).
 *
 * What may be read. Only the split's TRAIN rows are used (datasets/split.h): their
 * explanations, and the user_summary / item_summary they carry — exactly the allowed
 * training text sources of datasets/train_text.h (each text used here is checked against
 * that API). A zero-shot test user never has a train row, so its summary is never read;
 * valid and test explanations are never read.
 *
 * Macro: an explanation row is attached to its (uid, iid) pair when that pair is a training
 * interaction (the only pairs a stage-1 batch holds); the first train row of a pair wins.
 * Micro: each user (item) with a train row gets the phrases of the summary on its first
 * train row (beat_phrases.h, at most max_phrases), of which the first T are encoded;
 * entities whose summary gives no phrase have none and are skipped by the loss.
 *
 * Ownership: beat_text_features owns its arrays (beat_text_features_free).
 */
#ifndef BEAT_FEATURES_H
#define BEAT_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "models/base/bb_error.h"
#include "models/beat/beat_text.h"

typedef struct beat_side_phrases {
    int32_t n_entities;  /* users or items of the dataset */
    int32_t *row;        /* n_entities: row into vec, or -1 */
    int32_t *len;        /* n_rows: phrases kept (1..T) */
    float *vec;          /* (n_rows, T, d), zero beyond len */
    int32_t n_rows;      /* entities with phrases */
    int64_t n_phrases;   /* phrases encoded (sum of len) */
} beat_side_phrases;

typedef struct beat_text_features {
    int d, T;
    /* macro */
    int32_t *expl_of_train; /* per training interaction (dataset train order): row of sent or -1 */
    size_t n_train;
    float *sent;            /* (n_sent, d) */
    int32_t n_sent;
    /* micro: [0] users, [1] items */
    beat_side_phrases side[2];
    /* provenance */
    size_t train_rows_used; /* explanation rows of the train part read */
    char encoder[96];
} beat_text_features;

int beat_text_features_build(const bb_dataset *ds, const bb_explanations *ex,
                             const bb_split *split, const beat_text_encoder *enc, int T,
                             int max_phrases, beat_text_features *out, bb_error *err);
void beat_text_features_free(beat_text_features *f);

#endif
