/* SQL functions for DICOM de-identification: options from jsonb, the key from screen.deid_keys, the calls. */
#include "../pgscreen.h"
#include "../options.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "../../kernels/dicom/dicom.h"

PG_FUNCTION_INFO_V1(pgscreen_dicom_anonymize);
PG_FUNCTION_INFO_V1(pgscreen_dicom_quarantine_reason);
PG_FUNCTION_INFO_V1(pgscreen_dicom_phi_report);
PG_FUNCTION_INFO_V1(pgscreen_dicom_pseudonyms);
PG_FUNCTION_INFO_V1(pgscreen_deid_create_key);

/*
 * Where the key lives (README "De-identification keys"): in screen.deid_keys, readable only by members of
 * the role pgscreen_deid (and superusers). Keys are made inside the server by deid_create_key() from
 * pg_strong_random, so they never appear in SQL text, logs or pg_settings; no function returns one.
 * dicom_anonymize reads the key as the calling user, so an analyst without the role gets a permission
 * error rather than unkeyed pseudonyms. Each call site caches the key for the duration of its query.
 */
#define DEFAULT_KEY_NAME "default"
#define KEY_BYTES 32

static const char *const deid_keys[] = {
	"retain_safe_private", "retain_uids", "retain_device_identity", "retain_institution_identity",
	"retain_patient_characteristics", "retain_longitudinal", "clean_descriptors", "clean_structured_content",
	"clean_graphics", "clean_pixels", "burned_in_annotation", "quarantine_patient_protocol", "keep", "modalities",
	"key", NULL
};

typedef struct KeyCache
{
	Oid			user;
	char		name[NAMEDATALEN];
	uint8		key[PGS_DEID_KEY_MAX];
	size_t		key_len;
} KeyCache;

/* Parse the options object of `function`; the key name it names (or "default") goes to *key_name. */
static void
parse_options(Jsonb *jb, const char *function, pgs_deid_options *opts, char **key_name)
{
	static const char *const dates[] = {"full", "modified", "none", NULL};
	static const pgs_deid_longitudinal date_values[] = {PGS_DEID_DATES_FULL, PGS_DEID_DATES_MODIFIED, PGS_DEID_DATES_REMOVE};
	static const char *const burned_in[] = {"quarantine", "reject", "allow", "clean", NULL};
	static const pgs_deid_burned_in burned_in_values[] = {PGS_DEID_BURNED_IN_QUARANTINE, PGS_DEID_BURNED_IN_REJECT,
	PGS_DEID_BURNED_IN_ALLOW, PGS_DEID_BURNED_IN_CLEAN};
	OptionsReader reader;
	List	   *list;
	ListCell   *lc;
	int			choice;

	pgs_deid_options_init(opts);
	*key_name = DEFAULT_KEY_NAME;
	options_begin_jsonb(&reader, jb, function, deid_keys);
	(void) options_get_bool(&reader, "retain_safe_private", &opts->retain_safe_private);
	(void) options_get_bool(&reader, "retain_uids", &opts->retain_uids);
	(void) options_get_bool(&reader, "retain_device_identity", &opts->retain_device_identity);
	(void) options_get_bool(&reader, "retain_institution_identity", &opts->retain_institution_identity);
	(void) options_get_bool(&reader, "retain_patient_characteristics", &opts->retain_patient_characteristics);
	(void) options_get_bool(&reader, "clean_descriptors", &opts->clean_descriptors);
	(void) options_get_bool(&reader, "clean_structured_content", &opts->clean_structured_content);
	(void) options_get_bool(&reader, "clean_graphics", &opts->clean_graphics);
	(void) options_get_bool(&reader, "clean_pixels", &opts->clean_pixels);
	(void) options_get_bool(&reader, "quarantine_patient_protocol", &opts->quarantine_patient_protocol);
	/* JSON null means "none", as absent does. */
	if (options_get_enum(&reader, "retain_longitudinal", dates, &choice))
		opts->longitudinal = date_values[choice];
	if (options_get_enum(&reader, "burned_in_annotation", burned_in, &choice))
		opts->burned_in = burned_in_values[choice];
	if (options_get_text_array(&reader, "keep", &list))
		foreach(lc, list)
		{
			pgs_error	err;

			if (opts->n_keep >= PGS_DEID_MAX_KEEP)
				options_wrong_type(&reader, "keep", psprintf("an array of at most %d attributes", PGS_DEID_MAX_KEEP));
			pgs_error_clear(&err);
			pgscreen_check(pgs_dicom_parse_tag(lfirst(lc), &opts->keep[opts->n_keep], &err), &err,
						   psprintf("invalid attribute in option \"keep\" of %s", function));
			opts->n_keep++;
		}
	if (options_get_text_array(&reader, "modalities", &list))
		foreach(lc, list)
		{
			const char *modality = lfirst(lc);

			if (opts->n_modalities >= PGS_DEID_MAX_MODALITIES || strlen(modality) == 0 || strlen(modality) > 16)
				options_wrong_type(&reader, "modalities",
								   psprintf("an array of 1 to %d modalities of 1 to 16 characters", PGS_DEID_MAX_MODALITIES));
			strlcpy(opts->modalities[opts->n_modalities++], modality, sizeof(opts->modalities[0]));
		}
	if (options_get_text(&reader, "key", key_name) && (strlen(*key_name) == 0 || strlen(*key_name) >= NAMEDATALEN))
		options_wrong_type(&reader, "key", "the name of a key in screen.deid_keys");
}

