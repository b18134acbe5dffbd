/* cli/data_inspect.c - `genbench data inspect`: load a dataset, a stand-in or one file through
 * the pipelines' own loaders and print what they hold as key: value lines (shapes, value
 * ranges, class histograms, identities and SHA-256 digests), so a user can see what a run would
 * train on before it does. Which loader applies is decided by name (a registered dataset or a
 * stand-in), by a folder's files, or by a file's name (.npy, .npz, IDX *-ubyte[.gz], CIFAR-10
 * batch .bin or .tar.gz, .pth). Tested by tests/smoke_data.sh.
 */
#include "data_inspect.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "../core/npy.h"
#include "../core/sha256.h"
#include "../datasets/cifar10.h"
#include "../datasets/cub.h"
#include "../datasets/dataset_files.h"
#include "../datasets/gbu.h"
#include "../datasets/glyphs28.h"
#include "../datasets/idx.h"
#include "../datasets/image_set.h"
#include "../datasets/registry.h"
#include "../datasets/shapes32.h"
#include "../datasets/sprites.h"
#include "../datasets/zsl_synth.h"
#include "../datasets/zsl_text.h"

static void print_image_set(const char *split, const gb_image_set *set) {
    size_t total = (size_t)set->count * gb_image_set_image_bytes(set);
    unsigned lo = 255, hi = 0;
    double sum = 0;
    for (size_t i = 0; i < total; i++) {
        unsigned v = set->pixels[i];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
    }
    printf("%s.identity: %s\n", split, set->identity);
    printf("%s.count: %d\n", split, set->count);
    printf("%s.shape: [%d, %d, %d, %d]\n", split, set->count, set->channels, set->height, set->width);
    printf("%s.dtype: uint8\n", split);
    printf("%s.min: %u\n%s.max: %u\n%s.mean: %.4f\n", split, total ? lo : 0, split, total ? hi : 0, split,
           total ? sum / (double)total : 0.0);
    if (set->labels && set->num_classes > 0) {
        printf("%s.classes: %d\n%s.class_histogram:", split, set->num_classes, split);
        int *hist = calloc((size_t)set->num_classes, sizeof *hist);
        for (int i = 0; hist && i < set->count; i++)
            if (set->labels[i] >= 0 && set->labels[i] < set->num_classes) hist[set->labels[i]]++;
        for (int k = 0; hist && k < set->num_classes; k++) printf(" %d", hist[k]);
        printf("\n");
        free(hist);
    } else {
        printf("%s.classes: 0 (unlabelled)\n", split);
    }
    printf("%s.sha256: %s\n", split, set->sha256[0] ? set->sha256 : "none (synthetic)");
}

/* Both splits of an image source, printed with their sizes. */
typedef gb_status (*split_loader)(gb_image_set *set, int train, const void *ctx);

static gb_status inspect_splits(split_loader load, const void *ctx) {
    gb_image_set sets[2];
    memset(sets, 0, sizeof sets);
    gb_status s = load(&sets[0], 1, ctx);
    if (s == GB_OK) s = load(&sets[1], 0, ctx);
    if (s == GB_OK) {
        printf("splits: train=%d test=%d\n", sets[0].count, sets[1].count);
        print_image_set("train", &sets[0]);
        print_image_set("test", &sets[1]);
    }
    gb_image_set_free(&sets[0]);
    gb_image_set_free(&sets[1]);
    return s;
}

typedef struct {
    int side; /* 0: glyphs28 */
    uint64_t seed;
    int count;
} standin_ctx;

static gb_status load_standin(gb_image_set *set, int train, const void *ctx) {
    const standin_ctx *c = ctx;
    if (c->side == 0) return gb_glyphs28_generate(set, c->seed, train, 0, c->count);
    return gb_shapes32_generate(set, c->seed, train, 0, c->count);
}

/* "<dir>/<rel>" exists as a regular file. */
static int has_file(const char *dir, const char *rel) {
    char *p = gb_path_join(dir, rel);
    int ok = p && gb_is_file(p);
    free(p);
    return ok;
}

