#!/usr/bin/python3
"""tests/peers/metrics_misc.py OUTDIR - references for metrics/ode.c, metrics/zsl.c and
metrics/spectrum.c (tests/test_ode.c, tests/test_zsl_metrics.c, tests/test_spectrum.c).

Every fixture is a raw little-endian float64 file under OUTDIR/metrics_misc/ (integers are
stored as exact float64 values). All inputs are made here from a fixed numpy seed and written
too, so the C tests run on exactly the same numbers.

ODE (scipy.integrate.solve_ivp, method='RK45', scipy's own code path):
  ode_<case>_t.f64       the accepted times sol.t (t0 first)
  ode_<case>_y.f64       the state at the end sol.y[:, -1]
  ode_<case>_counts.f64  [nfev, accepted steps = len(sol.t) - 1, rejected = (nfev-2)/6 - accepted
                         (nfev-1 when the case gives first_step)]
  The cases include a first step so large that its stages overflow (scipy rejects the attempts
  and recovers) and a blow-up where scipy stops with "Required step size is less than spacing
  between numbers" (t and y are then the last accepted ones).
  The right-hand sides are written with Python's math module on scalars (glibc libm, as the C
  side), in the same order of operations as tests/test_ode.c, so both see the same f.

ZSL (direct numpy transcriptions of CIZSL's eval_fakefeat_test / eval_fakefeat_GZSL and
ZSL_GAN's train_GBU.py eval, specs/pipelines.md 1.5 and 2.4; cosine similarity written out as
sklearn does it: rows divided by their norms, then a matrix product):
  zsl_<name>.f64 inputs and outputs, listed in write_zsl below.

Spectrum (numpy.fft.fft2 on the full plane, |F|^2 / (H W), integer-radius bins by bincount):
  spec_<name>.f64, listed in write_spectrum below.

`genbench spectrum A B` (tests/test_cmd_spectrum.c): two image folders written with Pillow,
the same pixels as .npy arrays, and the numpy spectra and distance of both sets:
  spectrum_cmd/, spec_cmd_<name>.f64, listed in write_spectrum_cmd below.
"""
import math
import os
import sys

import numpy as np
from scipy.integrate import solve_ivp

SEED = 20240611


def save(outdir, name, arr):
    np.asarray(arr, dtype='<f8').tofile(os.path.join(outdir, name + '.f64'))


# ---------------------------------------------------------------- ODE ----
DECAY_K = (0.5, 1.0, 2.0, 4.0)
VE_SIGMA, VE_S0 = 25.0, 0.5


def rhs_decay(t, y):
    return np.array([-DECAY_K[i] * y[i] for i in range(4)])


def rhs_osc(t, y):
    return np.array([y[1], -y[0]])


def rhs_vdp(t, y):
    mu = 5.0
    return np.array([y[1], mu * (1.0 - y[0] * y[0]) * y[1] - y[0]])


def rhs_cos(t, y):
    return np.array([math.cos(t) * y[0]])


def rhs_cubic(t, y):
    # y' = -y^3; from first_step = 1000 the stages overflow to inf / nan
    with np.errstate(over='ignore', invalid='ignore'):
        return np.array([-(y[0] * y[0] * y[0])])


def rhs_blowup(t, y):
    # y' = y^2, y(0) = 1: y = 1 / (1 - t), singular at t = 1
    return np.array([y[0] * y[0]])


def rhs_ve(t, y):
    # dx/dt = 1/2 g(t)^2 x / (s0^2 + sigma_t^2): the exact VE probability-flow drift of N(0, s0^2)
    g2 = math.pow(VE_SIGMA, 2.0 * t)
    var = VE_S0 * VE_S0 + (g2 - 1.0) / (2.0 * math.log(VE_SIGMA))
    return np.array([0.5 * g2 * y[i] / var for i in range(len(y))])


