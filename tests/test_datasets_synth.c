/* tests/test_datasets_synth.c - the image stand-ins (datasets/shapes32.h, datasets/glyphs28.h),
 * their file writers, the dataset registry and its checks (datasets/registry.h), and the zip
 * unpacker's path safety (datasets/fetch.h).
 *
 * Stand-ins: same seed gives the same bytes, per-index generation does not depend on the
 * batch it is made in, value ranges, exact class balance, and a learnable task (a
 * nearest-class-mean classifier on raw pixels, fitted on the training split, far above chance
 * on the test split). Writers: exact CIFAR-10 binary / IDX layouts, read back here with
 * independent code (zlib's gz* reader, hand-decoded big-endian headers).
 * and round trips through the real loaders (datasets/cifar10.h, datasets/idx.h); the sprites
 * .npy pair: stand-in round trip, HWC -> CHW, corrupt one-hot rows and mismatched counts.
 * Registry: digests are well-formed hex, names unique, stand-ins known, and equal to the
 * loaders' own published-file tables (written independently from the same spec); file checks
 * against the FIPS 180-4 "abc" digest and RFC 1321 MD5 vectors. Unpacking: zip and tar.gz
 * archives made by libzip and GNU tar, and members with paths outside the target refused.
 * Each test works in its own mkdtemp folder.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include "core/atomic_file.h"
#include "core/npy.h"
#include "datasets/cifar10.h"
#include "datasets/cub.h"
#include "datasets/fetch.h"
#include "datasets/glyphs28.h"
#include "datasets/idx.h"
#include "datasets/registry.h"
#include "datasets/shapes32.h"
#include "datasets/sprites.h"
#include "tests/zip_writer.h"

static char tmpdir[256];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gb_test_dsynth_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp failed");
}

static void remove_tmpdir(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(synth, .init = make_tmpdir, .fini = remove_tmpdir);

static char *join(const char *name) {
    static char buf[4][512];
    static int slot;
    char *out = buf[slot++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", tmpdir, name);
    return out;
}

/* ---- stand-ins ------------------------------------------------------------------------- */

typedef gb_status (*generator)(gb_image_set *, uint64_t, int, uint64_t, int);

static void check_deterministic(generator gen, const char *what) {
    gb_image_set a, b, c;
    cr_assert_eq(gen(&a, 7, 1, 0, 60), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gen(&b, 7, 1, 0, 60), GB_OK);
    cr_assert_eq(gen(&c, 8, 1, 0, 60), GB_OK);
    size_t n = (size_t)a.count * gb_image_set_image_bytes(&a);
    cr_assert(memcmp(a.pixels, b.pixels, n) == 0, "%s: same seed, different pixels", what);
    cr_assert(memcmp(a.labels, b.labels, 60 * sizeof *a.labels) == 0, "%s: same seed, different labels", what);
    cr_assert(memcmp(a.pixels, c.pixels, n) != 0, "%s: seeds 7 and 8 gave identical pixels", what);
    gb_image_set_free(&a);
    gb_image_set_free(&b);
    gb_image_set_free(&c);
}

Test(synth, shapes32_same_seed_same_bytes) { check_deterministic(gb_shapes32_generate, "shapes32"); }
Test(synth, glyphs28_same_seed_same_bytes) { check_deterministic(gb_glyphs28_generate, "glyphs28"); }

/* Image i of a split is the same whether made alone, in a batch from 0, or in a later batch. */
static void check_per_index(generator gen, const char *what) {
    gb_image_set all, tail, test;
    cr_assert_eq(gen(&all, 3, 1, 0, 50), GB_OK);
    cr_assert_eq(gen(&tail, 3, 1, 30, 20), GB_OK);
    cr_assert_eq(gen(&test, 3, 0, 0, 50), GB_OK);
    size_t per = gb_image_set_image_bytes(&all);
    for (int i = 0; i < 20; i++) {
        cr_assert(memcmp(all.pixels + (size_t)(30 + i) * per, tail.pixels + (size_t)i * per, per) == 0,
                  "%s: image %d differs between a batch from 0 and a batch from 30", what, 30 + i);
        cr_assert_eq(all.labels[30 + i], tail.labels[i]);
    }
    int same = 0;
    for (int i = 0; i < 50; i++) same += memcmp(all.pixels + (size_t)i * per, test.pixels + (size_t)i * per, per) == 0;
    cr_assert_eq(same, 0, "%s: %d test images equal the training image of the same index", what, same);
    gb_image_set_free(&all);
    gb_image_set_free(&tail);
    gb_image_set_free(&test);
}

