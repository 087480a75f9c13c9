-- Evaluation in SQL: the screen.roc aggregate and type, AUC with intervals, the curve, operating points,
-- confusion, Clopper-Pearson, roc_compare, SVG plots, parallel aggregation, NULLs and every error case.
-- See test/oracle/roc_oracle.py and test/t/060_roc_sql_oracle.pl for comparisons with sklearn and NumPy.

-- A small study by hand: positives score 0.9 0.8 0.4, negatives 0.7 0.4 0.1, plus rows with NULLs.
CREATE TABLE cases (id int, score float8, label boolean);
INSERT INTO cases VALUES (1, 0.9, true), (2, 0.8, true), (3, 0.4, true),
                         (4, 0.7, false), (5, 0.4, false), (6, 0.1, false),
                         (7, NULL, true), (8, 0.5, NULL);

-- text output: cases, positives, AUC (7.5 of 9 pairs) and the rows skipped for NULLs
SELECT screen.roc(score, label) FROM cases;
SELECT (screen.roc_info(screen.roc(score, label))).* FROM cases;
SELECT screen.auc(screen.roc(score, label)) FROM cases;

-- DeLong by hand: V10 = (1, 1, 1/2), V01 = (2/3, 5/6, 1), variance 1/12/3 + 1/36/3 = 1/27
SELECT round(auc::numeric, 12) AS auc, round(lower::numeric, 12) AS lower, round(upper::numeric, 12) AS upper,
       round((se * se)::numeric, 12) AS variance, round(1 / 27.0, 12) AS by_hand
FROM screen.auc_ci((SELECT screen.roc(score, label) FROM cases));
SELECT round(lower::numeric, 12) AS lower, round(upper::numeric, 12) AS upper
FROM screen.auc_ci((SELECT screen.roc(score, label) FROM cases), level => 0.5);

-- the curve: threshold Infinity (nothing positive), then each distinct score down to everything positive
SELECT * FROM screen.roc_curve((SELECT screen.roc(score, label) FROM cases));

-- operating points: highest threshold with sensitivity >= target, lowest with specificity >= target
SELECT threshold, sensitivity, specificity, tp, fp, tn, fn
FROM screen.operating_point((SELECT screen.roc(score, label) FROM cases), sensitivity => 0.6);
SELECT threshold, sensitivity, specificity, tp, fp, tn, fn
FROM screen.operating_point((SELECT screen.roc(score, label) FROM cases), specificity => 1);
SELECT threshold, sensitivity, specificity
FROM screen.operating_point((SELECT screen.roc(score, label) FROM cases), 0);
SELECT round(sensitivity_lower::numeric, 12) AS sens_lo, round(sensitivity_upper::numeric, 12) AS sens_hi,
       round(specificity_lower::numeric, 12) AS spec_lo, round(specificity_upper::numeric, 12) AS spec_hi,
       ppv, npv
FROM screen.operating_point((SELECT screen.roc(score, label) FROM cases), specificity => 0.6, level => 0.9);

-- confusion at a threshold chosen elsewhere; +-Infinity call nothing or everything positive
SELECT threshold, sensitivity, specificity, ppv, npv, tp, fp, tn, fn
FROM screen.confusion((SELECT screen.roc(score, label) FROM cases), 0.5);
SELECT threshold, sensitivity, specificity, ppv, npv, tp, fp, tn, fn
FROM screen.confusion((SELECT screen.roc(score, label) FROM cases), 'Infinity');
SELECT threshold, sensitivity, specificity, ppv, npv, tp, fp, tn, fn
FROM screen.confusion((SELECT screen.roc(score, label) FROM cases), '-Infinity');

-- exact binomial intervals: k = 0 gives 1 - 0.025^(1/10) as the upper bound
SELECT round(lower::numeric, 12) AS lower, round(upper::numeric, 12) AS upper,
       round((1 - 0.025 ^ (1 / 10.0))::numeric, 12) AS by_hand FROM screen.clopper_pearson(0, 10);
SELECT round(lower::numeric, 12) AS lower, round(upper::numeric, 12) AS upper FROM screen.clopper_pearson(5, 10);
SELECT round(lower::numeric, 12) AS lower, round(upper::numeric, 12) AS upper FROM screen.clopper_pearson(8790, 8790, 0.99);
SELECT * FROM screen.clopper_pearson(0, 0);

