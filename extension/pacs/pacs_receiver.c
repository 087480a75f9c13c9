/* The DICOM storage receiver: sockets opened by the postmaster, background workers that each serve one association at a time. */
#include "pacs.h"

#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/varlena.h"

#include "../../kernels/dicomnet/peer_allowlist.h"

/*
 * Concurrency is a pool of workers sharing the listening sockets, as a pre-forking server does: the
 * postmaster binds them once (they survive worker crashes and restarts), every worker inherits them and
 * waits on them with its latch, and whichever is free accepts the next connection. A worker busy with a
 * slow association therefore never delays another one. The listening descriptors are close-on-exec, and
 * other backends inherit them without ever touching them.
 */
#define MAX_LISTEN_SOCKETS 8
#define DELIVERY_RING_BYTES (1024 * 1024)

static int	listen_fds[MAX_LISTEN_SOCKETS];
static int	num_listen_fds = 0;

/* worker state */
static pgs_peer_allowlist allowlist;
static MemoryContext instance_context = NULL;
static MemoryContext target_context = NULL;
static PacsTarget target;
static bool target_open = false;

static void
open_listen_sockets(void)
{
	char	   *raw = pstrdup(scp_listen_addresses);
	List	   *hosts;
	ListCell   *lc;
	char		port[16];

	if (!SplitGUCList(raw, ',', &hosts))
	{
		ereport(WARNING, (errmsg("invalid list syntax in pgscreen.scp_listen_addresses")));
		return;
	}
	snprintf(port, sizeof(port), "%d", scp_port);
	foreach(lc, hosts)
	{
		const char *host = lfirst(lc);
		struct addrinfo hints,
				   *res = NULL;
		int			rc;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &res);
		if (rc != 0)
		{
			ereport(WARNING,
					(errmsg("pgscreen receiver could not resolve \"%s\": %s", host, gai_strerror(rc))));
			continue;
		}
		for (struct addrinfo *ai = res; ai != NULL && num_listen_fds < MAX_LISTEN_SOCKETS; ai = ai->ai_next)
		{
			int			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			int			one = 1;

			if (fd < 0)
				continue;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ai->ai_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0)
			{
				ereport(WARNING,
						(errcode_for_socket_access(),
						 errmsg("pgscreen receiver could not listen on \"%s\" port %d: %m", host, scp_port)));
				close(fd);
				continue;
			}
			listen_fds[num_listen_fds++] = fd;
		}
		freeaddrinfo(res);
	}
}

void
pacs_receiver_register(void)
{
	BackgroundWorker worker;

	if (scp_port == 0 || !IsPostmasterEnvironment)
		return;
	open_listen_sockets();
	if (num_listen_fds == 0)
	{
		ereport(WARNING,
				(errmsg("pgscreen receiver not started: no address of pgscreen.scp_listen_addresses could be used")));
		return;
	}
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "pgscreen", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pgscreen_receiver_main", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pgscreen receiver", BGW_MAXLEN);
	for (int i = 0; i < scp_workers; i++)
	{
		snprintf(worker.bgw_name, BGW_MAXLEN, "pgscreen receiver %d", i + 1);
		worker.bgw_main_arg = Int32GetDatum(i);
		RegisterBackgroundWorker(&worker);
	}
	ereport(LOG,
			(errmsg("pgscreen receiver listening on port %d (%s) with %d workers", scp_port, scp_listen_addresses,
					scp_workers)));
}

static void
load_allowlist(void)
{
	pgs_error	err;

	pgs_error_clear(&err);
	if (pgs_peer_allowlist_parse(scp_allowed_aets, &allowlist, &err) != PGS_OK)
	{
		allowlist.count = 0;
		ereport(LOG,
				(errmsg("pgscreen receiver rejects every association: pgscreen.scp_allowed_aets is invalid: %s",
						err.message)));
	}
	else if (allowlist.count == 0)
		ereport(LOG, (errmsg("pgscreen receiver rejects every association: pgscreen.scp_allowed_aets is empty")));
}

static void
reload_if_asked(void)
{
	if (!ConfigReloadPending)
		return;
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	load_allowlist();
	target_open = false;		/* table or de-identification settings may have changed */
}

