#!/usr/bin/python3
"""bench/peers/toy2d_step.py - the toy2d-langevin training step in PyTorch, timed.

The same model, batch and optimizer as genbench.s bench (bench/cases_steps.c): an MLP of
LAYERS linear layers of width WIDTH with Softplus between them on ROWS x 3 inputs, loss
0.5 * ||out - target||^2 summed over the 2 outputs and averaged over rows, Adam lr 0.01;
fixed inputs (no random draws inside the timed step), the thread count set explicitly; on the
bench's device (bench/peers/peer_device.py). Prints one JSON object: {"impl": "pytorch", "times_s": [...], "torch": version, "threads": T}.

usage: /usr/bin/python3 bench/peers/toy2d_step.py ROWS WIDTH LAYERS THREADS WARMUP REPS
"""
import json
import sys
import time

import torch

import peer_device


def main():
    rows, width, layers, threads, warmup, reps = (int(a) for a in sys.argv[1:7])
    torch.set_num_threads(threads)
    dev, sync, where = peer_device.pick(torch)
    torch.manual_seed(0)
    dims = [3] + [width] * (layers - 1) + [2]
    mods = []
    for i in range(layers):
        mods.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i + 1 < layers:
            mods.append(torch.nn.Softplus())
    net = torch.nn.Sequential(*mods).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    x = torch.randn(rows, 3).to(dev)
    target = torch.randn(rows, 2).to(dev)

    def step():
        opt.zero_grad()
        out = net(x)
        loss = 0.5 * ((out - target) ** 2).sum(1).mean()
        loss.backward()
        opt.step()
        return loss

    times = peer_device.time_passes(step, sync, warmup, reps, time.perf_counter)
    print(json.dumps({"impl": "pytorch", "times_s": times, "torch": "%s on %s" % (torch.__version__, where),
                      "threads": threads}))


if __name__ == "__main__":
    main()
