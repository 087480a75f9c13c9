/* Runs pgscreen's own catalog statements as the extension's owner with a search_path callers cannot alter. */
#include "pgscreen.h"
#include "train/jobs.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/*
 * The owner of screen.jobs is the role that ran CREATE EXTENSION: the catalog tables belong to it, so it
 * bypasses their row-level security and is the only role that may write them directly.
 */
Oid
pgscreen_extension_owner(void)
{
	Oid			schema = get_namespace_oid("screen", false);
	Oid			relid = get_relname_relid("jobs", schema);
	HeapTuple	tuple;
	Oid			owner;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table screen.jobs does not exist"),
				 errhint("Run ALTER EXTENSION pgscreen UPDATE.")));
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * Like a SECURITY DEFINER function with SET search_path: the user switch is marked local (so nothing run
 * inside can SET ROLE back out) and restricted, and the search_path holds only pg_catalog, so an operator
 * or function a caller created cannot be picked up by our statements.
 */
void
pgscreen_catalog_enter(CatalogAccess *access)
{
	Oid			owner = pgscreen_extension_owner();

	GetUserIdAndSecContext(&access->saved_userid, &access->saved_sec_context);
	SetUserIdAndSecContext(owner, access->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	access->guc_nest_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
pgscreen_catalog_leave(CatalogAccess *access)
{
	AtEOXact_GUC(true, access->guc_nest_level);
	SetUserIdAndSecContext(access->saved_userid, access->saved_sec_context);
}
