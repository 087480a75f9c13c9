/* Carrying a model between servers: export_model's bundle, import_model, and a model's SHA-256. */
#include "../pgscreen.h"
#include "../train/jobs.h"
#include "models.h"
#include "../options.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "../../kernels/dicom/hmac_sha256.h"
#include "../../kernels/nn/model_file.h"

PG_FUNCTION_INFO_V1(pgscreen_export_model);
PG_FUNCTION_INFO_V1(pgscreen_import_model);
PG_FUNCTION_INFO_V1(pgscreen_model_sha256);

/*
 * A bundle is the magic, the bundle format (uint32, little-endian), the length of the header (uint32), the
 * header (a JSON object: the screen.models row without what is local to a server — id, owner, job, creation
 * time — plus the model file's SHA-256) and the model file itself.
 */
static const uint8 bundle_magic[8] = {0x89, 'P', 'G', 'S', 'M', 'D', 'L', '\n'};

#define BUNDLE_FORMAT 1
#define BUNDLE_PREFIX_BYTES 16

#define SHA256_HEX_BYTES (2 * PGS_SHA256_BYTES)

/* The SHA-256 of data as NUL-terminated lower-case hex. */
static void
sha256_hex(const uint8 *data, size_t len, char hex[SHA256_HEX_BYTES + 1])
{
	pgs_sha256	ctx;
	uint8		digest[PGS_SHA256_BYTES];

	pgs_sha256_init(&ctx);
	pgs_sha256_update(&ctx, data, len);
	pgs_sha256_final(&ctx, digest);
	hex_encode((const char *) digest, PGS_SHA256_BYTES, hex);
	hex[SHA256_HEX_BYTES] = '\0';
}

static void
put_uint32_le(uint8 *p, uint32 v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static uint32
get_uint32_le(const uint8 *p)
{
	return (uint32) p[0] | ((uint32) p[1] << 8) | ((uint32) p[2] << 16) | ((uint32) p[3] << 24);
}

/* The network a caller names, refusing ensembles (they have no model file of their own). */
static ModelRef *
resolve_network(const char *spec, const char *hint)
{
	ModelRef   *m = pgscreen_model_resolve(spec);

	if (m->kind != MODEL_NETWORK)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s:%d\" is an ensemble and has no weights of its own", m->name, m->version),
				 errhint("%s", hint)));
	return m;
}

Datum
pgscreen_export_model(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(pgscreen_required_text(fcinfo, 0, "name"));
	ModelRef   *m;
	bytea	   *weights;
	size_t		weights_len;
	char		sha[SHA256_HEX_BYTES + 1];
	char	   *header;
	size_t		header_len;
	bytea	   *bundle;
	uint8	   *p;

	if (!PG_ARGISNULL(1) && PG_GETARG_INT32(1) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model version must be positive, not %d", PG_GETARG_INT32(1))));
	pgscreen_model_check_name(name);
	m = resolve_network(PG_ARGISNULL(1) ? name : psprintf("%s:%d", name, PG_GETARG_INT32(1)),
						"Export its member networks, import them, and make the ensemble there with screen.ensemble().");
	weights = pgscreen_model_weights(m->id);
	weights_len = VARSIZE(weights) - VARHDRSZ;
	sha256_hex((const uint8 *) VARDATA(weights), weights_len, sha);

	SPI_connect();
	if (SPI_execute_with_args("SELECT ((pg_catalog.to_jsonb(m) - '{id,owner,job_id,members,created_at}'::text[]) "
							  "|| pg_catalog.jsonb_build_object('sha256', $2::text))::text "
							  "FROM screen.models m WHERE m.id = $1",
							  2, (Oid[]) {INT8OID, TEXTOID}, (Datum[]) {Int64GetDatum(m->id), CStringGetTextDatum(sha)},
							  NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "model " INT64_FORMAT " vanished", m->id);
	header = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	header_len = strlen(header);
	if ((Size) BUNDLE_PREFIX_BYTES + header_len + weights_len > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model \"%s:%d\" is too large to export as one bytea value", m->name, m->version)));
	bundle = SPI_palloc(VARHDRSZ + BUNDLE_PREFIX_BYTES + header_len + weights_len);
	SET_VARSIZE(bundle, VARHDRSZ + BUNDLE_PREFIX_BYTES + header_len + weights_len);
	p = (uint8 *) VARDATA(bundle);
	memcpy(p, bundle_magic, sizeof(bundle_magic));
	put_uint32_le(p + 8, BUNDLE_FORMAT);
	put_uint32_le(p + 12, (uint32) header_len);
	memcpy(p + BUNDLE_PREFIX_BYTES, header, header_len);
	memcpy(p + BUNDLE_PREFIX_BYTES + header_len, VARDATA(weights), weights_len);
	SPI_finish();
	PG_RETURN_BYTEA_P(bundle);
}

