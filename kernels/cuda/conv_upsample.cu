/* kernels/cuda/conv_upsample.cu - UpSampleConv2D (nearest x2 upsample, then a stride-1 "same"
 * conv), CUDA.
 *
 * The GPU runs the plain route on every device: upsample into gb_dev_staging (the conv's own
 * workspace is gb_dev_scratch), then cuDNN's conv2d (kernels/cuda/conv.cu, its deterministic
 * algorithm choice); the backward runs the conv's backward on the upsampled image and sums each
 * input pixel's four gradients (upsample_nearest2x_backward). This is the CPU backend's default
 * route too; the CPU's phase decomposition (`--conv fast`, kernels/cpu/conv_upsample.c) answers a
 * CPU bottleneck and gb_device.fast_conv is a CPU switch.
 * Tested by tests/test_cuda_conv.c against the CPU backend.
 */
#include "kernels/cuda/common.cuh"
extern "C" {
#include "kernels/cpu/im2col.h" /* gb_upsample_conv2d_check_shape: the CPU backend's shape rules */
}

static size_t upsampled_floats(const gb_conv_shape *s) {
    return (size_t)s->batch * (size_t)s->in_channels * (size_t)s->in_height * (size_t)s->in_width;
}

extern "C" void gb_upsample_conv2d_forward_cuda(gb_device *dev, float *out, const float *inp,
                                                const float *weight, const float *bias,
                                                const gb_conv_shape *shape) {
    gb_upsample_conv2d_check_shape(shape); /* an odd size would leave staging rows unwritten */
    float *up = static_cast<float *>(gb_dev_staging(dev, upsampled_floats(shape) * sizeof(float)));
    gb_upsample_nearest2x_forward_cuda(dev, up, inp, (size_t)shape->batch * (size_t)shape->in_channels,
                                       shape->in_height / 2, shape->in_width / 2);
    gb_conv2d_forward_cuda(dev, out, up, weight, bias, shape);
}

extern "C" void gb_upsample_conv2d_backward_cuda(gb_device *dev, float *dinp, float *dweight,
                                                 float *dbias, const float *dout, const float *inp,
                                                 const float *weight, const gb_conv_shape *shape) {
    gb_upsample_conv2d_check_shape(shape);
    const size_t n = upsampled_floats(shape);
    const size_t planes = (size_t)shape->batch * (size_t)shape->in_channels;
    /* [0, n): the upsampled input (the weight gradient reads it); [n, 2n): its gradient */
    float *up = static_cast<float *>(gb_dev_staging(dev, (dinp ? 2 * n : n) * sizeof(float)));
    float *dup = dinp ? up + n : nullptr;
    if (dweight) /* only the weight gradient reads the input (it may be NULL otherwise) */
        gb_upsample_nearest2x_forward_cuda(dev, up, inp, planes, shape->in_height / 2, shape->in_width / 2);
    gb_conv2d_backward_cuda(dev, dup, dweight, dbias, dout, dweight ? up : nullptr, weight, shape);
    if (dinp)
        gb_upsample_nearest2x_backward_cuda(dev, dinp, dup, planes, shape->in_height / 2,
                                            shape->in_width / 2);
}
