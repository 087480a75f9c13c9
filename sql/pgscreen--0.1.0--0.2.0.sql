-- pgscreen upgrade script 0.1.0 → 0.2.0: brings an installed 0.1.0 to what pgscreen.sql installs, keeping data.
\echo Use "ALTER EXTENSION pgscreen UPDATE TO '0.2.0'" to load this file. \quit

-- Model names belong to their owner: "owner.name" qualifies one, so a name holds no dot; versions are
-- numbered per owner and name. A 0.1.0 name with a dot keeps its models under the name with "_" instead.
DO $$
DECLARE renamed int;
BEGIN
    UPDATE screen.models SET name = replace(name, '.', '_') WHERE name LIKE '%.%';
    GET DIAGNOSTICS renamed = ROW_COUNT;
    IF renamed > 0 THEN
        RAISE NOTICE 'renamed % model versions whose names held a dot (now "_"): owner.name qualifies names', renamed;
    END IF;
END
$$;
ALTER TABLE screen.models DROP CONSTRAINT models_name_check;
ALTER TABLE screen.models ADD CONSTRAINT models_name_check CHECK (name ~ '^[^:.[:space:]]([^:.]*[^:.[:space:]])?$');
ALTER TABLE screen.models DROP CONSTRAINT models_name_version_key;
ALTER TABLE screen.models ADD CONSTRAINT models_owner_name_version_key UNIQUE (owner, name, version);

COMMENT ON TABLE screen.models IS
'Trained networks and ensembles: owner, name and version (numbered per owner and name), architecture, input size, preprocessing and normalization (applied automatically when scoring), the full recipe that reproduces the model, validation metrics and stored operating points. Each role sees its own models.';

-- Training diagnostics.
ALTER TABLE screen.training_log ADD COLUMN gradient_norm float8, ADD COLUMN diagnosis text;

COMMENT ON TABLE screen.training_log IS
'One row per training epoch: mean training loss, validation loss, validation AUC with its 95 % DeLong CI, learning rate, mean gradient norm, duration, whether the epoch became the best checkpoint, and a diagnosis with likely causes when the run is diverging, flat or still at chance.';

COMMENT ON FUNCTION screen.normalize(bytea, text, text) IS
'An 8-bit image as float32 network input in an NPY tensor: method unit (x/255), standardize (per image, (x − mean)/max(std, 1/√N)), symmetric (x/127.5 − 1) or imagenet (per channel, torchvision''s ImageNet mean and standard deviation); layout chw (channels first, by transposing) or hwc.';

COMMENT ON FUNCTION screen.train(text, text, text, jsonb) IS
'Queue a training job and return its id. The queries return (input bytea, label): NPY tensors from preprocessing, or raw JPEG/PNG/DICOM with a "preprocess" option; label is boolean or 0/1. The job runs in a background worker as the calling role. Options: recipe (pgscreen_default, the default; voets2018_thesis, voets2019_plos, gulshan2016), architecture, input_size, pretrained, optimizer, learning_rate, momentum, nesterov, rho, epsilon, weight_decay, schedule, warmup_epochs, batch_size, balance, max_epochs, min_auc_gain, patience, augmentation, normalization, preprocess, seed, device; for several devices (data-parallel replicas): devices (GPUs, or "cuda:all"), cpu_replicas, sync_batchnorm.';

COMMENT ON FUNCTION screen.wait(bigint, interval) IS
'Block until the job has ended (succeeded, failed or cancelled) or the timeout (NULL: none) has passed, and return its state; each diagnosis the job logs (training_log.diagnosis) comes as a NOTICE. Cancellable.';

COMMENT ON FUNCTION screen.predict(text, bytea) IS
'Probability of the positive class (referable) for one input: an NPY tensor, or a raw photograph when the model preprocesses. Applies the model''s own preprocessing and normalization; model is "[owner.]name[:version]" (no version: the latest; no owner: the current role''s model of that name, else the only owner''s visible to it, else an error); an ensemble averages its members. Models stay loaded in the session until screen.models changes.';

-- Models across servers.

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

-- One spelling, PostgreSQL's: normalization.
ALTER TABLE screen.models RENAME COLUMN normalisation TO normalization;
UPDATE screen.models SET recipe = (recipe - 'normalisation') || jsonb_build_object('normalization', recipe->'normalisation')
WHERE recipe ? 'normalisation';

-- fundus_preprocess gains "exact" (full-resolution decoding). Views or indexes that use the 0.1.0 function
-- must be dropped before the update and made again after it.
DROP FUNCTION screen.fundus_preprocess(bytea, int, text, text);

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

COMMENT ON FUNCTION screen.augment(bytea, bigint, jsonb) IS
'An image as training augmentation would change it for this seed, as an NPY uint8 tensor to look at. The published recipe (flip, brightness ±0.125, saturation ×[0.5, 1.5], hue ±0.2, contrast ×[0.5, 1.5], random order per image) unless options change it: {"enabled": bool, "flip": bool, "brightness": x, "saturation": [lo, hi], "hue": x, "contrast": [lo, hi], "random_order": bool}, the same keys as train()''s "augmentation".';

COMMENT ON FUNCTION screen.model_init(text, jsonb, bigint) IS
'A new model file: architecture inception_v3 or small_cnn, initialised as torchvision does from the seed. Options: head (sigmoid or softmax), outputs, aux_logits, input_channels, input_height, input_width, dropout, bn_eps, bn_momentum, and recipe (how inputs are preprocessed and normalized, kept with the model: {"normalization": unit, standardize or symmetric, "preprocess": none, voets2018 or graham, "preprocess_diameter": n}).';

COMMENT ON FUNCTION screen.model_from_npz(bytea, text, jsonb, bigint) IS
'A model file from .npz weights (numpy.savez of a torchvision state_dict; stored or deflated entries). Every tensor must match the network, unless options has "pretrained": true: then classifier tensors of another shape and an auxiliary head the network lacks are left out (a NOTICE says so) and the new classifier keeps its seeded initialisation. Takes the model_init options too.';

COMMENT ON FUNCTION screen.create_model(text, jsonb) IS
'Create an untrained network from training options (architecture, input_size, normalization, preprocess, seed), its weights drawn from the seed exactly as train() starts: a chance-level baseline and a fixed model for tests.';

COMMENT ON FUNCTION screen.import_weights(text, bytea, jsonb) IS
'Create a network from .npz weights with torchvision''s tensor names (numpy.savez of a PyTorch state_dict, or export_weights) for the architecture, input_size, normalization and preprocess in options. Weights with another classifier (ImageNet''s) are accepted as a starting point for train(pretrained => name).';

-- The file layer of the catalog.

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
