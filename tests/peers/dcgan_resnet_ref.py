#!/usr/bin/python3
"""tests/peers/dcgan_resnet_ref.py OUTDIR - PyTorch references for models/dcgan_resnet.

Builds the spec's modules (specs/pipelines.md 4.2, gan/networks.py) in plain torch (not
TorchScript): UpSampleConv2D = nearest-neighbour x2 upsample then conv, DownSampleConv2D =
2x2 mean pool then conv, with the spec's attribute names so the state-dict names are the ones
genbench uses. torch.manual_seed(0), batch 2 (B). Every reference is computed twice, by the float32
modules and by float64 copies of the same weights; the float64 result (rounded to float32) is
the reference, and |float32 - float64| measures how far an honest float32 implementation
lands from it, which the tests scale into their tolerances (tests/tolerances.md).

Writes OUTDIR/dcgan_resnet/ (raw little-endian float32, C order):
  g_names.txt, d_names.txt  "name numel" per parameter, state-dict order
  g_init.f32, d_init.f32    the parameters, concatenated in that order
  z [B,128], real [B,3,32,32], eps [B], fake [B,3,32,32] (float32 G(z), detached),
  interp [B,3,32,32] (float32 eps*fake + (1-eps)*real)
  for each reference R: R.f32 (float64 values) and R.err.f32 [tensors, 3] holding, per tensor,
  max|f32 - f64|, ||f32 - f64||_2, ||f64||_2:
  g_out                 G(z), BN in training mode
  g_running             running_mean, running_var of every BN after that one forward
  d_out_real, d_out_fake
  d_loss [3]            GAN (BCE with logits, targets 1 / 0), LSGAN, WGAN without GP
  d_grad_{gan,lsgan,wgan}   parameter gradients of those D losses (D on real and fake)
  g_loss [3], g_grad_{gan,lsgan,wgan}, g_dz_wgan   G losses through D(G(z)): non-saturating
                        BCE(., 1), 1/2 E[(D - 1)^2], -E[D]
  gp_value [1]          10 * mean_r (||grad_x D(interp)_r||_2 - 1)^2 (norm over C*H*W)
  gp_input_grad [B,3072]  grad_x D(interp) (create_graph=True)
  gp_grad               torch.autograd.grad(gp, D.parameters(), allow_unused=True), None -> 0
  wgp_losses [4]        {E[D(fake)] - E[D(real)] + 10 GP, E[D(real)], E[D(fake)], 10 GP}
  wgp_grad              its parameter gradient
  gp_fd_index.f32, gp_fd.f32, gp_fd_exact.f32: flat indices into d_init of a handful of
                        parameters, float64 central differences of the penalty there (step
                        1e-7, the ReLU sign pattern checked unchanged at both ends), and the
                        float64 autograd value at the same index
"""
import copy
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

B = 2
LAMBDA = 10.0
FD_STEP = 1e-7
# a handful of critic tensors, one element each: both kinds of block, the 1x1 shortcut, the
# dense layer, and a bias (whose penalty gradient is 0: biases only move ReLU kinks)
FD_PARAMS = ("layers.0.layers.1.weight", "layers.0.residual.conv.weight", "layers.1.shortcut.conv.weight",
             "layers.2.layers.3.weight", "layers.3.layers.1.weight", "layers.3.layers.1.bias", "dense.weight")

_record = None  # list collecting ReLU sign patterns while not None


class RecReLU(nn.ReLU):
    def forward(self, x):
        if _record is not None:
            _record.append((x > 0).detach().clone())
        return F.relu(x)


class UpSampleConv2D(nn.Module):
    def __init__(self, cin, k, n, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, n, kernel_size=(k, k), padding=padding)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class DownSampleConv2D(nn.Module):
    def __init__(self, cin, k, n, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, n, kernel_size=(k, k), padding=padding)

    def forward(self, x):
        return self.conv(F.avg_pool2d(x, 2))


class ResBlockUp(nn.Module):
    def __init__(self, cin, n=128):
        super().__init__()
        self.layers = nn.Sequential(nn.BatchNorm2d(cin), RecReLU(),
                                    nn.Conv2d(cin, n, kernel_size=(3, 3), padding=1, bias=False),
                                    nn.BatchNorm2d(n), RecReLU())
        self.residual = UpSampleConv2D(n, 3, n, padding=1)
        self.shortcut = UpSampleConv2D(cin, 1, n)

    def forward(self, x):
        return self.residual(self.layers(x)) + self.shortcut(x)


