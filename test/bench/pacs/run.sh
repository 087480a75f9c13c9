#!/usr/bin/env bash
# PACS throughput: pgscreen's receiver beside Orthanc's own C-STORE SCP, fed the same files by the same
# storescu senders in one run; and pacs_retrieve (C-GET, C-MOVE into a table) beside dcmtk's getscu and
# movescu writing files, from the same Orthanc, the same series, in the same run. Run by scripts/bench.sh; starts its own server, since the receiver's port is
# a postmaster setting.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
source "$REPO/scripts/lib.sh"
SENDERS=${PACS_BENCH_SENDERS:-4}
PER_SENDER=${PACS_BENCH_INSTANCES:-200}
LARGE=${PACS_BENCH_LARGE:-12}
dir="$PGSCREEN_BENCH_DIR/pacs"
rm -rf "$dir"
mkdir -p "$dir"
export TCP_NODELAY=1   # dcmtk tools and Orthanc otherwise wait for delayed ACKs on every small PDU

# series W for the single sender, B1..Bn for the parallel ones: every workload sends instances new to both
for s in W $(seq 1 "$SENDERS"); do
	/usr/bin/python3 "$REPO/test/t/pacs/corpus.py" "$dir/s$s" --bulk "$PER_SENDER" --series "B$s" >/dev/null
done
/usr/bin/python3 "$REPO/test/t/pacs/corpus.py" "$dir/large" --large "$LARGE" >/dev/null
small_kb=$(du -sk "$dir/sW" | cut -f1)
large_mb=$(du -sm "$dir/large" | cut -f1)
give_to_postgres "$dir"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port=$(free_port)
scp_port=$(free_port)
dicom_port=$(free_port)
http_port=$(free_port)
movescu_port=$(free_port)

# pgscreen with its receiver: one worker per sender, committing every instance before answering
start_server "$dir/server" "$PGSCREEN_BINDIR" "$pg_port"
psql -q -X -v ON_ERROR_STOP=1 -d postgres <<SQL
CREATE EXTENSION pgscreen;
CREATE ROLE pgscreen_receiver LOGIN;
CREATE TABLE received (sop_instance_uid text PRIMARY KEY, study_instance_uid text, series_instance_uid text,
                       received_at timestamptz, dcm bytea NOT NULL);
ALTER TABLE received ALTER COLUMN dcm SET STORAGE EXTERNAL;
GRANT INSERT, SELECT (sop_instance_uid) ON received TO pgscreen_receiver;
SQL
cat >>"$dir/server/data/postgresql.conf" <<CONF
pgscreen.scp_port = $scp_port
pgscreen.scp_listen_addresses = '127.0.0.1'
pgscreen.scp_role = 'pgscreen_receiver'
pgscreen.scp_allowed_aets = 'BENCH@127.0.0.1, ORTHANC@127.0.0.1'
pgscreen.scp_table = 'public.received'
pgscreen.scp_workers = $SENDERS
CONF
as_postgres "$PGSCREEN_BINDIR/pg_ctl" -D "$dir/server/data" -l "$dir/server/server.log" -w restart >/dev/null
until [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM screen.pacs_activity WHERE kind = 'receiver'")" = "$SENDERS" ]; do
	sleep 0.2
done

# Orthanc, storing on disk beside it, its SQLite index included
mkdir -p "$dir/orthanc"
cat >"$dir/orthanc/orthanc.json" <<JSON
{ "Name": "bench", "StorageDirectory": "$dir/orthanc/storage", "IndexDirectory": "$dir/orthanc/storage",
  "HttpPort": $http_port, "DicomPort": $dicom_port, "DicomAet": "ORTHANC", "RemoteAccessAllowed": false,
  "DicomAlwaysAllowFind": true, "DicomAlwaysAllowGet": true, "DicomAlwaysAllowMove": true, "Plugins": [],
  "DicomModalities": { "pgscreen": [ "PGSCREEN", "127.0.0.1", $scp_port ],
                       "movescu": [ "MOVESCU", "127.0.0.1", $movescu_port ] } }
JSON
/usr/sbin/Orthanc "$dir/orthanc/orthanc.json" >"$dir/orthanc/orthanc.log" 2>&1 &
orthanc_pid=$!
cleanup() {
	kill "$orthanc_pid" 2>/dev/null || true
	wait "$orthanc_pid" 2>/dev/null || true
	stop_server "$dir/server" "$PGSCREEN_BINDIR"
}
trap cleanup EXIT
until curl -sf "http://127.0.0.1:$http_port/system" >/dev/null 2>&1; do sleep 0.1; done

now() { date +%s.%N; }

