/* Target tables of retrieved and received instances: the column contract, de-identification on the way in, the INSERT. */
#include "pacs.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

/*
 * The column contract (README, "From PACS to table"):
 *   sop_instance_uid   text, with a unique index on it alone    required
 *   dcm                bytea (the Part 10 file as stored)         required
 *   study_instance_uid, series_instance_uid, sop_class_uid,
 *   transfer_syntax_uid, source_aet                   text        optional
 *   received_at        timestamptz (or timestamp)                 optional, set to clock_timestamp()
 * A quarantine table has the same columns plus a required reason text. Other columns need defaults.
 */
typedef struct OptionalColumn
{
	const char *name;
	int			param;			/* $n it is filled from; 0 for received_at */
} OptionalColumn;

static const OptionalColumn optional_columns[] = {
	{"study_instance_uid", 3},
	{"series_instance_uid", 4},
	{"sop_class_uid", 5},
	{"transfer_syntax_uid", 6},
	{"source_aet", 7},
	{"received_at", 0},
};

#define NUM_INSERT_PARAMS 8		/* $8 is the reason, used by quarantine tables only */

Oid
pacs_resolve_table(const char *name, const char *what)
{
	List	   *names = stringToQualifiedNameList(name);
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s \"%s\" does not exist", what, name)));
	return relid;
}

static Oid
column_type(TupleDesc desc, const char *name, AttrNumber *attnum)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
		{
			*attnum = att->attnum;
			return att->atttypid;
		}
	}
	*attnum = InvalidAttrNumber;
	return InvalidOid;
}

static bool
is_text_type(Oid type)
{
	return type == TEXTOID || type == VARCHAROID;
}

static void
contract_error(Relation rel, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("table \"%s\" cannot receive DICOM instances: %s", RelationGetRelationName(rel), problem),
			 errhint("It needs sop_instance_uid text with a unique index and dcm bytea; see \"From PACS to table\" in the README.")));
}

/* A usable arbiter for ON CONFLICT (sop_instance_uid): unique, immediate, valid, on that column alone. */
static bool
has_unique_index_on(Relation rel, AttrNumber attnum)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, indexes)
	{
		HeapTuple	tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		Form_pg_index index;

		if (!HeapTupleIsValid(tuple))
			continue;
		index = (Form_pg_index) GETSTRUCT(tuple);
		if (index->indisunique && index->indimmediate && index->indisvalid && index->indnkeyatts == 1 &&
			index->indkey.values[0] == attnum &&
			heap_attisnull(tuple, Anum_pg_index_indpred, NULL) &&
			heap_attisnull(tuple, Anum_pg_index_indexprs, NULL))
			found = true;
		ReleaseSysCache(tuple);
		if (found)
			break;
	}
	list_free(indexes);
	return found;
}