Test(synth, shapes32_per_index_independent_of_batch) { check_per_index(gb_shapes32_generate, "shapes32"); }
Test(synth, glyphs28_per_index_independent_of_batch) { check_per_index(gb_glyphs28_generate, "glyphs28"); }

Test(synth, shapes_render_is_order_independent) {
    uint8_t fwd[5][3 * 32 * 32], rev[5][3 * 32 * 32];
    for (int i = 0; i < 5; i++) gb_shapes_render(fwd[i], 32, 11, 1, (uint64_t)i);
    for (int i = 4; i >= 0; i--) gb_shapes_render(rev[i], 32, 11, 1, (uint64_t)i);
    cr_assert(memcmp(fwd, rev, sizeof fwd) == 0);
}

Test(synth, shapes32_values_labels_identity) {
    gb_image_set s;
    cr_assert_eq(gb_shapes32_generate(&s, 1, 1, 0, 1000), GB_OK);
    cr_assert_eq(s.channels, 3);
    cr_assert_eq(s.height, 32);
    cr_assert_eq(s.width, 32);
    cr_assert_eq(s.num_classes, 10);
    cr_assert_str_eq(s.identity, "synthetic:shapes32");
    cr_assert_str_eq(s.sha256, "");
    int hist[10] = {0};
    for (int i = 0; i < s.count; i++) {
        cr_assert_eq(s.labels[i], i % 10, "label of image %d", i);
        hist[s.labels[i]]++;
    }
    for (int k = 0; k < 10; k++) cr_assert_eq(hist[k], 100, "class %d: %d images", k, hist[k]);
    size_t n = (size_t)s.count * gb_image_set_image_bytes(&s);
    double sum = 0;
    int lo = 255, hi = 0;
    for (size_t i = 0; i < n; i++) {
        sum += s.pixels[i];
        lo = s.pixels[i] < lo ? s.pixels[i] : lo;
        hi = s.pixels[i] > hi ? s.pixels[i] : hi;
    }
    double mean = sum / (double)n;
    cr_assert_eq(lo, 0);
    cr_assert_eq(hi, 255);
    cr_assert(mean > 60 && mean < 160, "mean pixel %.1f: images are too dark or too bright", mean);
    /* every image is a picture, not a flat field: per-image standard deviation above 15 */
    size_t per = gb_image_set_image_bytes(&s);
    for (int i = 0; i < s.count; i++) {
        double m = 0, v = 0;
        for (size_t j = 0; j < per; j++) m += s.pixels[(size_t)i * per + j];
        m /= (double)per;
        for (size_t j = 0; j < per; j++) {
            double d = s.pixels[(size_t)i * per + j] - m;
            v += d * d;
        }
        cr_assert(sqrt(v / (double)per) > 15, "image %d is nearly flat", i);
    }
    gb_image_set_free(&s);
}

Test(synth, glyphs28_values_labels_identity) {
    gb_image_set s;
    cr_assert_eq(gb_glyphs28_generate(&s, 1, 1, 0, 1000), GB_OK);
    cr_assert_eq(s.channels, 1);
    cr_assert_eq(s.height, 28);
    cr_assert_eq(s.width, 28);
    cr_assert_str_eq(s.identity, "synthetic:glyphs28");
    size_t per = gb_image_set_image_bytes(&s);
    for (int i = 0; i < s.count; i++) {
        cr_assert_eq(s.labels[i], i % 10);
        const uint8_t *p = s.pixels + (size_t)i * per;
        int zero = 0, bright = 0, edge = 0;
        for (size_t j = 0; j < per; j++) {
            zero += p[j] == 0;
            bright += p[j] >= 200;
        }
        for (int k = 0; k < 28; k++) edge += p[k] + p[27 * 28 + k] + p[k * 28] + p[k * 28 + 27];
        /* MNIST-like: mostly black background, a solid stroke, nothing cut at the border */
        cr_assert(zero > (int)per / 2, "image %d: only %d black pixels", i, zero);
        cr_assert(bright >= 20, "image %d: only %d stroke pixels", i, bright);
        cr_assert_eq(edge, 0, "image %d touches the border", i);
    }
    gb_image_set_free(&s);
}

