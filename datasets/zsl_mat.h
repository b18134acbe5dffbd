/* datasets/zsl_mat.h - the MATLAB .mat reading and writing the zero-shot loaders share (libmatio).
 *
 * Reading (specs/formats.md 7): Level-5 files, uncompressed (v5) or with miCOMPRESSED
 * elements (v7), and v7.3 (HDF5) where libmatio was built with HDF5 (Debian's is). The header
 * is checked here first, so a file that is not a MAT file at all, or a v7.3 file that this
 * libmatio cannot open, gets a message saying which and how to fix it. Numeric data of any
 * stored type (MATLAB may store a double array as miUINT8 data) and double sparse matrices
 * are converted; every value is checked finite; indices are checked integral and in range.
 * libmatio's own diagnostics are captured (not printed) and appended to our messages.
 *
 * Writing: Level-5 files with a fixed header text (no date), so the same data give the same
 * bytes; the file is built under a temporary name and then moved into place atomically.
 *
 * Tested by tests/test_datasets_zsl.c (scipy-written fixtures, a hand-assembled v5 file, a
 * v7.3 file written by libmatio, corrupt files).
 */
#ifndef GB_DATASETS_ZSL_MAT_H
#define GB_DATASETS_ZSL_MAT_H

#include <matio.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Open for reading; GB_INPUT naming the path when it is missing, too short, has no MAT
 * header (bytes 124..127: version 0x0100 or 0x0200 and "IM"/"MI"), or cannot be opened
 * (a v7.3 file gets the "re-save as -v7" fix). */
gb_status gb_zmat_open(mat_t **mat, const char *path);
void gb_zmat_close(mat_t *mat);

/* Variable `name` as a dense float32 matrix of `rows` x `cols` (MATLAB's view). With
 * records_are_columns the result is [cols, rows] row-major (column j of the MATLAB matrix is
 * record j: GBU features and att); otherwise [rows, cols] row-major (records are rows:
 * pfc_feat, PredicateMatrix). GB_INPUT naming path and variable when it is missing (the
 * message lists the variables present), not numeric, complex, more than 2-D, or holds a
 * non-finite value (the message gives its row and column). *data is malloc'd. */
gb_status gb_zmat_read_f32(mat_t *mat, const char *path, const char *name, int records_are_columns, float **data,
                           size_t *rows, size_t *cols);

/* Variable `name` as a vector (k x 1, 1 x k, or empty) of integers in [1, max_one_based],
 * returned 0-based as int32 (*data malloc'd; NULL when k = 0). `what` says what the numbers
 * index, for the message ("instance indexes into res101.mat"). */
gb_status gb_zmat_read_index(mat_t *mat, const char *path, const char *name, int64_t max_one_based, const char *what,
                             int32_t **data, size_t *count);

typedef struct {
    mat_t *mat;
    char final_path[1024];
    char tmp_path[1100];
} gb_zmat_writer;

/* Start a Level-5 file that will appear at `path` on commit. */
gb_status gb_zmat_writer_open(gb_zmat_writer *w, const char *path);
/* A real matrix rows x cols from column-major `data` (rows * cols values). type is
 * MAT_C_DOUBLE (data is double), MAT_C_SINGLE (float) or MAT_C_INT32 (int32_t). */
gb_status gb_zmat_write(gb_zmat_writer *w, const char *name, enum matio_classes type, size_t rows, size_t cols,
                        const void *data, int compress);
/* A rows x 1 cell of char row vectors (image_files, allclasses_names). */
gb_status gb_zmat_write_strings(gb_zmat_writer *w, const char *name, const char *const *strings, size_t rows,
                                int compress);
/* Close and move into place (atomically); on failure the old file at `path` is untouched. */
gb_status gb_zmat_writer_commit(gb_zmat_writer *w);
void gb_zmat_writer_abort(gb_zmat_writer *w);

#endif
