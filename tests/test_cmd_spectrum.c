/* tests/test_cmd_spectrum.c - `genbench spectrum A B` (cli/cmd_spectrum.c, compiled into this
 * suite with cli/cli_common.c: the test binaries link only the library, not cli/).
 *
 * Against numpy (tests/peers/metrics_misc.py, write_spectrum_cmd: two Pillow-written folders,
 * one JPEG and one greyscale PNG among them, the same pixels as .npy, numpy.fft spectra and
 * distance): the printed distance and the --csv table. Folder, uint8, float32 and float64
 * inputs of the same pixels give byte-identical tables; the block-streamed sum gives the bits
 * of one gb_spectrum_mean call over the whole set, for any --threads and across blocks. Every
 * error path with its exit status (2 usage, 3 bad input, 5 environment), and --csv is written
 * atomically: never a half file, never an existing file clobbered by a failing run. Dataset
 * splits give the tables of .npy arrays of the same images, byte for byte.
 *
 * Tolerances (tests/tolerances.md, "genbench spectrum"):
 *   TOL_FFT 1e-12 of bin 0 on each power: test_spectrum.c's bound for FFTW's r2c half plane
 *     against numpy's full-plane fft2 (double FFTs, O(log n) rounding growth).
 *   ratio_db: that bound carried through 10 log10(a / b): 10 / ln 10 (e_a / a + e_b / b).
 *   TOL_PRINTED 1e-9 relative on the printed distance: %.10g rounds by at most 5e-10, the
 *     distance itself agrees with numpy to ~1e-15.
 */
#include "../cli/cli_common.c"
#include "../cli/cmd_spectrum.c"

#include <criterion/criterion.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/csv.h"
#include "datasets/cifar10.h"
#include "datasets/shapes32.h"
#include "core/png.h"
#include "tests/cmd_capture.h"
#include "tests/metrics_misc_fixture.h"
#include "tests/run_binary.h"
#include "tests/zip_writer.h"

#define TOL_FFT 1e-12
#define TOL_PRINTED 1e-9
#define SPEC_H 20
#define SPEC_W 24
#define SPEC_BINS 16 /* floor(sqrt(10^2 + 12^2)) + 1 */
#define SEED_SPEC 0x5bec7a11ULL

/* ---- helpers ------------------------------------------------------------------------------ */

/* "$GB_FIXTURES/metrics_misc/spectrum_cmd/<rel>" in buf; fails when the peer has not run. */
static char *fixture_path(char *buf, size_t size, const char *rel) {
    const char *root = getenv("GB_FIXTURES");
    if (!root)
        cr_assert_fail("GB_FIXTURES is not set: run `make test`, or /usr/bin/python3 tests/peers/metrics_misc.py DIR");
    snprintf(buf, size, "%s/metrics_misc/spectrum_cmd/%s", root, rel);
    struct stat st;
    if (stat(buf, &st) != 0)
        cr_assert_fail("fixture %s is missing: run /usr/bin/python3 tests/peers/metrics_misc.py %s", buf, root);
    return buf;
}

typedef struct {
    gb_status status;
    char out[8192];  /* all of stdout */
    char err[4096];  /* all of stderr (warnings) */
    char last[256];  /* the last line of stdout, without its newline */
} cmd_result;

/* gb_cmd_spectrum(argv) with stdout and stderr caught in r (tests/cmd_capture.h). */
static void run_spectrum(cmd_result *r, char **argv, int argc) {
    r->status = run_cmd(gb_cmd_spectrum, argv, argc, r->last, sizeof r->last);
    capture_copy(r->out, sizeof r->out, captured);
    capture_copy(r->err, sizeof r->err, captured_err);
    r->last[strcspn(r->last, "\n")] = 0;
}

#define RUN(r, ...)                                                   \
    do {                                                              \
        char *argv_[] = {"spectrum", __VA_ARGS__};                    \
        run_spectrum((r), argv_, (int)(sizeof argv_ / sizeof *argv_)); \
    } while (0)

/* RUN, which must succeed. */
#define RUN_OK(r, ...)                                         \
    do {                                                       \
        RUN((r), __VA_ARGS__);                                 \
        cr_assert_eq((r)->status, GB_OK, "%s", gb_last_error()); \
    } while (0)

/* Two runs gave one table (csv files compared byte for byte) and one distance line. */
static void expect_same_table(const cmd_result *r, const char *csv, const cmd_result *ref, const char *ref_csv,
                              const char *what) {
    cr_expect(files_equal(csv, ref_csv), "%s", what);
    cr_expect_str_eq(r->last, ref->last, "%s", what);
}

/* The run failed with `want`, and its message holds `piece` (unless NULL). */
static void expect_failure(const cmd_result *r, gb_status want, const char *piece, const char *args) {
    cr_expect_eq(r->status, want, "spectrum %s: status %d, want %d (%s)", args, r->status, want, gb_last_error());
    if (piece)
        cr_expect_not_null(strstr(gb_last_error(), piece), "spectrum %s: '%s' lacks '%s'", args, gb_last_error(),
                           piece);
}

