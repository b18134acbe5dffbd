/* cli/cmd_fid.c - `genbench fid`, `genbench kid`, `genbench prdc` on statistics and feature files.
 *
 *   genbench fid A B [--stats-out FILE] [--layout pytorch-fid|clean-fid] [--protocol P]
 *                    [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]
 *       A, B: FID stats .npz (pytorch-fid or clean-fid layout), features .npy [n, d], or a
 *       folder of PNG/JPEG images (features through the FID Inception network under protocol
 *       P: pytorch-fid, clean (default) or legacy-tf; metrics/fid_protocol.h). Features are
 *       reduced to their mean and N-1 covariance first. The last line of stdout is the FID.
 *       --stats-out writes the statistics of A (layout pytorch-fid by default).
 *   genbench kid GEN REF [--seed N] [--subsets N] [--subset-size N]
 *       GEN, REF: features .npy [n, d] or clean-fid's feature .npz (key 'feats'). Prints the
 *       spread, then the KID (the last line).
 *   genbench prdc GEN REAL [--protocol kynkaanniemi|prdc] [--k N]
 *       precision, recall, density, coverage of the generated set GEN against REAL.
 *
 * Image folders need the weights pt_inception-2015-12-05-6726825d.pth (data/weights/, or
 * --weights); without them fid exits 5 (environment) naming the file, where it was looked
 * for and `genbench data fetch inception-weights`. kid and prdc read feature files only.
 * Exit codes: 0 ok, 2 usage, 3 bad input file, 4 numerical failure, 5 environment.
 *
 * Self-contained (no helpers from cli/main.c) so tests/test_cmd_fid.c can compile it in and
 * call the commands directly; that suite runs every form and error path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/npy.h"
#include "../core/status.h"
#include "../datasets/registry.h"
#include "../kernels/kernels.h"
#include "../metrics/fid.h"
#include "../metrics/fid_protocol.h"
#include "../metrics/kid.h"
#include "../metrics/prdc.h"

static int fid_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

static gb_status fid_parse_u64(const char *option, const char *text, unsigned long long *out) {
    char *end = NULL;
    if (!text || !*text || *text == '-' || *text == '+')
        return gb_fail(GB_USAGE, "%s needs a non-negative integer", option);
    errno = 0;
    *out = strtoull(text, &end, 10);
    if (*end || errno) return gb_fail(GB_USAGE, "%s: '%s' is not a non-negative integer", option, text);
    return GB_OK;
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* GB_ENV for a directory (kid and prdc read feature files), GB_INPUT when the path does not
 * exist. */
