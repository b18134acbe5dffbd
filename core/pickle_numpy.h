/* core/pickle_numpy.h - numpy arrays in pickles: read them from a core/pickle.h tree, and
 * write the Python-2 style pickle of an int64 vector.
 *
 * What numpy pickles look like (numpy 1.x ndarray.__reduce__, specs/formats.md 4b):
 *   REDUCE(GLOBAL numpy.core.multiarray._reconstruct, (GLOBAL numpy.ndarray, (0,), b'b'))
 *   BUILD state (1, shape tuple, dtype, is_fortran, raw bytes)
 *   dtype = REDUCE(GLOBAL numpy.dtype, ('i8', 0|False, 1|True)) BUILD (3, '<', ...)
 * and the raw bytes arrive in one of three spellings:
 *   - BYTES (Python 3, protocol >= 3, or a Python-2 str: STRING / BINSTRING);
 *   - REDUCE(GLOBAL _codecs.encode, (str, 'latin1')): how Python 3 writes bytes at
 *     protocol 0-2; each code point of the str is one byte (all must be < 256);
 *   - REDUCE(GLOBAL __builtin__.bytes | builtins.bytes, ()): empty bytes.
 * Accepted dtypes: uint8 ('u1'), int32 ('i4'), int64 ('i8'), float32 ('f4'), float64
 * ('f8'), in either byte order (state '<' or '>'; '|' and '=' read as little-endian, the
 * only native order genbench runs on). numpy 2's module name numpy._core.multiarray is accepted too.
 *
 * Tested by tests/test_pickle.c against arrays pickled by numpy (protocols 0, 2 and 4) and
 * hand-assembled Python-2 byte streams checked by CPython (tests/peers/zsl_data.py).
 */
#ifndef GB_PICKLE_NUMPY_H
#define GB_PICKLE_NUMPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/pickle.h"
#include "core/status.h"

typedef enum { GB_NP_U8, GB_NP_I32, GB_NP_I64, GB_NP_F32, GB_NP_F64 } gb_np_dtype;

#define GB_NP_MAX_DIMS 8

typedef struct {
    gb_np_dtype dtype;
    int ndim;                        /* 0 for a scalar array */
    int64_t shape[GB_NP_MAX_DIMS];
    size_t count;                    /* product of shape */
    int fortran;                     /* the pickle stored Fortran order; data below is C order anyway */
    void *data;                      /* [shape] C order, native (little-endian) values, malloc'd */
} gb_np_array;

/* The globals a numpy array pickle may name: pass as gb_pickle_opts.allow_globals. */
extern const char *const gb_np_pickle_globals[];

/* Interpret `node` (of the tree of pk) as an ndarray. GB_INPUT naming the pickle's origin,
 * the node's byte offset and what is wrong (not an array, unsupported dtype, shape and byte
 * count disagree, more than GB_NP_MAX_DIMS dims, count beyond max_count (0 = 1 << 31)).
 * On failure *out is zeroed. */
gb_status gb_np_from_node(gb_np_array *out, const gb_pickle *pk, const gb_pk_node *node, size_t max_count);

/* Read a file holding one pickled ndarray (the root object). */
gb_status gb_np_load_file(gb_np_array *out, const char *path);

/* Element i (C order) of an integer array as int64; of a float array when it is integral. */
int gb_np_get_int64(const gb_np_array *a, size_t i, int64_t *out);

void gb_np_array_free(gb_np_array *a);

const char *gb_np_dtype_name(gb_np_dtype d); /* "uint8", "int32", ... */

/* The bytes numpy 1.x under Python 2.7's cPickle wrote for cPickle.dump(np.array(values,
 * dtype=np.int64), f, 2) on a little-endian machine: protocol 2, BINPUT memo keys from 1,
 * BININT1 / BININT shape, SHORT_BINSTRING / BINSTRING for 'b', 'i8', '<' and the raw data,
 * NEWFALSE for is_fortran. *out is malloc'd. */
gb_status gb_np_pickle_py2_i64(unsigned char **out, size_t *n, const int64_t *values, size_t count);

#endif