#define EXPECT_FAIL(r, want, piece, ...)                     \
    do {                                                     \
        RUN((r), __VA_ARGS__);                               \
        expect_failure((r), (want), (piece), #__VA_ARGS__);  \
    } while (0)

static char *temp_dir(char *buf) {
    strcpy(buf, "/tmp/gb_cmdspec_XXXXXX");
    cr_assert_not_null(mkdtemp(buf));
    return buf;
}

static void remove_tree(const char *dir) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* Uniform in [0, 1) from a splitmix64 stream. */
static double unif(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}

/* Writes dir/name as a .npy [n, c, h, w] of dtype t; values from fill(i) (i the flat index). */
static void write_npy(char *path, size_t size, const char *dir, const char *name, gb_npy_dtype t, const size_t *shape,
                      int ndim, double (*fill)(size_t i, void *ctx), void *ctx) {
    snprintf(path, size, "%s/%s", dir, name);
    size_t count = 1;
    for (int d = 0; d < ndim; d++) count *= shape[d];
    void *data = malloc(count * gb_npy_itemsize(t) + 1);
    cr_assert_not_null(data);
    for (size_t i = 0; i < count; i++) {
        double v = fill(i, ctx);
        if (t == GB_NPY_U8) ((uint8_t *)data)[i] = (uint8_t)v;
        else if (t == GB_NPY_F32) ((float *)data)[i] = (float)v;
        else if (t == GB_NPY_F64) ((double *)data)[i] = v;
        else ((int32_t *)data)[i] = (int32_t)v;
    }
    gb_npy_array a = gb_npy_view(t, ndim, shape, data);
    cr_assert_eq(gb_npy_save(path, &a), GB_OK, "%s", gb_last_error());
    free(data);
}

static double fill_random_u8(size_t i, void *ctx) {
    (void)i;
    return floor(256.0 * unif(ctx));
}

static double fill_constant(size_t i, void *ctx) {
    (void)i;
    (void)ctx;
    return 100.0;
}

/* A w x h RGB PNG of pseudo-random pixels at dir/name. */
static void write_png(const char *dir, const char *name, int h, int w, uint64_t seed) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *rgb = malloc((size_t)h * w * 3);
    cr_assert_not_null(rgb);
    for (int i = 0; i < h * w * 3; i++) rgb[i] = (uint8_t)(256.0 * unif(&seed));
    cr_assert_eq(gb_png_write_rgb(path, rgb, w, h), GB_OK, "%s", gb_last_error());
    free(rgb);
}

typedef struct {
    double k[SPEC_BINS], count[SPEC_BINS], pa[SPEC_BINS], pb[SPEC_BINS], ratio[SPEC_BINS];
} spec_table;

/* The --csv file: exactly the five columns and one row per bin. */
static void read_table(spec_table *t, const char *path) {
    gb_csv_table csv;
    cr_assert_eq(gb_csv_read(path, &csv), GB_OK, "%s", gb_last_error());
    static const char *const cols[] = {"k", "count", "power_a", "power_b", "ratio_db"};
    cr_assert_eq(csv.n_cols, 5);
    for (int c = 0; c < 5; c++) cr_assert_str_eq(csv.header[c], cols[c]);
    cr_assert_eq(csv.n_rows, SPEC_BINS, "%zu rows", csv.n_rows);
    for (size_t i = 0; i < SPEC_BINS; i++) {
        double *dst[] = {&t->k[i], &t->count[i], &t->pa[i], &t->pb[i], &t->ratio[i]};
        for (int c = 0; c < 5; c++) cr_assert_eq(gb_csv_double(&csv, i, cols[c], dst[c]), GB_OK, "%s", gb_last_error());
    }
    gb_csv_free(&csv);
}

/* gb_spectrum_mean in one call over a whole .npy image array (any dtype, as floats). */
static void one_call_spectrum(double *spec, const char *npy) {
    gb_npy_array a;
    cr_assert_eq(gb_npy_load(&a, npy), GB_OK, "%s", gb_last_error());
    float *x = malloc(a.count * sizeof *x);
    cr_assert_not_null(x);
    gb_npy_to_f32(x, &a);
    gb_spectrum_plan *p;
    cr_assert_eq(gb_spectrum_plan_create(&p, a.shape[2], a.shape[3]), GB_OK);
    cr_assert_eq(gb_spectrum_mean(p, spec, x, a.shape[0], a.shape[1]), GB_OK, "%s", gb_last_error());
    gb_spectrum_plan_free(p);
    free(x);
    gb_npy_free(&a);
}

/* ---- against numpy ------------------------------------------------------------------------ */

