/* fuzz/fuzz_util.h - helpers shared by the libFuzzer targets in fuzz/ (header-only).
 *
 * Parsers that only take a path are fed through a per-process scratch folder under
 * $TMPDIR (else /dev/shm, else /tmp): fuzz_write_file writes the input there and returns the path.
 * fuzz_check aborts with a message when an invariant fails, so libFuzzer records the
 * input as a crash. Used by every fuzz/<parser>_fuzz.c; run with `make fuzz`.
 */
#ifndef GB_FUZZ_UTIL_H
#define GB_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_check(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* The scratch folder, made once per process and removed at exit. */
static char fuzz_dir_path[256];

__attribute__((unused)) static void fuzz_dir_remove(void) {
    char cmd[300];
    if (!fuzz_dir_path[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_path);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir_path);
}

__attribute__((unused)) static const char *fuzz_dir(void) {
    if (!fuzz_dir_path[0]) {
        /* tmpfs when there is one: the atomic writers fsync, which is slow on a disk. */
        const char *tmp = getenv("TMPDIR");
        if (!tmp || !*tmp) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/gb_fuzz_XXXXXX", tmp);
        if (!mkdtemp(fuzz_dir_path)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir_path;
}

/* Write n bytes to <scratch>/<name>; returns the path (static storage, one per name slot). */
__attribute__((unused)) static const char *fuzz_write_file(const char *name, const uint8_t *data, size_t n) {
    static char paths[8][512];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, 512, "%s/%s", fuzz_dir(), name);
    FILE *fp = fopen(path, "wb");
    if (!fp || (n && fwrite(data, 1, n, fp) != n) || fclose(fp) != 0) {
        perror("fuzz: writing the input file");
        abort();
    }
    return path;
}

/* Split data at the first `sep` byte at or after *pos: returns the piece, advances *pos past
 * the separator (to size when none is left). */
__attribute__((unused)) static const uint8_t *fuzz_split(const uint8_t *data, size_t size, size_t *pos, uint8_t sep, size_t *len) {
    const uint8_t *start = data + *pos;
    const uint8_t *end = *pos < size ? memchr(start, sep, size - *pos) : NULL;
    *len = end ? (size_t)(end - start) : size - *pos;
    *pos = end ? (size_t)(end - data) + 1 : size;
    return start;
}

/* Cut data into k pieces: it starts with k - 1 big-endian u16 lengths (pieces 0..k-2, each
 * clipped to what is left), the last piece takes the rest. Returns 0 when the table is
 * incomplete. */
__attribute__((unused)) static int fuzz_pieces(const uint8_t *data, size_t size, int k, const uint8_t **piece,
                                               size_t *len) {
    size_t table = 2 * (size_t)(k - 1);
    if (size < table) return 0;
    size_t at = table;
    for (int i = 0; i < k; i++) {
        size_t want = i < k - 1 ? (size_t)data[2 * i] << 8 | data[2 * i + 1] : size - at;
        len[i] = want < size - at ? want : size - at;
        piece[i] = data + at;
        at += len[i];
    }
    return 1;
}

#endif
