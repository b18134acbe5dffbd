/* datasets/cifar10.c - CIFAR-10 binary batches from a folder or the .tar.gz (datasets/cifar10.h).
 * Tested by tests/test_datasets_images.c. */
#include "datasets/cifar10.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/atomic_file.h"
#include "core/sha256.h"
#include "core/tar.h"

const gb_published_file gb_cifar10_binary_archive = {
    "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
    "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd", 170052171};

static const char *const gb_cifar10_train_files[] = {"data_batch_1.bin", "data_batch_2.bin",
                                                     "data_batch_3.bin", "data_batch_4.bin",
                                                     "data_batch_5.bin"};
static const char *const gb_cifar10_test_files[] = {"test_batch.bin"};

/* Copy `records` records from buf into images first..; `where` names the file for messages. */
static gb_status gb_cifar10_parse(gb_image_set *set, int first, const uint8_t *buf, int records,
                                  const char *where) {
    for (int r = 0; r < records; r++) {
        const uint8_t *rec = buf + (size_t)r * GB_CIFAR10_RECORD_BYTES;
        if (rec[0] > 9)
            return gb_fail(GB_INPUT, "%s: record %d (byte offset %zu) has label %u, expected 0..9: "
                                     "the file is corrupt or not a CIFAR-10 batch (CIFAR-100 records "
                                     "have two label bytes)",
                           where, r, (size_t)r * GB_CIFAR10_RECORD_BYTES, rec[0]);
        set->labels[first + r] = rec[0];
        memcpy(set->pixels + (size_t)(first + r) * 3072, rec + 1, 3072);
    }
    return GB_OK;
}

static gb_status gb_cifar10_size_check(size_t bytes, int records, const char *where) {
    size_t want = (size_t)records * GB_CIFAR10_RECORD_BYTES;
    if (bytes == want) return GB_OK;
    if (bytes % GB_CIFAR10_RECORD_BYTES != 0)
        return gb_fail(GB_INPUT, "%s: %zu bytes is not a whole number of %d-byte records: record %zu "
                                 "is cut at byte offset %zu (the file is truncated; extract or "
                                 "download it again)",
                       where, bytes, GB_CIFAR10_RECORD_BYTES, bytes / GB_CIFAR10_RECORD_BYTES,
                       bytes - bytes % GB_CIFAR10_RECORD_BYTES);
    return gb_fail(GB_INPUT, "%s: %zu records (%zu bytes), expected exactly %d (%zu bytes)", where,
                   bytes / GB_CIFAR10_RECORD_BYTES, bytes, records, want);
}

static gb_status gb_cifar10_from_dir(gb_image_set *set, const char *dir, const char *const *files,
                                     int nfiles, int records, char sha[65]) {
    gb_digest_list digests;
    gb_digest_list_init(&digests);
    for (int f = 0; f < nfiles; f++) {
        char *path = gb_path_join(dir, files[f]);
        uint8_t *buf;
        size_t n;
        gb_status s = gb_read_file(path, &buf, &n);
        if (s == GB_OK) s = gb_cifar10_size_check(n, records, path);
        if (s == GB_OK) s = gb_cifar10_parse(set, f * records, buf, records, path);
        if (s == GB_OK) gb_digest_list_add_data(&digests, buf, n, files[f]);
        free(buf);
        free(path);
        GB_TRY(s);
    }
    gb_digest_list_final(&digests, sha);
    return GB_OK;
}

/* Members are matched by their last two path components, so "./cifar-10-batches-bin/x" and
 * "cifar-10-batches-bin/x" both count. */
static int gb_cifar10_member_index(const char *name, const char *const *files, int nfiles) {
    const char *base = gb_base_name(name);
    size_t dirlen = (size_t)(base - name);
    static const char dir[] = "cifar-10-batches-bin/";
    if (dirlen < sizeof dir - 1 || memcmp(base - (sizeof dir - 1), dir, sizeof dir - 1) != 0) return -1;
    for (int f = 0; f < nfiles; f++)
        if (strcmp(base, files[f]) == 0) return f;
    return -1;
}