/*
 * Wait until fd is readable (a is NULL) or the association has a message, for at most timeout_s; serve
 * interrupts and reloads meanwhile. False on timeout.
 */
static bool
wait_for_peer(int fd, pgs_net_assoc *a, int timeout_s)
{
	TimestampTz start = GetCurrentTimestamp();

	for (;;)
	{
		long		waited_ms;
		int			rc;

		if (a != NULL && pgs_net_data_pending(a))
			return true;
		waited_ms = TimestampDifferenceMilliseconds(start, GetCurrentTimestamp());
		if (waited_ms >= (long) timeout_s * 1000)
			return false;
		rc = WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							   a ? pgs_net_socket(a) : fd, Min(1000, (long) timeout_s * 1000 - waited_ms),
							   PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			reload_if_asked();
		}
		if (a == NULL && (rc & WL_SOCKET_READABLE))
			return true;
	}
}

/* Open (or re-open after a change or an error) the receiver's target table, inside a transaction with SPI. */
static void
ensure_target(void)
{
	Jsonb	   *deidentify = NULL;
	Oid			quarantine = InvalidOid;
	MemoryContext old;

	if (target_open)
		return;
	if (target.insert_plan != NULL)
		pacs_target_free(&target);
	MemoryContextReset(target_context);
	old = MemoryContextSwitchTo(target_context);
	if (scp_deidentify[0] != '\0')
		deidentify = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(scp_deidentify)));
	if (scp_quarantine_table[0] != '\0')
		quarantine = pacs_resolve_table(scp_quarantine_table, "pgscreen.scp_quarantine_table");
	pacs_target_open(&target, pacs_resolve_table(scp_table, "pgscreen.scp_table"), deidentify, quarantine, true);
	MemoryContextSwitchTo(old);
	target_open = true;
}

/* A pushed instance: de-identify, store and COMMIT, then (and only then) the caller answers success. */
static uint16
store_push(pgs_net_event *ev, const char *calling_aet, const char *peer, char *comment, size_t comment_size)
{
	MemoryContext worker_context = CurrentMemoryContext;
	bytea	   *dcm = pacs_bytea_result(ev->data, ev->len);
	PacsOutcome outcome = PACS_STORED;
	char	   *reason = NULL;

	if (scp_table[0] == '\0')
	{
		strlcpy(comment, "pgscreen.scp_table is not set", comment_size);
		pacs_activity_count(PACS_COUNT_FAILED, 1);
		return PGS_DIMSE_OUT_OF_RESOURCES;
	}
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "pgscreen receiver: storing an instance");
		ensure_target();
		outcome = pacs_target_store(&target, dcm, &ev->uids, calling_aet, &reason);
		if (reason != NULL)
			strlcpy(comment, reason, comment_size);
		PopActiveSnapshot();
		SPI_finish();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(worker_context);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(worker_context);
		target_open = false;
		ereport(LOG,
				(errmsg("pgscreen receiver could not store instance %s from %s: %s", ev->uids.sop_instance_uid, peer,
						edata->message)));
		pacs_activity_error(edata->message);
		pacs_activity_count(PACS_COUNT_FAILED, 1);
		strlcpy(comment, edata->message, comment_size);
		pgstat_report_activity(STATE_IDLE, NULL);
		return PGS_DIMSE_OUT_OF_RESOURCES;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(worker_context);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);

	switch (outcome)
	{
		case PACS_STORED:
			pacs_activity_count(PACS_COUNT_STORED, 1);
			pacs_activity_count(PACS_COUNT_BYTES, ev->len);
			return PGS_DIMSE_SUCCESS;
		case PACS_DUPLICATE:
			pacs_activity_count(PACS_COUNT_DUPLICATES, 1);
			return PGS_DIMSE_SUCCESS;
		case PACS_QUARANTINED:
			pacs_activity_count(PACS_COUNT_QUARANTINED, 1);
			return PGS_DIMSE_SUCCESS;
		case PACS_SKIPPED:
			break;
	}
	/* Quarantined with nowhere to keep it: refuse, so the sender keeps its copy. */
	ereport(LOG,
			(errmsg("pgscreen receiver refused instance from %s: quarantined: %s", peer, reason)));
	pacs_activity_count(PACS_COUNT_REFUSED, 1);
	snprintf(comment, comment_size, "quarantined: %s", reason);
	return PGS_DIMSE_NOT_AUTHORIZED;
}

