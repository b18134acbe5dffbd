/* core/npy.h - NumPy .npy arrays and .npz archives (specs/formats.md 6.2 and 0).
 *
 * .npy: magic "\x93NUMPY", version 1.0 / 2.0 / 3.0, a little-endian header length (u16 for
 * 1.0, u32 for 2.0 and 3.0), a Python dict literal with exactly the keys 'descr',
 * 'fortran_order' and 'shape' (any order, each once), then the raw data. Readers accept the
 * dtypes '<f4' '<f8' '<i4' '<i8' '|u1' and their big-endian forms ('>f4' ... , byte-swapped on
 * load), C or Fortran order (Fortran data is transposed on load), shape tuples of 0..8
 * dimensions (Python 2's "2048L" too). Everything else (structured or object dtypes, unknown
 * keys, a data size that differs from prod(shape) * itemsize, trailing bytes) is GB_INPUT with
 * a message naming the file (and member) and the byte offset. Loaded arrays are always C
 * order in host byte order.
 *
 * Writers produce what np.save produces: version 1.0 (2.0 when the header exceeds 65535
 * bytes), "{'descr': '<f8', 'fortran_order': False, 'shape': (2048, 2048), }" padded with
 * spaces and a final '\n' so the data starts at a multiple of 64, C order, little-endian.
 *
 * .npz: a ZIP archive (libzip) of "<key>.npy" members. Reading takes stored (np.savez) and
 * deflated (np.savez_compressed) members, numpy's forced ZIP64 local headers included, and
 * checks each member's CRC-32. Writing stores (np.savez) or deflates (np.savez_compressed);
 * every member gets the fixed DOS timestamp 1980-01-01 00:00 so the same arrays always give
 * the same bytes. The archive is built in memory and written with core/atomic_file.h.
 *
 * Tested by tests/test_npy.c: files written by np.save / np.savez / np.savez_compressed
 * (tests/peers/fid_stats.py) compared value by value, big-endian and Fortran files, round
 * trips, and a catalogue of corrupt headers, each rejected with its offset.
 */
#ifndef GB_NPY_H
#define GB_NPY_H

#include <stddef.h>

#include "core/status.h"

#define GB_NPY_MAX_DIMS 8
/* Header lengths above this are refused (np.save writes ~128 bytes; numpy reads 10,000 by default). */
#define GB_NPY_MAX_HEADER (1 << 20)

typedef enum { GB_NPY_U8, GB_NPY_I32, GB_NPY_I64, GB_NPY_F32, GB_NPY_F64 } gb_npy_dtype;

typedef struct {
    gb_npy_dtype dtype;
    int ndim;                      /* 0 (a scalar) .. GB_NPY_MAX_DIMS */
    size_t shape[GB_NPY_MAX_DIMS]; /* shape[0..ndim) */
    size_t count;                  /* prod(shape); 1 for ndim 0 */
    void *data;                    /* count elements, C order, host byte order; malloc'd */
} gb_npy_array;

/* 1, 4, 8, 4, 8. */
size_t gb_npy_itemsize(gb_npy_dtype t);
/* The little-endian descr numpy writes: "|u1", "<i4", "<i8", "<f4", "<f8". */
const char *gb_npy_descr(gb_npy_dtype t);

/* An array header with the given shape (count computed; data NULL). ndim <= GB_NPY_MAX_DIMS. */
gb_npy_array gb_npy_view(gb_npy_dtype t, int ndim, const size_t *shape, void *data);

/* Parse a whole .npy image. `where` names it in messages (a path, or "path:member.npy").
 * On success out->data is a fresh copy (free with gb_npy_free); on failure *out is zeroed. */
gb_status gb_npy_decode(gb_npy_array *out, const unsigned char *buf, size_t n, const char *where);
/* The header alone of a .npy file / of an .npz member "<key>.npy": out gets dtype, ndim, shape
 * and count as loading would (data NULL: nothing to free), after the same checks of the
 * header and of the data size against the shape; only the header's bytes are read (a deflated
 * member is inflated that far). Lets a caller classify a 10 GB image array before loading it.
 * GB_INPUT naming the file (and member) as the loaders do, or a missing member. */
