#!/usr/bin/env bash
# make demo: build and install pgscreen, start a local PostgreSQL (or use the one PGHOST/PGPORT name),
# then run the demo/*.sql steps in order in a fresh database. Pictures go to $DEMO_OUT (default
# ./demo-output). KEEP=1 leaves the demo server running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

"$REPO/scripts/deps.sh"
echo "== build and install"
make -s -j"$(nproc)" all
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo make -s install >/dev/null

export DEMO_OUT=${DEMO_OUT:-$REPO/demo-output}
mkdir -p "$DEMO_OUT"
server_dir=""
if [ -z "${PGHOST:-}" ] && [ -z "${PGPORT:-}" ]; then
	server_dir=/tmp/pgscreen-demo
	as_postgres "$($PG_CONFIG --bindir)/pg_ctl" -D "$server_dir/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$server_dir"
	echo "== starting a local PostgreSQL in $server_dir"
	start_server "$server_dir" "$($PG_CONFIG --bindir)" 54330
	[ "${KEEP:-0}" = 1 ] || trap 'stop_server "$server_dir" "$($PG_CONFIG --bindir)"' EXIT
else
	echo "== using the server at ${PGHOST:-localhost}:${PGPORT:-5432}"
fi

psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS pgscreen_demo' -c 'CREATE DATABASE pgscreen_demo'
# psql writes pictures itself (\o + base64), so the output directory must be the client's.
cd demo
for step in [0-9]*.sql; do
	echo
	echo "== demo/$step"
	psql -X -d pgscreen_demo -v ON_ERROR_STOP=1 -v out="$DEMO_OUT" -f "$step"
done
echo
echo "== pictures written to $DEMO_OUT:"
ls -l "$DEMO_OUT"
[ -z "$server_dir" ] || [ "${KEEP:-0}" != 1 ] || echo "server left running: PGHOST=$server_dir PGPORT=54330"
