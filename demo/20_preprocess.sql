-- Demo step 2: fundus photographs and mammograms — synthetic screening data, preprocessing in one statement,
-- and what a network is fed. Every image here is SYNTHETIC, drawn by screen.synthetic_fundus or
-- screen.synthetic_mammogram.
\pset footer off

-- A screening set with EyePACS's grade mix, and a few photographs too small to grade.
CREATE TABLE photos (id int PRIMARY KEY, grade int, img bytea) WITH (fillfactor = 10);
ALTER TABLE photos ALTER COLUMN img SET STORAGE EXTERNAL;
INSERT INTO photos SELECT id, grade, image FROM screen.synthetic_fundus_set(120, 2024, 1024);
INSERT INTO photos SELECT 1000 + i, 0, screen.synthetic_fundus(i, 0, 192) FROM generate_series(1, 3) i;

SELECT grade, count(*) AS photographs, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS percent
FROM photos GROUP BY grade ORDER BY grade;

-- Where the fundus is (pixels of the original photograph) and whether it can be graded.
SELECT id, width, height, round(cx) AS cx, round(cy) AS cy, round(radius) AS radius, scale_denom, gradable, reason
FROM photos, screen.fundus_circle(img)
WHERE id IN (1, 2, 3, 1001) ORDER BY id;

-- Preprocess the whole table in one statement. The photographs are TOASTed, so the heap is small and a page
-- holds many rows (workers share a scan page by page, hence fillfactor 10 above for this small table): tell
-- the planner how many workers the table deserves, and it runs the statement in parallel.
ALTER TABLE photos SET (parallel_workers = 2);
EXPLAIN (COSTS OFF) SELECT screen.fundus_preprocess(img, ungradable => 'null') FROM photos;
\timing on
CREATE TABLE preprocessed AS
SELECT id, grade, screen.fundus_preprocess(img, ungradable => 'null') AS pre FROM photos;
\timing off
SELECT count(pre) AS preprocessed, count(*) FILTER (WHERE pre IS NULL) AS ungradable FROM preprocessed;
SELECT (screen.tensor_info(pre)).* FROM preprocessed WHERE id = 1;

-- What the network sees: float32, channels first, normalised as the model was trained.
SELECT method, (screen.tensor_info(screen.normalize(pre, method))).shape
FROM preprocessed, unnest(ARRAY['unit', 'standardize', 'symmetric']) method WHERE id = 1;

-- One synthetic eye at grades 0 to 4: the same eye and camera, lesions growing with the grade.
CREATE TABLE eye AS SELECT g AS grade, screen.synthetic_fundus(12, g, 1536) AS img FROM generate_series(0, 4) g;
SELECT grade, microaneurysms, haemorrhages, exudates, cotton_wool_spots, neovascularisation, laser_scars
FROM eye, screen.synthetic_fundus_info(12, grade, 1536) ORDER BY grade;

-- A synthetic mammogram (DICOM MG, left breast, MLO, a burned-in label beside it): what mammo_preprocess finds,
-- and the network input it makes — chest wall at the left, cropped to the breast, label gone, 1024×832.
CREATE TABLE mammograms AS SELECT screen.synthetic_mammogram(7, 'L', 'MLO', burned_in_label => true) AS dcm;
SELECT b.* FROM mammograms, screen.mammo_breast(dcm) b;
SELECT (screen.tensor_info(screen.mammo_preprocess(dcm))).* FROM mammograms;

-- Pictures for a person to look at: the photographs (halved), voets2018 and graham at 299 px, four
-- training-time augmentations of the grade 4 eye, and the mammogram before and after. psql has no loops,
-- so a query writes the commands.
\pset tuples_only on
\pset format unaligned
\o :out/20_pictures.psql
SELECT format(E'\\o %s/20_grade%s_%s.png.b64\nSELECT encode(screen.to_png(%s), ''base64'') FROM eye WHERE grade = %s;',
              :'out', grade, name, expr, grade)
FROM eye, (VALUES ('photograph', 'img, scale_denom => 2'),
                  ('voets2018', 'screen.fundus_preprocess(img)'),
                  ('graham', 'screen.fundus_preprocess(img, method => ''graham'')')) AS v(name, expr)
UNION ALL
SELECT format(E'\\o %s/20_grade4_augmented_%s.png.b64\nSELECT encode(screen.to_png(screen.augment(screen.fundus_preprocess(img), %s)), ''base64'') FROM eye WHERE grade = 4;',
              :'out', s, s)
FROM generate_series(1, 4) s
UNION ALL
SELECT format(E'\\o %s/20_mammogram_%s.png.b64\nSELECT encode(screen.to_png(%s), ''base64'') FROM mammograms;', :'out', name, expr)
FROM (VALUES ('dicom', 'dcm'), ('preprocessed', 'screen.mammo_preprocess(dcm)')) AS m(name, expr);
\o
\i :out/20_pictures.psql
\o
\! rm -f "$DEMO_OUT/20_pictures.psql"; for f in "$DEMO_OUT"/20_*.b64; do base64 -d "$f" > "${f%.b64}" && rm "$f"; done
\pset tuples_only off
\pset format aligned
