/* cli/cmd_fid.c - `genbench fid`, `genbench sfid`, `genbench kid`, `genbench prdc` on statistics, feature files,
 * image folders, zip archives of images and dataset splits.
 *
 *   genbench fid A B [--stats-out FILE] [--layout pytorch-fid|clean-fid] [NETWORK OPTIONS]
 *   genbench fid A --stats-out FILE [--layout ...] [NETWORK OPTIONS]
 *       A, B: FID stats .npz (pytorch-fid or clean-fid layout, told by its 'mu'), or any input of
 *       cli/metric_inputs.h: features .npy [n, d], a uint8 image array (.npy, or .npz under
 *       'arr_0'), a folder of PNG/JPEG images or a .zip of them, or a dataset split NAME:SPLIT[:N]
 *       ("cifar10:train:5000": the first 5000 training images, from the data root). Features
 *       are reduced to their mean and N-1 covariance first. Both inputs are read, and their
 *       dimensions compared, before any image goes through the network. The last line of
 *       stdout is the FID. --stats-out writes the statistics of A (layout pytorch-fid by
 *       default, with their provenance: metrics/fid.h); with A alone that is all the command
 *       does (reference statistics computed once, as pytorch-fid's --save-stats), and the last
 *       line is FILE. Inputs computed under different protocols or weights are warned about.
 *       A dataset split's statistics are cached under <data root>/cache/fid-stats/ (or the
 *       user's cache when the data root cannot be written; keyed by everything that decides
 *       their bits: cli/stats_cache.h); --no-cache computes them anyway.
 *   genbench sfid A B | A --stats-out FILE   [the same options, without --dims]
 *       sFID: fid on the spatial features of OpenAI's guided-diffusion evaluator (mixed_6/conv,
 *       channels 0..6, 17 x 17, in (h, w, c) order: models/inception_v3.h), legacy-tf by default
 *       (the evaluator's TF graph resizes so). An .npz holding 'mu_s' (an OpenAI reference batch:
 *       arr_0, mu, sigma, mu_s, sigma_s) gives its mu_s and sigma_s, as the evaluator reads it;
 *       fid reads the mu and sigma of the same file.
 *   genbench kid GEN REF [--seed N] [--subsets N] [--subset-size N] [NETWORK OPTIONS]
 *       GEN, REF: features .npy [n, d], clean-fid's feature .npz (key 'feats'), or images (an
 *       array, a folder, a .zip or a split, as for fid). Prints the inputs and the spread, then the KID
 *       (the last line).
 *   genbench prdc GEN REAL [--protocol kynkaanniemi|prdc] [--k N] [NETWORK OPTIONS]
 *       precision, recall, density, coverage of the generated set GEN against REAL (inputs as
 *       for kid).
 *   NETWORK OPTIONS, for image inputs: [--protocol pytorch-fid|clean|legacy-tf]
 *       [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]
 *       [--data DIR] [--dims 64|192|768|2048] (cli/inception_inputs.h)
 *       Images go through the FID Inception network to its pool features (2048-d, or an
 *       earlier block's with --dims) under the image protocol (metrics/fid_protocol.h; clean by
 *       default). prdc's --protocol takes either kind of name (the two sets do not overlap), so
 *       it may be given twice. Given with no image input, they are ignored with a warning.
 *
 * Image inputs need the weights pt_inception-2015-12-05-6726825d.pth (<data root>/weights/,
 * or --weights); without them the command exits 5 (environment) naming the file, where it was
 * looked for and `genbench data fetch inception-weights`.
 * Exit codes: 0 ok, 2 usage, 3 bad input file, 4 numerical failure, 5 environment.
 *
 * The inputs are cli/metric_inputs.c's, the network cli/inception_inputs.c's.
 * tests/test_cmd_fid.c and tests/test_cmd_fid_images.c compile this file in (with
 * cli/cli_common.c, cli/inception_inputs.c and cli/metric_inputs.c) and call the commands
 * directly; together they run every form and error path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/npy.h"
#include "../core/status.h"
#include "../metrics/fid.h"
#include "../metrics/kid.h"
#include "../metrics/prdc.h"
#include "cli.h"
#include "inception_inputs.h"
#include "metric_inputs.h"
#include "stats_cache.h"

/* One input of fid: FID statistics read at once from a stats .npz, or an input whose pool
 * features give them (read first, through the network later: cli/metric_inputs.h). */
