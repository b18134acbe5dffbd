/* datasets/fetch.c - curl downloads into .part files, verification, renaming, unpacking
 * (datasets/fetch.h). Tested by tests/smoke_data.sh.
 */
#include "datasets/fetch.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>

#include "core/atomic_file.h"
#include "core/log.h"
#include "core/tar.h"
#include "core/zip_read.h"

extern char **environ;

/* curl's documented exit codes (man curl, EXIT CODES) that a download commonly ends with. */
static const char *curl_reason(int code) {
    switch (code) {
    case 3: return "malformed URL";
    case 5: return "could not resolve proxy";
    case 6: return "could not resolve host (no network or no DNS?)";
    case 7: return "failed to connect to host (no network?)";
    case 18: return "partial file: the transfer ended early";
    case 22: return "the server answered with an HTTP error (404: the URL moved; 416: a resume past the end)";
    case 23: return "write error (disk full or folder not writable?)";
    case 28: return "operation timed out";
    case 33: return "the server does not support resuming";
    case 35: return "TLS connect error";
    case 36: return "could not resume: the partial file is longer than the source";
    case 37: return "could not read the file:// path";
    case 52: return "the server sent nothing";
    case 56: return "failure receiving network data";
    case 60: return "server certificate could not be verified";
    default: return "see man curl, EXIT CODES";
    }
}

