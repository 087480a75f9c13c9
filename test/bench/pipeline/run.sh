#!/usr/bin/env bash
# The screening data path end to end: an Orthanc holds patients with a fundus study (photographs as DICOM)
# and a mammography study, PHI in every header; pgscreen retrieves them into a table de-identified on the
# way in, preprocesses, scores with two networks and computes the AUC with its DeLong interval, all in SQL;
# beside it the same path in Python (getscu, pydicom, OpenCV, PyTorch, scikit-learn) on the same data and
# weights, in the same run. Prints each step's seconds and the ratios, then how far the results agree.
# Run by scripts/bench.sh (make bench BENCH=pipeline); starts its own Orthanc.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
source "$REPO/scripts/lib.sh"
HERE="$REPO/test/bench/pipeline"
PATIENTS=${PIPELINE_PATIENTS:-24}
EYES=${PIPELINE_FUNDUS:-16}       # fundus photographs per patient
MAMMOS=${PIPELINE_MAMMO:-2}       # mammograms per patient
dir="$PGSCREEN_BENCH_DIR/pipeline"
rm -rf "$dir"
mkdir -p "$dir/corpus" "$dir/python"
export TCP_NODELAY=1   # dcmtk tools and Orthanc otherwise wait for delayed ACKs on every small PDU
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
MG_CLASS=1.2.840.10008.5.1.4.1.1.1.2    # Digital Mammography X-Ray Image Storage - For Presentation

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the data (not timed): photographs and mammograms from pgscreen's generators, written as DICOM with PHI
q -At -c "COPY (SELECT 1 + (id - 1) / $EYES, 1 + (id - 1) % $EYES, grade, translate(encode(image, 'base64'), E'\n', '')
              FROM screen.synthetic_fundus_set($((PATIENTS * EYES)), 31, 512)) TO STDOUT" >"$dir/fundus.tsv"
q -At -c "COPY (SELECT p, n, translate(encode(screen.synthetic_mammogram(p * 10 + n,
                      patient_id => 'PHI-PIPE-' || lpad(p::text, 4, '0'), study_instance_uid => '2.25.' || (p * 100 + 2),
                      series_instance_uid => '2.25.' || (p * 100 + 3), instance_number => n), 'base64'), E'\n', '')
              FROM generate_series(1, $PATIENTS) p, generate_series(1, $MAMMOS) n) TO STDOUT" >"$dir/mammo.tsv"
/usr/bin/python3 "$HERE/make_corpus.py" "$dir/corpus" "$dir/fundus.tsv" "$dir/mammo.tsv"
instances=$((PATIENTS * (EYES + MAMMOS)))

# ---- the models (not timed): a fundus network trained on other photographs, an untrained mammography one
q <<SQL
CREATE TABLE pipe_train AS
SELECT id, grade, screen.fundus_preprocess(image, 128, ungradable => 'null') AS pre
FROM screen.synthetic_fundus_set(500, 97, 512, ARRAY[1, 0, 1, 1, 0]::float8[]);
SELECT screen.train('pipe_fundus',
    'SELECT pre, grade >= 2 FROM pipe_train WHERE id <= 400 AND pre IS NOT NULL ORDER BY id',
    'SELECT pre, grade >= 2 FROM pipe_train WHERE id > 400 AND pre IS NOT NULL ORDER BY id',
    '{"architecture": "small_cnn", "input_size": 128, "max_epochs": 8, "seed": 5}') AS job \gset
