/* cli/cmd_fid.c - `genbench fid`, `genbench kid`, `genbench prdc` on statistics, feature files,
 * image folders and dataset splits.
 *
 *   genbench fid A B [--stats-out FILE] [--layout pytorch-fid|clean-fid] [NETWORK OPTIONS]
 *   genbench fid A --stats-out FILE [--layout ...] [NETWORK OPTIONS]
 *       A, B: FID stats .npz (pytorch-fid or clean-fid layout), features .npy [n, d], a
 *       folder of PNG/JPEG images, or a dataset split NAME:SPLIT[:N] ("cifar10:train:5000": the
 *       first 5000 training images, from the data root; cli/inception_inputs.h). Features are
 *       reduced to their mean and N-1 covariance first. The last line of stdout is the FID. --stats-out writes the statistics of A
 *       (layout pytorch-fid by default); with A alone that is all the command does (reference
 *       statistics computed once, as pytorch-fid's --save-stats), and the last line is FILE.
 *   genbench kid GEN REF [--seed N] [--subsets N] [--subset-size N] [NETWORK OPTIONS]
 *       GEN, REF: features .npy [n, d], clean-fid's feature .npz (key 'feats'), or an image
 *       input (a folder or a split, as for fid). Prints the inputs and the spread, then the KID
 *       (the last line).
 *   genbench prdc GEN REAL [--protocol kynkaanniemi|prdc] [--k N] [NETWORK OPTIONS]
 *       precision, recall, density, coverage of the generated set GEN against REAL (inputs as
 *       for kid).
 *   NETWORK OPTIONS, for image inputs: [--protocol pytorch-fid|clean|legacy-tf]
 *       [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N] [--data DIR]
 *       Images go through the FID Inception network to its 2048-d pool features under the
 *       image protocol (metrics/fid_protocol.h; clean by default). prdc's --protocol takes
 *       either kind of name (the two sets do not overlap), so it may be given twice.
 *       Given with no image input, they are ignored with a warning.
 *
 * Image inputs need the weights pt_inception-2015-12-05-6726825d.pth (<data root>/weights/,
 * or --weights); without them the command exits 5 (environment) naming the file, where it was
 * looked for and `genbench data fetch inception-weights`. Both inputs are checked to exist
 * before either goes through the network.
 * Exit codes: 0 ok, 2 usage, 3 bad input file, 4 numerical failure, 5 environment.
 *
 * The network and the feature files are cli/inception_inputs.c's. tests/test_cmd_fid.c compiles
 * this file in (with cli/cli_common.c and cli/inception_inputs.c) and calls the commands
 * directly; that suite runs every form and error path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/npy.h"
#include "../core/status.h"
#include "../metrics/fid.h"
#include "../metrics/kid.h"
#include "../metrics/prdc.h"
#include "cli.h"
#include "inception_inputs.h"

/* Stats from a stats .npz (keys mu and sigma), or from the pool features of any other input
 * (features, image arrays, folders, splits: cli/inception_inputs.h). */
static gb_status load_stats(gb_fid_stats *st, const char *path, char *kind, size_t kind_size, gb_cli_network *fn) {
    if (gb_cli_has_suffix(path, ".npz") && gb_npz_has(path, "mu")) {
        gb_fid_layout layout;
        GB_TRY(gb_fid_stats_load(st, path, &layout));
        snprintf(kind, kind_size, "%s", gb_fid_layout_name(layout));
        return GB_OK;
    }
    if (!gb_cli_is_image_input(path) && !gb_cli_has_suffix(path, ".npy") && !gb_cli_has_suffix(path, ".npz"))
        return gb_fail(GB_INPUT, "%s: expected FID stats (.npz with mu and sigma), features (.npy [n, d]), images "
                                 "(.npy / .npz arrays, a folder) or a dataset split",
                       path);
    gb_cli_features f;
    GB_TRY(gb_cli_load_feature_input(&f, path, fn));
    gb_status s = gb_fid_stats_from_features(st, f.x, f.n, f.d);
    free(f.x);
    if (s != GB_OK) return gb_fail_wrap(s, "%s", path);
    snprintf(kind, kind_size, "%s", f.kind);
    return GB_OK;
}

