/* core/checkpoint.c - save/restore the whole training state (see checkpoint.h). */
#include "checkpoint.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"
#include "sha256.h"

gb_stream *gb_train_state_stream(gb_train_state *st, const char *name, gb_stream initial) {
    GB_ASSERT(st->n_streams < GB_CHECKPOINT_MAX_STREAMS, "too many checkpointed streams");
    size_t i = st->n_streams++;
    snprintf(st->stream_names[i], sizeof st->stream_names[i], "%s", name);
    st->streams[i] = initial;
    return &st->streams[i];
}

void gb_train_state_extra(gb_train_state *st, const char *name, float *data, size_t count) {
    GB_ASSERT(st->n_extras < GB_CHECKPOINT_MAX_STREAMS, "too many checkpointed arrays");
    size_t i = st->n_extras++;
    snprintf(st->extra_names[i], sizeof st->extra_names[i], "extra/%s", name);
    st->extras[i] = data;
    st->extra_counts[i] = count;
}

static const char *role_names[3] = {"param", "adam_m", "adam_v"};

gb_status gb_checkpoint_save(const char *path, gb_device *dev, const gb_param_block *pb,
                             const gb_train_state *st) {
    size_t bytes = pb->total * sizeof(float);
    float *host = malloc(3 * bytes + 1);
    GB_ASSERT(host, "out of host memory for a %zu-byte checkpoint", 3 * bytes);
    const float *blocks[3] = {pb->params, pb->adam_m, pb->adam_v};
    for (int r = 0; r < 3; r++) gb_download(dev, host + r * pb->total, blocks[r], bytes);

    size_t n = 3 * pb->n_specs + st->n_extras;
    gb_st_entry *entries = calloc(n, sizeof *entries);
    char (*names)[GB_PARAM_NAME_MAX + 16] = calloc(n, sizeof *names);
    GB_ASSERT(entries && names, "out of host memory");
    for (int r = 0; r < 3; r++)
        for (size_t i = 0; i < pb->n_specs; i++) {
            size_t k = r * pb->n_specs + i;
            const gb_param_spec *s = &pb->specs[i];
            snprintf(names[k], sizeof names[k], "%s/%s", role_names[r], s->name);
            entries[k].name = names[k];
            entries[k].dtype = GB_DT_F32;
            entries[k].ndim = s->ndim;
            for (int d = 0; d < s->ndim; d++) entries[k].shape[d] = s->shape[d];
            entries[k].data = host + r * pb->total + pb->offsets[i];
        }
    for (size_t i = 0; i < st->n_extras; i++) {
        gb_st_entry *e = &entries[3 * pb->n_specs + i];
        e->name = st->extra_names[i];
        e->dtype = GB_DT_F32;
        e->ndim = 1;
        e->shape[0] = (int64_t)st->extra_counts[i];
        e->data = st->extras[i];
    }

    gb_train_meta meta;
    gb_train_meta_fill(&meta, st);
    gb_train_meta_checksum(&meta, entries, n);
    gb_status s = gb_safetensors_write(path, entries, n, meta.pairs);
    free(names);
    free(entries);
    free(host);
    return s;
}

static gb_status parse_u64(const gb_safetensors *f, const char *path, const char *key, uint64_t *out) {
    const char *v = gb_safetensors_meta(f, key);
    char *end = NULL;
    if (!v || !*v) return gb_fail(GB_INPUT, "%s: checkpoint metadata '%s' is missing", path, key);
    errno = 0;
    *out = strtoull(v, &end, 10);
    /* strtoull alone would take " 10" and "-10" (as 2^64 - 10) */
    if (!isdigit((unsigned char)v[0]) || *end || errno == ERANGE)
        return gb_fail(GB_INPUT, "%s: checkpoint metadata '%s' = '%s' is not a non-negative decimal integer", path,
                       key, v);
    return GB_OK;
}

void gb_train_meta_checksum(gb_train_meta *meta, const gb_st_entry *entries, size_t n) {
    gb_sha256_ctx c;
    gb_sha256_init(&c);
    for (size_t i = 0; i < n; i++) {
        size_t count = 1;
        for (int d = 0; d < entries[i].ndim; d++) count *= (size_t)entries[i].shape[d];
        if (count) gb_sha256_update(&c, entries[i].data, count * gb_dtype_size(entries[i].dtype));
    }
    uint8_t digest[32];
    gb_sha256_final(&c, digest);
    gb_sha256_hex(digest, meta->data_sha256);
    size_t m = 0;
    while (meta->pairs[m]) m++;
    meta->pairs[m++] = "data_sha256", meta->pairs[m++] = meta->data_sha256;
    meta->pairs[m] = NULL;
}

static gb_status verify_checksum(const gb_safetensors *f, const char *path) {
    const char *want = gb_safetensors_meta(f, "data_sha256");
    if (!want)
        return gb_fail(GB_INPUT, "%s: checkpoint has no data_sha256 (written by an older genbench?); start afresh "
                                 "without --resume",
                       path);
    gb_sha256_ctx c;
    gb_sha256_init(&c);
    for (size_t i = 0; i < f->n_tensors; i++) gb_sha256_update(&c, f->tensors[i].data, f->tensors[i].nbytes);
    uint8_t digest[32];
    char got[65];
    gb_sha256_final(&c, digest);
    gb_sha256_hex(digest, got);
    if (strcmp(got, want) != 0)
        return gb_fail(GB_INPUT, "%s: the checkpoint's tensor data do not match its checksum (data_sha256 %.16s..., "
                                 "data %.16s...): the file is damaged",
                       path, want, got);
    return GB_OK;
}

