/* fuzz/torch_weights_fuzz.c - libFuzzer target for gb_torch_parse (metrics/torch_weights.c:
 * PyTorch state dicts, zip through libzip or legacy pickle streams through core/pickle.c).
 *
 * Parses the input in memory. Invariants on success: every tensor's count is the product
 * of its shape, float32 tensors carry count floats (ASan checks the last one) and every other
 * dtype no data, every name is found by gb_torch_find. Run with `make fuzz`.
 */
#include <string.h>

#include "fuzz/fuzz_util.h"
#include "metrics/torch_weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gb_torch_state st;
    gb_status s = gb_torch_parse(&st, "fuzz.pth", data, size);
    if (s != GB_OK) {
        fuzz_check(st.count == 0 && !st.tensors && gb_last_error()[0], "failure not zeroed or without a message");
        return 0;
    }
    for (size_t i = 0; i < st.count; i++) {
        const gb_torch_tensor *t = &st.tensors[i];
        fuzz_check(t->name && t->ndim >= 0 && t->ndim <= GB_TORCH_MAX_DIMS, "tensor %zu header", i);
        size_t count = 1;
        for (int d = 0; d < t->ndim; d++) {
            fuzz_check(t->shape[d] >= 0, "tensor '%s' negative dimension", t->name);
            count *= (size_t)t->shape[d];
        }
        fuzz_check(count == t->count, "tensor '%s': count %zu, shape product %zu", t->name, t->count, count);
        if (t->dtype == GB_TORCH_F32) {
            fuzz_check(t->count == 0 || t->data, "float32 tensor '%s' without data", t->name);
            if (t->count) fuzz_check(t->data[t->count - 1] == t->data[t->count - 1] || 1, "last element");
        } else {
            fuzz_check(!t->data, "%s tensor '%s' with data", gb_torch_dtype_name(t->dtype), t->name);
        }
        const gb_torch_tensor *f = gb_torch_find(&st, t->name);
        fuzz_check(f && strcmp(f->name, t->name) == 0, "find('%s')", t->name);
    }
    gb_torch_free(&st);
    return 0;
}
