# The storage receiver with dcmtk's storescu/echoscu and a misbehaving raw sender as peers: a series lands
# whole and exactly once, only allowed AE titles and addresses get in, non-image classes are refused unless
# allowed, garbage, stalls, dropped connections and a killed sender leave only complete instances, failures
# are answered as failures, and the postmaster restarts the workers.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use PacsPeers;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $corpus = PacsPeers::corpus("$tmp/corpus");
my $large = PacsPeers::corpus("$tmp/large", '--large', '8');
my @loads = map { PacsPeers::corpus("$tmp/load$_", '--bulk', '30', '--series', "C$_") } 1 .. 3;
my $load_uids = join(',', map { "'$_'" } map { @{ $_->{uids} } } @loads);
my @images = grep { !/_sr\.dcm$/ } @{ $corpus->{files} };
# storescu proposes uncompressed syntaxes unless told: the JPEG 2000 series goes with -xw (propose J2K)
my @j2k = grep { /mg2018b_/ } @images;
my @plain = grep { !/mg2018b_/ } @images;
my $sr = $corpus->{non_image}{file};

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $node = PacsPeers::node_with_receiver('pacs_receiver', q{
CREATE EXTENSION pgscreen;
CREATE ROLE pgscreen_receiver LOGIN;
CREATE TABLE pushed (sop_instance_uid text PRIMARY KEY, study_instance_uid text, series_instance_uid text,
                     sop_class_uid text, source_aet text, received_at timestamptz NOT NULL, dcm bytea NOT NULL);
GRANT INSERT, SELECT (sop_instance_uid) ON pushed TO pgscreen_receiver;
},
	'pgscreen.scp_port' => $port,
	'pgscreen.scp_listen_addresses' => '127.0.0.1',
	'pgscreen.scp_role' => 'pgscreen_receiver',
	'pgscreen.scp_aet' => 'PGSCREEN',
	'pgscreen.scp_allowed_aets' => 'STORESCU@127.0.0.1, OTHERHOST@192.0.2.7',
	'pgscreen.scp_table' => 'public.pushed',
	'pgscreen.scp_workers' => 3,
	'pgscreen.pacs_dimse_timeout' => 3,
	'pgscreen.pacs_acse_timeout' => 3);

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub receivers
{
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 3 FROM screen.pacs_activity WHERE kind = 'receiver' AND state = 'listening'");
}
ok(receivers(), 'three receiver workers listen');
is(sql("SELECT DISTINCT role FROM screen.pacs_activity WHERE kind = 'receiver'"), 'pgscreen_receiver',
	'as the configured role');

sub storescu
{
	my ($aet, @files) = @_;
	return PacsPeers::dcmtk('storescu', '-v', '-aet', $aet, '-aec', 'PGSCREEN', '127.0.0.1', $port, @files);
}

sub store_all
{
	my ($rc1, $out1) = storescu('STORESCU', @plain);
	my ($rc2, $out2) = PacsPeers::dcmtk('storescu', '-xw', '-aet', 'STORESCU', '-aec', 'PGSCREEN', '127.0.0.1', $port, @j2k);
	return ($rc1 || $rc2, "$out1$out2");
}

# ---- a series lands whole, exactly once
my ($rc, $out) = PacsPeers::dcmtk('echoscu', '-aet', 'STORESCU', '-aec', 'PGSCREEN', '127.0.0.1', $port);
is($rc, 0, 'echoscu gets an answer to C-ECHO') or diag($out);
($rc, $out) = store_all();
is($rc, 0, 'storescu sends the 16 images of the corpus (JPEG 2000 ones as they are)') or diag($out);
is(sql('SELECT count(*) FROM pushed'), '16', 'every file is in the table as soon as storescu returns');
my $expected = join(',', sort map { @{ $_->{instances} } } values %{ $corpus->{studies} });
is(sql("SELECT string_agg(sop_instance_uid, ',' ORDER BY sop_instance_uid COLLATE \"C\") FROM pushed"), $expected,
	'each exactly once');