typedef struct {
    gb_fid_stats stats;
    int is_stats;
    gb_cli_input in;
    char kind[256];
} fid_input;

/* spatial: sFID, whose statistics an OpenAI reference batch holds as mu_s / sigma_s. */
static gb_status read_fid_input(fid_input *fi, const char *path, const gb_cli_network *fn, int spatial) {
    memset(fi, 0, sizeof *fi);
    /* a stats .npz is told by its mu (or, for sFID, mu_s); one with none of those, feats and
     * arr_0 goes to the stats reader too, whose error names the keys (or why the file cannot
     * be read). An OpenAI reference batch holds arr_0, mu, sigma, mu_s and sigma_s: its
     * statistics are read, as the evaluator reads them, not its images. */
    const int npz = gb_cli_has_suffix(path, ".npz"), openai = npz && gb_npz_has(path, "mu_s");
    if (npz && (openai || gb_npz_has(path, "mu") || !(gb_npz_has(path, "feats") || gb_npz_has(path, "arr_0")))) {
        gb_fid_layout layout;
        const char *mu = spatial && openai ? "mu_s" : "mu", *sigma = spatial && openai ? "sigma_s" : "sigma";
        GB_TRY(gb_fid_stats_load_keys(&fi->stats, path, mu, sigma, &layout));
        fi->is_stats = 1;
        if (openai) snprintf(fi->kind, sizeof fi->kind, "OpenAI reference batch: %s, %s", mu, sigma);
        else snprintf(fi->kind, sizeof fi->kind, "%s", gb_fid_layout_name(layout));
        return GB_OK;
    }
    return gb_cli_input_read(&fi->in, path, fn, "features");
}

/* The dimension the statistics will have, known once the input is read. */
static size_t fid_input_dim(const fid_input *fi, const gb_cli_network *fn) {
    if (fi->is_stats) return fi->stats.dim;
    return gb_cli_input_holds_images(&fi->in) ? gb_cli_network_dims(fn) : fi->in.rows.d;
}

/* A split's statistics from the cache (cli/stats_cache.h): *hit 1 when they were there (the
 * split's images then released); else *hit 0 and entry names the files to write once they are
 * computed. */
static gb_status cached_split_stats(int *hit, fid_input *fi, gb_cli_network *fn, gb_stats_cache_entry *entry) {
    *hit = 0;
    GB_TRY(gb_stats_cache_locate(entry, &fi->in, fn));
    if (!gb_stats_cache_load(&fi->stats, entry, fi->in.n, fn)) return GB_OK;
    *hit = 1;
    gb_cli_split_kind(fi->kind, sizeof fi->kind, &fi->in, fn->protocol);
    size_t used = strlen(fi->kind);
    snprintf(fi->kind + used, sizeof fi->kind - used, "; statistics from the cache");
    snprintf(fi->stats.label, sizeof fi->stats.label, "%s", fi->in.arg);
    gb_info("%s: statistics from the cache %s", fi->in.arg, entry->found);
    gb_fid_stats_warn_few_samples(&fi->stats); /* as a fresh computation warns */
    gb_cli_input_release_images(&fi->in); /* not needed: as after a pass through the network */
    return GB_OK;
}

