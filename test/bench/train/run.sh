#!/usr/bin/env bash
# Training and scoring throughput on the CPU (and the GPU when pgscreen.device resolves to one): pgscreen's
# training job (images/s of its best later epoch, from screen.training_log) and screen.score(), beside PyTorch
# training and inference of the same networks on the same images, in one run. Run by scripts/bench.sh.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
source "$REPO/scripts/lib.sh"
dir="$PGSCREEN_BENCH_DIR/train"
mkdir -p "$dir"
give_to_postgres "$dir"
BATCH=32
device=$(psql -X -At -c "SELECT screen.current_device()")

# name, architecture, input side, photographs (two epochs of training, then scoring all of them)
cases=("small_cnn small_cnn 64 ${TRAIN_BENCH_SMALL:-512}" "inception_v3 inception_v3 299 ${TRAIN_BENCH_INCEPTION:-96}")

psql -X -q -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS bench_photos"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE bench_photos AS SELECT id, grade, image FROM screen.synthetic_fundus_set(600, 77, 640)"

printf '%-14s %-6s %16s %16s %8s %16s %16s %8s\n' network device "pgscreen train" "PyTorch train" ratio "pgscreen score" "PyTorch infer" ratio
for c in "${cases[@]}"; do
	read -r name arch side n <<<"$c"
	psql -X -q -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS bench_$name" \
		-c "CREATE TABLE bench_$name AS SELECT id, screen.fundus_preprocess(image, $side, ungradable => 'null') AS img
		    FROM bench_photos" \
		-c "DELETE FROM bench_$name WHERE img IS NULL OR id NOT IN (SELECT id FROM bench_$name WHERE img IS NOT NULL ORDER BY id LIMIT $n)"
	# The same images for PyTorch, as one N×H×W×3 array.
	psql -X -At -c "SELECT encode(img, 'hex') FROM bench_$name ORDER BY id" >"$dir/$name.hex"
	/usr/bin/python3 - "$dir/$name.hex" "$dir/$name.npy" <<'PY'
import io, sys, numpy as np
arrays = [np.load(io.BytesIO(bytes.fromhex(line.strip()))) for line in open(sys.argv[1]) if line.strip()]
np.save(sys.argv[2], np.stack(arrays))
PY
	job=$(psql -X -At -v ON_ERROR_STOP=1 -c "SELECT screen.train('bench_$name',
		'SELECT img, id % 2 = 0 FROM bench_$name ORDER BY id', 'SELECT img, id % 2 = 0 FROM bench_$name ORDER BY id LIMIT 64',
		'{\"architecture\": \"$arch\", \"input_size\": $side, \"optimizer\": \"adam\", \"augmentation\": false,
		  \"normalization\": \"symmetric\", \"batch_size\": $BATCH, \"max_epochs\": 3, \"seed\": 1}')")
	state=$(psql -X -At -c "SELECT screen.wait($job)")
	[ "$state" = succeeded ] || { psql -X -c "SELECT error FROM screen.jobs WHERE id = $job"; exit 1; }
	train=$(psql -X -At -c "SELECT max(images_per_second) FROM screen.training_log WHERE job_id = $job AND epoch > 1")
	score="SELECT count(*) FROM screen.score('bench_$name', 'SELECT id, img FROM bench_$name', '{\"batch_size\": $BATCH, \"progress\": 0}')"
	score_ms=$(psql -X -At -c "$score" -c '\timing on' -c "$score" -c "$score" -c "$score" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sort -g | head -n1)
	images=$(psql -X -At -c "SELECT count(*) FROM bench_$name")
	steps=$(( images / BATCH ))
	torch_out=$(for _ in 1 2 3; do
		/usr/bin/python3 "$REPO/test/bench/train/torch_side.py" "$arch" "$side" "$dir/$name.npy" "$steps" "$BATCH" "$device"
	done)
	torch_train=$(sed -n 's/^train //p' <<<"$torch_out" | sort -g | tail -n1)
	torch_infer=$(sed -n 's/^infer //p' <<<"$torch_out" | sort -g | tail -n1)
	awk -v n="$name" -v d="$device" -v t="$train" -v tt="$torch_train" -v ms="$score_ms" -v im="$images" -v ti="$torch_infer" 'BEGIN {
		s = im / (ms / 1000);
		printf "%-14s %-6s %16.1f %16.1f %7.2fx %16.1f %16.1f %7.2fx\n", n, d, t, tt, t / tt, s, ti, s / ti }'
done
echo "images/s, higher is better, best of three on each side; batch $BATCH; training: Adam, no augmentation,"
echo "pgscreen's best later epoch (data from its cache, augmentation and normalization included) vs PyTorch"
echo "steps on the same images as tensors; scoring: screen.score() over a table (decode, normalise, forward,"
echo "sigmoid) vs PyTorch eval forward."
