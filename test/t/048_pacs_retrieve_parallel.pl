# pacs_retrieve over several associations at once and in batches, against a real Orthanc: every instance stored
# once and byte-faithful, by C-GET and by C-MOVE; a failing instance isolated from its batch; a retrieval whose
# backend is killed mid-series leaves no instance behind and a rerun completes the series exactly once; resume
# requests only what the table lacks.
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
my $bulk = PacsPeers::corpus("$tmp/bulk", '--bulk', '60', '--series', 'P');

my $scp_port = PostgreSQL::Test::Cluster::get_free_port();
my $orthanc = PacsPeers::start_orthanc(move_port => $scp_port);
$orthanc->upload(@{ $corpus->{files} }, @{ $bulk->{files} });
my $port = $orthanc->port;

my $node = PacsPeers::node_with_receiver('pacs_parallel', q{
CREATE EXTENSION pgscreen;
CREATE ROLE pgscreen_receiver LOGIN;
CREATE TABLE par (sop_instance_uid text PRIMARY KEY, series_instance_uid text, dcm bytea NOT NULL);
CREATE TABLE batched (LIKE par INCLUDING ALL);
CREATE TABLE moved (LIKE par INCLUDING ALL);
CREATE TABLE patient (LIKE par INCLUDING ALL);
CREATE TABLE killed (LIKE par INCLUDING ALL);
},
	'pgscreen.scp_port' => $scp_port,
	'pgscreen.scp_listen_addresses' => '127.0.0.1',
	'pgscreen.scp_role' => 'pgscreen_receiver',
	'pgscreen.scp_allowed_aets' => 'ORTHANC@127.0.0.1',
	'pgscreen.scp_workers' => 3);

my $pacs = "'127.0.0.1', $port, 'ORTHANC'";
my $series = '{"PatientID": "PHI-LOAD-P"}';
sub sql { return $node->safe_psql('postgres', $_[0]); }

sub retrieve
{
	my ($query, $into, $options) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT screen.pacs_retrieve($pacs, '$query', '$into', '$options')");
	die "pacs_retrieve failed: $err" if $rc != 0;
	return ($out, $err);
}

sub faithful
{
	my ($table) = @_;
	my ($rc, $out) = PacsPeers::check('same', "$tmp/bulk", PacsPeers::export_instances($node, "SELECT * FROM $table"));
	return ($rc, $out);
}

# ---- three associations at once, C-GET
my ($n, $notices) = retrieve($series, 'par', '{"parallel": 3}');
is($n, 60, 'C-GET over 3 associations stores the 60 instances of the series');
is(sql('SELECT count(*) || \' \' || count(DISTINCT sop_instance_uid) FROM par'), '60 60', 'each once');
like($notices, qr/60 stored, 0 already present, 0 quarantined, 0 skipped, 0 failed \(3 requests\)/,
	'in 3 requests, one per association');
my ($rc, $out) = faithful('par');
is($rc, 0, 'byte-faithful (pydicom)') or diag($out);
($n, $notices) = retrieve($series, 'par', '{"parallel": 3}');
is($n, 0, 'again: nothing stored twice');
like($notices, qr/0 stored, 60 already present/, 'the 60 are already present');

# ---- small batches on one association
($n, $notices) = retrieve($series, 'batched', '{"batch_size": 7, "progress_every": 25}');
is($n, 60, 'batches of 7: all 60 stored');
like($notices, qr/NOTICE:  pacs_retrieve: 25 instances received, 25 stored/, 'progress counts instances inserted');
($rc, $out) = faithful('batched');
is($rc, 0, 'byte-faithful in batches') or diag($out);

# an instance the INSERT rejects fails alone: its batch is stored again one instance at a time
my $victim = sql('SELECT min(sop_instance_uid) FROM batched');
sql(qq{
TRUNCATE batched;
CREATE FUNCTION reject_one() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  IF NEW.sop_instance_uid = '$victim' THEN RAISE EXCEPTION 'rejected for the test'; END IF;
  RETURN NEW;
END \$\$;
CREATE TRIGGER reject BEFORE INSERT ON batched FOR EACH ROW EXECUTE FUNCTION reject_one();
});
($n, $notices) = retrieve($series, 'batched', '{"batch_size": 10}');
is($n, 59, 'one instance rejected: the other 59 stored');
like($notices, qr/WARNING:  pacs_retrieve could not store an instance from ORTHANC at 127\.0\.0\.1:$port: rejected for the test/,
	'the rejected one is named in a warning');
