-- Training and scoring from SQL: options, jobs as seen by roles, models, predict/score/classify/ensemble.
-- Networks here are small CNNs on 32×32 inputs made in SQL, on the CPU, so every number is reproducible.
SET pgscreen.device = 'cpu';
\set VERBOSITY terse

-- An NPY uint8 image side×side×3 whose samples are f(i) for the flat index i, as preprocessing produces.
CREATE FUNCTION test_npy(side int, sample text) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    pixels bytea;
BEGIN
    EXECUTE format('SELECT string_agg(set_byte(''\x00''::bytea, 0, (%s)::int), ''''::bytea ORDER BY i)
                    FROM generate_series(0, $1 - 1) i', sample)
    INTO pixels USING side * side * 3;
    RETURN '\x934e554d505901007600'::bytea
        || convert_to(rpad(format('{''descr'': ''|u1'', ''fortran_order'': False, ''shape'': (%s, %s, 3), }',
                                  side, side), 117) || E'\n', 'UTF8')
        || pixels;
END
$$;

CREATE TABLE photos (id int PRIMARY KEY, img bytea);
INSERT INTO photos
SELECT p, test_npy(32, format('(i * %s + i / 96 * 7 + %s) %% 256', 13 + p, p * 29)) FROM generate_series(1, 40) p;
SELECT (screen.tensor_info(img)).shape FROM photos WHERE id = 1;

---------------------------------------------------------------------------------------------------------
-- Untrained networks from a seed, weights out and in
---------------------------------------------------------------------------------------------------------
SELECT screen.create_model('tiny', '{"architecture": "small_cnn", "input_size": 32, "seed": 7, "normalization": "unit"}') > 0 AS created;
SELECT name, version, kind, architecture, input_height, input_width, input_channels, preprocess, normalization,
       recipe->>'seed' AS seed, recipe->'software' ? 'pgscreen' AS records_software, weights_bytes > 0 AS has_weights
FROM screen.models;

-- Weights are stored in the engine's model file format, which carries the normalization too.
SELECT substring(w.data FROM 1 FOR 8) = '\x895047534e45540a'::bytea AS engine_format, m.weights_bytes = length(w.data) AS one_chunk
FROM screen.models m JOIN screen.model_weights w ON w.model_id = m.id WHERE m.name = 'tiny';

-- The same seed gives the same weights; another seed others.
SELECT screen.create_model('tiny_again', '{"architecture": "small_cnn", "input_size": 32, "seed": 7, "normalization": "unit"}') > 0 AS created;
SELECT screen.create_model('tiny_other', '{"architecture": "small_cnn", "input_size": 32, "seed": 8, "normalization": "unit"}') > 0 AS created;
SELECT screen.export_weights('tiny') = screen.export_weights('tiny_again') AS same_seed_same_weights,
       screen.export_weights('tiny') = screen.export_weights('tiny_other') AS other_seed_same_weights;

-- Weights leave as .npz (a zip) and come back identical under another normalization.
SELECT substring(screen.export_weights('tiny') FROM 1 FOR 4) = '\x504b0304'::bytea AS is_zip;
SELECT screen.import_weights('tiny_sym', screen.export_weights('tiny'),
    '{"architecture": "small_cnn", "input_size": 32, "normalization": "symmetric"}') > 0 AS imported;
SELECT screen.export_weights('tiny_sym') = screen.export_weights('tiny') AS round_trip;

---------------------------------------------------------------------------------------------------------
-- predict: exact outputs of a fixed network
---------------------------------------------------------------------------------------------------------
SELECT id, round(screen.predict('tiny', img)::numeric, 6) AS p FROM photos WHERE id <= 5 ORDER BY id;
SELECT round(screen.predict('tiny:1', img)::numeric, 6) AS by_version FROM photos WHERE id = 1;

-- The normalization stored with a model is applied: odd samples 2k+1 under "unit" (x/255) are exactly the
-- samples 128+k under "symmetric" (x/127.5 − 1), so the two models agree on those pairs of images, while
-- the symmetric model given the unit model's image (the replication's evaluation bug) does not.
CREATE TABLE pairs AS
SELECT test_npy(32, '2 * ((i * 37 + i / 3) % 128) + 1') AS odd,
       test_npy(32, '128 + (i * 37 + i / 3) % 128') AS mapped;
SELECT screen.predict('tiny', odd) = screen.predict('tiny_sym', mapped) AS stored_normalization_applied,
       screen.predict('tiny_sym', odd) = screen.predict('tiny', odd) AS wrong_normalization_agrees
FROM pairs;

-- predict() is PARALLEL SAFE: parallel workers load the model themselves and give the same scores.
CREATE TABLE serial AS SELECT id, screen.predict('tiny', img) AS p FROM photos;
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
CREATE TABLE parallel AS SELECT id, screen.predict('tiny', img) AS p FROM photos;
RESET force_parallel_mode;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT count(*) AS same_in_parallel FROM serial JOIN parallel USING (id) WHERE serial.p = parallel.p;

---------------------------------------------------------------------------------------------------------
-- score: batches through the device give exactly what predict gives row by row
---------------------------------------------------------------------------------------------------------
SELECT count(*) AS scored,
       count(*) FILTER (WHERE s.score = screen.predict('tiny', p.img)) AS equal_to_predict
FROM screen.score('tiny', 'SELECT id, img FROM photos', '{"batch_size": 16, "progress": 0}') s
JOIN photos p USING (id);
SELECT count(*) FILTER (WHERE s.score = screen.predict('tiny', p.img)) AS equal_in_batches_of_7
FROM screen.score('tiny', 'SELECT id::smallint, img FROM photos', '{"batch_size": 7, "progress": 0}') s
JOIN photos p USING (id);
-- A NULL input scores NULL; the row is still returned.
SELECT id, score FROM screen.score('tiny', 'SELECT 1, NULL::bytea', '{"progress": 0}');

---------------------------------------------------------------------------------------------------------
-- ensembles average their members' sigmoid outputs
---------------------------------------------------------------------------------------------------------
SELECT screen.ensemble('pair', ARRAY['tiny', 'tiny_other']) > 0 AS created;
SELECT name, kind, architecture, array_length(members, 1) AS members, recipe->>'combine' AS combine
FROM screen.models WHERE name = 'pair';
SELECT count(*) FILTER (WHERE screen.predict('pair', img) =
                              screen.predict('tiny', img) / 2 + screen.predict('tiny_other', img) / 2) AS exact_means,
       count(*) AS rows
FROM photos;
SELECT count(*) FILTER (WHERE s.score = screen.predict('pair', p.img)) AS ensemble_batches_equal
FROM screen.score('pair', 'SELECT id, img FROM photos', '{"batch_size": 9, "progress": 0}') s JOIN photos p USING (id);

---------------------------------------------------------------------------------------------------------
-- operating points and classify
---------------------------------------------------------------------------------------------------------
SELECT screen.set_operating_point('tiny', 'high_sensitivity', 0.45);
SELECT screen.threshold('tiny'), screen.threshold('tiny', 'high_sensitivity');
SELECT count(*) FILTER (WHERE screen.classify('tiny', img) = (screen.predict('tiny', img) >= 0.45)) AS consistent,
       count(*) FILTER (WHERE screen.classify('tiny', img)) AS referable
FROM photos;
-- A threshold exactly at a score counts that case as referable, as screen.confusion does.
SELECT screen.set_operating_point('tiny', 'at_photo_1', screen.predict('tiny', img)) FROM photos WHERE id = 1;
SELECT screen.classify('tiny', img, 'at_photo_1') AS at_threshold FROM photos WHERE id = 1;
SELECT operating_points->'high_sensitivity'->>'threshold' AS stored FROM screen.models WHERE name = 'tiny';
SELECT screen.classify('tiny', img) FROM photos WHERE id = 1;
SELECT screen.classify('tiny_other', img) FROM photos WHERE id = 1;
SELECT screen.classify(NULL, img) IS NULL AS null_model FROM photos WHERE id = 1;

---------------------------------------------------------------------------------------------------------
-- errors
---------------------------------------------------------------------------------------------------------
SELECT screen.predict('nonexistent', img) FROM photos WHERE id = 1;
SELECT screen.predict('tiny:9', img) FROM photos WHERE id = 1;
SELECT screen.predict('tiny:x', img) FROM photos WHERE id = 1;
SELECT screen.predict('tiny', test_npy(16, 'i % 256'));
SELECT screen.predict('tiny', '\x00010203'::bytea);
SELECT screen.predict('tiny', screen.to_png(test_npy(16, 'i % 256')));
SELECT screen.threshold('tiny', 'nonexistent');
SELECT screen.set_operating_point('tiny', '', 0.5);
SELECT screen.set_operating_point('tiny', 'x', 'NaN');
SELECT screen.ensemble('lonely', ARRAY['tiny']);
SELECT screen.ensemble('nested', ARRAY['tiny', 'pair']);
SELECT screen.ensemble('twice', ARRAY['tiny', 'tiny:1']);
SELECT screen.export_weights('pair');
SELECT screen.create_model('bad:name', '{}');
SELECT screen.create_model(' padded', '{}');
SELECT screen.import_weights('junk', '\x504b0304'::bytea, '{"architecture": "small_cnn", "input_size": 32}');
SELECT screen.import_weights('wrong_net', screen.export_weights('tiny'), '{"architecture": "inception_v3", "input_size": 75}');
SELECT * FROM screen.score('tiny', 'SELECT img, id FROM photos');
SELECT * FROM screen.score('tiny', 'SELECT id, img FROM photos', '{"batch_size": 0}');
SELECT * FROM screen.score('tiny', 'SELECT id, img FROM photos', '{"batchsize": 8}');
SELECT * FROM screen.score('tiny', 'SELECT NULL::int, img FROM photos');

---------------------------------------------------------------------------------------------------------
-- train(): options are checked before a job is queued
---------------------------------------------------------------------------------------------------------
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"optimiser": "sgd"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"learning_rate": "fast"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"learning_rate": -1}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"recipe": "kaggle2015"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"balance": "undersample"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"warmup_epochs": 5, "max_epochs": 4}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"warmup_epochs": -1}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"normalization": "normalize"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"augmentation": {"hue": 0.9}}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"augmentation": {"saturation": 1.5}}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"architecture": "inception_v3", "input_size": 64}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"optimizer": "adam", "nesterov": true}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"rmsprop_style": "keras"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"warmup_epochs": 3, "max_epochs": 2}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"dropout": 1}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"device": "tpu"}');
-- several devices for one job
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"cpu_replicas": 3, "batch_size": 32}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"cpu_replicas": 0}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"cpu_replicas": 8}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"cpu_replicas": 2, "device": "cuda:1"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"cpu_replicas": 2, "devices": "cuda:all"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"devices": ["cuda:0", "cpu"]}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"devices": ["cuda:0", "cuda:0"]}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"devices": "all"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"devices": []}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"devices": ["cuda:0"], "device": "cuda:1"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"sync_batchnorm": "yes"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '{"pretrained": "nonexistent"}');
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos', '[1, 2]');
SELECT screen.train('m', 'DELETE FROM photos', 'SELECT img, true FROM photos');
SELECT screen.train('m', 'SELECT 1; SELECT 2', 'SELECT img, true FROM photos');
SELECT screen.train('m', NULL, 'SELECT img, true FROM photos');
SELECT screen.train('a:b', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos');

-- Without a recipe the default, pgscreen_default, is recorded in full; a preset fills in a published recipe;
-- options override either and the optimiser brings its own defaults.
CREATE FUNCTION recorded_recipe(options jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    job bigint := screen.train('recipe_probe', 'SELECT img, true FROM nonexistent', 'SELECT img, true FROM photos', options);
BEGIN
    RETURN (SELECT recipe - 'seed' - 'device' FROM screen.jobs WHERE id = job);
END
$$;
SELECT jsonb_pretty(recorded_recipe('{"seed": 1}'));
SELECT r->>'optimizer' AS optimizer, r->>'learning_rate' AS lr, r->>'momentum' AS momentum, r->>'nesterov' AS nesterov,
       r->>'batch_size' AS batch, r->>'normalization' AS normalization
FROM recorded_recipe('{"recipe": "voets2018_thesis", "seed": 1}') r;
SELECT p AS recipe, r->>'optimizer' AS optimizer, r->>'learning_rate' AS lr, r->>'epsilon' AS epsilon,
       r->>'weight_decay' AS weight_decay, r->>'schedule' AS schedule, r->>'warmup_epochs' AS warmup,
       r->>'balance' AS balance, r->>'normalization' AS normalization, r->'augmentation'->>'hue' AS hue
FROM unnest(ARRAY['voets2019_plos', 'gulshan2016']) p, recorded_recipe(jsonb_build_object('recipe', p, 'seed', 1)) r;
-- "augmentation": true switches on the recipe's own augmentation.
SELECT recorded_recipe('{"augmentation": true, "seed": 1}')->'augmentation' AS default_augmentation,
       recorded_recipe('{"recipe": "voets2019_plos", "augmentation": true, "seed": 1}')->'augmentation' AS published;
SELECT r->>'optimizer' AS optimizer, r->>'learning_rate' AS lr, r->>'epsilon' AS epsilon, r->>'batch_size' AS batch,
       r->>'weight_decay' AS weight_decay
FROM recorded_recipe('{"optimizer": "adam", "batch_size": 8, "seed": 1}') r;
SELECT r->'augmentation' AS augmentation, r->'preprocess' AS preprocess
FROM recorded_recipe('{"augmentation": {"hue": 0.1}, "preprocess": "graham", "architecture": "small_cnn", "seed": 1}') r;
SELECT recorded_recipe('{"augmentation": false, "seed": 1}')->'augmentation'->'enabled' AS augmentation;
-- Starting from pretrained weights, the default normalises as those weights were trained ("tiny": unit) unless
-- told otherwise.
SELECT recorded_recipe('{"pretrained": "tiny", "architecture": "small_cnn", "seed": 1}')->>'normalization' AS pretrained,
       recorded_recipe('{"pretrained": "tiny", "architecture": "small_cnn", "normalization": "imagenet", "seed": 1}')->>'normalization' AS chosen;

-- Jobs whose data cannot be read fail with PostgreSQL's own error, and the job records it.
SELECT count(*) AS probes, count(*) FILTER (WHERE screen.wait(id, '60 s') = 'failed') AS failed
FROM screen.jobs WHERE model_name = 'recipe_probe';
SELECT state, error, error_sqlstate, phase, finished_at IS NOT NULL AS finished
FROM screen.jobs WHERE model_name = 'recipe_probe' ORDER BY id LIMIT 1;
SELECT screen.cancel(id) FROM screen.jobs WHERE model_name = 'recipe_probe' ORDER BY id LIMIT 1;
SELECT screen.cancel(-1);
SELECT screen.wait(-1);
BEGIN;
SELECT screen.wait(screen.train('same_xact', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos'));
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT screen.wait(1);
ROLLBACK;
-- Finished jobs can be deleted by their owner (with their training log).
DELETE FROM screen.jobs WHERE model_name = 'recipe_probe';

---------------------------------------------------------------------------------------------------------
-- Row-level security: a role sees and uses its own models and jobs only
---------------------------------------------------------------------------------------------------------
CREATE ROLE regress_pgscreen_alice LOGIN;
CREATE ROLE regress_pgscreen_nologin;
GRANT SELECT ON photos TO regress_pgscreen_alice;
SET ROLE regress_pgscreen_alice;
SELECT count(*) AS visible_models FROM screen.models;
SELECT count(*) AS visible_weights FROM screen.model_weights;
SELECT screen.predict('tiny', img) FROM photos WHERE id = 1;
SELECT screen.set_operating_point('tiny', 'mine', 0.1);
UPDATE screen.models SET normalization = 'unit';
INSERT INTO screen.jobs (owner, model_name, training_query, validation_query, options, recipe) VALUES ('regress_pgscreen_alice', 'x', '', '', '{}', '{}');
SELECT screen.create_model('alices', '{"architecture": "small_cnn", "input_size": 32, "seed": 7, "normalization": "unit"}') > 0 AS created;
SELECT name, owner::text = current_user AS own FROM screen.models;
SELECT round(screen.predict('alices', img)::numeric, 6) = round(screen.predict('alices', img)::numeric, 6) AS works
FROM photos WHERE id = 1;
RESET ROLE;
-- The superuser sees both roles' models; a member of alice's role sees alice's.
SELECT name, owner = 'regress_pgscreen_alice'::regrole AS alices FROM screen.models ORDER BY name;
SET ROLE regress_pgscreen_nologin;
SELECT screen.train('m', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos');
RESET ROLE;
GRANT regress_pgscreen_alice TO regress_pgscreen_nologin;
SET ROLE regress_pgscreen_nologin;
SELECT name, owner = 'regress_pgscreen_alice'::regrole AS alices FROM screen.models ORDER BY name;
RESET ROLE;
REVOKE regress_pgscreen_alice FROM regress_pgscreen_nologin;

---------------------------------------------------------------------------------------------------------
-- Model names belong to their owner: another role's model of the same name is never picked up
---------------------------------------------------------------------------------------------------------
SELECT screen.set_operating_point('tiny', 'high_sensitivity', 0.25);
-- An ordinary role makes its own "tiny" with a threshold no case reaches. Its versions are its own (1, not
-- the next of the superuser's), and its operating point records who set it.
SET ROLE regress_pgscreen_alice;
SELECT screen.create_model('tiny', '{"architecture": "small_cnn", "input_size": 32, "seed": 9, "normalization": "unit"}') > 0 AS created;
SELECT screen.set_operating_point('tiny', 'high_sensitivity', 'Infinity');
SELECT name, version, operating_points->'high_sensitivity'->>'set_by' AS set_by FROM screen.models WHERE name = 'tiny';
SELECT screen.threshold('tiny', 'high_sensitivity') AS alices_threshold;
-- Nor can it add a version to, or create under, a name of another owner.
SELECT screen.create_model(session_user || '.tiny', '{}');
SELECT screen.create_model('regress_pgscreen_nologin.tiny', '{}');
SELECT screen.set_operating_point('regress_pgscreen_alice.tiny:9', 'x', 0.5);
RESET ROLE;
-- The superuser (who sees every role's models) still scores with its own model and threshold.
SELECT screen.threshold('tiny', 'high_sensitivity') AS own_threshold;
SELECT screen.predict('tiny', img) = screen.predict('tiny:1', img) AS own_model FROM photos WHERE id = 1;
SELECT screen.threshold('regress_pgscreen_alice.tiny', 'high_sensitivity') AS qualified;
SELECT screen.threshold('"regress_pgscreen_alice".tiny:1', 'high_sensitivity') AS quoted_owner;
SELECT screen.threshold('nobody_at_all.tiny', 'high_sensitivity');
-- A role that owns no "tiny" but sees two owners' gets an error, not a guess.
CREATE ROLE regress_pgscreen_bob;
SET ROLE regress_pgscreen_bob;
SELECT screen.create_model('tiny', '{"architecture": "small_cnn", "input_size": 32, "seed": 9, "normalization": "unit"}') > 0 AS created;
RESET ROLE;
GRANT regress_pgscreen_alice, regress_pgscreen_bob TO regress_pgscreen_nologin;
SET ROLE regress_pgscreen_nologin;
\set VERBOSITY default
SELECT screen.threshold('tiny', 'high_sensitivity');
\set VERBOSITY terse
SELECT screen.threshold('regress_pgscreen_alice.tiny', 'high_sensitivity') AS qualified;
RESET ROLE;
REVOKE regress_pgscreen_bob FROM regress_pgscreen_nologin;
DROP OWNED BY regress_pgscreen_bob;
DROP ROLE regress_pgscreen_bob;
-- A member of the owner's role sets points on its models in its own name.
SET ROLE regress_pgscreen_nologin;
SELECT screen.set_operating_point('regress_pgscreen_alice.tiny', 'by_member', 0.5);
RESET ROLE;
SELECT operating_points->'by_member'->>'set_by' AS set_by FROM screen.models
WHERE owner = 'regress_pgscreen_alice'::regrole AND name = 'tiny';
-- Model names cannot hold a dot: what comes before the last one names the owner.
SELECT screen.create_model('a.b.c', '{}') AS dotted;
SELECT screen.create_model('.tiny', '{}') AS no_owner;
REVOKE regress_pgscreen_alice FROM regress_pgscreen_nologin;

---------------------------------------------------------------------------------------------------------
-- Users' queries are read-only: a data-modifying WITH or a writing function is refused
---------------------------------------------------------------------------------------------------------
CREATE TABLE written (n int);
CREATE FUNCTION write_row() RETURNS boolean LANGUAGE sql VOLATILE AS 'INSERT INTO written VALUES (1) RETURNING true';
SELECT * FROM screen.score('tiny', 'WITH w AS (INSERT INTO written VALUES (1) RETURNING 1) SELECT id, img FROM photos');
SELECT * FROM screen.score('tiny', 'INSERT INTO written VALUES (1) RETURNING 1, ''\x00''::bytea');
SELECT * FROM screen.score('tiny', 'SELECT id, img FROM photos WHERE write_row()');
SELECT screen.train('m', 'WITH w AS (DELETE FROM written RETURNING 1) SELECT img, true FROM photos', 'SELECT img, true FROM photos');
SELECT count(*) AS rows_written FROM written;
-- The caller's own transaction is left as it was.
BEGIN;
SELECT count(*) AS scored FROM screen.score('tiny', 'SELECT id, img FROM photos', '{"progress": 0}');
INSERT INTO written VALUES (2);
SELECT current_setting('transaction_read_only') AS read_only;
ROLLBACK;
DROP FUNCTION write_row();
DROP TABLE written;

---------------------------------------------------------------------------------------------------------
-- A role that owns models or jobs cannot be dropped; REASSIGN OWNED and DROP OWNED treat them as owned objects
---------------------------------------------------------------------------------------------------------
\set VERBOSITY default
DROP ROLE regress_pgscreen_alice;
\set VERBOSITY terse
SELECT count(*) AS alices_models FROM screen.models WHERE owner = 'regress_pgscreen_alice'::regrole;
REASSIGN OWNED BY regress_pgscreen_alice TO regress_pgscreen_nologin;
SELECT name, version FROM screen.models WHERE owner = 'regress_pgscreen_nologin'::regrole ORDER BY name, version;
SET ROLE regress_pgscreen_alice;
SELECT screen.create_model('alices', '{"architecture": "small_cnn", "input_size": 32, "seed": 7, "normalization": "unit"}') > 0 AS created;
RESET ROLE;
-- Reassigned versions follow the new owner's own: alices:1 (reassigned) and alices:2.
REASSIGN OWNED BY regress_pgscreen_alice TO regress_pgscreen_nologin;
SELECT name, version FROM screen.models WHERE owner = 'regress_pgscreen_nologin'::regrole ORDER BY name, version;
DROP ROLE regress_pgscreen_nologin;
DROP OWNED BY regress_pgscreen_nologin;
SELECT count(*) AS left_behind FROM screen.models WHERE owner = 'regress_pgscreen_nologin'::regrole;
REVOKE SELECT ON photos FROM regress_pgscreen_alice;
DROP ROLE regress_pgscreen_alice;
DROP ROLE regress_pgscreen_nologin;
DROP ROLE IF EXISTS regress_pgscreen_nobody;

-- A new version replaces the one a session has loaded, at once; "name:version" still reaches the old one.
SELECT round(screen.predict('tiny_other', img)::numeric, 6) AS version_1 FROM photos WHERE id = 1;
SELECT screen.create_model('tiny_other', '{"architecture": "small_cnn", "input_size": 32, "seed": 7, "normalization": "unit"}') > 0 AS created;
SELECT version, round(screen.predict('tiny_other', img)::numeric, 6) AS latest,
       screen.predict('tiny_other', img) = screen.predict('tiny', img) AS same_as_tiny,
       round(screen.predict('tiny_other:1', img)::numeric, 6) AS version_1
FROM photos p, screen.models m WHERE p.id = 1 AND m.name = 'tiny_other' ORDER BY version DESC LIMIT 1;

-- Deleting a model drops its weights; the copy this session loaded goes with it.
SELECT screen.predict('tiny_again', img) > 0 AS loaded FROM photos WHERE id = 1;
DELETE FROM screen.models WHERE name = 'tiny_again';
SELECT count(*) AS orphan_weights FROM screen.model_weights w WHERE NOT EXISTS (SELECT 1 FROM screen.models m WHERE m.id = w.model_id);
SELECT screen.predict('tiny_again', img) FROM photos WHERE id = 1;
