#!/usr/bin/python3
"""PyTorch's side of the learnability benchmark: the small CNN trained on a generated task with a small grid.

Usage: torch_learn.py TASK.npz SEED EPOCHS [CONFIG...]
Prints "CONFIG test_auc best_epoch" per configuration. The network is test/oracle/nn_oracle.py's SmallCNN,
pgscreen's small_cnn module for module, with PyTorch's own initialisation; inputs are x/255 (torchvision's
ToTensor), batch 32, no augmentation, binary cross-entropy. Model selection keeps the epoch of the highest
validation AUC (the first of equals), whose checkpoint is scored once on the test split. Configurations:
  adam         Adam, learning rate 1e-3, constant
  adamw_cosine AdamW, learning rate 1e-3, weight decay 0.01, cosine to 0 over the epochs
  sgd_cosine   SGD, learning rate 0.01, momentum 0.9, cosine to 0 over the epochs
"""
import copy
import os
import sys

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "oracle"))
from nn_oracle import SmallCNN  # noqa: E402

CONFIGS = ("adam", "adamw_cosine", "sgd_cosine")
BATCH = 32


def optimiser(config, params, steps):
    if config == "adam":
        return torch.optim.Adam(params, lr=1e-3), None
    if config == "adamw_cosine":
        opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    else:
        opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)


def scores(model, x):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + 128]).squeeze(1) for i in range(0, len(x), 128)]).numpy()


def run(config, data, seed, epochs):
    torch.manual_seed(seed)
    x = torch.from_numpy(data["images"]).permute(0, 3, 1, 2).float() / 255
    y = torch.from_numpy(data["labels"].astype(np.float32))
    split = data["split"]
    train, val, test = (np.flatnonzero(split == k) for k in range(3))
    model = SmallCNN(outputs=1, aux=False, dropout=0.5)
    steps = epochs * (len(train) // BATCH)
    opt, schedule = optimiser(config, model.parameters(), steps)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(seed)
    best_auc, best_epoch, best_state = -1.0, 0, None
    for epoch in range(1, epochs + 1):
        model.train()
        order = train[rng.permutation(len(train))]
        for k in range(0, len(order) - BATCH + 1, BATCH):    # the short last batch is left out, as pgscreen does
            idx = order[k:k + BATCH]
            opt.zero_grad()
            loss_fn(model(x[idx]).squeeze(1), y[idx]).backward()
            opt.step()
            if schedule:
                schedule.step()
        auc = roc_auc_score(data["labels"][val], scores(model, x[val]))
        if best_state is None or auc > best_auc:
            best_auc, best_epoch, best_state = auc, epoch, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return roc_auc_score(data["labels"][test], scores(model, x[test])), best_epoch


def main():
    path, seed, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(int(os.environ.get("LEARN_TORCH_THREADS", "2")))
    data = dict(np.load(path))
    for config in sys.argv[4:] or CONFIGS:
        auc, epoch = run(config, data, seed, epochs)
        print("%s %.4f %d" % (config, auc, epoch), flush=True)


if __name__ == "__main__":
    main()
