# The real peers of the PACS tests: Orthanc (Debian's package) as a loopback PACS with its own temporary
# configuration and storage, the test corpus, dcmtk's command-line tools, and a raw DICOM sender that
# misbehaves on purpose.
package PacsPeers;

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use MIME::Base64;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

# The Python helpers live in test/t/pacs, which travels with this module when the tests are copied.
our $tools = abs_path(dirname(__FILE__)) . '/pacs';

# Write the corpus (pacs/corpus.py) into $dir; returns its manifest.
sub corpus
{
	my ($dir, @args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ '/usr/bin/python3', "$tools/corpus.py", $dir, @args ], '>', \$out, '2>', \$err)
	  or die "corpus.py failed: $err";
	return decode_json($out);
}

# Start Orthanc in the foreground on free loopback ports. Options: aet, move_port (where it sends C-MOVE
# sub-operations for AE PGSCREEN), tls => {cert, key, ca}.
sub start_orthanc
{
	my (%opt) = @_;
	my $self = bless {}, 'PacsPeers';
	my $dir = PostgreSQL::Test::Utils::tempdir();
	$self->{dir} = $dir;
	$self->{aet} = $opt{aet} // 'ORTHANC';
	$self->{dicom_port} = PostgreSQL::Test::Cluster::get_free_port();
	$self->{http_port} = PostgreSQL::Test::Cluster::get_free_port();
	my %config = (
		Name => 'pgscreen-test',
		StorageDirectory => "$dir/storage",
		IndexDirectory => "$dir/storage",
		HttpPort => $self->{http_port},
		DicomPort => $self->{dicom_port},
		DicomAet => $self->{aet},
		DicomCheckCalledAet => JSON::PP::true,
		RemoteAccessAllowed => JSON::PP::false,
		AuthenticationEnabled => JSON::PP::false,
		DicomAlwaysAllowFind => JSON::PP::true,
		DicomAlwaysAllowGet => JSON::PP::true,
		DicomAlwaysAllowMove => JSON::PP::true,
		Plugins => [],
		DicomModalities => {},);
	$config{DicomModalities}{pgscreen} = [ 'PGSCREEN', '127.0.0.1', $opt{move_port} ] if $opt{move_port};
	if ($opt{tls})
	{
		$config{DicomTlsEnabled} = JSON::PP::true;
		$config{DicomTlsCertificate} = $opt{tls}{cert};
		$config{DicomTlsPrivateKey} = $opt{tls}{key};
		$config{DicomTlsTrustedCertificates} = $opt{tls}{ca};
		$config{DicomTlsRemoteCertificateRequired} = JSON::PP::true;
	}
	open(my $fh, '>', "$dir/orthanc.json") or die;
	print $fh encode_json(\%config);
	close $fh;
	$self->{log} = "$dir/orthanc.log";
	# dcmtk (inside Orthanc too) leaves Nagle's algorithm on unless TCP_NODELAY is set; with it on, every
	# C-STORE sub-operation waits for a delayed ACK (40 ms).
	local $ENV{TCP_NODELAY} = 1;
	$self->{handle} = IPC::Run::start([ '/usr/sbin/Orthanc', "$dir/orthanc.json" ], '>', $self->{log}, '2>&1');
	$self->{http} = HTTP::Tiny->new(timeout => 30);
	for (1 .. 300)
	{
		my $res = $self->{http}->get("http://127.0.0.1:$self->{http_port}/system");
		return $self if $res->{success};
		usleep(100_000);
	}
	die "Orthanc did not start: " . slurp_file($self->{log});
}

sub port { return $_[0]->{dicom_port}; }
sub aet { return $_[0]->{aet}; }
sub log_text { return slurp_file($_[0]->{log}); }

# POST the files to Orthanc's REST API; dies unless each is stored.
sub upload
{
	my ($self, @files) = @_;
	for my $file (@files)
	{
		my $res = $self->{http}->post("http://127.0.0.1:$self->{http_port}/instances",
			{ content => slurp_file($file), headers => { 'Content-Type' => 'application/dicom' } });
		die "Orthanc refused $file: $res->{status} $res->{content}" unless $res->{success};
	}
	return scalar(@files);
}

