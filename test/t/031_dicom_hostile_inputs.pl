# DICOM objects built to hurt: thousands of identifiers against megabytes of free text stay linear and can
# be cancelled; zero padding after the last element is read as other readers do while garbage is refused;
# and an object de-identification could not write back validly is refused instead of returned broken.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('dicom_hostile');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgscreen; SELECT screen.deid_create_key()');
my $dir = PostgreSQL::Test::Utils::tempdir;

# ---- a little DICOM writer: explicit VR little endian, Part 10 ----
my %long_vr = map { $_ => 1 } qw(OB OD OF OL OV OW SQ UC UN UR UT);
sub element
{
	my ($group, $elem, $vr, $value) = @_;
	$value .= ($vr eq 'UI' || $vr =~ /^O/ ? "\0" : ' ') if length($value) % 2;
	return pack('vva2vV', $group, $elem, $vr, 0, length $value) . $value if $long_vr{$vr};
	return pack('vva2v', $group, $elem, $vr, length $value) . $value;
}
sub item { return pack('vvV', 0xFFFE, 0xE000, length $_[0]) . $_[0] }
sub part10
{
	my ($dataset) = @_;
	my $meta = element(0x0002, 0x0001, 'OB', "\0\1") . element(0x0002, 0x0002, 'UI', '1.2.840.10008.5.1.4.1.1.7')
	  . element(0x0002, 0x0003, 'UI', '1.2.826.0.1.3680043.2.1125.77.1') . element(0x0002, 0x0010, 'UI', '1.2.840.10008.1.2.1');
	return ("\0" x 128) . 'DICM' . element(0x0002, 0x0000, 'UL', pack('V', length $meta)) . $meta . $dataset;
}
sub header_elements
{
	return element(0x0008, 0x0016, 'UI', '1.2.840.10008.5.1.4.1.1.7') . element(0x0008, 0x0018, 'UI', '1.2.826.0.1.3680043.2.1125.77.1')
	  . element(0x0008, 0x0060, 'CS', 'OT') . element(0x0010, 0x0010, 'PN', 'DOE^JANE') . element(0x0010, 0x0020, 'LO', 'MRN0000001');
}
sub save
{
	my ($name, $bytes) = @_;
	open(my $fh, '>:raw', "$dir/$name") or die "$dir/$name: $!";
	print $fh $bytes;
	close $fh;
	return "$dir/$name";
}

# n Other Patient IDs (in the sequence and in the retired multi-valued attribute) and three free-text fields
# of text_bytes each, written as UT: what the Clean Descriptors Option scrubs of every identifier.
sub identifier_flood
{
	my ($n, $text_bytes) = @_;
	my $items = join('', map { item(element(0x0010, 0x0020, 'LO', sprintf('OPID%06d', $_))) } 1 .. $n);
	my $words = join(' ', map { sprintf('seen at site %d for OPID%06d', $_, $_ * 7 % $n + 1) } 1 .. 200);
	my $text = substr($words x (int($text_bytes / length($words)) + 1), 0, $text_bytes);
	return part10(header_elements() . element(0x0010, 0x1000, 'UT', join('\\', map { sprintf('ALT%06d', $_) } 1 .. $n))
		  . element(0x0010, 0x1002, 'SQ', $items) . element(0x0010, 0x4000, 'UT', $text)
		  . element(0x0020, 0x4000, 'UT', $text) . element(0x0032, 0x4000, 'UT', $text));
}

$node->safe_psql('postgres', 'CREATE TABLE objects (name text PRIMARY KEY, dcm bytea)');
sub load
{
	my ($name, $bytes) = @_;
	my $path = save($name, $bytes);
	$node->safe_psql('postgres', "INSERT INTO objects VALUES ('$name', pg_read_binary_file('$path'))");
}
sub timed
{
	my ($sql) = @_;
	my $start = time;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return ($rc, $out, $err, time - $start);
}

# ---- identifiers against free text: linear, and a statement timeout stops it ----
load('flood', identifier_flood(20000, 2 << 20));
cmp_ok($node->safe_psql('postgres', "SELECT length(dcm) FROM objects WHERE name = 'flood'"), '>', 6_000_000,
	'an object of 20,000 Other Patient IDs and three 2 MB texts');
