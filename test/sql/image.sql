-- Image decoding in SQL: image_info, to_npy, to_png, tensor_info, their options and their errors.
-- The fixtures are tiny images made with Pillow (a 16×8 gradient, not symmetric); see test/oracle for the
-- pixel-exact comparisons against Pillow and djpeg.
CREATE TABLE fixtures (name text PRIMARY KEY, img bytea);
INSERT INTO fixtures VALUES ('jpeg_rgb', decode('/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAAIABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDwzwX+yt/q/wDQ/wDx2vefBf7K3+r/AND/APHaKK+KwebYvT3jwvDzjDOPc/e/195//9k=', 'base64'));
INSERT INTO fixtures VALUES ('jpeg_gray', decode('/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/wAALCAAIABABAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/APj/APZt/wCXX8K/VX9m3/l1/Cv/2Q==', 'base64'));
INSERT INTO fixtures VALUES ('jpeg_progressive', decode('/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wgARCAAIABADASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAb/xAAVAQEBAAAAAAAAAAAAAAAAAAAEBf/aAAwDAQACEAMQAAABhb0iA//EABYQAAMAAAAAAAAAAAAAAAAAAAAEBv/aAAgBAQABBQJKVEpU/8QAGREAAQUAAAAAAAAAAAAAAAAAAAQFBiEi/9oACAEDAQE/AY88LK0f/8QAFxEBAAMAAAAAAAAAAAAAAAAAAwAEUf/aAAgBAgEBPwEba7P/xAAWEAADAAAAAAAAAAAAAAAAAAAAASL/2gAIAQEABj8CUCg//8QAFRABAQAAAAAAAAAAAAAAAAAAAPH/2gAIAQEAAT8hgID/2gAMAwEAAgADAAAAEI//xAAWEQADAAAAAAAAAAAAAAAAAAAA0fD/2gAIAQMBAT8Qps//xAAVEQEBAAAAAAAAAAAAAAAAAAAAIf/aAAgBAgEBPxCE/8QAFBABAAAAAAAAAAAAAAAAAAAAEP/aAAgBAQABPxAQj//Z', 'base64'));
INSERT INTO fixtures VALUES ('jpeg_cmyk', decode('/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwADAgIDAgIDAwMDBAMDBAUIBQUEBAUKBwcGCAwKDAwLCgsLDQ4SEA0OEQ4LCxAWEBETFBUVFQwPFxgWFBgSFBUU/8AAFAgACAAQBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD4/wD2bf8Al1/CuC/4d3f9Qz/xyvj/AOG3w2/1X7r07V+qdfqr+zb/AMuv4Uf8O7v+oZ/45X1X8Nvht/qv3Xp2or//2Q==', 'base64'));
INSERT INTO fixtures VALUES ('png_gray16', decode('iVBORw0KGgoAAAANSUhEUgAAABAAAAAIEAAAAACFjfwIAAAAFElEQVR4nGNkYBbAC5gYCIDhoQAA2pkB88yGk1cAAAAASUVORK5CYII=', 'base64'));
INSERT INTO fixtures VALUES ('png_rgba', decode('iVBORw0KGgoAAAANSUhEUgAAABAAAAAICAYAAADwdn+XAAAAIUlEQVR4nGNkYGBgEGDgECAXszDIcTAwMJCPRw0YDAYAAIDEBsjAjU1TAAAAAElFTkSuQmCC', 'base64'));
INSERT INTO fixtures VALUES ('npy_hwc', decode('k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDgsIDE2LCAzKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAQAAggABAwABhAACBQAChgADBwADiAAECQAEigAFCwAFjAAGDQAGjgAHDwAHgAHggQHhAgHhgwHiBAHihQHjBgHjhwHkCAHkiQHlCgHliwHmDAHmjQHnDgHnjwHoAAPBAQPBggPCAwPChAPDBQPDhgPEBwPEiAPFCQPFigPGCwPGjAPHDQPHjgPIDwPIgAWhgQWiAgWigwWjBAWjhQWkBgWkhwWlCAWliQWmCgWmiwWnDAWnjQWoDgWojwWpAAeCAQeCggeDAweDhAeEBQeEhgeFBweFiAeGCQeGigeHCweHjAeIDQeIjgeJDweJgAligQljAgljgwlkBAlkhQllBgllhwlmCAlmiQlnCglniwloDAlojQlpDglpjwlqAAtDAQtDggtEAwtEhAtFBQtFhgtGBwtGiAtHCQtHigtICwtIjAtJDQtJjgtKDwtKgA0jgQ0kAg0kgw0lBA0lhQ0mBg0mhw0nCA0niQ0oCg0oiw0pDA0pjQ0qDg0qjw0rA=', 'base64'));
INSERT INTO fixtures VALUES ('npy_chw_f32', decode('k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsIDgsIDE2KSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAgYCAPYGAAD7BwEA+gYCAPqGgoD7BwMA+4eDgPoGAAD+RkBA/oaAgP7GwMD/BwEA/0dBQP+HgYD/x8HA/AAAAAIGAgD2BgAA+wcBAPoGAgD6hoKA+wcDAPuHg4D6BgAA/kZAQP6GgID+xsDA/wcBAP9HQUD/h4GA/8fBwPwAAAACBgIA9gYAAPsHAQD6BgIA+oaCgPsHAwD7h4OA+gYAAP5GQED+hoCA/sbAwP8HAQD/R0FA/4eBgP/HwcD8AAAAAgYCAPYGAAD7BwEA+gYCAPqGgoD7BwMA+4eDgPoGAAD+RkBA/oaAgP7GwMD/BwEA/0dBQP+HgYD/x8HA/AAAAAIGAgD2BgAA+wcBAPoGAgD6hoKA+wcDAPuHg4D6BgAA/kZAQP6GgID+xsDA/wcBAP9HQUD/h4GA/8fBwPwAAAACBgIA9gYAAPsHAQD6BgIA+oaCgPsHAwD7h4OA+gYAAP5GQED+hoCA/sbAwP8HAQD/R0FA/4eBgP/HwcD8AAAAAgYCAPYGAAD7BwEA+gYCAPqGgoD7BwMA+4eDgPoGAAD+RkBA/oaAgP7GwMD/BwEA/0dBQP+HgYD/x8HA/AAAAAIGAgD2BgAA+wcBAPoGAgD6hoKA+wcDAPuHg4D6BgAA/kZAQP6GgID+xsDA/wcBAP9HQUD/h4GA/8fBwPwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADx8PA98fDwPfHw8D3x8PA98fDwPfHw8D3x8PA98fDwPfHw8D3x8PA98fDwPfHw8D3x8PA98fDwPfHw8D3x8PA98fBwPvHwcD7x8HA+8fBwPvHwcD7x8HA+8fBwPvHwcD7x8HA+8fBwPvHwcD7x8HA+8fBwPvHwcD7x8HA+8fBwPrW0tD61tLQ+tbS0PrW0tD61tLQ+tbS0PrW0tD61tLQ+tbS0PrW0tD61tLQ+tbS0PrW0tD61tLQ+tbS0PrW0tD7x8PA+8fDwPvHw8D7x8PA+8fDwPvHw8D7x8PA+8fDwPvHw8D7x8PA+8fDwPvHw8D7x8PA+8fDwPvHw8D7x8PA+l5YWP5eWFj+XlhY/l5YWP5eWFj+XlhY/l5YWP5eWFj+XlhY/l5YWP5eWFj+XlhY/l5YWP5eWFj+XlhY/l5YWP7W0ND+1tDQ/tbQ0P7W0ND+1tDQ/tbQ0P7W0ND+1tDQ/tbQ0P7W0ND+1tDQ/tbQ0P7W0ND+1tDQ/tbQ0P7W0ND/T0lI/09JSP9PSUj/T0lI/09JSP9PSUj/T0lI/09JSP9PSUj/T0lI/09JSP9PSUj/T0lI/09JSP9PSUj/T0lI/AAAAAIGAAD2BgIA9wcDAPYGAAD6hoCA+wcBAPuHgYD6BgIA+kZCQPqGgoD6xsLA+wcDAPtHQ0D7h4OA+8fDwPoGAAD2BgIA9wcDAPYGAAD6hoCA+wcBAPuHgYD6BgIA+kZCQPqGgoD6xsLA+wcDAPtHQ0D7h4OA+8fDwPoGAAD+BgIA9wcDAPYGAAD6hoCA+wcBAPuHgYD6BgIA+kZCQPqGgoD6xsLA+wcDAPtHQ0D7h4OA+8fDwPoGAAD+JiAg/wcDAPYGAAD6hoCA+wcBAPuHgYD6BgIA+kZCQPqGgoD6xsLA+wcDAPtHQ0D7h4OA+8fDwPoGAAD+JiAg/kZAQP4GAAD6hoCA+wcBAPuHgYD6BgIA+kZCQPqGgoD6xsLA+wcDAPtHQ0D7h4OA+8fDwPoGAAD+JiAg/kZAQP5mYGD+hoCA+wcBAPuHgYD6BgIA+kZCQPqGgoD6xsLA+wcDAPtHQ0D7h4OA+8fDwPoGAAD+JiAg/kZAQP5mYGD+hoCA/wcBAPuHgYD6BgIA+kZCQPqGgoD6xsLA+wcDAPtHQ0D7h4OA+8fDwPoGAAD+JiAg/kZAQP5mYGD+hoCA/qagoP+HgYD6BgIA+kZCQPqGgoD6xsLA+wcDAPtHQ0D7h4OA+8fDwPoGAAD+JiAg/kZAQP5mYGD+hoCA/qagoP7GwMD8=', 'base64'));

