#!/usr/bin/python3
"""tests/peers/toy2d_step_ref.py OUTDIR - PyTorch reference for the toy2d-langevin training step.

Builds the HW5 ScoreNet (8 Linear layers, width 128, Softplus between, input (x, sigma),
output net(.)/sigma) with torch.manual_seed(0), and takes 5 full-batch Adam steps (lr 0.01) on
40 points with the LITERAL loss of the spec:
    l = 0.5 * sigma^2 * || s(x~, sigma) + (x~ - x) / sigma^2 ||^2 summed over dims, mean over points
genbench computes the algebraically equal 0.5 * ||net(x~, sigma) + z||^2 (pipelines/toy2d_langevin.c),
so agreement checks the simplification too.

Writes OUTDIR/toy2d/*.f32 (raw little-endian float32, C order):
  init_<name>.f32     initial parameters (fc<l>.weight [out,in], fc<l>.bias [out])
  x.f32 [40,2]        data points
  sigma_<t>.f32 [40]  per-point noise level of step t (t = 0..4)
  z_<t>.f32 [40,2]    per-point noise of step t
  loss.f32 [5]        loss before each optimizer step
  final_<name>.f32    parameters after 5 steps
"""
import os
import sys

import numpy as np
import torch

N, WIDTH, LAYERS, STEPS = 40, 128, 8, 5


def main():
    out = os.path.join(sys.argv[1], "toy2d")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    dims = [3] + [WIDTH] * (LAYERS - 1) + [2]
    layers = [torch.nn.Linear(dims[i], dims[i + 1]) for i in range(LAYERS)]

    def net(inp):
        h = inp
        for i, lin in enumerate(layers):
            h = lin(h)
            if i + 1 < LAYERS:
                h = torch.nn.functional.softplus(h)
        return h

    def save(name, t):
        np.ascontiguousarray(t.detach().numpy().astype("<f4")).tofile(os.path.join(out, name + ".f32"))

    for i, lin in enumerate(layers):
        save("init_fc%d.weight" % i, lin.weight)
        save("init_fc%d.bias" % i, lin.bias)
    params = [p for lin in layers for p in (lin.weight, lin.bias)]
    opt = torch.optim.Adam(params, lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    sigmas_all = torch.exp(torch.linspace(np.log(0.3), np.log(0.01), 10))
    x = torch.randn(N, 2) * torch.tensor([1.5, 0.4])
    save("x", x)
    losses = []
    for t in range(STEPS):
        sigma = sigmas_all[torch.randint(0, 10, (N,))].float()
        z = torch.randn(N, 2)
        save("sigma_%d" % t, sigma)
        save("z_%d" % t, z)
        s_col = sigma[:, None]
        x_tilde = x + s_col * z
        score = net(torch.cat([x_tilde, s_col], dim=1)) / s_col
        per = 0.5 * s_col[:, 0] ** 2 * ((score + (x_tilde - x) / s_col ** 2) ** 2).sum(dim=1)
        loss = per.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    save("loss", torch.tensor(losses))
    for i, lin in enumerate(layers):
        save("final_fc%d.weight" % i, lin.weight)
        save("final_fc%d.bias" % i, lin.bias)


if __name__ == "__main__":
    main()
