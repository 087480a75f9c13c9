/* Associations from a backend: opened under a memory context that aborts them on error, waited on with the latch. */
#include "pacs.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/memutils.h"

static PgscreenAllocator bytea_allocator;

const pgs_allocator *
pacs_bytea_allocator(void)
{
	pgscreen_allocator_init(&bytea_allocator, true);
	return &bytea_allocator.base;
}

/* The bytea of a received instance, whose bytes came from pacs_bytea_allocator(). */
bytea *
pacs_bytea_result(void *data, size_t len)
{
	return pgscreen_bytea_result(&bytea_allocator, data, len);
}

void
pacs_raise(const pgs_error *err, const char *what, bool connecting)
{
	int			sqlstate;

	switch (err->code)
	{
		case PGS_ERR_IO:
			sqlstate = connecting ? ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION : ERRCODE_CONNECTION_FAILURE;
			break;
		case PGS_ERR_UNSUPPORTED:
			sqlstate = connecting ? ERRCODE_SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION :
				ERRCODE_FEATURE_NOT_SUPPORTED;
			break;
		default:
			sqlstate = pgscreen_sqlstate(err->code);
			break;
	}
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s: %s", what, err->message[0] ? err->message : pgs_strerror(err->code))));
	pg_unreachable();
}

/* The owning memory context is going away with the association still open: an error or a cancel. */
static void
abort_on_reset(void *arg)
{
	PacsAssoc  *pa = arg;

	if (pa->assoc != NULL)
	{
		pgs_net_abort(pa->assoc);
		pa->assoc = NULL;
	}
}

PacsAssoc *
pacs_open(const char *host, int port, const char *called_aet, const PacsOptions *opts, pgs_net_service service,
		  const pgs_net_storage *storage, int nstorage)
{
	PacsAssoc  *pa = palloc0(sizeof(PacsAssoc));
	pgs_error	err;
	pgs_status	st;
	pgs_net_config cfg = opts->net;
	char	   *address;

	snprintf(pa->peer, sizeof(pa->peer), "%s at %s:%d", called_aet, host, port);
	pa->dimse_timeout_s = cfg.dimse_timeout_s;
	if (cfg.tls.enabled && (!cfg.tls.cert_file[0] || !cfg.tls.ca_file[0]))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("DICOM TLS needs pgscreen.tls_cert_file and pgscreen.tls_ca_file"),
				 errhint("A superuser sets them in postgresql.conf.")));
	address = pacs_destination_address(host, port);
	pgstat_report_wait_start(PG_WAIT_EXTENSION);
	pgs_error_clear(&err);
	st = pgs_net_connect(address, port, called_aet, &cfg, service, opts->model, storage, nstorage, &pa->assoc, &err);
	pgstat_report_wait_end();
	if (st != PGS_OK)
	{
		if (err.code == PGS_ERR_INVALID_ARGUMENT || err.code == PGS_ERR_LIMIT)
			pgscreen_raise(&err, "could not connect to the PACS");
		pacs_raise(&err, "could not connect to the PACS", true);
	}
	pa->cleanup.func = abort_on_reset;
	pa->cleanup.arg = pa;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &pa->cleanup);
	return pa;
}

void
pacs_close(PacsAssoc *pa)
{
	pgs_net_assoc *a = pa->assoc;

	pa->assoc = NULL;
	pgs_net_release(a);
}

int
pacs_wait_any(PacsAssoc **pas, TimestampTz *idle_since, int n, bool (*wake) (void *), void *wake_arg)
{
	for (;;)
	{
		WaitEventSet *set;
		WaitEvent	event;
		long		timeout_ms = 1000;

		CHECK_FOR_INTERRUPTS();
		if (wake != NULL && wake(wake_arg))
		{
			/* a delivery for a C-MOVE is a sign of life of its associations */
			for (int i = 0; i < n; i++)
				idle_since[i] = GetCurrentTimestamp();
			return -1;
		}
		for (int i = 0; i < n; i++)
		{
			long		waited_ms;

			if (pas[i] == NULL)
				continue;
			if (pgs_net_data_pending(pas[i]->assoc))
			{
				idle_since[i] = GetCurrentTimestamp();
				return i;
			}
			waited_ms = TimestampDifferenceMilliseconds(idle_since[i], GetCurrentTimestamp());
			if (waited_ms >= (long) pas[i]->dimse_timeout_s * 1000)
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("timed out after %d s waiting for %s", pas[i]->dimse_timeout_s, pas[i]->peer),
						 errhint("Raise pgscreen.pacs_dimse_timeout or options.dimse_timeout for a slow PACS.")));
			timeout_ms = Min(timeout_ms, (long) pas[i]->dimse_timeout_s * 1000 - waited_ms);
		}
		set = CreateWaitEventSet(CurrentMemoryContext, n + 2);
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		if (IsUnderPostmaster)
			AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (int i = 0; i < n; i++)
		{
			int			socket;

			if (pas[i] == NULL)
				continue;
			socket = pgs_net_socket(pas[i]->assoc);
			if (socket < 0)
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("the association with %s has no connection", pas[i]->peer)));
			AddWaitEventToSet(set, WL_SOCKET_READABLE, socket, NULL, NULL);
		}
		if (WaitEventSetWait(set, timeout_ms, &event, 1, PG_WAIT_EXTENSION) == 1 && (event.events & WL_LATCH_SET))
			ResetLatch(MyLatch);
		FreeWaitEventSet(set);
	}
}

bool
pacs_wait(PacsAssoc *pa, TimestampTz *idle_since, bool (*wake) (void *), void *wake_arg)
{
	return pacs_wait_any(&pa, idle_since, 1, wake, wake_arg) == 0;
}

void
pacs_next(PacsAssoc *pa, pgs_net_event *ev, const char *what)
{
	pgs_error	err;
	pgs_status	st;

	pgs_error_clear(&err);
	pgstat_report_wait_start(PG_WAIT_EXTENSION);
	st = pgs_net_next(pa->assoc, pacs_bytea_allocator(), ev, &err);
	pgstat_report_wait_end();
	if (st != PGS_OK)
	{
		char		message[PGS_ERROR_MESSAGE_SIZE + 160];

		snprintf(message, sizeof(message), "%s (%s)", what, pa->peer);
		pacs_raise(&err, message, false);
	}
}
