#!/usr/bin/python3
"""tests/peers/kernels_pool.py OUTDIR - PyTorch reference values for the pooling,
resampling, layout and softmax-family kernels.

Writes OUTDIR/kernels_pool/<name>.f32, read by tests/test_kernels_pool.c (via
$GB_FIXTURES). Run with Debian's /usr/bin/python3 (python3-torch 1.13).

Format: each file is one tensor, raw little-endian float32, C order, no header;
the shapes are the case tables below, repeated in the C suite, which checks each
file's size. Every backward value is torch autograd of (out * dout).sum().

  maxpool_<case>_{inp, dout, out, argmax, dinp}: F.max_pool2d(return_indices=True);
      argmax (the index inside the input plane) is stored as float (exact: small
      integers). Inputs are small integers, so windows have ties and some are all
      negative next to the padding (padding must act as -inf, not 0).
  avgpool_<case>_{inp, dout, out, dinp}: F.avg_pool2d with count_include_pad as listed.
  spatial_sum_{inp, dout, out, dinp, mean_out, mean_dinp}: x.sum((2, 3)) and x.mean((2, 3)).
  upsample_{inp, dout, out, dinp}: F.interpolate(scale_factor=2, mode="nearest").
  concat_{a, b, out}: torch.cat(dim=1).
  squeeze_{inp, out}: F.pixel_unshuffle(2); unsqueeze_{inp, out}: F.pixel_shuffle(2).
  softmax_<case>_{inp, dout, softmax, dsoftmax, log_softmax, dlog_softmax,
      logsumexp, dlogsumexp_dout, dlogsumexp, sum, dsum_dout, dsum, mean, dmean}: over the last
      axis (sum and mean over everything); rows include a +1000 offset and a -1e4
      entry, which a softmax without the max subtraction would overflow on.

Seed: torch.manual_seed(20240612); one thread.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

SEED = 20240612

# name: (batch, channels, height, width, kh, kw, sh, sw, ph, pw)
MAXPOOL = {
    "k3s2p1": (2, 3, 7, 6, 3, 3, 2, 2, 1, 1),
    "k2s2": (1, 5, 5, 8, 2, 2, 2, 2, 0, 0),
    "k3s1p1": (1, 3, 6, 5, 3, 3, 1, 1, 1, 1),
    "k2s1p1": (2, 1, 4, 3, 2, 2, 1, 1, 1, 1),
    "k3x2s2x1": (1, 2, 7, 9, 3, 2, 2, 1, 1, 0),
}
# name: (batch, channels, height, width, kh, kw, sh, sw, ph, pw, count_include_pad)
AVGPOOL = {
    "k3s1p1_excl": (2, 3, 5, 7, 3, 3, 1, 1, 1, 1, 0),
    "k3s1p1_incl": (2, 3, 5, 7, 3, 3, 1, 1, 1, 1, 1),
    "k2s2": (1, 5, 7, 6, 2, 2, 2, 2, 0, 0, 1),
    "k3s2p1_excl": (1, 2, 6, 9, 3, 3, 2, 2, 1, 1, 0),
    "k3s2p1_incl": (1, 2, 6, 9, 3, 3, 2, 2, 1, 1, 1),
}
SPATIAL_SUM = (2, 5, 3, 7)
UPSAMPLE = (2, 3, 5, 7)
CONCAT = (2, 3, 5, 35)  # batch, ca, cb, spatial
SQUEEZE = (2, 3, 6, 4)  # batch, channels, height, width of the squeeze input
SOFTMAX = {"a": (7, 13), "b": (1, 1000), "c": (5, 1)}


def save(outdir, name, tensor):
    arr = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype="<f4")
    arr.tofile(os.path.join(outdir, name + ".f32"))


def grad_of(fn, inp, dout):
    x = inp.clone().requires_grad_()
    out = fn(x)
    out.backward(dout)
    return out.detach(), x.grad


def maxpool(outdir):
    for case, (b, c, h, w, kh, kw, sh, sw, ph, pw) in MAXPOOL.items():
        inp = torch.randint(-3, 3, (b, c, h, w)).float() * 0.5
        out, idx = F.max_pool2d(inp, (kh, kw), (sh, sw), (ph, pw), return_indices=True)
        dout = torch.randn_like(out)
        _, dinp = grad_of(lambda x: F.max_pool2d(x, (kh, kw), (sh, sw), (ph, pw)), inp, dout)
        for name, t in [("inp", inp), ("dout", dout), ("out", out), ("argmax", idx.float()),
                        ("dinp", dinp)]:
            save(outdir, f"maxpool_{case}_{name}", t)


def avgpool(outdir):
    for case, (b, c, h, w, kh, kw, sh, sw, ph, pw, cip) in AVGPOOL.items():
        inp = torch.randn(b, c, h, w)
        fn = lambda x: F.avg_pool2d(x, (kh, kw), (sh, sw), (ph, pw), count_include_pad=bool(cip))
        dout = torch.randn_like(fn(inp))
        out, dinp = grad_of(fn, inp, dout)
        for name, t in [("inp", inp), ("dout", dout), ("out", out), ("dinp", dinp)]:
            save(outdir, f"avgpool_{case}_{name}", t)


def layout(outdir):
    inp = torch.randn(*SPATIAL_SUM)
    dout = torch.randn(SPATIAL_SUM[:2])
    out, dinp = grad_of(lambda x: x.sum((2, 3)), inp, dout)
    mean_out, mean_dinp = grad_of(lambda x: x.mean((2, 3)), inp, dout)
    for name, t in [("inp", inp), ("dout", dout), ("out", out), ("dinp", dinp),
                    ("mean_out", mean_out), ("mean_dinp", mean_dinp)]:
        save(outdir, f"spatial_sum_{name}", t)

    inp = torch.randn(*UPSAMPLE)
    up = lambda x: F.interpolate(x, scale_factor=2, mode="nearest")
    dout = torch.randn_like(up(inp))
    out, dinp = grad_of(up, inp, dout)
    for name, t in [("inp", inp), ("dout", dout), ("out", out), ("dinp", dinp)]:
        save(outdir, f"upsample_{name}", t)

    b, ca, cb, s = CONCAT
    a, bb = torch.randn(b, ca, s), torch.randn(b, cb, s)
    for name, t in [("a", a), ("b", bb), ("out", torch.cat([a, bb], dim=1))]:
        save(outdir, f"concat_{name}", t)

    b, c, h, w = SQUEEZE
    inp = torch.randn(b, c, h, w)
    save(outdir, "squeeze_inp", inp)
    save(outdir, "squeeze_out", F.pixel_unshuffle(inp, 2))
    inp = torch.randn(b, 4 * c, h // 2, w // 2)
    save(outdir, "unsqueeze_inp", inp)
    save(outdir, "unsqueeze_out", F.pixel_shuffle(inp, 2))


def softmax_family(outdir):
    for case, (rows, cols) in SOFTMAX.items():
        inp = torch.randn(rows, cols) * 4
        if rows > 3:
            inp[3] += 1000.0
        if cols > 2:
            inp[rows - 1, 1] = -1e4
        dout = torch.randn(rows, cols)
        dlse = torch.randn(rows)
        dscalar = torch.randn(())
        sm, dsm = grad_of(lambda x: torch.softmax(x, dim=1), inp, dout)
        lsm, dlsm = grad_of(lambda x: torch.log_softmax(x, dim=1), inp, dout)
        lse, dl = grad_of(lambda x: torch.logsumexp(x, dim=1), inp, dlse)
        total, dtotal = grad_of(lambda x: x.sum(), inp, dscalar)
        mean, dmean = grad_of(lambda x: x.mean(), inp, dscalar)
        for name, t in [("inp", inp), ("dout", dout), ("softmax", sm), ("dsoftmax", dsm),
                        ("log_softmax", lsm), ("dlog_softmax", dlsm), ("logsumexp", lse),
                        ("dlogsumexp_dout", dlse), ("dlogsumexp", dl),
                        ("sum", total.reshape(1)), ("dsum_dout", dscalar.reshape(1)),
                        ("dsum", dtotal), ("mean", mean.reshape(1)), ("dmean", dmean)]:
            save(outdir, f"softmax_{case}_{name}", t)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: /usr/bin/python3 tests/peers/kernels_pool.py OUTDIR")
    outdir = os.path.join(sys.argv[1], "kernels_pool")
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    maxpool(outdir)
    avgpool(outdir)
    layout(outdir)
    softmax_family(outdir)
    print(f"kernels_pool: wrote {len(os.listdir(outdir))} tensors to {outdir}")


if __name__ == "__main__":
    main()
