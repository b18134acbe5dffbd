/* core/manifest.h - the run manifest (DESIGN.md section 3, Provenance).
 *
 * An ordered list of "key: value" lines written beside every result: genbench version and git
 * commit (with dirty flag), command line, pipeline, scale, seed, device and its name, library
 * versions, thread count, dataset identity, metric protocol. Keys keep insertion order; setting
 * a key again replaces its value in place. Written atomically.
 */
#ifndef GB_MANIFEST_H
#define GB_MANIFEST_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

typedef struct {
    char **keys;
    char **values;
    size_t n, cap;
} gb_manifest;

void gb_manifest_init(gb_manifest *m);
void gb_manifest_set(gb_manifest *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *gb_manifest_get(const gb_manifest *m, const char *key); /* NULL when absent */
/* The fields every run shares: version, commit, build flags, host, time, command line. */
void gb_manifest_add_build_info(gb_manifest *m, int argc, char **argv);
void gb_manifest_print(const gb_manifest *m, FILE *fp);
gb_status gb_manifest_write(const gb_manifest *m, const char *path);
void gb_manifest_free(gb_manifest *m);

/* Version strings baked in at build time (build/gen/version.h). */
const char *gb_version(void);
const char *gb_git_commit(void); /* "<sha>" or "<sha>-dirty" or "unknown" */
/* The checkout genbench was built from: shipped data (reference/) and the benchmark's PyTorch
 * peers are found there when the binary runs from another directory. $GB_SOURCE_DIR, when set,
 * names another copy (a binary carried to a machine where the checkout sits elsewhere). */
const char *gb_source_dir(void);

#endif
