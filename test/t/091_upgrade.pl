# ALTER EXTENSION pgscreen UPDATE from 0.1.0 keeps models, operating points and jobs, and leaves exactly the
# objects a fresh CREATE EXTENSION makes: same functions (signature, volatility, strictness, parallel safety,
# security, C symbol, comment, privileges), tables and columns, views, policies, types and aggregates.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgscreen'\npgscreen.device = 'cpu'\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('old', q{CREATE EXTENSION pgscreen VERSION '0.1.0'});
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'pgscreen'}), '0.1.0',
	'the released 0.1.0 script installs');

# What a 0.1.0 user has, written as 0.1.0 wrote it (the library installed now is the new one, so the rows are
# made with plain SQL): two versions of a network whose recipe spells "normalisation", an operating point,
# a job in the history.
$node->safe_psql('old', q{
	CREATE TABLE model_file AS
	SELECT screen.model_init('small_cnn', '{"input_height": 64, "input_width": 64, "recipe": {"normalization": "standardize", "preprocess": "none", "preprocess_diameter": 64}}', 7) AS f;
	INSERT INTO screen.models (name, version, owner, kind, architecture, input_height, input_width, input_channels,
	                           normalisation, recipe, operating_points)
	SELECT 'dr', v, 'postgres', 'network', 'small_cnn', 64, 64, 3, 'standardize',
	       '{"architecture": "small_cnn", "normalisation": "standardize", "seed": 7}',
	       '{"high_sensitivity": {"threshold": 0.25, "set_by": "postgres"}}'
	FROM generate_series(1, 2) v;
	INSERT INTO screen.model_weights SELECT m.id, 0, f FROM screen.models m, model_file;
	INSERT INTO screen.jobs (model_name, owner, state, training_query, validation_query, options, recipe,
	                         error, error_sqlstate)
	SELECT 'x', 'postgres', 'failed', 'SELECT 1', 'SELECT 1', '{}', '{}', 'relation "nowhere" does not exist', '42P01';
});

$node->safe_psql('old', 'ALTER EXTENSION pgscreen UPDATE');
my $default = $node->safe_psql('fresh', q{SELECT default_version FROM pg_available_extensions WHERE name = 'pgscreen'});
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'pgscreen'}), $default,
	"ALTER EXTENSION ... UPDATE reaches $default");
is($node->safe_psql('old', "SELECT string_agg(name || ':' || version || ':' || normalization, ',' ORDER BY id) FROM screen.models"),
	'dr:1:standardize,dr:2:standardize', 'the models survive the update, their normalization column renamed');
is($node->safe_psql('old', "SELECT count(*) FROM screen.models WHERE recipe ? 'normalisation' OR NOT recipe ? 'normalization'"), '0',
	'and their recipes spell normalization');

# They score as the same model file does in a fresh install.
my $photos = q{
	CREATE TABLE photos AS
	SELECT id, screen.fundus_preprocess(image, 64) AS img
	FROM screen.synthetic_fundus_set(4, 5, 400, ARRAY[1, 0, 0, 0, 1]::float8[]);
};
$node->safe_psql('fresh', 'CREATE EXTENSION pgscreen');
$node->safe_psql($_, $photos) for ('old', 'fresh');
$node->safe_psql('fresh', q{
	SELECT screen.import_model_file('dr', screen.model_init('small_cnn', '{"input_height": 64, "input_width": 64, "recipe": {"normalization": "standardize", "preprocess": "none", "preprocess_diameter": 64}}', 7));
});
my $scores = $node->safe_psql('fresh', "SELECT string_agg(screen.predict('dr', img)::text, ',' ORDER BY id) FROM photos");
is($node->safe_psql('old', "SELECT string_agg(screen.predict('dr:2', img)::text, ',' ORDER BY id) FROM photos"), $scores,
	'and score exactly as the same model does in a fresh install');
is($node->safe_psql('old', "SELECT screen.threshold('dr', 'high_sensitivity')"), '0.25', 'with their operating points');
is($node->safe_psql('old', "SELECT state || '/' || error_sqlstate FROM screen.jobs"), 'failed/42P01',
	'the job history survives');
