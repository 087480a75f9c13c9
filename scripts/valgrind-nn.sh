#!/usr/bin/env bash
# Leak check of the network engine under valgrind: the small CNN's training loop (forward, backward, three
# optimisers' steps), its inference loop, weights out as .npz and back in, a model file written — every
# block freed (definite and indirect leaks are errors). Not part of make check (valgrind is slow); run it
# as scripts/valgrind-nn.sh after `make unit-tests`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
command -v valgrind >/dev/null || { echo "valgrind-nn: valgrind is not installed (apt-get install valgrind)"; exit 1; }
make -s unit-tests
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# OpenBLAS, loaded with dlopen and never unloaded, keeps its buffers for the life of the process: those are
# "still reachable", not leaks. Anything definitely or indirectly lost fails the run.
vg() {
	echo "== $*"
	valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 "$@" >"$work/out" 2>&1 || { cat "$work/out"; echo "valgrind-nn: FAILED"; exit 1; }
	grep -v '^#' "$work/out" || true
}

net=(--arch small_cnn --size 40 36 --head softmax --outputs 3 --aux --threads 2)
vg build/test/tools/pgs_nn_bench --arch small_cnn --mode train --batch 4 --iterations 3 --threads 2
vg build/test/tools/pgs_nn_bench --arch small_cnn --mode infer --batch 4 --iterations 3 --threads 2
vg build/test/tools/pgs_nn export "${net[@]}" --seed 3 --out "$work/w.npz"
/usr/bin/python3 -c "
import numpy as np
np.save('$work/x.npy', np.random.default_rng(1).standard_normal((4, 3, 40, 36), dtype=np.float32))
np.save('$work/l.npy', np.array([0, 2, 1, 0], dtype=np.float32))"
for optimizer in sgd rmsprop adam; do
	vg build/test/tools/pgs_nn run "${net[@]}" --weights "$work/w.npz" --images "$work/x.npy" --labels "$work/l.npy" \
		--mode train --steps 3 --optimizer "$optimizer" --out "$work/$optimizer"
done
vg build/test/tools/pgs_nn run "${net[@]}" --weights "$work/w.npz" --images "$work/x.npy" --mode infer --out "$work/infer"
# The unit tests of model files and checkpoints cover the writer and the strict loader, bad files included.
vg build/test/unit/test_nn_files
echo "valgrind-nn: no leaks"
