#!/usr/bin/python3
"""tests/peers/safetensors_ref.py - an independent safetensors writer and reader
(pure Python: json + struct) that tests/test_safetensors.c checks core/safetensors
against.

    safetensors_ref.py OUTDIR        write the fixtures below into OUTDIR
    safetensors_ref.py --read FILE   validate FILE, print it as JSON on stdout
                                     (exit 1 with the reason on stderr if invalid)

Fixtures:
  st_ref.safetensors          known tensors of every dtype genbench reads, a scalar,
                              a zero-size tensor, a UTF-8 name and __metadata__, laid
                              out like the reference writer: tensors ordered by dtype
                              alignment (descending) then name, compact JSON with
                              __metadata__ first, header padded with spaces to 8.
  st_ref_given_order.safetensors
                              the same tensors in the order of TENSORS below, the
                              layout gb_safetensors_write produces; the C test writes
                              the same entries and compares the bytes.
  st_bad_*.safetensors        invalid files, one broken rule each (see BAD below);
                              this reader must reject each one as well.
The tensor values are spelled out in tests/test_safetensors.c independently.
"""
import json
import os
import struct
import sys

DTYPES = {  # name: (struct code, size)
    "BOOL": ("?", 1), "U8": ("B", 1), "I8": ("b", 1), "I16": ("h", 2), "U16": ("H", 2),
    "F16": ("e", 2), "BF16": (None, 2), "I32": ("i", 4), "U32": ("I", 4), "F32": ("f", 4),
    "F64": ("d", 8), "I64": ("q", 8), "U64": ("Q", 8),
}


def bf16_bytes(values):
    # bfloat16 is the top half of an IEEE float32 (these values are exact, no rounding).
    return b"".join(struct.pack("<f", v)[2:] for v in values)


def pack(dtype, values):
    if dtype == "BF16":
        return bf16_bytes(values)
    code, _ = DTYPES[dtype]
    return struct.pack("<%d%s" % (len(values), code), *values)


# name, dtype, shape, values (row-major)
TENSORS = [
    ("fc0_w", "F32", [2, 3], [-1.25, -0.75, -0.25, 0.25, 0.75, 1.25]),
    ("fc0_b", "F32", [3], [1.0, -2.0, 3.5]),
    ("emb", "F64", [2, 2], [0.1, 0.2, 0.3, 1e300]),
    ("step", "I64", [], [1234567890123]),
    ("counts", "I32", [4], [-1, 0, 7, 2147483647]),
    ("mask", "BOOL", [3], [True, False, True]),
    ("bytes", "U8", [5], [0, 1, 127, 128, 255]),
    ("i8", "I8", [2], [-128, 127]),
    ("i16", "I16", [2], [-32768, 32767]),
    ("u16", "U16", [2], [1, 65535]),
    ("u32", "U32", [2], [4294967295, 3]),
    ("u64", "U64", [2], [18446744073709551615, 5]),
    ("half", "F16", [3], [1.0, -0.5, 65504.0]),
    ("bf", "BF16", [2], [1.0, -2.0]),
    ("empty", "F32", [0, 4], []),
    ("layer.\u00fc/weight", "F32", [1, 1], [42.0]),
]
METADATA = {"format": "pt", "note": "\u00fcn\u00efc\u00f8d\u00e9 \"quoted\" \\ back", "step": "1000"}


