#!/usr/bin/python3
"""tests/peers/zsl_data.py - fixtures for tests/test_pickle.c and tests/test_datasets_zsl.c,
written with the real tools (CPython's pickle, numpy, scipy.io.savemat, torch.save).

    zsl_data.py OUTDIR      writes everything under OUTDIR/zsl_data/
    zsl_data.py --check gbu DIR | --check text DIR DATASET SPLIT
                            reads files the C writers made the way the upstream loaders do
                            (ZSL_GAN dataset_GBU.py / dataset.py) and prints a JSON summary

pickles/
  index.json              [{file, kind: "object" | "array", ...}] one entry per pickle below
  obj_<case>_p<P>.pkl     Python objects pickled by CPython at protocol P (0..5); expected
                          tree in the index as a canonical string (see canon() below)
  obj_<case>_py2_p<P>.pkl the same objects as Python 2 pickled them: bytes written as
                          Python-2 str (STRING / SHORT_BINSTRING / BINSTRING); CPython reads
                          them back (encoding='bytes') and must get the object
  arr_<case>_p<P>.pkl     numpy arrays pickled by numpy (protocols 0, 2, 4); .raw next to it
                          holds the expected values, C order, little-endian
  arr_<case>_py2_p<P>.pkl numpy arrays as Python 2 + numpy 1.x wrote them, assembled here
                          opcode by opcode and checked with pickle.loads(encoding='latin1')
  pers_p<P>.pkl           persistent ids (BINPERSID at protocol 2, PERSID text at 0)
  torch_legacy.pt         torch.save(..., _use_new_zipfile_serialization=False)
  torch_zip_data.pkl      data.pkl out of a zip-format torch.save
  py2_i64_ref.pkl         the Python-2 cPickle bytes of np.array([0, 1, -2, 300, 2**40]) for
                          a byte comparison with gb_np_pickle_py2_i64
gbu_v5/, gbu_v7/, gbu_hand/   res101.mat + att_splits.mat (xlsa17 field names and layouts):
                          scipy v5, scipy compressed (v7-style), and a hand-assembled v5 file
                          with a double class stored as miUINT8 / miUINT16 data and small
                          data elements (checked with scipy.io.loadmat); expected.json and
                          features.f32 / att.f32 hold the expected loader output
gbu_bad_<what>/           valid MAT files with one semantic error each (see GBU_BAD)
text_cub/, text_nab/      GAZSL/CIZSL layouts (CUB easy+hard, NAB easy, sparse
                          PredicateMatrix); expected_<split>.json and .f32 files
text_bad_<what>/          CUB easy layouts with one semantic error each (see TEXT_BAD)
"""
import hashlib
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import scipy.io as sio
import scipy.sparse as sp


# ---------------------------------------------------------------------------- canonical form
class Pers:
    def __init__(self, pid):
        self.pid = pid


def canon(x):
    """The rendering tests/test_pickle.c produces from the C tree (its canon())."""
    if x is None:
        return "N"
    if x is True:
        return "T"
    if x is False:
        return "F"
    if isinstance(x, int):
        return "i" + hex(x)
    if isinstance(x, float):
        return "f" + struct.pack(">d", x).hex()
    if isinstance(x, str):
        return "s" + x.encode("utf-8", "surrogatepass").hex()
    if isinstance(x, bytes):
        return "b" + x.hex()
    if isinstance(x, tuple):
        return "(" + ",".join(canon(v) for v in x) + ")"
    if isinstance(x, list):
        return "[" + ",".join(canon(v) for v in x) + "]"
    if isinstance(x, dict):
        return "{" + ",".join(canon(k) + ":" + canon(v) for k, v in x.items()) + "}"
    if isinstance(x, Pers):
        return "P" + canon(x.pid)
    raise TypeError(type(x))


class PersUnpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        return Pers(pid)


def load_back(data, encoding="ASCII"):
    return PersUnpickler(io.BytesIO(data), encoding=encoding).load()


# ----------------------------------------------------- Python-2 style pickling of objects
def py2_repr(b):
    """Python 2's repr() of a str (what pickle.py wrote after STRING)."""
    q = '"' if (b"'" in b and b'"' not in b) else "'"
    out = [q]
    for c in b:
        ch = chr(c)
        if ch == q or ch == "\\":
            out.append("\\" + ch)
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif c < 0x20 or c >= 0x7F:
            out.append("\\x%02x" % c)
        else:
            out.append(ch)
    out.append(q)
    return "".join(out).encode("latin1")


