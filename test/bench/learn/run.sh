#!/usr/bin/env bash
# Does train() learn out of the box? Each generated task (test/tools/learn_tasks.py: small dots, large blobs,
# colour-only and shape-only cues, 5 % prevalence, camera variation, two on real photographs) is trained
# with pgscreen's DEFAULT options (only architecture, input size, epochs and seed given) and with PyTorch's
# copy of the same small CNN under the best of a small grid (test/bench/learn/torch_learn.py), on the same
# images and epochs, for several seeds; the table gives the mean test AUC ± spread of each, and the gap.
# Run by scripts/bench.sh (make bench BENCH=learn).
#   LEARN_TASKS     tasks to run (default: all of learn_tasks.py --list)
#   LEARN_SEEDS     seeds, each drawing its own data and initialisation (default: 1 2 3)
#   LEARN_EPOCHS    epochs on both sides (default: 12)
#   LEARN_VARIANTS  pgscreen option sets as name=json, space-separated (default: default={}); each json is
#                   merged over the base options, e.g. published={"recipe":"voets2019_plos"}
#   LEARN_TORCH     0 skips the PyTorch side
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
source "$REPO/scripts/lib.sh"
dir="$PGSCREEN_BENCH_DIR/learn"
mkdir -p "$dir"
give_to_postgres "$dir"
tasks=${LEARN_TASKS:-$(/usr/bin/python3 "$REPO/test/tools/learn_tasks.py" --list | cut -f1)}
seeds=${LEARN_SEEDS:-1 2 3}
epochs=${LEARN_EPOCHS:-12}
variants=${LEARN_VARIANTS:-default=\{\}}
results="$dir/results.txt"
: >"$results"

for task in $tasks; do
	side=$(/usr/bin/python3 "$REPO/test/tools/learn_tasks.py" --list | awk -F'\t' -v t="$task" '$1 == t {print $2}')
	for seed in $seeds; do
		/usr/bin/python3 "$REPO/test/tools/learn_tasks.py" "$task" "$seed" "$dir/task.npz" --copy "$dir/task.tsv"
		chmod 644 "$dir/task.tsv"
		psql -X -q -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS learn_task" \
			-c "CREATE TABLE learn_task (id int PRIMARY KEY, split text, label bool, img bytea)" \
			-c "\\copy learn_task FROM '$dir/task.tsv'"
		for v in $variants; do
			name=${v%%=*}
			extra=${v#*=}
			options=$(/usr/bin/python3 -c 'import json, sys
o = {"architecture": "small_cnn", "input_size": int(sys.argv[1]), "max_epochs": int(sys.argv[2]), "seed": int(sys.argv[3])}
o.update(json.loads(sys.argv[4]))
print(json.dumps(o))' "$side" "$epochs" "$seed" "$extra")
			model="learn_${task}_${name}_$seed"
			job=$(psql -X -At -v ON_ERROR_STOP=1 -c "SELECT screen.train('$model',
				'SELECT img, label FROM learn_task WHERE split = ''train'' ORDER BY id',
				'SELECT img, label FROM learn_task WHERE split = ''val'' ORDER BY id', '$options')")
			state=$(psql -X -At -c "SELECT screen.wait($job)" 2>"$dir/notices.txt")
			[ "$state" = succeeded ] || { psql -X -c "SELECT error FROM screen.jobs WHERE id = $job"; exit 1; }
			# The version this job made (a rerun in the same database adds one).
			model=$(psql -X -At -c "SELECT name || ':' || version FROM screen.models
				WHERE id = (SELECT model_id FROM screen.jobs WHERE id = $job)")
			auc=$(psql -X -At -c "SELECT round(screen.auc(screen.roc(s.score, t.label))::numeric, 4)
				FROM screen.score('$model', 'SELECT id, img FROM learn_task WHERE split = ''test''', '{\"progress\": 0}') s
				JOIN learn_task t USING (id)")
			best=$(psql -X -At -c "SELECT metrics->>'best_epoch' FROM screen.models
				WHERE id = (SELECT model_id FROM screen.jobs WHERE id = $job)")
			notes=$(grep -c 'NOTICE' "$dir/notices.txt" || true)
			echo "$task $side $seed pgscreen:$name $auc $best $notes" | tee -a "$results"
		done
		if [ "${LEARN_TORCH:-1}" != 0 ]; then
			/usr/bin/python3 "$REPO/test/bench/learn/torch_learn.py" "$dir/task.npz" "$seed" "$epochs" |
				while read -r config auc best; do
					echo "$task $side $seed torch:$config $auc $best 0" | tee -a "$results"
				done
		fi
	done
done
echo
/usr/bin/python3 "$REPO/test/bench/learn/summary.py" "$results"
echo "test AUC, mean ± half the range over seeds ($seeds), $epochs epochs on both sides; pgscreen: screen.train()"
echo "with only architecture small_cnn, input_size, max_epochs and seed; PyTorch: the same network (nn_oracle.py),"
echo "x/255 inputs, batch 32, no augmentation, the best grid configuration per task by mean test AUC (Adam 1e-3;"
echo "AdamW 1e-3 + cosine; SGD 0.01 momentum 0.9 + cosine); each side scores the epoch it kept for its best validation"
echo "AUC (pgscreen: its default early stopping)."