/* use_cache: a dataset split's statistics are read from (or written to) the cache. */
static gb_status fid_input_stats(fid_input *fi, gb_cli_network *fn, int use_cache) {
    if (fi->is_stats) return GB_OK;
    gb_stats_cache_entry entry = {.found = NULL};
    const int cached = use_cache && fi->in.kind == GB_CLI_SPLIT;
    if (cached) {
        int hit;
        GB_TRY(cached_split_stats(&hit, fi, fn, &entry));
        if (hit) return GB_OK;
    }
    gb_cli_features f;
    GB_TRY(gb_cli_input_rows(&f, &fi->in, fn, 0));
    gb_status s = gb_fid_stats_from_features(&fi->stats, f.x, f.n, f.d, fi->in.arg);
    free(f.x);
    if (s != GB_OK) return gb_fail_wrap(s, "%s", fi->in.arg);
    snprintf(fi->kind, sizeof fi->kind, "%s", f.kind);
    if (f.from_images) { /* the provenance --stats-out records and a later comparison checks */
        gb_cli_network_stamp(&fi->stats, fn);
    }
    if (cached) gb_stats_cache_store(&entry, &fi->stats);
    return GB_OK;
}

static void fid_input_free(fid_input *fi) {
    gb_fid_stats_free(&fi->stats);
    gb_cli_input_free(&fi->in);
}

/* "A: PATH (kind[, recorded provenance], d = ..., n = ...)"; a stats file's recorded protocol
 * and weights are shown, an image input's are in its kind and the network line. */
static void describe_input(const char *label, const char *path, const char *kind, const gb_fid_stats *st,
                           int is_stats) {
    char origin[160] = "", count[48] = "";
    if (is_stats && st->protocol[0]) snprintf(origin, sizeof origin, ", protocol %s", st->protocol);
    if (is_stats && st->weights_sha256[0])
        snprintf(origin + strlen(origin), sizeof origin - strlen(origin), ", weights sha256 %.16s...",
                 st->weights_sha256);
    if (st->n) snprintf(count, sizeof count, ", n = %llu", (unsigned long long)st->n);
    printf("%s: %s (%s%s, d = %zu%s)\n", label, path, kind, origin, st->dim, count);
}

/* Both inputs' dimensions, checked before the network runs: equal for fid, and sFID's 2023 for
 * sfid (so that two pool3 files are not reported as an sFID). fid of sFID-sized inputs is
 * warned about: the distance is right, its name is not. */
static gb_status check_spatial_dim(const fid_input *fi, const char *path, const gb_cli_network *fn) {
    const size_t d = fid_input_dim(fi, fn);
    if (d == GB_INCEPTION_SPATIAL) return GB_OK;
    return gb_fail(GB_INPUT, "%s has %zu dimensions, not sFID's %d (mixed_6/conv's channels 0..6 at 17 x 17)%s", path, d,
                   GB_INCEPTION_SPATIAL,
                   d == GB_INCEPTION_FEATURES ? ": 2048-d statistics are pool3's, compared by genbench fid" : "");
}

static gb_status check_dims(const fid_input *in, const char *const *paths, const gb_cli_network *fn, int spatial) {
    const size_t d0 = fid_input_dim(&in[0], fn), d1 = fid_input_dim(&in[1], fn);
    for (int k = 0; spatial && k < 2; k++) GB_TRY(check_spatial_dim(&in[k], paths[k], fn));
    if (d0 != d1) {
        const int images = (!in[0].is_stats && gb_cli_input_holds_images(&in[0].in)) ||
                           (!in[1].is_stats && gb_cli_input_holds_images(&in[1].in));
        return gb_fail(GB_INPUT, "%s has %zu dimensions but %s has %zu%s", paths[0], d0, paths[1], d1,
                       images ? " (images give the network's features, 2048-d unless --dims says otherwise)" : "");
    }
    if (!spatial && d0 == GB_INCEPTION_SPATIAL)
        gb_warn("%s and %s have sFID's %d dimensions: if they are sFID statistics, this distance is the sFID "
                "(genbench sfid computes it under that name)",
                paths[0], paths[1], GB_INCEPTION_SPATIAL);
    return GB_OK;
}

