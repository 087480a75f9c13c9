# Helpers for the training TAP tests (080-089): a preloaded server, synthetic screening photographs, and the
# recipe that trains the small CNN on them in a few CPU epochs.
package TrainingCluster;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(training_cluster make_photos quick_options job_field wait_for_job_state job_directories_left);

# A server with pgscreen preloaded (the launcher runs), on the CPU, with the extension created.
sub training_cluster
{
	my ($name, $extra_conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'\n"
		  . "pgscreen.device = 'cpu'\nmax_worker_processes = 16\n" . ($extra_conf // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pgscreen');
	return $node;
}

# Table photos(id, grade, img): SYNTHETIC fundus photographs of grade 0, 3 or 4 in equal parts, preprocessed as
# the replication did (voets2018) to 64×64. Photographs whose fundus is too small are left out. Referable
# means grade >= 2, so about two thirds are referable.
sub make_photos
{
	my ($node, $count, $seed, $table) = @_;
	$table //= 'photos';
	$node->safe_psql('postgres', qq{
		CREATE TABLE $table AS
		SELECT id, grade, screen.fundus_preprocess(image, 64, ungradable => 'null') AS img
		FROM screen.synthetic_fundus_set($count, $seed, 320, ARRAY[1, 0, 0, 1, 1]::float8[]);
		DELETE FROM $table WHERE img IS NULL;
		GRANT SELECT ON $table TO PUBLIC;
	});
	return $node->safe_psql('postgres', "SELECT count(*) FROM $table");
}

# The small CNN recipe that learns the synthetic task in a few epochs on two cores: the published recipe
# (named, so these tests do not follow changes of the default) with Adam, per-image standardisation and no
# augmentation (hue shifts of ±0.2 hide the lesions' colour from so small a network).
sub quick_options
{
	my (%override) = @_;
	my %options = (recipe => '"voets2019_plos"', architecture => '"small_cnn"', input_size => 64, optimizer => '"adam"',
		learning_rate => 0.003, augmentation => 'false', normalization => '"standardize"', batch_size => 32,
		seed => 1, %override);
	return '{' . join(', ', map { "\"$_\": $options{$_}" } sort keys %options) . '}';
}

sub job_field
{
	my ($node, $job, $field) = @_;
	return $node->safe_psql('postgres', "SELECT $field FROM screen.jobs WHERE id = $job");
}

# Poll until the condition on the job's row holds (an SQL boolean expression over screen.jobs).
sub wait_for_job_state
{
	my ($node, $job, $condition, $what) = @_;
	ok($node->poll_query_until('postgres', "SELECT $condition FROM screen.jobs WHERE id = $job"), $what);
}

# The job directories still on disk once they have had time to go: a worker marks its job finished in the
# catalog first and removes the directory after (a crash in between leaves it for the launcher to clean), so
# wait() can return a moment before the directory is gone; poll up to the test timeout.
sub job_directories_left
{
	my ($node) = @_;
	my @left;
	for (my $waited = 0; $waited < $PostgreSQL::Test::Utils::timeout_default * 10; $waited++)
	{
		@left = glob($node->data_dir . '/pgscreen/jobs/*');
		last unless @left;
		select(undef, undef, undef, 0.1);
	}
	return scalar(@left);
}

1;
