#!/usr/bin/python3
"""How far the SQL and the Python pipelines agree: the same de-identified instances (keyed pseudonyms), the
scores end to end, PyTorch on pgscreen's own preprocessed tensors against pgscreen's scores, and the AUCs.

Usage: compare_results.py PY_SCORES.tsv PG_SCORES.tsv PG_PRE.tsv FUNDUS.npz MAMMO.npz "PY_AUC LOW HIGH" "PG_AUC LOW HIGH"
Exits non-zero when the instances differ or PyTorch on pgscreen's tensors differs from pgscreen by more than 1e-5.
"""
import base64
import io
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from python_pipeline import network, score  # noqa: E402


def read_scores(path):
    return {u: float(s) for u, s in (line.split("\t") for line in open(path).read().splitlines())}


def main():
    py, pg = read_scores(sys.argv[1]), read_scores(sys.argv[2])
    tensors = {u: np.load(io.BytesIO(base64.b64decode(b))) for u, b in
               (line.split("\t") for line in open(sys.argv[3]).read().splitlines())}
    fundus_net, mammo_net = network(sys.argv[4], 3), network(sys.argv[5], 1)
    py_auc, pg_auc = [float(v) for v in sys.argv[6].split()], [float(v) for v in sys.argv[7].split()]
    ok = set(py) == set(pg) == set(tensors)
    print("instances: %d in Python, %d in pgscreen, the same de-identified SOP Instance UIDs: %s"
          % (len(py), len(pg), "yes" if ok else "NO"))
    common = sorted(set(py) & set(pg) & set(tensors))
    mammo = [u for u in common if tensors[u].ndim == 2]
    fundus = [u for u in common if tensors[u].ndim == 3]
    for name, uids in (("fundus", fundus), ("mammography", mammo)):
        if not uids:
            continue
        d = np.abs(np.array([py[u] for u in uids]) - np.array([pg[u] for u in uids]))
        print("%s scores end to end (each side's own preprocessing): max |diff| %.2e, mean %.2e"
              % (name, d.max(), d.mean()))
    same_input = []
    for uids, net in ((fundus, fundus_net), (mammo, mammo_net)):
        if not uids:
            continue
        x = np.stack([tensors[u].transpose(2, 0, 1) if tensors[u].ndim == 3 else tensors[u][None] for u in uids])
        x = x.astype(np.float32) / (255 if x.dtype == np.uint8 else 1)
        same_input.extend(np.abs(score(net, x) - np.array([pg[u] for u in uids])))
    worst = max(same_input) if same_input else float("inf")
    print("PyTorch on pgscreen's preprocessed tensors, same weights: max |diff| %.2e (bound 1e-5)" % worst)
    ok = ok and worst <= 1e-5
    print("AUC (DeLong 95%% CI): pgscreen %.6f [%.6f, %.6f], Python %.6f [%.6f, %.6f], difference %.2e"
          % (*pg_auc, *py_auc, abs(pg_auc[0] - py_auc[0])))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
