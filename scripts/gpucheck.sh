#!/usr/bin/env bash
# make gpucheck: build the kernels, the CUDA module and the GPU checks without PostgreSQL, then compare
# every CUDA op with the CPU reference (under compute-sanitizer when available). Needs a usable GPU.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

make -s -f test/gpucheck/gpucheck.mk CUDA=1 -j"$(nproc)" gpucheck-bins
export PGS_CUDA_MODULE="$REPO/pgscreen_cuda.so"
sanitizer=""
if [ "${SANITIZE:-1}" = 1 ] && command -v compute-sanitizer >/dev/null 2>&1; then
	sanitizer="compute-sanitizer --tool memcheck --leak-check full --error-exitcode 99"
elif [ "${SANITIZE:-1}" = 1 ] && [ -x "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer" ]; then
	sanitizer="${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer --tool memcheck --leak-check full --error-exitcode 99"
fi
rc=0
for check in build/gpucheck/check_*; do
	# Whole-network runs take too long under memcheck; every op they use is checked under it on its own.
	case "$check" in
		*_inception) run_with="" ;;
		*) run_with=$sanitizer ;;
	esac
	echo "== $check ${run_with:+(under compute-sanitizer)}"
	$run_with "$check" || rc=1
done
echo "gpucheck: $([ $rc -eq 0 ] && echo 'all checks passed' || echo FAILED)"
exit $rc
