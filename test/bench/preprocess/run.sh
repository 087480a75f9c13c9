#!/usr/bin/env bash
# Fundus preprocessing throughput: pgscreen (in SQL and in-process) beside the replication's Python/OpenCV
# steps and beside a bare libjpeg-turbo decode, on the same JPEG files in one run, one core each; then the
# speed-up of SELECT fundus_preprocess(img) FROM photos with 2 parallel workers. Run by scripts/bench.sh.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
source "$REPO/scripts/lib.sh"
N=${PREPROCESS_BENCH_FILES:-24}
ROUNDS=${PREPROCESS_BENCH_ROUNDS:-3}
dir="$PGSCREEN_BENCH_DIR/preprocess"
tool="$REPO/build/test/tools/pgs_preprocess"
mkdir -p "$dir"

# Synthetic photographs as fundus cameras write them: 3888, 2592 and 2048 pixels wide (≈ 4–11 MP; EyePACS
# photographs range from 2 to 15 MP), JPEG quality 72–96.
for i in $(seq 0 $((N - 1))); do
	size=$((i % 3 == 0 ? 3888 : i % 3 == 1 ? 2592 : 2048))
	"$tool" synthetic $((1000 + i)) $((i % 5)) "$size" "$dir/photo$(printf %03d "$i").jpg" >/dev/null
done
give_to_postgres "$dir"
files=("$dir"/photo*.jpg)
stats=$(/usr/bin/python3 -c "
import sys, os; from PIL import Image
mp = sum(Image.open(f).size[0] * Image.open(f).size[1] for f in sys.argv[1:]) / 1e6
print(f'{mp:.0f} {sum(os.path.getsize(f) for f in sys.argv[1:]) / 2**20:.1f}')" "${files[@]}")
megapixels=${stats% *}
mebibytes=${stats#* }

# The SQL table holds each file COPIES times (parallel workers share a scan by heap page, and a page holds
# many TOASTed rows: fillfactor 10 and a few copies give the workers pages to share).
COPIES=${PREPROCESS_BENCH_COPIES:-4}
psql -q -X -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS photos;" \
	-c "CREATE TABLE photos (id int, img bytea) WITH (fillfactor = 10, parallel_workers = 2);" \
	-c "ALTER TABLE photos ALTER COLUMN img SET STORAGE EXTERNAL;" \
	-c "INSERT INTO photos SELECT c * $N + i, pg_read_binary_file('$dir/photo' || lpad(i::text, 3, '0') || '.jpg')
	    FROM generate_series(0, $COPIES - 1) c, generate_series(0, $N - 1) i;" \
	-c "VACUUM ANALYZE photos;"
rows=$((N * COPIES))

# Best of ROUNDS runs of a query with the given number of parallel workers, in seconds.
time_sql() {
	local workers=$1 query=$2 best=""
	for _ in $(seq "$ROUNDS"); do
		local t
		t=$(psql -X -At -c "SET max_parallel_workers_per_gather = $workers" -c '\timing on' -c "$query" |
			sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n1)
		best=$(awk -v a="${best:-1e18}" -v b="$t" 'BEGIN { print (b < a) ? b : a }')
	done
	awk -v ms="$best" 'BEGIN { printf "%.4f", ms / 1000 }'
}

# Best of ROUNDS in-process runs of the tool (seconds for one pass over the files).
time_tool() {
	local best=""
	for _ in $(seq "$ROUNDS"); do
		local t
		t=$("$tool" "$1" 1 "${files[@]}" | sed -n 's/.* in \([0-9.]*\) s$/\1/p')
		best=$(awk -v a="${best:-1e18}" -v b="$t" 'BEGIN { print (b < a) ? b : a }')
	done
	echo "$best"
}

query="SELECT count(screen.fundus_preprocess(img)) FROM photos"
sql_serial=$(time_sql 0 "$query")
sql_parallel=$(time_sql 2 "$query")
kernel=$(time_tool bench-fundus)
decode=$(time_tool bench-decode)
decode_scaled=$(time_tool bench-decode-scaled)
# The replication's steps in Python: cv2.imread, then contrast curve, contour, circle, crop, resize, pad
# (test/oracle/fundus_oracle.py), with OpenCV held to one thread.
oracle=$(REPO="$REPO" /usr/bin/python3 - "$ROUNDS" "${files[@]}" <<'PY'
import os, sys, time
sys.path.insert(0, os.path.join(os.environ["REPO"], "test/oracle"))
import cv2
from fundus_oracle import voets2018
cv2.setNumThreads(1)
rounds, files = int(sys.argv[1]), sys.argv[2:]
data = [open(f, "rb").read() for f in files]
import numpy as np
best = 1e18
for _ in range(rounds):
    t = time.perf_counter()
    for d in data:
        out, _ = voets2018(cv2.imdecode(np.frombuffer(d, np.uint8), cv2.IMREAD_COLOR))
        assert out is not None and out.shape == (299, 299, 3)
    best = min(best, time.perf_counter() - t)
print(f"{best:.4f}")
PY
)

echo "Fundus preprocessing to 299×299 (voets2018), $N JPEG photographs, $megapixels MP and $mebibytes MiB in all;"
echo "photographs/s on one core unless said otherwise (higher is better)"
awk -v n="$N" -v rows="$rows" -v ss="$sql_serial" -v sp="$sql_parallel" -v k="$kernel" -v d="$decode" -v ds="$decode_scaled" -v o="$oracle" 'BEGIN {
	printf "%-58s %10s %12s\n", "path", "photos/s", "ratio";
	printf "%-58s %10.1f %12s\n", "Python/OpenCV, the replication'"'"'s steps (cv2.imdecode + voets2018)", n/o, "1.00";
	printf "%-58s %10.1f %11.2fx\n", "pgscreen, in-process (fundus kernel)", n/k, o/k;
	printf "%-58s %10.1f %11.2fx\n", "pgscreen, SQL screen.fundus_preprocess(img)", rows/ss, o/n*rows/ss;
	printf "%-58s %10.1f %12s\n", "bare libjpeg-turbo decode at full size (the floor)", n/d, "1.00";
	printf "%-58s %10.1f %11.2fx\n", "pgscreen, SQL, time relative to the bare decode", rows/ss, ss/rows*n/d;
	printf "%-58s %10.1f %11.2fx\n", "bare decode at the DCT scale pgscreen chose (its time rel.)", n/ds, ds/d;
	printf "%-58s %10.1f %11.2fx\n", "pgscreen, SQL with 2 parallel workers (vs serial SQL)", rows/sp, ss/sp;
}'
echo "(ratio: speed relative to the peer, except 'time relative to the bare decode': time per photograph / decode time;"
echo " SQL rows: each file $COPIES times, $rows rows; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
