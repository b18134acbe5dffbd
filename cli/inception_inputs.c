/* cli/inception_inputs.c - feature files, and the Inception network behind the metric
 * commands' image inputs: folders and dataset splits (see cli/inception_inputs.h). */
#include "inception_inputs.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../core/log.h"
#include "../core/npy.h"
#include "../datasets/dataset_files.h"
#include "../datasets/image_splits.h"
#include "../datasets/registry.h"
#include "cli.h"

/* The rows of a 2-D float array (features, logits), checked finite. */
static gb_status array_rows(gb_cli_features *f, const gb_npy_array *arr, const char *path, const char *what) {
    snprintf(f->kind, sizeof f->kind, "%s", what);
    gb_status s = GB_OK;
    if (arr->ndim == 4) /* uint8 ones are images (image_array_rows) */
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

static gb_status image_outputs(float **pool, float **logits, size_t *n, char *kind, size_t kind_size,
                               const char *arg, gb_cli_network *net);

static int is_image_array(const gb_npy_array *a) { return a->ndim == 4 && a->dtype == GB_NPY_U8; }

/* The images of a 4-D uint8 array, [n, c, h, w] or [n, h, w, c] (the axis of size 1 or 3 says
 * which), through the network: its pool features, or its logits. */
static gb_status image_array_rows(gb_cli_features *f, const gb_npy_array *a, const char *path, gb_cli_network *net,
                                  int logits) {
    const size_t *sh = a->shape;
    const int first = sh[1] == 1 || sh[1] == 3, last = sh[3] == 1 || sh[3] == 3;
    if (first == last || sh[0] == 0 || sh[1] > INT_MAX || sh[2] > INT_MAX || sh[3] > INT_MAX)
        return gb_fail(GB_INPUT, "%s: a uint8 image array [%zu, %zu, %zu, %zu] must have 1 or 3 channels on exactly one of "
                                 "axes 1 and 3 ([n, c, h, w] or [n, h, w, c])",
                       path, sh[0], sh[1], sh[2], sh[3]);
    const int c = (int)(first ? sh[1] : sh[3]), h = (int)(first ? sh[2] : sh[1]), w = (int)(first ? sh[3] : sh[2]);
    const uint8_t *pixels = a->data;
    uint8_t *planar = NULL;
    if (last) { /* to planar, as the network's preprocessing reads it */
        const size_t plane = (size_t)h * w;
        if (!(planar = malloc(a->count))) return gb_fail(GB_ENV, "%s: out of memory for %zu bytes", path, a->count);
        for (size_t i = 0; i < sh[0]; i++)
            for (size_t p = 0; p < plane; p++)
                for (int k = 0; k < c; k++) planar[(i * c + k) * plane + p] = pixels[(i * plane + p) * c + k];
        pixels = planar;
    }
    gb_status s = gb_cli_network_open(net);
    if (s == GB_OK)
        s = gb_fid_images_outputs(logits ? NULL : &f->x, logits ? &f->x : NULL, &net->net, pixels, sh[0], c, h, w,
                                  net->protocol, gb_base_name(path));
    free(planar);
    GB_TRY(s);
    f->n = sh[0];
    f->d = logits ? GB_INCEPTION_CLASSES : GB_INCEPTION_FEATURES;
    f->from_images = 1;
    snprintf(f->kind, sizeof f->kind, "uint8 images [n, %s], protocol %s", first ? "c, h, w" : "h, w, c",
             gb_fid_protocol_name(net->protocol));
    return GB_OK;
}

gb_status gb_cli_load_rows(gb_cli_features *f, const char *path, gb_cli_network *net, int logits, const char *what) {
    memset(f, 0, sizeof *f);
    if (gb_cli_is_image_input(path)) {
        GB_TRY(image_outputs(logits ? NULL : &f->x, logits ? &f->x : NULL, &f->n, f->kind, sizeof f->kind,
                                    path, net));
        f->d = logits ? GB_INCEPTION_CLASSES : GB_INCEPTION_FEATURES;
        f->from_images = 1;
        return GB_OK;
    }
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
    } else {
        GB_TRY(gb_npy_load(&a, path));
        arr = &a;
    }
    gb_status s = is_image_array(arr) ? image_array_rows(f, arr, path, net, logits) : array_rows(f, arr, path, what);
    if (arr == &a) gb_npy_free(&a);
    else gb_npz_free(&z);
    return s;
}

