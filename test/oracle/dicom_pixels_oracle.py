#!/usr/bin/python3
"""DICOM pixel oracle: pgscreen's decoder against pydicom (and GDCM for codecs pydicom lacks here).

Run with Debian's Python (/usr/bin/python3). For every corpus file with pixel data (dicom_corpus.py), frame 0
(and the last frame of multi-frame objects) decoded by build/test/tools/pgs_dicom must equal the reference:
 - uncompressed, deflated and RLE: pydicom's own pixel_array;
 - JPEG, JPEG-LS, JPEG 2000: `gdcmconv --raw` first, then pydicom (GDCM and dcmtk/OpenJPEG are independent).
Lossless syntaxes must match exactly; lossy JPEG within a mean absolute difference of 1.0 and a maximum of 8
grey levels (the IJG and libjpeg-turbo IDCTs round differently); YBR converted to RGB within 1 level.
Every MR_small variant (implicit, big endian, RLE, JPEG-LS, JPEG 2000 lossless) must equal MR_small.dcm.
What to_png shows (the display mode) is checked too: PALETTE COLOR through pydicom's apply_color_lut, and
monochrome images through pydicom's apply_modality_lut + apply_voi_lut (first window), MONOCHROME1 inverted,
within one grey level of 8 bits.
"""
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_color_lut, apply_modality_lut, apply_voi_lut, convert_color_space

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dicom_corpus import corpus  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "build/test/tools/pgs_dicom")
NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99",
          "1.2.840.10008.1.2.5"}
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91"}
passed = failed = skipped = 0
# Files pgscreen refuses on purpose, with the reason; the oracle checks that they fail cleanly.
REFUSED = {
    "SC_rgb_jpeg.dcm": "its meta declares JPEG Baseline (explicit VR) but the data set is implicit VR",
}


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"FAILED - {what}")


