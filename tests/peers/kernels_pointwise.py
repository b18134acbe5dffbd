#!/usr/bin/python3
"""tests/peers/kernels_pointwise.py OUTDIR - PyTorch references for the activations and FiLM.

Writes OUTDIR/kernels_pointwise/<name>.f32, read by tests/test_kernels_pointwise.c (via
$GB_FIXTURES). Each file is one tensor, raw little-endian float32, C order, no header; the
shapes are fixed here and in the C test, which checks each file's size.

Activations (n = 101 values: the special points below, then randn * 6):
  act_inp, act_tin (tangent), act_dout, act_dout_t [101];
  act_<kind>_{out, dinp, jvp, jvp_dinp, jvp_dinp_t} [101] for kind in identity, relu,
      leaky_relu (slope 0.2), tanh, sigmoid, softplus, silu, gelu:
      out = f(x); dinp = grad of (out * dout).sum(); (y, jvp) =
      torch.autograd.functional.jvp(f, x, tin, create_graph=True); (jvp_dinp, jvp_dinp_t) =
      grads of (y * dout + jvp * dout_t).sum() w.r.t. (x, tin) (double backward).
FiLM, cases a [batch 2, channels 3, spatial 5] and b [1, 5, 7]:
  film_<c>_{inp, dout, out, dinp} [b, c, s], film_<c>_{scale, shift, dscale, dshift} [b, c]:
  out = inp * (scale + 1) + shift (broadcast over spatial), grads of (out * dout).sum().

Seed: torch.manual_seed(20240612); one thread.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

SEED = 20240612
N_ACT = 101
SPECIAL = [-200.0, -120.0, -104.0, -100.0, -90.0, -88.8, -87.0, -30.0, -20.5, -20.0, -15.0, -9.5,
           -6.0, -5.0, -3.0, -1.5, -0.7518, -0.55, -0.5, -1e-3, -1e-6, -0.0, 0.0, 1e-6, 1e-3,
           0.5, 0.55, 0.6, 1.0, 1.4142135, 2.4, 5.0, 9.5, 15.0, 19.9, 19.999, 20.0, 20.001, 20.1,
           25.0, 30.0, 90.0, 120.0, 200.0]
KINDS = {
    "identity": lambda x: x * 1.0,
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softplus": F.softplus,
    "silu": F.silu,
    "gelu": F.gelu,
}
FILM_CASES = {"a": (2, 3, 5), "b": (1, 5, 7)}


def save(outdir, name, tensor):
    arr = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype="<f4")
    arr.tofile(os.path.join(outdir, name + ".f32"))


def activation_fixtures(outdir):
    special = torch.tensor(SPECIAL, dtype=torch.float32)
    x = torch.cat([special, torch.randn(N_ACT - special.numel()) * 6])
    tin = torch.randn(N_ACT)
    dout = torch.randn(N_ACT)
    dout_t = torch.randn(N_ACT)
    for name, t in [("inp", x), ("tin", tin), ("dout", dout), ("dout_t", dout_t)]:
        save(outdir, f"act_{name}", t)
    for kind, f in KINDS.items():
        xg = x.clone().requires_grad_()
        out = f(xg)
        (dinp,) = torch.autograd.grad(out, xg, dout)
        xg = x.clone().requires_grad_()
        tg = tin.clone().requires_grad_()
        y, jvp = torch.autograd.functional.jvp(f, xg, tg, create_graph=True)
        jd, jdt = torch.autograd.grad([y, jvp], [xg, tg], [dout, dout_t], allow_unused=True)
        if jd is None:
            jd = torch.zeros_like(x)
        for name, t in [("out", out), ("dinp", dinp), ("jvp", jvp), ("jvp_dinp", jd),
                        ("jvp_dinp_t", jdt)]:
            save(outdir, f"act_{kind}_{name}", t)


def film_fixtures(outdir):
    for case, (b, c, s) in FILM_CASES.items():
        inp = torch.randn(b, c, s, requires_grad=True)
        scale = (torch.randn(b, c) * 0.5).requires_grad_()
        shift = torch.randn(b, c, requires_grad=True)
        dout = torch.randn(b, c, s)
        out = inp * (scale[:, :, None] + 1) + shift[:, :, None]
        out.backward(dout)
        for name, t in [("inp", inp), ("scale", scale), ("shift", shift), ("dout", dout),
                        ("out", out), ("dinp", inp.grad), ("dscale", scale.grad),
                        ("dshift", shift.grad)]:
            save(outdir, f"film_{case}_{name}", t)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: kernels_pointwise.py OUTDIR")
    outdir = os.path.join(sys.argv[1], "kernels_pointwise")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    activation_fixtures(outdir)
    film_fixtures(outdir)


if __name__ == "__main__":
    main()