/* `genbench fid A --stats-out FILE`: the statistics of A alone, written. */
static gb_status save_stats_only(gb_cli_network *fn, const char *path, const char *out, gb_fid_layout layout,
                                 int spatial, int use_cache) {
    GB_TRY(gb_cli_check_network_options(fn));
    fid_input a;
    gb_status s = read_fid_input(&a, path, fn, spatial);
    if (s == GB_OK && spatial) s = check_spatial_dim(&a, path, fn);
    if (s == GB_OK) s = fid_input_stats(&a, fn, use_cache);
    if (s == GB_OK) s = gb_fid_stats_save(out, &a.stats, layout);
    if (s == GB_OK) {
        describe_input("A", path, a.kind, &a.stats, a.is_stats);
        gb_cli_describe_network(fn);
        printf("statistics of A written (%s layout) to\n%s\n", gb_fid_layout_name(layout), out);
    }
    fid_input_free(&a);
    gb_cli_network_close(fn);
    return s;
}

/* The help lines of --no-cache (cli/stats_cache.h). */
#define GB_CACHE_HELP                                                                                     \
    "  --no-cache          compute a dataset split's statistics even when <data root>/cache/fid-stats/\n"   \
    "                      (or ~/.cache/genbench/fid-stats/) holds them (they are cached, keyed by what\n" \
    "                      decides their bits)\n"

static void fid_help(void) {
    printf("usage: genbench fid A B [--stats-out FILE] [--layout pytorch-fid|clean-fid] [--no-cache]\n"
           "       genbench fid A --stats-out FILE [--layout ...] [--no-cache] [--protocol P] ...\n"
           "                        [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]\n"
           "                        [--data DIR] [--dims 64|192|768|2048]\n"
           "  A, B                FID stats .npz (pytorch-fid or clean-fid layout), features .npy [n, d],\n"
           "                      " GB_CLI_IMAGE_INPUTS_HELP
           "  --stats-out FILE    also write the statistics of A to FILE (.npz); with A alone, only that\n"
           "  --layout NAME       layout of --stats-out: pytorch-fid (mu, sigma float64; default) or\n"
           "                      clean-fid (mu float32, sigma float64)\n"
           GB_CACHE_HELP
           "images go through the FID Inception network to its pool features (2048-d, or --dims):\n"
           GB_CLI_NETWORK_HELP("clean") GB_CLI_DIMS_HELP
           "prints both inputs, then the FID as the last line\n");
}

static void sfid_help(void) {
    printf("usage: genbench sfid A B [--stats-out FILE] [--layout pytorch-fid|clean-fid] [--no-cache]\n"
           "       genbench sfid A --stats-out FILE [--layout ...] [--protocol P] ...\n"
           "                        [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]\n"
           "                        [--data DIR]\n"
           "sFID (Nash et al. 2021): the Frechet distance of spatial features, as OpenAI's guided-diffusion\n"
           "evaluator computes it: mixed_6/conv (Mixed_6d.branch1x1 after its ReLU), channels 0..6 of the\n"
           "17 x 17 map, flattened in (h, w, c) order: %d features per image\n"
           "  A, B                an OpenAI reference batch .npz (its mu_s, sigma_s are read), sFID stats\n"
           "                      .npz written by --stats-out (mu, sigma of %d), features .npy [n, %d],\n"
           "                      " GB_CLI_IMAGE_INPUTS_HELP
           "  --stats-out FILE    also write the sFID statistics of A to FILE (.npz, as mu and sigma)\n"
           "  --layout NAME       layout of --stats-out, as for fid\n"
           GB_CACHE_HELP
           "images go through the FID Inception network to mixed_6/conv:\n"
           GB_CLI_NETWORK_HELP("legacy-tf: the resize of the evaluator's TF graph")
           "prints both inputs, then the sFID as the last line\n",
           GB_INCEPTION_SPATIAL, GB_INCEPTION_SPATIAL, GB_INCEPTION_SPATIAL);
}

