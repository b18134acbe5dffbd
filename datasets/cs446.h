/* datasets/cs446.h - the "CS446" 2-D point cloud of UIUC CS446 SP24 HW5 (specs/pipelines.md 5.1).
 *
 * The noise-free points are shipped as reference/data/cs446_points.csv (made once with OpenCV by
 * datasets/scripts/make_cs446.py; N = 1291). Loading adds the upstream N(0, 0.01^2) jitter from
 * the Philox stream "data/jitter" of the run seed, so the data are deterministic per seed.
 * Tested by tests/test_cs446.c (shipped file, malformed files).
 */
#ifndef GB_CS446_H
#define GB_CS446_H

#include <stddef.h>
#include <stdint.h>

#include "../core/status.h"

#define GB_CS446_FILE "cs446_points.csv"
#define GB_CS446_N 1291 /* points in the shipped file (tests/test_cs446.c checks it) */

typedef struct {
    float *points;    /* [n, 2] (x, y), jittered */
    size_t n;
    char path[1024];  /* the file read */
    char sha256[65];  /* of that file: the dataset identity in manifests */
} gb_cs446;

/* Find the file: <data_dir>/cs446_points.csv when data_dir is given and holds it, else
 * reference/data/ under the current directory, else under the source checkout. */
gb_status gb_cs446_locate(const char *data_dir, char *path, size_t size);
/* Read and validate (header "x,y", finite numbers, at least one point); jitter_std 0 keeps the
 * points as stored. GB_INPUT naming the file and line on any problem. */
gb_status gb_cs446_load(gb_cs446 *d, const char *path, uint64_t seed, float jitter_std);
void gb_cs446_free(gb_cs446 *d);

#endif
