/* beat_features — sentence and phrase vectors for BEAT's supervision, from the train part
 * of the zero-shot split only. Rules in beat_features.h. */
#include "models/beat/beat_features.h"

#include <stdlib.h>
#include <string.h>

#include "datasets/pairset.h"
#include "datasets/train_text.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_phrases.h"

void beat_text_features_free(beat_text_features *f) {
    if (!f) return;
    free(f->expl_of_train);
    free(f->sent);
    for (int s = 0; s < 2; s++) {
        free(f->side[s].row);
        free(f->side[s].len);
        free(f->side[s].vec);
    }
    memset(f, 0, sizeof *f);
}

/* Phrases of every entity of one side, from the summary on its first train row. */
static int build_side(const bb_explanations *ex, const bb_split *split,
                      const bb_train_texts *allowed, const beat_text_encoder *enc, int side,
                      int32_t n_entities, int T, int max_phrases, beat_side_phrases *out,
                      bb_error *err) {
    out->n_entities = n_entities;
    out->row = bb_malloc(((size_t)n_entities + 1) * sizeof *out->row);
    for (int32_t e = 0; e < n_entities; e++) out->row[e] = -1;
    const char **texts = bb_malloc((ex->n * (size_t)T + 1) * sizeof *texts);
    beat_phrase_list *lists = bb_calloc(ex->n + 1, sizeof *lists);
    int32_t *len = bb_malloc((ex->n + 1) * sizeof *len);
    int32_t n_rows = 0;
    int64_t n_texts = 0;
    for (size_t r = 0; r < ex->n; r++) {
        if (split->part[r] != BB_SPLIT_TRAIN) continue;
        const bb_explanation *row = &ex->rows[r];
        int32_t e = side == 0 ? row->uid : row->iid;
        if (e < 0 || e >= n_entities || out->row[e] != -1) continue; /* first train row wins */
        const char *summary = side == 0 ? row->user_summary : row->item_summary;
        out->row[e] = -2; /* seen; becomes a row index below when phrases come out */
        /* the training-text API decides (a blank summary is not a text) */
        if (!summary || bb_train_texts_find(allowed, summary) < 0) continue;
        beat_phrases_split(summary, max_phrases, &lists[n_rows]);
        if (lists[n_rows].n == 0) {
            beat_phrase_list_free(&lists[n_rows]);
            continue;
        }
        int k = lists[n_rows].n < T ? lists[n_rows].n : T;
        for (int j = 0; j < k; j++) texts[n_texts++] = lists[n_rows].items[j];
        len[n_rows] = k;
        out->row[e] = n_rows++;
    }
    for (int32_t e = 0; e < n_entities; e++)
        if (out->row[e] < 0) out->row[e] = -1;
    out->n_rows = n_rows;
    out->n_phrases = n_texts;
    out->len = bb_malloc(((size_t)n_rows + 1) * sizeof *out->len);
    memcpy(out->len, len, (size_t)n_rows * sizeof *len);
    const size_t d = (size_t)enc->dim;
    float *flat = bb_malloc(((size_t)n_texts + 1) * d * sizeof *flat);
    int rc = beat_text_encode(enc, texts, (size_t)n_texts, flat, err);
    out->vec = bb_calloc((size_t)n_rows * (size_t)T * d + 1, sizeof *out->vec);
    if (rc == BB_OK) {
        int64_t at = 0;
        for (int32_t r = 0; r < n_rows; r++) {
            memcpy(out->vec + (size_t)r * T * d, flat + (size_t)at * d,
                   (size_t)len[r] * d * sizeof *flat);
            at += len[r];
        }
    }
    for (int32_t r = 0; r < n_rows; r++) beat_phrase_list_free(&lists[r]);
    free(lists), free(texts), free(len), free(flat);
    return rc;
}

int beat_text_features_build(const bb_dataset *ds, const bb_explanations *ex,
                             const bb_split *split, const beat_text_encoder *enc, int T,
                             int max_phrases, beat_text_features *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    BB_ASSERT(split->n == ex->n, "beat_features: split of %zu rows for %zu explanation rows",
              split->n, ex->n);
    out->d = enc->dim;
    out->T = T;
    snprintf(out->encoder, sizeof out->encoder, "%s", enc->name);
    bb_train_texts allowed;
    bb_train_texts_build(ex, split, &allowed);

    /* macro: train explanations attached to training interactions */
    bb_pairset pairs;
    bb_pairset_init(&pairs, ds->train.n);
    for (size_t p = 0; p < ds->train.n; p++)
        bb_pairset_insert(&pairs, ds->train.user[p], ds->train.item[p], (uint32_t)p, NULL);
    out->n_train = ds->train.n;
    out->expl_of_train = bb_malloc((ds->train.n + 1) * sizeof *out->expl_of_train);
    for (size_t p = 0; p < ds->train.n; p++) out->expl_of_train[p] = -1;
    const char **texts = bb_malloc((ex->n + 1) * sizeof *texts);
    int32_t n_sent = 0;
    for (size_t r = 0; r < ex->n; r++) {
        if (split->part[r] != BB_SPLIT_TRAIN) continue;
        out->train_rows_used++;
        const bb_explanation *row = &ex->rows[r];
        uint32_t *slot = bb_pairset_find(&pairs, row->uid, row->iid);
        if (!slot || out->expl_of_train[*slot] >= 0) continue;
        if (!row->explanation || bb_train_texts_find(&allowed, row->explanation) < 0) continue;
        out->expl_of_train[*slot] = n_sent;
        texts[n_sent++] = row->explanation;
    }
    bb_pairset_free(&pairs);
    out->n_sent = n_sent;
    out->sent = bb_malloc(((size_t)n_sent * (size_t)enc->dim + 1) * sizeof *out->sent);
    int rc = beat_text_encode(enc, texts, (size_t)n_sent, out->sent, err);
    free(texts);
    for (int s = 0; s < 2 && rc == BB_OK; s++)
        rc = build_side(ex, split, &allowed, enc, s, s == 0 ? ds->n_users : ds->n_items, T,
                        max_phrases, &out->side[s], err);
    bb_train_texts_free(&allowed);
    if (rc != BB_OK) beat_text_features_free(out);
    return rc;
}
