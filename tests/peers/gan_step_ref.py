#!/usr/bin/python3
"""tests/peers/gan_step_ref.py OUTDIR - PyTorch trajectories for tests/test_gan_step.c: the training
iterations of the GAN pipelines (pipelines/gan_trainers.h) run for a few optimizer steps from the
same initial weights on the same batches and noise.

Cases (OUTDIR/gan_step/<case>/):
  mnist         CS446 DNet/GNet (tests/peers/mnist_gan_ref.py's modules, kaiming_uniform weights,
                random biases so the bias paths matter), batch 8, 5 iterations: D step
                BCE(D(x), 1) + BCE(D(G(z)), 0) (the sum of the two means), then G step
                BCE(D(G(z)), 1) on the same z through the updated D; Adam 2e-4 (0.9, 0.999).
  wgan-gp       the CMU ResNet G and critic (tests/peers/dcgan_resnet_ref.py's modules, PyTorch
                default init, seed 0), batch 2 (the smallest BatchNorm takes; float64 convs are
                slow), 5 iterations with a generator step every iteration (n_critic 1), so both
                nets take 5 Adam steps (lr 2e-4, betas (0, 0.9), eps 1e-3: see ADAM_EPS_CUB), and the linear decay of
                specs/pipelines.md 4.3 as LambdaLR(1 - t / T) with short horizons (T_D = 7,
                T_G = 6) so the schedule visibly acts. BN in training mode.
  gan, lsgan    the same with the pipelines' n_critic 5 over 6 iterations: 6 critic steps, and
                generator steps at iterations 0 and 5 only (the generator's path through the
                critic is the same code for every loss; five generator steps of each would triple
                the cost of this peer, whose float64 convolutions dominate `make test`'s peers).
Each case runs from the same float32 weights and inputs in float64 and in float32. The float64
trajectory (rounded to float32) is the reference; the float32 distance from it, per tensor,
measures how far an honest float32 implementation drifts in these steps (written as R.err.f32
[tensors, 3]: max |f32 - f64|, ||f32 - f64||_2, ||f64||_2), as in tests/peers/dcgan_resnet_ref.py.
For the CUB cases the float32 distance is the largest over an ensemble (see ENSEMBLE below).

Files per case: names_g.txt, names_d.txt, names_gbuf.txt ("name numel", state-dict order);
g_init, d_init (float32 weights); x [iters, B, C, H, W]; z [iters, B, zdim] (mnist) or z_d, z_g
[iters, B, 128]; eps [iters, B]; refs losses (one tensor [5] per iteration: loss_d, loss_g (0 when
G did not step), mean D(x), mean D(G(z)), lambda GP), g_final, d_final, gbuf_final (per tensor).
"""
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcgan_resnet_ref as cmu  # noqa: E402
import mnist_gan_ref as cs446  # noqa: E402

LAMBDA = 10.0
# Adam's eps for the CUB cases. Adam maps a gradient g to about lr g / (|g| + eps): an element
# whose exact gradient is 0 by cancellation (the WGAN critic's last conv bias on a channel whose
# count of active positions is equal on the real and the fake batch: (w / B)(N_fake - N_real))
# is left with pure rounding, ~3e-8 in float32, which eps = 1e-8 turns into an update of ~0.7 lr
# whose sign the summation order decides; that lr-sized difference then feeds every later step.
# PyTorch's own float32 run happened to cancel exactly there, so its drift cannot measure it.
# With eps = 1e-3 the same rounding moves the element by ~1e-8 lr while every real gradient
# (1e-4 .. 1e-1 here) still drives the update: the trajectory stays comparable and the code
# path is the pipeline's (eps is a hyperparameter of gb_cub32_gan_hparams). mnist keeps 1e-8.
ADAM_EPS_CUB = 1e-3


def write(path, t):
    a = t.detach().double().numpy() if torch.is_tensor(t) else np.asarray(t, dtype=np.float64)
    np.ascontiguousarray(a.astype("<f4")).tofile(path + ".f32")


def flat(ts):
    return torch.cat([t.detach().reshape(-1).double() for t in ts])


def write_ref(out, name, runs32, l64):
    """Per tensor: the largest max-distance and 2-norm distance from l64 over the float32 runs."""
    err = []
    for i, b in enumerate(l64):
        b = b.detach().double()
        ds = [r[i].detach().double() - b for r in runs32]
        err.append([max(d.abs().max().item() for d in ds), max(d.norm().item() for d in ds), b.norm().item()])
    write(os.path.join(out, name), flat(l64))
    write(os.path.join(out, name + ".err"), torch.tensor(err, dtype=torch.float64))


