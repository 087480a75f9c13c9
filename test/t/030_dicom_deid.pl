# DICOM de-identification on a real server: the key stays secret (no setting, no log line), parallel query
# gives the same bytes as a serial one, bulk UPDATE de-identifies a table, pseudonyms survive a restart, and
# the whole Debian corpus plus a barrage of corrupt objects goes through every DICOM function without a crash.
use strict;
use warnings;
use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dicom_deid');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pgscreen'
log_statement = 'all'
log_min_messages = debug1
max_worker_processes = 8
max_parallel_workers = 4
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgscreen');
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

# A key made inside the server never appears in the log, in settings or in SHOW.
$node->safe_psql('postgres', "SELECT screen.deid_create_key()");
my $key_hex = $node->safe_psql('postgres', "SELECT encode(key, 'hex') FROM screen.deid_keys WHERE name = 'default'");
like($key_hex, qr/^[0-9a-f]{64}$/, 'a 256-bit key was made');
# (the queries compare inside the server, so the key never appears in a statement the log records)
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_settings s, screen.deid_keys k
WHERE position(encode(k.key, 'hex') IN coalesce(s.setting, '')) > 0 OR s.name LIKE 'pgscreen.%key%'}),
	'0', 'no setting holds or names the key');

# A screening table: 12 women, 4 views each, synthetic MG with planted PHI (small images keep it quick).
$node->safe_psql('postgres', q{
CREATE TABLE mammograms (id serial PRIMARY KEY, dcm bytea);
ALTER TABLE mammograms ALTER COLUMN dcm SET STORAGE EXTERNAL;
INSERT INTO mammograms (dcm)
SELECT screen.synthetic_mammogram(w * 10 + v, CASE WHEN v < 2 THEN 'L' ELSE 'R' END,
                                  CASE WHEN v % 2 = 0 THEN 'CC' ELSE 'MLO' END,
                                  height => 160, width => 128, patient_id => 'PAT' || lpad(w::text, 5, '0'),
                                  study_instance_uid => '1.2.826.0.1.3680043.2.1125.9.' || w,
                                  instance_number => v + 1)
FROM generate_series(1, 12) w, generate_series(0, 3) v;
ANALYZE mammograms;
});

# Parallel query uses workers (the functions are PARALLEL SAFE, the key is read in each worker) and gives the
# same bytes as a serial scan.
my $parallel_settings = 'SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;';
my $plan = $node->safe_psql('postgres', "$parallel_settings EXPLAIN (ANALYZE, COSTS OFF) SELECT screen.dicom_anonymize(dcm, '{\"keep\": [\"ImageLaterality\"]}') FROM mammograms");
like($plan, qr/Workers Launched: [12]/, 'dicom_anonymize runs in parallel workers');
my $digest = "SELECT md5(string_agg(md5(screen.dicom_anonymize(dcm, '{\"keep\": [\"ImageLaterality\"]}')), ',' ORDER BY id)) FROM mammograms";
my $parallel = $node->safe_psql('postgres', "$parallel_settings $digest");
my $serial = $node->safe_psql('postgres', "SET max_parallel_workers_per_gather = 0; $digest");
is($parallel, $serial, 'parallel and serial de-identification give the same bytes');

# One study keeps one pseudonymous study UID; each woman one patient pseudonym; nobody's name survives.
$node->safe_psql('postgres', q{
CREATE TABLE originals AS SELECT id, dcm FROM mammograms;
UPDATE mammograms SET dcm = screen.dicom_anonymize(dcm, '{"keep": ["ImageLaterality", "ViewPosition"]}');
});
is($node->safe_psql('postgres', q{
SELECT count(DISTINCT screen.dicom_value(dcm, 'PatientID')) || '/' || count(DISTINCT screen.dicom_value(dcm, 'StudyInstanceUID'))
       || '/' || count(DISTINCT screen.dicom_value(dcm, 'SOPInstanceUID'))
FROM mammograms}), '12/12/48', 'bulk UPDATE: 12 patient pseudonyms, 12 study UIDs, 48 instance UIDs');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM mammograms m JOIN originals o USING (id)
WHERE position(convert_to(screen.dicom_value(o.dcm, 'PatientName'), 'LATIN1') IN m.dcm) > 0
   OR position(convert_to(screen.dicom_value(o.dcm, 'PatientID'), 'LATIN1') IN m.dcm) > 0
   OR position(convert_to(screen.dicom_value(o.dcm, 'StudyInstanceUID'), 'LATIN1') IN m.dcm) > 0
   OR position(convert_to(screen.dicom_value(o.dcm, 'InstitutionName'), 'LATIN1') IN m.dcm) > 0
   OR screen.dicom_value(m.dcm, 'ImageLaterality') IS DISTINCT FROM screen.dicom_value(o.dcm, 'ImageLaterality')}),
	'0', 'no name, ID, UID or institution survives; laterality does');

