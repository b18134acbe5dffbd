/* kernels/shapes.h - the shape structs of the op vocabulary and their output-size rules.
 *
 * Every tensor is contiguous, row-major, NCHW for images. Sizes are int (small
 * enough for every pipeline, and signed so padding arithmetic reads naturally).
 * The output-size rules are PyTorch's (floor mode everywhere). The saved-buffer
 * sizes of composite ops are functions here so models size their arenas once
 * (DESIGN.md section 3, "Memory"); they are backend-independent, defined in
 * kernels/shapes.c. Tested through the op suites (tests/test_kernels_*.c).
 */
#ifndef GB_KERNELS_SHAPES_H
#define GB_KERNELS_SHAPES_H

#include <stddef.h>

/* conv2d and conv_transpose2d.
 *   conv2d:           inp [batch, in_channels, in_height, in_width]
 *                     weight [out_channels, in_channels, kernel_h, kernel_w], bias [out_channels]
 *                     out [batch, out_channels, gb_conv_out_h, gb_conv_out_w]
 *   conv_transpose2d: inp [batch, in_channels, in_height, in_width]
 *                     weight [in_channels, out_channels, kernel_h, kernel_w] (PyTorch's layout)
 *                     out [batch, out_channels, gb_conv_transpose_out_h, gb_conv_transpose_out_w]
 * output_padding_* applies to conv_transpose2d only (must be < stride, as in PyTorch). */
typedef struct {
    int batch;
    int in_channels, in_height, in_width;
    int out_channels;
    int kernel_h, kernel_w;
    int stride_h, stride_w;
    int pad_h, pad_w;
    int output_padding_h, output_padding_w;
} gb_conv_shape;

static inline int gb_conv_out_h(const gb_conv_shape *s) {
    return (s->in_height + 2 * s->pad_h - s->kernel_h) / s->stride_h + 1;
}
static inline int gb_conv_out_w(const gb_conv_shape *s) {
    return (s->in_width + 2 * s->pad_w - s->kernel_w) / s->stride_w + 1;
}
static inline int gb_conv_transpose_out_h(const gb_conv_shape *s) {
    return (s->in_height - 1) * s->stride_h - 2 * s->pad_h + s->kernel_h + s->output_padding_h;
}
static inline int gb_conv_transpose_out_w(const gb_conv_shape *s) {
    return (s->in_width - 1) * s->stride_w - 2 * s->pad_w + s->kernel_w + s->output_padding_w;
}

/* max and average pooling: inp [batch, channels, in_height, in_width],
 * out [batch, channels, gb_pool_out_h, gb_pool_out_w] (floor mode, padding
 * <= kernel/2 as in PyTorch). count_include_pad is read by average pooling only. */
typedef struct {
    int batch, channels, in_height, in_width;
    int kernel_h, kernel_w;
    int stride_h, stride_w;
    int pad_h, pad_w;
    int count_include_pad;
} gb_pool_shape;

static inline int gb_pool_out_h(const gb_pool_shape *s) {
    return (s->in_height + 2 * s->pad_h - s->kernel_h) / s->stride_h + 1;
}
static inline int gb_pool_out_w(const gb_pool_shape *s) {
    return (s->in_width + 2 * s->pad_w - s->kernel_w) / s->stride_w + 1;
}

/* Normalisation over [batch, channels, spatial] (spatial = H*W).
 *   batchnorm: statistics per channel over batch and spatial;
 *   groupnorm: per (sample, group) over channels/groups channels and spatial;
 *   channel layernorm: per (sample, position) over channels (the U-Net's LayerNorm).
 * groups is read by groupnorm only; eps is added to the biased variance. */
typedef struct {
    int batch, channels, spatial;
    int groups;
    float eps;
} gb_norm_shape;

/* Elementwise activations. slope is read by leaky_relu only. gelu is the erf
 * form (PyTorch's default approximate='none'); softplus has beta 1 and
 * threshold 20 (PyTorch's defaults). */
typedef enum {
    GB_ACT_IDENTITY,
    GB_ACT_RELU,
    GB_ACT_LEAKY_RELU,
    GB_ACT_TANH,
    GB_ACT_SIGMOID,
    GB_ACT_SOFTPLUS,
    GB_ACT_SILU,
    GB_ACT_GELU,
} gb_act_kind;

typedef struct {
    gb_act_kind kind;
    float slope;
} gb_activation;

/* Attention over spatial positions (the U-Net's mid-block Attention and its
 * LinearAttention, specs/pipelines.md 4.6).
 *   qkv [batch, 3 * heads * dim_head, positions]: q, k, v stacked on the channel
 *        axis (the output of a bias-free 1x1 conv, chunked in that order); head h
 *        of q is channels h*dim_head .. (h+1)*dim_head-1 of the q chunk.
 *   out [batch, heads * dim_head, positions], heads outermost ("b (h d) x y").
 * Softmax attention: when l2_normalize_qk, q and k are L2-normalised per (head,
 *   channel) row OVER POSITIONS (lucidrains' l2norm = F.normalize(t, dim=-1) applied
 *   to the 'b h c (x y)' layout, eps 1e-12: what the pretrained U-Net was trained
 *   with), sim = scale * q^T k, softmax over keys, out = v attn^T.
 * Linear attention: q softmaxed over dim_head, k over positions, q *= scale,
 *   v /= positions, context = k v^T, out = context^T q. */
typedef struct {
    int batch, heads, dim_head, positions;
    float scale;
    int l2_normalize_qk; /* softmax attention only */
} gb_attention_shape;

/* Floats the caller provides as `saved` for attention_forward/backward. */
size_t gb_attention_saved_floats(const gb_attention_shape *s);
size_t gb_linear_attention_saved_floats(const gb_attention_shape *s);

/* RealNVP affine coupling on [batch, channels, height, width].
 * mask b (1 = passed through unchanged, 0 = transformed):
 *   GB_MASK_CHECKERBOARD: b = 1 where (h + w) is even;
 *   GB_MASK_CHANNEL:      b = 1 on the first channels/2 channels;
 * invert_mask swaps the roles (b -> 1 - b), as alternating layers do. */
typedef enum { GB_MASK_CHECKERBOARD, GB_MASK_CHANNEL } gb_mask_kind;

typedef struct {
    int batch, channels, height, width;
    gb_mask_kind mask;
    int invert_mask;
} gb_coupling_shape;

#endif
