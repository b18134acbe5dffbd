#!/usr/bin/python3
"""tests/peers/kernels_norm.py OUTDIR - PyTorch references for BatchNorm2d, GroupNorm and the
U-Net's channel LayerNorm.

Writes OUTDIR/kernels_norm/<name>.f32, read by tests/test_kernels_norm.c (via $GB_FIXTURES).
Each file is one tensor, raw little-endian float32, C order, no header; the shapes are fixed
here and in the C test, which checks each file's size. x is [N, C, H, W]; every input has a
per-channel offset (so means are far from 0) and the upstream gradient dout is randn.

BatchNorm2d(C, eps, momentum), cases (N, C, H, W, eps, momentum):
  a (4, 5, 3, 7, 1e-5, 0.1), b (1, 3, 2, 5, 1e-3, 0.3), c (6, 11, 1, 1, 1e-5, 0.1),
  d (2, 3, 9, 15, 1e-5, 0.1)
  bn_<c>_{inp, dout} [N,C,H,W], bn_<c>_{gamma, beta, rm0, rv0} [C] (rm0/rv0: running stats
  before the step); training step: bn_<c>_{out, dinp} and bn_<c>_{dgamma, dbeta, rm1, rv1};
  eval mode with running stats rm0/rv0: bn_<c>_{eval_out, eval_dinp, eval_dgamma, eval_dbeta}.
GroupNorm(G, C, eps 1e-5), cases (N, C, H, W, G): a (2, 6, 5, 3, 3), b (1, 12, 4, 4, 4),
  c (3, 10, 7, 1, 5), d (2, 8, 3, 3, 8), e (2, 5, 2, 3, 1), f (2, 16, 11, 13, 4)
  gn_<c>_{inp, dout, out, dinp} [N,C,H,W], gn_<c>_{gamma, beta, dgamma, dbeta} [C].
LayerNorm (lucidrains: var over dim 1 unbiased=False, (x - mean) * (var + eps).rsqrt() * g,
  eps 1e-5), cases (N, C, H, W): a (2, 5, 3, 4), b (1, 3, 7, 5), c (3, 9, 1, 1), d (1, 4, 10, 13)
  ln_<c>_{inp, dout, out, dinp} [N,C,H,W], ln_<c>_{g, dg} [C].
Every gradient is of (out * dout).sum().

Seed: torch.manual_seed(20240613); one thread.
"""
import os
import sys

import numpy as np
import torch

SEED = 20240613
BN_CASES = {"a": (4, 5, 3, 7, 1e-5, 0.1), "b": (1, 3, 2, 5, 1e-3, 0.3),
            "c": (6, 11, 1, 1, 1e-5, 0.1), "d": (2, 3, 9, 15, 1e-5, 0.1)}
GN_CASES = {"a": (2, 6, 5, 3, 3), "b": (1, 12, 4, 4, 4), "c": (3, 10, 7, 1, 5),
            "d": (2, 8, 3, 3, 8), "e": (2, 5, 2, 3, 1), "f": (2, 16, 11, 13, 4)}
LN_CASES = {"a": (2, 5, 3, 4), "b": (1, 3, 7, 5), "c": (3, 9, 1, 1), "d": (1, 4, 10, 13)}


def save(outdir, name, tensor):
    arr = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype="<f4")
    arr.tofile(os.path.join(outdir, name + ".f32"))


def offset_input(n, c, h, w):
    """randn * per-channel scale + per-channel offset (means up to +-4, scales 0.5..2.5)"""
    off = (torch.rand(1, c, 1, 1) * 8 - 4)
    scale = torch.rand(1, c, 1, 1) * 2 + 0.5
    return torch.randn(n, c, h, w) * scale + off


def bn_fixtures(outdir):
    for case, (n, c, h, w, eps, mom) in BN_CASES.items():
        inp = offset_input(n, c, h, w)
        dout = torch.randn(n, c, h, w)
        gamma = torch.rand(c) + 0.5
        beta = torch.randn(c)
        rm0 = torch.randn(c)
        rv0 = torch.rand(c) + 0.5
        bn = torch.nn.BatchNorm2d(c, eps=eps, momentum=mom)
        with torch.no_grad():
            bn.weight.copy_(gamma)
            bn.bias.copy_(beta)
            bn.running_mean.copy_(rm0)
            bn.running_var.copy_(rv0)
        pre = f"bn_{case}_"
        for name, t in [("inp", inp), ("dout", dout), ("gamma", gamma), ("beta", beta),
                        ("rm0", rm0), ("rv0", rv0)]:
            save(outdir, pre + name, t)
        bn.train()
        x = inp.clone().requires_grad_()
        out = bn(x)
        out.backward(dout)
        for name, t in [("out", out), ("dinp", x.grad), ("dgamma", bn.weight.grad),
                        ("dbeta", bn.bias.grad), ("rm1", bn.running_mean),
                        ("rv1", bn.running_var)]:
            save(outdir, pre + name, t)
        with torch.no_grad():
            bn.running_mean.copy_(rm0)
            bn.running_var.copy_(rv0)
        bn.weight.grad = None
        bn.bias.grad = None
        bn.eval()
        x = inp.clone().requires_grad_()
        out = bn(x)
        out.backward(dout)
        for name, t in [("eval_out", out), ("eval_dinp", x.grad),
                        ("eval_dgamma", bn.weight.grad), ("eval_dbeta", bn.bias.grad)]:
            save(outdir, pre + name, t)


def gn_fixtures(outdir):
    for case, (n, c, h, w, g) in GN_CASES.items():
        inp = offset_input(n, c, h, w).requires_grad_()
        dout = torch.randn(n, c, h, w)
        gn = torch.nn.GroupNorm(g, c, eps=1e-5)
        with torch.no_grad():
            gn.weight.copy_(torch.rand(c) + 0.5)
            gn.bias.copy_(torch.randn(c))
        out = gn(inp)
        out.backward(dout)
        for name, t in [("inp", inp), ("dout", dout), ("gamma", gn.weight), ("beta", gn.bias),
                        ("out", out), ("dinp", inp.grad), ("dgamma", gn.weight.grad),
                        ("dbeta", gn.bias.grad)]:
            save(outdir, f"gn_{case}_{name}", t)


def ln_fixtures(outdir):
    for case, (n, c, h, w) in LN_CASES.items():
        inp = offset_input(n, c, h, w).requires_grad_()
        dout = torch.randn(n, c, h, w)
        g = (torch.rand(1, c, 1, 1) + 0.5).requires_grad_()
        var = torch.var(inp, dim=1, unbiased=False, keepdim=True)
        mean = torch.mean(inp, dim=1, keepdim=True)
        out = (inp - mean) * (var + 1e-5).rsqrt() * g
        out.backward(dout)
        for name, t in [("inp", inp), ("dout", dout), ("g", g), ("out", out),
                        ("dinp", inp.grad), ("dg", g.grad)]:
            save(outdir, f"ln_{case}_{name}", t)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: kernels_norm.py OUTDIR")
    outdir = os.path.join(sys.argv[1], "kernels_norm")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    bn_fixtures(outdir)
    gn_fixtures(outdir)
    ln_fixtures(outdir)


if __name__ == "__main__":
    main()
