# Load on the receiver: four storescu processes send 200 instances each at the same time while a fifth sends
# 100 of the first one's again. Every instance a sender was told is stored is in the table, and none twice.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use PacsPeers;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my @series = map { PacsPeers::corpus("$tmp/s$_", '--bulk', '200', '--series', "L$_") } 1 .. 4;
my @resend = @{ $series[0]{files} }[ 0 .. 99 ];

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $node = PacsPeers::node_with_receiver('pacs_load', $PacsPeers::PUSHED_TABLE_SQL,
	'pgscreen.scp_port' => $port,
	'pgscreen.scp_listen_addresses' => '127.0.0.1',
	'pgscreen.scp_role' => 'pgscreen_receiver',
	'pgscreen.scp_allowed_aets' => 'LOAD@127.0.0.1',
	'pgscreen.scp_table' => 'public.pushed',
	'pgscreen.scp_workers' => 4);

# storescu -v says "Sending file: F" then "Received Store Response (Success)" for each acknowledged file.
my @runs;
for my $files ((map { $_->{files} } @series), \@resend)
{
	my $out = '';
	local $ENV{TCP_NODELAY} = 1;
	push @runs, [ IPC::Run::start([ 'storescu', '-v', '-aet', 'LOAD', '-aec', 'PGSCREEN', '127.0.0.1', $port, @$files ],
			'>', \$out, '2>&1', IPC::Run::timeout(300)), \$out ];
}
my %acknowledged;
my $exits = 0;
for my $run (@runs)
{
	$run->[0]->finish;
	$exits += $run->[0]->result(0) != 0;
	my $file;
	for my $line (split /\n/, ${ $run->[1] })
	{
		$file = $1 if $line =~ /^I: Sending file: (.*)$/;
		$acknowledged{$file}++ if $line =~ /^I: Received Store Response \(Success\)/ && $file;
	}
}
is($exits, 0, 'five storescu processes finish without error');
my $acks = 0;
$acks += $_ for values %acknowledged;
is($acks, 900, 'they were told 900 times that an instance is stored');
is(scalar(keys %acknowledged), 800, 'for 800 distinct files');

# the SOP Instance UIDs of the acknowledged files, from the corpus manifests
my %uid_of;
for my $s (@series)
{
	@uid_of{ @{ $s->{files} } } = @{ $s->{uids} };
}
my $wanted = join(',', sort map { $uid_of{$_} } keys %acknowledged);
is($node->safe_psql('postgres', "SELECT string_agg(sop_instance_uid, ',' ORDER BY sop_instance_uid COLLATE \"C\") FROM pushed"),
	$wanted, 'every acknowledged instance is in the table, and nothing else');
is($node->safe_psql('postgres', 'SELECT count(*) = count(DISTINCT sop_instance_uid) FROM pushed'), 't', 'none twice');
is($node->safe_psql('postgres', "SELECT sum(stored) || ' ' || sum(duplicates) || ' ' || sum(failed) FROM screen.pacs_activity WHERE kind = 'receiver'"),
	'800 100 0', 'the receivers counted 800 stored and 100 duplicates');
is($node->safe_psql('postgres', "SELECT count(*) FROM screen.pacs_activity WHERE kind = 'receiver' AND associations > 0"),
	'4', 'all four workers took associations');

unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated by|ERROR/, 'no error, no crash');
$node->stop;
done_testing();
