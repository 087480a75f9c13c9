# screen.cancel(): a queued job is cancelled at once; a running one stops after the batch it is training.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TrainingCluster;

my $node = training_cluster('job_cancel', "pgscreen.max_jobs = 1\n");
make_photos($node, 260, 11);
my $query = 'SELECT img, grade >= 2 FROM photos ORDER BY id';
my $options = quick_options(max_epochs => 100);
my $job = $node->safe_psql('postgres', "SELECT screen.train('long', '$query', '$query', '$options')");
my $queued = $node->safe_psql('postgres', "SELECT screen.train('never', '$query', '$query', '$options')");

wait_for_job_state($node, $job, "state = 'running' AND epoch >= 2 AND step >= 2", 'the job trains its second epoch');

# Cancelling the queued job needs no worker.
is($node->safe_psql('postgres', "SELECT screen.cancel($queued)"), 'cancelled', 'a queued job is cancelled at once');
is(job_field($node, $queued, "state || ' ' || (started_at IS NULL)::text"), 'cancelled true', 'it never started');

# Hold the running job's row and wait until the worker blocks on it: its progress is committed at most every
# 100 ms, so the row may lag behind, but a blocked worker can train nothing more until we commit, and its
# activity line says exactly which batch it has finished. Then ask it to stop.
my ($stdout, $stderr);
$node->psql('postgres', qq{
	BEGIN;
	SELECT 1 FROM screen.jobs WHERE id = $job FOR UPDATE;
	DO \$\$
	BEGIN
		FOR i IN 1..6000 LOOP
			PERFORM pg_stat_clear_snapshot();
			EXIT WHEN EXISTS (SELECT FROM pg_stat_activity
							  WHERE backend_type = 'pgscreen training job' AND wait_event_type = 'Lock');
			PERFORM pg_sleep(0.01);
		END LOOP;
	END
	\$\$;
	SELECT wait_event_type || ' ' || query FROM pg_stat_activity WHERE backend_type = 'pgscreen training job';
	SELECT screen.cancel($job);
	COMMIT;
}, stdout => \$stdout, stderr => \$stderr);
my (undef, $activity, $answer) = split /\n/, $stdout;
like($activity, qr/^Lock pgscreen job $job: epoch \d+\/\d+, (batch \d+\/\d+|validating)/,
	'the worker waits for the row, and its activity says where it is');
my $steps_per_epoch = job_field($node, $job, 'steps_per_epoch');
my $steps_at_request = $activity =~ /epoch (\d+)\/\d+, batch (\d+)\// ? $1 * $steps_per_epoch + $2
  : $activity =~ /epoch (\d+)\/\d+, validating/ ? ($1 + 1) * $steps_per_epoch : -1000;
is($answer, 'running', 'cancel() answers that the job is still running');
like($stderr, qr/NOTICE:  job $job stops after the batch it is training/, 'and says when it stops');

is($node->safe_psql('postgres', "SELECT screen.wait($job, '5 min')"), 'cancelled', 'the job ends cancelled');
my $steps_at_end = job_field($node, $job, 'epoch * steps_per_epoch + step');
cmp_ok($steps_at_end - $steps_at_request, '<=', 1,
	"it trained at most one more batch ($steps_at_request batches when asked, $steps_at_end at the end)");
cmp_ok($steps_at_end, '>=', $steps_at_request, 'and kept every batch it had trained');
is(job_field($node, $job, "cancel_requested AND cancel_requested_at <= finished_at AND error IS NULL AND model_id IS NULL"),
	't', 'the row records the request and no model');
is($node->safe_psql('postgres', "SELECT count(*) FROM screen.models"), 0, 'no model was stored');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pgscreen training job'"),
	0, 'the worker has exited');
is(job_directories_left($node), 0, 'the job directories are gone');

# A cancelled job stays cancelled.
is($node->safe_psql('postgres', "SELECT screen.cancel($job)"), 'cancelled', 'cancelling again changes nothing');

$node->stop;
done_testing();