# How far an honest float32 implementation drifts is measured over an ensemble, not one run: the
# plain float32 run and ENSEMBLE runs in which every conv2d output and every gradient reaching it
# is multiplied by (1 +- 2^-24), seeded random signs: one more rounding-sized error per element,
# as a different summation order leaves. These trajectories branch: a ReLU input or an Adam
# denominator near its kink turns a 1-ulp difference into a step-sized one. Measured on cub32-gan
# (4 noise seeds): worst tensor at 6963x the plain run's distance for one seed, 2.6x, 34x and
# 9.6x for the others, and genbench's register-tiled convs (as accurate against float64 as its
# GEMM lowering) hit the 6963x branch too with one choice of summation blocks. Which honest
# rounding branches is luck, so the reference scale is the ensemble's largest distance per
# tensor.
ENSEMBLE = 8


class _UlpNoise(torch.autograd.Function):
    gen = torch.Generator()

    @staticmethod
    def _perturb(t):
        sign = torch.randint(0, 2, t.shape, generator=_UlpNoise.gen, dtype=torch.int64).to(t.dtype) * 2 - 1
        return t * (1 + sign * 2.0**-24)

    @staticmethod
    def forward(ctx, y):
        return _UlpNoise._perturb(y)

    @staticmethod
    def backward(ctx, g):
        return _UlpNoise._perturb(g)


def run_perturbed(seed, fn, *args):
    """fn(*args) with every float32 F.conv2d output and its gradient perturbed by one rounding."""
    plain = F.conv2d

    def noisy(x, w, b=None, *rest, **kw):
        y = plain(x, w, b, *rest, **kw)
        return _UlpNoise.apply(y) if y.dtype == torch.float32 else y

    _UlpNoise.gen.manual_seed(seed)
    torch.nn.functional.conv2d = noisy
    try:
        return fn(*args)
    finally:
        torch.nn.functional.conv2d = plain


def write_names(out, name, named):
    with open(os.path.join(out, name), "w") as f:
        for n, t in named:
            f.write("%s %d\n" % (n, t.numel()))


def mean_bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def mnist_run(D, G, x, z, dtype):
    D, G = D.to(dtype), G.to(dtype)
    od = torch.optim.Adam(D.parameters(), lr=2e-4)
    og = torch.optim.Adam(G.parameters(), lr=2e-4)
    rows = []
    for it in range(x.shape[0]):
        xi, zi = x[it].to(dtype), z[it].to(dtype)
        fake = G(zi)
        lr_real = D(xi)
        lr_fake = D(fake.detach())
        loss_d = mean_bce(lr_real, 1.0) + mean_bce(lr_fake, 0.0)
        od.zero_grad()
        loss_d.backward()
        od.step()
        loss_g = mean_bce(D(fake), 1.0)
        og.zero_grad()
        loss_g.backward()
        og.step()
        rows.append(torch.stack([loss_d.detach(), loss_g.detach(), lr_real.detach().mean(), lr_fake.detach().mean(),
                                 torch.zeros((), dtype=dtype)]))
    return rows, list(G.parameters()), list(D.parameters()), []


def mnist_case(root):
    out = os.path.join(root, "mnist")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(3)
    D, G = cs446.DNet(), cs446.GNet()
    cs446.init(D)
    cs446.init(G)
    iters, B = 5, 8
    x = torch.rand(iters, B, 1, 28, 28)
    z = 2 * torch.rand(iters, B, 64) - 1
    write_names(out, "names_g.txt", G.state_dict().items())
    write_names(out, "names_d.txt", D.state_dict().items())
    write(os.path.join(out, "g_init"), flat(G.state_dict().values()))
    write(os.path.join(out, "d_init"), flat(D.state_dict().values()))
    write(os.path.join(out, "x"), x)
    write(os.path.join(out, "z"), z)
    import copy
    r32 = mnist_run(copy.deepcopy(D), copy.deepcopy(G), x, z, torch.float32)
    r64 = mnist_run(copy.deepcopy(D), copy.deepcopy(G), x, z, torch.float64)
    for name, k in (("losses", 0), ("g_final", 1), ("d_final", 2)):
        write_ref(out, name, [r32[k]], r64[k])


