#!/usr/bin/env bash
# JPEG decode throughput: pgscreen in SQL (to_npy, image_info) and in-process, beside djpeg, on the same
# files in one run, one core each (parallel query off). Run by scripts/bench.sh, which starts the server.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
source "$REPO/scripts/lib.sh"
N=${DECODE_BENCH_FILES:-60}
dir="$PGSCREEN_BENCH_DIR/decode"
mkdir -p "$dir"

# Photograph-like JPEGs of 3 and 10 megapixels with sensor-like noise, about 1 MB per 10 MP as the Kaggle
# EyePACS photographs (2 to 15 MP, ≈ 1 MB each).
/usr/bin/python3 - "$dir" "$N" <<'PY'
import sys, numpy as np
from PIL import Image
out, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
for i in range(n):
    w, h = (2048, 1536) if i % 2 == 0 else (3888, 2592)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(x - w / 2, y - h / 2) / (0.45 * h)
    base = np.stack([200 - 90 * r, 90 - 50 * r, 40 - 20 * r], -1)
    base *= (r < 1)[..., None]
    base += rng.normal(0, 3, (h, w, 3)).astype(np.float32)
    Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(f"{out}/photo{i:03d}.jpg", quality=90)
PY
give_to_postgres "$dir"
files=("$dir"/photo*.jpg)
megapixels=$(/usr/bin/python3 -c "
import sys; from PIL import Image
print(round(sum(Image.open(f).size[0]*Image.open(f).size[1] for f in sys.argv[1:])/1e6, 1))" "${files[@]}")

psql -q -X -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS photos; CREATE TABLE photos (id int, img bytea);" \
	-c "ALTER TABLE photos ALTER COLUMN img SET STORAGE EXTERNAL;" \
	-c "INSERT INTO photos SELECT i, pg_read_binary_file('$dir/photo' || lpad(i::text, 3, '0') || '.jpg')
	    FROM generate_series(0, $N - 1) i;" -c "VACUUM ANALYZE photos;"

# Best of three runs of a query, in seconds.
time_sql() {
	local best=""
	for _ in 1 2 3; do
		local t
		t=$(psql -X -At -c "SET max_parallel_workers_per_gather = 0" -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n1)
		best=$(awk -v a="${best:-1e18}" -v b="$t" 'BEGIN { print (b < a) ? b : a }')
	done
	awk -v ms="$best" 'BEGIN { printf "%.4f", ms / 1000 }'
}

time_cmd() {
	hyperfine -N --runs 3 --export-json "$dir/h.json" "$1" >/dev/null 2>&1
	/usr/bin/python3 -c "import json; print('%.4f' % min(json.load(open('$dir/h.json'))['results'][0]['times']))"
}

sql_full=$(time_sql "SELECT sum(length(screen.to_npy(img))) FROM photos")
sql_quarter=$(time_sql "SELECT sum(length(screen.to_npy(img, 0, 4))) FROM photos")
sql_info=$(time_sql "SELECT count((screen.image_info(img)).width) FROM photos")
printf '%s\n' "${files[@]}" > "$dir/list"
djpeg_full=$(time_cmd "bash -c 'while read f; do djpeg -outfile /dev/null \$f; done < $dir/list'")
djpeg_quarter=$(time_cmd "bash -c 'while read f; do djpeg -scale 1/4 -outfile /dev/null \$f; done < $dir/list'")
kernel_full=$(time_cmd "$REPO/build/test/tools/pgs_decode --bench 1 ${files[*]}")

echo "JPEG decode, $N files, $megapixels megapixels in all, one core; images/s (higher is better)"
awk -v n="$N" -v mp="$megapixels" -v sf="$sql_full" -v sq="$sql_quarter" -v si="$sql_info" \
	-v df="$djpeg_full" -v dq="$djpeg_quarter" -v kf="$kernel_full" 'BEGIN {
	printf "%-44s %10s %10s %14s\n", "path", "images/s", "MP/s", "vs djpeg";
	printf "%-44s %10.1f %10.1f %14s\n", "djpeg (libjpeg-turbo CLI), full size", n/df, mp/df, "1.00";
	printf "%-44s %10.1f %10.1f %13.2fx\n", "pgscreen kernel decode, in-process", n/kf, mp/kf, df/kf;
	printf "%-44s %10.1f %10.1f %13.2fx\n", "SQL screen.to_npy(img)", n/sf, mp/sf, df/sf;
	printf "%-44s %10.1f %10s %14s\n", "djpeg -scale 1/4", n/dq, "-", "1.00";
	printf "%-44s %10.1f %10s %13.2fx\n", "SQL screen.to_npy(img, 0, 4) (DCT scaling)", n/sq, "-", dq/sq;
	printf "%-44s %10.1f %10s %14s\n", "SQL screen.image_info(img) (header only)", n/si, "-", "-";
}'
