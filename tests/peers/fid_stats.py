#!/usr/bin/python3
"""tests/peers/fid_stats.py OUTDIR - reference files for core/npy.c and metrics/{fid,kid,prdc,
inception_score}.c, read by tests/test_npy.c and tests/test_fid_stats.c.

Peers: pytorch-fid, clean-fid and torch-fidelity from PyPI, installed with
`pip install --no-deps --target OUTDIR/pydeps pytorch-fid clean-fid torch-fidelity` when missing
(their heavy imports - torchvision, tqdm, requests - are not installed on Debian, so the
functions used here are taken out of the installed source files with `ast` and run on
numpy/scipy/torch alone: pytorch_fid.fid_score.calculate_frechet_distance,
cleanfid.fid.frechet_distance, cleanfid.fid.kernel_distance and
torch_fidelity.metric_isc.isc_features_to_metric, byte for byte as shipped), and numpy's own
RandomState for the permutations torch-fidelity shuffles with. Everything else is a numpy
transcription written from the papers / metrics.md (here, and in metric_transcriptions.py, shared
with inception_ref.py). Fixed seeds throughout.

Writes OUTDIR/fid_stats/:
  npy_*.npy, npz_*.npz   arrays written by numpy (np.save, np.lib.format.write_array with
                         versions 2.0/3.0, big-endian, Fortran order, np.savez,
                         np.savez_compressed); element i (C order) of every array is
                         pattern(i) = ((i * 37) % 101 - 50) / 8 cast to the dtype
                         (unsigned: (i * 37) % 256)
  fid_{a,b}.npy          features float32 [2000, 64]
  fid_{a,b}_pt.npz       their statistics as pytorch-fid saves them (mu, sigma float64)
  fid_{a,b}_clean.npz    ... and as clean-fid saves them (mu float32, sigma float64)
  wide_{a,b}.npy         features float32 [1500, 512]
  sing_{a,b}.npy         features float32 [600, 2048]: singular covariances (N < d)
  kid_{gen,ref}.npy      features float32 [700, 32] and [900, 32]
  kid_subsets.txt        "gen|ref S i0 i1 ..." the philox subset indices of the parity case
                         (reference.txt kid_cleanfid_same_subsets: clean-fid's kernel_distance
                         run on exactly these subsets)
  prdc_{real,fake}.npy   features float32 [600, 16] and [500, 16]
  prdc_radii3.f64        squared 3-NN radii of prdc_real, float64 [600]
  is_logits.npy          float32 [1000, 1008];  is_probs.npy: their softmax, float32
                         (reference.txt is_tf_*: torch-fidelity's isc_features_to_metric on
                         them, shuffled as it ships, and on the first 997 rows in 7 splits;
                         is_openai*: OpenAI's evaluator's splits of 300 and 5000 rows)
  perm_SEED_N.npy        int64 numpy.random.RandomState(SEED).permutation(N) (PERMUTATIONS)
  randint_99_{32,40}.npy int64 RandomState(99).randint(0, MAX + 1, 500) for MAX = 1000 and
                         2^40 + 4 (numpy's masked rejection on 32-bit and on 64-bit words)
  reference.txt          "key value" lines, values with repr (17 significant digits)
"""
import ast
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import philox_ref  # noqa: E402  (the independent Philox transcription of tests/peers)
from metric_transcriptions import (inception_score, kynkaanniemi, openai_inception_score,  # noqa: E402
                                   prdc_naeem)

KID_SEED, KID_SUBSETS, KID_SIZE = 7, 10, 200
KID_STAT_SUBSETS = 100


def ensure_peers(outdir):
    target = os.path.join(outdir, "pydeps")
    need = [p for p in ("pytorch_fid/fid_score.py", "cleanfid/fid.py", "torch_fidelity/metric_isc.py")
            if not os.path.exists(os.path.join(target, p))]
    if need:
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target,
               "pytorch-fid", "clean-fid", "torch-fidelity"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("fid_stats.py: cannot install pytorch-fid / clean-fid / torch-fidelity from PyPI (needed as "
                     "FID/KID/IS peers); "
                     "is PyPI reachable? command: %s\n%s" % (" ".join(cmd), r.stderr[-2000:]))
    return target


