#!/usr/bin/env bash
# Runs the C unit tests of kernels/ (TAP programs, no server) under prove.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
PGS_CUDA_MODULE="$REPO/pgscreen_cuda.so" prove --exec '' build/test/unit/test_*