gb_status gb_checkpoint_read_param(const gb_safetensors *f, const char *path, const char *name,
                                   const gb_param_spec *spec, float *out) {
    const gb_st_tensor *t = gb_safetensors_find(f, name);
    int same = t && t->ndim == spec->ndim;
    for (int d = 0; same && d < spec->ndim; d++) same = t->shape[d] == spec->shape[d];
    if (t && !same) return gb_fail(GB_INPUT, "%s: tensor '%s' has another shape than the model's", path, name);
    size_t n = gb_param_numel(spec);
    GB_TRY(gb_safetensors_get_f32(f, name, out, n));
    for (size_t i = 0; i < n; i++)
        if (!isfinite(out[i])) return gb_fail(GB_INPUT, "%s: tensor '%s' holds %g at element %zu", path, name, out[i], i);
    return GB_OK;
}

void gb_train_meta_fill(gb_train_meta *meta, const gb_train_state *st) {
    size_t m = 0;
    snprintf(meta->step, sizeof meta->step, "%" PRIu64, st->step);
    snprintf(meta->position, sizeof meta->position, "%" PRIu64, st->data_position);
    meta->pairs[m++] = "step", meta->pairs[m++] = meta->step;
    meta->pairs[m++] = "data_position", meta->pairs[m++] = meta->position;
    meta->pairs[m++] = "config", meta->pairs[m++] = st->config;
    for (size_t i = 0; i < st->n_streams; i++) {
        snprintf(meta->rng_keys[i], sizeof meta->rng_keys[i], "rng/%s", st->stream_names[i]);
        snprintf(meta->rng[i], sizeof meta->rng[i], "%08" PRIx32 ":%08" PRIx32 ":%" PRIu64, st->streams[i].key[0],
                 st->streams[i].key[1], st->streams[i].position);
        meta->pairs[m++] = meta->rng_keys[i], meta->pairs[m++] = meta->rng[i];
    }
    meta->pairs[m] = NULL;
}

gb_status gb_train_state_read(const gb_safetensors *f, const char *path, gb_train_state *st) {
    const char *config = gb_safetensors_meta(f, "config");
    if (!config || strcmp(config, st->config) != 0)
        return gb_fail(GB_INPUT, "%s: checkpoint was written for config '%s', this run is '%s'; "
                       "use a fresh --out directory or the same options", path, config ? config : "(none)",
                       st->config);
    GB_TRY(verify_checksum(f, path));
    GB_TRY(parse_u64(f, path, "step", &st->step));
    if (st->last_step && st->step > st->last_step)
        return gb_fail(GB_INPUT, "%s: checkpoint at step %" PRIu64 ", beyond this run's %" PRIu64 " steps", path,
                       st->step, st->last_step);
    GB_TRY(parse_u64(f, path, "data_position", &st->data_position));
    for (size_t i = 0; i < st->n_streams; i++) {
        char key[80];
        snprintf(key, sizeof key, "rng/%s", st->stream_names[i]);
        const char *v = gb_safetensors_meta(f, key);
        gb_stream r;
        if (!v || sscanf(v, "%" SCNx32 ":%" SCNx32 ":%" SCNu64, &r.key[0], &r.key[1], &r.position) != 3)
            return gb_fail(GB_INPUT, "%s: checkpoint metadata '%s' is missing or malformed", path, key);
        st->streams[i] = r;
    }
    for (size_t i = 0; i < st->n_extras; i++)
        GB_TRY(gb_safetensors_get_f32(f, st->extra_names[i], st->extras[i], st->extra_counts[i]));
    return GB_OK;
}

gb_status gb_checkpoint_load(const char *path, gb_device *dev, gb_param_block *pb,
                             gb_train_state *st) {
    gb_safetensors f;
    GB_TRY(gb_safetensors_read(path, &f));
    gb_status s = gb_train_state_read(&f, path, st);
    if (s != GB_OK) goto done;
    size_t bytes = pb->total * sizeof(float);
    float *host = malloc(bytes + 1);
    GB_ASSERT(host, "out of host memory");
    float *blocks[3] = {pb->params, pb->adam_m, pb->adam_v};
    for (int r = 0; r < 3 && s == GB_OK; r++) {
        for (size_t i = 0; i < pb->n_specs && s == GB_OK; i++) {
            char name[GB_PARAM_NAME_MAX + 16];
            snprintf(name, sizeof name, "%s/%s", role_names[r], pb->specs[i].name);
            s = gb_checkpoint_read_param(&f, path, name, &pb->specs[i], host + pb->offsets[i]);
        }
        if (s == GB_OK) gb_upload(dev, blocks[r], host, bytes);
    }
    free(host);
    if (s == GB_OK) gb_params_zero_grad(pb, dev);
done:
    gb_safetensors_free(&f);
    return s;
}
