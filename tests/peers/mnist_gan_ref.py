"""tests/peers/mnist_gan_ref.py - PyTorch reference for tests/test_mnist_gan.c (models/mnist_gan.c).

Usage: /usr/bin/python3 tests/peers/mnist_gan_ref.py OUTDIR   (writes OUTDIR/mnist_gan/*.f32)

The CS446 HW5 DNet and GNet of specs/pipelines.md 5.5 with kaiming_uniform_ weights and (unlike
the spec's zero init) random biases so the bias paths matter, from a fixed torch seed, written
as raw float32 in state-dict order; the C suite uploads them into its parameter blocks. Then:
  - forward: D(x) logits and G(z) images;
  - the D loss BCE(D(x), 1) + BCE(D(G(z).detach()), 0): D's parameter gradients, and the input
    gradient of BCE(D(x), 1) with respect to x;
  - the G loss BCE(D(G(z)), 1): G's parameter gradients;
  - one torch.optim.Adam step (lr 2e-4, default betas) of D on the D-loss gradients.
"""
import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

B = 3


class DNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, 1, 1)
        self.conv2 = nn.Conv2d(2, 4, 3, 1, 1)
        self.conv3 = nn.Conv2d(4, 8, 3, 1, 0)
        self.fc = nn.Linear(200, 1)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x))
        return self.fc(x.reshape(x.size(0), -1))


class GNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 1568)
        self.conv1 = nn.Conv2d(32, 16, 3, 1, 1)
        self.conv2 = nn.Conv2d(16, 8, 3, 1, 1)
        self.conv3 = nn.Conv2d(8, 1, 3, 1, 1)

    def forward(self, z):
        x = F.leaky_relu(self.fc(z), 0.2).view(-1, 32, 7, 7)
        x = F.leaky_relu(self.conv1(F.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        x = F.leaky_relu(self.conv2(F.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        return torch.sigmoid(self.conv3(x))


def init(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight)
            nn.init.uniform_(m.bias, -0.1, 0.1)


def flat(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors]).numpy().astype(np.float32)


def main():
    out = os.path.join(sys.argv[1], "mnist_gan")
    os.makedirs(out, exist_ok=True)

    def put(name, arr):
        np.asarray(arr, dtype=np.float32).tofile(os.path.join(out, name + ".f32"))

    torch.manual_seed(2)
    D, G = DNet(), GNet()
    init(D)
    init(G)
    x = torch.rand(B, 1, 28, 28)
    z = 2 * torch.rand(B, 64) - 1
    put("d_params", flat(D.state_dict().values()))
    put("g_params", flat(G.state_dict().values()))
    put("x", x.numpy())
    put("z", z.numpy())

    with torch.no_grad():
        put("d_out", D(x).numpy())
        put("g_out", G(z).numpy())

    # input gradient of BCE(D(x), 1)
    xr = x.clone().requires_grad_(True)
    F.binary_cross_entropy_with_logits(D(xr), torch.ones(B, 1)).backward()
    put("d_dx", xr.grad.numpy())

    # D loss and its gradients (two terms, summed)
    D.zero_grad()
    d_loss = (F.binary_cross_entropy_with_logits(D(x), torch.ones(B, 1))
              + F.binary_cross_entropy_with_logits(D(G(z).detach()), torch.zeros(B, 1)))
    d_loss.backward()
    put("d_loss", [d_loss.item()])
    put("d_grads", flat([p.grad for p in D.parameters()]))

    # one Adam step of a copy of D on those gradients (D itself stays as it was for the G loss)
    Dc = copy.deepcopy(D)
    for pc, p in zip(Dc.parameters(), D.parameters()):
        pc.grad = p.grad.clone()
    torch.optim.Adam(Dc.parameters(), lr=2e-4).step()
    put("d_params_after_adam", flat(Dc.state_dict().values()))

    # G loss (non-saturating) and G's gradients, through D
    G.zero_grad()
    g_loss = F.binary_cross_entropy_with_logits(D(G(z)), torch.ones(B, 1))
    g_loss.backward()
    put("g_loss", [g_loss.item()])
    put("g_grads", flat([p.grad for p in G.parameters()]))


if __name__ == "__main__":
    main()
