# A barrage of corrupt images through every image function: each fails with an error, none crashes the
# backend, and the server never restarts.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('bad_input');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgscreen');
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

# A valid 24×16 PNG and NPY made in SQL from scratch, then every prefix and many byte flips of each.
my $setup = q{
CREATE TABLE seeds AS
SELECT 'npy' AS kind, decode('934e554d505901007600' || encode(convert_to(
         rpad('{''descr'': ''|u1'', ''fortran_order'': False, ''shape'': (16, 24, 3), }', 117) || E'\n',
         'UTF8'), 'hex'), 'hex') || decode(repeat('7f', 16 * 24 * 3), 'hex') AS img;
INSERT INTO seeds SELECT 'png', screen.to_png(img) FROM seeds;
INSERT INTO seeds SELECT 'png-scaled', screen.to_png(img, 0, 2) FROM seeds WHERE kind = 'npy';
};
$node->safe_psql('postgres', $setup);
is($node->safe_psql('postgres', "SELECT string_agg(kind || ':' || (screen.image_info(img)).width, ',' ORDER BY kind) FROM seeds"),
	'npy:24,png:24,png-scaled:12', 'seed images decode');

my $barrage = q{
DO $$
DECLARE
  s record; bad bytea; errors int := 0; accepted int := 0; f text;
BEGIN
  FOR s IN SELECT img FROM seeds LOOP
    FOR i IN 0 .. length(s.img) - 1 LOOP
      FOREACH f IN ARRAY ARRAY['image_info', 'to_npy', 'to_png', 'tensor_info'] LOOP
        -- every strict prefix, and the image with byte i flipped
        FOREACH bad IN ARRAY ARRAY[substr(s.img, 1, i), set_byte(s.img, i, get_byte(s.img, i) # 165)] LOOP
          BEGIN
            EXECUTE format('SELECT screen.%I($1)', f) USING bad;
            accepted := accepted + 1;
          EXCEPTION WHEN others THEN
            errors := errors + 1;
          END;
        END LOOP;
      END LOOP;
    END LOOP;
  END LOOP;
  RAISE NOTICE 'barrage: % errors, % accepted', errors, accepted;
END $$;
};
my ($rc, $out, $err) = $node->psql('postgres', $barrage);
is($rc, 0, 'the barrage ran to the end in one session');
like($err, qr/barrage: (\d+) errors/, "corrupt inputs were reported as errors ($err)");

# Random bytes behind each format's signature.
my $random = q{
DO $$
DECLARE errors int := 0; sig bytea;
BEGIN
  PERFORM setseed(0.42);
  FOREACH sig IN ARRAY ARRAY['\xffd8ffe0'::bytea, '\x89504e470d0a1a0a'::bytea, '\x934e554d505901007600'::bytea,
                             '\x'::bytea] LOOP
    FOR i IN 1 .. 300 LOOP
      BEGIN
        PERFORM screen.to_npy(sig || (SELECT string_agg(decode(lpad(to_hex((random() * 255)::int), 2, '0'), 'hex'), ''::bytea)
                                     FROM generate_series(1, 1 + (random() * 400)::int)));
      EXCEPTION WHEN others THEN errors := errors + 1;
      END;
    END LOOP;
  END LOOP;
  RAISE NOTICE 'random: % errors of 1200', errors;
END $$;
};
($rc, $out, $err) = $node->psql('postgres', $random);
is($rc, 0, 'random data after valid signatures: the session survives');
like($err, qr/random: 1200 errors of 1200/, 'and every one is an error');

is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started, 'the server never restarted');
unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated/, 'no backend died');
$node->stop;
done_testing();
