#!/usr/bin/env bash
# De-identification throughput: screen.dicom_anonymize in SQL and in-process, beside the pydicom reference
# de-identifier of the same profile (test/oracle/deid_reference.py) and dcmodify doing a comparable subset,
# on the same files in one run, one core each (parallel query off). Then what Orthanc and gdcmanon leave
# behind on the corpus (compare_peers.py). Run by scripts/bench.sh, which starts the server.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
source "$REPO/scripts/lib.sh"
N=${DEID_BENCH_MAMMOGRAMS:-24}
ROUNDS=${DEID_BENCH_ROUNDS:-3}
dir="$PGSCREEN_BENCH_DIR/deidentify"
TOOL="$REPO/build/test/tools/pgs_dicom"
mkdir -p "$dir/mg" "$dir/corpus"

# Mammograms of a realistic size (2048×1536, 16-bit: 6 MB each), four views per woman, with planted PHI;
# and the small, private-heavy Debian corpus files (CT/MR from three vendors, SR, RT, US).
for i in $(seq 0 $((N - 1))); do
	"$TOOL" synth --size 1536x2048 --patient-id "W$((i / 4))" --laterality $([ $((i % 4)) -lt 2 ] && echo L || echo R) \
		--view $([ $((i % 2)) -eq 0 ] && echo CC || echo MLO) "$i" "$dir/mg/mg$(printf %03d "$i").dcm"
done
/usr/bin/python3 - "$dir/corpus" "$TOOL" <<'PY'
import os, shutil, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(sys.argv[2]), "../../../test/oracle"))
from dicom_corpus import corpus
out, tool = sys.argv[1], sys.argv[2]
for i, (name, path) in enumerate(corpus(out)):
    if subprocess.run([tool, "anonymize", path, "/dev/null"], capture_output=True).returncode == 0:
        shutil.copy(path, os.path.join(out, "c%03d.dcm" % i))
