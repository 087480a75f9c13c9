-- Network weights in SQL: model files (model_init, model_info) and .npz (model_to_npz, model_from_npz),
-- with the errors a bad file or option gives. Inception-v3's numbers are torchvision's.
SET pgscreen.cpu_threads = 1;

SELECT architecture, head, outputs, aux_logits, input_channels, input_height, input_width, parameters, tensors,
       batches_tracked, recipe, optimizer, format_version
FROM screen.model_info(screen.model_init('inception_v3'));

SELECT architecture, head, outputs, aux_logits, input_height, input_width, parameters, tensors, recipe
FROM screen.model_info(screen.model_init('small_cnn', '{"head": "softmax", "outputs": 5, "aux_logits": true,
    "input_height": 96, "input_width": 80, "dropout": 0.2,
    "recipe": {"preprocess": "voets2018", "preprocess_diameter": 299, "normalization": "symmetric"}}', 7));

-- a seed fixes the weights; the model file is the same bytes every time
CREATE TEMP TABLE m AS SELECT screen.model_init('small_cnn', '{}', 1) AS a, screen.model_init('small_cnn', '{}', 1) AS b,
                              screen.model_init('small_cnn', '{}', 2) AS c;
SELECT a = b AS same_seed_same_bytes, a <> c AS other_seed_other_bytes,
       length(a) > 4 * (screen.model_info(a)).parameters AS holds_the_weights FROM m;

-- .npz out and in again gives the same model, stored or deflated
SELECT screen.model_from_npz(screen.model_to_npz(a), 'small_cnn', '{}', 1) = a AS stored_round_trip,
       screen.model_from_npz(screen.model_to_npz(a, true), 'small_cnn', '{}', 1) = a AS deflated_round_trip,
       length(screen.model_to_npz(a, true)) < length(screen.model_to_npz(a)) AS deflate_is_smaller
FROM m;

-- weights for another head load only as pretrained weights, leaving the new classifier as initialised
SELECT length(screen.model_from_npz(screen.model_to_npz(a), 'small_cnn', '{"outputs": 3}')) > 0 FROM m;
SELECT (screen.model_info(screen.model_from_npz(screen.model_to_npz(a), 'small_cnn',
        '{"outputs": 3, "pretrained": true}'))).outputs FROM m;
SELECT length(screen.model_from_npz(screen.model_to_npz(a), 'small_cnn', '{"aux_logits": true}')) > 0 FROM m;

-- bad files
SELECT screen.model_info('\x00010203'::bytea);
SELECT screen.model_info(substring(a from 1 for 1000)) FROM m;
SELECT screen.model_info(overlay(a placing '\xff'::bytea from 2000)) FROM m;
SELECT screen.model_to_npz('\x89504753'::bytea);
SELECT screen.model_from_npz('not a zip'::bytea, 'small_cnn');
SELECT screen.model_from_npz(screen.model_to_npz(a), 'inception_v3') FROM m;
-- one flipped bit in the weights of a stored or a deflated entry fails its CRC-32
CREATE TEMP TABLE z AS SELECT screen.model_to_npz(a) AS stored, screen.model_to_npz(a, true) AS deflated FROM m;
CREATE FUNCTION pg_temp.flip_in_first_entry(npz bytea) RETURNS bytea LANGUAGE sql AS $$
    SELECT set_byte(npz, at, get_byte(npz, at) # 16)
    FROM (SELECT 30 + get_byte(npz, 26) + 256 * get_byte(npz, 27) + get_byte(npz, 28) + 256 * get_byte(npz, 29)
                 + (get_byte(npz, 18) + 256 * get_byte(npz, 19) + 65536 * get_byte(npz, 20)) - 3 AS at) AS p
$$;
\set VERBOSITY sqlstate
SELECT screen.model_from_npz(pg_temp.flip_in_first_entry(stored), 'small_cnn') FROM z;
SELECT screen.model_from_npz(pg_temp.flip_in_first_entry(deflated), 'small_cnn') FROM z;
\set VERBOSITY default
SELECT screen.model_from_npz(pg_temp.flip_in_first_entry(stored), 'small_cnn') FROM z;

-- bad options
SELECT screen.model_init('resnet50');
SELECT screen.model_init('small_cnn', '{"depth": 3}');
SELECT screen.model_init('small_cnn', '{"outputs": "two"}');
SELECT screen.model_init('small_cnn', '{"outputs": 0}');
SELECT screen.model_init('small_cnn', '{"head": "softmax"}');
SELECT screen.model_init('small_cnn', '{"head": "tanh"}');
SELECT screen.model_init('small_cnn', '{"dropout": 1}');
SELECT screen.model_init('small_cnn', '{"input_height": 8, "input_width": 8}');
SELECT screen.model_init('inception_v3', '{"input_height": 64, "input_width": 64}');
SELECT screen.model_init('small_cnn', '{"recipe": {"Normalization": "unit"}}');
SELECT screen.model_init('small_cnn', '{"recipe": ["unit"]}');
SELECT screen.model_init('small_cnn', '[1, 2]');
SELECT screen.model_init('small_cnn', '{"pretrained": true}');

-- NULL in, NULL out
SELECT screen.model_info(NULL) IS NULL AS null_info, screen.model_init(NULL) IS NULL AS null_init;

-- the thread setting is checked
SET pgscreen.cpu_threads = -1;
SET pgscreen.cpu_threads = 0;
SHOW pgscreen.cpu_threads;
