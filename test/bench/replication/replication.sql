-- The replicated study's experiment on SYNTHETIC data: the thesis's two normalizations (unit, standardize),
-- the published one (symmetric) and Ben Graham's preprocessing, each trained with the same seed, data and
-- budget; test AUCs with DeLong CIs and paired DeLong tests between the variants on the same test set.
-- psql variables: photographs (default 1600), side (96), epochs (12).
\set ON_ERROR_STOP 1
\pset footer off
\if :{?photographs} \else \set photographs 1600 \endif
\if :{?side} \else \set side 96 \endif
\if :{?epochs} \else \set epochs 12 \endif

DROP SCHEMA IF EXISTS replication CASCADE;
CREATE SCHEMA replication;
SET search_path = replication, public;

-- One synthetic development set, enriched in referable eyes, 60/20/20 split by a hash of the id.
CREATE TABLE photos AS
SELECT id, grade, CASE abs(hashint4(id)) % 5 WHEN 0 THEN 'tune' WHEN 1 THEN 'test' ELSE 'train' END AS split,
       image
FROM screen.synthetic_fundus_set(:photographs, 1998, 480, ARRAY[0.4, 0.1, 0.25, 0.125, 0.125]);
CREATE TABLE prepared AS
SELECT id, grade, split, screen.fundus_preprocess(image, :side, 'voets2018', ungradable => 'null') AS voets2018,
       screen.fundus_preprocess(image, :side, 'graham', ungradable => 'null') AS graham
FROM photos;
DELETE FROM prepared WHERE voets2018 IS NULL OR graham IS NULL;
SELECT split, count(*) AS photographs, count(*) FILTER (WHERE grade >= 2) AS referable FROM prepared
GROUP BY split ORDER BY split DESC;

-- The variants: the same recipe (the published one's RMSProp is replaced by Adam, which the small CNN
-- needs to learn within the budget), seed and epochs; only the input changes.
CREATE TABLE variants (variant text PRIMARY KEY, input text, normalization text, position int);
INSERT INTO variants VALUES
    ('unit (thesis, first)', 'voets2018', 'unit', 1),
    ('standardize (thesis, modified)', 'voets2018', 'standardize', 2),
    ('symmetric (published)', 'voets2018', 'symmetric', 3),
    ('graham + symmetric', 'graham', 'symmetric', 4);

CREATE TABLE runs AS
SELECT v.variant, v.position,
       screen.train('replication_' || v.position,
                    format('SELECT %I, grade >= 2 FROM replication.prepared WHERE split = ''train'' ORDER BY id', v.input),
                    format('SELECT %I, grade >= 2 FROM replication.prepared WHERE split = ''tune'' ORDER BY id', v.input),
                    jsonb_build_object('recipe', 'voets2019_plos', 'architecture', 'small_cnn',
                                       'input_size', :side, 'optimizer', 'adam',
                                       'learning_rate', 0.003, 'augmentation', false, 'batch_size', 32,
                                       'max_epochs', :epochs, 'normalization', v.normalization, 'seed', 2018)) AS job
FROM variants v ORDER BY v.position;

SELECT variant, screen.wait(job) AS state FROM runs ORDER BY position;

-- Score the test set once with each model (in batches; each model applies its own normalization).
CREATE TABLE scores AS
SELECT r.position, s.id, s.score, p.grade >= 2 AS referable
FROM runs r, variants v,
     LATERAL screen.score('replication_' || r.position,
                          format('SELECT id, %I FROM replication.prepared WHERE split = ''test''', v.input),
                          '{"batch_size": 64, "progress": 0}') s
JOIN prepared p USING (id)
WHERE v.position = r.position;

-- Test AUC with its 95 % DeLong CI, beside training facts.
SELECT r.variant, (m.metrics->>'best_epoch')::int AS best_epoch,
       round((m.metrics->>'validation_auc')::numeric, 3) AS validation_auc,
       round(a.auc::numeric, 3) AS test_auc, round(a.lower::numeric, 3) AS lower, round(a.upper::numeric, 3) AS upper
FROM runs r
JOIN screen.models m ON m.name = 'replication_' || r.position
CROSS JOIN LATERAL screen.auc_ci((SELECT screen.roc(score, referable) FROM scores s WHERE s.position = r.position)) a
ORDER BY r.position;

-- Paired DeLong tests on the same test photographs.
SELECT a.variant AS variant_a, b.variant AS variant_b,
       round(c.difference::numeric, 3) AS auc_difference, round(c.lower::numeric, 3) AS lower,
       round(c.upper::numeric, 3) AS upper, round(c.p_value::numeric, 4) AS p_value
FROM runs a JOIN runs b ON a.position < b.position
CROSS JOIN LATERAL (SELECT (screen.roc_compare(sa.score, sb.score, sa.referable)).*
                    FROM scores sa JOIN scores sb ON sa.id = sb.id
                    WHERE sa.position = a.position AND sb.position = b.position) c
ORDER BY a.position, b.position;
