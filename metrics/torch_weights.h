/* metrics/torch_weights.h - read a PyTorch state dict file (torch.save of module.state_dict())
 * without Python: both containers, tensors rebuilt from their storages, the file's SHA-256
 * checked before anything is parsed.
 *
 * Containers (specs/formats.md 5.3), told apart by the first bytes:
 *   - zip (PyTorch >= 1.6 default): "PK\x03\x04"; records <prefix>/data.pkl (the state dict
 *     pickle) and <prefix>/data/<key> (raw little-endian storage bytes), <prefix> being
 *     whatever folder holds data.pkl; an optional <prefix>/byteorder must say "little".
 *     Records are read through libzip, which finds each record's data from its local
 *     header (PyTorch pads the local extra field so the data starts on a 64-byte boundary;
 *     the central directory's extra field differs), so the alignment never has to be
 *     assumed: every storage is copied out.
 *   - legacy (torch.save(..., _use_new_zipfile_serialization=False), and the 2019 FID
 *     weights): five pickles in a row (magic 0x1950a86a20f9469cfc6c, protocol 1001,
 *     sys_info, the state dict, the storage keys) and then, per key in that list's order, an
 *     int64 element count and the raw bytes.
 * The state dict is a (Ordered)dict of REDUCE(torch._utils._rebuild_tensor_v2, (storage,
 * offset, size, stride, requires_grad, hooks[, metadata])); storage is a persistent id
 * ('storage', torch.<Type>Storage, key, location, numel[, view_metadata]). Only those
 * globals and collections.OrderedDict are accepted (core/pickle.h executes nothing anyway).
 * Float32 tensors are copied out in C order, contiguous or not (any non-negative strides,
 * bounds-checked against the storage); other dtypes (num_batches_tracked is int64) are
 * listed with their shape but carry no data.
 *
 * Every malformed input is GB_INPUT naming the file, the key or byte offset, and the fix.
 * Tested by tests/test_torch_weights.c against files written by torch.save in both
 * containers (tests/peers/inception_ref.py), strided tensors, and corrupt variants.
 */
#ifndef GB_TORCH_WEIGHTS_H
#define GB_TORCH_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define GB_TORCH_MAX_DIMS 8

typedef enum {
    GB_TORCH_F32,
    GB_TORCH_F64,
    GB_TORCH_F16,
    GB_TORCH_BF16,
    GB_TORCH_I64,
    GB_TORCH_I32,
    GB_TORCH_I16,
    GB_TORCH_I8,
    GB_TORCH_U8,
    GB_TORCH_BOOL,
} gb_torch_dtype;

typedef enum { GB_TORCH_LEGACY, GB_TORCH_ZIP } gb_torch_container;

typedef struct {
    char *name; /* the state-dict key, e.g. "Mixed_5b.branch1x1.conv.weight" */
    gb_torch_dtype dtype;
    int ndim;
    int64_t shape[GB_TORCH_MAX_DIMS];
    size_t count; /* product of shape */
    float *data;  /* [shape] C order for GB_TORCH_F32; NULL for every other dtype */
} gb_torch_tensor;

typedef struct {
    char *path;
    char sha256[65]; /* of the whole file, lowercase hex */
    gb_torch_container container;
    size_t count;
    gb_torch_tensor *tensors; /* [count] in the state dict's order */
} gb_torch_state;

/* Read `path`, check that its SHA-256 equals expected_sha256 (64 hex digits, either case;
 * required: a weights file is trusted only by its hash), then parse it. A mismatch is
 * GB_INPUT naming the file, both hashes and the fix. On failure *out is zeroed. */
gb_status gb_torch_load(gb_torch_state *out, const char *path, const char *expected_sha256);

/* Parse bytes already in memory (origin names them in messages); no hash check.
 * out->sha256 is the hash of the bytes. */
gb_status gb_torch_parse(gb_torch_state *out, const char *origin, const uint8_t *data, size_t n);

/* The tensor named `name`, or NULL. */
const gb_torch_tensor *gb_torch_find(const gb_torch_state *s, const char *name);

/* The float32 tensor `name` of exactly this shape -> *data (owned by s). GB_INPUT naming the
 * file and the key when it is missing, not float32, or shaped otherwise (both shapes named). */
gb_status gb_torch_get_f32(const float **data, const gb_torch_state *s, const char *name, int ndim,
                           const int64_t *shape);

const char *gb_torch_dtype_name(gb_torch_dtype d); /* "float32", "int64", ... */
size_t gb_torch_dtype_size(gb_torch_dtype d);

void gb_torch_free(gb_torch_state *s);

#endif