/* Hand a C-MOVE sub-operation to the session that asked for it; its answer is the PACS's answer. */
static uint16
deliver_to_retrieval(int slot, pgs_net_event *ev, int timeout_s, char *comment, size_t comment_size)
{
	MemoryContext worker_context = CurrentMemoryContext;
	uint16		status = PGS_DIMSE_OUT_OF_RESOURCES;

	strlcpy(comment, "the retrieving session did not answer", comment_size);
	StartTransactionCommand();	/* the segment belongs to its resource owner: freed on any error */
	PG_TRY();
	{
		Size		size = shm_mq_minimum_size + DELIVERY_RING_BYTES;
		dsm_segment *segment = dsm_create(size, 0);
		shm_mq	   *mq = shm_mq_create(dsm_segment_address(segment), size);
		shm_mq_handle *mqh;
		TimestampTz start = GetCurrentTimestamp();
		bool		offered = false;
		bool		sent = false;
		int			answer = 0;

		shm_mq_set_sender(mq, MyProc);
		mqh = shm_mq_attach(mq, segment, NULL);
		/* one delivery at a time per retrieval; another worker may be mid-way with the previous one */
		while (!(offered = pacs_mail_offer(slot, ev->move_originator_aet, ev->move_originator_id,
										   dsm_segment_handle(segment))))
		{
			bool		ended;

			if (pacs_route_find(ev->move_originator_aet, ev->move_originator_id, &ended) != slot ||
				TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout_s * 1000))
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 50, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		while (offered && answer == 0)
		{
			if (!sent)
			{
				/* the identifiers travel in front of the bytes, so the session need not parse them again */
				shm_mq_iovec parts[2] = {{(const char *) &ev->uids, sizeof(ev->uids)}, {(const char *) ev->data, ev->len}};
				shm_mq_result res = shm_mq_sendv(mqh, parts, 2, true, true);

				if (res == SHM_MQ_SUCCESS)
					sent = true;
				else if (res == SHM_MQ_DETACHED)
					answer = -1;
			}
			if (answer == 0)
				answer = pacs_mail_poll(slot, &status, comment, comment_size);
			if (answer == 0 && TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout_s * 1000))
				answer = -1;
			if (answer == 0)
			{
				(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000, PG_WAIT_EXTENSION);
				ResetLatch(MyLatch);
				CHECK_FOR_INTERRUPTS();
			}
		}
		if (offered)
			pacs_mail_withdraw(slot);
		if (answer != 1)
			status = PGS_DIMSE_OUT_OF_RESOURCES;
		dsm_detach(segment);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(worker_context);
		edata = CopyErrorData();
		FlushErrorState();
		pacs_mail_withdraw(slot);
		AbortCurrentTransaction();
		ereport(LOG, (errmsg("pgscreen receiver could not hand over a C-MOVE sub-operation: %s", edata->message)));
		strlcpy(comment, edata->message, comment_size);
		status = PGS_DIMSE_OUT_OF_RESOURCES;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(worker_context);
	return status;
}

static uint16
handle_instance(pgs_net_event *ev, const char *calling_aet, const char *peer, char *comment, size_t comment_size)
{
	comment[0] = '\0';
	if (ev->data == NULL)
	{
		ereport(LOG, (errmsg("pgscreen receiver refused an instance from %s: %s", peer, ev->refused_reason)));
		pacs_activity_count(PACS_COUNT_FAILED, 1);
		strlcpy(comment, ev->refused_reason, comment_size);
		return ev->refused_status;
	}
	if (ev->move_originator_aet[0] != '\0' && ev->move_originator_id >= 0)
	{
		bool		ended;
		int			slot = pacs_route_find(ev->move_originator_aet, ev->move_originator_id, &ended);

		if (slot >= 0)
			return deliver_to_retrieval(slot, ev, pacs_dimse_timeout_s, comment, comment_size);
		if (ended)
		{
			strlcpy(comment, "the retrieval that asked for this instance has ended", comment_size);
			pacs_activity_count(PACS_COUNT_REFUSED, 1);
			return PGS_DIMSE_NOT_AUTHORIZED;
		}
		/* a C-MOVE somebody else started towards us: an ordinary push */
	}
	return store_push(ev, calling_aet, peer, comment, comment_size);
}

