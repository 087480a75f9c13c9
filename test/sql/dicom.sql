-- DICOM in SQL: synthetic mammograms, inspection, pixels, de-identification with keys, quarantine, errors.
-- (The corpus, leak and dciodvfy checks are in test/oracle/dicom_deid_oracle.py and test/t/030_dicom_deid.pl.)
CREATE TABLE mg AS
SELECT seed, screen.synthetic_mammogram(seed, laterality, view, monochrome1, burned_in_label,
                                         height => 256, width => 192) AS dcm
FROM (VALUES (1, 'L', 'CC', false, false), (2, 'R', 'MLO', true, false), (3, 'L', 'MLO', false, true))
     AS v(seed, laterality, view, monochrome1, burned_in_label);

-- same arguments, same bytes; a different seed, different bytes
SELECT screen.synthetic_mammogram(1, 'L', 'CC', height => 256, width => 192) = dcm AS deterministic FROM mg WHERE seed = 1;
SELECT count(DISTINCT md5(dcm)) AS distinct_objects FROM mg;

-- inspection: keywords, tags, paths; absent attributes are NULL
SELECT seed, screen.dicom_value(dcm, 'Modality') AS modality,
       screen.dicom_value(dcm, 'SOPClassUID') AS sop_class,
       screen.dicom_value(dcm, '(0020,0062)') AS laterality,
       screen.dicom_value(dcm, 'ViewPosition') AS view,
       screen.dicom_value(dcm, 'PhotometricInterpretation') AS photometric,
       screen.dicom_value(dcm, 'BurnedInAnnotation') AS burned_in,
       screen.dicom_value(dcm, 'ViewCodeSequence[0].CodeMeaning') AS view_code,
       screen.dicom_value(dcm, 'PatientWeight') IS NULL AS no_weight
FROM mg ORDER BY seed;
SELECT screen.dicom_value(dcm, 'PatientName') ~ '^[A-Z]+\^[A-Z]+$' AS has_a_name FROM mg WHERE seed = 1;
SELECT screen.dicom_value(dcm, 'AnatomicRegionSequence') AS sequence_as_json FROM mg WHERE seed = 1;

-- the DICOM JSON model: tags as keys, person names as Alphabetic, bulk data without values
SELECT j -> '00080060' AS modality, j -> '00280010' AS rows,
       jsonb_typeof(j -> '00100010' -> 'Value' -> 0 -> 'Alphabetic') AS person_name,
       j -> '7FE00010' AS pixel_data, j -> '00540220' -> 'Value' -> 0 -> '00080104' AS view_meaning
FROM (SELECT screen.dicom_json(dcm) AS j FROM mg WHERE seed = 1) s;

-- pixels: 16-bit monochrome stays uint16; the image decoder knows DICOM; to_png shows the VOI window in 8 bits
SELECT seed, (screen.tensor_info(screen.dicom_pixels(dcm))).dtype, (screen.tensor_info(screen.dicom_pixels(dcm))).shape
FROM mg ORDER BY seed;
SELECT (screen.image_info(dcm)).* FROM mg WHERE seed = 2;
SELECT screen.to_npy(dcm) = screen.dicom_pixels(dcm) AS to_npy_is_dicom_pixels FROM mg WHERE seed = 1;
SELECT (screen.image_info(screen.to_png(dcm))).* FROM mg WHERE seed = 2;
SELECT (screen.tensor_info(screen.to_npy(dcm, 0, 4))).shape AS quarter FROM mg WHERE seed = 1;

-- keys: a member of pgscreen_deid (here the superuser) makes one; it is never shown and never replaced
SELECT screen.deid_create_key('regress');
SELECT screen.deid_create_key('regress');
SELECT name, length(key) AS key_bytes FROM screen.deid_keys WHERE name = 'regress';

-- de-identification: names and UIDs replaced by keyed pseudonyms, pixels untouched, marked as de-identified
CREATE TABLE anon AS
SELECT seed, dcm, screen.dicom_anonymize(dcm, '{"key": "regress", "keep": ["ImageLaterality", "ViewPosition"]}') AS out
FROM mg;
SELECT seed, out IS NULL AS quarantined,
       screen.dicom_value(out, 'PatientID') ~ '^PGS[0-9A-F]{20}$' AS pseudonym_id,
       screen.dicom_value(out, 'PatientName') = screen.dicom_value(out, 'PatientID') AS name_is_pseudonym,
       screen.dicom_value(out, 'StudyInstanceUID') ~ '^2\.25\.[1-9][0-9]{30,38}$' AS new_study_uid,
       screen.dicom_value(out, 'PatientIdentityRemoved') AS removed,
       screen.dicom_value(out, 'LongitudinalTemporalInformationModified') AS dates,
       screen.dicom_value(out, 'ImageLaterality') AS laterality,
       screen.dicom_value(out, 'InstitutionName') AS institution,
       screen.dicom_value(out, '(0029,1010)') IS NULL AS private_gone,
       screen.dicom_value(out, '(6000,3000)') IS NULL AS overlay_gone,
       screen.dicom_pixels(out) = screen.dicom_pixels(dcm) AS same_pixels
