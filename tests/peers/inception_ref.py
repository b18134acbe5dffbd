#!/usr/bin/python3
"""tests/peers/inception_ref.py OUTDIR - reference files for metrics/torch_weights.c,
models/inception_v3.c and metrics/fid_protocol.c, read by tests/test_torch_weights.c and
tests/test_inception.c.

Peers (installed from PyPI with `pip install --no-deps --target` when missing):
  - pytorch-fid and clean-fid into OUTDIR/pydeps (the folder tests/peers/fid_stats.py uses
    too; whatever is already there is kept);
  - into OUTDIR/pydeps-inception: torchvision 0.2.2.post3 (the last pure-Python wheel; only
    its models/inception.py is loaded, as the `torchvision` that pytorch-fid subclasses: Debian
    ships no torchvision for its torch 1.13) and torch-fidelity (its TF1 bilinear resize).
The network is pytorch-fid's own fid_inception_v3() and InceptionV3([3], resize_input=True,
normalize_input=True) wrapper, run as shipped; only the weights download is replaced by RANDOM
weights in exactly the real state-dict layout (torch seed 20240607): He-scaled convolutions,
BatchNorm gamma/beta random, running statistics set from a train-mode pass over random images
and then perturbed (so the folded BN is non-trivial and activations stay O(1) through all 94
layers), a random 1008-way fc.

Writes OUTDIR/inception/:
  weights_legacy.pth   torch.save(sd, _use_new_zipfile_serialization=False), without the
                       bn.num_batches_tracked keys (the real 2019 file may lack them)
  weights_zip.pth      torch.save(sd) (zip), with num_batches_tracked
  small_legacy.pth, small_zip.pth   {'c': 3x4 contiguous, 't': its transpose (strides 1,4),
                       's': x[1:, ::2] of a 4x6 (offset 6, strides 6,2), 'l': int64 [2],
                       'd': float64 [3], 'e': float32 [0, 5]} sharing storages as torch does;
                       small_values.f32 = c, t, s in C order (12 + 12 + 9 floats)
  partial.pth          only Conv2d_1a_3x3.* (the loader must name Conv2d_2a_3x3.conv.weight)
  badshape.pth         Conv2d_1a_3x3.* with conv.weight reshaped to [32, 3, 1, 9]
  images/a.png, images/b.jpg   two 37x45 RGB images (the folder for `genbench fid DIR`)
  resize/c.png         a 310x320 (h x w) greyscale PNG (downscaling; grey -> RGB)
  resize/d.png         a 768x1024 RGB PNG (a large downscale: where float and double resize
                       weights part, see tests/tolerances.md)
  png_modes/NAME.png, NAME.rgb   small PNGs of every colour type / depth / transparency
                       combination a folder may hold (PNG_MODES below) and Pillow's
                       Image.open(p).convert("RGB") of each as raw uint8 [h, w, 3]
  tree/, tree_{clean,pytorch-fid,legacy-tf}.txt   a folder tree (FOLDER_TREE) and the files
                       each protocol's peer reads from it, in its order: clean-fid's recursive
                       glob over its EXTENSIONS, pytorch-fid's pathlib glob over its
                       IMAGE_EXTENSIONS, torch-fidelity's glob_samples_paths (defaults)
  tree.zip, tree_zip.txt   the tree as a zip (plus ZIP_EXTRA) and the members clean-fid reads
                       from a .zip, sorted
  x01.f32              images a, b as pytorch-fid feeds them: [2, 3, 37, 45] in [0, 1]
  pt_input.f32         F.interpolate(x01, 299, bilinear, align_corners=False) * 2 - 1 [2, 3, 299, 299]
  pt_pool.f32          InceptionV3([3]) pool3 features [2, 2048]
  pt_pool{64,192,768}.f32   InceptionV3([0, 1, 2]) outputs, globally averaged as pytorch-fid's
                       get_activations does for --dims 64 / 192 / 768 [2, dims]
  pt_logits.f32        fid_inception_v3().fc(pool3) [2, 1008]
  pt_spatial.f32       sFID's features of the same run (spatial_features below) [2, 2023]
  {pt,clean,tf}_in_{a,c}.f32   network inputs [3, 299, 299] of images a and c under the three
                       protocols: pytorch-fid (above); clean (clean-fid make_resizer("PIL",
                       False, "bicubic", (299, 299)) on the uint8 image, then (x - 128) / 128);
                       legacy-tf (torch-fidelity's interpolate_bilinear_2d_like_tensorflow1x
                       of the float [0, 255] image, then (x - 128) / 128)
"""
import importlib.util
import io
import os
import subprocess
import sys
import types

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metric_transcriptions import kynkaanniemi, openai_inception_score, sqdist  # noqa: E402  (beside this script)

