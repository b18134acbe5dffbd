/* kernels/cuda/conv.cuh - the cuDNN convolution plans shared by conv.cu and
 * conv_transpose.cu (internal to the CUDA backend).
 *
 * A plan is one convolution in "conv2d view": x its input [N, xc, xh, xw], y its output
 * [N, yc, yh, yw], w the filter [yc, xc, kh, kw], bias [1, out_channels, 1, 1]. For
 * conv2d, x is the op's input; for conv_transpose2d (the adjoint), x is the op's output
 * and y its input, and the filter layout [in_channels, out_channels, kh, kw] is PyTorch's
 * transposed-convolution weight as it stands. The run functions pick (once per plan) and
 * record the algorithm of their direction; see conv.cu for the allow-lists.
 * Tested by tests/test_cuda_conv.c.
 */
#ifndef GB_CUDA_CONV_CUH
#define GB_CUDA_CONV_CUH

#include "kernels/cuda/common.cuh"

struct gb_conv_plan {
    gb_conv_shape shape;
    int transpose;
    cudnnTensorDescriptor_t x, y, bias;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    int fwd, bwd_data, bwd_filter; /* chosen algorithm per direction; -1 until first use */
    size_t fwd_ws, bwd_data_ws, bwd_filter_ws; /* their workspace bytes */
};

/* The cached plan of this shape and direction (made on first use; the shape is checked);
 * NULL for batch 0, where the op has nothing to do. */
gb_conv_plan *gb_cuda_conv_plan(gb_device *dev, const gb_conv_shape *s, int transpose);
/* The device's cuDNN handle (created on first use, on the legacy default stream). */
cudnnHandle_t gb_cuda_cudnn(gb_device *dev);

/* y = conv(x, w) + beta * y */
void gb_cuda_conv_run_forward(gb_device *dev, gb_conv_plan *p, float *y, const float *x,
                              const float *w, float beta);
/* dx = conv^T(dy, w) + beta * dx */
void gb_cuda_conv_run_backward_data(gb_device *dev, gb_conv_plan *p, float *dx, const float *dy,
                                    const float *w, float beta);
/* dw += sum over the batch of dy (x) x (always accumulates: w is a parameter) */
void gb_cuda_conv_run_backward_filter(gb_device *dev, gb_conv_plan *p, float *dw, const float *x,
                                      const float *dy);
/* t += bias broadcast over [N, ., H, W]; t is x-shaped when on_x, else y-shaped. */
void gb_cuda_conv_add_bias(gb_device *dev, gb_conv_plan *p, float *t, const float *bias, int on_x);
/* dbias += sum over n, h, w of dt (x-shaped when on_x, else y-shaped). */
void gb_cuda_conv_bias_grad(gb_device *dev, gb_conv_plan *p, float *dbias, const float *dt,
                            int on_x);

#endif
