#!/usr/bin/python3
"""fuzz/make_corpus.py - write the seed corpora fuzz/corpus/<parser>/ for the libFuzzer targets.

Each format gets a few small valid files written by the real tools (Python's csv, gzip,
tarfile, numpy, Pillow; safetensors by the published layout through json and struct) and a
handful of edge cases (empty, truncated, limits). Every file stays under about 4 KB except
the CIFAR-10 archives, which hold six 3073-byte records. Deterministic: running it again
rewrites the same bytes, except the legacy torch.save files, whose storage keys come from
object ids. Usage: /usr/bin/python3 fuzz/make_corpus.py [OUTDIR] (default
fuzz/corpus). Inputs found by fuzzing are merged in afterwards with `make fuzz-merge`.
"""
import csv
import gzip
import io
import json
import os
import pickle
import struct
import sys
import tarfile
import zlib

import numpy as np
from PIL import Image

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
RNG = np.random.default_rng(20240611)


def put(parser, name, data):
    d = os.path.join(OUT, parser)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data, mtime=0):
    return gzip.compress(data, mtime=mtime)


# ---- csv ----------------------------------------------------------------------
def csv_text(rows, lineterminator="\n"):
    s = io.StringIO()
    w = csv.writer(s, lineterminator=lineterminator)
    w.writerows(rows)
    return s.getvalue().encode()


def corpus_csv():
    put("csv", "simple.csv", csv_text([["step", "loss", "lr"], [0, 2.5, 1e-3], [1, 2.25, 1e-3]]))
    put("csv", "quoted.csv", csv_text([["name", "note"], ["a,b", 'say "hi"'], ["multi\nline", " pad "]]))
    put("csv", "crlf.csv", csv_text([["x", "y"], ["1", "2"], ["3", ""]], "\r\n"))
    put("csv", "comments.csv", b"# written by genbench\n# units: nats\nmetric,value\nfid,12.5\n#after,1\n")
    put("csv", "bom_blank.csv", b"\xef\xbb\xbfa,b\n\n  \n1,2\n \t\r\n3,4")
    put("csv", "one_empty_field.csv", b'h\n""\n""\n')
    put("csv", "nan_inf.csv", b"v,w\nnan,inf\n-inf,1e-320\n1e400,0x1p3\n")
    put("csv", "bad_fields.csv", b"a,b,c\n1,2\n")
    put("csv", "unterminated.csv", b'a,b\n"1,2\n')
    put("csv", "bad_quote.csv", b'a,b\n1"x",2\n')
    put("csv", "dup_header.csv", b"a,b,a\n1,2,3\n")
    put("csv", "empty.csv", b"")
    put("csv", "nul.csv", b"a,b\n1,\x002\n")


# ---- safetensors ----------------------------------------------------------------
DT = {"F32": ("<f4", 4), "F64": ("<f8", 8), "I64": ("<i8", 8), "U8": ("u1", 1), "BOOL": ("u1", 1),
      "F16": ("<f2", 2), "BF16": ("<u2", 2), "I32": ("<i4", 4)}


def safetensors(tensors, metadata=None, pad=True, order=None):
    """tensors: list of (name, dtype, shape, bytes); the layout of huggingface/safetensors."""
    header, buf = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dt, shape, data in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [len(buf), len(buf) + len(data)]}
        buf += data
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + buf


def corpus_safetensors():
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    b = RNG.standard_normal(4).astype("<f8")
    put("safetensors", "two.safetensors", safetensors([("w", "F32", a.shape, a.tobytes()),
                                                       ("b", "F64", b.shape, b.tobytes())]))
    put("safetensors", "meta.safetensors", safetensors([("x", "U8", (3,), b"\x01\x02\x03")],
                                                       {"format": "pt", "note": "h\u00e9llo"}))
    put("safetensors", "scalar_empty.safetensors", safetensors([("s", "I64", (), struct.pack("<q", -7)),
                                                                ("e", "F32", (0, 4), b""),
                                                                ("f", "BF16", (2,), b"\x80\x3f\x00\x40")]))
    put("safetensors", "no_tensors.safetensors", safetensors([]))
    put("safetensors", "unpadded.safetensors", safetensors([("t", "I32", (1, 1, 1), b"\x05\0\0\0")], pad=False))
    put("safetensors", "null_meta.safetensors", struct.pack("<Q", 32) + b'{"__metadata__":null}'.ljust(32))
    good = safetensors([("w", "F32", (2,), b"\0" * 8)])
    put("safetensors", "truncated.safetensors", good[:-3])
    put("safetensors", "huge_header_len.safetensors", struct.pack("<Q", 1 << 62) + b"{}")
    put("safetensors", "hole.safetensors",
        struct.pack("<Q", 64) + b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}'.ljust(64) + b"xx")
    put("safetensors", "unsupported.safetensors",
        struct.pack("<Q", 64) + b'{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}'.ljust(64) + b"x")


