# Awkward and hostile photographs through the preprocessing functions: odd formats work, non-fundus images
# are ungradable (an error, or NULL on request), corrupt bytes are errors, and no backend ever crashes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('preprocess_bad_input');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgscreen');
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

# Photographs in the formats cameras and archives produce, made with Pillow (Debian's python3-pil).
my $dir = PostgreSQL::Test::Utils::tempdir;
my $made = system('/usr/bin/python3', '-c', <<'PY', $dir);
import sys, numpy as np
from PIL import Image
out = sys.argv[1]
def fundus(w, h, cx, cy, r):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rho = np.hypot(x - cx, y - cy) / r
    img = np.stack([210 - 90 * rho ** 2, 95 - 45 * rho ** 2, 40 - 20 * rho ** 2], -1)
    img *= np.clip((1 - rho) * r + 0.5, 0, 1)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)
rgb = fundus(900, 700, 450, 350, 320)
Image.fromarray(rgb).convert('L').save(f'{out}/grey.jpg', quality=90)
Image.fromarray(rgb).convert('CMYK').save(f'{out}/cmyk.jpg', quality=90)
Image.fromarray(rgb).save(f'{out}/progressive.jpg', quality=85, progressive=True)
Image.fromarray((rgb[:, :, 0].astype(np.uint16) * 257)).save(f'{out}/grey16.png')
Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])).save(f'{out}/rgba.png')
Image.fromarray(rgb).quantize(64).save(f'{out}/palette.png')
Image.fromarray(fundus(3000, 400, 1500, 200, 340)).save(f'{out}/wide.jpg', quality=90)  # odd aspect, clipped
rng = np.random.default_rng(1)
Image.fromarray(rng.integers(40, 255, (600, 800, 3), dtype=np.uint8)).save(f'{out}/not_a_fundus.jpg')
sq = np.zeros((600, 800, 3), np.uint8); sq[100:500, 200:600] = 200
Image.fromarray(sq).save(f'{out}/square.png')
Image.fromarray(np.zeros((480, 640, 3), np.uint8)).save(f'{out}/black.jpg')
Image.fromarray(fundus(40, 30, 20, 15, 14)).save(f'{out}/tiny.jpg')
Image.fromarray(fundus(1, 1, 0, 0, 1)).save(f'{out}/one_pixel.png')
PY
is($made, 0, 'test photographs written');

sub hex_of
{
	my ($name) = @_;
	open(my $fh, '<:raw', "$dir/$name") or die "$name: $!";
	local $/;
	my $bytes = <$fh>;
	close $fh;
	return '\\x' . unpack('H*', $bytes);
}

$node->safe_psql('postgres', 'CREATE TABLE inputs (name text PRIMARY KEY, img bytea)');
for my $name (qw(grey.jpg cmyk.jpg progressive.jpg grey16.png rgba.png palette.png wide.jpg not_a_fundus.jpg
	square.png black.jpg tiny.jpg one_pixel.png))
{
	$node->safe_psql('postgres', "INSERT INTO inputs VALUES ('$name', '" . hex_of($name) . "')");
}

# Formats: each preprocesses to a 299×299×3 tensor with the fundus where it was drawn (radius 320, or 340).
for my $name (qw(grey.jpg cmyk.jpg progressive.jpg grey16.png rgba.png palette.png wide.jpg))
{
	my $row = $node->safe_psql('postgres', qq{
		SELECT (screen.tensor_info(screen.fundus_preprocess(img))).shape, round(c.radius), c.gradable
		FROM inputs, screen.fundus_circle(img) c WHERE name = '$name'});
	my $radius = $name eq 'wide.jpg' ? '34[01]' : '32[01]';
	like($row, qr/^\{299,299,3\}\|$radius\|t$/, "$name: preprocessed, radius found ($row)");
}
# grey in, grey out: R = G = B in every pixel of the tensor (its data follows the NPY header). The CTE is
# materialised so the photograph is preprocessed once, not once per pixel.
is($node->safe_psql('postgres', q{
	WITH t AS MATERIALIZED (SELECT p, 10 + get_byte(p, 8) + 256 * get_byte(p, 9) AS o
	                        FROM (SELECT screen.fundus_preprocess(img) AS p FROM inputs WHERE name = 'grey.jpg') s)
	SELECT count(*) FILTER (WHERE get_byte(p, o + 3 * i) <> get_byte(p, o + 3 * i + 1)
	                           OR get_byte(p, o + 3 * i) <> get_byte(p, o + 3 * i + 2)) || ' of ' || count(*)
	FROM t, generate_series(0, 299 * 299 - 1) i}), '0 of 89401', 'a grey photograph gives a grey tensor');

# Not fundus photographs: ungradable, with the reason; NULL when asked.
for my $case (['not_a_fundus.jpg', qr/no round edge/], ['square.png', qr/no round edge/],
	['black.jpg', qr/no bright region/], ['tiny.jpg', qr/radius of \d+\.\d pixels/], ['one_pixel.png', qr/no bright region|radius of/])
{
	my ($name, $why) = @$case;
	my ($rc, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT screen.fundus_preprocess(img) FROM inputs WHERE name = '$name'");
	like($err, qr/ERROR:  22000: no gradable fundus in the photograph/, "$name: ungradable, SQLSTATE 22000");
	like($err, $why, "$name: and why");
	is($node->safe_psql('postgres',
		"SELECT screen.fundus_preprocess(img, ungradable => 'null') IS NULL FROM inputs WHERE name = '$name'"),
		't', "$name: NULL with ungradable => 'null'");
}

# Corrupt bytes: every prefix (in steps) and many byte flips of a real photograph, through every function.
$node->safe_psql('postgres', q{INSERT INTO inputs VALUES ('seed', screen.synthetic_fundus(5, 3, 480))});
my $barrage = q{
DO $$
DECLARE
  src bytea := (SELECT img FROM inputs WHERE name = 'seed');
  bad bytea; errors int := 0; accepted int := 0; f text;
BEGIN
  FOR i IN 0 .. length(src) - 1 BY 37 LOOP
    FOREACH f IN ARRAY ARRAY['fundus_preprocess', 'fundus_circle', 'normalize', 'augment'] LOOP
      FOREACH bad IN ARRAY ARRAY[substr(src, 1, i), set_byte(src, i, get_byte(src, i) # 90)] LOOP
        BEGIN
          IF f = 'augment' THEN
            EXECUTE 'SELECT screen.augment($1, 1)' USING bad;
          ELSE
            EXECUTE format('SELECT screen.%I($1)', f) USING bad;
          END IF;
          accepted := accepted + 1;
        EXCEPTION WHEN others THEN
          errors := errors + 1;
        END;
      END LOOP;
    END LOOP;
  END LOOP;
  RAISE NOTICE 'barrage: % errors, % accepted', errors, accepted;
END $$;
};
my ($rc, $out, $err) = $node->psql('postgres', $barrage);
is($rc, 0, 'the corrupt-photograph barrage ran to the end in one session');
like($err, qr/barrage: [1-9]\d* errors, \d+ accepted/, "corrupt photographs were reported as errors ($err)");

is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started, 'the server never restarted');
unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated/, 'no backend died');
$node->stop;
done_testing();
