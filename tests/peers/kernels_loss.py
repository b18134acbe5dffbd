#!/usr/bin/python3
"""tests/peers/kernels_loss.py OUTDIR - PyTorch references for the losses, clip_grad_norm,
time embeddings, RealNVP coupling and the lr/beta schedules.

Writes OUTDIR/kernels_loss/<name>.f32 (raw little-endian float32, C order, no
header) and <name>.f64 (the same in float64, for the schedules, compared bit
for bit), read by tests/test_kernels_loss.c via $GB_FIXTURES. The shapes are
fixed here and in the C test (which checks each file's size). Run with
Debian's /usr/bin/python3 (python3-torch 1.13). One thread, fixed seed.

Every gradient is torch autograd of (output * upstream).sum() (plus the loss
itself for the scalar losses); the upstream gradients are saved with it.

  bce_<c>_{logits, target, loss, dlogits}   weight * F.binary_cross_entropy_with_logits
        a: n 37, extreme logits (|x| up to 100), targets in (0, 1), weight 1
        b: n 1, target all ones (NULL target in C), weight 0.5
        c: n 6, target all zeros, extreme logits, weight 1
  sq_<c>_{pred, target, loss, dpred}
        mse: [7,5] F.mse_loss; rows: [3,2,3,3] ((p-t)**2).sum((1,2,3)).mean();
        lsgan: [9] 0.5*((d-1)**2).mean() (NULL target, value 1); one: [1] F.mse_loss
  ce_<c>_{logits, labels (as float), loss, dlogits}   weight * F.cross_entropy
        a: 7 x 10 (one row at +-80), weight 1; b: 1 x 3, weight 0.5; c: 4 x 1
  kl_<c>_{mu, log_std, loss, dmu, dlog_std}
        weight * (-ls - 0.5 + (exp(2 ls) + mu**2)/2).sum(1).mean()
        a: 5 x 7 (log_std up to +-8), weight 1; b: 1 x 3, weight 0.8
  rep_{mu, log_std, eps, dz, z, dmu, dlog_std} [23]   z = mu + exp(log_std) * eps
  clip_<c>_{grads, total, clipped}   torch.nn.utils.clip_grad_norm_ over 4
        tensors (7x5, 5, 3x2x2x2, 1: 65 floats laid out contiguously);
        c = clip (max_norm 1) and noclip (max_norm 100)
  four_<c>_{t, w, out, dout, dt}   GaussianFourierProjection's formula
        a: n 6, half 8, W ~ 30 N(0,1); b: n 1, half 3
  sin_<c>_{t, out, dout, dt}   lucidrains SinusoidalPosEmb's formula
        a: n 5 integer timesteps up to 999, dim 64; b: n 3, dim 4
  cpl_<c>_{x, s, t, logdet0, dy, dlogdet, y, logdet, dx, ds, dt, xinv}
        plain-torch coupling on [3,3,3,5]; c = cb0, cb1 (checkerboard, inverted),
        ch0, ch1 (channel); logdet0 the accumulated-into value
  jac_<c>_{x, s, t, y, logdet}   [1,2,2,2]: s, t from a fixed tiny network of b*x
        (float64), y the coupling; logdet = torch.slogdet of the autograd
        Jacobian dy/dx (float64); c = cb, ch
  lr_decay_<total> [k]   LambdaLR(lambda s: 1 - s/total) for each (base lr, total, k)
        of LR_CASES: the lr each of k optimizer steps used, float64
  lr_decay_far [4]   base_lr * lmbda(t) for far steps (LambdaLR.get_lr's formula)
  beta_ramp [21]     target * e / 20 for e = 0..20, target 1.0 (float64)
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

SEED = 20240612
SUB = "kernels_loss"
LR_CASES = [(2e-4, 500000, 6), (2e-4, 100000, 6), (1e-3, 4, 7)]


def save(outdir, name, tensor, dtype="<f4"):
    if isinstance(tensor, torch.Tensor):
        tensor = tensor.detach().cpu().numpy()
    arr = np.ascontiguousarray(np.asarray(tensor), dtype=dtype)
    ext = ".f32" if dtype == "<f4" else ".f64"
    arr.tofile(os.path.join(outdir, name + ext))


def save_all(outdir, prefix, items):
    for name, t in items:
        save(outdir, f"{prefix}_{name}", t)


def bce(outdir):
    special = torch.tensor([-100.0, -60.0, -51.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 51.0, 60.0,
                            100.0])
    cases = {
        "a": (torch.cat([special, torch.randn(26) * 5]), torch.rand(37) * 0.98 + 0.01, 1.0),
        "b": (torch.randn(1), torch.ones(1), 0.5),
        "c": (torch.tensor([-70.0, -52.0, -3.0, 0.5, 55.0, 90.0]), torch.zeros(6), 1.0),
    }
    for c, (x, t, w) in cases.items():
        x = x.clone().requires_grad_()
        loss = w * F.binary_cross_entropy_with_logits(x, t)
        loss.backward()
        save_all(outdir, f"bce_{c}", [("logits", x), ("target", t), ("loss", loss.reshape(1)),
                                      ("dlogits", x.grad)])


def sq(outdir):
    cases = {
        "mse": ((7, 5), lambda p, t: F.mse_loss(p, t)),
        "rows": ((3, 2, 3, 3), lambda p, t: ((p - t) ** 2).sum((1, 2, 3)).mean()),
        "lsgan": ((9,), lambda p, t: 0.5 * ((p - 1) ** 2).mean()),
        "one": ((1,), lambda p, t: F.mse_loss(p, t)),
    }
    for c, (shape, fn) in cases.items():
        p = torch.randn(shape).requires_grad_()
        t = torch.ones(shape) if c == "lsgan" else torch.randn(shape)
        loss = fn(p, t)
        loss.backward()
        save_all(outdir, f"sq_{c}", [("pred", p), ("target", t), ("loss", loss.reshape(1)),
                                     ("dpred", p.grad)])


def ce(outdir):
    cases = {"a": (7, 10, 1.0), "b": (1, 3, 0.5), "c": (4, 1, 1.0)}
    for c, (rows, classes, w) in cases.items():
        x = torch.randn(rows, classes) * 3
        if c == "a":
            x[2] = torch.tensor([80.0, -80.0, 79.5, 0.0, -3.0, 80.0, 1.0, 2.0, -79.0, 60.0])
        x.requires_grad_()
        labels = torch.randint(0, classes, (rows,))
        if c == "a":
            labels[2] = 1  # the -80 logit: a loss of ~160
        loss = w * F.cross_entropy(x, labels)
        loss.backward()
        save_all(outdir, f"ce_{c}", [("logits", x), ("labels", labels.float()),
                                     ("loss", loss.reshape(1)), ("dlogits", x.grad)])


def kl(outdir):
    cases = {"a": (5, 7, 1.0), "b": (1, 3, 0.8)}
    for c, (rows, cols, w) in cases.items():
        mu = torch.randn(rows, cols)
        ls = torch.randn(rows, cols) * 1.5
        if c == "a":
            ls[0, :4] = torch.tensor([-8.0, 8.0, 0.0, 1e-4])
        mu.requires_grad_()
        ls.requires_grad_()
        loss = w * (-ls - 0.5 + (torch.exp(2 * ls) + mu ** 2) / 2).sum(1).mean()
        loss.backward()
        save_all(outdir, f"kl_{c}", [("mu", mu), ("log_std", ls), ("loss", loss.reshape(1)),
                                     ("dmu", mu.grad), ("dlog_std", ls.grad)])


def rep(outdir):
    mu = torch.randn(23).requires_grad_()
    ls = (torch.randn(23) * 2).requires_grad_()
    eps = torch.randn(23)
    dz = torch.randn(23)
    z = mu + torch.exp(ls) * eps
    z.backward(dz)
    save_all(outdir, "rep", [("mu", mu), ("log_std", ls), ("eps", eps), ("dz", dz), ("z", z),
                             ("dmu", mu.grad), ("dlog_std", ls.grad)])


def clip(outdir):
    shapes = [(7, 5), (5,), (3, 2, 2, 2), (1,)]
    grads = [torch.randn(s) for s in shapes]
    for c, max_norm in (("clip", 1.0), ("noclip", 100.0)):
        params = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm)
        flat_in = torch.cat([g.reshape(-1) for g in grads])
        flat_out = torch.cat([p.grad.reshape(-1) for p in params])
        save_all(outdir, f"clip_{c}", [("grads", flat_in), ("total", total.reshape(1)),
                                       ("clipped", flat_out)])


def fourier(outdir):
    cases = {"a": (torch.tensor([1e-5, 0.013, 0.25, 0.5, 0.9, 1.0]), 8), "b": (torch.rand(1), 3)}
    for c, (t, half) in cases.items():
        W = torch.randn(half) * 30.0
        x = t.clone().requires_grad_()
        x_proj = x[:, None] * W[None, :] * 2 * np.pi  # GaussianFourierProjection.forward
        out = torch.cat([torch.sin(x_proj), torch.cos(x_proj)], dim=-1)
        dout = torch.randn(out.shape)
        out.backward(dout)
        save_all(outdir, f"four_{c}", [("t", t), ("w", W), ("out", out), ("dout", dout),
                                       ("dt", x.grad)])


def sinusoidal(outdir):
    import math
    cases = {"a": (torch.tensor([0, 1, 7, 500, 999]), 64),
             "b": (torch.tensor([0.5, 3.0, 250.25]), 4)}
    for c, (t, dim) in cases.items():
        x = t.float().clone().requires_grad_()
        half_dim = dim // 2  # SinusoidalPosEmb.forward from here
        emb = math.log(10000) / (half_dim - 1)
        emb = torch.exp(torch.arange(half_dim) * -emb)
        emb = x[:, None] * emb[None, :]
        out = torch.cat((emb.sin(), emb.cos()), dim=-1)
        dout = torch.randn(out.shape)
        out.backward(dout)
        save_all(outdir, f"sin_{c}", [("t", x), ("out", out), ("dout", dout), ("dt", x.grad)])


def coupling_mask(shape, kind, invert, dtype=torch.float32):
    """b per shapes.h: checkerboard 1 where (h + w) even; channel 1 on the first C//2."""
    _, C, H, W = shape
    if kind == "cb":
        hh = torch.arange(H)[:, None]
        ww = torch.arange(W)[None, :]
        b = ((hh + ww) % 2 == 0).to(dtype).expand(C, H, W)
    else:
        b = (torch.arange(C) < C // 2).to(dtype)[:, None, None].expand(C, H, W)
    return (1 - b if invert else b)[None]


def coupling(outdir):
    shape = (3, 3, 3, 5)
    for c, kind, inv in (("cb0", "cb", 0), ("cb1", "cb", 1), ("ch0", "ch", 0), ("ch1", "ch", 1)):
        b = coupling_mask(shape, kind, inv)
        x = torch.randn(shape).requires_grad_()
        s = (torch.randn(shape) * 1.5).requires_grad_()
        t = torch.randn(shape).requires_grad_()
        logdet0 = torch.randn(shape[0])
        dy = torch.randn(shape)
        dlogdet = torch.randn(shape[0])
        y = b * x + (1 - b) * (x * torch.exp(s) + t)
        logdet = logdet0 + ((1 - b) * s).sum((1, 2, 3))
        ((y * dy).sum() + (logdet * dlogdet).sum()).backward()
        with torch.no_grad():
            xinv = b * y + (1 - b) * (y - t) * torch.exp(-s)
        save_all(outdir, f"cpl_{c}", [("x", x), ("s", s), ("t", t), ("logdet0", logdet0),
                                      ("dy", dy), ("dlogdet", dlogdet), ("y", y),
                                      ("logdet", logdet), ("dx", x.grad), ("ds", s.grad),
                                      ("dt", t.grad), ("xinv", xinv)])


def coupling_jacobian(outdir):
    """log|det dy/dx| of a whole coupling layer, s and t computed from b*x by a tiny
    fixed network, by torch.slogdet of the autograd Jacobian (float64)."""
    shape = (1, 2, 2, 2)
    n = 8
    A = torch.randn(n, n, dtype=torch.float64) * 0.7
    a = torch.randn(n, dtype=torch.float64) * 0.3
    B = torch.randn(n, n, dtype=torch.float64)
    bb = torch.randn(n, dtype=torch.float64)
    for c, kind in (("cb", "cb"), ("ch", "ch")):
        b = coupling_mask(shape, kind, 0, torch.float64).reshape(n)
        # x representable in float32, so C reads exactly the point differentiated here
        x = torch.randn(n).double()

        def net(xv):
            h = b * xv
            return torch.tanh(A @ h + a), B @ h + bb

        def layer(xv):
            s, t = net(xv)
            return b * xv + (1 - b) * (xv * torch.exp(s) + t)

        J = torch.autograd.functional.jacobian(layer, x)
        sign, logabsdet = torch.slogdet(J)
        assert sign.item() > 0
        s, t = net(x)
        y = layer(x)
        save_all(outdir, f"jac_{c}", [("x", x.reshape(shape)), ("s", s.reshape(shape)),
                                      ("t", t.reshape(shape)), ("y", y.reshape(shape)),
                                      ("logdet", logabsdet.reshape(1))])


def schedules(outdir):
    for base, total, steps in LR_CASES:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=base)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / total)
        lrs = []
        for _ in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        save(outdir, f"lr_decay_{total}", lrs, "<f8")
    # far steps: LambdaLR.get_lr is base_lr * lmbda(last_epoch)
    total = 500000
    lam = lambda step: 1 - step / total  # noqa: E731
    save(outdir, "lr_decay_far", [2e-4 * lam(t) for t in (29999, 123457, 499999, 500000)], "<f8")
    target, epochs = 1.0, 20
    save(outdir, "beta_ramp", [target * e / epochs for e in range(epochs + 1)], "<f8")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: kernels_loss.py OUTDIR")
    outdir = os.path.join(sys.argv[1], SUB)
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    bce(outdir)
    sq(outdir)
    ce(outdir)
    kl(outdir)
    rep(outdir)
    clip(outdir)
    fourier(outdir)
    sinusoidal(outdir)
    coupling(outdir)
    coupling_jacobian(outdir)
    schedules(outdir)


if __name__ == "__main__":
    main()