SELECT screen.wait(:job, '30 minutes');
SELECT screen.import_model_file('pipe_mammo', screen.model_init('small_cnn', '{"input_channels": 1,
    "input_height": 256, "input_width": 208, "recipe": {"normalization": "standardize", "preprocess": "none", "preprocess_diameter": 256}}', 6));
SQL
for m in fundus mammo; do
	q -At -c "SELECT translate(encode(screen.export_weights('pipe_$m'), 'base64'), E'\n', '')" | base64 -d >"$dir/$m.npz"
done

# ---- the PACS (not timed): Orthanc on disk, holding every study
dicom_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
http_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$dir/orthanc"
cat >"$dir/orthanc/orthanc.json" <<JSON
{ "Name": "pipeline", "StorageDirectory": "$dir/orthanc/storage", "IndexDirectory": "$dir/orthanc/storage",
  "HttpPort": $http_port, "DicomPort": $dicom_port, "DicomAet": "ORTHANC", "RemoteAccessAllowed": false,
  "DicomAlwaysAllowFind": true, "DicomAlwaysAllowGet": true, "DicomAlwaysAllowStore": true, "Plugins": [] }
JSON
/usr/sbin/Orthanc "$dir/orthanc/orthanc.json" >"$dir/orthanc/orthanc.log" 2>&1 &
orthanc_pid=$!
trap 'kill $orthanc_pid 2>/dev/null || true; wait $orthanc_pid 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$http_port/system" >/dev/null 2>&1; do sleep 0.1; done
storescu -aet LOADER -aec ORTHANC 127.0.0.1 "$dicom_port" "$dir"/corpus/*.dcm >"$dir/storescu.log" 2>&1 ||
	{ tail "$dir/storescu.log"; exit 1; }
in_orthanc=$(curl -sf "http://127.0.0.1:$http_port/statistics" | sed -n 's/.*"CountInstances" : \([0-9]*\).*/\1/p')
[ "$in_orthanc" = "$instances" ] || { echo "Orthanc holds $in_orthanc instances, not $instances"; exit 1; }

# The de-identification key both sides use, and the registry's grades under their pseudonyms.
q <<SQL
INSERT INTO screen.deid_keys (name, key) VALUES ('pipeline', convert_to('pgscreen test key', 'UTF8'))
ON CONFLICT (name) DO NOTHING;
CREATE TABLE pipe_labels (sop_instance_uid text PRIMARY KEY, referable boolean NOT NULL);
\copy pipe_labels FROM '$dir/corpus/labels.tsv'
-- As docs/images.md advises for a table of images to preprocess in parallel: TOASTed values leave the heap
-- small, so the planner is told the workers it deserves, and rows are spread over pages for workers to share.
CREATE TABLE pipe_instances (id bigint GENERATED ALWAYS AS IDENTITY, sop_instance_uid text PRIMARY KEY,
                             sop_class_uid text, dcm bytea NOT NULL) WITH (fillfactor = 10, parallel_workers = 2);
ALTER TABLE pipe_instances ALTER COLUMN dcm SET STORAGE EXTERNAL;
SQL

# ---- pgscreen, one SQL statement per step
# ---- pgscreen: one session, as an analyst or a scheduled job would run it; the library is loaded before the
# clock starts (Python's imports are not timed either). psql's \timing gives each statement's milliseconds.
q -c '\timing on' -f - >"$dir/pgscreen_steps.log" <<SQL
SELECT screen.current_device();
SELECT screen.pacs_retrieve('127.0.0.1', $dicom_port, 'ORTHANC', '{"PatientID": "PHI-PIPE-*"}', 'pipe_instances',
                            '{"deidentify": {"key": "pipeline"}}');
CREATE TABLE pipe_pre AS
SELECT id, sop_instance_uid, sop_class_uid,
       CASE WHEN sop_class_uid = '$MG_CLASS' THEN screen.mammo_preprocess(dcm, height => 256, width => 208)
            ELSE screen.fundus_preprocess(dcm, 128) END AS pre
FROM pipe_instances;
CREATE TABLE pipe_scores AS
SELECT p.sop_instance_uid, s.score
FROM screen.score('pipe_fundus', 'SELECT id, pre FROM pipe_pre WHERE sop_class_uid <> ''$MG_CLASS''') s JOIN pipe_pre p USING (id)
UNION ALL
SELECT p.sop_instance_uid, s.score
FROM screen.score('pipe_mammo', 'SELECT id, pre FROM pipe_pre WHERE sop_class_uid = ''$MG_CLASS''') s JOIN pipe_pre p USING (id);
CREATE TABLE pipe_auc AS
SELECT ci.* FROM (SELECT screen.roc(s.score, l.referable) AS r
                  FROM pipe_scores s JOIN pipe_labels l USING (sop_instance_uid)) x, screen.auc_ci(r) ci;
SQL
ms=($(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$dir/pgscreen_steps.log"))
[ ${#ms[@]} = 5 ] || { cat "$dir/pgscreen_steps.log"; exit 1; }

# ---- Python, the same steps
py=$(/usr/bin/python3 "$HERE/python_pipeline.py" "$dir/python" "$dicom_port" ORTHANC "$PATIENTS" "$dir/fundus.npz" \
	"$dir/mammo.npz" "$dir/corpus/labels.tsv")
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the results, side by side
q -At -F $'\t' -c "SELECT sop_instance_uid, score FROM pipe_scores" >"$dir/pgscreen_scores.tsv"
q -At -F $'\t' -c "SELECT sop_instance_uid, translate(encode(pre, 'base64'), E'\n', '') FROM pipe_pre" >"$dir/pgscreen_pre.tsv"
auc=$(q -At -F ' ' -c "SELECT round(auc::numeric, 6), round(lower::numeric, 6), round(upper::numeric, 6) FROM pipe_auc")
echo "End to end on $instances instances ($PATIENTS patients: $EYES fundus photographs 512×512 and $MAMMOS mammograms"
echo "of 1024×768 each; small CNNs at 128×128×3 and 256×208×1), pgscreen in SQL beside Python; seconds, lower is better."
echo "Python: getscu per patient, then pydicom de-identification, OpenCV/NumPy preprocessing, PyTorch at batch 32, scikit-learn."
echo "$py" | awk -v r="${ms[1]}" -v p="${ms[2]}" -v s="${ms[3]}" -v e="${ms[4]}" '
	$1 == "step" { py[$2] = $3 }
	END {
		printf "%-40s %12s %12s %12s\n", "step", "pgscreen s", "Python s", "pgs speed-up";
		row("retrieve and de-identify", r, py["retrieve"] + py["deidentify"]);
		row("preprocess", p, py["preprocess"]);
		row("score", s, py["score"]);
		row("AUC with DeLong interval", e, py["evaluate"]);
		row("end to end", r + p + s + e, py["retrieve"] + py["deidentify"] + py["preprocess"] + py["score"] + py["evaluate"]);
	}
	function row(name, a, b) { a /= 1000; printf "%-40s %12.3f %12.3f %11.2fx\n", name, a, b, b / a }'
/usr/bin/python3 "$HERE/compare_results.py" "$dir/python/scores.tsv" "$dir/pgscreen_scores.tsv" "$dir/pgscreen_pre.tsv" \
	"$dir/fundus.npz" "$dir/mammo.npz" "$(echo "$py" | sed -n 's/^auc //p')" "$auc"
