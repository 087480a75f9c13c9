#!/usr/bin/python3
"""Redraws the README's figures from the kernels (no server needed): run `make unit-tests` first.

fundus_grades.png: one synthetic eye (seed 12) at DR grades 0-4 — the photograph, voets2018 and graham.
fundus_augment.png: the grade-4 eye preprocessed, then four draws of the published augmentation recipe.
mammo.png: two synthetic mammograms (a left MLO with a burned-in label, a right CC stored MONOCHROME1) as
the DICOM shows them and after mammo_preprocess.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "../../build/test/tools/pgs_preprocess")
DICOM = os.path.join(HERE, "../../build/test/tools/pgs_dicom")
SIDE = 299


def tool(*args):
    return subprocess.run([TOOL, *map(str, args)], check=True, capture_output=True, text=True).stdout


def tile(path, size=(SIDE, SIDE)):
    img = Image.open(path).convert("RGB") if not path.endswith(".npy") else Image.fromarray(np.load(path)).convert("RGB")
    img.thumbnail(size)
    canvas = Image.new("RGB", size)
    canvas.paste(img, ((size[0] - img.size[0]) // 2, (size[1] - img.size[1]) // 2))
    return canvas


def sheet(rows):
    w, h = rows[0][0].size
    out = Image.new("RGB", (w * len(rows[0]) + 4 * (len(rows[0]) - 1), h * len(rows) + 4 * (len(rows) - 1)), "white")
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            out.paste(img, (c * (w + 4), r * (h + 4)))
    return out


def main():
    with tempfile.TemporaryDirectory() as tmp:
        rows = [[], [], []]
        for grade in range(5):
            jpeg = os.path.join(tmp, f"g{grade}.jpg")
            tool("synthetic", 12, grade, 1536, jpeg)
            rows[0].append(tile(jpeg))
            for r, method in ((1, "voets2018"), (2, "graham")):
                npy = os.path.join(tmp, f"g{grade}_{method}.npy")
                tool("fundus", "--method", method, jpeg, npy)
                rows[r].append(tile(npy))
        sheet(rows).save(os.path.join(HERE, "fundus_grades.png"), optimize=True)
        base = os.path.join(tmp, "g4_voets2018.npy")
        augmented = [tile(base)]
        for seed in range(1, 5):
            out = os.path.join(tmp, f"aug{seed}.npy")
            tool("augment", seed, base, out)
            augmented.append(tile(out))
        sheet([augmented]).save(os.path.join(HERE, "fundus_augment.png"), optimize=True)
        mammograms = []
        for seed, side, view, extra in ((7, "L", "MLO", ["--label"]), (3, "R", "CC", ["--monochrome1"])):
            dcm = os.path.join(tmp, f"mg{seed}.dcm")
            subprocess.run([DICOM, "synth", "--laterality", side, "--view", view, *extra, str(seed), dcm], check=True)
            shown = os.path.join(tmp, f"mg{seed}_shown.npy")
            subprocess.run([DICOM, "display", dcm, shown], check=True)
            pre = os.path.join(tmp, f"mg{seed}_pre.npy")
            tool("mammo", dcm, pre)
            mammograms += [tile(shown, (240, 300)), tile(pre, (240, 300))]
        sheet([mammograms]).save(os.path.join(HERE, "mammo.png"), optimize=True)
    print("wrote fundus_grades.png, fundus_augment.png and mammo.png in", HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
