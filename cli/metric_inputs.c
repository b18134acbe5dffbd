/* cli/metric_inputs.c - one input of the Inception metric commands: files, image arrays,
 * folders, zip archives of images and dataset splits (read cli/metric_inputs.h first). */
#include "metric_inputs.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/npy.h"
#include "../datasets/image_splits.h"
#include "../datasets/registry.h"
#include "../metrics/image_archive.h"
#include "../metrics/image_folder.h"
#include "../metrics/inception_features.h"
#include "cli.h"

/* ---- 2-D rows --------------------------------------------------------------------------- */

/* The rows of a 2-D float array (features, logits), checked finite. */
static gb_status read_rows(gb_cli_features *f, const gb_npy_array *arr, const char *path, const char *what) {
    snprintf(f->kind, sizeof f->kind, "%s", what);
    gb_status s = GB_OK;
    if (arr->ndim == 4) /* uint8 ones are images (image_layout) */
        s = gb_fail(GB_INPUT, "%s: a 4-D array is read as images only when it is uint8 (got %s): store the images as "
                              "0..255 uint8",
                    path, gb_npy_descr(arr->dtype));
    else if (arr->ndim == 3 && arr->dtype == GB_NPY_U8) /* greyscale images without their channel axis */
        s = gb_fail(GB_INPUT, "%s: a 3-D uint8 array [%zu, %zu, %zu] is neither %s [n, d] nor images: give greyscale "
                              "images their channel axis, [n, h, w, 1] (np.expand_dims(x, -1)) or [n, 1, h, w]",
                    path, arr->shape[0], arr->shape[1], arr->shape[2], what);
    else if (arr->ndim != 2)
        s = gb_fail(GB_INPUT, "%s: %s must be a 2-D array [n, d] (got %d dimensions; images are 4-D uint8)", path,
                    what, arr->ndim);
    else if (arr->shape[0] == 0 || arr->shape[1] == 0)
        s = gb_fail(GB_INPUT, "%s: %s [%zu, %zu] hold no values (%s)", path, what, arr->shape[0], arr->shape[1],
                    arr->shape[0] == 0 ? "0 rows" : "0 columns");
    else if (arr->dtype != GB_NPY_F32 && arr->dtype != GB_NPY_F64)
        s = gb_fail(GB_INPUT, "%s: %s must be float32 or float64 (got %s)", path, what, gb_npy_descr(arr->dtype));
    else if (!(f->x = malloc(arr->count * sizeof *f->x)))
        s = gb_fail(GB_ENV, "%s: out of memory", path);
    if (s == GB_OK) {
        gb_npy_to_f32(f->x, arr);
        f->n = arr->shape[0];
        f->d = arr->shape[1];
        for (size_t i = 0; i < f->n * f->d && s == GB_OK; i++)
            if (!isfinite(f->x[i]))
                s = gb_fail(GB_INPUT, "%s: %s[%zu, %zu] is %g: %s must be finite", path, what, i / f->d, i % f->d,
                            f->x[i], what);
        if (s != GB_OK) {
            free(f->x);
            f->x = NULL;
        }
    }
    return s;
}

/* A whole .npy, or the 'feats' member of an .npz, as rows. */
static gb_status load_file_rows(gb_cli_features *f, const char *path, const char *key, const char *what) {
    gb_npy_array a;
    gb_npz z = {0};
    const gb_npy_array *arr = &a;
    if (key) {
        GB_TRY(gb_npz_load(&z, path));
        arr = gb_npz_find(&z, key);
        GB_ASSERT(arr, "%s: member %s vanished between reads", path, key);
    } else {
        GB_TRY(gb_npy_load(&a, path));
    }
    gb_status s = read_rows(f, arr, path, what);
    if (key) gb_npz_free(&z);
    else gb_npy_free(&a);
    return s;
}

/* ---- uint8 image arrays ---------------------------------------------------------------- */

static int is_image_array(const gb_npy_array *a) { return a->ndim == 4 && a->dtype == GB_NPY_U8; }

/* The layout of a 4-D uint8 array's header, [n, c, h, w] or [n, h, w, c] (the axis of size 1 or
 * 3 says which). */
static gb_status image_layout(gb_cli_input *in, const gb_npy_array *a, const char *path) {
    const size_t *sh = a->shape;
    const int first = sh[1] == 1 || sh[1] == 3, last = sh[3] == 1 || sh[3] == 3;
    if (first == last || sh[1] > INT_MAX || sh[2] > INT_MAX || sh[3] > INT_MAX)
        return gb_fail(GB_INPUT, "%s: a uint8 image array [%zu, %zu, %zu, %zu] must have 1 or 3 channels on exactly one of "
                                 "axes 1 and 3 ([n, c, h, w] or [n, h, w, c])",
                       path, sh[0], sh[1], sh[2], sh[3]);
    if (a->count == 0)
        return gb_fail(GB_INPUT, "%s: the image array [%zu, %zu, %zu, %zu] holds no pixels", path, sh[0], sh[1], sh[2],
                       sh[3]);
    in->n = sh[0];
    memcpy(in->shape, sh, sizeof in->shape);
    in->c = (int)(first ? sh[1] : sh[3]);
    in->h = (int)(first ? sh[2] : sh[1]);
    in->w = (int)(first ? sh[3] : sh[2]);
    in->channels_last = last;
    in->kind = GB_CLI_ARRAY;
    return GB_OK;
}

