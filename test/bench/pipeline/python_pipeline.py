#!/usr/bin/python3
"""The screening pipeline as a Python user would chain it, timed step by step: dcmtk's getscu pulls each
patient's studies into files, pydicom de-identifies them (the reference de-identifier of the test suite, the
same PS3.15 profile and keyed pseudonyms as pgscreen), OpenCV preprocesses them (the replication's fundus
steps; the mammography steps of the test oracle), PyTorch scores them with the same weights, scikit-learn
computes the AUC and a DeLong interval.

Usage: python_pipeline.py WORKDIR PORT AET PATIENTS FUNDUS.npz MAMMO.npz LABELS.tsv
Prints one "step <name> <seconds>" line per step, then "auc <value> <low> <high>"; writes WORKDIR/scores.tsv
(de-identified SOP Instance UID, score).
"""
import glob
import os
import subprocess
import sys
import time

import cv2
import numpy as np
import pydicom
import torch
from sklearn.metrics import roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "oracle"))
from deid_reference import anonymize_bytes  # noqa: E402
from fundus_oracle import voets2018  # noqa: E402
from mammo_oracle import reference as mammo_reference  # noqa: E402
from nn_oracle import BasicConv2d, SmallCNN  # noqa: E402

FUNDUS_SIDE, MAMMO_HEIGHT, MAMMO_WIDTH, BATCH = 128, 256, 208, 32


def network(npz_path, channels):
    """The small CNN with pgscreen's exported weights (PyTorch names, loaded strictly)."""
    weights = np.load(npz_path)
    model = SmallCNN(outputs=1, aux=any(k.startswith("AuxLogits.") for k in weights.files), dropout=0.5)
    if channels != 3:
        model.conv1 = BasicConv2d(channels, 16, kernel_size=3, stride=2, padding=1)
    model.load_state_dict({k: torch.from_numpy(weights[k]) for k in weights.files}, strict=True)
    return model.eval()


def standardize(x):
    """Per-image standardisation over all values, as the models were trained with (x in [0, 1])."""
    flat = x.reshape(len(x), -1)
    mean = flat.mean(1, keepdims=True)
    std = np.maximum(flat.std(1, keepdims=True), 1 / np.sqrt(flat.shape[1]))
    return ((flat - mean) / std).reshape(x.shape)


def score(model, tensors):
    """Sigmoid outputs in batches; tensors N×C×H×W float32 in [0, 1]."""
    out = []
    with torch.no_grad():
        for i in range(0, len(tensors), BATCH):
            x = torch.from_numpy(standardize(tensors[i:i + BATCH]).astype(np.float32))
            out.append(torch.sigmoid(model(x)).numpy().ravel().astype(np.float64))
    return np.concatenate(out) if out else np.zeros(0)


def delong(labels, scores):
    """AUC and its 95 % DeLong interval (the placement-value form)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    cmp = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    auc = cmp.mean()
    v10, v01 = cmp.mean(1), cmp.mean(0)
    se = np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    return auc, max(0.0, auc - 1.959964 * se), min(1.0, auc + 1.959964 * se)


def main():
    work, port, aet, patients = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    fundus_npz, mammo_npz, labels_tsv = sys.argv[5:8]
    torch.set_num_threads(os.cpu_count())
    received, deidentified = os.path.join(work, "received"), os.path.join(work, "deidentified")
    os.makedirs(received)
    os.makedirs(deidentified)
    times = {}

    start = time.perf_counter()
    for p in range(1, patients + 1):       # one C-GET per patient, every study of it (patient root)
        subprocess.run(["getscu", "-aet", "PYTHON", "-aec", aet, "-P", "-k", "QueryRetrieveLevel=PATIENT",
                        "-k", "PatientID=PHI-PIPE-%04d" % p, "-od", received, "127.0.0.1", port],
                       check=True, capture_output=True)
    times["retrieve"] = time.perf_counter() - start

    start = time.perf_counter()
    files = sorted(glob.glob(os.path.join(received, "*")))
    for path in files:
        with open(path, "rb") as f:
            clean = anonymize_bytes(f.read())
        with open(os.path.join(deidentified, os.path.basename(path)), "wb") as f:
            f.write(clean)
    times["deidentify"] = time.perf_counter() - start

    start = time.perf_counter()
    fundus_uids, fundus, mammo_uids, mammo = [], [], [], []
    for path in sorted(glob.glob(os.path.join(deidentified, "*"))):
        ds = pydicom.dcmread(path)
        if ds.Modality == "MG":
            _, out = mammo_reference(path, MAMMO_HEIGHT, MAMMO_WIDTH)
            mammo_uids.append(ds.SOPInstanceUID)
            mammo.append(np.rint(out[None] * 255) / 255)     # 8-bit levels, as the network's input
        else:
            out, _ = voets2018(np.ascontiguousarray(ds.pixel_array[..., ::-1]), FUNDUS_SIDE)   # RGB to BGR
            fundus_uids.append(ds.SOPInstanceUID)
            fundus.append(cv2.cvtColor(out, cv2.COLOR_BGR2RGB).transpose(2, 0, 1).astype(np.float32) / 255)
    times["preprocess"] = time.perf_counter() - start

    start = time.perf_counter()
    fundus_scores = score(network(fundus_npz, 3), np.stack(fundus))
    mammo_scores = score(network(mammo_npz, 1), np.stack(mammo))
    times["score"] = time.perf_counter() - start

    start = time.perf_counter()
    label_of = dict(line.split() for line in open(labels_tsv))
    labels = np.array([int(label_of[u]) for u in fundus_uids])
    auc, low, high = delong(labels, fundus_scores)
    assert abs(auc - roc_auc_score(labels, fundus_scores)) < 1e-12
    times["evaluate"] = time.perf_counter() - start

    with open(os.path.join(work, "scores.tsv"), "w") as f:
        for u, s in zip(fundus_uids + mammo_uids, np.concatenate([fundus_scores, mammo_scores])):
            f.write("%s\t%.9g\n" % (u, s))
    for name, seconds in times.items():
        print("step %s %.3f" % (name, seconds))
    print("auc %.6f %.6f %.6f" % (auc, low, high))


if __name__ == "__main__":
    main()