static void describe_input(const char *label, const char *path, const char *kind, const gb_fid_stats *st) {
    if (st->n) printf("%s: %s (%s, d = %zu, n = %llu)\n", label, path, kind, st->dim, (unsigned long long)st->n);
    else printf("%s: %s (%s, d = %zu)\n", label, path, kind, st->dim);
}

/* `genbench fid A --stats-out FILE`: the statistics of A alone, written. */
static gb_status save_stats_only(gb_cli_network *fn, const char *path, const char *out, gb_fid_layout layout) {
    GB_TRY(gb_cli_check_inputs(fn, &path, 1));
    gb_fid_stats a = {0};
    char kind[256] = "";
    gb_status s = load_stats(&a, path, kind, sizeof kind, fn);
    if (s == GB_OK) s = gb_fid_stats_save(out, &a, layout);
    if (s == GB_OK) {
        describe_input("A", path, kind, &a);
        gb_cli_describe_network(fn);
        printf("statistics of A written (%s layout) to\n%s\n", gb_fid_layout_name(layout), out);
    }
    gb_fid_stats_free(&a);
    gb_cli_network_close(fn);
    return s;
}

gb_status gb_cmd_fid(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        printf("usage: genbench fid A B [--stats-out FILE] [--layout pytorch-fid|clean-fid] [--protocol P]\n"
               "       genbench fid A --stats-out FILE [--layout ...] [--protocol P] ...\n"
               "                        [--weights FILE [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]\n"
               "  A, B                FID stats .npz (pytorch-fid or clean-fid layout), features .npy [n, d],\n"
               "                      " GB_CLI_IMAGE_INPUTS_HELP
               "  --stats-out FILE    also write the statistics of A to FILE (.npz); with A alone, only that\n"
               "  --layout NAME       layout of --stats-out: pytorch-fid (mu, sigma float64; default) or\n"
               "                      clean-fid (mu float32, sigma float64)\n"
               "images go through the FID Inception network to 2048-d pool features:\n"
               GB_CLI_NETWORK_HELP("clean")
               "prints both inputs, then the FID as the last line\n");
        return GB_OK;
    }
    const char *paths[2] = {NULL, NULL}, *stats_out = NULL;
    gb_fid_layout layout = GB_FID_LAYOUT_PYTORCH_FID;
    gb_cli_network fn = GB_CLI_NETWORK_DEFAULTS;
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (gb_cli_is_network_option(opt)) {
            if (i + 1 >= argc || !gb_cli_is_value(argv[i + 1]))
                return gb_fail(GB_USAGE, "%s needs a value (see genbench fid --help)", opt);
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
            return gb_fail(GB_USAGE, "unknown option '%s' (see genbench fid --help)", argv[i]);
        } else if (n_paths < 2) {
            paths[n_paths++] = argv[i];
        } else {
            return gb_fail(GB_USAGE, "fid takes exactly two inputs (got a third: '%s')", argv[i]);
        }
    }
    if (n_paths == 1 && stats_out) return save_stats_only(&fn, paths[0], stats_out, layout);
    if (n_paths != 2)
        return gb_fail(GB_USAGE, "fid needs two inputs A and B, or one with --stats-out FILE (see genbench fid --help)");
    GB_TRY(gb_cli_check_inputs(&fn, paths, 2));
    gb_fid_stats a = {0}, b = {0};
    char ka[256] = "", kb[256] = "";
    gb_status s = load_stats(&a, paths[0], ka, sizeof ka, &fn);
    if (s == GB_OK) s = load_stats(&b, paths[1], kb, sizeof kb, &fn);
    if (s == GB_OK && a.dim != b.dim)
        s = gb_fail(GB_INPUT, "%s has %zu dimensions but %s has %zu", paths[0], a.dim, paths[1], b.dim);
    double fid = 0.0;
    if (s == GB_OK && stats_out) s = gb_fid_stats_save(stats_out, &a, layout);
    /* on the network's device when an image input opened it (cuSOLVER on CUDA), else LAPACK */
    if (s == GB_OK) s = gb_fid_from_stats_on(fn.open ? &fn.dev : NULL, &fid, &a, &b);
    if (s == GB_OK) {
        describe_input("A", paths[0], ka, &a);
        describe_input("B", paths[1], kb, &b);
        gb_cli_describe_network(&fn);
        if (stats_out) printf("statistics of A written to %s (%s layout)\n", stats_out, gb_fid_layout_name(layout));
        printf("%.10g\n", fid);
    }
    gb_fid_stats_free(&a);
    gb_fid_stats_free(&b);
    gb_cli_network_close(&fn);
    return s;
}

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

