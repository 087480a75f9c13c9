# Connections killed mid-series: storescu processes die by SIGKILL part-way through their series and receiver
# workers are terminated (pg_terminate_backend) while they serve an association. Every instance a sender was
# told is stored is in the table once, nothing else and no half instance is; resending the full series then
# completes every one, the counters agree with the table, and the server never crash-restarts.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);
use PacsPeers;

my $per_series = 200;
my $tmp = PostgreSQL::Test::Utils::tempdir();
my @series = map { PacsPeers::corpus("$tmp/s$_", '--bulk', $per_series, '--series', "K$_") } 1 .. 4;
my %uid_of;
my %file_of;
for my $s (@series)
{
	@uid_of{ @{ $s->{files} } } = @{ $s->{uids} };
	@file_of{ @{ $s->{uids} } } = @{ $s->{files} };
}

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $node = PacsPeers::node_with_receiver('pacs_kills', $PacsPeers::PUSHED_TABLE_SQL,
	'pgscreen.scp_port' => $port,
	'pgscreen.scp_listen_addresses' => '127.0.0.1',
	'pgscreen.scp_role' => 'pgscreen_receiver',
	'pgscreen.scp_allowed_aets' => join(',', map { "KILL$_\@127.0.0.1" } 1 .. 4),
	'pgscreen.scp_table' => 'public.pushed',
	'pgscreen.scp_workers' => 4);
my $started = time;

# Sender i calls as KILLi, so screen.pacs_activity names the worker serving it.
sub start_sender
{
	my ($i) = @_;
	my $out = '';
	local $ENV{TCP_NODELAY} = 1;
	my $h = IPC::Run::start(
		[ 'storescu', '-v', '-aet', "KILL$i", '-aec', 'PGSCREEN', '127.0.0.1', $port, @{ $series[ $i - 1 ]{files} } ],
		'>', \$out, '2>&1', IPC::Run::timeout(300));
	return { index => $i, handle => $h, out => \$out };
}

# storescu -v says "Sending file: F" then "Received Store Response (Success)" for each acknowledged file.
sub acknowledged_files
{
	my ($out) = @_;
	my ($file, @acked);
	for my $line (split /\n/, $out)
	{
		$file = $1 if $line =~ /^I: Sending file: (.*)$/;
		push @acked, $file if $line =~ /^I: Received Store Response \(Success\)/ && $file;
	}
	return @acked;
}

sub receiver_pids
{
	return sort split /\n/,
	  $node->safe_psql('postgres', "SELECT pid FROM screen.pacs_activity WHERE kind = 'receiver' ORDER BY pid");
}

sub wait_for_listening_workers
{
	for (1 .. 300)
	{
		return 1 if $node->safe_psql('postgres',
			"SELECT count(*) FROM screen.pacs_activity WHERE kind = 'receiver' AND state = 'listening'") eq '4';
		usleep(100_000);
	}
	return 0;
}

# SIGTERM the worker while its transaction stores an instance (pg_stat_activity shows it active then), so
# that an instance in flight is at stake; polled inside one statement to catch that moment, which a trigger
# that holds each INSERT for 20 ms makes most of the worker's time during the kills.
$node->safe_psql('postgres', q{
CREATE FUNCTION pushed_slowly() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END $$;
CREATE TRIGGER slowly BEFORE INSERT ON pushed FOR EACH ROW EXECUTE FUNCTION pushed_slowly()});
sub terminate_while_storing
{
	my ($pid) = @_;
	$node->safe_psql('postgres', qq{
DO \$\$
BEGIN
	FOR i IN 1 .. 200000 LOOP
		PERFORM pg_stat_clear_snapshot();
		IF EXISTS (SELECT FROM pg_stat_activity WHERE pid = $pid AND state = 'active') THEN
			PERFORM pg_terminate_backend($pid);
			RETURN;
		END IF;
	END LOOP;
	PERFORM pg_terminate_backend($pid);
END
\$\$});
	return 1;
}

# ---- phase 1: four senders; two are killed, two lose their receiver worker part-way ----
# What happens to each sender after its nth acknowledgement.
my %plan = (1 => [ 'sigkill sender', 30 ], 2 => [ 'sigkill sender', 110 ], 3 => [ 'terminate worker', 50 ],
	4 => [ 'terminate worker', 140 ]);
my @runs = map { start_sender($_) } 1 .. 4;
my @terminated_pids;
my $deadline = time + 240;
while (grep { !$_->{done} } @runs)
{
	for my $run (grep { !$_->{done} } @runs)
	{
		my $h = $run->{handle};
		$h->pump_nb if $h->pumpable;
		my ($what, $after) = @{ $plan{ $run->{index} } };
		my $acked = () = acknowledged_files(${ $run->{out} });
		if (!$run->{acted} && $acked >= $after)
		{
			$run->{acted} = 1;
			if ($what eq 'sigkill sender')
			{
				$h->signal('KILL');
			}
			else
			{
				my $pid = $node->safe_psql('postgres',
					"SELECT pid FROM screen.pacs_activity WHERE kind = 'receiver' AND peer = 'KILL$run->{index}\@127.0.0.1'");
				push @terminated_pids, $pid if $pid ne '' && terminate_while_storing($pid);
			}
		}
		if (!$h->pumpable)
		{
			$h->finish;
			$run->{done} = 1;
			$run->{exit} = $h->full_result(0);
		}
	}
	BAIL_OUT('senders still running after 240 s') if time > $deadline;
	usleep(5_000);
}
my $phase1_seconds = time - $started;