# Pseudonyms are stable across a restart (the key is in a table, not in memory), and can be recorded in the
# protected map for authorised re-identification.
my $before = $node->safe_psql('postgres', "SELECT md5(screen.dicom_anonymize(dcm)) FROM originals WHERE id = 1");
$node->restart;
is($node->safe_psql('postgres', "SELECT md5(screen.dicom_anonymize(dcm)) FROM originals WHERE id = 1"), $before,
	'the same object gives the same bytes after a restart');
$node->safe_psql('postgres', q{
INSERT INTO screen.deid_map (key_name, kind, original, pseudonym)
SELECT DISTINCT 'default', p.kind, p.original, p.pseudonym FROM originals, screen.dicom_pseudonyms(dcm) p
ON CONFLICT DO NOTHING});
is($node->safe_psql('postgres', "SELECT count(*) FROM screen.deid_map WHERE kind = 'patient'"), '12',
	'the map holds one row per patient');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM mammograms m JOIN screen.deid_map d ON d.kind = 'patient' AND d.pseudonym = screen.dicom_value(m.dcm, 'PatientID')}),
	'48', 'every de-identified image links back through the map');

# An ordinary login role cannot read the key or the map.
$node->safe_psql('postgres', 'CREATE ROLE analyst LOGIN; GRANT SELECT ON originals TO analyst');
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT screen.dicom_anonymize(dcm) FROM originals LIMIT 1', extra_params => ['-U', 'analyst']);
like($err, qr/permission denied for the de-identification keys/, 'an analyst without pgscreen_deid gets no pseudonyms');
($rc, $out, $err) = $node->psql('postgres', 'SELECT key FROM screen.deid_keys', extra_params => ['-U', 'analyst']);
like($err, qr/permission denied for table deid_keys/, 'nor the key');

# The whole Debian corpus, and corrupt objects, through every DICOM function: errors, never a crash.
my @corpus;
for my $dir ('/usr/lib/python3/dist-packages/pydicom/data', '/usr/lib/python3/dist-packages/nibabel/nicom/tests/data',
	'/usr/lib/python3/dist-packages/heudiconv/tests/data', '/usr/share/octave/packages/dicom-0.5.1/imdata',
	'/usr/share/doc/dicom3tools/examples')
{
	next unless -d $dir;
	find(sub { push @corpus, $File::Find::name if -f $_ && !/\.(py|pyc|json|txt|md|gz|nii|dump)$/ }, $dir);
}
cmp_ok(scalar(@corpus), '>', 150, scalar(@corpus) . ' corpus files found');
$node->safe_psql('postgres', 'CREATE TABLE corpus (path text, dcm bytea)');
my $values = join(',', map { "('$_', pg_read_binary_file('$_'))" } @corpus);
$node->safe_psql('postgres', "INSERT INTO corpus VALUES $values");
my $barrage = q{
DO $$
DECLARE
  c record; ok int := 0; failed int := 0; f text; bad bytea;
BEGIN
  FOR c IN SELECT dcm FROM corpus
           UNION ALL SELECT substr(dcm, 1, (length(dcm) * k / 7)) FROM originals, generate_series(1, 6) k WHERE id <= 2
           UNION ALL SELECT set_byte(dcm, (i * 7919) % length(dcm), (get_byte(dcm, (i * 7919) % length(dcm)) + 77) % 256)
                     FROM originals, generate_series(1, 60) i WHERE id = 3
  LOOP
    FOREACH f IN ARRAY ARRAY['dicom_json($1)', 'dicom_value($1, ''PatientName'')', 'dicom_pixels($1)',
                             'dicom_anonymize($1)', 'dicom_quarantine_reason($1)', 'image_info($1)', 'to_png($1)',
                             'dicom_phi_report($1)']
    LOOP
      BEGIN
        EXECUTE 'SELECT count(*) FROM (SELECT screen.' || f || ') s' USING c.dcm;
        ok := ok + 1;
      EXCEPTION WHEN others THEN
        failed := failed + 1;
      END;
    END LOOP;
  END LOOP;
  RAISE NOTICE 'barrage: % ok, % errors', ok, failed;
END $$;
};
($rc, $out, $err) = $node->psql('postgres', $barrage);
is($rc, 0, 'corpus and corrupt objects: the session survives');
like($err, qr/barrage: \d+ ok, \d+ errors/, "every call returned or raised an error ($err)");

is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time() > now() - interval \'1 day\''), 't', 'server up');
unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated/, 'no backend died');
unlike(slurp_file($node->logfile), qr/$key_hex/, 'the key never appears in the server log (log_statement = all)');
$node->stop;
done_testing();
