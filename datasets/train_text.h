/* train_text — which texts may reach training under a split, and the leakage check
 * (DESIGN §2: no text of a test pair may reach training, LM pretraining, or any
 * vocabulary/idf statistic).
 *
 * The allowed training text sources of a split are the explanation, title, user_summary and
 * item_summary of its train rows only. Titles and summaries are shared by every row of an
 * item/user, so one is allowed iff it belongs to at least one train row: an item's title is
 * allowed even when a test row shows it too, a zero-shot test user's summary is not. Texts
 * are compared as exact strings after trimming ASCII whitespace at both ends; empty texts
 * are ignored.
 *
 * The leakage check fails if any test explanation appears verbatim (trimmed, exact) among
 * the training text sources. It also counts, for the report, the distinct texts of test
 * rows kept out of training and those allowed only because the same string belongs to a
 * train row (e.g. two shops of a chain share a title).
 *
 *   bb_train_texts t; bb_train_texts_build(&ex, &split, &t);
 *   for (size_t k = 0; k < t.n; k++) use(t.texts[k]);   // corpus for LM / BPE / idf
 *   if (bb_train_texts_find(&t, user_summary) >= 0) ... // summary usable in training
 *   bb_train_texts_free(&t);
 *
 * Ownership: t.texts point into the explanations (borrowed, untrimmed); keep ex alive.
 */
#ifndef BB_TRAIN_TEXT_H
#define BB_TRAIN_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/dataset.h"
#include "datasets/split.h"

typedef enum bb_text_kind {
    BB_TEXT_EXPLANATION = 0,
    BB_TEXT_TITLE = 1,
    BB_TEXT_USER_SUMMARY = 2,
    BB_TEXT_ITEM_SUMMARY = 3
} bb_text_kind;

typedef struct bb_train_texts {
    size_t n;
    const char **texts; /* distinct after trimming, in order of first use over train rows
                           (per row: explanation, title, user_summary, item_summary) */
    uint8_t *kinds;     /* bb_text_kind of the first use */
    uint32_t *rows;     /* explanations row of the first use */
    /* lookup index over the trimmed strings (private) */
    const char **trimmed;
    size_t *trimmed_len;
    uint32_t *slots;
    size_t cap;
} bb_train_texts;

void bb_train_texts_build(const bb_explanations *ex, const bb_split *s, bb_train_texts *out);
/* Index of text (compared trimmed) among the allowed sources, or -1. */
long bb_train_texts_find(const bb_train_texts *t, const char *text);
void bb_train_texts_free(bb_train_texts *t);
/* "explanation", "title", "user_summary", "item_summary". */
const char *bb_text_kind_name(int kind);

typedef struct bb_leakage_report {
    size_t test_rows;
    size_t leaked;           /* test explanations found verbatim among training sources */
    size_t first_leak_row;   /* explanations row of the first leak (when leaked > 0) */
    size_t first_source_row; /* the train row whose text it equals */
    int first_source_kind;   /* bb_text_kind of that text */
    size_t test_only_texts;  /* distinct titles/summaries/explanations of test rows kept out */
    size_t shared_texts;     /* distinct titles/summaries of test rows allowed because the
                                same string belongs to a train row */
} bb_leakage_report;

/* Returns BB_ERR with "EXPL:LINE: leakage: ..." naming the first leaking test row when
 * leaked > 0; rep (may be NULL) is filled either way. */
int bb_leakage_check(const bb_explanations *ex, const bb_split *s, bb_leakage_report *rep,
                     bb_error *err);

#endif