def ours(path, frame, tmp):
    out = os.path.join(tmp, "ours.npy")
    r = subprocess.run([TOOL, "pixels", path, out, str(frame)], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return np.load(out), ""


def reference(path, tmp):
    ds = pydicom.dcmread(path, force=True)
    syntax = str(ds.file_meta.TransferSyntaxUID) if "TransferSyntaxUID" in getattr(ds, "file_meta", {}) else ""
    if syntax not in NATIVE:
        raw = os.path.join(tmp, "raw.dcm")
        r = subprocess.run(["gdcmconv", "--raw", path, raw], capture_output=True)
        if r.returncode != 0:
            return None, None, syntax
        ds = pydicom.dcmread(raw, force=True)
    arr = ds.pixel_array
    return ds, arr, syntax


def frames_of(ds, arr):
    n = int(getattr(ds, "NumberOfFrames", 1) or 1)
    return [arr[i] for i in range(n)] if n > 1 else [arr]


def comparable(ds, frame):
    a = frame
    if ds.SamplesPerPixel == 1 and ds.PixelRepresentation == 0 and ds.BitsAllocated > 1:
        a = a & ((1 << ds.BitsStored) - 1)
    if ds.SamplesPerPixel == 3 and str(ds.PhotometricInterpretation).startswith("YBR_FULL"):
        a = convert_color_space(a, "YBR_FULL", "RGB")
    if ds.BitsAllocated == 32:
        a = a.astype(np.float32)  # pgscreen returns 32-bit data as float32 (README): compare at that precision
    return a.astype(np.float64)


def display(path, tmp):
    out = os.path.join(tmp, "display.npy")
    r = subprocess.run([TOOL, "display", path, out], capture_output=True, text=True)
    return np.load(out) if r.returncode == 0 else None


def check_display(name, path, ds, frame, tmp):
    """The 8-bit picture to_png shows, against pydicom's LUT functions."""
    photometric = str(ds.PhotometricInterpretation)
    if photometric == "PALETTE COLOR" and "RedPaletteColorLookupTableData" in ds:
        ref = apply_color_lut(frame, ds).astype(np.float64)
        ref = np.round(ref / (65535.0 if ds.RedPaletteColorLookupTableDescriptor[2] == 16 else 255.0) * 255)
    elif photometric.startswith("MONOCHROME") and "WindowCenter" in ds and "VOILUTSequence" not in ds \
            and ds.get("VOILUTFunction", "LINEAR") == "LINEAR" and ds.BitsAllocated <= 16:
        values = apply_modality_lut(frame, ds).astype(np.float64)
        center = float(ds.WindowCenter[0] if isinstance(ds.WindowCenter, pydicom.multival.MultiValue) else ds.WindowCenter)
        width = float(ds.WindowWidth[0] if isinstance(ds.WindowWidth, pydicom.multival.MultiValue) else ds.WindowWidth)
        if width <= 1:
            return
        ref = np.clip((values - (center - 0.5)) / (width - 1) + 0.5, 0, 1)  # PS3.3 C.11.2.1.2.1
        if photometric == "MONOCHROME1":
            ref = 1 - ref
        ref = np.round(ref * 255)
    else:
        return
    mine = display(path, tmp)
    diff = np.abs(mine.astype(np.float64) - ref) if mine is not None and mine.shape == ref.shape else None
    check(diff is not None and diff.max() <= 1, f"{name}: display ({photometric}) matches pydicom's LUTs"
          + (f", max |diff| {diff.max():.0f}" if diff is not None else f": {None if mine is None else mine.shape} vs {ref.shape}"))


def main():
    global skipped
    with tempfile.TemporaryDirectory(prefix="pgs-dicom-pixels-") as tmp:
        files = corpus(tmp)
        mr_small = {}
        for name, path in files:
            try:
                header = pydicom.dcmread(path, force=True, stop_before_pixels=True)
            except Exception:
                continue
            if "PixelData" not in pydicom.dcmread(path, force=True) or "Rows" not in header:
                continue
            try:
                ds, arr, syntax = reference(path, tmp)
            except Exception as e:  # the reference cannot read it: our decoder must fail cleanly or succeed
                ds, arr, syntax = None, None, ""
                reason = str(e)[:80]
            if arr is None:
                mine, err = ours(path, 0, tmp)
                skipped += 1
                print(f"skip - {name}: no reference decode ({'ours: ' + err if mine is None else 'ours decoded it'})")
                continue
            if os.path.basename(path) in REFUSED:
                mine, err = ours(path, 0, tmp)
                check(mine is None and "bad data" in err,
                      f"{name} is refused cleanly ({REFUSED[os.path.basename(path)]}): {err[-70:]}")
                continue
            frames = frames_of(ds, arr)
            for index in sorted({0, len(frames) - 1}):
                mine, err = ours(path, index, tmp)
                if mine is None:
                    check(False, f"{name} frame {index}: {err}")
                    continue
                ref = comparable(ds, frames[index])
                mine = mine.astype(np.float64)
                if mine.shape != ref.shape:
                    check(False, f"{name} frame {index}: shape {mine.shape} vs reference {ref.shape}")
                    continue
                diff = np.abs(mine - ref)
                if syntax in LOSSY:
                    ok = diff.mean() <= 1.0 and diff.max() <= 8
                elif ds.SamplesPerPixel == 3 and str(ds.PhotometricInterpretation).startswith("YBR_FULL"):
                    ok = diff.max() <= 1
                else:
                    ok = diff.max() == 0
                check(ok, f"{name} frame {index} ({syntax or 'no meta'}, {ds.PhotometricInterpretation}): "
                          f"mean |diff| {diff.mean():.3f}, max {diff.max():.0f}")
            base = os.path.basename(path)
            if base.startswith("MR_small") and base != "MR_small_padded.dcm":
                mr_small[base] = ours(path, 0, tmp)[0]
            check_display(name, path, ds, frames[0], tmp)
        ref = mr_small.get("MR_small.dcm")
        for base, mine in sorted(mr_small.items()):
            if base != "MR_small.dcm":
                check(ref is not None and mine is not None and np.array_equal(mine, ref),
                      f"{base} decodes pixel-identical to MR_small.dcm")
    print(f"oracles: dicom_pixels {passed} passed, {failed} failed ({skipped} files without a reference decode)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
