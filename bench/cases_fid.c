/* bench/cases_fid.c - benchmark cases of the FID metric: the Frechet distance at Inception's
 * 2048 dimensions, ours (metrics/fid.h) against pytorch-fid's scipy.linalg.sqrtm route.
 *
 * Both sides compute on identical statistics: bench/peers/frechet.py draws them from a seed
 * with numpy (two full-rank N-1 covariances of different random mixings, and two means) and
 * writes them with np.savez, together with pytorch-fid's value on them; setup reads that file
 * with gb_npz_load. Rows: "ours-cpu" (GB_FRECHET_AUTO: the Cholesky factor, what genbench fid
 * uses, on the bench's device: "ours-cuda" with cuSOLVER under --device cuda), "ours-eigen" (GB_FRECHET_EIGEN: the eigendecomposition of S1), and "pytorch-fid"
 * (the peer's own timing of calculate_frechet_distance with the same BLAS thread count). The
 * report's ratio is pytorch-fid / ours-cpu (ours-cuda on a GPU); the target is >= 10x.
 * Check: ours within 1e-9 relative of pytorch-fid's value (tests/tolerances.md "FID vs
 * pytorch-fid": both float64 and exact algorithms; scipy's Schur sqrtm is accurate to about
 * cond * eps on these full-rank products). --quick runs the same rows at 64 dimensions.
 *
 * Inception feature extraction (models/inception_v3.h): pool3 features of a batch of 16
 * preprocessed 299x299 images, gb_inception_forward against pytorch-fid's own network
 * (bench/peers/inception_features.py: its fid_inception_v3() blocks under no_grad, same batch
 * and thread count; the target: ours >= 1.2x). Random weights in the real state-dict
 * layout are fine for timing: the peer writes them (torch.save) and ours loads that file,
 * vouching for it by its SHA-256. The peer installs pytorch-fid and torchvision 0.2.2 into
 * build/bench-pydeps when missing (tests/peers/inception_ref.py's import_peers). Check:
 * pool3 of two images within 1e-4 of the largest reference feature (tests/tolerances.md "FID
 * Inception-v3"). Images/s = 16 / median. Not in --quick (a 96 MB weights file and seconds
 * a call).
 */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/manifest.h"
#include "../core/npy.h"
#include "../core/philox.h"
#include "../core/sha256.h"
#include "../metrics/fid.h"
#include "../models/inception_v3.h"
#include "cases.h"
#include "peer.h"

enum { FID_DIM = 2048, FID_DIM_QUICK = 64, FID_SEED = 11, INCEPTION_BATCH = 16 };

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

/* The default route runs where `genbench fid` runs it: gb_frechet_distance_on the bench's
 * device (cuSOLVER on cuda, LAPACK on the cpu); the eigen row stays on the host. */
static gb_status fid_compute(gb_bench_case *c, gb_device *dev) {
    fid_ctx *x = c->ctx;
    return c->where == GB_BENCH_ON_DEVICE
               ? gb_frechet_distance_on(dev, &x->value, stats.mu1, stats.s1, stats.mu2, stats.s2, x->dim, x->method)
               : gb_frechet_distance(&x->value, stats.mu1, stats.s1, stats.mu2, stats.s2, x->dim, x->method);
}

/* Loads the statistics and computes once: a route that cannot run here (cuSOLVER out of
 * memory, say) is the row's setup error, not an abort of the whole bench in the timed loop. */
static gb_status fid_setup(gb_bench_case *c, gb_device *dev) {
    fid_ctx *x = c->ctx;
    GB_TRY(stats_load(x->dim));
    return fid_compute(c, dev);
}

