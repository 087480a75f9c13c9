-- pgscreen install script: every SQL object of the extension, in schema screen.
\echo Use "CREATE EXTENSION pgscreen" to load this file. \quit

-- Analysts use pgscreen as ordinary roles: the schema is open, and objects that must not be (keys,
-- other roles' jobs) restrict themselves.
GRANT USAGE ON SCHEMA screen TO PUBLIC;

-------------------------------------------------------------------------------------------------------------
-- Devices
-------------------------------------------------------------------------------------------------------------

CREATE FUNCTION screen.device_info(
    OUT device text,
    OUT kind text,
    OUT name text,
    OUT total_memory_mb bigint,
    OUT free_memory_mb bigint,
    OUT compute_capability text,
    OUT multiprocessors int,
    OUT driver_version text,
    OUT runtime_version text,
    OUT cudnn_version text,
    OUT cublas_version text,
    OUT selected boolean,
    OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgscreen_device_info'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION screen.device_info() IS
'One row per GPU (name, memory, compute capability, driver/runtime/cuDNN/cuBLAS versions) and one row for the CPU; with no usable GPU the CPU row''s detail says why. selected marks the device pgscreen.device resolves to.';

CREATE FUNCTION screen.current_device()
RETURNS text
AS 'MODULE_PATHNAME', 'pgscreen_current_device'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION screen.current_device() IS
'The device pgscreen.device resolves to in this session: cpu or cuda:N. Errors when a GPU is demanded and none is usable.';

-------------------------------------------------------------------------------------------------------------
-- Images and tensors
-------------------------------------------------------------------------------------------------------------

CREATE FUNCTION screen.image_info(
    img bytea,
    OUT format text,
    OUT width int,
    OUT height int,
    OUT channels int,
    OUT bits int,
    OUT frames int)
RETURNS record
AS 'MODULE_PATHNAME', 'pgscreen_image_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.image_info(bytea) IS
'Format (jpeg, png, npy, dicom), size, channels, bits per sample and frames of an image, read from its header only.';

CREATE FUNCTION screen.to_npy(img bytea, frame int DEFAULT 0, scale_denom int DEFAULT 1)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_to_npy'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.to_npy(bytea, int, int) IS
'Decode an image into an NPY tensor of shape (height, width[, channels]), uint8 or uint16 as stored. scale_denom 2, 4 or 8 decodes at that fraction of the size (DCT scaling for JPEG, block averaging otherwise).';

CREATE FUNCTION screen.to_png(img bytea, frame int DEFAULT 0, scale_denom int DEFAULT 1)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_to_png'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.to_png(bytea, int, int) IS
'PNG of a JPEG, PNG or NPY image (16-bit samples stay 16-bit; float32 tensors are stretched from their range to 0-255; C×H×W tensors are shown as images), so any stage can be looked at.';

CREATE FUNCTION screen.tensor_info(
    npy bytea,
    OUT dtype text,
    OUT shape bigint[],
    OUT ndim int,
    OUT nbytes bigint,
    OUT fortran_order boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'pgscreen_tensor_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.tensor_info(bytea) IS
'dtype (uint8, uint16, float32), shape, number of dimensions, data size and memory order of an NPY tensor.';

-------------------------------------------------------------------------------------------------------------
-- DICOM: inspection, pixels, de-identification (PS3.15 2023b Annex E), synthetic mammograms
-------------------------------------------------------------------------------------------------------------

-- The COST of these functions (milliseconds of work per call) lets the planner choose parallel plans.
-- De-identification keys live in a table only members of pgscreen_deid (and superusers) can read: never in a
-- setting, a log line or a function result. Keys are made inside the server by deid_create_key().
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgscreen_deid') THEN
        CREATE ROLE pgscreen_deid NOLOGIN;
    END IF;
END $$;

CREATE TABLE screen.deid_keys (
    name text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 63),
    key bytea NOT NULL CHECK (length(key) BETWEEN 16 AND 64),
    created timestamptz NOT NULL DEFAULT now(),
    created_by name NOT NULL DEFAULT current_user);
REVOKE ALL ON screen.deid_keys FROM PUBLIC;
GRANT SELECT, INSERT ON screen.deid_keys TO pgscreen_deid;
-- Keys must survive dump and restore, or every pseudonym would change: pg_dump includes this table's rows.
SELECT pg_catalog.pg_extension_config_dump('screen.deid_keys', '');

COMMENT ON TABLE screen.deid_keys IS
'Secret keys for keyed pseudonyms (HMAC-SHA256): readable only by members of pgscreen_deid and superusers.';

-- An optional map from originals to pseudonyms for authorised re-identification, protected like the keys.
CREATE TABLE screen.deid_map (
    key_name text NOT NULL,
    kind text NOT NULL,
    original text NOT NULL,
    pseudonym text NOT NULL,
    recorded timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_name, kind, original));
REVOKE ALL ON screen.deid_map FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON screen.deid_map TO pgscreen_deid;
SELECT pg_catalog.pg_extension_config_dump('screen.deid_map', '');

COMMENT ON TABLE screen.deid_map IS
'Originals and their pseudonyms (patient, UIDs, date offsets), filled from screen.dicom_pseudonyms() by members of pgscreen_deid.';

CREATE FUNCTION screen.deid_create_key(name text DEFAULT 'default')
RETURNS void
AS 'MODULE_PATHNAME', 'pgscreen_deid_create_key'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

REVOKE EXECUTE ON FUNCTION screen.deid_create_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION screen.deid_create_key(text) TO pgscreen_deid;

COMMENT ON FUNCTION screen.deid_create_key(text) IS
'Create a random 256-bit de-identification key with this name in screen.deid_keys (members of pgscreen_deid). The key never leaves the server; an existing key is never replaced.';

CREATE FUNCTION screen.dicom_json(dcm bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgscreen_dicom_json'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
COST 1000;

COMMENT ON FUNCTION screen.dicom_json(bytea) IS
'The data set in the DICOM JSON model (PS3.18 Annex F): tags as keys, vr and Value, person names as Alphabetic components, sequences nested, bulk data (OB, OW, UN, Pixel Data) left out.';

CREATE FUNCTION screen.dicom_value(dcm bytea, tag text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgscreen_dicom_value'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
COST 200;

COMMENT ON FUNCTION screen.dicom_value(bytea, text) IS
'One attribute as text (values joined by backslashes), NULL when absent. tag is a keyword (PatientID), (gggg,eeee), or a path such as ReferencedImageSequence[0].ReferencedSOPInstanceUID. Stops parsing before Pixel Data.';

CREATE FUNCTION screen.dicom_pixels(dcm bytea, frame int DEFAULT 0)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_dicom_pixels'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
COST 1000;

COMMENT ON FUNCTION screen.dicom_pixels(bytea, int) IS
'One frame as an NPY tensor of stored values: uint8, uint16 (unsigned data up to 16 bits), float32 (signed or 32-bit data); colour as H×W×3 RGB. Every transfer syntax: uncompressed, deflated, RLE, JPEG, JPEG-LS, JPEG 2000.';

CREATE FUNCTION screen.dicom_anonymize(dcm bytea, options jsonb DEFAULT '{}')
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_dicom_anonymize'
LANGUAGE C STABLE STRICT PARALLEL SAFE
COST 2000;

COMMENT ON FUNCTION screen.dicom_anonymize(bytea, jsonb) IS
'De-identify with the DICOM PS3.15 2023b Basic Application Level Confidentiality Profile and the options given (retain_*, clean_*, retain_longitudinal, keep, burned_in_annotation, modalities, key). Pseudonyms and UIDs are keyed (HMAC-SHA256, screen.deid_keys); NULL when the object is quarantined.';

CREATE FUNCTION screen.dicom_quarantine_reason(dcm bytea, options jsonb DEFAULT '{}')
RETURNS text
AS 'MODULE_PATHNAME', 'pgscreen_dicom_quarantine_reason'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
COST 200;

COMMENT ON FUNCTION screen.dicom_quarantine_reason(bytea, jsonb) IS
'Why dicom_anonymize would quarantine (or reject) the object under these options, or NULL: modality not allowed, Burned In Annotation, a "Patient Protocol" series, a DICOMDIR, an overlay embedded in Pixel Data.';

CREATE FUNCTION screen.dicom_phi_report(
    dcm bytea,
    options jsonb DEFAULT '{}',
    OUT tag text,
    OUT keyword text,
    OUT vr text,
    OUT path text,
    OUT action text,
    OUT preview text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgscreen_dicom_phi_report'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 40
COST 1000;

COMMENT ON FUNCTION screen.dicom_phi_report(bytea, jsonb) IS
'A dry run of dicom_anonymize: one row per attribute the profile would change (X remove, Z empty, D dummy, U new UID, C clean; K for private attributes kept by an option), with its path into sequences and a preview of the value. Needs no key.';

CREATE FUNCTION screen.dicom_pseudonyms(
    dcm bytea,
    options jsonb DEFAULT '{}',
    OUT kind text,
    OUT original text,
    OUT pseudonym text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgscreen_dicom_pseudonyms'
LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 10
COST 1000;

COMMENT ON FUNCTION screen.dicom_pseudonyms(bytea, jsonb) IS
'The pseudonyms dicom_anonymize gives this object under the key (patient, each UID, the date offset): for filling screen.deid_map. Needs the key, like dicom_anonymize.';

CREATE FUNCTION screen.synthetic_mammogram(
    seed bigint,
    laterality text DEFAULT NULL,
    view text DEFAULT NULL,
    monochrome1 boolean DEFAULT false,
    burned_in_label boolean DEFAULT false,
    phi boolean DEFAULT true,
    height int DEFAULT 1024,
    width int DEFAULT 768,
    patient_id text DEFAULT NULL,
    study_instance_uid text DEFAULT NULL,
    series_instance_uid text DEFAULT NULL,
    instance_number int DEFAULT 1)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_synthetic_mammogram'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
COST 10000;

COMMENT ON FUNCTION screen.synthetic_mammogram(bigint, text, text, boolean, boolean, boolean, int, int, text, text, text, int) IS
'A synthetic DICOM Digital Mammography X-Ray Image (For Presentation), 16-bit with 12 bits stored: breast with texture, L or R, CC or MLO (chosen from the seed when NULL), optionally MONOCHROME1, a burned-in label block, and planted identifying values (header, nested sequences, private elements, overlay, descriptions). Same arguments, same bytes.';

-------------------------------------------------------------------------------------------------------------
-- PACS: query/retrieve from SQL and the storage receiver
-------------------------------------------------------------------------------------------------------------

-- These functions open network connections from the database server, so they are not for everybody:
-- EXECUTE is revoked from PUBLIC and granted by an administrator to the roles that extract studies.

CREATE FUNCTION screen.pacs_echo(
    host text,
    port int,
    called_aet text,
    calling_aet text DEFAULT 'PGSCREEN',
    options jsonb DEFAULT '{}')
RETURNS interval
AS 'MODULE_PATHNAME', 'pgscreen_pacs_echo'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.pacs_echo(text, int, text, text, jsonb) IS
'DICOM verification (C-ECHO) of a PACS: the request/response round trip, or an error saying whether the connection was refused, timed out or the association was rejected and why. options: connect_timeout, acse_timeout, dimse_timeout, max_pdu, tls.';

CREATE FUNCTION screen.pacs_find(
    host text,
    port int,
    called_aet text,
    level text,
    query jsonb,
    calling_aet text DEFAULT 'PGSCREEN',
    options jsonb DEFAULT '{}')
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'pgscreen_pacs_find'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE ROWS 100;

COMMENT ON FUNCTION screen.pacs_find(text, int, text, text, jsonb, text, jsonb) IS
'C-FIND at level PATIENT, STUDY, SERIES or IMAGE: one DICOM JSON object (PS3.18 F) per match. query maps keywords or tags to matching values (wildcards, date ranges, UID lists as DICOM allows; null asks for the attribute back). options: model (study or patient), limit (default pgscreen.pacs_find_limit; more matches give a warning), and the network options of pacs_echo.';

CREATE FUNCTION screen.pacs_retrieve(
    host text,
    port int,
    called_aet text,
    query jsonb,
    "into" regclass,
    options jsonb DEFAULT '{}',
    calling_aet text DEFAULT 'PGSCREEN')
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgscreen_pacs_retrieve'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.pacs_retrieve(text, int, text, jsonb, regclass, jsonb, text) IS
'Retrieve the instances a query names into a table (column contract: sop_instance_uid text unique, dcm bytea, optional study_instance_uid, series_instance_uid, sop_class_uid, transfer_syntax_uid, source_aet, received_at) by C-GET, or by C-MOVE to pgscreen''s receiver with options.method = ''move''; returns the number of instances stored. Instances already in the table are not stored again. options: deidentify (anonymisation options; quarantined instances are skipped or go to quarantine_table), level, model, limit, progress_every, and the network options of pacs_echo.';

REVOKE EXECUTE ON FUNCTION screen.pacs_echo(text, int, text, text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION screen.pacs_find(text, int, text, text, jsonb, text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION screen.pacs_retrieve(text, int, text, jsonb, regclass, jsonb, text) FROM PUBLIC;

CREATE FUNCTION screen.pacs_activity(
    OUT pid int,
    OUT kind text,
    OUT role regrole,
    OUT state text,
    OUT peer text,
    OUT started_at timestamptz,
    OUT last_activity timestamptz,
    OUT stored bigint,
    OUT duplicates bigint,
    OUT quarantined bigint,
    OUT failed bigint,
    OUT bytes bigint,
    OUT remaining int,
    OUT associations bigint,
    OUT refused bigint,
    OUT last_error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgscreen_pacs_activity'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION screen.pacs_activity() IS
'One row per running pacs_retrieve and per receiver worker, with the counts so far (stored, duplicates, quarantined, failed, bytes, sub-operations remaining at the PACS; associations and refusals for receivers). Peer and last error are shown to the same role and to pg_read_all_stats only. Needs pgscreen in shared_preload_libraries.';

CREATE VIEW screen.pacs_activity AS SELECT * FROM screen.pacs_activity();

COMMENT ON VIEW screen.pacs_activity IS
'Running retrievals and receiver workers with their progress; see screen.pacs_activity().';

GRANT SELECT ON screen.pacs_activity TO PUBLIC;

-------------------------------------------------------------------------------------------------------------
-- Evaluation: ROC values, AUC with DeLong or bootstrap intervals, operating points with exact intervals,
-- paired model comparison, ROC plots
-------------------------------------------------------------------------------------------------------------

-- screen.roc: per distinct score, the numbers of positive and negative cases (a compact binary form; its text
-- output is a summary). Built by the aggregate screen.roc(score, label).
CREATE TYPE screen.roc;

CREATE FUNCTION screen.roc_in(cstring)
RETURNS screen.roc
AS 'MODULE_PATHNAME', 'pgscreen_roc_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION screen.roc_out(screen.roc)
RETURNS cstring
AS 'MODULE_PATHNAME', 'pgscreen_roc_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION screen.roc_recv(internal)
RETURNS screen.roc
AS 'MODULE_PATHNAME', 'pgscreen_roc_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION screen.roc_send(screen.roc)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_roc_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE screen.roc (
    INPUT = screen.roc_in,
    OUTPUT = screen.roc_out,
    RECEIVE = screen.roc_recv,
    SEND = screen.roc_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);

COMMENT ON TYPE screen.roc IS
'Grouped ROC counts: for each distinct score, the number of positive and negative cases, plus the number of rows skipped for a NULL score or label. Built by the aggregate screen.roc(score, label); shown as "n=… positives=… auc=…". Cast to bytea for its binary form.';

COMMENT ON FUNCTION screen.roc_in(cstring) IS
'Refuses text input: a roc value is built by screen.roc(score, label) or cast from its binary form in a bytea.';
COMMENT ON FUNCTION screen.roc_out(screen.roc) IS
'Text summary of a roc value: number of cases, positives, AUC and rows skipped for NULLs.';
COMMENT ON FUNCTION screen.roc_recv(internal) IS
'Binary input of a roc value (its binary form, checked in full).';
COMMENT ON FUNCTION screen.roc_send(screen.roc) IS
'Binary output of a roc value (its binary form).';

CREATE FUNCTION screen.roc_from_bytea(bytea)
RETURNS screen.roc
AS 'MODULE_PATHNAME', 'pgscreen_roc_from_bytea'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.roc_from_bytea(bytea) IS
'A roc value from its binary form (as produced by a cast to bytea), checked in full; corrupt bytes are an error.';

CREATE CAST (screen.roc AS bytea) WITHOUT FUNCTION;
CREATE CAST (bytea AS screen.roc) WITH FUNCTION screen.roc_from_bytea(bytea);

COMMENT ON CAST (screen.roc AS bytea) IS
'The binary form of a roc value, for storing it where its text summary would not do (pg_dump, other databases).';
COMMENT ON CAST (bytea AS screen.roc) IS
'A roc value from its binary form, checked in full.';

-- The aggregate screen.roc(score, label).
CREATE FUNCTION screen.roc_transition(internal, float8, boolean)
RETURNS internal
AS 'MODULE_PATHNAME', 'pgscreen_roc_transition'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION screen.roc_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'pgscreen_roc_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION screen.roc_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_roc_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION screen.roc_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'pgscreen_roc_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION screen.roc_final(internal)
RETURNS screen.roc
AS 'MODULE_PATHNAME', 'pgscreen_roc_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION screen.roc_transition(internal, float8, boolean) IS 'Transition function of screen.roc(score, label).';
COMMENT ON FUNCTION screen.roc_combine(internal, internal) IS 'Combines partial screen.roc states (parallel aggregation).';
COMMENT ON FUNCTION screen.roc_serialize(internal) IS 'Serializes a partial screen.roc state into its binary form.';
COMMENT ON FUNCTION screen.roc_deserialize(bytea, internal) IS 'Reads a partial screen.roc state from its binary form.';
COMMENT ON FUNCTION screen.roc_final(internal) IS 'Final function of screen.roc(score, label).';

CREATE AGGREGATE screen.roc(score float8, label boolean) (
    SFUNC = screen.roc_transition,
    STYPE = internal,
    FINALFUNC = screen.roc_final,
    COMBINEFUNC = screen.roc_combine,
    SERIALFUNC = screen.roc_serialize,
    DESERIALFUNC = screen.roc_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE screen.roc(float8, boolean) IS
'Grouped ROC counts of scores against labels (true = positive, the condition is present). Rows with a NULL score or label are skipped and counted; a NaN or infinite score is an error. No rows give an empty roc (n=0). Runs in parallel.';

CREATE FUNCTION screen.roc_info(
    r screen.roc,
    OUT n bigint,
    OUT positives bigint,
    OUT negatives bigint,
    OUT distinct_scores bigint,
    OUT skipped bigint,
    OUT bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgscreen_roc_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.roc_info(screen.roc) IS
'Cases, positives, negatives, distinct scores, rows skipped because the score or label was NULL, and the size of the binary form in bytes.';

CREATE FUNCTION screen.auc(r screen.roc)
RETURNS float8
AS 'MODULE_PATHNAME', 'pgscreen_auc'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.auc(screen.roc) IS
'Exact Mann-Whitney AUC (area under the ROC curve), ties counted as one half. NULL with a NOTICE when there are no positive or no negative cases.';

CREATE FUNCTION screen.auc_ci(
    r screen.roc,
    level float8 DEFAULT 0.95,
    method text DEFAULT 'delong',
    resamples int DEFAULT 2000,
    seed bigint DEFAULT 0,
    OUT auc float8,
    OUT lower float8,
    OUT upper float8,
    OUT se float8)
RETURNS record
AS 'MODULE_PATHNAME', 'pgscreen_auc_ci'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.auc_ci(screen.roc, float8, text, int, bigint) IS
'AUC with a confidence interval at level: method ''delong'' (default; DeLong''s variance by the O(n log n) algorithm of Sun & Xu, Wald interval clipped to [0, 1]) or ''bootstrap'' (stratified, resamples replicates from seed, percentile interval, se = standard deviation of the replicates).';

CREATE FUNCTION screen.roc_curve(
    r screen.roc,
    OUT threshold float8,
    OUT tpr float8,
    OUT fpr float8,
    OUT tp bigint,
    OUT fp bigint,
    OUT tn bigint,
    OUT fn bigint,
    OUT "precision" float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgscreen_roc_curve'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
ROWS 1000;

COMMENT ON FUNCTION screen.roc_curve(screen.roc) IS
'The ROC curve, one row per distinct score taken as threshold (a case is called positive when score >= threshold), from threshold Infinity (nothing positive) down to the lowest score (everything positive): tpr = sensitivity, fpr = 1 - specificity, the confusion counts and precision (PPV). Ratios with a zero denominator are NULL.';

CREATE FUNCTION screen.operating_point(
    r screen.roc,
    sensitivity float8 DEFAULT NULL,
    specificity float8 DEFAULT NULL,
    level float8 DEFAULT 0.95,
    OUT threshold float8,
    OUT sensitivity float8,
    OUT sensitivity_lower float8,
    OUT sensitivity_upper float8,
    OUT specificity float8,
    OUT specificity_lower float8,
    OUT specificity_upper float8,
    OUT ppv float8,
    OUT npv float8,
    OUT tp bigint,
    OUT fp bigint,
    OUT tn bigint,
    OUT fn bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgscreen_operating_point'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION screen.operating_point(screen.roc, float8, float8, float8) IS
'The operating point for a target, given as sensitivity => s (the highest threshold whose sensitivity is at least s) or specificity => s (the lowest threshold whose specificity is at least s), with sensitivity and specificity, their exact Clopper-Pearson intervals at level, PPV, NPV and the counts. Choose it on a tuning set, then evaluate its threshold on the test set with screen.confusion.';

CREATE FUNCTION screen.confusion(
    r screen.roc,
    threshold float8,
    level float8 DEFAULT 0.95,
    OUT threshold float8,
    OUT sensitivity float8,
    OUT sensitivity_lower float8,
    OUT sensitivity_upper float8,
    OUT specificity float8,
    OUT specificity_lower float8,
    OUT specificity_upper float8,
    OUT ppv float8,
    OUT npv float8,
    OUT tp bigint,
    OUT fp bigint,
    OUT tn bigint,
    OUT fn bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgscreen_confusion'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.confusion(screen.roc, float8, float8) IS
'Confusion counts at a threshold (score >= threshold is called positive) with sensitivity and specificity, their exact Clopper-Pearson intervals at level, PPV and NPV. Ratios with a zero denominator are NULL.';

CREATE FUNCTION screen.clopper_pearson(
    k bigint,
    n bigint,
    level float8 DEFAULT 0.95,
    OUT lower float8,
    OUT upper float8)
RETURNS record
AS 'MODULE_PATHNAME', 'pgscreen_clopper_pearson'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.clopper_pearson(bigint, bigint, float8) IS
'Exact (Clopper-Pearson) confidence interval at level for a proportion of k successes in n trials, from beta quantiles; NULL bounds when n = 0.';

CREATE FUNCTION screen.roc_svg(
    r screen.roc,
    title text DEFAULT NULL,
    label text DEFAULT NULL,
    thresholds float8[] DEFAULT NULL,
    level float8 DEFAULT 0.95,
    width int DEFAULT 560,
    height int DEFAULT 560)
RETURNS text
AS 'MODULE_PATHNAME', 'pgscreen_roc_svg'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION screen.roc_svg(screen.roc, text, text, float8[], float8, int, int) IS
'An SVG picture of the ROC curve: axes, chance diagonal, the AUC with its DeLong interval at level in the legend, and the operating points at the given thresholds marked with their sensitivity and specificity.';

CREATE FUNCTION screen.roc_svg(
    rocs screen.roc[],
    labels text[] DEFAULT NULL,
    title text DEFAULT NULL,
    level float8 DEFAULT 0.95,
    width int DEFAULT 560,
    height int DEFAULT 560)
RETURNS text
AS 'MODULE_PATHNAME', 'pgscreen_roc_svg_overlay'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION screen.roc_svg(screen.roc[], text[], text, float8, int, int) IS
'An SVG picture of several ROC curves overlaid (up to 64), each with its label and AUC with DeLong interval at level in the legend.';

-- The aggregate screen.roc_compare(score_a, score_b, label [, level]): the paired DeLong test.
CREATE TYPE screen.roc_comparison AS (
    auc_a float8,
    auc_b float8,
    difference float8,
    lower float8,
    upper float8,
    se float8,
    z float8,
    p_value float8,
    correlation float8,
    n bigint,
    positives bigint,
    skipped bigint
);

COMMENT ON TYPE screen.roc_comparison IS
'Result of screen.roc_compare: both AUCs, their difference (a - b) with its confidence interval and standard error, the z statistic and two-sided p-value of the paired DeLong test, the correlation of the two AUC estimates, cases, positives and rows skipped for NULLs.';

CREATE FUNCTION screen.roc_compare_transition(internal, float8, float8, boolean)
RETURNS internal
AS 'MODULE_PATHNAME', 'pgscreen_roc_compare_transition'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION screen.roc_compare_transition(internal, float8, float8, boolean, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'pgscreen_roc_compare_transition'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION screen.roc_compare_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'pgscreen_roc_compare_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION screen.roc_compare_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_roc_compare_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION screen.roc_compare_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'pgscreen_roc_compare_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION screen.roc_compare_final(internal)
RETURNS screen.roc_comparison
AS 'MODULE_PATHNAME', 'pgscreen_roc_compare_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION screen.roc_compare_transition(internal, float8, float8, boolean) IS 'Transition function of screen.roc_compare(score_a, score_b, label).';
COMMENT ON FUNCTION screen.roc_compare_transition(internal, float8, float8, boolean, float8) IS 'Transition function of screen.roc_compare(score_a, score_b, label, level).';
COMMENT ON FUNCTION screen.roc_compare_combine(internal, internal) IS 'Combines partial screen.roc_compare states (parallel aggregation).';
COMMENT ON FUNCTION screen.roc_compare_serialize(internal) IS 'Serializes a partial screen.roc_compare state.';
COMMENT ON FUNCTION screen.roc_compare_deserialize(bytea, internal) IS 'Reads a partial screen.roc_compare state.';
COMMENT ON FUNCTION screen.roc_compare_final(internal) IS 'Final function of screen.roc_compare: the paired DeLong test.';

-- The final function rewrites the collected cases (sorting them in place), hence READ_WRITE.
CREATE AGGREGATE screen.roc_compare(score_a float8, score_b float8, label boolean) (
    SFUNC = screen.roc_compare_transition,
    STYPE = internal,
    FINALFUNC = screen.roc_compare_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = screen.roc_compare_combine,
    SERIALFUNC = screen.roc_compare_serialize,
    DESERIALFUNC = screen.roc_compare_deserialize,
    PARALLEL = SAFE
);

CREATE AGGREGATE screen.roc_compare(score_a float8, score_b float8, label boolean, level float8) (
    SFUNC = screen.roc_compare_transition,
    STYPE = internal,
    FINALFUNC = screen.roc_compare_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = screen.roc_compare_combine,
    SERIALFUNC = screen.roc_compare_serialize,
    DESERIALFUNC = screen.roc_compare_deserialize,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE screen.roc_compare(float8, float8, boolean) IS
'Paired DeLong test of two models scored on the same cases (95 % interval for the difference of AUCs). Keeps every case: 16 bytes per case. Rows with a NULL are skipped and counted. Runs in parallel.';
COMMENT ON AGGREGATE screen.roc_compare(float8, float8, boolean, float8) IS
'Paired DeLong test of two models scored on the same cases, with the interval for the difference at level (the same on every row).';

-------------------------------------------------------------------------------------------------------------
-- Preprocessing: fundus photographs, network input, synthetic screening data
-------------------------------------------------------------------------------------------------------------

-- Decoding and locating a photograph takes milliseconds, thousands of times an ordinary operator: the COST
-- tells the planner, which then runs SELECT fundus_preprocess(img) FROM photos in parallel workers.

CREATE FUNCTION screen.fundus_preprocess(
    img bytea,
    diameter int DEFAULT 299,
    method text DEFAULT 'voets2018',
    ungradable text DEFAULT 'error',
    exact boolean DEFAULT false)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_fundus_preprocess'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000;

COMMENT ON FUNCTION screen.fundus_preprocess(bytea, int, text, text, boolean) IS
'The circular fundus of a JPEG/PNG photograph scaled to diameter pixels across and centred in a black diameter×diameter square, as an NPY uint8 H×W×3 tensor. method voets2018 (the replication''s steps) or graham (then 4·(img − local average) + 128, outside 90 % of the circle 128). An ungradable photograph is an error, or NULL with ungradable => ''null''. A large JPEG is decoded at a reduced DCT scale that keeps the fundus at least diameter across (within a mean of 2 levels of the full-resolution steps); exact => true decodes at full resolution, the replication''s steps to the pixel.';

CREATE FUNCTION screen.fundus_circle(
    img bytea,
    diameter int DEFAULT 299,
    OUT cx float8,
    OUT cy float8,
    OUT radius float8,
    OUT width int,
    OUT height int,
    OUT scale_denom int,
    OUT gradable boolean,
    OUT reason text)
RETURNS record
AS 'MODULE_PATHNAME', 'pgscreen_fundus_circle'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50000;

COMMENT ON FUNCTION screen.fundus_circle(bytea, int) IS
'Where fundus_preprocess(img, diameter) finds the fundus: centre and radius in pixels of the original photograph, its size, the JPEG decode scale used (1/scale_denom), whether it is gradable and, if not, why.';

CREATE FUNCTION screen.normalize(img bytea, method text DEFAULT 'symmetric', layout text DEFAULT 'chw')
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_normalize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;

COMMENT ON FUNCTION screen.normalize(bytea, text, text) IS
'An 8-bit image as float32 network input in an NPY tensor: method unit (x/255), standardize (per image, (x − mean)/max(std, 1/√N)), symmetric (x/127.5 − 1) or imagenet (per channel, torchvision''s ImageNet mean and standard deviation); layout chw (channels first, by transposing) or hwc.';

CREATE FUNCTION screen.augment(img bytea, seed bigint, options jsonb DEFAULT '{}')
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_augment'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;

COMMENT ON FUNCTION screen.augment(bytea, bigint, jsonb) IS
'An image as training augmentation would change it for this seed, as an NPY uint8 tensor to look at. The published recipe (flip, brightness ±0.125, saturation ×[0.5, 1.5], hue ±0.2, contrast ×[0.5, 1.5], random order per image) unless options change it: {"enabled": bool, "flip": bool, "brightness": x, "saturation": [lo, hi], "hue": x, "contrast": [lo, hi], "random_order": bool}, the same keys as train()''s "augmentation".';

CREATE FUNCTION screen.synthetic_fundus(seed bigint, grade int, size int DEFAULT 512)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_synthetic_fundus'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000;

COMMENT ON FUNCTION screen.synthetic_fundus(bigint, int, int) IS
'A SYNTHETIC fundus photograph (JPEG, size pixels wide) of diabetic-retinopathy grade 0-4: the seed fixes the eye and the camera, seed and grade the lesions. Same arguments, same bytes. For demos, tests and benchmarks, never for clinical use.';

CREATE FUNCTION screen.synthetic_fundus_info(
    seed bigint,
    grade int,
    size int DEFAULT 512,
    OUT width int,
    OUT height int,
    OUT cx float8,
    OUT cy float8,
    OUT radius float8,
    OUT eye text,
    OUT jpeg_quality int,
    OUT microaneurysms int,
    OUT haemorrhages int,
    OUT exudates int,
    OUT cotton_wool_spots int,
    OUT neovascularisation int,
    OUT laser_scars int)
RETURNS record
AS 'MODULE_PATHNAME', 'pgscreen_synthetic_fundus_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000;

COMMENT ON FUNCTION screen.synthetic_fundus_info(bigint, int, int) IS
'What synthetic_fundus(seed, grade, size) draws: the fundus circle, the eye, the JPEG quality and the lesions by kind.';

CREATE FUNCTION screen.synthetic_fundus_set(
    n int,
    seed bigint,
    size int DEFAULT 512,
    grade_mix float8[] DEFAULT '{25810, 2443, 5292, 873, 708}',
    OUT id int,
    OUT image bytea,
    OUT grade int)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgscreen_synthetic_fundus_set'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000 ROWS 1000;

COMMENT ON FUNCTION screen.synthetic_fundus_set(int, bigint, int, float8[]) IS
'n SYNTHETIC fundus photographs of different eyes (id 1..n), each with a DR grade drawn from grade_mix (weights for grades 0-4; the default is the EyePACS training set: 73.5 % grade 0, 7.0 % 1, 15.1 % 2, 2.5 % 3, 2.0 % 4). Row id depends on seed and id only.';

CREATE FUNCTION screen.mammo_preprocess(
    dcm bytea,
    height int DEFAULT 1024,
    width int DEFAULT 832,
    dtype text DEFAULT 'uint8')
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_mammo_preprocess'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000;

COMMENT ON FUNCTION screen.mammo_preprocess(bytea, int, int, text) IS
'The breast of a DICOM mammogram as network input, an NPY height×width tensor (uint8, uint16 or float32 in [0, 1]): Modality LUT/Rescale, VOI LUT or window, MONOCHROME1 inverted; the chest wall put at the left (from the image, else Patient Orientation or laterality); cropped to the largest region above Otsu''s threshold, other bright regions in the crop (labels) blanked; resized keeping the aspect ratio; padded with black.';

CREATE FUNCTION screen.mammo_breast(
    dcm bytea,
    OUT x int,
    OUT y int,
    OUT width int,
    OUT height int,
    OUT pixels bigint,
    OUT threshold int,
    OUT flipped boolean,
    OUT oriented_by text)
RETURNS record
AS 'MODULE_PATHNAME', 'pgscreen_mammo_breast'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000;

COMMENT ON FUNCTION screen.mammo_breast(bytea) IS
'What mammo_preprocess finds in a DICOM mammogram: the breast''s bounding box and area in pixels of the stored image, Otsu''s threshold (8-bit presentation values), whether it was mirrored to put the chest wall at the left, and what decided that (image, header or default).';

-------------------------------------------------------------------------------------------------------------
-- Network weights: model files (the engine's own format) and .npz with torchvision's tensor names.
-- This is the file layer: a model in SQL is a name and version in screen.models, and its serialised form is
-- a model file (import_model stores one under a name, export_model returns one).
-------------------------------------------------------------------------------------------------------------

CREATE FUNCTION screen.model_init(architecture text, options jsonb DEFAULT '{}', seed bigint DEFAULT 0)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_model_init'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.model_init(text, jsonb, bigint) IS
'A new model file: architecture inception_v3 or small_cnn, initialised as torchvision does from the seed. Options: head (sigmoid or softmax), outputs, aux_logits, input_channels, input_height, input_width, dropout, bn_eps, bn_momentum, and recipe (how inputs are preprocessed and normalized, kept with the model: {"normalization": unit, standardize or symmetric, "preprocess": none, voets2018 or graham, "preprocess_diameter": n}).';

CREATE FUNCTION screen.model_info(
    model bytea,
    OUT architecture text,
    OUT head text,
    OUT outputs int,
    OUT aux_logits boolean,
    OUT input_channels int,
    OUT input_height int,
    OUT input_width int,
    OUT parameters bigint,
    OUT tensors int,
    OUT batches_tracked bigint,
    OUT recipe jsonb,
    OUT optimizer text,
    OUT optimizer_steps bigint,
    OUT format_version int)
RETURNS record
AS 'MODULE_PATHNAME', 'pgscreen_model_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.model_info(bytea) IS
'What a model file holds (architecture, head, input size, trainable parameters, tensors, batches trained, preprocessing recipe, and for a checkpoint its optimizer and steps), after checking its structure and checksum.';

CREATE FUNCTION screen.model_from_npz(weights bytea, architecture text, options jsonb DEFAULT '{}',
                                      seed bigint DEFAULT 0)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_model_from_npz'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.model_from_npz(bytea, text, jsonb, bigint) IS
'A model file from .npz weights (numpy.savez of a torchvision state_dict; stored or deflated entries). Every tensor must match the network, unless options has "pretrained": true: then classifier tensors of another shape and an auxiliary head the network lacks are left out (a NOTICE says so) and the new classifier keeps its seeded initialisation. Takes the model_init options too.';

CREATE FUNCTION screen.model_to_npz(model bytea, compress boolean DEFAULT false)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_model_to_npz'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.model_to_npz(bytea, boolean) IS
'The weights of a model file as .npz with torchvision''s tensor names and state_dict order (num_batches_tracked included), so numpy.load and torch''s load_state_dict read it; compress deflates the entries like numpy.savez_compressed.';

-------------------------------------------------------------------------------------------------------------
-- Training jobs, models and scoring
-------------------------------------------------------------------------------------------------------------
-- The catalog belongs to the role that created the extension. Analysts read it through row-level security
-- (a role sees the jobs and models of the roles whose privileges it has: its own, unless granted more) and
-- change it only through the functions below, which check permissions in C and write as the catalog owner
-- with a fixed search_path. Training runs in a background worker connected as the job's owner.

CREATE TABLE screen.jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner regrole NOT NULL,
    model_name text NOT NULL,
    -- queued -> running -> succeeded | failed | cancelled; a restart resumes running -> running
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    phase text CHECK (phase IN ('loading', 'training', 'saving')),
    training_query text NOT NULL,
    validation_query text NOT NULL,
    options jsonb NOT NULL,                 -- as passed to train()
    recipe jsonb NOT NULL,                  -- every setting, defaults and preset resolved
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    started_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz,
    worker_pid int,
    worker_started_at timestamptz,
    resumes int NOT NULL DEFAULT 0,
    cancel_requested boolean NOT NULL DEFAULT false,
    cancel_requested_at timestamptz,
    training_rows bigint,
    validation_rows bigint,
    epoch int,
    max_epochs int,
    step int,
    steps_per_epoch int,
    images_per_second float8,
    loss float8,
    best_validation_auc float8,
    best_epoch int,
    eta timestamptz,                        -- if training ran to max_epochs; early stopping ends sooner
    last_checkpoint_epoch int,
    last_checkpoint_at timestamptz,
    model_id bigint,
    error text,
    error_sqlstate text
);

COMMENT ON TABLE screen.jobs IS
'Training jobs started by screen.train(): state (queued, running, succeeded, failed, cancelled), live progress (epoch, step, images/s, loss, best validation AUC, ETA, last checkpoint) and the error that failed a job. Each role sees its own jobs.';

CREATE TABLE screen.training_log (
    job_id bigint NOT NULL REFERENCES screen.jobs ON DELETE CASCADE,
    epoch int NOT NULL,
    loss float8 NOT NULL,
    validation_loss float8,
    auc float8,
    auc_lower float8,
    auc_upper float8,
    learning_rate float8 NOT NULL,
    duration interval NOT NULL,
    images_per_second float8,
    improved boolean NOT NULL,              -- this epoch became the best checkpoint
    gradient_norm float8,                   -- mean global L2 norm of the batches' gradients
    diagnosis text,                         -- why the run looks stuck (diverging, flat, at chance), and likely causes
    logged_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (job_id, epoch)
);

COMMENT ON TABLE screen.training_log IS
'One row per training epoch: mean training loss, validation loss, validation AUC with its 95 % DeLong CI, learning rate, mean gradient norm, duration, whether the epoch became the best checkpoint, and a diagnosis with likely causes when the run is diverging, flat or still at chance.';

CREATE TABLE screen.models (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Names belong to their owner, like a schema's objects: "owner.name" qualifies one, so no dot or colon.
    name text NOT NULL CHECK (name ~ '^[^:.[:space:]]([^:.]*[^:.[:space:]])?$'),
    version int NOT NULL CHECK (version > 0),
    owner regrole NOT NULL,
    kind text NOT NULL CHECK (kind IN ('network', 'ensemble')),
    architecture text,
    input_height int,
    input_width int,
    input_channels int,
    preprocess jsonb,                       -- applied to raw images; NULL: inputs are NPY tensors
    normalization text,
    recipe jsonb NOT NULL,                  -- data queries and row counts, every hyper-parameter, seed,
                                            -- software and device: what reproduces the model
    training_query text,
    training_rows bigint,
    validation_query text,
    validation_rows bigint,
    job_id bigint REFERENCES screen.jobs ON DELETE SET NULL,
    members bigint[],                       -- ensembles: the member models' ids
    metrics jsonb,
    operating_points jsonb NOT NULL DEFAULT '{}',
    weights_bytes bigint,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (owner, name, version)
);

COMMENT ON TABLE screen.models IS
'Trained networks and ensembles: owner, name and version (numbered per owner and name), architecture, input size, preprocessing and normalization (applied automatically when scoring), the full recipe that reproduces the model, validation metrics and stored operating points. Each role sees its own models.';

-- Weights in the engine's model file format, split into rows so no value nears the 1 GB bytea limit.
CREATE TABLE screen.model_weights (
    model_id bigint NOT NULL REFERENCES screen.models ON DELETE CASCADE,
    chunk int NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (model_id, chunk)
);
ALTER TABLE screen.model_weights ALTER COLUMN data SET STORAGE EXTERNAL;    -- floats do not compress

COMMENT ON TABLE screen.model_weights IS
'The weights of each network in the engine''s versioned model format, in chunks of at most 64 MB.';

ALTER TABLE screen.jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE screen.training_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE screen.models ENABLE ROW LEVEL SECURITY;
ALTER TABLE screen.model_weights ENABLE ROW LEVEL SECURITY;

CREATE POLICY jobs_of_my_roles ON screen.jobs FOR SELECT
    USING (pg_catalog.pg_has_role(owner, 'USAGE'));
CREATE POLICY finished_jobs_deletable ON screen.jobs FOR DELETE
    USING (pg_catalog.pg_has_role(owner, 'USAGE') AND state IN ('succeeded', 'failed', 'cancelled'));
CREATE POLICY log_of_visible_jobs ON screen.training_log FOR SELECT
    USING (EXISTS (SELECT 1 FROM screen.jobs j WHERE j.id = job_id));
CREATE POLICY models_of_my_roles ON screen.models FOR SELECT
    USING (pg_catalog.pg_has_role(owner, 'USAGE'));
CREATE POLICY models_deletable ON screen.models FOR DELETE
    USING (pg_catalog.pg_has_role(owner, 'USAGE'));
CREATE POLICY weights_of_visible_models ON screen.model_weights FOR SELECT
    USING (EXISTS (SELECT 1 FROM screen.models m WHERE m.id = model_id));

GRANT SELECT, DELETE ON screen.jobs, screen.models TO PUBLIC;
GRANT SELECT ON screen.training_log, screen.model_weights TO PUBLIC;

-- Keep trained models and job history through pg_dump / pg_restore.
SELECT pg_catalog.pg_extension_config_dump('screen.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('screen.training_log', '');
SELECT pg_catalog.pg_extension_config_dump('screen.models', '');
SELECT pg_catalog.pg_extension_config_dump('screen.model_weights', '');
SELECT pg_catalog.pg_extension_config_dump('screen.jobs_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('screen.models_id_seq', '');

-- Backends cache loaded models; a change to screen.models tells every backend to drop its cache at commit.
CREATE FUNCTION screen.models_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgscreen_models_changed'
LANGUAGE C;

COMMENT ON FUNCTION screen.models_changed() IS
'Trigger function: invalidates every backend''s cache of loaded models when screen.models changes.';

CREATE TRIGGER models_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON screen.models
    FOR EACH STATEMENT EXECUTE FUNCTION screen.models_changed();

CREATE FUNCTION screen.train(
    model_name text,
    training_query text,
    validation_query text,
    options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgscreen_train'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.train(text, text, text, jsonb) IS
'Queue a training job and return its id. The queries return (input bytea, label): NPY tensors from preprocessing, or raw JPEG/PNG/DICOM with a "preprocess" option; label is boolean or 0/1. The job runs in a background worker as the calling role. Options: recipe (pgscreen_default, the default; voets2018_thesis, voets2019_plos, gulshan2016), architecture, input_size, pretrained, optimizer, learning_rate, momentum, nesterov, rho, epsilon, weight_decay, schedule, warmup_epochs, batch_size, balance, max_epochs, min_auc_gain, patience, augmentation, normalization, preprocess, seed, device; for several devices (data-parallel replicas): devices (GPUs, or "cuda:all"), cpu_replicas, sync_batchnorm.';

CREATE FUNCTION screen.cancel(job_id bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'pgscreen_cancel'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.cancel(bigint) IS
'Cancel a job: a queued job is cancelled at once, a running one after the batch it is training. Returns the job''s state. Allowed to roles with the privileges of the job''s owner.';

CREATE FUNCTION screen.wait(job_id bigint, timeout interval DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgscreen_wait'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.wait(bigint, interval) IS
'Block until the job has ended (succeeded, failed or cancelled) or the timeout (NULL: none) has passed, and return its state; each diagnosis the job logs (training_log.diagnosis) comes as a NOTICE. Cancellable.';

CREATE FUNCTION screen.predict(model text, input bytea)
RETURNS float8
AS 'MODULE_PATHNAME', 'pgscreen_predict'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.predict(text, bytea) IS
'Probability of the positive class (referable) for one input: an NPY tensor, or a raw photograph when the model preprocesses. Applies the model''s own preprocessing and normalization; model is "[owner.]name[:version]" (no version: the latest; no owner: the current role''s model of that name, else the only owner''s visible to it, else an error); an ensemble averages its members. Models stay loaded in the session until screen.models changes.';

CREATE FUNCTION screen.score(model text, query text, options jsonb DEFAULT '{}')
RETURNS TABLE (id bigint, score float8)
AS 'MODULE_PATHNAME', 'pgscreen_score'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.score(text, text, jsonb) IS
'Score the (id, input) rows of a query in batches through the device, as predict() would one by one. Options: batch_size (default 32), progress (seconds between NOTICEs, default 10; 0 for none). Cancellable between batches.';

CREATE FUNCTION screen.threshold(model text, operating_point text DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'pgscreen_threshold'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION screen.threshold(text, text) IS
'The threshold of an operating point stored with the model (NULL: its only one).';

CREATE FUNCTION screen.classify(model text, input bytea, operating_point text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgscreen_classify'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION screen.classify(text, bytea, text) IS
'Referable or not: predict(model, input) >= the threshold of the named operating point stored with the model (NULL: its only one). NULL model or input gives NULL.';

CREATE FUNCTION screen.set_operating_point(model text, operating_point text, threshold float8)
RETURNS void
AS 'MODULE_PATHNAME', 'pgscreen_set_operating_point'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.set_operating_point(text, text, float8) IS
'Store a threshold under a name with the model, e.g. the high-sensitivity point chosen with screen.operating_point() on a tuning set. Replaces a point of the same name. Allowed to roles with the privileges of the model''s owner.';

CREATE FUNCTION screen.ensemble(name text, members text[])
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgscreen_ensemble'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.ensemble(text, text[]) IS
'Create a model that averages the sigmoid outputs of two or more networks (the published recipe used 10), usable wherever a model is. Members are fixed versions; returns the new model''s id.';

CREATE FUNCTION screen.create_model(name text, options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgscreen_create_model'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.create_model(text, jsonb) IS
'Create an untrained network from training options (architecture, input_size, normalization, preprocess, seed), its weights drawn from the seed exactly as train() starts: a chance-level baseline and a fixed model for tests.';

CREATE FUNCTION screen.import_weights(name text, weights bytea, options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgscreen_import_weights'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.import_weights(text, bytea, jsonb) IS
'Create a network from .npz weights with torchvision''s tensor names (numpy.savez of a PyTorch state_dict, or export_weights) for the architecture, input_size, normalization and preprocess in options. Weights with another classifier (ImageNet''s) are accepted as a starting point for train(pretrained => name).';

CREATE FUNCTION screen.export_weights(model text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_export_weights'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.export_weights(text) IS
'The weights of a network as .npz with torchvision''s tensor names, which numpy.load and PyTorch''s load_state_dict read.';

-- The file layer of the catalog: a model is a name and version in screen.models, and its serialised form is a
-- model file (model_init, model_info); export_model/import_model below carry a model with its metadata.
CREATE FUNCTION screen.import_model_file(name text, model_file bytea)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgscreen_import_model_file'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.import_model_file(text, bytea) IS
'Store a model file (from model_init, model_from_npz or export_model_file) as the next version of the named model and return its id. The file must hold a network with one sigmoid output and say how its inputs are made (its recipe: normalization, preprocess, preprocess_diameter).';

CREATE FUNCTION screen.export_model_file(model text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_export_model_file'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.export_model_file(text) IS
'The model file of a network ("name" for the latest version or "name:version"): the serialised model, which model_info and model_to_npz read and import_model_file stores again.';

-------------------------------------------------------------------------------------------------------------
-- Models across servers: a model travels as a bundle (its screen.models row without what is local to a
-- server, and its model file with its SHA-256), keeps its name and version, and belongs to the importing role.

CREATE FUNCTION screen.export_model(name text, version int DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_export_model'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION screen.export_model(text, int) IS
'A network as a bundle for screen.import_model() on another server: name, version, architecture, preprocessing and normalization, recipe, data queries, metrics and operating points, the model file and its SHA-256. version NULL: the latest.';

CREATE FUNCTION screen.import_model(bundle bytea)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgscreen_import_model'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION screen.import_model(bytea) IS
'Store a bundle from screen.export_model() under the same name and version, owned by the calling role, after checking the model file and its SHA-256; returns the model''s id here. Importing the same weights again returns the existing id; other weights under that name and version are an error.';

CREATE FUNCTION screen.model_sha256(model text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgscreen_model_sha256'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.model_sha256(text) IS
'The SHA-256 (hex) of a network''s model file: the same on every server that holds the same name and version.';

-- Runs as the caller: each server is a foreign server (postgres_fdw's will do) reached through dblink with
-- the caller's user mapping, so the same servers and mappings serve scoring and distribution.
CREATE FUNCTION screen.distribute_model(name text, servers text[], version int DEFAULT NULL)
RETURNS TABLE (server text, model_id bigint, model_version int, sha256 text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET bytea_output = 'hex'
AS $$
DECLARE
    dblink_schema name;
    chosen int := version;
    bundle bytea;
    failure text;
    failure_detail text;
    failure_state text;
BEGIN
    IF name IS NULL OR servers IS NULL THEN
        RAISE EXCEPTION 'name and servers must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT n.nspname INTO dblink_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'dblink';
    IF dblink_schema IS NULL THEN
        RAISE EXCEPTION 'screen.distribute_model needs the dblink extension'
            USING ERRCODE = 'undefined_object', HINT = 'Run CREATE EXTENSION dblink.';
    END IF;
    -- The latest version of the model the name resolves to, by the rules every model argument follows: the
    -- caller's own model of that name, else the one owner's whose models the caller sees.
    IF chosen IS NULL THEN
        SELECT max(m.version) INTO chosen FROM screen.models m
        WHERE m.name = distribute_model.name AND m.owner = current_user::regrole;
    END IF;
    IF chosen IS NULL THEN
        SELECT max(m.version) INTO chosen FROM screen.models m WHERE m.name = distribute_model.name
        HAVING count(DISTINCT m.owner) = 1;
    END IF;
    bundle := screen.export_model(name, chosen);
    FOREACH server IN ARRAY servers LOOP
        BEGIN
            EXECUTE format('SELECT r.id FROM %I.dblink($1, $2) AS r(id bigint)', dblink_schema)
                INTO model_id USING server, format('SELECT screen.import_model(%L::bytea)', bundle);
            -- A statement of its own: the imported row is not in the snapshot of the statement that imports it.
            EXECUTE format('SELECT r.sha FROM %I.dblink($1, $2) AS r(sha text)', dblink_schema)
                INTO sha256 USING server, format('SELECT screen.model_sha256(%L)', name || ':' || chosen);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS failure = MESSAGE_TEXT, failure_detail = PG_EXCEPTION_DETAIL,
                                    failure_state = RETURNED_SQLSTATE;
            RAISE EXCEPTION 'could not copy model "%" version % to server "%"', name, chosen, server
                USING ERRCODE = failure_state,
                      DETAIL = failure || coalesce(E'\n' || nullif(failure_detail, ''), ''),
                      HINT = 'Servers listed before it have their copy; run screen.distribute_model() again once it is reachable.';
        END;
        model_version := chosen;
        RETURN NEXT;
    END LOOP;
END
$$;

COMMENT ON FUNCTION screen.distribute_model(text, text[], int) IS
'Copy a network (version NULL: the latest) to each named foreign server with screen.import_model() there, through dblink and the caller''s user mappings; returns each server''s model id and the SHA-256 it computed. Each server commits its copy on its own; running it again after a failure is safe.';