/* `genbench fid` and, with spatial, `genbench sfid`: the same command on another layer. */
static gb_status fid_command(int argc, char **argv, int spatial) {
    const char *cmd = spatial ? "sfid" : "fid";
    if (gb_cli_wants_help(argc, argv)) {
        if (spatial) sfid_help();
        else fid_help();
        return GB_OK;
    }
    const char *paths[2] = {NULL, NULL}, *stats_out = NULL;
    gb_fid_layout layout = GB_FID_LAYOUT_PYTORCH_FID;
    gb_cli_network fn = GB_CLI_NETWORK_DEFAULTS;
    if (spatial) {
        fn.protocol = GB_FID_LEGACY_TF;
        fn.dims = GB_INCEPTION_SPATIAL;
    }
    int n_paths = 0, use_cache = 1;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--no-cache") == 0) {
            use_cache = 0;
            continue;
        }
        if (spatial && strcmp(opt, "--dims") == 0)
            return gb_fail(GB_USAGE, "sfid: --dims does not apply: sFID's features are mixed_6/conv's %d (use fid "
                                     "--dims for pytorch-fid's smaller features)",
                           GB_INCEPTION_SPATIAL);
        if (gb_cli_is_network_option(opt)) {
            if (i + 1 >= argc || !gb_cli_is_value(argv[i + 1]))
                return gb_fail(GB_USAGE, "%s needs a value (see genbench %s --help)", opt, cmd);
            GB_TRY(gb_cli_network_option(&fn, opt, argv[++i]));
            continue;
        }
        if (strcmp(argv[i], "--stats-out") == 0) {
            if (i + 1 >= argc || !gb_cli_is_value(argv[i + 1])) return gb_fail(GB_USAGE, "--stats-out needs a file name");
            stats_out = argv[++i];
        } else if (strcmp(argv[i], "--layout") == 0) {
            if (i + 1 >= argc || !gb_cli_is_value(argv[i + 1]))
                return gb_fail(GB_USAGE, "--layout needs pytorch-fid or clean-fid");
            const char *v = argv[++i];
            if (strcmp(v, "pytorch-fid") == 0) layout = GB_FID_LAYOUT_PYTORCH_FID;
            else if (strcmp(v, "clean-fid") == 0) layout = GB_FID_LAYOUT_CLEAN_FID;
            else return gb_fail(GB_USAGE, "--layout: '%s' is neither pytorch-fid nor clean-fid", v);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return gb_fail(GB_USAGE, "unknown option '%s' (see genbench %s --help)", argv[i], cmd);
        } else if (n_paths < 2) {
            paths[n_paths++] = argv[i];
        } else {
            return gb_fail(GB_USAGE, "%s takes exactly two inputs (got a third: '%s')", cmd, argv[i]);
        }
    }
    GB_TRY(gb_cli_check_output_not_input("--stats-out", stats_out, paths, n_paths));
    if (n_paths == 1 && stats_out) return save_stats_only(&fn, paths[0], stats_out, layout, spatial, use_cache);
    if (n_paths != 2)
        return gb_fail(GB_USAGE, "%s needs two inputs A and B, or one with --stats-out FILE (see genbench %s --help)",
                       cmd, cmd);
    GB_TRY(gb_cli_check_network_options(&fn));
    /* both inputs read, and their dimensions compared, before any image goes through the network */
    fid_input in[2];
    memset(in, 0, sizeof in);
    gb_status s = read_fid_input(&in[0], paths[0], &fn, spatial);
    if (s == GB_OK) s = read_fid_input(&in[1], paths[1], &fn, spatial);
    if (s == GB_OK) s = check_dims(in, paths, &fn, spatial);
    for (int k = 0; k < 2 && s == GB_OK; k++) /* the N-1 covariance needs 2 rows: found before the network */
        if (!in[k].is_stats && gb_cli_input_count(&in[k].in) < 2)
            s = gb_fail(GB_INPUT, "%s: %zu %s; FID statistics need at least 2", paths[k], gb_cli_input_count(&in[k].in),
                        gb_cli_input_holds_images(&in[k].in) ? "images" : "feature rows");
    for (int k = 0; k < 2 && s == GB_OK; k++) s = fid_input_stats(&in[k], &fn, use_cache);
    const gb_fid_stats *a = &in[0].stats, *b = &in[1].stats;
    if (s == GB_OK) gb_fid_stats_warn_mismatch(a, paths[0], b, paths[1]);
    double fid = 0.0;
    if (s == GB_OK && stats_out) s = gb_fid_stats_save(stats_out, a, layout);
    /* on the network's device when images opened it (cuSOLVER on CUDA), else LAPACK */
    if (s == GB_OK) s = gb_fid_from_stats_on(fn.open ? &fn.dev : NULL, &fid, a, b);
    if (s == GB_OK) {
        describe_input("A", paths[0], in[0].kind, a, in[0].is_stats);
        describe_input("B", paths[1], in[1].kind, b, in[1].is_stats);
        gb_cli_describe_network(&fn);
        if (stats_out) printf("statistics of A written to %s (%s layout)\n", stats_out, gb_fid_layout_name(layout));
        printf("%.10g\n", fid);
    }
    fid_input_free(&in[0]);
    fid_input_free(&in[1]);
    gb_cli_network_close(&fn);
    return s;
}

