/* cli/inception_inputs.h - what the Inception metric commands (fid, kid, prdc, isc) share:
 * 2-D feature files, and the FID Inception network that turns image inputs into features,
 * with its command-line options.
 *
 *   NETWORK OPTIONS  [--protocol pytorch-fid|clean|legacy-tf] [--weights FILE
 *                    [--weights-sha256 HEX]] [--batch N] [--device D] [--threads N] [--data DIR]
 *
 * Images come as uint8 arrays in .npy / .npz files (gb_cli_load_rows), folders of PNG/JPEG files
 * and dataset splits, NAME:SPLIT[:N]
 * (datasets/image_splits.h: "cifar10:test", "cifar10:train:5000" for the first 5000 images),
 * read from the data root (--data DIR, else $GB_DATA, else data/). An argument that names an
 * existing file or folder is always that path; otherwise one whose part before the first ':' is
 * an image dataset's name is a split. A split's images enter as their stored uint8 pixels,
 * exactly as a folder of lossless PNGs of them would (the same bits: tested).
 *
 * The network is opened on first use, so a command whose inputs are all features or statistics
 * never reads the weights. Without weights (<data root>/weights/ or --weights) an image input is GB_ENV (exit 5)
 * naming the file, where it was looked for and `genbench data fetch inception-weights`. Tested
 * through the commands by tests/test_cmd_fid.c and tests/test_cmd_isc.c.
 */
#ifndef GB_CLI_INCEPTION_INPUTS_H
#define GB_CLI_INCEPTION_INPUTS_H

#include <stddef.h>

#include "../core/status.h"
#include "../kernels/kernels.h"
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

gb_status gb_cli_network_open(gb_cli_network *net);
void gb_cli_network_close(gb_cli_network *net);

/* 1 when opt is one of the network options. */
int gb_cli_is_network_option(const char *opt);
/* Applies one network option (GB_USAGE for a bad value). */
gb_status gb_cli_network_option(gb_cli_network *net, const char *opt, const char *value);

/* Checks the network options and that every input exists (a split: that its dataset is present). */
gb_status gb_cli_check_inputs(const gb_cli_network *net, const char *const *paths, size_t count);
/* The help line of the image inputs, after "  A, B  " and the like. */
#define GB_CLI_IMAGE_INPUTS_HELP                                                                             \
    "a uint8 image array (.npy [n, c, h, w] or [n, h, w, c]; .npz under\n"                                   \
    "                      'arr_0', as np.savez writes sample batches), a folder of PNG/JPEG\n"                  \
    "                      images, or a dataset split NAME:SPLIT[:N] (its first N images) of\n"                  \
    "                      cifar10:train|test, mnist:train|test, fashion-mnist:train|test,\n"                    \
    "                      cub32:all, sprites:all\n"

/* 1 when arg is an image input: a folder, or a dataset split (see above). */
int gb_cli_is_image_input(const char *arg);

/* The rows of one input (`what` names them in errors: "features", "logits"):
 *   an image input, or a uint8 image array (.npy [n, c, h, w] or [n, h, w, c]; .npz under
 *     'arr_0', as np.savez writes sample batches), through the network: its 2048-d pool
 *     features, or its 1008-way logits when logits is set (from_images 1);
 *   a 2-D float .npy, or an .npz holding one under 'feats' (clean-fid's feature files): the
 *     rows as they are, GB_INPUT naming the file for any other shape or dtype or a non-finite
 *     element.
 * kind says which, for the input lines. */
gb_status gb_cli_load_rows(gb_cli_features *f, const char *path, gb_cli_network *net, int logits, const char *what);
/* gb_cli_load_rows for pool features. */
gb_status gb_cli_load_feature_input(gb_cli_features *f, const char *path, gb_cli_network *net);

/* "inception: FILE (sha256 ...), protocol P, device D" when the network was opened; when it was
 * not, but network options were given, a warning that they were ignored (no input held images). */
void gb_cli_describe_network(const gb_cli_network *net);

#endif
