/* cli/inception_inputs.c - feature files and the Inception network behind the metric
 * commands' image folders (see cli/inception_inputs.h). */
#include "inception_inputs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../core/log.h"
#include "../core/npy.h"
#include "../datasets/registry.h"
#include "cli.h"

gb_status gb_cli_load_features(gb_cli_features *f, const char *path, const char *what) {
    memset(f, 0, sizeof *f);
    gb_npy_array a;
    gb_npz z = {0};
    const gb_npy_array *arr;
    if (gb_cli_has_suffix(path, ".npz")) {
        GB_TRY(gb_npz_load(&z, path));
        arr = gb_npz_find(&z, "feats");
        if (!arr) {
            gb_npz_free(&z);
            return gb_fail(GB_INPUT, "%s: no 'feats' array (expected %s [n, d] as .npy, or clean-fid's feature .npz)",
                           path, what);
        }
    } else {
        GB_TRY(gb_npy_load(&a, path));
        arr = &a;
    }
    gb_status s = GB_OK;
    if (arr->ndim != 2 || arr->shape[0] == 0 || arr->shape[1] == 0)
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
    if (arr == &a) gb_npy_free(&a);
    else gb_npz_free(&z);
    return s;
}

gb_status gb_cli_network_open(gb_cli_network *net) {
    if (net->open) return GB_OK;
    const gb_dataset_info *ds = gb_dataset_find("inception-weights");
    GB_ASSERT(ds, "the dataset table has no inception-weights entry");
    net->path = net->weights ? strdup(net->weights) : gb_dataset_path(gb_data_root(NULL), ds, GB_INCEPTION_FILE);
    if (!net->path) return gb_fail(GB_ENV, "out of memory");
    struct stat st;
    if (stat(net->path, &st) != 0)
        return gb_fail(GB_ENV, "image folders need the Inception weights %s, not found at %s: fetch them with "
                               "`genbench data fetch inception-weights` (into data/weights/, or $GB_DATA/weights/) "
                               "or pass --weights FILE",
                       GB_INCEPTION_FILE, net->path);
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
    static const char *const names[] = {"--protocol", "--weights", "--weights-sha256", "--batch", "--device", "--threads"};
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
    else if (strcmp(opt, "--batch") == 0) return gb_cli_parse_u64(opt, v, &net->batch);
    else if (strcmp(opt, "--threads") == 0) {
        GB_TRY(gb_cli_parse_u64(opt, v, &net->threads));
        if (net->threads == 0) return gb_fail(GB_USAGE, "--threads 0: expected 1..1024"); /* 0 means "not given" */
    }
    return GB_OK;
}

gb_status gb_cli_check_inputs(const gb_cli_network *net, const char *const *paths, size_t count, const char *cmd) {
    if (net->weights_sha256 && !net->weights)
        return gb_fail(GB_USAGE, "--weights-sha256 vouches for a file given with --weights FILE; pass both");
    if (net->batch == 0 || net->batch > 4096 || net->threads > 1024) /* threads 0: not given */
        return gb_fail(GB_USAGE, "--batch must be 1..4096 and --threads 1..1024");
    int folders = 0;
    for (size_t i = 0; i < count; i++) {
        GB_TRY(gb_cli_check_input(paths[i]));
        folders += gb_cli_is_folder(paths[i]);
    }
    if (net->given && !folders)
        gb_warn("%s: --protocol/--weights/--batch/--device/--threads apply to image folders only, and no input is "
                "one: ignored",
                cmd);
    return GB_OK;
}

gb_status gb_cli_folder_features(gb_cli_features *f, const char *dir, gb_cli_network *net) {
    memset(f, 0, sizeof *f);
    GB_TRY(gb_cli_network_open(net));
    GB_TRY(gb_fid_folder_features(&f->x, &f->n, &net->net, dir, net->protocol));
    f->d = GB_INCEPTION_FEATURES;
    return GB_OK;
}

gb_status gb_cli_load_feature_input(gb_cli_features *f, const char *path, gb_cli_network *net) {
    return gb_cli_is_folder(path) ? gb_cli_folder_features(f, path, net) : gb_cli_load_features(f, path, "features");
}

void gb_cli_describe_network(const gb_cli_network *net) {
    if (net->open)
        printf("inception: %s (sha256 %s), protocol %s, device %s\n", net->path, net->net.sha256,
               gb_fid_protocol_name(net->protocol), net->dev.name);
}
