#!/usr/bin/env bash
# Inception-v3 on the CPU: pgscreen's engine beside Debian's PyTorch (which runs oneDNN) in one run —
# inference at batch 1 and 32, a training step at batch 8 — with the same thread count, and the peak
# resident memory of each process. Run by `make bench`, or directly after `make unit-tests`.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
THREADS=${CPU_BENCH_THREADS:-$(nproc)}
ITERATIONS=${CPU_BENCH_ITERATIONS:-3}
tool="$REPO/build/test/tools/pgs_nn_bench"
[ -x "$tool" ] || make -C "$REPO" -s unit-tests
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# One measurement: the last line of the run, with the process's peak RSS (MiB) appended.
measure() {
	local name=$1
	shift
	/usr/bin/time -f "%M" -o "$out/rss" "$@" >"$out/line" 2>>"$out/log"
	echo "$(tail -n1 "$out/line") $(($(cat "$out/rss") / 1024))" >>"$out/results"
}

for run in "infer 1" "infer 32" "train 8"; do
	set -- $run
	measure pgscreen "$tool" --device cpu --mode "$1" --batch "$2" --iterations "$ITERATIONS" --threads "$THREADS"
	measure pytorch /usr/bin/python3 "$REPO/test/bench/torch_inception.py" --device cpu --mode "$1" --batch "$2" \
		--iterations "$ITERATIONS" --threads "$THREADS"
done
echo "Inception-v3 (299×299, 1 sigmoid output) on the CPU, float32, $THREADS threads each, mean of $ITERATIONS iterations after a warm-up"
sed 's/^/  /' "$out/log" | sort -u
awk '
	{ key = $2 " " $3; ips[$1, key] = $4; rss[$1, key] = $7; if (!(key in seen)) { seen[key] = 1; order[n++] = key } }
	END {
		printf "%-7s %6s %14s %14s %10s %16s %16s\n", "mode", "batch", "pgscreen img/s", "PyTorch img/s",
			"ratio", "pgscreen RSS MiB", "PyTorch RSS MiB";
		for (i = 0; i < n; i++) {
			split(order[i], k, " ");
			p = ips["pgscreen", order[i]]; t = ips["pytorch", order[i]];
			printf "%-7s %6d %14.2f %14.2f %9.2fx %16s %16s\n", k[1], k[2], p, t, (t > 0 ? p / t : 0),
				rss["pgscreen", order[i]], rss["pytorch", order[i]];
		}
	}' "$out/results"
echo "(ratio = pgscreen / PyTorch; RSS = peak resident memory of the whole process, weights and Python included)"
