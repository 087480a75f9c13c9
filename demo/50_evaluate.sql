-- Demo step 5: Gulshan-style evaluation. Operating points are chosen on the tuning set, then the test set
-- is scored once, in batches, and reported with exact confidence intervals.
\pset footer off

-- Score the tuning and test photographs through the device in batches (as predict() would one by one).
CREATE TABLE scores AS
SELECT s.id, s.score, p.split, p.grade >= 2 AS referable
FROM screen.score('demo_dr', $$SELECT id, img FROM screening WHERE split IN ('tune', 'test')$$,
                  '{"batch_size": 64}') s
JOIN screening p USING (id);

-- Two operating points on the tuning set, as Gulshan chose his: one of high sensitivity, one of high
-- specificity (he reported 97.5 % and 98.1 % on EyePACS-1).
SELECT screen.set_operating_point('demo_dr', 'high_sensitivity',
           (screen.operating_point(screen.roc(score, referable), sensitivity => 0.975)).threshold),
       screen.set_operating_point('demo_dr', 'high_specificity',
           (screen.operating_point(screen.roc(score, referable), specificity => 0.975)).threshold)
FROM scores WHERE split = 'tune';
SELECT key AS operating_point, round((value->>'threshold')::numeric, 4) AS threshold
FROM screen.models, jsonb_each(operating_points) WHERE name = 'demo_dr' ORDER BY key;

-- The test set: AUC with its DeLong 95 % CI ...
SELECT count(*) AS photographs, count(*) FILTER (WHERE referable) AS referable,
       round(a.auc::numeric, 3) AS auc, round(a.lower::numeric, 3) AS lower, round(a.upper::numeric, 3) AS upper
FROM scores, LATERAL (SELECT * FROM screen.auc_ci((SELECT screen.roc(score, referable) FROM scores WHERE split = 'test'))) a
WHERE split = 'test' GROUP BY a.auc, a.lower, a.upper;

-- ... and sensitivity and specificity at both points, with exact (Clopper-Pearson) 95 % CIs: the table
-- Gulshan et al. reported (docs/study.md, "Results to beat"), for a synthetic set.
SELECT p.name AS operating_point,
       format('%s %% (%s-%s)', round(100 * c.sensitivity::numeric, 1), round(100 * c.sensitivity_lower::numeric, 1),
              round(100 * c.sensitivity_upper::numeric, 1)) AS sensitivity,
       format('%s %% (%s-%s)', round(100 * c.specificity::numeric, 1), round(100 * c.specificity_lower::numeric, 1),
              round(100 * c.specificity_upper::numeric, 1)) AS specificity,
       c.tp, c.fp, c.tn, c.fn
FROM (VALUES ('high_sensitivity', 1), ('high_specificity', 2)) p(name, o),
     LATERAL screen.confusion((SELECT screen.roc(score, referable) FROM scores WHERE split = 'test'),
                              screen.threshold('demo_dr', p.name)) c
ORDER BY p.o;

-- classify() applies a stored point to new photographs directly.
SELECT id, grade, round(screen.predict('demo_dr', img)::numeric, 3) AS score,
       screen.classify('demo_dr', img, 'high_sensitivity') AS referable_high_sensitivity,
       screen.classify('demo_dr', img, 'high_specificity') AS referable_high_specificity
FROM screening WHERE split = 'test' ORDER BY id LIMIT 5;

-- The ROC curve of the test set with both operating points, for a person to look at.
\pset tuples_only on
\pset format unaligned
\o :out/50_roc.svg
SELECT screen.roc_svg(screen.roc(score, referable), title => 'Synthetic test set (demo)', label => 'demo_dr',
                      thresholds => ARRAY[screen.threshold('demo_dr', 'high_sensitivity'),
                                          screen.threshold('demo_dr', 'high_specificity')])
FROM scores WHERE split = 'test';
\o
\pset tuples_only off
\pset format aligned
\! command -v rsvg-convert >/dev/null && rsvg-convert --background-color=white -o "$DEMO_OUT/50_roc.png" "$DEMO_OUT/50_roc.svg" || true
