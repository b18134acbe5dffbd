/* cli/metric_inputs.c - one input of the Inception metric commands: files, image arrays,
 * folders and dataset splits (read cli/metric_inputs.h first). */
#include "metric_inputs.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/npy.h"
#include "../datasets/image_splits.h"
#include "../datasets/registry.h"
#include "../metrics/inception_features.h"
#include "cli.h"

/* ---- dataset splits ------------------------------------------------------------------- */

static gb_status read_split(gb_cli_input *in, const char *arg, const char *data_root) {
    GB_TRY(gb_image_split_parse(&in->split, arg));
    in->data_root = data_root;
    in->kind = GB_CLI_SPLIT;
    return gb_image_split_check_present(gb_data_root(data_root), in->split.dataset, in->split.split);
}

/* ---- files ------------------------------------------------------------------------------ */

/* The rows of a 2-D float array (features, logits), checked finite. */
static gb_status read_rows(gb_cli_features *f, const gb_npy_array *arr, const char *path, const char *what) {
    snprintf(f->kind, sizeof f->kind, "%s", what);
    gb_status s = GB_OK;
    if (arr->ndim == 4) /* uint8 ones are images (read_image_array) */
        s = gb_fail(GB_INPUT, "%s: a 4-D array is read as images only when it is uint8 (got %s): store the images as "
                              "0..255 uint8",
                    path, gb_npy_descr(arr->dtype));
    else if (arr->ndim != 2 || arr->shape[0] == 0 || arr->shape[1] == 0)
        s = gb_fail(GB_INPUT, "%s: %s must be a 2-D array [n, d] (got %d dimensions)", path, what, arr->ndim);
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

static int is_image_array(const gb_npy_array *a) { return a->ndim == 4 && a->dtype == GB_NPY_U8; }

/* A 4-D uint8 array, [n, c, h, w] or [n, h, w, c] (the axis of size 1 or 3 says which), kept
 * planar. */
static gb_status read_image_array(gb_cli_input *in, const gb_npy_array *a, const char *path) {
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
    in->c = (int)(first ? sh[1] : sh[3]);
    in->h = (int)(first ? sh[2] : sh[1]);
    in->w = (int)(first ? sh[3] : sh[2]);
    in->channels_last = last;
    if (!(in->pixels = malloc(a->count))) return gb_fail(GB_ENV, "%s: out of memory for %zu bytes", path, a->count);
    const uint8_t *src = a->data;
    const size_t plane = (size_t)in->h * in->w, c = (size_t)in->c;
    if (first) memcpy(in->pixels, src, a->count);
    else /* to planar, as the network's preprocessing reads images */
        for (size_t i = 0; i < in->n; i++)
            for (size_t p = 0; p < plane; p++)
                for (size_t k = 0; k < c; k++) in->pixels[(i * c + k) * plane + p] = src[(i * plane + p) * c + k];
    in->kind = GB_CLI_ARRAY;
    return GB_OK;
}

static gb_status read_file(gb_cli_input *in, const char *path, const char *what) {
    gb_npy_array a;
    gb_npz z = {0};
    const gb_npy_array *arr;
    if (gb_cli_has_suffix(path, ".npz")) {
        GB_TRY(gb_npz_load(&z, path));
        arr = gb_npz_find(&z, "feats"); /* clean-fid's feature files */
        if (!arr) arr = gb_npz_find(&z, "arr_0"); /* np.savez(path, images): OpenAI's sample batches */
        if (!arr) {
            gb_npz_free(&z);
            return gb_fail(GB_INPUT, "%s: neither a 'feats' array (clean-fid's %s [n, d]) nor an 'arr_0' array (uint8 "
                                     "images [n, h, w, c], as np.savez writes sample batches)",
                           path, what);
        }
    } else { /* any other name is read as .npy; its magic is checked */
        GB_TRY(gb_npy_load(&a, path));
        arr = &a;
    }
    gb_status s = is_image_array(arr) ? read_image_array(in, arr, path) : read_rows(&in->rows, arr, path, what);
    if (arr == &a) gb_npy_free(&a);
    else gb_npz_free(&z);
    return s;
}

gb_status gb_cli_input_read(gb_cli_input *in, const char *arg, const char *data_root, const char *what) {
    memset(in, 0, sizeof *in);
    in->arg = arg;
    if (gb_cli_names_split(arg)) return read_split(in, arg, data_root);
    GB_TRY(gb_cli_check_input(arg));
    if (gb_cli_is_folder(arg)) {
        in->kind = GB_CLI_FOLDER;
        return GB_OK;
    }
    in->kind = GB_CLI_ROWS;
    return read_file(in, arg, what);
}

/* ---- rows ------------------------------------------------------------------------------- */

/* A split's images through the network: loaded whole, then the first N. */
static gb_status split_outputs(float **pool, float **logits, size_t *n, char *kind, size_t kind_size,
                               const gb_cli_input *in, gb_cli_network *net) {
    gb_image_set set;
    size_t total;
    GB_TRY(gb_image_split_load_ref(&set, &total, gb_data_root(in->data_root), &in->split, (int)net->threads));
    gb_status s = gb_fid_images_outputs(pool, logits, &net->net, set.pixels, (size_t)set.count, set.channels,
                                        set.height, set.width, net->protocol, in->arg);
    if (s == GB_OK) {
        *n = (size_t)set.count;
        snprintf(kind, kind_size, "%s, the first %d of %zu images, sha256 %s, protocol %s", set.identity, set.count,
                 total, set.sha256[0] ? set.sha256 : "none", gb_fid_protocol_name(net->protocol));
    }
    gb_image_set_free(&set);
    return s;
}

gb_status gb_cli_input_rows(gb_cli_features *f, gb_cli_input *in, gb_cli_network *net, int logits) {
    memset(f, 0, sizeof *f);
    if (in->kind == GB_CLI_ROWS) { /* taken: the input no longer owns them */
        *f = in->rows;
        memset(&in->rows, 0, sizeof in->rows);
        return GB_OK;
    }
    GB_TRY(gb_cli_network_open(net));
    float **pool = logits ? NULL : &f->x, **lg = logits ? &f->x : NULL;
    const char *protocol = gb_fid_protocol_name(net->protocol);
    if (in->kind == GB_CLI_SPLIT) {
        GB_TRY(split_outputs(pool, lg, &f->n, f->kind, sizeof f->kind, in, net));
    } else if (in->kind == GB_CLI_ARRAY) {
        GB_TRY(gb_fid_images_outputs(pool, lg, &net->net, in->pixels, in->n, in->c, in->h, in->w, net->protocol,
                                     in->arg));
        f->n = in->n;
        snprintf(f->kind, sizeof f->kind, "uint8 images [n, %s], protocol %s", in->channels_last ? "h, w, c" : "c, h, w",
                 protocol);
    } else {
        GB_TRY(gb_fid_folder_outputs(pool, lg, &f->n, &net->net, in->arg, net->protocol));
        snprintf(f->kind, sizeof f->kind, "images, protocol %s", protocol);
    }
    f->d = logits ? GB_INCEPTION_CLASSES : (size_t)net->net.dims;
    f->from_images = 1;
    return GB_OK;
}

void gb_cli_input_free(gb_cli_input *in) {
    free(in->rows.x);
    free(in->pixels);
    memset(in, 0, sizeof *in);
}