Test(cmd_spectrum, folders_against_numpy) {
    char a[1024], b[1024], dir[64], csv[128];
    fixture_path(a, sizeof a, "a");
    fixture_path(b, sizeof b, "b");
    snprintf(csv, sizeof csv, "%s/t.csv", temp_dir(dir));
    cmd_result r;
    RUN(&r, a, b, "--csv", csv);
    cr_assert_eq(r.status, GB_OK, "%s", gb_last_error());

    double *dist = mm_read_f64("spec_cmd_dist", 1, NULL);
    double got = strtod(r.last, NULL);
    cr_expect(fabs(got - dist[0]) <= TOL_PRINTED * dist[0], "last line '%s', numpy %.17g", r.last, dist[0]);
    char want[1200];
    snprintf(want, sizeof want, "A: %s (folder, n = 6, c = 3, h = 20, w = 24, values 0..255)\n", a);
    cr_expect_not_null(strstr(r.out, want), "%s", r.out);
    snprintf(want, sizeof want, "B: %s (folder, n = 5, c = 3, h = 20, w = 24, values 0..255)\n", b);
    cr_expect_not_null(strstr(r.out, want), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "bins: k = 1..9 of 0..15 (complete rings; DC and corners left out), "
                                     "spectrum: genbench v1, device cpu (2 threads)\n"),
                       "%s", r.out);

    spec_table t;
    read_table(&t, csv);
    double *ra = mm_read_f64("spec_cmd_a", SPEC_BINS, NULL), *rb = mm_read_f64("spec_cmd_b", SPEC_BINS, NULL);
    double *rc = mm_read_f64("spec_cmd_count", SPEC_BINS, NULL);
    for (size_t k = 0; k < SPEC_BINS; k++) {
        cr_expect_eq(t.k[k], (double)k);
        cr_expect_eq(t.count[k], rc[k], "bin %zu: count %g, numpy %g", k, t.count[k], rc[k]);
    }
    /* scale = max(|want|, bin 0): 1e-12 of the spectrum's scale, as test_spectrum.c */
    mm_expect_close("power_a", t.pa, ra, SPEC_BINS, TOL_FFT, ra[0]);
    mm_expect_close("power_b", t.pb, rb, SPEC_BINS, TOL_FFT, rb[0]);
    double worst = 0, worst_power = 0;
    for (size_t k = 0; k < SPEC_BINS; k++) {
        worst_power = fmax(worst_power, fmax(fabs(t.pa[k] - ra[k]) / ra[0], fabs(t.pb[k] - rb[k]) / rb[0]));
        double ref = 10.0 * log10(ra[k] / rb[k]);
        double tol = 10.0 / log(10.0) * (TOL_FFT * ra[0] / ra[k] + TOL_FFT * rb[0] / rb[k]);
        cr_expect(fabs(t.ratio[k] - ref) <= tol, "ratio_db[%zu] %.17g, numpy %.17g (tol %.3g)", k, t.ratio[k], ref,
                  tol);
        worst = fmax(worst, fabs(t.ratio[k] - ref));
    }
    cr_log_info("spectrum command vs numpy: distance printed %s (numpy %.17g), worst power error %.3g of bin 0, "
                "worst ratio_db error %.3g dB",
                r.last, dist[0], worst_power, worst);
    free(dist);
    free(ra);
    free(rb);
    free(rc);
    remove_tree(dir);
}

/* The same pixels as a folder (PNG + JPEG + greyscale PNG, decoded as Pillow does), uint8,
 * float32 and float64 arrays: the same floats reach the FFT, so the same bytes come out. */
Test(cmd_spectrum, folder_and_npy_same_bits) {
    char a[1024], b[1024], au8[1024], af32[1024], bu8[1024], bf64[1024], dir[64];
    fixture_path(a, sizeof a, "a");
    fixture_path(b, sizeof b, "b");
    fixture_path(au8, sizeof au8, "a_u8.npy");
    fixture_path(af32, sizeof af32, "a_f32.npy");
    fixture_path(bu8, sizeof bu8, "b_u8.npy");
    fixture_path(bf64, sizeof bf64, "b_f64.npy");
    temp_dir(dir);
    char *pairs[][3] = {{a, b, "ref.csv"}, {au8, bu8, "u8.csv"}, {af32, bf64, "f.csv"}, {a, bf64, "mixed.csv"}};
    char ref_csv[128], ref_last[256] = "";
    for (int i = 0; i < 4; i++) {
        char csv[128];
        snprintf(csv, sizeof csv, "%s/%s", dir, pairs[i][2]);
        cmd_result r;
        RUN(&r, pairs[i][0], pairs[i][1], "--csv", csv);
        cr_assert_eq(r.status, GB_OK, "%s: %s", pairs[i][2], gb_last_error());
        if (i == 0) {
            snprintf(ref_csv, sizeof ref_csv, "%s", csv);
            snprintf(ref_last, sizeof ref_last, "%s", r.last);
            continue;
        }
        cr_expect(files_equal(csv, ref_csv), "%s differs from the folders' table", pairs[i][2]);
        cr_expect_str_eq(r.last, ref_last, "%s", pairs[i][2]);
        if (i == 2) {
            /* float arrays report their own range */
            cr_expect_not_null(strstr(r.out, "(npy float32, n = 6, c = 3, h = 20, w = 24, values 0..255)"), "%s",
                               r.out);
            cr_expect_not_null(strstr(r.out, "(npy float64, n = 5, c = 3, h = 20, w = 24, values 8..232)"), "%s",
                               r.out);
        }
        if (i == 1) cr_expect_not_null(strstr(r.out, "(npy uint8, n = 6"), "%s", r.out);
    }
    remove_tree(dir);
}

/* [n, h, w, c] arrays (OpenAI's sample batches; axis 3 of 3) are the same images: the same
 * table as their [n, c, h, w] original, uint8 and float32 alike; a bad element is named by its
 * index in the stored order. */
