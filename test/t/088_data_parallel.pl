# One training job on several devices: two CPU replicas (cpu_replicas) train one model, deterministically;
# cancel() stops both within a batch; a server restart, and SIGKILL of one replica, resume from the checkpoint.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TrainingCluster;

# restart_after_crash: a replica killed with SIGKILL makes the server restart its processes, as in production.
my $node = training_cluster('data_parallel', "pgscreen.cpu_threads = 1\nrestart_after_crash = on\n");
make_photos($node, 260, 17);
my $query = 'SELECT img, grade >= 2 FROM photos ORDER BY id';

sub train
{
	my ($name, %options) = @_;
	return $node->safe_psql('postgres',
		"SELECT screen.train('$name', '$query', '$query', '" . quick_options(%options) . "')");
}

sub replicas_running
{
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pgscreen training replica'");
}

# Options are checked when the job is submitted.
my ($rc, $stdout, $stderr) = $node->psql('postgres',
	"SELECT screen.train('x', '$query', '$query', '" . quick_options(cpu_replicas => 3) . "')");
like($stderr, qr/training option "batch_size" \(32\) must be a multiple of the 3 replicas/,
	'a batch that does not split evenly is refused');
($rc, $stdout, $stderr) = $node->psql('postgres',
	"SELECT screen.train('x', '$query', '$query', '" . quick_options(cpu_replicas => 2, devices => '["cuda:0"]') . "')");
like($stderr, qr/training options "devices" and "cpu_replicas" cannot be combined/, 'devices and cpu_replicas exclude each other');
($rc, $stdout, $stderr) = $node->psql('postgres',
	"SELECT screen.train('x', '$query', '$query', '" . quick_options(devices => '["cuda:0", "cuda:0"]') . "')");
like($stderr, qr/training option "devices" names "cuda:0" twice/, 'a GPU is named once');
($rc, $stdout, $stderr) = $node->psql('postgres',
	"SELECT screen.train('x', '$query', '$query', '" . quick_options(cpu_replicas => 2, device => '"cuda"') . "')");
like($stderr, qr/training option "cpu_replicas" needs "device" "cpu", not "cuda"/, 'CPU replicas run on the CPU');

# GPUs named on a machine without a usable one: the job records them and fails saying why.
my $gpus = train('on_gpus', devices => '["cuda:1", "cuda:0"]', sync_batchnorm => 'true', max_epochs => 1);
is($node->safe_psql('postgres', "SELECT screen.wait($gpus, '2 min')"), 'failed', 'a job on absent GPUs fails');
is($node->safe_psql('postgres', "SELECT recipe->>'device' || ' ' || (recipe->'devices')::text FROM screen.jobs WHERE id = $gpus"),
	'cuda:1 ["cuda:1", "cuda:0"]', 'its recipe records the GPUs, replica 0 on the first');
like(job_field($node, $gpus, 'error'), qr/no GPU is usable/, 'and says that no GPU is usable');

# Two jobs with the same seed on two replicas each: the fixed reduction order makes them identical.
my $a = train('twins_a', cpu_replicas => 2, max_epochs => 2);
wait_for_job_state($node, $a, "state = 'running' AND step >= 1", 'a 2-replica job trains');
is(replicas_running(), 1, 'its second replica runs in a worker of its own');
my $b = train('twins_b', cpu_replicas => 2, max_epochs => 2);
is($node->safe_psql('postgres', "SELECT screen.wait($a, '10 min')"), 'succeeded', 'the 2-replica job succeeds');
is($node->safe_psql('postgres', "SELECT screen.wait($b, '10 min')"), 'succeeded', 'and its twin');
ok($node->log_contains(qr/pgscreen job $a trains on 2 CPU replicas/), 'the worker logged its replicas');
is($node->safe_psql('postgres', "SELECT recipe->>'cpu_replicas' || ' ' || (recipe->>'sync_batchnorm') FROM screen.jobs WHERE id = $a"),
	'2 false', 'the recorded recipe has the replicas');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM screen.training_log x JOIN screen.training_log y USING (epoch)
	WHERE x.job_id = $a AND y.job_id = $b AND x.loss = y.loss AND x.validation_loss = y.validation_loss}), 2,
	'both epochs of the twins have bit-identical losses');
