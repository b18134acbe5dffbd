/* cli/cmd_evaluate.c - `genbench evaluate REF SAMPLE`: the five numbers of OpenAI's
 * guided-diffusion evaluator (evaluations/evaluator.py: ADM, EDM and most ImageNet diffusion
 * papers report them), from one Inception pass over each batch.
 *
 *   genbench evaluate REF SAMPLE [NETWORK OPTIONS without --dims]
 *       REF, SAMPLE: image inputs of cli/metric_inputs.h: an .npz holding uint8 images under
 *       'arr_0' (the evaluator's only input: reference batches such as
 *       VIRTUAL_imagenet256_labeled.npz and sample batches written by np.savez), a .npy image
 *       array, a folder of PNG/JPEG images, a .zip of them, or a dataset split.
 *   Prints both inputs, the network and a "settings:" line, then the evaluator's own lines:
 *       Inception Score: X      of SAMPLE
 *       FID: X                  SAMPLE against REF (pool3)
 *       sFID: X                 SAMPLE against REF (mixed_6/conv, 2023-d)
 *       Precision: X            share of SAMPLE inside REF's manifold
 *       Recall: X               share of REF inside SAMPLE's manifold
 *
 * What the evaluator does, and so what this does:
 *   - each batch goes through the network once, giving pool3 (2048), the logits and sFID's
 *     spatial features together (gb_inception_forward_taps); images as the evaluator's TF graph
 *     resizes them (protocol legacy-tf by default);
 *   - statistics: an .npz that holds 'mu' gives mu, sigma and mu_s, sigma_s as stored (a
 *     reference batch's precomputed ones: read_statistics); otherwise np.mean and the N-1
 *     np.cov of the batch's features. Its images are still run: precision and recall need
 *     every reference image's pool3 features;
 *   - Inception score of the sample: softmax of pool3 x fc.weight (no bias) over 1008 classes,
 *     consecutive splits of 5000 rows, the last holding the rest, mean of exp(mean KL)
 *     (metrics/inception_score.h gb_inception_score_split_size), rows in input order;
 *   - FID and sFID: the Frechet distance of (sample, reference) (metrics/fid.h);
 *   - precision and recall: Kynkaanniemi et al.'s manifolds, k = 3, distance <= radius, on pool3
 *     (metrics/prdc.h, protocol kynkaanniemi).
 * One difference is deliberate and printed: the evaluator computes the pairwise distances of
 * precision and recall in float16 when they fit (its DistanceBlock), so a point within float16
 * rounding of a radius may fall on either side there; genbench computes them in float64.
 *
 * Both inputs are read and checked (images, not rows; at least 4 images, which k = 3 needs;
 * stored statistics of the right sizes) before any image goes through the network.
 * Exit codes: 0 ok, 2 usage, 3 bad input, 4 numerical failure, 5 environment (no weights).
 * Tested by tests/test_cmd_evaluate.c, which compiles this file in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/npy.h"
#include "../core/status.h"
#include "../metrics/fid.h"
#include "../metrics/inception_score.h"
#include "../metrics/prdc.h"
#include "cli.h"
#include "inception_inputs.h"
#include "metric_inputs.h"

/* k = 3 neighbourhoods need 4 points per set */
#define MIN_IMAGES 4

/* One batch of the evaluator: its images, what the network gave for them, its statistics. */
typedef struct {
    const char *path;
    gb_cli_input in;
    float *pool, *logits, *spatial; /* [n, 2048], [n, 1008] (the sample's), [n, 2023] */
    size_t n;
    gb_fid_stats stats, stats_spatial;
    int stored_stats; /* 1: mu, sigma, mu_s, sigma_s read from the .npz */
    char kind[256];
} eval_batch;

/* Stored statistics of the expected size under (mu_key, sigma_key). */
static gb_status load_stored(gb_fid_stats *st, const char *path, const char *mu_key, const char *sigma_key,
                             size_t dim) {
    gb_fid_layout layout;
    GB_TRY(gb_fid_stats_load_keys(st, path, mu_key, sigma_key, &layout));
    if (st->dim != dim)
        return gb_fail(GB_INPUT, "%s: %s has %zu entries, not the %zu of %s", path, mu_key, st->dim, dim,
                       dim == GB_INCEPTION_FEATURES ? "pool3" : "sFID's mixed_6/conv features");
    return GB_OK;
}