ODE_CASES = [
    # name, rhs, t0, t1, y0, rtol, atol, first_step (None: scipy's choice), scipy succeeds
    ('decay', rhs_decay, 0.0, 5.0, [1.0, -2.0, 0.5, 3.0], 1e-5, 1e-5, None, True),
    ('decay_back', rhs_decay, 5.0, 0.0, [1.0, 1.0, 1.0, 1.0], 1e-6, 1e-9, None, True),
    ('osc', rhs_osc, 0.0, 10.0, [1.0, 0.0], 1e-3, 1e-6, None, True),
    ('vdp', rhs_vdp, 0.0, 10.0, [2.0, 0.0], 1e-5, 1e-8, None, True),
    ('cos', rhs_cos, 0.0, 8.0, [1.0], 1e-8, 1e-10, None, True),
    ('ve', rhs_ve, 1e-5, 1.0, [0.3, -1.2, 2.0], 1e-5, 1e-5, None, True),
    ('cubic_overflow', rhs_cubic, 0.0, 2000.0, [1.0], 1e-3, 1e-6, 1000.0, True),
    ('blowup', rhs_blowup, 0.0, 2.0, [1.0], 1e-3, 1e-6, None, False),
]


def write_ode(outdir):
    for name, rhs, t0, t1, y0, rtol, atol, first_step, succeeds in ODE_CASES:
        with np.errstate(over='ignore', invalid='ignore'):  # cubic_overflow's rejected stages
            sol = solve_ivp(rhs, (t0, t1), np.array(y0, dtype=np.float64), method='RK45',
                            rtol=rtol, atol=atol, first_step=first_step)
        assert sol.success == succeeds, (name, sol.message)
        assert succeeds or 'step size is less than spacing' in sol.message, (name, sol.message)
        acc = len(sol.t) - 1
        start = 2 if first_step is None else 1  # f(t0, y0), and select_initial_step's f
        assert (sol.nfev - start) % 6 == 0, (name, sol.nfev)
        rej = (sol.nfev - start) // 6 - acc
        save(outdir, 'ode_%s_t' % name, sol.t)
        save(outdir, 'ode_%s_y' % name, sol.y[:, -1])
        save(outdir, 'ode_%s_counts' % name, [sol.nfev, acc, rej])


# ---------------------------------------------------------------- ZSL ----
ZSL_DIM, ZSL_K, ZSL_PER = 16, 20, 60
N_SEEN, N_UNSEEN = 6, 5


def f32(x):
    """Values exactly representable in float32, kept as float64 (what the C side reads)."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def cosine(a, b):
    """sklearn.metrics.pairwise.cosine_similarity: normalize rows (zero norm -> 1), dot."""
    def normalize(x):
        n = np.sqrt(np.einsum('ij,ij->i', x, x))
        n[n == 0] = 1.0
        return x / n[:, None]
    return normalize(a) @ normalize(b).T


def knn_vote(sim, per, k):
    """CIZSL eval_fakefeat_test / train_GBU.py: argsort(-sim), top k, idx // per, np.unique vote."""
    idx_mat = np.argsort(-1 * sim, axis=1)
    label_mat = (idx_mat[:, 0:k] / per).astype(int)
    preds = np.zeros(label_mat.shape[0])
    for i in range(label_mat.shape[0]):
        values, counts = np.unique(label_mat[i], return_counts=True)
        preds[i] = values[np.argmax(counts)]
    return preds


def mca(preds, labels):
    """train_GBU.py's per-class mean over range(max label + 1)."""
    acc = np.zeros(labels.max() + 1)
    for i in range(labels.max() + 1):
        acc[i] = (preds[labels == i] == i).mean()
    return acc.mean() * 100


def class_data(rng, centers, n, noise):
    labels = rng.integers(0, len(centers), size=n)
    return f32(centers[labels] + noise * rng.standard_normal((n, centers.shape[1]))), labels


def gen_rows(rng, centers, per, noise, shift):
    rows = np.repeat(centers + shift, per, axis=0)
    return f32(rows + noise * rng.standard_normal(rows.shape))


