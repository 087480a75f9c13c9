# pacs_echo and pacs_find against a real Orthanc: what C-FIND returns is exactly what Orthanc holds (checked
# against Orthanc's REST API and dcmtk's findscu), at every level, in both models, with wildcards, date
# ranges, UID lists and the result limit; bad queries and bad peers are clear errors.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IO::Socket::INET;
use POSIX ();
use JSON::PP;
use PacsPeers;

my $corpus = PacsPeers::corpus(PostgreSQL::Test::Utils::tempdir() . '/corpus');
my $orthanc = PacsPeers::start_orthanc();
is($orthanc->upload(@{ $corpus->{files} }), 17, 'the corpus is loaded into Orthanc through its REST API');
my $port = $orthanc->port;

my $node = PostgreSQL::Test::Cluster->new('pacs_query');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgscreen');

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub sql_error
{
	my ($query) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY default\n$query");
	return $rc == 0 ? '' : $err;
}

my $pacs = "'127.0.0.1', $port, 'ORTHANC'";

# ---- verification
like(sql("SELECT screen.pacs_echo($pacs) > '0'::interval AND screen.pacs_echo($pacs) < '10 s'"), qr/^t$/,
	'pacs_echo returns the round-trip time');
like(sql_error("SELECT screen.pacs_echo('127.0.0.1', $port, 'NOT_ORTHANC')"),
	qr/ERROR:  could not connect to the PACS: association rejected by NOT_ORTHANC at 127\.0\.0\.1:$port \(permanent\): called AE title not recognized/,
	'a wrong called AE title: the rejection and its reason');
my $closed = PostgreSQL::Test::Cluster::get_free_port();
like(sql_error("SELECT screen.pacs_echo('127.0.0.1', $closed, 'ORTHANC')"),
	qr/ERROR:  could not connect to the PACS: could not associate with ORTHANC at 127\.0\.0\.1:$closed: .*(refused|Refused)/,
	'nobody listening: connection refused');
like(sql_error("SET pgscreen.pacs_allowed_destinations = '127.0.0.1, 192.0.2.0/24'; SELECT screen.pacs_echo('192.0.2.1', 104, 'ORTHANC', options => '{\"connect_timeout\": 1}')"),
	qr/ERROR:  could not connect to the PACS: could not associate with ORTHANC at 192\.0\.2\.1:104/,
	'an unreachable address fails within the connect timeout');
# A service that is not a PACS: the error says so and does not quote what it answered.
{
	my $listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1, ReuseAddr => 1)
	  or die "could not listen: $!";
	my $other = $listener->sockport;
	my $child = fork();
	if ($child == 0)
	{
		my $peer = $listener->accept;
		print $peer "SSH-2.0-OpenSSH_9.2 secret-banner\r\n";
		sleep 2;
		POSIX::_exit(0);	# not exit: the test framework's END blocks would stop the server

	}
	my $error = sql_error("SELECT screen.pacs_echo('127.0.0.1', $other, 'ORTHANC')");
	waitpid($child, 0);
	like($error, qr/could not connect to the PACS: could not associate with ORTHANC at 127\.0\.0\.1:$other: the peer's answer is not valid DICOM/,
		'a peer that does not speak DICOM is named as such');
	unlike($error, qr/SSH|secret|\b53\b|\b83\b/, 'and nothing it sent appears in the error');
}
like(sql_error("SELECT screen.pacs_echo($pacs, 'PGSCREEN', '{\"retries\": 3}')"),
	qr/ERROR:  unknown option "retries" for screen.pacs_echo\nDETAIL:  Valid options: connect_timeout, acse_timeout, dimse_timeout, max_pdu, tls\./,
	'unknown options are listed');

# ---- C-FIND compared with Orthanc's own answer
sub uids
{
	my ($level, $query, $options) = @_;
	my $tag = { STUDY => '0020000D', SERIES => '0020000E', IMAGE => '00080018', PATIENT => '00100020' }->{$level};
	$options //= '{}';
	return join(',', sort split(/\n/, sql(
		"SELECT j->'$tag'->'Value'->>0 FROM screen.pacs_find($pacs, '$level', '$query', options => '$options') j")));
}

