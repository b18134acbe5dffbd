#!/usr/bin/python3
"""tests/peers/philox_ref.py OUTDIR - independent reference for core/philox.c.

Writes OUTDIR/philox_ref.txt, read by tests/test_philox.c (through GB_FIXTURES). Written from
the algorithm descriptions (Salmon et al. 2011; the stream mix and transforms documented in
core/philox.h), in plain Python integers, and structured differently from the C code on
purpose: the round key is computed in closed form (key + r * W mod 2^32) instead of being
bumped, words are produced one at a time, and Box-Muller uses Python's math module.
The Random123 known-answer vectors are checked here too before anything is written, so a
broken peer cannot produce a fixture.

Line formats (all integers hex without 0x unless noted; NAME is the stream name's bytes in
hex, "-" for the empty name; floats are the float32 bit pattern in hex):
  key    SEED NAME K0 K1                       SEED decimal
  u32    SEED NAME INDEX WORD                  INDEX decimal
  uni    SEED NAME INDEX BITS
  nrm    SEED NAME INDEX BITS
  below  SEED NAME BOUND COUNT V...            BOUND, COUNT, V decimal (sequential draws)
  perm   SEED NAME N P...                      N, P decimal
  range  SEED NAME LO_BITS HI_BITS COUNT V_BITS...   sequential uniform_range draws
"""
import math
import os
import sys

import numpy as np

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF


def philox4x32(ctr, key, rounds=10):
    c = list(ctr)
    for r in range(rounds):
        k0 = (key[0] + r * 0x9E3779B9) & MASK32
        k1 = (key[1] + r * 0xBB67AE85) & MASK32
        a = 0xD2511F53 * c[0]
        b = 0xCD9E8D57 * c[2]
        c = [(b >> 32) ^ c[1] ^ k0, b & MASK32, (a >> 32) ^ c[3] ^ k1, a & MASK32]
    return c


KAT = [  # Random123 tests/kat_vectors, "philox4x32 10" lines
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([MASK32] * 4, [MASK32] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]


def splitmix_final(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return h


def stream_key(seed, name):
    a = splitmix_final((seed + 0x9E3779B97F4A7C15) & MASK64)
    k = splitmix_final(a ^ fnv1a64(name.encode()))
    return [k & MASK32, k >> 32]


def word(key, index):
    block = index // 4
    return philox4x32([block & MASK32, block >> 32, 0, 0], key)[index % 4]


def uniform_exact(w):
    # A Python float (double) holds (2m + 1) * 2^-24 exactly; it is float32-exact as well.
    return ((w >> 9) + 0.5) / 2.0**23


def f32_bits(x):
    return int(np.array([x], dtype=np.float32).view(np.uint32)[0])


def normal(key, index):
    j = index // 2
    u1 = uniform_exact(word(key, 2 * j))
    u2 = uniform_exact(word(key, 2 * j + 1))
    r = math.sqrt(-2.0 * math.log(u1))
    theta = 6.283185307179586 * u2
    return r * math.sin(theta) if index % 2 else r * math.cos(theta)


def name_field(name):
    return name.encode().hex() if name else "-"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: philox_ref.py OUTDIR")
    for ctr, key, want in KAT:
        got = philox4x32(ctr, key)
        if got != want:
            sys.exit("philox_ref.py: own Philox fails the Random123 vector %s: %s" % (want, got))

    seeds = [0, 1, 20240611, MASK64]
    names = ["init/fc0_w", "data/order", "noise/123", ""]
    # Index ranges: the start of a stream, a block-aligned middle, the crossing of the low
    # counter word into the high one (block 2^32), and a large index.
    ranges = [(0, 40), (1000, 9), (4 * 2**32 - 6, 12), (2**40 + 3, 6)]
    lines = []
    for seed in seeds:
        for name in names:
            key = stream_key(seed, name)
            nf = name_field(name)
            lines.append("key %d %s %08x %08x" % (seed, nf, key[0], key[1]))
            for start, count in ranges:
                for i in range(start, start + count):
                    w = word(key, i)
                    lines.append("u32 %d %s %d %08x" % (seed, nf, i, w))
                    lines.append("uni %d %s %d %08x" % (seed, nf, i, f32_bits(uniform_exact(w))))
                    lines.append("nrm %d %s %d %08x" % (seed, nf, i, f32_bits(normal(key, i))))

    # below and permutation: sequential draws from position 0 (word i is draw i).
    for seed in (0, 7):
        for bound in (1, 2, 3, 10, 1000, 2**31 + 1, MASK32):
            key = stream_key(seed, "data/below")
            vals = [(word(key, i) * bound) >> 32 for i in range(16)]
            lines.append("below %d %s %d %d %s" % (seed, name_field("data/below"), bound,
                                                     len(vals), " ".join(map(str, vals))))
        for n in (0, 1, 2, 5, 17, 100):
            key = stream_key(seed, "data/order")
            perm = list(range(n))
            draw = 0
            for i in range(n - 1, 0, -1):
                j = (word(key, draw) * (i + 1)) >> 32
                draw += 1
                perm[i], perm[j] = perm[j], perm[i]
            lines.append(("perm %d %s %d %s" % (seed, name_field("data/order"), n,
                                                " ".join(map(str, perm)))).rstrip())

    # uniform_range in float32 arithmetic, with the clamp below hi.
    for lo, hi in ((1.0, 2.0), (-0.5, 0.25), (0.0, 1.0)):
        key = stream_key(3, "init/range")
        lo32, hi32 = np.float32(lo), np.float32(hi)
        vals = []
        for i in range(64):
            u = np.float32(uniform_exact(word(key, i)))
            r = np.float32(lo32 + np.float32(np.float32(hi32 - lo32) * u))
            if not r < hi32:
                r = np.nextafter(hi32, lo32, dtype=np.float32)
            vals.append("%08x" % f32_bits(r))
        lines.append("range 3 %s %08x %08x %d %s" % (name_field("init/range"), f32_bits(lo),
                                                     f32_bits(hi), len(vals), " ".join(vals)))

    os.makedirs(sys.argv[1], exist_ok=True)
    path = os.path.join(sys.argv[1], "philox_ref.txt")
    with open(path + ".tmp", "w") as f:
        f.write("# written by tests/peers/philox_ref.py; formats in its docstring\n")
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
