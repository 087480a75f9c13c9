#!/usr/bin/env python3
"""PyTorch DistributedDataParallel over NCCL, the peer of `pgs_nn_bench --replicas N` in test/bench/gpu/scaling.sh.

Prints, in pgs_nn_bench's format:
    pytorch ddp <GPUs> <batch per GPU> <images/s of all GPUs> <ms per step> <peak MiB of GPU 0>
N processes (torch.multiprocessing.spawn), process r on cuda:r, the Inception-v3 of torch_inception.py in
train() mode, wrapped in DistributedDataParallel (NCCL, 127.0.0.1); a step is forward, binary cross-entropy,
backward (gradients all-reduced by DDP) and an SGD step with Nesterov momentum, as pgscreen's.
"""
import argparse
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_inception import build  # noqa: E402


def replica(rank, gpus, port, batch, iterations):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=gpus)
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.manual_seed(1)
    model, source = build()
    model = torch.nn.parallel.DistributedDataParallel(model.cuda(rank).train(), device_ids=[rank])
    opt = torch.optim.SGD(model.parameters(), lr=1e-7, momentum=0.9, nesterov=True)
    x = torch.rand(batch, 3, 299, 299, device=rank) * 2 - 1
    t = (torch.arange(batch, device=rank) % 2).float().unsqueeze(1)

    def step():
        opt.zero_grad(set_to_none=True)
        F.binary_cross_entropy_with_logits(model(x), t).backward()
        opt.step()

    step()
    torch.cuda.synchronize()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    torch.cuda.synchronize()
    dist.barrier()
    per_step = (time.perf_counter() - start) / iterations
    if rank == 0:
        print(f"# PyTorch {torch.__version__}, Inception-v3 from {source}, DDP over NCCL on {gpus} GPUs",
              file=sys.stderr)
        print(f"pytorch ddp {gpus} {batch} {gpus * batch / per_step:.2f} {per_step * 1000:.2f} "
              f"{torch.cuda.max_memory_allocated() / 2**20:.0f}", flush=True)
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gpus", type=int, required=True)
    p.add_argument("--batch", type=int, default=64, help="per GPU")
    p.add_argument("--iterations", type=int, default=10)
    args = p.parse_args()
    mp.spawn(replica, args=(args.gpus, free_port(), args.batch, args.iterations), nprocs=args.gpus)


if __name__ == "__main__":
    main()