class ResBlockDown(nn.Module):
    def __init__(self, cin, n=128):
        super().__init__()
        self.layers = nn.Sequential(RecReLU(), nn.Conv2d(cin, n, kernel_size=(3, 3), padding=1), RecReLU())
        self.residual = DownSampleConv2D(n, 3, n, padding=1)
        self.shortcut = DownSampleConv2D(cin, 1, n)

    def forward(self, x):
        return self.residual(self.layers(x)) + self.shortcut(x)


class ResBlock(nn.Module):
    def __init__(self, cin, n=128):
        super().__init__()
        self.layers = nn.Sequential(RecReLU(), nn.Conv2d(cin, n, kernel_size=(3, 3), padding=1), RecReLU(),
                                    nn.Conv2d(n, n, kernel_size=(3, 3), padding=1))

    def forward(self, x):
        return x + self.layers(x)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(128, 2048)
        self.layers = nn.Sequential(ResBlockUp(128), ResBlockUp(128), ResBlockUp(128), nn.BatchNorm2d(128),
                                    RecReLU(), nn.Conv2d(128, 3, kernel_size=(3, 3), padding=1), nn.Tanh())

    def forward(self, z):
        return self.layers(self.dense(z).reshape(z.shape[0], -1, 4, 4))


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(ResBlockDown(3), ResBlockDown(128), ResBlock(128), ResBlock(128), RecReLU())
        self.dense = nn.Linear(128, 1)

    def forward(self, x):
        return self.dense(torch.sum(self.layers(x), dim=[-2, -1]))


def flat(tensors):
    return torch.cat([t.detach().reshape(-1).double() for t in tensors])


class Writer:
    def __init__(self, out):
        self.out = out

    def raw(self, name, t):
        a = t.detach().double().numpy() if torch.is_tensor(t) else np.asarray(t, dtype=np.float64)
        np.ascontiguousarray(a.astype("<f4")).tofile(os.path.join(self.out, name + ".f32"))

    def ref(self, name, t32, t64):
        """t32/t64: a tensor or a list of tensors (one error row per tensor)."""
        l32 = t32 if isinstance(t32, (list, tuple)) else [t32]
        l64 = t64 if isinstance(t64, (list, tuple)) else [t64]
        err = []
        for a, b in zip(l32, l64):
            d = a.detach().double() - b.detach().double()
            err.append([d.abs().max().item() if d.numel() else 0.0, d.norm().item(), b.detach().double().norm().item()])
        self.raw(name, flat(l64))
        self.raw(name + ".err", torch.tensor(err, dtype=torch.float64))


def grads_of(loss, params):
    gs = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(gs, params)]


def d_losses(D, real, fake):
    """GAN, LSGAN, WGAN (no GP) critic losses on the same outputs."""
    dr, df = D(real).reshape(-1), D(fake).reshape(-1)
    gan = F.binary_cross_entropy_with_logits(dr, torch.ones_like(dr)) + \
        F.binary_cross_entropy_with_logits(df, torch.zeros_like(df))
    lsgan = 0.5 * ((dr - 1) ** 2).mean() + 0.5 * (df ** 2).mean()
    wgan = df.mean() - dr.mean()
    return dr, df, [gan, lsgan, wgan]


def g_losses(D, fake):
    dg = D(fake).reshape(-1)
    return [F.binary_cross_entropy_with_logits(dg, torch.ones_like(dg)), 0.5 * ((dg - 1) ** 2).mean(), -dg.mean()]