FROM anon ORDER BY seed;
SELECT screen.dicom_value(out, 'DeidentificationMethod') AS method,
       screen.dicom_value(out, 'DeidentificationMethodCodeSequence[0].CodeValue') AS code
FROM anon WHERE seed = 1;
SELECT position(convert_to(screen.dicom_value(dcm, 'PatientName'), 'LATIN1') IN out) = 0 AS name_gone,
       position(convert_to(screen.dicom_value(dcm, 'PatientID'), 'LATIN1') IN out) = 0 AS id_gone,
       position(convert_to(screen.dicom_value(dcm, 'StudyInstanceUID'), 'LATIN1') IN out) = 0 AS uid_gone
FROM anon WHERE seed = 1;
-- the same object and key give the same bytes; the same patient the same pseudonym in another object
SELECT screen.dicom_anonymize(dcm, '{"key": "regress", "keep": ["ImageLaterality", "ViewPosition"]}') = out AS repeatable
FROM anon WHERE seed = 1;
SELECT screen.dicom_value(screen.dicom_anonymize(screen.synthetic_mammogram(9, height => 128, width => 128,
           patient_id => screen.dicom_value(dcm, 'PatientID')), '{"key": "regress"}'), 'PatientID')
       = screen.dicom_value(out, 'PatientID') AS linked
FROM anon WHERE seed = 1;
-- options: modified dates move back by the patient's offset; full dates stay; retained UIDs stay
SELECT screen.dicom_value(screen.dicom_anonymize(dcm, '{"key": "regress", "retain_longitudinal": "modified"}'), 'StudyDate')::date
       < screen.dicom_value(dcm, 'StudyDate')::date AS shifted_back,
       screen.dicom_value(screen.dicom_anonymize(dcm, '{"key": "regress", "retain_longitudinal": "full"}'), 'StudyDate')
       = screen.dicom_value(dcm, 'StudyDate') AS full_kept,
       screen.dicom_value(screen.dicom_anonymize(dcm, '{"key": "regress", "retain_uids": true}'), 'SOPInstanceUID')
       = screen.dicom_value(dcm, 'SOPInstanceUID') AS uids_kept
FROM mg WHERE seed = 1;

-- quarantine: burned-in annotation by default, a modality allow-list; clean blanks the label in MG
SELECT seed, screen.dicom_quarantine_reason(dcm) AS reason FROM mg ORDER BY seed;
SELECT screen.dicom_quarantine_reason(dcm, '{"modalities": ["CT", "MR"]}') FROM mg WHERE seed = 1;
SELECT screen.dicom_quarantine_reason(dcm, '{"burned_in_annotation": "clean"}') IS NULL AS cleanable FROM mg WHERE seed = 3;
SELECT screen.dicom_value(c, 'BurnedInAnnotation') AS burned_in, screen.dicom_value(c, 'TransferSyntaxUID') AS syntax,
       screen.dicom_pixels(c) <> screen.dicom_pixels(dcm) AS pixels_cleaned
FROM (SELECT dcm, screen.dicom_anonymize(dcm, '{"key": "regress", "burned_in_annotation": "clean"}') AS c
      FROM mg WHERE seed = 3) s;
SELECT screen.dicom_anonymize(dcm, '{"key": "regress", "burned_in_annotation": "reject"}') FROM mg WHERE seed = 3;

-- the dry run: what the profile would change, with paths into sequences
SELECT action, count(*) FROM screen.dicom_phi_report((SELECT dcm FROM mg WHERE seed = 1)) GROUP BY action ORDER BY action;
SELECT tag, keyword, vr, path, action, preview FROM screen.dicom_phi_report((SELECT dcm FROM mg WHERE seed = 1))
WHERE path LIKE '%/%' OR keyword IN ('PatientID', 'InstitutionName') ORDER BY path;

-- the pseudonym map an authorised role can store
SELECT kind, count(*) FROM screen.dicom_pseudonyms((SELECT dcm FROM mg WHERE seed = 1), '{"key": "regress"}')
GROUP BY kind ORDER BY kind;

-- an ordinary role: no key, no map, no secret in pg_settings; granted pgscreen_deid, it works
CREATE ROLE regress_dicom_analyst;
GRANT SELECT ON mg TO regress_dicom_analyst;
SET ROLE regress_dicom_analyst;
SELECT screen.dicom_anonymize(dcm, '{"key": "regress"}') FROM mg WHERE seed = 1;
SELECT * FROM screen.deid_keys;
SELECT * FROM screen.deid_map;
SELECT screen.deid_create_key('mine');
SELECT count(*) AS key_settings FROM pg_settings WHERE name ILIKE 'pgscreen.%key%';
SELECT screen.dicom_quarantine_reason(dcm) FROM mg WHERE seed = 1;
SELECT count(*) > 0 AS report_needs_no_key FROM screen.dicom_phi_report((SELECT dcm FROM mg WHERE seed = 1));
RESET ROLE;
GRANT pgscreen_deid TO regress_dicom_analyst;
SET ROLE regress_dicom_analyst;
SELECT screen.dicom_value(screen.dicom_anonymize(dcm, '{"key": "regress"}'), 'PatientIdentityRemoved') FROM mg WHERE seed = 1;
SELECT screen.dicom_anonymize(dcm, '{"key": "nonexistent"}') FROM mg WHERE seed = 1;
RESET ROLE;