gb_status gb_cmd_fid(int argc, char **argv) { return fid_command(argc, argv, 0); }

gb_status gb_cmd_sfid(int argc, char **argv) { return fid_command(argc, argv, 1); }

/* The two positional inputs of kid and prdc, and the remaining options for `opt`. */
typedef gb_status (*option_fn)(void *ctx, const char *name, const char *value);

static gb_status parse_two_sets(int argc, char **argv, const char *cmd, const char **paths, option_fn opt, void *ctx) {
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (i + 1 >= argc || !gb_cli_is_value(argv[i + 1]))
                return gb_fail(GB_USAGE, "%s needs a value (see genbench %s --help)", argv[i], cmd);
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

/* Both feature sets of kid / prdc, of the same dimension: both inputs read, and their
 * dimensions compared, before any image goes through the network. */
static gb_status load_two_sets(gb_cli_features *a, gb_cli_features *b, const char *const *paths, gb_cli_network *fn,
                               size_t min_rows, const char *needs) {
    GB_TRY(gb_cli_check_network_options(fn));
    gb_cli_input in[2];
    memset(in, 0, sizeof in);
    size_t dim[2] = {0, 0};
    gb_status s = GB_OK;
    for (int k = 0; k < 2 && s == GB_OK; k++) {
        s = gb_cli_input_read(&in[k], paths[k], fn, "features");
        dim[k] = gb_cli_input_holds_images(&in[k]) ? gb_cli_network_dims(fn) : in[k].rows.d;
    }
    for (int k = 0; k < 2 && s == GB_OK; k++) /* the metric's own row count rule, before the network */
        if (gb_cli_input_count(&in[k]) < min_rows)
            s = gb_fail(GB_INPUT, "%s: %zu %s; %s", paths[k], gb_cli_input_count(&in[k]),
                        gb_cli_input_holds_images(&in[k]) ? "images" : "feature rows", needs);
    if (s == GB_OK && dim[0] != dim[1])
        s = gb_fail(GB_INPUT, "%s has %zu feature dimensions but %s has %zu%s", paths[0], dim[0], paths[1], dim[1],
                    gb_cli_input_holds_images(&in[0]) || gb_cli_input_holds_images(&in[1])
                        ? " (images give the network's features, 2048-d unless --dims says otherwise)"
                        : "");
    if (s == GB_OK) s = gb_cli_input_rows(a, &in[0], fn, 0);
    if (s == GB_OK) s = gb_cli_input_rows(b, &in[1], fn, 0);
    gb_cli_input_free(&in[0]);
    gb_cli_input_free(&in[1]);
    return s;
}

static void describe_set(const char *label, const char *path, const gb_cli_features *f) {
    printf("%s: %s (%s, n = %zu, d = %zu)\n", label, path, f->kind, f->n, f->d);
}

typedef struct {
    unsigned long long seed, subsets, subset_size;
    gb_cli_network net;
} kid_opts;

static gb_status kid_option(void *ctx, const char *name, const char *value) {
    kid_opts *o = ctx;
    if (gb_cli_is_network_option(name)) return gb_cli_network_option(&o->net, name, value);
    if (strcmp(name, "--seed") == 0) return gb_cli_parse_u64(name, value, &o->seed);
    if (strcmp(name, "--subsets") == 0) return gb_cli_parse_u64(name, value, &o->subsets);
    if (strcmp(name, "--subset-size") == 0) return gb_cli_parse_u64(name, value, &o->subset_size);
    return gb_fail(GB_USAGE, "unknown option '%s' (see genbench kid --help)", name);
}

gb_status gb_cmd_kid(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        printf("usage: genbench kid GEN REF [--seed N] [--subsets N] [--subset-size N] [--protocol P]\n"
               "                            [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]\n"
               "                            [--data DIR] [--dims 64|192|768|2048]\n"
               "  GEN, REF            features .npy [n, d], clean-fid's .npz with 'feats',\n"
               "                      " GB_CLI_IMAGE_INPUTS_HELP
               "  --seed N            seed of the subset streams (default 0)\n"
               "  --subsets N         number of subsets (default %d)\n"
               "  --subset-size N     rows per subset, capped at the smaller set (default %d)\n"
               "images go through the FID Inception network to its pool features (2048-d, or --dims):\n"
               GB_CLI_NETWORK_HELP("clean") GB_CLI_DIMS_HELP
               "kernel (x.y/d + 1)^3, unbiased MMD^2 per subset; prints the spread, then the KID as the last line\n",
               GB_KID_SUBSETS, GB_KID_SUBSET_SIZE);
        return GB_OK;
    }
    const char *paths[2];
    kid_opts o = {.seed = 0, .subsets = GB_KID_SUBSETS, .subset_size = GB_KID_SUBSET_SIZE, .net = GB_CLI_NETWORK_DEFAULTS};
    GB_TRY(parse_two_sets(argc, argv, "kid", paths, kid_option, &o));
    if (o.subsets == 0 || o.subset_size < 2) return gb_fail(GB_USAGE, "--subsets must be >= 1 and --subset-size >= 2");
    gb_cli_features g = {0}, r = {0};
    gb_status s = load_two_sets(&g, &r, paths, &o.net, 2, "KID needs at least 2 per set");
    gb_kid_result k;
    if (s == GB_OK) s = gb_kid(&k, NULL, g.x, g.n, r.x, r.n, g.d, o.subsets, o.subset_size, o.seed);
    if (s == GB_OK) {
        describe_set("GEN", paths[0], &g);
        describe_set("REF", paths[1], &r);
        gb_cli_describe_network(&o.net);
        printf("%zu subsets of %zu rows (seed %llu), n_gen = %zu, n_ref = %zu, d = %zu\n", k.subsets, k.subset_size,
               o.seed, g.n, r.n, g.d);
        printf("kid_std %.10g\n", k.std);
        printf("%.10g\n", k.mean);
    }
    free(g.x);
    free(r.x);
    gb_cli_network_close(&o.net);
    return s;
}

