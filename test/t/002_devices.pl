# Devices on a real server with pgscreen preloaded: the CUDA module is loaded lazily by a backend, a machine
# without a GPU is explained rather than crashing, and everything works with the CUDA module absent.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $has_gpu = (-e '/dev/nvidiactl' || -e '/dev/nvidia0');
my $node = PostgreSQL::Test::Cluster->new('devices');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgscreen');

my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $libdir = $ENV{PGSCREEN_PKGLIBDIR};

# The postmaster itself never maps the CUDA module: only backends that need a GPU load it.
open(my $pidfile, '<', $node->data_dir . '/postmaster.pid') or die;
my $pm_pid = <$pidfile>;
chomp $pm_pid;
close $pidfile;
my $maps = slurp_file("/proc/$pm_pid/maps");
unlike($maps, qr/pgscreen_cuda|libcudart|libcudnn|libcublas/, 'postmaster has no CUDA library mapped');
like($maps, qr/pgscreen\.so/, 'postmaster has pgscreen.so preloaded');

my $cpu_detail = $node->safe_psql('postgres', "SELECT detail FROM screen.device_info() WHERE kind = 'cpu'");
my $auto = $node->safe_psql('postgres', 'SELECT screen.current_device()');
if ($has_gpu)
{
	my $gpus = $node->safe_psql('postgres', "SELECT count(*) FROM screen.device_info() WHERE kind = 'cuda'");
	cmp_ok($gpus, '>', 0, "device_info lists $gpus GPU(s)");
	is($auto, 'cuda:0', 'auto picks the first GPU');
}
else
{
	like($cpu_detail, qr/^no GPU is usable: .*(driver|no CUDA-capable GPU|built without CUDA|CUDA module)/,
		"CPU row explains the missing GPU: $cpu_detail");
	is($auto, 'cpu', 'auto falls back to the CPU');

	my ($rc, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSET pgscreen.device = 'cuda';\nSELECT screen.current_device();");
	isnt($rc, 0, "pgscreen.device = 'cuda' without a GPU is an error");
	like($err, qr/ERROR:  55000: pgscreen.device is "cuda" but no GPU is usable/, 'with SQLSTATE 55000');
	like($err, qr/DETAIL:  \S/, 'and a detail naming the reason');
	like($err, qr/HINT:  Set pgscreen.device to "auto" or "cpu"/, 'and a hint');
}

# The backend that probed CUDA is still serving, and no backend crashed (no restart of the server).
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started, 'no crash restart after probing');
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/,
	'no backend died');

# With the CUDA module absent, the extension works on the CPU and says why there is no GPU.
$node->append_conf('postgresql.conf', "pgscreen.cuda_module = '/nonexistent/pgscreen_cuda.so'");
$node->reload;
my $absent = $node->safe_psql('postgres', "SELECT detail FROM screen.device_info() WHERE kind = 'cpu'");
like($absent, qr/CUDA module "\/nonexistent\/pgscreen_cuda.so" is missing|built without CUDA/,
	"module absent is explained: $absent");
is($node->safe_psql('postgres', 'SELECT screen.current_device()'), 'cpu', 'auto runs on the CPU without the module');
my $png = '\x89504e470d0a1a0a0000000d4948445200000002000000010800000000d14920560000000b49444154789c636467000000140009eef237d00000000049454e44ae426082';
is($node->safe_psql('postgres', "SELECT (screen.image_info('$png'::bytea)).width"), '2',
	'image functions work without the CUDA module');
my ($rc, $out, $err) = $node->psql('postgres', "SET pgscreen.device = 'cuda'; SELECT screen.current_device();");
like($err, qr/no GPU is usable/, "and pgscreen.device = 'cuda' says so");

# A module that is not a CUDA module is refused cleanly too.
$node->append_conf('postgresql.conf', "pgscreen.cuda_module = '$libdir/pgscreen.so'");
$node->reload;
like($node->safe_psql('postgres', "SELECT detail FROM screen.device_info() WHERE kind = 'cpu'"),
	qr/does not match this pgscreen.so/, 'a foreign library is not taken for the CUDA module');

is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started, 'still no crash restart');
$node->stop;
done_testing();