static gb_status gb_cifar10_from_tar(gb_image_set *set, const char *path, const char *const *files,
                                     int nfiles, int records, char sha[65]) {
    gb_tar *tar;
    GB_TRY(gb_tar_open(&tar, path));
    int found[8] = {0};
    size_t want = (size_t)records * GB_CIFAR10_RECORD_BYTES;
    uint8_t *buf = malloc(want + 1);
    GB_ASSERT(buf, "out of memory for a CIFAR-10 batch (%zu bytes)", want);
    gb_status s = GB_OK;
    char where[1200];
    for (;;) {
        gb_tar_entry e;
        int end;
        s = gb_tar_next(tar, &e, &end);
        if (s != GB_OK || end) break;
        if (e.type != '0') continue;
        int f = gb_cifar10_member_index(e.name, files, nfiles);
        if (f < 0) continue;
        snprintf(where, sizeof where, "%s member %s (header at byte %llu)", path, e.name,
                 (unsigned long long)e.offset);
        if (found[f]) {
            s = gb_fail(GB_INPUT, "%s: a second copy of %s: the archive is not the published one",
                        where, files[f]);
            break;
        }
        s = gb_cifar10_size_check((size_t)e.size, records, where);
        if (s == GB_OK) s = gb_tar_read(tar, buf, want);
        if (s == GB_OK) s = gb_cifar10_parse(set, f * records, buf, records, where);
        if (s != GB_OK) break;
        found[f] = 1;
    }
    free(buf);
    gb_tar_close(tar);
    GB_TRY(s);
    for (int f = 0; f < nfiles; f++)
        if (!found[f])
            return gb_fail(GB_INPUT, "%s: no member cifar-10-batches-bin/%s: this is not the CIFAR-10 "
                                     "binary archive (download %s)",
                           path, files[f], gb_cifar10_binary_archive.file);
    return gb_sha256_file(path, sha);
}

gb_status gb_cifar10_load(gb_image_set *set, const char *path, gb_cifar10_split split,
                          int records_per_file) {
    int records = records_per_file > 0 ? records_per_file : GB_CIFAR10_RECORDS_PER_FILE;
    const char *const *files = split == GB_CIFAR10_TRAIN ? gb_cifar10_train_files : gb_cifar10_test_files;
    int nfiles = split == GB_CIFAR10_TRAIN ? 5 : 1;
    GB_TRY(gb_image_set_alloc(set, nfiles * records, 3, 32, 32, 1, 10));
    char sha[65];
    gb_status s;
    if (gb_is_dir(path)) {
        char *inner = gb_path_join(path, "cifar-10-batches-bin");
        const char *dir = gb_is_dir(inner) ? inner : path;
        s = gb_cifar10_from_dir(set, dir, files, nfiles, records, sha);
        free(inner);
    } else {
        s = gb_cifar10_from_tar(set, path, files, nfiles, records, sha);
    }
    if (s != GB_OK) {
        gb_image_set_free(set);
        return s;
    }
    snprintf(set->identity, sizeof set->identity, "cifar10:%s", split == GB_CIFAR10_TRAIN ? "train" : "test");
    memcpy(set->sha256, sha, sizeof set->sha256);
    return GB_OK;
}

gb_status gb_cifar10_load_batch(gb_image_set *set, const char *path) {
    memset(set, 0, sizeof *set);
    uint8_t *buf;
    size_t n;
    GB_TRY(gb_read_file(path, &buf, &n));
    gb_status s = GB_OK;
    const size_t whole = n / GB_CIFAR10_RECORD_BYTES;
    if (n == 0) s = gb_fail(GB_INPUT, "%s: empty file, not a CIFAR-10 batch", path);
    else if (whole > INT32_MAX) s = gb_fail(GB_INPUT, "%s: %zu records, too many for one batch", path, whole);
    else s = gb_cifar10_size_check(n, (int)whole, path); /* names a record cut short */
    const int records = s == GB_OK ? (int)whole : 0;
    if (s == GB_OK) s = gb_image_set_alloc(set, records, 3, 32, 32, 1, 10);
    if (s == GB_OK) s = gb_cifar10_parse(set, 0, buf, records, path);
    if (s == GB_OK) {
        uint8_t digest[32];
        gb_sha256(buf, n, digest);
        gb_sha256_hex(digest, set->sha256);
        snprintf(set->identity, sizeof set->identity, "cifar10:%s", gb_base_name(path));
    } else {
        gb_image_set_free(set);
    }
    free(buf);
    return s;
}

int gb_cifar10_folder_records(const char *path) {
    if (!gb_is_dir(path)) return 0;
    static const char *const tries[2] = {"cifar-10-batches-bin/test_batch.bin", "test_batch.bin"};
    for (int i = 0; i < 2; i++) {
        char *p = gb_path_join(path, tries[i]);
        struct stat st;
        int ok = p && stat(p, &st) == 0 && st.st_size > 0 && st.st_size % GB_CIFAR10_RECORD_BYTES == 0 &&
                 st.st_size / GB_CIFAR10_RECORD_BYTES <= INT32_MAX;
        free(p);
        if (ok) return (int)(st.st_size / GB_CIFAR10_RECORD_BYTES);
    }
    return 0;
}