cmp_ok($node->safe_psql('old', q{SELECT screen.create_model('dr', '{"architecture": "small_cnn"}')}), '>', 2,
	'new models continue the id sequence');

# The updated schema is the fresh one, object by object.
my $describe = q{
	SELECT line FROM (
		SELECT 'function ' || p.oid::regprocedure || ' -> ' || pg_get_function_result(p.oid)
			|| ' ' || p.provolatile::text || p.proparallel::text || CASE WHEN p.proisstrict THEN ' strict' ELSE '' END
			|| CASE WHEN p.prosecdef THEN ' definer' ELSE '' END || ' ' || coalesce(p.proconfig::text, '')
			|| ' ' || CASE WHEN l.lanname = 'c' THEN p.prosrc ELSE md5(p.prosrc) END
			|| ' ' || coalesce(p.proacl::text, '') || ' -- ' || coalesce(obj_description(p.oid, 'pg_proc'), '') AS line
		FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
		WHERE p.pronamespace = 'screen'::regnamespace
		UNION ALL
		SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' rls=' || c.relrowsecurity
			|| ' ' || coalesce(c.relacl::text, '') || ' -- ' || coalesce(obj_description(c.oid, 'pg_class'), '')
		FROM pg_class c WHERE c.relnamespace = 'screen'::regnamespace
		UNION ALL
		SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
			|| CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
			|| coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
			|| coalesce(' ' || a.attacl::text, '')
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE c.relnamespace = 'screen'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
		UNION ALL
		SELECT 'view ' || c.relname || ' ' || pg_get_viewdef(c.oid)
		FROM pg_class c WHERE c.relnamespace = 'screen'::regnamespace AND c.relkind IN ('v', 'm')
		UNION ALL
		SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
		FROM pg_constraint WHERE connamespace = 'screen'::regnamespace
		UNION ALL
		SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'screen'
		UNION ALL
		SELECT 'policy ' || tablename || ' ' || policyname || ' ' || permissive || ' ' || roles::text || ' '
			|| cmd || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
		FROM pg_policies WHERE schemaname = 'screen'
		UNION ALL
		SELECT 'trigger ' || pg_get_triggerdef(t.oid)
		FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		WHERE c.relnamespace = 'screen'::regnamespace AND NOT t.tgisinternal
		UNION ALL
		SELECT 'type ' || t.typname || ' ' || t.typtype::text || ' ' || t.typinput::text || ' ' || t.typoutput::text
			|| ' ' || t.typreceive::text || ' ' || t.typsend::text
		FROM pg_type t WHERE t.typnamespace = 'screen'::regnamespace
		UNION ALL
		SELECT 'aggregate ' || a.aggfnoid::regprocedure || ' ' || a.aggtransfn::text || ' ' || a.aggfinalfn::text
			|| ' ' || a.aggcombinefn::text || ' ' || a.aggserialfn::text || ' ' || a.aggdeserialfn::text
			|| ' ' || format_type(a.aggtranstype, NULL)
		FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid WHERE p.pronamespace = 'screen'::regnamespace
		UNION ALL
		SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
		FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
		WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'pgscreen' AND d.deptype = 'e'
		UNION ALL
		SELECT 'config ' || unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'pgscreen'
	) objects ORDER BY line COLLATE "C"
};
my @updated = split /\n/, $node->safe_psql('old', $describe);
my @fresh = split /\n/, $node->safe_psql('fresh', $describe);
cmp_ok(scalar(@fresh), '>', 100, 'the schema description lists the extension objects');
my %in_fresh = map { $_ => 1 } @fresh;
my %in_updated = map { $_ => 1 } @updated;
my @missing = grep { !$in_updated{$_} } @fresh;
my @extra = grep { !$in_fresh{$_} } @updated;
is_deeply(\@missing, [], 'the update creates every object a fresh install has');
is_deeply(\@extra, [], 'and leaves nothing a fresh install lacks');

$node->stop;
done_testing();
