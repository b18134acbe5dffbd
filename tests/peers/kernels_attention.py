#!/usr/bin/python3
"""tests/peers/kernels_attention.py OUTDIR - PyTorch reference values for the
attention kernels (kernels/cpu/attention.c, kernels/cpu/linear_attention.c).

The two computations below are lucidrains' denoising-diffusion-pytorch (2022)
Attention.forward and LinearAttention.forward (as vendored in the 16-824 F22
diffusion/unet.py, specs/pipelines.md 4.6) line by line, minus the to_qkv conv
before and the to_out conv (+ LayerNorm) after: the input is to_qkv's output
x = qkv [b, 3*heads*dim_head, h, w]. einops is not installed, so each rearrange
is spelled as reshape/permute; the pattern is kept in a comment beside it.

Writes OUTDIR/kernels_attention/<name>.f32 (raw little-endian float32, C order):
  attn_<case>_{qkv, dout, out, dqkv}       softmax attention
  linattn_<case>_{qkv, dout, out, dqkv}    linear attention
with out [b, heads*dim_head, h*w] and dqkv = autograd of (out * dout).sum().
Cases (batch, heads, dim_head, h, w, scale) are the tables below, repeated in
tests/test_kernels_attention.c. Seed: torch.manual_seed(20240613); one thread.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import einsum

SEED = 20240613

# name: (batch, heads, dim_head, h, w, scale, l2norm q and k)
ATTN = {
    "odd": (2, 2, 5, 7, 1, 10.0, True),
    "mid": (1, 4, 32, 4, 4, 10.0, True),
    "plain": (1, 3, 4, 3, 4, 0.5, False),
}
# name: (batch, heads, dim_head, h, w); scale is dim_head ** -0.5 as in the module
LINATTN = {
    "odd": (2, 2, 5, 7, 1),
    "unet": (1, 4, 32, 8, 8),
    "one": (1, 1, 3, 1, 1),
}


def l2norm(t):
    return F.normalize(t, dim=-1)


def attention(qkv_out, heads, scale, use_l2norm):
    """Attention.forward after `self.to_qkv(x)`, before `self.to_out`."""
    b, _, h, w = qkv_out.shape
    qkv = qkv_out.chunk(3, dim=1)
    # rearrange(t, 'b (h c) x y -> b h c (x y)', h = self.heads)
    q, k, v = map(lambda t: t.reshape(b, heads, -1, h * w), qkv)
    if use_l2norm:
        q, k = map(l2norm, (q, k))
    sim = einsum('b h d i, b h d j -> b h i j', q, k) * scale
    attn = sim.softmax(dim=-1)
    out = einsum('b h i j, b h d j -> b h i d', attn, v)
    # rearrange(out, 'b h (x y) d -> b (h d) x y', x = h, y = w)
    return out.permute(0, 1, 3, 2).reshape(b, -1, h, w)


def linear_attention(qkv_out, heads, dim_head):
    """LinearAttention.forward after `self.to_qkv(x)`, before `self.to_out`."""
    scale = dim_head ** -0.5
    b, _, h, w = qkv_out.shape
    qkv = qkv_out.chunk(3, dim=1)
    # rearrange(t, 'b (h c) x y -> b h c (x y)', h = self.heads)
    q, k, v = map(lambda t: t.reshape(b, heads, -1, h * w), qkv)
    q = q.softmax(dim=-2)
    k = k.softmax(dim=-1)
    q = q * scale
    v = v / (h * w)
    context = torch.einsum('b h d n, b h e n -> b h d e', k, v)
    out = torch.einsum('b h d e, b h d n -> b h e n', context, q)
    # rearrange(out, 'b h c (x y) -> b (h c) x y', h = self.heads, x = h, y = w)
    return out.reshape(b, -1, h, w)


def save(outdir, name, tensor):
    arr = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype="<f4")
    arr.tofile(os.path.join(outdir, name + ".f32"))


def run(outdir, prefix, fn, b, heads, dim_head, h, w):
    qkv = torch.randn(b, 3 * heads * dim_head, h, w, requires_grad=True)
    out = fn(qkv)
    dout = torch.randn_like(out)
    out.backward(dout)
    for name, t in [("qkv", qkv), ("dout", dout), ("out", out), ("dqkv", qkv.grad)]:
        save(outdir, f"{prefix}_{name}", t)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: /usr/bin/python3 tests/peers/kernels_attention.py OUTDIR")
    outdir = os.path.join(sys.argv[1], "kernels_attention")
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    for case, (b, heads, d, h, w, scale, l2) in ATTN.items():
        run(outdir, f"attn_{case}", lambda t: attention(t, heads, scale, l2), b, heads, d, h, w)
    for case, (b, heads, d, h, w) in LINATTN.items():
        run(outdir, f"linattn_{case}", lambda t: linear_attention(t, heads, d), b, heads, d, h, w)
    print(f"kernels_attention: wrote {len(os.listdir(outdir))} tensors to {outdir}")


if __name__ == "__main__":
    main()
