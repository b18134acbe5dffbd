/* core/params.h - one parameter table per model, four contiguous blocks (params, grads, Adam m, v).
 *
 * A model declares its parameters once, as an array of gb_param_spec (name, shape, initialiser).
 * Everything else is derived from that one table: the offsets and total size, the named
 * pointers (gb_param(pb, i)), the per-tensor initialisation streams ("init/<name>"), the
 * checkpoint tensor names and the PyTorch export order. Optimizer, zero-grad and checkpoint are
 * each one pass over a block. The blocks live in backend memory (host or device); params.c only
 * computes offsets and calls the backend through the gb_device table.
 */
#ifndef GB_PARAMS_H
#define GB_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "../kernels/kernels.h"

typedef enum {
    GB_INIT_ZEROS,
    GB_INIT_ONES,
    GB_INIT_UNIFORM, /* U(-scale, scale): PyTorch's default Linear/Conv init uses 1/sqrt(fan_in) */
    GB_INIT_NORMAL,  /* N(0, scale^2) */
} gb_init_kind;

#define GB_PARAM_NAME_MAX 64
#define GB_PARAM_MAX_DIMS 4

typedef struct {
    char name[GB_PARAM_NAME_MAX];
    int ndim;
    int64_t shape[GB_PARAM_MAX_DIMS];
    gb_init_kind init;
    float init_scale;
} gb_param_spec;

typedef struct {
    gb_param_spec *specs; /* owned copy of the table */
    size_t n_specs;
    size_t *offsets;      /* in floats, one per spec */
    size_t total;         /* floats in each block */
    float *params, *grads, *adam_m, *adam_v; /* backend memory */
} gb_param_block;

size_t gb_param_numel(const gb_param_spec *s);
/* Copy the table, compute offsets, allocate and zero the four blocks on `dev`. */
void gb_params_create(gb_param_block *pb, gb_device *dev, const gb_param_spec *specs, size_t n);
/* Initialise every tensor from its own Philox stream "init/<name>" of `seed`, so adding a
 * parameter never changes another's initial values. Resets grads and Adam state to 0. */
void gb_params_init(gb_param_block *pb, gb_device *dev, uint64_t seed);
static inline float *gb_param(const gb_param_block *pb, size_t i) { return pb->params + pb->offsets[i]; }
static inline float *gb_grad(const gb_param_block *pb, size_t i) { return pb->grads + pb->offsets[i]; }
void gb_params_zero_grad(gb_param_block *pb, gb_device *dev);
void gb_params_adam_step(gb_param_block *pb, gb_device *dev, const gb_adam_hparams *hp, long step);
/* Index of a named tensor, or -1. */
int gb_params_find(const gb_param_block *pb, const char *name);
void gb_params_destroy(gb_param_block *pb, gb_device *dev);

#endif