is(sql("SELECT count(*) FROM pushed WHERE source_aet = 'STORESCU'"), '16', 'with the calling AE title');
($rc, $out) = PacsPeers::check('same', "$tmp/corpus", PacsPeers::export_instances($node, 'SELECT * FROM pushed'));
is($rc, 0, 'each stored instance parses and equals the file sent (pydicom)') or diag($out);
($rc, $out) = store_all();
is($rc, 0, 'sending the same files again is answered with success');
is(sql('SELECT count(*) FROM pushed'), '16', 'and stores nothing twice');
is(sql("SELECT sum(stored) || ' ' || sum(duplicates) FROM screen.pacs_activity WHERE kind = 'receiver'"), '16 16',
	'pacs_activity counts stored and duplicate instances');

# ---- only allowed peers get in
($rc, $out) = storescu('INTRUDER', $images[0]);
isnt($rc, 0, 'an unknown calling AE title is refused');
like($out, qr/Association Rejected:.*\n.*Rejected Permanent, Source: Service User\n.*Reason: Calling AE Title Not Recognized/,
	'with "calling AE title not recognized"');
($rc, $out) = storescu('OTHERHOST', $images[0]);
like($out, qr/Calling AE Title Not Recognized/, 'an allowed AE title calling from another address than its own is refused');
($rc, $out) = PacsPeers::dcmtk('storescu', '-aet', 'STORESCU', '-aec', 'SOMEONE', '127.0.0.1', $port, $images[0]);
like($out, qr/Reason: Called AE Title Not Recognized/, 'a wrong called AE title is refused');
sql("ALTER SYSTEM SET pgscreen.scp_allowed_aets = 'STORESCU\@192.0.2.7'; SELECT pg_reload_conf()");
usleep(500_000);
($rc, $out) = storescu('STORESCU', $images[0]);
isnt($rc, 0, 'no entry for the address: the connection is closed before any DICOM is read');
sql("ALTER SYSTEM RESET pgscreen.scp_allowed_aets; SELECT pg_reload_conf()");
usleep(500_000);
my $log = slurp_file($node->logfile);
like($log, qr/rejected an association from INTRUDER\@127\.0\.0\.1: calling AE title not in pgscreen\.scp_allowed_aets/,
	'the refusal is logged');
like($log, qr/refused a connection from 127\.0\.0\.1: no entry of pgscreen\.scp_allowed_aets admits this address/,
	'so is the address refusal');
is(sql("SELECT sum(refused) >= 4 FROM screen.pacs_activity WHERE kind = 'receiver'"), 't', 'and counted');

# ---- non-image classes are refused unless allowed
($rc, $out) = storescu('STORESCU', $sr);
like($out, qr/No presentation context for: \(SRc\)/, 'an SR is refused by default (no presentation context)');
is(sql("SELECT count(*) FROM pushed WHERE sop_instance_uid = '$corpus->{non_image}{sop_instance_uid}'"), '0', 'and not stored');
sql("ALTER SYSTEM SET pgscreen.scp_accept_non_images = on; SELECT pg_reload_conf()");
usleep(500_000);
($rc, $out) = storescu('STORESCU', $sr);
is($rc, 0, 'with pgscreen.scp_accept_non_images the SR is accepted') or diag($out);
is(sql("SELECT sop_class_uid FROM pushed WHERE sop_instance_uid = '$corpus->{non_image}{sop_instance_uid}'"),
	'1.2.840.10008.5.1.4.1.1.88.33', 'and stored');

# ---- misbehaving peers: nothing partial is stored, everyone else is still served
like(PacsPeers::raw_sender('garbage', '127.0.0.1', $port), qr/result: garbage sent, connection closed/,
	'garbage instead of an association request: connection closed');
my $victim = $loads[0]{files}[0];
like(PacsPeers::raw_sender('partial', '127.0.0.1', $port, 'STORESCU', 'PGSCREEN', $victim),
	qr/result: dropped .* half way/, 'a sender that drops the connection half way through an instance');
like(PacsPeers::raw_sender('stall', '127.0.0.1', $port, 'STORESCU', 'PGSCREEN', $victim, 30),
	qr/result: receiver (sent PDU type 7|closed the connection) after [345] s/,
	'a sender that stalls mid-instance is aborted after the DIMSE timeout');
like(PacsPeers::raw_sender('silent', '127.0.0.1', $port, 5), qr/silent/, 'a connection that never asks for an association');
is(sql('SELECT count(*) FROM pushed'), '17', 'none of them stored anything');
like(PacsPeers::raw_sender('store', '127.0.0.1', $port, 'STORESCU', 'PGSCREEN', $victim),
	qr/result: stored .* with status 0x0000/, 'the same instance sent properly is stored');
