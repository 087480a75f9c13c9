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
