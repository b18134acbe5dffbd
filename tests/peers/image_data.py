"""tests/peers/image_data.py OUTDIR - fixtures for the image loaders, archives and resize.

Writes OUTDIR/image_data/ with small files in exactly the published formats, made with the
real tools (numpy, gzip, tarfile, hashlib, Pillow), plus the values a correct reader must
return. Read by tests/test_archive.c, tests/test_datasets_images.c, tests/test_resize.c.

  archive/   files for md5 (md5.txt from hashlib), gzip (multi-member, truncated, trailing
             garbage, bad CRC) and tar (ustar / GNU / pax archives with a 101-character path,
             members.txt = name size md5), corrupt tars (bad checksum, truncated).
  cifar/     cifar-10-batches-bin/ (3 records per batch) and cifar-10-binary.tar.gz, expected
             pixels/labels, and broken copies (bad_*).
  mnist/     gzipped IDX files, plain/ (ungzipped), expected values, broken copies (bad_*).
  cub/       a CUB_200_2011 tree (ids shuffled between files, a greyscale 'L' JPEG, a path of
             101 characters, JPEGs from Pillow), decoded RGB, Pillow resize to 32x32 (and its
             JPEG-75 round trip), a flat 32x32 folder made the way CMU's resize_dataset.py
             makes it, broken trees (bad_*).
  resize/    cases.txt "name mode filter in_h in_w out_h out_w channels", <name>.in / .out raw
             planes (uint8, or float32 little-endian) from PIL Image.resize.
Deterministic: numpy seed 20240521 and fixed tar mtimes.
"""
import gzip
import hashlib
import io
import os
import shutil
import struct
import sys
import tarfile

import numpy as np
from PIL import Image

rng = np.random.default_rng(20240521)
OUT = os.path.join(sys.argv[1], "image_data")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def smooth_image(h, w, c):
    """Gradients plus noise: resize differences show in both flat and busy areas."""
    y = np.linspace(0, 1, h)[:, None, None]
    x = np.linspace(0, 1, w)[None, :, None]
    phase = rng.uniform(0, 6, size=(1, 1, c))
    base = 127 + 100 * np.sin(3 * x + 2 * y + phase) * np.cos(5 * y - x)
    noise = rng.normal(0, 25, size=(h, w, c))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def tar_bytes(members, fmt, compress):
    """members: list of (name, bytes); directories implied. Fixed mtime for reproducibility."""
    buf = io.BytesIO()
    mode = "w:gz" if compress else "w"
    with tarfile.open(fileobj=buf, mode=mode, format=fmt) as tf:
        dirs = set()
        for name, data in members:
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    ti = tarfile.TarInfo(d)
                    ti.type = tarfile.DIRTYPE
                    ti.mtime = 1000000000
                    ti.mode = 0o755
                    tf.addfile(ti)
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1000000000
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


