#!/usr/bin/python3
"""Redraws the README's fundus figures from the kernels (no server needed): run `make unit-tests` first.

fundus_grades.png: one synthetic eye (seed 12) at DR grades 0-4 — the photograph, voets2018 and graham.
fundus_augment.png: the grade-4 eye preprocessed, then four draws of the published augmentation recipe.
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
SIDE = 299


def tool(*args):
    return subprocess.run([TOOL, *map(str, args)], check=True, capture_output=True, text=True).stdout


def tile(path):
    img = Image.open(path).convert("RGB") if not path.endswith(".npy") else Image.fromarray(np.load(path))
    img.thumbnail((SIDE, SIDE))
    canvas = Image.new("RGB", (SIDE, SIDE))
    canvas.paste(img, ((SIDE - img.size[0]) // 2, (SIDE - img.size[1]) // 2))
    return canvas


def sheet(rows):
    out = Image.new("RGB", (SIDE * len(rows[0]) + 4 * (len(rows[0]) - 1), SIDE * len(rows) + 4 * (len(rows) - 1)), "white")
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            out.paste(img, (c * (SIDE + 4), r * (SIDE + 4)))
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
    print("wrote", os.path.join(HERE, "fundus_grades.png"), "and fundus_augment.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
