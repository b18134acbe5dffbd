/* cli/inception_inputs.c - the Inception network behind the metric commands' images, with its
 * command-line options (see cli/inception_inputs.h). */
#include "inception_inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../core/log.h"
#include "../datasets/registry.h"
#include "cli.h"

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
    s = gb_inception_set_dims(&net->net, (int)gb_cli_network_dims(net));
    if (s != GB_OK) { /* checked with the options already; kept for callers that skip the check */
        gb_inception_free(&net->net);
        gb_device_close(&net->dev);
        return s;
    }
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
                                        "--device",   "--threads", "--data",           "--dims"};
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
    else if (strcmp(opt, "--dims") == 0) {
        GB_TRY(gb_cli_parse_u64(opt, v, &net->dims));
        if (net->dims != 64 && net->dims != 192 && net->dims != 768 && net->dims != 2048)
            return gb_fail(GB_USAGE, "--dims %s: expected 64, 192, 768 or 2048 (pytorch-fid's choices)", v);
    }
    else if (strcmp(opt, "--threads") == 0) {
        GB_TRY(gb_cli_parse_u64(opt, v, &net->threads));
        if (net->threads == 0) return gb_fail(GB_USAGE, "--threads 0: expected 1..1024"); /* 0 means "not given" */
    }
    return GB_OK;
}

gb_status gb_cli_check_network_options(const gb_cli_network *net) {
    if (net->weights_sha256 && !net->weights)
        return gb_fail(GB_USAGE, "--weights-sha256 vouches for a file given with --weights FILE; pass both");
    if (net->batch == 0 || net->batch > 4096)
        return gb_fail(GB_USAGE, "--batch %llu: expected 1..4096", net->batch);
    if (net->threads > 1024) /* threads 0: not given */
        return gb_fail(GB_USAGE, "--threads %llu: expected 1..1024", net->threads);
    return GB_OK;
}

void gb_cli_describe_network(const gb_cli_network *net) {
    if (!net->open && net->given)
        gb_warn("--protocol/--weights/--batch/--device/--threads/--data/--dims apply to images only, and no input held "
                "any: ignored");
    if (net->open)
        printf("inception: %s (sha256 %s), protocol %s, %d-d features%s, device %s\n", net->path, net->net.sha256,
               gb_fid_protocol_name(net->protocol), net->net.dims,
               net->net.dims == GB_INCEPTION_FEATURES  ? " (pool3)"
               : net->net.dims == GB_INCEPTION_SPATIAL ? " (sFID: mixed_6/conv channels 0..6 at 17 x 17, h-w-c order)"
                                                       : " (an earlier block's average, pytorch-fid --dims)",
               net->dev.name);
}

void gb_cli_network_stamp(gb_fid_stats *st, const gb_cli_network *net) {
    snprintf(st->protocol, sizeof st->protocol, "%s", gb_fid_protocol_name(net->protocol));
    snprintf(st->weights_sha256, sizeof st->weights_sha256, "%s", net->net.sha256);
}
