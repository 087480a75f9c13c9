-- A model is a name and version in screen.models; its serialised form is the model file. import_model and
-- export_model move between the two, and the file-level functions (model_init, model_info) read the same bytes.
SET pgscreen.cpu_threads = 1;

CREATE TEMP TABLE file AS
SELECT screen.model_init('small_cnn', '{"input_height": 32, "input_width": 32,
    "recipe": {"normalization": "unit", "preprocess": "none", "preprocess_diameter": 0}}', 5) AS bytes;

-- a model file becomes a model: the catalog row says what the file says
SELECT screen.import_model_file('from_file', bytes) > 0 AS imported FROM file;
SELECT name, version, architecture, input_height, input_width, input_channels, preprocess, normalization,
       recipe - 'pgscreen' - 'software' AS recipe
FROM screen.models WHERE name = 'from_file';

-- and comes back byte for byte; a trained or created model exports the same way
SELECT screen.export_model_file('from_file') = bytes AS same_bytes FROM file;
SELECT screen.create_model('created', '{"architecture": "small_cnn", "input_size": 32, "seed": 3,
    "normalization": "symmetric"}') > 0 AS created;
SELECT architecture, input_height, recipe FROM screen.model_info(screen.export_model_file('created'));
SELECT screen.import_model_file('created_copy', screen.export_model_file('created:1')) > 0 AS copied;

-- scoring the copy gives what scoring the original gives
CREATE TEMP TABLE img AS SELECT screen.fundus_preprocess(screen.synthetic_fundus(9, 2, 512), 32) AS npy;
SELECT screen.predict('created_copy', npy) = screen.predict('created', npy) AS same_prediction FROM img;

-- errors
SELECT screen.import_model_file('bare', screen.model_init('small_cnn', '{}', 1));
SELECT screen.import_model_file('softmax', screen.model_init('small_cnn', '{"head": "softmax", "outputs": 2,
    "recipe": {"normalization": "unit", "preprocess": "none", "preprocess_diameter": 0}}'));
SELECT screen.import_model_file('junk', '\x00010203');
SELECT screen.import_model_file('from_file', NULL);
SELECT screen.import_model_file('bad:name', bytes) FROM file;
SELECT screen.ensemble('both', ARRAY['created', 'created_copy']) > 0 AS ensemble;
SELECT screen.export_model_file('both');
SELECT screen.export_model_file('nothing');
SELECT screen.export_model_file(NULL) IS NULL AS null_in_null_out;

-- later tests see the catalog as they left it
DELETE FROM screen.models WHERE name IN ('from_file', 'created', 'created_copy', 'both');