static void
bad_bundle(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid model bundle"),
			 errdetail("%s", detail),
			 errhint("A model bundle is what screen.export_model() returns.")));
}

/* What the header of a bundle says, as checked against the model file it carries. */
typedef struct BundleHeader
{
	char	   *name;
	int			version;
	char	   *kind;
	char	   *architecture;
	int			input_height;
	int			input_width;
	int			input_channels;
	char	   *sha256;
} BundleHeader;

/* Read the header's fields with PostgreSQL's own JSON parser (SPI connected, as the catalog owner). */
static void
read_header(const char *json, BundleHeader *h)
{
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	if (SPI_execute_with_args("SELECT r.name, r.version, r.kind, r.architecture, r.input_height, r.input_width, "
							  "r.input_channels, h->>'sha256' "
							  "FROM (SELECT $1::pg_catalog.jsonb AS h) x, "
							  "pg_catalog.jsonb_populate_record(NULL::screen.models, x.h) r",
							  1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(json)}, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the model bundle's header");
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	h->name = SPI_getvalue(t, d, 1);
	h->version = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
	if (isnull)
		h->version = 0;
	h->kind = SPI_getvalue(t, d, 3);
	h->architecture = SPI_getvalue(t, d, 4);
	h->input_height = DatumGetInt32(SPI_getbinval(t, d, 5, &isnull));
	h->input_width = DatumGetInt32(SPI_getbinval(t, d, 6, &isnull));
	h->input_channels = DatumGetInt32(SPI_getbinval(t, d, 7, &isnull));
	h->sha256 = SPI_getvalue(t, d, 8);
	if (h->name == NULL || h->version <= 0 || h->kind == NULL || h->sha256 == NULL)
		bad_bundle("The header lacks the model's name, version, kind or SHA-256.");
	if (strcmp(h->kind, "network") != 0 || h->architecture == NULL)
		bad_bundle("Only networks travel in bundles.");
}

/*
 * The id of the model already stored as name:version, or 0. The same weights, owned by a role whose
 * privileges the caller has, make importing again a no-op, so a distribution can simply be run again.
 */
static int64
existing_copy(const BundleHeader *h, Oid importer)
{
	bool		isnull;
	int64		id;
	Oid			owner;
	char		sha[SHA256_HEX_BYTES + 1];
	bytea	   *weights;

	if (SPI_execute_with_args("SELECT id, owner::oid FROM screen.models WHERE name = $1 AND version = $2",
							  2, (Oid[]) {TEXTOID, INT4OID},
							  (Datum[]) {CStringGetTextDatum(h->name), Int32GetDatum(h->version)},
							  NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up model \"%s:%d\"", h->name, h->version);
	if (SPI_processed == 0)
		return 0;
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	weights = pgscreen_model_weights(id);
	sha256_hex((const uint8 *) VARDATA(weights), VARSIZE(weights) - VARHDRSZ, sha);
	if (strcmp(sha, h->sha256) != 0 || !has_privs_of_role(importer, owner))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" version %d already exists on this server", h->name, h->version),
				 strcmp(sha, h->sha256) != 0
				 ? errdetail("Its weights have SHA-256 %s, the bundle's %s.", sha, h->sha256)
				 : errdetail("It belongs to a role whose privileges you do not have.")));
	ereport(NOTICE,
			(errmsg("model \"%s\" version %d is already on this server with the same weights", h->name,
					h->version)));
	return id;
}

