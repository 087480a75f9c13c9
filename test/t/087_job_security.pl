# Jobs seen from the attacker's side: a training query that writes is refused in the worker, a job whose
# owner can no longer log in or whose database was dropped ends (failed, with the reason) instead of being
# retried for ever, and a role with a job still to run cannot be dropped from another database.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TrainingCluster;

my $node = training_cluster('job_security');
make_photos($node, 120, 17);
my $query = 'SELECT img, grade >= 2 FROM photos ORDER BY id';

# ---- the training query runs read-only, in the worker too (and so again on every resume)
$node->safe_psql('postgres', q{
	CREATE TABLE written (n int);
	GRANT INSERT ON written TO PUBLIC;
	CREATE FUNCTION write_row() RETURNS boolean LANGUAGE sql VOLATILE AS 'INSERT INTO written VALUES (1) RETURNING true';
	CREATE ROLE analyst LOGIN;
});
my $writer = $node->safe_psql('postgres', "SET ROLE analyst; SELECT screen.train('writer', "
	  . "'SELECT img, grade >= 2 FROM photos WHERE write_row()', '$query', '" . quick_options(max_epochs => 1) . "')");
is($node->safe_psql('postgres', "SELECT screen.wait($writer, '5 min')"), 'failed', 'a training query that writes fails');
is(job_field($node, $writer, "error_sqlstate || ': ' || error"), '25006: cannot execute INSERT in a read-only transaction',
	'with PostgreSQL\'s read-only error');
is($node->safe_psql('postgres', 'SELECT count(*) FROM written'), 0, 'and nothing was written');

# ---- an owner made NOLOGIN while its job runs: after a restart the job fails, once, with the reason
my $long = $node->safe_psql('postgres',
	"SET ROLE analyst; SELECT screen.train('long', '$query', '$query', '" . quick_options(max_epochs => 200) . "')");
wait_for_job_state($node, $long, "state = 'running' AND step >= 1", 'the job runs');
$node->safe_psql('postgres', 'ALTER ROLE analyst NOLOGIN');
$node->stop('immediate');
my $log_offset = -s $node->logfile;
$node->start;
is($node->safe_psql('postgres', "SELECT screen.wait($long)", timeout => 120), 'failed',
	'wait() without a timeout returns: the job failed');
like(job_field($node, $long, "error_sqlstate || ': ' || error"),
	qr/^28000: role "analyst" can no longer log in/, 'the job says why');
my $dir = $node->data_dir . '/pgscreen/jobs';
ok(!-e "$dir/" . $node->safe_psql('postgres', 'SELECT oid FROM pg_database WHERE datname = current_database()') . ".$long",
	'its directory is removed');
my $log = substr(slurp_file($node->logfile), $log_offset);
unlike($log, qr/role "analyst" is not permitted to log in/, 'no worker tried to connect as the role');
$node->restart;
is(job_field($node, $long, 'state'), 'failed', 'after another restart it is still failed');
$log = substr(slurp_file($node->logfile), $log_offset);
is(scalar(() = $log =~ /pgscreen job $long failed/g), 1, 'and it was ended once, not retried');

# ---- a job whose database is dropped under it: its directory goes, nothing retries it
$node->safe_psql('postgres', 'CREATE DATABASE scratch');
$node->safe_psql('scratch', 'CREATE EXTENSION pgscreen');
make_photos_in($node, 'scratch');
my $scratch_oid = $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'scratch'");
$node->safe_psql('postgres', 'ALTER ROLE analyst LOGIN');
my $doomed = $node->safe_psql('scratch',
	"SET ROLE analyst; SELECT screen.train('doomed', '$query', '$query', '" . quick_options(max_epochs => 200) . "')");
ok($node->poll_query_until('scratch', "SELECT state = 'running' AND step >= 1 FROM screen.jobs WHERE id = $doomed"),
	'a job runs in another database');

# ---- while it runs, its owner cannot be dropped, from any database
my ($rc, $out, $err) = $node->psql('postgres', 'DROP ROLE analyst');
like($err, qr/role "analyst" cannot be dropped because it owns pgscreen models or training jobs.*1 training jobs not yet ended in all databases/s,
	'DROP ROLE is refused while the role has a job to run, even from another database');

$log_offset = -s $node->logfile;
$node->safe_psql('postgres', 'DROP DATABASE scratch WITH (FORCE)');
ok($node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT FROM pg_ls_dir('pgscreen/jobs') d WHERE d LIKE '$scratch_oid.%')"),
	'the dropped database\'s job directory is removed');
$node->restart;
$log = substr(slurp_file($node->logfile), $log_offset);
unlike($log, qr/database \d+ does not exist|giving up on training job/, 'and no worker was started for it');

$node->stop;
done_testing();

sub make_photos_in
{
	my ($node, $db) = @_;
	$node->safe_psql($db, q{
		CREATE TABLE photos AS
		SELECT id, grade, screen.fundus_preprocess(image, 64, ungradable => 'null') AS img
		FROM screen.synthetic_fundus_set(120, 17, 320, ARRAY[1, 0, 0, 1, 1]::float8[]);
		DELETE FROM photos WHERE img IS NULL;
		GRANT SELECT ON photos TO PUBLIC;
	});
}