/* Float array statistics as key: value lines. */
static void print_float_stats(const char *key, const float *v, size_t n) {
    double lo = n ? v[0] : 0, hi = n ? v[0] : 0, sum = 0;
    size_t nonfinite = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (!(x - x == 0)) {
            nonfinite++;
            continue;
        }
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        sum += x;
    }
    printf("%s.dtype: float32\n%s.min: %.6g\n%s.max: %.6g\n%s.mean: %.6g\n", key, key, lo, key, hi, key,
           n > nonfinite ? sum / (double)(n - nonfinite) : 0.0);
    if (nonfinite) printf("%s.nonfinite: %zu\n", key, nonfinite);
}

static void print_zsl_set(const char *prefix, const gb_zsl_set *z) {
    printf("%sidentity: %s\n", prefix, z->identity);
    printf("%scount: %d\n", prefix, z->n);
    printf("%sfeatures.shape: [%d, %d]\n", prefix, z->n, z->dim);
    char key[64];
    snprintf(key, sizeof key, "%sfeatures", prefix);
    print_float_stats(key, z->features, (size_t)z->n * (size_t)z->dim);
    printf("%sclass_desc.shape: [%d, %d]\n", prefix, z->num_classes, z->att_dim);
    snprintf(key, sizeof key, "%sclass_desc", prefix);
    print_float_stats(key, z->class_desc, (size_t)z->num_classes * (size_t)z->att_dim);
    printf("%sclasses: %d (seen %d, unseen %d)\n", prefix, z->num_classes, z->n_seen, z->n_unseen);
    printf("%ssplits: train=%d test_seen=%d test_unseen=%d\n", prefix, z->n_train, z->n_test_seen, z->n_test_unseen);
    int *hist = calloc((size_t)z->num_classes + 1, sizeof *hist);
    if (hist) {
        for (int i = 0; i < z->n; i++)
            if (z->labels[i] >= 0 && z->labels[i] < z->num_classes) hist[z->labels[i]]++;
        printf("%sclass_histogram:", prefix);
        for (int k = 0; k < z->num_classes; k++) printf(" %d", hist[k]);
        printf("\n");
        free(hist);
    }
    printf("%ssha256: %s\n", prefix, z->sha256[0] ? z->sha256 : "none (synthetic)");
}

static gb_status inspect_zsl_synth(gb_zsl_synth_style style, uint64_t seed, long long count) {
    gb_zsl_synth_config c;
    gb_zsl_synth_default(&c, style);
    if (count > 0) c.per_class = (int)count;
    gb_zsl_set z;
    GB_TRY(gb_zsl_synth_make(&z, &c, seed));
    printf("source: stand-in %s, seed %llu, %d instances per class\n", z.identity, (unsigned long long)seed,
           c.per_class);
    print_zsl_set("", &z);
    gb_zsl_set_free(&z);
    return GB_OK;
}

static gb_status inspect_gbu(const char *dir, const char *name) {
    gb_zsl_set z;
    GB_TRY(gb_gbu_load(&z, dir, name));
    printf("source: %s (GBU / xlsa17 loader)\n", dir);
    print_zsl_set("", &z);
    gb_zsl_set_free(&z);
    return GB_OK;
}

/* Each split (easy, hard) whose six files are all there. */
static gb_status inspect_text(const char *dir, const char *dataset) {
    static const char *const splits[2] = {"easy", "hard"};
    printf("source: %s (GAZSL text loader)\n", dir);
    int loaded = 0;
    for (int i = 0; i < 2; i++) {
        const char *names[6];
        GB_TRY(gb_zsl_text_files(dataset, splits[i], names));
        int complete = 1;
        for (int f = 0; f < 6; f++) complete &= has_file(dir, names[f]);
        if (!complete) {
            printf("%s: not there (needs %s, %s, %s, %s, %s, %s)\n", splits[i], names[0], names[1], names[2],
                   names[3], names[4], names[5]);
            continue;
        }
        gb_zsl_set z;
        GB_TRY(gb_zsl_text_load(&z, dir, dataset, splits[i]));
        char prefix[16];
        snprintf(prefix, sizeof prefix, "%s.", splits[i]);
        print_zsl_set(prefix, &z);
        gb_zsl_set_free(&z);
        loaded++;
    }
    return loaded ? GB_OK : gb_fail(GB_INPUT, "%s: neither the easy nor the hard split is complete", dir);
}