my %acknowledged;
my @partial;
for my $run (@runs)
{
	my @acked = acknowledged_files(${ $run->{out} });
	$acknowledged{$_}++ for @acked;
	push @partial, scalar @acked;
	my ($what, $after) = @{ $plan{ $run->{index} } };
	ok($run->{exit} != 0, sprintf('sender KILL%d did not finish its series (%s after %d; told %d stored)',
			$run->{index}, $what, $after, scalar @acked));
	cmp_ok(scalar @acked, '<', $per_series, "sender KILL$run->{index} was told of fewer than $per_series");
	cmp_ok(scalar @acked, '>=', $after, "sender KILL$run->{index} got its acknowledgements up to the kill");
}
is(scalar @terminated_pids, 2, 'two receiver workers were found serving their sender and terminated');
is(scalar(grep { $_ > 1 } values %acknowledged), 0, 'no file was acknowledged twice');

my %sent = map { $_ => 1 } values %uid_of;
my @stored = split /\n/, $node->safe_psql('postgres', 'SELECT sop_instance_uid FROM pushed');
my %in_table = map { $_ => 1 } @stored;
is(scalar(grep { !$in_table{ $uid_of{$_} } } keys %acknowledged), 0,
	sprintf('all %d acknowledged instances are in the table', scalar keys %acknowledged));
is(scalar(grep { !$sent{$_} } @stored), 0, sprintf('the table holds %d instances, all of them sent', scalar @stored));
cmp_ok(scalar @stored, '<=', scalar(keys %acknowledged) + 4,
	'at most one unacknowledged instance per broken association was stored (committed before its answer was lost)');

# No half instance: each row re-reads as the instance of that UID with the pixels of the template.
my $template_pixels = $node->safe_psql('postgres',
	"SELECT md5(screen.dicom_pixels(pg_read_binary_file('$series[0]{files}[0]')))");
is($node->safe_psql('postgres', "SELECT count(*) FROM pushed WHERE screen.dicom_value(dcm, 'SOPInstanceUID') <> sop_instance_uid
   OR md5(screen.dicom_pixels(dcm)) <> '$template_pixels'"), '0', 'every stored instance is whole');

ok(wait_for_listening_workers(), 'the terminated workers are back: four workers listen');
my @pids = receiver_pids();
is(scalar(grep { my $p = $_; grep { $_ eq $p } @pids } @terminated_pids), 0, 'with new process ids');
is($node->safe_psql('postgres', "SELECT sum(failed) FROM screen.pacs_activity WHERE kind = 'receiver'"), '0',
	'no worker counted a failed store');

# ---- phase 2: every series again, in full and undisturbed ----
$node->safe_psql('postgres', 'DROP TRIGGER slowly ON pushed');
my ($rows_before, $stored_before, $duplicates_before) = split /\|/, $node->safe_psql('postgres',
	"SELECT (SELECT count(*) FROM pushed), sum(stored), sum(duplicates) FROM screen.pacs_activity WHERE kind = 'receiver'");
my $resend_started = time;
my @resends = map { start_sender($_) } 1 .. 4;
my $resent_acks = 0;
for my $run (@resends)
{
	$run->{handle}->finish;
	is($run->{handle}->result(0), 0, "resending series K$run->{index} succeeds");
	my @acked = acknowledged_files(${ $run->{out} });
	is(scalar @acked, $per_series, "all $per_series of series K$run->{index} are acknowledged");
	$resent_acks += @acked;
}
my $resend_seconds = time - $resend_started;
is($node->safe_psql('postgres', "SELECT count(*) || ' ' || count(DISTINCT sop_instance_uid) FROM pushed"),
	(4 * $per_series) . ' ' . (4 * $per_series), 'every instance of every series is there exactly once');
my $wanted = join(',', sort values %uid_of);
is($node->safe_psql('postgres', "SELECT string_agg(sop_instance_uid, ',' ORDER BY sop_instance_uid COLLATE \"C\") FROM pushed"),
	$wanted, 'and nothing else');
is(join(',', receiver_pids()), join(',', @pids), 'the same workers served the resend');
my ($rows_after, $stored_after, $duplicates_after, $failed_after) = split /\|/, $node->safe_psql('postgres',
	"SELECT (SELECT count(*) FROM pushed), sum(stored), sum(duplicates), sum(failed) FROM screen.pacs_activity WHERE kind = 'receiver'");
is($stored_after - $stored_before, $rows_after - $rows_before, 'the workers counted as stored exactly the new rows');
is(($stored_after - $stored_before) + ($duplicates_after - $duplicates_before), $resent_acks,
	'and as duplicates the rest of what they acknowledged');
is($failed_after, '0', 'and no failure');

my $log = slurp_file($node->logfile);
my $terminations = () = $log =~ /terminating background worker "pgscreen receiver" due to administrator command/g;
is($terminations, 2, 'the log shows the two terminations');
# the worker's FATAL names what it interrupted when that was the INSERT of an instance (or its trigger)
my $terminated_mid_store = () = $log =~
  /due to administrator command\n[^\n]*CONTEXT:  (?:[^\n]*\n\t)*SQL statement "INSERT INTO public\.pushed/g;
cmp_ok($terminated_mid_store, '>=', 1, "$terminated_mid_store of them interrupted the INSERT of an instance");
unlike($log, qr/terminated by signal|was terminated by|server process .* exited|reinitializing|PANIC|ERROR/,
	'no crash, no restart of the server, no error');
diag(sprintf('%d instances in 4 series; senders SIGKILLed after 30 and 110 acks, workers terminated after 50 and 140 '
	  . '(%d of 2 while storing); acknowledged before the kills %s; stored then %d; kill phase %.1f s, '
	  . 'resend of all %d in %.1f s', 4 * $per_series, $terminated_mid_store, join('/', @partial), scalar @stored,
	$phase1_seconds, 4 * $per_series, $resend_seconds));
$node->stop;
done_testing();