# Orthanc's own answer to a query (its REST /tools/find), as an independent reference for C-FIND.
sub rest_find
{
	my ($self, $level, $query) = @_;
	my $res = $self->{http}->post("http://127.0.0.1:$self->{http_port}/tools/find",
		{ content => encode_json({ Level => $level, Query => $query, Expand => JSON::PP::true }) });
	die "Orthanc /tools/find failed: $res->{status} $res->{content}" unless $res->{success};
	return decode_json($res->{content});
}

sub statistics
{
	my ($self) = @_;
	my $res = $self->{http}->get("http://127.0.0.1:$self->{http_port}/statistics");
	return decode_json($res->{content});
}

sub stop
{
	my ($self) = @_;
	return unless $self->{handle};
	$self->{handle}->signal('TERM');
	$self->{handle}->finish;
	delete $self->{handle};
}

sub DESTROY { $_[0]->stop; }

# Run a dcmtk tool with a timeout; returns (exit code, combined output).
sub dcmtk
{
	my (@cmd) = @_;
	my $out = '';
	local $ENV{TCP_NODELAY} = 1;
	my $h = IPC::Run::start(\@cmd, '>', \$out, '2>&1', IPC::Run::timeout(120));
	$h->finish;
	return ($h->result(0), $out);
}

# A server with pgscreen preloaded whose receiver starts once setup_sql has created its role and tables
# (settings: pgscreen.* => value). Returns the node with every receiver worker listening.
# The setup of the receiver's load tests: the receiving role and a table it may only insert into (and read the
# UIDs of, for ON CONFLICT).
our $PUSHED_TABLE_SQL = q{
CREATE EXTENSION pgscreen;
CREATE ROLE pgscreen_receiver LOGIN;
CREATE TABLE pushed (sop_instance_uid text PRIMARY KEY, series_instance_uid text, received_at timestamptz,
                     dcm bytea NOT NULL);
GRANT INSERT, SELECT (sop_instance_uid) ON pushed TO pgscreen_receiver;
};

sub node_with_receiver
{
	my ($name, $setup_sql, %settings) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'\n");
	$node->start;
	$node->safe_psql('postgres', $setup_sql);
	$node->append_conf('postgresql.conf',
		join('', map { my $v = $settings{$_} =~ s/'/''/gr; "$_ = '$v'\n" } sort keys %settings));
	$node->restart;
	my $workers = $settings{'pgscreen.scp_workers'} // 4;
	$node->poll_query_until('postgres',
		"SELECT count(*) = $workers FROM screen.pacs_activity WHERE kind = 'receiver' AND state = 'listening'")
	  or die "the receiver workers did not start:\n" . slurp_file($node->logfile);
	return $node;
}

# Write the dcm column of a table (or query) out as files named by SOP Instance UID; returns the directory.
sub export_instances
{
	my ($node, $query) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my $rows = $node->safe_psql('postgres',
		"SELECT sop_instance_uid || ' ' || translate(encode(dcm, 'base64'), E'\\n', '') FROM ($query) q");
	for my $line (split /\n/, $rows)
	{
		my ($uid, $data) = split / /, $line, 2;
		open(my $fh, '>:raw', "$dir/$uid.dcm") or die;
		print $fh MIME::Base64::decode_base64($data);
		close $fh;
	}
	return $dir;
}

# check.py same|leaks ...: (exit code, output).
sub check
{
	my (@args) = @_;
	my $out = '';
	IPC::Run::run([ '/usr/bin/python3', "$tools/check.py", @args ], '>', \$out, '2>&1');
	return ($? >> 8, $out);
}

# Run the misbehaving sender (pacs/raw_sender.py); returns its output.
sub raw_sender
{
	my (@args) = @_;
	my $out = '';
	IPC::Run::run([ '/usr/bin/python3', "$tools/raw_sender.py", @args ], '>', \$out, '2>&1',
		IPC::Run::timeout(180));
	return $out;
}

1;