Test(cmd_spectrum, channels_last_arrays_same_bits) {
    char au8[1024], bu8[1024], dir[64], nhwc_u8[160], nhwc_f32[160], ref_csv[160], csv[160];
    fixture_path(au8, sizeof au8, "a_u8.npy");
    fixture_path(bu8, sizeof bu8, "b_u8.npy");
    temp_dir(dir);
    gb_npy_array a;
    cr_assert_eq(gb_npy_load(&a, au8), GB_OK, "%s", gb_last_error());
    cr_assert(a.ndim == 4 && a.shape[1] == 3 && a.dtype == GB_NPY_U8);
    const size_t n = a.shape[0], c = a.shape[1], hw = a.shape[2] * a.shape[3];
    const size_t nhwc[4] = {n, a.shape[2], a.shape[3], c};
    uint8_t *u8 = malloc(a.count);
    float *f32 = malloc(a.count * sizeof *f32);
    cr_assert(u8 && f32);
    for (size_t i = 0; i < n; i++)
        for (size_t ch = 0; ch < c; ch++)
            for (size_t p = 0; p < hw; p++) {
                uint8_t v = ((const uint8_t *)a.data)[(i * c + ch) * hw + p];
                u8[(i * hw + p) * c + ch] = v;
                f32[(i * hw + p) * c + ch] = v;
            }
    snprintf(nhwc_u8, sizeof nhwc_u8, "%s/a_nhwc_u8.npy", dir);
    snprintf(nhwc_f32, sizeof nhwc_f32, "%s/a_nhwc_f32.npy", dir);
    gb_npy_array v = gb_npy_view(GB_NPY_U8, 4, nhwc, u8);
    cr_assert_eq(gb_npy_save(nhwc_u8, &v), GB_OK, "%s", gb_last_error());
    v = gb_npy_view(GB_NPY_F32, 4, nhwc, f32);
    cr_assert_eq(gb_npy_save(nhwc_f32, &v), GB_OK, "%s", gb_last_error());

    cmd_result r, ref;
    snprintf(ref_csv, sizeof ref_csv, "%s/ref.csv", dir);
    RUN_OK(&ref, au8, bu8, "--csv", ref_csv);
    snprintf(csv, sizeof csv, "%s/u8.csv", dir);
    RUN_OK(&r, nhwc_u8, bu8, "--csv", csv);
    expect_same_table(&r, csv, &ref, ref_csv, "[n, h, w, c] uint8 differs from [n, c, h, w]");
    cr_expect_not_null(strstr(r.out, "(npy uint8 [n, h, w, c], n = 6, c = 3, h = 20, w = 24, values 0..255)"), "%s",
                       r.out);
    snprintf(csv, sizeof csv, "%s/f32.csv", dir);
    RUN_OK(&r, nhwc_f32, bu8, "--csv", csv);
    cr_expect(files_equal(csv, ref_csv), "[n, h, w, c] float32 differs from [n, c, h, w] uint8");

    f32[((1 * a.shape[2] + 2) * a.shape[3] + 3) * c + 2] = NAN; /* stored element [1, 2, 3, 2] */
    v = gb_npy_view(GB_NPY_F32, 4, nhwc, f32);
    cr_assert_eq(gb_npy_save(nhwc_f32, &v), GB_OK, "%s", gb_last_error());
    char want[300];
    snprintf(want, sizeof want, "%s: element [1, 2, 3, 2] is nan", nhwc_f32);
    EXPECT_FAIL(&r, GB_INPUT, want, nhwc_f32, bu8);

    /* RGBA stored [n, h, w, 4] (axis 3 at most 4 under a larger axis 1) against the same planes
     * stored [n, 4, h, w]: one spectrum, distance 0 */
    const size_t rgba_last[4] = {2, 20, 24, 4}, rgba_first[4] = {2, 4, 20, 24};
    uint8_t four_last[2 * 20 * 24 * 4], four_first[2 * 4 * 20 * 24];
    for (size_t i = 0; i < 2; i++)
        for (size_t p = 0; p < 20 * 24; p++)
            for (size_t ch = 0; ch < 4; ch++) {
                uint8_t px = (uint8_t)((i * 131 + p * 7 + ch * 61 + (p * p) % 17) & 0xff);
                four_last[(i * 480 + p) * 4 + ch] = px;
                four_first[(i * 4 + ch) * 480 + p] = px;
            }
    v = gb_npy_view(GB_NPY_U8, 4, rgba_last, four_last); /* the two files reused: [n, h, w, 4], [n, 4, h, w] */
    cr_assert_eq(gb_npy_save(nhwc_u8, &v), GB_OK, "%s", gb_last_error());
    v = gb_npy_view(GB_NPY_U8, 4, rgba_first, four_first);
    cr_assert_eq(gb_npy_save(nhwc_f32, &v), GB_OK, "%s", gb_last_error());
    RUN_OK(&r, nhwc_u8, nhwc_f32);
    cr_expect_not_null(strstr(r.out, "(npy uint8 [n, h, w, c], n = 2, c = 4, h = 20, w = 24"), "%s", r.out);
    cr_expect_str_eq(r.last, "0");
    free(u8), free(f32);
    gb_npy_free(&a);
    remove_tree(dir);
}

/* The command sums block by block, slice by slice; one gb_spectrum_mean over the whole array
 * must give the same bits (%.17g reads back exactly), with 1 or 3 threads, and across blocks:
 * 600 images are three blocks of at most SPEC_BLOCK = 256. */