def serialize(tensors, metadata, sort_like_reference):
    """Bytes of a safetensors file. With sort_like_reference the tensors are laid
    out as the reference writer does (alignment descending, then name)."""
    if sort_like_reference:
        tensors = sorted(tensors, key=lambda t: (-DTYPES[t[1]][1], t[0]))
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, dtype, shape, values in tensors:
        blob = pack(dtype, values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def raw_file(header_text, data):
    """A file with a hand-written (possibly invalid) header."""
    text = header_text.encode("utf-8")
    return struct.pack("<Q", len(text)) + text + data


# name: bytes; each file breaks one rule (test_safetensors.c checks the reason).
def bad_files():
    good = serialize(TENSORS[:2], {"k": "v"}, True)
    f32 = struct.pack("<6f", *range(6))
    return {
        "st_bad_hole.safetensors": raw_file(
            '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
            '"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}', bytes(20)),
        "st_bad_overlap.safetensors": raw_file(
            '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},'
            '"b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]}}', bytes(20)),
        "st_bad_trailing.safetensors": good + b"\0\0\0",
        "st_bad_dup.safetensors": raw_file(
            '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
            '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', bytes(4)),
        "st_bad_size.safetensors": raw_file(
            '{"fc0_w":{"dtype":"F32","shape":[5,6],"data_offsets":[0,100]}}', bytes(100)),
        "st_bad_metadata.safetensors": raw_file(
            '{"__metadata__":{"epoch":3},"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}}', f32),
        "st_bad_truncated.safetensors": good[:-5],
    }


class Invalid(Exception):
    pass


def no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise Invalid("duplicate key %r" % key)
        seen[key] = value
    return seen


def read(data):
    """Validate a safetensors file the way the reference reader does; return a
    JSON-able description with each tensor's bytes in hex."""
    if len(data) < 8:
        raise Invalid("shorter than 8 bytes")
    (n,) = struct.unpack("<Q", data[:8])
    if n > 100_000_000 or n > len(data) - 8:
        raise Invalid("header length %d too large" % n)
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise Invalid("bad header: %s" % e)
    if not isinstance(header, dict):
        raise Invalid("header is not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise Invalid("metadata values must be strings")
    entries = []
    for name, info in header.items():
        dtype, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in DTYPES:
            raise Invalid("%s: unknown dtype %r" % (name, dtype))
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise Invalid("%s: bad shape %r" % (name, shape))
        if not isinstance(offs, list) or len(offs) != 2 or not all(type(o) is int and o >= 0 for o in offs):
            raise Invalid("%s: bad data_offsets %r" % (name, offs))
        count = 1
        for d in shape:
            count *= d
        if offs[1] - offs[0] != count * DTYPES[dtype][1]:
            raise Invalid("%s: data_offsets %r do not match %s %r" % (name, offs, dtype, shape))
        entries.append((offs[0], offs[1], name, dtype, shape))
    entries.sort()
    pos = 0
    for begin, end, name, _, _ in entries:
        if begin != pos:
            raise Invalid("%s: offsets not contiguous (begin %d, expected %d)" % (name, begin, pos))
        pos = end
    if 8 + n + pos != len(data):
        raise Invalid("file not fully covered: buffer %d bytes, tensors %d" % (len(data) - 8 - n, pos))
    base = 8 + n
    return {
        "header_len": n,
        "metadata": metadata,
        "order": [e[2] for e in entries],
        "tensors": {name: {"dtype": dtype, "shape": shape, "hex": data[base + b:base + e].hex()}
                    for b, e, name, dtype, shape in entries},
    }


def main(argv):
    if len(argv) == 3 and argv[1] == "--read":
        with open(argv[2], "rb") as f:
            data = f.read()
        try:
            print(json.dumps(read(data), ensure_ascii=True))
        except Invalid as e:
            print("%s: invalid: %s" % (argv[2], e), file=sys.stderr)
            return 1
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    files = {
        "st_ref.safetensors": serialize(TENSORS, METADATA, True),
        "st_ref_given_order.safetensors": serialize(TENSORS, METADATA, False),
    }
    for name, data in files.items():
        read(data)  # the reader accepts what the writer wrote
    for name, data in bad_files().items():
        try:
            read(data)
        except Invalid:
            files[name] = data
            continue
        raise SystemExit("safetensors_ref.py: the bad fixture %s was accepted by the reader" % name)
    for name, data in files.items():
        tmp = os.path.join(out, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(out, name))
    print("safetensors_ref.py: wrote %d files into %s" % (len(files), out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