like($notices, qr/59 stored, 0 already present, 0 quarantined, 0 skipped, 1 failed/, 'and counted as failed once');
sql('DROP TRIGGER reject ON batched');

# ---- C-MOVE over three associations, through the receiver
($n, $notices) = retrieve($series, 'moved', '{"method": "move", "parallel": 3}');
is($n, 60, 'C-MOVE over 3 associations: all 60 arrive through the receiver');
is(sql('SELECT count(DISTINCT sop_instance_uid) FROM moved'), '60', 'each once');
($rc, $out) = faithful('moved');
is($rc, 0, 'byte-faithful through the receiver') or diag($out);
is(sql("SELECT sum(stored) FROM screen.pacs_activity WHERE kind = 'receiver'"), '0',
	'the receiver stored nothing itself');

# ---- non-image objects are still left out when a study is split over associations
($n, $notices) = retrieve('{"PatientID": "PHI-PAT-003"}', 'patient', '{"parallel": 2}');
is($n, 5, 'patient level over 2 associations: the 5 images');
like($notices, qr/left out 1 non-image instances/, 'the SR is left out, and that is said');

# ---- the retrieving backend killed mid-series
# A trigger holds the retrieval after its 20th row while this session keeps an advisory lock.
sql(q{
CREATE FUNCTION hold_after_20() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(*) FROM killed) >= 20 THEN
    PERFORM pg_advisory_lock_shared(4343);
    PERFORM pg_advisory_unlock_shared(4343);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER hold BEFORE INSERT ON killed FOR EACH ROW EXECUTE FUNCTION hold_after_20();
});
my $holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(4343)');
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/go/, "\\echo go\nSELECT screen.pacs_retrieve($pacs, '$series', 'killed', '{\"parallel\": 3, \"batch_size\": 50}');\n");
$node->poll_query_until('postgres', "SELECT stored = 20 FROM screen.pacs_activity WHERE kind = 'retrieve'")
  or die 'the retrieval did not get to its 20th instance';
is(sql("SELECT pg_terminate_backend(pid) FROM screen.pacs_activity WHERE kind = 'retrieve'"), 't',
	'the retrieving backend is killed mid-series');
eval { $bg->quit; };
$holder->query_safe('SELECT pg_advisory_unlock(4343)');
$holder->quit;
is(sql('SELECT count(*) FROM killed'), '0', 'nothing of the killed retrieval is stored (it never committed)');
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM screen.pacs_activity WHERE kind = 'retrieve'")
  or diag('the killed retrieval is still in pacs_activity');
like(sql("SELECT screen.pacs_echo($pacs) < '10 s'"), qr/^t$/, 'Orthanc is still serving');
sql('DROP TRIGGER hold ON killed');
($n) = retrieve($series, 'killed', '{"parallel": 3}');
is($n, 60, 'a rerun stores the whole series');
is(sql('SELECT count(*) || \' \' || count(DISTINCT sop_instance_uid) FROM killed'), '60 60', 'exactly once');
($rc, $out) = faithful('killed');
is($rc, 0, 'every instance whole (pydicom reads each and its data set equals the original)') or diag($out);

# ---- resume: a table that holds part of the series (committed earlier) gets only the rest
sql("DELETE FROM killed WHERE sop_instance_uid IN (SELECT sop_instance_uid FROM killed ORDER BY 1 LIMIT 35)");
($n, $notices) = retrieve($series, 'killed', '{"resume": true, "parallel": 2}');
is($n, 35, 'resume retrieves the 35 missing instances');
like($notices, qr/NOTICE:  pacs_retrieve resumes: 25 listed instances are in the table already, 35 to retrieve/,
	'and says what it skipped');
like($notices, qr/35 stored, 25 already present, 0 quarantined, 0 skipped, 0 failed \(2 requests\)/,
	'without asking for the 25 again');
is(sql('SELECT count(*) || \' \' || count(DISTINCT sop_instance_uid) FROM killed'), '60 60', 'the series is complete, each once');

unlike(slurp_file($node->logfile), qr/terminated by signal/, 'no backend crashed');
$node->stop;
$orthanc->stop;
done_testing();