/* The message when an array's header no longer shows what it showed when it was read. */
static gb_status rewritten(const gb_cli_input *in) {
    return gb_fail(GB_INPUT, "%s: the array is no longer the uint8 [%zu, %zu, %zu, %zu] its header showed when it was "
                             "read: was the file rewritten meanwhile?",
                   in->arg, in->shape[0], in->shape[1], in->shape[2], in->shape[3]);
}

/* A Fortran-order array's pixels (its bytes are not images one after another), loaded whole
 * and reordered to C order by the loader (malloc'd). */
static gb_status load_pixels(uint8_t **pixels, const gb_cli_input *in) {
    gb_npy_array a;
    gb_npz z = {0};
    gb_npy_array *arr = &a;
    if (in->array_key) {
        GB_TRY(gb_npz_load_keys(&z, in->arg, &in->array_key, 1));
        arr = (gb_npy_array *)gb_npz_find(&z, in->array_key);
    } else {
        GB_TRY(gb_npy_load(&a, in->arg));
    }
    gb_status s = GB_OK;
    if (!arr || !is_image_array(arr) || memcmp(arr->shape, in->shape, sizeof in->shape) != 0) s = rewritten(in);
    else {
        *pixels = arr->data;
        arr->data = NULL;
    }
    if (in->array_key) gb_npz_free(&z);
    else gb_npy_free(&a);
    return s;
}

/* An image array through the network: read front to back, a batch at a time (a 50,000-image
 * 256 x 256 batch is 9.8 GB), as stored ([n, h, w, c] made planar image by image); of an .npz
 * only its member. */
static gb_status array_outputs(const gb_fid_wanted *want, gb_cli_input *in, gb_cli_network *net) {
    gb_npy_stream *st;
    gb_npy_array header;
    int fortran = 0;
    GB_TRY(gb_npy_stream_open(&st, &header, &fortran, in->arg, in->array_key));
    gb_status s = GB_OK;
    if (!is_image_array(&header) || memcmp(header.shape, in->shape, sizeof in->shape) != 0) s = rewritten(in);
    else if (!fortran)
        s = gb_fid_stream_outputs(want, &net->net, st, in->n, in->c, in->h, in->w, in->channels_last, net->protocol,
                                  in->arg);
    gb_npy_stream_close(st);
    if (s != GB_OK || !fortran) return s;
    uint8_t *pixels = NULL;
    GB_TRY(load_pixels(&pixels, in));
    s = gb_fid_images_outputs(want, &net->net, pixels, in->n, in->c, in->h, in->w, in->channels_last, net->protocol,
                              in->arg);
    free(pixels);
    return s;
}

/* ---- reading ----------------------------------------------------------------------------- */

/* A .npy or .npz: its header decides between rows (loaded) and images (loaded later). */
static gb_status read_file(gb_cli_input *in, const char *path, const char *what) {
    const int npz = gb_cli_has_suffix(path, ".npz");
    const char *key = NULL;
    if (npz) {
        const int feats = gb_npz_has(path, "feats"), arr_0 = gb_npz_has(path, "arr_0");
        /* clean-fid reads 'feats', the OpenAI evaluator 'arr_0': with both, either guess would
         * silently measure something other than what one of them measures */
        if (feats && arr_0)
            return gb_fail(GB_INPUT, "%s holds both 'feats' (feature rows, as clean-fid reads) and 'arr_0' (images, as "
                                     "the OpenAI evaluator reads): genbench will not guess which one is meant; save "
                                     "them in separate files",
                           path);
        key = feats ? "feats" : arr_0 ? "arr_0" : NULL;
        if (!key) { /* also when the archive cannot be read: the loader says why */
            gb_npz z;
            GB_TRY(gb_npz_load(&z, path));
            gb_npz_free(&z);
            return gb_fail(GB_INPUT, "%s: neither a 'feats' array (clean-fid's %s [n, d]) nor an 'arr_0' array (uint8 "
                                     "images [n, h, w, c], as np.savez writes sample batches)",
                           path, what);
        }
    }
    gb_npy_array header;
    if (npz) GB_TRY(gb_npz_peek(&header, path, key));
    else GB_TRY(gb_npy_peek(&header, path)); /* any other name is read as .npy; its magic is checked */
    if (is_image_array(&header)) {
        in->array_key = key;
        return image_layout(in, &header, path);
    }
    in->kind = GB_CLI_ROWS;
    return load_file_rows(&in->rows, path, key, what);
}

static gb_status read_split(gb_cli_input *in, const char *arg, const char *data_root, int threads) {
    gb_image_split_ref ref;
    GB_TRY(gb_image_split_parse(&ref, arg));
    GB_TRY(gb_image_split_load_ref(&in->set, &in->split_total, gb_data_root(data_root), &ref, threads));
    in->n = (size_t)in->set.count;
    in->kind = GB_CLI_SPLIT;
    return GB_OK;
}

