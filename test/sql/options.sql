-- Every jsonb options argument is read the same way: unknown keys are refused naming the function and
-- listing the valid keys, a wrong type names the option and the function, and all of it is SQLSTATE 22023.
SET pgscreen.cpu_threads = 1;

CREATE FUNCTION pg_temp.error_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
    hint text;
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ' ' || SQLERRM || coalesce(' | ' || nullif(detail, ''), '') || coalesce(' | ' || nullif(hint, ''), '');
END $$;

-- an unknown key, per function family
SELECT pg_temp.error_of($$SELECT screen.augment('\x00', 1, '{"tilt": 1}')$$) AS augment;
SELECT pg_temp.error_of($$SELECT screen.train('m', 'SELECT 1', 'SELECT 1', '{"optimiser": "sgd"}')$$) AS train;
SELECT pg_temp.error_of($$SELECT screen.create_model('m', '{"epochs": 3}')$$) AS create_model;
SELECT pg_temp.error_of($$SELECT * FROM screen.score('m', 'SELECT 1', '{"batchsize": 3}')$$) AS score;
SELECT pg_temp.error_of($$SELECT screen.model_init('small_cnn', '{"depth": 3}')$$) AS model_init;
SELECT pg_temp.error_of($$SELECT screen.model_from_npz('\x00', 'small_cnn', '{"depth": 3}')$$) AS model_from_npz;
SELECT pg_temp.error_of($$SELECT screen.dicom_anonymize('\x00', '{"retain_dates": true}')$$) AS dicom_anonymize;
SELECT pg_temp.error_of($$SELECT * FROM screen.dicom_phi_report('\x00', '{"retain_dates": true}')$$) AS dicom_phi_report;
SELECT pg_temp.error_of($$SELECT screen.pacs_echo('127.0.0.1', 104, 'PACS', options => '{"limit": 1}')$$) AS pacs_echo;

-- a value of the wrong type, per function family
SELECT pg_temp.error_of($$SELECT screen.augment('\x00', 1, '{"hue": "a lot"}')$$) AS augment;
SELECT pg_temp.error_of($$SELECT screen.train('m', 'SELECT 1', 'SELECT 1', '{"batch_size": "32"}')$$) AS train;
SELECT pg_temp.error_of($$SELECT * FROM screen.score('m', 'SELECT 1', '{"progress": true}')$$) AS score;
SELECT pg_temp.error_of($$SELECT screen.model_init('small_cnn', '{"outputs": "two"}')$$) AS model_init;
SELECT pg_temp.error_of($$SELECT screen.dicom_anonymize('\x00', '{"keep": "PatientID"}')$$) AS dicom_anonymize;
SELECT pg_temp.error_of($$SELECT screen.pacs_echo('127.0.0.1', 104, 'PACS', options => '{"tls": "yes"}')$$) AS pacs_echo;

-- out of range, an unknown name, not an object
SELECT pg_temp.error_of($$SELECT screen.augment('\x00', 1, '{"brightness": 2}')$$) AS augment;
SELECT pg_temp.error_of($$SELECT screen.train('m', 'SELECT 1', 'SELECT 1', '{"schedule": "linear"}')$$) AS train;
SELECT pg_temp.error_of($$SELECT screen.model_init('small_cnn', '{"head": "tanh"}')$$) AS model_init;
SELECT pg_temp.error_of($$SELECT screen.dicom_anonymize('\x00', '[]')$$) AS dicom_anonymize;
SELECT pg_temp.error_of($$SELECT screen.pacs_echo('127.0.0.1', 104, 'PACS', options => '{"max_pdu": 1}')$$) AS pacs_echo;

-- one spelling, normalization: the old key is refused with a hint, in options and in model recipes
SELECT pg_temp.error_of($$SELECT screen.train('m', 'SELECT 1', 'SELECT 1', '{"normalisation": "unit"}')$$) AS train;
SELECT pg_temp.error_of($$SELECT screen.create_model('m', '{"normalisation": "unit"}')$$) AS create_model;
SELECT pg_temp.error_of($$SELECT screen.model_init('small_cnn', '{"recipe": {"normalisation": "unit"}}')$$) AS model_init;
-- a model file's recipe is checked when written
SELECT pg_temp.error_of($$SELECT screen.model_init('small_cnn', '{"recipe": {"normalization": "bogus"}}')$$) AS model_init;
SELECT pg_temp.error_of($$SELECT screen.model_init('small_cnn', '{"recipe": {"preprocess_diameter": -1}}')$$) AS model_init;
SELECT recipe FROM screen.model_info(screen.model_init('small_cnn',
    '{"recipe": {"normalization": "standardize", "preprocess": "graham", "preprocess_diameter": 64}}'));

-- one augmentation parser: train() (here through create_model, which reads the same options) takes every
-- key screen.augment takes, and records all of them
SELECT screen.create_model('aug', '{"architecture": "small_cnn", "input_size": 32, "seed": 1,
    "augmentation": {"random_order": false, "hue": 0.1}}') > 0 AS created;
SELECT recipe->'augmentation' AS augmentation, recipe->>'normalization' AS normalization, normalization AS column
FROM screen.models WHERE name = 'aug';
SELECT pg_temp.error_of($$SELECT screen.create_model('m', '{"augmentation": {"tilt": 1}}')$$) AS create_model;
-- screen.augment takes "enabled" too: disabled, the image comes back as it went in
SELECT screen.augment(img, 7, '{"enabled": false}') = screen.augment(img, 7, '{"flip": false, "brightness": 0,
       "saturation": [1, 1], "hue": 0, "contrast": [1, 1]}') AS disabled_is_identity
FROM (SELECT screen.synthetic_fundus(1, 0, 64) AS img) s;

-- later tests see the catalog as they left it
DELETE FROM screen.models WHERE name = 'aug';
