/* cli/cmd_fid.c - `genbench fid`, `genbench kid`, `genbench prdc` on statistics, feature files
 * and image folders.
 *
 *   genbench fid A B [--stats-out FILE] [--layout pytorch-fid|clean-fid] [NETWORK OPTIONS]
 *       A, B: FID stats .npz (pytorch-fid or clean-fid layout), features .npy [n, d], or a
 *       folder of PNG/JPEG images. Features are reduced to their mean and N-1 covariance
 *       first. The last line of stdout is the FID. --stats-out writes the statistics of A
 *       (layout pytorch-fid by default).
 *   genbench kid GEN REF [--seed N] [--subsets N] [--subset-size N] [NETWORK OPTIONS]
 *       GEN, REF: features .npy [n, d], clean-fid's feature .npz (key 'feats'), or a folder of
 *       PNG/JPEG images. Prints the spread, then the KID (the last line).
 *   genbench prdc GEN REAL [--protocol kynkaanniemi|prdc] [--k N] [NETWORK OPTIONS]
 *       precision, recall, density, coverage of the generated set GEN against REAL (inputs as
 *       for kid).
 *   NETWORK OPTIONS, for image folders: [--protocol pytorch-fid|clean|legacy-tf]
 *       [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]
 *       Folders go through the FID Inception network to its 2048-d pool features under the
 *       image protocol (metrics/fid_protocol.h; clean by default). prdc's --protocol takes
 *       either kind of name (the two sets do not overlap), so it may be given twice.
 *       Given with no folder among the inputs, they are ignored with a warning.
 *
 * Image folders need the weights pt_inception-2015-12-05-6726825d.pth (data/weights/, or
 * --weights); without them the command exits 5 (environment) naming the file, where it was
 * looked for and `genbench data fetch inception-weights`. Both inputs are checked to exist
 * before either goes through the network.
 * Exit codes: 0 ok, 2 usage, 3 bad input file, 4 numerical failure, 5 environment.
 *
 * Self-contained (no helpers from cli/main.c) so tests/test_cmd_fid.c can compile it in and
 * call the commands directly; that suite runs every form and error path.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/log.h"
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
    /* a digit first: strtoull alone skips blanks and takes " -1" as 2^64 - 1 */
    if (!text || !isdigit((unsigned char)*text)) return gb_fail(GB_USAGE, "%s needs a non-negative integer", option);
    errno = 0;
    *out = strtoull(text, &end, 10);
    if (*end || errno) return gb_fail(GB_USAGE, "%s: '%s' is not a non-negative integer", option, text);
    return GB_OK;
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* An input that does not exist is a bad input (exit 3), found before any work starts. */
static gb_status check_input_path(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return gb_fail(GB_INPUT, "%s: %s", path, strerror(errno));
    return GB_OK;
}

