-- PACS functions without a PACS: argument, option and query checks happen before any connection is made,
-- so each bad call here fails with its own message; the network paths are tested in test/t/040-045.
SET client_min_messages = warning;

-- not for PUBLIC: opening connections from the server is granted explicitly
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute
FROM pg_proc p WHERE p.pronamespace = 'screen'::regnamespace AND p.proname LIKE 'pacs%' ORDER BY 1;

-- settings and their defaults
SELECT name, setting, context FROM pg_settings
WHERE name LIKE 'pgscreen.pacs%' OR name LIKE 'pgscreen.scp%' OR name LIKE 'pgscreen.tls%' ORDER BY name;
ALTER SYSTEM SET pgscreen.scp_aet = 'NOT A VALID AE TITLE BECAUSE TOO LONG';
ALTER SYSTEM SET pgscreen.scp_deidentify = '["basic"]';
ALTER SYSTEM SET pgscreen.scp_deidentify = '{"modalities": ["MG"]';

-- pacs_activity: no receiver configured, nothing running
SELECT count(*) FROM screen.pacs_activity;

-- bad addresses and AE titles
SELECT screen.pacs_echo('127.0.0.1', 70000, 'ORTHANC');
SELECT screen.pacs_echo('127.0.0.1', 0, 'ORTHANC');
SELECT screen.pacs_echo('::1', 104, 'ORTHANC');
SELECT screen.pacs_echo('', 104, 'ORTHANC');
SELECT screen.pacs_echo('127.0.0.1', 104, '');
SELECT screen.pacs_echo('127.0.0.1', 104, 'ORTHANC', 'BACK\SLASH');
SELECT screen.pacs_echo('127.0.0.1', 104, 'ORTHANC', 'PGSCREEN', '{"max_pdu": 100}');
SELECT screen.pacs_echo(NULL, 104, 'ORTHANC') IS NULL AS strict;

-- options
SELECT screen.pacs_echo('127.0.0.1', 104, 'ORTHANC', options => '{"limit": 3}');
SELECT screen.pacs_echo('127.0.0.1', 104, 'ORTHANC', options => '{"connect_timeout": "soon"}');
SELECT screen.pacs_echo('127.0.0.1', 104, 'ORTHANC', options => '{"connect_timeout": 1.5}');
SELECT screen.pacs_echo('127.0.0.1', 104, 'ORTHANC', options => '{"tls": "yes"}');
SELECT screen.pacs_echo('127.0.0.1', 104, 'ORTHANC', options => '[]');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{}', options => '{"model": "series"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{}', options => '{"method": "get"}');

-- queries
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'WARD', '{}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'PATIENT', '{}', options => '{"model": "study"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '"MG"');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"Modality": {"x": 1}}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"StudyInstanceUID": []}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"StudyInstanceUID": ["1.2", "3\\4"]}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"PatientsName": "X"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"(0008,0052)": "STUDY"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"00090010": "x"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"SpecificCharacterSet": "ISO_IR 100"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"StudyDate": "20181301"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"StudyDate": "2018-2019"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"StudyTime": "2500"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"StudyInstanceUID": "1.2.3.*"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"ModalitiesInStudy": "mg"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"AccessionNumber": "12345678901234567"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"NumberOfStudyRelatedInstances": "many"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"PixelData": "x"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"ReferencedStudySequence": "x"}');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{"PatientID": "a", "(0010,0020)": "b"}');

