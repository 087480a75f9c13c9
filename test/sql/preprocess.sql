-- Fundus preprocessing, network input and synthetic screening data in SQL: results, options and errors.
-- Pixel-level agreement with the Python/OpenCV reference is in test/oracle/fundus_oracle.py.

-- synthetic photographs: JPEG, the same bytes for the same arguments, another eye for another seed
SELECT (screen.image_info(screen.synthetic_fundus(42, 2))).*;
SELECT screen.synthetic_fundus(42, 2) = screen.synthetic_fundus(42, 2) AS same_bytes,
       screen.synthetic_fundus(42, 2) <> screen.synthetic_fundus(43, 2) AS other_seed_differs,
       screen.synthetic_fundus(42, 2) <> screen.synthetic_fundus(42, 3) AS other_grade_differs;
SELECT (screen.image_info(screen.synthetic_fundus(7, 0, 1000))).width;

-- what was drawn: one eye at every grade, lesions growing with the grade
SELECT g AS grade, width, height, round(cx::numeric, 1) AS cx, round(radius::numeric, 1) AS radius, eye,
       microaneurysms > 0 AS ma, haemorrhages > 0 AS haem, neovascularisation > 0 AS nv
FROM generate_series(0, 4) g, screen.synthetic_fundus_info(42, g)
ORDER BY g;

-- a set: ids 1..n, grades from the mix, each row the same whatever else is asked
SELECT count(*), count(DISTINCT md5(image)) AS distinct_images, min(id), max(id)
FROM screen.synthetic_fundus_set(12, 5, 128);
SELECT array_agg(grade ORDER BY id) AS only_grade_4 FROM screen.synthetic_fundus_set(5, 5, 64, '{0,0,0,0,1}');
SELECT a.image = b.image AS row_3_stable
FROM screen.synthetic_fundus_set(3, 5, 128) a JOIN screen.synthetic_fundus_set(4, 5, 128) b USING (id) WHERE id = 3;
SELECT count(*) FROM screen.synthetic_fundus_set(0, 5);

-- where the fundus is, in pixels of the original photograph
SELECT round(cx::numeric, 1) AS cx, round(cy::numeric, 1) AS cy, round(radius::numeric, 1) AS radius,
       width, height, scale_denom, gradable, reason
FROM screen.fundus_circle(screen.synthetic_fundus(42, 2));
-- a large photograph is decoded at a reduced DCT scale
SELECT width, scale_denom, gradable FROM screen.fundus_circle(screen.synthetic_fundus(42, 2, 2400));
SELECT scale_denom FROM screen.fundus_circle(screen.synthetic_fundus(42, 2, 2400), diameter => 1024);

-- the preprocessed fundus: a uint8 299×299×3 NPY tensor; other sizes and the graham method
SELECT (screen.tensor_info(screen.fundus_preprocess(screen.synthetic_fundus(42, 2)))).*;
SELECT (screen.tensor_info(screen.fundus_preprocess(screen.synthetic_fundus(42, 2), 128, 'graham'))).shape;
SELECT screen.fundus_preprocess(screen.synthetic_fundus(42, 2))
     = screen.fundus_preprocess(screen.synthetic_fundus(42, 2)) AS deterministic,
       screen.fundus_preprocess(screen.synthetic_fundus(42, 2))
    <> screen.fundus_preprocess(screen.synthetic_fundus(42, 2), method => 'graham') AS graham_differs;
-- ... which to_png can show, and which PNG input gives again (lossless)
SELECT screen.fundus_preprocess(screen.to_png(screen.synthetic_fundus(42, 2)))
     = screen.fundus_preprocess(screen.to_npy(screen.synthetic_fundus(42, 2))) AS png_and_npy_agree;
SELECT (screen.image_info(screen.to_png(screen.fundus_preprocess(screen.synthetic_fundus(42, 2))))).*;
-- a large photograph is decoded at a reduced scale; exact => true decodes it whole, and the two agree
WITH large AS MATERIALIZED (
    SELECT screen.fundus_preprocess(img) AS scaled, screen.fundus_preprocess(img, exact => true) AS exact
    FROM (SELECT screen.synthetic_fundus(42, 2, 2400) AS img) p)
SELECT bool_and(scaled <> exact) AS exact_decodes_otherwise,
       avg(abs(get_byte(scaled, length(scaled) - 299 * 299 * 3 + i) - get_byte(exact, length(exact) - 299 * 299 * 3 + i))) < 2
           AS scaled_within_2_levels
FROM large, generate_series(0, 299 * 299 * 3 - 1) i;

-- a table with ungradable photographs: NULL for them on request, so they can be counted
CREATE TABLE photos (id int PRIMARY KEY, img bytea);
INSERT INTO photos SELECT i, screen.synthetic_fundus(i, i % 5, CASE WHEN i % 4 = 0 THEN 96 ELSE 384 END)
FROM generate_series(1, 8) i;
SELECT count(*) FILTER (WHERE pre IS NULL) AS ungradable, count(pre) AS preprocessed
FROM (SELECT screen.fundus_preprocess(img, ungradable => 'null') AS pre FROM photos) p;
SELECT id, gradable, reason FROM photos, screen.fundus_circle(img) WHERE NOT gradable ORDER BY id;
SELECT screen.fundus_preprocess(img) FROM photos WHERE id = 4;

