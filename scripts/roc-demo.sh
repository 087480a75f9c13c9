#!/usr/bin/env bash
# The evaluation part of the demo: a Gulshan-style report in plain SQL on synthetic predictions of two models
# (AUC with 95 % CI, operating points chosen on the tuning set and evaluated on the test set with exact CIs, the
# paired comparison) and the ROC pictures as SVG and PNG. Needs a server with pgscreen (PGHOST, PGPORT,
# PGDATABASE, PGUSER) and rsvg-convert.   scripts/roc-demo.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-.}
mkdir -p "$out"

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgscreen;
DROP TABLE IF EXISTS predictions;
-- 50 000 graded photographs, 8 % referable, one fifth held out as the tuning set; two models' sigmoid
-- outputs (float4, as networks produce them). Deterministic: the same numbers on every run.
SELECT setseed(0.2016) \gset
CREATE TABLE predictions AS
SELECT i AS id, CASE WHEN i % 5 = 0 THEN 'tune' ELSE 'test' END AS split, referable,
       (1 / (1 + exp(-(z + 3.2 * referable::int - 1.6))))::float4 AS model_a,
       (1 / (1 + exp(-(0.8 * z + 0.6 * u + 2.4 * referable::int - 1.2))))::float4 AS model_b
FROM (SELECT i, random() < 0.08 AS referable, random() AS u,
             sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z
      FROM generate_series(1, 50000) i) s;
SQL

psql -X -v ON_ERROR_STOP=1 <<'SQL'
\echo 'AUC of model A on the test set, 95 % CI by DeLong and by the bootstrap'
SELECT 'delong' AS method, round(ci.auc::numeric, 4) AS auc, round(ci.lower::numeric, 4) AS lower,
       round(ci.upper::numeric, 4) AS upper
FROM (SELECT screen.roc(model_a, referable) AS r FROM predictions WHERE split = 'test') s, screen.auc_ci(r) ci
UNION ALL
SELECT 'bootstrap', round(ci.auc::numeric, 4), round(ci.lower::numeric, 4), round(ci.upper::numeric, 4)
FROM (SELECT screen.roc(model_a, referable) AS r FROM predictions WHERE split = 'test') s,
     screen.auc_ci(r, method => 'bootstrap', resamples => 2000, seed => 1) ci;

\echo 'Operating points chosen on the tuning set, evaluated on the test set (exact 95 % CIs)'
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

\echo 'Model A against model B on the same test photographs (paired DeLong test)'
SELECT round((c).auc_a::numeric, 4) AS auc_a, round((c).auc_b::numeric, 4) AS auc_b,
       round((c).difference::numeric, 4) AS difference, round((c).lower::numeric, 4) AS lower,
       round((c).upper::numeric, 4) AS upper, round((c).z::numeric, 2) AS z, (c).p_value
FROM (SELECT screen.roc_compare(model_a, model_b, referable) AS c FROM predictions WHERE split = 'test') s;
SQL

"$here/roc-png.sh" "$out/roc-model-a.png" "
WITH tuning AS (SELECT screen.roc(model_a, referable) AS r FROM predictions WHERE split = 'tune'),
     marks AS (SELECT ARRAY[(screen.operating_point(r, sensitivity => 0.975)).threshold,
                            (screen.operating_point(r, specificity => 0.98)).threshold] AS thresholds FROM tuning)
SELECT screen.roc_svg(screen.roc(model_a, referable), title => 'Referable diabetic retinopathy, test set',
                      label => 'model A', thresholds => (SELECT thresholds FROM marks))
FROM predictions WHERE split = 'test'"
"$here/roc-png.sh" "$out/roc-models.png" "
SELECT screen.roc_svg(ARRAY[screen.roc(model_a, referable), screen.roc(model_b, referable)],
                      ARRAY['model A', 'model B'], 'Two models on the same test photographs')
FROM predictions WHERE split = 'test'"