static gb_status check_not_folder(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return gb_fail(GB_INPUT, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return gb_fail(GB_ENV, "%s is a directory: image folders are read by `genbench fid` only; pass features .npy",
                       path);
    return GB_OK;
}

typedef struct {
    float *x; /* [n, d] */
    size_t n, d;
} feature_set;

/* A 2-D float .npy, or an .npz holding such an array under 'feats' (clean-fid's KID files). */
static gb_status load_features(feature_set *f, const char *path) {
    memset(f, 0, sizeof *f);
    GB_TRY(check_not_folder(path));
    gb_npy_array a;
    gb_npz z = {0};
    const gb_npy_array *arr;
    if (has_suffix(path, ".npz")) {
        GB_TRY(gb_npz_load(&z, path));
        arr = gb_npz_find(&z, "feats");
        if (!arr) {
            gb_npz_free(&z);
            return gb_fail(GB_INPUT, "%s: no 'feats' array (expected features [n, d] as .npy, or clean-fid's feature "
                                     ".npz)",
                           path);
        }
    } else {
        GB_TRY(gb_npy_load(&a, path));
        arr = &a;
    }
    gb_status s = GB_OK;
    if (arr->ndim != 2 || arr->shape[0] == 0 || arr->shape[1] == 0)
        s = gb_fail(GB_INPUT, "%s: features must be a 2-D array [n, d] (got %d dimensions)", path, arr->ndim);
    else if (arr->dtype != GB_NPY_F32 && arr->dtype != GB_NPY_F64)
        s = gb_fail(GB_INPUT, "%s: features must be float32 or float64 (got %s)", path, gb_npy_descr(arr->dtype));
    else if (!(f->x = malloc(arr->count * sizeof *f->x)))
        s = gb_fail(GB_ENV, "%s: out of memory", path);
    if (s == GB_OK) {
        gb_npy_to_f32(f->x, arr);
        f->n = arr->shape[0];
        f->d = arr->shape[1];
    }
    if (arr == &a) gb_npy_free(&a);
    else gb_npz_free(&z);
    return s;
}

/* The Inception network for image folders, opened on first use. */
typedef struct {
    const char *weights, *weights_sha256, *device;
    gb_fid_protocol protocol;
    unsigned long long batch, threads;
    char *path;   /* the weights file used */
    gb_device dev;
    gb_inception net;
    int open;
    char kind[128];
} fid_net;

static gb_status fid_net_open(fid_net *fn) {
    if (fn->open) return GB_OK;
    const gb_dataset_info *ds = gb_dataset_find("inception-weights");
    GB_ASSERT(ds, "the dataset table has no inception-weights entry");
    fn->path = fn->weights ? strdup(fn->weights) : gb_dataset_path(gb_data_root(NULL), ds, GB_INCEPTION_FILE);
    if (!fn->path) return gb_fail(GB_ENV, "out of memory");
    struct stat st;
    if (stat(fn->path, &st) != 0)
        return gb_fail(GB_ENV, "FID on image folders needs the Inception weights %s, not found at %s: fetch them with "
                               "`genbench data fetch inception-weights` (into data/weights/, or $GB_DATA/weights/) "
                               "or pass --weights FILE",
                       GB_INCEPTION_FILE, fn->path);
    GB_TRY(gb_device_open(&fn->dev, fn->device, (int)fn->threads));
    gb_status s = gb_inception_load(&fn->net, &fn->dev, fn->path, fn->weights_sha256, (size_t)fn->batch);
    if (s != GB_OK) {
        gb_device_close(&fn->dev);
        return s;
    }
    fn->open = 1;
    return GB_OK;
}

static void fid_net_close(fid_net *fn) {
    if (fn->open) {
        gb_inception_free(&fn->net);
        gb_device_close(&fn->dev);
    }
    free(fn->path);
}

static gb_status folder_stats(gb_fid_stats *st, const char *dir, fid_net *fn, const char **kind) {
    GB_TRY(fid_net_open(fn));
    float *feats;
    size_t n;
    GB_TRY(gb_fid_folder_features(&feats, &n, &fn->net, dir, fn->protocol));
    gb_status s = gb_fid_stats_from_features(st, feats, n, GB_INCEPTION_FEATURES);
    free(feats);
    if (s != GB_OK) return gb_fail_wrap(s, "%s", dir);
    snprintf(fn->kind, sizeof fn->kind, "images, protocol %s", gb_fid_protocol_name(fn->protocol));
    *kind = fn->kind;
    return GB_OK;
}

/* Stats from a stats .npz, a features .npy, or an image folder. */
static gb_status load_stats(gb_fid_stats *st, const char *path, const char **kind, fid_net *fn) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return folder_stats(st, path, fn, kind);
    GB_TRY(check_not_folder(path));
    if (has_suffix(path, ".npz")) {
        gb_fid_layout layout;
        GB_TRY(gb_fid_stats_load(st, path, &layout));
        *kind = gb_fid_layout_name(layout);
        return GB_OK;
    }
    if (!has_suffix(path, ".npy"))
        return gb_fail(GB_INPUT, "%s: expected FID stats (.npz with mu and sigma) or features (.npy [n, d])", path);
    feature_set f;
    GB_TRY(load_features(&f, path));
    gb_status s = gb_fid_stats_from_features(st, f.x, f.n, f.d);
    free(f.x);
    if (s != GB_OK) return gb_fail_wrap(s, "%s", path);
    *kind = "features";
    return GB_OK;
}