Test(cmd_spectrum, blocks_and_threads_give_one_call_bits) {
    char dir[64], big[128], au8[1024], a[1024];
    temp_dir(dir);
    fixture_path(au8, sizeof au8, "a_u8.npy");
    fixture_path(a, sizeof a, "a");
    uint64_t seed = SEED_SPEC;
    const size_t shape[4] = {600, 3, SPEC_H, SPEC_W};
    write_npy(big, sizeof big, dir, "big.npy", GB_NPY_U8, shape, 4, fill_random_u8, &seed);
    double want_big[SPEC_BINS], want_a[SPEC_BINS];
    one_call_spectrum(want_big, big);
    one_call_spectrum(want_a, au8);
    const char *threads[] = {"1", "3"};
    char csv_1[128] = "";
    for (int t = 0; t < 2; t++) {
        char csv[128];
        snprintf(csv, sizeof csv, "%s/t%s.csv", dir, threads[t]);
        cmd_result r;
        RUN(&r, big, a, "--csv", csv, "--threads", (char *)threads[t]);
        cr_assert_eq(r.status, GB_OK, "%s", gb_last_error());
        spec_table tb;
        read_table(&tb, csv);
        cr_expect(memcmp(tb.pa, want_big, sizeof want_big) == 0,
                  "--threads %s: 600 images in 3 blocks differ from one gb_spectrum_mean call", threads[t]);
        cr_expect(memcmp(tb.pb, want_a, sizeof want_a) == 0,
                  "--threads %s: the folder differs from one gb_spectrum_mean call on its pixels", threads[t]);
        if (t == 0) snprintf(csv_1, sizeof csv_1, "%s", csv);
        else cr_expect(files_equal(csv, csv_1), "--threads 3 and --threads 1 tables differ");
    }
    remove_tree(dir);
}

/* A float set within [-1, 1] against 8-bit data is a units mistake (~48 dB in every bin): the
 * command still answers, and says so on stderr; sets in one range draw no warning. */
Test(cmd_spectrum, warns_about_mixed_ranges) {
    char au8[1024], a[1024], dir[64], unit[160];
    fixture_path(au8, sizeof au8, "a_u8.npy");
    fixture_path(a, sizeof a, "a");
    temp_dir(dir);
    gb_npy_array arr;
    cr_assert_eq(gb_npy_load(&arr, au8), GB_OK, "%s", gb_last_error());
    float *x = malloc(arr.count * sizeof *x);
    cr_assert_not_null(x);
    gb_npy_to_f32(x, &arr);
    for (size_t i = 0; i < arr.count; i++) x[i] /= 255.0f;
    snprintf(unit, sizeof unit, "%s/unit.npy", dir);
    gb_npy_array u = gb_npy_view(GB_NPY_F32, 4, arr.shape, x);
    cr_assert_eq(gb_npy_save(unit, &u), GB_OK, "%s", gb_last_error());
    cmd_result r;
    RUN(&r, unit, a);
    cr_assert_eq(r.status, GB_OK, "%s", gb_last_error());
    cr_expect_not_null(strstr(r.err, "holds values within [-1, 1]"), "stderr: '%s'", r.err);
    /* 20 log10 255 up to the float32 rounding of x / 255 (2^-24 per pixel; observed 2.3e-7 dB) */
    cr_expect(fabs(strtod(r.last, NULL) - 20 * log10(255.0)) < 1e-5, "a pure scaling by 1/255: '%s'", r.last);
    RUN(&r, unit, unit);
    cr_expect_eq(r.err[0], 0, "stderr: '%s'", r.err);
    RUN(&r, au8, a);
    cr_expect_eq(r.err[0], 0, "stderr: '%s'", r.err);
    free(x);
    gb_npy_free(&arr);
    remove_tree(dir);
}

/* ---- errors --------------------------------------------------------------------------------- */

Test(cmd_spectrum, usage_errors) {
    char a[1024], b[1024];
    fixture_path(a, sizeof a, "a_u8.npy");
    fixture_path(b, sizeof b, "b_u8.npy");
    cmd_result r;
    EXPECT_FAIL(&r, GB_USAGE, "needs two inputs", a);
    EXPECT_FAIL(&r, GB_USAGE, "got a third", a, b, b);
    EXPECT_FAIL(&r, GB_USAGE, "unknown option '--bogus'", a, b, "--bogus");
    EXPECT_FAIL(&r, GB_USAGE, "unknown option '-t'", a, b, "-t", "2");
    EXPECT_FAIL(&r, GB_USAGE, "--csv needs a value", a, b, "--csv");
    EXPECT_FAIL(&r, GB_USAGE, "--threads needs a value", a, b, "--threads");
    EXPECT_FAIL(&r, GB_USAGE, "--csv needs a value", a, b, "--csv", "--threads", "2");
    EXPECT_FAIL(&r, GB_USAGE, "non-negative integer", a, b, "--threads", "-1");
    EXPECT_FAIL(&r, GB_USAGE, "non-negative integer", a, b, "--threads", " 2");
    EXPECT_FAIL(&r, GB_USAGE, "'2x'", a, b, "--threads", "2x");
    EXPECT_FAIL(&r, GB_USAGE, "1..1024", a, b, "--threads", "0");
    EXPECT_FAIL(&r, GB_USAGE, "'gpu' is not cpu, cuda or auto", a, b, "--device", "gpu");
    EXPECT_FAIL(&r, GB_USAGE, "--csv", a, b, "--csv", b); /* the table would replace input B */
    cr_expect_not_null(strstr(gb_last_error(), "is input B"), "%s", gb_last_error());
    /* usage is judged before the inputs: a missing file does not hide it */
    EXPECT_FAIL(&r, GB_USAGE, NULL, "/nonexistent/a.npy", b, "--bogus");
    RUN(&r, "--help");
    cr_expect_eq(r.status, GB_OK);
    cr_expect_not_null(strstr(r.out, "usage: genbench spectrum A B"), "%s", r.out);
}

