#!/usr/bin/python3
"""Fundus preprocessing oracle: pgscreen's voets2018 and graham against the same steps in Python/OpenCV.

Run with Debian's Python (/usr/bin/python3: numpy, OpenCV, Pillow, pydicom). The reference is the replication's own
code (find the contour with cv2.findContours, cv2.minEnclosingCircle, cv2.moments, crop, cv2.resize, pad),
with the contrast curve clamped instead of wrapped. Inputs: synthetic fundus photographs from pgscreen's
generator and NumPy-drawn discs, of many sizes and offsets, including circles cut off by the frame.

Bounds and why:
- circle centre and radius within 1 px of OpenCV's (the contour, its moments and the enclosing circle are
  exact computations on the same points; OpenCV returns the radius in float32 plus 1e-4);
- output mean absolute difference ≤ 0.5 levels on the same decoded pixels: the arithmetic is the same
  (OpenCV's 11-bit bilinear weights reproduced), and OpenCV's float32 radius changes the scale factor in the
  seventh digit, which can move a few weights by one step or, rarely, the truncated crop side by a pixel;
- graham ≤ 1.0 level mean: our Gaussian is computed in float, OpenCV's 8-bit GaussianBlur in 16-bit fixed
  point; their blurred values differ by at most one level at some pixels, and 4·(img − blur) multiplies that.
- with DCT scaling (pgscreen's default for JPEG) against the published full-resolution pipeline: ≤ 2 levels
  mean wherever the fundus sits on the coarse grid (the crop is the full-resolution one, sampled between
  coarse pixels), the rest being that reduced-size decoding averages blocks (an anti-aliasing filter) where
  the published pipeline samples the full image bilinearly; circles agree to within one coarse pixel (the
  scale denominator), the resolution they were measured at; the exact path (scale 1) ≤ 0.5 as above;
- against the circle the generator drew: radius within 1.5 px + 0.008 R (the mask threshold is very dark,
  so defocus blur and the anti-aliased rim widen it), centre within 1.5 px when the frame does not cut it.
"""
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "build/test/tools/pgs_preprocess")
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


def tool(*args):
    return subprocess.run([TOOL, *map(str, args)], check=True, capture_output=True, text=True).stdout


# ---------- the reference implementation (the replication's steps, contrast curve clamped) ----------

def contrast_curve(bgr):
    curved = (255.0 / 1.3) * (bgr / (255.0 / 1.5)) ** 2
    return np.minimum(curved, 255).astype(np.uint8)


