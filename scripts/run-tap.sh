#!/usr/bin/env bash
# Runs the TAP tests of test/t (or those TAP_FILES names, e.g. TAP_FILES=t/090_doc_examples.pl) with PostgreSQL's Perl framework; each test starts its own servers.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

dir="$PGSCREEN_RUN_DIR/tap"
mkdir -p "$dir"
cp -r test/t "$dir/t"
# The generator of the learnability tasks that the default-recipe test trains on.
mkdir -p "$dir/tools"
cp test/tools/learn_tasks.py "$dir/tools/"
# The demo SQL files that tests run, where the postgres user can read them (the clone may be private).
cp -r demo "$dir/demo"
# The pages whose SQL examples 090_doc_examples.pl runs.
mkdir -p "$dir/docs-root"
cp README.md "$dir/docs-root/" && cp -r docs "$dir/docs-root/docs"
mkdir -p "$dir/tmp_check"
give_to_postgres "$dir"
perl_dir="$(dirname "$PGSCREEN_BINDIR")/lib/pgxs/src/test/perl"

cd "$dir" && as_postgres env PATH="$PGSCREEN_BINDIR:$PATH" TESTDIR="$dir" PGSCREEN_DEMO="$dir/demo" PGSCREEN_DOCS="$dir/docs-root" \
	PG_REGRESS="$(dirname "$PGSCREEN_BINDIR")/lib/pgxs/src/test/regress/pg_regress" \
	PGSCREEN_PKGLIBDIR="$(dirname "$PGSCREEN_BINDIR")/lib" \
	prove -I "$perl_dir" ${TAP_FILES:-t/*.pl}
