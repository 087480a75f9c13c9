# pacs_retrieve against a real Orthanc, by C-GET and by C-MOVE through pgscreen's receiver: every instance
# stored once and byte-faithful, idempotent, non-image objects left out unless asked for, concurrent C-MOVEs
# routed to the right sessions, progress visible to other sessions, cancellation leaving nothing behind.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PacsPeers;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $corpus = PacsPeers::corpus("$tmp/corpus");
my $bulk = PacsPeers::corpus("$tmp/bulk", '--bulk', '60', '--series', 'R');

my $scp_port = PostgreSQL::Test::Cluster::get_free_port();
my $orthanc = PacsPeers::start_orthanc(move_port => $scp_port);
$orthanc->upload(@{ $corpus->{files} }, @{ $bulk->{files} });
my $port = $orthanc->port;

my $node = PacsPeers::node_with_receiver('pacs_retrieve', q{
CREATE EXTENSION pgscreen;
CREATE ROLE pgscreen_receiver LOGIN;
CREATE TABLE got (sop_instance_uid text PRIMARY KEY, study_instance_uid text, series_instance_uid text,
                  sop_class_uid text, transfer_syntax_uid text, source_aet text, received_at timestamptz NOT NULL,
                  dcm bytea NOT NULL);
CREATE TABLE moved (LIKE got INCLUDING ALL);
CREATE TABLE mg (LIKE got INCLUDING ALL);
CREATE TABLE bulk (sop_instance_uid text PRIMARY KEY, dcm bytea);
},
	'pgscreen.scp_port' => $scp_port,
	'pgscreen.scp_listen_addresses' => '127.0.0.1',
	'pgscreen.scp_role' => 'pgscreen_receiver',
	'pgscreen.scp_allowed_aets' => 'ORTHANC@127.0.0.1',
	'pgscreen.scp_workers' => 2);

my $pacs = "'127.0.0.1', $port, 'ORTHANC'";
my %study = map { $_ => $corpus->{studies}{$_}{study_instance_uid} } keys %{ $corpus->{studies} };
sub sql { return $node->safe_psql('postgres', $_[0]); }

sub retrieve
{
	my ($query, $into, $options) = @_;
	$options //= '{}';
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT screen.pacs_retrieve($pacs, '$query', '$into', '$options')");
	die "pacs_retrieve failed: $err" if $rc != 0;
	return ($out, $err);
}

sub instances_of { return join(',', sort @{ $corpus->{studies}{ $_[0] }{instances} }); }

# ---- C-GET of one study
my ($n, $notices) = retrieve(qq({"StudyInstanceUID": "$study{mg2018a}"}), 'got');
is($n, 4, 'C-GET of a study stores its 4 instances');
is(sql("SELECT string_agg(sop_instance_uid, ',' ORDER BY sop_instance_uid COLLATE \"C\") FROM got"),
	join(',', sort @{ $corpus->{studies}{mg2018a}{instances} }), 'exactly the instances Orthanc holds for it');
is(sql("SELECT count(DISTINCT study_instance_uid) || ' ' || min(source_aet) || ' ' || min(sop_class_uid) FROM got"),
	"1 ORTHANC 1.2.840.10008.5.1.4.1.1.1.2", 'with their study UID, source AE title and SOP class');
like($notices, qr/NOTICE:  pacs_retrieve: 4 stored, 0 already present, 0 quarantined, 0 skipped, 0 failed \(1 request\)/,
	'a summary notice');
my ($rc, $out) = PacsPeers::check('same', "$tmp/corpus", PacsPeers::export_instances($node, 'SELECT * FROM got'));
is($rc, 0, 'each stored instance parses and its data set equals the original (pydicom)') or diag($out);

($n, $notices) = retrieve(qq({"StudyInstanceUID": "$study{mg2018a}"}), 'got');
is($n, 0, 'retrieving the same study again stores nothing');
like($notices, qr/0 stored, 4 already present/, 'and says the 4 were already present');
is(sql('SELECT count(*) FROM got'), '4', 'still 4 rows');

# ---- a query that is not a UID: find first, then retrieve every match
($n, $notices) = retrieve('{"ModalitiesInStudy": "MG", "StudyDate": "20180101-20181231"}', 'mg', '{"progress_every": 3}');
is($n, 8, 'all MG studies of 2018: 8 instances');
is(sql('SELECT count(DISTINCT study_instance_uid) FROM mg'), '2', 'from the 2 studies');
like($notices, qr/NOTICE:  pacs_retrieve: 3 instances received, 3 stored, about 5 to go/, 'progress notices');
is(sql("SELECT transfer_syntax_uid FROM mg WHERE study_instance_uid = '$study{mg2018b}' LIMIT 1"),
	'1.2.840.10008.1.2.4.91', 'JPEG 2000 instances arrive as stored (no transcoding)');

