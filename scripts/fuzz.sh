#!/usr/bin/env bash
# make fuzz: build every libFuzzer target of test/fuzz and run each for FUZZ_SECONDS (default 60) from its
# seed corpus in test/fuzz/seeds/<name>, one process each; name targets (dicom roc ...) to run only those.
# Fails if any target finds a crash, leak, timeout or undefined behaviour; the reproducer is left in build/fuzz/.
# FUZZ_SEED fixes libFuzzer's random seed, so a short run (make check's) mutates the same way every time: it
# catches what the seeds and their first mutations reach, and new exploration stays with make fuzz.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

"$REPO/scripts/deps.sh" scripts/packages.txt scripts/packages-fuzz.txt
make -s -j"$(nproc)" fuzz-targets
seconds=${FUZZ_SECONDS:-60}
seed_flag=()
[ -z "${FUZZ_SEED:-}" ] || seed_flag=(-seed="$FUZZ_SEED")
rc=0
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls build/fuzz/ | sed -n 's/^fuzz_\([a-z]*\)$/\1/p'))
for name in "${targets[@]}"; do
	[ -x "build/fuzz/fuzz_$name" ] || { echo "fuzz: no target fuzz_$name"; exit 1; }
	corpus="build/fuzz/corpus-$name"
	mkdir -p "$corpus"
	seeds="test/fuzz/seeds/$name"
	echo "== fuzz_$name for ${seconds}s (seeds: $seeds)"
	if ! (cd build/fuzz && "./fuzz_$name" "${seed_flag[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
			-print_final_stats=1 "corpus-$name" "$REPO/$seeds" 2>&1 | tail -n 12); then
		rc=1
	fi
done
ls build/fuzz/crash-* build/fuzz/leak-* build/fuzz/timeout-* 2>/dev/null && rc=1
echo "fuzz: $([ $rc -eq 0 ] && echo 'no crash found' || echo 'FAILED: see build/fuzz')"
exit $rc