# ---- gzip -----------------------------------------------------------------------
def corpus_gzip():
    text = b"".join(b"line %d of the log\n" % i for i in range(60))
    put("gzip", "text.gz", gz(text))
    put("gzip", "empty.gz", gz(b""))
    put("gzip", "two_members.gz", gz(b"first member\n") + gz(b"second member\n"))
    put("gzip", "zero_padded.gz", gz(b"padded") + b"\0" * 37)
    put("gzip", "trailing_garbage.gz", gz(b"data") + b"garbage")
    put("gzip", "truncated.gz", gz(text)[:-9])
    put("gzip", "named.gz", gzip.compress(b"x" * 300, compresslevel=1, mtime=1))
    raw = io.BytesIO()
    with gzip.GzipFile(filename="orig name.txt", mode="wb", fileobj=raw, mtime=5) as f:
        f.write(RNG.integers(0, 4, 200, dtype=np.uint8).tobytes())
    put("gzip", "fname_header.gz", raw.getvalue())
    put("gzip", "plain.txt", b"not compressed at all\n")
    put("gzip", "magic_only.gz", b"\x1f\x8b")


# ---- tar ------------------------------------------------------------------------
def tar_bytes(members, fmt, compress=False):
    """members: list of (name, data or None for a directory, or ('sym', target))."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if data is None:
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif isinstance(data, tuple):
                info.type = tarfile.SYMTYPE
                info.linkname = data[1]
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    b = raw.getvalue().rstrip(b"\0")
    b += b"\0" * (-len(b) % 512) + b"\0" * 1024  # keep the end marker, drop tarfile's record padding
    return gz(b) if compress else b


def corpus_tar():
    long = "d/" + "n" * 120 + ".txt"
    put("tar", "ustar.tar", tar_bytes([("dir", None), ("dir/a.txt", b"hello\n")], tarfile.USTAR_FORMAT))
    put("tar", "ustar_prefix.tar", tar_bytes([("p" * 60 + "/" + "q" * 60 + "/f", b"x")], tarfile.USTAR_FORMAT))
    put("tar", "gnu_longname.tar", tar_bytes([(long, b"long")], tarfile.GNU_FORMAT))
    put("tar", "pax.tar", tar_bytes([(long, b"pax"), ("link", ("sym", "d/x"))], tarfile.PAX_FORMAT))
    put("tar", "gz.tar.gz", tar_bytes([("a", b"1" * 700), ("b", b"")], tarfile.USTAR_FORMAT, compress=True))
    put("tar", "empty_archive.tar", b"\0" * 1024)
    put("tar", "no_end_marker.tar", tar_bytes([("a", b"abc")], tarfile.USTAR_FORMAT)[:1024])
    bad = bytearray(tar_bytes([("a", b"abc")], tarfile.USTAR_FORMAT))
    bad[148:156] = b"0000000\0"
    put("tar", "bad_checksum.tar", bytes(bad))


# ---- cifar10 (archives with one record per batch file) ---------------------------
def cifar_record(label, seed):
    r = np.random.default_rng(seed)
    pixels = (np.arange(3072) // 97 + r.integers(0, 3, 3072)).astype(np.uint8)
    return bytes([label]) + pixels.tobytes()


def corpus_cifar10():
    d = "cifar-10-batches-bin/"
    batches = [(d + "data_batch_%d.bin" % i, cifar_record(i, i)) for i in range(1, 6)]
    test = [(d + "test_batch.bin", cifar_record(7, 9))]
    put("cifar10", "train_test.tar.gz", tar_bytes(batches + test, tarfile.GNU_FORMAT, compress=True))
    put("cifar10", "test_only.tar.gz", tar_bytes([("./" + test[0][0], test[0][1])], tarfile.PAX_FORMAT, True))
    put("cifar10", "bad_label.tar.gz", tar_bytes([(test[0][0], b"\x0c" + test[0][1][1:])], tarfile.USTAR_FORMAT, True))
    put("cifar10", "short_record.tar.gz", tar_bytes([(test[0][0], test[0][1][:-1])], tarfile.USTAR_FORMAT, True))
    put("cifar10", "duplicate.tar.gz", tar_bytes(test + test, tarfile.USTAR_FORMAT, True))


# ---- idx (mode byte, 2-byte length of the first file, then the file(s)) -----------
def idx(arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.tobytes()


def corpus_idx():
    imgs = RNG.integers(0, 256, (3, 5, 4), dtype=np.uint8)
    labs = np.array([0, 9, 4], dtype=np.uint8)
    pair = lambda a, b: bytes([2]) + struct.pack(">H", len(a)) + a + b
    put("idx", "images.idx", bytes([0, 0, 0]) + idx(imgs))
    put("idx", "labels.idx", bytes([1, 0, 0]) + idx(labs))
    put("idx", "images_gz.idx", bytes([0, 0, 0]) + gz(idx(imgs)))
    put("idx", "pair.idx", pair(idx(imgs), idx(labs)))
    put("idx", "pair_gz.idx", pair(gz(idx(imgs)), gz(idx(labs))))
    put("idx", "little_endian_dims.idx", bytes([0, 0, 0]) + bytes([0, 0, 8, 3]) + struct.pack("<3I", 3, 5, 4) +
        imgs.tobytes())
    put("idx", "count_mismatch.idx", pair(idx(imgs), idx(labs[:2])))
    put("idx", "zero_images.idx", pair(idx(np.zeros((0, 28, 28))), idx(np.zeros(0))))
    put("idx", "big_dims.idx", bytes([0, 0, 0]) + bytes([0, 0, 8, 3]) + struct.pack(">3I", 0xFFFFFFFF, 0xFFFF, 2))


# ---- jpeg -------------------------------------------------------------------------
def encoded(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def jpeg(img, **kw):
    return encoded(img, "JPEG", **kw)


def corpus_jpeg():
    rgb = Image.fromarray(RNG.integers(0, 256, (8, 12, 3), dtype=np.uint8), "RGB")
    grad = Image.fromarray(np.add.outer(np.arange(16), np.arange(16)).astype(np.uint8) * 8, "L")
    put("jpeg", "rgb.jpg", jpeg(rgb))
    put("jpeg", "grey.jpg", jpeg(grad))
    put("jpeg", "progressive.jpg", jpeg(rgb, progressive=True, quality=90))
    put("jpeg", "444.jpg", jpeg(rgb, subsampling=0, quality=95))
    put("jpeg", "optimized.jpg", jpeg(grad.convert("RGB").resize((9, 7)), optimize=True))
    put("jpeg", "cmyk.jpg", jpeg(rgb.convert("CMYK")))
    put("jpeg", "truncated.jpg", jpeg(rgb)[:-40])
    put("jpeg", "soi_only.jpg", b"\xff\xd8\xff\xd9")
    bomb = bytearray(jpeg(grad))
    sof = bomb.find(b"\xff\xc0")
    bomb[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)  # refused: more pixels than Pillow accepts
    put("jpeg", "bomb_65500.jpg", bytes(bomb))


# ---- png (gb_image_decode_rgb: Pillow's convert("RGB") rules) ----------------------
def png(img, **kw):
    return encoded(img, "PNG", **kw)


def corpus_png():
    rgb = Image.fromarray(RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8), "RGB")
    put("png", "rgb.png", png(rgb))
    put("png", "grey.png", png(rgb.convert("L")))
    put("png", "grey_1bit.png", png(rgb.convert("1")))
    put("png", "rgba.png", png(rgb.convert("RGBA")))
    put("png", "la.png", png(rgb.convert("LA")))
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=4)
    put("png", "palette_trns.png", png(pal, transparency=0))
    put("png", "rgb16.png", png(Image.fromarray(RNG.integers(0, 65536, (3, 4), dtype=np.uint16).astype(np.int32), "I")))
    put("png", "truncated.png", png(rgb)[:-20])
    bomb = bytearray(png(rgb))
    bomb[16:24] = struct.pack(">II", 20000, 20000)  # refused by its claim, more pixels than Pillow accepts
    bomb[29:33] = struct.pack(">I", zlib.crc32(bytes(bomb[12:29])))
    put("png", "bomb_claim.png", bytes(bomb))


# ---- image_zip (zip archives of images, as dataset_tool.py and clean-fid make them) ---
def corpus_image_zip():
    import zipfile
    a = png(Image.fromarray(RNG.integers(0, 256, (4, 4, 3), dtype=np.uint8), "RGB"))
    b = jpeg(Image.fromarray(RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8), "RGB"))

    def zipped(members):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, data, method in members:
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = method
                z.writestr(info, data)
        return buf.getvalue()

    stored, deflated = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
    put("image_zip", "two.zip", zipped([("a.png", a, stored), ("b.jpg", b, deflated)]))
    put("image_zip", "dataset_tool.zip", zipped([("00000/", b"", stored), ("00000/img00000000.png", a, deflated),
                                                 ("00000/img00000001.png", a, stored),
                                                 ("dataset.json", b'{"labels": null}', deflated)]))
    put("image_zip", "refused.zip", zipped([("x.webp", b"RIFF", stored)]))
    put("image_zip", "no_images.zip", zipped([("notes.txt", b"text", stored)]))
    put("image_zip", "truncated.zip", zipped([("a.png", a, stored)])[:-10])


# ---- cub index (the four index files joined by NUL bytes) ---------------------------
def corpus_cub():
    classes = b"1 001.Black_footed_Albatross\n2 002.Laysan_Albatross\n"
    images = b"1 001.Black_footed_Albatross/a_0001.jpg\n2 002.Laysan_Albatross/b_0002.jpg\n3 001.Black_footed_Albatross/c.jpg\n"
    labels = b"1 1\n3 1\n2 2\n"
    split = b"1 1\n2 0\n3 1\n"
    join = lambda *f: b"\0".join(f)
    put("cub", "ok.idx", join(classes, images, labels, split))
    put("cub", "crlf_blank.idx", join(classes.replace(b"\n", b"\r\n"), b"\n" + images + b"\n\n", labels, split))
    put("cub", "dup_id.idx", join(classes, images, b"1 1\n1 2\n2 2\n3 1\n", split))
    put("cub", "bad_label.idx", join(classes, images, b"1 3\n2 1\n3 1\n", split))
    put("cub", "dotdot.idx", join(classes, b"1 ../../etc/passwd\n", b"1 1\n", b"1 0\n"))
    put("cub", "missing_id.idx", join(classes, images, b"1 1\n2 2\n", split))
    put("cub", "no_space.idx", join(b"1\n", images, labels, split))


# ---- npy / npz ----------------------------------------------------------------------
def npy(arr, **kw):
    b = io.BytesIO()
    np.save(b, arr, **kw)
    return b.getvalue()


def corpus_npy():
    put("npy", "f4.npy", npy(np.arange(6, dtype="<f4").reshape(2, 3)))
    put("npy", "f8_big_endian.npy", npy(np.linspace(0, 1, 5).astype(">f8")))
    put("npy", "fortran.npy", npy(np.asfortranarray(np.arange(12, dtype="<i4").reshape(3, 4))))
    put("npy", "u1_3d.npy", npy(RNG.integers(0, 256, (2, 2, 3), dtype=np.uint8)))
    put("npy", "scalar_i8.npy", npy(np.array(-5, dtype="<i8")))
    put("npy", "empty.npy", npy(np.zeros((0, 3), dtype="<f4")))
    v2 = npy(np.zeros(2, dtype="<f4"))
    h = v2[10:].split(b"\n", 1)[0] + b"\n"
    put("npy", "v2_header.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", len(h)) + h + v2[10 + len(h):])
    put("npy", "py2_long_shape.npy", npy(np.zeros(3, dtype="<f8")).replace(b"(3,)", b"(3L,)"))
    put("npy", "bool.npy", npy(np.array([True, False])))
    put("npy", "structured.npy", npy(np.zeros(2, dtype=[("a", "<f4"), ("b", "u1")])))
    put("npy", "truncated.npy", npy(np.arange(4, dtype="<f8"))[:-5])


def npz(arrays, compressed):
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()


def corpus_npz():
    mu, sigma = np.arange(3, dtype="<f8"), np.eye(3, dtype="<f8")
    put("npz", "stored.npz", npz({"mu": mu, "sigma": sigma}, False))
    put("npz", "deflated.npz", npz({"mu": mu, "sigma": sigma}, True))
    put("npz", "one_u1.npz", npz({"x": np.arange(10, dtype=np.uint8)}, True))
    put("npz", "empty_archive.npz", npz({}, False))
    bad = bytearray(npz({"mu": mu}, False))
    bad[bad.find(b"\x93NUMPY") + 60] ^= 0xFF  # a data byte: the CRC no longer matches
    put("npz", "bad_crc.npz", bytes(bad))


# ---- pickle ---------------------------------------------------------------------------
def corpus_pickle():
    obj = {"a": [1, 2.5, None, True], "b": (b"bytes", "t\u00e9xt"), "big": 2 ** 70, "neg": -3}
    for proto in range(5):
        put("pickle", "dict_p%d.pkl" % proto, pickle.dumps(obj, protocol=proto))
    shared = [1, 2]
    put("pickle", "memo_shared.pkl", pickle.dumps([shared, shared, {"k": shared}], protocol=2))
    put("pickle", "numpy_i64_p2.pkl", pickle.dumps(np.arange(5, dtype=np.int64), protocol=2))
    put("pickle", "numpy_f4_2d_p4.pkl", pickle.dumps(np.ones((2, 3), dtype=np.float32), protocol=4))
    put("pickle", "numpy_fortran_p2.pkl", pickle.dumps(np.asfortranarray(np.eye(2)), protocol=2))
    put("pickle", "two_pickles.pkl", pickle.dumps(1, protocol=2) + pickle.dumps([2, 3], protocol=2))
    put("pickle", "global_reduce.pkl", b"cos\nsystem\n(S'echo'\ntR.")
    put("pickle", "truncated.pkl", pickle.dumps(obj, protocol=2)[:-7])
    put("pickle", "persid.pkl", b"\x80\x02(X\x07\x00\x00\x00storageq\x00ctorch\nFloatStorage\nq\x01X\x01"
                               b"\x00\x00\x000q\x02X\x03\x00\x00\x00cpuq\x03K\x04tq\x04Q.")


# ---- .mat sets (pieces cut by leading big-endian u16 lengths, see fuzz/fuzz_util.h) --------
def mat(compress=False, fmt="5", **variables):
    import scipy.io
    b = io.BytesIO()
    scipy.io.savemat(b, variables, do_compression=compress, format=fmt)
    data = b.getvalue()
    if fmt == "5":  # the 116-byte header text holds the creation date: fix it, for repeatable bytes
        data = b"MATLAB 5.0 MAT-file, written by fuzz/make_corpus.py".ljust(116) + data[116:]
    return data


def pieces(*files):
    return b"".join(struct.pack(">H", len(f)) for f in files[:-1]) + b"".join(files)


def corpus_gbu():
    col = lambda *v: np.array(v, dtype=np.float64).reshape(-1, 1)
    feats = RNG.standard_normal((3, 6))  # dim x N: instance j is column j
    res = dict(features=feats, labels=col(1, 1, 2, 2, 3, 3))
    att = dict(att=np.abs(RNG.standard_normal((2, 3))), trainval_loc=col(1, 3), test_seen_loc=col(2, 4),
               test_unseen_loc=col(5, 6))
    put("gbu", "ok.bin", pieces(mat(**res), mat(**att)))
    put("gbu", "compressed.bin", pieces(mat(True, **res), mat(True, **att)))
    put("gbu", "uint8_storage.bin", pieces(mat(**dict(res, labels=col(1, 1, 2, 2, 3, 3).astype(np.uint8))),
                                           mat(**dict(att, trainval_loc=col(1, 3).astype(np.int32)))))
    put("gbu", "nan_feature.bin", pieces(mat(**dict(res, features=np.full((3, 6), np.nan))), mat(**att)))
    put("gbu", "row_out_of_range.bin", pieces(mat(**res), mat(**dict(att, test_unseen_loc=col(5, 7)))))
    put("gbu", "v4.bin", pieces(mat(fmt="4", **res), mat(**att)))
    put("gbu", "missing_var.bin", pieces(mat(features=feats), mat(**att)))


def corpus_zsl_text():
    import scipy.sparse
    col = lambda *v: np.array(v, dtype=np.float64).reshape(-1, 1)
    pm = np.abs(RNG.standard_normal((3, 4)))
    split = dict(train_cid=col(1, 2), test_cid=col(3))
    ftr, fte = RNG.standard_normal((4, 2)), RNG.standard_normal((2, 2))
    ltr = pickle.dumps(np.array([0, 1, 0, 1], dtype=np.int64), protocol=2)
    lte = pickle.dumps(np.array([0, 0], dtype=np.int64), protocol=2)
    put("zsl_text", "ok.bin", pieces(mat(PredicateMatrix=pm), mat(**split), mat(pfc_feat=ftr), mat(pfc_feat=fte),
                                     ltr, lte))
    put("zsl_text", "sparse_compressed.bin",
        pieces(mat(True, PredicateMatrix=scipy.sparse.csc_matrix(pm)), mat(True, **split), mat(True, pfc_feat=ftr),
               mat(True, pfc_feat=fte), pickle.dumps([0, 1, 1, 0], protocol=2), lte))
    put("zsl_text", "label_out_of_range.bin",
        pieces(mat(PredicateMatrix=pm), mat(**split), mat(pfc_feat=ftr), mat(pfc_feat=fte), ltr,
               pickle.dumps(np.array([0, 1], dtype=np.int64), protocol=2)))
    put("zsl_text", "dim_mismatch.bin", pieces(mat(PredicateMatrix=pm), mat(**split), mat(pfc_feat=ftr),
                                               mat(pfc_feat=np.zeros((2, 3))), ltr, lte))


# ---- PyTorch state dicts (torch.save, zip and legacy containers) ------------------------
def torch_save(obj, legacy):
    import torch
    b = io.BytesIO()
    torch.save(obj, b, _use_new_zipfile_serialization=not legacy)
    return b.getvalue()


def corpus_torch_weights():
    import torch
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    sd = net.state_dict()
    put("torch_weights", "zip.pth", torch_save(sd, False))
    put("torch_weights", "legacy.pth", torch_save(sd, True))
    strided = {"t": torch.arange(6, dtype=torch.float32).reshape(2, 3).t(), "s": torch.tensor(1.5)}
    put("torch_weights", "strided_zip.pth", torch_save(strided, False))
    put("torch_weights", "strided_legacy.pth", torch_save(strided, True))
    put("torch_weights", "f64_i64.pth", torch_save({"d": torch.ones(2, dtype=torch.float64),
                                                     "n": torch.tensor(3)}, False))
    put("torch_weights", "truncated.pth", torch_save(sd, True)[:-10])


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for f in (corpus_csv, corpus_safetensors, corpus_gzip, corpus_tar, corpus_cifar10, corpus_idx,
              corpus_jpeg, corpus_png, corpus_image_zip, corpus_cub, corpus_npy, corpus_npz, corpus_pickle, corpus_gbu, corpus_zsl_text,
              corpus_torch_weights):
        # Seeds only for the targets that exist (formats whose parser has landed).
        if os.path.exists(os.path.join(here, f.__name__[len("corpus_"):] + "_fuzz.c")):
            f()
    for parser in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, parser))
        size = sum(os.path.getsize(os.path.join(OUT, parser, f)) for f in files)
        print("%-12s %3d files %7d bytes" % (parser, len(files), size))
