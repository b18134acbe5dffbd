#!/usr/bin/python3
"""bench/peers/dcgan_step.py - the CMU 16-824 ResNet GAN's passes and WGAN-GP steps in PyTorch, timed.

The same modules as models/dcgan_resnet.h (specs/pipelines.md 4.2) in plain torch:
UpSampleConv = nearest x2 then conv, DownSampleConv = 2x2 mean pool then conv; generator
dense(128 -> 2048) -> 3 ResBlockUp -> BN -> ReLU -> conv(128 -> 3) -> tanh (BN in training
mode); critic 2 ResBlockDown -> 2 ResBlock -> ReLU -> sum over H, W -> dense(128 -> 1).
Fixed inputs (drawn once, outside the timed region), the thread count set explicitly, Adam
lr 2e-4, betas (0, 0.9) on both sides. MODE:
  g_fwdbwd     out = G(z); out.backward(dout)                  (parameter gradients accumulate)
  d_fwdbwd     D(x).backward(dout)
  critic_step  zero_grad; E[D(fake)] - E[D(real)] + 10 GP at eps fake + (1 - eps) real, the
               penalty's input gradient taken with create_graph=True (exact double backward);
               backward; Adam. fake is a fixed detached G(z), as ours.
  gen_step     zero_grad; -E[D(G(z))] backward with the critic's parameters frozen
               (requires_grad False: no critic parameter gradients, as ours); Adam on G.
Runs on the bench's device (bench/peers/peer_device.py: the GPU for `bench --device cuda`, TF32
off). Prints one JSON object: {"impl": "pytorch", "times_s": [...], "torch": version, "threads": T}.

usage: /usr/bin/python3 bench/peers/dcgan_step.py MODE BATCH THREADS WARMUP REPS
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import peer_device


class UpSampleConv(nn.Module):
    def __init__(self, cin, k, n, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, n, k, padding=padding)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class DownSampleConv(nn.Module):
    def __init__(self, cin, k, n, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, n, k, padding=padding)

    def forward(self, x):
        return self.conv(F.avg_pool2d(x, 2))


class ResBlockUp(nn.Module):
    def __init__(self, cin, n=128):
        super().__init__()
        self.layers = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, n, 3, padding=1, bias=False),
                                    nn.BatchNorm2d(n), nn.ReLU())
        self.residual = UpSampleConv(n, 3, n, padding=1)
        self.shortcut = UpSampleConv(cin, 1, n)

    def forward(self, x):
        return self.residual(self.layers(x)) + self.shortcut(x)


class ResBlockDown(nn.Module):
    def __init__(self, cin, n=128):
        super().__init__()
        self.layers = nn.Sequential(nn.ReLU(), nn.Conv2d(cin, n, 3, padding=1), nn.ReLU())
        self.residual = DownSampleConv(n, 3, n, padding=1)
        self.shortcut = DownSampleConv(cin, 1, n)

    def forward(self, x):
        return self.residual(self.layers(x)) + self.shortcut(x)


class ResBlock(nn.Module):
    def __init__(self, cin, n=128):
        super().__init__()
        self.layers = nn.Sequential(nn.ReLU(), nn.Conv2d(cin, n, 3, padding=1), nn.ReLU(),
                                    nn.Conv2d(n, n, 3, padding=1))

    def forward(self, x):
        return x + self.layers(x)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(128, 2048)
        self.layers = nn.Sequential(ResBlockUp(128), ResBlockUp(128), ResBlockUp(128), nn.BatchNorm2d(128),
                                    nn.ReLU(), nn.Conv2d(128, 3, 3, padding=1), nn.Tanh())

    def forward(self, z):
        return self.layers(self.dense(z).reshape(z.shape[0], -1, 4, 4))


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(ResBlockDown(3), ResBlockDown(128), ResBlock(128), ResBlock(128), nn.ReLU())
        self.dense = nn.Linear(128, 1)

    def forward(self, x):
        return self.dense(torch.sum(self.layers(x), dim=[-2, -1]))


def main():
    mode = sys.argv[1]
    batch, threads, warmup, reps = (int(a) for a in sys.argv[2:6])
    torch.set_num_threads(threads)
    dev, sync, where = peer_device.pick(torch)
    torch.manual_seed(0)
    g, d = Generator().to(dev), Critic().to(dev)
    z = torch.randn(batch, 128).to(dev)
    real = (torch.rand(batch, 3, 32, 32) * 2 - 1).to(dev)
    eps = torch.rand(batch, 1, 1, 1).to(dev)
    with torch.no_grad():
        fake = g(z)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.0, 0.9))

    if mode == "g_fwdbwd":
        dout = torch.randn(batch, 3, 32, 32).to(dev)

        def step():
            g(z).backward(dout)
    elif mode == "d_fwdbwd":
        dout = torch.randn(batch, 1).to(dev)

        def step():
            d(real).backward(dout)
    elif mode == "critic_step":
        def step():
            opt_d.zero_grad()
            interp = (eps * fake + (1 - eps) * real).requires_grad_(True)
            out = d(interp)
            grad = torch.autograd.grad(out.sum(), interp, create_graph=True)[0]
            gp = 10.0 * ((grad.reshape(batch, -1).norm(2, dim=1) - 1) ** 2).mean()
            loss = d(fake).mean() - d(real).mean() + gp
            loss.backward()
            opt_d.step()
            return loss.item()
    elif mode == "gen_step":
        for p in d.parameters():
            p.requires_grad_(False)

        def step():
            opt_g.zero_grad()
            loss = -d(g(z)).mean()
            loss.backward()
            opt_g.step()
            return loss.item()
    else:
        raise SystemExit("unknown mode " + mode)

    times = peer_device.time_passes(step, sync, warmup, reps, time.perf_counter)
    print(json.dumps({"impl": "pytorch", "times_s": times, "torch": "%s on %s" % (torch.__version__, where),
                      "threads": threads}))


if __name__ == "__main__":
    main()