Datum
pgscreen_import_model(PG_FUNCTION_ARGS)
{
	bytea	   *bundle = PG_GETARG_BYTEA_PP(0);
	const uint8 *p = (const uint8 *) VARDATA_ANY(bundle);
	size_t		len = VARSIZE_ANY_EXHDR(bundle);
	uint32		header_len;
	const uint8 *weights;
	size_t		weights_len;
	char		sha[SHA256_HEX_BYTES + 1];
	pgs_model_info *info = palloc(sizeof(pgs_model_info));
	pgs_error	err;
	BundleHeader h;
	CatalogAccess access;
	Oid			importer = GetUserId();
	int64		id;
	bool		isnull;

	if (len < BUNDLE_PREFIX_BYTES || memcmp(p, bundle_magic, sizeof(bundle_magic)) != 0)
		bad_bundle("The data does not start with a model bundle's magic number.");
	if (get_uint32_le(p + 8) != BUNDLE_FORMAT)
		bad_bundle(psprintf("The bundle has format %u; this pgscreen reads format %d.", get_uint32_le(p + 8),
							BUNDLE_FORMAT));
	header_len = get_uint32_le(p + 12);
	if (header_len > len - BUNDLE_PREFIX_BYTES)
		bad_bundle("The bundle is shorter than its header says.");
	weights = p + BUNDLE_PREFIX_BYTES + header_len;
	weights_len = len - BUNDLE_PREFIX_BYTES - header_len;
	sha256_hex(weights, weights_len, sha);
	pgs_error_clear(&err);
	pgscreen_check(pgs_model_read_info(weights, weights_len, info, &err), &err, "invalid model bundle");

	pgscreen_catalog_enter(&access);
	SPI_connect();
	read_header(pnstrdup((const char *) p + BUNDLE_PREFIX_BYTES, header_len), &h);
	pgscreen_model_check_name(h.name);
	if (strcmp(h.sha256, sha) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model bundle of \"%s\" version %d is corrupt", h.name, h.version),
				 errdetail("Its weights have SHA-256 %s, its header records %s.", sha, h.sha256)));
	if (strcmp(h.architecture, pgs_arch_name(info->config.arch)) != 0 ||
		h.input_height != info->config.in_height || h.input_width != info->config.in_width ||
		h.input_channels != info->config.in_channels)
		bad_bundle("The header's architecture or input size differs from the model file's.");
	/* The lock pgscreen_model_insert takes: a training that ends now cannot take this version number. */
	if (SPI_execute_with_args("SELECT pg_advisory_xact_lock(hashtext('pgscreen model ' || $1))", 1,
							  (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(h.name)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock the model name");
	id = existing_copy(&h, importer);
	if (id == 0)
	{
		if (SPI_execute_with_args("INSERT INTO screen.models (name, version, owner, kind, architecture, "
								  "input_height, input_width, input_channels, preprocess, normalization, recipe, "
								  "training_query, training_rows, validation_query, validation_rows, metrics, "
								  "operating_points, weights_bytes) "
								  "SELECT r.name, r.version, $2::regrole, r.kind, r.architecture, r.input_height, "
								  "r.input_width, r.input_channels, r.preprocess, r.normalization, r.recipe, "
								  "r.training_query, r.training_rows, r.validation_query, r.validation_rows, r.metrics, "
								  "coalesce(r.operating_points, '{}'), $3 "
								  "FROM jsonb_populate_record(NULL::screen.models, $1::jsonb) r RETURNING id",
								  3, (Oid[]) {TEXTOID, OIDOID, INT8OID},
								  (Datum[]) {CStringGetTextDatum(pnstrdup((const char *) p + BUNDLE_PREFIX_BYTES,
																		 header_len)),
								  ObjectIdGetDatum(importer), Int64GetDatum((int64) weights_len)},
								  NULL, false, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not insert the model");
		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		pgscreen_model_insert_weights(id, weights, weights_len);
	}
	SPI_finish();
	pgscreen_catalog_leave(&access);
	PG_RETURN_INT64(id);
}

Datum
pgscreen_model_sha256(PG_FUNCTION_ARGS)
{
	ModelRef   *m = resolve_network(text_to_cstring(PG_GETARG_TEXT_PP(0)),
									"Compare the checksums of its members.");
	bytea	   *weights = pgscreen_model_weights(m->id);
	char		sha[SHA256_HEX_BYTES + 1];

	sha256_hex((const uint8 *) VARDATA(weights), VARSIZE(weights) - VARHDRSZ, sha);
	PG_RETURN_TEXT_P(cstring_to_text(sha));
}