# ---------------------------------------------------------------- archive
def make_archive():
    d = os.path.join(OUT, "archive")
    lines = []
    for n in [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 1 << 20]:
        data = rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
        name = "md5_%d.bin" % n
        write(os.path.join(d, name), data)
        lines.append("%s %s\n" % (hashlib.md5(data).hexdigest(), name))
    write(os.path.join(d, "md5.txt"), "".join(lines).encode())

    a = rng.integers(0, 256, size=70000, dtype=np.uint8).tobytes()
    b = (b"second member " * 5000)
    write(os.path.join(d, "plain.bin"), a + b)
    two = gz(a) + gz(b)
    write(os.path.join(d, "multi.gz"), two)
    write(os.path.join(d, "multi_padded.gz"), two + b"\0" * 700)
    write(os.path.join(d, "truncated.gz"), two[: len(two) - 30])
    write(os.path.join(d, "garbage.gz"), two + b"JUNK")
    bad_crc = bytearray(gz(a))
    bad_crc[-6] ^= 0xFF  # CRC32 field of the trailer
    write(os.path.join(d, "bad_crc.gz"), bytes(bad_crc))

    long_name = ("CUB_200_2011/images/187.American_Three_toed_Woodpecker/"
                 "American_Three_Toed_Woodpecker_0012_796163.jpg")
    assert len(long_name) == 101
    very_long = "deep/" + "x" * 150 + "/" + "y" * 120 + ".bin"  # beyond ustar's 155+100
    members = [("top.txt", b"hello\n"), (long_name, rng.integers(0, 256, 1537, dtype=np.uint8).tobytes()),
               ("empty.bin", b""), ("block.bin", bytes(range(256)) * 2)]
    listing = [(n, len(data), hashlib.md5(data).hexdigest()) for n, data in members]
    for tag, fmt in [("ustar", tarfile.USTAR_FORMAT), ("gnu", tarfile.GNU_FORMAT),
                     ("pax", tarfile.PAX_FORMAT)]:
        ms = members if tag == "ustar" else members + [(very_long, b"long long\n")]
        write(os.path.join(d, "t_%s.tar" % tag), tar_bytes(ms, fmt, False))
        write(os.path.join(d, "t_%s.tar.gz" % tag), tar_bytes(ms, fmt, True))
        rows = listing if tag == "ustar" else listing + [(very_long, 10, hashlib.md5(b"long long\n").hexdigest())]
        write(os.path.join(d, "t_%s.members" % tag),
              "".join("%s %d %s\n" % r for r in rows).encode())
    plain = tar_bytes(members, tarfile.GNU_FORMAT, False)
    bad = bytearray(plain)
    bad[512 * 2 + 10] ^= 0x01  # name field of the header at byte 1024 (after top.txt's two blocks)
    write(os.path.join(d, "bad_checksum.tar"), bytes(bad))
    write(os.path.join(d, "truncated.tar"), plain[: 512 * 6 + 100])
    # Cut exactly after the last member's data: every member is whole, the end marker is gone.
    end = len(plain.rstrip(b"\0"))
    end = (end + 511) // 512 * 512
    write(os.path.join(d, "no_end.tar"), plain[:end])


# ---------------------------------------------------------------- cifar
def cifar_batch(n):
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    pix = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    rec = np.concatenate([labels[:, None], pix.reshape(n, -1)], axis=1)
    return rec.tobytes(), labels, pix


