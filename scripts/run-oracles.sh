#!/usr/bin/env bash
# Runs every oracle in test/oracle (Debian's Python with numpy, Pillow, ...) against the built tools.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

passed=0
failed=0
for oracle in test/oracle/*_oracle.py; do
	echo "-- $oracle"
	if /usr/bin/python3 "$oracle"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "oracles: $passed files passed, $failed failed"
[ "$failed" -eq 0 ]