SEED = 20240607


def pip_install(target, packages, marker):
    if os.path.exists(os.path.join(target, marker)):
        return
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target] + packages
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 and not os.path.exists(os.path.join(target, marker)):
        sys.exit("inception_ref.py: cannot install %s from PyPI; is PyPI reachable? command: %s\n%s"
                 % (" ".join(packages), " ".join(cmd), r.stderr[-2000:]))


def load_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def import_peers(outdir):
    shared = os.path.join(outdir, "pydeps")
    own = os.path.join(outdir, "pydeps-inception")
    pip_install(shared, ["pytorch-fid"], "pytorch_fid/inception.py")
    pip_install(shared, ["clean-fid"], "cleanfid/resize.py")
    pip_install(own, ["torchvision==0.2.2.post3"], "torchvision/models/inception.py")
    pip_install(own, ["torch-fidelity"], "torch_fidelity/interpolate_compat_tensorflow.py")
    # torchvision 0.2.2's package __init__ imports its datasets (Pillow API long gone); its
    # models/inception.py needs torch alone, so it is loaded as the whole `torchvision`.
    tv = types.ModuleType("torchvision")
    tv.__version__ = "0.2.2"
    tv.models = types.ModuleType("torchvision.models")
    tv.models.inception = load_file("torchvision.models.inception", os.path.join(own, "torchvision/models/inception.py"))
    tv.models.inception_v3 = tv.models.inception.inception_v3
    sys.modules["torchvision"] = tv
    # Its constructor draws 24M truncated normals through scipy (4 s per network); every
    # weight is overwritten below, so the draw is answered with zeros.
    import scipy.stats

    class NoDraw:
        def __init__(self, *a, **k):
            pass

        def rvs(self, n):
            return np.zeros(n, np.float32)

    scipy.stats.truncnorm = NoDraw
    sys.modules["torchvision.models"] = tv.models
    sys.path.insert(0, shared)
    from pytorch_fid import inception as pfi
    from cleanfid import resize as cfr
    tfi = load_file("tf1_interp", os.path.join(own, "torch_fidelity/interpolate_compat_tensorflow.py"))
    return pfi, cfr, tfi


def random_state_dict(pfi, torch, x_cal):
    """Random weights in the real layout, with BN statistics calibrated on x_cal (the test
    images: random convolutions on smooth images grow activations by 2-4x per block when the
    statistics come from noise), then perturbed."""
    g = torch.Generator().manual_seed(SEED)
    net = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    with torch.no_grad():
        for name, m in net.named_modules():
            if isinstance(m, torch.nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(0.6 + 0.8 * torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))
                m.reset_running_stats()
                m.momentum = None  # cumulative: one pass sets the running stats to the batch's
        net.fc.weight.copy_(torch.randn(net.fc.weight.shape, generator=g) / 2048 ** 0.5)
        net.fc.bias.copy_(0.1 * torch.randn(net.fc.bias.shape, generator=g))
        # one train-mode pass through the FID network's blocks sets the running statistics
        fid = fid_network(pfi, net.state_dict())
        fid.train()
        for m in fid.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        run_blocks(fid, x_cal)
        sd = fid.state_dict()
        for k in sd:
            if k.endswith("running_mean"):
                std = sd[k.replace("running_mean", "running_var")].sqrt()
                sd[k] += 0.2 * std * torch.randn(sd[k].shape, generator=g)
            elif k.endswith("running_var"):
                sd[k] *= 0.7 + 0.7 * torch.rand(sd[k].shape, generator=g)
    return sd


def fid_network(pfi, sd):
    """pytorch-fid's fid_inception_v3() with its weights download answered by sd."""
    pfi.load_state_dict_from_url = lambda *a, **k: sd
    net = pfi.fid_inception_v3()
    net.eval()
    return net


def run_blocks(net, x):
    """The layers InceptionV3([3]) chains (stem, pools, Mixed_5b..7c, global average)."""
    import torch.nn.functional as F
    for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"):
        x = getattr(net, name)(x)
    x = F.max_pool2d(x, 3, 2)
    x = net.Conv2d_4a_3x3(net.Conv2d_3b_1x1(x))
    x = F.max_pool2d(x, 3, 2)
    for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
                 "Mixed_7a", "Mixed_7b", "Mixed_7c"):
        x = getattr(net, name)(x)
    return x.mean((2, 3))


