/* PACS settings: the pgscreen.pacs_* and pgscreen.scp_* GUCs, the options jsonb of the SQL functions, query objects. */
#include "pacs.h"
#include "../options.h"

#include <limits.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

int			pacs_connect_timeout_s = 10;
int			pacs_acse_timeout_s = 30;
int			pacs_dimse_timeout_s = 60;
int			pacs_max_pdu = 65536;
int			pacs_find_limit = 1000;
int			pacs_max_instance_mb = 1000;
char	   *pacs_tls_cert_file = NULL;
char	   *pacs_tls_ca_file = NULL;

int			scp_port = 0;
char	   *scp_listen_addresses = NULL;
int			scp_workers = 4;
char	   *scp_database = NULL;
char	   *scp_role = NULL;
char	   *scp_aet = NULL;
char	   *scp_allowed_aets = NULL;
char	   *scp_table = NULL;
char	   *scp_deidentify = NULL;
char	   *scp_quarantine_table = NULL;
bool		scp_accept_non_images = false;
bool		scp_tls = false;

static bool
check_aet_setting(char **newval, void **extra, GucSource source)
{
	pgs_error	err;

	pgs_error_clear(&err);
	if (pgs_net_check_aet(*newval, "AE title", &err) == PGS_OK)
		return true;
	GUC_check_errdetail("%s.", err.message);
	return false;
}

/*
 * The receiver's de-identification options must be a JSON object (or empty: store as received). Checked
 * with the non-throwing JSON parser, since check hooks also run in the postmaster on reload.
 */
static bool
check_deidentify_setting(char **newval, void **extra, GucSource source)
{
	const char *p = *newval;
	JsonLexContext *lex;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p == '\0')
		return true;
	lex = makeJsonLexContextCstringLen((char *) p, strlen(p), PG_UTF8, false);
	if (*p == '{' && pg_parse_json(lex, &nullSemAction) == JSON_SUCCESS)
		return true;
	GUC_check_errdetail("pgscreen.scp_deidentify must be empty or a JSON object of de-identification options.");
	return false;
}

