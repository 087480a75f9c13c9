# A training job trains the small CNN on synthetic photographs to a stated validation AUC, in a background
# worker under the launcher's cap, visible in pg_stat_activity and screen.jobs, and the model scores in SQL.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TrainingCluster;

# No memory for the data cache: both jobs train from a file in their job directories.
my $node = training_cluster('training_job', "pgscreen.max_jobs = 1\npgscreen.job_cache_memory = 0\n");
my $rows = make_photos($node, 650, 7);
cmp_ok($rows, '>', 500, "$rows synthetic photographs preprocessed");

my $train = "SELECT img, grade >= 2 FROM photos WHERE id <= 500 ORDER BY id";
my $validate = "SELECT img, grade >= 2 FROM photos WHERE id > 500 ORDER BY id";
my $job = $node->safe_psql('postgres',
	"SELECT screen.train('dr', '$train', '$validate', '" . quick_options(max_epochs => 4) . "')");
my $second = $node->safe_psql('postgres',
	"SELECT screen.train('dr_second', '$train', '$validate', '" . quick_options(max_epochs => 1) . "')");

# pgscreen.max_jobs = 1: while the first job trains, the second waits in the queue.
wait_for_job_state($node, $job, "phase = 'training' AND step > 0", 'the first job is training');
is(job_field($node, $second, 'state'), 'queued', 'the second job is queued behind it');
like($node->safe_psql('postgres',
		"SELECT query FROM pg_stat_activity WHERE backend_type = 'pgscreen training job'"),
	qr/^pgscreen job $job: epoch \d+\/4, batch \d+\/\d+, loss /, 'pg_stat_activity shows the epoch and batch');
is($node->safe_psql('postgres', "SELECT usename FROM pg_stat_activity WHERE backend_type = 'pgscreen training job'"),
	$node->safe_psql('postgres', 'SELECT current_user'), 'the worker is connected as the job owner');
my ($epochs, $steps) = split /\|/, job_field($node, $job, "max_epochs || '|' || steps_per_epoch");
my $training_rows = $node->safe_psql('postgres', "SELECT count(*) FROM photos WHERE id <= 500");
is($epochs, 4, 'progress: max_epochs');
is($steps, int($training_rows / 32), 'progress: steps per epoch (a short last batch is left out)');

is($node->safe_psql('postgres', "SELECT screen.wait($job, '10 min')"), 'succeeded', 'the job succeeds');
like(slurp_file($node->logfile), qr/pgscreen job $job: cached \d+ training and \d+ validation images \(0 MB in memory, [1-9]\d* MB in files\)/,
	'training from the file cache (pgscreen.job_cache_memory = 0)');
my $auc = job_field($node, $job, 'best_validation_auc');
cmp_ok($auc, '>', 0.8, "validation AUC $auc is above 0.8");
is($node->safe_psql('postgres', "SELECT count(*) FROM screen.training_log WHERE job_id = $job"), 4,
	'one training_log row per epoch');
is($node->safe_psql('postgres', qq{
	SELECT bool_and(auc_lower <= auc AND auc <= auc_upper AND learning_rate > 0 AND duration > '0'
	                AND loss > 0 AND validation_loss > 0)
	FROM screen.training_log WHERE job_id = $job}), 't', 'each epoch has a loss, an AUC within its CI, a duration');
is(job_field($node, $job, "phase IS NULL AND eta IS NULL AND error IS NULL AND last_checkpoint_epoch = 4 AND training_rows + validation_rows = $rows"),
	't', 'the finished job row is complete');

# The model: the best epoch's weights, with the full recipe, and it scores in SQL exactly as training
# validated it (the AUC of predict() over the validation set is the one training_log recorded).
my $model = job_field($node, $job, 'model_id');
is($node->safe_psql('postgres', qq{
	SELECT name || ':' || version || ' ' || architecture || ' ' || normalization || ' ' || input_height
	       || ' ' || (recipe->>'seed') || ' ' || (metrics->>'best_epoch' = (SELECT epoch::text FROM screen.training_log
	            WHERE job_id = $job AND improved ORDER BY epoch DESC LIMIT 1))::text
	FROM screen.models WHERE id = $model}), 'dr:1 small_cnn standardize 64 1 true', 'the model row records its recipe and best epoch');
is($node->safe_psql('postgres', qq{
	SELECT screen.auc(screen.roc(screen.predict('dr', img), grade >= 2)) = (metrics->>'validation_auc')::float8
	FROM photos, screen.models WHERE photos.id > 500 AND models.id = $model GROUP BY metrics}), 't',
	'predict() over the validation set reproduces the recorded validation AUC exactly');

# Then the queued job runs, and every job directory is gone.
is($node->safe_psql('postgres', "SELECT screen.wait($second, '10 min')"), 'succeeded', 'the queued job ran next');
ok($node->safe_psql('postgres', "SELECT (SELECT started_at FROM screen.jobs WHERE id = $second) >= finished_at FROM screen.jobs WHERE id = $job") eq 't',
	'it started only after the first finished');
is(job_directories_left($node), 0, 'no job directory is left behind');
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/, 'no process crashed');

$node->stop;
done_testing();