gb_status gb_cli_input_read(gb_cli_input *in, const char *arg, const gb_cli_network *net, const char *what) {
    memset(in, 0, sizeof *in);
    in->arg = arg;
    if (gb_cli_names_split(arg)) return read_split(in, arg, net->data_root, (int)net->threads);
    GB_TRY(gb_cli_check_input(arg));
    if (gb_cli_is_folder(arg)) {
        GB_TRY(gb_image_folder_list(&in->files, &in->n, arg, net->protocol));
        in->kind = GB_CLI_FOLDER;
        return GB_OK;
    }
    if (gb_cli_names_image_archive(arg)) {
        GB_TRY(gb_image_archive_open(&in->archive, arg));
        in->n = gb_image_archive_count(in->archive);
        in->kind = GB_CLI_ARCHIVE;
        return GB_OK;
    }
    return read_file(in, arg, what);
}

/* ---- rows ------------------------------------------------------------------------------- */

void gb_cli_split_kind(char *kind, size_t kind_size, const gb_cli_input *in, gb_fid_protocol protocol) {
    const gb_image_set *set = &in->set;
    snprintf(kind, kind_size, "%s, the first %zu of %zu images, sha256 %s, protocol %s", set->identity, in->n,
             in->split_total, set->sha256[0] ? set->sha256 : "none", gb_fid_protocol_name(protocol));
}

/* The images of a read input through the network, in one pass; kind (kind_size bytes) says
 * what they were. */
static gb_status image_outputs(const gb_fid_wanted *want, char *kind, size_t kind_size, gb_cli_input *in,
                               gb_cli_network *net) {
    const char *protocol = gb_fid_protocol_name(net->protocol);
    if (in->kind == GB_CLI_FOLDER) {
        GB_TRY(gb_fid_files_outputs(want, &net->net, in->files, in->n, net->protocol, in->arg));
        snprintf(kind, kind_size, "images, protocol %s", protocol);
    } else if (in->kind == GB_CLI_ARCHIVE) {
        GB_TRY(gb_fid_archive_outputs(want, &net->net, in->archive, net->protocol, in->arg));
        snprintf(kind, kind_size, "images in a zip archive, protocol %s", protocol);
    } else if (in->kind == GB_CLI_SPLIT) {
        const gb_image_set *set = &in->set;
        GB_TRY(gb_fid_images_outputs(want, &net->net, set->pixels, in->n, set->channels, set->height, set->width, 0,
                                     net->protocol, in->arg));
        gb_cli_split_kind(kind, kind_size, in, net->protocol);
    } else {
        GB_TRY(array_outputs(want, in, net));
        snprintf(kind, kind_size, "uint8 images [n, %s], protocol %s", in->channels_last ? "h, w, c" : "c, h, w",
                 protocol);
    }
    return GB_OK;
}

gb_status gb_cli_input_outputs(gb_cli_input *in, gb_cli_network *net, const gb_fid_wanted *want, char *kind,
                               size_t kind_size) {
    float **kept[3] = {want->pool, want->logits, want->spatial};
    for (int k = 0; k < 3; k++) /* NULL on every failure, as the image sources promise */
        if (kept[k]) *kept[k] = NULL;
    if (in->kind == GB_CLI_ROWS)
        return gb_fail(GB_INPUT, "%s is a file of %s, not images: the network's outputs need images", in->arg,
                       in->rows.kind);
    GB_TRY(gb_cli_network_open(net));
    gb_status s = image_outputs(want, kind, kind_size, in, net);
    gb_cli_input_release_images(in); /* not needed again: the other input may be as large */
    return s;
}

void gb_cli_input_release_images(gb_cli_input *in) {
    gb_image_set_free(&in->set);
    gb_image_archive_close(in->archive);
    in->archive = NULL;
}

gb_status gb_cli_input_rows(gb_cli_features *f, gb_cli_input *in, gb_cli_network *net, int logits) {
    memset(f, 0, sizeof *f);
    if (in->kind == GB_CLI_ROWS) { /* taken: the input no longer owns them */
        *f = in->rows;
        memset(&in->rows, 0, sizeof in->rows);
        return GB_OK;
    }
    const gb_fid_wanted want = {.pool = logits ? NULL : &f->x, .logits = logits ? &f->x : NULL};
    GB_TRY(gb_cli_input_outputs(in, net, &want, f->kind, sizeof f->kind));
    f->n = in->n;
    f->d = logits ? GB_INCEPTION_CLASSES : (size_t)net->net.dims;
    f->from_images = 1;
    return GB_OK;
}

void gb_cli_input_free(gb_cli_input *in) {
    free(in->rows.x);
    if (in->files) gb_image_list_free(in->files, in->n);
    gb_image_set_free(&in->set);
    gb_image_archive_close(in->archive);
    memset(in, 0, sizeof *in);
}
