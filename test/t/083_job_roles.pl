# Jobs run with their owner's privileges: other roles cannot see or cancel them, a query the owner cannot
# read fails the job with PostgreSQL's permission error, and a diverging configuration fails cleanly.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TrainingCluster;

my $node = training_cluster('job_roles', "pgscreen.max_jobs = 2\n");
make_photos($node, 140, 17);
$node->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	CREATE ROLE auditor LOGIN;
	GRANT alice TO auditor;
	CREATE TABLE secret AS SELECT * FROM photos;
	REVOKE ALL ON secret FROM PUBLIC;
});
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $query = 'SELECT img, grade >= 2 FROM photos ORDER BY id';

sub as
{
	my ($role, $sql) = @_;
	my ($stdout, $stderr);
	$node->psql('postgres', $sql, stdout => \$stdout, stderr => \$stderr, extra_params => ['-U', $role]);
	return ($stdout, $stderr);
}

my ($job) = as('alice', "SELECT screen.train('alices', '$query', '$query', '" . quick_options(max_epochs => 100) . "')");
like($job, qr/^\d+$/, "alice queued job $job");
wait_for_job_state($node, $job, "state = 'running' AND step >= 1", "alice's job is training");
is($node->safe_psql('postgres', "SELECT usename FROM pg_stat_activity WHERE backend_type = 'pgscreen training job'"),
	'alice', 'its worker is connected as alice');

# bob sees nothing of it and cannot touch it.
my ($rows) = as('bob', 'SELECT count(*) FROM screen.jobs');
is($rows, 0, 'bob sees no jobs');
my ($out, $err) = as('bob', "SELECT screen.cancel($job)");
like($err, qr/ERROR:  job $job does not exist/, 'bob cannot cancel it: for him it does not exist');
($out, $err) = as('bob', "SELECT screen.wait($job, '1 s')");
like($err, qr/ERROR:  job $job does not exist/, 'nor wait for it');
($out, $err) = as('bob', "DELETE FROM screen.jobs WHERE id = $job");
is($err, '', 'deleting it is no error');
is($node->safe_psql('postgres', "SELECT count(*) FROM screen.jobs WHERE id = $job"), 1, 'but removes nothing');
($out, $err) = as('bob', "UPDATE screen.jobs SET cancel_requested = true");
like($err, qr/permission denied for table jobs/, 'and the catalog cannot be written directly');
is(job_field($node, $job, 'state'), 'running', "alice's job is still running");

# A role granted alice's privileges sees her job, and so may cancel it.
($rows) = as('auditor', "SELECT count(*) FROM screen.jobs WHERE id = $job");
is($rows, 1, 'a member of alice sees her job');
($out, $err) = as('auditor', "SELECT screen.cancel($job)");
is($out, 'running', 'and may cancel it');
($out) = as('alice', "SELECT screen.wait($job, '5 min')");
is($out, 'cancelled', 'the job is cancelled');

# A training query over a table alice cannot read fails the job with PostgreSQL's own error.
my ($denied) = as('alice', "SELECT screen.train('nosy', 'SELECT img, grade >= 2 FROM secret', '$query', '" . quick_options() . "')");
($out) = as('alice', "SELECT screen.wait($denied, '5 min')");
is($out, 'failed', 'a job reading a table its owner may not read fails');
is(job_field($node, $denied, "error_sqlstate || ': ' || error"), '42501: permission denied for table secret',
	'with the permission error and its SQLSTATE');

# Weight decay with learning_rate · weight_decay far above 2 multiplies every weight by about −50,000 per
# step: the weights overflow within a few steps and the loss becomes NaN. The job fails and says why.
my ($nan) = as('alice', "SELECT screen.train('diverges', '$query', '$query', '"
	  . quick_options(optimizer => '"sgd"', learning_rate => 1e5, weight_decay => 0.5, max_epochs => 20) . "')");
($out) = as('alice', "SELECT screen.wait($nan, '5 min')");
is($out, 'failed', 'a diverging job fails');
like(job_field($node, $nan, "error_sqlstate || ': ' || error"),
	qr/^22P01: training diverged: the loss is (NaN|infinite) in epoch \d+, batch \d+$/, 'saying that the loss diverged');
# A NULL input (an ungradable photograph preprocessed with ungradable => 'null') fails the job naming the row.
my $with_null = 'SELECT CASE WHEN row_number() OVER (ORDER BY id) = 17 THEN NULL ELSE img END AS img, grade >= 2 '
  . 'FROM photos ORDER BY id';
my ($null) = as('alice', "SELECT screen.train('has_null', '$with_null', '$query', '" . quick_options() . "')");
($out) = as('alice', "SELECT screen.wait($null, '5 min')");
is($out, 'failed', 'a job whose training query returns a NULL input fails');
is(job_field($node, $null, "error_sqlstate || ': ' || error"),
	'22004: training_query row 17: column "img" (the input) is null', 'naming the row and the column');
# The data cache is bounded (pgscreen.job_cache_limit, here 1 MB for alice's jobs): larger data fail the job.
$node->safe_psql('postgres', "ALTER ROLE alice SET pgscreen.job_cache_limit = '1MB'");
my ($big) = as('alice', "SELECT screen.train('too_big', '$query', '$query', '" . quick_options() . "')");
($out) = as('alice', "SELECT screen.wait($big, '5 min')");
is($out, 'failed', 'a job whose data exceed the cache limit fails');
like(job_field($node, $big, "error_sqlstate || ': ' || error"),
	qr/^54000: could not cache the training_query: the data exceed the cache limit of 1 MB after \d+ images$/,
	'before training, saying so');
is($node->safe_psql('postgres', "SELECT count(*) FROM screen.models"), 0, 'no job stored a model');

# None of this touched the server.
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started, 'the server never restarted');
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/, 'no process crashed');

$node->stop;
done_testing();