void
pacs_define_settings(void)
{
	DefineCustomIntVariable("pgscreen.pacs_connect_timeout",
							"Seconds to wait for a TCP connection to a PACS.",
							NULL, &pacs_connect_timeout_s, 10, 1, 3600, PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pgscreen.pacs_acse_timeout",
							"Seconds to wait for association set-up and release (ACSE).",
							NULL, &pacs_acse_timeout_s, 30, 1, 3600, PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pgscreen.pacs_dimse_timeout",
							"Seconds of silence allowed while a DIMSE message is expected.",
							"Applies to pacs_find, pacs_retrieve and the receiver; a stalled peer is dropped after it.",
							&pacs_dimse_timeout_s, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pgscreen.pacs_max_pdu",
							"Largest PDU pgscreen accepts, in bytes.",
							NULL, &pacs_max_pdu, 65536, 4096, 131072, PGC_SIGHUP, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pgscreen.pacs_find_limit",
							"Most matches pacs_find returns (and pacs_retrieve retrieves) unless options.limit says otherwise.",
							"When a PACS has more, pgscreen cancels the query and says so in a warning.",
							&pacs_find_limit, 1000, 1, INT_MAX, PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pgscreen.pacs_max_instance_size",
							"Largest DICOM instance pgscreen receives, in megabytes.",
							"Larger instances are read and refused with status A700.",
							&pacs_max_instance_mb, 1000, 1, 1000, PGC_SIGHUP, GUC_UNIT_MB,
							NULL, NULL, NULL);
	pacs_define_destination_setting();
	/*
	 * The certificate and its private key share one PEM file: one setting, one file to protect (and no
	 * setting that names a key, which the de-identification keys' guarantees are checked against).
	 */
	DefineCustomStringVariable("pgscreen.tls_cert_file",
							   "PEM file with the certificate pgscreen presents on DICOM TLS connections and its private key.",
							   "The key must not be encrypted; the file must be readable by the server only.", &pacs_tls_cert_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("pgscreen.tls_ca_file",
							   "Certificates (PEM) DICOM TLS peers must present a certificate signed by.",
							   NULL, &pacs_tls_ca_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	/*
	 * The receiver's listening settings exist only when pgscreen is preloaded: PostgreSQL refuses (FATAL)
	 * PGC_POSTMASTER settings defined after startup, and without preloading there is no receiver to configure.
	 */
	if (process_shared_preload_libraries_in_progress)
	{
		DefineCustomIntVariable("pgscreen.scp_port",
								"TCP port of the DICOM storage receiver; 0 disables it.",
								"The receiver runs only with pgscreen in shared_preload_libraries.",
								&scp_port, 0, 0, 65535, PGC_POSTMASTER, 0, NULL, NULL, NULL);
		DefineCustomStringVariable("pgscreen.scp_listen_addresses",
								   "Addresses the DICOM receiver listens on: a list of host names or IP addresses, or * for all.",
								   NULL, &scp_listen_addresses, "localhost", PGC_POSTMASTER, GUC_LIST_INPUT,
								   NULL, NULL, NULL);
		DefineCustomIntVariable("pgscreen.scp_workers",
								"Background workers of the DICOM receiver: the number of associations served at once.",
								NULL, &scp_workers, 4, 1, 64, PGC_POSTMASTER, 0, NULL, NULL, NULL);
		DefineCustomStringVariable("pgscreen.scp_database",
								   "Database the DICOM receiver stores into.",
								   NULL, &scp_database, "postgres", PGC_POSTMASTER, 0, NULL, NULL, NULL);
		DefineCustomStringVariable("pgscreen.scp_role",
								   "Role the DICOM receiver connects as: give it INSERT on pgscreen.scp_table and nothing more.",
								   "Must not be a superuser; without it the receiver does not start.",
								   &scp_role, "", PGC_POSTMASTER, 0, NULL, NULL, NULL);
	}
	DefineCustomStringVariable("pgscreen.scp_aet",
							   "AE title of the DICOM receiver; associations calling another title are rejected.",
							   NULL, &scp_aet, "PGSCREEN", PGC_SIGHUP, 0, check_aet_setting, NULL, NULL);
	DefineCustomStringVariable("pgscreen.scp_allowed_aets",
							   "Calling AE titles the DICOM receiver accepts, each optionally bound to hosts: AET, AET@address, AET@address/prefix or AET@hostname.",
							   "Empty: every association is rejected.",
							   &scp_allowed_aets, "", PGC_SIGHUP, GUC_LIST_INPUT | GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("pgscreen.scp_table",
							   "Table the DICOM receiver inserts received instances into (see the column contract).",
							   "Empty: instances pushed to the receiver are refused; C-MOVE retrievals still work.",
							   &scp_table, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pgscreen.scp_deidentify",
							   "De-identification options (JSON) the receiver applies before storing; empty stores instances as received.",
							   NULL, &scp_deidentify, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   check_deidentify_setting, NULL, NULL);
	DefineCustomStringVariable("pgscreen.scp_quarantine_table",
							   "Table for instances the de-identification quarantines, stored as received; empty refuses them.",
							   NULL, &scp_quarantine_table, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgscreen.scp_accept_non_images",
							 "Whether the receiver negotiates every storage SOP class, not only images.",
							 NULL, &scp_accept_non_images, false, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgscreen.scp_tls",
							 "Whether the receiver speaks DICOM over TLS (with pgscreen.tls_* files).",
							 NULL, &scp_tls, false, PGC_SIGHUP, 0, NULL, NULL, NULL);
}

void
pacs_config_from_settings(pgs_net_config *cfg, bool tls)
{
	pgs_net_config_init(cfg);
	cfg->connect_timeout_s = pacs_connect_timeout_s;
	cfg->acse_timeout_s = pacs_acse_timeout_s;
	cfg->dimse_timeout_s = pacs_dimse_timeout_s;
	cfg->max_pdu = (uint32_t) pacs_max_pdu;
	cfg->max_instance_bytes = (uint64_t) pacs_max_instance_mb * 1024 * 1024;
	cfg->tls.enabled = tls;
	cfg->tls.cert_file = pacs_tls_cert_file;
	cfg->tls.key_file = pacs_tls_cert_file;
	cfg->tls.ca_file = pacs_tls_ca_file;
}

int
pacs_parse_level(const char *text)
{
	if (pg_strcasecmp(text, "PATIENT") == 0)
		return PGS_QR_PATIENT;
	if (pg_strcasecmp(text, "STUDY") == 0)
		return PGS_QR_STUDY;
	if (pg_strcasecmp(text, "SERIES") == 0)
		return PGS_QR_SERIES;
	if (pg_strcasecmp(text, "IMAGE") == 0 || pg_strcasecmp(text, "INSTANCE") == 0)
		return PGS_QR_IMAGE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid query/retrieve level \"%s\"", text),
			 errhint("Use PATIENT, STUDY, SERIES or IMAGE.")));
	pg_unreachable();
}

