/* datasets/dataset_files.h - small helpers the image loaders share: the combined SHA-256 of
 * the files a set was read from, published-file tables, path joining.
 *
 * gb_image_set.sha256 must identify exactly the bytes loaded. One file: its own SHA-256 (so
 * an archive's value equals the published TFDS digest). Several files: the SHA-256 of the
 * text "<sha256>  <name>\n" per file in load order (sha256sum's output format), so the value
 * can be recomputed with `sha256sum f1 f2 ... | sha256sum` from the folder.
 * Tested through tests/test_datasets_images.c (the digests are recomputed there with
 * Python-written files and compared).
 */
#ifndef GB_DATASETS_DATASET_FILES_H
#define GB_DATASETS_DATASET_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "core/sha256.h"
#include "core/status.h"

/* A file as its publisher lists it (specs/formats.md sections 1-3). */
typedef struct {
    const char *file;   /* file name as downloaded */
    const char *md5;    /* published md5 (lowercase hex), NULL when none */
    const char *sha256; /* published sha256, NULL when none */
    uint64_t bytes;     /* size in bytes, 0 when unknown */
} gb_published_file;

typedef struct {
    gb_sha256_ctx list; /* over the "<sha256>  <name>\n" lines */
    char first[65];     /* the first file's digest, the result when only one was added */
    int files;
} gb_digest_list;

void gb_digest_list_init(gb_digest_list *d);
/* Add one file's digest (hex) under its base name. */
void gb_digest_list_add(gb_digest_list *d, const char *sha256_hex, const char *name);
/* Add a buffer that was read from `name`, hashing it here. */
void gb_digest_list_add_data(gb_digest_list *d, const void *data, size_t n, const char *name);
void gb_digest_list_final(gb_digest_list *d, char hex[65]);

/* "<dir>/<name>" in a malloc'd string (dir "" gives name). */
char *gb_path_join(const char *dir, const char *name);
/* 1 when path names a directory, 0 otherwise (missing included). */
int gb_is_dir(const char *path);
/* 1 when path names an existing regular file. */
int gb_is_file(const char *path);
/* The part after the last '/'. */
const char *gb_base_name(const char *path);

#endif
