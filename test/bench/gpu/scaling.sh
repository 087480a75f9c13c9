#!/usr/bin/env bash
# Data-parallel training on 1..N GPUs: pgscreen's replicas (gradients averaged over NCCL every step, as a
# job with "devices" trains) beside PyTorch DistributedDataParallel over NCCL on the same GPUs, in one run:
# images/s of all GPUs together and the scaling efficiency, images/s(n) / (n × images/s(1)). Inception-v3 at
# 299×299, a fixed batch per GPU (weak scaling). Needs only this repository, the CUDA toolkit and PyTorch
# (whose wheels carry cuDNN and NCCL): the engine is built without PostgreSQL. Run it on a GPU machine:
#   test/bench/gpu/scaling.sh            (SCALING_BATCH per GPU, default 64; SCALING_ITERATIONS, default 10)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$REPO"
PYTHON=${PYTHON:-python3}
BATCH=${SCALING_BATCH:-64}
ITERATIONS=${SCALING_ITERATIONS:-10}

if ! gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU'); then
	gpus=0
fi
if [ "$gpus" -lt 1 ]; then
	echo "GPU scaling benchmark skipped: no NVIDIA GPU on this machine"
	exit 0
fi
GPUS=${SCALING_GPUS:-$gpus}
make -s -f test/gpucheck/gpucheck.mk CUDA=1 -j"$(nproc)" bench-bins
export PGS_CUDA_MODULE="$REPO/pgscreen_cuda.so"
# NCCL: the toolkit's, else the one PyTorch's wheels bring (the module also looks there itself).
nccl_dir=$("$PYTHON" -c 'import nvidia.nccl as m, os; print(os.path.join(m.__path__[0], "lib"))' 2>/dev/null || true)
export LD_LIBRARY_PATH="${nccl_dir:+$nccl_dir:}${LD_LIBRARY_PATH:-}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

name=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n1)
echo "Data-parallel Inception-v3 training (299×299, batch $BATCH per GPU, SGD, TF32), $GPUS × $name,"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname)"
for n in $(seq 1 "$GPUS"); do
	build/gpucheck/pgs_nn_bench --device cuda --mode train --replicas "$n" --batch "$BATCH" \
		--iterations "$ITERATIONS" >>"$out/results" 2>>"$out/log"
	"$PYTHON" test/bench/gpu/torch_ddp.py --gpus "$n" --batch "$BATCH" --iterations "$ITERATIONS" \
		>>"$out/results" 2>>"$out/log"
done
sort -u "$out/log" | sed 's/^/  /'
awk '
	$2 == "ddp" { ips[$1, $3] = $5 }
	END {
		printf "%5s %16s %11s %16s %11s %10s\n", "GPUs", "pgscreen img/s", "efficiency", "PyTorch img/s",
			"efficiency", "ratio";
		for (n = 1; (("pgscreen", n) in ips) || (("pytorch", n) in ips); n++) {
			p = ips["pgscreen", n]; t = ips["pytorch", n];
			pe = ips["pgscreen", 1] > 0 ? p / (n * ips["pgscreen", 1]) : 0;
			te = ips["pytorch", 1] > 0 ? t / (n * ips["pytorch", 1]) : 0;
			printf "%5d %16.1f %10.0f%% %16.1f %10.0f%% %9.2fx\n", n, p, 100 * pe, t, 100 * te, (t > 0 ? p / t : 0);
		}
	}' "$out/results"
echo "(images/s of all GPUs together; efficiency = images/s on n GPUs / (n × images/s on one);"
echo " ratio = pgscreen / PyTorch; both sides time $ITERATIONS steps after one warm-up step)"
