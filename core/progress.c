/* core/progress.c - terminal bar or plain periodic lines (see progress.h). */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double gb_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void gb_progress_start(gb_progress *p, const char *label, size_t total) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total ? total : 1;
    p->tty = isatty(fileno(stderr));
    p->started = p->last_draw = gb_now_seconds();
    p->last_decile = -1;
}

static void draw_bar(gb_progress *p, size_t done, const char *note) {
    const int width = 30;
    int filled = (int)((double)done / (double)p->total * width);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    double elapsed = gb_now_seconds() - p->started;
    fprintf(stderr, "\r%-16s [%s] %zu/%zu %.0fs %s\033[K", p->label, bar, done, p->total, elapsed,
            note ? note : "");
    fflush(stderr);
}

void gb_progress_update(gb_progress *p, size_t done, const char *note) {
    if (p->tty) {
        double now = gb_now_seconds();
        if (now - p->last_draw < 0.1 && done < p->total) return;
        p->last_draw = now;
        draw_bar(p, done, note);
        return;
    }
    int decile = (int)(10.0 * (double)done / (double)p->total);
    if (decile <= p->last_decile) return;
    p->last_decile = decile;
    fprintf(stderr, "%s: %3d%% (%zu/%zu) %.1fs %s\n", p->label, decile * 10, done, p->total,
            gb_now_seconds() - p->started, note ? note : "");
}

void gb_progress_finish(gb_progress *p, const char *note) {
    if (p->tty) {
        draw_bar(p, p->total, note);
        fputc('\n', stderr);
    } else if (p->last_decile < 10) {
        fprintf(stderr, "%s: 100%% (%zu/%zu) %.1fs %s\n", p->label, p->total, p->total,
                gb_now_seconds() - p->started, note ? note : "");
    }
}
