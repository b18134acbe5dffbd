/* bench/peer.c - run a PyTorch peer script and parse its JSON timings (bench/peer.h).
 * Exercised by tests/smoke.sh through `genbench bench --quick`. */
#include "peer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../core/manifest.h"

gb_status gb_bench_run_peer(const char *script, const char *args, double *times, size_t *n, size_t cap,
                            char *version, size_t version_cap) {
    char cmd[2048];
    /* Debian's python3 holds the PyTorch the peers were written for; $GB_PYTHON names another
     * (a GPU machine's own PyTorch) */
    const char *python = getenv("GB_PYTHON");
    snprintf(cmd, sizeof cmd, "%s %s/bench/peers/%s %s", python && *python ? python : "/usr/bin/python3",
             gb_source_dir(), script, args);
    FILE *p = popen(cmd, "r");
    if (!p) return gb_fail(GB_ENV, "cannot start the PyTorch peer: %s", cmd);
    size_t size = 0, room = 1 << 16;
    char *out = malloc(room);
    GB_ASSERT(out, "out of memory reading a peer's output");
    size_t got;
    while ((got = fread(out + size, 1, room - size - 1, p)) > 0) {
        size += got;
        if (room - size < 1024) {
            room *= 2;
            out = realloc(out, room);
            GB_ASSERT(out, "out of memory reading a peer's output");
        }
    }
    out[size] = '\0';
    int rc = pclose(p);
    cJSON *json = rc == 0 ? cJSON_Parse(out) : NULL;
    cJSON *list = json ? cJSON_GetObjectItemCaseSensitive(json, "times_s") : NULL;
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(json);
        free(out);
        int code = rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
        return gb_fail(GB_ENV, "the PyTorch peer failed (exit %d) or printed no times: %s; is python3-torch "
                               "installed (make deps)?", code, cmd);
    }
    *n = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, list) {
        if (*n < cap && cJSON_IsNumber(t)) times[(*n)++] = t->valuedouble;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, "torch");
    snprintf(version, version_cap, "%s", cJSON_IsString(v) ? v->valuestring : "unknown");
    cJSON_Delete(json);
    free(out);
    return GB_OK;
}
