/* datasets/cs446.c - load the shipped CS446 point cloud (see cs446.h). */
#include "cs446.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/csv.h"
#include "../core/manifest.h"
#include "../core/philox.h"
#include "../core/sha256.h"

gb_status gb_cs446_locate(const char *data_dir, char *path, size_t size) {
    if (data_dir) {
        snprintf(path, size, "%s/%s", data_dir, GB_CS446_FILE);
        if (access(path, R_OK) == 0) return GB_OK;
    }
    snprintf(path, size, "reference/data/%s", GB_CS446_FILE);
    if (access(path, R_OK) == 0) return GB_OK;
    snprintf(path, size, "%s/reference/data/%s", gb_source_dir(), GB_CS446_FILE);
    if (access(path, R_OK) == 0) return GB_OK;
    return gb_fail(GB_INPUT, "%s not found in %s, ./reference/data or %s/reference/data; "
                   "regenerate it with /usr/bin/python3 datasets/scripts/make_cs446.py",
                   GB_CS446_FILE, data_dir ? data_dir : "(no --data)", gb_source_dir());
}

gb_status gb_cs446_load(gb_cs446 *d, const char *path, uint64_t seed, float jitter_std) {
    memset(d, 0, sizeof *d);
    snprintf(d->path, sizeof d->path, "%s", path);
    gb_csv_table t;
    GB_TRY(gb_csv_read(path, &t));
    gb_status s = GB_OK;
    if (t.n_cols != 2 || strcmp(t.header[0], "x") != 0 || strcmp(t.header[1], "y") != 0) {
        s = gb_fail(GB_INPUT, "%s: expected the header 'x,y'", path);
    } else if (t.n_rows == 0) {
        s = gb_fail(GB_INPUT, "%s: no points", path);
    }
    if (s == GB_OK) {
        d->n = t.n_rows;
        d->points = malloc(2 * d->n * sizeof(float));
        GB_ASSERT(d->points, "out of host memory");
        for (size_t r = 0; r < d->n && s == GB_OK; r++) {
            double x = 0, y = 0; /* set by gb_csv_double on success; read only then */
            s = gb_csv_double(&t, r, "x", &x);
            if (s == GB_OK) s = gb_csv_double(&t, r, "y", &y);
            if (s == GB_OK && !(isfinite(x) && isfinite(y)))
                s = gb_fail(GB_INPUT, "%s: data row %zu holds a non-finite value", path, r + 1);
            d->points[2 * r] = (float)x;
            d->points[2 * r + 1] = (float)y;
        }
    }
    gb_csv_free(&t);
    if (s == GB_OK) s = gb_sha256_file(path, d->sha256);
    if (s != GB_OK) {
        gb_cs446_free(d);
        return s;
    }
    gb_stream jitter = gb_stream_open(seed, "data/jitter");
    for (size_t i = 0; i < 2 * d->n && jitter_std > 0; i++)
        d->points[i] += jitter_std * gb_philox_normal_at(jitter.key, i);
    return GB_OK;
}

void gb_cs446_free(gb_cs446 *d) {
    free(d->points);
    d->points = NULL;
    d->n = 0;
}