/* The keys `accepted` (PACS_OPT_* bits) allows, NULL-terminated. */
static const char *const *
accepted_keys(unsigned accepted)
{
	static const char *const network[] = {"connect_timeout", "acse_timeout", "dimse_timeout", "max_pdu", "tls", NULL};
	static const char *const find[] = {"model", "limit", NULL};
	static const char *const retrieve[] = {"method", "level", "non_images", "probe", "deidentify", "quarantine_table",
	"progress_every", "batch_size", "parallel", "resume", NULL};
	const char **keys = palloc0(sizeof(char *) * (lengthof(network) + lengthof(find) + lengthof(retrieve)));
	int			n = 0;

	for (const char *const *k = network; (accepted & PACS_OPT_NETWORK) && *k; k++)
		keys[n++] = *k;
	for (const char *const *k = find; (accepted & PACS_OPT_FIND) && *k; k++)
		keys[n++] = *k;
	for (const char *const *k = retrieve; (accepted & PACS_OPT_RETRIEVE) && *k; k++)
		keys[n++] = *k;
	return keys;
}

void
pacs_options_parse(Jsonb *options, unsigned accepted, const char *function, PacsOptions *o)
{
	static const char *const models[] = {"study", "patient", NULL};
	static const char *const methods[] = {"get", "move", NULL};
	static const char *const levels[] = {"PATIENT", "STUDY", "SERIES", "IMAGE", "INSTANCE", NULL};
	OptionsReader reader;
	JsonbValue *v;
	int			choice;
	bool		flag;
	char	   *text;

	memset(o, 0, sizeof(*o));
	pacs_config_from_settings(&o->net, false);
	o->model = PGS_QR_MODEL_STUDY;
	o->limit = pacs_find_limit;
	o->level = -1;
	o->progress_every = 100;
	o->probe = PACS_PROBE_AUTO;
	o->batch_size = 100;
	o->parallel = 1;
	o->quarantine_table = InvalidOid;
	options_begin_jsonb(&reader, options, function, accepted_keys(accepted));
	(void) options_get_int(&reader, "connect_timeout", 1, 3600, &o->net.connect_timeout_s);
	(void) options_get_int(&reader, "acse_timeout", 1, 3600, &o->net.acse_timeout_s);
	(void) options_get_int(&reader, "dimse_timeout", 1, 86400, &o->net.dimse_timeout_s);
	if (options_get_int(&reader, "max_pdu", 4096, 131072, &choice))
		o->net.max_pdu = (uint32_t) choice;
	if (options_get_bool(&reader, "tls", &flag))
		o->net.tls.enabled = flag;
	if (options_get_enum(&reader, "model", models, &choice))
	{
		o->model_given = true;
		o->model = choice == 0 ? PGS_QR_MODEL_STUDY : PGS_QR_MODEL_PATIENT;
	}
	(void) options_get_int64(&reader, "limit", 1, PG_INT32_MAX, &o->limit);
	if (options_get_enum(&reader, "method", methods, &choice))
		o->use_move = choice == 1;
	(void) options_get_bool(&reader, "non_images", &o->non_images);
	if (options_get_bool(&reader, "probe", &flag))
		o->probe = flag ? PACS_PROBE_ALWAYS : PACS_PROBE_NEVER;
	if (options_get_enum(&reader, "level", levels, &choice))
		o->level = pacs_parse_level(levels[choice]);
	if ((v = options_get_value(&reader, "deidentify")) != NULL)
	{
		if (v->type == jbvBool)
			o->deidentify = v->val.boolean ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"))) : NULL;
		else if (v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
			o->deidentify = JsonbValueToJsonb(v);
		else
			options_wrong_type(&reader, "deidentify", "an object of de-identification options or a boolean");
	}
	if (options_get_text(&reader, "quarantine_table", &text))
		o->quarantine_table = pacs_resolve_table(text, "quarantine table");
	(void) options_get_int(&reader, "progress_every", 1, PG_INT32_MAX, &o->progress_every);
	(void) options_get_int(&reader, "batch_size", 1, 10000, &o->batch_size);
	(void) options_get_int(&reader, "parallel", 1, PACS_MAX_PARALLEL, &o->parallel);
	(void) options_get_bool(&reader, "resume", &o->resume);
	if (o->resume && o->probe == PACS_PROBE_NEVER)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"resume\" of %s needs the listing that option \"probe\" turns off", function),
				 errdetail("Resuming requests only the listed instances the table lacks.")));
	if (o->resume && o->deidentify != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("option \"resume\" of %s cannot be combined with option \"deidentify\"", function),
				 errdetail("De-identified instances are stored under pseudonymous UIDs, which the PACS's listing does not show."),
				 errhint("Retrieve again without \"resume\": instances already stored are skipped as they arrive.")));
	if (o->quarantine_table != InvalidOid && o->deidentify == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"quarantine_table\" of %s needs option \"deidentify\"", function),
				 errdetail("Instances are quarantined by the de-identification rules.")));
}

