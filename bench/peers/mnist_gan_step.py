#!/usr/bin/python3
"""bench/peers/mnist_gan_step.py - one mnist-gan iteration (a D step and a G step) in PyTorch, timed.

The CS446 HW5 networks of models/mnist_gan.h in plain torch:
  DNet: conv(1->2, 3x3, p1) ReLU MaxPool2 -> conv(2->4, p1) ReLU MaxPool2 -> conv(4->8, p0) ReLU
        -> flatten 200 -> fc(200->1)
  GNet: fc(64->1568) LeakyReLU(0.2) -> [32,7,7] -> nearest x2 -> conv(32->16, p1) LeakyReLU(0.2)
        -> nearest x2 -> conv(16->8, p1) LeakyReLU(0.2) -> conv(8->1, p1) Sigmoid
The iteration is the pipeline's (pipelines/mnist_gan.c, gb_mnist_gan_iteration), written as a
PyTorch user would: fake = G(z); D step on BCE(D(x), 1) + BCE(D(fake.detach()), 0), Adam; G step
on BCE(D(fake), 1) through the updated D, Adam (lr 2e-4, betas (0.9, 0.999)). Fixed x and z (drawn
outside the timed region), the thread count set explicitly.
Runs on the bench's device (bench/peers/peer_device.py: the GPU for `bench --device cuda`, TF32
off). Prints one JSON object: {"impl": "pytorch", "times_s": [...], "torch": version, "threads": T}.

usage: /usr/bin/python3 bench/peers/mnist_gan_step.py BATCH THREADS WARMUP REPS
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import peer_device


class DNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, padding=1)
        self.conv2 = nn.Conv2d(2, 4, 3, padding=1)
        self.conv3 = nn.Conv2d(4, 8, 3)
        self.fc = nn.Linear(200, 1)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(F.relu(self.conv3(x)).flatten(1))


class GNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 1568)
        self.conv1 = nn.Conv2d(32, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 8, 3, padding=1)
        self.conv3 = nn.Conv2d(8, 1, 3, padding=1)

    def forward(self, z):
        x = F.leaky_relu(self.fc(z), 0.2).view(-1, 32, 7, 7)
        x = F.leaky_relu(self.conv1(F.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        x = F.leaky_relu(self.conv2(F.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        return torch.sigmoid(self.conv3(x))


def main():
    batch, threads, warmup, reps = (int(a) for a in sys.argv[1:5])
    torch.set_num_threads(threads)
    dev, sync, where = peer_device.pick(torch)
    torch.manual_seed(0)
    d, g = DNet().to(dev), GNet().to(dev)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.9, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.9, 0.999))
    x = torch.rand(batch, 1, 28, 28).to(dev)
    z = (torch.rand(batch, 64) * 2 - 1).to(dev)
    ones, zeros = torch.ones(batch, 1, device=dev), torch.zeros(batch, 1, device=dev)
    bce = F.binary_cross_entropy_with_logits

    def step():
        opt_d.zero_grad()
        fake = g(z)
        loss_d = bce(d(x), ones) + bce(d(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = bce(d(fake), ones)
        loss_g.backward()
        opt_g.step()
        return loss_d.item() + loss_g.item()

    times = peer_device.time_passes(step, sync, warmup, reps, time.perf_counter)
    print(json.dumps({"impl": "pytorch", "times_s": times, "torch": "%s on %s" % (torch.__version__, where),
                      "threads": threads}))


if __name__ == "__main__":
    main()