sub rest_uids
{
	my ($level, $query, $field) = @_;
	my $found = $orthanc->rest_find($level, $query);
	return join(',', sort map { $_->{MainDicomTags}{$field} // $_->{PatientMainDicomTags}{$field} } @$found);
}

my %study_of = map { $_ => $corpus->{studies}{$_}{study_instance_uid} } keys %{ $corpus->{studies} };
is(uids('STUDY', '{"ModalitiesInStudy": "MG", "StudyDate": "20180101-20181231"}'),
	join(',', sort @study_of{qw(mg2018a mg2018b)}), 'the MG studies of 2018: exactly the two the corpus has');
is(uids('STUDY', '{"ModalitiesInStudy": "MG", "StudyDate": "20180101-20181231"}'),
	rest_uids('Study', { ModalitiesInStudy => 'MG', StudyDate => '20180101-20181231' }, 'StudyInstanceUID'),
	'and the same as Orthanc\'s REST /tools/find');
is(uids('STUDY', '{}'), join(',', sort values %study_of), 'every study with an empty query');
is(uids('STUDY', '{"StudyDate": "-20171231"}'), $study_of{mg2017}, 'open date range before');
is(uids('STUDY', '{"StudyDate": "20190101-"}'), $study_of{cr2019}, 'open date range after');
is(uids('STUDY', '{"StudyDate": "20180505"}'), $study_of{ct2018}, 'a single date');
is(uids('STUDY', qq({"StudyInstanceUID": ["$study_of{mr2018}", "$study_of{cr2019}"]})),
	join(',', sort @study_of{qw(mr2018 cr2019)}), 'a list of UIDs (array in the query)');
is(uids('STUDY', '{"PatientName": "PHI^B*"}'), join(',', sort @study_of{qw(mg2018b mg2017)}), 'wildcard *');
is(uids('STUDY', '{"PatientID": "PHI-PAT-00?", "ModalitiesInStudy": "CT"}'), $study_of{ct2018}, 'wildcard ?');
is(uids('PATIENT', '{}'), 'PHI-PAT-001,PHI-PAT-002,PHI-PAT-003', 'patient level (patient-root model)');
is(uids('STUDY', '{"PatientID": "PHI-PAT-003"}', '{"model": "patient"}'),
	join(',', sort @study_of{qw(ct2018 mr2018)}), 'study level in the patient-root model');
is(uids('SERIES', qq({"StudyInstanceUID": "$study_of{mg2018a}"})),
	rest_uids('Series', { StudyInstanceUID => $study_of{mg2018a} }, 'SeriesInstanceUID'), 'series level');
is(uids('IMAGE', '{"PatientID": "PHI-PAT-*"}'), join(',', sort map { @{ $_->{instances} } } values %{ $corpus->{studies} },
		{ instances => [ $corpus->{non_image}{sop_instance_uid} ] }),
	'image level: all 17 instances');

# what a match carries: DICOM JSON with the default return keys and any asked for
my $match = decode_json(sql("SELECT j FROM screen.pacs_find($pacs, 'STUDY', '{\"AccessionNumber\": \"PHIACCMG2017\", \"StudyDescription\": null}') j"));
is($match->{'00100010'}{Value}[0]{Alphabetic}, 'PHI^BEATRICE', 'a match is DICOM JSON: person names as Alphabetic');
is($match->{'00081030'}{Value}[0], 'Screening of PHI^BEATRICE', 'a return key asked for with null comes back');
is($match->{'00201208'}{Value}[0], 2, 'the default return keys include the number of instances');

# findscu, an independent DICOM client, finds the same studies
my ($rc, $out) = PacsPeers::dcmtk('findscu', '-S', '-aec', 'ORTHANC', '-k', 'QueryRetrieveLevel=STUDY',
	'-k', 'ModalitiesInStudy=MG', '-k', 'StudyInstanceUID', '127.0.0.1', $port);
my @findscu = sort($out =~ /\(0020,000d\) UI \[([0-9.]+)[\0 ]?\]/g);
is(join(',', @findscu), uids('STUDY', '{"ModalitiesInStudy": "MG"}'), 'findscu agrees on the MG studies');

# ---- the limit is honoured and said
($rc, $out, my $err) = $node->psql('postgres', "SELECT count(*) FROM screen.pacs_find($pacs, 'IMAGE', '{}', options => '{\"limit\": 5}')");
is($out, '5', 'options.limit: five matches of seventeen');
like($err, qr/WARNING:  pacs_find returned the first 5 matches; 127\.0\.0\.1:$port has more/, 'and a warning says so');
($rc, $out, $err) = $node->psql('postgres', "SET pgscreen.pacs_find_limit = 17; SELECT count(*) FROM screen.pacs_find($pacs, 'IMAGE', '{}')");
is($out, '17', 'exactly as many matches as the limit: all of them');
is($err, '', 'and no warning');

# ---- bad queries: clear errors before anything is sent
like(sql_error("SELECT screen.pacs_find($pacs, 'STUDY', '{\"PatientIdentifier\": \"1\"}')"),
	qr/ERROR:  invalid query: unknown DICOM attribute "PatientIdentifier" in query/, 'unknown keyword');
like(sql_error("SELECT screen.pacs_find($pacs, 'STUDY', '{\"StudyDate\": \"2018-01-01\"}')"),
	qr/ERROR:  invalid query: StudyDate must be a date YYYYMMDD or a range YYYYMMDD-YYYYMMDD, -YYYYMMDD or YYYYMMDD-, not "2018-01-01"/,
	'a date in the wrong format');
like(sql_error("SELECT screen.pacs_find($pacs, 'STUDY', '{\"StudyInstanceUID\": \"1.2.*\"}')"),
	qr/ERROR:  invalid query: StudyInstanceUID must be a UID or a list of UIDs separated by backslashes, without wildcards/,
	'a wildcard in a UID');
like(sql_error("SELECT screen.pacs_find($pacs, 'STUDY', '{\"ModalitiesInStudy\": \"mg\"}')"),
	qr/ERROR:  invalid query: value "mg" is not valid for ModalitiesInStudy \(VR CS allows upper-case letters, digits, space and underscore\)/,
	'a lower-case code string');
like(sql_error("SELECT screen.pacs_find($pacs, 'STUDY', '{\"PatientID\": true}')"),
	qr/ERROR:  query value of "PatientID" must be a string, a number, an array of them or null, not a boolean/,
	'a value of the wrong JSON type');
like(sql_error("SELECT screen.pacs_find($pacs, 'STUDY', '[1]')"),
	qr/ERROR:  query must be a JSON object of DICOM keywords or tags and values/, 'a query that is not an object');
like(sql_error("SELECT screen.pacs_find($pacs, 'VOLUME', '{}')"),
	qr/ERROR:  invalid query\/retrieve level "VOLUME"\nHINT:  Use PATIENT, STUDY, SERIES or IMAGE\./, 'an unknown level');
like(sql_error("SELECT screen.pacs_find($pacs, 'PATIENT', '{}', options => '{\"model\": \"study\"}')"),
	qr/ERROR:  the study-root model has no PATIENT level/, 'the patient level in the study-root model');
like(sql_error("SELECT screen.pacs_find($pacs, 'STUDY', '{}', options => '{\"limit\": 0}')"),
	qr/ERROR:  option "limit" of screen.pacs_find must be an integer from 1 to 2147483647/, 'a limit of 0');
like(sql_error("SELECT screen.pacs_find($pacs, 'STUDY', '{}', 'A_VERY_LONG_AE_TITLE')"),
	qr/ERROR:  could not connect to the PACS: calling AE title "A_VERY_LONG_AE_TITLE" is longer than 16 characters/,
	'an AE title longer than 16 characters');
like(sql_error("SELECT screen.pacs_find($pacs, 'STUDY', '{}', options => '{\"tls\": true}')"),
	qr/ERROR:  DICOM TLS needs pgscreen.tls_cert_file and pgscreen.tls_ca_file/,
	'TLS without certificates configured');

# ---- only roles an administrator allows may open network connections from the server
$node->safe_psql('postgres', 'CREATE ROLE analyst LOGIN');
like(sql_error("SET ROLE analyst; SELECT screen.pacs_echo($pacs)"),
	qr/ERROR:  permission denied for function pacs_echo/, 'EXECUTE is not granted to PUBLIC');
$node->safe_psql('postgres', 'GRANT EXECUTE ON FUNCTION screen.pacs_find(text, int, text, text, jsonb, text, jsonb) TO analyst');
is($node->safe_psql('postgres', "SET ROLE analyst; SELECT count(*) FROM screen.pacs_find($pacs, 'PATIENT', '{}')"), '3',
	'after GRANT EXECUTE the analyst can query');

# ---- nothing crashed, Orthanc answered every association cleanly
unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated/, 'no backend died');
is(sql("SELECT count(*) FROM screen.pacs_activity WHERE kind = 'retrieve'"), '0', 'no retrieval left behind in pacs_activity');
$node->stop;
$orthanc->stop;
done_testing();
