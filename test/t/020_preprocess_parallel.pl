# SELECT fundus_preprocess(img) FROM photos runs in parallel workers and gives the same bytes as a serial run.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('preprocess_parallel');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'\nmax_parallel_workers_per_gather = 2");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgscreen');

# Every preprocessing function may run in a worker.
is($node->safe_psql('postgres', q{
	SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc
	WHERE pronamespace = 'screen'::regnamespace AND proparallel <> 's'
	  AND proname IN ('fundus_preprocess', 'fundus_circle', 'normalize', 'augment', 'synthetic_fundus',
	                  'synthetic_fundus_info', 'synthetic_fundus_set')}), '', 'all preprocessing functions are PARALLEL SAFE');

# Photographs are TOASTed, so their heap rows are tiny: a page holds about 150 of them, and parallel workers
# share a scan page by page. A table of many photographs spreads over many pages by itself; this small one
# gets fillfactor 10 (about 14 rows a page). Its heap is also below min_parallel_table_scan_size: the
# reloption parallel_workers tells the planner what it deserves (the README says both).
$node->safe_psql('postgres', q{
	CREATE TABLE photos (id int PRIMARY KEY, img bytea) WITH (fillfactor = 10, parallel_workers = 2);
	ALTER TABLE photos ALTER COLUMN img SET STORAGE EXTERNAL;
	INSERT INTO photos SELECT id, image FROM screen.synthetic_fundus_set(24, 2020, 800);
	VACUUM ANALYZE photos;
});

my $plan = $node->safe_psql('postgres',
	'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT screen.fundus_preprocess(img) FROM photos');
like($plan, qr/Gather/, 'the plan gathers from parallel workers');
like($plan, qr/Workers Launched: [12]/, 'and workers were launched');
note($plan);

# Without the leader's help, the workers must have preprocessed every photograph themselves.
$plan = $node->safe_psql('postgres', q{
	SET parallel_leader_participation = off;
	EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	SELECT count(screen.fundus_preprocess(img, ungradable => 'null')) FROM photos});
my ($scan) = $plan =~ /(Parallel Seq Scan.*)/s;
my $total = 0;
$total += $_ for (($scan // '') =~ /Worker \d+:\s+actual rows=(\d+)/g);
note($plan);
is($total, 24, 'with parallel_leader_participation off, the workers scanned all 24 photographs');

my $checksum = q{SELECT md5(string_agg(md5(coalesce(screen.fundus_preprocess(img, ungradable => 'null'), '')), ',' ORDER BY id)) FROM photos};
my $serial = $node->safe_psql('postgres', "SET max_parallel_workers_per_gather = 0; $checksum");
my $parallel = $node->safe_psql('postgres', $checksum);
is($parallel, $serial, 'parallel and serial runs give the same tensors');

# Wall time of both, for information only: this machine is shared, so nothing is asserted about it.
my %seconds;
for my $workers (0, 2)
{
	my $start = time;
	$node->safe_psql('postgres',
		"SET max_parallel_workers_per_gather = $workers; SELECT count(screen.fundus_preprocess(img, ungradable => 'null')) FROM photos");
	$seconds{$workers} = time - $start;
}
note(sprintf('24 photographs of 800 px: serial %.2f s, 2 workers %.2f s (×%.2f)',
	$seconds{0}, $seconds{2}, $seconds{0} / $seconds{2}));

# One UPDATE preprocesses the table (PostgreSQL runs UPDATE in one process); CREATE TABLE AS runs its
# query in parallel workers.
$node->safe_psql('postgres', q{
	ALTER TABLE photos ADD COLUMN pre bytea;
	UPDATE photos SET pre = screen.fundus_preprocess(img, ungradable => 'null');
});
is($node->safe_psql('postgres', "SELECT md5(string_agg(md5(coalesce(pre, '')), ',' ORDER BY id)) FROM photos"),
	$serial, 'one UPDATE fills a column with the same tensors');
$plan = $node->safe_psql('postgres', q{
	EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	CREATE TABLE preprocessed AS SELECT id, screen.fundus_preprocess(img, ungradable => 'null') AS pre FROM photos});
like($plan, qr/Workers Launched: [12]/, 'CREATE TABLE AS preprocesses in parallel workers');

$node->stop;
done_testing();
