#!/usr/bin/env bash
# Inception-v3 on the CPU: pgscreen's engine beside Debian's PyTorch (which runs oneDNN) in one run —
# inference at batch 1 and 32, a training step at batch 8 — with one thread and with all cores, and the
# peak resident memory of each process. Run by `make bench`, or directly after `make unit-tests`.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
THREAD_COUNTS=${CPU_BENCH_THREADS:-1 $(nproc)}
ITERATIONS=${CPU_BENCH_ITERATIONS:-3}
tool="$REPO/build/test/tools/pgs_nn_bench"
[ -x "$tool" ] || make -C "$REPO" -s unit-tests
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# One measurement: the run's result line, then the process's peak RSS (MiB) and the thread count.
measure() {
	local threads=$1
	shift
	/usr/bin/time -f "%M" -o "$out/rss" "$@" >"$out/line" 2>>"$out/log"
	echo "$(tail -n1 "$out/line") $(($(cat "$out/rss") / 1024)) $threads" >>"$out/results"
}

for threads in $THREAD_COUNTS; do
	for run in "infer 1" "infer 32" "train 8"; do
		set -- $run
		measure "$threads" "$tool" --device cpu --mode "$1" --batch "$2" --iterations "$ITERATIONS" --threads "$threads"
		measure "$threads" /usr/bin/python3 "$REPO/test/bench/torch_inception.py" --device cpu --mode "$1" \
			--batch "$2" --iterations "$ITERATIONS" --threads "$threads"
	done
done
echo "Inception-v3 (299×299, 1 sigmoid output) on the CPU, float32, mean of $ITERATIONS iterations after a warm-up"
sed 's/^/  /' "$out/log" | sort -u
awk '
	{ key = $8 " " $2 " " $3; ips[$1, key] = $4; rss[$1, key] = $7; if (!(key in seen)) { seen[key] = 1; order[n++] = key } }
	END {
		printf "%-7s %-6s %6s %14s %14s %8s %17s %16s\n", "threads", "mode", "batch", "pgscreen img/s",
			"PyTorch img/s", "ratio", "pgscreen RSS MiB", "PyTorch RSS MiB";
		for (i = 0; i < n; i++) {
			split(order[i], k, " ");
			p = ips["pgscreen", order[i]]; t = ips["pytorch", order[i]];
			printf "%-7s %-6s %6d %14.2f %14.2f %7.2fx %17s %16s\n", k[1], k[2], k[3], p, t, (t > 0 ? p / t : 0),
				rss["pgscreen", order[i]], rss["pytorch", order[i]];
		}
	}' "$out/results"
echo "(ratio = pgscreen / PyTorch; RSS = peak resident memory of the whole process, weights and Python included)"
