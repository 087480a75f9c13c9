#!/usr/bin/python3
"""Generated screening tasks of known difficulty, on synthetic textures and on real photographs.

Each task is a set of 8-bit RGB images with a binary label and a split (train, val, test), drawn from a seed:
the learnability benchmark (test/bench/learn) and the default-recipe TAP test train pgscreen and PyTorch on
exactly these images. The positive class always carries a cue a screening network must find (small lesions,
a colour, a shape); the negatives differ in nothing else.

Usage: learn_tasks.py --list
       learn_tasks.py TASK SEED OUT.npz [--copy OUT.tsv]
OUT.npz holds images (N×H×W×3 uint8), labels (N, 0/1) and split (N, 0 train / 1 val / 2 test); OUT.tsv holds
the same rows for COPY into a table (id, split, label, NPY bytea), so SQL sees the very same pixels.
"""
import argparse
import glob
import io
import os
import sys

import cv2
import numpy as np

SPLITS = ("train", "val", "test")

# Real photographs shipped by Debian packages: scikit-learn's two sample photographs (python3-sklearn) and,
# where installed, scikit-image's sample photographs (python3-skimage, a benchmark dependency).
SKLEARN_PHOTOS = "/usr/lib/python3/dist-packages/sklearn/datasets/images/*.jpg"
SKIMAGE_PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                  "motorcycle_right.png", "hubble_deep_field.jpg", "immunohistochemistry.png", "retina.jpg"]
SKIMAGE_DIR = "/usr/lib/python3/dist-packages/skimage/data"


def load_photos(which):
    paths = sorted(glob.glob(SKLEARN_PHOTOS))
    if which == "skimage":
        paths = [os.path.join(SKIMAGE_DIR, p) for p in SKIMAGE_PHOTOS if os.path.exists(os.path.join(SKIMAGE_DIR, p))]
        if len(paths) < 4:
            sys.exit("learn_tasks.py: scikit-image's sample photographs are missing (apt-get install python3-skimage)")
    photos = []
    for p in paths:
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        if img is not None and min(img.shape[:2]) >= 200:
            photos.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    if len(photos) < 2:
        sys.exit("learn_tasks.py: no sample photographs found under " + SKLEARN_PHOTOS)
    return photos


