#!/usr/bin/env bash
# Scoring across servers on loopback: one node scoring every photograph beside a coordinator whose
# partitioned table has postgres_fdw partitions on two shards, each scoring its half. The same photographs,
# the same model (copied with screen.distribute_model) and the same one-query AUC on both sides. Run by
# scripts/bench.sh (make bench BENCH=scaleout), which provides the coordinator's server and database.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
source "$REPO/scripts/lib.sh"
dir="$PGSCREEN_BENCH_DIR/scaleout"
mkdir -p "$dir"
give_to_postgres "$dir"
PHOTOS=${SCALEOUT_BENCH_PHOTOS:-600}         # per shard
ARCH=${SCALEOUT_BENCH_ARCH:-small_cnn}       # or inception_v3 (then SCALEOUT_BENCH_SIDE=299)
SIDE=${SCALEOUT_BENCH_SIDE:-64}
BASE_PORT=${SCALEOUT_BENCH_PORT:-54340}
SHARDS=(1 2)

shard_psql() {
	local i=$1
	shift
	psql -X -q -At -v ON_ERROR_STOP=1 -h "$dir/shard$i" -p $((BASE_PORT + i)) -U postgres -d postgres "$@"
}
coordinator_psql() {
	psql -X -q -At -v ON_ERROR_STOP=1 "$@"
}
cleanup() {
	coordinator_psql -c "DROP TABLE IF EXISTS scaleout_scores, scaleout_photos, scaleout_local" \
		-c "DROP SERVER IF EXISTS scaleout_shard1, scaleout_shard2 CASCADE" \
		-c "DELETE FROM screen.models WHERE name = 'scaleout'" >/dev/null 2>&1 || true
	for i in "${SHARDS[@]}"; do stop_server "$dir/shard$i" "$PGSCREEN_BINDIR"; done
}
trap cleanup EXIT

coordinator_psql -c "CREATE EXTENSION IF NOT EXISTS postgres_fdw" -c "CREATE EXTENSION IF NOT EXISTS dblink"
for i in "${SHARDS[@]}"; do
	(start_server "$dir/shard$i" "$PGSCREEN_BINDIR" $((BASE_PORT + i)))
	# Each server scores on one core, so one node is one core and two shards are two.
	shard_psql "$i" -c "CREATE EXTENSION pgscreen" -c "ALTER DATABASE postgres SET pgscreen.cpu_threads = 1" \
		-c "CREATE TABLE photos AS
		    SELECT id + ($i - 1) * 1000000 AS id, grade >= 2 AS label,
		           screen.fundus_preprocess(image, $SIDE, ungradable => 'null') AS img
		    FROM screen.synthetic_fundus_set($PHOTOS, $i, 320)" \
		-c "DELETE FROM photos WHERE img IS NULL" \
		-c "CREATE VIEW scores AS SELECT id, label, screen.predict('scaleout:1', img) AS score FROM photos"
	coordinator_psql -c "CREATE SERVER scaleout_shard$i FOREIGN DATA WRAPPER postgres_fdw
		    OPTIONS (host '$dir/shard$i', port '$((BASE_PORT + i))', dbname 'postgres', async_capable 'true')" \
		-c "CREATE USER MAPPING FOR CURRENT_USER SERVER scaleout_shard$i OPTIONS (user 'postgres')"
done

coordinator_psql \
	-c "CREATE TABLE scaleout_photos (id bigint, label boolean, img bytea) PARTITION BY RANGE (id)" \
	-c "CREATE TABLE scaleout_scores (id bigint, label boolean, score float8) PARTITION BY RANGE (id)"
for i in "${SHARDS[@]}"; do
	coordinator_psql \
		-c "CREATE FOREIGN TABLE scaleout_photos_$i PARTITION OF scaleout_photos
		    FOR VALUES FROM ($(( (i - 1) * 1000000 ))) TO ($(( i * 1000000 ))) SERVER scaleout_shard$i
		    OPTIONS (table_name 'photos')" \
		-c "CREATE FOREIGN TABLE scaleout_scores_$i PARTITION OF scaleout_scores
		    FOR VALUES FROM ($(( (i - 1) * 1000000 ))) TO ($(( i * 1000000 ))) SERVER scaleout_shard$i
		    OPTIONS (table_name 'scores')"
done
# One node holds a copy of the shards' photographs, and the model is made there and copied to the shards.
coordinator_psql -c "CREATE TABLE scaleout_local AS SELECT * FROM scaleout_photos" \
	-c "SELECT screen.create_model('scaleout', '{\"architecture\": \"$ARCH\", \"input_size\": $SIDE, \"seed\": 1}')" \
	-c "SELECT count(*) FROM screen.distribute_model('scaleout', ARRAY['scaleout_shard1', 'scaleout_shard2'])" >/dev/null
images=$(coordinator_psql -c "SELECT count(*) FROM scaleout_local")

# Best of three runs of one statement in one session (the first loads the model in every backend).
best_ms() {
	local setting=$1 query=$2
	coordinator_psql -c "$setting" -c "$query" -c '\timing on' -c "$query" -c "$query" -c "$query" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sort -g | head -n1
}
one_query="SELECT screen.auc(screen.roc(screen.predict('scaleout:1', img), label)) FROM scaleout_local"
shard_query="SELECT screen.auc(screen.roc(score, label)) FROM scaleout_scores"
one1=$(best_ms "SET pgscreen.cpu_threads = 1" "$one_query")
one2=$(best_ms "SET pgscreen.cpu_threads = 2" "$one_query")
two=$(best_ms "SET pgscreen.cpu_threads = 1" "$shard_query")
same=$(coordinator_psql -c "SELECT ($one_query) = ($shard_query)")

echo "$ARCH ${SIDE}×${SIDE}, $images photographs, AUC of predict() over all of them in one statement; best of three"
printf '%-48s %10s %14s %8s\n' setup seconds "photographs/s" ratio
awk -v n="$images" -v a="$one1" -v b="$one2" -v c="$two" 'BEGIN {
	printf "%-48s %10.2f %14.1f %7.2fx\n", "one node, 1 thread", a / 1000, n / (a / 1000), 1;
	printf "%-48s %10.2f %14.1f %7.2fx\n", "one node, 2 threads", b / 1000, n / (b / 1000), a / b;
	printf "%-48s %10.2f %14.1f %7.2fx\n", "coordinator + 2 loopback shards, 1 thread each", c / 1000, n / (c / 1000), a / c }'
echo "same AUC on both sides: $same"
echo "All servers share this machine's cores: two shards can at best double one single-threaded node."