static void
trim(char *s)
{
	size_t		n = strlen(s);
	size_t		start = strspn(s, " ");

	while (n > start && s[n - 1] == ' ')
		n--;
	memmove(s, s + start, n - start);
	s[n - start] = '\0';
}

/* Serve one association on an accepted socket, start to finish. */
static void
serve(int fd, const struct sockaddr *addr)
{
	char		host[64];
	char		peer[128];
	pgs_net_config cfg;
	pgs_net_assoc *a;
	pgs_net_request req;
	pgs_error	err;
	int			contexts;
	int64		stored = 0;

	pgs_peer_address_text(addr, host, sizeof(host));
	pacs_activity_count(PACS_COUNT_ASSOCIATIONS, 1);
	if (!pgs_peer_address_allowed(&allowlist, addr))
	{
		ereport(LOG,
				(errmsg("pgscreen receiver refused a connection from %s: no entry of pgscreen.scp_allowed_aets admits this address",
						host)));
		pacs_activity_count(PACS_COUNT_REFUSED, 1);
		close(fd);
		return;
	}
	pacs_activity_state("negotiating", host);
	if (!wait_for_peer(fd, NULL, pacs_acse_timeout_s))
	{
		ereport(LOG, (errmsg("pgscreen receiver dropped a connection from %s that sent no association request", host)));
		close(fd);
		pacs_activity_state("listening", "");
		return;
	}
	pacs_config_from_settings(&cfg, scp_tls);
	cfg.aet = scp_aet;
	pgs_error_clear(&err);
	if (pgs_net_scp_receive(fd, &cfg, &a, &req, &err) != PGS_OK)
	{
		ereport(LOG, (errmsg("pgscreen receiver could not read an association request from %s: %s", host, err.message)));
		pacs_activity_count(PACS_COUNT_REFUSED, 1);
		pacs_activity_state("listening", "");
		return;
	}
	trim(req.called_aet);
	trim(req.calling_aet);
	snprintf(peer, sizeof(peer), "%s@%s", req.calling_aet, host);
	if (strcmp(req.called_aet, scp_aet) != 0)
	{
		ereport(LOG,
				(errmsg("pgscreen receiver rejected an association from %s calling AE title \"%s\" (it is \"%s\")", peer,
						req.called_aet, scp_aet)));
		pgs_net_scp_reject(a, PGS_NET_REJECT_CALLED_AET);
		pacs_activity_count(PACS_COUNT_REFUSED, 1);
		pacs_activity_state("listening", "");
		return;
	}
	if (!pgs_peer_allowed(&allowlist, req.calling_aet, addr))
	{
		ereport(LOG,
				(errmsg("pgscreen receiver rejected an association from %s: calling AE title not in pgscreen.scp_allowed_aets",
						peer)));
		pgs_net_scp_reject(a, PGS_NET_REJECT_CALLING_AET);
		pacs_activity_count(PACS_COUNT_REFUSED, 1);
		pacs_activity_state("listening", "");
		return;
	}
	if (pgs_net_scp_accept(a, scp_accept_non_images, &contexts, &err) != PGS_OK)
	{
		ereport(LOG, (errmsg("pgscreen receiver could not accept the association from %s: %s", peer, err.message)));
		pgs_net_abort(a);
		pacs_activity_state("listening", "");
		return;
	}
	pacs_activity_state("receiving", peer);
	target_open = false;		/* check the table's contract again for every association */

	for (;;)
	{
		pgs_net_event ev;
		char		comment[64];
		uint16		status;
		MemoryContext old;

		if (!wait_for_peer(-1, a, pacs_dimse_timeout_s))
		{
			ereport(LOG,
					(errmsg("pgscreen receiver aborted the association with %s: no message for %d s", peer,
							pacs_dimse_timeout_s)));
			pgs_net_abort(a);
			break;
		}
		MemoryContextReset(instance_context);
		old = MemoryContextSwitchTo(instance_context);
		pgs_error_clear(&err);
		if (pgs_net_next(a, pacs_bytea_allocator(), &ev, &err) != PGS_OK)
		{
			MemoryContextSwitchTo(old);
			ereport(LOG,
					(errmsg("pgscreen receiver lost the association with %s after %lld instances: %s", peer,
							(long long) stored, err.message)));
			pgs_net_abort(a);
			break;
		}
		if (ev.kind == PGS_NET_EVENT_DONE)
		{
			MemoryContextSwitchTo(old);
			if (!ev.released)
				ereport(LOG,
						(errmsg("pgscreen receiver: %s aborted the association after %lld instances", peer,
								(long long) stored)));
			pgs_net_release(a);
			break;
		}
		if (ev.kind != PGS_NET_EVENT_INSTANCE)
		{
			MemoryContextSwitchTo(old);
			continue;
		}
		status = handle_instance(&ev, req.calling_aet, peer, comment, sizeof(comment));
		MemoryContextSwitchTo(old);
		if (status == PGS_DIMSE_SUCCESS)
			stored++;
		if (pgs_net_store_reply(a, status, comment, &err) != PGS_OK)
		{
			ereport(LOG, (errmsg("pgscreen receiver could not answer %s: %s", peer, err.message)));
			pgs_net_abort(a);
			break;
		}
	}
	MemoryContextReset(instance_context);
	pacs_activity_state("listening", "");
}