# ---- a patient whose CT study holds a non-image object (an SR)
($n, $notices) = retrieve('{"PatientID": "PHI-PAT-003"}', 'got');
is($n, 5, 'patient level (patient-root model): the 5 images of the patient');
like($notices, qr/NOTICE:  pacs_retrieve left out 1 non-image instances\nDETAIL:  SOP classes: 1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\.33\./,
	'the SR is left out, and that is said');
($n, $notices) = retrieve('{"PatientID": "PHI-PAT-003"}', 'got', '{"non_images": true}');
is($n, 1, 'with non_images the SR comes too');
is(sql("SELECT count(*) FROM got WHERE sop_instance_uid = '$corpus->{non_image}{sop_instance_uid}'"), '1', 'it is in the table');

# ---- C-MOVE through the receiver
($n, $notices) = retrieve(qq({"StudyInstanceUID": "$study{mg2018b}"}), 'moved', '{"method": "move"}');
is($n, 4, 'C-MOVE of a study: its 4 instances arrive through the receiver');
is(sql("SELECT string_agg(sop_instance_uid, ',' ORDER BY sop_instance_uid COLLATE \"C\") FROM moved"), instances_of('mg2018b'),
	'exactly the instances of the study');
($rc, $out) = PacsPeers::check('same', "$tmp/corpus", PacsPeers::export_instances($node, 'SELECT * FROM moved'));
is($rc, 0, 'byte-faithful through the receiver too') or diag($out);
($n) = retrieve(qq({"StudyInstanceUID": "$study{mg2018b}"}), 'moved', '{"method": "move"}');
is($n, 0, 'moving the same study again stores nothing');
is(sql("SELECT sum(stored) FROM screen.pacs_activity WHERE kind = 'receiver'"), '0',
	'the receiver stored nothing itself: each instance went to the session that asked');

# two sessions moving different studies at the same time each get their own instances
my @sessions = map { $node->background_psql('postgres', on_error_stop => 0) } 1 .. 2;
$sessions[0]->query_until(qr/go/, "\\echo go\nSELECT 'a', screen.pacs_retrieve($pacs, '{\"StudyInstanceUID\": \"$study{ct2018}\"}', 'moved', '{\"method\": \"move\"}');\n");
$sessions[1]->query_until(qr/go/, "\\echo go\nSELECT 'b', screen.pacs_retrieve($pacs, '{\"StudyInstanceUID\": \"$study{mr2018}\"}', 'moved', '{\"method\": \"move\"}');\n");
like($sessions[0]->query('SELECT 1'), qr/^a\|3/m, 'concurrent C-MOVE 1: the 3 CT images');
like($sessions[1]->query('SELECT 1'), qr/^b\|2/m, 'concurrent C-MOVE 2: the 2 MR images');
$_->quit for @sessions;
is(sql("SELECT count(*) FROM moved WHERE study_instance_uid IN ('$study{ct2018}', '$study{mr2018}')"), '5',
	'both studies complete in the table');

# ---- progress is visible to other sessions while a retrieval runs; cancel leaves nothing behind
# A trigger holds the retrieval after its 20th instance for as long as this session keeps an advisory lock,
# so what other sessions see mid-way does not depend on timing.
sql(q{
CREATE FUNCTION hold_after_20() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(*) FROM bulk) >= 20 THEN
    PERFORM pg_advisory_lock_shared(4242);
    PERFORM pg_advisory_unlock_shared(4242);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER hold BEFORE INSERT ON bulk FOR EACH ROW EXECUTE FUNCTION hold_after_20();
});
my $holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(4242)');
my $series = "{\"PatientID\": \"PHI-LOAD-R\"}";
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/go/, "\\echo go\nSELECT screen.pacs_retrieve($pacs, '$series', 'bulk', '{\"progress_every\": 10}');\n");
ok($node->poll_query_until('postgres',
		"SELECT stored = 20 AND remaining = 40 FROM screen.pacs_activity WHERE kind = 'retrieve'"),
	'another session sees the count so far (20) and what remains (40) in pacs_activity');
