#!/usr/bin/env bash
# Storing 8 MB DICOM instances as the receiver does (one INSERT, committed, fsync on): the column's STORAGE and
# compression and wal_compression, side by side in one run, with the WAL each writes. Pixel data that does
# not compress makes compression wasted time; PostgreSQL writes a committed value to WAL, then to the table.
# Run by scripts/bench.sh, which starts the server (changed settings are reset at the end).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
source "$REPO/scripts/lib.sh"
LARGE=${STORAGE_BENCH_LARGE:-12}
dir="$PGSCREEN_BENCH_DIR/storage"
rm -rf "$dir"
mkdir -p "$dir"
/usr/bin/python3 "$REPO/test/t/pacs/corpus.py" "$dir/large" --large "$LARGE" >/dev/null
give_to_postgres "$dir"
files=("$dir"/large/*)
input_bytes=$(cat "${files[@]}" | wc -c)

sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# MB/s of the best of three rounds of one committed INSERT per file; WAL bytes and table size of the last.
store() {
	local label=$1 storage=$2 compression=$3 wal_compression=$4 best=1e18 wal stored
	sql -c "DROP TABLE IF EXISTS storage_bench" -c "CREATE TABLE storage_bench (id serial, dcm bytea)" \
		-c "ALTER TABLE storage_bench ALTER COLUMN dcm SET STORAGE $storage" \
		-c "ALTER TABLE storage_bench ALTER COLUMN dcm SET COMPRESSION $compression" \
		-c "ALTER SYSTEM SET wal_compression = $wal_compression" -c "SELECT pg_reload_conf()" >/dev/null
	for _ in 1 2 3; do
		sql -c "TRUNCATE storage_bench" -c "CHECKPOINT"
		local lsn t0 t1
		lsn=$(sql -c "SELECT pg_current_wal_lsn()")
		t0=$(date +%s.%N)
		for f in "${files[@]}"; do
			echo "INSERT INTO storage_bench (dcm) VALUES (pg_read_binary_file('$f'));"
		done | sql
		t1=$(date +%s.%N)
		wal=$(sql -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn')")
		best=$(awk -v a="$best" -v b="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 'BEGIN { print (b < a) ? b : a }')
	done
	stored=$(sql -c "SELECT pg_total_relation_size('storage_bench')")
	awk -v l="$label" -v n="$input_bytes" -v s="$best" -v w="$wal" -v t="$stored" \
		'BEGIN { printf "%-44s %9.1f %10.1f %10.1f\n", l, n / s / 1e6, w / 1e6, t / 1e6 }'
}

uptime_before=$(uptime)
results=$(
	store "STORAGE EXTERNAL (no compression)" EXTERNAL pglz off
	store "STORAGE EXTENDED, COMPRESSION pglz" EXTENDED pglz off
	store "STORAGE EXTENDED, COMPRESSION lz4" EXTENDED lz4 off
	store "STORAGE EXTERNAL, wal_compression = lz4" EXTERNAL pglz lz4
)
uptime_after=$(uptime)
sql -c "ALTER SYSTEM RESET wal_compression" -c "SELECT pg_reload_conf()" -c "DROP TABLE storage_bench" >/dev/null
loaded=$(awk -v cores="$(nproc)" '{ print ($1 > cores / 2) ? "UNDER LOAD" : "quiet" }' /proc/loadavg)

echo "Storing ${#files[@]} instances of $(awk -v n="$input_bytes" -v k="${#files[@]}" 'BEGIN { printf "%.1f", n / k / 1e6 }') MB, one committed INSERT each; machine $loaded"
echo "uptime before: $uptime_before"
echo "uptime after:  $uptime_after"
printf "%-44s %9s %10s %10s %12s\n" "" "MB/s" "WAL MB" "table MB" "vs EXTERNAL"
first=$(echo "$results" | head -n1 | awk '{ print $(NF - 2) }')
echo "$results" | awk -v base="$first" '{ printf "%s %11.2fx\n", $0, $(NF - 2) / base }'
awk -v n="$input_bytes" 'BEGIN { printf "%-44s %9s %10s %10.1f\n", "the files themselves", "", "", n / 1e6 }'