/* Read the named key as the calling user, once per call site and query. */
static void
load_key(FunctionCallInfo fcinfo, const char *name, pgs_deid_options *opts)
{
	KeyCache   *cache = fcinfo->flinfo->fn_extra;
	Oid			keys_table;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	bytea	   *key;

	if (cache != NULL && cache->user == GetUserId() && strcmp(cache->name, name) == 0)
	{
		memcpy(opts->key, cache->key, cache->key_len);
		opts->key_len = cache->key_len;
		return;
	}
	keys_table = get_relname_relid("deid_keys", get_namespace_oid("screen", false));
	if (!OidIsValid(keys_table))
		elog(ERROR, "table screen.deid_keys is missing");
	if (pg_class_aclcheck(keys_table, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for the de-identification keys"),
				 errdetail("Keyed pseudonyms need the key in screen.deid_keys, readable only by members of pgscreen_deid."),
				 errhint("Ask an administrator to GRANT pgscreen_deid TO %s.",
						 quote_identifier(GetUserNameFromId(GetUserId(), false)))));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = CStringGetTextDatum(name);
	if (SPI_execute_with_args("SELECT key FROM screen.deid_keys WHERE name = $1", 1, argtypes, args, NULL, true, 1)
		!= SPI_OK_SELECT)
		elog(ERROR, "could not read screen.deid_keys");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("de-identification key \"%s\" does not exist", name),
				 errhint("A member of pgscreen_deid creates one with SELECT screen.deid_create_key(%s).",
						 quote_literal_cstr(name))));
	key = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || VARSIZE_ANY_EXHDR(key) < 16 || VARSIZE_ANY_EXHDR(key) > PGS_DEID_KEY_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("de-identification key \"%s\" must be 16 to %d bytes", name, PGS_DEID_KEY_MAX)));
	opts->key_len = VARSIZE_ANY_EXHDR(key);
	memcpy(opts->key, VARDATA_ANY(key), opts->key_len);
	SPI_finish();

	cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(KeyCache));
	cache->user = GetUserId();
	strlcpy(cache->name, name, sizeof(cache->name));
	memcpy(cache->key, opts->key, opts->key_len);
	cache->key_len = opts->key_len;
	fcinfo->flinfo->fn_extra = cache;
}

static void
options_from_args(FunctionCallInfo fcinfo, pgs_deid_options *opts, bool need_key)
{
	char	   *key_name;

	parse_options(PG_GETARG_JSONB_P(1), options_function_name(fcinfo), opts, &key_name);
	if (need_key)
		load_key(fcinfo, key_name, opts);
}

Datum
pgscreen_dicom_anonymize(PG_FUNCTION_ARGS)
{
	bytea	   *dcm = PG_GETARG_BYTEA_PP(0);
	pgs_deid_options opts;
	PgscreenAllocator file;
	uint8_t    *out;
	size_t		out_len;
	char		reason[512];
	pgs_error	err;
	pgs_status	st;

	options_from_args(fcinfo, &opts, true);
	pgscreen_allocator_init(&file, true);
	pgs_error_clear(&err);
	st = pgs_dicom_anonymize((const uint8_t *) VARDATA_ANY(dcm), VARSIZE_ANY_EXHDR(dcm), &opts, &file.base, &out,
							 &out_len, reason, sizeof(reason), &err);
	explicit_bzero(opts.key, sizeof(opts.key));
	pgscreen_check_result(&file, st, &err, "could not de-identify DICOM object");
	if (out == NULL)
		PG_RETURN_NULL();		/* quarantined: dicom_quarantine_reason says why */
	PG_RETURN_BYTEA_P(pgscreen_bytea_result(&file, out, out_len));
}

Datum
pgscreen_dicom_quarantine_reason(PG_FUNCTION_ARGS)
{
	bytea	   *dcm = pgscreen_dicom_header_arg(fcinfo, 0);	/* the reasons are all in the header */
	pgs_deid_options opts;
	char		reason[512];
	pgs_error	err;

	options_from_args(fcinfo, &opts, false);
	pgs_error_clear(&err);
	pgscreen_check(pgs_dicom_quarantine_reason((const uint8_t *) VARDATA_ANY(dcm), VARSIZE_ANY_EXHDR(dcm), &opts,
											   reason, sizeof(reason), &err),
				   &err, "could not read DICOM object");
	if (reason[0] == '\0')
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(reason));
}