static void fid_run(gb_bench_case *c, gb_device *dev) {
    gb_status s = fid_compute(c, dev);
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
    (void)c;
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

/* ---- Inception-v3 feature extraction ------------------------------------------------------ */

typedef struct {
    char dir[512];
    gb_inception net;
    int loaded;
    float *images, *pool, *check_x, *check_pool;
} inception_ctx;

static void pydeps_dir(char *out, size_t cap) { snprintf(out, cap, "%s/build/bench-pydeps", gb_source_dir()); }

static gb_status inception_prepare(gb_bench_case *c, gb_device *dev) {
    inception_ctx *x = calloc(1, sizeof *x);
    GB_ASSERT(x, "out of memory");
    c->ctx = x;
    const char *tmp = getenv("TMPDIR");
    snprintf(x->dir, sizeof x->dir, "%s/genbench-bench-inception-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(x->dir)) {
        x->dir[0] = '\0';
        return gb_fail(GB_ENV, "cannot create a temporary folder for the Inception weights");
    }
    char deps[600], args[1400], version[128], path[600], hex[65];
    pydeps_dir(deps, sizeof deps);
    snprintf(args, sizeof args, "%s write %s", deps, x->dir);
    double none[1];
    size_t n = 0;
    GB_TRY(gb_bench_run_peer("inception_features.py", args, none, &n, 1, version, sizeof version));
    snprintf(path, sizeof path, "%s/weights.pth", x->dir);
    GB_TRY(gb_sha256_file(path, hex));
    GB_TRY(gb_inception_load(&x->net, dev, path, hex, INCEPTION_BATCH));
    x->loaded = 1;
    gb_npz z;
    snprintf(path, sizeof path, "%s/check.npz", x->dir);
    GB_TRY(gb_npz_load(&z, path));
    const gb_npy_array *cx = gb_npz_find(&z, "x"), *cp = gb_npz_find(&z, "pool");
    const size_t img = 3 * GB_INCEPTION_SIZE * GB_INCEPTION_SIZE;
    gb_status s = GB_OK;
    if (!cx || !cp || cx->count != 2 * img || cp->count != 2 * GB_INCEPTION_FEATURES)
        s = gb_fail(GB_ENV, "%s: expected x [2, 3, 299, 299] and pool [2, 2048]", path);
    else {
        x->check_x = malloc(cx->count * sizeof(float));
        x->check_pool = malloc(cp->count * sizeof(float));
        GB_ASSERT(x->check_x && x->check_pool, "out of memory");
        gb_npy_to_f32(x->check_x, cx);
        gb_npy_to_f32(x->check_pool, cp);
    }
    gb_npz_free(&z);
    GB_TRY(s);
    x->images = malloc(INCEPTION_BATCH * img * sizeof(float));
    x->pool = malloc((size_t)INCEPTION_BATCH * GB_INCEPTION_FEATURES * sizeof(float));
    GB_ASSERT(x->images && x->pool, "out of memory");
    gb_stream st = gb_stream_open(4, "bench/inception/images");
    gb_stream_uniform(&st, x->images, INCEPTION_BATCH * img);
    for (size_t i = 0; i < INCEPTION_BATCH * img; i++) x->images[i] = 2 * x->images[i] - 1;
    return GB_OK;
}

static void inception_teardown(gb_bench_case *c, gb_device *dev);

/* The harness does not tear down a case whose setup failed: clean up here. */
static gb_status inception_setup(gb_bench_case *c, gb_device *dev) {
    gb_status s = inception_prepare(c, dev);
    if (s != GB_OK) inception_teardown(c, dev);
    return s;
}

static void inception_run(gb_bench_case *c, gb_device *dev) {
    (void)dev;
    inception_ctx *x = c->ctx;
    gb_inception_forward(&x->net, x->pool, NULL, x->images, INCEPTION_BATCH);
}

static int inception_check(gb_bench_case *c, gb_device *dev, double *error) {
    (void)dev;
    inception_ctx *x = c->ctx;
    float got[2 * GB_INCEPTION_FEATURES];
    gb_inception_forward(&x->net, got, NULL, x->check_x, 2);
    double worst = 0, largest = 0;
    for (size_t i = 0; i < 2 * GB_INCEPTION_FEATURES; i++) {
        double e = fabs((double)got[i] - x->check_pool[i]);
        if (e > worst) worst = e;
        if (fabs(x->check_pool[i]) > largest) largest = fabs(x->check_pool[i]);
    }
    *error = worst / (largest > 0 ? largest : 1);
    return *error <= 1e-4;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void inception_teardown(gb_bench_case *c, gb_device *dev) {
    (void)dev;
    inception_ctx *x = c->ctx;
    if (!x) return;
    if (x->loaded) gb_inception_free(&x->net);
    if (x->dir[0]) nftw(x->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(x->images);
    free(x->pool);
    free(x->check_x);
    free(x->check_pool);
    free(x);
    c->ctx = NULL;
}

static gb_status inception_peer(gb_bench_case *c, int threads, int quick, double *samples, size_t *n, size_t cap,
                                char *note, size_t note_cap) {
    (void)c, (void)quick;
    char deps[600], args[800], version[128];
    pydeps_dir(deps, sizeof deps);
    snprintf(args, sizeof args, "%s time %d %d 1 5", deps, INCEPTION_BATCH, threads);
    GB_TRY(gb_bench_run_peer("inception_features.py", args, samples, n, cap, version, sizeof version));
    snprintf(note, note_cap, "%s", version);
    return GB_OK;
}

static void fill_names(gb_bench_case *c, const char *kernel, const char *impl, const char *shape) {
    snprintf(c->kernel, sizeof c->kernel, "%s", kernel);
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
        fill_names(c, "frechet", impls[k], shape);
        c->where = k == 0 ? GB_BENCH_ON_DEVICE : GB_BENCH_HOST;
        static fid_ctx rows[2]; /* not allocated: rows --filter leaves out are never torn down */
        fid_ctx *x = &rows[k];
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
    fill_names(c, "frechet", "pytorch-fid", shape);
    c->where = GB_BENCH_HOST;
    c->external = fid_peer;
    if (quick) return;
    snprintf(shape, sizeof shape, "b%d 3x299x299 -> pool3 2048, random weights", INCEPTION_BATCH);
    c = gb_bench_list_add(list);
    fill_names(c, "inception", "ours-cpu", shape);
    c->setup = inception_setup;
    c->run = inception_run;
    c->check = inception_check;
    c->teardown = inception_teardown;
    c = gb_bench_list_add(list);
    fill_names(c, "inception", "pytorch-fid", shape);
    c->external = inception_peer;
}
