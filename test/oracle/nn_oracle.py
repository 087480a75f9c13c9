#!/usr/bin/python3
"""Network engine against PyTorch: the same weights (through .npz), the same batch, the same steps.

For the small CNN (fast) and torchvision's Inception-v3 (inception_v3(weights=None, aux_logits=False,
init_weights=True, transform_input=False), seeded), weights go out of PyTorch as .npz and into pgscreen's
engine (build/test/tools/pgs_nn), which returns logits, the loss, every parameter gradient after one
backward pass and the losses of a few optimiser steps. Each is compared with PyTorch's, the worst mismatch
printed per tensor. Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "build", "test", "tools", "pgs_nn")
QUICK = os.environ.get("NN_ORACLE_QUICK") == "1"  # small CNN only

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok:", what)
    else:
        failed += 1
        print("FAILED:", what)


def rel_err(ours, ref):
    """max |ours − ref| / max |ref|: norm-wise, so entries near zero do not dominate."""
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    scale = max(np.abs(ref).max(), 1e-12)
    diff = np.abs(ours - ref)
    at = int(diff.argmax())
    return diff.max() / scale, at, ours.flat[at], ref.flat[at]


class BasicConv2d(nn.Module):
    """torchvision.models.inception.BasicConv2d."""

    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class SmallMixed(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 16, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 16, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(16, 16, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_3 = BasicConv2d(16, 16, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 16, kernel_size=1)

    def forward(self, x):
        pool = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        return torch.cat([self.branch1x1(x), self.branch3x3_3(self.branch3x3_2(self.branch3x3_1(x))),
                          self.branch_pool(pool)], 1)


class SmallAux(nn.Module):
    def __init__(self, cin, outputs):
        super().__init__()
        self.conv0 = BasicConv2d(cin, 16, kernel_size=1)
        self.fc = nn.Linear(16, outputs)

    def forward(self, x):
        x = self.conv0(F.avg_pool2d(x, 3, 2))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class SmallCNN(nn.Module):
    """kernels/nn/arch_small_cnn.c, module for module."""

    def __init__(self, outputs, aux, dropout):
        super().__init__()
        self.conv1 = BasicConv2d(3, 16, kernel_size=3, stride=2, padding=1)
        self.conv2 = BasicConv2d(16, 32, kernel_size=3, padding=1)
        self.pool1 = nn.MaxPool2d(3, 2, 1)
        self.mixed = SmallMixed(32)
        self.AuxLogits = SmallAux(48, outputs) if aux else None
        self.conv3 = BasicConv2d(48, 32, kernel_size=3, stride=2)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(32, outputs)

    def forward(self, x):
        x = self.mixed(self.pool1(self.conv2(self.conv1(x))))
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = self.fc(torch.flatten(self.dropout(F.adaptive_avg_pool2d(self.conv3(x), 1)), 1))
        return (x, aux) if aux is not None else x


def save_npz(model, path):
    np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})


def loss_of(output, head, target, aux_weight=0.4):
    main, aux = (output.logits, output.aux_logits) if hasattr(output, "logits") else \
        (output if not isinstance(output, tuple) else output[0], None if not isinstance(output, tuple) else output[1])
    crit = (lambda z: F.binary_cross_entropy_with_logits(z, target)) if head == "sigmoid" else \
        (lambda z: F.cross_entropy(z, target))
    loss = crit(main)
    if aux is not None:
        loss = loss + aux_weight * crit(aux)
    return main, loss


def make_optimizer(kind, params, lr):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=4e-5)
    return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-3, momentum=0.9, weight_decay=4e-5)


def tool_optimizer_args(kind, lr):
    base = ["--optimizer", kind, "--lr", str(lr), "--weight-decay", "4e-5", "--decay-all"]
    if kind == "sgd":
        return base + ["--momentum", "0.9", "--nesterov"]
    return base + ["--rho", "0.9", "--eps", "1e-3", "--momentum", "0.9", "--rmsprop-style", "torch"]


def run_tool(args):
    result = subprocess.run([TOOL, "run"] + args, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stderr)
        raise RuntimeError("pgs_nn failed")


def torch_trajectory(build, dtype, x, head, target, kind, lr, steps):
    """Training logits and gradients of the first step, and the loss before each of `steps` updates."""
    model = build().to(dtype)
    model.train()
    opt = make_optimizer(kind, model.parameters(), lr)
    losses = []
    for step in range(steps + 1):
        opt.zero_grad()
        main, loss = loss_of(model(x.to(dtype)), head, target.to(dtype) if head == "sigmoid" else target)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            # Copies: for float64 tensors .double() is the tensor itself, which later steps overwrite.
            logits = main.detach().double().numpy().copy()
            grads = {n: p.grad.double().numpy().copy() for n, p in model.named_parameters()}
        if step < steps:
            opt.step()
    return logits, np.array(losses), grads


def check_first_step(label, ref_name, ours_logits, ours_losses, ours_grads, r32, truth, tol):
    """Training logits, loss and every parameter gradient of the first backward pass."""
    # Logits and loss against the peer, PyTorch float32, within the bounds of tol.
    e, at, o, r = rel_err(ours_logits, r32[0])
    e64 = rel_err(ours_logits, truth[0])[0]
    check(e <= tol["logits"], f"{label}: training logits rel err {e:.2e} vs PyTorch (worst at {at}: {o:.7g} vs "
          f"{r:.7g})" + (f"; vs float64: ours {e64:.2e}, PyTorch's {rel_err(r32[0], truth[0])[0]:.2e}"
                         if tol["float64"] else ""))
    e = abs(ours_losses[0] - r32[1][0]) / abs(r32[1][0])
    check(e <= tol["loss"], f"{label}: loss {ours_losses[0]:.7g} vs {r32[1][0]:.7g} (rel err {e:.2e})")

    if not tol["float64"]:
        worst, bad = (0.0, ""), []
        for pname in ours_grads:
            e, at, o, r = rel_err(ours_grads[pname], r32[2][pname])
            if e > worst[0]:
                worst = (e, f"{pname} at {at}: {o:.6g} vs {r:.6g}")
            if e > tol["grad"]:
                bad.append(f"{pname} {e:.2e}")
        check(not bad, f"{label}: {len(ours_grads)} parameter gradients vs PyTorch, worst rel err {worst[0]:.2e} "
              f"({worst[1]})" + (f"; over {tol['grad']:.0e}: {', '.join(bad[:5])}" if bad else ""))
        return
    # Against float64: as a whole as accurate as PyTorch float32 (median and worst tensor within twice
    # PyTorch's), and no single tensor far off where PyTorch is close (10× its error, floor 1e-3): a wrong
    # gradient has an error near 1, float32 noise here a few per cent.
    ours_e = {p: rel_err(ours_grads[p], truth[2][p]) for p in ours_grads}
    torch_e = {p: rel_err(r32[2][p], truth[2][p])[0] for p in ours_grads}
    med_o, med_t = np.median([v[0] for v in ours_e.values()]), np.median(list(torch_e.values()))
    max_o, max_t = max(v[0] for v in ours_e.values()), max(torch_e.values())
    worst = max(ours_e, key=lambda p: ours_e[p][0] / max(torch_e[p], 1e-3))
    bad = [f"{p} {ours_e[p][0]:.2e} (PyTorch {torch_e[p]:.2e})" for p in ours_e
           if ours_e[p][0] > 10 * max(torch_e[p], 1e-3)]
    e, at, o, r = ours_e[worst]
    check(med_o <= 2 * med_t and max_o <= 2 * max_t and not bad,
          f"{label}: {len(ours_grads)} parameter gradients vs {ref_name}: median rel err {med_o:.2e} "
          f"(PyTorch float32 {med_t:.2e}), worst tensor {max_o:.2e} (PyTorch {max_t:.2e}); furthest from PyTorch's "
          f"accuracy: {worst} {e:.2e} vs PyTorch's {torch_e[worst]:.2e} (at {at}: {o:.6g}, truth {r:.6g})"
          + (f"; failing: {', '.join(bad[:5])}" if bad else ""))


def compare_case(name, build, net_args, x, head, target, tol):
    """
    Inference logits; training logits, loss and every gradient of the first backward; the losses of a few
    steps of each optimiser. With tol["float64"], gradients are judged against PyTorch in float64 and each
    of ours must be within twice PyTorch float32's own error (Inception-v3 freshly initialised, with batch
    statistics over two images, is ill-conditioned: PyTorch's float32 and float64 gradients differ by a few
    per cent, on some tensors by more). Everything else is compared with PyTorch float32, the peer.
    """
    with tempfile.TemporaryDirectory() as tmp:
        model = build()
        weights = os.path.join(tmp, "w.npz")
        save_npz(model, weights)
        np.save(os.path.join(tmp, "x.npy"), x.numpy())
        if head == "sigmoid":
            np.save(os.path.join(tmp, "t.npy"), target.numpy())
            target_args = ["--targets", os.path.join(tmp, "t.npy")]
        else:
            np.save(os.path.join(tmp, "t.npy"), target.numpy().astype(np.float32))
            target_args = ["--labels", os.path.join(tmp, "t.npy")]
        common = net_args + ["--weights", weights, "--images", os.path.join(tmp, "x.npy")] + target_args

        # Inference: running statistics, no dropout.
        run_tool(common + ["--mode", "infer", "--out", os.path.join(tmp, "infer")])
        model.eval()
        with torch.no_grad():
            ref = model(x)
        e, at, o, r = rel_err(np.load(os.path.join(tmp, "infer", "logits.npy")), ref.numpy())
        check(e <= tol["logits"], f"{name}: inference logits rel err {e:.2e} (worst at {at}: {o:.7g} vs {r:.7g})")

        for number, (kind, lr) in enumerate(tol["optimizers"]):
            steps = tol["steps"]
            out = os.path.join(tmp, kind)
            run_tool(common + ["--mode", "train", "--steps", str(steps), "--out", out] + tool_optimizer_args(kind, lr))
            ours_logits = np.load(os.path.join(out, "logits.npy"))
            ours_losses = np.load(os.path.join(out, "losses.npy")).astype(np.float64)
            ours_grads = {n: np.load(os.path.join(out, "grad", n + ".npy")) for n, _ in model.named_parameters()}
            r32 = torch_trajectory(build, torch.float32, x, head, target, kind, lr, steps)
            label = f"{name}, {kind}"
            if number == 0:
                # float64 is slow on a CPU: one forward and backward, for the gradients' truth.
                truth = torch_trajectory(build, torch.float64, x, head, target, kind, lr, 0) if tol["float64"] else r32
                ref_name = "PyTorch float64" if tol["float64"] else "PyTorch"
                check_first_step(label, ref_name, ours_logits, ours_losses, ours_grads, r32, truth, tol)
            e = np.abs(ours_losses - r32[1]) / np.abs(r32[1])
            check(np.all(e <= tol["steps_loss"]), f"{label}: {steps} steps at lr {lr:g}, losses "
                  f"{np.array2string(ours_losses, precision=6)} vs {np.array2string(r32[1], precision=6)} "
                  f"(worst rel err {e.max():.2e})")


def export_case(name, build, net_args, x):
    """Weights the engine initialises and exports load into PyTorch strictly and give the same outputs."""
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "ours.npz")
        result = subprocess.run([TOOL, "export"] + net_args + ["--seed", "5", "--out", weights],
                                capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stderr)
            raise RuntimeError("pgs_nn export failed")
        model = build()
        with np.load(weights) as npz:
            names = list(npz.keys())
            state = {k: torch.from_numpy(npz[k]) for k in names}
        check(names == list(model.state_dict().keys()),
              f"{name}: exported .npz has the state_dict's {len(names)} entries in its order")
        model.load_state_dict(state, strict=True)
        np.save(os.path.join(tmp, "x.npy"), x.numpy())
        run_tool(net_args + ["--weights", weights, "--images", os.path.join(tmp, "x.npy"), "--mode", "infer",
                             "--out", tmp])
        model.eval()
        with torch.no_grad():
            ref = model(x).numpy()
        e, at, o, r = rel_err(np.load(os.path.join(tmp, "logits.npy")), ref)
        check(e <= 1e-5, f"{name}: exported weights in PyTorch give the same logits (rel err {e:.2e})")


def small_cnn_cases():
    torch.manual_seed(1)
    x = torch.randn(4, 3, 40, 36)
    tol = {"logits": 1e-5, "loss": 1e-5, "grad": 1e-4, "steps": 4, "steps_loss": 1e-4, "float64": False,
           "optimizers": (("sgd", 0.05), ("rmsprop", 0.01))}

    def build_sigmoid():
        torch.manual_seed(2)
        m = SmallCNN(1, False, 0.0)
        return m

    def build_softmax_aux():
        torch.manual_seed(3)
        return SmallCNN(5, True, 0.0)

    size = ["--size", "40", "36", "--dropout", "0"]
    compare_case("small CNN, sigmoid", build_sigmoid, ["--arch", "small_cnn", "--head", "sigmoid", "--outputs", "1"]
                 + size, x, "sigmoid", torch.tensor([[1.0], [0.0], [0.0], [1.0]]), tol)
    compare_case("small CNN, softmax + aux", build_softmax_aux,
                 ["--arch", "small_cnn", "--head", "softmax", "--outputs", "5", "--aux"] + size, x, "softmax",
                 torch.tensor([0, 3, 4, 1]), tol)
    export_case("small CNN, softmax + aux", build_softmax_aux,
                ["--arch", "small_cnn", "--head", "softmax", "--outputs", "5", "--aux"] + size, x)


def inception_cases():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 299, 299)
    # Small learning rates: this network's first steps are so steep that at larger ones even PyTorch float32
    # and float64 part ways after a step or two.
    tol = {"logits": 1e-4, "loss": 1e-4, "grad": 2e-3, "steps": 3, "steps_loss": 2e-3, "float64": True,
           "optimizers": (("sgd", 1e-7), ("rmsprop", 1e-7))}

    def build():
        torch.manual_seed(0)
        return torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True,
                                               transform_input=False, num_classes=1, dropout=0.0)

    compare_case("Inception-v3", build, ["--arch", "inception_v3", "--head", "sigmoid", "--outputs", "1",
                                         "--dropout", "0"], x, "sigmoid", torch.tensor([[1.0], [0.0]]), tol)

    def build_aux():
        return torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False,
                                               transform_input=False, num_classes=1000)

    export_case("Inception-v3 with auxiliary head, 1000 classes", build_aux,
                ["--arch", "inception_v3", "--head", "softmax", "--outputs", "1000", "--aux"], x[:1])


def main():
    if not os.access(TOOL, os.X_OK):
        print(f"missing {TOOL}: run make unit-tests")
        return 1
    torch.set_num_threads(os.cpu_count() or 1)
    small_cnn_cases()
    if not QUICK:
        inception_cases()
    print(f"oracles: nn {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