/* Materialise rows into a tuplestore for a set-returning function. */
static void
return_rows(FunctionCallInfo fcinfo, int ncols, int nrows, Datum *values, bool *nulls)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int r = 0; r < nrows; r++)
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values + r * ncols, nulls + r * ncols);
}

static Datum
text_or_empty(const char *s)
{
	return CStringGetTextDatum(s ? s : "");
}

Datum
pgscreen_dicom_phi_report(PG_FUNCTION_ARGS)
{
	bytea	   *dcm = PG_GETARG_BYTEA_PP(0);
	pgs_deid_options opts;
	PgscreenAllocator mem;
	pgs_deid_change *changes;
	int			n;
	pgs_error	err;
	Datum	   *values;
	bool	   *nulls;

	options_from_args(fcinfo, &opts, false);
	pgscreen_allocator_init(&mem, false);
	pgs_error_clear(&err);
	pgscreen_check(pgs_dicom_phi_report((const uint8_t *) VARDATA_ANY(dcm), VARSIZE_ANY_EXHDR(dcm), &opts,
										&mem.base, &changes, &n, &err),
				   &err, "could not read DICOM object");
	values = palloc(sizeof(Datum) * 6 * Max(n, 1));
	nulls = palloc0(sizeof(bool) * 6 * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		char		tag[16];

		snprintf(tag, sizeof(tag), "(%04X,%04X)", changes[i].tag >> 16, changes[i].tag & 0xFFFF);
		values[i * 6 + 0] = CStringGetTextDatum(tag);
		values[i * 6 + 1] = text_or_empty(changes[i].keyword);
		nulls[i * 6 + 1] = changes[i].keyword == NULL || changes[i].keyword[0] == '\0';
		values[i * 6 + 2] = CStringGetTextDatum(changes[i].vr);
		values[i * 6 + 3] = text_or_empty(changes[i].path);
		values[i * 6 + 4] = CStringGetTextDatum(changes[i].action);
		values[i * 6 + 5] = text_or_empty(changes[i].preview);
	}
	return_rows(fcinfo, 6, n, values, nulls);
	return (Datum) 0;
}

Datum
pgscreen_dicom_pseudonyms(PG_FUNCTION_ARGS)
{
	bytea	   *dcm = PG_GETARG_BYTEA_PP(0);
	pgs_deid_options opts;
	PgscreenAllocator mem;
	pgs_deid_pseudonym *rows;
	int			n;
	pgs_error	err;
	Datum	   *values;
	bool	   *nulls;
	pgs_status	st;

	options_from_args(fcinfo, &opts, true);
	pgscreen_allocator_init(&mem, false);
	pgs_error_clear(&err);
	st = pgs_dicom_pseudonyms((const uint8_t *) VARDATA_ANY(dcm), VARSIZE_ANY_EXHDR(dcm), &opts, &mem.base, &rows,
							  &n, &err);
	explicit_bzero(opts.key, sizeof(opts.key));
	pgscreen_check(st, &err, "could not read DICOM object");
	values = palloc(sizeof(Datum) * 3 * Max(n, 1));
	nulls = palloc0(sizeof(bool) * 3 * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		values[i * 3 + 0] = CStringGetTextDatum(rows[i].kind);
		values[i * 3 + 1] = CStringGetTextDatum(rows[i].original);
		values[i * 3 + 2] = CStringGetTextDatum(rows[i].pseudonym);
	}
	return_rows(fcinfo, 3, n, values, nulls);
	return (Datum) 0;
}

/* Make a random key inside the server, so it never travels in SQL text or logs. */
Datum
pgscreen_deid_create_key(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	uint8		key[KEY_BYTES];
	bytea	   *key_value;
	Oid			argtypes[2] = {TEXTOID, BYTEAOID};
	Datum		args[2];
	int			rc;

	if (VARSIZE_ANY_EXHDR(name) == 0 || VARSIZE_ANY_EXHDR(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key name must be 1 to %d bytes", NAMEDATALEN - 1)));
	if (!pg_strong_random(key, sizeof(key)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random key")));
	key_value = palloc(VARHDRSZ + sizeof(key));
	SET_VARSIZE(key_value, VARHDRSZ + sizeof(key));
	memcpy(VARDATA(key_value), key, sizeof(key));
	explicit_bzero(key, sizeof(key));
	args[0] = PointerGetDatum(name);
	args[1] = PointerGetDatum(key_value);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("INSERT INTO screen.deid_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
							   2, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not insert into screen.deid_keys");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("de-identification key \"%s\" already exists", text_to_cstring(name)),
				 errdetail("Replacing a key would change every pseudonym made with it.")));
	SPI_finish();
	explicit_bzero(VARDATA(key_value), sizeof(key));
	PG_RETURN_VOID();
}
