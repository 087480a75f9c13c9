# demo/schedule/nightly.sql, the scheduling example users adapt, does what it says: its retraining function
# queues a job that trains a model, and its scoring procedure scores exactly the photographs not yet scored.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TrainingCluster;

my $example = ($ENV{PGSCREEN_DEMO} // "$FindBin::Bin/../../demo") . '/schedule/nightly.sql';
ok(-f $example, 'the example file exists');

my $node = training_cluster('schedule_example');
my ($rc, $out, $err) = $node->psql('postgres', slurp_file($example), on_error_stop => 1);
is($rc, 0, 'the example runs');
like($err, qr/pg_cron is not installed here/, 'and says how to schedule without pg_cron');

# Raw photographs as a camera stores them (JPEG), graded; the job preprocesses them itself.
$node->safe_psql('postgres', q{
	INSERT INTO screening.photos (id, img)
	SELECT id, image FROM screen.synthetic_fundus_set(180, 31, 360, ARRAY[1, 0, 0, 1, 1]::float8[]);
	INSERT INTO screening.grades SELECT id, grade FROM screen.synthetic_fundus_set(180, 31, 360, ARRAY[1, 0, 0, 1, 1]::float8[]);
	DELETE FROM screening.grades g USING screening.photos p
	WHERE g.photo_id = p.id AND NOT (screen.fundus_circle(p.img)).gradable;
	DELETE FROM screening.photos p WHERE NOT EXISTS (SELECT 1 FROM screening.grades g WHERE g.photo_id = p.id);
});
$node->safe_psql('postgres', "UPDATE screening.settings SET options = '"
	  . quick_options(max_epochs => 2, preprocess => '"voets2018"') . "'");

($rc, $out, $err) = $node->psql('postgres', 'CALL screening.score_new()');
like($err, qr/no model trained yet: nothing scored/, 'before a model exists, scoring does nothing');

my $job = $node->safe_psql('postgres', 'SELECT screening.retrain()');
is($node->safe_psql('postgres', "SELECT screen.wait($job, '10 min')"), 'succeeded', 'the retraining job trains a model');
is($node->safe_psql('postgres', "SELECT preprocess->>'method' FROM screen.models WHERE name = 'dr'"), 'voets2018',
	'which preprocesses raw photographs itself');
$node->safe_psql('postgres', q{SELECT screen.set_operating_point('dr', 'high_sensitivity', 0.5)});

# An ordinary role plants a newer "dr" whose operating point refers nobody. The scheduled scoring, run by a
# superuser who sees every role's models, must still use its own model and threshold.
$node->safe_psql('postgres', q{
	CREATE ROLE intruder LOGIN;
	SET ROLE intruder;
	SELECT screen.create_model('dr', '{"architecture": "small_cnn", "input_size": 32}');
	SELECT screen.create_model('dr', '{"architecture": "small_cnn", "input_size": 32}');
	SELECT screen.set_operating_point('dr', 'high_sensitivity', 'Infinity');
});

my $photos = $node->safe_psql('postgres', 'SELECT count(*) FROM screening.photos');
$node->safe_psql('postgres', 'CALL screening.score_new()');
is($node->safe_psql('postgres', 'SELECT count(*) FROM screening.results'), $photos, 'every photograph is scored');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM screening.results r JOIN screening.photos p ON p.id = r.photo_id
	WHERE r.model = current_user || '.dr:1' AND r.referable = (r.score >= 0.5)
	  AND r.score = screen.predict('dr', p.img)}), $photos,
	'with its own newest model, its operating point, and the scores predict() gives');
is($node->safe_psql('postgres',
		"SELECT string_agg(DISTINCT screen.threshold(model, 'high_sensitivity')::text, ',') FROM screening.results"),
	'0.5', 'the threshold applied is the one stored with that model, not the intruder\'s');
$node->safe_psql('postgres', q{
	INSERT INTO screening.photos (id, img) SELECT 1000 + id, image FROM screen.synthetic_fundus_set(3, 32, 360)});
$node->safe_psql('postgres', 'CALL screening.score_new()');
is($node->safe_psql('postgres', 'SELECT count(*) FROM screening.results'), $photos + 3,
	'the next run scores only the new photographs');

$node->stop;
done_testing();
