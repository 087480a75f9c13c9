#!/usr/bin/env bash
# One training job on two CPU replicas of one thread each (cpu_replicas 2) beside the same job on one
# replica of two threads: images/s of the best later epoch (screen.training_log), same data, recipe and
# global batch. Run by scripts/bench.sh (a server with pgscreen preloaded, PGDATABASE set, superuser).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
N=${SCALING_BENCH_IMAGES:-512}
EPOCHS=${SCALING_BENCH_EPOCHS:-3}

psql -X -q -v ON_ERROR_STOP=1 \
	-c "DROP TABLE IF EXISTS bench_scaling" \
	-c "CREATE TABLE bench_scaling AS SELECT id, screen.fundus_preprocess(image, 64, ungradable => 'null') AS img
	    FROM screen.synthetic_fundus_set($N, 91, 320)" \
	-c "DELETE FROM bench_scaling WHERE img IS NULL"

# pgscreen.cpu_threads is read by each worker when it starts: set it server-wide for each run.
run() {
	local threads=$1 replicas=$2 job state
	psql -X -q -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET pgscreen.cpu_threads = $threads" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
	job=$(psql -X -At -v ON_ERROR_STOP=1 -c "SELECT screen.train('bench_scaling_$replicas',
		'SELECT img, id % 2 = 0 FROM bench_scaling ORDER BY id', 'SELECT img, id % 2 = 0 FROM bench_scaling ORDER BY id LIMIT 64',
		'{\"architecture\": \"small_cnn\", \"input_size\": 64, \"optimizer\": \"adam\", \"augmentation\": false,
		  \"normalization\": \"symmetric\", \"batch_size\": 32, \"max_epochs\": $EPOCHS, \"seed\": 1,
		  \"device\": \"cpu\", \"cpu_replicas\": $replicas}')")
	state=$(psql -X -At -c "SELECT screen.wait($job)")
	[ "$state" = succeeded ] || { psql -X -c "SELECT error FROM screen.jobs WHERE id = $job" >&2; exit 1; }
	psql -X -At -c "SELECT round(max(images_per_second)::numeric, 1) FROM screen.training_log WHERE job_id = $job AND epoch > 1"
}

one=$(run 2 1)
two=$(run 1 2)
psql -X -q -c "ALTER SYSTEM RESET pgscreen.cpu_threads" -c "SELECT pg_reload_conf()" >/dev/null
printf '%-32s %12s\n' configuration "images/s"
printf '%-32s %12s\n' "1 replica × 2 threads" "$one"
printf '%-32s %12s\n' "2 CPU replicas × 1 thread" "$two"
awk -v a="$one" -v b="$two" 'BEGIN { printf "ratio (2 replicas / 1 replica): %.2fx\n", b / a }'
echo "small CNN at 64×64, batch 32 (16 per replica), Adam, best of epochs 2..$EPOCHS; $(nproc) cores."
echo "Timings from a loaded machine are not comparable; run on an idle one."
