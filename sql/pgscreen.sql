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