static int is_folder(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

typedef struct {
    float *x; /* [n, d] */
    size_t n, d;
} feature_set;

/* A 2-D float .npy, or an .npz holding such an array under 'feats' (clean-fid's KID files). */
static gb_status load_features(feature_set *f, const char *path) {
    memset(f, 0, sizeof *f);
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
        for (size_t i = 0; i < f->n * f->d && s == GB_OK; i++)
            if (!isfinite(f->x[i]))
                s = gb_fail(GB_INPUT, "%s: features[%zu, %zu] is %g: features must be finite", path, i / f->d, i % f->d,
                            f->x[i]);
        if (s != GB_OK) {
            free(f->x);
            f->x = NULL;
        }
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
    int given; /* a network option was given */
    char kind[128];
} fid_net;

#define FID_NET_DEFAULTS {.device = "auto", .protocol = GB_FID_CLEAN, .batch = 16, .threads = 2}

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

#define NETWORK_OPTIONS_HELP                                                                                  \
    "image folders (PNG/JPEG) go through the FID Inception network to 2048-d pool features:\n"                \
    "  --protocol P        image preprocessing: clean (default; clean-fid), pytorch-fid, legacy-tf\n"        \
    "  --weights FILE      Inception weights (default data/weights/" GB_INCEPTION_FILE ");\n"               \
    "                      another file needs --weights-sha256 HEX to vouch for it\n"                         \
    "  --batch N           images per forward pass (default 16)\n"                                            \
    "  --device D          cpu, cuda or auto (default auto); --threads N: CPU threads (default 2)\n"

/* The network options fid, kid and prdc share. */
static int is_net_option(const char *opt) {
    static const char *const names[] = {"--protocol", "--weights", "--weights-sha256", "--batch", "--device", "--threads"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(opt, names[i]) == 0) return 1;
    return 0;
}

static gb_status net_option(fid_net *fn, const char *opt, const char *v) {
    fn->given = 1;
    if (strcmp(opt, "--protocol") == 0) return gb_fid_protocol_by_name(&fn->protocol, v);
    if (strcmp(opt, "--weights") == 0) fn->weights = v;
    else if (strcmp(opt, "--weights-sha256") == 0) fn->weights_sha256 = v;
    else if (strcmp(opt, "--device") == 0) fn->device = v;
    else if (strcmp(opt, "--batch") == 0) return fid_parse_u64(opt, v, &fn->batch);
    else if (strcmp(opt, "--threads") == 0) return fid_parse_u64(opt, v, &fn->threads);
    return GB_OK;
}

/* Checks the network options, that both inputs exist, and warns about network options that
 * no input needs. */
static gb_status check_inputs(const fid_net *fn, const char *const *paths, const char *cmd) {
    if (fn->weights_sha256 && !fn->weights)
        return gb_fail(GB_USAGE, "--weights-sha256 vouches for a file given with --weights FILE; pass both");
    if (fn->batch == 0 || fn->batch > 4096 || fn->threads == 0 || fn->threads > 1024)
        return gb_fail(GB_USAGE, "--batch must be 1..4096 and --threads 1..1024");
    GB_TRY(check_input_path(paths[0]));
    GB_TRY(check_input_path(paths[1]));
    if (fn->given && !is_folder(paths[0]) && !is_folder(paths[1]))
        gb_warn("%s: --protocol/--weights/--batch/--device/--threads apply to image folders only, and neither "
                "input is one: ignored",
                cmd);
    return GB_OK;
}

/* The 2048-d pool features of every image in a folder. */
static gb_status folder_features(feature_set *f, const char *dir, fid_net *fn) {
    memset(f, 0, sizeof *f);
    GB_TRY(fid_net_open(fn));
    GB_TRY(gb_fid_folder_features(&f->x, &f->n, &fn->net, dir, fn->protocol));
    f->d = GB_INCEPTION_FEATURES;
    return GB_OK;
}

/* Features from a folder (through the network), a features .npy or a 'feats' .npz. */
static gb_status load_feature_input(feature_set *f, const char *path, fid_net *fn) {
    return is_folder(path) ? folder_features(f, path, fn) : load_features(f, path);
}

static void describe_network(const fid_net *fn) {
    if (fn->open)
        printf("inception: %s (sha256 %s), protocol %s, device %s\n", fn->path, fn->net.sha256,
               gb_fid_protocol_name(fn->protocol), fn->dev.name);
}

static gb_status folder_stats(gb_fid_stats *st, const char *dir, fid_net *fn, const char **kind) {
    feature_set f;
    GB_TRY(folder_features(&f, dir, fn));
    gb_status s = gb_fid_stats_from_features(st, f.x, f.n, f.d);
    free(f.x);
    if (s != GB_OK) return gb_fail_wrap(s, "%s", dir);
    snprintf(fn->kind, sizeof fn->kind, "images, protocol %s", gb_fid_protocol_name(fn->protocol));
    *kind = fn->kind;
    return GB_OK;
}

/* Stats from a stats .npz, a features .npy, or an image folder. */
static gb_status load_stats(gb_fid_stats *st, const char *path, const char **kind, fid_net *fn) {
    if (is_folder(path)) return folder_stats(st, path, fn, kind);
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
               "                      or a folder of PNG/JPEG images\n"
               "  --stats-out FILE    also write the statistics of A to FILE (.npz)\n"
               "  --layout NAME       layout of --stats-out: pytorch-fid (mu, sigma float64; default) or\n"
               "                      clean-fid (mu float32, sigma float64)\n"
               NETWORK_OPTIONS_HELP
               "prints both inputs, then the FID as the last line\n");
        return GB_OK;
    }
    const char *paths[2] = {NULL, NULL}, *stats_out = NULL;
    gb_fid_layout layout = GB_FID_LAYOUT_PYTORCH_FID;
    fid_net fn = FID_NET_DEFAULTS;
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (is_net_option(opt)) {
            if (i + 1 >= argc) return gb_fail(GB_USAGE, "%s needs a value (see genbench fid --help)", opt);
            GB_TRY(net_option(&fn, opt, argv[++i]));
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
    GB_TRY(check_inputs(&fn, paths, "fid"));
    gb_fid_stats a = {0}, b = {0};
    const char *ka = "", *kb = "";
    gb_status s = load_stats(&a, paths[0], &ka, &fn);
    if (s == GB_OK) s = load_stats(&b, paths[1], &kb, &fn);
    if (s == GB_OK && a.dim != b.dim)
        s = gb_fail(GB_INPUT, "%s has %zu dimensions but %s has %zu", paths[0], a.dim, paths[1], b.dim);
    double fid = 0.0;
    if (s == GB_OK && stats_out) s = gb_fid_stats_save(stats_out, &a, layout);
    /* on the network's device when a folder opened it (cuSOLVER on CUDA), else LAPACK */
    if (s == GB_OK) s = gb_fid_from_stats_on(fn.open ? &fn.dev : NULL, &fid, &a, &b);
    if (s == GB_OK) {
        describe_input("A", paths[0], ka, &a);
        describe_input("B", paths[1], kb, &b);
        describe_network(&fn);
        if (stats_out) printf("statistics of A written to %s (%s layout)\n", stats_out, gb_fid_layout_name(layout));
        printf("%.10g\n", fid);
    }
    gb_fid_stats_free(&a);
    gb_fid_stats_free(&b);
    fid_net_close(&fn);
    return s;
}