typedef struct {
    const char *path;
    int records_per_file;
} cifar_ctx;

static gb_status load_cifar(gb_image_set *set, int train, const void *ctx) {
    const cifar_ctx *c = ctx;
    return gb_cifar10_load(set, c->path, train ? GB_CIFAR10_TRAIN : GB_CIFAR10_TEST, c->records_per_file);
}

static gb_status inspect_cifar(const char *path) {
    /* A folder may hold fewer records per file than the published 10000 (a smoke-sized
     * stand-in). */
    cifar_ctx c = {path, gb_cifar10_folder_records(path)};
    printf("source: %s (CIFAR-10 binary loader)\n", path);
    return inspect_splits(load_cifar, &c);
}

typedef struct {
    const char *dir, *dataset;
} idx_ctx;

static gb_status load_idx(gb_image_set *set, int train, const void *ctx) {
    const idx_ctx *c = ctx;
    return gb_idx_load(set, c->dir, c->dataset, train);
}

static gb_status inspect_idx(const char *dir, const char *dataset) {
    idx_ctx c = {dir, dataset};
    printf("source: %s (IDX loader)\n", dir);
    return inspect_splits(load_idx, &c);
}

static gb_status inspect_cub_index(const char *root) {
    gb_cub_index idx;
    GB_TRY(gb_cub_index_read(&idx, root));
    int train = 0;
    int *hist = calloc((size_t)idx.num_classes + 1, sizeof *hist);
    for (int i = 0; i < idx.count; i++) {
        train += idx.is_train[i];
        if (hist && idx.labels[i] >= 0 && idx.labels[i] < idx.num_classes) hist[idx.labels[i]]++;
    }
    printf("source: %s (CUB-200-2011 index)\n", idx.images_dir);
    printf("count: %d\nclasses: %d\nsplits: train=%d test=%d\nclass_histogram:", idx.count, idx.num_classes, train,
           idx.count - train);
    for (int k = 0; hist && k < idx.num_classes; k++) printf(" %d", hist[k]);
    printf("\nimages: JPEG of varying sizes (inspect cub32 for the 32x32 set)\n");
    free(hist);
    gb_cub_index_free(&idx);
    return GB_OK;
}

static gb_status inspect_one_set(gb_image_set *set, gb_status s) {
    if (s == GB_OK) {
        printf("splits: all=%d\n", set->count);
        print_image_set("all", set);
    }
    gb_image_set_free(set);
    return s;
}

static gb_status inspect_cub32(const char *dir) {
    gb_image_set set;
    char *folder = NULL;
    if (asprintf(&folder, "%s/CUB_200_2011_32", dir) < 0) return gb_fail(GB_ENV, "out of memory");
    gb_status s;
    if (gb_is_dir(folder)) {
        printf("source: %s (flat folder of 32x32 JPEGs)\n", folder);
        s = inspect_one_set(&set, gb_cub_load_folder(&set, folder, 32, 0));
    } else {
        gb_cub_options opt = gb_cub_options_cmu32(0);
        printf("source: %s (CUB-200-2011 resized by the CMU 16-824 recipe)\n", dir);
        s = inspect_one_set(&set, gb_cub_load_resized(&set, dir, &opt));
    }
    free(folder);
    return s;
}

static gb_status inspect_weights(const char *path) {
    char hex[65];
    struct stat st;
    if (stat(path, &st) != 0) return gb_fail(GB_INPUT, "%s: cannot stat", path);
    GB_TRY(gb_sha256_file(path, hex));
    unsigned char magic[4] = {0};
    FILE *fp = fopen(path, "rb");
    size_t got = fp ? fread(magic, 1, 4, fp) : 0;
    if (fp) fclose(fp);
    const char *container = got == 4 && memcmp(magic, "PK\3\4", 4) == 0 ? "zip (torch.save >= 1.6)"
                            : got >= 2 && magic[0] == 0x80 && magic[1] == 0x02 ? "legacy torch.save stream (pickle protocol 2)"
                                                                              : "unknown";
    printf("source: %s\nbytes: %lld\ncontainer: %s\nsha256: %s\n", path, (long long)st.st_size, container, hex);
    return GB_OK;
}