is(replicas_running(), 0, 'the replicas exited with their jobs');

# Synchronised batch norm trains too.
my $sync = train('synced', cpu_replicas => 2, sync_batchnorm => 'true', max_epochs => 1);
is($node->safe_psql('postgres', "SELECT screen.wait($sync, '10 min')"), 'succeeded', 'a job with sync_batchnorm succeeds');
ok($node->log_contains(qr/pgscreen job $sync trains on 2 CPU replicas with synchronised batch norm/),
	'with statistics over the global batch');

# Cancel: both replicas stop within a batch.
my $long = train('long', cpu_replicas => 2, max_epochs => 100);
wait_for_job_state($node, $long, "state = 'running' AND epoch >= 1 AND step >= 2", 'a long 2-replica job trains');
is(replicas_running(), 1, 'with its replica');
$node->safe_psql('postgres', "SELECT screen.cancel($long)");
is($node->safe_psql('postgres', "SELECT screen.wait($long, '2 min')"), 'cancelled', 'cancel() stops it');
is(replicas_running(), 0, 'its replica has exited too');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pgscreen training job'"),
	0, 'and its worker');

# A replica that fails (here: terminated) ends the step for all, and the job fails saying which and why.
my $failing = train('failing', cpu_replicas => 2, max_epochs => 100);
wait_for_job_state($node, $failing, "state = 'running' AND step >= 2", 'a job to fail trains');
is($node->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'pgscreen training replica'"), 't',
	'its replica is terminated');
is($node->safe_psql('postgres', "SELECT screen.wait($failing, '2 min')"), 'failed', 'the job fails');
like(job_field($node, $failing, 'error'), qr/replica 1 stopped: the replica (was terminated|exited)/,
	'with the reason: which replica stopped and why');
is(replicas_running(), 0, 'no replica is left');

# A server restart in the middle: the launcher resumes the job, replicas and all, from its checkpoint.
my $restarted = train('restarted', cpu_replicas => 2, max_epochs => 4);
wait_for_job_state($node, $restarted, "last_checkpoint_epoch >= 1 AND step >= 1", 'a checkpoint is written');
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', "SELECT screen.wait($restarted, '10 min')"), 'succeeded', 'the job finishes after the restart');
is(job_field($node, $restarted, 'resumes'), 1, 'it was resumed once');
ok($node->log_contains(qr/pgscreen job $restarted resumes after epoch \d+/), 'from its checkpoint');
is($node->safe_psql('postgres', "SELECT string_agg(epoch::text, ',' ORDER BY epoch) FROM screen.training_log WHERE job_id = $restarted"),
	'1,2,3,4', 'every epoch is logged once');

# SIGKILL of one replica: the server restarts its processes and the job resumes from its checkpoint.
my $killed = train('killed', cpu_replicas => 2, max_epochs => 3);
wait_for_job_state($node, $killed, "last_checkpoint_epoch >= 1 AND step >= 1", 'another job has a checkpoint');
my $pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgscreen training replica'");
like($pid, qr/^\d+$/, 'its replica runs');
kill 'KILL', $pid;
# The server is briefly in crash recovery: poll until it answers and the job has ended.
ok($node->poll_query_until('postgres', "SELECT state IN ('succeeded', 'failed') FROM screen.jobs WHERE id = $killed"),
	'the job ends after the killed replica');
ok($node->log_contains(qr/"pgscreen training replica" \(PID $pid\) was terminated by signal 9/),
	'the server saw the replica killed');
is(job_field($node, $killed, 'state'), 'succeeded', 'the job survives the killed replica');
is(job_field($node, $killed, 'resumes'), 1, 'resumed once');
ok($node->log_contains(qr/pgscreen job $killed resumes after epoch \d+/), 'from its checkpoint');
is($node->safe_psql('postgres', "SELECT count(*) FROM screen.models WHERE job_id = $killed"), 1, 'one model is stored');

is(job_directories_left($node), 0, 'the job directories are gone');
$node->stop;
done_testing();
