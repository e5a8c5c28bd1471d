/* bb_progress — see bb_progress.h. */
#define _POSIX_C_SOURCE 200809L
#include "models/base/bb_progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/base/bb_time.h"

void bb_format_duration(double seconds, char *out, int cap) {
    if (seconds < 0 || seconds > 1e7) {
        snprintf(out, (size_t)cap, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, (size_t)cap, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(out, (size_t)cap, "%ld:%02ld", s / 60, s % 60);
}

void bb_progress_begin(bb_progress *p, const char *label, uint64_t total, const char *unit) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "it");
    p->total = total;
    p->start = p->last_draw = bb_now();
    p->plain_interval = 10.0;
    p->tty = isatty(STDERR_FILENO);
    const char *q = getenv("BB_QUIET");
    p->quiet = q && *q && strcmp(q, "0") != 0;
}

static void draw(bb_progress *p, const char *fmt, va_list ap, int final) {
    char extra[160] = "";
    if (fmt) vsnprintf(extra, sizeof extra, fmt, ap);
    double now = bb_now();
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0.0;
    char eta[32], took[32];
    bb_format_duration(rate > 0 && p->total >= p->done ? (double)(p->total - p->done) / rate : -1,
                       eta, sizeof eta);
    bb_format_duration(elapsed, took, sizeof took);
    double frac = p->total ? (double)p->done / (double)p->total : 1.0;
    if (frac > 1) frac = 1;
    if (p->tty) {
        char bar[21];
        int filled = (int)(frac * 20);
        for (int i = 0; i < 20; i++) bar[i] = i < filled ? '#' : '.';
        bar[20] = '\0';
        fprintf(stderr, "\r\033[K%s [%s] %3d%% %llu/%llu %.3g %s/s %s %s %s", p->label, bar,
                (int)(frac * 100), (unsigned long long)p->done, (unsigned long long)p->total,
                rate, p->unit, final ? "took" : "ETA", final ? took : eta, extra);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: %llu/%llu %s (%3d%%) %.3g %s/s %s %s %s\n", p->label,
                (unsigned long long)p->done, (unsigned long long)p->total, p->unit,
                (int)(frac * 100), rate, p->unit, final ? "took" : "ETA", final ? took : eta,
                extra);
    }
    fflush(stderr);
    p->last_draw = now;
}

void bb_progress_update(bb_progress *p, uint64_t done, const char *fmt, ...) {
    p->done = done;
    if (p->quiet) return;
    double now = bb_now();
    double interval = p->tty ? 0.1 : p->plain_interval;
    if (now - p->last_draw < interval) return;
    va_list ap;
    va_start(ap, fmt);
    draw(p, fmt, ap, 0);
    va_end(ap);
}

void bb_progress_end(bb_progress *p, const char *fmt, ...) {
    if (p->done < p->total) p->done = p->total;
    if (p->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    draw(p, fmt, ap, 1);
    va_end(ap);
}