def extract_function(path, name):
    """The function `name` from a source file, compiled alone with numpy, scipy.linalg, torch
    and the file's module-level constants (NAME = literal) in scope."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    constants = [n for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            import torch
            from scipy import linalg
            ns = {"np": np, "linalg": linalg, "torch": torch}
            exec(compile(ast.Module(body=constants + [node], type_ignores=[]), path, "exec"), ns)
            return ns[name]
    sys.exit("fid_stats.py: %s not found in %s" % (name, path))


def kid_on_subsets(kernel_distance, feats_ref, feats_gen, subsets):
    """clean-fid's kernel_distance(feats_ref, feats_gen) with its random subsets replaced by
    `subsets` [(gen indices, ref indices), ...]: the function is re-bound to a numpy whose
    random.choice returns them in the order the function draws."""
    import types
    draws = iter([np.asarray(i) for pair in subsets for i in pair])
    fake_random = types.SimpleNamespace(choice=lambda n, m, replace=False: next(draws))
    fake_np = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    fake_np.random = fake_random
    f = types.FunctionType(kernel_distance.__code__, dict(kernel_distance.__globals__, np=fake_np))
    value = f(feats_ref, feats_gen, num_subsets=len(subsets), max_subset_size=len(subsets[0][0]))
    assert next(draws, None) is None, "kernel_distance drew fewer subsets than given"
    return float(value)


def pattern(n, dtype):
    i = np.arange(n, dtype=np.int64)
    if np.dtype(dtype).kind == "u":
        return ((i * 37) % 256).astype(dtype)
    return (((i * 37) % 101 - 50) / 8).astype(dtype)


def write_npy_fixtures(d):
    def arr(shape, dtype):
        return pattern(int(np.prod(shape)), dtype).reshape(shape)

    np.save(os.path.join(d, "npy_f4.npy"), arr((5, 7), "<f4"))
    np.save(os.path.join(d, "npy_f8.npy"), arr((11,), "<f8"))
    np.save(os.path.join(d, "npy_i4.npy"), arr((2, 3, 4), "<i4"))
    np.save(os.path.join(d, "npy_i8.npy"), arr((6,), "<i8"))
    np.save(os.path.join(d, "npy_u1.npy"), arr((4, 5), "|u1"))
    np.save(os.path.join(d, "npy_scalar.npy"), np.array(pattern(1, "<f8")[0]))
    np.save(os.path.join(d, "npy_empty.npy"), np.zeros((0, 3), "<f4"))
    np.save(os.path.join(d, "npy_be_f8.npy"), arr((3, 4), ">f8"))
    np.save(os.path.join(d, "npy_be_i4.npy"), arr((7,), ">i4"))
    np.save(os.path.join(d, "npy_fortran.npy"), np.asfortranarray(arr((3, 4, 5), "<f4")))
    for ver in ((2, 0), (3, 0)):
        with open(os.path.join(d, "npy_v%d.npy" % ver[0]), "wb") as f:
            np.lib.format.write_array(f, arr((4, 3), "<f8"), version=ver)
    kw = {"mu": arr((9,), "<f4"), "sigma": arr((9, 9), "<f8"), "labels": arr((13,), "<i8")}
    np.savez(os.path.join(d, "npz_stored.npz"), **kw)
    np.savez_compressed(os.path.join(d, "npz_deflated.npz"), **kw)


def features(rng, n, d, shift, scale, mix):
    """Correlated, non-negative-ish features (like pooled ReLU activations), float32."""
    z = rng.standard_normal((n, d))
    a = np.eye(d) + mix * rng.standard_normal((d, d)) / np.sqrt(d)
    return (np.abs(z @ a) * scale + shift).astype(np.float32)


def stats_pytorch_fid(x32):
    act = x32.astype(np.float64)  # pytorch-fid stores activations in a float64 array
    return np.mean(act, axis=0), np.cov(act, rowvar=False)


def stats_clean_fid(x32):
    return np.mean(x32, axis=0), np.cov(x32, rowvar=False)  # mu stays float32


def fid_cholesky_svd(mu1, s1, mu2, s2):
    l1, l2 = np.linalg.cholesky(s1), np.linalg.cholesky(s2)
    tr_sqrt = np.linalg.svd(l1.T @ l2, compute_uv=False).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def kid_indices(seed, subset, which, n, m):
    """Partial Fisher-Yates on the philox stream 'kid/<subset>/<gen|ref>' (metrics/kid.h)."""
    key = philox_ref.stream_key(seed, "kid/%d/%s" % (subset, "ref" if which else "gen"))
    perm = {}
    out = []
    for i in range(m):
        j = i + ((philox_ref.word(key, i) * (n - i)) >> 32)
        vi, vj = perm.get(i, i), perm.get(j, j)
        out.append(vj)
        perm[j] = vi
    return out


def mmd2_unbiased(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    m, d = x.shape
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    return ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.sum() / m ** 2


# (seed, n) of the permutation fixtures: trivial sizes, torch-fidelity's seed, the largest
# seed, and sizes just past a power of two (the rejection mask changes there).
PERMUTATIONS = ((0, 1), (0, 2), (7, 3), (2020, 1000), (2020, 50000), (4294967295, 17), (12345, 65537))


def write_torch_fidelity_is(d, ref, pydeps, logits):
    """torch-fidelity's Inception score as shipped (its RandomState(2020) shuffle included), and
    numpy's permutations for core/mt19937.c."""
    import torch
    isc = extract_function(os.path.join(pydeps, "torch_fidelity/metric_isc.py"), "isc_features_to_metric")
    out = isc(torch.from_numpy(logits))
    ref["is_tf_mean"], ref["is_tf_std"] = out["inception_score_mean"], out["inception_score_std"]
    out = isc(torch.from_numpy(logits[:997]), splits=7)
    ref["is_tf997_mean"], ref["is_tf997_std"] = out["inception_score_mean"], out["inception_score_std"]
    for seed, n in PERMUTATIONS:
        np.save(os.path.join(d, "perm_%d_%d.npy" % (seed, n)), np.random.RandomState(seed).permutation(n).astype("<i8"))
    for name, top in (("32", 1000), ("40", 2**40 + 4)):
        draws = np.random.RandomState(99).randint(0, top + 1, size=500, dtype=np.int64)
        np.save(os.path.join(d, "randint_99_%s.npy" % name), draws.astype("<i8"))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fid_stats.py OUTDIR")
    outdir = sys.argv[1]
    pydeps = ensure_peers(outdir)
    pt_fid = extract_function(os.path.join(pydeps, "pytorch_fid/fid_score.py"), "calculate_frechet_distance")
    clean_fid = extract_function(os.path.join(pydeps, "cleanfid/fid.py"), "frechet_distance")
    clean_kid = extract_function(os.path.join(pydeps, "cleanfid/fid.py"), "kernel_distance")

    d = os.path.join(outdir, "fid_stats")
    os.makedirs(d, exist_ok=True)
    ref = {}
    write_npy_fixtures(d)

    rng = np.random.default_rng(20240611)
    # FID, 64-d: features, statistics files in both layouts, pytorch-fid's and clean-fid's values.
    a = features(rng, 2000, 64, 0.1, 1.0, 0.8)
    b = features(rng, 2000, 64, 0.15, 1.1, 1.0)
    np.save(os.path.join(d, "fid_a.npy"), a)
    np.save(os.path.join(d, "fid_b.npy"), b)
    mu_a, s_a = stats_pytorch_fid(a)
    mu_b, s_b = stats_pytorch_fid(b)
    np.savez_compressed(os.path.join(d, "fid_a_pt.npz"), mu=mu_a, sigma=s_a)
    np.savez_compressed(os.path.join(d, "fid_b_pt.npz"), mu=mu_b, sigma=s_b)
    cmu_a, cs_a = stats_clean_fid(a)
    cmu_b, cs_b = stats_clean_fid(b)
    assert cmu_a.dtype == np.float32 and cs_a.dtype == np.float64
    np.savez_compressed(os.path.join(d, "fid_a_clean.npz"), mu=cmu_a, sigma=cs_a)
    np.savez_compressed(os.path.join(d, "fid_b_clean.npz"), mu=cmu_b, sigma=cs_b)
    ref["fid64_pytorch_fid"] = float(pt_fid(mu_a, s_a, mu_b, s_b))
    ref["fid64_clean_fid"] = float(clean_fid(cmu_a, cs_a, cmu_b, cs_b))
    # An accurate route for both layouts (no matrix square root, all float64): with Cholesky
    # factors S = L L^T, tr sqrt(S1 S2) is the sum of the singular values of L1^T L2.
    ref["fid64_pt_exact"] = fid_cholesky_svd(mu_a, s_a, mu_b, s_b)
    ref["fid64_clean_exact"] = fid_cholesky_svd(cmu_a.astype(np.float64), cs_a, cmu_b.astype(np.float64), cs_b)

    # FID, 512-d, full rank.
    wa = features(rng, 1500, 512, 0.0, 1.0, 0.5)
    wb = features(rng, 1500, 512, 0.05, 0.9, 0.7)
    np.save(os.path.join(d, "wide_a.npy"), wa)
    np.save(os.path.join(d, "wide_b.npy"), wb)
    ref["fid512_pytorch_fid"] = float(pt_fid(*stats_pytorch_fid(wa), *stats_pytorch_fid(wb)))

    # FID, 2048-d from 600 rows: both covariances singular. Independent closed route instead of
    # a 2048-d sqrtm (seconds, and inaccurate on singular products): with centred features
    # Xc, Yc, tr sqrt(S1 S2) = sum of the singular values of Xc Yc^T / (n - 1).
    sa = features(rng, 600, 2048, 0.0, 1.0, 0.3)
    sb = features(rng, 600, 2048, 0.02, 1.05, 0.3)
    np.save(os.path.join(d, "sing_a.npy"), sa)
    np.save(os.path.join(d, "sing_b.npy"), sb)
    xa, xb = sa.astype(np.float64), sb.astype(np.float64)
    ca, cb = xa - xa.mean(0), xb - xb.mean(0)
    tr_sqrt = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() / (len(sa) - 1)
    ref["fid2048_singular"] = float(((xa.mean(0) - xb.mean(0)) ** 2).sum() + (ca * ca).sum() / (len(sa) - 1)
                                    + (cb * cb).sum() / (len(sb) - 1) - 2 * tr_sqrt)

    # KID: the same subsets as the C code (philox), then clean-fid on its own random subsets.
    g = features(rng, 700, 32, 0.0, 1.0, 0.5)
    r = features(rng, 900, 32, 0.1, 1.0, 0.5)
    np.save(os.path.join(d, "kid_gen.npy"), g)
    np.save(os.path.join(d, "kid_ref.npy"), r)
    vals, subsets = [], []
    with open(os.path.join(d, "kid_subsets.txt"), "w") as f:
        for s in range(KID_SUBSETS):
            ig = kid_indices(KID_SEED, s, 0, len(g), KID_SIZE)
            ir = kid_indices(KID_SEED, s, 1, len(r), KID_SIZE)
            subsets.append((ig, ir))
            f.write("gen %d %s\nref %d %s\n" % (s, " ".join(map(str, ig)), s, " ".join(map(str, ir))))
            vals.append(mmd2_unbiased(g[ig], r[ir]))
            ref["kid_subset_%d" % s] = float(vals[-1])
    ref["kid_mean"], ref["kid_std"] = float(np.mean(vals)), float(np.std(vals))
    # clean-fid's own kernel_distance on exactly those subsets: its np.random.choice handed the
    # philox indices in the order it draws them (per subset: x from its second argument, then y
    # from its first), everything else numpy as shipped.
    ref["kid_cleanfid_same_subsets"] = kid_on_subsets(clean_kid, r, g, subsets)
    np.random.seed(12345)  # clean-fid draws with the global numpy generator
    ref["kid_cleanfid_100x200"] = float(clean_kid(r, g, num_subsets=KID_STAT_SUBSETS, max_subset_size=KID_SIZE))

    # Precision / recall / density / coverage.
    real = features(rng, 600, 16, 0.0, 1.0, 0.6)
    fake = features(rng, 500, 16, 0.2, 1.2, 0.6)
    np.save(os.path.join(d, "prdc_real.npy"), real)
    np.save(os.path.join(d, "prdc_fake.npy"), fake)
    rr, p, rc, den, cov = kynkaanniemi(real, fake, 3)
    rr.astype("<f8").tofile(os.path.join(d, "prdc_radii3.f64"))
    ref.update(prdc_k3_precision=float(p), prdc_k3_recall=float(rc), prdc_k3_density=float(den),
               prdc_k3_coverage=float(cov))
    p, rc, den, cov = prdc_naeem(real, fake, 5)
    ref.update(prdc_k5_precision=float(p), prdc_k5_recall=float(rc), prdc_k5_density=float(den),
               prdc_k5_coverage=float(cov))

    # Inception score on 1008-way logits (peaky, 1000 used classes).
    cls = rng.integers(0, 1000, size=1000)
    logits = rng.standard_normal((1000, 1008)) * 2.0
    logits[np.arange(1000), cls] += rng.uniform(2.0, 12.0, size=1000)
    logits = logits.astype(np.float32)
    np.save(os.path.join(d, "is_logits.npy"), logits)
    z = logits.astype(np.float64)
    probs = np.exp(z - z.max(1, keepdims=True))
    np.save(os.path.join(d, "is_probs.npy"), (probs / probs.sum(1, keepdims=True)).astype(np.float32))
    ref["is_mean"], ref["is_std"] = inception_score(logits, 10)
    for size in (300, 5000):  # splits of 300, 300, 300, 100; one split of all 1000
        ref["is_openai%d_mean" % size], ref["is_openai%d_std" % size] = openai_inception_score(logits, size)
    write_torch_fidelity_is(d, ref, pydeps, logits)

    path = os.path.join(d, "reference.txt")
    with open(path + ".tmp", "w") as f:
        for k, v in ref.items():
            f.write("%s %r\n" % (k, v))
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
