-- Demo step 1: images as bytea, what pgscreen sees in them, and how to look at them.
\pset footer off
CREATE EXTENSION pgscreen;

-- Which device networks will run on, and why.
SELECT device, name, total_memory_mb, selected, detail FROM screen.device_info();

-- A test picture made in SQL: a 512×384 RGB tensor (an orange disc on black, brighter at the top left)
-- in NumPy's .npy format, which is how pgscreen passes pixels around.
CREATE TABLE pictures (id int PRIMARY KEY, label text, img bytea);
ALTER TABLE pictures ALTER COLUMN img SET STORAGE EXTERNAL;

INSERT INTO pictures
SELECT 1, 'tensor made in SQL',
       '\x934e554d505901007600'::bytea
       || convert_to(rpad('{''descr'': ''|u1'', ''fortran_order'': False, ''shape'': (384, 512, 3), }', 117)
                     || E'\n', 'UTF8')
       || (SELECT string_agg(decode(
                    CASE WHEN (x - 256) ^ 2 + (y - 192) ^ 2 < 170 ^ 2
                         THEN lpad(to_hex(least(255, 180 + (300 - x - y) / 8)), 2, '0')
                              || lpad(to_hex(60 + (x + y) / 16), 2, '0') || '18'
                         ELSE '000000' END, 'hex'), ''::bytea ORDER BY y, x)
           FROM generate_series(0, 383) y, generate_series(0, 511) x);

-- The same picture as PNG and as a DCT-scaled thumbnail of the PNG.
INSERT INTO pictures SELECT 2, 'PNG of the tensor', screen.to_png(img) FROM pictures WHERE id = 1;
INSERT INTO pictures SELECT 3, 'quarter-size PNG', screen.to_png(img, scale_denom => 4) FROM pictures WHERE id = 2;

-- Header facts without decoding, and tensor facts of a decoded image.
SELECT id, label, (screen.image_info(img)).*, length(img) AS bytes FROM pictures ORDER BY id;
SELECT id, (screen.tensor_info(screen.to_npy(img))).* FROM pictures ORDER BY id;

-- Bad input is an error with a SQLSTATE; the session carries on.
\set ON_ERROR_STOP 0
SELECT screen.image_info('\x89504e470d0a1a0a0000'::bytea);
\set ON_ERROR_STOP 1

-- Write the PNGs next to the demo for a person to look at (psql writes base64, base64 -d decodes it).
\pset tuples_only on
\pset format unaligned
\o :out/10_picture.png.b64
SELECT encode(img, 'base64') FROM pictures WHERE id = 2;
\o :out/10_thumbnail.png.b64
SELECT encode(img, 'base64') FROM pictures WHERE id = 3;
\o
\! for f in "$DEMO_OUT"/10_*.b64; do base64 -d "$f" > "${f%.b64}" && rm "$f"; done
\pset tuples_only off
\pset format aligned
