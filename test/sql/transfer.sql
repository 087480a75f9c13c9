-- Models between servers: export_model bundles, import_model and its checks, model_sha256, distribute_model.
-- One server plays both ends: a model is exported, deleted and imported again under its own version.
SET pgscreen.device = 'cpu';

CREATE TABLE transfer_photos (id int PRIMARY KEY, img bytea);
INSERT INTO transfer_photos
SELECT p, '\x934e554d505901007600'::bytea
    || convert_to(rpad('{''descr'': ''|u1'', ''fortran_order'': False, ''shape'': (32, 32, 3), }', 117) || E'\n', 'UTF8')
    || (SELECT string_agg(set_byte('\x00'::bytea, 0, (i * (13 + p) + p * 29) % 256), ''::bytea ORDER BY i)
        FROM generate_series(0, 32 * 32 * 3 - 1) i)
FROM generate_series(1, 10) p;

SELECT screen.create_model('moved', '{"architecture": "small_cnn", "input_size": 32, "seed": 3, "normalization": "unit"}') > 0 AS v1,
       screen.create_model('moved', '{"architecture": "small_cnn", "input_size": 32, "seed": 4, "normalization": "unit"}') > 0 AS v2;
SELECT screen.set_operating_point('moved:2', 'high_sensitivity', 0.4);
CREATE TABLE before AS
SELECT id, screen.predict('moved:2', img) AS p FROM transfer_photos;
CREATE TABLE original AS SELECT * FROM screen.models WHERE name = 'moved';
CREATE TABLE bundles AS
SELECT screen.export_model('moved', 2) AS v2, screen.export_model('moved', 1) AS v1,
       screen.export_model('moved') AS latest, screen.model_sha256('moved:2') AS sha;
SELECT v2 = latest AS null_version_is_latest, sha ~ '^[0-9a-f]{64}$' AS sha_is_hex,
       sha <> screen.model_sha256('moved:1') AS versions_differ,
       substring(v2 FROM 1 FOR 8) = '\x895047534d444c0a'::bytea AS magic
FROM bundles;

-- Deleted here, a version is missing: scoring with it says so and how to bring it.
DELETE FROM screen.models WHERE name = 'moved' AND version = 2;
\set VERBOSITY default
SELECT screen.predict('moved:2', img) FROM transfer_photos WHERE id = 1;
\set VERBOSITY terse

-- Imported again: the same version, recipe, metrics and operating points, weights and scores.
SELECT screen.import_model(v2) > 0 AS imported FROM bundles;
SELECT m.version, m.owner = current_user::regrole AS owned_by_importer, m.recipe = o.recipe AS same_recipe,
       m.metrics = o.metrics AS same_metrics, m.operating_points = o.operating_points AS same_operating_points,
       m.weights_bytes = o.weights_bytes AS same_size, m.id <> o.id AS new_id, m.job_id IS NULL AS no_local_job,
       screen.model_sha256('moved:2') = b.sha AS same_sha256
FROM screen.models m JOIN original o USING (name, version), bundles b WHERE m.name = 'moved';
SELECT count(*) FILTER (WHERE screen.predict('moved:2', t.img) = b.p) AS same_scores, count(*) AS rows
FROM transfer_photos t JOIN before b USING (id);
SELECT screen.threshold('moved:2', 'high_sensitivity');

-- The same bundle again is a no-op; another role may not take over the copy.
SELECT screen.import_model(v2) = (SELECT id FROM screen.models WHERE name = 'moved' AND version = 2) AS same_id
FROM bundles;
CREATE ROLE regress_transfer_bob;
GRANT SELECT ON bundles TO regress_transfer_bob;
SET ROLE regress_transfer_bob;
SELECT screen.import_model(v2) FROM bundles;
RESET ROLE;

-- An importer owns its copy: bob imports version 1 after its owner deleted it.
DELETE FROM screen.models WHERE name = 'moved' AND version = 1;
SET ROLE regress_transfer_bob;
SELECT screen.import_model(v1) > 0 AS imported FROM bundles;
SELECT name, version, owner FROM screen.models WHERE name = 'moved';
RESET ROLE;

---------------------------------------------------------------------------------------------------------
-- errors
---------------------------------------------------------------------------------------------------------
\set VERBOSITY default
-- other weights under a name and version that exist here
SELECT screen.import_model(decode(replace(encode(v1, 'hex'), encode('"version": 1', 'hex'), encode('"version": 2', 'hex')), 'hex'))
FROM bundles;
-- a header whose SHA-256 does not match the weights, weights damaged in transit, not a bundle at all
SELECT screen.import_model(decode(replace(encode(v2, 'hex'), encode(convert_to(sha, 'UTF8'), 'hex'), encode(convert_to(repeat('0', 64), 'UTF8'), 'hex')), 'hex'))
FROM bundles;
SELECT screen.import_model(overlay(v2 PLACING '\x00'::bytea FROM length(v2) - 100)) FROM bundles;
SELECT screen.import_model('\x0001'::bytea);
SELECT screen.import_model(set_byte(v2, 8, 2)) FROM bundles;
SELECT screen.import_model(substring(v2 FROM 1 FOR 20)) FROM bundles;
SELECT screen.import_model(substring(v2 FROM 1 FOR 12) || '\x0d000000'::bytea || convert_to('{"name": "x"}', 'UTF8')
    || substring(v2 FROM 17 + get_byte(v2, 12) + 256 * get_byte(v2, 13))) FROM bundles;
SELECT screen.import_model(NULL) IS NULL AS null_bundle;
\set VERBOSITY terse
-- exporting what cannot travel or does not exist
SELECT screen.ensemble('moved_pair', ARRAY['regress_transfer_bob.moved:1', 'moved:2']) > 0 AS created;
SELECT screen.export_model('moved_pair');
SELECT screen.model_sha256('moved_pair');
SELECT screen.export_model('moved', 0);
SELECT screen.export_model('moved', 9);
DO $$ BEGIN PERFORM screen.export_model('moved', 9);
EXCEPTION WHEN undefined_object THEN RAISE NOTICE 'undefined_object (%)', SQLSTATE; END $$;
SELECT screen.export_model(NULL);
SELECT screen.export_model('bad:name');
\set VERBOSITY default
SELECT * FROM screen.distribute_model('moved', ARRAY['shard1']);
\set VERBOSITY terse

DELETE FROM screen.models WHERE name IN ('moved', 'moved_pair');
DROP TABLE transfer_photos, before, original, bundles;
DROP ROLE regress_transfer_bob;