class Py2Pickler(pickle._Pickler):
    """CPython's pure-Python pickler with bytes saved the Python-2 way (as str)."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        if self.bin:
            n = len(obj)
            if n < 256:
                self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
            else:
                self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        else:
            self.write(pickle.STRING + py2_repr(obj) + b"\n")
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_dumps(obj, proto):
    f = io.BytesIO()
    Py2Pickler(f, proto).dump(obj)
    return f.getvalue()


# ------------------------------------------------- Python-2 + numpy 1.x ndarray pickles
class Emit:
    """Opcode emitter that tracks memo keys like pickle.py (from 0) or cPickle (from 1)."""

    def __init__(self, proto, memo_start):
        self.proto, self.key, self.out = proto, memo_start, bytearray()
        if proto >= 2:
            self.out += b"\x80" + bytes([proto])

    def op(self, b):
        self.out += b

    def memo(self):
        k = self.key
        self.key += 1
        if self.proto == 0:
            self.out += b"p%d\n" % k
        elif k < 256:
            self.out += b"q" + bytes([k])
        else:
            self.out += b"r" + struct.pack("<I", k)

    def glob(self, mod, name):
        self.out += b"c" + mod + b"\n" + name + b"\n"
        self.memo()

    def int(self, v):
        if self.proto == 0:
            self.out += b"I%d\n" % v
        elif 0 <= v <= 0xFF:
            self.out += b"K" + bytes([v])
        elif 0 <= v <= 0xFFFF:
            self.out += b"M" + struct.pack("<H", v)
        else:
            self.out += b"J" + struct.pack("<i", v)

    def false(self):
        self.out += b"I00\n" if self.proto == 0 else b"\x89"

    def str(self, b):
        if self.proto == 0:
            self.out += b"S" + py2_repr(b) + b"\n"
        elif len(b) < 256:
            self.out += b"U" + bytes([len(b)]) + b
        else:
            self.out += b"T" + struct.pack("<i", len(b)) + b
        self.memo()

    def tuple(self, items):
        """items: callables emitting one element each."""
        if self.proto >= 2 and 1 <= len(items) <= 3:
            for it in items:
                it()
            self.out += bytes([0x84 + len(items)])
        else:
            self.out += b"("
            for it in items:
                it()
            self.out += b"t"
        self.memo()


def py2_numpy_pickle(arr, proto, memo_start):
    """What numpy 1.x under Python 2.7 wrote for pickle.dump(arr, f, proto) (memo_start 0:
    pickle.py, 1: cPickle), for a C- or Fortran-contiguous array."""
    e = Emit(proto, memo_start)
    fortran = arr.flags.f_contiguous and not arr.flags.c_contiguous
    e.glob(b"numpy.core.multiarray", b"_reconstruct")
    e.tuple([lambda: e.glob(b"numpy", b"ndarray"), lambda: e.tuple([lambda: e.int(0)]), lambda: e.str(b"b")])
    e.op(b"R")
    e.memo()
    code = arr.dtype.str  # e.g. '<i8', '|u1'
    e.op(b"(")
    e.int(1)
    e.tuple([(lambda d: (lambda: e.int(d)))(d) for d in arr.shape])

    def dtype():
        e.glob(b"numpy", b"dtype")
        e.tuple([lambda: e.str(code[1:].encode()), lambda: e.int(0), lambda: e.int(1)])
        e.op(b"R")
        e.memo()
        e.op(b"(")
        e.int(3)
        e.str(code[0].encode())
        e.op(b"NNN")
        e.int(-1)
        e.int(-1)
        e.int(0)
        e.op(b"t")
        e.memo()
        e.op(b"b")

    dtype()
    if fortran:
        e.op(b"I01\n" if proto == 0 else b"\x88")
    else:
        e.false()
    e.str(arr.tobytes(order="F" if fortran else "C"))
    e.op(b"t")
    e.memo()
    e.op(b"b.")
    data = bytes(e.out)
    back = pickle.loads(data, encoding="latin1")
    # numpy hands non-native byte orders back in native order: compare kind, size and values
    assert (back.dtype.kind, back.dtype.itemsize, back.shape) == (arr.dtype.kind, arr.dtype.itemsize, arr.shape), code
    assert np.array_equal(back, arr, equal_nan=True), code
    return data


# ------------------------------------------------------------------------------- pickles
OBJECTS = {
    "scalars": [None, True, False, 0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31 - 1, 2**31, 2**63 - 1,
                -2**63, 2**63, 2**64, -2**64 - 1, 2**70 + 12345, -(2**100), 0.0, -0.0, 1.5, 1e300, -2.5e-310,
                float("inf"), float("nan"), "abc", "", "\u00fcn\u00efc\u00f8d\u00e9 \u2713 \U0001F600",
                "line\nbreak\\back\r\x1a\x00 \\u0041", b"\x00\xff\n\\'\"", b"", b"a'b", b'q"q\'q'],
    "nested": {"a": [1, (2, 3), {"b": None}], "c": (), "d": [], "e": {}, 1: "one", (1, 2): "tuple key",
               "t1": (1,), "t2": (1, 2), "t3": (1, 2, 3), "t4": (1, 2, 3, 4), "big": list(range(300))},
    "bytes_long": [bytes(range(256)) * 2, "x" * 300],
}


def shared_case():
    x = [1, 2]
    return {"p": x, "q": x, "r": (x, x), "s": [x, [x]]}


class PersPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Pers):
            return obj.pid
        return None


class PersPickler0(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Pers):
            return "storage:" + obj.pid[2]
        return None


ARRAYS = {
    "i8": np.array([0, 1, -2, 300, 2**40, -(2**62)], dtype=np.int64),
    "i4": np.array([[1, -2, 3], [4, 5, -(2**31)]], dtype=np.int32),
    "u1": np.array([0, 1, 127, 128, 255], dtype=np.uint8),
    "f4": np.array([0.5, -1.25, 3e38, 1e-45, np.inf], dtype=np.float32),
    "f8_fortran": np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4) * 0.1 - 0.3),
    "i4_bigendian": np.array([1, -2, 65536], dtype=">i4"),
    "f8_bigendian": np.array([1.5, -2.25e100], dtype=">f8"),
    "i8_3d": np.arange(24, dtype=np.int64).reshape(2, 3, 4) - 7,
    "i8_empty": np.zeros((0,), dtype=np.int64),
    "f4_scalar": np.array(2.5, dtype=np.float32),
    "labels_long": (np.arange(700, dtype=np.int64) * 7919) % 150,
}


def write_pickles(root):
    d = os.path.join(root, "pickles")
    os.makedirs(d, exist_ok=True)
    index = []

    def put(name, data, entry):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        entry["file"] = name
        index.append(entry)

    cases = dict(OBJECTS)
    cases["shared"] = shared_case()
    for case, obj in cases.items():
        for p in range(6):
            data = pickle.dumps(obj, protocol=p)
            put("obj_%s_p%d.pkl" % (case, p), data, {"kind": "object", "canon": canon(load_back(data))})
        for p in (0, 2):
            data = py2_dumps(obj, p)
            back = load_back(data, encoding="bytes")
            assert canon(back) == canon(obj), case
            put("obj_%s_py2_p%d.pkl" % (case, p), data, {"kind": "object", "canon": canon(back)})
    pid = ("storage", "FloatStorage", "0", "cpu", 4)
    obj = {"w": Pers(pid), "b": [Pers(("storage", "LongStorage", "1", "cuda:0", 2)), 7]}
    for p in (0, 2):
        f = io.BytesIO()
        (PersPickler if p else PersPickler0)(f, protocol=p).dump(obj)
        data = f.getvalue()
        put("pers_p%d.pkl" % p, data, {"kind": "object", "canon": canon(load_back(data))})
    for case, arr in ARRAYS.items():
        raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        base = {"kind": "array", "dtype": {"i8": "int64", "i4": "int32", "u1": "uint8", "f4": "float32",
                                           "f8": "float64"}[arr.dtype.str[1:]],
                "shape": list(arr.shape), "fortran": bool(arr.flags.f_contiguous and not arr.flags.c_contiguous
                                                          and arr.ndim > 1)}
        for p in (0, 2, 4):
            entry = dict(base, raw="arr_%s_p%d.raw" % (case, p))
            with open(os.path.join(d, entry["raw"]), "wb") as f:
                f.write(raw)
            put("arr_%s_p%d.pkl" % (case, p), pickle.dumps(arr, protocol=p), entry)
        for p in (0, 2):
            entry = dict(base, raw="arr_%s_py2_p%d.raw" % (case, p))
            with open(os.path.join(d, entry["raw"]), "wb") as f:
                f.write(raw)
            put("arr_%s_py2_p%d.pkl" % (case, p), py2_numpy_pickle(arr, p, 0 if p == 0 else 1), entry)
    with open(os.path.join(d, "py2_i64_ref.pkl"), "wb") as f:
        f.write(py2_numpy_pickle(np.array([0, 1, -2, 300, 2**40], dtype=np.int64), 2, 1))
    write_torch(d)
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump(index, f, indent=0)


def write_torch(d):
    import torch  # only here: the import costs about a second
    sd = {"w": torch.arange(4, dtype=torch.float32) * 0.5, "n": torch.tensor([3, -4], dtype=torch.int64)}
    torch.save(sd, os.path.join(d, "torch_legacy.pt"), _use_new_zipfile_serialization=False)
    buf = io.BytesIO()
    torch.save(sd, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        name = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        with open(os.path.join(d, "torch_zip_data.pkl"), "wb") as f:
            f.write(z.read(name))


# ----------------------------------------------------------------- hand-written MAT v5
MI = {"int8": 1, "uint8": 2, "int16": 3, "uint16": 4, "int32": 5, "uint32": 6, "single": 7, "double": 9}
MX = {"double": 6, "single": 7, "int32": 12, "uint8": 9}


def mat_element(mi_type, payload):
    n = len(payload)
    if n <= 4:  # small data element: type and size share the first word
        return struct.pack("<HH", mi_type, n) + payload + b"\0" * (4 - n)
    pad = (-n) % 8
    return struct.pack("<II", mi_type, n) + payload + b"\0" * pad


def mat_matrix(name, arr, mx_class, storage):
    """A miMATRIX element of class mx_class whose real part is stored as numpy dtype
    `storage` (MATLAB's trick of storing a double array in a narrower integer type)."""
    flags = struct.pack("<II", MX[mx_class], 0)
    body = mat_element(MI["uint32"], flags)
    body += mat_element(MI["int32"], struct.pack("<%di" % arr.ndim, *arr.shape))
    body += mat_element(MI["int8"], name.encode())
    body += mat_element(MI[storage], np.asarray(arr).astype(storage).tobytes(order="F"))
    return struct.pack("<II", 14, len(body)) + body


def write_hand_mat(path, variables):
    header = b"MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 1970 (genbench fixture)"
    out = header.ljust(116, b" ") + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"
    for name, arr, mx_class, storage in variables:
        out += mat_matrix(name, arr, mx_class, storage)
    with open(path, "wb") as f:
        f.write(out)
    back = sio.loadmat(path)
    for name, arr, mx_class, storage in variables:
        assert np.array_equal(back[name], np.asarray(arr).astype(mx_class)), name


# -------------------------------------------------------------------------------- GBU
def gbu_data(rng, n=40, dim=5, classes=7, att_dim=6, n_unseen=2):
    labels = rng.integers(0, classes, size=n)
    labels[:classes] = np.arange(classes)  # every class present
    rng.shuffle(labels)
    unseen = np.sort(rng.choice(classes, size=n_unseen, replace=False))
    seen = np.setdiff1d(np.arange(classes), unseen)
    feats = rng.normal(size=(n, dim)) * 3.0 + 1.0
    att = rng.random((classes, att_dim))
    att /= np.linalg.norm(att, axis=1, keepdims=True)
    idx_seen = np.flatnonzero(np.isin(labels, seen))
    idx_unseen = np.flatnonzero(np.isin(labels, unseen))
    rng.shuffle(idx_seen)
    rng.shuffle(idx_unseen)
    cut = int(len(idx_seen) * 0.75)
    trainval, test_seen = idx_seen[:cut], idx_seen[cut:]
    # every seen class must appear in trainval (GBU's proposed splits guarantee it)
    for c in seen:
        if not np.any(labels[trainval] == c):
            j = np.flatnonzero(labels[test_seen] == c)[0]
            trainval = np.append(trainval, test_seen[j])
            test_seen = np.delete(test_seen, j)
    return dict(labels=labels, feats=feats, att=att, seen=seen, unseen=unseen, trainval=trainval,
                test_seen=test_seen, test_unseen=idx_unseen)


def combined_sha(d, names):
    """The dataset digest of datasets/zsl_set.h: sha256 over '<name>  <sha256 hex>' lines."""
    lines = ""
    for n in names:
        with open(os.path.join(d, n), "rb") as f:
            lines += "%s  %s\n" % (n, hashlib.sha256(f.read()).hexdigest())
    return hashlib.sha256(lines.encode()).hexdigest()


def cell_of_str(strings):
    c = np.empty((len(strings), 1), dtype=object)
    for i, s in enumerate(strings):
        c[i, 0] = s
    return c


def write_gbu(root, name, g, feat_dtype=np.float64, label_dtype=np.float64, loc_dtype=np.float64,
              compress=False, hand=False, mutate=None):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    n = len(g["labels"])
    res = {"features": g["feats"].T.astype(feat_dtype),  # dim x N: instances are columns
           "labels": (g["labels"] + 1).reshape(-1, 1).astype(label_dtype),
           "image_files": cell_of_str(["images/%03d.x/img_%04d.jpg" % (l + 1, i) for i, l in enumerate(g["labels"])])}
    half = len(g["trainval"]) // 2
    splits = {"att": g["att"].T.copy(),  # att_dim x classes: classes are columns
              "original_att": (g["att"].T * 100.0),
              "trainval_loc": (g["trainval"] + 1).reshape(-1, 1).astype(loc_dtype),
              "train_loc": (g["trainval"][:half] + 1).reshape(-1, 1).astype(loc_dtype),
              "val_loc": (g["trainval"][half:] + 1).reshape(-1, 1).astype(loc_dtype),
              "test_seen_loc": (g["test_seen"] + 1).reshape(-1, 1).astype(loc_dtype),
              "test_unseen_loc": (g["test_unseen"] + 1).reshape(-1, 1).astype(loc_dtype),
              "allclasses_names": cell_of_str(["%03d.class+%d" % (c + 1, c) for c in range(len(g["att"]))])}
    if mutate:
        mutate(res, splits)
    if hand:
        write_hand_mat(os.path.join(d, "res101.mat"), [
            ("features", res["features"], "single", "single"),
            ("labels", res["labels"], "double", "uint8")])
        write_hand_mat(os.path.join(d, "att_splits.mat"), [
            ("att", splits["att"], "double", "double"),
            ("trainval_loc", splits["trainval_loc"], "double", "uint16"),
            ("test_seen_loc", splits["test_seen_loc"], "double", "uint16"),
            ("test_unseen_loc", splits["test_unseen_loc"], "double", "uint8")])
    else:
        sio.savemat(os.path.join(d, "res101.mat"), res, do_compression=compress)
        sio.savemat(os.path.join(d, "att_splits.mat"), splits, do_compression=compress)
    exp = {"n": n, "dim": int(g["feats"].shape[1]), "classes": int(g["att"].shape[0]),
           "att_dim": int(g["att"].shape[1]),
           "labels": [int(v) for v in g["labels"]], "seen": [int(v) for v in g["seen"]],
           "unseen": [int(v) for v in g["unseen"]], "trainval": [int(v) for v in g["trainval"]],
           "test_seen": [int(v) for v in g["test_seen"]], "test_unseen": [int(v) for v in g["test_unseen"]]}
    exp["sha256"] = combined_sha(d, ["att_splits.mat", "res101.mat"])
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(exp, f)
    # what the loader must produce: float32 of the stored values, [n, dim] and [classes, att_dim]
    g["feats"].astype(feat_dtype).astype(np.float32).tofile(os.path.join(d, "features.f32"))
    g["att"].astype(np.float32).tofile(os.path.join(d, "att.f32"))


def gbu_bad(root, g):
    n = len(g["labels"])

    def set_loc(field, pos, value):
        def m(res, splits):
            splits[field] = splits[field].copy()
            splits[field][pos, 0] = value
        return m

    def nan_feature(res, splits):
        res["features"] = res["features"].copy()
        res["features"][2, 7] = np.nan

    def drop(field, which):
        def m(res, splits):
            del (res if which == "res" else splits)[field]
        return m

    def short_labels(res, splits):
        res["labels"] = res["labels"][:-1]

    def narrow_att(res, splits):
        res["labels"] = res["labels"].copy()
        res["labels"][0, 0] = splits["att"].shape[1] + 1  # a class beyond att's columns

    def frac_label(res, splits):
        res["labels"] = res["labels"].copy()
        res["labels"][3, 0] = 2.5

    def matrix_loc(res, splits):
        splits["test_seen_loc"] = np.hstack([splits["test_seen_loc"], splits["test_seen_loc"]])

    def unseen_in_train(res, splits):
        splits["trainval_loc"] = np.vstack([splits["trainval_loc"], splits["test_unseen_loc"][:1]])

    bad = {  # GBU_BAD: directory suffix -> (mutation, text the error message must contain)
        "index_high": (set_loc("test_unseen_loc", 0, n + 1), "test_unseen_loc"),
        "index_zero": (set_loc("trainval_loc", 1, 0), "trainval_loc"),
        "nan": (nan_feature, "features"),
        "missing_loc": (drop("test_seen_loc", "splits"), "test_seen_loc"),
        "missing_att": (drop("att", "splits"), "att"),
        "missing_features": (drop("features", "res"), "features"),
        "short_labels": (short_labels, "labels"),
        "label_beyond_att": (narrow_att, "labels"),
        "frac_label": (frac_label, "labels"),
        "matrix_loc": (matrix_loc, "test_seen_loc"),
        "unseen_in_train": (unseen_in_train, "trainval_loc"),
    }
    listing = {}
    for what, (mut, needle) in bad.items():
        write_gbu(root, "gbu_bad_" + what, g, mutate=mut)
        listing["gbu_bad_" + what] = needle
    with open(os.path.join(root, "gbu_bad.json"), "w") as f:
        json.dump(listing, f)


# ------------------------------------------------------------------------------ text
def text_data(rng, classes, vocab, dim, n_seen, per_class):
    pm = rng.random((classes, vocab))
    pm[pm < 0.7] = 0.0  # sparse-ish tf-idf rows
    perm = rng.permutation(classes)
    train_cid, test_cid = perm[:n_seen] + 1, perm[n_seen:] + 1  # 1-based, in split-file order
    ltr = np.repeat(np.arange(n_seen), per_class)
    lte = np.repeat(np.arange(classes - n_seen), per_class)
    rng.shuffle(ltr)
    rng.shuffle(lte)
    ftr = rng.normal(size=(len(ltr), dim))
    fte = rng.normal(size=(len(lte), dim))
    return dict(pm=pm, train_cid=train_cid, test_cid=test_cid, ltr=ltr, lte=lte, ftr=ftr, fte=fte)


def dump_label_pickle(path, labels, how):
    if how == "np_p2":
        data = pickle.dumps(labels.astype(np.int64), protocol=2)
    elif how == "np_p0":
        data = pickle.dumps(labels.astype(np.int64), protocol=0)
    elif how == "np_p4_i4":
        data = pickle.dumps(labels.astype(np.int32), protocol=4)
    elif how == "py2_p2":
        data = py2_numpy_pickle(labels.astype(np.int64), 2, 1)
    elif how == "py2_p0":
        data = py2_numpy_pickle(labels.astype(np.int64), 0, 0)
    elif how == "list_p2":
        data = pickle.dumps([int(v) for v in labels], protocol=2)
    else:
        data = how  # raw bytes (corrupt variants)
    with open(path, "wb") as f:
        f.write(data)
    if isinstance(how, str):
        assert np.array_equal(np.asarray(pickle.loads(data, encoding="latin1")), labels)


TEXT_FILES = {
    ("cub", "easy"): ("CUB_Porter_7551D_TFIDF_new.mat", "train_test_split_easy.mat", "pfc_feat_train.mat",
                      "pfc_feat_test.mat", "labels_train.pkl", "labels_test.pkl"),
    ("cub", "hard"): ("CUB_Porter_7551D_TFIDF_new.mat", "train_test_split_hard.mat", "pfc_feat_train_hard.mat",
                      "pfc_feat_test_hard.mat", "labels_train_hard.pkl", "labels_test_hard.pkl"),
    ("nab", "easy"): ("NAB_Porter_13217D_TFIDF_new.mat", "train_test_split_NABird_easy.mat",
                      "pfc_feat_train_easy.mat", "pfc_feat_test_easy.mat", "labels_train.pkl", "labels_test.pkl"),
}


def write_text(d, dataset, split, t, pm_sparse=False, feat_dtype=np.float32, compress=False,
               label_how=("np_p2", "py2_p2"), cid_shape="row", mutate=None, write_pm=True):
    os.makedirs(d, exist_ok=True)
    f_text, f_split, f_tr, f_te, l_tr, l_te = TEXT_FILES[(dataset, split)]
    pm = sp.csc_matrix(t["pm"]) if pm_sparse else t["pm"]
    cid = (lambda v: v.reshape(1, -1)) if cid_shape == "row" else (lambda v: v.reshape(-1, 1))
    files = {"pm": {"PredicateMatrix": pm},
             "split": {"train_cid": cid(t["train_cid"]).astype(np.float64),
                       "test_cid": cid(t["test_cid"]).astype(np.float64)},
             "tr": {"pfc_feat": t["ftr"].astype(feat_dtype)}, "te": {"pfc_feat": t["fte"].astype(feat_dtype)}}
    labels = {"tr": t["ltr"], "te": t["lte"]}
    if mutate:
        mutate(files, labels)
    if write_pm:
        sio.savemat(os.path.join(d, f_text), files["pm"], do_compression=compress)
    sio.savemat(os.path.join(d, f_split), files["split"], do_compression=compress)
    sio.savemat(os.path.join(d, f_tr), files["tr"], do_compression=compress)
    sio.savemat(os.path.join(d, f_te), files["te"], do_compression=compress)
    dump_label_pickle(os.path.join(d, l_tr), labels["tr"], label_how[0])
    dump_label_pickle(os.path.join(d, l_te), labels["te"], label_how[1])
    # expected loader output: train rows then test rows, global 0-based class ids
    feats = np.vstack([t["ftr"].astype(feat_dtype), t["fte"].astype(feat_dtype)]).astype(np.float32)
    feats.tofile(os.path.join(d, "expected_%s_%s_features.f32" % (dataset, split)))
    t["pm"].astype(np.float32).tofile(os.path.join(d, "expected_%s_%s_desc.f32" % (dataset, split)))
    exp = {"n": int(len(feats)), "dim": int(feats.shape[1]), "classes": int(t["pm"].shape[0]),
           "att_dim": int(t["pm"].shape[1]),
           "labels": [int(t["train_cid"][l] - 1) for l in t["ltr"]] + [int(t["test_cid"][l] - 1) for l in t["lte"]],
           "seen": [int(v - 1) for v in t["train_cid"]], "unseen": [int(v - 1) for v in t["test_cid"]],
           "n_train": int(len(t["ltr"])), "sha256": combined_sha(d, TEXT_FILES[(dataset, split)])}
    with open(os.path.join(d, "expected_%s_%s.json" % (dataset, split)), "w") as f:
        json.dump(exp, f)


def text_bad(root, t):
    def bad_local(files, labels):
        labels["tr"] = labels["tr"].copy()
        labels["tr"][5] = len(t["train_cid"])  # one past the seen classes

    def short_labels(files, labels):
        labels["te"] = labels["te"][:-1]

    def cid_zero(files, labels):
        files["split"]["test_cid"] = files["split"]["test_cid"].copy()
        files["split"]["test_cid"][0, 0] = 0

    def cid_high(files, labels):
        files["split"]["train_cid"] = files["split"]["train_cid"].copy()
        files["split"]["train_cid"][0, 1] = len(t["pm"]) + 1

    def cid_overlap(files, labels):
        files["split"]["test_cid"] = files["split"]["test_cid"].copy()
        files["split"]["test_cid"][0, 0] = files["split"]["train_cid"][0, 0]

    def dim_mismatch(files, labels):
        files["te"]["pfc_feat"] = files["te"]["pfc_feat"][:, :-1]

    def nan_text(files, labels):
        files["pm"]["PredicateMatrix"] = files["pm"]["PredicateMatrix"].copy()
        files["pm"]["PredicateMatrix"][1, 2] = np.nan

    def missing_cid(files, labels):
        del files["split"]["test_cid"]

    bad = {  # TEXT_BAD: directory suffix -> (mutation, label pickles, message needle)
        "local_label": (bad_local, ("np_p2", "np_p2"), "labels_train.pkl"),
        "short_labels": (short_labels, ("np_p2", "np_p2"), "labels_test.pkl"),
        "cid_zero": (cid_zero, ("np_p2", "np_p2"), "test_cid"),
        "cid_high": (cid_high, ("np_p2", "np_p2"), "train_cid"),
        "cid_overlap": (cid_overlap, ("np_p2", "np_p2"), "test_cid"),
        "dim_mismatch": (dim_mismatch, ("np_p2", "np_p2"), "pfc_feat_test.mat"),
        "nan_text": (nan_text, ("np_p2", "np_p2"), "PredicateMatrix"),
        "missing_cid": (missing_cid, ("np_p2", "np_p2"), "test_cid"),
        "pickle_truncated": (None, ("np_p2", pickle.dumps(t["lte"], protocol=2)[:-9]), "labels_test.pkl"),
        "pickle_dict": (None, (pickle.dumps({"labels": [1, 2]}, protocol=2), "np_p2"), "labels_train.pkl"),
        "pickle_float": (None, ("np_p2", pickle.dumps(t["lte"] + 0.5, protocol=2)), "labels_test.pkl"),
        "pickle_evil_global": (None, (b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.",
                                      "np_p2"), "labels_train.pkl"),
    }
    listing = {}
    for what, (mut, how, needle) in bad.items():
        write_text(os.path.join(root, "text_bad_" + what), "cub", "easy", t, label_how=how, mutate=mut)
        listing["text_bad_" + what] = needle
    with open(os.path.join(root, "text_bad.json"), "w") as f:
        json.dump(listing, f)


def check_gbu(d):
    """As ZSL_GAN dataset_GBU.py reads them."""
    res = sio.loadmat(os.path.join(d, "res101.mat"))
    feature = res["features"].T
    label = res["labels"].astype(int).squeeze() - 1
    sp_ = sio.loadmat(os.path.join(d, "att_splits.mat"))
    out = {"n": int(feature.shape[0]), "dim": int(feature.shape[1]), "feat_sum": float(feature.astype(np.float64).sum()),
           "feat_first": [float(v) for v in feature[0]], "labels": [int(v) for v in label]}
    for k in ("trainval_loc", "train_loc", "val_loc", "test_seen_loc", "test_unseen_loc"):
        loc = sp_[k].squeeze(axis=1) - 1
        out[k] = [int(v) for v in loc]
        out[k + "_feat_sum"] = float(feature[loc].astype(np.float64).sum())  # upstream indexes directly
    att = sp_["att"].T
    out["att_shape"] = list(att.shape)
    out["att_first"] = [float(v) for v in att[0]]
    out["names"] = [str(sp_["allclasses_names"][0][0][0]), str(res["image_files"][1][0][0])]
    return out


def check_text(d, dataset, split):
    """As ZSL_GAN / CIZSL dataset.py read them."""
    f = dict(zip(("text", "split", "ftr", "fte", "ltr", "lte"), TEXT_FILES[(dataset, split)]))
    ftr = sio.loadmat(os.path.join(d, f["ftr"]))["pfc_feat"].astype(np.float32)
    fte = sio.loadmat(os.path.join(d, f["fte"]))["pfc_feat"].astype(np.float32)
    with open(os.path.join(d, f["ltr"]), "rb") as a, open(os.path.join(d, f["lte"]), "rb") as b:
        ltr = pickle.load(a, encoding="latin1")
        lte = pickle.load(b, encoding="latin1")
    assert isinstance(ltr, np.ndarray) and ltr.dtype == np.int64
    split_ = sio.loadmat(os.path.join(d, f["split"]))
    train_cid = split_["train_cid"].squeeze()
    test_cid = split_["test_cid"].squeeze()
    pm = sio.loadmat(os.path.join(d, f["text"]))["PredicateMatrix"]
    return {"ntr": int(ftr.shape[0]), "nte": int(fte.shape[0]), "dim": int(ftr.shape[1]),
            "ftr_sum": float(ftr.astype(np.float64).sum()), "fte_sum": float(fte.astype(np.float64).sum()),
            "ftr_first": [float(v) for v in ftr[0]], "ltr": [int(v) for v in ltr], "lte": [int(v) for v in lte],
            "train_cid": [int(v) for v in train_cid], "test_cid": [int(v) for v in test_cid],
            "pm_shape": list(pm.shape), "pm_sum": float(pm.sum()),
            "train_text_first": [float(v) for v in pm[train_cid - 1].astype(np.float32)[0]]}


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "--check":
        out = check_gbu(sys.argv[3]) if sys.argv[2] == "gbu" else check_text(*sys.argv[3:6])
        print(json.dumps(out))
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = os.path.join(sys.argv[1], "zsl_data")
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(20240611)
    write_pickles(root)
    g = gbu_data(rng)
    write_gbu(root, "gbu_v5", g)
    write_gbu(root, "gbu_v7", g, feat_dtype=np.float32, label_dtype=np.uint8, loc_dtype=np.int32, compress=True)
    write_gbu(root, "gbu_hand", g, feat_dtype=np.float32, hand=True)
    gbu_bad(root, g)
    cub_easy = text_data(rng, classes=12, vocab=30, dim=6, n_seen=9, per_class=4)
    cub_hard = dict(cub_easy)
    cub_hard.update({k: v for k, v in text_data(rng, classes=12, vocab=30, dim=6, n_seen=8, per_class=3).items()
                     if k != "pm"})
    d = os.path.join(root, "text_cub")
    write_text(d, "cub", "easy", cub_easy, label_how=("np_p2", "py2_p2"))
    write_text(d, "cub", "hard", cub_hard, feat_dtype=np.float64, compress=True, label_how=("np_p0", "py2_p0"),
               cid_shape="column", write_pm=False)  # the easy split's PredicateMatrix file is shared
    nab = text_data(rng, classes=10, vocab=50, dim=4, n_seen=7, per_class=3)
    write_text(os.path.join(root, "text_nab"), "nab", "easy", nab, pm_sparse=True, compress=True,
               label_how=("np_p4_i4", "list_p2"))
    text_bad(root, cub_easy)


if __name__ == "__main__":
    main()