def find_fundus(bgr):
    gray = cv2.cvtColor(contrast_curve(bgr), cv2.COLOR_BGR2GRAY)
    contours = cv2.findContours(gray.copy(), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[-2]
    if len(contours) == 0:
        return None
    c = max(contours, key=cv2.contourArea)
    (_, _), radius = cv2.minEnclosingCircle(c)
    m = cv2.moments(c)
    if m["m00"] == 0:
        return None
    return m["m10"] / m["m00"], m["m01"] / m["m00"], radius


def voets2018(bgr, diameter=299):
    found = find_fundus(bgr)
    if found is None or found[2] <= 100:
        return None, found
    cx, cy, radius = found
    center = (int(cx), int(cy))
    x_min = max(0, int(center[0] - radius))
    y_min = max(0, int(center[1] - radius))
    z = int(radius * 2)
    crop = bgr[y_min:y_min + z, x_min:x_min + z]
    f = (diameter / 2) / radius
    crop = cv2.resize(crop, (0, 0), fx=f, fy=f)
    top = bottom = int((diameter - crop.shape[0]) / 2)
    left = right = int((diameter - crop.shape[1]) / 2)
    if crop.shape[0] + top + bottom == diameter - 1:
        top += 1
    if crop.shape[1] + left + right == diameter - 1:
        left += 1
    out = cv2.copyMakeBorder(crop, top, bottom, left, right, borderType=cv2.BORDER_CONSTANT, value=[0, 0, 0])
    geometry = dict(cx=cx, cy=cy, radius=radius, x_min=x_min, y_min=y_min, f=f, top=top, left=left)
    return out, geometry


def graham(bgr, diameter=299):
    out, g = voets2018(bgr, diameter)
    if out is None:
        return None
    r = diameter / 2
    blur = cv2.GaussianBlur(out, (0, 0), r / 30)
    out = cv2.addWeighted(out, 4, blur, -4, 128)
    cx = g["left"] + (g["cx"] - g["x_min"] + 0.5) * g["f"] - 0.5
    cy = g["top"] + (g["cy"] - g["y_min"] + 0.5) * g["f"] - 0.5
    yy, xx = np.mgrid[0:diameter, 0:diameter]
    outside = (xx - cx) ** 2 + (yy - cy) ** 2 > (0.9 * r) ** 2
    out[outside] = 128
    return out


# ---------- inputs ----------

def numpy_fundus(w, h, cx, cy, r, seed):
    """A plain disc: radial vignetting, a bright disc, dark vessel-like lines, JPEG-like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rho = np.hypot(x - cx, y - cy) / r
    base = np.stack([200 - 80 * rho ** 2, 90 - 40 * rho ** 2, 35 - 15 * rho ** 2], -1)
    base[np.hypot(x - cx - 0.5 * r, y - cy) < 0.12 * r] = [250, 220, 150]
    for k in range(6):
        a = rng.uniform(0, np.pi)
        d = np.abs((x - cx - 0.5 * r) * np.sin(a) - (y - cy) * np.cos(a))
        base[d < 0.01 * r] *= 0.6
    base += rng.normal(0, 3, base.shape)
    edge = np.clip((1 - rho) * r + 0.5, 0, 1)[..., None]
    noise = np.clip(rng.normal(0, 2, base.shape), 0, None)
    return np.clip(base * edge + noise * (1 - edge), 0, 255).astype(np.uint8)


def write_ophthalmic_photograph(rgb, path):
    """An Ophthalmic Photography 8 Bit Image object holding the pixels, explicit VR little endian."""
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.5.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, "OP"
    ds.Rows, ds.Columns = rgb.shape[:2]
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = rgb.tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path)


def rgb_to_bgr(a):
    return np.ascontiguousarray(a[:, :, ::-1])


def ours(path, method="voets2018", scale=1, diameter=299):
    out = path + f".{method}.{scale}.npy"
    circle = json.loads(tool("fundus", "--method", method, "--scale", scale, "--diameter", diameter, path, out))
    image = np.load(out) if circle["gradable"] else None
    return circle, image


def mad(a, b):
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def compare(name, path, bgr, scale=1, denom_check=None):
    """Ours at `scale` against the reference on the pixels decoded at that scale (bgr)."""
    circle, mine = ours(path, scale=scale)
    ref, geometry = voets2018(bgr)
    if ref is None:
        check(not circle["gradable"], f"{name}: both find it ungradable")
        return circle
    d = circle["scale_denom"]
    # back to the decoded image's coordinates
    cx, cy, r = (circle["cx"] - (d - 1) / 2) / d, (circle["cy"] - (d - 1) / 2) / d, circle["radius"] / d
    err = max(abs(cx - geometry["cx"]), abs(cy - geometry["cy"]), abs(r - geometry["radius"]))
    check(circle["gradable"] and err <= 1.0, f"{name}: circle within 1 px of OpenCV's (worst {err:.2g} px)")
    if mine is not None:
        m = mad(mine, ref[:, :, ::-1])
        check(mine.shape == (299, 299, 3) and m <= 0.5,
              f"{name}: voets2018 output mean |diff| {m:.3f} ≤ 0.5 (max {np.abs(mine.astype(int) - ref[:, :, ::-1]).max()})")
        g_mine = ours(path, method="graham", scale=scale)[1]
        g_ref = graham(bgr)
        m = mad(g_mine, g_ref[:, :, ::-1])
        check(m <= 1.0, f"{name}: graham output mean |diff| {m:.3f} ≤ 1.0")
    return circle


def geometry_checks(tmp):
    """Contours, resize, blur and Otsu against OpenCV directly."""
    rng = np.random.default_rng(11)
    # contours: random blobs; ours must trace the same outer border as findContours(RETR_EXTERNAL, NONE)
    for k in range(12):
        h, w = rng.integers(20, 90, 2)
        mask = (cv2.GaussianBlur(rng.random((h, w)), (0, 0), rng.uniform(1, 4)) > rng.uniform(0.45, 0.55)).astype(np.uint8)
        if k % 4 == 0:
            mask[0, :] = 1  # touching the frame
        path = os.path.join(tmp, f"mask{k}.npy")
        np.save(path, mask)
        lines = tool("contour", path).split("\n")
        area = float(lines[0].split()[1])
        pts = np.array([list(map(int, l.split())) for l in lines[1:] if l], dtype=np.int32).reshape(-1, 2)
        cnts = cv2.findContours(mask.copy(), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[-2]
        if not cnts:
            check(len(pts) == 0, f"contour {k}: empty mask, no contour")
            continue
        best = max(cnts, key=cv2.contourArea).reshape(-1, 2)
        same = len(best) == len(pts) and any(np.array_equal(np.roll(best, -s, 0), pts) for s in range(len(best)))
        check(same and abs(area - cv2.contourArea(best)) < 1e-9,
              f"contour {k} ({w}×{h}): the same {len(pts)} points in the same order as findContours, area {area}")
    # resize: bit-exact with cv2.resize(INTER_LINEAR) for down and up scaling, odd factors, exact halving
    for k, (fx, fy) in enumerate([(0.37, 0.37), (0.5, 0.5), (0.9131, 0.9131), (1.7, 1.3), (0.1999, 0.25)]):
        h, w = rng.integers(30, 300, 2)
        if fx == 0.5:
            h, w = 2 * (h // 2), 2 * (w // 2)
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        img = cv2.GaussianBlur(img, (0, 0), 1.5) if k % 2 else img
        path = os.path.join(tmp, f"resize{k}.npy")
        np.save(path, img)
        ref = cv2.resize(img, (0, 0), fx=fx, fy=fy, interpolation=cv2.INTER_LINEAR)
        out = os.path.join(tmp, f"resized{k}.npy")
        tool("resize", path, repr(fx), repr(fy), ref.shape[1], ref.shape[0], out)
        mine = np.load(out)
        check(np.array_equal(mine, ref), f"resize {w}×{h} by {fx}×{fy}: identical to cv2.resize "
              f"(max diff {np.abs(mine.astype(int) - ref).max()})")
    # Gaussian blur: within one level of cv2.GaussianBlur (fixed point there, float here)
    for sigma in (0.8, 2.5, 4.98):
        img = rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)
        path = os.path.join(tmp, "blur_in.npy")
        np.save(path, img)
        out = os.path.join(tmp, "blur_out.npy")
        tool("blur", path, sigma, out)
        diff = np.abs(np.load(out).astype(int) - cv2.GaussianBlur(img, (0, 0), sigma))
        check(diff.max() <= 1, f"Gaussian blur σ={sigma}: within one level of OpenCV (max {diff.max()}, "
              f"{np.mean(diff > 0) * 100:.2f} % differ)")
    # Otsu: the same threshold as cv2.threshold(THRESH_OTSU) on bimodal and skewed histograms
    for k in range(5):
        a = np.concatenate([rng.normal(rng.uniform(20, 90), 12, 4000), rng.normal(rng.uniform(120, 220), 20, 6000 * (k + 1))])
        img = np.clip(a, 0, 255).astype(np.uint8).reshape(1, -1)
        path = os.path.join(tmp, "otsu.npy")
        np.save(path, img)
        t_ref, _ = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        check(int(tool("otsu", path)) == int(t_ref), f"Otsu threshold {int(t_ref)} as OpenCV's ({k})")


def off_grid_checks(tmp):
    """Large photographs decoded at 1/8 and 1/4, the fundus shifted by whole full-resolution pixels across
    one coarse pixel: wherever it sits, the reduced decode agrees with the full-resolution pipeline."""
    for w, h, fr, want in [(4000, 2750, 0.46, 8), (2300, 1700, 0.45, 4)]:
        canvas = numpy_fundus(w + 8, h + 8, (w + 8) / 2, (h + 8) / 2, fr * h, 99)
        for dx, dy in [(0, 0), (1, 3), (2, 5), (3, 6), (5, 2), (7, 7)]:
            path = os.path.join(tmp, f"offgrid_{w}_{dx}_{dy}.jpg")
            cv2.imwrite(path, rgb_to_bgr(canvas[dy:dy + h, dx:dx + w]), [cv2.IMWRITE_JPEG_QUALITY, 95])
            full = voets2018(cv2.imread(path))[0]
            auto, mine = ours(path, scale=0)
            exact = ours(path, scale=1)[1]
            m, m_exact = mad(mine, full[:, :, ::-1]), mad(exact, full[:, :, ::-1])
            check(auto["scale_denom"] == want and m <= 2,
                  f"{w}×{h}, fundus shifted ({dx}, {dy}): DCT scale 1/{auto['scale_denom']} against the "
                  f"full-resolution pipeline mean |diff| {m:.2f} ≤ 2")
            check(m_exact <= 0.5, f"  the exact path (scale 1): mean |diff| {m_exact:.3f} ≤ 0.5")
        os.remove(path)


def main():
    with tempfile.TemporaryDirectory(prefix="pgs-fundus-oracle-") as tmp:
        geometry_checks(tmp)
        off_grid_checks(tmp)

        # NumPy discs as PNG (exact pixels): sizes, offsets, circles cut off by the frame
        cases = [(640, 480, 0.5, 0.5, 0.45), (1000, 750, 0.47, 0.53, 0.5), (401, 401, 0.5, 0.5, 0.47),
                 (800, 500, 0.55, 0.5, 0.58), (900, 600, 0.5, 0.35, 0.55), (333, 250, 0.5, 0.5, 0.44),
                 (1500, 1000, 0.8, 0.5, 0.45), (720, 540, 0.5, 0.9, 0.45), (2000, 1100, 0.45, 0.5, 0.6)]
        for k, (w, h, fx, fy, fr) in enumerate(cases):
            rgb = numpy_fundus(w, h, fx * w, fy * h, fr * h, k)
            path = os.path.join(tmp, f"disc{k}.png")
            Image.fromarray(rgb).save(path)
            compare(f"NumPy disc {w}×{h} at ({fx}, {fy}) r={fr}·h", path, rgb_to_bgr(rgb))

        # pgscreen's synthetic photographs (JPEG as a camera writes them), many sizes and framings
        for k, (seed, grade, size) in enumerate([(1, 0, 512), (2, 2, 640), (3, 4, 800), (4, 1, 1024),
                                                 (5, 3, 1200), (6, 0, 1600), (7, 2, 2048), (8, 4, 384),
                                                 (9, 1, 2600), (10, 3, 700)]):
            path = os.path.join(tmp, f"synthetic{k}.jpg")
            truth = json.loads(tool("synthetic", seed, grade, size, path))
            bgr = rgb_to_bgr(np.asarray(Image.open(path).convert("RGB")))
            circle = compare(f"synthetic seed {seed} grade {grade} {truth['width']}×{truth['height']}", path, bgr)
            clipped = truth["cy"] - truth["radius"] < 0 or truth["cy"] + truth["radius"] > truth["height"] - 1
            err_r = abs(circle["radius"] - truth["radius"])
            err_c = max(abs(circle["cx"] - truth["cx"]), abs(circle["cy"] - truth["cy"]))
            # The mask keeps anything brighter than a very dark level, so the camera's defocus blur (up to
            # 0.007 R) and the anti-aliased rim widen it a little: the radius may exceed the drawn one.
            bound_r = 1.5 + 0.008 * truth["radius"]
            check(err_r <= bound_r and (clipped or err_c <= 1.5),
                  f"  and near the circle drawn (radius off by {err_r:.2f} ≤ {bound_r:.1f}, centre "
                  f"{'(clipped, not compared)' if clipped else f'{err_c:.2f}'} px)")

            # DCT scaling: ours at the scale it chose, against the reference at full resolution
            auto, mine_auto = ours(path, scale=0)
            d = auto["scale_denom"]
            if d > 1:
                full = voets2018(bgr)[0]
                m = mad(mine_auto, full[:, :, ::-1])
                err = max(abs(auto["cx"] - circle["cx"]), abs(auto["cy"] - circle["cy"]), abs(auto["radius"] - circle["radius"]))
                check(m <= 2 and err <= d, f"  DCT scale 1/{d} against the full-resolution pipeline: mean |diff| "
                      f"{m:.2f} ≤ 2, circle within {err:.2f} ≤ {d} px")
                min_side = min(truth["width"], truth["height"])
                check(auto["radius"] / d >= 149.5 and (d == 8 or auto["radius"] / (2 * d) < 149.5 + d),
                      f"  1/{d} is the smallest scale keeping the circle ≥ 299 px across (r/d = {auto['radius'] / d:.1f})")

        # DICOM ophthalmic photography (8-bit RGB, written with pydicom): the same tensor as the photograph
        path = os.path.join(tmp, "synthetic0.jpg")
        rgb = np.asarray(Image.open(path).convert("RGB"))
        dcm = os.path.join(tmp, "op.dcm")
        write_ophthalmic_photograph(rgb, dcm)
        from_dicom, from_jpeg = ours(dcm)[1], ours(path, scale=1)[1]
        check(from_dicom is not None and np.array_equal(from_dicom, from_jpeg),
              "DICOM Ophthalmic Photography: the same tensor as its pixels as a photograph")

        # ungradable: a small disc (r ≤ 100 px), an all-black picture
        for name, rgb in [("small disc r=90", numpy_fundus(400, 300, 200, 150, 90, 1)),
                          ("all black", np.zeros((300, 400, 3), np.uint8))]:
            path = os.path.join(tmp, name.replace(" ", "_") + ".png")
            Image.fromarray(rgb).save(path)
            circle, _ = ours(path)
            ref, _ = voets2018(rgb_to_bgr(rgb))
            check(ref is None and not circle["gradable"], f"{name}: ungradable for both")

    print(f"oracles: fundus {passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
