/* beat_explain_log — the per-epoch training log of an explanation method, written as
 * train_log.csv into its run directory (harness/run_driver.h; the sweep's stage-2 curves):
 *
 *   epoch,train_loss,valid_loss,seconds
 *   1,5.1234567890123456,4.9876543210987654,1.234567
 *
 *   epoch       1-based, one row per epoch run (early stopping ends the file early)
 *   train_loss  the method's training objective, mean over the epoch's steps (soft-prompt
 *               methods: CE + beta_sar SAR; PETER: its total loss incl. context prediction;
 *               NRT: text NLL + interaction loss)
 *   valid_loss  the value the epoch is selected on (explanation NLL per target token of the
 *               valid rows, evaluation mode); "nan" when the split has no valid rows. The
 *               row of the kept epoch holds exactly the run's best_valid_loss (%.17g).
 *   seconds     wall seconds of the epoch: its training steps and its validation pass
 * A method without epochs (retrieval) gets the header alone.
 *
 * The training loops (beat_explain.c; baselines/explain_train.c for PETER and NRT) call
 * beat_train_log_add once per epoch with the values they select on.
 *
 * Ownership: the log owns its rows (beat_train_log_free).
 */
#ifndef BEAT_EXPLAIN_LOG_H
#define BEAT_EXPLAIN_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "models/base/bb_error.h"

typedef struct beat_epoch_row {
    double train_loss, valid_loss, seconds; /* valid_loss NAN: no valid rows */
} beat_epoch_row;

typedef struct beat_train_log {
    beat_epoch_row *rows;
    int n, cap;
} beat_train_log;

#define BEAT_TRAIN_LOG_HEADER "epoch,train_loss,valid_loss,seconds\n"

void beat_train_log_add(beat_train_log *l, double train_loss, double valid_loss, double seconds);
void beat_train_log_free(beat_train_log *l);
/* The CSV text (header and rows), malloc'd; *len gets its length. */
char *beat_train_log_csv(const beat_train_log *l, size_t *len);
/* DIR/train_log.csv, atomically. */
int beat_train_log_write(const char *dir, const beat_train_log *l, bb_error *err);
/* Reads a train_log.csv written above into out (rows only); errors name file, line, field
 * (wrong header, an epoch out of sequence, a value that is not a number). */
int beat_train_log_read(const char *path, beat_train_log *out, bb_error *err);

#endif