PY
rm -f "$dir/corpus/"*__*
give_to_postgres "$dir"
mg=("$dir"/mg/*.dcm)
small=("$dir"/corpus/c*.dcm)

psql -q -X -v ON_ERROR_STOP=1 \
	-c "DROP TABLE IF EXISTS deid_bench; CREATE TABLE deid_bench (kind text, dcm bytea);" \
	-c "ALTER TABLE deid_bench ALTER COLUMN dcm SET STORAGE EXTERNAL;" \
	-c "INSERT INTO deid_bench SELECT 'mg', pg_read_binary_file(f) FROM unnest(ARRAY['$(IFS=,; echo "${mg[*]}" | sed "s/,/','/g")']) f;" \
	-c "INSERT INTO deid_bench SELECT 'corpus', pg_read_binary_file(f) FROM unnest(ARRAY['$(IFS=,; echo "${small[*]}" | sed "s/,/','/g")']) f;" \
	-c "DO \$\$ BEGIN PERFORM screen.deid_create_key('bench'); EXCEPTION WHEN duplicate_object THEN NULL; END \$\$;" \
	-c "VACUUM ANALYZE deid_bench;"

# Best of three runs of a query, in seconds, one core.
time_sql() {
	local best=""
	for _ in 1 2 3; do
		local t
		t=$(psql -X -At -c "SET max_parallel_workers_per_gather = 0" -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n1)
		best=$(awk -v a="${best:-1e18}" -v b="$t" 'BEGIN { print (b < a) ? b : a }')
	done
	awk -v ms="$best" 'BEGIN { printf "%.4f", ms / 1000 }'
}
# files/s reported by a tool's --bench/bench mode (best of three)
rate() {
	local best=0
	for _ in 1 2 3; do
		local r
		r=$("$@" | sed -n 's/.*: \([0-9.]*\) files\/s/\1/p')
		best=$(awk -v a="$best" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
	done
	echo "$best"
}
# dcmodify on copies of the files: one process for all of them, the erasures and replacements of the profile
# that it can express (names, IDs, dates, institution, UIDs regenerated, all private tags removed).
dcmodify_rate() {
	local files=("$@") best=0
	for _ in 1 2 3; do
		rm -rf "$dir/dcmodify" && mkdir -p "$dir/dcmodify" && cp "${files[@]}" "$dir/dcmodify/"
		local t0 t1
		t0=$(date +%s.%N)
		dcmodify -q -nb -ie -imt -gst -gse -gin -ep \
			-ma "(0010,0010)=ANONYMOUS" -ma "(0010,0020)=PSEUDONYM" -ea "(0010,0030)" -ea "(0008,0020)" \
			-ea "(0008,0021)" -ea "(0008,0022)" -ea "(0008,0023)" -ea "(0008,0012)" -ea "(0008,0050)" \
			-ea "(0008,0080)" -ea "(0008,0081)" -ea "(0008,0090)" -ea "(0008,1010)" -ea "(0008,1070)" \
			-ea "(0010,1040)" -ea "(0010,2154)" -ea "(0020,0010)" -ea "(0018,1000)" -ea "(6000,3000)" \
			"$dir"/dcmodify/*.dcm >/dev/null 2>&1 || true
		t1=$(date +%s.%N)
		best=$(awk -v a="$best" -v n="${#files[@]}" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" 'BEGIN { r = n / s; print (r > a) ? r : a }')
	done
	echo "$best"
}

uptime_before=$(uptime)
# The floor right before the de-identification it bounds, so both see the same load.
floor_mg=$(time_sql "SELECT sum(get_byte(dcm, 0)) FROM deid_bench WHERE kind = 'mg'")
sql_mg=$(time_sql "SELECT count(screen.dicom_anonymize(dcm, '{\"key\": \"bench\"}')) FROM deid_bench WHERE kind = 'mg'")
floor_small=$(time_sql "SELECT sum(get_byte(dcm, 0)) FROM deid_bench WHERE kind = 'corpus'")
sql_small=$(time_sql "SELECT count(screen.dicom_anonymize(dcm, '{\"key\": \"bench\"}')) FROM deid_bench WHERE kind = 'corpus'")
value_mg=$(time_sql "SELECT count(screen.dicom_value(dcm, 'PatientID')) FROM deid_bench WHERE kind = 'mg'")
value_small=$(time_sql "SELECT count(screen.dicom_value(dcm, 'PatientID')) FROM deid_bench WHERE kind = 'corpus'")
kernel_mg=$(rate "$TOOL" bench "$ROUNDS" "${mg[@]}")
kernel_small=$(rate "$TOOL" bench "$ROUNDS" "${small[@]}")
py_mg=$(rate /usr/bin/python3 -W ignore "$REPO/test/oracle/deid_reference.py" --bench "$ROUNDS" "${mg[@]}")
py_small=$(rate /usr/bin/python3 -W ignore "$REPO/test/oracle/deid_reference.py" --bench "$ROUNDS" "${small[@]}")
dcm_mg=$(dcmodify_rate "${mg[@]}")
dcm_small=$(dcmodify_rate "${small[@]}")

uptime_after=$(uptime)
# Figures taken while other work runs are marked so: a 1-minute load average above half the cores.
loaded=$(awk -v cores="$(nproc)" '{ print ($1 > cores / 2) ? "UNDER LOAD" : "quiet" }' /proc/loadavg)
echo "De-identification (PS3.15 2023b Basic Profile), one core; files/s (higher is better); machine $loaded"
echo "uptime before: $uptime_before"
echo "uptime after:  $uptime_after"
awk -v nm="$N" -v ns="${#small[@]}" -v sm="$sql_mg" -v ss="$sql_small" -v km="$kernel_mg" -v ks="$kernel_small" \
	-v pm="$py_mg" -v ps="$py_small" -v dm="$dcm_mg" -v ds="$dcm_small" -v fm="$floor_mg" -v fs="$floor_small" \
	-v vm="$value_mg" -v vs="$value_small" 'BEGIN {
	printf "%-46s %16s %16s\n", "", "MG 2048x1536", "Debian corpus";
	printf "%-46s %16s %16s\n", "files", nm, ns;
	printf "%-46s %16.1f %16.1f\n", "pydicom reference (test/oracle)", pm, ps;
	printf "%-46s %16.1f %16.1f\n", "dcmodify (comparable subset)", dm, ds;
	printf "%-46s %16.1f %16.1f\n", "pgscreen kernel, in-process", km, ks;
	printf "%-46s %16.1f %16.1f\n", "SQL screen.dicom_anonymize(dcm)", nm / sm, ns / ss;
	printf "%-46s %16.1f %16.1f\n", "SQL reading the bytea alone (TOAST floor)", nm / fm, ns / fs;
	printf "%-46s %16.1f %16.1f\n", "SQL screen.dicom_value(dcm, PatientID)", nm / vm, ns / vs;
	printf "%-46s %15.1fx %15.1fx\n", "kernel vs pydicom reference (both in memory)", km / pm, ks / ps;
	printf "%-46s %15.1fx %15.1fx\n", "SQL vs pydicom reference", (nm / sm) / pm, (ns / ss) / ps;
	printf "%-46s %15.1fx %15.1fx\n", "SQL vs dcmodify", (nm / sm) / dm, (ns / ss) / ds;
	printf "%-46s %15.2fx %15.2fx\n", "SQL time vs TOAST floor time (1.0 = floor)", sm / fm, ss / fs;
}'
echo
/usr/bin/python3 "$REPO/test/bench/deidentify/compare_peers.py" "$dir/peers"
