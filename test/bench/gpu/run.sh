#!/usr/bin/env bash
# Inception-v3 on one GPU: pgscreen's engine beside PyTorch eager, training steps and inference at batch
# 32/64/128, in one run. Needs only this repository, the CUDA toolkit and PyTorch (whose wheels carry
# cuDNN): it builds the engine without PostgreSQL. Run directly on a GPU machine, or by `make bench`
# (which prints "skipped" where there is no GPU).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$REPO"
PYTHON=${PYTHON:-python3}
BATCHES=${GPU_BENCH_BATCHES:-32 64 128}
ITERATIONS=${GPU_BENCH_ITERATIONS:-10}

if [ ! -e /dev/nvidia0 ] && ! nvidia-smi -L >/dev/null 2>&1; then
	echo "GPU benchmark skipped: no NVIDIA GPU on this machine"
	exit 0
fi
make -s -f test/gpucheck/gpucheck.mk CUDA=1 -j"$(nproc)" bench-bins
export PGS_CUDA_MODULE="$REPO/pgscreen_cuda.so"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n1 || echo "unknown GPU")
echo "Inception-v3 (299×299, 1 sigmoid output), float32 with TF32 tensor cores (both sides), $gpu"
for mode in train infer; do
	# shellcheck disable=SC2086
	build/gpucheck/pgs_nn_bench --device cuda --mode $mode --batch $BATCHES --iterations "$ITERATIONS" \
		>>"$out/results" 2>>"$out/log"
	# shellcheck disable=SC2086
	"$PYTHON" test/bench/torch_inception.py --device cuda --mode $mode --batch $BATCHES \
		--iterations "$ITERATIONS" >>"$out/results" 2>>"$out/log"
done
sed 's/^/  /' "$out/log"
awk '
	{ key = $2 " " $3; ips[$1, key] = $4; mem[$1, key] = $6; if (!(key in seen)) { seen[key] = 1; order[n++] = key } }
	END {
		printf "%-7s %6s %14s %14s %10s %16s %16s\n", "mode", "batch", "pgscreen img/s", "PyTorch img/s",
			"ratio", "pgscreen MiB", "PyTorch peak MiB";
		for (i = 0; i < n; i++) {
			split(order[i], k, " ");
			p = ips["pgscreen", order[i]]; t = ips["pytorch", order[i]];
			printf "%-7s %6d %14.1f %14.1f %9.2fx %16s %16s\n", k[1], k[2], p, t, (t > 0 ? p / t : 0),
				mem["pgscreen", order[i]], mem["pytorch", order[i]];
		}
	}' "$out/results"
echo "(ratio = pgscreen / PyTorch; pgscreen MiB is its planned activation, gradient and workspace memory,"
echo " PyTorch's is torch.cuda.max_memory_allocated; both exclude the CUDA context)"
