#!/usr/bin/python3
"""bench/peers/toy2d_step.py - the toy2d-langevin training step in PyTorch, timed.

The same model, batch and optimizer as genbench.s bench (bench/cases_steps.c): an MLP of
LAYERS linear layers of width WIDTH with Softplus between them on ROWS x 3 inputs, loss
0.5 * ||out - target||^2 summed over the 2 outputs and averaged over rows, Adam lr 0.01;
fixed inputs (no random draws inside the timed step), the thread count set explicitly.
Prints one JSON object: {"impl": "pytorch", "times_s": [...], "torch": version, "threads": T}.

usage: /usr/bin/python3 bench/peers/toy2d_step.py ROWS WIDTH LAYERS THREADS WARMUP REPS
"""
import json
import sys
import time

import torch


def main():
    rows, width, layers, threads, warmup, reps = (int(a) for a in sys.argv[1:7])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dims = [3] + [width] * (layers - 1) + [2]
    mods = []
    for i in range(layers):
        mods.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i + 1 < layers:
            mods.append(torch.nn.Softplus())
    net = torch.nn.Sequential(*mods)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    x = torch.randn(rows, 3)
    target = torch.randn(rows, 2)

    def step():
        opt.zero_grad()
        out = net(x)
        loss = 0.5 * ((out - target) ** 2).sum(1).mean()
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"impl": "pytorch", "times_s": times, "torch": torch.__version__, "threads": threads}))


if __name__ == "__main__":
    main()
