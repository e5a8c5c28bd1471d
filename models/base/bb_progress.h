/* bb_progress — progress for people, on stderr.
 *
 * On a terminal: one redrawn line "label [#####.....] 45% 1234/2730 12.3k/s ETA 0:04 loss 0.51".
 * Otherwise (CI, logs): plain lines at most every `plain_interval` seconds (default 10 s)
 * plus a final line, so logs stay short. BB_QUIET=1 in the environment silences it.
 *
 *   bb_progress p; bb_progress_begin(&p, "lightgcn epoch 3", n_batches, "batch");
 *   for (...) bb_progress_update(&p, done, "loss %.4f", loss);
 *   bb_progress_end(&p, "loss %.4f", loss);
 */
#ifndef BB_PROGRESS_H
#define BB_PROGRESS_H

#include <stdint.h>

typedef struct bb_progress {
    char label[96];
    char unit[16];
    uint64_t total, done;
    double start, last_draw;
    double plain_interval;
    int tty, quiet;
} bb_progress;

void bb_progress_begin(bb_progress *p, const char *label, uint64_t total, const char *unit);
void bb_progress_update(bb_progress *p, uint64_t done, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void bb_progress_end(bb_progress *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Formats "ETA"-style durations: 75 -> "1:15", 3700 -> "1:01:40". */
void bb_format_duration(double seconds, char *out, int cap);

#endif
