/* core/manifest.c - ordered key/value provenance records (see manifest.h). */
#include "manifest.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "version.h" /* generated into $(BUILD)/gen by the Makefile */

const char *gb_version(void) { return GB_VERSION_STRING; }
const char *gb_git_commit(void) { return GB_GIT_COMMIT; }
const char *gb_source_dir(void) {
    const char *moved = getenv("GB_SOURCE_DIR");
    return moved && *moved ? moved : GB_SOURCE_DIR;
}

void gb_manifest_init(gb_manifest *m) { memset(m, 0, sizeof *m); }

void gb_manifest_set(gb_manifest *m, const char *key, const char *fmt, ...) {
    char value[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    /* A value is one line: newlines would break the "key: value" format. */
    for (char *c = value; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0) {
            free(m->values[i]);
            m->values[i] = strdup(value);
            return;
        }
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 32;
        m->keys = realloc(m->keys, m->cap * sizeof *m->keys);
        m->values = realloc(m->values, m->cap * sizeof *m->values);
        GB_ASSERT(m->keys && m->values, "out of host memory for the manifest");
    }
    m->keys[m->n] = strdup(key);
    m->values[m->n] = strdup(value);
    m->n++;
}

const char *gb_manifest_get(const gb_manifest *m, const char *key) {
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0) return m->values[i];
    return NULL;
}

void gb_manifest_add_build_info(gb_manifest *m, int argc, char **argv) {
    gb_manifest_set(m, "genbench_version", "%s", gb_version());
    gb_manifest_set(m, "git_commit", "%s", gb_git_commit());
    gb_manifest_set(m, "build_flags", "%s", GB_BUILD_FLAGS);
    char cmd[4096] = "";
    size_t used = 0;
    for (int i = 0; i < argc && used < sizeof cmd - 1; i++)
        used += (size_t)snprintf(cmd + used, sizeof cmd - used, "%s%s", i ? " " : "", argv[i]);
    gb_manifest_set(m, "command_line", "%s", cmd);
    char host[256] = "unknown";
    gethostname(host, sizeof host - 1);
    gb_manifest_set(m, "host", "%s", host);
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    gb_manifest_set(m, "started_utc", "%s", when);
}

void gb_manifest_print(const gb_manifest *m, FILE *fp) {
    for (size_t i = 0; i < m->n; i++) fprintf(fp, "%s: %s\n", m->keys[i], m->values[i]);
}

gb_status gb_manifest_write(const gb_manifest *m, const char *path) {
    gb_atomic_file af;
    GB_TRY(gb_atomic_open(&af, path));
    gb_manifest_print(m, af.fp);
    return gb_atomic_commit(&af);
}

void gb_manifest_free(gb_manifest *m) {
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->values[i]);
    }
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}