def spatial_features(wrapper, sd, x01, torch):
    """sFID's features as OpenAI's guided-diffusion evaluator takes them: the TF graph's
    "mixed_6/conv:0" (torch-fidelity's weight conversion maps mixed_6/conv to
    Mixed_6d.branch1x1; BasicConv2d's output is after its ReLU), channels [..., :7] of the NHWC
    map, reshaped to [n, 7 * 17 * 17]. The module is found in pytorch-fid's wrapper by its
    weights, so a wrong block cannot be hooked silently."""
    target = sd["Mixed_6d.branch1x1.conv.weight"]
    hits = [m for m in wrapper.modules()
            if hasattr(m, "conv") and hasattr(m, "bn") and m.conv.weight.shape == target.shape
            and torch.equal(m.conv.weight, target)]
    assert len(hits) == 1, "Mixed_6d.branch1x1 found %d times" % len(hits)
    seen = []
    handle = hits[0].register_forward_hook(lambda mod, inp, out: seen.append(out.detach().clone()))
    with torch.no_grad():
        wrapper(x01)
    handle.remove()
    assert len(seen) == 1 and tuple(seen[0].shape[1:]) == (192, 17, 17), [tuple(t.shape) for t in seen]
    return seen[0][:, :7].permute(0, 2, 3, 1).reshape(seen[0].shape[0], -1).numpy()


def evaluator_batches(rng):
    """Two small batches as np.savez writes OpenAI's: uint8 [n, 24, 20, 3] NHWC, smooth random
    waves plus noise. The sample set holds noisy copies of four reference images and six of a
    pattern of its own, so that its recall is below 1 (measured: precision 1, recall 0.8)."""
    yy, xx = np.mgrid[0:24, 0:20] / 24.0

    def waves():
        f, ph, amp = rng.uniform(2, 12, (3, 2)), rng.uniform(0, 6, 3), rng.uniform(30, 100, 3)
        return np.stack([amp[c] * np.sin(f[c, 0] * xx + f[c, 1] * yy + ph[c]) for c in range(3)], -1) + 128

    def noisy(img, spread):
        return np.clip(img + rng.randint(-spread, spread + 1, img.shape), 0, 255)

    ref = np.stack([noisy(waves(), 8) for _ in range(10)])
    other = waves()
    sample = np.stack([noisy(ref[i], 12) for i in range(4)] + [noisy(other, 12) for _ in range(6)])
    return ref.astype(np.uint8), sample.astype(np.uint8)


def evaluator_frechet(mu1, sigma1, mu2, sigma2):
    """FIDStatistics.frechet_distance of OpenAI's evaluator (TTUR's): scipy sqrtm of the product,
    the eps retry when it is not finite, its refusal of an imaginary diagonal beyond 1e-3 (so the
    fixture is one the evaluator accepts), the real part."""
    from scipy import linalg
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        off = np.eye(sigma1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((sigma1 + off).dot(sigma2 + off))
    if np.iscomplexobj(covmean):
        assert np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3), np.max(np.abs(covmean.imag))
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def evaluator_pr(ref, sample, k=3):
    """ManifoldEstimator's precision and recall in float64 (the evaluator's DistanceBlock rounds
    to float16 when it can; genbench does not): the shared Kynkaanniemi transcription, and the
    smallest relative margin of any comparison, so that a fixture on a float32 knife edge is
    refused here."""
    r_ref, precision, recall, _, _ = kynkaanniemi(ref, sample, k)
    r_sample = np.partition(sqdist(sample, sample), k, axis=1)[:, k]
    d = sqdist(ref, sample)
    margin = min(np.abs(d / r_ref[:, None] - 1).min(), np.abs(d / r_sample[None, :] - 1).min())
    return float(precision), float(recall), float(margin)