-- header information, without decoding pixels
SELECT name, (screen.image_info(img)).* FROM fixtures ORDER BY name;

-- decode to NPY: shapes and dtypes as stored (CMYK comes back as RGB, C×H×W is shown as H×W×C)
SELECT name, (screen.tensor_info(screen.to_npy(img))).* FROM fixtures ORDER BY name;

-- NPY in, NPY out: the bytes of an H×W×C uint8 tensor survive unchanged
SELECT screen.to_npy(img) = img AS npy_round_trip FROM fixtures WHERE name = 'npy_hwc';

-- lossless formats keep every pixel through to_png; a C×H×W float tensor becomes an 8-bit picture
SELECT name, screen.to_npy(screen.to_png(img)) = screen.to_npy(img) AS png_keeps_pixels
FROM fixtures WHERE name IN ('jpeg_rgb', 'jpeg_gray', 'png_gray16', 'png_rgba', 'npy_hwc') ORDER BY name;
SELECT (screen.image_info(screen.to_png(img))).* FROM fixtures WHERE name = 'npy_chw_f32';
SELECT (screen.image_info(screen.to_png(img))).bits AS png16_bits FROM fixtures WHERE name = 'png_gray16';

-- the JPEG pixels are those of libjpeg-turbo's default decoder (pinned by checksum)
SELECT name, md5(screen.to_npy(img)) FROM fixtures WHERE name LIKE 'jpeg%' ORDER BY name;

