/* bench/peer.h - run a PyTorch peer script and read its timings.
 *
 * A peer (bench/peers/<name>.py) prints one JSON object on stdout with "times_s":
 * [seconds per call, ...] and "torch": "<version>". It runs under Debian's Python
 * (/usr/bin/python3, where python3-torch lives) with the same thread count as ours.
 */
#ifndef GB_BENCH_PEER_H
#define GB_BENCH_PEER_H

#include <stddef.h>

#include "../core/status.h"

/* Run `/usr/bin/python3 <source>/bench/peers/<script> <args>`; fill times (up to cap)
 * and version. GB_ENV naming the command when it cannot run or prints no times. */
gb_status gb_bench_run_peer(const char *script, const char *args, double *times, size_t *n, size_t cap,
                            char *version, size_t version_cap);

#endif
