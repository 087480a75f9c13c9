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
