/* bench/cases_fid.c - benchmark cases of the FID metric: the Frechet distance at Inception's
 * 2048 dimensions, ours (metrics/fid.h) against pytorch-fid's scipy.linalg.sqrtm route.
 *
 * Both sides compute on identical statistics: bench/peers/frechet.py draws them from a seed
 * with numpy (two full-rank N-1 covariances of different random mixings, and two means) and
 * writes them with np.savez, together with pytorch-fid's value on them; setup reads that file
 * with gb_npz_load. Rows: "ours-cpu" (GB_FRECHET_AUTO: the Cholesky factor, what genbench fid
 * uses), "ours-eigen" (GB_FRECHET_EIGEN: the eigendecomposition of S1), and "pytorch-fid"
 * (the peer's own timing of calculate_frechet_distance with the same BLAS thread count). The
 * report's ratio is pytorch-fid / ours-cpu; the target is >= 10x.
 * Check: ours within 1e-9 relative of pytorch-fid's value (tests/tolerances.md "FID vs
 * pytorch-fid": both float64 and exact algorithms; scipy's Schur sqrtm is accurate to about
 * cond * eps on these full-rank products). --quick runs the same rows at 64 dimensions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/npy.h"
#include "../metrics/fid.h"
#include "cases.h"
#include "peer.h"

enum { FID_DIM = 2048, FID_DIM_QUICK = 64, FID_SEED = 11 };

/* The statistics and pytorch-fid's value, read once for both of our rows (the peer's sqrtm
 * takes seconds); freed when the last row that registered for them is torn down. */
static struct {
    size_t dim;
    double *mu1, *s1, *mu2, *s2;
    double peer_value;
    int users; /* registered rows not yet torn down */
} stats;

typedef struct {
    gb_frechet_method method;
    size_t dim;
    double value;
} fid_ctx;

static gb_status take(const gb_npz *z, const char *key, size_t count, double **out) {
    const gb_npy_array *a = gb_npz_find(z, key);
    if (!a || a->count != count)
        return gb_fail(GB_ENV, "bench/peers/frechet.py wrote no '%s' of %zu values", key, count);
    *out = malloc(count * sizeof **out);
    GB_ASSERT(*out, "out of memory for %zu doubles", count);
    gb_npy_to_f64(*out, a);
    return GB_OK;
}

static void stats_free(void) {
    free(stats.mu1);
    free(stats.s1);
    free(stats.mu2);
    free(stats.s2);
    stats.mu1 = stats.s1 = stats.mu2 = stats.s2 = NULL;
}

static gb_status stats_load(size_t dim) {
    if (stats.mu1 && stats.dim == dim) return GB_OK;
    stats_free();
    stats.dim = dim;
    const char *tmp = getenv("TMPDIR");
    char path[512], args[700], version[128];
    snprintf(path, sizeof path, "%s/genbench-bench-fid-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return gb_fail(GB_ENV, "cannot create a temporary file %s for the FID statistics", path);
    close(fd);
    char npz[600];
    snprintf(npz, sizeof npz, "%s.npz", path); /* np.savez appends .npz to a name without it */
    snprintf(args, sizeof args, "write %zu %d %s", dim, FID_SEED, npz);
    double none[1];
    size_t n = 0;
    gb_status s = gb_bench_run_peer("frechet.py", args, none, &n, 1, version, sizeof version);
    gb_npz z = {0};
    if (s == GB_OK) s = gb_npz_load(&z, npz);
    double *fid = NULL;
    if (s == GB_OK) s = take(&z, "mu1", dim, &stats.mu1);
    if (s == GB_OK) s = take(&z, "sigma1", dim * dim, &stats.s1);
    if (s == GB_OK) s = take(&z, "mu2", dim, &stats.mu2);
    if (s == GB_OK) s = take(&z, "sigma2", dim * dim, &stats.s2);
    if (s == GB_OK) s = take(&z, "fid", 1, &fid);
    if (s == GB_OK) stats.peer_value = fid[0];
    else stats_free();
    free(fid);
    gb_npz_free(&z);
    remove(npz);
    remove(path);
    return s;
}

static gb_status fid_setup(gb_bench_case *c, gb_device *dev) {
    (void)dev;
    fid_ctx *x = c->ctx;
    return stats_load(x->dim);
}

static void fid_run(gb_bench_case *c, gb_device *dev) {
    (void)dev;
    fid_ctx *x = c->ctx;
    gb_status s = gb_frechet_distance(&x->value, stats.mu1, stats.s1, stats.mu2, stats.s2, x->dim, x->method);
    GB_ASSERT(s == GB_OK, "Frechet distance on the benchmark statistics: %s", gb_last_error());
}

static int fid_check(gb_bench_case *c, gb_device *dev, double *error) {
    (void)dev;
    fid_ctx *x = c->ctx;
    *error = fabs(x->value - stats.peer_value) / fabs(stats.peer_value);
    return *error <= 1e-9;
}

static void fid_teardown(gb_bench_case *c, gb_device *dev) {
    (void)dev;
    free(c->ctx);
    c->ctx = NULL;
    if (--stats.users == 0) stats_free();
}

static gb_status fid_peer(gb_bench_case *c, int threads, int quick, double *samples, size_t *n, size_t cap,
                          char *note, size_t note_cap) {
    (void)c;
    char args[128], version[128];
    snprintf(args, sizeof args, "time %d %d %d %d %d", quick ? FID_DIM_QUICK : FID_DIM, FID_SEED, threads,
             1, 3);
    GB_TRY(gb_bench_run_peer("frechet.py", args, samples, n, cap, version, sizeof version));
    snprintf(note, note_cap, "%s", version);
    return GB_OK;
}

static void fill_names(gb_bench_case *c, const char *impl, const char *shape) {
    snprintf(c->kernel, sizeof c->kernel, "frechet");
    snprintf(c->direction, sizeof c->direction, "fwd");
    snprintf(c->impl, sizeof c->impl, "%s", impl);
    snprintf(c->shape, sizeof c->shape, "%s", shape);
}

void gb_bench_add_fid_cases(gb_bench_list *list, int quick) {
    const size_t dim = quick ? FID_DIM_QUICK : FID_DIM;
    char shape[96];
    snprintf(shape, sizeof shape, "d%zu, full-rank covariances (bench/peers/frechet.py seed %d)", dim, FID_SEED);
    static const char *const impls[2] = {"ours-cpu", "ours-eigen"};
    for (int k = 0; k < 2; k++) {
        gb_bench_case *c = gb_bench_list_add(list);
        fill_names(c, impls[k], shape);
        fid_ctx *x = calloc(1, sizeof *x);
        GB_ASSERT(x, "out of memory");
        x->method = k == 0 ? GB_FRECHET_AUTO : GB_FRECHET_EIGEN;
        x->dim = dim;
        c->ctx = x;
        stats.users++;
        c->setup = fid_setup;
        c->run = fid_run;
        c->check = fid_check;
        c->teardown = fid_teardown;
    }
    gb_bench_case *c = gb_bench_list_add(list);
    fill_names(c, "pytorch-fid", shape);
    c->external = fid_peer;
}