def critic_loss(D, real, fake, eps, loss):
    if loss == "wgan-gp":
        d_real, d_fake = D(real).mean(), D(fake).mean()
        e = eps.view(-1, 1, 1, 1)
        interp = (e * fake + (1 - e) * real).detach().requires_grad_(True)
        g = torch.autograd.grad(D(interp).sum(), interp, create_graph=True)[0]
        gp = LAMBDA * ((g.reshape(g.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean()
        return d_fake - d_real + gp, d_real, d_fake, gp
    lr, lf = D(real), D(fake)
    if loss == "gan":
        l = mean_bce(lr, 1.0) + mean_bce(lf, 0.0)
    else:
        l = 0.5 * ((lr - 1) ** 2).mean() + 0.5 * (lf ** 2).mean()
    return l, lr.mean(), lf.mean(), torch.zeros((), dtype=real.dtype)


def generator_loss(D, fake, loss):
    out = D(fake)
    if loss == "gan":
        return mean_bce(out, 1.0)
    if loss == "lsgan":
        return 0.5 * ((out - 1) ** 2).mean()
    return -out.mean()


def cub_run(D, G, x, zd, zg, eps, loss, n_critic, td, tg, dtype):
    D, G = D.to(dtype), G.to(dtype)
    od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.0, 0.9), eps=ADAM_EPS_CUB)
    og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.0, 0.9), eps=ADAM_EPS_CUB)
    sd = torch.optim.lr_scheduler.LambdaLR(od, lambda s: 1 - s / td)
    sg = torch.optim.lr_scheduler.LambdaLR(og, lambda s: 1 - s / tg)
    rows = []
    for it in range(x.shape[0]):
        real = x[it].to(dtype)
        fake = G(zd[it].to(dtype)).detach()
        l, d_real, d_fake, gp = critic_loss(D, real, fake, eps[it].to(dtype), loss)
        od.zero_grad()
        l.backward()
        od.step()
        sd.step()
        lg = torch.zeros((), dtype=dtype)
        if it % n_critic == 0:
            lg = generator_loss(D, G(zg[it].to(dtype)), loss)
            og.zero_grad()
            lg.backward()
            og.step()
            sg.step()
        rows.append(torch.stack([l.detach(), lg.detach(), d_real.detach(), d_fake.detach(), gp.detach()]))
    bufs = [b for n, b in G.named_buffers() if not n.endswith("num_batches_tracked")]
    return rows, list(G.parameters()), list(D.parameters()), bufs


def cub_case(root, case, loss, iters, n_critic):
    out = os.path.join(root, case)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    G, D = cmu.Generator(), cmu.Discriminator()
    B = 2
    x = torch.rand(iters, B, 3, 32, 32) * 2 - 1
    zd = torch.randn(iters, B, 128)
    zg = torch.randn(iters, B, 128)
    eps = torch.rand(iters, B)
    write_names(out, "names_g.txt", G.named_parameters())
    write_names(out, "names_d.txt", D.named_parameters())
    write_names(out, "names_gbuf.txt", [(n, b) for n, b in G.named_buffers() if not n.endswith("num_batches_tracked")])
    write(os.path.join(out, "g_init"), flat(G.parameters()))
    write(os.path.join(out, "d_init"), flat(D.parameters()))
    for name, t in (("x", x), ("z_d", zd), ("z_g", zg), ("eps", eps)):
        write(os.path.join(out, name), t)
    import copy
    args = (x, zd, zg, eps, loss, n_critic, 7, 6)
    runs32 = [cub_run(copy.deepcopy(D), copy.deepcopy(G), *args, torch.float32)]
    for seed in range(ENSEMBLE):
        runs32.append(run_perturbed(seed, cub_run, copy.deepcopy(D), copy.deepcopy(G), *args, torch.float32))
    r64 = cub_run(copy.deepcopy(D), copy.deepcopy(G), *args, torch.float64)
    for name, k in (("losses", 0), ("g_final", 1), ("d_final", 2), ("gbuf_final", 3)):
        write_ref(out, name, [r[k] for r in runs32], r64[k])


def main():
    root = os.path.join(sys.argv[1], "gan_step")
    torch.set_num_threads(2)
    mnist_case(root)
    for case, loss, iters, n_critic in (("gan", "gan", 6, 5), ("lsgan", "lsgan", 6, 5), ("wgan-gp", "wgan-gp", 5, 1)):
        t = time.time()
        cub_case(root, case, loss, iters, n_critic)
        print("gan_step_ref: %s %.1f s" % (case, time.time() - t))


if __name__ == "__main__":
    main()
