# Without shared_preload_libraries there is no launcher: train() starts its worker itself and says that such
# jobs are neither queued nor resumed, and a job whose worker died with the server is failed, not waited for.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TrainingCluster;

my $node = PostgreSQL::Test::Cluster->new('without_preload');
$node->init;
$node->append_conf('postgresql.conf', "pgscreen.device = 'cpu'\nmax_worker_processes = 16\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgscreen');
make_photos($node, 120, 19);
my $query = 'SELECT img, grade >= 2 FROM photos ORDER BY id';

my ($stdout, $stderr);
$node->psql('postgres', "SELECT screen.train('quick', '$query', '$query', '" . quick_options(max_epochs => 1) . "')",
	stdout => \$stdout, stderr => \$stderr);
like($stdout, qr/^\d+$/, 'train() works without preloading');
like($stderr, qr/NOTICE:  training job $stdout started without the pgscreen launcher/, 'and says what is missing');
is($node->safe_psql('postgres', "SELECT screen.wait($stdout, '5 min')"), 'succeeded', 'the job trains a model');

my $job = $node->safe_psql('postgres',
	"SELECT screen.train('interrupted', '$query', '$query', '" . quick_options(max_epochs => 100) . "')");
wait_for_job_state($node, $job, "state = 'running' AND step >= 1", 'a long job is training');
$node->stop('immediate');
$node->start;
is(job_field($node, $job, 'state'), 'running', 'after the crash nothing has touched the job');
is($node->safe_psql('postgres', "SELECT screen.wait($job, '1 min')"), 'failed', 'wait() fails the orphaned job');
like(job_field($node, $job, 'error'), qr/without pgscreen in shared_preload_libraries nothing resumes it/,
	'saying why');

$node->stop;
done_testing();
