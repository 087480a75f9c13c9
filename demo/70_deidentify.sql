-- Demo step 7: the mammography side of the thesis: de-identify a few SYNTHETIC screening mammograms
-- (DICOM MG with planted patient data) before they leave the hospital.
\pset footer off

CREATE TABLE screening_mammograms AS
SELECT i AS id, screen.synthetic_mammogram(100 + i, laterality => CASE WHEN i % 2 = 0 THEN 'L' ELSE 'R' END,
                                           view => CASE WHEN i < 3 THEN 'CC' ELSE 'MLO' END,
                                           height => 512, width => 384) AS dcm
FROM generate_series(1, 4) i;

-- What the files say about the patient, before and after.
SELECT id, screen.dicom_value(dcm, 'PatientName') AS patient, screen.dicom_value(dcm, 'PatientID') AS patient_id,
       screen.dicom_value(dcm, 'StudyDate') AS study_date, screen.dicom_value(dcm, 'ImageLaterality') AS side
FROM screening_mammograms ORDER BY id;

SELECT screen.deid_create_key('demo') IS NOT NULL AS key_made;
CREATE TABLE outgoing_mammograms AS SELECT id, screen.dicom_anonymize(dcm, '{"key": "demo"}') AS dcm FROM screening_mammograms;
SELECT id, screen.dicom_value(dcm, 'PatientName') AS patient, screen.dicom_value(dcm, 'PatientID') AS patient_id,
       screen.dicom_value(dcm, 'StudyDate') AS study_date, screen.dicom_value(dcm, 'ImageLaterality') AS side,
       screen.dicom_value(dcm, 'PatientIdentityRemoved') AS identity_removed
FROM outgoing_mammograms ORDER BY id;

\pset tuples_only on
\pset format unaligned
\o :out/70_mammogram.png.b64
SELECT encode(screen.to_png(dcm), 'base64') FROM outgoing_mammograms WHERE id = 1;
\o
\! base64 -d "$DEMO_OUT/70_mammogram.png.b64" > "$DEMO_OUT/70_mammogram.png" && rm "$DEMO_OUT/70_mammogram.png.b64"
\pset tuples_only off
\pset format aligned
