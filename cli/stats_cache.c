/* cli/stats_cache.c - the cache of dataset splits' FID statistics (see cli/stats_cache.h). */
#include "stats_cache.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/atomic_file.h"
#include "../core/log.h"
#include "../core/philox.h"
#include "../core/sha256.h"
#include "../datasets/registry.h"

#define CACHE_FORMAT "genbench fid-stats cache 2"
#define PROBE_IMAGES 2
#define PROBE_ROWS (GB_FID_CHUNK + 3) /* one whole chunk of the accumulator and a partial one */

/* The statistics half of the probe: mean and covariance of a fixed block of PROBE_ROWS x dims
 * rows (uniform in (0, 1) from a fixed Philox stream), summed by the BLAS as the real
 * statistics are, into c. A BLAS of another version, CPU kernel or thread count changes these
 * bits. */
static gb_status hash_statistics_probe(gb_sha256_ctx *c, size_t dims) {
    float *rows = malloc((size_t)PROBE_ROWS * dims * sizeof *rows);
    if (!rows) return gb_fail(GB_ENV, "out of memory for the statistics cache's probe");
    gb_stream stream = gb_stream_open(0, "stats-cache/probe-rows");
    gb_stream_uniform(&stream, rows, (size_t)PROBE_ROWS * dims);
    gb_fid_accum acc;
    gb_fid_stats st = {0};
    gb_status s = gb_fid_accum_init(&acc, dims);
    if (s == GB_OK) s = gb_fid_accum_add(&acc, rows, PROBE_ROWS);
    if (s == GB_OK) s = gb_fid_accum_finish(&acc, &st); /* quiet: no few-samples warning */
    gb_fid_accum_free(&acc);
    free(rows);
    if (s != GB_OK) return s;
    gb_sha256_update(c, st.mu, dims * sizeof *st.mu);
    gb_sha256_update(c, st.sigma, dims * dims * sizeof *st.sigma);
    gb_fid_stats_free(&st);
    return GB_OK;
}

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
    /* dev.name: "cpu (OpenBLAS VERSION CONFIG CORE, N threads)" or the GPU's name; the BLAS's
     * own thread count too, which on CUDA is not the device's (its threads decode images) */
    char described[1024];
    snprintf(described, sizeof described,
             CACHE_FORMAT "\nsplit %s\nimages %zu of %zu\nfiles sha256 %s\nfeatures %zu\nprotocol %s\nweights %s\n"
                          "device %s (%s), threads %d, batch %llu\nblas %s, %d threads\nprobe %zu images\n",
             set->identity, in->n, in->split_total, set->sha256, dims, gb_fid_protocol_name(net->protocol),
             net->net.sha256, net->dev.ops->name, net->dev.name, net->dev.threads, net->batch, openblas_get_config(),
             openblas_get_num_threads(), probe_n);
    gb_sha256_ctx c;
    gb_sha256_init(&c);
    gb_sha256_update(&c, described, strlen(described));
    gb_sha256_update(&c, probe, probe_n * dims * sizeof *probe);
    free(probe);
    GB_TRY(hash_statistics_probe(&c, dims));
    uint8_t digest[32];
    char hex[65], name[64];
    gb_sha256_final(&c, digest);
    gb_sha256_hex(digest, hex);
    file_part(name, sizeof name, set->identity);
    const char *root = gb_data_root(net->data_root);
    int len = snprintf(path, size, "%s/cache/fid-stats/%s-%zu-%s-%.16s.npz", root, name, in->n,
                       gb_fid_protocol_name(net->protocol), hex);
    if (len < 0 || (size_t)len >= size) { /* the cache is a convenience: computed without it */
        gb_warn("statistics cache: the data root %.200s is too long a path for it; computing without the cache",
                root);
        path[0] = '\0';
    }
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
        gb_warn("statistics cache: not written (%s); the next run computes them again (--no-cache skips the "
                "cache)",
                gb_last_error());
}