/* A query value's text: strings as they are, numbers in their JSON spelling; NULL for other types. */
static char *
jsonb_scalar_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		default:
			return NULL;
	}
}

static const char *
jsonb_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return "a JSON value";
	}
}

static char *
query_value(const char *key, JsonbValue *v)
{
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	StringInfoData s;
	char	   *text;

	if (v->type == jbvNull)
		return NULL;
	text = jsonb_scalar_text(v);
	if (text != NULL)
		return text;
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query value of \"%s\" must be a string, a number, an array of them or null, not %s", key,
						jsonb_type_name(v))));
	initStringInfo(&s);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		text = jsonb_scalar_text(&elem);
		if (text == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("query value of \"%s\" must be an array of strings or numbers, not of %s", key,
							jsonb_type_name(&elem))));
		if (strchr(text, '\\') != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("query value of \"%s\" has a backslash inside an array element", key)));
		if (s.len > 0)
			appendStringInfoChar(&s, '\\');
		appendStringInfoString(&s, text);
	}
	if (s.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query value of \"%s\" is an empty array", key)));
	return s.data;
}

List *
pacs_query_keys(Jsonb *query)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	List	   *keys = NIL;
	PacsQueryKey *current = NULL;

	if (!JB_ROOT_IS_OBJECT(query))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query must be a JSON object of DICOM keywords or tags and values"),
				 errhint("For example {\"ModalitiesInStudy\": \"MG\", \"StudyDate\": \"20180101-20181231\"}.")));
	it = JsonbIteratorInit(&query->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			current = palloc0(sizeof(PacsQueryKey));
			current->key = pnstrdup(v.val.string.val, v.val.string.len);
		}
		else if (tok == WJB_VALUE)
		{
			current->value = query_value(current->key, &v);
			keys = lappend(keys, current);
		}
	}
	return keys;
}