# Send the given directories in parallel (one storescu each) to host:port/AET; prints seconds.
send() {
	local aet=$1 port=$2
	shift 2
	local start pids=()
	start=$(now)
	for d in "$@"; do
		storescu -aet BENCH -aec "$aet" 127.0.0.1 "$port" "$d"/*.dcm >"$d.$aet.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'
}

parallel_dirs=()
for s in $(seq 1 "$SENDERS"); do parallel_dirs+=("$dir/s$s"); done
total=$((SENDERS * PER_SENDER))

# one sender, then the parallel senders, then the large instances
t_pg_1=$(send PGSCREEN "$scp_port" "$dir/sW")
t_or_1=$(send ORTHANC "$dicom_port" "$dir/sW")
t_pg_n=$(send PGSCREEN "$scp_port" "${parallel_dirs[@]}")
t_or_n=$(send ORTHANC "$dicom_port" "${parallel_dirs[@]}")
t_pg_l=$(send PGSCREEN "$scp_port" "$dir/large")
t_or_l=$(send ORTHANC "$dicom_port" "$dir/large")

stored=$(psql -X -At -d postgres -c 'SELECT count(*) FROM received')
in_orthanc=$(curl -sf "http://127.0.0.1:$http_port/statistics" | sed -n 's/.*"CountInstances" : \([0-9]*\).*/\1/p')

# Retrieval of one series of PER_SENDER instances from Orthanc, at SERIES level (study root) for every
# client: into a table by pacs_retrieve, into files by getscu (C-GET) and movescu (C-MOVE to itself).
read -r study_uid series_uid < <(/usr/bin/python3 -c 'import pydicom, sys; d = pydicom.dcmread(sys.argv[1], stop_before_pixels=True); print(d.StudyInstanceUID, d.SeriesInstanceUID)' "$(ls "$dir"/s1/*.dcm | head -n1)")
series_query="{\"StudyInstanceUID\": \"$study_uid\", \"SeriesInstanceUID\": \"$series_uid\"}"
load_before=$(uptime)
declare -a r_name=() r_secs=() r_rows=()
# pacs_retrieve into a fresh table: name, options
retrieval() {
	local table="r$((${#r_name[@]} + 1))" start
	psql -q -X -d postgres -c "CREATE TABLE $table (LIKE received INCLUDING ALL)"
	start=$(now)
	psql -q -X -d postgres -c "SELECT screen.pacs_retrieve('127.0.0.1', $dicom_port, 'ORTHANC', '$series_query', '$table', '$2')" >/dev/null 2>&1
	r_secs+=("$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')")
	r_name+=("$1")
	r_rows+=("$(psql -X -At -d postgres -c "SELECT count(*) FROM $table") rows")
}
# a dcmtk tool into a fresh directory: name, command...
tool() {
	local name=$1 out="$dir/tool$((${#r_name[@]} + 1))" start
	shift
	mkdir -p "$out"
	start=$(now)
	"$@" -od "$out" >"$out.log" 2>&1
	r_secs+=("$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')")
	r_name+=("$name")
	r_rows+=("$(ls "$out" | wc -l) files")
}
keys=(-S -k QueryRetrieveLevel=SERIES -k StudyInstanceUID="$study_uid" -k SeriesInstanceUID="$series_uid")
tool "getscu (dcmtk) C-GET to files" getscu -aet BENCH -aec ORTHANC "${keys[@]}" 127.0.0.1 "$dicom_port"
tool "movescu (dcmtk) C-MOVE to files" movescu -aet MOVESCU -aec ORTHANC -aem MOVESCU --port "$movescu_port" \
	"${keys[@]}" 127.0.0.1 "$dicom_port"
retrieval "pacs_retrieve C-GET" '{}'
retrieval "pacs_retrieve C-GET, parallel 4" '{"parallel": 4}'
retrieval "pacs_retrieve C-GET, IMAGE listing (probe)" '{"probe": true}'
retrieval "pacs_retrieve C-GET, batch_size 1" '{"batch_size": 1}'
retrieval "pacs_retrieve C-MOVE" '{"method": "move"}'
retrieval "pacs_retrieve C-MOVE, parallel 4" '{"method": "move", "parallel": 4}'
load_after=$(uptime)

echo "DICOM ingest: storescu senders to pgscreen's receiver (each instance committed, fsync on, before it is"
echo "acknowledged) and to Orthanc (fsynced files + SQLite index), same files, same run; higher is better"
echo "stored: pgscreen $stored rows, Orthanc $in_orthanc instances (expected $((total + PER_SENDER + LARGE)))"
awk -v n1="$PER_SENDER" -v nn="$total" -v nl="$LARGE" -v kb="$small_kb" -v mb="$large_mb" -v s="$SENDERS" \
	-v p1="$t_pg_1" -v o1="$t_or_1" -v pn="$t_pg_n" -v on="$t_or_n" -v pl="$t_pg_l" -v ol="$t_or_l" 'BEGIN {
	printf "%-46s %14s %14s %10s\n", "workload", "pgscreen", "Orthanc", "pgs/Orth";
	printf "%-46s %10.0f i/s %10.0f i/s %9.2fx\n", sprintf("1 sender x %d instances (%d kB each)", n1, kb / n1), n1/p1, n1/o1, o1/p1;
	printf "%-46s %10.0f i/s %10.0f i/s %9.2fx\n", sprintf("%d senders x %d instances in parallel", s, n1), nn/pn, nn/on, on/pn;
	printf "%-46s %8.1f MB/s %8.1f MB/s %9.2fx\n", sprintf("1 sender x %d instances of 8 MB", nl), mb/pl, mb/ol, ol/pl;
}'
echo
echo "Retrieval of one series ($PER_SENDER instances of $((small_kb / PER_SENDER)) kB) from Orthanc; ratio to the"
echo "dcmtk tool of the same service writing files (higher is better)"
echo "load before: $load_before"
echo "load after:  $load_after"
for i in "${!r_name[@]}"; do
	case "${r_name[$i]}" in
	*C-MOVE*) peer=${r_secs[1]} ;;
	*) peer=${r_secs[0]} ;;
	esac
	awk -v name="${r_name[$i]}" -v n="$PER_SENDER" -v t="${r_secs[$i]}" -v p="$peer" -v rows="${r_rows[$i]}" 'BEGIN {
		printf "%-44s %8.0f i/s %7.2fx  %s\n", name, n / t, p / t, rows }'
done