/* Both feature sets of kid / prdc, of the same dimension. */
static gb_status load_two_sets(gb_cli_features *a, gb_cli_features *b, const char *const *paths, gb_cli_network *fn) {
    GB_TRY(gb_cli_check_inputs(fn, paths, 2));
    /* a features file first, so a dimension that cannot match the images' 2048 is found before the
     * images go through the network */
    int file_first = gb_cli_is_image_input(paths[0]) && !gb_cli_is_image_input(paths[1]);
    gb_cli_features *sets[2] = {a, b};
    const char *first = paths[file_first], *second = paths[!file_first];
    GB_TRY(gb_cli_load_feature_input(sets[file_first], first, fn));
    if (file_first && sets[1]->d != GB_INCEPTION_FEATURES)
        return gb_fail(GB_INPUT, "%s has %zu feature dimensions but %s holds images (%d-d pool features)", first,
                       sets[1]->d, second, GB_INCEPTION_FEATURES);
    gb_status s = gb_cli_load_feature_input(sets[!file_first], second, fn);
    if (s == GB_OK && a->d != b->d)
        s = gb_fail(GB_INPUT, "%s has %zu feature dimensions but %s has %zu", paths[0], a->d, paths[1], b->d);
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
               "  GEN, REF            features .npy [n, d], clean-fid's .npz with 'feats',\n"
               "                      " GB_CLI_IMAGE_INPUTS_HELP
               "  --seed N            seed of the subset streams (default 0)\n"
               "  --subsets N         number of subsets (default %d)\n"
               "  --subset-size N     rows per subset, capped at the smaller set (default %d)\n"
               "images go through the FID Inception network to 2048-d pool features:\n"
               GB_CLI_NETWORK_HELP("clean")
               "kernel (x.y/d + 1)^3, unbiased MMD^2 per subset; prints the spread, then the KID as the last line\n",
               GB_KID_SUBSETS, GB_KID_SUBSET_SIZE);
        return GB_OK;
    }
    const char *paths[2];
    kid_opts o = {.seed = 0, .subsets = GB_KID_SUBSETS, .subset_size = GB_KID_SUBSET_SIZE, .net = GB_CLI_NETWORK_DEFAULTS};
    GB_TRY(parse_two_sets(argc, argv, "kid", paths, kid_option, &o));
    if (o.subsets == 0 || o.subset_size < 2) return gb_fail(GB_USAGE, "--subsets must be >= 1 and --subset-size >= 2");
    gb_cli_features g = {0}, r = {0};
    gb_status s = load_two_sets(&g, &r, paths, &o.net);
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
    gb_cli_network net;
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
               "  GEN, REAL           features .npy [n, d], clean-fid's .npz with 'feats',\n"
               "                      " GB_CLI_IMAGE_INPUTS_HELP
               "  --protocol NAME     kynkaanniemi: k = 3, distance <= radius (default; torch-fidelity,\n"
               "                      StyleGAN2-ADA); prdc: k = 5, distance < radius (prdc, StudioGAN)\n"
               "  --k N               neighbourhood size (overrides the protocol's)\n"
               "images go through the FID Inception network to 2048-d pool features:\n"
               GB_CLI_NETWORK_HELP("clean")
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
    gb_status s = load_two_sets(&g, &r, paths, &o.net);
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
