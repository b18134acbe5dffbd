#!/usr/bin/python3
"""tests/peers/kernel_fixtures.py OUTDIR - PyTorch reference values for the kernels.

Writes OUTDIR/kernels/<name>.f32, read by tests/test_kernels_cpu.c (via
$GB_FIXTURES). Run with Debian's /usr/bin/python3 (python3-torch).

Format: each file is one tensor, raw little-endian IEEE float32, C (row-major)
order, no header; the shape is fixed by this script and the C test checks the
file size. Tensors (shapes in brackets):

  linear_<c>_{inp [rows,in], weight [out,in], bias [out], dout [rows,out],
              out [rows,out], dinp [rows,in], dweight [out,in], dbias [out]}
      for case a (rows 33, in 7, out 9) and case b (rows 1, in 3, out 2);
      out = torch.nn.functional.linear(inp, weight, bias), grads of (out*dout).sum()
  softplus_{inp, dout, out, dinp} [64]: torch.nn.functional.softplus (beta 1,
      threshold 20); inp holds values around the threshold and far out.
  loss_{pred, target, dpred} [33,9], loss_value [1]:
      0.5 * ((pred - target)**2).sum(1).mean() and its gradient w.r.t. pred
  adam_{p0 [37], grads [5,37]}: initial parameters and the 5 gradients;
  adam_steps, adam_l2_steps, adamw_steps [5,37]: parameters after each of the
      5 steps of torch.optim.Adam(lr 0.01, betas (0.9, 0.999), eps 1e-8),
      the same with weight_decay 0.01, and torch.optim.AdamW(weight_decay 0.01).

Seed: torch.manual_seed(20240611); one thread, so the values do not depend on
the machine's core count.
"""
import os
import sys

import numpy as np
import torch

SEED = 20240611
LINEAR_CASES = {"a": (33, 7, 9), "b": (1, 3, 2)}
ADAM_N, ADAM_STEPS = 37, 5


def save(outdir, name, tensor):
    arr = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype="<f4")
    arr.tofile(os.path.join(outdir, name + ".f32"))


def linear_fixtures(outdir):
    for case, (rows, fin, fout) in LINEAR_CASES.items():
        inp = torch.randn(rows, fin, requires_grad=True)
        weight = (torch.rand(fout, fin) * 2 - 1).requires_grad_()
        bias = torch.randn(fout, requires_grad=True)
        dout = torch.randn(rows, fout)
        out = torch.nn.functional.linear(inp, weight, bias)
        out.backward(dout)
        for name, t in [("inp", inp), ("weight", weight), ("bias", bias), ("dout", dout),
                        ("out", out), ("dinp", inp.grad), ("dweight", weight.grad),
                        ("dbias", bias.grad)]:
            save(outdir, f"linear_{case}_{name}", t)


def softplus_fixtures(outdir):
    special = torch.tensor([-100.0, -30.0, -20.1, -20.0, -5.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 5.0,
                            15.0, 19.9, 19.999, 20.0, 20.001, 20.1, 25.0, 50.0, 100.0])
    inp = torch.cat([special, torch.randn(64 - special.numel()) * 8]).requires_grad_()
    dout = torch.randn(64)
    out = torch.nn.functional.softplus(inp)
    out.backward(dout)
    for name, t in [("inp", inp), ("dout", dout), ("out", out), ("dinp", inp.grad)]:
        save(outdir, f"softplus_{name}", t)


def loss_fixtures(outdir):
    pred = torch.randn(33, 9, requires_grad=True)
    target = torch.randn(33, 9)
    loss = 0.5 * ((pred - target) ** 2).sum(1).mean()
    loss.backward()
    for name, t in [("pred", pred), ("target", target), ("dpred", pred.grad),
                    ("value", loss.reshape(1))]:
        save(outdir, f"loss_{name}", t)


def run_optimizer(make_opt, p0, grads):
    p = torch.nn.Parameter(p0.clone())
    opt = make_opt([p])
    after = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        after.append(p.detach().clone())
    return torch.stack(after)


def adam_fixtures(outdir):
    p0 = torch.randn(ADAM_N)
    # Mixed scales, zeros and sign changes exercise eps and the moments.
    grads = torch.randn(ADAM_STEPS, ADAM_N) * torch.logspace(-3, 1, ADAM_N)
    grads[:, 0] = 0.0
    hp = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    save(outdir, "adam_p0", p0)
    save(outdir, "adam_grads", grads)
    save(outdir, "adam_steps", run_optimizer(lambda ps: torch.optim.Adam(ps, **hp), p0, grads))
    save(outdir, "adam_l2_steps",
         run_optimizer(lambda ps: torch.optim.Adam(ps, weight_decay=0.01, **hp), p0, grads))
    save(outdir, "adamw_steps",
         run_optimizer(lambda ps: torch.optim.AdamW(ps, weight_decay=0.01, **hp), p0, grads))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: /usr/bin/python3 tests/peers/kernel_fixtures.py OUTDIR")
    outdir = os.path.join(sys.argv[1], "kernels")
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    linear_fixtures(outdir)
    softplus_fixtures(outdir)
    loss_fixtures(outdir)
    adam_fixtures(outdir)
    print(f"kernel_fixtures: wrote {len(os.listdir(outdir))} tensors to {outdir}")


if __name__ == "__main__":
    main()
