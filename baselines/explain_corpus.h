/* explain_corpus — the data side shared by the from-scratch explanation baselines (PETER,
 * NRT): task validation, the train-only word vocabulary, the encoded explanations of the
 * train and valid rows, and padded batches.
 *
 * Protocol (datasets/explain_task.h): the vocabulary comes from TRAIN-row explanations
 * only; train rows are the supervision; valid rows are encoded with that vocabulary (their
 * words outside it become <unk>) and serve only the early-stopping loss; test rows carry
 * no tokens at all (their text is never read here).
 *
 * A batch holds n rows of T = (longest row's words + 1) steps, row-major (n, T):
 *     input  = <bos> w1 .. wL <pad> ...
 *     target = w1 .. wL <eos> NN_IGNORE_INDEX ...
 * so position t predicts target[t] from inputs 0..t (teacher forcing).
 *
 * Ownership: bb_xcorpus owns its vocabulary and arrays (bb_xcorpus_free); a bb_xbatch owns
 * its arrays (bb_xbatch_free) and is refilled in place.
 */
#ifndef BB_EXPLAIN_CORPUS_H
#define BB_EXPLAIN_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "baselines/word_vocab.h"
#include "datasets/explain_task.h"
#include "models/base/bb_error.h"

typedef struct bb_xcorpus {
    bb_word_vocab vocab;
    int max_len;          /* words kept per explanation (the <eos> comes after them) */
    int32_t n_users, n_items;
    size_t n_rows;        /* explanations rows */
    const int32_t *uid, *iid; /* borrowed from the split, [n_rows] */
    int64_t *tok_off;     /* [n_rows + 1]: row r's words are tok[tok_off[r] .. tok_off[r+1]) */
    int32_t *tok;         /* word ids of train and valid rows; test rows have none */
    size_t *train_rows, *valid_rows, *test_rows; /* explanations rows of each part, in order */
    size_t n_train, n_valid, n_test;
    size_t truncated;     /* train/valid explanations longer than max_len (cut) */
    int64_t train_words;  /* words of the (cut) train explanations */
} bb_xcorpus;

/* Checks the task (row counts agree, every uid/iid in [0, n_users/n_items), at least one
 * train row) and fails with "EXPL:LINE: field 'uid': id 9 is outside [0, 5) users". */
int bb_xcorpus_check_task(const bb_explain_task *task, bb_error *err);
/* Validates the task, builds the vocabulary (max_words) and encodes train/valid rows. */
int bb_xcorpus_build(const bb_explain_task *task, int max_words, int max_len, bb_xcorpus *c,
                     bb_error *err);
void bb_xcorpus_free(bb_xcorpus *c);

typedef struct bb_xbatch {
    int n, T;              /* rows, steps */
    int32_t *uid, *iid;    /* [n] */
    int32_t *input, *target; /* [n * T], layout above */
    int32_t *len;          /* [n]: words + 1 (the <eos> step) */
    int64_t n_targets;     /* sum of len */
    int cap_rows;
    int64_t cap_elems;
} bb_xbatch;

/* Fills b with corpus rows rows[0..n) (train or valid rows). */
void bb_xbatch_fill(bb_xbatch *b, const bb_xcorpus *c, const size_t *rows, int n);
void bb_xbatch_free(bb_xbatch *b);

#endif
