/* explain_train — the training loop and greedy-generation driver shared by PETER and NRT.
 *
 * Protocol (datasets/explain_task.h, DESIGN §9 matched seeds):
 *   - every epoch the train rows are shuffled with stream (seed, "<name>/shuffle", epoch)
 *     and cut into batches of `batch` rows;
 *   - each step: loss on an nn tape, backward, global gradient-norm clipping (`clip`, 0 = off),
 *     Adam/AdamW (nn_optim.h); the model's per-step randomness (dropout, negatives) comes
 *     from stream (seed, "<name>/step", global step);
 *   - after every epoch the explanation NLL per target token of the VALID rows is computed
 *     in evaluation mode (no dropout); the parameters of the best epoch are kept (one copy
 *     of the flat parameter block) and training stops after `patience` epochs without a
 *     lower value, or at max_epochs. Without valid rows the last epoch is kept.
 *   - the test rows are used once, by bb_xtrain_generate, after training.
 * A non-finite loss is an error naming the epoch and step ("lower lr").
 *
 * Determinism: no timing-dependent choice anywhere; for a given seed and thread count
 * (OpenBLAS threads via nn_set_threads) results are bit-identical.
 *
 * Ownership: the driver borrows the model and corpus; generated strings are malloc'd and
 * handed to the caller (or to the bb_explain_output, which frees them).
 */
#ifndef BB_EXPLAIN_TRAIN_H
#define BB_EXPLAIN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "baselines/explain_corpus.h"
#include "datasets/explain_task.h"
#include "models/base/bb_error.h"
#include "models/base/bb_rng.h"
#include "models/beat/beat_explain_log.h"
#include "models/nn/nn_optim.h"
#include "models/nn/nn_tape.h"

typedef struct bb_xmodel {
    void *self;
    nn_params *params;
    /* Loss of batch b on tp (scalar tensor to differentiate). step_rng != NULL: training
     * mode (dropout, sampled negatives draw from it); NULL: evaluation mode, where only
     * *text_nll matters. *text_nll gets the summed explanation NLL over b->n_targets. */
    nn_tensor *(*loss)(void *self, nn_tape *tp, const bb_xbatch *b, bb_rng *step_rng,
                       double *text_nll);
    /* Greedy decoding of n (uid, iid) pairs, at most max_len words each: out[k*max_len ..]
     * gets the words before <eos>, len[k] their count. tp has grad mode off; the model may
     * reset it between steps. */
    void (*generate)(void *self, nn_tape *tp, const int32_t *uid, const int32_t *iid, int n,
                     int max_len, int32_t *out, int32_t *len);
} bb_xmodel;

typedef struct bb_xtrain_opts {
    const char *name; /* "peter" | "nrt": progress label and rng purposes */
    int batch, max_epochs, patience;
    double lr, weight_decay, clip; /* weight_decay > 0: AdamW (decoupled) */
    uint64_t seed;
    beat_train_log *log; /* when set: one row per epoch run (train_log.csv) */
} bb_xtrain_opts;

typedef struct bb_xtrain_stats {
    int epochs_run, best_epoch;  /* 1-based; best_epoch = epochs_run without valid rows */
    double best_valid_nll;       /* per target token; NAN without valid rows */
    double first_train_loss, last_train_loss; /* mean objective over the epoch's steps */
    double last_train_nll;       /* explanation NLL per target token, last epoch (train mode) */
    double train_seconds;
    int64_t steps;
} bb_xtrain_stats;

int bb_xtrain_fit(const bb_xmodel *m, const bb_xcorpus *c, const bb_xtrain_opts *o,
                  bb_xtrain_stats *st, bb_error *err);
/* Explanation NLL per target token of corpus rows rows[0..n) in evaluation mode. */
double bb_xtrain_eval_nll(const bb_xmodel *m, const bb_xcorpus *c, const size_t *rows, size_t n,
                          int batch);
/* Greedy generations of n pairs, detokenised (bb_word_vocab_decode) into texts[0..n). */
void bb_xtrain_generate(const bb_xmodel *m, const bb_xcorpus *c, const int32_t *uid,
                        const int32_t *iid, size_t n, int batch, char **texts);
/* Generations for every test row of the corpus, in order, into out (initialised here from
 * split; generate_seconds filled). */
void bb_xtrain_generate_test(const bb_xmodel *m, const bb_xcorpus *c, const bb_split *split,
                             int batch, bb_explain_output *out);

/* Sets nn/OpenBLAS threads to `threads` (< 1: keep) and returns the previous count. */
int bb_xtrain_set_threads(int threads);

#endif
