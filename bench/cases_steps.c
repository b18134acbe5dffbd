/* bench/cases_steps.c - whole training steps, ours against PyTorch on the same model,
 * batch and thread count, side by side in one run (the report prints the ratio).
 *
 * toy2d-langevin: the ScoreNet MLP (models/scorenet_mlp.h: 8 layers, width 128) on all
 * 1291 CS446 points, fused half-squared-error loss, backward, Adam; fixed inputs (the
 * per-step noise draws are excluded on both sides). Step parity with PyTorch is
 * tested by tests/test_toy2d_step.c; here only time matters. The PyTorch side is
 * bench/peers/toy2d_step.py.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../core/philox.h"
#include "../models/scorenet_mlp.h"
#include "cases.h"
#include "peer.h"

enum { TOY_ROWS = 1291, TOY_WIDTH = 128, TOY_LAYERS = 8, TOY_IN = 3, TOY_OUT = 2 };

typedef struct {
    gb_scorenet_mlp net;
    float *target, *loss;
    long step;
} toy_ctx;

static gb_status toy_setup(gb_bench_case *c, gb_device *dev) {
    toy_ctx *x = calloc(1, sizeof *x);
    GB_ASSERT(x, "out of memory");
    gb_scorenet_mlp_create(&x->net, dev, TOY_LAYERS, TOY_WIDTH, TOY_IN, TOY_OUT, TOY_ROWS);
    gb_params_init(&x->net.params, dev, 0);
    float *host = malloc(TOY_ROWS * TOY_IN * sizeof *host);
    GB_ASSERT(host, "out of memory");
    gb_stream st = gb_stream_open(0, "bench/input");
    gb_stream_normal(&st, host, TOY_ROWS * TOY_IN);
    gb_upload(dev, x->net.input, host, TOY_ROWS * TOY_IN * sizeof(float));
    x->target = gb_dev_alloc(dev, TOY_ROWS * TOY_OUT * sizeof(float));
    gb_stream_normal(&st, host, TOY_ROWS * TOY_OUT);
    gb_upload(dev, x->target, host, TOY_ROWS * TOY_OUT * sizeof(float));
    x->loss = gb_dev_alloc(dev, sizeof(float));
    free(host);
    c->ctx = x;
    return GB_OK;
}

static void toy_run(gb_bench_case *c, gb_device *dev) {
    toy_ctx *x = c->ctx;
    const gb_adam_hparams hp = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    gb_params_zero_grad(&x->net.params, dev);
    float *out = gb_scorenet_mlp_forward(&x->net, dev, TOY_ROWS);
    gb_half_sq_error(dev, x->loss, x->net.dout, out, x->target, TOY_ROWS, TOY_OUT);
    gb_scorenet_mlp_backward(&x->net, dev, TOY_ROWS);
    gb_params_adam_step(&x->net.params, dev, &hp, ++x->step);
    float loss;
    gb_download(dev, &loss, x->loss, sizeof loss); /* the step is complete when its loss is back */
}

static void toy_teardown(gb_bench_case *c, gb_device *dev) {
    toy_ctx *x = c->ctx;
    gb_dev_free(dev, x->loss);
    gb_dev_free(dev, x->target);
    gb_scorenet_mlp_destroy(&x->net, dev);
    free(x);
    c->ctx = NULL;
}

static gb_status toy_pytorch(gb_bench_case *c, int threads, int quick, double *samples, size_t *n, size_t cap,
                             char *note, size_t note_cap) {
    (void)c;
    char args[128], version[64];
    snprintf(args, sizeof args, "%d %d %d %d %d %d", TOY_ROWS, TOY_WIDTH, TOY_LAYERS, threads, quick ? 2 : 10,
             quick ? 5 : 50);
    GB_TRY(gb_bench_run_peer("toy2d_step.py", args, samples, n, cap, version, sizeof version));
    snprintf(note, note_cap, "torch %s", version);
    return GB_OK;
}

void gb_bench_add_step_cases(gb_bench_list *list, int quick) {
    (void)quick;
    const char *shape = "toy2d-langevin 1291x(3->8x128->2) adam";
    gb_bench_case *c = gb_bench_list_add(list);
    snprintf(c->kernel, sizeof c->kernel, "toy2d_step");
    snprintf(c->direction, sizeof c->direction, "step");
    snprintf(c->impl, sizeof c->impl, "ours-cpu");
    snprintf(c->shape, sizeof c->shape, "%s", shape);
    c->setup = toy_setup;
    c->run = toy_run;
    c->teardown = toy_teardown;
    c = gb_bench_list_add(list);
    snprintf(c->kernel, sizeof c->kernel, "toy2d_step");
    snprintf(c->direction, sizeof c->direction, "step");
    snprintf(c->impl, sizeof c->impl, "pytorch");
    snprintf(c->shape, sizeof c->shape, "%s", shape);
    c->external = toy_pytorch;
}
