/* cli/cmd_isc.c - `genbench isc`: the Inception score of images (a folder, a .zip of images, a dataset split, ...)
 * or of a logits file, by default exactly as torch-fidelity computes it.
 *
 *   genbench isc GEN [--splits N] [--shuffle-seed N | --no-shuffle] [--logits unbiased|biased]
 *                    [--input logits|probabilities] [NETWORK OPTIONS]
 *       GEN: images (a uint8 array .npy / .npz, a folder of PNG/JPEG images or a .zip of them, or a dataset split
 *       NAME:SPLIT[:N]: cli/metric_inputs.h) through the FID Inception network to its 1008-way
 *       logits, or a .npy [n, classes] of logits (or probabilities, --input probabilities).
 *       Prints the inputs and the protocol, the spread over the splits ("isc_std"), then the
 *       score as the last line.
 *
 * The protocol (metrics/inception_score.h): what the score is computed on, the split count and
 * the row order all change the value, so each is printed. The defaults are torch-fidelity's
 * (`fidelity --isc`): images preprocessed as legacy-tf, logits without fc.bias
 * ('logits_unbiased', as OpenAI's original code), 10 splits, rows shuffled by numpy's
 * RandomState(2020).permutation(n). --no-shuffle keeps the rows in folder order (sorted paths)
 * or file order.
 *
 * Exit codes: 0 ok, 2 usage, 3 bad input, 5 environment (no Inception weights for images).
 * Tested by tests/test_cmd_isc.c, which compiles this file in.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/status.h"
#include "../metrics/inception_score.h"
#include "cli.h"
#include "inception_inputs.h"
#include "metric_inputs.h"

typedef struct {
    unsigned long long splits, seed;
    int shuffle, seed_given;
    int logits_given, input_given;
    gb_is_input input;
    gb_cli_network net;
} isc_opts;

static gb_status isc_option(isc_opts *o, const char *name, const char *value) {
    if (strcmp(name, "--dims") == 0)
        return gb_fail(GB_USAGE, "isc: --dims does not apply: the score is computed on the logits, which come from "
                                 "the 2048-d pool3 features");
    if (gb_cli_is_network_option(name)) return gb_cli_network_option(&o->net, name, value);
    if (strcmp(name, "--splits") == 0) return gb_cli_parse_u64(name, value, &o->splits);
    if (strcmp(name, "--shuffle-seed") == 0) {
        GB_TRY(gb_cli_parse_u64(name, value, &o->seed));
        /* numpy's RandomState takes a seed below 2^32 */
        if (o->seed > UINT32_MAX) return gb_fail(GB_USAGE, "--shuffle-seed must be below 2^32 (got %s)", value);
        o->seed_given = 1;
        return GB_OK;
    }
    if (strcmp(name, "--logits") == 0) {
        o->logits_given = 1;
        if (strcmp(value, "unbiased") == 0) o->net.logits_without_bias = 1;
        else if (strcmp(value, "biased") == 0) o->net.logits_without_bias = 0;
        else return gb_fail(GB_USAGE, "--logits: '%s' is neither unbiased nor biased", value);
        return GB_OK;
    }
    if (strcmp(name, "--input") == 0) {
        o->input_given = 1;
        if (strcmp(value, "logits") == 0) o->input = GB_IS_LOGITS;
        else if (strcmp(value, "probabilities") == 0) o->input = GB_IS_PROBABILITIES;
        else return gb_fail(GB_USAGE, "--input: '%s' is neither logits nor probabilities", value);
        return GB_OK;
    }
    return gb_fail(GB_USAGE, "unknown option '%s' (see genbench isc --help)", name);
}

static gb_status parse_isc(int argc, char **argv, const char **path, isc_opts *o) {
    *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-shuffle") == 0) {
            o->shuffle = 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            if (i + 1 >= argc || !gb_cli_is_value(argv[i + 1]))
                return gb_fail(GB_USAGE, "%s needs a value (see genbench isc --help)", argv[i]);
            GB_TRY(isc_option(o, argv[i], argv[i + 1]));
            i++;
        } else if (!*path) {
            *path = argv[i];
        } else {
            return gb_fail(GB_USAGE, "isc takes one input (got a second: '%s')", argv[i]);
        }
    }
    if (!*path) return gb_fail(GB_USAGE, "isc needs an input: images or a logits .npy (see genbench isc --help)");
    if (o->splits == 0) return gb_fail(GB_USAGE, "--splits must be at least 1");
    if (!o->shuffle && o->seed_given)
        return gb_fail(GB_USAGE, "--shuffle-seed and --no-shuffle contradict each other: pass one");
    return GB_OK;
}

/* The rows to score: the logits of images through the network, or a file's rows. The input is
 * read, and checked against the options, before any image goes through the network. */