Test(cmd_spectrum, missing_and_unreadable_inputs) {
    char a[1024], dir[64], empty[128], bad[128], png[1200];
    fixture_path(a, sizeof a, "a");
    temp_dir(dir);
    cmd_result r;
    EXPECT_FAIL(&r, GB_INPUT, "/nonexistent/x.npy", "/nonexistent/x.npy", a);
    /* the second input is checked before the first is read */
    EXPECT_FAIL(&r, GB_INPUT, "/nonexistent/y", a, "/nonexistent/y");
    snprintf(empty, sizeof empty, "%s/empty", dir);
    cr_assert_eq(mkdir(empty, 0777), 0);
    EXPECT_FAIL(&r, GB_INPUT, empty, empty, a);
    /* a file that is neither a folder nor .npy, e.g. one image */
    fixture_path(png, sizeof png, "a/00.png");
    EXPECT_FAIL(&r, GB_INPUT, "expected a folder of PNG/JPEG images, a .zip of them or a .npy", png, a);
    /* an undecodable image is named */
    snprintf(bad, sizeof bad, "%s/bad", dir);
    cr_assert_eq(mkdir(bad, 0777), 0);
    write_png(bad, "0.png", SPEC_H, SPEC_W, 1);
    char junk[160];
    snprintf(junk, sizeof junk, "%s/1.png", bad);
    cr_assert_eq(gb_atomic_write(junk, "\x89PNG\r\n\x1a\nnot really", 18), GB_OK);
    EXPECT_FAIL(&r, GB_INPUT, "1.png", bad, a);
    remove_tree(dir);
}

Test(cmd_spectrum, mismatched_sets) {
    char a[1024], a0[1024], dir[64], mixed[128], path[160];
    fixture_path(a, sizeof a, "a");
    fixture_path(a0, sizeof a0, "a/00.png");
    temp_dir(dir);
    cmd_result r;
    /* a folder whose second image has another size: named with both sizes and the image that
     * set the size (set A's first); found while reading A itself, and while reading B */
    snprintf(mixed, sizeof mixed, "%s/mixed", dir);
    cr_assert_eq(mkdir(mixed, 0777), 0);
    write_png(mixed, "x0.png", SPEC_H, SPEC_W, 2);
    write_png(mixed, "x1.png", 16, SPEC_W, 3);
    char want[2200];
    snprintf(want, sizeof want, "%s/x1.png is 16 x 24 (h x w) but %s/x0.png is 20 x 24", mixed, mixed);
    EXPECT_FAIL(&r, GB_INPUT, want, mixed, a);
    snprintf(want, sizeof want, "%s/x1.png is 16 x 24 (h x w) but %s is 20 x 24", mixed, a0);
    EXPECT_FAIL(&r, GB_INPUT, want, a, mixed);
    /* a whole set of another size */
    uint64_t seed = SEED_SPEC;
    const size_t small[4] = {2, 3, 16, SPEC_W};
    write_npy(path, sizeof path, dir, "small.npy", GB_NPY_U8, small, 4, fill_random_u8, &seed);
    snprintf(want, sizeof want, "%s is 16 x 24 (h x w) but %s is 20 x 24", path, a0);
    EXPECT_FAIL(&r, GB_INPUT, want, a, path);
    /* one channel against RGB */
    const size_t grey[4] = {2, 1, SPEC_H, SPEC_W};
    write_npy(path, sizeof path, dir, "grey.npy", GB_NPY_U8, grey, 4, fill_random_u8, &seed);
    snprintf(want, sizeof want, "%s has 1 channels per image but %s has 3", path, a);
    EXPECT_FAIL(&r, GB_INPUT, want, path, a);
    /* sides below 3 have no ring to compare */
    const size_t thin[4] = {2, 3, 2, SPEC_W};
    write_npy(path, sizeof path, dir, "thin.npy", GB_NPY_U8, thin, 4, fill_random_u8, &seed);
    EXPECT_FAIL(&r, GB_INPUT, "both sides >= 3", path, path);
    remove_tree(dir);
}

static double fill_nan_at(size_t i, void *ctx) {
    size_t *at = ctx;
    return i == *at ? NAN : (double)(i % 251);
}

static double fill_huge_last(size_t i, void *ctx) {
    size_t *last = ctx;
    return i == *last ? 1e300 : 1.0;
}