gb_status gb_npy_peek(gb_npy_array *out, const char *path);
gb_status gb_npz_peek(gb_npy_array *out, const char *path, const char *key);
/* A .npy file's or an .npz member's data read front to back, a piece at a time, so that a
 * 10 GB image array is never in memory whole (OpenAI's evaluator streams its batches so).
 *   open    key NULL: the .npy file at path; else the member "<key>.npy" of the .npz at path.
 *           header gets dtype, ndim, shape and count after the checks gb_npy_peek makes;
 *           *fortran is 1 for a Fortran-order array of more than one dimension, whose bytes are
 *           not rows (the caller loads it whole instead).
 *   read    the next `bytes` of data (a whole number of elements, at most what is left), in
 *           host byte order. GB_INPUT naming the file when they cannot be read (truncated or
 *           damaged deflate data).
 *   finish  after all data was read: GB_INPUT when an .npz member fails its CRC-32 (libzip
 *           checks it at the member's end) or a .npy file grew since it was opened.
 * Tested by tests/test_npy.c (numpy's .npy files of every dtype, big-endian, versions 2 and 3,
 * stored and deflated members, read in uneven pieces against the loaders; Fortran order
 * reported; a flipped byte in either kind of member, a truncated file) and through the image
 * arrays of tests/test_cmd_fid_images.c. */
typedef struct gb_npy_stream gb_npy_stream;
gb_status gb_npy_stream_open(gb_npy_stream **st, gb_npy_array *header, int *fortran, const char *path,
                             const char *key);
gb_status gb_npy_stream_read(gb_npy_stream *st, void *dst, size_t bytes);
gb_status gb_npy_stream_finish(gb_npy_stream *st);
void gb_npy_stream_close(gb_npy_stream *st);

/* Serialize like np.save into a malloc'd buffer. */
gb_status gb_npy_encode(unsigned char **buf, size_t *n, const gb_npy_array *a);

gb_status gb_npy_load(gb_npy_array *out, const char *path);
/* Atomic write (temporary file, fsync, rename). */
gb_status gb_npy_save(const char *path, const gb_npy_array *a);
void gb_npy_free(gb_npy_array *a);

/* Convert every element to double / float (integers exactly where representable; double to
 * float rounds to nearest). out holds a->count elements. */
void gb_npy_to_f64(double *out, const gb_npy_array *a);
void gb_npy_to_f32(float *out, const gb_npy_array *a);

typedef struct {
    size_t count;
    char **keys;          /* member names without ".npy", in archive order */
    gb_npy_array *arrays; /* [count] */
} gb_npz;

/* Read every member. Members must be named "<key>.npy" with a non-empty key. */
gb_status gb_npz_load(gb_npz *out, const char *path);
/* Only the members named by keys (those present; a missing one is simply absent from out),
 * read straight from the file: an OpenAI reference batch's statistics without its gigabytes
 * of images. Other members are not looked at. */
gb_status gb_npz_load_keys(gb_npz *out, const char *path, const char *const *keys, size_t n_keys);
/* The array stored under `key` ("mu" finds member "mu.npy"), or NULL. */
const gb_npy_array *gb_npz_find(const gb_npz *z, const char *key);
void gb_npz_free(gb_npz *z);
/* 1 when the archive at path has a member "<key>.npy", reading only its zip directory (to tell
 * FID statistics from feature or image archives before loading one); 0 otherwise, unreadable
 * files included (gb_npz_load then names the problem). */
int gb_npz_has(const char *path, const char *key);

typedef enum { GB_NPZ_STORED, GB_NPZ_DEFLATED } gb_npz_compression;
/* Write n arrays as members "<keys[i]>.npy" (np.savez when stored, np.savez_compressed when
 * deflated). Keys must be distinct and non-empty (GB_USAGE otherwise). */
gb_status gb_npz_save(const char *path, const char *const *keys, const gb_npy_array *arrays,
                      size_t n, gb_npz_compression compression);

#endif