/* The two positional inputs of kid and prdc, and the remaining options for `opt`. */
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
            return gb_fail(GB_USAGE, "%s takes exactly two inputs (got a third: '%s')", cmd, argv[i]);
        }
    }
    if (n_paths != 2) return gb_fail(GB_USAGE, "%s needs two inputs (see genbench %s --help)", cmd, cmd);
    return GB_OK;
}

/* Both feature sets of kid / prdc, of the same dimension. */
static gb_status load_two_sets(feature_set *a, feature_set *b, const char *const *paths, fid_net *fn,
                               const char *cmd) {
    GB_TRY(check_inputs(fn, paths, cmd));
    /* a features file first, so a dimension that cannot match a folder's 2048 is found before the
     * folder goes through the network */
    int file_first = is_folder(paths[0]) && !is_folder(paths[1]);
    feature_set *sets[2] = {a, b};
    const char *first = paths[file_first], *second = paths[!file_first];
    GB_TRY(load_feature_input(sets[file_first], first, fn));
    if (file_first && sets[1]->d != GB_INCEPTION_FEATURES)
        return gb_fail(GB_INPUT, "%s has %zu feature dimensions but %s is an image folder (%d-d pool features)", first,
                       sets[1]->d, second, GB_INCEPTION_FEATURES);
    gb_status s = load_feature_input(sets[!file_first], second, fn);
    if (s == GB_OK && a->d != b->d)
        s = gb_fail(GB_INPUT, "%s has %zu feature dimensions but %s has %zu", paths[0], a->d, paths[1], b->d);
    return s;
}

typedef struct {
    unsigned long long seed, subsets, subset_size;
    fid_net net;
} kid_opts;

static gb_status kid_option(void *ctx, const char *name, const char *value) {
    kid_opts *o = ctx;
    if (is_net_option(name)) return net_option(&o->net, name, value);
    if (strcmp(name, "--seed") == 0) return fid_parse_u64(name, value, &o->seed);
    if (strcmp(name, "--subsets") == 0) return fid_parse_u64(name, value, &o->subsets);
    if (strcmp(name, "--subset-size") == 0) return fid_parse_u64(name, value, &o->subset_size);
    return gb_fail(GB_USAGE, "unknown option '%s' (see genbench kid --help)", name);
}

gb_status gb_cmd_kid(int argc, char **argv) {
    if (fid_wants_help(argc, argv)) {
        printf("usage: genbench kid GEN REF [--seed N] [--subsets N] [--subset-size N] [--protocol P]\n"
               "                            [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]\n"
               "  GEN, REF            features .npy [n, d], clean-fid's .npz with 'feats', or an image folder\n"
               "  --seed N            seed of the subset streams (default 0)\n"
               "  --subsets N         number of subsets (default %d)\n"
               "  --subset-size N     rows per subset, capped at the smaller set (default %d)\n"
               NETWORK_OPTIONS_HELP
               "kernel (x.y/d + 1)^3, unbiased MMD^2 per subset; prints the spread, then the KID as the last line\n",
               GB_KID_SUBSETS, GB_KID_SUBSET_SIZE);
        return GB_OK;
    }
    const char *paths[2];
    kid_opts o = {.seed = 0, .subsets = GB_KID_SUBSETS, .subset_size = GB_KID_SUBSET_SIZE, .net = FID_NET_DEFAULTS};
    GB_TRY(parse_two_sets(argc, argv, "kid", paths, kid_option, &o));
    if (o.subsets == 0 || o.subset_size < 2) return gb_fail(GB_USAGE, "--subsets must be >= 1 and --subset-size >= 2");
    feature_set g = {0}, r = {0};
    gb_status s = load_two_sets(&g, &r, paths, &o.net, "kid");
    gb_kid_result k;
    if (s == GB_OK) s = gb_kid(&k, NULL, g.x, g.n, r.x, r.n, g.d, o.subsets, o.subset_size, o.seed);
    if (s == GB_OK) {
        describe_network(&o.net);
        printf("%zu subsets of %zu rows (seed %llu), n_gen = %zu, n_ref = %zu, d = %zu\n", k.subsets, k.subset_size,
               o.seed, g.n, r.n, g.d);
        printf("kid_std %.10g\n", k.std);
        printf("%.10g\n", k.mean);
    }
    free(g.x);
    free(r.x);
    fid_net_close(&o.net);
    return s;
}