-- reduced-size decoding: DCT scaling for JPEG, block averaging for the others
SELECT name, s AS scale_denom, (screen.tensor_info(screen.to_npy(img, 0, s))).shape
FROM fixtures, (VALUES (2), (4), (8)) AS scales(s)
WHERE name IN ('jpeg_rgb', 'png_rgba') ORDER BY name, s;
SELECT (screen.tensor_info(screen.to_npy(img, scale_denom => 2))).shape FROM fixtures WHERE name = 'npy_hwc';

-- values stored out of line are probed from a slice of their start; a JPEG whose frame header lies beyond
-- that slice (320 kB of APP15 metadata first) is still read, from the whole value
CREATE TABLE big_values (name text, img bytea);
ALTER TABLE big_values ALTER COLUMN img SET STORAGE EXTERNAL;
INSERT INTO big_values
SELECT 'metadata first', '\xffd8'::bytea
       || (SELECT string_agg('\xffeffffe'::bytea || decode(repeat('00', 65532), 'hex'), ''::bytea)
           FROM generate_series(1, 5))
       || substr(img, 3)
FROM fixtures WHERE name = 'jpeg_rgb';
SELECT name, length(img) > 256 * 1024 AS beyond_slice, (screen.image_info(img)).*,
       screen.to_npy(img) = (SELECT screen.to_npy(img) FROM fixtures WHERE name = 'jpeg_rgb') AS same_pixels
FROM big_values;
DROP TABLE big_values;

-- NULL in, NULL out
SELECT screen.image_info(NULL) IS NULL AS info_null, screen.to_png(NULL) IS NULL AS png_null,
       screen.to_npy(NULL) IS NULL AS npy_null, screen.tensor_info(NULL) IS NULL AS tensor_null;

