# pgscreen.image_memory_budget seen from the attacker's side: an image whose header promises more pixels than
# the budget holds is refused before the memory is taken, sessions share one budget, and what a statement
# reserved is given back when it ends, by an error too.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('image_budget');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pgscreen;
	CREATE ROLE analyst LOGIN;
	-- 9 MB decoded (2048 × 1536 × 3), and 36 MB decoded from a JPEG of a few hundred kB.
	CREATE TABLE photos AS SELECT 1 AS id, screen.synthetic_fundus(1, 0, 2048) AS img
	UNION ALL SELECT 2, screen.synthetic_fundus(2, 0, 4096);
	GRANT SELECT ON photos TO analyst;
});
$node->append_conf('postgresql.conf', "pgscreen.image_memory_budget = '16MB'\n");
$node->reload;
ok($node->poll_query_until('postgres', "SELECT current_setting('pgscreen.image_memory_budget') = '16MB'"),
	'the budget is 16 MB');

sub as_analyst
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "SET ROLE analyst; $sql");
	return $rc == 0 ? $out : $err;
}

like(as_analyst('SELECT length(screen.to_npy(img)) FROM photos WHERE id = 2'),
	qr/ERROR:  could not decode image: the image memory budget of the server is used up/,
	'a 36 MB image is refused under a 16 MB budget, whatever the pixel limit allows');
like(as_analyst("SET pgscreen.image_memory_budget = '1GB'"), qr/cannot be changed now/, 'and nobody lifts it in a session');
is(as_analyst('SELECT sum(length(screen.to_npy(img))) > 0 FROM photos, generate_series(1, 6) WHERE id = 1'), 't',
	'six 9 MB images in a row fit: each row gives back what it took');
like(as_analyst('SELECT length(screen.to_npy(img)) FROM photos WHERE id = 2'), qr/budget of the server is used up/,
	'refused again');
is(as_analyst('SELECT length(screen.to_npy(img)) > 0 FROM photos WHERE id = 1'), 't',
	'and the refusal left nothing reserved');

# Sessions share the budget: while one holds a 9 MB image, another cannot take 9 MB more.
my $holder = $node->background_psql('postgres');
$holder->query_until(qr/holding/, "\\echo holding\nSELECT length(screen.to_npy(img)), pg_sleep(8) FROM photos WHERE id = 1;\n");
usleep(2_000_000);
like(as_analyst('SELECT length(screen.to_npy(img)) FROM photos WHERE id = 1'),
	qr/budget of the server is used up\nDETAIL:  9 MB were requested while 9 MB of pgscreen.image_memory_budget \(16 MB\) were in use/,
	'a second session is refused while the first holds its image');
$holder->quit;
is(as_analyst('SELECT length(screen.to_npy(img)) > 0 FROM photos WHERE id = 1'), 't',
	'once the first session is done, the second decodes');

# The guard the budget backs up is the superuser's alone.
like(as_analyst('SET pgscreen.max_image_pixels = 2147483647'), qr/permission denied to set parameter "pgscreen.max_image_pixels"/,
	'the pixel limit cannot be raised by an ordinary role');
$node->stop;
done_testing();
