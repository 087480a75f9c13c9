#!/usr/bin/env bash
# Runs pg_regress over test/sql against a throwaway server with pgscreen preloaded (expected output in
# the top-level expected/). Inputs are copied to a directory the postgres user owns.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

dir="$PGSCREEN_RUN_DIR/regress"
mkdir -p "$dir/sql"
cp test/sql/*.sql "$dir/sql/"
cp -r expected "$dir/expected"
cp test/regress.conf "$dir/"
give_to_postgres "$dir"
tests=$(ls test/sql/*.sql | xargs -n1 basename | sed 's/\.sql$//' | sort)
bindir_root=$(dirname "$PGSCREEN_BINDIR")

as_postgres "$bindir_root/lib/pgxs/src/test/regress/pg_regress" \
	--temp-instance="$dir/instance" --bindir="$PGSCREEN_BINDIR" \
	--inputdir="$dir" --outputdir="$dir" --temp-config="$dir/regress.conf" \
	--dbname=pgscreen_regress --load-extension=pgscreen $tests
rc=$?
if [ $rc -ne 0 ] && [ -f "$dir/regression.diffs" ]; then
	echo "---- regression.diffs (first 200 lines) ----"
	head -n 200 "$dir/regression.diffs"
fi
exit $rc