static gb_status inspect_sprites(const char *dir) {
    gb_image_set set;
    printf("source: %s (sprites .npy loader)\n", dir);
    return inspect_one_set(&set, gb_sprites_load(&set, dir));
}

static const char *npy_dtype_name(gb_npy_dtype t) {
    switch (t) {
    case GB_NPY_U8: return "uint8";
    case GB_NPY_I32: return "int32";
    case GB_NPY_I64: return "int64";
    case GB_NPY_F32: return "float32";
    default: return "float64";
    }
}

static gb_status print_npy(const char *prefix, const gb_npy_array *a) {
    printf("%sdtype: %s\n%sshape: [", prefix, npy_dtype_name(a->dtype), prefix);
    for (int d = 0; d < a->ndim; d++) printf("%s%zu", d ? ", " : "", a->shape[d]);
    printf("]\n%scount: %zu\n", prefix, a->count);
    double *v = malloc(a->count * sizeof *v + 1);
    if (!v) return gb_fail(GB_ENV, "out of memory for %zu values", a->count);
    gb_npy_to_f64(v, a);
    double lo = a->count ? v[0] : 0, hi = lo, sum = 0;
    size_t nonfinite = 0;
    for (size_t i = 0; i < a->count; i++) {
        if (!(v[i] - v[i] == 0)) {
            nonfinite++;
            continue;
        }
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
        sum += v[i];
    }
    printf("%smin: %.6g\n%smax: %.6g\n%smean: %.6g\n", prefix, lo, prefix, hi, prefix,
           a->count > nonfinite ? sum / (double)(a->count - nonfinite) : 0.0);
    if (nonfinite) printf("%snonfinite: %zu\n", prefix, nonfinite);
    free(v);
    return GB_OK;
}

/* One IDX file (an images or a labels file of MNIST's layout, gzipped or not) through the
 * loader's strict reader: its shape from the header, value range and, for labels, the histogram. */
static gb_status inspect_idx_file(const char *path) {
    uint8_t *data;
    uint32_t dims[3] = {0, 0, 0};
    int ndim;
    char hex[65];
    GB_TRY(gb_idx_read_any_u8(path, &data, dims, &ndim));
    gb_status s = gb_sha256_file(path, hex);
    if (s == GB_OK) {
        size_t count = 1;
        printf("source: %s (IDX file, unsigned bytes)\nkind: %s\nshape: [", path,
               ndim == 1 ? "labels" : ndim == 3 ? "images" : "2-d array");
        for (int d = 0; d < ndim; d++) {
            printf("%s%u", d ? ", " : "", dims[d]);
            count *= dims[d];
        }
        unsigned lo = 255, hi = 0;
        double sum = 0;
        for (size_t i = 0; i < count; i++) {
            lo = data[i] < lo ? data[i] : lo;
            hi = data[i] > hi ? data[i] : hi;
            sum += data[i];
        }
        printf("]\ncount: %u\nmin: %u\nmax: %u\nmean: %.4f\n", dims[0], count ? lo : 0, count ? hi : 0,
               count ? sum / (double)count : 0.0);
        if (ndim == 1 && count) { /* labels: one bin per value 0..max */
            size_t hist[256] = {0};
            for (size_t i = 0; i < count; i++) hist[data[i]]++;
            printf("class_histogram:");
            for (unsigned v = 0; v <= hi; v++) printf(" %zu", hist[v]);
            printf("\n");
        }
        printf("sha256: %s\n", hex);
    }
    free(data);
    return s;
}

/* One CIFAR-10 batch file through the loader's record parser. */
static gb_status inspect_cifar_batch(const char *path) {
    gb_image_set set;
    printf("source: %s (CIFAR-10 batch file)\n", path);
    return inspect_one_set(&set, gb_cifar10_load_batch(&set, path));
}

