#!/usr/bin/env bash
# make bench: build, install into a throwaway tree, start a server, then run every test/bench/*/run.sh,
# each printing pgscreen beside its peer in the same run. Output is also saved in build/bench/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

"$REPO/scripts/deps.sh" scripts/packages.txt scripts/packages-bench.txt
make -s -j"$(nproc)" all unit-tests
RUN=$(make_run_dir bench)
BINDIR=$(temp_install "$RUN/install")
start_server "$RUN/server" "$BINDIR"
trap 'stop_server "$RUN/server" "$BINDIR"; rm -rf "$RUN"' EXIT
as_postgres "$BINDIR/psql" -q -d postgres -c 'CREATE DATABASE pgscreen_bench'
export PGDATABASE=pgscreen_bench PGSCREEN_BINDIR=$BINDIR PGSCREEN_BENCH_DIR="$RUN/work"
mkdir -p "$PGSCREEN_BENCH_DIR" build/bench
give_to_postgres "$PGSCREEN_BENCH_DIR"
as_postgres "$BINDIR/psql" -q -c 'CREATE EXTENSION pgscreen'

out="build/bench/bench-$(date +%Y%m%d-%H%M%S).txt"
{
	echo "pgscreen benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	for bench in test/bench/${BENCH:-*}/run.sh; do
		echo
		echo "== $bench"
		bash "$bench"
	done
} 2>&1 | tee "$out"
echo "saved in $out"