typedef struct {
    gb_prdc_protocol protocol;
    unsigned long long k;
    int k_given;
    const char *prdc_protocol_given, *image_protocol_given; /* the earlier --protocol of each kind */
    gb_cli_network net;
} prdc_opts;

/* A second --protocol of the same kind as an earlier one (main.c's check of repeated options
 * leaves prdc's --protocol to this). */
static gb_status once_per_kind(const char **given, const char *kind, const char *value) {
    if (*given)
        return gb_fail(GB_USAGE, "--protocol names %s twice ('%s', then '%s'): give it once", kind, *given, value);
    *given = value;
    return GB_OK;
}

/* --protocol names either a precision/recall protocol or an image protocol: the two sets of
 * names are disjoint. */
static gb_status prdc_option(void *ctx, const char *name, const char *value) {
    prdc_opts *o = ctx;
    if (strcmp(name, "--protocol") == 0 && (strcmp(value, "kynkaanniemi") == 0 || strcmp(value, "prdc") == 0)) {
        GB_TRY(once_per_kind(&o->prdc_protocol_given, "a precision/recall protocol", value));
        return gb_prdc_protocol_by_name(&o->protocol, value);
    }
    if (strcmp(name, "--protocol") == 0) {
        gb_fid_protocol p;
        if (gb_fid_protocol_by_name(&p, value) != GB_OK)
            return gb_fail(GB_USAGE,
                           "--protocol: '%s' is neither a precision/recall protocol (kynkaanniemi, prdc) nor an "
                           "image protocol (pytorch-fid, clean, legacy-tf)",
                           value);
        GB_TRY(once_per_kind(&o->image_protocol_given, "an image protocol", value));
    }
    if (gb_cli_is_network_option(name)) return gb_cli_network_option(&o->net, name, value);
    if (strcmp(name, "--k") == 0) {
        GB_TRY(gb_cli_parse_u64(name, value, &o->k));
        if (o->k == 0) return gb_fail(GB_USAGE, "--k must be at least 1");
        o->k_given = 1;
        return GB_OK;
    }
    return gb_fail(GB_USAGE, "unknown option '%s' (see genbench prdc --help)", name);
}

