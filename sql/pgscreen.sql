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
-- Network weights: model files (the engine's own format) and .npz with torchvision's tensor names
-------------------------------------------------------------------------------------------------------------

CREATE FUNCTION screen.model_init(architecture text, options jsonb DEFAULT '{}', seed bigint DEFAULT 0)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgscreen_model_init'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION screen.model_init(text, jsonb, bigint) IS
'A new model file: architecture inception_v3 or small_cnn, initialised as torchvision does from the seed. Options: head (sigmoid or softmax), outputs, aux_logits, input_channels, input_height, input_width, dropout, bn_eps, bn_momentum, and recipe (an object of strings saying how inputs are preprocessed and normalised, kept with the model).';

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
