/* core/safetensors.h - safetensors checkpoints: a validating reader and an
 * atomic writer.
 *
 * Format (huggingface/safetensors; notes in /work/shared/specs/formats.md 6.1):
 *   [0, 8)       N, u64 little-endian: byte length of the header
 *   [8, 8+N)     UTF-8 JSON object {"<name>": {"dtype": "F32", "shape": [..],
 *                "data_offsets": [BEGIN, END]}, ..., "__metadata__": {str: str}}
 *   [8+N, EOF)   the byte buffer; offsets are relative to its start, END exclusive;
 *                data little-endian, row-major.
 * The reader mirrors the reference reader's checks: N <= 100,000,000 and
 * N <= file size - 8; the header is valid UTF-8 and a JSON object (whitespace
 * around it is accepted); no duplicate keys at any level; each entry has a known
 * dtype, an integer shape (non-negative, rank <= 8 - genbench's own limit) and
 * two integer offsets with END - BEGIN == prod(shape) * dtype size; sorted by
 * offset the entries tile the buffer from 0 without holes or overlaps; the
 * buffer ends exactly at the end of the file; __metadata__ values are strings.
 * Unknown extra fields in an entry are ignored, as the reference does. The
 * valid dtypes genbench does not handle (F8_*, C64, F4, F6_*) are rejected as
 * unsupported. Each rejection is GB_INPUT naming the file, the tensor and the
 * rule.
 *
 * Tested by tests/test_safetensors.c: round trips, one test per rejection rule,
 * and parity with tests/peers/safetensors_ref.py, an independent Python writer
 * and reader (fixtures in $GB_FIXTURES; the test also has the Python reader
 * check a file written here).
 */
#ifndef GB_SAFETENSORS_H
#define GB_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef enum {
    GB_DT_BOOL, GB_DT_U8, GB_DT_I8, GB_DT_I16, GB_DT_U16, GB_DT_F16, GB_DT_BF16,
    GB_DT_I32, GB_DT_U32, GB_DT_F32, GB_DT_F64, GB_DT_I64, GB_DT_U64
} gb_dtype;
#define GB_DT_COUNT 13

/* Bytes per element (BOOL is one byte). */
size_t gb_dtype_size(gb_dtype dt);
/* The safetensors spelling: "F32", "BF16", ... */
const char *gb_dtype_name(gb_dtype dt);

#define GB_ST_MAX_RANK 8

typedef struct {
    char *name;
    gb_dtype dtype;
    int ndim;                        /* 0 for a scalar */
    int64_t shape[GB_ST_MAX_RANK];   /* shape[0..ndim) */
    size_t nbytes;
    const unsigned char *data;       /* [nbytes], points into the file buffer; not aligned */
} gb_st_tensor;

typedef struct {
    gb_st_tensor *tensors; size_t n_tensors;  /* in file (offset) order */
    char **meta_keys, **meta_values; size_t n_meta;
    unsigned char *file; size_t file_size;    /* owned */
    char *source;                             /* path or label, for messages */
} gb_safetensors;

/* Read and validate a file. On failure *st is zeroed (gb_safetensors_free safe). */
gb_status gb_safetensors_read(const char *path, gb_safetensors *st);

/* Validate `n` bytes already in memory; takes ownership of `bytes` (malloc'd),
 * which is freed on failure too. `label` names the source in messages. */
gb_status gb_safetensors_parse(const char *label, unsigned char *bytes, size_t n, gb_safetensors *st);

/* NULL when absent. */
const gb_st_tensor *gb_safetensors_find(const gb_safetensors *st, const char *name);
const char *gb_safetensors_meta(const gb_safetensors *st, const char *key);

void gb_safetensors_free(gb_safetensors *st);

/* Copy tensor `name` as F32 with exactly `count` elements; GB_INPUT naming the
 * file and tensor when it is missing, of another dtype or of another size. */
gb_status gb_safetensors_get_f32(const gb_safetensors *st, const char *name, float *out, size_t count);

typedef struct {
    const char *name;             /* unique, valid UTF-8, not "__metadata__" */
    gb_dtype dtype;
    int ndim;                     /* 0..8 */
    int64_t shape[GB_ST_MAX_RANK];
    const void *data;             /* prod(shape) elements, little-endian; NULL allowed when empty */
} gb_st_entry;

/* Write atomically (gb_atomic_*): header padded with spaces to a multiple of 8,
 * "__metadata__" first when meta_kv is given, tensors in the given order and
 * packed in that order in the buffer. meta_kv is a NULL-terminated
 * key, value, key, value, ... list of UTF-8 strings, or NULL. Bad entries
 * (duplicate or reserved names, bad shapes, invalid UTF-8) are programmer errors
 * and abort; I/O failures are GB_ENV and keep any previous file. */
gb_status gb_safetensors_write(const char *path, const gb_st_entry *entries, size_t n,
                               const char *const *meta_kv);

#endif
