# A crash or restart in the middle of training: the launcher resumes the job from its last checkpoint, losing
# at most the epoch in progress, and the job finishes as if nothing had happened.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TrainingCluster;

my $node = training_cluster('job_restart');
make_photos($node, 260, 13);
my $query = 'SELECT img, grade >= 2 FROM photos ORDER BY id';
my $job = $node->safe_psql('postgres',
	"SELECT screen.train('resumed', '$query', '$query', '" . quick_options(max_epochs => 6) . "')");

wait_for_job_state($node, $job, "last_checkpoint_epoch >= 2 AND step >= 1", 'two epochs are checkpointed');
my $checkpointed = job_field($node, $job, 'last_checkpoint_epoch');
my $before = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

# pg_ctl restart -m immediate: no shutdown, the worker dies with the server (as in a crash).
$node->stop('immediate');
$node->start;
isnt($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $before, 'the server restarted');

is($node->safe_psql('postgres', "SELECT screen.wait($job, '10 min')"), 'succeeded', 'the job finishes after the restart');
is(job_field($node, $job, 'resumes'), 1, 'it was resumed once');
ok($node->log_contains(qr/pgscreen job $job resumes after epoch (\d+)/), 'the worker logged where it resumed');
my ($resumed_after) = slurp_file($node->logfile) =~ /pgscreen job $job resumes after epoch (\d+)/;
cmp_ok($resumed_after, '>=', $checkpointed, "it resumed after epoch $resumed_after, not before the last checkpoint seen ($checkpointed)");

# Every epoch is logged once; the epochs before the resumption point were not trained again.
is($node->safe_psql('postgres', "SELECT string_agg(epoch::text, ',' ORDER BY epoch) FROM screen.training_log WHERE job_id = $job"),
	'1,2,3,4,5,6', 'training_log has epochs 1 to 6 once each');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM screen.training_log WHERE job_id = $job AND epoch <= $resumed_after
	AND logged_at >= '$before'::timestamptz AND logged_at >= pg_postmaster_start_time()}), 0,
	'epochs up to the checkpoint were not redone');
is($node->safe_psql('postgres', "SELECT count(*) FROM screen.models WHERE job_id = $job"), 1, 'one model is stored');
# A worker ended by pg_terminate_backend() is one that crashed: the launcher starts another, which resumes.
my $second = $node->safe_psql('postgres',
	"SELECT screen.train('terminated', '$query', '$query', '" . quick_options(max_epochs => 3) . "')");
wait_for_job_state($node, $second, "last_checkpoint_epoch >= 1 AND step >= 1", 'another job has a checkpoint');
is($node->safe_psql('postgres', "SELECT pg_terminate_backend(worker_pid) FROM screen.jobs WHERE id = $second"), 't',
	'its worker is terminated');
is($node->safe_psql('postgres', "SELECT screen.wait($second, '10 min')"), 'succeeded', 'the job still finishes');
is(job_field($node, $second, 'resumes'), 1, 'resumed once, by the launcher');

is(job_directories_left($node), 0, 'the job directories are gone');

$node->stop;
done_testing();
