/* DROP ROLE, REASSIGN OWNED and DROP OWNED for roles that own pgscreen models and training jobs. */
#include "pgscreen.h"
#include "train/jobs.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"

/*
 * Models and jobs are rows, not catalog objects, so PostgreSQL's own dependency check does not see them.
 * This hook gives them the same rules: a role that owns any cannot be dropped, REASSIGN OWNED hands them to
 * the new role and DROP OWNED deletes them, in the current database, as for the objects PostgreSQL tracks.
 * It works in sessions that have loaded pgscreen: with shared_preload_libraries, every session.
 */
static ProcessUtility_hook_type prev_process_utility = NULL;

typedef struct OwnedCounts
{
	int64		models;
	int64		jobs;
	int64		live_jobs;		/* queued or running */
} OwnedCounts;

static bool
pgscreen_installed_here(void)
{
	return OidIsValid(get_extension_oid("pgscreen", true));
}

static int64
count_rows(const char *sql, Oid role)
{
	bool		isnull;

	if (SPI_execute_with_args(sql, 1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(role)}, NULL, true, 1)
		!= SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not count the pgscreen objects of role %u", role);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Every row, whatever row-level security would show the caller. */
static void
count_owned(Oid role, OwnedCounts *counts)
{
	CatalogAccess access;

	pgscreen_catalog_enter(&access);
	SPI_connect();
	counts->models = count_rows("SELECT count(*) FROM screen.models WHERE owner = $1::regrole", role);
	counts->jobs = count_rows("SELECT count(*) FROM screen.jobs WHERE owner = $1::regrole", role);
	counts->live_jobs = count_rows("SELECT count(*) FROM screen.jobs WHERE owner = $1::regrole "
								   "AND state IN ('queued', 'running')", role);
	SPI_finish();
	pgscreen_catalog_leave(&access);
}

typedef struct LiveJobSearch
{
	Oid			role;
	int			found;
} LiveJobSearch;

static void
note_job_of_role(const JobIdentity *identity, void *arg)
{
	LiveJobSearch *search = arg;

	if (identity->owner == search->role)
		search->found++;
}

/* Jobs that still need a worker, in any database: their directories name their owners. */
static int
live_jobs_anywhere(Oid role)
{
	LiveJobSearch search = {role, 0};

	(void) pgscreen_job_dirs_list(note_job_of_role, &search);
	return search.found;
}

static void
refuse_live_jobs(const char *role_name, int64 live_jobs, const char *command)
{
	if (live_jobs > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("role \"%s\" has " INT64_FORMAT " training jobs that have not ended", role_name, live_jobs),
				 errdetail("A queued or running job runs as its owner until it ends."),
				 errhint("Cancel them with screen.cancel() and wait for them to end, then %s again.", command)));
}

static void
check_drop_role(DropRoleStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->roles)
	{
		RoleSpec   *spec = lfirst(lc);
		Oid			role = get_rolespec_oid(spec, true);
		char	   *name;
		OwnedCounts counts = {0};
		int			live_elsewhere;

		if (!OidIsValid(role))
			continue;			/* PostgreSQL reports it (or skips it with IF EXISTS) */
		name = get_rolespec_name(spec);
		if (pgscreen_installed_here())
			count_owned(role, &counts);
		live_elsewhere = live_jobs_anywhere(role);
		if (counts.models == 0 && counts.jobs == 0 && live_elsewhere == 0)
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("role \"%s\" cannot be dropped because it owns pgscreen models or training jobs", name),
				 errdetail(INT64_FORMAT " models in screen.models, " INT64_FORMAT " jobs in screen.jobs in this database; %d training jobs not yet ended in all databases.",
						   counts.models, counts.jobs, live_elsewhere),
				 errhint("REASSIGN OWNED BY %s TO another role, or DROP OWNED BY %s, in each database that uses pgscreen (after the role's jobs have ended).",
						 quote_identifier(name), quote_identifier(name))));
	}
}

static void
run_catalog_statement(const char *sql, Oid from, Oid to)
{
	CatalogAccess access;

	pgscreen_catalog_enter(&access);
	SPI_connect();
	if (SPI_execute_with_args(sql, 2, (Oid[]) {OIDOID, OIDOID},
							  (Datum[]) {ObjectIdGetDatum(from), ObjectIdGetDatum(to)}, NULL, false, 0) < 0)
		elog(ERROR, "could not change the pgscreen objects of role %u", from);
	SPI_finish();
	pgscreen_catalog_leave(&access);
}

/* After PostgreSQL's own REASSIGN OWNED (which checked the caller's rights over both roles). */
static void
reassign_owned(ReassignOwnedStmt *stmt)
{
	Oid			to = get_rolespec_oid(stmt->newrole, false);
	ListCell   *lc;

	foreach(lc, stmt->roles)
	{
		RoleSpec   *spec = lfirst(lc);
		Oid			from = get_rolespec_oid(spec, false);
		OwnedCounts counts;

		if (from == to)
			continue;
		count_owned(from, &counts);
		refuse_live_jobs(get_rolespec_name(spec), counts.live_jobs, "REASSIGN OWNED");
		/* Reassigned versions are numbered after the new owner's own versions of the same name. */
		run_catalog_statement("UPDATE screen.models m SET owner = $2::regrole, version = m.version + "
							  "coalesce((SELECT max(n.version) FROM screen.models n "
							  "WHERE n.owner = $2::regrole AND n.name = m.name), 0) "
							  "WHERE m.owner = $1::regrole", from, to);
		run_catalog_statement("UPDATE screen.jobs SET owner = $2::regrole WHERE owner = $1::regrole", from, to);
	}
}

/* After PostgreSQL's own DROP OWNED: the role's models (their weights with them) and ended jobs go. */
static void
drop_owned(DropOwnedStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->roles)
	{
		RoleSpec   *spec = lfirst(lc);
		Oid			role = get_rolespec_oid(spec, false);
		OwnedCounts counts;

		count_owned(role, &counts);
		refuse_live_jobs(get_rolespec_name(spec), counts.live_jobs, "DROP OWNED");
		run_catalog_statement("DELETE FROM screen.models WHERE owner = $1::regrole",
							  role, InvalidOid);
		run_catalog_statement("DELETE FROM screen.jobs WHERE owner = $1::regrole",
							  role, InvalidOid);
	}
}

static void
role_guard_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						   ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *queryEnv,
						   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsA(parsetree, DropRoleStmt))
		check_drop_role((DropRoleStmt *) parsetree);
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	if (IsA(parsetree, ReassignOwnedStmt) && pgscreen_installed_here())
		reassign_owned((ReassignOwnedStmt *) parsetree);
	else if (IsA(parsetree, DropOwnedStmt) && pgscreen_installed_here())
		drop_owned((DropOwnedStmt *) parsetree);
}

void
pgscreen_role_guard_init(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = role_guard_process_utility;
}