static void
accept_on(int listen_fd)
{
	struct sockaddr_storage addr;
	socklen_t	len = sizeof(addr);
	int			fd = accept4(listen_fd, (struct sockaddr *) &addr, &len, SOCK_CLOEXEC);

	if (fd < 0)
	{
		/* another worker won the race, or the peer gave up already */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
			ereport(LOG, (errcode_for_socket_access(), errmsg("pgscreen receiver could not accept: %m")));
		return;
	}
	serve(fd, (struct sockaddr *) &addr);
}

void
pgscreen_receiver_main(Datum arg)
{
	WaitEventSet *set;
	bool		superuser_role;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	pqsignal(SIGPIPE, SIG_IGN);
	BackgroundWorkerUnblockSignals();

	/*
	 * Every instance is received into, and formed into a tuple from, memory of its size. By default glibc
	 * maps such blocks afresh and unmaps them at free, so each instance pays a page fault and a zeroed page
	 * per 4 kB, twice; kept in the heap, the next instance reuses pages already mapped.
	 */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);

	if (scp_role[0] == '\0')
	{
		ereport(LOG, (errmsg("pgscreen receiver not started: pgscreen.scp_role is not set")));
		proc_exit(0);
	}
	BackgroundWorkerInitializeConnection(scp_database, scp_role, 0);
	StartTransactionCommand();
	superuser_role = superuser();
	CommitTransactionCommand();
	if (superuser_role)
	{
		ereport(LOG,
				(errmsg("pgscreen receiver not started: pgscreen.scp_role \"%s\" is a superuser", scp_role),
				 errhint("Create a role that may only INSERT into pgscreen.scp_table.")));
		proc_exit(0);
	}
	pgstat_report_appname("pgscreen receiver");
	instance_context = AllocSetContextCreate(TopMemoryContext, "pgscreen receiver instance", ALLOCSET_DEFAULT_SIZES);
	target_context = AllocSetContextCreate(TopMemoryContext, "pgscreen receiver target", ALLOCSET_SMALL_SIZES);
	load_allowlist();
	pacs_activity_begin(PACS_ACTIVITY_RECEIVER, "");
	pacs_activity_state("listening", "");

	set = CreateWaitEventSet(TopMemoryContext, num_listen_fds + 2);
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int i = 0; i < num_listen_fds; i++)
		AddWaitEventToSet(set, WL_SOCKET_READABLE, listen_fds[i], NULL, NULL);

	for (;;)
	{
		WaitEvent	events[MAX_LISTEN_SOCKETS + 2];
		int			n = WaitEventSetWait(set, -1, events, lengthof(events), PG_WAIT_EXTENSION);

		for (int i = 0; i < n; i++)
			if (events[i].events & WL_LATCH_SET)
				ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		reload_if_asked();
		for (int i = 0; i < n; i++)
			if (events[i].events & WL_SOCKET_READABLE)
				accept_on(events[i].fd);
	}
}