Test(cmd_spectrum, bad_arrays) {
    char a[1024], dir[64], path[160], want[1400];
    fixture_path(a, sizeof a, "a");
    temp_dir(dir);
    cmd_result r;
    uint64_t seed = SEED_SPEC;
    const size_t flat[2] = {6, 3 * SPEC_H * SPEC_W};
    write_npy(path, sizeof path, dir, "flat.npy", GB_NPY_F32, flat, 2, fill_random_u8, &seed);
    EXPECT_FAIL(&r, GB_INPUT, "must be 4-D, [n, c, h, w] or [n, h, w, c] (got 2 dimensions)", path, a);
    const size_t shape[4] = {2, 3, SPEC_H, SPEC_W};
    write_npy(path, sizeof path, dir, "int.npy", GB_NPY_I32, shape, 4, fill_random_u8, &seed);
    EXPECT_FAIL(&r, GB_INPUT, "uint8 (0..255), float32 or float64 (got <i4)", path, a);
    const size_t none[4] = {0, 3, SPEC_H, SPEC_W};
    write_npy(path, sizeof path, dir, "none.npy", GB_NPY_U8, none, 4, fill_random_u8, &seed);
    EXPECT_FAIL(&r, GB_INPUT, "is empty", path, a);
    /* element [1, 2, 3, 4] of [2, 3, 20, 24] */
    size_t at = ((1 * 3 + 2) * SPEC_H + 3) * SPEC_W + 4;
    write_npy(path, sizeof path, dir, "nan.npy", GB_NPY_F32, shape, 4, fill_nan_at, &at);
    snprintf(want, sizeof want, "%s: element [1, 2, 3, 4] is nan", path);
    EXPECT_FAIL(&r, GB_INPUT, want, a, path);
    size_t last = 2 * 3 * SPEC_H * SPEC_W - 1;
    write_npy(path, sizeof path, dir, "huge.npy", GB_NPY_F64, shape, 4, fill_huge_last, &last);
    snprintf(want, sizeof want, "%s: element [1, 2, 19, 23] is 1e+300", path);
    EXPECT_FAIL(&r, GB_INPUT, want, path, a);
    /* constant images have no power in the rings: the distance refuses them */
    write_npy(path, sizeof path, dir, "flat_grey.npy", GB_NPY_U8, shape, 4, fill_constant, NULL);
    EXPECT_FAIL(&r, GB_INPUT, "constant images have no spectrum", path, a);
    snprintf(want, sizeof want, "set a = %s, set b = %s", path, a); /* the files, not only "set a/b" */
    EXPECT_FAIL(&r, GB_INPUT, want, path, a);
    if (!gb_cuda_available()) EXPECT_FAIL(&r, GB_ENV, NULL, a, a, "--device", "cuda");
    remove_tree(dir);
}

/* ---- --csv is atomic ----------------------------------------------------------------------- */