def write_evaluator(d, net, tfi, torch):
    """OpenAI guided-diffusion evaluator's numbers on two small batches (inception/evaluator/):
    ref.npz, sample.npz (arr_0 only; 10 images each), ref_stats.npz (arr_0 of ref.npz plus mu, sigma, mu_s,
    sigma_s of its first 5 images' features, float64: a reference batch's stored statistics),
    reference.txt: is, fid, sfid, precision, recall (statistics computed from the features),
    fid_stored, sfid_stored (ref_stats.npz's), margin. Features: the legacy-tf input
    (torch-fidelity's TF1 bilinear resize, (x - 128) / 128) through pytorch-fid's network with a
    hook on Mixed_6d.branch1x1 (sFID's tap), logits = pool3 fc.weight^T without the bias. The
    evaluator's arithmetic is transcribed: float32 mean, np.cov, IS over splits of 5000 rows."""
    out = os.path.join(d, "evaluator")
    os.makedirs(out, exist_ok=True)
    ref_u8, sample_u8 = evaluator_batches(np.random.RandomState(SEED + 1))
    np.savez(os.path.join(out, "ref.npz"), ref_u8)
    np.savez(os.path.join(out, "sample.npz"), sample_u8)

    def acts(u8):
        t255 = torch.from_numpy(u8.astype(np.float32)).permute(0, 3, 1, 2)
        x = (tfi.interpolate_bilinear_2d_like_tensorflow1x(t255, size=(299, 299), align_corners=False) - 128) / 128
        seen = []
        handle = net.Mixed_6d.branch1x1.register_forward_hook(lambda m, i, o: seen.append(o.detach().clone()))
        with torch.no_grad():
            pool = run_blocks(net, x)
            logits = pool @ net.fc.weight.T
        handle.remove()
        spatial = seen[0][:, :7].permute(0, 2, 3, 1).reshape(len(u8), -1)
        return pool.numpy(), spatial.numpy(), logits.numpy()

    ref_pool, ref_spatial, _ = acts(ref_u8)
    sample_pool, sample_spatial, sample_logits = acts(sample_u8)

    def stats(a):
        return np.mean(a, axis=0), np.cov(a, rowvar=False)

    ref_vals = {"is": openai_inception_score(sample_logits, 5000)[0]}
    ref_vals["fid"] = evaluator_frechet(*stats(sample_pool), *stats(ref_pool))
    ref_vals["sfid"] = evaluator_frechet(*stats(sample_spatial), *stats(ref_spatial))
    mu, sigma = stats(ref_pool[:5])
    mu_s, sigma_s = stats(ref_spatial[:5])
    np.savez(os.path.join(out, "ref_stats.npz"), ref_u8, mu=mu.astype(np.float64), sigma=sigma,
             mu_s=mu_s.astype(np.float64), sigma_s=sigma_s)
    ref_vals["fid_stored"] = evaluator_frechet(*stats(sample_pool), mu.astype(np.float64), sigma)
    ref_vals["sfid_stored"] = evaluator_frechet(*stats(sample_spatial), mu_s.astype(np.float64), sigma_s)
    ref_vals["precision"], ref_vals["recall"], ref_vals["margin"] = evaluator_pr(ref_pool, sample_pool)
    assert ref_vals["margin"] > 1e-3, "evaluator fixture: a distance within %.2g of a radius" % ref_vals["margin"]
    assert ref_vals["precision"] != ref_vals["recall"], ref_vals
    with open(os.path.join(out, "reference.txt"), "w") as f:
        for k, v in ref_vals.items():
            f.write("%s %r\n" % (k, v))


def save_f32(path, a):
    np.ascontiguousarray(a, dtype="<f4").tofile(path)


