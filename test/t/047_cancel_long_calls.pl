# Long calls stop when asked: fundus preprocessing of a huge photograph, a bootstrap AUC interval of many
# resamples and scoring one large batch each end with SQLSTATE 57014 soon after statement_timeout or
# pg_cancel_backend, well before they would have finished, and the backend then serves the same call in full.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Compress::Zlib qw(compress crc32);
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('cancel_long_calls');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgscreen');
my $dir = PostgreSQL::Test::Utils::tempdir;

# Run SQL in a new session: (stdout, stderr, seconds).
sub timed
{
	my ($sql) = @_;
	my $start = time;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql", on_error_stop => 0);
	return ($out, $err, time - $start);
}

# The call in full (it must take a few seconds), then under a statement_timeout of an eighth of that: it
# stops with 57014 within a second of the timeout (an eighth of the full call on a loaded machine), and the
# session's next statement is served. run is timed or a runner in a session kept open.
sub cancelled_by_timeout
{
	my ($what, $sql, $run) = @_;
	$run //= \&timed;
	my ($out, $err, $full) = $run->($sql);
	is($err, '', sprintf('%s completes uncancelled in %.1f s', $what, $full));
	my $limit_ms = int($full * 1000 / 8);
	my $seconds;
	($out, $err, $seconds) = $run->("SET statement_timeout = $limit_ms;\n$sql\nRESET statement_timeout;\nSELECT 'served';");
	like($err, qr/57014: canceling statement due to statement timeout/, "$what: statement_timeout of $limit_ms ms cancels it (57014)");
	# under load a second is not always enough; an uncancellable call would overrun by seven eighths
	my $slack = $full / 8 > 1.0 ? $full / 8 : 1.0;
	cmp_ok($seconds, '<', $limit_ms / 1000 + $slack,
		sprintf('%s: it returned after %.2f s, within %.1f s of the timeout', $what, $seconds, $slack));
	cmp_ok($seconds, '<', $full / 2, sprintf('%s: well under the %.1f s of the full call', $what, $full));
	like($out, qr/served/, "$what: the same session serves the next statement");
	return $full;
}

# ---- fundus preprocessing of a huge PNG (decode, conversion, location and resize all have cancel points) ----
# A bright disc on black, 16-bit grey (so the conversion to 8-bit RGB runs too), written as a PNG by hand.
my $side = 7000;
my $png = "$dir/huge_fundus.png";
{
	my ($centre, $radius) = ($side / 2, int($side * 9 / 20));
	my $raw = '';
	for my $y (0 .. $side - 1)
	{
		my $row = "\0\0" x $side;
		my $dy = $y - $centre;
		if ($dy * $dy <= $radius * $radius)
		{
			my $half = int(sqrt($radius * $radius - $dy * $dy));
			substr($row, 2 * ($centre - $half), 2 * (2 * $half + 1)) = pack('n', 30000) x (2 * $half + 1);
		}
		$raw .= "\0" . $row;	# filter type None
	}
	my $chunk = sub { my ($type, $data) = @_; return pack('N', length $data) . $type . $data . pack('N', crc32($type . $data)) };
	open(my $fh, '>:raw', $png) or die "$png: $!";
	print $fh "\x89PNG\r\n\x1a\n", $chunk->('IHDR', pack('NNCCCCC', $side, $side, 16, 0, 0, 0, 0)),
	  $chunk->('IDAT', compress($raw)), $chunk->('IEND', '');
	close $fh;
}
$node->safe_psql('postgres', "CREATE TABLE photo AS SELECT pg_read_binary_file('$png') AS img");
cancelled_by_timeout('fundus_preprocess of a 7000 × 7000 PNG',
	"SELECT length(screen.fundus_preprocess(img, 299, 'graham')) FROM photo;");
is($node->safe_psql('postgres', 'SELECT length(screen.fundus_preprocess(img)) > 299 * 299 * 3 FROM photo'), 't',
	'and preprocesses the photograph in full afterwards');

