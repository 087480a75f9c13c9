#!/usr/bin/env bash
# make check: install missing packages, build, install into a throwaway tree, then check that no source
# files depend on each other in a cycle and run the unit tests, the oracles, pg_regress, the TAP tests and
# every fuzz target for 30 seconds from its seeds. Exits non-zero if anything fails; ends with each runner's
# summary line.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

"$REPO/scripts/deps.sh" || exit 1
echo "== build"
make -s -j"$(nproc)" all unit-tests || { echo "check: build failed"; exit 1; }

RUN=$(make_run_dir check)
BINDIR=$(temp_install "$RUN/install") || { echo "check: install failed"; exit 1; }
export PGSCREEN_BINDIR=$BINDIR PGSCREEN_RUN_DIR=$RUN

declare -a names=() results=() summaries=()
failed=0

# Run one stage, keep its output in $RUN/<name>.log, remember its last summary-looking line.
stage() {
	local name=$1
	shift
	echo "== $name"
	"$@" 2>&1 | tee "$RUN/$name.log"
	local rc=${PIPESTATUS[0]}
	names+=("$name")
	results+=("$([ "$rc" -eq 0 ] && echo ok || echo FAILED)")
	summaries+=("$(grep -E 'All tests successful|Result: |tests? (passed|failed)|Files=|oracles:|deps check:|include cycles:|^fuzz:' "$RUN/$name.log" | tail -n 2 | paste -sd' ')")
	[ "$rc" -eq 0 ] || failed=1
}

stage cycles python3 "$REPO/scripts/check-include-cycles.py"
stage unit "$REPO/scripts/run-unit.sh"
stage pydeps "$REPO/scripts/run-deps-check.sh"
stage oracle "$REPO/scripts/run-oracles.sh"
stage regress "$REPO/scripts/run-regress.sh"
stage tap "$REPO/scripts/run-tap.sh"
# A short run of each libFuzzer target: a parser regression shows here, long runs are `make fuzz`.
stage fuzz env FUZZ_SECONDS=30 FUZZ_SEED=1 "$REPO/scripts/fuzz.sh"

echo
echo "== summary"
for i in "${!names[@]}"; do
	printf '%-8s %-7s %s\n' "${names[$i]}" "${results[$i]}" "${summaries[$i]}"
done
if [ "$failed" -eq 0 ]; then
	echo "make check: all stages passed"
	rm -rf "$RUN"
else
	echo "make check: FAILED (logs in $RUN)"
fi
exit "$failed"
