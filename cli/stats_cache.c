/* cli/stats_cache.c - the cache of dataset splits' FID statistics (see cli/stats_cache.h). */
#include "stats_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/atomic_file.h"
#include "../core/log.h"
#include "../core/sha256.h"
#include "../datasets/registry.h"

#define CACHE_FORMAT "genbench fid-stats cache 1"
#define PROBE_IMAGES 2

/* "cifar10:train" -> "cifar10-train": the split's identity as a file-name part. */
static void file_part(char *out, size_t size, const char *identity) {
    snprintf(out, size, "%s", identity);
    for (char *c = out; *c; c++)
        if (*c == ':' || *c == '/') *c = '-';
}

gb_status gb_stats_cache_locate(char *path, size_t size, const gb_cli_input *in, gb_cli_network *net) {
    GB_ASSERT(in->kind == GB_CLI_SPLIT && in->set.pixels, "the statistics cache is for loaded dataset splits");
    GB_TRY(gb_cli_network_open(net));
    const gb_image_set *set = &in->set;
    const size_t probe_n = in->n < PROBE_IMAGES ? in->n : PROBE_IMAGES, dims = (size_t)net->net.dims;
    float *probe = NULL;
    const gb_fid_wanted want = {.pool = &probe};
    GB_TRY(gb_fid_images_outputs(&want, &net->net, set->pixels, probe_n, set->channels, set->height, set->width, 0,
                                 net->protocol, "the statistics cache's probe"));
    char described[1024];
    snprintf(described, sizeof described,
             CACHE_FORMAT "\nsplit %s\nimages %zu of %zu\nfiles sha256 %s\nfeatures %zu\nprotocol %s\nweights %s\n"
                          "device %s, threads %d, batch %llu\nprobe %zu images\n",
             set->identity, in->n, in->split_total, set->sha256, dims, gb_fid_protocol_name(net->protocol),
             net->net.sha256, net->dev.ops->name, net->dev.threads, net->batch, probe_n);
    gb_sha256_ctx c;
    gb_sha256_init(&c);
    gb_sha256_update(&c, described, strlen(described));
    gb_sha256_update(&c, probe, probe_n * dims * sizeof *probe);
    free(probe);
    uint8_t digest[32];
    char hex[65], name[64];
    gb_sha256_final(&c, digest);
    gb_sha256_hex(digest, hex);
    file_part(name, sizeof name, set->identity);
    int len = snprintf(path, size, "%s/cache/fid-stats/%s-%zu-%s-%.16s.npz", gb_data_root(net->data_root), name, in->n,
                       gb_fid_protocol_name(net->protocol), hex);
    if (len < 0 || (size_t)len >= size) return gb_fail(GB_USAGE, "the data root's path is too long for its cache");
    return GB_OK;
}

int gb_stats_cache_load(gb_fid_stats *out, const char *path, uint64_t n, const gb_cli_network *net) {
    memset(out, 0, sizeof *out);
    if (access(path, F_OK) != 0) return 0;
    if (gb_fid_stats_load(out, path, NULL) != GB_OK) {
        gb_warn("statistics cache: %s cannot be used (%s); recomputing it", path, gb_last_error());
        return 0;
    }
    const char *protocol = gb_fid_protocol_name(net->protocol);
    if (out->n != n || out->dim != (size_t)net->net.dims || strcmp(out->protocol, protocol) != 0 ||
        strcmp(out->weights_sha256, net->net.sha256) != 0) {
        gb_warn("statistics cache: %s records n = %llu, d = %zu, protocol '%s', weights '%.16s', not those its name "
                "stands for (n = %llu, d = %d, %s, %.16s); recomputing it",
                path, (unsigned long long)out->n, out->dim, out->protocol, out->weights_sha256, (unsigned long long)n,
                net->net.dims, protocol, net->net.sha256);
        gb_fid_stats_free(out);
        return 0;
    }
    return 1;
}

void gb_stats_cache_store(const char *path, const gb_fid_stats *st) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    if ((slash && gb_mkdirs(dir) != GB_OK) || gb_fid_stats_save(path, st, GB_FID_LAYOUT_PYTORCH_FID) != GB_OK)
        gb_warn("statistics cache: not written (%s); the next run computes them again", gb_last_error());
}
