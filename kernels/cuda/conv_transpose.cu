/* kernels/cuda/conv_transpose.cu - conv_transpose2d forward and backward through cuDNN (CUDA).
 *
 * inp [N, Ci, H, W], weight [Ci, Co, kh, kw] (PyTorch's layout), out [N, Co, Ho, Wo] with
 * Ho = (H-1)*sh - 2*ph + kh + output_padding_h (likewise Wo). The transposed convolution is
 * the adjoint of the conv2d that maps [Co, Ho, Wo] to [Ci, H, W] with the same kernel,
 * stride and padding, whose filter [Ci, Co, kh, kw] is this op's weight unchanged; so with
 * that conv2d's plan (kernels/cuda/conv.cuh: x = out, y = inp):
 *   forward:  out      = backward-data of the conv2d on inp         (beta 0) + bias
 *   backward: dinp     = forward of the conv2d on dout              (overwrite: beta 0; NULL: skip)
 *             dweight += backward-filter of the conv2d, x = dout, dy = inp   (accumulate; NULL: skip)
 *             dbias   += sum over n, y, x of dout                    (accumulate; NULL: skip)
 * output_padding needs nothing special: the conv2d from Ho rows back to H rows ignores the
 * extra rows' last (Ho + 2ph - kh) mod sh, exactly as the adjoint must (floor((Ho + 2ph - kh)
 * / sh) + 1 = H because output_padding < stride; conv.cu asserts cuDNN agrees).
 * Algorithms, math mode and determinism: conv.cu's header.
 * Tested by tests/test_cuda_conv.c against kernels/cpu/conv_transpose2d.c.
 */
#include "kernels/cuda/conv.cuh"

extern "C" void gb_conv_transpose2d_forward_cuda(gb_device *dev, float *out, const float *inp,
                                                 const float *weight, const float *bias,
                                                 const gb_conv_shape *shape) {
    gb_conv_plan *p = gb_cuda_conv_plan(dev, shape, 1);
    if (!p) return;
    gb_cuda_conv_run_backward_data(dev, p, out, inp, weight, 0.0f);
    if (bias) gb_cuda_conv_add_bias(dev, p, out, bias, 1);
}

extern "C" void gb_conv_transpose2d_backward_cuda(gb_device *dev, float *dinp, float *dweight,
                                                  float *dbias, const float *dout, const float *inp,
                                                  const float *weight, const gb_conv_shape *shape) {
    gb_conv_plan *p = gb_cuda_conv_plan(dev, shape, 1);
    if (!p) return;
    if (dinp) gb_cuda_conv_run_forward(dev, p, dinp, dout, weight, 0.0f);
    if (dweight) gb_cuda_conv_run_backward_filter(dev, p, dweight, dout, inp);
    if (dbias) gb_cuda_conv_bias_grad(dev, p, dbias, dout, 1);
}