static gb_status load_rows(gb_cli_features *rows, const char *path, isc_opts *o) {
    const char *what = o->input == GB_IS_LOGITS ? "logits" : "probabilities";
    const int probabilities = o->input_given && o->input != GB_IS_LOGITS;
    /* a usage error before reading */
    if (probabilities && (gb_cli_is_folder(path) || gb_cli_names_image_archive(path) || gb_cli_names_split(path)))
        return gb_fail(GB_USAGE, "--input probabilities applies to files of rows: %s holds images, which give logits",
                       path);
    gb_cli_input in;
    gb_status s = gb_cli_input_read(&in, path, &o->net, what);
    if (s == GB_OK && gb_cli_input_holds_images(&in) && probabilities) /* an image array */
        s = gb_fail(GB_USAGE, "--input probabilities applies to files of rows: %s holds images, which give logits",
                    path);
    if (s == GB_OK && !gb_cli_input_holds_images(&in)) {
        if (o->logits_given) gb_warn("isc: --logits applies to images only, and %s holds %s: ignored", path, what);
        if (in.rows.d == GB_INCEPTION_FEATURES) /* a likely mix-up with fid / kid inputs */
            gb_warn("isc: %s has 2048 columns, the size of Inception's pool features; the score wants the "
                    "1008-way logits (or another classifier's)",
                    path);
    }
    if (s == GB_OK && o->splits > gb_cli_input_count(&in)) /* before the network */
        s = gb_fail(GB_USAGE, "%s: %llu splits for %zu rows: pass --splits N with N <= %zu", path, o->splits,
                    gb_cli_input_count(&in), gb_cli_input_count(&in));
    if (s == GB_OK) s = gb_cli_input_rows(rows, &in, &o->net, 1);
    gb_cli_input_free(&in);
    return s;
}

static void print_protocol(const char *path, const gb_cli_features *rows, const isc_opts *o) {
    if (rows->from_images) {
        printf("GEN: %s (%s, n = %zu)\n", path, rows->kind, rows->n);
        gb_cli_describe_network(&o->net);
        printf("logits: 1008-way, %s\n", o->net.logits_without_bias
                                             ? "without fc.bias (OpenAI, torch-fidelity 'logits_unbiased')"
                                             : "with fc.bias");
    } else {
        printf("GEN: %s (%s, n = %zu, classes = %zu)\n", path, o->input == GB_IS_LOGITS ? "logits" : "probabilities",
               rows->n, rows->d);
        gb_cli_describe_network(&o->net); /* only warns, when network options were given */
    }
    if (o->shuffle)
        printf("%llu splits of the rows shuffled by numpy RandomState(%llu).permutation(n) (torch-fidelity's order)\n",
               o->splits, o->seed);
    else
        printf("%llu splits of the rows in input order\n", o->splits);
}

gb_status gb_cmd_isc(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        printf("usage: genbench isc GEN [--splits N] [--shuffle-seed N | --no-shuffle] [--logits unbiased|biased]\n"
               "                        [--input logits|probabilities] [--protocol P] [--weights FILE\n"
               "                        [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N]\n"
               "                        [--data DIR]\n"
               "  GEN                 a .npy [n, classes] of logits,\n"
               "                      " GB_CLI_IMAGE_INPUTS_HELP
               "  --splits N          number of splits (default %d; the value depends on it)\n"
               "  --shuffle-seed N    shuffle the rows with numpy RandomState(N).permutation before splitting\n"
               "                      (default %d, as torch-fidelity)\n"
               "  --no-shuffle        keep the rows in input order (sorted paths for a folder)\n"
               "  --logits KIND       for images: unbiased (default; pool3 x fc.weight, as OpenAI and\n"
               "                      torch-fidelity) or biased (the network's fc output)\n"
               "  --input KIND        for files: logits (default) or probabilities (rows summing to 1)\n"
               "images go through the FID Inception network to its 1008-way logits:\n"
               GB_CLI_NETWORK_HELP("legacy-tf, as torch-fidelity")
               "prints the protocol, the spread over the splits, then the Inception score as the last line\n",
               GB_IS_SPLITS, GB_IS_SHUFFLE_SEED);
        return GB_OK;
    }
    isc_opts o = {.splits = GB_IS_SPLITS, .seed = GB_IS_SHUFFLE_SEED, .shuffle = 1, .input = GB_IS_LOGITS,
                  .net = GB_CLI_NETWORK_DEFAULTS};
    o.net.protocol = GB_FID_LEGACY_TF;
    o.net.logits_without_bias = 1;
    const char *path;
    GB_TRY(parse_isc(argc, argv, &path, &o));
    GB_TRY(gb_cli_check_network_options(&o.net));
    gb_cli_features rows = {0};
    gb_status s = load_rows(&rows, path, &o);
    double mean = 0, std = 0;
    if (s == GB_OK && o.splits > rows.n)
        s = gb_fail(GB_USAGE, "%s: %llu splits for %zu rows: pass --splits N with N <= %zu", path, o.splits, rows.n,
                    rows.n);
    if (s == GB_OK) {
        s = o.shuffle ? gb_inception_score_shuffled(&mean, &std, rows.x, rows.n, rows.d, (size_t)o.splits, o.input,
                                                    (uint32_t)o.seed)
                      : gb_inception_score(&mean, &std, rows.x, rows.n, rows.d, (size_t)o.splits, o.input);
        if (s == GB_INPUT) gb_fail_wrap(s, "%s", path); /* the score names the row, not the file */
    }
    if (s == GB_OK) {
        print_protocol(path, &rows, &o);
        printf("isc_std %.10g\n", std);
        printf("%.10g\n", mean);
    }
    free(rows.x);
    gb_cli_network_close(&o.net);
    return s;
}