/* Nearest class mean on raw pixels: fitted on `train_n` training images, scored on test images. */
static double ncm_accuracy(generator gen, int train_n, int test_n) {
    gb_image_set tr, te;
    cr_assert_eq(gen(&tr, 5, 1, 0, train_n), GB_OK);
    cr_assert_eq(gen(&te, 5, 0, 0, test_n), GB_OK);
    size_t per = gb_image_set_image_bytes(&tr);
    double *mean = calloc(10 * per, sizeof *mean);
    int count[10] = {0};
    for (int i = 0; i < tr.count; i++) {
        count[tr.labels[i]]++;
        for (size_t j = 0; j < per; j++) mean[(size_t)tr.labels[i] * per + j] += tr.pixels[(size_t)i * per + j];
    }
    for (int k = 0; k < 10; k++)
        for (size_t j = 0; j < per; j++) mean[(size_t)k * per + j] /= count[k];
    int correct = 0;
    for (int i = 0; i < te.count; i++) {
        int best = -1;
        double best_d = 1e300;
        for (int k = 0; k < 10; k++) {
            double d = 0;
            for (size_t j = 0; j < per; j++) {
                double e = te.pixels[(size_t)i * per + j] - mean[(size_t)k * per + j];
                d += e * e;
            }
            if (d < best_d) best_d = d, best = k;
        }
        correct += best == te.labels[i];
    }
    free(mean);
    gb_image_set_free(&tr);
    gb_image_set_free(&te);
    return (double)correct / test_n;
}

/* Thresholds: chance is 0.10. The measured accuracies (seed 5) are printed by the test;
 * the bounds sit well below them and far above chance (tests/tolerances.md). */
Test(synth, shapes32_classes_are_learnable) {
    double acc = ncm_accuracy(gb_shapes32_generate, 2000, 1000);
    cr_log_info("shapes32 nearest-class-mean accuracy %.3f", acc);
    fprintf(stderr, "shapes32 nearest-class-mean accuracy %.3f (chance 0.100)\n", acc);
    cr_assert(acc >= 0.30, "shapes32 nearest-class-mean accuracy %.3f (chance 0.10)", acc);
}

Test(synth, glyphs28_classes_are_learnable) {
    double acc = ncm_accuracy(gb_glyphs28_generate, 2000, 1000);
    fprintf(stderr, "glyphs28 nearest-class-mean accuracy %.3f (chance 0.100)\n", acc);
    cr_assert(acc >= 0.50, "glyphs28 nearest-class-mean accuracy %.3f (chance 0.10)", acc);
}

/* ---- writers --------------------------------------------------------------------------- */

