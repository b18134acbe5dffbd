/* pipelines/gan_checkpoint.h - one checkpoint file for a training state made of several
 * parameter blocks (a GAN's generator and critic, their Adam states, BatchNorm running
 * statistics), written atomically so a kill can never leave G and D at different steps.
 *
 * Layout (safetensors, as core/checkpoint.h but with one prefix per block): tensors
 * "<prefix>/param/<name>" and, for blocks with an optimizer, "<prefix>/adam_m/<name>" and
 * "<prefix>/adam_v/<name>"; "extra/<name>" host arrays; metadata "step", "data_position",
 * "config" and "rng/<stream>" exactly as core/checkpoint.h writes them. A resume under another
 * config, or from a file whose tables differ, is refused (GB_INPUT naming the file and field).
 * Tested by tests/test_gan_pipelines.c (same bytes after kill + resume; the last good
 * checkpoint survives a divergence).
 */
#ifndef GB_GAN_CHECKPOINT_H
#define GB_GAN_CHECKPOINT_H

#include "../core/checkpoint.h"

typedef struct {
    const char *prefix;         /* "G", "D", "G_buffers" */
    gb_param_block *pb;
    int with_adam;              /* 0: only the params block (running statistics) */
} gan_ckpt_block;

gb_status gan_checkpoint_save(const char *path, gb_device *dev, const gan_ckpt_block *blocks,
                              size_t n_blocks, const gb_train_state *st);
/* Restores every block (zeroing the gradients) and the state registered in st. */
gb_status gan_checkpoint_load(const char *path, gb_device *dev, const gan_ckpt_block *blocks,
                              size_t n_blocks, gb_train_state *st);

#endif