gb_status gb_cmd_prdc(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        printf("usage: genbench prdc GEN REAL [--protocol kynkaanniemi|prdc] [--k N] [--protocol P]\n"
               "                              [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]\n"
               "                              [--data DIR] [--dims 64|192|768|2048]\n"
               "  GEN, REAL           features .npy [n, d], clean-fid's .npz with 'feats',\n"
               "                      " GB_CLI_IMAGE_INPUTS_HELP
               "  --protocol NAME     kynkaanniemi: k = 3, distance <= radius (default; torch-fidelity,\n"
               "                      StyleGAN2-ADA); prdc: k = 5, distance < radius (prdc, StudioGAN)\n"
               "  --k N               neighbourhood size (overrides the protocol's)\n"
               "images go through the FID Inception network to its pool features (2048-d, or --dims):\n"
               GB_CLI_NETWORK_HELP("clean") GB_CLI_DIMS_HELP
               "  (--protocol takes either kind of name, and may be given once for each)\n"
               "prints precision, recall, density and coverage of GEN against REAL\n");
        return GB_OK;
    }
    const char *paths[2];
    prdc_opts o = {.k = 0, .net = GB_CLI_NETWORK_DEFAULTS};
    gb_prdc_protocol_by_name(&o.protocol, "kynkaanniemi");
    GB_TRY(parse_two_sets(argc, argv, "prdc", paths, prdc_option, &o));
    if (o.k_given) o.protocol.k = (size_t)o.k;
    gb_cli_features g = {0}, r = {0};
    char needs[96];
    snprintf(needs, sizeof needs, "precision/recall with k = %zu need more than %zu per set", o.protocol.k,
             o.protocol.k);
    gb_status s = load_two_sets(&g, &r, paths, &o.net, o.protocol.k + 1, needs);
    gb_prdc_result res;
    if (s == GB_OK) s = gb_prdc(&res, r.x, r.n, g.x, g.n, g.d, o.protocol);
    if (s == GB_OK) {
        describe_set("GEN", paths[0], &g);
        describe_set("REAL", paths[1], &r);
        gb_cli_describe_network(&o.net);
        printf("k = %zu, distance %s radius, n_gen = %zu, n_real = %zu, d = %zu\n", res.protocol.k,
               res.protocol.strict ? "<" : "<=", g.n, r.n, g.d);
        printf("precision %.10g\nrecall %.10g\ndensity %.10g\ncoverage %.10g\n", res.precision, res.recall,
               res.density, res.coverage);
    }
    free(g.x);
    free(r.x);
    gb_cli_network_close(&o.net);
    return s;
}