/* Check a table against the contract; build its INSERT. unique_required: the main target must be idempotent. */
static char *
build_insert(Oid relid, bool quarantine, char **qualified_name)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	uid_att,
				att;
	Oid			type;
	StringInfoData columns,
				values;
	bool		unique;
	AclResult	acl;

	if (rel->rd_rel->relkind != RELKIND_RELATION && rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		contract_error(rel, "it is not a table");
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_INSERT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, RelationGetRelationName(rel));

	type = column_type(desc, "sop_instance_uid", &uid_att);
	if (!is_text_type(type))
		contract_error(rel, type == InvalidOid ? "it has no column sop_instance_uid" : "sop_instance_uid is not text");
	type = column_type(desc, "dcm", &att);
	if (type != BYTEAOID)
		contract_error(rel, type == InvalidOid ? "it has no column dcm" : "dcm is not bytea");
	unique = has_unique_index_on(rel, uid_att);
	if (!unique && !quarantine)
		contract_error(rel, "sop_instance_uid has no unique index of its own (needed so that retrieving twice stores once)");
	/* ON CONFLICT (sop_instance_uid) reads that column: the one read privilege an inserting role needs */
	if (unique && pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck(relid, uid_att, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for column sop_instance_uid of table %s", RelationGetRelationName(rel)),
				 errdetail("Skipping instances that are already stored (INSERT ... ON CONFLICT) needs SELECT on that column."),
				 errhint("GRANT SELECT (sop_instance_uid) ON %s TO %s;",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													RelationGetRelationName(rel)),
						 quote_identifier(GetUserNameFromId(GetUserId(), false)))));

	initStringInfo(&columns);
	initStringInfo(&values);
	appendStringInfoString(&columns, "sop_instance_uid, dcm");
	appendStringInfoString(&values, "$1, $2");
	if (quarantine)
	{
		type = column_type(desc, "reason", &att);
		if (!is_text_type(type))
			contract_error(rel, type == InvalidOid ? "a quarantine table needs a column reason" : "reason is not text");
		appendStringInfoString(&columns, ", reason");
		appendStringInfoString(&values, ", $8");
	}
	for (int i = 0; i < lengthof(optional_columns); i++)
	{
		const OptionalColumn *c = &optional_columns[i];

		type = column_type(desc, c->name, &att);
		if (type == InvalidOid)
			continue;
		if (c->param == 0 ? (type != TIMESTAMPTZOID && type != TIMESTAMPOID) : !is_text_type(type))
		{
			char	   *problem = psprintf("%s is not %s", c->name, c->param == 0 ? "timestamptz" : "text");

			contract_error(rel, problem);
		}
		appendStringInfo(&columns, ", %s", c->name);
		if (c->param == 0)
			appendStringInfoString(&values, ", clock_timestamp()");
		else
			appendStringInfo(&values, ", $%d", c->param);
	}
	*qualified_name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												 RelationGetRelationName(rel));
	table_close(rel, AccessShareLock);
	return psprintf("INSERT INTO %s (%s) VALUES (%s)%s", *qualified_name, columns.data, values.data,
					unique ? " ON CONFLICT (sop_instance_uid) DO NOTHING" : "");
}

/*
 * Always the generic plan: a custom plan folds the instance into a Const, copying its bytes twice per
 * execution (constant folding, then the plan cache's copy), which for a large instance costs more than the
 * planning it saves.
 */
static SPIPlanPtr
prepare(const char *sql, int nargs, Oid *types, bool keep)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, types, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (keep && SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

static bool
function_exists(const char *name)
{
	Oid			args[2] = {BYTEAOID, JSONBOID};

	return OidIsValid(LookupFuncName(list_make2(makeString("screen"), makeString(pstrdup(name))), 2, args, true));
}

void
pacs_target_open(PacsTarget *target, Oid relid, Jsonb *deidentify, Oid quarantine_relid, bool keep_plans)
{
	Oid			insert_types[NUM_INSERT_PARAMS] = {TEXTOID, BYTEAOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Oid			deid_types[2] = {BYTEAOID, JSONBOID};

	memset(target, 0, sizeof(*target));
	target->relid = relid;
	target->insert_plan = prepare(build_insert(relid, false, &target->name), NUM_INSERT_PARAMS, insert_types,
								  keep_plans);
	if (deidentify != NULL)
	{
		if (!function_exists("dicom_anonymize") || !function_exists("dicom_quarantine_reason"))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("de-identification needs screen.dicom_anonymize(bytea, jsonb) and screen.dicom_quarantine_reason(bytea, jsonb), which this installation lacks")));
		target->deidentify = deidentify;
		target->deidentify_plan = prepare("SELECT r, CASE WHEN r IS NULL THEN screen.dicom_anonymize($1, $2) END "
										  "FROM screen.dicom_quarantine_reason($1, $2) AS r",
										  2, deid_types, keep_plans);
	}
	if (OidIsValid(quarantine_relid))
	{
		target->quarantine_relid = quarantine_relid;
		target->quarantine_plan = prepare(build_insert(quarantine_relid, true, &target->quarantine_name),
										  NUM_INSERT_PARAMS, insert_types, keep_plans);
	}
}

