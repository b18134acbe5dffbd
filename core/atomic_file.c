/* core/atomic_file.c - atomic replacement (tmp + fsync + rename + dir fsync),
 * mkdir -p and whole-file reads. See atomic_file.h; tested by
 * tests/test_atomic_file.c.
 */
#include "core/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* The directory part of `path` ("." when it has none), malloc'd. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* fsync a directory so a rename inside it survives a crash. Filesystems that
 * cannot sync directories answer EINVAL; there is nothing more to do there. */
static gb_status fsync_dir(const char *dir, const char *final_path) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return gb_fail(GB_ENV, "%s: written, but cannot open directory '%s' to sync it: %s", final_path,
                       dir, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0 && err != EINVAL)
        return gb_fail(GB_ENV, "%s: written, but syncing directory '%s' failed: %s (the rename may not "
                       "survive a crash)", final_path, dir, strerror(err));
    return GB_OK;
}

static void release(gb_atomic_file *af) {
    free(af->final_path);
    free(af->tmp_path);
    af->fp = NULL;
    af->final_path = NULL;
    af->tmp_path = NULL;
}

gb_status gb_atomic_open(gb_atomic_file *af, const char *path) {
    GB_ASSERT(af && path, "gb_atomic_open needs a file struct and a path");
    af->fp = NULL;
    af->final_path = NULL;
    af->tmp_path = NULL;

    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return gb_fail(GB_INPUT, "'%s': not a file name (empty, or ends in '/', '.' or '..'); give a path "
                       "such as results/metrics.csv", path);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return gb_fail(GB_INPUT, "%s: is a directory, cannot replace it with a file", path);

    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0; /* keeps the '/' */
    char pid[32];
    int pid_len = snprintf(pid, sizeof pid, "%ld", (long)getpid());
    size_t cap = dir_len + 1 + strlen(base) + 5 + (size_t)pid_len + 1;
    char *tmp = malloc(cap);
    char *final_path = strdup(path);
    GB_ASSERT(tmp && final_path, "out of memory");
    snprintf(tmp, cap, "%.*s.%s.tmp.%s", (int)dir_len, path, base, pid);

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        int err = errno;
        char *dir = dir_of(path);
        gb_status s = gb_fail(GB_ENV, "%s: cannot create temporary file '%s' in directory '%s': %s%s", path,
                              tmp, dir, strerror(err),
                              err == ENOENT ? " (create the directory first)" : "");
        free(dir);
        free(tmp);
        free(final_path);
        return s;
    }
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        int err = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        free(final_path);
        return gb_fail(GB_ENV, "%s: fdopen of temporary file failed: %s", path, strerror(err));
    }
    af->fp = fp;
    af->final_path = final_path;
    af->tmp_path = tmp;
    return GB_OK;
}

gb_status gb_atomic_commit(gb_atomic_file *af) {
    GB_ASSERT(af && af->fp, "gb_atomic_commit on a file that is not open");
    gb_status s = GB_OK;
    const char *what = NULL;
    int err = 0;

    if (fflush(af->fp) != 0) { what = "flushing"; err = errno; }
    else if (ferror(af->fp)) { what = "writing"; err = EIO; }
    else if (fsync(fileno(af->fp)) != 0) { what = "fsync of"; err = errno; }
    int close_rc = fclose(af->fp);
    af->fp = NULL;
    if (!what && close_rc != 0) { what = "closing"; err = errno; }
    if (!what && rename(af->tmp_path, af->final_path) != 0) { what = "renaming"; err = errno; }

    if (what) {
        s = gb_fail(GB_ENV, "%s: %s the temporary file '%s' failed: %s; the previous file (if any) is kept",
                    af->final_path, what, af->tmp_path, strerror(err));
        unlink(af->tmp_path);
    } else {
        char *dir = dir_of(af->final_path);
        s = fsync_dir(dir, af->final_path);
        free(dir);
    }
    release(af);
    return s;
}

void gb_atomic_abort(gb_atomic_file *af) {
    if (!af) return;
    if (af->fp) fclose(af->fp);
    if (af->tmp_path) unlink(af->tmp_path);
    release(af);
}

gb_status gb_atomic_write(const char *path, const void *data, size_t n) {
    GB_ASSERT(data || n == 0, "gb_atomic_write: NULL data with n=%zu", n);
    gb_atomic_file af;
    GB_TRY(gb_atomic_open(&af, path));
    if (n > 0 && fwrite(data, 1, n, af.fp) != n) {
        int err = errno;
        gb_atomic_abort(&af);
        return gb_fail(GB_ENV, "%s: writing %zu bytes failed: %s; the previous file (if any) is kept", path,
                       n, strerror(err));
    }
    return gb_atomic_commit(&af);
}

/* mkdir one component; an existing directory is fine. */
static gb_status mkdir_one(const char *dir, const char *full) {
    if (mkdir(dir, 0777) == 0) return GB_OK;
    int err = errno;
    struct stat sb;
    if (err == EEXIST && stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) return GB_OK;
        return gb_fail(GB_ENV, "cannot create directory '%s': '%s' exists and is not a directory", full, dir);
    }
    return gb_fail(GB_ENV, "cannot create directory '%s': mkdir '%s': %s", full, dir, strerror(err));
}

gb_status gb_mkdirs(const char *path) {
    GB_ASSERT(path, "gb_mkdirs needs a path");
    if (path[0] == '\0') return gb_fail(GB_ENV, "cannot create a directory with an empty path");
    char *buf = strdup(path);
    GB_ASSERT(buf, "out of memory");
    gb_status s = GB_OK;
    /* Create each prefix that ends before a '/', then the whole path. */
    for (char *p = buf + 1; *p && s == GB_OK; p++) {
        if (*p != '/' || p[-1] == '/') continue;
        *p = '\0';
        s = mkdir_one(buf, path);
        *p = '/';
    }
    if (s == GB_OK) s = mkdir_one(buf, path);
    free(buf);
    return s;
}

gb_status gb_read_file(const char *path, unsigned char **data, size_t *n) {
    GB_ASSERT(path && data && n, "gb_read_file needs a path and outputs");
    *data = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gb_fail(GB_INPUT, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return gb_fail(GB_ENV, "%s: fstat failed: %s", path, strerror(err));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return gb_fail(GB_INPUT, "'%s' is a directory, expected a file", path);
    }
    /* st_size is a hint only (pipes report 0, files may grow): read to EOF.
     * The +2 leaves room for the NUL and for the 1-byte read that sees EOF,
     * so a file of the expected size needs no reallocation. */
    size_t cap = (S_ISREG(sb.st_mode) && sb.st_size > 0 ? (size_t)sb.st_size : 4096) + 2;
    size_t len = 0;
    unsigned char *buf = malloc(cap);
    GB_ASSERT(buf, "out of memory reading %s (%zu bytes)", path, cap);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            unsigned char *grown = realloc(buf, cap);
            GB_ASSERT(grown, "out of memory reading %s (%zu bytes)", path, cap);
            buf = grown;
        }
        ssize_t got = read(fd, buf + len, cap - 1 - len);
        if (got == 0) break;
        if (got < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            free(buf);
            close(fd);
            return gb_fail(GB_ENV, "%s: read failed after %zu bytes: %s", path, len, strerror(err));
        }
        len += (size_t)got;
    }
    close(fd);
    buf[len] = '\0';
    *data = buf;
    *n = len;
    return GB_OK;
}
