/* datasets/registry.h - every dataset genbench knows: where it comes from, how to check it,
 * where it lives under the data root, and what stands in for it when it is absent.
 *
 * One table (datasets/registry.c). URLs, sizes and digests are copied from
 * /work/shared/specs/formats.md (section cited per entry); where that spec says no checksum
 * is published, the entry has none and verification reports "unverifiable" instead of
 * inventing one. The data root is --data DIR, else $GB_DATA, else "data" (DESIGN.md 4);
 * dataset <name> lives in <root>/<dir>/.
 *
 * Presence: a dataset is present when every path in `needs` exists (a need may list
 * alternatives separated by '|', e.g. an archive the loader streams or its extracted
 * folder), partial when only some of them (or only its downloaded archives) exist, missing
 * otherwise.
 *
 * Tested by tests/test_datasets_synth.c (table consistency: hex digests, unique names, every
 * stand-in known) and tests/smoke_data.sh (list / verify / fetch through the CLI).
 */
#ifndef GB_DATASETS_REGISTRY_H
#define GB_DATASETS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* One downloadable file, as its publisher lists it. */
typedef struct {
    const char *name;    /* file name under the dataset folder, as downloaded */
    const char *url;     /* official URL; NULL when there is no automatic download */
    const char *mirror;  /* a second official URL, tried when the first fails; may be NULL */
    uint64_t bytes;      /* published size; 0 when unknown */
    const char *sha256;  /* published SHA-256 (lowercase hex); NULL when none is published */
    const char *md5;     /* published MD5; NULL when none is published */
    const char *source;  /* where the digest (or its absence) is documented */
    int extract;         /* 1: unpack into the dataset folder after download (zip or tar.gz) */
} gb_data_file;

typedef struct {
    const char *name;        /* "cifar10", "mnist", ... (the CLI argument) */
    const char *title;       /* one line for `data list` */
    const char *dir;         /* folder under the data root */
    const gb_data_file *files;
    int file_count;          /* 0 for derived data (see derived_from) */
    const char *const *needs; /* NULL-terminated; relative to dir; '|' separates alternatives */
    const char *standin;     /* stand-in used when absent ("shapes32", ...), NULL when none */
    const char *derived_from; /* another dataset whose files this one is made from, or NULL */
    const char *note;        /* how to obtain it when it cannot be fetched; caveats */
} gb_dataset_info;

/* The table, in `data list` order. */
const gb_dataset_info *gb_datasets(size_t *count);
/* By name (case-sensitive); NULL when unknown. */
const gb_dataset_info *gb_dataset_find(const char *name);

/* The data root: cli_dir when non-NULL, else $GB_DATA when set and non-empty, else "data". */
const char *gb_data_root(const char *cli_dir);

/* "<root>/<dir>" and "<root>/<dir>/<rel>" as malloc'd strings (NULL only when out of memory). */
char *gb_dataset_dir(const char *root, const gb_dataset_info *ds);
char *gb_dataset_path(const char *root, const gb_dataset_info *ds, const char *rel);

typedef enum { GB_DATA_MISSING, GB_DATA_PARTIAL, GB_DATA_PRESENT } gb_data_presence;
const char *gb_data_presence_name(gb_data_presence p); /* "missing", "partial", "present" */

/* Check `needs` (and the downloads) on disk. satisfied / total count the needs when not NULL. */
gb_data_presence gb_dataset_presence(const char *root, const gb_dataset_info *ds, int *satisfied, int *total);

typedef enum {
    GB_FILE_OK,           /* digest matches the published one */
    GB_FILE_MISSING,      /* not on disk */
    GB_FILE_MISMATCH,     /* size or digest differs from the published value */
    GB_FILE_UNVERIFIABLE, /* on disk, but no digest is published (size checked when known) */
} gb_file_check;
const char *gb_file_check_name(gb_file_check c); /* "ok", "missing", "MISMATCH", "unverifiable" */

typedef struct {
    gb_file_check check;
    uint64_t bytes;       /* size on disk */
    char algorithm[8];    /* "sha256" / "md5" / "" */
    char expected[65];    /* published digest compared with ("" when none) */
    char got[65];         /* digest of the bytes on disk ("" when not computed) */
} gb_file_report;

/* Hash `path` and compare it with f's published size and digest (SHA-256 where published,
 * else MD5). A missing file is GB_FILE_MISSING with GB_OK; an unreadable one is GB_INPUT. */
gb_status gb_data_file_check(const char *path, const gb_data_file *f, gb_file_report *report);

/* Name of the URL override variable: GB_DATA_URL_OVERRIDE_<NAME>, NAME upper-cased with every
 * character other than A-Z and 0-9 turned into '_' (fashion-mnist -> FASHION_MNIST).
 * When set, every file of that dataset is fetched from "<value>/<file name>" instead of the
 * official URLs (tests point it at file:// folders; checksums are still enforced). */
void gb_data_url_override_var(const gb_dataset_info *ds, char *out, size_t size);

#endif