static int64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* Run curl once; *code is its exit status (-1 when it did not run to the end). */
static gb_status run_curl(const char *url, const char *part, int *code) {
    *code = -1;
    /* Arguments as a vector: the URL reaches curl as one argv entry, never through a shell. */
    const char *progress = isatty(STDERR_FILENO) ? "--progress-bar" : "--silent";
    const char *argv[] = {"curl", "--fail", "--location", progress, "--show-error", "--retry", "2",
                          "--connect-timeout", "30", "--continue-at", "-", "--output", part, "--url", url, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "curl", NULL, NULL, (char *const *)argv, environ);
    if (rc != 0)
        return gb_fail(GB_ENV, "cannot run curl (%s); install curl (apt-get install curl)", strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return gb_fail(GB_ENV, "waiting for curl: %s", strerror(errno));
    if (WIFSIGNALED(status)) return gb_fail(GB_ENV, "curl was killed by signal %d while fetching %s", WTERMSIG(status), url);
    *code = WEXITSTATUS(status);
    if (*code != 0) return gb_fail(GB_ENV, "curl exit %d (%s) fetching %s", *code, curl_reason(*code), url);
    return GB_OK;
}

gb_status gb_curl_download(const char *url, const char *part) {
    int64_t had = file_size(part);
    int code;
    gb_status s = run_curl(url, part, &code);
    /* Start over once when the server cannot resume (33), and when a resume was refused as lying
     * past the end (HTTP 416 -> 22; file:// -> 36): a .part that already holds the whole file,
     * or more, of a file whose size nobody publishes would otherwise fail the same way forever. */
    if (s != GB_OK && code == 33) {
        unlink(part);
        return run_curl(url, part, &code);
    }
    /* 22 is any HTTP error (a moved URL, a 503), so the partial is kept aside until the fresh
     * download succeeds, and restored when it does not. */
    if (s != GB_OK && had > 0 && (code == 22 || code == 36)) {
        gb_warn("%s: %s; trying the download from the start", part, gb_last_error());
        char *aside = NULL;
        if (asprintf(&aside, "%s.resume", part) < 0) return gb_fail(GB_ENV, "out of memory");
        if (rename(part, aside) != 0) {
            free(aside);
            return s;
        }
        s = run_curl(url, part, &code);
        if (s == GB_OK) unlink(aside);
        else rename(aside, part); /* what arrived before stays for a later resume */
        free(aside);
    }
    return s;
}

/* Download f into part from the override folder or the official URLs, resuming when possible. */
static gb_status download(const gb_dataset_info *ds, const gb_data_file *f, const char *part, const char *final) {
    char var[128];
    gb_data_url_override_var(ds, var, sizeof var);
    const char *override = getenv(var);
    char *override_url = NULL;
    const char *urls[2] = {f->url, f->mirror};
    if (override && *override) {
        if (asprintf(&override_url, "%s/%s", override, f->name) < 0) return gb_fail(GB_ENV, "out of memory");
        urls[0] = override_url;
        urls[1] = NULL;
        gb_info("%s is set: fetching %s from %s", var, f->name, override_url);
    }
    if (!urls[0])
        return gb_fail(GB_ENV, "%s: %s has no download URL: %s", ds->name, f->name, ds->note ? ds->note : f->source);
    int64_t have = file_size(part);
    if (f->bytes && have > (int64_t)f->bytes) {
        gb_warn("%s is longer than the published %llu bytes; starting over", part, (unsigned long long)f->bytes);
        unlink(part);
        have = -1;
    }
    if (f->bytes && have == (int64_t)f->bytes) {
        free(override_url);
        return GB_OK; /* a previous run got every byte; verification decides */
    }
    gb_status s = GB_ENV;
    for (int i = 0; i < 2 && urls[i] && s != GB_OK; i++) {
        if (have > 0) gb_info("resuming %s at byte %lld", part, (long long)have);
        s = gb_curl_download(urls[i], part);
        if (s != GB_OK) gb_warn("%s", gb_last_error());
    }
    if (s != GB_OK) {
        if (file_size(part) == 0) unlink(part); /* an empty part helps no resume */
        if (file_size(part) > 0)
            gb_fail_wrap(GB_ENV, "%s: could not download %s (what arrived is kept in %s; fetch again to resume)",
                         ds->name, f->name, part);
        else
            gb_fail_wrap(GB_ENV, "%s: could not download %s (check the network, or download it by hand as %s)",
                         ds->name, f->name, final);
    }
    free(override_url);
    return s;
}

/* Check the finished part; rename it into place only when it matches. */
static gb_status verify_and_place(const gb_data_file *f, const char *part, const char *final) {
    gb_file_report r;
    GB_TRY(gb_data_file_check(part, f, &r));
    if (r.check == GB_FILE_MISSING)
        return gb_fail(GB_ENV, "%s: curl reported success but wrote no file", part);
    if (r.check == GB_FILE_MISMATCH) {
        unlink(part);
        if (f->bytes && r.bytes != f->bytes)
            return gb_fail(GB_INPUT, "%s: downloaded %llu bytes, the publisher lists %llu (%s); the partial file "
                           "was removed: fetch again, or from another mirror", f->name, (unsigned long long)r.bytes,
                           (unsigned long long)f->bytes, f->source);
        return gb_fail(GB_INPUT, "%s: %s mismatch: expected %s, got %s (%s); the download was removed: fetch "
                       "again, or from another mirror", f->name, r.algorithm, r.expected, r.got, f->source);
    }
    if (r.check == GB_FILE_UNVERIFIABLE)
        gb_warn("%s: no published checksum (%s); kept unverified", f->name, f->source);
    if (rename(part, final) != 0) return gb_fail(GB_ENV, "rename %s -> %s: %s", part, final, strerror(errno));
    return GB_OK;
}

/* A member name that stays inside the target folder: relative, no "..", no empty name. */
static int safe_member(const char *name) {
    if (!*name || name[0] == '/' || strchr(name, '\\')) return 0;
    for (const char *p = name; *p;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') return 0;
        if (!slash) break;
        p = slash + 1;
    }
    return 1;
}

static gb_status mkdirs_parent(const char *path) {
    char *copy = strdup(path);
    if (!copy) return gb_fail(GB_ENV, "out of memory");
    char *slash = strrchr(copy, '/');
    gb_status s = GB_OK;
    if (slash && slash != copy) {
        *slash = '\0';
        s = gb_mkdirs(copy);
    }
    free(copy);
    return s;
}

gb_status gb_unzip(const char *archive, const char *dir) {
    zip_t *z;
    GB_TRY(gb_zip_open(&z, archive, "zip archive", "delete it and fetch again"));
    gb_status s = GB_OK;
    zip_int64_t n = zip_get_num_entries(z, 0);
    char buf[1 << 16];
    for (zip_int64_t i = 0; i < n && s == GB_OK; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        if (!name || !safe_member(name)) {
            s = gb_fail(GB_INPUT, "%s: member %lld has an unsafe path '%s' (absolute or with ..); refusing to "
                        "unpack", archive, (long long)i, name ? name : "?");
            break;
        }
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0) {
            s = gb_fail(GB_ENV, "out of memory");
            break;
        }
        size_t len = strlen(name);
        if (name[len - 1] == '/') {
            s = gb_mkdirs(path);
            free(path);
            continue;
        }
        s = mkdirs_parent(path);
        zip_file_t *zf = s == GB_OK ? zip_fopen_index(z, (zip_uint64_t)i, 0) : NULL;
        if (s == GB_OK && !zf)
            s = gb_fail(GB_INPUT, "%s: cannot open member '%s' (%s)", archive, name, zip_strerror(z));
        gb_atomic_file af = {0};
        if (s == GB_OK) s = gb_atomic_open(&af, path);
        while (s == GB_OK) {
            zip_int64_t got = zip_fread(zf, buf, sizeof buf);
            if (got < 0) {
                s = gb_fail(GB_INPUT, "%s: member '%s' is corrupt (%s); delete the archive and fetch again",
                            archive, name, zip_file_strerror(zf));
            } else if (got == 0) {
                break;
            } else if (fwrite(buf, 1, (size_t)got, af.fp) != (size_t)got) {
                s = gb_fail(GB_ENV, "%s: write failed", path);
            }
        }
        if (s == GB_OK) s = gb_atomic_commit(&af);
        else gb_atomic_abort(&af);
        if (zf) zip_fclose(zf);
        free(path);
    }
    zip_discard(z);
    return s;
}

