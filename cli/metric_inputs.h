/* cli/metric_inputs.h - one input of the Inception metric commands (fid, sfid, kid, prdc, isc, evaluate): what
 * the argument names, read in two steps so that everything that can be checked without the
 * network is checked before any image goes through it (a 10,000-image set is 20 minutes on two
 * CPU cores).
 *
 *   gb_cli_input_read   classifies the argument and does every check that needs no network:
 *     a file or folder that exists is always that path:
 *       a folder             PNG/JPEG images: listed (as the protocol's peer lists them,
 *                            metrics/image_folder.h), decoded later;
 *       a .zip file          a zip archive of PNG/JPEG images (StyleGAN2-ADA / EDM datasets,
 *                            clean-fid's zip input): opened and listed
 *                            (metrics/image_archive.h), decoded later;
 *       .npy / .npz          a 2-D float32/float64 array (features or logits; an .npz holds it
 *                            under 'feats', clean-fid's feature files): loaded, checked finite;
 *                            or a 4-D uint8 image array, [n, c, h, w] or [n, h, w, c] (told
 *                            apart by the axis of size 1 or 3; both or neither is refused), an
 *                            .npz holding it under 'arr_0' (np.savez(path, images): the sample
 *                            batches of OpenAI's evaluation suite): only its header is read
 *                            (core/npy.h gb_npy_peek), so the two inputs' arrays are never in
 *                            memory together; the pixels are streamed through the network a
 *                            batch at a time (core/npy.h gb_npy_stream; of an .npz only that
 *                            member; an [n, h, w, c] array made planar image by image; a
 *                            Fortran-order array is loaded whole), and a damaged member body
 *                            (CRC, deflate) or a file rewritten in between is found then;
 *     otherwise NAME:SPLIT[:N] with NAME an image dataset is a dataset split (its first N
 *       images; datasets/image_splits.h): loaded (a 32x32 set is small), so a count beyond the
 *       split or a damaged file is found now.
 *   gb_cli_input_rows   the rows: a file's as they are, or the images' pool features (net's
 *                       --dims) or 1008-way logits through the network (opened on first use);
 *                       the images' memory is released as soon as they went through.
 * Images from arrays and splits enter as their stored uint8 values, exactly as a folder of
 * lossless PNGs of them would (tests/test_cmd_fid_images.c checks the same bits), grey repeated
 * into R, G, B as Pillow's convert("RGB") does for a grey file.
 * Errors name the argument: GB_USAGE for a malformed split, GB_INPUT for a bad file or array, a
 * missing dataset (with the fetch command) or a count beyond the split.
 */
#ifndef GB_CLI_METRIC_INPUTS_H
#define GB_CLI_METRIC_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "../datasets/image_splits.h"
#include "../metrics/image_archive.h"
#include "inception_inputs.h"

typedef enum { GB_CLI_ROWS, GB_CLI_FOLDER, GB_CLI_ARCHIVE, GB_CLI_SPLIT, GB_CLI_ARRAY } gb_cli_input_kind;

typedef struct {
    const char *arg;
    gb_cli_input_kind kind;
    gb_cli_features rows;        /* ROWS: the file's rows */
    char **files;                /* FOLDER: its image files, listed */
    gb_image_archive *archive;   /* ARCHIVE: open, its images listed */
    size_t n;                    /* FOLDER, ARCHIVE, SPLIT, ARRAY: the images */
    gb_image_set set;            /* SPLIT: its first n images */
    size_t split_total;          /* SPLIT: the split's size */
    const char *array_key;       /* ARRAY: the .npz member, or NULL for a .npy */
    size_t shape[4];             /* ARRAY: as its header gave it (checked again at load) */
    int c, h, w, channels_last; /* ARRAY: [n, c, h, w] as stored, or [n, h, w, c] */
} gb_cli_input;

/* The help line of the image inputs, after "  A, B  " and the like. */
#define GB_CLI_IMAGE_INPUTS_HELP                                                                             \
    "a uint8 image array (.npy [n, c, h, w] or [n, h, w, c]; .npz under\n"                                   \
    "                      'arr_0', as np.savez writes sample batches), a folder of PNG/JPEG\n"                  \
    "                      images, a .zip archive of them (StyleGAN2-ADA / EDM datasets), or\n"                 \
    "                      a dataset split NAME:SPLIT[:N] (its first N images) of\n"                             \
    "                      " GB_IMAGE_SPLIT_NAMES "\n"

/* Reads arg as above; `what` names 2-D rows in errors ("features", "logits"); net gives the
 * data root (--data) and the protocol a folder is listed for. */
gb_status gb_cli_input_read(gb_cli_input *in, const char *arg, const gb_cli_network *net, const char *what);
static inline int gb_cli_input_holds_images(const gb_cli_input *in) { return in->kind != GB_CLI_ROWS; }
/* The rows the input will give: its images, or its file's rows (known once read). */
static inline size_t gb_cli_input_count(const gb_cli_input *in) {
    return gb_cli_input_holds_images(in) ? in->n : in->rows.n;
}
/* The rows of a read input (f owns them; the input gives up its rows or images); f->kind says
 * what they are. */
gb_status gb_cli_input_rows(gb_cli_features *f, gb_cli_input *in, gb_cli_network *net, int logits);
/* The outputs of a read input's images from one pass through the network (opened on first
 * use): each member of want that is not NULL gets a malloc'd array of gb_cli_input_count rows
 * (metrics/inception_features.h); kind (kind_size bytes) says what the images were. The images'
 * memory is released afterwards. GB_INPUT, naming the argument, for an input of rows. */
gb_status gb_cli_input_outputs(gb_cli_input *in, gb_cli_network *net, const gb_fid_wanted *want, char *kind,
                               size_t kind_size);
void gb_cli_input_free(gb_cli_input *in);
/* Frees what an image input holds of its images (a loaded split's pixels, an open archive),
 * once its outputs are computed or its statistics found: the input's description stays. */
void gb_cli_input_release_images(gb_cli_input *in);
/* What a split input (GB_CLI_SPLIT, still loaded) is, as its input line says it:
 * "cifar10:train, the first N of M images, sha256 ..., protocol P". */
void gb_cli_split_kind(char *kind, size_t kind_size, const gb_cli_input *in, gb_fid_protocol protocol);

#endif
