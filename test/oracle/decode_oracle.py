#!/usr/bin/python3
"""Decode oracle: pgscreen's image decoder against Pillow, djpeg and NumPy on the same files.

Run with Debian's Python (/usr/bin/python3, numpy + Pillow). Usage: decode_oracle.py [PGS_DECODE_TOOL]
JPEGs must match Pillow and djpeg exactly (all three use libjpeg-turbo with the same default IDCT and
upsampling), including DCT-scaled decodes against `djpeg -scale 1/N`; PNG and NPY must round-trip exactly.
"""
import io
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "build/test/tools/pgs_decode")
failures = 0
passed = 0


def check(ok, what):
    global failures, passed
    if ok:
        passed += 1
        print(f"ok - {what}")
    else:
        failures += 1
        print(f"FAILED - {what}")


def ours(path, scale=1, frame=0):
    out = path + ".npy"
    subprocess.run([TOOL, "--scale", str(scale), "--frame", str(frame), path, out], check=True)
    with open(out, "rb") as f:
        data = f.read()
    return np.load(io.BytesIO(data)), data


def as_hwc(a):
    return a if a.ndim == 3 else a[:, :, None]


def picture(w, h, seed):
    """A photograph-like picture: smooth gradients, a bright disc and fine noise, not symmetric."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([60 + 120 * x / w, 30 + 90 * y / h, 20 + 40 * (x + y) / (w + h)], axis=-1)
    disc = np.hypot(x - 0.4 * w, y - 0.55 * h) < 0.3 * h
    base[disc] += [70, 30, 10]
    base += rng.normal(0, 6, base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


def djpeg(path, scale):
    args = ["djpeg", "-pnm"] + (["-scale", f"1/{scale}"] if scale > 1 else []) + [path]
    pnm = subprocess.run(args, check=True, capture_output=True).stdout
    return np.asarray(Image.open(io.BytesIO(pnm)))


def write_png16_rgb(path, a):
    """A 16-bit RGB PNG written by hand (Pillow cannot write one)."""
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main():
    with tempfile.TemporaryDirectory(prefix="pgs-decode-oracle-") as tmp:
        return run_all(tmp)


def run_all(tmp):
    rgb = picture(317, 211, 1)

    jpegs = {
        "baseline 4:2:0": dict(img=Image.fromarray(rgb), quality=90),
        "baseline 4:4:4": dict(img=Image.fromarray(rgb), quality=95, subsampling=0),
        "progressive": dict(img=Image.fromarray(rgb), quality=85, progressive=True),
        "grayscale": dict(img=Image.fromarray(rgb).convert("L"), quality=90),
        "CMYK (Adobe)": dict(img=Image.fromarray(rgb).convert("CMYK"), quality=90),
        "restart markers": dict(img=Image.fromarray(rgb), quality=80, restart_marker_rows=1),
    }
    for name, spec in jpegs.items():
        img = spec.pop("img")
        path = os.path.join(tmp, name.replace(" ", "_").replace(":", "") + ".jpg")
        img.save(path, "JPEG", **spec)
        mine, _ = ours(path)
        pil = np.asarray(Image.open(path).convert("L" if img.mode == "L" else "RGB"))
        check(mine.shape == pil.shape and np.array_equal(mine, pil), f"JPEG {name}: identical to Pillow")
        if img.mode != "CMYK":
            for scale in (1, 2, 4, 8):
                mine_s, _ = ours(path, scale)
                ref = djpeg(path, scale)
                check(mine_s.shape == ref.shape and np.array_equal(mine_s, ref),
                      f"JPEG {name} at 1/{scale}: identical to djpeg -scale ({ref.shape})")

    # PNG: 8/16-bit gray, RGB, RGBA, palette with transparency, 1-bit
    gray16 = (rgb[:, :, 0].astype(np.uint16) * 257 + np.arange(317, dtype=np.uint16)[None, :]).astype(np.uint16)
    cases = {
        "8-bit gray": (Image.fromarray(rgb[:, :, 1]), rgb[:, :, 1]),
        "16-bit gray": (Image.fromarray(gray16), gray16),
        "RGB": (Image.fromarray(rgb), rgb),
        "RGBA": (Image.fromarray(np.dstack([rgb, rgb[:, :, :1]])), np.dstack([rgb, rgb[:, :, :1]])),
    }
    pal = Image.fromarray(rgb).quantize(16)
    pal.info["transparency"] = 3
    cases["palette + tRNS"] = (pal, np.asarray(pal.convert("RGBA")))
    one_bit = Image.fromarray(rgb[:, :, 0] > 128)
    cases["1-bit"] = (one_bit, np.asarray(one_bit.convert("L")))
    for name, (img, expected) in cases.items():
        path = os.path.join(tmp, name.replace(" ", "_").replace("+", "") + ".png")
        img.save(path, "PNG", **({"transparency": 3} if name.startswith("palette") else {}))
        mine, _ = ours(path)
        exp = as_hwc(expected).squeeze(-1) if as_hwc(expected).shape[2] == 1 else expected
        check(mine.dtype == exp.dtype and mine.shape == exp.shape and np.array_equal(mine, exp),
              f"PNG {name}: identical to the source pixels ({mine.dtype}, {mine.shape})")

    rgb16 = (rgb.astype(np.uint16) * 251 + 7).astype(np.uint16)
    path = os.path.join(tmp, "rgb16.png")
    write_png16_rgb(path, rgb16)
    mine, _ = ours(path)
    check(mine.dtype == np.uint16 and np.array_equal(mine, rgb16), "PNG 16-bit RGB: identical to the source")

    # NPY: layouts, byte orders, Fortran order; and our NPY bytes equal numpy.save's
    chw = np.ascontiguousarray(rgb.transpose(2, 0, 1))
    npys = {
        "uint8 HWC": (rgb, rgb),
        "uint16 big-endian": (gray16.astype(">u2"), gray16),
        "float32 CHW": (chw.astype(np.float32) / 255, rgb.astype(np.float32) / 255),
        "uint8 Fortran order": (np.asfortranarray(rgb), rgb),
        "uint8 N×H×W×C frame 1": (np.stack([rgb, rgb[::-1]]), rgb[::-1]),
    }
    for name, (arr, expected) in npys.items():
        path = os.path.join(tmp, name.replace(" ", "_").replace("×", "x") + ".npy")
        np.save(path, arr)
        mine, raw = ours(path, frame=1 if "frame" in name else 0)
        check(mine.dtype == expected.dtype and np.array_equal(mine, expected), f"NPY {name}: read exactly")
    buf = io.BytesIO()
    np.save(buf, rgb)
    _, raw = ours(os.path.join(tmp, "uint8_HWC.npy"))
    check(raw == buf.getvalue(), "NPY written by pgscreen is byte-identical to numpy.save")

    print(f"oracles: decode {passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
