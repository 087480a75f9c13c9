-- Demo step 3: a SYNTHETIC screening set to train and evaluate on, preprocessed as the replication did and
-- split into training, tuning and test sets. Every photograph is drawn by screen.synthetic_fundus.
\pset footer off

-- On a GPU the published network (Inception-v3 at 299 px) on more photographs; on a CPU the small CNN at
-- 96 px, so that the whole demo takes a few minutes on two cores. The next steps read this choice back.
CREATE TABLE demo_settings AS
SELECT screen.current_device() AS device,
       CASE WHEN screen.current_device() = 'cpu' THEN 'small_cnn' ELSE 'inception_v3' END AS architecture,
       CASE WHEN screen.current_device() = 'cpu' THEN 96 ELSE 299 END AS side,
       CASE WHEN screen.current_device() = 'cpu' THEN 1400 ELSE 6000 END AS photographs;
SELECT * FROM demo_settings \gset
\echo training :architecture at :side px on :device from :photographs photographs

-- A development set enriched in referable eyes (grades 2-4: half of them), as screening studies build them,
-- 480 px wide like small camera images; 60 % train, 20 % tune (early stopping and operating points), 20 %
-- test, split by a hash of the id so the split never changes.
\timing on
CREATE TABLE screening (id int PRIMARY KEY, grade int NOT NULL, split text NOT NULL, img bytea);
INSERT INTO screening
SELECT id, grade,
       CASE abs(hashint4(id)) % 5 WHEN 0 THEN 'tune' WHEN 1 THEN 'test' ELSE 'train' END,
       screen.fundus_preprocess(image, :side, ungradable => 'null')
FROM screen.synthetic_fundus_set(:photographs, 2016, 480, ARRAY[0.4, 0.1, 0.25, 0.125, 0.125]);
\timing off
DELETE FROM screening WHERE img IS NULL;       -- ungradable photographs (no fundus found), as Gulshan's 17

SELECT split, count(*) AS photographs, count(*) FILTER (WHERE grade >= 2) AS referable,
       round(100.0 * count(*) FILTER (WHERE grade >= 2) / count(*), 1) AS percent_referable
FROM screening GROUP BY split ORDER BY split DESC;
