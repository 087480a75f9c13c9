# Scoring and evaluation across servers: a coordinator whose partitioned tables have postgres_fdw foreign
# partitions on two shards. A model reaches both shards in one step, the shards score their own photographs
# concurrently, only ids, labels and scores cross the network, and the AUC over all shards is the AUC of the
# union. Training reads foreign partitions too, and a stopped shard fails the query instead of shrinking it.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TrainingCluster;

my $password = 'analyst-secret';

# A shard: pgscreen on its own device, photographs with ids from first_id, and the analyst, who must give a
# password (postgres_fdw and dblink let only superusers connect without one).
sub shard
{
	my ($name, $seed, $first_id) = @_;
	my $node = training_cluster($name);
	make_photos($node, 60, $seed);
	$node->safe_psql('postgres', qq{
		UPDATE photos SET id = id + $first_id - 1;
		CREATE ROLE analyst LOGIN PASSWORD '$password';
		CREATE VIEW dr_scores AS SELECT id, grade >= 2 AS label, screen.predict('dr:2', img) AS score FROM photos;
		CREATE VIEW dr3_scores AS SELECT id, grade >= 2 AS label, screen.predict('dr:3', img) AS score FROM photos;
		CREATE VIEW dr_batch_scores AS
			SELECT s.id, p.grade >= 2 AS label, s.score
			FROM screen.score('dr:2', 'SELECT id, img FROM public.photos', '{"progress": 0}') s JOIN photos p USING (id);
		GRANT SELECT ON dr_scores, dr3_scores, dr_batch_scores TO analyst;
	});
	my $hba = $node->data_dir . '/pg_hba.conf';
	my $rules = slurp_file($hba);
	open(my $fh, '>', $hba) or die "cannot write $hba: $!";
	print $fh "local all analyst scram-sha-256\n$rules";
	close($fh);
	$node->reload;
	return $node;
}

my $shard1 = shard('shard1', 41, 1);
my $shard2 = shard('shard2', 43, 100001);
my $coordinator = training_cluster('coordinator');

$coordinator->safe_psql('postgres', q{
	CREATE EXTENSION postgres_fdw;
	CREATE EXTENSION dblink;
	CREATE ROLE analyst LOGIN;
	GRANT CREATE ON SCHEMA public TO analyst;
});
for my $shard ($shard1, $shard2)
{
	my ($name, $host, $port) = ($shard->name, $shard->host, $shard->port);
	$coordinator->safe_psql('postgres', qq{
		CREATE SERVER $name FOREIGN DATA WRAPPER postgres_fdw
			OPTIONS (host '$host', port '$port', dbname 'postgres', async_capable 'true');
		GRANT USAGE ON FOREIGN SERVER $name TO analyst;
		CREATE USER MAPPING FOR analyst SERVER $name OPTIONS (user 'analyst', password '$password');
	});
}

sub analyst
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	my $rc = $coordinator->psql('postgres', $sql, stdout => \$stdout, stderr => \$stderr,
		extra_params => ['-U', 'analyst']);
	return ($rc, $stdout, $stderr);
}

sub analyst_ok
{
	my ($sql) = @_;
	my ($rc, $stdout, $stderr) = analyst($sql);
	die "analyst query failed: $stderr\n$sql" if $rc != 0;
	return $stdout;
}

# The analyst's tables on the coordinator: each partition is a shard's table or view.
analyst_ok(q{
	CREATE TABLE all_photos (id bigint, grade int, img bytea) PARTITION BY RANGE (id);
	CREATE FOREIGN TABLE all_photos_shard1 PARTITION OF all_photos FOR VALUES FROM (1) TO (100001)
		SERVER shard1 OPTIONS (table_name 'photos');
	CREATE FOREIGN TABLE all_photos_shard2 PARTITION OF all_photos FOR VALUES FROM (100001) TO (200001)
		SERVER shard2 OPTIONS (table_name 'photos');
	CREATE TABLE all_scores (id bigint, label boolean, score float8) PARTITION BY RANGE (id);
	CREATE FOREIGN TABLE all_scores_shard1 PARTITION OF all_scores FOR VALUES FROM (1) TO (100001)
		SERVER shard1 OPTIONS (table_name 'dr_scores');
	CREATE FOREIGN TABLE all_scores_shard2 PARTITION OF all_scores FOR VALUES FROM (100001) TO (200001)
		SERVER shard2 OPTIONS (table_name 'dr_scores');
	CREATE FOREIGN TABLE dr3_scores_shard1 (id bigint, label boolean, score float8)
		SERVER shard1 OPTIONS (table_name 'dr3_scores');
	CREATE FOREIGN TABLE batch_scores_shard1 (id bigint, label boolean, score float8)
		SERVER shard1 OPTIONS (table_name 'dr_batch_scores');
});

