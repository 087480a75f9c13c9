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
-- Preprocessing: fundus photographs, network input, synthetic screening data
-------------------------------------------------------------------------------------------------------------

-- Decoding and locating a photograph takes milliseconds, thousands of times an ordinary operator: the COST
-- tells the planner, which then runs SELECT fundus_preprocess(img) FROM photos in parallel workers.

CREATE FUNCTION screen.fundus_preprocess(
    img bytea,
    diameter int DEFAULT 299,
    method text DEFAULT 'voets2018',
    ungradable text DEFAULT 'error')
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_fundus_preprocess'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000;

COMMENT ON FUNCTION screen.fundus_preprocess(bytea, int, text, text) IS
'The circular fundus of a JPEG/PNG photograph scaled to diameter pixels across and centred in a black diameter×diameter square, as an NPY uint8 H×W×3 tensor. method voets2018 (the replication''s steps) or graham (then 4·(img − local average) + 128, outside 90 % of the circle 128). An ungradable photograph is an error, or NULL with ungradable => ''null''.';

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
'An 8-bit image as float32 network input in an NPY tensor: method unit (x/255), standardize (per image, (x − mean)/max(std, 1/√N)) or symmetric (x/127.5 − 1); layout chw (channels first, by transposing) or hwc.';

CREATE FUNCTION screen.augment(img bytea, seed bigint, options jsonb DEFAULT '{}')
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_augment'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;

COMMENT ON FUNCTION screen.augment(bytea, bigint, jsonb) IS
'An image as training augmentation would change it for this seed, as an NPY uint8 tensor to look at. The published recipe (flip, brightness ±0.125, saturation ×[0.5, 1.5], hue ±0.2, contrast ×[0.5, 1.5], random order per image) unless options change it: {"flip": bool, "brightness": x, "saturation": [lo, hi], "hue": x, "contrast": [lo, hi], "random_order": bool}.';

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
