# De-identification on the way in, by C-GET, C-MOVE and the receiver: no identifying value of the source
# reaches the table, keyed pseudonyms make every path store the same UIDs (so retrieving twice stores once),
# quarantined objects are skipped, kept aside or refused as configured, and an instance that cannot be
# de-identified is refused rather than stored as received.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MIME::Base64;
use PacsPeers;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $corpus = PacsPeers::corpus("$tmp/corpus");
my $manifest = "$tmp/manifest.json";
open(my $fh, '>', $manifest) or die;
print $fh JSON::PP::encode_json($corpus);
close $fh;

my $scp_port = PostgreSQL::Test::Cluster::get_free_port();
my $orthanc = PacsPeers::start_orthanc(move_port => $scp_port);
$orthanc->upload(@{ $corpus->{files} });
my $port = $orthanc->port;
my $deid = '{"modalities": ["MG"], "keep": ["ImageLaterality", "ViewPosition"]}';

my $node = PacsPeers::node_with_receiver('pacs_deidentify', q{
CREATE EXTENSION pgscreen;
SELECT screen.deid_create_key();
CREATE ROLE pgscreen_receiver LOGIN;
CREATE TABLE deid_get (sop_instance_uid text PRIMARY KEY, study_instance_uid text, series_instance_uid text,
                       source_aet text, received_at timestamptz, dcm bytea NOT NULL);
CREATE TABLE deid_move (LIKE deid_get INCLUDING ALL);
CREATE TABLE pushed (LIKE deid_get INCLUDING ALL);
CREATE TABLE quarantine (sop_instance_uid text PRIMARY KEY, reason text NOT NULL, source_aet text, dcm bytea NOT NULL);
CREATE TABLE pushed_quarantine (LIKE quarantine INCLUDING ALL);
GRANT INSERT, SELECT (sop_instance_uid) ON pushed, pushed_quarantine TO pgscreen_receiver;
-- the receiver reads the de-identification key and nothing else
GRANT SELECT ON screen.deid_keys TO pgscreen_receiver;
},
	'pgscreen.scp_port' => $scp_port,
	'pgscreen.scp_listen_addresses' => '127.0.0.1',
	'pgscreen.scp_role' => 'pgscreen_receiver',
	'pgscreen.scp_allowed_aets' => 'ORTHANC@127.0.0.1, MODALITY@127.0.0.1',
	'pgscreen.scp_table' => 'public.pushed',
	'pgscreen.scp_deidentify' => $deid,
	'pgscreen.scp_workers' => 2);

my $pacs = "'127.0.0.1', $port, 'ORTHANC'";
sub sql { return $node->safe_psql('postgres', $_[0]); }

sub retrieve
{
	my ($query, $into, $options) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "SELECT screen.pacs_retrieve($pacs, '$query', '$into', '$options')");
	die "pacs_retrieve failed: $err" if $rc != 0;
	return ($out, $err);
}

sub no_leaks
{
	my ($table, $name) = @_;
	my ($rc, $out) = PacsPeers::check('leaks', $manifest, PacsPeers::export_instances($node, "SELECT * FROM $table"));
	is($rc, 0, $name) or diag($out);
}

# ---- C-GET of every patient's studies, de-identified, non-MG objects quarantined aside
my ($n, $notices) = retrieve('{"PatientID": "PHI-*"}', 'deid_get', qq({"deidentify": $deid, "quarantine_table": "quarantine"}));
is($n, 10, 'C-GET with de-identification stores the 10 mammograms');
like($notices, qr/10 stored, 0 already present, 6 quarantined, 0 skipped, 0 failed/, 'and quarantines the 6 others');
like($notices, qr/Quarantine reasons: .*modality "CT" is not in the allowed modalities \(MG\): 3/, 'saying why');
no_leaks('deid_get', 'no identifying value of the source occurs in any stored byte (names, IDs, dates, UIDs, institution)');
is(sql("SELECT count(*) FROM deid_get WHERE screen.dicom_value(dcm, 'PatientIdentityRemoved') = 'YES'"), '10',
	'every stored instance says Patient Identity Removed');
is(sql("SELECT count(DISTINCT screen.dicom_value(dcm, 'PatientID')) FROM deid_get"), '2',
	'one pseudonym per patient (two women had mammograms)');
is(sql("SELECT count(*) FROM deid_get WHERE sop_instance_uid = screen.dicom_value(dcm, 'SOPInstanceUID') AND study_instance_uid = screen.dicom_value(dcm, 'StudyInstanceUID')"),
	'10', 'the UID columns hold the pseudonymous UIDs of the stored objects');
is(sql("SELECT string_agg(DISTINCT screen.dicom_value(dcm, 'ImageLaterality'), ',') FROM deid_get"), 'L,R',
	'Image Laterality is kept as asked');
is(sql("SELECT count(*) || ' ' || count(DISTINCT reason) FROM quarantine"), '6 3', 'the quarantine table holds the 6 with 3 reasons');