def penalty(D, x, create_graph):
    x = x.detach().clone().requires_grad_(True)
    out = D(x)
    g = torch.autograd.grad(out, x, grad_outputs=torch.ones_like(out), create_graph=create_graph)[0]
    gp = ((g.reshape(g.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean()
    return LAMBDA * gp, g


def relu_pattern(D, x):
    """The sign pattern of every ReLU input, and the penalty, at x."""
    global _record
    _record = []
    gp = penalty(D, x, False)[0].item()
    pats, _record = _record, None
    return pats, gp


def finite_differences(D64, interp64, exact):
    """float64 central differences of the penalty for the largest-gradient element of each
    weight tensor and one bias, skipping elements whose step flips any ReLU."""
    params = list(D64.parameters())
    names = [n for n, _ in D64.named_parameters()]
    offsets = np.cumsum([0] + [p.numel() for p in params])
    base = relu_pattern(D64, interp64)[0]
    picks = []
    for i, (n, p) in enumerate(zip(names, params)):
        if n not in FD_PARAMS:
            continue
        order = torch.argsort(exact[i].reshape(-1).abs(), descending=True)
        for j in order[:20].tolist():
            flat_p = p.data.view(-1)
            keep = flat_p[j].item()
            vals, ok = [], True
            for s in (1.0, -1.0):
                flat_p[j] = keep + s * FD_STEP
                pats, gp = relu_pattern(D64, interp64)
                ok = ok and all(torch.equal(a, b) for a, b in zip(pats, base))
                vals.append(gp)
            flat_p[j] = keep
            if ok:
                picks.append((offsets[i] + j, (vals[0] - vals[1]) / (2 * FD_STEP), exact[i].reshape(-1)[j].item()))
                break
    return picks


def main():
    t0 = time.time()
    out = os.path.join(sys.argv[1], "dcgan_resnet")
    os.makedirs(out, exist_ok=True)
    w = Writer(out)
    torch.manual_seed(0)
    G, D = Generator(), Discriminator()
    for tag, m in (("g", G), ("d", D)):
        with open(os.path.join(out, tag + "_names.txt"), "w") as f:
            for n, p in m.named_parameters():
                f.write("%s %d\n" % (n, p.numel()))
        w.raw(tag + "_init", flat(m.parameters()))
    G64, D64 = copy.deepcopy(G).double(), copy.deepcopy(D).double()
    z = torch.randn(B, 128)
    real = torch.rand(B, 3, 32, 32) * 2 - 1
    eps = torch.rand(B)
    w.raw("z", z)
    w.raw("real", real)
    w.raw("eps", eps)

    # generator forward (training-mode BN; one forward, so the running stats move once)
    zr32, zr64 = z.clone().requires_grad_(True), z.double().clone().requires_grad_(True)
    fake32 = G(zr32)
    fake64 = G64(zr64)
    w.ref("g_out", fake32, fake64)
    w.raw("fake", fake32)
    bufs = lambda m: [b for n, b in m.named_buffers() if not n.endswith("num_batches_tracked")]
    w.ref("g_running", bufs(G), bufs(G64))

    # critic outputs and the three critic losses on (real, fake)
    fake = fake32.detach()
    dr32, df32, dl32 = d_losses(D, real, fake)
    dr64, df64, dl64 = d_losses(D64, real.double(), fake.double())
    w.ref("d_out_real", dr32, dr64)
    w.ref("d_out_fake", df32, df64)
    w.ref("d_loss", torch.stack(dl32), torch.stack(dl64))
    for name, l32, l64 in zip(("gan", "lsgan", "wgan"), dl32, dl64):
        w.ref("d_grad_" + name, grads_of(l32, list(D.parameters())), grads_of(l64, list(D64.parameters())))

    # the three generator losses through D(G(z)), sharing the graph of the one forward above
    gl32 = g_losses(D, fake32)
    gl64 = g_losses(D64, fake64)
    w.ref("g_loss", torch.stack(gl32), torch.stack(gl64))
    for name, l32, l64 in zip(("gan", "lsgan", "wgan"), gl32, gl64):
        w.ref("g_grad_" + name, grads_of(l32, list(G.parameters())), grads_of(l64, list(G64.parameters())))
    w.ref("g_dz_wgan", grads_of(gl32[2], [zr32])[0], grads_of(gl64[2], [zr64])[0])

    # WGAN-GP: the penalty at interp and its exact parameter gradient (double backward)
    interp = eps[:, None, None, None] * fake + (1 - eps[:, None, None, None]) * real
    w.raw("interp", interp)
    gp32, g32 = penalty(D, interp, True)
    gp64, g64 = penalty(D64, interp.double(), True)
    w.ref("gp_value", gp32.reshape(1), gp64.reshape(1))
    w.ref("gp_input_grad", g32, g64)
    gpg32, gpg64 = grads_of(gp32, list(D.parameters())), grads_of(gp64, list(D64.parameters()))
    w.ref("gp_grad", gpg32, gpg64)

    # the whole critic loss of a WGAN-GP step
    def wgp(Dm, r, f, x):
        er, ef = Dm(r).mean(), Dm(f).mean()
        gp, _ = penalty(Dm, x, True)
        return [ef - er + gp, er, ef, gp]
    wl32 = wgp(D, real, fake, interp)
    wl64 = wgp(D64, real.double(), fake.double(), interp.double())
    w.ref("wgp_losses", torch.stack(wl32), torch.stack(wl64))
    w.ref("wgp_grad", grads_of(wl32[0], list(D.parameters())), grads_of(wl64[0], list(D64.parameters())))

    # float64 central differences of the penalty (independent of any double backward)
    picks = finite_differences(D64, interp.double(), gpg64)
    w.raw("gp_fd_index", [p[0] for p in picks])
    w.raw("gp_fd", [p[1] for p in picks])
    w.raw("gp_fd_exact", [p[2] for p in picks])
    print("dcgan_resnet_ref: %.1f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