-- bad input: each a clear error with its SQLSTATE, and the session carries on
\set VERBOSITY sqlstate
SELECT screen.image_info('');
SELECT screen.image_info('GIF89a');
\set VERBOSITY default
SELECT screen.image_info('');
SELECT screen.image_info('GIF89a');
SELECT screen.image_info('\xffd8ffe0'::bytea);
SELECT screen.to_npy(substr(img, 1, 200)) FROM fixtures WHERE name = 'jpeg_rgb';
SELECT screen.to_npy(substr(img, 1, length(img) - 30)) FROM fixtures WHERE name = 'png_rgba';
SELECT screen.to_npy(img, 1) FROM fixtures WHERE name = 'jpeg_rgb';
SELECT screen.to_npy(img, -1) FROM fixtures WHERE name = 'jpeg_rgb';
SELECT screen.to_npy(img, 0, 3) FROM fixtures WHERE name = 'jpeg_rgb';
SELECT screen.to_png(img, 1) FROM fixtures WHERE name = 'npy_hwc';
SELECT screen.tensor_info(img) FROM fixtures WHERE name = 'jpeg_rgb';
SELECT screen.tensor_info(substr(img, 1, length(img) - 1)) FROM fixtures WHERE name = 'npy_hwc';
SELECT screen.tensor_info(img || '\x00'::bytea) FROM fixtures WHERE name = 'npy_hwc';
SELECT screen.tensor_info(overlay(img placing '<f8' from 22)) FROM fixtures WHERE name = 'npy_hwc';
SELECT screen.to_png(overlay(img placing '(8, 16, 5)' from 61)) FROM fixtures WHERE name = 'npy_hwc';

-- a JPEG header claiming 65000×65000 pixels is refused before anything is allocated
SELECT screen.image_info(overlay(img placing '\xfde8fde8'::bytea from position('\xffc0'::bytea in img) + 5))
FROM fixtures WHERE name = 'jpeg_rgb';
SELECT screen.to_npy(overlay(img placing '\xfde8fde8'::bytea from position('\xffc0'::bytea in img) + 5))
FROM fixtures WHERE name = 'jpeg_rgb';

-- the pixel limit is a setting
SET pgscreen.max_image_pixels = 100;
SELECT screen.to_npy(img) FROM fixtures WHERE name = 'png_rgba';
SET pgscreen.max_image_pixels = 128;
SELECT length(screen.to_npy(img)) FROM fixtures WHERE name = 'png_rgba';
SET pgscreen.max_image_pixels = 0;
RESET pgscreen.max_image_pixels;

-- Only a superuser may raise the limit; any session may lower its own, never above the superuser's.
CREATE ROLE regress_image_user;
GRANT SELECT ON fixtures TO regress_image_user;
SET pgscreen.max_image_pixels = 100;
SET ROLE regress_image_user;
SET pgscreen.max_image_pixels = 2147483647;
SET pgscreen.session_max_image_pixels = 2147483647;
SELECT screen.to_npy(img) FROM fixtures WHERE name = 'png_rgba';
RESET ROLE;
SET pgscreen.max_image_pixels = 128;
SET ROLE regress_image_user;
SELECT length(screen.to_npy(img)) FROM fixtures WHERE name = 'png_rgba';
SET pgscreen.session_max_image_pixels = 100;
SELECT screen.to_npy(img) FROM fixtures WHERE name = 'png_rgba';
RESET pgscreen.session_max_image_pixels;
SELECT length(screen.to_npy(img)) FROM fixtures WHERE name = 'png_rgba';
-- The other settings that protect the server are a superuser's too.
SET pgscreen.model_cache = '100GB';
SET pgscreen.job_cache_memory = '100GB';
SET pgscreen.image_memory_budget = '100GB';
SET pgscreen.cuda_module = '/tmp/evil.so';
RESET ROLE;
RESET pgscreen.max_image_pixels;
REVOKE SELECT ON fixtures FROM regress_image_user;
DROP ROLE regress_image_user;
SELECT name, context FROM pg_settings WHERE name IN ('pgscreen.max_image_pixels', 'pgscreen.session_max_image_pixels',
    'pgscreen.image_memory_budget', 'pgscreen.model_cache', 'pgscreen.pacs_allowed_destinations') ORDER BY name;

-- the prefix is reserved: a misspelt setting is an error, not a silent placeholder
SET pgscreen.max_image_pixel = 5;

-- still serving
SELECT count(*) AS fixtures FROM fixtures;
DROP TABLE fixtures;
