#!/usr/bin/env bash
# AUC + DeLong 95 % CI in SQL over 1e6 and 1e7 rows, beside scikit-learn's roc_auc_score (AUC only) and a bare
# C sort-and-rank-sum (the floor) on the same data in the same run. Run by scripts/bench.sh, which starts the
# server; ROC_BENCH_SIZES overrides the sizes, ROC_BENCH_RUNS the repetitions (best of, default 3).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
source "$REPO/scripts/lib.sh"
SIZES=${ROC_BENCH_SIZES:-"1000000 10000000"}
RUNS=${ROC_BENCH_RUNS:-3}
TOOL="$REPO/build/test/tools/pgs_roc"
dir="$PGSCREEN_BENCH_DIR/roc"
mkdir -p "$dir"

# Network outputs as scored: float32 sigmoids of a binormal logit (AUC about 0.80), 20 % positives, written
# for the server (COPY BINARY) and for pgs_roc and NumPy (n, float64 scores, uint8 labels).
generate() {
	/usr/bin/python3 - "$1" "$dir/roc_$1" <<'PY'
import sys
import numpy as np
n, out = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(7)
labels = rng.random(n) < 0.2
scores = (1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * labels)))).astype(np.float32).astype(np.float64)
with open(out + ".bin", "wb") as f:
    f.write(np.uint64(n).tobytes()); f.write(scores.astype("<f8").tobytes()); f.write(labels.astype(np.uint8).tobytes())
rows = np.empty(n, dtype=[("fields", ">i2"), ("len1", ">i4"), ("score", ">f8"), ("len2", ">i4"), ("label", "u1")])
rows["fields"], rows["len1"], rows["score"], rows["len2"], rows["label"] = 2, 8, scores, 1, labels
with open(out + ".copy", "wb") as f:
    f.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8)); f.write(rows.tobytes()); f.write(b"\xff\xff")
PY
}

# One timing of a query, in seconds; the settings go first in the same session.
time_sql() {
	psql -X -At -c "$1" -c '\timing on' -c "$2" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n1 |
		awk '{ printf "%.4f", $1 / 1000 }'
}

# Keep the smaller of result[key] and a new timing.
keep_min() {
	result[$1]=$(awk -v a="${result[$1]:-1e18}" -v b="$2" 'BEGIN { printf "%.4f", (b < a) ? b : a }')
}

# scikit-learn's roc_auc_score on the arrays, timed once with the arrays already in memory.
sklearn_once() {
	/usr/bin/python3 - "$1" 2>"$dir/stderr" <<'PY'
import sys, time
import numpy as np
from sklearn.metrics import roc_auc_score
path = sys.argv[1]
n = int(np.fromfile(path, dtype="<u8", count=1)[0])
scores = np.fromfile(path, dtype="<f8", count=n, offset=8)
labels = np.fromfile(path, dtype=np.uint8, count=n, offset=8 + 8 * n).astype(bool)
t = time.perf_counter()
auc = roc_auc_score(labels, scores)
print(f"{time.perf_counter() - t:.4f}")
print(f"{n} rows: sklearn auc = {auc:.12f}", file=sys.stderr)
PY
}

load_before=$(cut -d" " -f1-3 /proc/loadavg)
rm -f "$dir/notes"
serial="SET max_parallel_workers_per_gather = 0"
parallel="SET max_parallel_workers_per_gather = 2"
declare -A result
for n in $SIZES; do
	generate "$n"
	give_to_postgres "$dir"
	t="roc_bench_$n"
	psql -q -X -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
		-c "DROP TABLE IF EXISTS $t; CREATE TABLE $t (score float8, label boolean)" \
		-c "COPY $t FROM '$dir/roc_$n.copy' (FORMAT binary)" -c "VACUUM ANALYZE $t" -c "SELECT count(*) FROM $t" >/dev/null
	ci="SELECT ci.* FROM (SELECT screen.roc(score, label) AS r FROM $t) s, screen.auc_ci(r) ci"
	echo "$n rows: SQL auc|lower|upper|se = $(psql -X -At -c "$ci")" >>"$dir/notes"
	# Rounds of every measurement in turn, keeping each one's best: on a shared machine the load drifts,
	# and interleaving lets every path meet the same quiet moments.
	for round in $(seq "$RUNS"); do
		keep_min "$n,scan" "$(time_sql "$serial" "SELECT count(score), count(label) FROM $t")"
		keep_min "$n,sql" "$(time_sql "$serial" "$ci")"
		keep_min "$n,par" "$(time_sql "$parallel" "$ci")"
		keep_min "$n,auc" "$(time_sql "$serial" "SELECT screen.auc(screen.roc(score, label)) FROM $t")"
		keep_min "$n,sklearn" "$(sklearn_once "$dir/roc_$n.bin")"
		[ "$round" -eq 1 ] && cat "$dir/stderr" >>"$dir/notes"
		for cmd in floor bench; do
			read -r first second <<<"$("$TOOL" "$cmd" "$dir/roc_$n.bin" 1 2>"$dir/stderr")"
			[ "$round" -eq 1 ] && sed "s/^/$n rows: /" "$dir/stderr" >>"$dir/notes"
			if [ "$cmd" = floor ]; then
				keep_min "$n,qsort" "$first"
				keep_min "$n,radix" "$second"
			else
				keep_min "$n,build" "$first"
				keep_min "$n,stats" "$second"
			fi
		done
	done
	psql -q -X -c "DROP TABLE $t"
	rm -f "$dir/roc_$n.copy" "$dir/roc_$n.bin"
done

echo "ROC: AUC + DeLong 95% CI, float32 sigmoid scores, 20% positives; seconds, best of $RUNS interleaved rounds (lower is better)"
echo "load average before: $load_before"
printf '%-58s' "path"
for n in $SIZES; do printf '%22s' "$n rows"; done
echo
row() {
	local label=$1 key=$2 ref=${3:-} how=${4:-}
	printf '%-58s' "$label"
	for n in $SIZES; do
		local v=${result[$n,$key]} cell
		if [ -n "$ref" ]; then
			cell=$(awk -v v="$v" -v r="${result[$n,$ref]}" -v how="$how" 'BEGIN {
				if (how == "faster") printf "%.3f (%.1fx faster)", v, r / v; else printf "%.3f (%.2fx floor)", v, v / r }')
		else
			cell=$(printf '%.3f' "$v")
		fi
		printf '%22s' "$cell"
	done
	echo
}
for n in $SIZES; do
	result[$n,agg]=$(awk -v a="${result[$n,sql]}" -v b="${result[$n,scan]}" 'BEGIN { printf "%.4f", a - b }')
done
row "scikit-learn roc_auc_score (AUC only, arrays in memory)" sklearn
row "SQL auc_ci(roc(score, label)), 1 core, vs sklearn" sql sklearn faster
row "SQL auc_ci(roc(score, label)), 2 parallel workers" par sklearn faster
row "SQL auc(roc(score, label)), 1 core" auc sklearn faster
row "SQL scan: count(score), count(label), 1 core" scan
row "  aggregate itself (auc_ci query minus scan) vs radix floor" agg radix
row "  aggregate itself vs qsort floor" agg qsort
row "kernel in-process: builder (add + encode)" build
row "kernel in-process: AUC + DeLong CI from the roc value" stats
row "C floor: qsort (score, label) + midrank sum" qsort
row "C floor: radix sort (score, label) + midrank sum" radix
echo "The same data gave the same AUC on every path:"
sed 's/^/  /' "$dir/notes"