def write_zsl(outdir):
    rng = np.random.default_rng(SEED)
    centers = rng.standard_normal((N_SEEN + N_UNSEEN, ZSL_DIM))
    seen_c, unseen_c = centers[:N_SEEN], centers[N_SEEN:]
    # Generated features: the class centre, slightly off, plus noise (a imperfect generator).
    gen_seen = gen_rows(rng, seen_c, ZSL_PER, 1.2, 0.6 * rng.standard_normal(seen_c.shape))
    gen_unseen = gen_rows(rng, unseen_c, ZSL_PER, 1.2, 0.6 * rng.standard_normal(unseen_c.shape))
    train_seen, lab_train = class_data(rng, seen_c, 150, 1.8)
    test_seen, lab_test_seen = class_data(rng, seen_c, 140, 1.8)
    test_unseen, lab_test_unseen = class_data(rng, unseen_c, 130, 1.8)
    for name, arr in [('gen_seen', gen_seen), ('gen_unseen', gen_unseen), ('train_seen', train_seen),
                      ('lab_train', lab_train), ('test_seen', test_seen),
                      ('lab_test_seen', lab_test_seen), ('test_unseen', test_unseen),
                      ('lab_test_unseen', lab_test_unseen)]:
        save(outdir, 'zsl_' + name, arr)

    # Text ZSL top-1 (per sample) on the unseen classes.
    sim = cosine(test_unseen, gen_unseen)
    preds = knn_vote(sim, ZSL_PER, ZSL_K)
    save(outdir, 'zsl_text_preds', preds)
    save(outdir, 'zsl_text_top1', [(preds == lab_test_unseen).mean() * 100])
    save(outdir, 'zsl_cosine', sim[:7, :50])

    # Text GZSL AUC (eval_fakefeat_GZSL): prototypes of [seen ; unseen], 400 lambdas.
    gen_feat = np.vstack((gen_seen, gen_unseen))
    pivots = np.vstack([gen_feat[i * ZSL_PER:(i + 1) * ZSL_PER].mean(0)
                        for i in range(N_SEEN + N_UNSEEN)])
    seen_sim = cosine(train_seen, pivots)
    unseen_sim = cosine(test_unseen, pivots)
    lambdas = np.arange(-2, 2, 0.01)
    acc_s, acc_u = [], []
    for lam in lambdas:
        tmp = seen_sim.copy()
        tmp[:, N_SEEN:] += lam
        acc_s.append((np.argmax(tmp, axis=1) == lab_train).mean())
        tmp = unseen_sim.copy()
        tmp[:, N_SEEN:] += lam
        acc_u.append((np.argmax(tmp, axis=1) == lab_test_unseen + N_SEEN).mean())
    save(outdir, 'zsl_lambdas', lambdas)
    save(outdir, 'zsl_gzsl_acc_s', acc_s)
    save(outdir, 'zsl_gzsl_acc_u', acc_u)
    save(outdir, 'zsl_gzsl_auc', [np.trapz(y=acc_s, x=acc_u) * 100.0])
    save(outdir, 'zsl_pivots', pivots)
    save(outdir, 'zsl_seen_scores', seen_sim)

    # GBU (train_GBU.py eval_fakefeat_test and eval_fakefeat_test_gzsl).
    t1 = mca(knn_vote(cosine(test_unseen, gen_unseen), ZSL_PER, ZSL_K), lab_test_unseen)
    s = mca(knn_vote(cosine(test_seen, np.vstack((gen_seen, gen_unseen))), ZSL_PER, ZSL_K),
            lab_test_seen)
    u = mca(knn_vote(cosine(test_unseen, np.vstack((gen_unseen, gen_seen))), ZSL_PER, ZSL_K),
            lab_test_unseen)
    save(outdir, 'zsl_gbu', [t1, u, s, 2 * s * u / (s + u)])
    # GBU AUSUC: the text protocol's prototype cosine scores of the test sets, per-class accuracies.
    save(outdir, 'zsl_gbu_ausuc', [ausuc_dense(cosine(test_seen, pivots), cosine(test_unseen, pivots),
                                               lab_test_seen, lab_test_unseen + N_SEEN, 'class')[0]])

    # AUSUC by a dense calibrated-stacking sweep (independent of the C switch-point algorithm):
    # gamma at every midpoint between consecutive distinct switch points and beyond both ends.
    n_cls = N_SEEN + N_UNSEEN
    sc_s = rng.standard_normal((90, n_cls)) + 0.8 * np.eye(n_cls)[lab_test_seen[:90]]
    sc_u = rng.standard_normal((70, n_cls)) + 0.8 * np.eye(n_cls)[lab_test_unseen[:70] + N_SEEN]
    sc_s[:, :N_SEEN] += 0.5  # seen bias, as in real GZSL
    sc_u[:, :N_SEEN] += 0.5
    ls, lu = lab_test_seen[:90], lab_test_unseen[:70] + N_SEEN
    save(outdir, 'zsl_ausuc_scores_s', sc_s)
    save(outdir, 'zsl_ausuc_scores_u', sc_u)
    save(outdir, 'zsl_ausuc_labels_s', ls)
    save(outdir, 'zsl_ausuc_labels_u', lu)
    for avg in ('sample', 'class'):
        save(outdir, 'zsl_ausuc_' + avg, ausuc_dense(sc_s, sc_u, ls, lu, avg))