-- normalizations: float32, channels first by default; the four methods and the two layouts
SELECT method, (screen.tensor_info(screen.normalize(pre, method))).dtype,
       (screen.tensor_info(screen.normalize(pre, method))).shape
FROM (SELECT screen.fundus_preprocess(img, 64) AS pre FROM photos WHERE id = 1) p,
     unnest(ARRAY['unit', 'standardize', 'symmetric', 'imagenet']) method;
SELECT (screen.tensor_info(screen.normalize(img, 'unit', 'hwc'))).shape FROM photos WHERE id = 1;

-- augmentation: the same seed gives the same picture; identity options give the input back
SELECT screen.augment(pre, 1) = screen.augment(pre, 1) AS same_seed_same,
       screen.augment(pre, 1) <> screen.augment(pre, 2) AS other_seed_differs,
       screen.augment(pre, 9, '{"flip": false, "brightness": 0, "saturation": [1, 1], "hue": 0, "contrast": [1, 1]}') = pre
           AS identity_is_identity
FROM (SELECT screen.fundus_preprocess(img, 64) AS pre FROM photos WHERE id = 1) p;

-- NULL in, NULL out
SELECT screen.fundus_preprocess(NULL) IS NULL AS pre, screen.fundus_circle(NULL) IS NULL AS circle,
       screen.synthetic_fundus(NULL, 1) IS NULL AS synthetic, screen.normalize(NULL) IS NULL AS normalize;

-- bad input and bad options: each a clear error with its SQLSTATE
\set VERBOSITY sqlstate
SELECT screen.fundus_preprocess(img) FROM photos WHERE id = 4;
SELECT screen.fundus_preprocess('\x00'::bytea);
SELECT screen.fundus_preprocess(img, 7) FROM photos WHERE id = 1;
\set VERBOSITY default
SELECT screen.fundus_preprocess(img, 7) FROM photos WHERE id = 1;
SELECT screen.fundus_preprocess(img, 5000) FROM photos WHERE id = 1;
SELECT screen.fundus_preprocess(img, method => 'gulshan') FROM photos WHERE id = 1;
SELECT screen.fundus_preprocess(img, ungradable => 'skip') FROM photos WHERE id = 1;
SELECT screen.fundus_preprocess('GIF89a');
SELECT screen.fundus_preprocess(substr(img, 1, 300)) FROM photos WHERE id = 1;
SELECT screen.fundus_preprocess(substr(img, 1, length(img) - 100)) FROM photos WHERE id = 1;
SELECT screen.fundus_preprocess(screen.normalize(img)) FROM photos WHERE id = 1;
-- all black (an NPY made in SQL), a narrow strip, a photograph without a round edge
SELECT screen.fundus_preprocess(screen.to_png('\x934e554d505901007600'::bytea
    || convert_to(rpad('{''descr'': ''|u1'', ''fortran_order'': False, ''shape'': (300, 400), }', 117) || E'\n', 'UTF8')
    || decode(repeat('00', 300 * 400), 'hex')));
SELECT screen.fundus_preprocess('\x934e554d505901007600'::bytea
    || convert_to(rpad('{''descr'': ''|u1'', ''fortran_order'': False, ''shape'': (8, 2000), }', 117) || E'\n', 'UTF8')
    || decode(repeat('c0', 8 * 2000), 'hex'));
SELECT screen.fundus_preprocess('\x934e554d505901007600'::bytea
    || convert_to(rpad('{''descr'': ''|u1'', ''fortran_order'': False, ''shape'': (300, 400), }', 117) || E'\n', 'UTF8')
    || decode(repeat('90', 300 * 400), 'hex'));
SELECT screen.normalize(img, 'zscore') FROM photos WHERE id = 1;
SELECT screen.normalize(img, 'unit', 'nchw') FROM photos WHERE id = 1;
SELECT screen.augment(img, 1, '{"tilt": 3}') FROM photos WHERE id = 1;
SELECT screen.augment(img, 1, '{"saturation": 1.5}') FROM photos WHERE id = 1;
SELECT screen.augment(img, 1, '{"contrast": [1.5, 0.5]}') FROM photos WHERE id = 1;
SELECT screen.augment(img, 1, '{"flip": 1}') FROM photos WHERE id = 1;
SELECT screen.augment(img, 1, '[1, 2]') FROM photos WHERE id = 1;
SELECT screen.synthetic_fundus(1, 5);
SELECT screen.synthetic_fundus(1, 0, 16);
SELECT screen.synthetic_fundus(1, 0, 100000);
SELECT * FROM screen.synthetic_fundus_set(-1, 1);
SELECT * FROM screen.synthetic_fundus_set(2, 1, 64, '{1, 1, 1}');
SELECT * FROM screen.synthetic_fundus_set(2, 1, 64, '{0, 0, 0, 0, 0}');
SELECT * FROM screen.synthetic_fundus_set(2, 1, 64, '{1, 1, NULL, 1, 1}');
SELECT * FROM screen.synthetic_fundus_set(2, 1, 8);

-- the pixel limit applies before decoding
SET pgscreen.max_image_pixels = 10000;
SELECT screen.fundus_preprocess(img) FROM photos WHERE id = 1;
RESET pgscreen.max_image_pixels;

-- still serving
SELECT count(*) AS photos FROM photos;
DROP TABLE photos;