static void describe_input(const char *label, const char *path, const char *kind, const gb_fid_stats *st) {
    if (st->n) printf("%s: %s (%s, d = %zu, n = %llu)\n", label, path, kind, st->dim, (unsigned long long)st->n);
    else printf("%s: %s (%s, d = %zu)\n", label, path, kind, st->dim);
}

gb_status gb_cmd_fid(int argc, char **argv) {
    if (fid_wants_help(argc, argv)) {
        printf("usage: genbench fid A B [--stats-out FILE] [--layout pytorch-fid|clean-fid] [--protocol P]\n"
               "                        [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]\n"
               "  A, B                FID stats .npz (pytorch-fid or clean-fid layout), features .npy [n, d],\n"
               "                      or a folder of PNG/JPEG images (through the FID Inception network)\n"
               "  --protocol P        image preprocessing: clean (default; clean-fid), pytorch-fid, legacy-tf\n"
               "  --weights FILE      Inception weights (default data/weights/%s; must have the pinned\n"
               "                      SHA-256 unless --weights-sha256 HEX vouches for another file)\n"
               "  --batch N           images per forward pass (default 16)\n"
               "  --device D          cpu, cuda or auto (default auto); --threads N: CPU threads (default 2)\n"
               "  --stats-out FILE    also write the statistics of A to FILE (.npz)\n"
               "  --layout NAME       layout of --stats-out: pytorch-fid (mu, sigma float64; default) or\n"
               "                      clean-fid (mu float32, sigma float64)\n"
               "prints both inputs, then the FID as the last line\n",
               GB_INCEPTION_FILE);
        return GB_OK;
    }
    const char *paths[2] = {NULL, NULL}, *stats_out = NULL;
    gb_fid_layout layout = GB_FID_LAYOUT_PYTORCH_FID;
    fid_net fn = {.device = "auto", .protocol = GB_FID_CLEAN, .batch = 16, .threads = 2};
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--protocol") == 0 || strcmp(opt, "--weights") == 0 || strcmp(opt, "--weights-sha256") == 0 ||
            strcmp(opt, "--batch") == 0 || strcmp(opt, "--device") == 0 || strcmp(opt, "--threads") == 0) {
            if (i + 1 >= argc) return gb_fail(GB_USAGE, "%s needs a value (see genbench fid --help)", opt);
            const char *v = argv[++i];
            if (strcmp(opt, "--protocol") == 0) GB_TRY(gb_fid_protocol_by_name(&fn.protocol, v));
            else if (strcmp(opt, "--weights") == 0) fn.weights = v;
            else if (strcmp(opt, "--weights-sha256") == 0) fn.weights_sha256 = v;
            else if (strcmp(opt, "--device") == 0) fn.device = v;
            else if (strcmp(opt, "--batch") == 0) GB_TRY(fid_parse_u64(opt, v, &fn.batch));
            else GB_TRY(fid_parse_u64(opt, v, &fn.threads));
            continue;
        }
        if (strcmp(argv[i], "--stats-out") == 0) {
            if (i + 1 >= argc) return gb_fail(GB_USAGE, "--stats-out needs a file name");
            stats_out = argv[++i];
        } else if (strcmp(argv[i], "--layout") == 0) {
            if (i + 1 >= argc) return gb_fail(GB_USAGE, "--layout needs pytorch-fid or clean-fid");
            const char *v = argv[++i];
            if (strcmp(v, "pytorch-fid") == 0) layout = GB_FID_LAYOUT_PYTORCH_FID;
            else if (strcmp(v, "clean-fid") == 0) layout = GB_FID_LAYOUT_CLEAN_FID;
            else return gb_fail(GB_USAGE, "--layout: '%s' is neither pytorch-fid nor clean-fid", v);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return gb_fail(GB_USAGE, "unknown option '%s' (see genbench fid --help)", argv[i]);
        } else if (n_paths < 2) {
            paths[n_paths++] = argv[i];
        } else {
            return gb_fail(GB_USAGE, "fid takes exactly two inputs (got a third: '%s')", argv[i]);
        }
    }
    if (n_paths != 2) return gb_fail(GB_USAGE, "fid needs two inputs A and B (see genbench fid --help)");
    if (fn.weights_sha256 && !fn.weights)
        return gb_fail(GB_USAGE, "--weights-sha256 vouches for a file given with --weights FILE; pass both");
    if (fn.batch == 0 || fn.batch > 4096 || fn.threads == 0 || fn.threads > 1024)
        return gb_fail(GB_USAGE, "--batch must be 1..4096 and --threads 1..1024");
    gb_fid_stats a = {0}, b = {0};
    const char *ka = "", *kb = "";
    gb_status s = load_stats(&a, paths[0], &ka, &fn);
    if (s == GB_OK) s = load_stats(&b, paths[1], &kb, &fn);
    if (s == GB_OK && a.dim != b.dim)
        s = gb_fail(GB_INPUT, "%s has %zu dimensions but %s has %zu", paths[0], a.dim, paths[1], b.dim);
    double fid = 0.0;
    if (s == GB_OK && stats_out) s = gb_fid_stats_save(stats_out, &a, layout);
    if (s == GB_OK) s = gb_fid_from_stats(&fid, &a, &b);
    if (s == GB_OK) {
        describe_input("A", paths[0], ka, &a);
        describe_input("B", paths[1], kb, &b);
        if (fn.open)
            printf("inception: %s (sha256 %s), protocol %s, device %s\n", fn.path, fn.net.sha256,
                   gb_fid_protocol_name(fn.protocol), fn.dev.name);
        if (stats_out) printf("statistics of A written to %s (%s layout)\n", stats_out, gb_fid_layout_name(layout));
        printf("%.10g\n", fid);
    }
    gb_fid_stats_free(&a);
    gb_fid_stats_free(&b);
    fid_net_close(&fn);
    return s;
}