# Training reads foreign partitions: the worker connects as the analyst and uses the analyst's mappings.
analyst_ok(q{SELECT screen.create_model('dr', '{"architecture": "small_cnn", "input_size": 64, "seed": 5}')});
my $job = analyst_ok("SELECT screen.train('dr', "
	  . "'SELECT img, grade >= 2 FROM all_photos WHERE id <= 100000 ORDER BY id', "
	  . "'SELECT img, grade >= 2 FROM all_photos WHERE id > 100000 ORDER BY id', '"
	  . quick_options(max_epochs => 2) . "')");
is(analyst_ok("SELECT screen.wait($job, '10 min')"), 'succeeded', 'a job trains from foreign partitions');
is(analyst_ok("SELECT training_rows = (SELECT count(*) FROM all_photos WHERE id <= 100000) "
	  . "AND validation_rows = (SELECT count(*) FROM all_photos WHERE id > 100000) FROM screen.jobs WHERE id = $job"),
	't', 'it read every row of each shard');
is(analyst_ok(q{SELECT version FROM screen.models WHERE job_id = } . $job), '2', 'the trained model is dr version 2');
analyst_ok(q{SELECT screen.set_operating_point('dr:2', 'high_sensitivity', 0.5)});

# A job's owner needs user mappings of its own: the worker never borrows another role's.
$coordinator->safe_psql('postgres', q{CREATE ROLE intern LOGIN; GRANT analyst TO intern});
my $unmapped = $coordinator->safe_psql('postgres', "SET ROLE intern; SELECT screen.train('intern_dr', "
	  . "'SELECT img, grade >= 2 FROM all_photos ORDER BY id', 'SELECT img, grade >= 2 FROM all_photos ORDER BY id', '"
	  . quick_options(max_epochs => 1) . "')");
is($coordinator->safe_psql('postgres', "SELECT screen.wait($unmapped, '5 min')"), 'failed',
	'a job whose owner has no user mapping fails');
like($coordinator->safe_psql('postgres', "SELECT error FROM screen.jobs WHERE id = $unmapped"),
	qr/user mapping not found for "intern"/, "with postgres_fdw's own error");

# One step puts the model on every shard; it keeps its version, recipe and operating points, and its SHA-256.
my $sha = analyst_ok(q{SELECT screen.model_sha256('dr:2')});
is(analyst_ok(q{SELECT string_agg(format('%s %s %s', server, model_version, sha256 = screen.model_sha256('dr:2')),
	', ' ORDER BY server) FROM screen.distribute_model('dr', ARRAY['shard1', 'shard2'])}),
	'shard1 2 t, shard2 2 t', 'distribute_model copies dr version 2 to both shards, same SHA-256');
my $described = q{SELECT version, owner, recipe, operating_points->'high_sensitivity'->'threshold', metrics,
	screen.model_sha256('dr:2') FROM screen.models WHERE name = 'dr' AND version = 2};
my $original = $coordinator->safe_psql('postgres', $described);
is($shard1->safe_psql('postgres', $described), $original, 'shard1 holds the same model, owned by the analyst');
is($shard2->safe_psql('postgres', $described), $original, 'shard2 holds the same model');
is($shard1->safe_psql('postgres', q{SELECT count(*) FROM screen.models WHERE name = 'dr'}), '1',
	'only the distributed version travelled');
my ($rc, $stdout, $stderr) = analyst(q{SELECT count(*) FROM screen.distribute_model('dr', ARRAY['shard1', 'shard2'], 2)});
is($stdout, '2', 'distributing again is harmless');