/* A single file: .npy / .npz through core/npy.h, IDX (*-ubyte[.gz]) and CIFAR-10 batches
 * (*.bin) through their loaders; anything else is not a dataset file. */
static gb_status inspect_file(const char *path) {
    size_t len = strlen(path);
    char hex[65];
    if (len > 4 && strcmp(path + len - 4, ".npy") == 0) {
        gb_npy_array a;
        GB_TRY(gb_npy_load(&a, path));
        gb_status s = gb_sha256_file(path, hex);
        if (s == GB_OK) {
            printf("source: %s (.npy)\n", path);
            s = print_npy("", &a);
            printf("sha256: %s\n", hex);
        }
        gb_npy_free(&a);
        return s;
    }
    if (len > 4 && strcmp(path + len - 4, ".npz") == 0) {
        gb_npz z;
        GB_TRY(gb_npz_load(&z, path));
        gb_status s = gb_sha256_file(path, hex);
        if (s == GB_OK) printf("source: %s (.npz)\narrays: %zu\n", path, z.count);
        for (size_t i = 0; i < z.count && s == GB_OK; i++) {
            char prefix[160];
            snprintf(prefix, sizeof prefix, "%s.", z.keys[i]);
            s = print_npy(prefix, &z.arrays[i]);
        }
        if (s == GB_OK) printf("sha256: %s\n", hex);
        gb_npz_free(&z);
        return s;
    }
    if (gb_cli_has_suffix(path, "-ubyte") || gb_cli_has_suffix(path, "-ubyte.gz")) return inspect_idx_file(path);
    if (gb_cli_has_suffix(path, ".bin")) return inspect_cifar_batch(path);
    return gb_fail(GB_INPUT, "%s: not a known dataset file (.npy, .npz, IDX *-ubyte[.gz], CIFAR-10 batch .bin, "
                   "CIFAR-10 .tar.gz, .pth weights) or folder", path);
}

/* Load a registered dataset from the data root. */
static gb_status inspect_dataset(const char *root, const gb_dataset_info *ds) {
    gb_data_presence p = gb_dataset_presence(root, ds, NULL, NULL);
    if (p != GB_DATA_PRESENT)
        return gb_fail(GB_INPUT, "%s is %s under %s: run `genbench data fetch %s`%s%s", ds->name,
                       gb_data_presence_name(p), root, ds->name, ds->standin ? ", or inspect its stand-in " : "",
                       ds->standin ? ds->standin : "");
    char *dir = gb_dataset_dir(root, ds);
    if (!dir) return gb_fail(GB_ENV, "out of memory");
    gb_status s;
    const char *n = ds->name;
    if (strcmp(n, "cifar10") == 0) {
        char *archive = gb_dataset_path(root, ds, "cifar-10-binary.tar.gz");
        s = inspect_cifar(archive && gb_is_file(archive) ? archive : dir);
        free(archive);
    } else if (strcmp(n, "mnist") == 0 || strcmp(n, "fashion-mnist") == 0) {
        s = inspect_idx(dir, n[0] == 'm' ? "mnist" : "fashion_mnist");
    } else if (strcmp(n, "cub") == 0) {
        s = inspect_cub_index(dir);
    } else if (strcmp(n, "cub32") == 0) {
        s = inspect_cub32(dir);
    } else if (strncmp(n, "gbu-", 4) == 0) {
        const char *sub = strcmp(n, "gbu-awa2") == 0 ? "AWA2" : strcmp(n, "gbu-sun") == 0 ? "SUN" : "CUB";
        char *d = NULL;
        if (asprintf(&d, "%s/xlsa17/data/%s", dir, sub) < 0) d = NULL;
        s = d ? inspect_gbu(d, sub) : gb_fail(GB_ENV, "out of memory");
        free(d);
    } else if (strncmp(n, "gazsl-", 6) == 0) {
        int cub = strcmp(n, "gazsl-cub") == 0;
        char *d = NULL;
        if (asprintf(&d, "%s/%s", dir, cub ? "CUB2011" : "NABird") < 0) d = NULL;
        s = d ? inspect_text(d, cub ? "cub" : "nab") : gb_fail(GB_ENV, "out of memory");
        free(d);
    } else if (strcmp(n, "inception-weights") == 0) {
        char *w = gb_dataset_path(root, ds, ds->files[0].name);
        s = w ? inspect_weights(w) : gb_fail(GB_ENV, "out of memory");
        free(w);
    } else {
        GB_ASSERT(strcmp(n, "sprites") == 0, "no inspect rule for dataset %s", n);
        s = inspect_sprites(dir);
    }
    free(dir);
    return s;
}