gb_status gb_cli_network_open(gb_cli_network *net) {
    if (net->open) return GB_OK;
    const gb_dataset_info *ds = gb_dataset_find("inception-weights");
    GB_ASSERT(ds, "the dataset table has no inception-weights entry");
    net->path = net->weights ? strdup(net->weights) : gb_dataset_path(gb_data_root(net->data_root), ds, GB_INCEPTION_FILE);
    if (!net->path) return gb_fail(GB_ENV, "out of memory");
    struct stat st;
    if (stat(net->path, &st) != 0)
        return gb_fail(GB_ENV, "image inputs need the Inception weights %s, not found at %s: fetch them with "
                               "`genbench data fetch inception-weights%s%s` or pass --weights FILE",
                       GB_INCEPTION_FILE, net->path, net->data_root ? " --data " : "",
                       net->data_root ? net->data_root : "");
    GB_TRY(gb_device_open(&net->dev, net->device, net->threads ? (int)net->threads : 2));
    /* On a GPU the host's threads only decode and preprocess images, each into its own slot (the
     * same bits for any count), and 2 of them would keep the GPU waiting: every core by default. */
    if (!net->threads && strcmp(net->dev.ops->name, "cpu") != 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        net->dev.threads = cores > 1 ? (int)(cores < 1024 ? cores : 1024) : 1;
    }
    gb_status s = gb_inception_load(&net->net, &net->dev, net->path, net->weights_sha256, (size_t)net->batch);
    if (s != GB_OK) {
        gb_device_close(&net->dev);
        return s;
    }
    net->net.logits_without_bias = net->logits_without_bias;
    net->open = 1;
    return GB_OK;
}

void gb_cli_network_close(gb_cli_network *net) {
    if (net->open) {
        gb_inception_free(&net->net);
        gb_device_close(&net->dev);
    }
    free(net->path);
}

int gb_cli_is_network_option(const char *opt) {
    static const char *const names[] = {"--protocol", "--weights", "--weights-sha256", "--batch",
                                        "--device",   "--threads", "--data"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(opt, names[i]) == 0) return 1;
    return 0;
}

gb_status gb_cli_network_option(gb_cli_network *net, const char *opt, const char *v) {
    net->given = 1;
    if (strcmp(opt, "--protocol") == 0) return gb_fid_protocol_by_name(&net->protocol, v);
    if (strcmp(opt, "--weights") == 0) net->weights = v;
    else if (strcmp(opt, "--weights-sha256") == 0) net->weights_sha256 = v;
    else if (strcmp(opt, "--device") == 0) net->device = v;
    else if (strcmp(opt, "--data") == 0) {
        GB_TRY(gb_cli_check_dir_length(opt, v));
        net->data_root = v;
    }
    else if (strcmp(opt, "--batch") == 0) return gb_cli_parse_u64(opt, v, &net->batch);
    else if (strcmp(opt, "--threads") == 0) {
        GB_TRY(gb_cli_parse_u64(opt, v, &net->threads));
        if (net->threads == 0) return gb_fail(GB_USAGE, "--threads 0: expected 1..1024"); /* 0 means "not given" */
    }
    return GB_OK;
}

/* A dataset split argument, NAME:SPLIT[:N]. */
typedef struct {
    char dataset[32], split[16];
    unsigned long long first; /* the first N images; 0: all of them */
} split_input;

/* Where a split names its dataset: the part before the first ':', when that is an image
 * dataset's name and the whole argument is not an existing path. */
int gb_cli_is_image_input(const char *arg) {
    struct stat st;
    if (stat(arg, &st) == 0) return S_ISDIR(st.st_mode);
    const char *colon = strchr(arg, ':');
    char name[32];
    if (!colon || (size_t)(colon - arg) >= sizeof name) return 0;
    memcpy(name, arg, (size_t)(colon - arg));
    name[colon - arg] = '\0';
    return gb_image_split_dataset_known(name);
}

static int is_split(const char *arg) { return gb_cli_is_image_input(arg) && !gb_cli_is_folder(arg); }

