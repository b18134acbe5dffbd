#!/usr/bin/python3
"""bench/peers/inception_features.py - pytorch-fid's Inception-v3 feature extraction, timed.

The network is pytorch-fid 0.3.0's own fid_inception_v3() on RANDOM weights in the real
state-dict layout, built by tests/peers/inception_ref.py (import_peers installs pytorch-fid
and the pure-Python torchvision 0.2.2 it subclasses into DEPS with pip --no-deps --target when
they are missing; random_state_dict draws the weights from a fixed seed and calibrates the
BatchNorm statistics). The timed region is the layers InceptionV3([3]) chains (stem, pools,
Mixed_5b..7c, global average: run_blocks) on preprocessed [BATCH, 3, 299, 299] inputs under
torch.no_grad(), the same work as gb_inception_forward; the thread count is set explicitly.
It runs on the device genbench bench runs on (bench/peers/peer_device.py): for `bench --device
cuda`, PyTorch eager on the GPU (the issue's GPU peer) in full float32 like genbench's CUDA
backend (TF32 off), each timed pass between two torch.cuda.synchronize(); otherwise the CPU.

  DEPS write DIR       DIR/weights.pth (torch.save of the state dict) and DIR/check.npz with
                       x [2, 3, 299, 299] and pool [2, 2048] (pool3 of x, float32) for the C
                       side's check; prints {"times_s": [], "torch": version}
  DEPS time BATCH THREADS WARMUP REPS
                       prints {"impl": "pytorch-fid", "times_s": [...], "torch": version}
"""
import importlib.util
import json
import os
import sys
import time


def main():
    deps, mode = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "tests", "peers", "inception_ref.py")
    spec = importlib.util.spec_from_file_location("inception_ref", path)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    pfi, _, _ = ref.import_peers(deps)
    sys.path.insert(0, here)
    import peer_device
    import numpy as np
    import torch

    threads = int(sys.argv[4]) if mode == "time" else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    dev, sync, where = peer_device.pick(torch)
    g = torch.Generator().manual_seed(5)
    x_cal = torch.rand(4, 3, 299, 299, generator=g) * 2 - 1
    sd = ref.random_state_dict(pfi, torch, x_cal)
    net = ref.fid_network(pfi, sd)
    version = "pytorch-fid InceptionV3 blocks, torch %s on %s" % (torch.__version__, where)
    if mode == "write":
        out = sys.argv[3]
        torch.save(sd, os.path.join(out, "weights.pth"))
        x = torch.rand(2, 3, 299, 299, generator=g) * 2 - 1
        with torch.no_grad():
            pool = ref.run_blocks(net, x)
        np.savez(os.path.join(out, "check.npz"), x=x.numpy(), pool=pool.numpy())
        print(json.dumps({"impl": "pytorch-fid", "times_s": [], "torch": version}))
        return
    batch, warmup, reps = int(sys.argv[3]), int(sys.argv[5]), int(sys.argv[6])
    x = torch.rand(batch, 3, 299, 299, generator=g) * 2 - 1
    net, x = net.to(dev), x.to(dev)
    with torch.no_grad():
        times = peer_device.time_passes(lambda: ref.run_blocks(net, x), sync, warmup, reps, time.perf_counter)
    print(json.dumps({"impl": "pytorch-fid", "times_s": times, "torch": version, "threads": threads}))


if __name__ == "__main__":
    main()
