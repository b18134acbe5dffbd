#!/usr/bin/python3
"""datasets/scripts/make_cs446.py - regenerate reference/data/cs446_points.csv.

The toy2d-langevin data set of UIUC CS446 SP24 HW5 (hw5_utils.create_samples):
OpenCV draws the text "CS446" on a 64x128 uint8 canvas at origin (0, 31) with
FONT_HERSHEY_SIMPLEX, scale 1, colour 255, thickness 3, LINE_8; every non-zero
pixel (row, col) becomes a point; both coordinates are centred on their means
and divided by the row range (max row - min row); the point is (col, -row).

Upstream then adds unseeded N(0, 0.01^2) noise. We ship the noise-free points,
which this script reproduces exactly, and genbench adds the 0.01 jitter from a
seeded Philox stream at load time, so the data are deterministic per seed.

Run with Debian's Python (python3-opencv): /usr/bin/python3 datasets/scripts/make_cs446.py
It prints N and the SHA-256 of the file it wrote.
"""
import hashlib
import sys

import cv2
import numpy as np


def cs446_points():
    canvas = np.zeros((64, 128), dtype=np.uint8)
    cv2.putText(canvas, "CS446", (0, 31), cv2.FONT_HERSHEY_SIMPLEX, 1, 255, 3)
    rows, cols = np.nonzero(canvas)
    rows = rows.astype(np.float64)
    cols = cols.astype(np.float64)
    scale = rows.max() - rows.min()
    x = (cols - cols.mean()) / scale
    y = -(rows - rows.mean()) / scale
    return np.stack([x, y], axis=1)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "reference/data/cs446_points.csv"
    pts = cs446_points()
    lines = ["# CS446 point cloud: OpenCV %s putText, noise-free; made by datasets/scripts/make_cs446.py"
             % cv2.__version__, "# n=%d" % len(pts), "x,y"]
    lines += ["%.9g,%.9g" % (x, y) for x, y in pts]
    data = ("\n".join(lines) + "\n").encode()
    with open(out, "wb") as f:
        f.write(data)
    print("n=%d sha256=%s" % (len(pts), hashlib.sha256(data).hexdigest()))


if __name__ == "__main__":
    main()
