/* core/zip_read.c - opening zip archives and reading whole members, checked (read
 * zip_read.h first). */
#include "core/zip_read.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

gb_status gb_zip_open(zip_t **za, const char *path, const char *what, const char *advice) {
    struct stat st;
    *za = NULL;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) /* libzip's "Not a zip archive" */
        return gb_fail(GB_INPUT, "%s: an empty file (0 bytes), not a %s; %s", path, what, advice);
    int err = 0;
    *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (*za) return GB_OK;
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    /* libzip refuses an archive in which a name appears twice, as "File already exists" */
    gb_status s = gb_fail(GB_INPUT, "%s: not a readable %s (%s%s); %s", path, what, zip_error_strerror(&ze),
                          err == ZIP_ER_EXISTS ? ": a member name appears twice" : "", advice);
    zip_error_fini(&ze);
    return s;
}

gb_status gb_zip_read_member(unsigned char **bytes, size_t *n, zip_t *za, zip_uint64_t index, size_t archive_bytes,
                             const char *where, const char *advice) {
    *bytes = NULL;
    *n = 0;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return gb_fail(GB_INPUT, "%s: unreadable central-directory entry (%s); %s", where, zip_strerror(za), advice);
    if ((st.valid & ZIP_STAT_COMP_SIZE) && st.comp_size > archive_bytes)
        return gb_fail(GB_INPUT, "%s: claims %llu compressed bytes in a %zu-byte archive; %s", where,
                       (unsigned long long)st.comp_size, archive_bytes, advice);
    /* DEFLATE expands at most 1032:1 and a stored member not at all; bzip2, xz or zstd members
     * (rare) can legitimately expand more, so only the address space bounds them */
    const int deflate_or_stored = !(st.valid & ZIP_STAT_COMP_METHOD) || st.comp_method == ZIP_CM_STORE ||
                                  st.comp_method == ZIP_CM_DEFLATE;
    if ((deflate_or_stored && (double)st.size > 1032.0 * (double)archive_bytes + 64) || st.size > SIZE_MAX / 2)
        return gb_fail(GB_INPUT, "%s: claims %llu bytes, more than a %zu-byte archive can hold; %s", where,
                       (unsigned long long)st.size, archive_bytes, advice);
    zip_file_t *f = zip_fopen_index(za, index, 0);
    if (!f) return gb_fail(GB_INPUT, "%s: cannot be opened (%s); %s", where, zip_strerror(za), advice);
    unsigned char *buf = malloc(st.size ? (size_t)st.size : 1);
    if (!buf) {
        zip_fclose(f);
        return gb_fail(GB_ENV, "%s: out of memory for %llu bytes", where, (unsigned long long)st.size);
    }
    zip_int64_t got = st.size ? zip_fread(f, buf, st.size) : 0;
    /* one more read must hit the end: that is where libzip checks the CRC-32 */
    unsigned char extra;
    zip_int64_t more = got == (zip_int64_t)st.size ? zip_fread(f, &extra, 1) : 0;
    gb_status s = GB_OK;
    if (got != (zip_int64_t)st.size || more != 0)
        s = gb_fail(GB_INPUT, "%s: data is damaged or truncated (%s); %s", where,
                    got < 0 || more < 0 ? zip_file_strerror(f) : "its size differs from the central directory", advice);
    zip_fclose(f);
    if (s != GB_OK) {
        free(buf);
        return s;
    }
    *bytes = buf;
    *n = (size_t)st.size;
    return GB_OK;
}