# The analyst's one query: both shards are scanned at once. (postgres_fdw runs the shards' statements with
# search_path = pg_catalog: a query text a shard's view hands to screen.score() names its schema.)
my $plan = analyst_ok(q{EXPLAIN (COSTS OFF) SELECT screen.auc_ci(screen.roc(score, label)) FROM all_scores});
is(scalar(() = $plan =~ /Async Foreign Scan on/g), 2, 'the shards are scanned concurrently (Async Foreign Scan)');
like(analyst_ok(q{EXPLAIN (VERBOSE, COSTS OFF) SELECT id, score FROM all_scores}),
	qr/Remote SQL: SELECT id, score FROM public\.dr_scores/, 'only ids and scores are asked of the shards');
like(analyst_ok(q{EXPLAIN (VERBOSE, COSTS OFF) SELECT score FROM all_scores WHERE id <= 20}),
	qr/Remote SQL: SELECT score FROM public\.dr_scores WHERE \(\(id <= 20\)\)/,
	'a filter travels to the shard, which scores only the rows it selects');

# The union, copied to the coordinator only to check against: scored here, it gives the same scores and AUC.
analyst_ok(q{CREATE TABLE union_photos AS SELECT * FROM all_photos});
my ($rows, $equal) = split /\|/, analyst_ok(q{SELECT count(*), count(*) FILTER (WHERE s.score = screen.predict('dr:2', u.img))
	FROM all_scores s FULL JOIN union_photos u USING (id)});
cmp_ok($rows, '>', 90, "the shards hold $rows photographs");
is($equal, $rows, 'every score from the shards equals scoring the same photograph here');
my $distributed = analyst_ok(q{SELECT screen.auc_ci(screen.roc(score, label)) FROM all_scores});
my $local = analyst_ok(q{SELECT screen.auc_ci(screen.roc(screen.predict('dr:2', img), grade >= 2)) FROM union_photos});
is($distributed, $local, "the AUC with its CI over all shards is the union's ($distributed)");
is(analyst_ok(q{SELECT string_agg(format('%s %s', shard, n), ', ' ORDER BY shard)
	FROM (SELECT tableoid::regclass::text AS shard, count(score) AS n FROM all_scores GROUP BY 1) s}),
	analyst_ok(q{SELECT format('all_scores_shard1 %s, all_scores_shard2 %s', count(*) FILTER (WHERE id <= 100000),
	  count(*) FILTER (WHERE id > 100000)) FROM union_photos}),
	'GROUP BY tableoid gives each shard its own rows');
isnt(analyst_ok(q{SELECT screen.auc(screen.roc(score, label)) FROM all_scores WHERE id <= 100000}), $distributed,
	'one shard alone gives another AUC');
is(analyst_ok(q{SELECT count(*) = count(*) FILTER (WHERE b.score = s.score) AND count(*) > 0
	FROM batch_scores_shard1 b JOIN all_scores s USING (id)}), 't',
	'a shard view over screen.score() (batches, the fast path on a GPU) gives the same scores');

# A version a shard lacks is named, with SQLSTATE 42704 and a hint.
($rc, $stdout, $stderr) = analyst("\\set VERBOSITY verbose\nSELECT id, score FROM dr3_scores_shard1");
isnt($rc, 0, 'scoring with a version the shard lacks fails');
like($stderr, qr/42704: model "dr" version 3 does not exist on this server/, 'the shard names model and version');
like($stderr, qr/HINT:  Import it from a server that has it/, 'and says how to bring it');

# A stopped shard fails the whole query: no count, no AUC from the other shard alone.
$shard2->stop('fast');
($rc, $stdout, $stderr) = analyst(q{SELECT count(*), screen.auc(screen.roc(score, label)) FROM all_scores});
isnt($rc, 0, 'a query over a stopped shard fails');
is($stdout, '', 'and returns no partial result');
like($stderr, qr/could not connect to server "shard2"/, 'naming the shard');
($rc, $stdout, $stderr) = analyst(q{SELECT * FROM screen.distribute_model('dr', ARRAY['shard1', 'shard2'], 2)});
like($stderr, qr/could not copy model "dr" version 2 to server "shard2"/,
	'distributing to a stopped shard fails naming it');
$shard2->start;
is(analyst_ok(q{SELECT screen.auc_ci(screen.roc(score, label)) FROM all_scores}), $distributed,
	'with the shard back the same query gives the same answer');

done_testing();