/* A path: recognise the layout from the files it holds. */
static gb_status inspect_path(const char *path) {
    if (gb_is_dir(path)) {
        if (has_file(path, "cifar-10-batches-bin/test_batch.bin") || has_file(path, "test_batch.bin"))
            return inspect_cifar(path);
        if (has_file(path, "train-images-idx3-ubyte.gz") || has_file(path, "train-images-idx3-ubyte"))
            return inspect_idx(path, "idx");
        if (has_file(path, "res101.mat")) {
            const char *base = strrchr(path, '/');
            return inspect_gbu(path, base && base[1] ? base + 1 : path);
        }
        if (has_file(path, "CUB_Porter_7551D_TFIDF_new.mat")) return inspect_text(path, "cub");
        if (has_file(path, "NAB_Porter_13217D_TFIDF_new.mat")) return inspect_text(path, "nab");
        if (has_file(path, "CUB_200_2011/images.txt") || has_file(path, "images.txt")) return inspect_cub_index(path);
        if (has_file(path, GB_SPRITES_IMAGES)) return inspect_sprites(path);
        return gb_fail(GB_INPUT, "%s: no known dataset layout (CIFAR-10 batches, IDX files, res101.mat, TF-IDF .mat, "
                       "CUB images.txt, sprites .npy)", path);
    }
    size_t len = strlen(path);
    if ((len > 7 && strcmp(path + len - 7, ".tar.gz") == 0) || (len > 4 && strcmp(path + len - 4, ".tgz") == 0)) {
        if (strstr(path, "cifar")) return inspect_cifar(path);
    }
    if (len > 4 && strcmp(path + len - 4, ".pth") == 0) return inspect_weights(path);
    return inspect_file(path);
}

gb_status gb_data_inspect(const char *what, const char *data_option, uint64_t seed, long long count_option) {
    if (strncmp(what, "synthetic:", 10) == 0) what += 10;
    int count = count_option > 0 ? (int)count_option : 1000;
    standin_ctx c = {-1, seed, count};
    if (strcmp(what, "shapes16") == 0) {
        gb_image_set set;
        printf("source: stand-in shapes16 (sprites), seed %llu, %d images\n", (unsigned long long)seed, count);
        return inspect_one_set(&set, gb_sprites_standin(&set, seed, 0, count));
    }
    if (strcmp(what, "shapes32") == 0) c.side = 32;
    else if (strcmp(what, "glyphs28") == 0) c.side = 0;
    if (c.side >= 0) {
        printf("source: stand-in %s, seed %llu, %d images per split\n", what, (unsigned long long)seed, count);
        return inspect_splits(load_standin, &c);
    }
    if (strcmp(what, "zsl-synth-att") == 0) return inspect_zsl_synth(GB_ZSL_SYNTH_ATT, seed, count_option);
    if (strcmp(what, "zsl-synth-text") == 0) return inspect_zsl_synth(GB_ZSL_SYNTH_TEXT, seed, count_option);
    const gb_dataset_info *ds = gb_dataset_find(what);
    if (ds) return inspect_dataset(gb_data_root(data_option), ds);
    struct stat st;
    if (stat(what, &st) != 0)
        return gb_fail(GB_USAGE, "'%s' is neither a dataset name, a stand-in (shapes32, shapes16, glyphs28, "
                       "zsl-synth-att, zsl-synth-text) nor an existing path", what);
    return inspect_path(what);
}