-- ties: every score equal gives 1/2; signed zeros are one score; per-group AUCs with GROUP BY
SELECT screen.roc(0.25, i % 2 = 0) FROM generate_series(1, 10) i;
SELECT (screen.roc_info(screen.roc(CASE WHEN i % 2 = 0 THEN '0'::float8 ELSE '-0'::float8 END, i < 4))).distinct_scores
FROM generate_series(1, 10) i;
SELECT i % 3 AS site, round(screen.auc(screen.roc(i / 100.0, i % 2 = 0))::numeric, 6) AS auc
FROM generate_series(1, 300) i GROUP BY 1 ORDER BY 1;

-- the binary form: cast to bytea and back gives the same value; corrupt bytes are refused
SELECT encode(screen.roc(score, label)::bytea, 'hex') AS binary_form FROM cases;
SELECT (screen.roc(score, label)::bytea)::screen.roc FROM cases;
SELECT screen.roc(score, label)::bytea::screen.roc::bytea = screen.roc(score, label)::bytea AS round_trip FROM cases;

-- a stored roc keeps working after a trip through a table (TOAST, short headers)
CREATE TABLE stored (name text, r screen.roc);
INSERT INTO stored SELECT 'small', screen.roc(score, label) FROM cases;
INSERT INTO stored SELECT 'large', screen.roc(i / 7919.0, i % 5 = 0) FROM generate_series(1, 20000) i;
SELECT name, r, (screen.roc_info(r)).bytes > 0 AS has_bytes FROM stored ORDER BY name;

-- bootstrap: seeded, so the same seed repeats and another differs
SELECT (a).lower = (b).lower AND (a).upper = (b).upper AS same_seed_same_interval,
       (a).lower <> (c).lower OR (a).upper <> (c).upper AS other_seed_other_interval,
       (a).auc = (SELECT screen.auc(r) FROM stored WHERE name = 'large') AS observed_auc,
       (a).lower < (a).auc AND (a).auc < (a).upper AS auc_inside
FROM (SELECT screen.auc_ci(r, method => 'bootstrap', resamples => 500, seed => 7) AS a,
             screen.auc_ci(r, method => 'bootstrap', resamples => 500, seed => 7) AS b,
             screen.auc_ci(r, method => 'bootstrap', resamples => 500, seed => 8) AS c
      FROM stored WHERE name = 'large') s;

-- undefined quantities: NULL with a NOTICE, never an error or a made-up number
SELECT screen.roc(score, label) FROM cases WHERE false;
SELECT screen.auc(screen.roc(score, label)) FROM cases WHERE false;
SELECT screen.auc(screen.roc(score, label)) FROM cases WHERE label;
SELECT * FROM screen.auc_ci((SELECT screen.roc(score, label) FROM cases WHERE NOT label));
SELECT * FROM screen.auc_ci((SELECT screen.roc(score, label) FROM cases WHERE id IN (1, 4, 5)));
SELECT * FROM screen.auc_ci((SELECT screen.roc(score, label) FROM cases WHERE id IN (1, 4, 5)), method => 'bootstrap');
SELECT * FROM screen.operating_point((SELECT screen.roc(score, label) FROM cases WHERE NOT label), sensitivity => 0.9);
SELECT threshold, sensitivity, sensitivity_lower, specificity, ppv, tp, fp, tn, fn
FROM screen.confusion((SELECT screen.roc(score, label) FROM cases WHERE NOT label), 0.5);
SELECT * FROM screen.roc_curve((SELECT screen.roc(score, label) FROM cases WHERE false));
SELECT screen.auc(NULL), screen.auc_ci(NULL) IS NULL AS ci_null, screen.operating_point(NULL, 0.9) IS NULL AS op_null;

-- roc_compare: the paired DeLong test (model b = a with noise; identical rankings cannot be tested)
CREATE TABLE paired AS
SELECT i, (hashint4(i) % 1000) / 1000.0 + CASE WHEN i % 4 = 0 THEN 0.35 ELSE 0 END AS score_a,
       (hashint4(i + 7) % 1000) / 1000.0 + CASE WHEN i % 4 = 0 THEN 0.15 ELSE 0 END AS score_b,
       i % 4 = 0 AS label