-- options are checked: unknown keys list the valid ones, wrong types say what is expected
SELECT screen.dicom_anonymize(dcm, '{"retain_dates": true}') FROM mg WHERE seed = 1;
SELECT screen.dicom_anonymize(dcm, '{"retain_uids": "yes"}') FROM mg WHERE seed = 1;
SELECT screen.dicom_anonymize(dcm, '{"retain_longitudinal": "partial"}') FROM mg WHERE seed = 1;
SELECT screen.dicom_anonymize(dcm, '{"burned_in_annotation": "ignore"}') FROM mg WHERE seed = 1;
SELECT screen.dicom_anonymize(dcm, '{"keep": ["NoSuchAttribute"]}') FROM mg WHERE seed = 1;
SELECT screen.dicom_anonymize(dcm, '{"keep": "ImageLaterality"}') FROM mg WHERE seed = 1;
SELECT screen.dicom_anonymize(dcm, '[]') FROM mg WHERE seed = 1;
SELECT screen.dicom_anonymize(dcm, NULL) IS NULL AS null_options FROM mg WHERE seed = 1;

-- bad input: a clear error with SQLSTATE 22P03, never a crash, never a half-de-identified result
\set VERBOSITY sqlstate
SELECT screen.dicom_anonymize('\x00'::bytea, '{"key": "regress"}');
\set VERBOSITY default
SELECT screen.dicom_anonymize('not dicom at all'::bytea, '{"key": "regress"}');
SELECT screen.dicom_anonymize(substr(dcm, 1, 600), '{"key": "regress"}') FROM mg WHERE seed = 1;
SELECT screen.dicom_json(substr(dcm, 1, 132)) FROM mg WHERE seed = 1;
SELECT screen.dicom_value(dcm, 'NotAKeyword') FROM mg WHERE seed = 1;
SELECT screen.dicom_value(dcm, 'Modality[0]') FROM mg WHERE seed = 1;
SELECT screen.dicom_pixels(dcm, 1) FROM mg WHERE seed = 1;
SELECT screen.dicom_pixels(dcm, -1) FROM mg WHERE seed = 1;
SELECT screen.synthetic_mammogram(1, laterality => 'X');
SELECT screen.synthetic_mammogram(1, view => 'ML');
SELECT screen.synthetic_mammogram(1, height => 10);
-- identifiers must make conformant DICOM: UIDs of digits and dots (64 at most, no leading zeros), IDs as LO
\set VERBOSITY sqlstate
SELECT screen.synthetic_mammogram(1, study_instance_uid => 'not-a-uid');
\set VERBOSITY default
SELECT screen.synthetic_mammogram(1, study_instance_uid => '1.2.840.01');
SELECT screen.synthetic_mammogram(1, series_instance_uid => '1.2..3');
SELECT screen.synthetic_mammogram(1, series_instance_uid => '1.2.3.');
SELECT screen.synthetic_mammogram(1, study_instance_uid => '1.' || repeat('2', 63));
SELECT screen.synthetic_mammogram(1, patient_id => repeat('x', 100000));
SELECT screen.synthetic_mammogram(1, patient_id => 'A\B');
SELECT screen.synthetic_mammogram(1, patient_id => '');
-- the longest allowed values give a conformant object: derived Short Strings are cut to 16 characters
SELECT screen.dicom_value(d, 'StudyInstanceUID') = '1.' || repeat('2', 62) AS uid_64,
       length(screen.dicom_value(d, 'PatientID')) AS patient_id_length,
       screen.dicom_value(d, 'RequestAttributesSequence[0].ScheduledProcedureStepID') AS short_string_16
FROM (SELECT screen.synthetic_mammogram(1, height => 64, width => 64, patient_id => repeat('7', 64),
                                        study_instance_uid => '1.' || repeat('2', 62),
                                        series_instance_uid => '0.10.2') AS d) s;
SELECT screen.synthetic_mammogram(NULL) IS NULL AS null_seed;
SET pgscreen.max_image_pixels = 1000;
SELECT screen.dicom_pixels(dcm) FROM mg WHERE seed = 1;
RESET pgscreen.max_image_pixels;

DROP TABLE anon;
REVOKE SELECT ON mg FROM regress_dicom_analyst;
DROP ROLE regress_dicom_analyst;
DELETE FROM screen.deid_keys WHERE name = 'regress';
DROP TABLE mg;
