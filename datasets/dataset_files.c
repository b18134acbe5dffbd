/* datasets/dataset_files.c - combined digests and path helpers (datasets/dataset_files.h).
 * Tested through tests/test_datasets_images.c. */
#include "datasets/dataset_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void gb_digest_list_init(gb_digest_list *d) {
    gb_sha256_init(&d->list);
    d->first[0] = 0;
    d->files = 0;
}

void gb_digest_list_add(gb_digest_list *d, const char *sha256_hex, const char *name) {
    if (d->files == 0) snprintf(d->first, sizeof d->first, "%s", sha256_hex);
    gb_sha256_update(&d->list, sha256_hex, strlen(sha256_hex));
    gb_sha256_update(&d->list, "  ", 2);
    gb_sha256_update(&d->list, name, strlen(name));
    gb_sha256_update(&d->list, "\n", 1);
    d->files++;
}

void gb_digest_list_add_data(gb_digest_list *d, const void *data, size_t n, const char *name) {
    uint8_t digest[32];
    char hex[65];
    gb_sha256(data, n, digest);
    gb_sha256_hex(digest, hex);
    gb_digest_list_add(d, hex, name);
}

void gb_digest_list_final(gb_digest_list *d, char hex[65]) {
    if (d->files == 1) {
        memcpy(hex, d->first, 65);
        return;
    }
    uint8_t digest[32];
    gb_sha256_final(&d->list, digest);
    gb_sha256_hex(digest, hex);
}

char *gb_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    GB_ASSERT(p, "out of memory");
    if (a == 0) {
        memcpy(p, name, b + 1);
        return p;
    }
    memcpy(p, dir, a);
    size_t at = a;
    if (dir[a - 1] != '/') p[at++] = '/';
    memcpy(p + at, name, b + 1);
    return p;
}

int gb_is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int gb_is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

const char *gb_base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}
