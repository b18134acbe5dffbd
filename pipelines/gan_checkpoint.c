/* pipelines/gan_checkpoint.c - save/restore a multi-block training state (gan_checkpoint.h). */
#include "gan_checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/safetensors.h"

static const char *role_names[3] = {"param", "adam_m", "adam_v"};

static int roles_of(const gan_ckpt_block *b) { return b->with_adam ? 3 : 1; }

static float *role_block(const gb_param_block *pb, int r) {
    return r == 0 ? pb->params : r == 1 ? pb->adam_m : pb->adam_v;
}

typedef char entry_name[GB_PARAM_NAME_MAX + 48];

gb_status gan_checkpoint_save(const char *path, gb_device *dev, const gan_ckpt_block *blocks,
                              size_t n_blocks, const gb_train_state *st) {
    size_t n = st->n_extras, floats = 0;
    for (size_t b = 0; b < n_blocks; b++) {
        n += (size_t)roles_of(&blocks[b]) * blocks[b].pb->n_specs;
        floats += (size_t)roles_of(&blocks[b]) * blocks[b].pb->total;
    }
    float *host = malloc(floats * sizeof(float) + 1);
    gb_st_entry *entries = calloc(n, sizeof *entries);
    entry_name *names = calloc(n, sizeof *names);
    GB_ASSERT(host && entries && names, "out of host memory for a %zu-float checkpoint", floats);
    size_t k = 0, at = 0;
    for (size_t b = 0; b < n_blocks; b++) {
        const gb_param_block *pb = blocks[b].pb;
        for (int r = 0; r < roles_of(&blocks[b]); r++) {
            float *h = host + at;
            gb_download(dev, h, role_block(pb, r), pb->total * sizeof(float));
            at += pb->total;
            for (size_t i = 0; i < pb->n_specs; i++, k++) {
                const gb_param_spec *s = &pb->specs[i];
                snprintf(names[k], sizeof names[k], "%s/%s/%s", blocks[b].prefix, role_names[r], s->name);
                entries[k] = (gb_st_entry){.name = names[k], .dtype = GB_DT_F32, .ndim = s->ndim,
                                           .data = h + pb->offsets[i]};
                for (int d = 0; d < s->ndim; d++) entries[k].shape[d] = s->shape[d];
            }
        }
    }
    for (size_t i = 0; i < st->n_extras; i++, k++)
        entries[k] = (gb_st_entry){.name = st->extra_names[i], .dtype = GB_DT_F32, .ndim = 1,
                                   .shape = {(int64_t)st->extra_counts[i]}, .data = st->extras[i]};

    gb_train_meta meta;
    gb_train_meta_fill(&meta, st);
    gb_train_meta_checksum(&meta, entries, n);
    gb_status s = gb_safetensors_write(path, entries, n, meta.pairs);
    free(names);
    free(entries);
    free(host);
    return s;
}

gb_status gan_checkpoint_load(const char *path, gb_device *dev, const gan_ckpt_block *blocks,
                              size_t n_blocks, gb_train_state *st) {
    gb_safetensors f;
    GB_TRY(gb_safetensors_read(path, &f));
    gb_status s = gb_train_state_read(&f, path, st);
    /* Everything is read into host memory first, so a bad tensor leaves the models untouched. */
    size_t floats = 0;
    for (size_t b = 0; b < n_blocks; b++) floats += (size_t)roles_of(&blocks[b]) * blocks[b].pb->total;
    float *host = malloc(floats * sizeof(float) + 1);
    GB_ASSERT(host, "out of host memory");
    size_t at = 0;
    for (size_t b = 0; b < n_blocks && s == GB_OK; b++) {
        const gb_param_block *pb = blocks[b].pb;
        for (int r = 0; r < roles_of(&blocks[b]) && s == GB_OK; r++, at += pb->total)
            for (size_t i = 0; i < pb->n_specs && s == GB_OK; i++) {
                entry_name name;
                snprintf(name, sizeof name, "%s/%s/%s", blocks[b].prefix, role_names[r], pb->specs[i].name);
                s = gb_checkpoint_read_param(&f, path, name, &pb->specs[i], host + at + pb->offsets[i]);
            }
    }
    at = 0;
    for (size_t b = 0; b < n_blocks && s == GB_OK; b++) {
        gb_param_block *pb = blocks[b].pb;
        for (int r = 0; r < roles_of(&blocks[b]); r++, at += pb->total)
            gb_upload(dev, role_block(pb, r), host + at, pb->total * sizeof(float));
        if (blocks[b].with_adam) gb_params_zero_grad(pb, dev);
    }
    free(host);
    gb_safetensors_free(&f);
    return s;
}