static long file_bytes(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

Test(synth, shapes32_writes_the_cifar10_binary_layout) {
    enum { N = 23, REC = 3073 };
    cr_assert_eq(gb_shapes32_write_cifar_bin(tmpdir, 9, N), GB_OK, "%s", gb_last_error());
    static const char *names[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                   "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    for (int f = 0; f < 6; f++) {
        char rel[128];
        snprintf(rel, sizeof rel, "cifar-10-batches-bin/%s", names[f]);
        const char *path = join(rel);
        cr_assert_eq(file_bytes(path), (long)N * REC, "%s: wrong size", rel);
        unsigned char *data = NULL;
        size_t n = 0;
        cr_assert_eq(gb_read_file(path, &data, &n), GB_OK);
        int train = f < 5;
        for (int r = 0; r < N; r++) {
            uint64_t index = train ? (uint64_t)f * N + (uint64_t)r : (uint64_t)r;
            uint8_t want[3072];
            int label = gb_shapes_render(want, 32, 9, train, index);
            cr_assert_eq(data[(size_t)r * REC], label, "%s record %d: label byte", rel, r);
            cr_assert(memcmp(data + (size_t)r * REC + 1, want, 3072) == 0, "%s record %d: pixels", rel, r);
        }
        free(data);
    }
    unsigned char *meta = NULL;
    size_t n = 0;
    cr_assert_eq(gb_read_file(join("cifar-10-batches-bin/batches.meta.txt"), &meta, &n), GB_OK);
    char want[512] = "";
    for (int k = 0; k < 10; k++) {
        strcat(want, gb_shapes32_class_names[k]);
        strcat(want, "\n");
    }
    cr_assert_str_eq((char *)meta, want);
    free(meta);
    cr_assert_eq(gb_shapes32_write_cifar_bin(tmpdir, 9, 0), GB_USAGE);
}

/* Decompress with zlib's own gz reader (independent of the writer's deflate call). */
static uint8_t *gunzip_file(const char *path, size_t *n) {
    gzFile g = gzopen(path, "rb");
    cr_assert_not_null(g, "%s: gzopen failed", path);
    size_t cap = 1 << 20, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (len == cap) buf = realloc(buf, cap *= 2);
        int got = gzread(g, buf + len, (unsigned)(cap - len));
        cr_assert(got >= 0, "%s: gzread failed", path);
        if (got == 0) break;
        len += (size_t)got;
    }
    gzclose(g);
    *n = len;
    return buf;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

Test(synth, glyphs28_writes_gzipped_idx) {
    enum { TRAIN = 37, TEST = 11 };
    cr_assert_eq(gb_glyphs28_write_idx(tmpdir, 4, TRAIN, TEST), GB_OK, "%s", gb_last_error());
    const struct {
        const char *img, *lab;
        int n, train;
    } sp[2] = {{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", TRAIN, 1},
               {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", TEST, 0}};
    for (int s = 0; s < 2; s++) {
        unsigned char magic[2];
        FILE *fp = fopen(join(sp[s].img), "rb");
        cr_assert_not_null(fp);
        cr_assert_eq(fread(magic, 1, 2, fp), 2);
        fclose(fp);
        cr_assert(magic[0] == 0x1f && magic[1] == 0x8b, "%s is not gzip", sp[s].img);
        size_t n_img, n_lab;
        uint8_t *img = gunzip_file(join(sp[s].img), &n_img);
        uint8_t *lab = gunzip_file(join(sp[s].lab), &n_lab);
        cr_assert_eq(n_img, 16 + (size_t)sp[s].n * 784);
        cr_assert_eq(n_lab, 8 + (size_t)sp[s].n);
        cr_assert_eq(be32(img), 0x00000803u);
        cr_assert_eq(be32(img + 4), (uint32_t)sp[s].n);
        cr_assert_eq(be32(img + 8), 28u);
        cr_assert_eq(be32(img + 12), 28u);
        cr_assert_eq(be32(lab), 0x00000801u);
        cr_assert_eq(be32(lab + 4), (uint32_t)sp[s].n);
        for (int i = 0; i < sp[s].n; i++) {
            uint8_t want[784];
            int label = gb_glyphs28_render(want, 4, sp[s].train, (uint64_t)i);
            cr_assert_eq(lab[8 + i], label);
            cr_assert(memcmp(img + 16 + (size_t)i * 784, want, 784) == 0, "%s image %d", sp[s].img, i);
        }
        free(img);
        free(lab);
    }
    /* the same set gives the same compressed bytes (mtime 0 in the gzip header) */
    unsigned char *a = NULL, *b = NULL;
    size_t na, nb;
    cr_assert_eq(gb_read_file(join("train-images-idx3-ubyte.gz"), &a, &na), GB_OK);
    cr_assert_eq(gb_glyphs28_write_idx(tmpdir, 4, TRAIN, TEST), GB_OK);
    cr_assert_eq(gb_read_file(join("train-images-idx3-ubyte.gz"), &b, &nb), GB_OK);
    cr_assert(na == nb && memcmp(a, b, na) == 0, "rewriting changed the gzip bytes");
    cr_assert_eq(a[4] | a[5] | a[6] | a[7], 0, "gzip mtime is not 0");
    free(a);
    free(b);
}

static void expect_same_set(const gb_image_set *got, const gb_image_set *want, const char *what) {
    cr_assert_eq(got->count, want->count, "%s: count", what);
    cr_assert_eq(got->channels, want->channels);
    cr_assert_eq(got->height, want->height);
    cr_assert_eq(got->width, want->width);
    cr_assert(memcmp(got->pixels, want->pixels, (size_t)got->count * gb_image_set_image_bytes(got)) == 0,
              "%s: pixels differ after the round trip", what);
    cr_assert(memcmp(got->labels, want->labels, (size_t)got->count * sizeof *got->labels) == 0,
              "%s: labels differ after the round trip", what);
}

Test(synth, shapes32_round_trip_through_the_cifar10_loader) {
    enum { N = 17 };
    cr_assert_eq(gb_shapes32_write_cifar_bin(tmpdir, 21, N), GB_OK);
    gb_image_set train, test, want_train, want_test;
    cr_assert_eq(gb_cifar10_load(&train, tmpdir, GB_CIFAR10_TRAIN, N), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_cifar10_load(&test, tmpdir, GB_CIFAR10_TEST, N), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_shapes32_generate(&want_train, 21, 1, 0, 5 * N), GB_OK);
    cr_assert_eq(gb_shapes32_generate(&want_test, 21, 0, 0, N), GB_OK);
    expect_same_set(&train, &want_train, "shapes32 train");
    expect_same_set(&test, &want_test, "shapes32 test");
    cr_assert_str_eq(train.identity, "cifar10:train");
    gb_image_set_free(&train);
    gb_image_set_free(&test);
    gb_image_set_free(&want_train);
    gb_image_set_free(&want_test);
}

Test(synth, glyphs28_round_trip_through_the_idx_loader) {
    cr_assert_eq(gb_glyphs28_write_idx(tmpdir, 8, 45, 9), GB_OK);
    gb_image_set train, test, want_train, want_test;
    cr_assert_eq(gb_idx_load(&train, tmpdir, "mnist", 1), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_idx_load(&test, tmpdir, "mnist", 0), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_glyphs28_generate(&want_train, 8, 1, 0, 45), GB_OK);
    cr_assert_eq(gb_glyphs28_generate(&want_test, 8, 0, 0, 9), GB_OK);
    expect_same_set(&train, &want_train, "glyphs28 train");
    expect_same_set(&test, &want_test, "glyphs28 test");
    gb_image_set_free(&train);
    gb_image_set_free(&test);
    gb_image_set_free(&want_train);
    gb_image_set_free(&want_test);
}

Test(synth, sprites_standin_round_trip_and_layout) {
    cr_assert_eq(gb_sprites_write_standin(tmpdir, 6, 30), GB_OK, "%s", gb_last_error());
    gb_image_set got, want;
    cr_assert_eq(gb_sprites_load(&got, tmpdir), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_sprites_standin(&want, 6, 0, 30), GB_OK);
    expect_same_set(&got, &want, "sprites stand-in");
    cr_assert_eq(got.num_classes, 5);
    cr_assert_str_eq(got.identity, "sprites");
    cr_assert_eq(strlen(got.sha256), 64);
    for (int i = 0; i < 30; i++) cr_assert_eq(want.labels[i], (i % 10) % 5, "shape kind is the class");
    cr_assert_str_eq(want.identity, "synthetic:shapes16");
    /* the file on disk is HWC: pixel (y=2, x=3), channel 1 of image 4 */
    gb_npy_array a;
    cr_assert_eq(gb_npy_load(&a, join(GB_SPRITES_IMAGES)), GB_OK);
    cr_assert_eq(a.ndim, 4);
    cr_assert_eq(a.shape[1], 16);
    cr_assert_eq(a.shape[3], 3);
    const uint8_t *hwc = a.data;
    cr_assert_eq(hwc[((4 * 16 + 2) * 16 + 3) * 3 + 1], want.pixels[((4 * 3 + 1) * 16 + 2) * 16 + 3]);
    gb_npy_free(&a);
    gb_image_set_free(&got);
    gb_image_set_free(&want);
}

Test(synth, sprites_rejects_bad_labels_and_counts) {
    cr_assert_eq(gb_sprites_write_standin(tmpdir, 6, 4), GB_OK);
    double rows[4 * 5] = {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1};
    size_t shape[2] = {4, 5};
    gb_npy_array lab = gb_npy_view(GB_NPY_F64, 2, shape, rows);
    cr_assert_eq(gb_npy_save(join(GB_SPRITES_LABELS), &lab), GB_OK);
    gb_image_set set;
    cr_assert_eq(gb_sprites_load(&set, tmpdir), GB_INPUT);
    cr_assert(strstr(gb_last_error(), "row 2 is not one-hot") != NULL, "%s", gb_last_error());
    cr_assert_null(set.pixels);
    size_t short_shape[2] = {3, 5};
    lab = gb_npy_view(GB_NPY_F64, 2, short_shape, rows);
    cr_assert_eq(gb_npy_save(join(GB_SPRITES_LABELS), &lab), GB_OK);
    cr_assert_eq(gb_sprites_load(&set, tmpdir), GB_INPUT);
    cr_assert(strstr(gb_last_error(), GB_SPRITES_LABELS) != NULL, "%s", gb_last_error());
    cr_assert_eq(gb_sprites_write_standin(tmpdir, 6, 0), GB_USAGE);
}

/* ---- registry ---------------------------------------------------------------------------- */

static int is_hex(const char *s, size_t len) {
    if (strlen(s) != len) return 0;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) return 0;
    return 1;
}

Test(synth, registry_table_is_consistent) {
    size_t n;
    const gb_dataset_info *all = gb_datasets(&n);
    static const char *const standins[] = {"shapes32", "shapes16", "glyphs28", "zsl-synth-att", "zsl-synth-text"};
    static const char *const expected[] = {"cifar10", "mnist",     "fashion-mnist", "cub",       "cub32", "gbu-awa2",
                                           "gbu-sun", "gbu-cub",   "gazsl-cub",     "gazsl-nab", "sprites",
                                           "inception-weights"};
    cr_assert_eq(n, sizeof expected / sizeof expected[0]);
    for (size_t i = 0; i < n; i++) {
        const gb_dataset_info *ds = &all[i];
        cr_assert_str_eq(ds->name, expected[i]);
        cr_assert_eq(gb_dataset_find(ds->name), ds);
        cr_assert(ds->needs && ds->needs[0], "%s has no needs", ds->name);
        cr_assert(ds->file_count > 0 || ds->derived_from, "%s: no files and not derived", ds->name);
        if (ds->derived_from) cr_assert_not_null(gb_dataset_find(ds->derived_from));
        if (ds->standin) {
            int known = 0;
            for (size_t k = 0; k < 5; k++) known |= strcmp(ds->standin, standins[k]) == 0;
            cr_assert(known, "%s: unknown stand-in %s", ds->name, ds->standin);
        }
        for (int f = 0; f < ds->file_count; f++) {
            const gb_data_file *df = &ds->files[f];
            cr_assert(!df->sha256 || is_hex(df->sha256, 64), "%s/%s: bad sha256", ds->name, df->name);
            cr_assert(!df->md5 || is_hex(df->md5, 32), "%s/%s: bad md5", ds->name, df->name);
            cr_assert(!df->md5 || df->sha256, "%s/%s: md5 without sha256", ds->name, df->name);
            cr_assert(df->url || ds->note, "%s/%s: no URL and no note saying how to get it", ds->name, df->name);
            cr_assert(!df->url || strncmp(df->url, "http", 4) == 0);
            cr_assert_not_null(df->source);
        }
    }
    cr_assert_null(gb_dataset_find("imagenet"));
    /* The two digests DESIGN.md states in its text. */
    cr_assert_str_eq(gb_dataset_find("inception-weights")->files[0].sha256,
                     "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2");
    cr_assert(strstr(gb_dataset_find("inception-weights")->files[0].name, "6726825d") != NULL,
              "the torch.hub name carries the first 8 hex digits of the SHA-256");
}

static void expect_same_published(const gb_data_file *mine, const gb_published_file *theirs) {
    cr_assert_str_eq(mine->name, theirs->file);
    cr_assert_eq(mine->bytes, theirs->bytes, "%s: size", mine->name);
    cr_assert_str_eq(mine->sha256 ? mine->sha256 : "", theirs->sha256 ? theirs->sha256 : "", "%s: sha256", mine->name);
    cr_assert_str_eq(mine->md5 ? mine->md5 : "", theirs->md5 ? theirs->md5 : "", "%s: md5", mine->name);
}

/* The loaders carry their own copies of the published digests, typed in separately from
 * formats.md: a typo in either table shows up here. */
Test(synth, registry_agrees_with_the_loaders_tables) {
    expect_same_published(&gb_dataset_find("cifar10")->files[0], &gb_cifar10_binary_archive);
    expect_same_published(&gb_dataset_find("cub")->files[0], &gb_cub_archive);
    const gb_dataset_info *m = gb_dataset_find("mnist"), *f = gb_dataset_find("fashion-mnist");
    cr_assert_eq(m->file_count, 4);
    cr_assert_eq(f->file_count, 4);
    for (int i = 0; i < 4; i++) {
        expect_same_published(&m->files[i], &gb_mnist_files[i]);
        expect_same_published(&f->files[i], &gb_fashion_mnist_files[i]);
    }
}

Test(synth, data_root_and_override_names) {
    unsetenv("GB_DATA");
    cr_assert_str_eq(gb_data_root(NULL), "data");
    setenv("GB_DATA", "/x/y", 1);
    cr_assert_str_eq(gb_data_root(NULL), "/x/y");
    cr_assert_str_eq(gb_data_root("cli"), "cli");
    unsetenv("GB_DATA");
    char var[128];
    gb_data_url_override_var(gb_dataset_find("fashion-mnist"), var, sizeof var);
    cr_assert_str_eq(var, "GB_DATA_URL_OVERRIDE_FASHION_MNIST");
    gb_data_url_override_var(gb_dataset_find("cifar10"), var, sizeof var);
    cr_assert_str_eq(var, "GB_DATA_URL_OVERRIDE_CIFAR10");
    char *p = gb_dataset_path("root", gb_dataset_find("mnist"), "a.gz");
    cr_assert_str_eq(p, "root/mnist/a.gz");
    free(p);
}

Test(synth, file_check_ok_mismatch_missing_unverifiable) {
    const char *path = join("abc.bin");
    cr_assert_eq(gb_atomic_write(path, "abc", 3), GB_OK);
    /* FIPS 180-4 example: SHA-256("abc") */
    gb_data_file f = {"abc.bin", NULL, NULL, 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                      NULL, "test", 0};
    gb_file_report r;
    cr_assert_eq(gb_data_file_check(path, &f, &r), GB_OK);
    cr_assert_eq(r.check, GB_FILE_OK);
    cr_assert_str_eq(r.got, f.sha256);
    f.bytes = 4;
    cr_assert_eq(gb_data_file_check(path, &f, &r), GB_OK);
    cr_assert_eq(r.check, GB_FILE_MISMATCH, "a size mismatch must fail even with a matching digest");
    f.bytes = 0;
    f.sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ae";
    cr_assert_eq(gb_data_file_check(path, &f, &r), GB_OK);
    cr_assert_eq(r.check, GB_FILE_MISMATCH);
    cr_assert_str_eq(r.got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    f.sha256 = NULL;
    cr_assert_eq(gb_data_file_check(path, &f, &r), GB_OK);
    cr_assert_eq(r.check, GB_FILE_UNVERIFIABLE);
    cr_assert_eq(r.bytes, 3);
    cr_assert_eq(gb_data_file_check(join("nope.bin"), &f, &r), GB_OK);
    cr_assert_eq(r.check, GB_FILE_MISSING);
    /* MD5 decides when no SHA-256 is published (RFC 1321: MD5("abc")) */
    f.md5 = "900150983cd24fb0d6963f7d28e17f72";
    cr_assert_eq(gb_data_file_check(path, &f, &r), GB_OK);
    cr_assert_eq(r.check, GB_FILE_OK);
    cr_assert_str_eq(r.algorithm, "md5");
    f.md5 = "900150983cd24fb0d6963f7d28e17f73";
    cr_assert_eq(gb_data_file_check(path, &f, &r), GB_OK);
    cr_assert_eq(r.check, GB_FILE_MISMATCH);
    cr_assert_str_eq(r.got, "900150983cd24fb0d6963f7d28e17f72");
}

Test(synth, presence_missing_partial_present) {
    const gb_dataset_info *ds = gb_dataset_find("mnist");
    int met, total;
    cr_assert_eq(gb_dataset_presence(tmpdir, ds, &met, &total), GB_DATA_MISSING);
    cr_assert_eq(total, 4);
    cr_assert_eq(gb_glyphs28_write_idx(join("mnist"), 0, 10, 2), GB_OK);
    cr_assert_eq(gb_dataset_presence(tmpdir, ds, &met, &total), GB_DATA_PRESENT);
    cr_assert_eq(met, 4);
    cr_assert_eq(unlink(join("mnist/t10k-labels-idx1-ubyte.gz")), 0);
    cr_assert_eq(gb_dataset_presence(tmpdir, ds, &met, &total), GB_DATA_PARTIAL);
    cr_assert_eq(met, 3);
    /* the alternative (unzipped) name satisfies the need */
    cr_assert_eq(gb_atomic_write(join("mnist/t10k-labels-idx1-ubyte"), "x", 1), GB_OK);
    cr_assert_eq(gb_dataset_presence(tmpdir, ds, NULL, NULL), GB_DATA_PRESENT);
}

/* ---- unzip ------------------------------------------------------------------------------- */

/* A zip whose members hold their own names. */
static void make_zip(const char *path, const char *const *names, int n) {
    zip_t *z = test_zip_open(path);
    for (int i = 0; i < n; i++) test_zip_add_bytes(z, names[i], names[i], strlen(names[i]), 1);
    test_zip_close(z, path);
}

Test(synth, unzip_extracts_members) {
    static const char *const names[] = {"xlsa17/data/AWA2/res101.mat", "xlsa17/data/AWA2/att_splits.mat"};
    make_zip(join("a.zip"), names, 2);
    cr_assert_eq(gb_unzip(join("a.zip"), join("out")), GB_OK, "%s", gb_last_error());
    unsigned char *data = NULL;
    size_t n;
    cr_assert_eq(gb_read_file(join("out/xlsa17/data/AWA2/res101.mat"), &data, &n), GB_OK);
    cr_assert_str_eq((char *)data, names[0]);
    free(data);
}

Test(synth, unzip_refuses_paths_outside_the_folder) {
    static const char *const names[] = {"ok.txt", "../escaped.txt"};
    make_zip(join("evil.zip"), names, 2);
    cr_assert_eq(gb_unzip(join("evil.zip"), join("out")), GB_INPUT);
    cr_assert(strstr(gb_last_error(), "../escaped.txt") != NULL, "%s", gb_last_error());
    cr_assert_eq(access(join("escaped.txt"), F_OK), -1, "a member was written outside the target folder");
    cr_assert_eq(gb_atomic_write(join("junk.zip"), "not a zip", 9), GB_OK);
    cr_assert_eq(gb_unzip(join("junk.zip"), join("out")), GB_INPUT);
}

/* GNU tar (an independent writer) makes the archives; -P keeps a "../" member name as given. */
static void run(const char *cmd) { cr_assert_eq(system(cmd), 0, "command failed: %s", cmd); }

Test(synth, untar_extracts_members_and_refuses_escapes) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkdir -p src/CUB_200_2011/images/001.A && echo 1 >src/CUB_200_2011/images.txt && "
             "printf 'jpeg' >src/CUB_200_2011/images/001.A/x.jpg && tar -C src -czf good.tgz CUB_200_2011", tmpdir);
    run(cmd);
    cr_assert_eq(gb_untar(join("good.tgz"), join("out")), GB_OK, "%s", gb_last_error());
    unsigned char *data = NULL;
    size_t n;
    cr_assert_eq(gb_read_file(join("out/CUB_200_2011/images/001.A/x.jpg"), &data, &n), GB_OK);
    cr_assert_eq(n, 4);
    cr_assert(memcmp(data, "jpeg", 4) == 0);
    free(data);
    snprintf(cmd, sizeof cmd, "cd '%s' && mkdir -p deep/er && echo x >deep/escaped.txt && cd deep/er && "
             "tar -P -czf ../../evil.tgz ../escaped.txt 2>/dev/null", tmpdir);
    run(cmd);
    cr_assert_eq(gb_untar(join("evil.tgz"), join("deep/er/out")), GB_INPUT);
    cr_assert(strstr(gb_last_error(), "../escaped.txt") != NULL, "%s", gb_last_error());
    cr_assert_eq(access(join("deep/er/escaped.txt"), F_OK), -1, "a member was written outside the target folder");
}