def ausuc_dense(sc_s, sc_u, ls, lu, avg):
    """[AUSUC * 100, A_S at gamma -> -inf, A_U at gamma -> +inf] by calibrated stacking at every
    midpoint between consecutive distinct switch points and beyond both ends (independent of the
    C switch-point algorithm); columns 0..N_SEEN-1 are the seen classes."""
    n_cls = sc_s.shape[1]
    both = np.vstack((sc_s, sc_u))
    d = np.unique(both[:, :N_SEEN].max(1) - both[:, N_SEEN:].max(1))
    gammas = np.concatenate(([d[0] - 1.0], (d[:-1] + d[1:]) / 2, [d[-1] + 1.0]))
    a_s, a_u = [], []
    for g in gammas:
        ps = np.argmax(sc_s - g * (np.arange(n_cls) < N_SEEN), axis=1)
        pu = np.argmax(sc_u - g * (np.arange(n_cls) < N_SEEN), axis=1)
        if avg == 'sample':
            a_s.append((ps == ls).mean())
            a_u.append((pu == lu).mean())
        else:
            a_s.append(np.mean([(ps[ls == c] == c).mean() for c in np.unique(ls)]))
            a_u.append(np.mean([(pu[lu == c] == c).mean() for c in np.unique(lu)]))
    return [np.trapz(a_s, a_u) * 100, a_s[0], a_u[-1]]


# ----------------------------------------------------------- spectrum ----
def azimuthal(img):
    """Full-plane numpy reference: |fft2|^2 / (H W)^2, bins floor(hypot(fy, fx)) of the signed
    integer frequencies (fftfreq * n), mean power per bin."""
    h, w = img.shape
    p = np.abs(np.fft.fft2(img.astype(np.float64))) ** 2 / float(h * w) ** 2
    fy = np.rint(np.fft.fftfreq(h) * h).astype(np.int64)
    fx = np.rint(np.fft.fftfreq(w) * w).astype(np.int64)
    r2 = fy[:, None] ** 2 + fx[None, :] ** 2
    b = np.floor(np.sqrt(r2.astype(np.float64))).astype(np.int64).ravel()
    return np.bincount(b, weights=p.ravel()) / np.bincount(b)


def set_spectrum(imgs):
    n, c, h, w = imgs.shape
    return np.mean([azimuthal(imgs[i, j]) for i in range(n) for j in range(c)], axis=0)


def log_spectral_distance(a, b, h, w):
    k = (min(h, w) - 1) // 2
    db = 10.0 * np.log10(a[1:k + 1] / b[1:k + 1])
    return np.sqrt(np.mean(db ** 2))


def write_spectrum(outdir):
    rng = np.random.default_rng(SEED + 1)
    rand = f32(rng.random((3, 2, 12, 10)))
    yy, xx = np.meshgrid(np.arange(12), np.arange(10), indexing='ij')
    checker = ((-1.0) ** (yy + xx))
    # Nearest-neighbour 2x upsampling of a 6x5 image plus a weak checkerboard: the
    # up-convolution artefacts the check is meant to see.
    art = np.repeat(np.repeat(rng.random((3, 2, 6, 5)), 2, axis=2), 2, axis=3)
    art = f32(art + 0.05 * checker)
    odd = f32(rng.random((2, 1, 7, 9)))
    for name, imgs in (('rand', rand), ('art', art), ('odd', odd)):
        save(outdir, 'spec_%s_imgs' % name, imgs)
        save(outdir, 'spec_%s' % name, set_spectrum(imgs))
    save(outdir, 'spec_one', azimuthal(rand[1, 0]))
    save(outdir, 'spec_dist', [log_spectral_distance(set_spectrum(rand), set_spectrum(art), 12, 10)])


# ---------------------------------------------------- spectrum command ----
SPEC_CMD_H, SPEC_CMD_W = 20, 24
SPEC_CMD_A = ('00.png', '01.png', '02.jpg', '03.png', '04.png', '05.png')
SPEC_CMD_B = ('00.png', '01.png', '02.png', '03.png', 'sub/04.png')


def rgb_pixels(path):
    """What the C side decodes: Pillow's Image.open(p).convert("RGB"), planar [3, h, w]."""
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert('RGB')).transpose(2, 0, 1).copy()