FROM generate_series(1, 4000) i;
SELECT round((c).auc_a::numeric, 10) AS auc_a, round((c).auc_b::numeric, 10) AS auc_b,
       round((c).difference::numeric, 10) AS difference, round((c).lower::numeric, 10) AS lower,
       round((c).upper::numeric, 10) AS upper, round((c).z::numeric, 8) AS z, (c).p_value < 1e-6 AS significant,
       round((c).correlation::numeric, 8) AS correlation, (c).n, (c).positives, (c).skipped
FROM (SELECT screen.roc_compare(score_a, score_b, label) AS c FROM paired) s;
SELECT round(screen.auc(screen.roc(score_a, label))::numeric, 10) AS auc_a,
       round(screen.auc(screen.roc(score_b, label))::numeric, 10) AS auc_b FROM paired;
SELECT round((c).lower::numeric, 10) AS lower_99, round((c).upper::numeric, 10) AS upper_99
FROM (SELECT screen.roc_compare(score_a, score_b, label, 0.99) AS c FROM paired) s;
SELECT (c).auc_a, (c).auc_b, (c).difference, (c).se, (c).z, (c).p_value, (c).n
FROM (SELECT screen.roc_compare(score, 2 * score + 1, label) AS c FROM cases) s;
SELECT (c).* FROM (SELECT screen.roc_compare(score, score, label) AS c FROM cases WHERE label) s;
SELECT (c).* FROM (SELECT screen.roc_compare(score, score, label) AS c FROM cases WHERE false) s;

-- plots: an SVG document with the curve, its legend and the marked operating points
SELECT left(svg, 38) AS head, svg LIKE '%<polyline%' AS curve, svg LIKE '%<circle%' AS marks,
       svg LIKE '%AUC 0.833 (%' AS legend, svg LIKE '%Study &#60;1&#62;%' AS escaped_title,
       right(svg, 7) AS tail
FROM (SELECT screen.roc_svg(screen.roc(score, label), title => 'Study <1>', thresholds => ARRAY[0.5, 0.8]) AS svg
      FROM cases) s;
SELECT (length(svg) - length(replace(svg, '<polyline', ''))) / length('<polyline') AS curves,
       svg LIKE '%model A: AUC%' AND svg LIKE '%model B: AUC%' AS labels
FROM (SELECT screen.roc_svg(ARRAY[screen.roc(score_a, label), screen.roc(score_b, label)],
                            ARRAY['model A', 'model B'], 'Paired models') AS svg FROM paired) s;
SELECT screen.roc_svg(NULL::screen.roc) IS NULL AS null_roc;

-- parallel aggregation: forced onto two workers, with partial states serialized, combined and equal to
-- the serial result byte for byte
CREATE TABLE big AS
SELECT i, ((hashint4(i) & 65535) / 65536.0)::float4::float8 + CASE WHEN i % 5 = 0 THEN 0.2 ELSE 0 END AS score,
       i % 5 = 0 AS label, (hashint4(i * 3) & 65535) / 65536.0 AS other
