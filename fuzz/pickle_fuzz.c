/* fuzz/pickle_fuzz.c - libFuzzer target for the pickle VM (core/pickle.c) and the numpy
 * array reader on top of it (core/pickle_numpy.c).
 *
 * The input is parsed as a stream of pickles (each call starts where the last one's STOP
 * ended, as legacy torch.save files need), with small node and allocation limits. Each
 * finished tree is walked recursively (the reader promises no cycles and bounded depth):
 * strings and bytes are NUL-terminated at len, containers hold non-NULL items, offsets lie
 * inside the pickle
 * (offsets count from the start of the input). The first pickle is also parsed with numpy's allowed globals and read
 * as an ndarray: on success count = prod(shape) and the data holds count elements. Run with
 * `make fuzz`.
 */
#include <string.h>

#include "core/pickle.h"
#include "core/pickle_numpy.h"
#include "fuzz/fuzz_util.h"

/* Memo GETs make the tree a DAG whose walk can be exponential: stop after this many visits. */
static size_t budget;

static size_t walk(const gb_pk_node *n, size_t depth, size_t limit, size_t lo, size_t hi) {
    fuzz_check(n, "NULL node");
    if (budget == 0) return 0;
    budget--;
    fuzz_check(depth <= limit, "tree deeper than the limit %zu", limit);
    fuzz_check(n->offset >= lo && n->offset < hi, "node offset %zu outside [%zu, %zu)", n->offset, lo, hi);
    size_t visited = 1;
    switch (n->kind) {
    case GB_PK_STR:
    case GB_PK_BYTES:
        fuzz_check(n->bytes && n->bytes[n->len] == 0, "text not NUL-terminated");
        break;
    case GB_PK_INT:
        if (n->big) fuzz_check(n->bytes && n->len > 0, "big int without bytes");
        break;
    case GB_PK_TUPLE:
    case GB_PK_LIST:
    case GB_PK_DICT: {
        size_t items = n->kind == GB_PK_DICT ? 2 * n->count : n->count;
        for (size_t i = 0; i < items; i++) visited += walk(n->items[i], depth + 1, limit, lo, hi);
        break;
    }
    case GB_PK_GLOBAL:
        fuzz_check(n->module && n->name, "global without names");
        break;
    case GB_PK_REDUCE:
    case GB_PK_NEWOBJ:
        visited += walk(n->callable, depth + 1, limit, lo, hi);
        visited += walk(n->args, depth + 1, limit, lo, hi);
        break;
    case GB_PK_PERSID:
        visited += walk(n->pid, depth + 1, limit, lo, hi);
        break;
    default:
        break;
    }
    if (n->state) visited += walk(n->state, depth + 1, limit, lo, hi);
    return visited;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gb_pickle_opts opts = {.origin = "fuzz.pkl", .max_nodes = 1 << 16, .max_depth = 64, .max_alloc = 64 << 20};
    size_t at = 0;
    for (int k = 0; k < 4 && at < size; k++) {
        gb_pickle *pk;
        size_t used = 0;
        opts.base_offset = at;
        gb_status s = gb_pickle_parse(&pk, data + at, size - at, &opts, &used);
        if (s != GB_OK) {
            fuzz_check(!pk && gb_last_error()[0], "failure with a tree or without a message");
            break;
        }
        fuzz_check(used > 0 && used <= size - at, "consumed %zu of %zu", used, size - at);
        budget = 1 << 16;
        walk(gb_pickle_root(pk), 0, 64 + 1, at, at + used);
        gb_pickle_free(pk);
        at += used;
    }

    gb_pickle_opts np_opts = {.origin = "fuzz-np.pkl", .allow_globals = gb_np_pickle_globals,
                              .max_nodes = 1 << 16, .max_alloc = 64 << 20};
    gb_pickle *pk;
    if (gb_pickle_parse(&pk, data, size, &np_opts, NULL) != GB_OK) return 0;
    gb_np_array a;
    if (gb_np_from_node(&a, pk, gb_pickle_root(pk), 1 << 20) == GB_OK) {
        size_t count = 1;
        for (int d = 0; d < a.ndim; d++) count *= (size_t)a.shape[d];
        fuzz_check(a.ndim >= 0 && a.ndim <= GB_NP_MAX_DIMS && count == a.count, "array count");
        for (size_t i = 0; i < a.count; i++) {
            int64_t v;
            (void)gb_np_get_int64(&a, i, &v);
        }
        gb_np_array_free(&a);
    }
    gb_pickle_free(pk);
    return 0;
}
