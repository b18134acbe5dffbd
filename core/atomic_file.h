/* core/atomic_file.h - atomic file replacement, mkdir -p, whole-file reads.
 *
 * Results, checkpoints and stats are never written in place. gb_atomic_open()
 * creates "<dir>/.<base>.tmp.<pid>" next to the final name; gb_atomic_commit()
 * flushes, checks for write errors, fsyncs, renames over the final name and
 * fsyncs the directory, so after a crash the final name holds either the old
 * bytes or the new bytes, never a mixture. A writer that fails or is killed
 * before the rename leaves the previous file untouched (a killed one may leave
 * its tmp file behind; the leading dot keeps it out of plain listings).
 *
 * Limits: the tmp name holds the pid, so two threads of one process must not
 * write the same final path at the same time.
 *
 * Tested by tests/test_atomic_file.c (including a writer killed with SIGKILL).
 */
#ifndef GB_ATOMIC_FILE_H
#define GB_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "core/status.h"

typedef struct {
    FILE *fp;         /* write here */
    char *final_path; /* the name the data appears under after commit */
    char *tmp_path;   /* "<dir>/.<base>.tmp.<pid>" (".<base>.tmp.<pid>" when path has no dir) */
} gb_atomic_file;

/* Create the tmp file for `path`. GB_INPUT when `path` has no file name (empty,
 * ends in '/', "." or ".."), GB_ENV when the tmp file cannot be created (missing
 * directory, permissions); the message names the path and the reason. On
 * failure *af is zeroed, so gb_atomic_abort(af) stays safe. */
gb_status gb_atomic_open(gb_atomic_file *af, const char *path);

/* fflush + ferror check, fsync, fclose, rename over the final name, fsync of the
 * directory. On a failure before the rename the tmp file is removed, the old
 * file is kept and the status (GB_ENV) comes back with the reason. *af is
 * released in every case. */
gb_status gb_atomic_commit(gb_atomic_file *af);

/* fclose + unlink of the tmp file; the old file is untouched. Safe on a zeroed
 * or already committed/aborted *af. */
void gb_atomic_abort(gb_atomic_file *af);

/* open + one fwrite + commit. */
gb_status gb_atomic_write(const char *path, const void *data, size_t n);

/* Create a directory and its parents (mkdir -p, mode 0777 & ~umask). Existing
 * directories are fine; GB_ENV naming the path on failure (including a
 * component that exists but is not a directory). */
gb_status gb_mkdirs(const char *path);

/* Read a whole file into a malloc'd buffer; one NUL byte is appended after the
 * data (not counted in *n) so text parsers may treat it as a C string. GB_INPUT
 * naming the path when it cannot be opened or is a directory, GB_ENV on a read
 * error. On failure *data is NULL and *n is 0. */
gb_status gb_read_file(const char *path, unsigned char **data, size_t *n);

#endif
