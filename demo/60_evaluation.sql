-- Demo step 6: a Gulshan-style evaluation in plain SQL: AUC with its 95 % CI, operating points chosen on the
-- tuning set and evaluated on the test set with exact CIs, two models compared, and the ROC pictures.
\pset footer off
CREATE EXTENSION IF NOT EXISTS pgscreen;

-- 50 000 graded photographs (8 % referable), one fifth held out as the tuning set, scored by two models
-- (float4 sigmoid outputs, as networks produce them). Synthetic and deterministic: the same numbers each run.
SELECT setseed(0.2016) \gset
CREATE TABLE predictions AS
SELECT i AS id, CASE WHEN i % 5 = 0 THEN 'tune' ELSE 'test' END AS split, referable,
       (1 / (1 + exp(-(z + 3.2 * referable::int - 1.6))))::float4 AS model_a,
       (1 / (1 + exp(-(0.8 * z + 0.6 * u + 2.4 * referable::int - 1.2))))::float4 AS model_b
FROM (SELECT i, random() < 0.08 AS referable, random() AS u,
             sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z
      FROM generate_series(1, 50000) i) s;

-- One scan reduces a result table to a screen.roc value; its text is a summary.
SELECT split, screen.roc(model_a, referable) FROM predictions GROUP BY split ORDER BY split;

-- AUC of model A on the test set with its 95 % CI, by DeLong and by a seeded stratified bootstrap.
SELECT 'delong' AS method, round(ci.auc::numeric, 4) AS auc, round(ci.lower::numeric, 4) AS lower,
       round(ci.upper::numeric, 4) AS upper
FROM (SELECT screen.roc(model_a, referable) AS r FROM predictions WHERE split = 'test') s, screen.auc_ci(r) ci
UNION ALL
SELECT 'bootstrap', round(ci.auc::numeric, 4), round(ci.lower::numeric, 4), round(ci.upper::numeric, 4)
FROM (SELECT screen.roc(model_a, referable) AS r FROM predictions WHERE split = 'test') s,
     screen.auc_ci(r, method => 'bootstrap', resamples => 2000, seed => 1) ci;

-- The high-sensitivity and high-specificity points, chosen on the tuning set, evaluated on the test set.
WITH tuning AS (SELECT screen.roc(model_a, referable) AS r FROM predictions WHERE split = 'tune'),
     test AS (SELECT screen.roc(model_a, referable) AS r FROM predictions WHERE split = 'test'),
     points AS (SELECT 'high sensitivity' AS point, (screen.operating_point(r, sensitivity => 0.975)).threshold
                FROM tuning
                UNION ALL
                SELECT 'high specificity', (screen.operating_point(r, specificity => 0.98)).threshold FROM tuning)
SELECT point, round(c.threshold::numeric, 4) AS threshold,
       format('%s (%s-%s)', round(100 * c.sensitivity::numeric, 1), round(100 * c.sensitivity_lower::numeric, 1),
              round(100 * c.sensitivity_upper::numeric, 1)) AS "sensitivity %",
       format('%s (%s-%s)', round(100 * c.specificity::numeric, 1), round(100 * c.specificity_lower::numeric, 1),
              round(100 * c.specificity_upper::numeric, 1)) AS "specificity %",
       c.tp, c.fp, c.tn, c.fn
FROM points, test, screen.confusion(test.r, points.threshold) c;

-- Model A against model B on the same test photographs: the paired DeLong test.
SELECT round((c).auc_a::numeric, 4) AS auc_a, round((c).auc_b::numeric, 4) AS auc_b,
       round((c).difference::numeric, 4) AS difference, round((c).lower::numeric, 4) AS lower,
       round((c).upper::numeric, 4) AS upper, round((c).z::numeric, 2) AS z, (c).p_value
FROM (SELECT screen.roc_compare(model_a, model_b, referable) AS c FROM predictions WHERE split = 'test') s;

-- A few points of the curve, as a BI tool would read them.
SELECT round(threshold::numeric, 3) AS threshold, round(tpr::numeric, 3) AS tpr, round(fpr::numeric, 3) AS fpr,
       tp, fp, tn, fn
FROM screen.roc_curve((SELECT screen.roc(round(model_a::numeric, 1)::float8, referable)
                       FROM predictions WHERE split = 'test'));

-- The pictures: model A with both operating points marked, and both models overlaid, as SVG and PNG.
\pset tuples_only on
\pset format unaligned
\o :out/60_roc_model_a.svg
WITH tuning AS (SELECT screen.roc(model_a, referable) AS r FROM predictions WHERE split = 'tune'),
     marks AS (SELECT ARRAY[(screen.operating_point(r, sensitivity => 0.975)).threshold,
                            (screen.operating_point(r, specificity => 0.98)).threshold] AS thresholds FROM tuning)
SELECT screen.roc_svg(screen.roc(model_a, referable), title => 'Referable diabetic retinopathy, test set',
                      label => 'model A', thresholds => (SELECT thresholds FROM marks))
FROM predictions WHERE split = 'test';
\o :out/60_roc_models.svg
SELECT screen.roc_svg(ARRAY[screen.roc(model_a, referable), screen.roc(model_b, referable)],
                      ARRAY['model A', 'model B'], 'Two models on the same test photographs')
FROM predictions WHERE split = 'test';
\o
\! for f in "$DEMO_OUT"/60_*.svg; do rsvg-convert --background-color=white -o "${f%.svg}.png" "$f"; done
\pset tuples_only off
\pset format aligned
