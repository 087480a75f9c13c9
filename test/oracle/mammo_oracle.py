#!/usr/bin/python3
"""Mammogram preprocessing oracle: pgscreen's mammo_preprocess against pydicom + NumPy + OpenCV.

Run with Debian's Python (/usr/bin/python3: numpy, OpenCV, pydicom). The reference reads the synthetic MG
objects with pydicom, applies Rescale Slope/Intercept and the first window (DICOM's LINEAR function,
PS3.3 C.11.2.1.2) in NumPy, inverts MONOCHROME1, thresholds with cv2.threshold(THRESH_OTSU), takes the
largest region of cv2.connectedComponentsWithStats (8-connected), mirrors when the chest wall is on the
right, blanks other regions of at least 1/2000 of the image inside the crop, resizes with
cv2.resize(INTER_AREA) and pads.

Bounds and why: the breast's box and the mirroring must be identical (the same integer threshold on the
same 8-bit levels, the same regions); the float32 output within 0.002 mean absolute difference (less than
half an 8-bit level), since OpenCV's area resize sums the same weights in another order and in float32.
"""
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import pydicom

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PRE = os.path.join(REPO, "build/test/tools/pgs_preprocess")
DICOM = os.path.join(REPO, "build/test/tools/pgs_dicom")
passed = 0
failures = 0


def check(ok, what):
    global passed, failures
    if ok:
        passed += 1
        print(f"ok - {what}")
    else:
        failures += 1
        print(f"FAILED - {what}")


def presentation(path):
    ds = pydicom.dcmread(path)
    x = ds.pixel_array.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
    c = float(np.atleast_1d(ds.WindowCenter)[0])
    w = float(np.atleast_1d(ds.WindowWidth)[0])
    y = np.clip((x - (c - 0.5)) / (w - 1) + 0.5, 0, 1)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        y = 1 - y
    return y.astype(np.float32)


def reference(path, height, width):
    v = presentation(path)
    levels = np.clip(np.rint(v * 255), 0, 255).astype(np.uint8)
    t, _ = cv2.threshold(levels, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    n, labels, stats, _ = cv2.connectedComponentsWithStats((levels > t).astype(np.uint8), connectivity=8)
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = (int(s) for s in stats[best])
    # the chest wall: the side the breast touches (the synthetic breasts always touch exactly one)
    flipped = x + w == v.shape[1] and x != 0
    large = [k for k in range(1, n) if k != best and stats[k, cv2.CC_STAT_AREA] >= max(16, v.size // 2000)]
    crop = v[y:y + h, x:x + w].copy()
    crop[np.isin(labels[y:y + h, x:x + w], large)] = 0
    if flipped:
        crop = crop[:, ::-1]
    scale = min(height / h, width / w)
    fw, fh = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    fitted = cv2.resize(np.ascontiguousarray(crop), (fw, fh), interpolation=cv2.INTER_AREA)
    out = np.zeros((height, width), np.float32)
    top = (height - fh) // 2
    out[top:top + fh, :fw] = fitted
    return dict(threshold=int(t), x=x, y=y, width=w, height=h, pixels=area, flipped=flipped), out


def main():
    with tempfile.TemporaryDirectory(prefix="pgs-mammo-oracle-") as tmp:
        cases = [(1, "L", "CC", [], (1024, 832)), (2, "R", "MLO", ["--label"], (1024, 832)),
                 (3, "R", "CC", ["--monochrome1"], (512, 416)), (4, "L", "MLO", ["--label", "--monochrome1"], (1024, 832)),
                 (5, "L", "CC", ["--size", "2560x3328"], (1024, 832)), (6, "R", "MLO", ["--size", "600x500"], (1024, 832))]
        for seed, side, view, extra, (height, width) in cases:
            path = os.path.join(tmp, f"mg{seed}.dcm")
            subprocess.run([DICOM, "synth", "--laterality", side, "--view", view, *extra, str(seed), path], check=True,
                           capture_output=True)
            out = os.path.join(tmp, f"mg{seed}.npy")
            mine = json.loads(subprocess.run([PRE, "mammo", "--size", f"{height}x{width}", "--dtype", "float32", path, out],
                                             check=True, capture_output=True, text=True).stdout)
            ref, ref_out = reference(path, height, width)
            name = f"seed {seed} {side} {view} {' '.join(extra)}".strip()
            same = all(mine[k] == ref[k] for k in ("threshold", "x", "y", "width", "height", "pixels", "flipped"))
            check(same, f"{name}: threshold, breast box and mirroring as OpenCV's ({ref['x']},{ref['y']} "
                  f"{ref['width']}×{ref['height']}, flipped {ref['flipped']})")
            got = np.load(out)
            m = float(np.mean(np.abs(got - ref_out)))
            check(got.shape == ref_out.shape and m <= 0.002, f"{name}: output {got.shape} mean |diff| {m:.5f} ≤ 0.002")
    print(f"oracles: mammo {passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
