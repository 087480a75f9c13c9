/* Users' queries (training data, scoring input) run read-only: one SELECT, in a read-only transaction state. */
#include "pgscreen.h"

#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/guc.h"

/*
 * A clear error before anything runs; the read-only state below is what actually stops writes (a volatile
 * function called by the SELECT included).
 */
void
pgscreen_check_select_query(const char *query, const char *what)
{
	List	   *statements = raw_parser(query, RAW_PARSE_DEFAULT);
	SelectStmt *select;
	ListCell   *lc;

	if (list_length(statements) != 1 || !IsA(linitial_node(RawStmt, statements)->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a single SELECT statement", what)));
	select = (SelectStmt *) linitial_node(RawStmt, statements)->stmt;
	/* PostgreSQL allows data-modifying WITH only at the top level, so these are all there are. */
	if (select->withClause != NULL)
		foreach(lc, select->withClause->ctes)
		{
			CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

			if (!IsA(cte->ctequery, SelectStmt))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s must not modify data", what),
						 errdetail("WITH query \"%s\" is not a SELECT.", cte->ctename)));
		}
}

/*
 * transaction_read_only for the user's query only: PostgreSQL then refuses every write to a table (as in
 * SET TRANSACTION READ ONLY) with 25006. The caller's own state comes back at pgscreen_read_only_end, or
 * with the (sub)transaction's abort on error.
 */
int
pgscreen_read_only_begin(void)
{
	int			nest_level = NewGUCNestLevel();

	(void) set_config_option("transaction_read_only", "on", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
							 false);
	return nest_level;
}

void
pgscreen_read_only_end(int nest_level)
{
	AtEOXact_GUC(true, nest_level);
}
