/* cli/inception_inputs.h - what the Inception metric commands (fid, sfid, kid, prdc, isc, evaluate) share: the
 * rows they compute on, and the FID Inception network that turns their images into features or
 * logits, with its command-line options (the inputs themselves: cli/metric_inputs.h).
 *
 *   NETWORK OPTIONS  [--protocol pytorch-fid|clean|legacy-tf] [--weights FILE
 *                    [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N] [--data DIR]
 *                    [--dims 64|192|768|2048]
 *
 * --data DIR is the data root of dataset splits and of the default weights (else $GB_DATA, else
 * data/). The network is opened on first use, so a command whose inputs are all features or statistics
 * never reads the weights. Without weights (<data root>/weights/, or --weights) images are
 * GB_ENV (exit 5) naming the file, where it was looked for and `genbench data fetch
 * inception-weights`. Network options given when no input held images are reported with a
 * warning when the command describes the network (after its inputs were read). Tested through
 * the commands by tests/test_cmd_fid.c, tests/test_cmd_fid_images.c, tests/test_cmd_isc.c and
 * tests/test_cmd_evaluate.c.
 */
#ifndef GB_CLI_INCEPTION_INPUTS_H
#define GB_CLI_INCEPTION_INPUTS_H

#include <stddef.h>

#include "../core/status.h"
#include "../kernels/kernels.h"
#include "../metrics/fid.h"
#include "../metrics/fid_protocol.h"
#include "../metrics/inception_features.h"
#include "../models/inception_v3.h"

typedef struct {
    float *x; /* [n, d], malloc'd */
    size_t n, d;
    char kind[256]; /* what the rows are, for the commands' input lines */
    int from_images; /* 1: the network's outputs for images; 0: a file's rows */
} gb_cli_features;

/* The Inception network for images, opened on first use. */
typedef struct {
    const char *weights, *weights_sha256, *device;
    const char *data_root; /* --data DIR: datasets and the default weights; NULL: gb_data_root's */
    gb_fid_protocol protocol;
    unsigned long long batch, threads; /* threads 0: the default (below) */
    unsigned long long dims;           /* --dims: 64, 192, 768 or 2048; 0: not given (2048) */
    int logits_without_bias; /* passed to the network (models/inception_v3.h) */
    char *path;              /* the weights file used */
    gb_device dev;
    gb_inception net;
    int open;
    int given; /* a network option was given */
} gb_cli_network;

#define GB_CLI_NETWORK_DEFAULTS {.device = "auto", .protocol = GB_FID_CLEAN, .batch = 16, .threads = 0}

/* The help lines of the network options; default_protocol names the command's default. */
#define GB_CLI_NETWORK_HELP(default_protocol)                                                                  \
    "  --protocol P        image preprocessing: clean (clean-fid), pytorch-fid, legacy-tf\n"                   \
    "                      (default " default_protocol ")\n"                                                    \
    "  --weights FILE      Inception weights (default data/weights/" GB_INCEPTION_FILE ");\n"                \
    "                      another file needs --weights-sha256 HEX to vouch for it\n"                          \
    "  --batch N           images per forward pass (default 16)\n"                                             \
    "  --device D          cpu, cuda or auto (default auto); --threads N: CPU threads (default 2 on\n"  \
    "                      the cpu; on cuda, every core, which decode the images: the same bits)\n"  \
    "  --data DIR          data root of dataset splits and the default weights (default $GB_DATA,\n" \
    "                      else data/)\n"

/* The help lines of --dims (fid, kid, prdc: isc scores the logits, which need pool3). */
#define GB_CLI_DIMS_HELP                                                                                     \
    "  --dims N            features: 2048 (pool3, default), or 64, 192, 768: the global average of an\n"    \
    "                      earlier block, as pytorch-fid's --dims (fewer samples than 2048 need them)\n"

gb_status gb_cli_network_open(gb_cli_network *net);
void gb_cli_network_close(gb_cli_network *net);

/* 1 when opt is one of the network options. */
int gb_cli_is_network_option(const char *opt);
/* Applies one network option (GB_USAGE for a bad value). */
gb_status gb_cli_network_option(gb_cli_network *net, const char *opt, const char *value);

/* The features per image the network gives (--dims, else 2048). */
static inline size_t gb_cli_network_dims(const gb_cli_network *net) { return net->dims ? (size_t)net->dims : 2048; }

/* Records in st the protocol and the weights' hash of the open network that computed its
 * features: what --stats-out writes and gb_fid_stats_warn_mismatch compares. */
void gb_cli_network_stamp(gb_fid_stats *st, const gb_cli_network *net);

/* GB_USAGE for network options that contradict each other or are out of range. */
gb_status gb_cli_check_network_options(const gb_cli_network *net);

/* "inception: FILE (sha256 ...), protocol P, device D" when the network was opened; when it was
 * not, but network options were given, a warning that they were ignored (no input held images). */
void gb_cli_describe_network(const gb_cli_network *net);

#endif
