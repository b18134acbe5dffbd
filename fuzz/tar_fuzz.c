/* fuzz/tar_fuzz.c - libFuzzer target for core/tar.c (gb_tar_next, gb_tar_read,
 * gb_tar_read_all), through core/gzip_file.c for compressed archives.
 *
 * The input is written to a scratch file. Members are walked to the end marker; odd
 * members are read whole (capped at 1 MiB), even ones partly, so skipping unread data is
 * exercised too. Invariants: headers lie on 512-byte boundaries in increasing order, names
 * are non-NULL C strings, data-less types report size 0, a read member gives exactly its
 * size. Run with `make fuzz`.
 */
#include <stdlib.h>
#include <string.h>

#include "core/tar.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_file("in.tar", data, size);
    gb_tar *tar;
    if (gb_tar_open(&tar, path) != GB_OK) return 0;
    uint64_t last = 0;
    for (int i = 0;; i++) {
        gb_tar_entry e;
        int end = 0;
        gb_status s = gb_tar_next(tar, &e, &end);
        if (s != GB_OK) {
            fuzz_check(gb_last_error()[0], "failure without a message");
            break;
        }
        if (end) break;
        fuzz_check(e.name && e.offset % 512 == 0 && (i == 0 || e.offset > last), "member %d at %llu", i,
                   (unsigned long long)e.offset);
        fuzz_check(strlen(e.name) < (1u << 20), "name length");
        if (e.type == '5' || e.type == '2' || e.type == '1') fuzz_check(e.size == 0, "link or dir with data");
        last = e.offset;
        if (i % 2 == 0) {
            uint8_t *buf;
            size_t n;
            s = gb_tar_read_all(tar, 1 << 20, &buf, &n);
            if (s == GB_OK) {
                fuzz_check(n == e.size && buf[n] == 0, "read_all gave %zu of %llu bytes", n,
                           (unsigned long long)e.size);
                free(buf);
            } else {
                fuzz_check(!buf, "buffer left after a failure");
                break;
            }
        } else if (e.size > 0) {
            uint8_t part[64];
            size_t n = e.size < sizeof part ? (size_t)e.size / 2 + 1 : sizeof part;
            if (gb_tar_read(tar, part, n) != GB_OK) break;
        }
    }
    gb_tar_close(tar);
    return 0;
}