static gb_status parse_split(split_input *out, const char *arg) {
    memset(out, 0, sizeof *out);
    const char *c1 = strchr(arg, ':'), *c2 = strchr(c1 + 1, ':');
    size_t split_len = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    memcpy(out->dataset, arg, (size_t)(c1 - arg)); /* gb_cli_is_image_input checked its length */
    if (split_len == 0 || split_len >= sizeof out->split)
        return gb_fail(GB_USAGE, "'%s': expected NAME:SPLIT[:N] (%s)", arg, gb_image_split_names());
    memcpy(out->split, c1 + 1, split_len);
    GB_TRY(gb_image_split_check(out->dataset, out->split));
    if (c2 && (gb_cli_parse_u64(arg, c2 + 1, &out->first) != GB_OK || out->first == 0))
        return gb_fail(GB_USAGE, "'%s': N must be a positive integer (NAME:SPLIT:N takes the first N images)", arg);
    return GB_OK;
}

gb_status gb_cli_check_inputs(const gb_cli_network *net, const char *const *paths, size_t count) {
    if (net->weights_sha256 && !net->weights)
        return gb_fail(GB_USAGE, "--weights-sha256 vouches for a file given with --weights FILE; pass both");
    if (net->batch == 0 || net->batch > 4096 || net->threads > 1024) /* threads 0: not given */
        return gb_fail(GB_USAGE, "--batch must be 1..4096 and --threads 1..1024");
    for (size_t i = 0; i < count; i++) {
        if (is_split(paths[i])) {
            split_input sp;
            GB_TRY(parse_split(&sp, paths[i]));
            GB_TRY(gb_image_split_check_present(gb_data_root(net->data_root), sp.dataset, sp.split));
        } else {
            GB_TRY(gb_cli_check_input(paths[i]));
        }
    }
    return GB_OK;
}

/* A split's images through the network: loaded whole, then the first N. */
static gb_status split_outputs(float **pool, float **logits, size_t *n, char *kind, size_t kind_size, const char *arg,
                               gb_cli_network *net) {
    split_input sp;
    GB_TRY(parse_split(&sp, arg));
    gb_image_set set;
    GB_TRY(gb_image_split_load(&set, gb_data_root(net->data_root), sp.dataset, sp.split, (int)net->threads));
    size_t use = sp.first ? (size_t)sp.first : (size_t)set.count;
    gb_status s = GB_OK;
    if (use > (size_t)set.count)
        s = gb_fail(GB_INPUT, "%s: asks for the first %zu images, but %s:%s holds %d", arg, use, sp.dataset, sp.split,
                    set.count);
    if (s == GB_OK)
        s = gb_fid_images_outputs(pool, logits, &net->net, set.pixels, use, set.channels, set.height, set.width,
                                  net->protocol, set.identity);
    if (s == GB_OK) {
        *n = use;
        snprintf(kind, kind_size, "%s, the first %zu of %d images, sha256 %s, protocol %s", set.identity, use,
                 set.count, set.sha256[0] ? set.sha256 : "none", gb_fid_protocol_name(net->protocol));
    }
    gb_image_set_free(&set);
    return s;
}

static gb_status image_outputs(float **pool, float **logits, size_t *n, char *kind, size_t kind_size, const char *arg,
                               gb_cli_network *net) {
    GB_TRY(gb_cli_network_open(net));
    if (is_split(arg)) return split_outputs(pool, logits, n, kind, kind_size, arg, net);
    GB_TRY(gb_fid_folder_outputs(pool, logits, n, &net->net, arg, net->protocol));
    snprintf(kind, kind_size, "images, protocol %s", gb_fid_protocol_name(net->protocol));
    return GB_OK;
}

gb_status gb_cli_load_feature_input(gb_cli_features *f, const char *path, gb_cli_network *net) {
    return gb_cli_load_rows(f, path, net, 0, "features");
}


void gb_cli_describe_network(const gb_cli_network *net) {
    if (!net->open && net->given)
        gb_warn("--protocol/--weights/--batch/--device/--threads/--data apply to images only, and no input held any: "
                "ignored");
    if (net->open)
        printf("inception: %s (sha256 %s), protocol %s, device %s\n", net->path, net->net.sha256,
               gb_fid_protocol_name(net->protocol), net->dev.name);
}