($n, $notices) = retrieve('{"PatientID": "PHI-*"}', 'deid_get', qq({"deidentify": $deid, "quarantine_table": "quarantine"}));
is($n, 0, 'retrieving again stores nothing: keyed pseudonyms are the same on every run');
is(sql('SELECT count(*) FROM deid_get') . ' ' . sql('SELECT count(*) FROM quarantine'), '10 6', 'no duplicate anywhere');

($n, $notices) = retrieve('{"PatientID": "PHI-PAT-003"}', 'deid_get', qq({"deidentify": $deid}));
like($notices, qr/0 stored, 0 already present, 0 quarantined, 5 skipped/, 'without a quarantine table quarantined objects are skipped');

# ---- C-MOVE through the receiver, de-identified in the retrieving session with its options
($n) = retrieve('{"ModalitiesInStudy": "MG"}', 'deid_move', qq({"method": "move", "deidentify": $deid}));
is($n, 10, 'C-MOVE with de-identification stores the same 10');
is(sql('SELECT count(*) FROM deid_move m JOIN deid_get g USING (sop_instance_uid)'), '10',
	'under the same pseudonymous UIDs as by C-GET');
no_leaks('deid_move', 'and no identifying value either');
is(sql('SELECT count(*) FROM pushed'), '0', 'the receiver stored none of it in its own table');

# ---- the receiver de-identifies what modalities push
my @mg = grep { /mg2018a_|mg2017_/ } @{ $corpus->{files} };
my ($rc, $out) = PacsPeers::dcmtk('storescu', '-v', '-aet', 'MODALITY', '-aec', 'PGSCREEN', '127.0.0.1', $scp_port, @mg);
is($rc, 0, 'storescu pushes 6 mammograms to the receiver') or diag($out);
is(sql('SELECT count(*) FROM pushed'), '6', 'all stored');
no_leaks('pushed', 'de-identified before they were written');
is(sql("SELECT count(*) FROM pushed p JOIN deid_get g USING (sop_instance_uid)"), '6', 'with the same pseudonyms again');
my ($ct) = grep { /ct2018_s1_i1/ } @{ $corpus->{files} };
($rc, $out) = PacsPeers::dcmtk('storescu', '-v', '-aet', 'MODALITY', '-aec', 'PGSCREEN', '127.0.0.1', $scp_port, $ct);
like($out, qr/Received Store Response \(Unknown Status: 0x124\)/,
	'a CT the rules quarantine, with no quarantine table, is refused with 0124 "not authorized" (dcmtk 3.6.7 does not name it)');
like(slurp_file($node->logfile), qr/refused instance from MODALITY\@127\.0\.0\.1: quarantined: modality "CT" is not in the allowed modalities \(MG\)/,
	'and the reason logged');
sql("ALTER SYSTEM SET pgscreen.scp_quarantine_table = 'public.pushed_quarantine'; SELECT pg_reload_conf()");
sleep 1;
($rc, $out) = PacsPeers::dcmtk('storescu', '-v', '-aet', 'MODALITY', '-aec', 'PGSCREEN', '127.0.0.1', $scp_port, $ct);
like($out, qr/Received Store Response \(Success\)/, 'with pgscreen.scp_quarantine_table it is accepted');
is(sql('SELECT count(*) FROM pushed_quarantine'), '1', 'and kept in the quarantine table');

# ---- an instance that cannot be de-identified is refused, never stored as received
sql('REVOKE SELECT ON screen.deid_keys FROM pgscreen_receiver');
my ($mg) = grep { /mg2018a_s2_i2/ } @{ $corpus->{files} };
sql('DELETE FROM pushed');
($rc, $out) = PacsPeers::dcmtk('storescu', '-v', '-aet', 'MODALITY', '-aec', 'PGSCREEN', '127.0.0.1', $scp_port, $mg);
like($out, qr/Received Store Response \(Refused: OutOfResources\)/, 'without the key the receiver refuses the instance');
is(sql('SELECT count(*) FROM pushed'), '0', 'and stores nothing');
like(slurp_file($node->logfile), qr/could not store instance .*: permission denied for the de-identification keys/,
	'the log says why');
sql('GRANT SELECT ON screen.deid_keys TO pgscreen_receiver');

# ---- a synthetic mammogram with a burned-in label is quarantined
my $label = sql("SELECT translate(encode(screen.synthetic_mammogram(7, 'L', 'CC', burned_in_label => true, height => 256, width => 192), 'base64'), E'\\n', '')");
open($fh, '>:raw', "$tmp/label.dcm") or die;
print $fh decode_base64($label);
close $fh;
$orthanc->upload("$tmp/label.dcm");
my $label_study = sql("SELECT screen.dicom_value(decode('$label', 'base64'), 'StudyInstanceUID')");
($n, $notices) = retrieve(qq({"StudyInstanceUID": "$label_study"}), 'deid_get', qq({"deidentify": $deid, "quarantine_table": "quarantine"}));
like($notices, qr/0 stored, 0 already present, 1 quarantined.*\nDETAIL:  Quarantine reasons: Burned In Annotation is YES: 1/,
	'a mammogram with Burned In Annotation = YES is quarantined');

unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated by/, 'no process crashed');
$node->stop;
$orthanc->stop;
done_testing();