/* Reads a batch and does every check that needs no network. */
static gb_status read_batch(eval_batch *b, const char *path, const gb_cli_network *net) {
    memset(b, 0, sizeof *b);
    b->path = path;
    GB_TRY(gb_cli_input_read(&b->in, path, net, "features"));
    if (!gb_cli_input_holds_images(&b->in))
        return gb_fail(GB_INPUT, "%s holds feature rows, not images: evaluate runs the network on both batches "
                                 "(precision and recall need every image's pool3 features); genbench fid, sfid and "
                                 "prdc take feature rows, isc logit rows",
                       path);
    b->n = gb_cli_input_count(&b->in);
    if (b->n < MIN_IMAGES)
        return gb_fail(GB_INPUT, "%s: %zu images; precision and recall with k = 3 need at least %d", path, b->n,
                       MIN_IMAGES);
    /* the evaluator's read_statistics: a 'mu' means all four are stored */
    if (gb_cli_has_suffix(path, ".npz") && gb_npz_has(path, "mu")) {
        if (!gb_npz_has(path, "mu_s"))
            return gb_fail(GB_INPUT, "%s holds 'mu' but no 'mu_s': the evaluator reads mu, sigma, mu_s and sigma_s of "
                                     "a batch together (remove mu to have them computed from the images)",
                           path);
        GB_TRY(load_stored(&b->stats, path, "mu", "sigma", GB_INCEPTION_FEATURES));
        GB_TRY(load_stored(&b->stats_spatial, path, "mu_s", "sigma_s", GB_INCEPTION_SPATIAL));
        b->stored_stats = 1;
    }
    return GB_OK;
}

/* Statistics of features computed here, with the provenance a stored file may be checked against. */
static gb_status stats_of(gb_fid_stats *st, const float *x, size_t n, size_t dim, const gb_cli_network *net,
                          const char *path, const char *features) {
    char label[192];
    snprintf(label, sizeof label, "%.160s (%s)", path, features);
    gb_status s = gb_fid_stats_from_features(st, x, n, dim, label);
    if (s != GB_OK) return gb_fail_wrap(s, "%s", path);
    gb_cli_network_stamp(st, net);
    return GB_OK;
}

/* The batch through the network (logits for the sample only; sFID's rows only when no stored
 * statistics replace them), then its statistics. */
static gb_status run_batch(eval_batch *b, gb_cli_network *net, int want_logits) {
    const gb_fid_wanted want = {.pool = &b->pool,
                                .logits = want_logits ? &b->logits : NULL,
                                .spatial = b->stored_stats ? NULL : &b->spatial};
    GB_TRY(gb_cli_input_outputs(&b->in, net, &want, b->kind, sizeof b->kind));
    if (!b->stored_stats) {
        GB_TRY(stats_of(&b->stats, b->pool, b->n, GB_INCEPTION_FEATURES, net, b->path, "pool3"));
        GB_TRY(stats_of(&b->stats_spatial, b->spatial, b->n, GB_INCEPTION_SPATIAL, net, b->path,
                        "sFID's spatial features"));
    }
    free(b->spatial); /* only its statistics are needed */
    b->spatial = NULL;
    return GB_OK;
}

static void free_batch(eval_batch *b) {
    gb_cli_input_free(&b->in);
    free(b->pool);
    free(b->logits);
    free(b->spatial);
    gb_fid_stats_free(&b->stats);
    gb_fid_stats_free(&b->stats_spatial);
}

static void describe_batch(const char *label, const eval_batch *b) {
    printf("%s: %s (%s, n = %zu; statistics %s)\n", label, b->path, b->kind, b->n,
           b->stored_stats ? "mu, sigma, mu_s, sigma_s as stored in the file" : "computed from its images");
}

typedef struct {
    double is, fid, sfid;
    gb_prdc_result pr;
} evaluation;

static gb_status compute(evaluation *e, const eval_batch *ref, const eval_batch *sample, gb_cli_network *net) {
    double is_std;
    gb_status s = gb_inception_score_split_size(&e->is, &is_std, sample->logits, sample->n, GB_INCEPTION_CLASSES,
                                                GB_IS_SPLIT_SIZE, GB_IS_LOGITS);
    if (s != GB_OK) return gb_fail_wrap(s, "%s", sample->path);
    gb_fid_stats_warn_mismatch(&sample->stats, sample->path, &ref->stats, ref->path);
    /* sample first, as the evaluator's sample_stats.frechet_distance(ref_stats); on the
     * network's device (cuSOLVER on CUDA) */
    GB_TRY(gb_fid_from_stats_on(&net->dev, &e->fid, &sample->stats, &ref->stats));
    GB_TRY(gb_fid_from_stats_on(&net->dev, &e->sfid, &sample->stats_spatial, &ref->stats_spatial));
    gb_prdc_protocol pr;
    GB_TRY(gb_prdc_protocol_by_name(&pr, "kynkaanniemi"));
    return gb_prdc(&e->pr, ref->pool, ref->n, sample->pool, sample->n, GB_INCEPTION_FEATURES, pr);
}