gb_status gb_untar(const char *archive, const char *dir) {
    gb_tar *tar = NULL;
    GB_TRY(gb_tar_open(&tar, archive));
    gb_status s = GB_OK;
    static char buf[1 << 16];
    for (;;) {
        gb_tar_entry e;
        int end = 0;
        s = gb_tar_next(tar, &e, &end);
        if (s != GB_OK || end) break;
        if (e.type != '0' && e.type != '5') {
            gb_warn("%s: skipping member '%s' (type '%c': only files and folders are unpacked)", archive, e.name,
                    e.type);
            continue;
        }
        if (!safe_member(e.name)) {
            s = gb_fail(GB_INPUT, "%s: member at byte %llu has an unsafe path '%s' (absolute or with ..); refusing "
                        "to unpack", archive, (unsigned long long)e.offset, e.name);
            break;
        }
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, e.name) < 0) {
            s = gb_fail(GB_ENV, "out of memory");
            break;
        }
        if (e.type == '5') {
            s = gb_mkdirs(path);
            free(path);
            if (s != GB_OK) break;
            continue;
        }
        gb_atomic_file af = {0};
        s = mkdirs_parent(path);
        if (s == GB_OK) s = gb_atomic_open(&af, path);
        for (uint64_t left = e.size; s == GB_OK && left > 0;) {
            size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
            s = gb_tar_read(tar, buf, n);
            if (s == GB_OK && fwrite(buf, 1, n, af.fp) != n) s = gb_fail(GB_ENV, "%s: write failed", path);
            left -= n;
        }
        if (s == GB_OK) s = gb_atomic_commit(&af);
        else gb_atomic_abort(&af);
        free(path);
        if (s != GB_OK) break;
    }
    gb_tar_close(tar);
    return s;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Unpack archive (a zip or a tar, told apart by the name `as`) into dir. */
static gb_status unpack(const char *archive, const char *as, const char *dir) {
    gb_info("unpacking %s into %s", archive, dir);
    if (ends_with(as, ".zip")) return gb_unzip(archive, dir);
    return gb_untar(archive, dir);
}

gb_status gb_data_fetch(const char *root, const gb_dataset_info *ds) {
    if (ds->derived_from) {
        const gb_dataset_info *base = gb_dataset_find(ds->derived_from);
        GB_ASSERT(base, "%s derives from unknown %s", ds->name, ds->derived_from);
        printf("%s is derived from %s (%s): fetching %s\n", ds->name, base->name, ds->note, base->name);
        return gb_data_fetch(root, base);
    }
    char *dir = gb_dataset_dir(root, ds);
    if (!dir) return gb_fail(GB_ENV, "out of memory");
    gb_status s = gb_mkdirs(dir);
    for (int i = 0; i < ds->file_count && s == GB_OK; i++) {
        const gb_data_file *f = &ds->files[i];
        char *final = gb_dataset_path(root, ds, f->name), *part = NULL;
        if (!final || asprintf(&part, "%s.part", final) < 0) {
            free(final);
            s = gb_fail(GB_ENV, "out of memory");
            break;
        }
        gb_file_report r;
        s = gb_data_file_check(final, f, &r);
        if (s == GB_OK && r.check == GB_FILE_MISMATCH) {
            s = gb_fail(GB_INPUT, "%s exists but does not match the published %s (expected %s, got %s%s); delete "
                        "it and fetch again", final, r.algorithm[0] ? r.algorithm : "size", r.expected,
                        r.got, f->bytes && r.bytes != f->bytes ? ", and its size differs" : "");
        } else if (s == GB_OK && r.check != GB_FILE_MISSING) {
            printf("%s: already present (%s)\n", final, gb_file_check_name(r.check));
        } else if (s == GB_OK) {
            s = download(ds, f, part, final);
            /* An archive no digest vouches for proves itself by unpacking before it takes its
             * final name: a damaged one must not sit there as if fetched. */
            if (s == GB_OK && f->extract && !f->sha256 && !f->md5 && (s = unpack(part, final, dir)) != GB_OK) {
                if (s == GB_INPUT) { /* a bad archive, not a full disk or an unwritable folder */
                    unlink(part);
                    gb_fail_wrap(s, "%s: the download is not a readable archive and was removed; fetch again",
                                 f->name);
                }
            }
            if (s == GB_OK) s = verify_and_place(f, part, final);
            if (s == GB_OK) printf("%s: fetched (%s)\n", final, f->sha256 || f->md5 ? "verified" : "unverifiable");
        }
        if (s == GB_OK && f->extract && gb_dataset_presence(root, ds, NULL, NULL) != GB_DATA_PRESENT)
            s = unpack(final, final, dir);
        free(final);
        free(part);
    }
    if (s == GB_OK) {
        gb_data_presence p = gb_dataset_presence(root, ds, NULL, NULL);
        printf("%s: %s in %s\n", ds->name, gb_data_presence_name(p), dir);
    }
    free(dir);
    return s;
}