-- retrieval targets: the column contract is checked before the PACS is asked anything
CREATE TABLE target_ok (sop_instance_uid text PRIMARY KEY, dcm bytea);
CREATE TABLE no_uid (id int, dcm bytea);
CREATE TABLE uid_not_text (sop_instance_uid int PRIMARY KEY, dcm bytea);
CREATE TABLE no_unique (sop_instance_uid text, dcm bytea);
CREATE TABLE partial_unique (sop_instance_uid text, dcm bytea);
CREATE UNIQUE INDEX ON partial_unique (sop_instance_uid) WHERE dcm IS NOT NULL;
CREATE TABLE dcm_not_bytea (sop_instance_uid text PRIMARY KEY, dcm text);
CREATE TABLE bad_received_at (sop_instance_uid text PRIMARY KEY, dcm bytea, received_at date);
CREATE VIEW a_view AS SELECT * FROM target_ok;
CREATE TABLE quarantine_no_reason (sop_instance_uid text, dcm bytea);
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'no_uid');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'uid_not_text');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'no_unique');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'partial_unique');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'dcm_not_bytea');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'bad_received_at');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'a_view');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'target_ok',
                            '{"deidentify": {}, "quarantine_table": "quarantine_no_reason"}');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'target_ok',
                            '{"deidentify": {}, "quarantine_table": "no_such_table"}');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'target_ok',
                            '{"deidentify": "basic"}');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'target_ok',
                            '{"method": "move"}');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'target_ok',
                            '{"level": "WARD"}');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"PatientID": "X"}', 'target_ok', '{"model": "study"}');
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'target_ok',
                            '{"progress_every": 0}');
-- batching, parallel associations and resume: each bad value is refused, with its SQLSTATE, before the network
CREATE FUNCTION retrieve_option_error(options jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'target_ok', options);
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT o AS options, retrieve_option_error(o::jsonb) AS error
FROM (VALUES ('{"batch_size": 0}'), ('{"batch_size": 10001}'), ('{"batch_size": "many"}'), ('{"parallel": 0}'),
             ('{"parallel": 9}'), ('{"parallel": 1.5}'), ('{"resume": "yes"}'), ('{"resume": true, "probe": false}'),
             ('{"resume": true, "deidentify": true}'), ('{"probe": "image"}'), ('{"paralel": 2}')) AS v(o);
DROP FUNCTION retrieve_option_error(jsonb);
CREATE ROLE pacs_regress_user;
GRANT EXECUTE ON FUNCTION screen.pacs_retrieve(text, int, text, jsonb, regclass, jsonb, text) TO pacs_regress_user;
SET ROLE pacs_regress_user;
SELECT screen.pacs_retrieve('127.0.0.1', 104, 'ORTHANC', '{"StudyInstanceUID": "1.2"}', 'target_ok');
SELECT screen.pacs_find('127.0.0.1', 104, 'ORTHANC', 'STUDY', '{}');
RESET ROLE;
REVOKE ALL ON FUNCTION screen.pacs_retrieve(text, int, text, jsonb, regclass, jsonb, text) FROM pacs_regress_user;

-- Connections go only where a superuser allows (default: this host). Refused before any packet is sent.
GRANT EXECUTE ON FUNCTION screen.pacs_echo(text, int, text, text, jsonb) TO pacs_regress_user;
SET ROLE pacs_regress_user;
SELECT screen.pacs_echo('192.0.2.1', 104, 'ORTHANC');
SELECT screen.pacs_echo('10.1.2.3', 22, 'ORTHANC');
SET pgscreen.pacs_allowed_destinations = '*';
RESET ROLE;
SET pgscreen.pacs_allowed_destinations = '10.0.0.0/8:104, pacs.invalid';
SET ROLE pacs_regress_user;
SELECT screen.pacs_echo('10.1.2.3', 22, 'ORTHANC');
SELECT screen.pacs_echo('127.0.0.1', 104, 'ORTHANC');
RESET ROLE;
SET pgscreen.pacs_allowed_destinations = '10.0.0.0/33';
SET pgscreen.pacs_allowed_destinations = '10.0.0.1:0';
SET pgscreen.pacs_allowed_destinations = '/8';
RESET pgscreen.pacs_allowed_destinations;
REVOKE ALL ON FUNCTION screen.pacs_echo(text, int, text, text, jsonb) FROM pacs_regress_user;
DROP ROLE pacs_regress_user;
