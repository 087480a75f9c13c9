-- Mammogram preprocessing in SQL on synthetic DICOM MG objects: orientation, crop, sizes, types and errors.
-- Pixel-level agreement with pydicom + OpenCV is in test/oracle/mammo_oracle.py.
CREATE TABLE mammograms (name text PRIMARY KEY, dcm bytea);
INSERT INTO mammograms VALUES
    ('L CC', screen.synthetic_mammogram(1, 'L', 'CC')),
    ('R MLO label', screen.synthetic_mammogram(2, 'R', 'MLO', burned_in_label => true)),
    ('R CC MONOCHROME1', screen.synthetic_mammogram(3, 'R', 'CC', monochrome1 => true)),
    ('R CC MONOCHROME2', screen.synthetic_mammogram(3, 'R', 'CC'));

-- what is found, in pixels of the stored image; left breasts are stored with the chest wall on the right
SELECT name, screen.dicom_value(dcm, 'ImageLaterality') AS laterality, b.*
FROM mammograms, screen.mammo_breast(dcm) b ORDER BY name;

-- the default output: uint8 1024×832, the chest wall at the left (column 0 bright, the far right black)
SELECT name, (screen.tensor_info(p)).shape, (screen.tensor_info(p)).dtype,
       get_byte(p, 10 + get_byte(p, 8) + 256 * get_byte(p, 9) + 512 * 832) > 40 AS chest_wall_at_left,
       get_byte(p, 10 + get_byte(p, 8) + 256 * get_byte(p, 9) + 512 * 832 + 831) AS far_right
FROM (SELECT name, screen.mammo_preprocess(dcm) AS p FROM mammograms OFFSET 0) s ORDER BY name;

-- MONOCHROME1 (stored inverted) finds the same breast as its MONOCHROME2 twin (the pixel values agree to
-- within a level on average: test/unit/test_mammo.c)
SELECT count(DISTINCT (b.x, b.y, b.width, b.height, b.flipped)) AS distinct_boxes
FROM mammograms, screen.mammo_breast(dcm) b WHERE name LIKE 'R CC MONOCHROME_';

-- other sizes and types
SELECT (screen.tensor_info(screen.mammo_preprocess(dcm, 512, 416, 'uint16'))).*
FROM mammograms WHERE name = 'L CC';
SELECT (screen.tensor_info(screen.mammo_preprocess(dcm, 300, 300, 'float32'))).shape
FROM mammograms WHERE name = 'L CC';
SELECT (screen.image_info(screen.to_png(screen.mammo_preprocess(dcm)))).* FROM mammograms WHERE name = 'L CC';

-- NULL in, NULL out
SELECT screen.mammo_preprocess(NULL) IS NULL AS pre, screen.mammo_breast(NULL) IS NULL AS breast;

-- errors
SELECT screen.mammo_preprocess(dcm, 8, 832) FROM mammograms WHERE name = 'L CC';
SELECT screen.mammo_preprocess(dcm, dtype => 'int16') FROM mammograms WHERE name = 'L CC';
SELECT screen.mammo_preprocess(screen.synthetic_fundus(1, 0));
SELECT screen.mammo_preprocess(substr(dcm, 1, 2000)) FROM mammograms WHERE name = 'L CC';
SELECT screen.mammo_breast('\x00'::bytea);

DROP TABLE mammograms;
