/* models/scorenet_mlp.c - forward and backward of the toy ScoreNet MLP (see scorenet_mlp.h). */
#include "scorenet_mlp.h"

#include <math.h>
#include <stdio.h>

static size_t layer_in(const gb_scorenet_mlp *n, size_t l) { return l == 0 ? n->in_dim : n->width; }
static size_t layer_out(const gb_scorenet_mlp *n, size_t l) { return l + 1 == n->n_layers ? n->out_dim : n->width; }

/* The one activation layout, run twice: measuring, then carving (see core/arena.h). */
static void layout(gb_scorenet_mlp *n) {
    gb_arena *a = &n->arena;
    size_t b = n->max_batch;
    n->input = gb_arena_floats(a, b * n->in_dim);
    for (size_t l = 0; l < n->n_layers; l++) {
        n->pre[l] = gb_arena_floats(a, b * layer_out(n, l));
        n->post[l] = l + 1 < n->n_layers ? gb_arena_floats(a, b * n->width) : NULL;
    }
    n->dout = gb_arena_floats(a, b * n->out_dim);
    n->grad_a = gb_arena_floats(a, b * n->width);
    n->grad_b = gb_arena_floats(a, b * n->width);
}

static void *arena_alloc(void *dev, size_t bytes) { return gb_dev_alloc(dev, bytes); }
static void arena_free(void *dev, void *p) { gb_dev_free(dev, p); }

void gb_scorenet_mlp_create(gb_scorenet_mlp *n, gb_device *dev, size_t n_layers, size_t width,
                            size_t in_dim, size_t out_dim, size_t max_batch) {
    GB_ASSERT(n_layers >= 2 && n_layers <= GB_SCORENET_MAX_LAYERS, "n_layers %zu out of range", n_layers);
    *n = (gb_scorenet_mlp){.n_layers = n_layers, .width = width, .in_dim = in_dim,
                           .out_dim = out_dim, .max_batch = max_batch};
    gb_param_spec specs[2 * GB_SCORENET_MAX_LAYERS];
    for (size_t l = 0; l < n_layers; l++) {
        float bound = 1.0f / sqrtf((float)layer_in(n, l));
        gb_param_spec *w = &specs[2 * l], *b = &specs[2 * l + 1];
        *w = (gb_param_spec){.ndim = 2, .shape = {(int64_t)layer_out(n, l), (int64_t)layer_in(n, l)},
                             .init = GB_INIT_UNIFORM, .init_scale = bound};
        *b = (gb_param_spec){.ndim = 1, .shape = {(int64_t)layer_out(n, l)}, .init = GB_INIT_UNIFORM,
                             .init_scale = bound};
        snprintf(w->name, sizeof w->name, "fc%zu.weight", l);
        snprintf(b->name, sizeof b->name, "fc%zu.bias", l);
    }
    gb_params_create(&n->params, dev, specs, 2 * n_layers);
    n->arena = gb_arena_measure();
    layout(n);
    gb_arena_allocate(&n->arena, dev, arena_alloc, arena_free);
    layout(n);
}

float *gb_scorenet_mlp_forward(gb_scorenet_mlp *n, gb_device *dev, size_t batch) {
    GB_ASSERT(batch <= n->max_batch, "batch %zu > max %zu", batch, n->max_batch);
    const float *h = n->input;
    for (size_t l = 0; l < n->n_layers; l++) {
        gb_linear_shape s = {batch, layer_in(n, l), layer_out(n, l)};
        gb_linear_forward(dev, n->pre[l], h, gb_param(&n->params, 2 * l), gb_param(&n->params, 2 * l + 1), &s);
        if (l + 1 < n->n_layers) {
            gb_softplus_forward(dev, n->post[l], n->pre[l], batch * n->width);
            h = n->post[l];
        }
    }
    return n->pre[n->n_layers - 1];
}

void gb_scorenet_mlp_backward(gb_scorenet_mlp *n, gb_device *dev, size_t batch) {
    /* dz: gradient w.r.t. the current layer's pre-activation. dh: w.r.t. its input. */
    const float *dz = n->dout;
    float *scratch[2] = {n->grad_a, n->grad_b};
    for (size_t l = n->n_layers; l-- > 0;) {
        gb_linear_shape s = {batch, layer_in(n, l), layer_out(n, l)};
        const float *inp = l == 0 ? n->input : n->post[l - 1];
        float *dh = l == 0 ? NULL : scratch[l % 2];
        gb_linear_backward(dev, dh, gb_grad(&n->params, 2 * l), gb_grad(&n->params, 2 * l + 1), dz,
                           inp, gb_param(&n->params, 2 * l), &s);
        if (l == 0) break;
        /* through the softplus of layer l-1, in place: dz_{l-1} = dh * sigmoid(pre_{l-1}) */
        gb_softplus_backward(dev, dh, dh, n->pre[l - 1], batch * n->width);
        dz = dh;
    }
}

void gb_scorenet_mlp_destroy(gb_scorenet_mlp *n, gb_device *dev) {
    gb_params_destroy(&n->params, dev);
    gb_arena_release(&n->arena);
}