def write_images(folder, names, imgs):
    """Each planar uint8 image under its name: PNG, or JPEG (quality 90, Pillow's baseline
    4:2:0) for .jpg; a planar image with three equal planes is saved as greyscale 'L'. Returns
    the pixels as decoded, which a JPEG changes."""
    from PIL import Image
    out = []
    for name, img in zip(names, imgs):
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        grey = (img[0] == img[1]).all() and (img[0] == img[2]).all()
        pil = Image.fromarray(img[0]) if grey else Image.fromarray(img.transpose(1, 2, 0))
        pil.save(path, quality=90) if name.endswith('.jpg') else pil.save(path)
        out.append(rgb_pixels(path))
    return np.stack(out)


def write_spectrum_cmd(outdir):
    """Set a (6 images, 20x24): smooth colour gradients plus noise, one saved as JPEG and one
    as greyscale PNG; a hidden 8x8 PNG, which clean-fid's listing skips (were it read, its size
    would fail the command), and a text file that is no image. Set b (5 images, one in a
    subfolder): a 10x12 noise image upsampled 2x by nearest neighbour plus a checkerboard of
    amplitude 12, the up-convolution artefact. Written:
      spectrum_cmd/a/, spectrum_cmd/b/   the folders (sorted as clean-fid lists them)
      spectrum_cmd/a_u8.npy, a_f32.npy   set a as decoded, [6, 3, 20, 24] uint8 and float32
      spectrum_cmd/b_u8.npy, b_f64.npy   set b, [5, 3, 20, 24] uint8 and float64
      spec_cmd_a.f64, spec_cmd_b.f64     set_spectrum of each (all 16 bins)
      spec_cmd_count.f64                 full-plane frequencies per bin
      spec_cmd_dist.f64                  log_spectral_distance(a, b)"""
    import shutil
    root = os.path.join(outdir, 'spectrum_cmd')
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(SEED + 2)
    h, w = SPEC_CMD_H, SPEC_CMD_W
    yy, xx = np.meshgrid(np.arange(h) / h, np.arange(w) / w, indexing='ij')
    a = []
    for i in range(len(SPEC_CMD_A)):
        gy, gx = 120 * rng.random((3, 1, 1)), 80 * rng.random((3, 1, 1))
        img = 40 + gy * yy + gx * xx + 25 * rng.standard_normal((3, h, w))
        if i == 4:
            img = np.repeat(img[:1], 3, axis=0)
        a.append(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    checker = (-1.0) ** (np.arange(h)[:, None] + np.arange(w)[None, :])
    b = []
    for _ in SPEC_CMD_B:
        small = 20 + 200 * rng.random((3, h // 2, w // 2))
        up = np.repeat(np.repeat(small, 2, axis=1), 2, axis=2) + 12 * checker
        b.append(np.clip(np.rint(up), 0, 255).astype(np.uint8))
    a = write_images(os.path.join(root, 'a'), SPEC_CMD_A, a)
    b = write_images(os.path.join(root, 'b'), SPEC_CMD_B, b)
    write_images(os.path.join(root, 'a'), ('.hidden.png',), [np.zeros((3, 8, 8), np.uint8)])
    with open(os.path.join(root, 'a', 'notes.txt'), 'w') as f:
        f.write('not an image\n')
    np.save(os.path.join(root, 'a_u8.npy'), a)
    np.save(os.path.join(root, 'a_f32.npy'), a.astype(np.float32))
    np.save(os.path.join(root, 'b_u8.npy'), b)
    np.save(os.path.join(root, 'b_f64.npy'), b.astype(np.float64))
    sa, sb = set_spectrum(a), set_spectrum(b)
    fy = np.rint(np.fft.fftfreq(h) * h).astype(np.int64)
    fx = np.rint(np.fft.fftfreq(w) * w).astype(np.int64)
    r = np.floor(np.sqrt((fy[:, None] ** 2 + fx[None, :] ** 2).astype(np.float64)))
    save(outdir, 'spec_cmd_a', sa)
    save(outdir, 'spec_cmd_b', sb)
    save(outdir, 'spec_cmd_count', np.bincount(r.astype(np.int64).ravel()))
    save(outdir, 'spec_cmd_dist', [log_spectral_distance(sa, sb, h, w)])


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: metrics_misc.py OUTDIR')
    outdir = os.path.join(sys.argv[1], 'metrics_misc')
    os.makedirs(outdir, exist_ok=True)
    write_ode(outdir)
    write_zsl(outdir)
    write_spectrum(outdir)
    write_spectrum_cmd(outdir)


if __name__ == '__main__':
    main()