FROM generate_series(1, 200000) i;
INSERT INTO big VALUES (0, NULL, true, 0), (-1, 0.5, NULL, 0.5);
ANALYZE big;
CREATE FUNCTION workers_launched(query text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
  RETURN substring(plan::text FROM '"Workers Launched": (\d+)')::int;
END $$;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT screen.roc(score, label) FROM big;
SELECT workers_launched('SELECT screen.roc(score, label) FROM big') > 0 AS workers_ran;
SELECT md5(screen.roc(score, label)::bytea) AS parallel_roc, screen.roc(score, label) AS parallel_summary FROM big \gset
EXPLAIN (COSTS OFF) SELECT screen.roc_compare(score, other, label) FROM big;
SELECT workers_launched('SELECT screen.roc_compare(score, other, label) FROM big') > 0 AS workers_ran;
SELECT round((c).difference::numeric, 12) AS parallel_difference, round((c).se::numeric, 12) AS parallel_se,
       (c).n AS parallel_n, (c).skipped AS parallel_skipped
FROM (SELECT screen.roc_compare(score, other, label) AS c FROM big) s \gset
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT screen.roc(score, label) FROM big;
SELECT md5(screen.roc(score, label)::bytea) = :'parallel_roc' AS parallel_equals_serial,
       screen.roc(score, label) AS serial_summary, :'parallel_summary' AS parallel_summary FROM big;
SELECT round((c).difference::numeric, 12) = :parallel_difference AS same_difference,
       round((c).se::numeric, 12) = :parallel_se AS same_se, (c).n = :parallel_n AS same_n,
       (c).skipped = :parallel_skipped AS same_skipped
FROM (SELECT screen.roc_compare(score, other, label) AS c FROM big) s;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;

-- bad input: each a clear error with its SQLSTATE, and the session carries on
\set VERBOSITY sqlstate
SELECT screen.roc(score, label) FROM (VALUES ('NaN'::float8, true)) v(score, label);
SELECT screen.auc_ci(r, level => 1) FROM stored WHERE name = 'small';
SELECT 'n=1'::screen.roc;
SELECT '\x00'::bytea::screen.roc;
\set VERBOSITY default
SELECT screen.roc(score, label) FROM (VALUES (0.5, true), ('NaN'::float8, true)) v(score, label);
SELECT screen.roc(score, label) FROM (VALUES ('Infinity'::float8, false)) v(score, label);
SELECT screen.roc(score, label) FROM (VALUES ('-Infinity'::float8, true)) v(score, label);
SELECT screen.roc_compare(a, b, true) FROM (VALUES (0.5, 'NaN'::float8)) v(a, b);
SELECT screen.auc_ci(r, level => 0) FROM stored WHERE name = 'small';
SELECT screen.auc_ci(r, level => 1) FROM stored WHERE name = 'small';
SELECT screen.auc_ci(r, level => 1.5) FROM stored WHERE name = 'small';
SELECT screen.auc_ci(r, level => 'NaN') FROM stored WHERE name = 'small';
SELECT screen.auc_ci(r, method => 'jackknife') FROM stored WHERE name = 'small';
SELECT screen.auc_ci(r, method => 'bootstrap', resamples => 10) FROM stored WHERE name = 'small';
SELECT screen.operating_point(r, sensitivity => 1.5) FROM stored WHERE name = 'small';
SELECT screen.operating_point(r, specificity => -0.1) FROM stored WHERE name = 'small';
SELECT screen.operating_point(r, sensitivity => 'NaN') FROM stored WHERE name = 'small';
SELECT screen.operating_point(r) FROM stored WHERE name = 'small';
SELECT screen.operating_point(r, sensitivity => 0.9, specificity => 0.9) FROM stored WHERE name = 'small';
SELECT screen.operating_point(r, sensitivity => 0.9, level => NULL) FROM stored WHERE name = 'small';
SELECT screen.operating_point((SELECT screen.roc(score, label) FROM cases WHERE label), specificity => 2);
SELECT screen.confusion(r, 'NaN') FROM stored WHERE name = 'small';
SELECT screen.confusion(r, 0.5, 2) FROM stored WHERE name = 'small';
SELECT screen.clopper_pearson(11, 10);
SELECT screen.clopper_pearson(-1, 10);
SELECT screen.clopper_pearson(1, 10, 0);
SELECT screen.roc_compare(score_a, score_b, label, 1.5) FROM paired;
SELECT screen.roc_compare(score_a, score_b, label, CASE WHEN i < 10 THEN 0.95 ELSE 0.9 END) FROM paired;
SELECT screen.roc_compare(score_a, score_b, label, NULL) FROM paired;
SELECT 'n=6 positives=3 auc=0.833333'::screen.roc;
SELECT '\x524f4301'::bytea::screen.roc;
SELECT ('\x524f4301' || '\x01010000000000'::bytea)::screen.roc;
SELECT (substr(r::bytea, 1, length(r::bytea) - 1))::screen.roc FROM stored WHERE name = 'small';
SELECT (r::bytea || '\x00'::bytea)::screen.roc FROM stored WHERE name = 'small';
SELECT screen.roc_svg(r, width => 50) FROM stored WHERE name = 'small';
SELECT screen.roc_svg(r, level => 1) FROM stored WHERE name = 'small';
SELECT screen.roc_svg(r, thresholds => ARRAY[0.5, NULL]) FROM stored WHERE name = 'small';
SELECT screen.roc_svg(r, thresholds => ARRAY['NaN'::float8]) FROM stored WHERE name = 'small';
SELECT screen.roc_svg(ARRAY[r, r], ARRAY['one']) FROM stored WHERE name = 'small';
SELECT screen.roc_svg(ARRAY[r, NULL]) FROM stored WHERE name = 'small';
SELECT screen.roc_svg(ARRAY[]::screen.roc[]);
SELECT 'the session carries on' AS still_here;
