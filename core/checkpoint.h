/* core/checkpoint.h - training checkpoints: params + optimizer state + RNG positions + step +
 * data-loader position, in one safetensors file written atomically.
 *
 * Layout: tensors "param/<name>", "adam_m/<name>", "adam_v/<name>" (F32, the shapes of the
 * model's parameter table, in table order); metadata "step", "data_position", "config" (a
 * string that identifies the pipeline, scale and hyperparameters: a resume under another config
 * is refused), and one "rng/<stream>" entry per sequential stream ("<key0>:<key1>:<position>").
 * A resumed run restores all of it, so it continues bitwise-identically to an uninterrupted run.
 * Loading refuses, as input errors naming the file: another config, a step beyond the run's
 * length, metadata that is not a plain decimal, tensor data that fails its SHA-256
 * ("data_sha256"), a parameter of another shape, and NaN/Inf in parameters or Adam moments.
 */
#ifndef GB_CHECKPOINT_H
#define GB_CHECKPOINT_H

#include <stdint.h>

#include "params.h"
#include "philox.h"
#include "safetensors.h"

#define GB_CHECKPOINT_MAX_STREAMS 8

typedef struct {
    uint64_t step;           /* optimizer steps completed */
    uint64_t last_step;      /* the run's step count, set before loading: a checkpoint beyond it is
                                refused (0: unchecked) */
    uint64_t data_position;  /* samples consumed by the data loader */
    char config[512];        /* identifies what was trained */
    size_t n_streams;
    char stream_names[GB_CHECKPOINT_MAX_STREAMS][64];
    gb_stream streams[GB_CHECKPOINT_MAX_STREAMS];
    /* Host arrays saved as F32 tensors "extra/<name>" and restored on load (e.g. the loss log
     * that becomes train.csv, so a resumed run writes the same train.csv bytes). */
    size_t n_extras;
    char extra_names[GB_CHECKPOINT_MAX_STREAMS][64];
    float *extras[GB_CHECKPOINT_MAX_STREAMS];
    size_t extra_counts[GB_CHECKPOINT_MAX_STREAMS];
} gb_train_state;

/* The safetensors metadata of a training state (step, data_position, config, rng/<name>),
 * shared by every checkpoint layout: fill it, then pass meta.pairs to gb_safetensors_write. */
typedef struct {
    char step[32], position[32];
    char rng_keys[GB_CHECKPOINT_MAX_STREAMS][80], rng[GB_CHECKPOINT_MAX_STREAMS][96];
    const char *pairs[2 * (4 + GB_CHECKPOINT_MAX_STREAMS) + 1]; /* key, value, ..., NULL */
    char data_sha256[65];
} gb_train_meta;

void gb_train_meta_fill(gb_train_meta *meta, const gb_train_state *st);
/* Adds "data_sha256": the SHA-256 of the entries' data in order (the file's data section, which
 * gb_safetensors_write packs in that order). gb_train_state_read verifies it, so a damaged byte
 * anywhere in the tensors is an input error rather than a silently different run. */
void gb_train_meta_checksum(gb_train_meta *meta, const gb_st_entry *entries, size_t n);
/* Tensor `name` into out as the parameter `spec` describes: GB_INPUT naming the file and tensor
 * when it is missing, of another dtype or shape (not just another size), or holds a NaN/Inf. */
gb_status gb_checkpoint_read_param(const gb_safetensors *f, const char *path, const char *name,
                                   const gb_param_spec *spec, float *out);
/* Restore st's step, data position, streams and extra arrays from a checkpoint file that was
 * read as f (from path, for messages); GB_INPUT when it was written under another config or
 * anything is missing or malformed. */
gb_status gb_train_state_read(const gb_safetensors *f, const char *path, gb_train_state *st);

/* Register a sequential stream so it is saved and restored (returns its slot). */
gb_stream *gb_train_state_stream(gb_train_state *st, const char *name, gb_stream initial);

/* Register a host array of `count` floats to be saved and restored with the checkpoint. */
void gb_train_state_extra(gb_train_state *st, const char *name, float *data, size_t count);

gb_status gb_checkpoint_save(const char *path, gb_device *dev, const gb_param_block *pb,
                             const gb_train_state *st);
/* Load into an already-created block; GB_INPUT naming the file and field when the file is
 * corrupt, its parameter table differs, or its config differs from st->config. Streams present in
 * the file replace the ones registered in st (matched by name). */
gb_status gb_checkpoint_load(const char *path, gb_device *dev, gb_param_block *pb,
                             gb_train_state *st);

#endif