is(sql("SELECT state || ' ' || peer FROM screen.pacs_activity WHERE kind = 'retrieve'"),
	"retrieving (C-GET) ORTHANC at 127.0.0.1:$port", 'and what it is doing');
$holder->query_safe('SELECT pg_advisory_unlock(4242)');
my ($result) = $bg->query('SELECT 1');
like($result, qr/^60$/m, 'released, the retrieval of 60 instances completes');
like($bg->{stderr}, qr/NOTICE:  pacs_retrieve: 20 instances received, 20 stored, about 40 to go/, 'with progress notices');
$bg->{stderr} = '';

sql('TRUNCATE bulk');
$holder->query_safe('SELECT pg_advisory_lock(4242)');
$bg->query_until(qr/go/, "\\echo go\nSELECT screen.pacs_retrieve($pacs, '$series', 'bulk');\n");
$node->poll_query_until('postgres', "SELECT stored = 20 FROM screen.pacs_activity WHERE kind = 'retrieve'")
  or die 'the retrieval did not get to its 20th instance';
sql("SELECT pg_cancel_backend(pid) FROM screen.pacs_activity WHERE kind = 'retrieve'");
$bg->query('SELECT 1');
like($bg->{stderr}, qr/ERROR:  canceling statement due to user request/, 'a retrieval can be cancelled');
$holder->query_safe('SELECT pg_advisory_unlock(4242)');
$holder->quit;
is(sql('SELECT count(*) FROM bulk'), '0', 'and nothing of it is stored');
is(sql("SELECT count(*) FROM screen.pacs_activity WHERE kind = 'retrieve'"), '0', 'nor left in pacs_activity');
$bg->quit;
like(sql("SELECT screen.pacs_echo($pacs) < '10 s'"), qr/^t$/, 'Orthanc is still serving');
sql('DROP TRIGGER hold ON bulk');
($n) = retrieve($series, 'bulk');
is($n, 60, 'retrieving again after the cancel stores all 60');

# ---- what cannot work is said before anything is retrieved
sub sql_error
{
	my ($query) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', $query);
	return $err;
}
sql('CREATE TABLE no_unique (sop_instance_uid text, dcm bytea); CREATE TABLE no_dcm (sop_instance_uid text PRIMARY KEY, data bytea)');
like(sql_error("SELECT screen.pacs_retrieve($pacs, '{\"StudyInstanceUID\": \"$study{mg2017}\"}', 'no_unique')"),
	qr/ERROR:  table "no_unique" cannot receive DICOM instances: sop_instance_uid has no unique index of its own/,
	'a target without a unique index on sop_instance_uid');
like(sql_error("SELECT screen.pacs_retrieve($pacs, '{\"StudyInstanceUID\": \"$study{mg2017}\"}', 'no_dcm')"),
	qr/ERROR:  table "no_dcm" cannot receive DICOM instances: it has no column dcm/, 'a target without dcm');
like(sql_error("SELECT screen.pacs_retrieve($pacs, '{}', 'got')"), qr/ERROR:  pacs_retrieve needs a query/, 'an empty query');
like(sql_error("SELECT screen.pacs_retrieve($pacs, '{\"StudyInstanceUID\": \"1.2\"}', 'got', '{\"method\": \"fetch\"}')"),
	qr/ERROR:  option "method" of screen.pacs_retrieve has unknown value "fetch"\nDETAIL:  Valid values: get, move\./, 'an unknown method');
like(sql_error("SELECT screen.pacs_retrieve($pacs, '{\"StudyInstanceUID\": \"1.2\"}', 'got', '{\"quarantine_table\": \"got\"}')"),
	qr/ERROR:  option "quarantine_table" of screen.pacs_retrieve needs option "deidentify"/, 'a quarantine table without de-identification');
sql('CREATE ROLE reader LOGIN; GRANT EXECUTE ON FUNCTION screen.pacs_retrieve(text, int, text, jsonb, regclass, jsonb, text) TO reader; GRANT SELECT ON got TO reader');
like(sql_error("SET ROLE reader; SELECT screen.pacs_retrieve($pacs, '{\"StudyInstanceUID\": \"$study{mg2017}\"}', 'got')"),
	qr/ERROR:  permission denied for table got/, 'a role that may not INSERT into the target');
is(sql("SELECT screen.pacs_retrieve($pacs, '{\"StudyInstanceUID\": \"1.2.3.4\"}', 'got')"), '0',
	'a UID the PACS does not have: nothing stored, no error');

unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated/, 'no backend or worker died');
$node->stop;
$orthanc->stop;
done_testing();