void
pacs_target_free(PacsTarget *target)
{
	if (target->insert_plan)
		SPI_freeplan(target->insert_plan);
	if (target->deidentify_plan)
		SPI_freeplan(target->deidentify_plan);
	if (target->quarantine_plan)
		SPI_freeplan(target->quarantine_plan);
	memset(target, 0, sizeof(*target));
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = s == NULL || *s == '\0';
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

/* Insert with the contract's parameters; returns the number of rows inserted (0: a duplicate). */
static uint64
insert_instance(SPIPlanPtr plan, bytea *dcm, const pgs_net_uids *known, const char *source_aet, const char *reason)
{
	pgs_net_uids uids;
	pgs_error	err;
	Datum		values[NUM_INSERT_PARAMS];
	char		nulls[NUM_INSERT_PARAMS];
	bool		isnull;
	int			ret;

	pgs_error_clear(&err);
	if (known != NULL)
		uids = *known;
	else
		pgscreen_check(pgs_net_instance_uids((const unsigned char *) VARDATA_ANY(dcm), VARSIZE_ANY_EXHDR(dcm),
											 &uids, &err),
					   &err, "could not read the instance to store");
	if (uids.sop_instance_uid[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("the instance to store has no SOP Instance UID")));
	values[0] = CStringGetTextDatum(uids.sop_instance_uid);
	values[1] = PointerGetDatum(dcm);
	values[2] = text_or_null(uids.study_instance_uid, &isnull);
	nulls[2] = isnull ? 'n' : ' ';
	values[3] = text_or_null(uids.series_instance_uid, &isnull);
	nulls[3] = isnull ? 'n' : ' ';
	values[4] = text_or_null(uids.sop_class_uid, &isnull);
	nulls[4] = isnull ? 'n' : ' ';
	values[5] = text_or_null(uids.transfer_syntax_uid, &isnull);
	nulls[5] = isnull ? 'n' : ' ';
	values[6] = text_or_null(source_aet, &isnull);
	nulls[6] = isnull ? 'n' : ' ';
	values[7] = text_or_null(reason, &isnull);
	nulls[7] = isnull ? 'n' : ' ';
	nulls[0] = nulls[1] = ' ';
	ret = SPI_execute_plan(plan, values, nulls, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_plan returned %s", SPI_result_code_string(ret));
	return SPI_processed;
}

PacsOutcome
pacs_target_store(PacsTarget *target, bytea *dcm, const pgs_net_uids *uids, const char *source_aet, char **reason)
{
	bytea	   *stored = dcm;

	*reason = NULL;
	if (target->deidentify_plan != NULL)
	{
		Datum		args[2] = {PointerGetDatum(dcm), JsonbPGetDatum(target->deidentify)};
		bool		isnull;
		Datum		value;
		int			ret = SPI_execute_plan(target->deidentify_plan, args, NULL, false, 1);

		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "de-identification query returned %s", SPI_result_code_string(ret));
		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			*reason = TextDatumGetCString(value);
		else
		{
			value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
			if (isnull)
				*reason = pstrdup("dicom_anonymize returned no instance");
			else
				stored = DatumGetByteaPCopy(value);
		}
		SPI_freetuptable(SPI_tuptable);
		if (*reason != NULL)
		{
			if (target->quarantine_plan == NULL)
				return PACS_SKIPPED;
			insert_instance(target->quarantine_plan, dcm, uids, source_aet, *reason);
			return PACS_QUARANTINED;
		}
	}
	/* de-identified bytes carry new UIDs: read them from what is stored */
	return insert_instance(target->insert_plan, stored, stored == dcm ? uids : NULL, source_aet, NULL) == 1 ?
		PACS_STORED : PACS_DUPLICATE;
}