static void evaluate_help(void) {
    printf("usage: genbench evaluate REF SAMPLE [--protocol P] [--weights FILE [--weights-sha256 HEX]] [--batch N]\n"
           "                                    [--device D] [--threads N] [--data DIR]\n"
           "OpenAI guided-diffusion's evaluator (evaluations/evaluator.py): Inception score, FID, sFID, precision\n"
           "and recall of SAMPLE against REF, from one Inception pass over each\n"
           "  REF, SAMPLE         " GB_CLI_IMAGE_INPUTS_HELP
           "                      an .npz that also holds mu, sigma, mu_s, sigma_s (OpenAI's reference\n"
           "                      batches) gives its FID and sFID statistics as stored\n"
           GB_CLI_NETWORK_HELP("legacy-tf: the resize of the evaluator's TF graph")
           "Inception score: 1008-way logits without fc.bias, splits of %d rows in input order;\n"
           "precision/recall: k = 3, distance <= radius, on pool3 (float64 distances; the evaluator's are float16)\n"
           "prints the inputs, then the evaluator's lines: Inception Score, FID, sFID, Precision, Recall\n",
           GB_IS_SPLIT_SIZE);
}

gb_status gb_cmd_evaluate(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        evaluate_help();
        return GB_OK;
    }
    gb_cli_network net = GB_CLI_NETWORK_DEFAULTS;
    net.protocol = GB_FID_LEGACY_TF;
    net.logits_without_bias = 1; /* the evaluator's softmax graph multiplies by the weights alone */
    const char *paths[2] = {NULL, NULL};
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--dims") == 0)
            return gb_fail(GB_USAGE, "evaluate: --dims does not apply: the evaluator's features are pool3 and "
                                     "mixed_6/conv");
        if (gb_cli_is_network_option(opt)) {
            if (i + 1 >= argc || !gb_cli_is_value(argv[i + 1]))
                return gb_fail(GB_USAGE, "%s needs a value (see genbench evaluate --help)", opt);
            GB_TRY(gb_cli_network_option(&net, opt, argv[++i]));
        } else if (opt[0] == '-' && opt[1]) {
            return gb_fail(GB_USAGE, "unknown option '%s' (see genbench evaluate --help)", opt);
        } else if (n_paths < 2) {
            paths[n_paths++] = opt;
        } else {
            return gb_fail(GB_USAGE, "evaluate takes two inputs, REF and SAMPLE (got a third: '%s')", opt);
        }
    }
    if (n_paths != 2)
        return gb_fail(GB_USAGE, "evaluate needs two inputs, REF and SAMPLE (see genbench evaluate --help)");
    GB_TRY(gb_cli_check_network_options(&net));
    if (net.protocol != GB_FID_LEGACY_TF) /* allowed (a study of the resize), but not the evaluator's numbers */
        gb_warn("evaluate: --protocol %s is not the evaluator's: its TF graph resizes as legacy-tf does, and these "
                "numbers will not match its",
                gb_fid_protocol_name(net.protocol));
    /* both read and checked before the network runs: the evaluator's order after that */
    eval_batch ref, sample;
    gb_status s = read_batch(&ref, paths[0], &net);
    if (s == GB_OK) s = read_batch(&sample, paths[1], &net);
    else memset(&sample, 0, sizeof sample);
    if (s == GB_OK) s = run_batch(&ref, &net, 0);
    if (s == GB_OK) s = run_batch(&sample, &net, 1);
    evaluation e = {0};
    if (s == GB_OK) s = compute(&e, &ref, &sample, &net);
    if (s == GB_OK) {
        describe_batch("REF", &ref);
        describe_batch("SAMPLE", &sample);
        gb_cli_describe_network(&net);
        /* not starting "Inception Score": scripts that grep the evaluator's lines must find one */
        printf("settings: IS over splits of %d rows (logits without fc.bias); precision and recall with k = %zu, "
               "distance <= radius, float64 distances\n",
               GB_IS_SPLIT_SIZE, e.pr.protocol.k);
        printf("Inception Score: %.10g\nFID: %.10g\nsFID: %.10g\nPrecision: %.10g\nRecall: %.10g\n", e.is, e.fid,
               e.sfid, e.pr.precision, e.pr.recall);
    }
    free_batch(&ref);
    free_batch(&sample);
    gb_cli_network_close(&net);
    return s;
}