def texture(rng, size, base, amplitude):
    """A smooth random background: coarse noise blown up, plus fine grain; base is an RGB triple in 0..255."""
    coarse = rng.normal(0, 1, (max(2, size // 8), max(2, size // 8), 3)).astype(np.float32)
    field = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC) * amplitude
    grain = rng.normal(0, 4, (size, size, 3)).astype(np.float32)
    return np.asarray(base, np.float32) + field + grain


def soft_disc(img, cx, cy, radius, colour, alpha):
    """Blend a disc with a one-pixel soft edge into a float image."""
    h, w = img.shape[:2]
    y, x = np.ogrid[:h, :w]
    d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
    a = (np.clip(radius + 0.5 - d, 0, 1) * alpha)[..., None]
    img[:] = img * (1 - a) + np.asarray(colour, np.float32) * a


def photo_crop(rng, photos, size):
    """A random square crop (half to all of the short side) of a random photograph, maybe mirrored."""
    p = photos[rng.integers(len(photos))]
    h, w = p.shape[:2]
    side = int(min(h, w) * rng.uniform(0.5, 1.0))
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    crop = cv2.resize(p[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    return crop[:, ::-1].copy() if rng.random() < 0.5 else crop


def lesions(rng, img, count, radius, colour, margin):
    size = img.shape[0]
    for _ in range(count):
        cx, cy = rng.uniform(margin, size - margin, 2)
        soft_disc(img, cx, cy, radius * rng.uniform(0.8, 1.2), colour, 0.85)


def sparse_dots(rng, size, positive):
    img = texture(rng, size, (150, 70, 40), 18)
    if positive:
        lesions(rng, img, int(rng.integers(2, 5)), 1.2, (235, 215, 110), 6)
    return img


def large_blobs(rng, size, positive):
    img = texture(rng, size, (120, 110, 100), 25)
    if positive:
        lesions(rng, img, 1, size * 0.14, (170, 150, 120), size * 0.25)
    return img


def colour_only(rng, size, positive):
    # Every image has a spot of the same size and brightness (luma ≈ 140); only its hue differs.
    img = texture(rng, size, (140, 90, 60), 15)
    lesions(rng, img, 1, 3.5, (200, 170, 40) if positive else (230, 100, 160), 8)
    return img


def shape_only(rng, size, positive):
    # Every image has one grey mark of about 100 px² in the same grey: a square or a disc.
    img = texture(rng, size, (110, 110, 110), 15)
    c = rng.uniform(14, size - 14, 2)
    if positive:
        half = 5.0
        cv2.rectangle(img, (int(c[0] - half), int(c[1] - half)), (int(c[0] + half), int(c[1] + half)),
                      (190, 190, 190), -1)
    else:
        soft_disc(img, c[0], c[1], 5.6, (190, 190, 190), 1.0)
    return img


def rare_lesions(rng, size, positive):
    img = texture(rng, size, (150, 70, 40), 18)
    if positive:
        lesions(rng, img, int(rng.integers(1, 4)), 2.0, (230, 210, 100), 6)
    return img


def camera_variation(rng, size, positive):
    """Lesions under strong acquisition changes: colour cast, gamma, blur, noise, vignetting."""
    img = texture(rng, size, (150, 70, 40), 18)
    if positive:
        lesions(rng, img, int(rng.integers(2, 5)), 2.0, (230, 210, 100), 6)
    img = np.clip(img, 0, 255) / 255.0
    img = img ** rng.uniform(0.7, 1.4) * rng.uniform(0.6, 1.3, 3)
    sigma = rng.uniform(0, 1.2)
    if sigma > 0.3:
        img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigma)
    y, x = np.ogrid[:size, :size]
    r2 = ((x - size / 2) ** 2 + (y - size / 2) ** 2) / (size / 2) ** 2
    img = img * (1 - rng.uniform(0, 0.5) * r2)[..., None]
    return img * 255 + rng.normal(0, rng.uniform(0, 10), img.shape)


def photo_lesions(photos):
    def draw(rng, size, positive):
        img = photo_crop(rng, photos, size)
        if positive:
            lesions(rng, img, int(rng.integers(2, 5)), size / 28, (250, 240, 140), size / 10)
        return img
    return draw


def photo_haemorrhages(photos):
    def draw(rng, size, positive):
        img = photo_crop(rng, photos, size)
        if positive:
            lesions(rng, img, int(rng.integers(2, 4)), size / 24, (110, 10, 10), size / 10)
        return img
    return draw


# name: (drawer, side, prevalence, (train, val, test), photographs, what it tests)
TASKS = {
    "sparse_dots": (sparse_dots, 64, 0.5, (300, 100, 200), None, "2-4 dots of 2-3 px on texture"),
    "large_blobs": (large_blobs, 64, 0.2, (300, 100, 200), None, "one faint blob a quarter of the image wide"),
    "colour_only": (colour_only, 64, 0.33, (300, 100, 200), None, "a spot in every image; only its hue differs"),
    "shape_only": (shape_only, 64, 0.5, (300, 100, 200), None, "a grey square or a grey disc of equal area"),
    "rare_5pct": (rare_lesions, 64, 0.05, (600, 200, 600), None, "small lesions at 5 % prevalence"),
    "camera": (camera_variation, 64, 0.33, (300, 100, 200), None, "lesions under colour cast, gamma, blur, noise"),
    "photo_lesions": (photo_lesions, 128, 0.33, (300, 100, 200), "sklearn",
                      "yellow lesions painted on crops of real photographs"),
    "photo_large": (photo_haemorrhages, 160, 0.25, (240, 100, 100), "skimage",
                    "dark red haemorrhages on crops of real photographs, 160 px"),
    "photo_299": (photo_lesions, 299, 0.33, (200, 100, 100), "sklearn",
                  "yellow lesions on crops of real photographs at the study's 299 px"),
}


def make_task(name, seed):
    draw, size, prevalence, counts, photos, _ = TASKS[name]
    if photos is not None:
        draw = draw(load_photos(photos))
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    n = sum(counts)
    split = np.repeat(np.arange(3), counts)
    labels = np.zeros(n, np.uint8)
    # Exact prevalence in each split (at least one positive), in a random order within it.
    start = 0
    for c in counts:
        k = max(1, int(round(c * prevalence)))
        labels[start:start + k] = 1
        labels[start:start + c] = rng.permutation(labels[start:start + c])
        start += c
    images = np.zeros((n, size, size, 3), np.uint8)
    for i in range(n):
        images[i] = np.clip(np.rint(draw(rng, size, bool(labels[i]))), 0, 255).astype(np.uint8)
    return images, labels, split


def write_copy(path, images, labels, split):
    with open(path, "w") as f:
        for i in range(len(images)):
            buf = io.BytesIO()
            np.save(buf, images[i])
            f.write("%d\t%s\t%s\t\\\\x%s\n" % (i, SPLITS[split[i]], "t" if labels[i] else "f", buf.getvalue().hex()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("task", nargs="?")
    ap.add_argument("seed", nargs="?", type=int)
    ap.add_argument("out", nargs="?")
    ap.add_argument("--copy")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        for name, t in TASKS.items():
            print("%s\t%d\t%g\t%s\t%s" % (name, t[1], t[2], "/".join(map(str, t[3])), t[5]))
        return 0
    if args.task not in TASKS or args.seed is None or args.out is None:
        ap.error("give a task (--list shows them), a seed and an output file")
    images, labels, split = make_task(args.task, args.seed)
    np.savez(args.out, images=images, labels=labels, split=split)
    if args.copy:
        write_copy(args.copy, images, labels, split)
    return 0


if __name__ == "__main__":
    sys.exit(main())