$log = slurp_file($node->logfile);
like($log, qr/could not read an association request from 127\.0\.0\.1/, 'the garbage is logged');
like($log, qr/lost the association with STORESCU\@127\.0\.0\.1 after 0 instances/, 'the dropped and stalled senders are logged');
like($log, qr/dropped a connection from 127\.0\.0\.1 that sent no association request/, 'the silent one too');

# ---- killing the sender mid-series leaves only complete instances
my $kill_out = '';
my $sender = IPC::Run::start([ 'storescu', '-aet', 'STORESCU', '-aec', 'PGSCREEN', '127.0.0.1', $port, @{ $large->{files} } ],
	'>', \$kill_out, '2>&1');
$node->poll_query_until('postgres', "SELECT count(*) >= 2 FROM pushed WHERE source_aet = 'STORESCU' AND sop_class_uid = '1.2.840.10008.5.1.4.1.1.1.2' AND dcm IS NOT NULL AND length(dcm) > 8000000")
  or die 'no large instance arrived';
$sender->signal('KILL');
$sender->finish;
my $landed = sql("SELECT count(*) FROM pushed WHERE length(dcm) > 8000000");
cmp_ok($landed, '<', 8, "the sender was killed mid-series ($landed of 8 large instances landed)");
($rc, $out) = PacsPeers::check('same', "$tmp/large",
	PacsPeers::export_instances($node, 'SELECT * FROM pushed WHERE length(dcm) > 8000000'));
is($rc, 0, 'every instance in the table is complete and equal to what was sent') or diag($out);

# ---- several associations at once
my @senders = map {
	my $o = '';
	[ IPC::Run::start([ 'storescu', '-aet', 'STORESCU', '-aec', 'PGSCREEN', '127.0.0.1', $port, @{ $_->{files} } ],
		'>', \$o, '2>&1'), \$o ]
} @loads;
my $all_ok = 1;
for my $s (@senders)
{
	$s->[0]->finish;
	$all_ok &&= $s->[0]->result(0) == 0;
}
ok($all_ok, 'three storescu processes send 30 instances each at the same time');
is(sql("SELECT count(*) || ' ' || count(DISTINCT sop_instance_uid) FROM pushed WHERE study_instance_uid IN (SELECT study_instance_uid FROM pushed WHERE sop_instance_uid IN ($load_uids))"),
	'90 90', 'all 90 arrived, each once');
is(sql("SELECT count(*) FROM screen.pacs_activity WHERE kind = 'receiver' AND associations > 0"), '3',
	'the associations were spread over the workers');

# ---- failures are answered as failures, never success
sql('REVOKE INSERT ON pushed FROM pgscreen_receiver');
($rc, $out) = storescu('STORESCU', $loads[0]{files}[1]);
like($out, qr/Received Store Response \(Refused: OutOfResources\)/, 'an instance that cannot be stored is answered with A700')
  or diag($out);
like(slurp_file($node->logfile), qr/could not store instance .* from STORESCU\@127\.0\.0\.1: permission denied for table pushed/,
	'the reason is logged');
sql('GRANT INSERT ON pushed TO pgscreen_receiver');

# ---- the postmaster restarts the receiver
my $before = sql("SELECT string_agg(pid::text, ',' ORDER BY pid) FROM screen.pacs_activity WHERE kind = 'receiver'");
my ($one) = split /,/, $before;
sql("SELECT pg_terminate_backend($one)");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 3 AND bool_and(pid <> $one) FROM screen.pacs_activity WHERE kind = 'receiver'"),
	'a terminated receiver worker is started again by the postmaster');
$node->restart;
ok(receivers(), 'after a server restart the receiver workers listen again');
($rc, $out) = storescu('STORESCU', $loads[0]{files}[2]);
is($rc, 0, 'and store what they are sent') or diag($out);

# ---- the receiver will not run as a superuser
my $su = PostgreSQL::Test::Cluster->new('pacs_receiver_su');
my $su_port = PostgreSQL::Test::Cluster::get_free_port();
$su->init;
$su->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'\npgscreen.scp_port = $su_port\npgscreen.scp_role = 'postgres'\npgscreen.scp_workers = 1\n");
$su->start;
ok($su->wait_for_log(qr/pgscreen receiver not started: pgscreen\.scp_role "postgres" is a superuser/),
	'a superuser role is refused');
$su->stop;

unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated by/, 'no process crashed');
$node->stop;
done_testing();
