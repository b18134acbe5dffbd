#!/usr/bin/python3
"""bench/peers/frechet.py - the Frechet distance as pytorch-fid computes it (scipy sqrtm), timed.

The statistics both sides use come from here: two Gaussians' (mu, sigma) at DIM dimensions,
each the mean and N-1 covariance (np.cov) of N = DIM + DIM/2 rows Z @ A + m with Z standard
normal, A a random DIM x DIM mixing matrix and m a mean offset, drawn from
np.random.default_rng(SEED), so both covariances are full rank and different.

  write DIM SEED PATH           np.savez(PATH, mu1, sigma1, mu2, sigma2, fid): the statistics and
                                pytorch-fid's value on them (the C side's check); prints
                                {"times_s": [], ...} (the bench peer protocol, bench/peer.h)
  time DIM SEED THREADS WARMUP REPS
                                times calculate_frechet_distance on the same statistics with
                                THREADS BLAS threads; prints {"times_s": [...], "torch": ...}

calculate_frechet_distance: pytorch-fid's function when the package imports (it needs
torchvision), else the same scipy calls transcribed from pytorch-fid 0.3.0's fid_score.py
(sqrtm of sigma1 @ sigma2 with disp=False, the eps*I retry when it is not finite, the
imaginary-part check, then |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr sqrtm), which also stands in
when the installed SciPy has dropped sqrtm's disp argument. The JSON's "torch" field names which
one ran and the scipy/numpy versions.
"""
import json
import os
import sys
import time


def set_threads(threads):
    # before numpy loads its BLAS
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def load_frechet():
    import inspect
    from scipy import linalg
    # SciPy 1.16 deprecated sqrtm's disp argument, which pytorch-fid passes; where it is gone,
    # pytorch-fid's own function cannot run, and the transcription calls sqrtm without it.
    has_disp = "disp" in inspect.signature(linalg.sqrtm).parameters
    if has_disp:
        try:
            from pytorch_fid.fid_score import calculate_frechet_distance
            import pytorch_fid
            return calculate_frechet_distance, "pytorch-fid " + getattr(pytorch_fid, "__version__", "?")
        except ImportError:
            pass
    import numpy as np

    def sqrtm(a):
        return linalg.sqrtm(a, disp=False)[0] if has_disp else linalg.sqrtm(a)

    def calculate_frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
        mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
        sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
        diff = mu1 - mu2
        covmean = sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
        if np.iscomplexobj(covmean):
            if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
                raise ValueError("Imaginary component {}".format(np.max(np.abs(covmean.imag))))
            covmean = covmean.real
        return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)

    return calculate_frechet_distance, "pytorch-fid 0.3.0 transcribed" + ("" if has_disp else " (sqrtm without disp)")


def statistics(dim, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    n = dim + dim // 2
    out = []
    for k in range(2):
        a = rng.standard_normal((dim, dim)) / np.sqrt(dim)
        x = rng.standard_normal((n, dim)) @ a + rng.standard_normal(dim) * (0.5 + k)
        out += [x.mean(axis=0), np.cov(x, rowvar=False)]
    return out


def versions(name):
    import numpy as np
    import scipy
    return "%s (scipy %s, numpy %s)" % (name, scipy.__version__, np.__version__)


def main():
    mode = sys.argv[1]
    if mode == "write":
        dim, seed, path = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        set_threads(os.cpu_count() or 1)
        import numpy as np
        frechet, name = load_frechet()
        mu1, s1, mu2, s2 = statistics(dim, seed)
        fid = frechet(mu1, s1, mu2, s2)
        np.savez(path, mu1=mu1, sigma1=s1, mu2=mu2, sigma2=s2, fid=np.array([fid]))
        print(json.dumps({"impl": "pytorch-fid", "times_s": [], "torch": versions(name), "fid": fid}))
        return
    dim, seed, threads, warmup, reps = (int(a) for a in sys.argv[2:7])
    set_threads(threads)
    frechet, name = load_frechet()
    mu1, s1, mu2, s2 = statistics(dim, seed)
    for _ in range(warmup):
        frechet(mu1, s1, mu2, s2)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        frechet(mu1, s1, mu2, s2)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"impl": "pytorch-fid", "times_s": times, "torch": versions(name), "threads": threads}))


if __name__ == "__main__":
    main()
