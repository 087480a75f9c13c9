# DICOM over TLS (dcmtls, OpenSSL): pacs_echo, pacs_find and pacs_retrieve against an Orthanc that speaks only
# TLS, and the receiver with scp_tls against storescu +tls. Both sides must present a certificate signed by
# the trusted authority: plain connections and certificates from elsewhere are refused.
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
my $corpus = PacsPeers::corpus("$tmp/corpus");

# A test authority, certificates it signs for pgscreen, Orthanc and a modality, and a stranger's.
sub openssl
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'openssl', @_ ], '>', \$out, '2>', \$err) or die "openssl @_: $err";
}
sub authority
{
	my ($name) = @_;
	openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$tmp/$name.key", '-out', "$tmp/$name.crt",
		'-days', '2', '-subj', "/CN=$name");
}
sub certificate
{
	my ($name, $ca) = @_;
	openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$tmp/$name.key", '-out', "$tmp/$name.csr",
		'-subj', "/CN=$name");
	openssl('x509', '-req', '-in', "$tmp/$name.csr", '-CA', "$tmp/$ca.crt", '-CAkey', "$tmp/$ca.key",
		'-CAcreateserial', '-out', "$tmp/$name.crt", '-days', '2');
}
authority('test-ca');
authority('other-ca');
certificate($_, 'test-ca') for qw(pgscreen orthanc modality);
certificate('stranger', 'other-ca');
# pgscreen reads its certificate and key from one PEM file; a second one pairs its certificate with a
# stranger's key
sub pem
{
	my ($name, @parts) = @_;
	open(my $out, '>', "$tmp/$name.pem") or die;
	print $out slurp_file("$tmp/$_") for @parts;
	close $out;
	chmod 0600, "$tmp/$name.pem";
}
pem('pgscreen', 'pgscreen.crt', 'pgscreen.key');
pem('mismatched', 'pgscreen.crt', 'stranger.key');

my $scp_port = PostgreSQL::Test::Cluster::get_free_port();
my $orthanc = PacsPeers::start_orthanc(
	tls => { cert => "$tmp/orthanc.crt", key => "$tmp/orthanc.key", ca => "$tmp/test-ca.crt" });
$orthanc->upload(@{ $corpus->{files} });
my $port = $orthanc->port;

my $node = PacsPeers::node_with_receiver('pacs_tls', q{
CREATE EXTENSION pgscreen;
CREATE ROLE pgscreen_receiver LOGIN;
CREATE TABLE got (sop_instance_uid text PRIMARY KEY, dcm bytea NOT NULL);
CREATE TABLE pushed (sop_instance_uid text PRIMARY KEY, source_aet text, dcm bytea NOT NULL);
GRANT INSERT, SELECT (sop_instance_uid) ON pushed TO pgscreen_receiver;
},
	'pgscreen.scp_port' => $scp_port,
	'pgscreen.scp_listen_addresses' => '127.0.0.1',
	'pgscreen.scp_role' => 'pgscreen_receiver',
	'pgscreen.scp_allowed_aets' => 'MODALITY@127.0.0.1',
	'pgscreen.scp_table' => 'public.pushed',
	'pgscreen.scp_tls' => 'on',
	'pgscreen.tls_cert_file' => "$tmp/pgscreen.pem",
	'pgscreen.tls_ca_file' => "$tmp/test-ca.crt",
	'pgscreen.pacs_acse_timeout' => 5,
	'pgscreen.scp_workers' => 1);

my $pacs = "'127.0.0.1', $port, 'ORTHANC'";
sub sql { return $node->safe_psql('postgres', $_[0]); }
sub sql_error { my ($rc, $out, $err) = $node->psql('postgres', $_[0]); return $err; }

# ---- pgscreen as TLS client of Orthanc
like(sql("SELECT screen.pacs_echo($pacs, options => '{\"tls\": true}') < '10 s'"), qr/^t$/, 'C-ECHO over TLS');
like(sql_error("SELECT screen.pacs_echo($pacs, options => '{\"connect_timeout\": 3, \"acse_timeout\": 3}')"),
	qr/ERROR:  could not connect to the PACS: could not associate with ORTHANC at 127\.0\.0\.1:$port/,
	'a plain connection to a TLS-only PACS fails');
is(sql("SELECT count(*) FROM screen.pacs_find($pacs, 'STUDY', '{\"ModalitiesInStudy\": \"MG\"}', options => '{\"tls\": true}')"),
	'3', 'C-FIND over TLS');
my $study = $corpus->{studies}{mg2018a}{study_instance_uid};
is(sql("SELECT screen.pacs_retrieve($pacs, '{\"StudyInstanceUID\": \"$study\"}', 'got', '{\"tls\": true}')"), '4',
	'C-GET over TLS');
my ($rc, $out) = PacsPeers::check('same', "$tmp/corpus", PacsPeers::export_instances($node, 'SELECT * FROM got'));
is($rc, 0, 'and the instances are intact') or diag($out);

# ---- the receiver as TLS server
my @mg = grep { /mg2018a_/ } @{ $corpus->{files} };
sub storescu_tls
{
	my ($who, @files) = @_;
	return PacsPeers::dcmtk('storescu', '-v', '+tls', "$tmp/$who.key", "$tmp/$who.crt", '+cf', "$tmp/test-ca.crt",
		'-aet', 'MODALITY', '-aec', 'PGSCREEN', '127.0.0.1', $scp_port, @files);
}
($rc, $out) = storescu_tls('modality', @mg);
is($rc, 0, 'storescu +tls with a certificate of the trusted authority stores') or diag($out);
is(sql('SELECT count(*) FROM pushed'), '4', 'all four instances');
($rc, $out) = storescu_tls('stranger', $mg[0]);
isnt($rc, 0, 'a certificate from another authority is refused');
($rc, $out) = PacsPeers::dcmtk('storescu', '-aet', 'MODALITY', '-aec', 'PGSCREEN', '127.0.0.1', $scp_port, $mg[0]);
isnt($rc, 0, 'a plain connection to the TLS receiver is refused');
is(sql('SELECT count(*) FROM pushed'), '4', 'neither stored anything');
like(slurp_file($node->logfile), qr/could not read an association request from 127\.0\.0\.1/, 'the refusals are logged');

# ---- misconfigured TLS is an error that names the file
sql("ALTER SYSTEM SET pgscreen.tls_cert_file = '$tmp/mismatched.pem'; SELECT pg_reload_conf()");
like(sql_error("SELECT screen.pacs_echo($pacs, options => '{\"tls\": true}')"),
	qr/ERROR:  could not connect to the PACS: the TLS private key ".*mismatched\.pem" does not match the certificate ".*mismatched\.pem"/,
	'a key that does not match the certificate');

unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated by/, 'no process crashed');
$node->stop;
$orthanc->stop;
done_testing();
