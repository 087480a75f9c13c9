#!/usr/bin/python3
"""Can a small CNN learn referable DR (grade >= 2) from synthetic fundus photographs preprocessed to 299 px?

Not part of `make check` or `make bench` (it trains for tens of minutes on a CPU); the README quotes its result.
Run after `make unit-tests`, with Debian's Python (numpy, torch, sklearn):

    /usr/bin/python3 test/bench/preprocess/learnability.py [--photographs 4000] [--epochs 2] [--input local|plain]

It draws photographs with grades mixed 4:1:2:1:1 (46 % referable) at 512 px, preprocesses them with
voets2018, trains on the first three quarters and reports the test AUC and the mean score per grade after
every epoch. --input local subtracts each pixel's 15-px neighbourhood mean first (as graham's method does);
plain feeds the symmetric-normalised pixels as they are.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TOOL = os.path.join(REPO, "build/test/tools/pgs_preprocess")
MIX = np.array([4, 1, 2, 1, 1], float) / 9


def make_set(n, seed):
    rng = np.random.default_rng(seed)
    grades = rng.choice(5, size=n, p=MIX)
    images = np.zeros((n, 299, 299, 3), np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        for i, g in enumerate(grades):
            jpg, npy = os.path.join(tmp, "p.jpg"), os.path.join(tmp, "p.npy")
            subprocess.run([TOOL, "synthetic", str(seed * 100000 + i), str(g), "512", jpg], check=True, capture_output=True)
            subprocess.run([TOOL, "fundus", jpg, npy], check=True, capture_output=True)
            images[i] = np.load(npy)
    return images, grades


def block(i, o):
    return [nn.Conv2d(i, o, 3, 1, 1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photographs", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--input", choices=["local", "plain"], default="local")
    ap.add_argument("--seed", type=int, default=77)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    t = time.time()
    X, grades = make_set(args.photographs, args.seed)
    y = (grades >= 2).astype(np.float32)
    n_train = args.photographs * 3 // 4
    print(f"{args.photographs} photographs in {time.time() - t:.0f} s, {y.mean() * 100:.0f} % referable", flush=True)

    def batch(idx, flip=False):
        a = torch.from_numpy(X[idx]).permute(0, 3, 1, 2).float() / 127.5 - 1
        if args.input == "local":
            a = 4 * (a - F.avg_pool2d(F.pad(a, (7, 7, 7, 7), mode="replicate"), 15, 1))
        if flip:
            m = torch.rand(len(idx)) < 0.5
            a[m] = a[m].flip(3)
        return a

    # five 3×3 blocks at full resolution first (lesions are a few pixels), global max pooling: 57 k parameters
    net = nn.Sequential(*block(3, 8), *block(8, 16), *block(16, 32), *block(32, 32), *block(32, 48),
                        nn.Conv2d(48, 64, 3, 1, 1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(64, 1))
    opt = torch.optim.Adam(net.parameters(), 3e-4)
    loss_fn = nn.BCEWithLogitsLoss()
    for epoch in range(args.epochs):
        t = time.time()
        net.train()
        order = np.random.default_rng(epoch).permutation(n_train)
        for k in range(0, n_train, 32):
            idx = np.sort(order[k:k + 32])
            opt.zero_grad()
            loss = loss_fn(net(batch(idx, True)).squeeze(1), torch.from_numpy(y[idx]))
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            scores = np.concatenate([net(batch(np.arange(k, min(k + 100, len(y))))).squeeze(1).numpy()
                                     for k in range(n_train, len(y), 100)])
        g = grades[n_train:]
        print(f"{args.input} epoch {epoch + 1}: test AUC {roc_auc_score(y[n_train:], scores):.3f} "
              f"({time.time() - t:.0f} s); mean score by grade 0-4 "
              f"{[round(float(scores[g == k].mean()), 2) for k in range(5)]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