def write_small(d, torch):
    c = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25 - 1
    big = torch.arange(24, dtype=torch.float32).reshape(4, 6) * 0.5 + 3
    sd = {"c": c, "t": c.t(), "s": big[1:, ::2], "l": torch.tensor([7, -9], dtype=torch.int64),
          "d": torch.tensor([0.5, 1.5, -2.0], dtype=torch.float64), "e": torch.zeros((0, 5))}
    assert not sd["t"].is_contiguous() and sd["s"].storage_offset() == 6
    torch.save(sd, os.path.join(d, "small_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(sd, os.path.join(d, "small_zip.pth"))
    save_f32(os.path.join(d, "small_values.f32"),
             np.concatenate([sd[k].contiguous().numpy().ravel() for k in ("c", "t", "s")]))


def write_images(d):
    from PIL import Image
    rng = np.random.RandomState(SEED)
    os.makedirs(os.path.join(d, "images"), exist_ok=True)
    os.makedirs(os.path.join(d, "resize"), exist_ok=True)
    # smooth-ish content (a gradient plus noise) so JPEG and the resizers see realistic images
    yy, xx = np.mgrid[0:37, 0:45]
    a = np.stack([(xx * 5 + yy * 2) % 256, (yy * 6) % 256, 255 - xx * 4], -1) + rng.randint(-30, 30, (37, 45, 3))
    b = rng.randint(0, 256, (37, 45, 3))
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(os.path.join(d, "images/a.png"))
    Image.fromarray(b.astype(np.uint8)).save(os.path.join(d, "images/b.jpg"), quality=90)
    yy, xx = np.mgrid[0:310, 0:320]
    c = (np.sin(xx / 7.0) * 60 + np.cos(yy / 5.0) * 60 + 128 + rng.randint(-20, 20, (310, 320)))
    Image.fromarray(np.clip(c, 0, 255).astype(np.uint8), mode="L").save(os.path.join(d, "resize/c.png"))
    yy, xx = np.mgrid[0:768, 0:1024]
    big = np.stack([np.sin(xx / 11.0) * 70 + yy * 0.1, np.cos(yy / 9.0) * 70 + xx * 0.1, (xx + yy) * 0.12], -1)
    big = big + 80 + rng.randint(-25, 25, (768, 1024, 3))
    Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)).save(os.path.join(d, "resize/d.png"))


