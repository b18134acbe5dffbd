/* fuzz/safetensors_fuzz.c - libFuzzer target for gb_safetensors_parse (core/safetensors.c).
 *
 * Invariants on every accepted file: each tensor's bytes lie inside the data buffer (after
 * the 8 + N header bytes), nbytes = prod(shape) * dtype size, the tensors are in offset
 * order and tile the buffer exactly, every name is found by gb_safetensors_find and every
 * metadata key by gb_safetensors_meta; F32 tensors copy out through gb_safetensors_get_f32.
 * Then the file is written again with gb_safetensors_write and read back: the same names,
 * dtypes, shapes, bytes and metadata must come out. Run with `make fuzz`.
 */
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "fuzz/fuzz_util.h"

static void check_same(const gb_safetensors *a, const gb_safetensors *b) {
    fuzz_check(a->n_tensors == b->n_tensors && a->n_meta == b->n_meta, "counts changed in the round trip");
    for (size_t i = 0; i < a->n_tensors; i++) {
        const gb_st_tensor *x = &a->tensors[i];
        const gb_st_tensor *y = gb_safetensors_find(b, x->name);
        fuzz_check(y, "tensor '%s' lost in the round trip", x->name);
        fuzz_check(x->dtype == y->dtype && x->ndim == y->ndim && x->nbytes == y->nbytes,
                   "tensor '%s' changed in the round trip", x->name);
        fuzz_check(memcmp(x->shape, y->shape, sizeof x->shape[0] * (size_t)x->ndim) == 0, "shape of '%s'", x->name);
        fuzz_check(x->nbytes == 0 || memcmp(x->data, y->data, x->nbytes) == 0, "bytes of '%s'", x->name);
    }
    for (size_t i = 0; i < a->n_meta; i++) {
        const char *v = gb_safetensors_meta(b, a->meta_keys[i]);
        fuzz_check(v && strcmp(v, a->meta_values[i]) == 0, "metadata '%s' changed", a->meta_keys[i]);
    }
}

static void round_trip(const gb_safetensors *st) {
    gb_st_entry *e = calloc(st->n_tensors + 1, sizeof *e);
    const char **kv = calloc(2 * st->n_meta + 1, sizeof *kv);
    fuzz_check(e && kv, "out of memory");
    for (size_t i = 0; i < st->n_tensors; i++) {
        const gb_st_tensor *t = &st->tensors[i];
        e[i].name = t->name;
        e[i].dtype = t->dtype;
        e[i].ndim = t->ndim;
        memcpy(e[i].shape, t->shape, sizeof t->shape);
        e[i].data = t->data;
    }
    for (size_t i = 0; i < st->n_meta; i++) {
        kv[2 * i] = st->meta_keys[i];
        kv[2 * i + 1] = st->meta_values[i];
    }
    const char *path = fuzz_write_file("rt.safetensors", NULL, 0);
    gb_status s = gb_safetensors_write(path, e, st->n_tensors, st->n_meta ? kv : NULL);
    fuzz_check(s == GB_OK, "writing back failed: %s", gb_last_error());
    gb_safetensors back;
    s = gb_safetensors_read(path, &back);
    fuzz_check(s == GB_OK, "reading back the written file failed: %s", gb_last_error());
    check_same(st, &back);
    gb_safetensors_free(&back);
    free(e);
    free(kv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned char *bytes = malloc(size ? size : 1);
    fuzz_check(bytes, "out of memory");
    if (size) memcpy(bytes, data, size);
    gb_safetensors st;
    gb_status s = gb_safetensors_parse("fuzz.safetensors", bytes, size, &st);
    if (s != GB_OK) {
        fuzz_check(!st.tensors && !st.file && st.n_tensors == 0, "struct not zeroed on failure");
        fuzz_check(gb_last_error()[0] != '\0', "rejection without a message");
        return 0;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | data[i];
    const unsigned char *buf = st.file + 8 + hlen, *end = st.file + st.file_size;
    const unsigned char *at = buf;
    for (size_t i = 0; i < st.n_tensors; i++) {
        const gb_st_tensor *t = &st.tensors[i];
        fuzz_check(t->data == at, "tensor '%s' does not start where the previous one ends", t->name);
        fuzz_check(t->data >= buf && t->data <= end && t->nbytes <= (size_t)(end - t->data),
                   "tensor '%s' lies outside the buffer", t->name);
        size_t want = gb_dtype_size(t->dtype);
        for (int d = 0; d < t->ndim; d++) want *= (size_t)t->shape[d];
        fuzz_check(t->nbytes == want && t->ndim >= 0 && t->ndim <= GB_ST_MAX_RANK, "tensor '%s' size", t->name);
        fuzz_check(gb_safetensors_find(&st, t->name) == t, "find('%s') returned another tensor", t->name);
        if (t->dtype == GB_DT_F32) {
            float *out = malloc(t->nbytes + 1);
            fuzz_check(out, "out of memory");
            fuzz_check(gb_safetensors_get_f32(&st, t->name, out, t->nbytes / 4) == GB_OK, "get_f32 '%s'", t->name);
            fuzz_check(t->nbytes == 0 || memcmp(out, t->data, t->nbytes) == 0, "get_f32 '%s' bytes", t->name);
            free(out);
        }
        at = t->data + t->nbytes;
    }
    fuzz_check(at == end, "the tensors do not end at the end of the file");
    for (size_t i = 0; i < st.n_meta; i++)
        fuzz_check(gb_safetensors_meta(&st, st.meta_keys[i]) == st.meta_values[i], "meta '%s'", st.meta_keys[i]);
    round_trip(&st);
    gb_safetensors_free(&st);
    return 0;
}
