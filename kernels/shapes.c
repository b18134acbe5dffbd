/* kernels/shapes.c - the backend-independent saved-buffer sizes of the composite
 * ops declared in kernels/shapes.h.
 *
 * Every backend's attention kernels must fit what they save for backward into
 * exactly these many floats, so a model sizes its arena once for any backend
 * (DESIGN.md section 3, "Memory"). The layouts themselves are documented where
 * they are written: kernels/cpu/attention.c and kernels/cpu/linear_attention.c.
 * Tested by tests/test_kernels_attention.c (the kernels run on buffers of exactly
 * this size, with guard values behind them).
 */
#include "kernels/shapes.h"

#include "core/status.h"

static size_t attention_heads(const gb_attention_shape *s, const char *op) {
    GB_ASSERT(s->batch >= 0 && s->heads >= 0 && s->dim_head >= 0 && s->positions >= 0,
              "%s: batch %d, heads %d, dim_head %d, positions %d must be non-negative", op, s->batch,
              s->heads, s->dim_head, s->positions);
    return (size_t)s->batch * (size_t)s->heads;
}

/* Per head: the attention matrix [positions, positions] and the normalised q and
 * k [dim_head, positions] each. */
size_t gb_attention_saved_floats(const gb_attention_shape *s) {
    const size_t bh = attention_heads(s, "gb_attention_saved_floats");
    const size_t d = (size_t)s->dim_head, n = (size_t)s->positions;
    return bh * (n * n + 2 * d * n);
}

/* Per head: softmax(q) and softmax(k) [dim_head, positions] each and the context
 * [dim_head, dim_head]. */
size_t gb_linear_attention_saved_floats(const gb_attention_shape *s) {
    const size_t bh = attention_heads(s, "gb_linear_attention_saved_floats");
    const size_t d = (size_t)s->dim_head, n = (size_t)s->positions;
    return bh * (2 * d * n + d * d);
}
