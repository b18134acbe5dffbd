"""bench/peers/peer_device.py - where a PyTorch peer runs: the device `genbench bench` runs on.

$GB_BENCH_DEVICE (set by bench/bench_main.c) "cuda", with a GPU PyTorch sees: the GPU, with TF32
switched off for cuDNN and matmuls (PyTorch lets cuDNN convolutions use TF32 tensor cores by
default; genbench's CUDA backend computes in full float32: CUDNN_FMA_MATH, CUBLAS_DEFAULT_MATH),
and torch.cuda.synchronize() around each timed pass, since CUDA launches return before the work
is done. Otherwise the CPU. Without this, a `bench --device cuda` ratio would set genbench on the
GPU against PyTorch on the CPU.
"""
import os


def pick(torch):
    """(device, sync, where): the torch.device, a function that waits for it, and a label.
    A GPU bench whose PyTorch sees no GPU (Debian's CPU-only torch, say) is an error, not a
    silent CPU row whose ratio would set genbench on the GPU against PyTorch on the CPU."""
    if os.environ.get("GB_BENCH_DEVICE") == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("peer_device: the bench runs on cuda but this PyTorch (%s) sees no GPU; "
                             "name a CUDA PyTorch's Python with GB_PYTHON" % torch.__version__)
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        return torch.device("cuda"), torch.cuda.synchronize, "cuda, float32 (TF32 off)"
    return torch.device("cpu"), (lambda: None), "cpu"


def time_passes(step, sync, warmup, reps, clock):
    """Run step warmup times, then time reps passes, each between two syncs; seconds per pass."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        sync()
        t0 = clock()
        step()
        sync()
        times.append(clock() - t0)
    return times
