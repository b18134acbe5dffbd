#!/usr/bin/python3
"""tests/peers/sample_distance_ref.py OUTDIR - reference values for metrics/sample_distance.c.

Writes OUTDIR/sample_distance/:
  <case>_a.f32, <case>_b.f32  point sets, raw little-endian float32, row-major [n, 2]
  dirs_<n>.f32                the evenly spaced directions theta_k = pi k / n, float32 [n, 2]
  reference.txt               one "key value" per line, values printed with repr (17 digits)

Cases (numpy seed fixed below):
  gmm   a: 300 points of a 2-D Gaussian mixture; b: 457 fresh points of the same mixture,
        warped (x += 0.3 sin(1.5 y), y *= 1.2) and shifted by (0.4, -0.25)
  ties  both sets of gmm rounded to multiples of 0.25 (many tied projections)

References are independent of genbench's C code:
  sliced W1  scipy.stats.wasserstein_distance on each projection (projection in float64 of the
             float32 points onto the float32 directions), mean over directions; per-direction
             values too
  MMD^2      direct numpy: float64 pairwise squared distances by broadcasting, exp, means
             (biased V-statistic and unbiased U-statistic), at two bandwidths
  median     numpy.median of scipy.spatial.distance.pdist over the pooled first
             min(n, max_points) points of a then b
"""
import os
import sys

import numpy as np
from scipy.spatial.distance import pdist
from scipy.stats import wasserstein_distance

SEED = 446
N_A, N_B = 300, 457
DIR_COUNTS = (7, 64)          # an odd and an even count
FIXED_BANDWIDTH = 0.5
MAX_POINTS = (151, 200, 100000)  # truncating (odd and even pair counts) and not


def mixture(rng, n):
    means = np.array([[-2.0, 0.0], [0.0, 1.5], [2.0, -0.5], [0.5, -2.0]])
    scales = np.array([0.3, 0.5, 0.25, 0.4])
    comp = rng.integers(0, len(means), size=n)
    return means[comp] + scales[comp, None] * rng.standard_normal((n, 2))


def directions(n):
    theta = np.pi * np.arange(n) / n
    return np.stack([np.cos(theta), np.sin(theta)], axis=1).astype(np.float32)


def sliced_w1(a, b, dirs):
    a64, b64, d64 = a.astype(np.float64), b.astype(np.float64), dirs.astype(np.float64)
    per_dir = []
    for d in d64:
        pa = a64[:, 0] * d[0] + a64[:, 1] * d[1]
        pb = b64[:, 0] * d[0] + b64[:, 1] * d[1]
        per_dir.append(wasserstein_distance(pa, pb))
    return float(np.mean(per_dir)), per_dir


def kernel(x, y, h):
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    d2 = ((x64[:, None, :] - y64[None, :, :]) ** 2).sum(axis=2)
    return np.exp(-d2 / (2.0 * h * h))


def mmd2(a, b, h, unbiased):
    kaa, kbb, kab = kernel(a, a, h), kernel(b, b, h), kernel(a, b, h)
    na, nb = len(a), len(b)
    if unbiased:
        xx = (kaa.sum() - np.trace(kaa)) / (na * (na - 1))
        yy = (kbb.sum() - np.trace(kbb)) / (nb * (nb - 1))
    else:
        xx = kaa.sum() / (na * na)
        yy = kbb.sum() / (nb * nb)
    return float(xx + yy - 2.0 * kab.sum() / (na * nb))


def median_distance(a, b, max_points):
    pooled = np.concatenate([a[:max_points], b[:max_points]]).astype(np.float64)
    return float(np.median(pdist(pooled)))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: sample_distance_ref.py OUTDIR")
    out = os.path.join(sys.argv[1], "sample_distance")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(SEED)

    a = mixture(rng, N_A).astype(np.float32)
    b = mixture(rng, N_B)
    b[:, 0] += 0.3 * np.sin(1.5 * b[:, 1])
    b[:, 1] *= 1.2
    b = (b + np.array([0.4, -0.25])).astype(np.float32)
    cases = {
        "gmm": (a, b),
        "ties": ((np.round(a * 4) / 4).astype(np.float32), (np.round(b * 4) / 4).astype(np.float32)),
    }

    lines = [f"seed {SEED}", f"fixed_bandwidth {FIXED_BANDWIDTH!r}"]
    for n in DIR_COUNTS:
        directions(n).astype("<f4").tofile(os.path.join(out, f"dirs_{n}.f32"))
    for name, (x, y) in cases.items():
        x.astype("<f4").tofile(os.path.join(out, f"{name}_a.f32"))
        y.astype("<f4").tofile(os.path.join(out, f"{name}_b.f32"))
        lines += [f"{name}_na {len(x)}", f"{name}_nb {len(y)}"]
        for n in DIR_COUNTS:
            mean, per_dir = sliced_w1(x, y, directions(n))
            lines.append(f"{name}_sw1_{n} {mean!r}")
            lines += [f"{name}_w1_{n}_{k} {v!r}" for k, v in enumerate(per_dir)]
        for mp in MAX_POINTS:
            lines.append(f"{name}_median_{mp} {median_distance(x, y, mp)!r}")
        h_med = median_distance(x, y, MAX_POINTS[-1])
        for tag, h in (("median", h_med), ("fixed", FIXED_BANDWIDTH)):
            lines.append(f"{name}_mmd2_biased_{tag} {mmd2(x, y, h, False)!r}")
            lines.append(f"{name}_mmd2_unbiased_{tag} {mmd2(x, y, h, True)!r}")

    with open(os.path.join(out, "reference.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
