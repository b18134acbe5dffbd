#!/usr/bin/python3
"""tests/peers/kernels_conv.py OUTDIR - PyTorch references for the convolution kernels.

Writes OUTDIR/kernels_conv/<name>.f32, read by tests/test_kernels_conv.c (via
$GB_FIXTURES). Run with Debian's /usr/bin/python3 (python3-torch, torch 1.13).

Format: each file is one tensor, raw little-endian IEEE float32, C order, no
header; the shapes are the tables below, repeated in the C test, which checks
each file's size.

  conv2d_<case>_{inp, weight, bias, dout, out, dinp, dweight, dbias}
      out = F.conv2d(inp, weight, bias, stride, padding); the gradients are
      autograd's for the loss (out * dout).sum().
  convt_<case>_{...the same names}
      out = F.conv_transpose2d(inp, weight, bias, stride, padding, output_padding),
      weight [in, out, kh, kw].
  ws_<case>_{weight, dout, out, dweight}
      the U-Net's WSConv formula in float32: mean over each output channel's
      fan-in, var(unbiased=False), (w - mean) * (var + 1e-5).rsqrt(); dweight is
      autograd's for (out * dout).sum().

Seed: torch.manual_seed(20240612); one thread, so the values do not depend on the
machine's core count.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

SEED = 20240612
WS_EPS = 1e-5

# name: (batch, in_ch, in_h, in_w, out_ch, (kh, kw), (sh, sw), (ph, pw))
CONV2D_CASES = {
    "stride2_odd": (2, 3, 7, 9, 5, (3, 3), (2, 2), (1, 1)),
    "k1x7": (1, 5, 6, 5, 4, (1, 7), (1, 1), (0, 3)),
    "k7x1": (3, 4, 8, 5, 6, (7, 1), (1, 1), (3, 0)),
    "pointwise": (2, 6, 5, 5, 3, (1, 1), (1, 1), (0, 0)),
    "k5_asym_pad": (2, 2, 6, 7, 3, (5, 5), (1, 2), (2, 1)),
    "big_image": (2, 2, 32, 33, 3, (3, 3), (1, 1), (1, 1)),
}

# name: (batch, in_ch, in_h, in_w, out_ch, (kh, kw), (sh, sw), (ph, pw), (oph, opw))
CONVT_CASES = {
    "s2_op1": (2, 3, 4, 5, 5, (3, 3), (2, 2), (1, 1), (1, 1)),
    "k4s2p1": (1, 4, 3, 3, 2, (4, 4), (2, 2), (1, 1), (0, 0)),
    "k1x3_asym": (2, 3, 5, 4, 3, (1, 3), (1, 2), (0, 1), (0, 1)),
    "pointwise": (3, 4, 3, 3, 5, (1, 1), (1, 1), (0, 0), (0, 0)),
    "k4s4": (2, 3, 2, 2, 2, (4, 4), (4, 4), (0, 0), (0, 0)),
}

# name: (out_channels, fan_in, scale of the weights)
WS_CASES = {
    "conv3x3": (5, 27, 1.0),
    "small_var": (3, 10, 1e-3),
}


def save(outdir, name, tensor):
    arr = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype="<f4")
    arr.tofile(os.path.join(outdir, name + ".f32"))


def conv_case(outdir, prefix, inp, weight, bias, forward):
    inp.requires_grad_()
    weight.requires_grad_()
    bias.requires_grad_()
    out = forward(inp, weight, bias)
    dout = torch.randn_like(out)
    out.backward(dout)
    for name, t in [("inp", inp), ("weight", weight), ("bias", bias), ("dout", dout),
                    ("out", out), ("dinp", inp.grad), ("dweight", weight.grad),
                    ("dbias", bias.grad)]:
        save(outdir, f"{prefix}_{name}", t)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: /usr/bin/python3 tests/peers/kernels_conv.py OUTDIR")
    outdir = os.path.join(sys.argv[1], "kernels_conv")
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)

    for case, (n, ci, h, w, co, k, s, p) in CONV2D_CASES.items():
        conv_case(outdir, f"conv2d_{case}", torch.randn(n, ci, h, w),
                  torch.randn(co, ci, *k) * 0.5, torch.randn(co),
                  lambda x, wt, b, s=s, p=p: F.conv2d(x, wt, b, stride=s, padding=p))

    for case, (n, ci, h, w, co, k, s, p, op) in CONVT_CASES.items():
        conv_case(outdir, f"convt_{case}", torch.randn(n, ci, h, w),
                  torch.randn(ci, co, *k) * 0.5, torch.randn(co),
                  lambda x, wt, b, s=s, p=p, op=op: F.conv_transpose2d(
                      x, wt, b, stride=s, padding=p, output_padding=op))

    for case, (o, fan_in, scale) in WS_CASES.items():
        weight = (torch.randn(o, fan_in) * scale + 0.3 * scale).requires_grad_()
        mean = weight.mean(dim=1, keepdim=True)
        var = torch.var(weight, dim=1, unbiased=False, keepdim=True)
        out = (weight - mean) * (var + WS_EPS).rsqrt()
        dout = torch.randn_like(out)
        out.backward(dout)
        for name, t in [("weight", weight), ("dout", dout), ("out", out),
                        ("dweight", weight.grad)]:
            save(outdir, f"ws_{case}_{name}", t)

    print(f"kernels_conv: wrote {len(os.listdir(outdir))} tensors to {outdir}")


if __name__ == "__main__":
    main()
