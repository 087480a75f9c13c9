"""PyTorch beside pgscreen: training and inference images/s of the same networks on the same images.

Usage: torch_side.py ARCH SIDE IMAGES.npy TRAIN_STEPS BATCH [DEVICE]
Prints "train <images/s>" and "infer <images/s>". ARCH is small_cnn (the oracle's module-for-module copy
of kernels/nn/arch_small_cnn.c) or inception_v3 (torchvision's, one output, no auxiliary head). DEVICE is
pgscreen's device (cpu or cuda:N), so both run on the same one.
"""
import os
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "oracle"))
from nn_oracle import SmallCNN  # noqa: E402


def build(arch):
    if arch == "small_cnn":
        return SmallCNN(outputs=1, aux=False, dropout=0.5)
    return torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True, num_classes=1,
                                           transform_input=False)


def main():
    arch, side, path, steps, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    device = torch.device(sys.argv[6] if len(sys.argv) > 6 else "cpu")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(1)
    images = np.load(path)                                  # N × H × W × 3 uint8, as pgscreen caches them
    assert images.shape[1:] == (side, side, 3), images.shape
    x_all = (torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1).to(device)   # symmetric, CHW
    y_all = torch.from_numpy((np.arange(len(images)) % 2).astype(np.float32)).unsqueeze(1).to(device)
    model = build(arch).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def batches(k):
        for i in range(k):
            j = (i * batch) % max(1, len(images) - batch + 1)
            yield x_all[j:j + batch], y_all[j:j + batch]

    model.train()
    for x, y in batches(2):                                 # warm-up, as pgscreen's first epoch
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    sync()
    start = time.perf_counter()
    for x, y in batches(steps):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    sync()
    print("train %.2f" % (steps * batch / (time.perf_counter() - start)))

    model.eval()
    with torch.no_grad():
        model(x_all[:batch])
        sync()
        start = time.perf_counter()
        for i in range(0, len(images), batch):
            torch.sigmoid(model(x_all[i:i + batch]))
        sync()
    print("infer %.2f" % (len(images) / (time.perf_counter() - start)))


if __name__ == "__main__":
    main()
