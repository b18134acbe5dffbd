"""tests/peers/metric_transcriptions.py - numpy transcriptions of the sample-based metrics, shared
by the peer scripts that write fixtures for them (fid_stats.py: the metric suites; inception_ref.py:
the OpenAI evaluator's numbers for `genbench evaluate`). Written from the papers and the reference
code's arithmetic, in float64; no genbench code is involved. Imported, not a fixture writer
(tests/run_all.sh runs every peer file; run, this one defines its functions and exits).
"""
import numpy as np


def sqdist(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)


def kynkaanniemi(real, fake, k=3):
    """Transcription of Kynkaanniemi et al.'s ManifoldEstimator: squared distances, radius =
    k-th smallest distance including self (np.partition kth=k), inclusion `<=`."""
    def radii(x):
        return np.partition(sqdist(x, x), k, axis=1)[:, k]
    rr, rf = radii(real), radii(fake)
    d_rf = sqdist(real, fake)
    precision = (d_rf <= rr[:, None]).any(axis=0).mean()
    recall = (d_rf.T <= rf[:, None]).any(axis=0).mean()
    density = (d_rf <= rr[:, None]).sum(axis=0).mean() / k
    coverage = (d_rf <= rr[:, None]).any(axis=1).mean()
    return rr, precision, recall, density, coverage


def prdc_naeem(real, fake, k=5):
    """Transcription of prdc.compute_prdc: Euclidean distances, k-th nearest via
    np.partition(..., k)[:, k] (self included at 0), strict `<` everywhere."""
    def nnd(x):
        return np.partition(np.sqrt(sqdist(x, x)), k, axis=-1)[:, k]
    rr, rf = nnd(real), nnd(fake)
    d = np.sqrt(sqdist(real, fake))
    precision = (d < rr[:, None]).any(axis=0).mean()
    recall = (d < rf[None, :]).any(axis=1).mean()
    density = (1.0 / k) * (d < rr[:, None]).sum(axis=0).mean()
    coverage = (d.min(axis=1) < rr).mean()
    return precision, recall, density, coverage


def inception_score(logits, splits=10):
    """torch-fidelity's isc_features_to_metric without the shuffle, in float64 numpy."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    n = len(p)
    scores = []
    for i in range(splits):
        pc, lc = p[i * n // splits:(i + 1) * n // splits], log_p[i * n // splits:(i + 1) * n // splits]
        py = pc.mean(axis=0, keepdims=True)
        scores.append(np.exp((pc * (lc - np.log(py))).sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def openai_inception_score(logits, split_size):
    """Transcription of OpenAI guided-diffusion's Evaluator.compute_inception_score, in float64:
    softmax rows, consecutive splits of split_size rows (the last holds the rest),
    KL = p (log p - log mean p), the mean over splits of exp(mean KL). (np.std of the split
    scores too; the evaluator prints only the mean.)"""
    z = logits.astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    preds = e / e.sum(axis=1, keepdims=True)
    scores = []
    for i in range(0, len(preds), split_size):
        part = preds[i:i + split_size]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return float(np.mean(scores)), float(np.std(scores))