def write_png_raw(path, w, h, color_type, depth, pixels):
    """A PNG with the given IHDR colour type and depth from big-endian samples [h, w, c]
    (Pillow cannot write 16-bit colour or 16-bit grey+alpha)."""
    import struct
    import zlib

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    dtype = ">u2" if depth == 16 else "u1"
    raw = b"".join(b"\x00" + pixels[y].astype(dtype).tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# name -> how it is written; every one must decode as Pillow's convert("RGB")
PNG_MODES = ("p_plain", "p_trns", "p4_trns", "l_trns", "rgb_trns", "rgba", "la", "one_bit", "ga16", "rgb16", "rgba16")


def write_png_modes(d):
    from PIL import Image
    rng = np.random.RandomState(SEED + 1)
    out = os.path.join(d, "png_modes")
    os.makedirs(out, exist_ok=True)
    h, w = 6, 9
    rgb = rng.randint(0, 256, (h, w, 3)).astype(np.uint8)
    idx = rng.randint(0, 16, (h, w)).astype(np.uint8)
    palette = rng.randint(0, 256, 16 * 3).astype(np.uint8).tolist()
    alpha = rng.randint(0, 256, (h, w)).astype(np.uint8)
    grey = rng.randint(0, 256, (h, w)).astype(np.uint8)
    for name in PNG_MODES:
        path = os.path.join(out, name + ".png")
        if name.startswith("p"):
            im = Image.fromarray(idx, mode="P")
            im.putpalette(palette)
            kw = {} if name == "p_plain" else {"transparency": 0}
            if name == "p4_trns":
                kw["bits"] = 4
            im.save(path, **kw)
        elif name == "l_trns":
            Image.fromarray(grey, mode="L").save(path, transparency=int(grey[0, 0]))
        elif name == "rgb_trns":
            Image.fromarray(rgb).save(path, transparency=tuple(int(v) for v in rgb[0, 0]))
        elif name == "rgba":
            Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA").save(path)
        elif name == "la":
            Image.fromarray(np.dstack([grey, alpha]), mode="LA").save(path)
        elif name == "one_bit":
            Image.fromarray(grey > 127).save(path)
        else:
            wide = rng.randint(0, 65536, (h, w, 4)).astype(np.uint32)
            channels = {"ga16": (4, [0, 3]), "rgb16": (2, [0, 1, 2]), "rgba16": (6, [0, 1, 2, 3])}[name]
            write_png_raw(path, w, h, channels[0], 16, wide[:, :, channels[1]])
        ref = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
        assert ref.shape == (h, w, 3), (name, ref.shape)
        ref.tofile(os.path.join(out, name + ".rgb"))


def ast_value(path, name):
    """A module-level constant (a literal) or function from a peer's source file, as shipped."""
    import ast
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
        if isinstance(node, ast.FunctionDef) and node.name == name:
            ns = {"os": os, "vassert": lambda c, m: None, "vprint": lambda *a, **k: None}
            exec(compile(ast.Module(body=[node], type_ignores=[]), path, "exec"), ns)
            return ns[name]
    sys.exit("inception_ref.py: %s not found in %s" % (name, path))


# A folder tree that tells the three peers' file listings apart: case of the extension,
# subfolders, hidden files, non-image files, several dots in a name, and names that are all
# extension (".png", "..png": a glob matches them, os.path.splitext finds no extension).
FOLDER_TREE = ("a.png", "B.PNG", "c.Png", "d.jpg", "e.JPEG", "f.jpeg", "g.tar.png", ".hidden.png", "notes.txt",
               "sub/h.png", "sub/I.JPG", "sub/deeper/j.png", "sub/.k.png", ".dot/l.png", "zz/m.jpg", ".png", "..png",
               "sub/.jpg", "n.")


def write_folder_tree(d, outdir):
    """OUTDIR/inception/tree/ and, per protocol, the files its peer reads from it (paths
    relative to the tree, in the peer's order): tree_<protocol>.txt."""
    import glob
    import pathlib
    from PIL import Image
    root = os.path.join(d, "tree")
    for rel in FOLDER_TREE:
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if rel.endswith(".txt"):
            with open(path, "w") as f:
                f.write("not an image\n")
        else:
            Image.fromarray(np.full((2, 3, 3), 7, np.uint8)).save(path, format="PNG")
    shared, own = os.path.join(outdir, "pydeps"), os.path.join(outdir, "pydeps-inception")
    # clean-fid, get_folder_features (fid.py):
    #   sorted([file for ext in EXTENSIONS for file in glob(os.path.join(fdir, f"**/*.{ext}"), recursive=True)])
    ext_clean = ast_value(os.path.join(shared, "cleanfid/utils.py"), "EXTENSIONS")
    clean = sorted([f for ext in ext_clean for f in glob.glob(os.path.join(root, f"**/*.{ext}"), recursive=True)])
    # pytorch-fid, compute_statistics_of_path (fid_score.py):
    #   sorted([file for ext in IMAGE_EXTENSIONS for file in path.glob('*.{}'.format(ext))])
    ext_pt = ast_value(os.path.join(shared, "pytorch_fid/fid_score.py"), "IMAGE_EXTENSIONS")
    pt = sorted([f for ext in ext_pt for f in pathlib.Path(root).glob("*.{}".format(ext))])
    # torch-fidelity (legacy-tf's peer), its defaults: not recursive, png,jpg,jpeg
    glob_samples_paths = ast_value(os.path.join(own, "torch_fidelity/utils.py"), "glob_samples_paths")
    tf = glob_samples_paths(os.path.realpath(root), False, "png,jpg,jpeg", verbose=False)
    for name, files in (("clean", clean), ("pytorch-fid", pt), ("legacy-tf", tf)):
        with open(os.path.join(d, "tree_%s.txt" % name), "w") as f:
            for p in files:
                f.write(os.path.relpath(str(p), os.path.realpath(root) if name == "legacy-tf" else root) + "\n")


# The same tree as a zip archive (clean-fid reads a ".zip" path's members), with directory
# entries, a directory whose name looks like an image and a non-image member.
ZIP_EXTRA = ("sub/", "sub/deeper/", "dir.png/", "dir.png/o.png", "dataset.json")


def write_zip_tree(d, outdir):
    """OUTDIR/inception/tree.zip and tree_zip.txt, the members clean-fid's get_folder_features
    reads from it, sorted (clean-fid keeps a set's order, which Python randomises per process)."""
    import zipfile
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.full((2, 3, 3), 7, np.uint8)).save(buf, format="PNG")
    png = buf.getvalue()
    path = os.path.join(d, "tree.zip")
    with zipfile.ZipFile(path, "w") as z:
        for rel in FOLDER_TREE + ZIP_EXTRA:
            if rel.endswith("/"):
                z.writestr(zipfile.ZipInfo(rel), b"")
            else:
                z.writestr(rel, b"{}" if rel.endswith((".json", ".txt")) else png,
                           zipfile.ZIP_DEFLATED if len(rel) % 2 else zipfile.ZIP_STORED)
    # clean-fid, get_folder_features (fid.py), when ".zip" in fdir:
    #   files = list(set(zipfile.ZipFile(fdir).namelist()))
    #   files = [x for x in files if os.path.splitext(x)[1].lower()[1:] in EXTENSIONS]
    ext_clean = ast_value(os.path.join(outdir, "pydeps", "cleanfid/utils.py"), "EXTENSIONS")
    files = list(set(zipfile.ZipFile(path).namelist()))
    files = [x for x in files if os.path.splitext(x)[1].lower()[1:] in ext_clean]
    with open(os.path.join(d, "tree_zip.txt"), "w") as f:
        for name in sorted(files):
            f.write(name + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: inception_ref.py OUTDIR")
    outdir = sys.argv[1]
    d = os.path.join(outdir, "inception")
    os.makedirs(d, exist_ok=True)
    pfi, cfr, tfi = import_peers(outdir)
    import torch
    import torch.nn.functional as F
    from PIL import Image
    torch.manual_seed(SEED)

    write_small(d, torch)
    write_images(d)
    write_png_modes(d)
    write_folder_tree(d, outdir)
    write_zip_tree(d, outdir)

    def rgb(path):
        return np.asarray(Image.open(path).convert("RGB"))

    imgs = [rgb(os.path.join(d, "images", n)) for n in ("a.png", "b.jpg")]
    # pytorch-fid: ToTensor (u8 / 255) -> InceptionV3(resize_input, normalize_input)
    x01 = torch.stack([torch.from_numpy(i.copy()).permute(2, 0, 1).float().div(255) for i in imgs])
    save_f32(os.path.join(d, "x01.f32"), x01.numpy())
    pt_input = 2 * F.interpolate(x01, size=(299, 299), mode="bilinear", align_corners=False) - 1
    save_f32(os.path.join(d, "pt_input.f32"), pt_input.numpy())
    sd = random_state_dict(pfi, torch, pt_input)
    fid = fid_network(pfi, sd)  # also makes the wrapper below load sd
    torch.save(sd, os.path.join(d, "weights_zip.pth"))
    legacy = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    torch.save(legacy, os.path.join(d, "weights_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({k: v for k, v in legacy.items() if k.startswith("Conv2d_1a_3x3.")}, os.path.join(d, "partial.pth"))
    bad = {k: v for k, v in legacy.items() if k.startswith("Conv2d_1a_3x3.")}
    bad["Conv2d_1a_3x3.conv.weight"] = bad["Conv2d_1a_3x3.conv.weight"].reshape(32, 3, 1, 9)
    torch.save(bad, os.path.join(d, "badshape.pth"))
    wrapper = pfi.InceptionV3([3], resize_input=True, normalize_input=True)
    wrapper.eval()
    with torch.no_grad():
        pool = wrapper(x01)[0].reshape(2, 2048)
        logits = fid.fc(pool)
    save_f32(os.path.join(d, "pt_pool.f32"), pool.numpy())
    save_f32(os.path.join(d, "pt_logits.f32"), logits.numpy())
    save_f32(os.path.join(d, "pt_spatial.f32"), spatial_features(wrapper, sd, x01, torch))
    # --dims 64 / 192 / 768: pytorch-fid's output blocks 0..2, then get_activations' global
    # average (adaptive_avg_pool2d to 1 x 1 when the block's output is not 1 x 1 already)
    early = pfi.InceptionV3([0, 1, 2], resize_input=True, normalize_input=True)
    early.eval()
    with torch.no_grad():
        for block, dims in zip(early(x01), (64, 192, 768)):
            feats = F.adaptive_avg_pool2d(block, output_size=(1, 1)).reshape(2, dims)
            save_f32(os.path.join(d, "pt_pool%d.f32" % dims), feats.numpy())

    write_evaluator(d, fid, tfi, torch)

    clean = cfr.make_resizer("PIL", False, "bicubic", (299, 299))
    for name, path in (("a", "images/a.png"), ("c", "resize/c.png"), ("d", "resize/d.png")):
        u8 = rgb(os.path.join(d, path))
        t01 = torch.from_numpy(u8.copy()).permute(2, 0, 1).float().div(255)[None]
        pt = 2 * F.interpolate(t01, size=(299, 299), mode="bilinear", align_corners=False) - 1
        save_f32(os.path.join(d, "pt_in_%s.f32" % name), pt.numpy())
        cl = (clean(u8).transpose(2, 0, 1) - 128) / 128
        save_f32(os.path.join(d, "clean_in_%s.f32" % name), cl)
        t255 = torch.from_numpy(u8.copy()).permute(2, 0, 1).float()[None]
        tf = tfi.interpolate_bilinear_2d_like_tensorflow1x(t255, size=(299, 299), align_corners=False)
        save_f32(os.path.join(d, "tf_in_%s.f32" % name), ((tf - 128) / 128).numpy())


if __name__ == "__main__":
    main()