my ($rc, $out, $err, $seconds) = timed(
	"SELECT string_agg(keyword || ' ' || action || ' ' || preview, ', ' ORDER BY keyword) FROM objects,
	 screen.dicom_phi_report(dcm, '{\"clean_descriptors\": true}') WHERE name = 'flood' AND keyword LIKE 'Other%'");
is($rc, 0, 'phi report with clean_descriptors succeeds') or diag($err);
like($out, qr/OtherPatientIDsSequence X 20000 item\(s\)/, "it reports the identifiers ($out)");
cmp_ok($seconds, '<', 10, sprintf('phi report took %.1f s, not minutes', $seconds));
($rc, $out, $err, $seconds) = timed(q{
SELECT position('OPID000008'::bytea IN d) = 0 AND position('seen at site'::bytea IN d) > 0 AND screen.dicom_json(d)::text <> ''
FROM (SELECT screen.dicom_anonymize(dcm, '{"clean_descriptors": true}') AS d FROM objects WHERE name = 'flood') s});
is($out, 't', 'de-identified: identifiers scrubbed from free text, the result re-reads') or diag($err);
cmp_ok($seconds, '<', 10, sprintf('de-identification took %.1f s', $seconds));

# A call that would run for many seconds stops inside the kernel when the statement times out.
load('deluge', identifier_flood(200000, 40 << 20));
($rc, $out, $err, my $full) = timed(
	"SELECT count(*) FROM objects, screen.dicom_phi_report(dcm, '{\"clean_descriptors\": true}') WHERE name = 'deluge'");
is($rc, 0, sprintf('the larger object completes uninterrupted in %.1f s', $full)) or diag($err);
my $limit_ms = int($full * 1000 / 8);
($rc, $out, $err, $seconds) = timed("SET statement_timeout = $limit_ms;
SELECT count(*) FROM objects, screen.dicom_phi_report(dcm, '{\"clean_descriptors\": true}') WHERE name = 'deluge'");
like($err, qr/57014: canceling statement due to statement timeout/, "statement_timeout of $limit_ms ms cancels it (57014)");
cmp_ok($seconds, '<', $full / 2, sprintf('cancelled after %.1f s of %.1f s', $seconds, $full));
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server carries on');

# ---- trailing zero padding, as dcmtk, pydicom and GDCM accept it; garbage is still refused ----
my $mr_path = '/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm';
open(my $mr_fh, '<:raw', $mr_path) or die "$mr_path: $!";
my $mr = do { local $/; <$mr_fh> };
close $mr_fh;
load('padded', $mr . ("\0" x 1001));
load('garbage', $mr . "\0\0\0\0PGSCREEN");
my $padded_out = save('padded-anonymized.dcm', '');
$node->safe_psql('postgres', "COPY (SELECT encode(screen.dicom_anonymize(dcm), 'hex') FROM objects WHERE name = 'padded') TO '$padded_out.hex'");
is($node->safe_psql('postgres', q{
SELECT screen.dicom_value(screen.dicom_anonymize(dcm), 'Rows') || '/' || length(screen.dicom_json(screen.dicom_anonymize(dcm))::text) / 1000
FROM objects WHERE name = 'padded'}) =~ /^64\/\d+$/ ? 1 : 0, 1, 'a real MR slice with 1,001 zero bytes after Pixel Data de-identifies and re-reads');
is($node->safe_psql('postgres', q{
SELECT action || ' ' || preview FROM objects, screen.dicom_phi_report(dcm) WHERE name = 'padded' AND preview LIKE '%zero bytes%'}),
	'X 1001 zero bytes after the last element', 'the phi report says the padding is dropped');
is($node->safe_psql('postgres', q{
SELECT screen.dicom_json(a) = screen.dicom_json(b) FROM
  (SELECT screen.dicom_anonymize(dcm) AS a FROM objects WHERE name = 'padded') p,
  (SELECT screen.dicom_anonymize(pg_read_binary_file('} . $mr_path . q{')) AS b) q}), 't',
	'padding changes nothing else: the same result as the unpadded file');
SKIP:
{
	skip 'no pydicom', 1 unless system('/usr/bin/python3', '-c', 'import pydicom') == 0;
	my $check = qq{
import binascii, io, pydicom
raw = binascii.unhexlify(open('$padded_out.hex').read().strip())
ds = pydicom.dcmread(io.BytesIO(raw))
assert ds.Rows == 64 and len(ds.PixelData) == 64 * 64 * 2, ds
print('read', len(ds))};
	is(system('/usr/bin/python3', '-c', $check), 0, 'pydicom reads the de-identified padded slice in full');
}
($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT screen.dicom_anonymize(dcm) FROM objects WHERE name = 'garbage'");
like($err, qr/22P03: .*invalid VR/, 'bytes other than zeros after the last element are refused (22P03)');

# ---- what cannot be written back validly is refused: Pixel Data OD of undefined length ----
my $od_pixels = pack('vva2vV', 0x7FE0, 0x0010, 'OD', 0, 0xFFFFFFFF) . item('') . item("\1" x 16) . pack('vvV', 0xFFFE, 0xE0DD, 0);
load('od_pixels', part10(header_elements() . element(0x0028, 0x0002, 'US', pack('v', 1)) . $od_pixels));
($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT screen.dicom_anonymize(dcm) FROM objects WHERE name = 'od_pixels'");
like($err, qr/22P03: /, 'Pixel Data of VR OD and undefined length is refused (22P03), not turned into an unreadable object');

done_testing();