/* The two positional feature files of kid and prdc, and the remaining options for `opt`. */
typedef gb_status (*option_fn)(void *ctx, const char *name, const char *value);

static gb_status parse_two_sets(int argc, char **argv, const char *cmd, const char **paths, option_fn opt, void *ctx) {
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (i + 1 >= argc) return gb_fail(GB_USAGE, "%s needs a value (see genbench %s --help)", argv[i], cmd);
            GB_TRY(opt(ctx, argv[i], argv[i + 1]));
            i++;
        } else if (n_paths < 2) {
            paths[n_paths++] = argv[i];
        } else {
            return gb_fail(GB_USAGE, "%s takes exactly two feature files (got a third: '%s')", cmd, argv[i]);
        }
    }
    if (n_paths != 2) return gb_fail(GB_USAGE, "%s needs two feature files (see genbench %s --help)", cmd, cmd);
    return GB_OK;
}

typedef struct {
    unsigned long long seed, subsets, subset_size;
} kid_opts;

static gb_status kid_option(void *ctx, const char *name, const char *value) {
    kid_opts *o = ctx;
    if (strcmp(name, "--seed") == 0) return fid_parse_u64(name, value, &o->seed);
    if (strcmp(name, "--subsets") == 0) return fid_parse_u64(name, value, &o->subsets);
    if (strcmp(name, "--subset-size") == 0) return fid_parse_u64(name, value, &o->subset_size);
    return gb_fail(GB_USAGE, "unknown option '%s' (see genbench kid --help)", name);
}