def make_cifar():
    d = os.path.join(OUT, "cifar")
    names = ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]
    files = {}
    train_l, train_p = [], []
    for name in names:
        raw, labels, pix = cifar_batch(3)
        files[name] = raw
        if name.startswith("data"):
            train_l.append(labels)
            train_p.append(pix)
        else:
            write(os.path.join(d, "test_labels.u8"), labels.tobytes())
            write(os.path.join(d, "test_pixels.u8"), pix.tobytes())
    write(os.path.join(d, "train_labels.u8"), np.concatenate(train_l).tobytes())
    write(os.path.join(d, "train_pixels.u8"), np.concatenate(train_p).tobytes())
    meta = b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n"
    files["batches.meta.txt"] = meta
    files["readme.html"] = b"<meta HTTP-EQUIV=\"REFRESH\" content=\"0; url=http://www.cs.toronto.edu/~kriz/cifar.html\">\n"
    root = "cifar-10-batches-bin"

    def tree(sub, fs):
        for n, data in fs.items():
            write(os.path.join(d, sub, root, n), data)

    tree("", files)
    order = ["batches.meta.txt", "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
             "data_batch_4.bin", "data_batch_5.bin", "readme.html", "test_batch.bin"]
    tgz = tar_bytes([(root + "/" + n, files[n]) for n in order], tarfile.GNU_FORMAT, True)
    write(os.path.join(d, "cifar-10-binary.tar.gz"), tgz)
    write(os.path.join(d, "archive.sha256"), (hashlib.sha256(tgz).hexdigest() + "\n").encode())
    write(os.path.join(d, "archive.md5"), (hashlib.md5(tgz).hexdigest() + "\n").encode())
    write(os.path.join(d, "bad_truncated_tgz.tar.gz"), tgz[: len(tgz) // 2])

    trunc = dict(files)
    trunc["data_batch_3.bin"] = files["data_batch_3.bin"][:-1]
    tree("bad_truncated", trunc)
    label = dict(files)
    raw = bytearray(files["test_batch.bin"])
    raw[3073] = 10  # label of record 1
    label["test_batch.bin"] = bytes(raw)
    tree("bad_label", label)
    missing = dict(files)
    del missing["data_batch_4.bin"]
    tree("bad_missing", missing)
    extra = dict(files)
    extra["data_batch_2.bin"] = files["data_batch_2.bin"] + files["data_batch_2.bin"][:3073]
    tree("bad_count", extra)
    tar_trunc = dict(files)
    tar_trunc["test_batch.bin"] = files["test_batch.bin"][:-5]
    write(os.path.join(d, "bad_member.tar.gz"),
          tar_bytes([(root + "/" + n, tar_trunc[n]) for n in order], tarfile.GNU_FORMAT, True))


# ---------------------------------------------------------------- idx
def idx(magic_type, arr, dims=None):
    dims = arr.shape if dims is None else dims
    head = struct.pack(">BBBB", 0, 0, magic_type, len(dims)) + b"".join(struct.pack(">I", x) for x in dims)
    return head + arr.tobytes()


def make_idx():
    d = os.path.join(OUT, "mnist")
    sets = {}
    for split, n in [("train", 5), ("t10k", 3)]:
        img = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        lab = rng.integers(0, 10, size=n, dtype=np.uint8)
        sets[split] = (img, lab)
        write(os.path.join(d, "%s_pixels.u8" % split), img.tobytes())
        write(os.path.join(d, "%s_labels.u8" % split), lab.tobytes())
        ib, lb = idx(8, img), idx(8, lab)
        write(os.path.join(d, "%s-images-idx3-ubyte.gz" % split), gz(ib))
        write(os.path.join(d, "%s-labels-idx1-ubyte.gz" % split), gz(lb))
        write(os.path.join(d, "plain", "%s-images-idx3-ubyte" % split), ib)
        write(os.path.join(d, "plain", "%s-labels-idx1-ubyte" % split), lb)
    img, lab = sets["t10k"]
    ib, lb = idx(8, img), idx(8, lab)
    b = os.path.join(d, "bad")
    write(os.path.join(b, "magic-images-idx3-ubyte.gz"), gz(b"\x00\x00\x08\x04" + ib[4:]))
    write(os.path.join(b, "le-images-idx3-ubyte"),
          ib[:4] + b"".join(struct.pack("<I", x) for x in img.shape) + img.tobytes())
    write(os.path.join(b, "trailing-images-idx3-ubyte.gz"), gz(ib + b"\0"))
    write(os.path.join(b, "short-images-idx3-ubyte.gz"), gz(ib[:-1]))
    write(os.path.join(b, "header-images-idx3-ubyte"), ib[:10])
    bad_lab = lab.copy()
    bad_lab[1] = 10
    write(os.path.join(b, "range-labels-idx1-ubyte.gz"), gz(idx(8, bad_lab)))
    write(os.path.join(b, "count-labels-idx1-ubyte.gz"), gz(idx(8, lab[:2])))
    write(os.path.join(b, "trunc-images-idx3-ubyte.gz"), gz(ib)[:-12])


# ---------------------------------------------------------------- cub
CUB_CLASSES = ["001.Black_footed_Albatross", "059.California_Gull",
               "187.American_Three_toed_Woodpecker"]
# (class index, file, size (w, h), mode); the 'L' one carries a name CMU's setup deletes.
CUB_IMAGES = [
    (0, "Black_Footed_Albatross_0046_18.jpg", (50, 37), "RGB"),
    (2, "American_Three_Toed_Woodpecker_0012_796163.jpg", (61, 40), "RGB"),
    (1, "Ivory_Gull_0040_49180.jpg", (45, 45), "L"),
    (0, "Black_Footed_Albatross_0009_34.jpg", (33, 70), "RGB"),
    (1, "California_Gull_0001_40786.jpg", (32, 32), "RGB"),
    (2, "American_Three_Toed_Woodpecker_0001_796176.jpg", (120, 91), "RGB"),
]
CUB_SPLIT = [1, 0, 1, 0, 1, 1]


def jpeg_bytes(img, **kw):
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **kw)
    return buf.getvalue()


def write_cub_tree(root, images, labels_override=None, skip_file=None, extra_lines=""):
    base = os.path.join(root, "CUB_200_2011")
    n = len(images)
    ids = list(range(1, n + 1))
    shuffled = [ids[i] for i in [3, 0, 5, 1, 4, 2]]
    imgs_txt = "".join("%d %s/%s\n" % (i, CUB_CLASSES[images[i - 1][0]], images[i - 1][1]) for i in ids)
    labels = labels_override or {i: images[i - 1][0] + 1 for i in ids}
    lab_txt = "".join("%d %d\n" % (i, labels[i]) for i in shuffled) + extra_lines
    split_txt = "".join("%d %d\n" % (i, CUB_SPLIT[i - 1]) for i in reversed(ids))
    cls_txt = "".join("%d %s\n" % (k + 1, c) for k, c in enumerate(CUB_CLASSES))
    bbox_txt = "".join("%d 1.0 2.0 %d.0 %d.0\n" % (i, images[i - 1][2][0] - 2, images[i - 1][2][1] - 3) for i in ids)
    write(os.path.join(base, "images.txt"), imgs_txt.encode())
    write(os.path.join(base, "image_class_labels.txt"), lab_txt.encode())
    write(os.path.join(base, "train_test_split.txt"), split_txt.encode())
    write(os.path.join(base, "classes.txt"), cls_txt.encode())
    write(os.path.join(base, "bounding_boxes.txt"), bbox_txt.encode())
    write(os.path.join(root, "attributes.txt"), b"1 has_bill_shape::curved_(up_or_down)\n")
    for k, (cls, name, _, _) in enumerate(images):
        if name == skip_file:
            continue
        write(os.path.join(base, "images", CUB_CLASSES[cls], name), CUB_JPEGS[k])


CUB_JPEGS = []


def make_cub():
    d = os.path.join(OUT, "cub")
    decoded, resized, roundtrip, mode_l = [], [], [], []
    for cls, name, (w, h), mode in CUB_IMAGES:
        arr = smooth_image(h, w, 3 if mode == "RGB" else 1)
        img = Image.fromarray(arr if mode == "RGB" else arr[:, :, 0], mode)
        data = jpeg_bytes(img, quality=90)
        CUB_JPEGS.append(data)
        back = Image.open(io.BytesIO(data))
        back.load()
        assert back.mode == mode
        rgb = np.asarray(back.convert("RGB"))
        decoded.append(rgb.transpose(2, 0, 1).copy())
        # CMU resize_dataset.py: Image.open(p).resize((32, 32), Image.BICUBIC).save(out)
        small = back.resize((32, 32), Image.BICUBIC)
        resized.append(np.asarray(small.convert("RGB")).transpose(2, 0, 1).copy())
        small_jpeg = jpeg_bytes(small)
        write(os.path.join(d, "cub32", name), small_jpeg)
        again = Image.open(io.BytesIO(small_jpeg))
        roundtrip.append(np.asarray(again.convert("RGB")).transpose(2, 0, 1).copy())
        mode_l.append(1 if mode == "L" else 0)
    write_cub_tree(d, CUB_IMAGES)
    # Expected values in images.txt id order (1..n).
    with open(os.path.join(d, "decoded.u8"), "wb") as f:
        for a in decoded:
            f.write(a.tobytes())
    write(os.path.join(d, "decoded_sizes.txt"),
          "".join("%d %d\n" % (a.shape[1], a.shape[2]) for a in decoded).encode())
    write(os.path.join(d, "resized32.u8"), b"".join(a.tobytes() for a in resized))
    write(os.path.join(d, "roundtrip32.u8"), b"".join(a.tobytes() for a in roundtrip))
    # The flat folder sorted by file name, as gb_cub_load_folder32 orders it.
    order = sorted(range(len(CUB_IMAGES)), key=lambda k: CUB_IMAGES[k][1])
    write(os.path.join(d, "cub32_sorted.u8"), b"".join(roundtrip[k].tobytes() for k in order))
    write(os.path.join(d, "labels.txt"),
          "".join("%d %d %d\n" % (c, CUB_SPLIT[k], mode_l[k]) for k, (c, _, _, _) in enumerate(CUB_IMAGES)).encode())

    write_cub_tree(os.path.join(d, "bad_missing"), CUB_IMAGES, skip_file=CUB_IMAGES[4][1])
    write_cub_tree(os.path.join(d, "bad_label"), CUB_IMAGES,
                   labels_override={i: (4 if i == 2 else CUB_IMAGES[i - 1][0] + 1) for i in range(1, 7)})
    write_cub_tree(os.path.join(d, "bad_duplicate"), CUB_IMAGES, extra_lines="3 2\n")
    cmyk = list(CUB_IMAGES)
    write_cub_tree(os.path.join(d, "bad_cmyk"), cmyk)
    cm = Image.fromarray(smooth_image(20, 20, 4), "CMYK")
    write(os.path.join(d, "bad_cmyk", "CUB_200_2011", "images", CUB_CLASSES[cmyk[3][0]], cmyk[3][1]),
          jpeg_bytes(cm))
    write_cub_tree(os.path.join(d, "bad_jpeg"), CUB_IMAGES)
    write(os.path.join(d, "bad_jpeg", "CUB_200_2011", "images", CUB_CLASSES[CUB_IMAGES[0][0]], CUB_IMAGES[0][1]),
          CUB_JPEGS[0][: len(CUB_JPEGS[0]) // 2])


# ---------------------------------------------------------------- resize
RESIZE_CASES = [
    # name, mode, filter, in_h, in_w, out_h, out_w, channels
    ("u8_cub", "L", Image.BICUBIC, 375, 500, 32, 32, 1),
    ("u8_up299", "L", Image.BICUBIC, 32, 32, 299, 299, 1),
    ("u8_odd", "L", Image.BICUBIC, 17, 23, 7, 5, 1),
    ("u8_mixed", "L", Image.BICUBIC, 13, 11, 40, 9, 1),
    ("u8_vonly", "L", Image.BICUBIC, 64, 48, 20, 48, 1),
    ("u8_honly", "L", Image.BICUBIC, 30, 30, 30, 17, 1),
    ("u8_one", "L", Image.BICUBIC, 1, 1, 3, 4, 1),
    ("u8_tiny", "L", Image.BICUBIC, 40, 3, 1, 2, 1),
    ("u8_same", "L", Image.BICUBIC, 9, 7, 9, 7, 1),
    ("u8_bilinear", "L", Image.BILINEAR, 375, 500, 32, 32, 1),
    ("u8_bilinear_up", "L", Image.BILINEAR, 10, 13, 27, 8, 1),
    ("u8_extreme", "L", Image.BICUBIC, 60, 60, 25, 25, 1),
    ("rgb_cub", "RGB", Image.BICUBIC, 91, 120, 32, 32, 3),
    ("f_up299", "F", Image.BICUBIC, 32, 32, 299, 299, 1),
    ("f_cub", "F", Image.BICUBIC, 375, 500, 32, 32, 1),
    ("f_odd", "F", Image.BICUBIC, 7, 9, 13, 4, 1),
    ("f_bilinear", "F", Image.BILINEAR, 33, 20, 12, 50, 1),
    ("f_same", "F", Image.BICUBIC, 5, 6, 5, 6, 1),
]


def make_resize():
    d = os.path.join(OUT, "resize")
    lines = []
    for name, mode, flt, ih, iw, oh, ow, c in RESIZE_CASES:
        if mode == "F":
            # clean-fid's generator output: unquantised, partly outside [0, 255].
            x = (rng.normal(127, 90, size=(ih, iw)) + 40 * np.sin(np.arange(iw) / 3.0)[None, :]).astype(np.float32)
            out = np.asarray(Image.fromarray(x, mode="F").resize((ow, oh), resample=flt), dtype=np.float32)
            write(os.path.join(d, name + ".in"), x.astype("<f4").tobytes())
            write(os.path.join(d, name + ".out"), out.astype("<f4").tobytes())
        elif name == "u8_extreme":
            # Black/white checkerboard: the cubic's negative lobes push sums past 0 and 255.
            x = ((np.indices((ih, iw)).sum(axis=0) % 2) * 255).astype(np.uint8)
            x[:, ::7] = 255
            out = np.asarray(Image.fromarray(x, "L").resize((ow, oh), flt))
            write(os.path.join(d, name + ".in"), x.tobytes())
            write(os.path.join(d, name + ".out"), out.tobytes())
        else:
            x = smooth_image(ih, iw, c)
            img = Image.fromarray(x if c == 3 else x[:, :, 0], mode)
            out = np.asarray(img.resize((ow, oh), flt))
            if c == 3:
                write(os.path.join(d, name + ".in"), x.transpose(2, 0, 1).tobytes())
                write(os.path.join(d, name + ".out"), out.transpose(2, 0, 1).tobytes())
            else:
                write(os.path.join(d, name + ".in"), x[:, :, 0].tobytes())
                write(os.path.join(d, name + ".out"), out.tobytes())
        fname = "bicubic" if flt == Image.BICUBIC else "bilinear"
        lines.append("%s %s %s %d %d %d %d %d\n" % (name, "f32" if mode == "F" else "u8", fname, ih, iw, oh, ow, c))
    write(os.path.join(d, "cases.txt"), "".join(lines).encode())


if __name__ == "__main__":
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    make_archive()
    make_cifar()
    make_idx()
    make_cub()
    make_resize()
    print("image_data: fixtures in", OUT)
