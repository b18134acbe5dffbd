/* core/params.c - parameter table -> blocks, initialisation, optimizer pass (see params.h). */
#include "params.h"

#include <stdlib.h>
#include <string.h>

#include "philox.h"

size_t gb_param_numel(const gb_param_spec *s) {
    size_t n = 1;
    for (int d = 0; d < s->ndim; d++) n *= (size_t)s->shape[d];
    return n;
}

void gb_params_create(gb_param_block *pb, gb_device *dev, const gb_param_spec *specs, size_t n) {
    memset(pb, 0, sizeof *pb);
    pb->specs = malloc(n * sizeof *specs);
    pb->offsets = malloc(n * sizeof *pb->offsets);
    GB_ASSERT(pb->specs && pb->offsets, "out of host memory for %zu parameter specs", n);
    memcpy(pb->specs, specs, n * sizeof *specs);
    pb->n_specs = n;
    for (size_t i = 0; i < n; i++) {
        pb->offsets[i] = pb->total;
        pb->total += gb_param_numel(&specs[i]);
    }
    size_t bytes = pb->total * sizeof(float);
    float **blocks[4] = {&pb->params, &pb->grads, &pb->adam_m, &pb->adam_v};
    for (int b = 0; b < 4; b++) {
        *blocks[b] = gb_dev_alloc(dev, bytes);
        gb_dev_zero(dev, *blocks[b], bytes);
    }
}

void gb_params_init(gb_param_block *pb, gb_device *dev, uint64_t seed) {
    float *host = malloc(pb->total * sizeof(float));
    GB_ASSERT(host, "out of host memory for %zu parameters", pb->total);
    for (size_t i = 0; i < pb->n_specs; i++) {
        const gb_param_spec *s = &pb->specs[i];
        float *t = host + pb->offsets[i];
        size_t n = gb_param_numel(s);
        gb_stream st = gb_stream_openf(seed, "init/%s", s->name);
        switch (s->init) {
        case GB_INIT_ZEROS: memset(t, 0, n * sizeof(float)); break;
        case GB_INIT_ONES: for (size_t k = 0; k < n; k++) t[k] = 1.0f; break;
        case GB_INIT_UNIFORM:
            for (size_t k = 0; k < n; k++) t[k] = gb_stream_uniform_range(&st, -s->init_scale, s->init_scale);
            break;
        case GB_INIT_NORMAL:
            gb_stream_normal(&st, t, n);
            for (size_t k = 0; k < n; k++) t[k] *= s->init_scale;
            break;
        }
    }
    size_t bytes = pb->total * sizeof(float);
    gb_upload(dev, pb->params, host, bytes);
    gb_dev_zero(dev, pb->grads, bytes);
    gb_dev_zero(dev, pb->adam_m, bytes);
    gb_dev_zero(dev, pb->adam_v, bytes);
    free(host);
}

void gb_params_zero_grad(gb_param_block *pb, gb_device *dev) {
    gb_dev_zero(dev, pb->grads, pb->total * sizeof(float));
}

void gb_params_adam_step(gb_param_block *pb, gb_device *dev, const gb_adam_hparams *hp, long step) {
    gb_adam_update(dev, pb->params, pb->grads, pb->adam_m, pb->adam_v, pb->total, hp, step);
}

int gb_params_find(const gb_param_block *pb, const char *name) {
    for (size_t i = 0; i < pb->n_specs; i++)
        if (strcmp(pb->specs[i].name, name) == 0) return (int)i;
    return -1;
}

void gb_params_destroy(gb_param_block *pb, gb_device *dev) {
    float *blocks[4] = {pb->params, pb->grads, pb->adam_m, pb->adam_v};
    for (int b = 0; b < 4; b++)
        if (blocks[b]) gb_dev_free(dev, blocks[b]);
    free(pb->specs);
    free(pb->offsets);
    memset(pb, 0, sizeof *pb);
}
