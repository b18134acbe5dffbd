/* bench/paired.c - ours against a peer in alternating rounds (see paired.h).
 * Exercised by tests/smoke.sh (`genbench bench --quick --rounds 2` on the toy step rows). */
#include "paired.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/atomic_file.h"
#include "../core/csv.h"
#include "output.h"

/* median, min and max of the rounds' ratios */
static void summarise(gb_bench_pair *p) {
    if (p->rounds == 0) {
        p->median = p->lo = p->hi = NAN;
        return;
    }
    double s[GB_BENCH_MAX_ROUNDS];
    memcpy(s, p->ratio, (size_t)p->rounds * sizeof *s);
    gb_bench_sort(s, (size_t)p->rounds);
    p->median = gb_bench_median_sorted(s, (size_t)p->rounds);
    p->lo = s[0];
    p->hi = s[p->rounds - 1];
}

/* One round of a peer row and its ours rows: the peer first or last, as the round says. */
static void run_round(gb_bench_list *cases, size_t peer, const size_t *ours, size_t nours, gb_device *dev,
                      int threads, const gb_bench_method *m, int peer_first, gb_bench_result *peer_r,
                      gb_bench_result *ours_r) {
    if (peer_first) gb_bench_run_case(&cases->items[peer], dev, threads, m, peer_r);
    for (size_t k = 0; k < nours; k++) {
        gb_bench_case *o = &cases->items[ours[k]];
        fprintf(stderr, "bench: round: %s %s %s [%s]\n", o->kernel, o->direction, o->impl, o->shape);
        gb_bench_run_case(o, dev, threads, m, &ours_r[k]);
    }
    if (!peer_first) gb_bench_run_case(&cases->items[peer], dev, threads, m, peer_r);
}

void gb_bench_run_pairs(gb_bench_list *cases, const gb_bench_result *results, const unsigned char *selected,
                        gb_device *dev, int threads, const gb_bench_method *m, int rounds, gb_bench_pair **pairs,
                        size_t *count) {
    GB_ASSERT(rounds >= 1 && rounds <= GB_BENCH_MAX_ROUNDS, "rounds %d outside [1, %d]", rounds,
              GB_BENCH_MAX_ROUNDS);
    *pairs = NULL;
    *count = 0;
    size_t cap = 0;
    size_t *ours = malloc((cases->count ? cases->count : 1) * sizeof *ours);
    gb_bench_result *ours_r = malloc((cases->count ? cases->count : 1) * sizeof *ours_r);
    GB_ASSERT(ours && ours_r, "out of memory for %zu benchmark rows", cases->count);
    for (size_t i = 0; i < cases->count; i++) {
        const gb_bench_case *peer = &cases->items[i];
        if (!selected[i] || !results[i].timed || gb_bench_is_ours(peer)) continue;
        size_t nours = 0;
        for (size_t j = 0; j < cases->count; j++)
            if (selected[j] && results[j].timed && gb_bench_compared(peer, &cases->items[j])) ours[nours++] = j;
        if (nours == 0) continue;
        if (*count + nours > cap) {
            cap = 2 * (*count + nours);
            *pairs = realloc(*pairs, cap * sizeof **pairs);
            GB_ASSERT(*pairs, "out of memory for %zu ratio pairs", cap);
        }
        gb_bench_pair *first = *pairs + *count;
        for (size_t k = 0; k < nours; k++) first[k] = (gb_bench_pair){.peer = i, .ours = ours[k]};
        fprintf(stderr, "bench: %d alternating rounds of %s %s %s [%s] against %zu row%s of ours\n", rounds,
                peer->kernel, peer->direction, peer->impl, peer->shape, nours, nours == 1 ? "" : "s");
        for (int r = 0; r < rounds; r++) {
            gb_bench_result peer_r;
            run_round(cases, i, ours, nours, dev, threads, m, r % 2 == 0, &peer_r, ours_r);
            for (size_t k = 0; k < nours; k++)
                if (peer_r.timed && ours_r[k].timed && ours_r[k].median_s > 0)
                    first[k].ratio[first[k].rounds++] = peer_r.median_s / ours_r[k].median_s;
        }
        for (size_t k = 0; k < nours; k++) summarise(&first[k]);
        *count += nours;
    }
    free(ours);
    free(ours_r);
}

gb_status gb_bench_write_pairs(const gb_bench_list *cases, const gb_bench_pair *pairs, size_t count,
                               const gb_manifest *manifest, const char *path) {
    gb_atomic_file af;
    GB_TRY(gb_atomic_open(&af, path));
    gb_bench_write_manifest_lines(af.fp, manifest);
    static const char *const header[] = {"kernel", "direction", "shape",     "ours",      "peer",
                                         "rounds", "ratio_median", "ratio_min", "ratio_max", "ratios"};
    gb_csv_write_row(af.fp, header, sizeof header / sizeof header[0]);
    for (size_t i = 0; i < count; i++) {
        const gb_bench_pair *p = &pairs[i];
        const gb_bench_case *peer = &cases->items[p->peer], *o = &cases->items[p->ours];
        char rounds[16], med[32], lo[32], hi[32], list[GB_BENCH_MAX_ROUNDS * 12] = "";
        snprintf(rounds, sizeof rounds, "%d", p->rounds);
        snprintf(med, sizeof med, "%.4g", p->median);
        snprintf(lo, sizeof lo, "%.4g", p->lo);
        snprintf(hi, sizeof hi, "%.4g", p->hi);
        for (int r = 0; r < p->rounds; r++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%.4g", r ? ";" : "", p->ratio[r]);
        }
        const char *row[] = {peer->kernel, peer->direction, peer->shape, o->impl, peer->impl,
                             rounds,       med,             lo,          hi,      list};
        gb_csv_write_row(af.fp, row, sizeof row / sizeof row[0]);
        if (p->rounds == 0)
            printf("paired ratio %s %s [%s]: %s / %s: no round timed both\n", peer->kernel, peer->direction,
                   peer->shape, peer->impl, o->impl);
        else
            printf("paired ratio %s %s [%s]: %s median / %s median = %.2fx, median of %d alternating rounds "
                   "(%.2f-%.2fx)%s\n",
                   peer->kernel, peer->direction, peer->shape, peer->impl, o->impl, p->median, p->rounds, p->lo,
                   p->hi, p->median > 1 ? " (ours faster)" : " (ours slower)");
    }
    return gb_atomic_commit(&af);
}