static size_t entries(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

Test(cmd_spectrum, csv_never_half_written) {
    char a[1024], b[1024], dir[64], csv[128], keep[128], flat[160];
    fixture_path(a, sizeof a, "a");
    fixture_path(b, sizeof b, "b");
    temp_dir(dir);
    cmd_result r;
    /* into a folder that does not exist: refused before the work, nothing created */
    snprintf(csv, sizeof csv, "%s/no/such/dir/t.csv", dir);
    EXPECT_FAIL(&r, GB_ENV, csv, a, b, "--csv", csv);
    cr_expect_eq(entries(dir), 0, "a failed --csv left files in %s", dir);
    cr_expect_eq(r.out[0], 0, "nothing printed: %s", r.out);
    /* a failure after the table was opened (constant set: no distance) keeps the old file */
    const size_t shape[4] = {2, 3, SPEC_H, SPEC_W};
    write_npy(flat, sizeof flat, dir, "flat.npy", GB_NPY_U8, shape, 4, fill_constant, NULL);
    snprintf(keep, sizeof keep, "%s/keep.csv", dir);
    cr_assert_eq(gb_atomic_write(keep, "old table\n", 10), GB_OK);
    EXPECT_FAIL(&r, GB_INPUT, NULL, a, flat, "--csv", keep);
    /* and so does a failure in the second set's images */
    char mixed[128];
    snprintf(mixed, sizeof mixed, "%s/mixed", dir);
    cr_assert_eq(mkdir(mixed, 0777), 0);
    write_png(mixed, "x0.png", SPEC_H, SPEC_W, 4);
    write_png(mixed, "x1.png", SPEC_H, SPEC_W + 1, 5);
    EXPECT_FAIL(&r, GB_INPUT, "x1.png", a, mixed, "--csv", keep);
    unsigned char *text;
    size_t n;
    cr_assert_eq(gb_read_file(keep, &text, &n), GB_OK);
    cr_expect(n == 10 && memcmp(text, "old table\n", 10) == 0, "the existing table was clobbered: '%s'", text);
    free(text);
    cr_expect_eq(entries(dir), 3, "flat.npy, keep.csv, mixed/ and no temporary file");
    /* a success replaces it */
    RUN(&r, a, b, "--csv", keep);
    cr_assert_eq(r.status, GB_OK, "%s", gb_last_error());
    spec_table t;
    read_table(&t, keep);
    cr_expect_eq(entries(dir), 3);
    remove_tree(dir);
}

/* Dataset splits (NAME:SPLIT[:N] from --data; datasets/image_splits.h) against .npy arrays of
 * the same uint8 images: byte-identical tables and the same printed distance; a split's count
 * beyond its size and a missing dataset are bad inputs naming the fetch command. */
Test(cmd_spectrum, dataset_splits_same_bits_as_arrays) {
    char root[64], cifar[128], train_npy[128], test_npy[128], split_csv[128], npy_csv[128];
    temp_dir(root);
    snprintf(cifar, sizeof cifar, "%s/cifar10", root);
    cr_assert_eq(gb_shapes32_write_cifar_bin(cifar, 11, 6), GB_OK, "%s", gb_last_error());
    for (int train = 0; train < 2; train++) {
        gb_image_set set;
        cr_assert_eq(gb_cifar10_load(&set, cifar, train ? GB_CIFAR10_TRAIN : GB_CIFAR10_TEST, 6), GB_OK, "%s",
                     gb_last_error());
        size_t shape[4] = {train ? 5 : (size_t)set.count, 3, 32, 32}; /* the first 5 training images */
        gb_npy_array a = gb_npy_view(GB_NPY_U8, 4, shape, set.pixels);
        char *path = train ? train_npy : test_npy;
        snprintf(path, 128, "%s/%s.npy", root, train ? "train5" : "test");
        cr_assert_eq(gb_npy_save(path, &a), GB_OK, "%s", gb_last_error());
        gb_image_set_free(&set);
    }
    snprintf(split_csv, sizeof split_csv, "%s/split.csv", root);
    snprintf(npy_csv, sizeof npy_csv, "%s/npy.csv", root);
    cmd_result s, n;
    RUN_OK(&s, "cifar10:train:5", "cifar10:test", "--data", root, "--csv", split_csv);
    RUN_OK(&n, train_npy, test_npy, "--csv", npy_csv);
    expect_same_table(&s, split_csv, &n, npy_csv, "the splits' table differs from the arrays'");
    cr_expect_not_null(strstr(s.out, "A: cifar10:train:5 (cifar10:train, the first 5 of 30 images, sha256 "), "%s",
                       s.out);
    cmd_result r;
    EXPECT_FAIL(&r, GB_INPUT, "asks for the first 31 images, but cifar10:train holds 30", "cifar10:train:31",
                test_npy, "--data", root);
    EXPECT_FAIL(&r, GB_INPUT, "genbench data fetch mnist --data", test_npy, "mnist:test", "--data", root);
    EXPECT_FAIL(&r, GB_USAGE, "no split 'valid'", test_npy, "cifar10:valid", "--data", root);
    /* a malformed split is a usage error even when the other input is missing */
    EXPECT_FAIL(&r, GB_USAGE, "no split 'valid'", "cifar10:valid", "/nonexistent/b.npy", "--data", root);
    remove_tree(root);
}

/* The files under folder src (its subfolders too, named by their relative paths) added to z,
 * but for hidden ones: clean-fid's folder glob skips them and its zip listing would not. */
static void zip_add_tree(zip_t *z, const char *src, const char *prefix) {
    DIR *d = opendir(src);
    cr_assert_not_null(d, "%s", src);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char file[2048], name[1024];
        snprintf(file, sizeof file, "%s/%s", src, e->d_name);
        snprintf(name, sizeof name, "%s%s", prefix, e->d_name);
        struct stat st;
        cr_assert_eq(stat(file, &st), 0, "%s", file);
        if (S_ISDIR(st.st_mode)) {
            strcat(name, "/");
            zip_add_tree(z, file, name);
            continue;
        }
        test_zip_add_file(z, file, name);
    }
    closedir(d);
}

/* Folder src as a zip archive at dst, deflated (libzip). */
static void zip_folder(const char *src, const char *dst) {
    zip_t *z = test_zip_open(dst);
    zip_add_tree(z, src, "");
    test_zip_close(z, dst);
}

/* Zip archives of the fixture folders: the folders' table and distance, bit for bit; an
 * archive image of another size is named as archive:member, with the first image, whose size
 * the set has, named the same way. */
Test(cmd_spectrum, zip_archives_same_bits_as_folders) {
    char a[1024], b[1024], dir[64], za[128], zb[128], ref_csv[128], csv[128], want[2200];
    fixture_path(a, sizeof a, "a");
    fixture_path(b, sizeof b, "b");
    temp_dir(dir);
    snprintf(za, sizeof za, "%s/a.zip", dir);
    snprintf(zb, sizeof zb, "%s/b.zip", dir);
    zip_folder(a, za);
    zip_folder(b, zb);
    snprintf(ref_csv, sizeof ref_csv, "%s/ref.csv", dir);
    snprintf(csv, sizeof csv, "%s/zip.csv", dir);
    cmd_result ref, r;
    RUN_OK(&ref, a, b, "--csv", ref_csv);
    RUN_OK(&r, za, zb, "--csv", csv);
    expect_same_table(&r, csv, &ref, ref_csv, "the archives' table differs from the folders'");
    cr_expect_not_null(strstr(r.out, "(zip archive, n = "), "%s", r.out);

    char mixed[128], mixed_zip[160];
    snprintf(mixed, sizeof mixed, "%s/mixed", dir);
    cr_assert_eq(mkdir(mixed, 0777), 0);
    write_png(mixed, "x0.png", SPEC_H, SPEC_W, 2);
    write_png(mixed, "x1.png", 16, SPEC_W, 3);
    snprintf(mixed_zip, sizeof mixed_zip, "%s.zip", mixed);
    zip_folder(mixed, mixed_zip);
    snprintf(want, sizeof want, "%s:x1.png is 16 x 24 (h x w) but %s:x0.png is 20 x 24", mixed_zip, mixed_zip);
    EXPECT_FAIL(&r, GB_INPUT, want, mixed_zip, za);
    remove_tree(dir);
}