typedef struct {
    gb_prdc_protocol protocol;
    unsigned long long k;
    int k_given;
    fid_net net;
} prdc_opts;

/* --protocol names either a precision/recall protocol or an image protocol: the two sets of
 * names are disjoint. */
static gb_status prdc_option(void *ctx, const char *name, const char *value) {
    prdc_opts *o = ctx;
    if (strcmp(name, "--protocol") == 0 && (strcmp(value, "kynkaanniemi") == 0 || strcmp(value, "prdc") == 0))
        return gb_prdc_protocol_by_name(&o->protocol, value);
    if (strcmp(name, "--protocol") == 0) {
        gb_fid_protocol p;
        if (gb_fid_protocol_by_name(&p, value) != GB_OK)
            return gb_fail(GB_USAGE,
                           "--protocol: '%s' is neither a precision/recall protocol (kynkaanniemi, prdc) nor an "
                           "image protocol (pytorch-fid, clean, legacy-tf)",
                           value);
    }
    if (is_net_option(name)) return net_option(&o->net, name, value);
    if (strcmp(name, "--k") == 0) {
        GB_TRY(fid_parse_u64(name, value, &o->k));
        if (o->k == 0) return gb_fail(GB_USAGE, "--k must be at least 1");
        o->k_given = 1;
        return GB_OK;
    }
    return gb_fail(GB_USAGE, "unknown option '%s' (see genbench prdc --help)", name);
}

gb_status gb_cmd_prdc(int argc, char **argv) {
    if (fid_wants_help(argc, argv)) {
        printf("usage: genbench prdc GEN REAL [--protocol kynkaanniemi|prdc] [--k N] [--protocol P]\n"
               "                              [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]\n"
               "  GEN, REAL           features .npy [n, d], clean-fid's .npz with 'feats', or an image folder\n"
               "  --protocol NAME     kynkaanniemi: k = 3, distance <= radius (default; torch-fidelity,\n"
               "                      StyleGAN2-ADA); prdc: k = 5, distance < radius (prdc, StudioGAN)\n"
               "  --k N               neighbourhood size (overrides the protocol's)\n"
               NETWORK_OPTIONS_HELP
               "  (--protocol takes either kind of name, and may be given once for each)\n"
               "prints precision, recall, density and coverage of GEN against REAL\n");
        return GB_OK;
    }
    const char *paths[2];
    prdc_opts o = {.k = 0, .net = FID_NET_DEFAULTS};
    gb_prdc_protocol_by_name(&o.protocol, "kynkaanniemi");
    GB_TRY(parse_two_sets(argc, argv, "prdc", paths, prdc_option, &o));
    if (o.k_given) o.protocol.k = (size_t)o.k;
    feature_set g = {0}, r = {0};
    gb_status s = load_two_sets(&g, &r, paths, &o.net, "prdc");
    gb_prdc_result res;
    if (s == GB_OK) s = gb_prdc(&res, r.x, r.n, g.x, g.n, g.d, o.protocol);
    if (s == GB_OK) {
        describe_network(&o.net);
        printf("k = %zu, distance %s radius, n_gen = %zu, n_real = %zu, d = %zu\n", res.protocol.k,
               res.protocol.strict ? "<" : "<=", g.n, r.n, g.d);
        printf("precision %.10g\nrecall %.10g\ndensity %.10g\ncoverage %.10g\n", res.precision, res.recall,
               res.density, res.coverage);
    }
    free(g.x);
    free(r.x);
    fid_net_close(&o.net);
    return s;
}
