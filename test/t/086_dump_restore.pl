# Models and job history survive pg_dump and pg_restore: rows, weights, and the id sequences behind them.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TrainingCluster;

my $node = training_cluster('dump_restore');
$node->safe_psql('postgres', q{
	CREATE TABLE photos AS
	SELECT id, screen.fundus_preprocess(image, 64) AS img FROM screen.synthetic_fundus_set(4, 5, 400, ARRAY[1, 0, 0, 0, 1]::float8[]);
	SELECT screen.create_model('m', '{"architecture": "small_cnn", "seed": 1}');
	SELECT screen.create_model('m', '{"architecture": "small_cnn", "seed": 2}');
	SELECT screen.set_operating_point('m', 'high_sensitivity', 0.25);
});
my $job = $node->safe_psql('postgres', "SELECT screen.train('x', 'SELECT img, true FROM nowhere', 'SELECT img, true FROM photos')");
is($node->safe_psql('postgres', "SELECT screen.wait($job, '1 min')"), 'failed', 'a job is in the history');
my $scores = $node->safe_psql('postgres', "SELECT string_agg(screen.predict('m', img)::text, ',' ORDER BY id) FROM photos");

my $dump = PostgreSQL::Test::Utils::tempdir() . '/db.dump';
command_ok(['pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
command_ok(['pg_restore', '-d', $node->connstr('restored'), $dump], 'pg_restore');

is($node->safe_psql('restored', "SELECT string_agg(name || ':' || version, ',' ORDER BY id) FROM screen.models"), 'm:1,m:2',
	'the models are restored');
is($node->safe_psql('restored', "SELECT string_agg(screen.predict('m', img)::text, ',' ORDER BY id) FROM photos"), $scores,
	'and score exactly as before');
is($node->safe_psql('restored', "SELECT screen.threshold('m', 'high_sensitivity')"), '0.25', 'with their operating points');
is($node->safe_psql('restored', "SELECT error_sqlstate FROM screen.jobs WHERE id = $job"), '42P01', 'the job history is restored');
is($node->safe_psql('restored', q{SELECT screen.create_model('n', '{"architecture": "small_cnn"}')}), 3,
	'new models continue the id sequence');
cmp_ok($node->safe_psql('restored', "SELECT screen.train('y', 'SELECT img, true FROM photos', 'SELECT img, true FROM photos')"),
	'>', $job, 'and new jobs too');

$node->stop;
done_testing();
