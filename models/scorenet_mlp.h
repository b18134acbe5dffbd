/* models/scorenet_mlp.h - the CS446 toy ScoreNet: an MLP on (x, sigma) whose output is divided
 * by sigma (specs/pipelines.md 5.2).
 *
 *   Linear(in -> w) -> [Softplus -> Linear(w -> w)] x (L-2) -> Softplus -> Linear(w -> out)
 *
 * L linear layers (8 in the spec), width w (128), in = data dim + 1 (the sigma column), out =
 * data dim. Parameters follow PyTorch's names and default init ("fc<l>.weight" [out, in],
 * "fc<l>.bias" [out], both U(-1/sqrt(in), 1/sqrt(in))), so a state dict maps one to one.
 * The division by sigma is the caller's (the pipeline knows sigma per row); this module is the
 * network itself: forward saves every pre-activation for backward in the arena.
 * Tested by tests/test_toy2d_step.c against PyTorch (tests/peers/toy2d_step.py).
 */
#ifndef GB_SCORENET_MLP_H
#define GB_SCORENET_MLP_H

#include "../core/arena.h"
#include "../core/params.h"

#define GB_SCORENET_MAX_LAYERS 16

typedef struct {
    size_t n_layers, width, in_dim, out_dim;
    size_t max_batch;
    gb_param_block params;
    gb_arena arena;
    /* activations, [max_batch, *] each, from the arena */
    float *input;                              /* [B, in_dim] */
    float *pre[GB_SCORENET_MAX_LAYERS];        /* pre-activation of layer l: [B, width] or [B, out_dim] */
    float *post[GB_SCORENET_MAX_LAYERS];       /* softplus(pre[l]) for l < L-1: [B, width] */
    float *dout;                               /* [B, out_dim] gradient of the loss w.r.t. the output */
    float *grad_a, *grad_b;                    /* [B, width] backward scratch */
} gb_scorenet_mlp;

/* Build the parameter table and arena for batches up to max_batch. Parameters are not
 * initialised: call gb_params_init(&net->params, dev, seed). */
void gb_scorenet_mlp_create(gb_scorenet_mlp *net, gb_device *dev, size_t n_layers, size_t width,
                            size_t in_dim, size_t out_dim, size_t max_batch);
/* out = net(net->input[0:batch]); returns the output pointer (pre of the last layer). */
float *gb_scorenet_mlp_forward(gb_scorenet_mlp *net, gb_device *dev, size_t batch);
/* Backpropagate net->dout[0:batch] (from the loss) into the parameter gradients (+=). */
void gb_scorenet_mlp_backward(gb_scorenet_mlp *net, gb_device *dev, size_t batch);
void gb_scorenet_mlp_destroy(gb_scorenet_mlp *net, gb_device *dev);

#endif
