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
