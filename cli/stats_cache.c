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

/* The user's cache folder for the statistics ("" without $XDG_CACHE_HOME or $HOME), as the
 * XDG base-directory convention places it. */
static void per_user_folder(char *out, size_t size) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int len = -1;
    if (xdg && xdg[0] == '/') len = snprintf(out, size, "%s/genbench/fid-stats", xdg);
    else if (home && home[0]) len = snprintf(out, size, "%s/.cache/genbench/fid-stats", home);
    if (len < 0 || (size_t)len >= size) out[0] = '\0';
}

/* folder/name into path, or "" when it does not fit (or there is no folder). */
static void join(char *path, size_t size, const char *folder, const char *name) {
    int len = folder[0] ? snprintf(path, size, "%s/%s", folder, name) : -1;
    if (len < 0 || (size_t)len >= size) path[0] = '\0';
}

gb_status gb_stats_cache_locate(gb_stats_cache_entry *e, const gb_cli_input *in, gb_cli_network *net) {
    GB_ASSERT(in->kind == GB_CLI_SPLIT && in->set.pixels, "the statistics cache is for loaded dataset splits");
    memset(e, 0, sizeof *e);
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
    char hex[65], part[64], name[160], folder[1100];
    gb_sha256_final(&c, digest);
    gb_sha256_hex(digest, hex);
    file_part(part, sizeof part, set->identity);
    snprintf(name, sizeof name, "%s-%zu-%s-%.16s.npz", part, in->n, gb_fid_protocol_name(net->protocol), hex);
    const char *root = gb_data_root(net->data_root);
    int len = snprintf(folder, sizeof folder, "%s/cache/fid-stats", root);
    if (len > 0 && (size_t)len < sizeof folder) join(e->in_data_root, sizeof e->in_data_root, folder, name);
    per_user_folder(folder, sizeof folder);
    join(e->per_user, sizeof e->per_user, folder, name);
    if (!e->in_data_root[0] && !e->per_user[0]) /* the cache is a convenience: computed without it */
        gb_warn("statistics cache: neither the data root %.200s nor $XDG_CACHE_HOME / $HOME can hold it; computing "
                "without the cache",
                root);
    return GB_OK;
}

/* 1 when path holds the statistics e stands for (see gb_stats_cache_load). */
static int load_one(gb_fid_stats *out, const char *path, uint64_t n, const gb_cli_network *net) {
    memset(out, 0, sizeof *out);
    if (!path[0] || access(path, F_OK) != 0) return 0;
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

/* Writes st to path, creating its folder; GB_OK or the failure (nothing reported). */
static gb_status store_one(const char *path, const gb_fid_stats *st) {
    if (!path[0]) return gb_fail(GB_ENV, "no path for it");
    char dir[1200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    if (slash) GB_TRY(gb_mkdirs(dir));
    return gb_fid_stats_save(path, st, GB_FID_LAYOUT_PYTORCH_FID);
}

int gb_stats_cache_load(gb_fid_stats *out, gb_stats_cache_entry *e, uint64_t n, const gb_cli_network *net) {
    e->found = NULL;
    if (load_one(out, e->in_data_root, n, net)) {
        e->found = e->in_data_root;
    } else if (load_one(out, e->per_user, n, net)) {
        e->found = e->per_user;
        /* a damaged entry under the data root would be warned about on every run: replace it */
        if (e->in_data_root[0] && access(e->in_data_root, F_OK) == 0 && store_one(e->in_data_root, out) == GB_OK)
            gb_info("statistics cache: rewrote %s from %s", e->in_data_root, e->per_user);
    }
    return e->found != NULL;
}

void gb_stats_cache_store(const gb_stats_cache_entry *e, const gb_fid_stats *st) {
    if (!e->in_data_root[0] && !e->per_user[0]) return; /* gb_stats_cache_locate said so already */
    if (store_one(e->in_data_root, st) == GB_OK) return;
    char first[512];
    snprintf(first, sizeof first, "%s", gb_last_error());
    if (store_one(e->per_user, st) == GB_OK) {
        gb_info("statistics cache: not under the data root (%s); wrote %s", first, e->per_user);
        return;
    }
    gb_warn("statistics cache: not written (under the data root: %s; in the user's cache: %s); the next run computes "
            "them again (--no-cache skips the cache)",
            first, gb_last_error());
}