gb_status gb_cmd_kid(int argc, char **argv) {
    if (fid_wants_help(argc, argv)) {
        printf("usage: genbench kid GEN REF [--seed N] [--subsets N] [--subset-size N]\n"
               "  GEN, REF            features .npy [n, d] (or clean-fid's .npz with 'feats')\n"
               "  --seed N            seed of the subset streams (default 0)\n"
               "  --subsets N         number of subsets (default %d)\n"
               "  --subset-size N     rows per subset, capped at the smaller set (default %d)\n"
               "kernel (x.y/d + 1)^3, unbiased MMD^2 per subset; prints the spread, then the KID as the last line\n",
               GB_KID_SUBSETS, GB_KID_SUBSET_SIZE);
        return GB_OK;
    }
    const char *paths[2];
    kid_opts o = {.seed = 0, .subsets = GB_KID_SUBSETS, .subset_size = GB_KID_SUBSET_SIZE};
    GB_TRY(parse_two_sets(argc, argv, "kid", paths, kid_option, &o));
    if (o.subsets == 0 || o.subset_size < 2) return gb_fail(GB_USAGE, "--subsets must be >= 1 and --subset-size >= 2");
    feature_set g = {0}, r = {0};
    gb_status s = load_features(&g, paths[0]);
    if (s == GB_OK) s = load_features(&r, paths[1]);
    if (s == GB_OK && g.d != r.d)
        s = gb_fail(GB_INPUT, "%s has %zu feature dimensions but %s has %zu", paths[0], g.d, paths[1], r.d);
    gb_kid_result k;
    if (s == GB_OK) s = gb_kid(&k, NULL, g.x, g.n, r.x, r.n, g.d, o.subsets, o.subset_size, o.seed);
    if (s == GB_OK) {
        printf("%zu subsets of %zu rows (seed %llu), n_gen = %zu, n_ref = %zu, d = %zu\n", k.subsets, k.subset_size,
               o.seed, g.n, r.n, g.d);
        printf("kid_std %.10g\n", k.std);
        printf("%.10g\n", k.mean);
    }
    free(g.x);
    free(r.x);
    return s;
}

typedef struct {
    gb_prdc_protocol protocol;
    unsigned long long k;
} prdc_opts;

static gb_status prdc_option(void *ctx, const char *name, const char *value) {
    prdc_opts *o = ctx;
    if (strcmp(name, "--protocol") == 0) return gb_prdc_protocol_by_name(&o->protocol, value);
    if (strcmp(name, "--k") == 0) return fid_parse_u64(name, value, &o->k);
    return gb_fail(GB_USAGE, "unknown option '%s' (see genbench prdc --help)", name);
}

gb_status gb_cmd_prdc(int argc, char **argv) {
    if (fid_wants_help(argc, argv)) {
        printf("usage: genbench prdc GEN REAL [--protocol kynkaanniemi|prdc] [--k N]\n"
               "  GEN, REAL           features .npy [n, d] (or clean-fid's .npz with 'feats')\n"
               "  --protocol NAME     kynkaanniemi: k = 3, distance <= radius (default; torch-fidelity,\n"
               "                      StyleGAN2-ADA); prdc: k = 5, distance < radius (prdc, StudioGAN)\n"
               "  --k N               neighbourhood size (overrides the protocol's)\n"
               "prints precision, recall, density and coverage of GEN against REAL\n");
        return GB_OK;
    }
    const char *paths[2];
    prdc_opts o = {.k = 0};
    gb_prdc_protocol_by_name(&o.protocol, "kynkaanniemi");
    GB_TRY(parse_two_sets(argc, argv, "prdc", paths, prdc_option, &o));
    if (o.k) o.protocol.k = (size_t)o.k;
    feature_set g = {0}, r = {0};
    gb_status s = load_features(&g, paths[0]);
    if (s == GB_OK) s = load_features(&r, paths[1]);
    if (s == GB_OK && g.d != r.d)
        s = gb_fail(GB_INPUT, "%s has %zu feature dimensions but %s has %zu", paths[0], g.d, paths[1], r.d);
    gb_prdc_result res;
    if (s == GB_OK) s = gb_prdc(&res, r.x, r.n, g.x, g.n, g.d, o.protocol);
    if (s == GB_OK) {
        printf("k = %zu, distance %s radius, n_gen = %zu, n_real = %zu, d = %zu\n", res.protocol.k,
               res.protocol.strict ? "<" : "<=", g.n, r.n, g.d);
        printf("precision %.10g\nrecall %.10g\ndensity %.10g\ncoverage %.10g\n", res.precision, res.recall,
               res.density, res.coverage);
    }
    free(g.x);
    free(r.x);
    return s;
}