# ---- a bootstrap interval over 200,000 cases: each replicate is a cancel point ----
$node->safe_psql('postgres', q{
CREATE TABLE cases AS
SELECT screen.roc(((i * 7919) % 100003)::float8 / 100003 + (i % 3 = 0)::int * 0.2, i % 3 = 0) AS r
FROM generate_series(1, 200000) i});
my (undef, undef, $sample) = timed(
	"SELECT lower FROM cases, screen.auc_ci(r, 0.95, 'bootstrap', 100, 1);");
my $resamples = int(100 * 4.0 / ($sample > 0.05 ? $sample : 0.05));
$resamples = 1000000 if $resamples > 1000000;
cancelled_by_timeout("auc_ci with $resamples bootstrap resamples",
	"SELECT lower < upper FROM cases, screen.auc_ci(r, 0.95, 'bootstrap', $resamples, 1);");
is($node->safe_psql('postgres', "SELECT round(auc::numeric, 6) = round(screen.auc(r)::numeric, 6) FROM cases, screen.auc_ci(r, 0.95, 'bootstrap', 200, 1)"),
	't', 'then a bootstrap interval is computed as before');

# ---- scoring one batch of Inception-v3: every layer of the forward pass is a cancel point ----
# All in one session that keeps the model loaded, so that the time goes to the forward pass.
$node->safe_psql('postgres', q{
SELECT screen.create_model('deep', '{"architecture": "inception_v3", "input_size": 149, "seed": 3}');
CREATE TABLE inputs AS SELECT screen.fundus_preprocess(screen.synthetic_fundus(5, 2, 512), 149) AS npy});
my $score_sql = sub {
	my ($n) = @_;
	return "SELECT count(*), round(sum(score)::numeric, 6) FROM screen.score('deep',
	  'SELECT i::bigint, npy FROM inputs, generate_series(1, $n) i', '{\"batch_size\": $n, \"progress\": 0}');";
};
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_safe('\\set VERBOSITY verbose');
my $in_session = sub {
	my ($sql) = @_;
	$bg->{stderr} = '';
	my $start = time;
	my ($out) = $bg->query($sql);
	return ($out, $bg->{stderr}, time - $start);
};
my ($reference) = $in_session->($score_sql->(2));
like($reference, qr/^2\|/, 'the model is loaded in the session');
my (undef, undef, $one) = $in_session->($score_sql->(1));
my (undef, undef, $five) = $in_session->($score_sql->(5));
my $per_image = ($five - $one) / 4 > 0.01 ? ($five - $one) / 4 : 0.01;
my $batch = int(4.0 / $per_image);
$batch = $batch < 4 ? 4 : $batch > 48 ? 48 : $batch;
my $full = cancelled_by_timeout("score of one batch of $batch", $score_sql->($batch), $in_session);
is(($in_session->($score_sql->(2)))[0], $reference, 'the model cached in that session scores as before');

# pg_cancel_backend from another session, while the batch runs
my $backend = ($in_session->('SELECT pg_backend_pid()'))[0];
$bg->query_until(qr/go/, "\\echo go\n" . $score_sql->($batch) . "\n");
ok($node->poll_query_until('postgres', "SELECT state = 'active' FROM pg_stat_activity WHERE pid = $backend"),
	'the batch is being scored');
usleep(int($full * 1e6 / 8));
my $cancelled_at = time;
is($node->safe_psql('postgres', "SELECT pg_cancel_backend($backend)"), 't', 'pg_cancel_backend sent');
my ($after) = $bg->query('SELECT 1');
my $waited = time - $cancelled_at;
like($bg->{stderr}, qr/57014: canceling statement due to user request/, 'pg_cancel_backend stops the scoring (57014)');
cmp_ok($waited, '<', 2.0, sprintf('%.2f s after the cancel the session answers again', $waited));
cmp_ok($waited, '<', $full / 2, sprintf('well under the %.1f s of the full call', $full));
is($after, '1', 'and serves the next statement');
is(($in_session->($score_sql->(2)))[0], $reference, 'and scores as before');
$bg->quit;

unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC|server process .* was terminated/, 'no crash');
$node->stop;
done_testing();
