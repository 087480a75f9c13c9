#!/usr/bin/env bash
# The Python dependency check, then proof that it bites: with each Python package of the lists left out in
# turn, the check must fail and name that package.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

scripts/check-python-deps.py || exit 1

passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for pkg in $(sed -e 's/#.*//' scripts/packages.txt scripts/packages-bench.txt | awk '$1 ~ /^python3-/ {print $1}'); do
	for list in packages.txt packages-bench.txt; do
		grep -v -E "^$pkg([[:space:]]|$)" "scripts/$list" >"$tmp/$list"
	done
	out=$(scripts/check-python-deps.py --list "$tmp/packages.txt" --list "$tmp/packages-bench.txt" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		# Nothing imports it: a package that ships corpus files, not a module (python3-nibabel's data).
		echo "ok: $pkg is imported by no script (data only)"
		continue
	fi
	if grep -q "$pkg" <<<"$out"; then
		echo "ok: leaving $pkg out is caught"
		passed=$((passed + 1))
	else
		echo "not ok: leaving $pkg out fails without naming it:"
		echo "$out"
		failed=$((failed + 1))
	fi
done
echo "deps check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
