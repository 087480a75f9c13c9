/* Declarations shared by the PACS files of extension/: settings, options, associations, targets, shared state. */
#ifndef PGSCREEN_PACS_H
#define PGSCREEN_PACS_H

#include "../pgscreen.h"

#include "executor/spi.h"
#include "storage/dsm.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "../../kernels/dicomnet/dicomnet.h"

/* ---- settings (pacs_settings.c) ---- */

extern int	pacs_connect_timeout_s;
extern int	pacs_acse_timeout_s;
extern int	pacs_dimse_timeout_s;
extern int	pacs_max_pdu;
extern int	pacs_find_limit;
extern int	pacs_max_instance_mb;
extern char *pacs_tls_cert_file;
extern char *pacs_tls_ca_file;

extern int	scp_port;
extern char *scp_listen_addresses;
extern int	scp_workers;
extern char *scp_database;
extern char *scp_role;
extern char *scp_aet;
extern char *scp_allowed_aets;
extern char *scp_table;
extern char *scp_deidentify;
extern char *scp_quarantine_table;
extern bool scp_accept_non_images;
extern bool scp_tls;

extern char *pacs_allowed_destinations;

extern void pacs_define_settings(void);
/* pgscreen.pacs_allowed_destinations (extension/pacs/pacs_destinations.c) */
extern void pacs_define_destination_setting(void);
/* The numeric address to connect to for host:port; errors (42501) unless the allow-list admits it. */
extern char *pacs_destination_address(const char *host, int port);

/* Network settings from the GUCs: timeouts, PDU size, instance size limit and the TLS files. */
extern void pacs_config_from_settings(pgs_net_config *cfg, bool tls);

/* ---- per-call options (pacs_settings.c) ---- */

/* Which option keys a function accepts. */
#define PACS_OPT_NETWORK	0x01	/* connect_timeout, acse_timeout, dimse_timeout, max_pdu, tls */
#define PACS_OPT_FIND		0x02	/* model, limit */
#define PACS_OPT_RETRIEVE	0x04	/* method, level, non_images, probe, deidentify,
									 * quarantine_table, progress_every, batch_size,
									 * parallel, resume */

/* When pacs_retrieve lists the instances (IMAGE-level C-FIND) before retrieving them. */
typedef enum PacsProbe
{
	PACS_PROBE_AUTO,			/* for PATIENT and STUDY requests, and when parallel or resume need it */
	PACS_PROBE_ALWAYS,
	PACS_PROBE_NEVER
} PacsProbe;

#define PACS_MAX_PARALLEL 8

typedef struct PacsOptions
{
	pgs_net_config net;
	bool		model_given;
	pgs_qr_model model;
	int64		limit;
	bool		use_move;		/* C-MOVE to pgscreen.scp_aet instead of C-GET */
	bool		non_images;		/* retrieve non-image objects (SR, RT, ...) too */
	PacsProbe	probe;			/* list the instances (IMAGE-level C-FIND) before retrieving */
	int			level;			/* pgs_qr_level, or -1 when not given */
	Jsonb	   *deidentify;		/* NULL: store as received */
	Oid			quarantine_table;	/* InvalidOid: quarantined instances are skipped */
	int			progress_every;
	int			batch_size;		/* instances inserted per subtransaction; 1: each before it is answered */
	int			parallel;		/* associations retrieving at once */
	bool		resume;			/* request only the listed instances the table lacks */
} PacsOptions;

extern void pacs_options_parse(Jsonb *options, unsigned accepted, const char *function, PacsOptions *opts);
extern int	pacs_parse_level(const char *text);

/* One key of a query object: value NULL asks for the attribute back. */
typedef struct PacsQueryKey
{
	char	   *key;
	char	   *value;
} PacsQueryKey;

/* The keys of a query jsonb object, values as DICOM text (arrays joined with backslashes). */
extern List *pacs_query_keys(Jsonb *query);

/* ---- queries (pacs_query.c) ---- */

/* A kernel query from keys (errors name the key), freed with the current memory context. */
extern pgs_net_query *pacs_build_query(int level, List *keys, bool return_keys, pgs_qr_model model);

/*
 * Run a C-FIND; on_match gets at most opts->limit matches. True when the PACS had more than that.
 * return_keys: ask for the level's usual attributes too, not only those the keys name.
 */
extern bool pacs_run_find(const char *host, int port, const char *called_aet, const PacsOptions *opts,
						  int level, List *keys, bool return_keys, void (*on_match) (pgs_net_event *, void *),
						  void *arg);

/* ---- associations (pacs_net.c) ---- */

/*
 * An open association owned by the memory context it was opened in: if the context goes away first
 * (an error, a cancel), the association is aborted, so a PACS is never left waiting on a dead session.
 */
typedef struct PacsAssoc
{
	pgs_net_assoc *assoc;
	char		peer[128];		/* "AET at host:port", for messages */
	int			dimse_timeout_s;
	MemoryContextCallback cleanup;
} PacsAssoc;

extern PacsAssoc *pacs_open(const char *host, int port, const char *called_aet, const PacsOptions *opts,
							pgs_net_service service, const pgs_net_storage *storage, int nstorage);
extern void pacs_close(PacsAssoc *pa);

/* Raise a network failure: 08001 when connecting, 08006 after, 57014 when cancelled, else by code. */
extern void pacs_raise(const pgs_error *err, const char *what, bool connecting) pg_attribute_noreturn();

static inline void
pacs_check(pgs_status st, const pgs_error *err, const char *what)
{
	if (st != PGS_OK)
		pacs_raise(err, what, false);
}

/*
 * Wait until the association has a message to read, or wake() says there is other work (it is called
 * after every latch wake-up), serving interrupts meanwhile. *idle_since is the time of the last sign of
 * life; silence for the DIMSE timeout is an error. Returns true for a message, false for wake().
 */
extern bool pacs_wait(PacsAssoc *pa, TimestampTz *idle_since, bool (*wake) (void *), void *wake_arg);

/*
 * The same over n associations (NULL entries are skipped), each with its own time of the last sign of
 * life: returns the index of one with a message to read, or -1 for wake().
 */
extern int	pacs_wait_any(PacsAssoc **pas, TimestampTz *idle_since, int n, bool (*wake) (void *), void *wake_arg);

/* Read the next message (after pacs_wait said one is there). */
extern void pacs_next(PacsAssoc *pa, pgs_net_event *ev, const char *what);

/* The allocator for kernel results: palloc in CurrentMemoryContext, blocks ready to be bytea values. */
extern const pgs_allocator *pacs_bytea_allocator(void);
extern bytea *pacs_bytea_result(void *data, size_t len);

/* ---- target tables (pacs_target.c) ---- */

typedef enum PacsOutcome
{
	PACS_STORED,
	PACS_DUPLICATE,				/* the SOP Instance UID was in the table already */
	PACS_QUARANTINED,			/* stored in the quarantine table, as received */
	PACS_SKIPPED				/* quarantined with no quarantine table: not stored */
} PacsOutcome;

typedef struct PacsTarget
{
	Oid			relid;
	char	   *name;			/* qualified and quoted, for SQL */
	SPIPlanPtr	insert_plan;
	Jsonb	   *deidentify;
	SPIPlanPtr	deidentify_plan;
	Oid			quarantine_relid;
	char	   *quarantine_name;
	SPIPlanPtr	quarantine_plan;
} PacsTarget;

/*
 * Check the column contract of relid (and of the quarantine table), the caller's INSERT privilege and that
 * de-identification functions exist when asked for; prepare the plans (SPI must be connected).
 * keep_plans: save the plans beyond the SPI connection (the receiver caches them).
 */
extern void pacs_target_open(PacsTarget *target, Oid relid, Jsonb *deidentify, Oid quarantine_relid,
							 bool keep_plans);
extern void pacs_target_free(PacsTarget *target);

/*
 * De-identify (if configured), quarantine or insert one instance; *reason is set for QUARANTINED/SKIPPED.
 * uids, when not NULL, are the instance's identifiers already read (saves parsing it again when it is stored
 * as received).
 */
extern PacsOutcome pacs_target_store(PacsTarget *target, bytea *dcm, const pgs_net_uids *uids,
									 const char *source_aet, char **reason);

extern Oid	pacs_resolve_table(const char *name, const char *what);

/* ---- retrieval plans (pacs_plan.c) ---- */

/* One C-GET/C-MOVE request: the unique keys of what it retrieves, at a level. */
typedef struct RetrieveItem
{
	int			level;
	List	   *keys;			/* PacsQueryKey */
} RetrieveItem;

typedef struct RetrievePlan
{
	List	   *items;			/* RetrieveItem */
	List	   *storage;		/* pgs_net_storage, distinct (class, syntax) pairs, for a C-GET */
	bool		listing_incomplete; /* some item's instances could not be listed: propose the defaults */
	int64		expected;
	int64		excluded;
	List	   *excluded_classes;	/* char *, distinct */
	int			empty;			/* items the PACS lists no instance for */
	List	   *requested;		/* ProbedInstance: what per-instance requests ask for (parallel, resume) */
	int64		present;		/* listed instances the table holds already (resume) */
	bool		classes_unknown;	/* some instances were listed by UID alone: propose the defaults */
} RetrievePlan;

/*
 * Resolve a query into requests (a C-FIND first unless it names unique keys), list their instances where
 * needed (options probe, parallel, resume) and leave out what should not be asked for: non-image objects,
 * and with resume the instances the target table holds. Errors before anything is retrieved.
 */
extern RetrievePlan *pacs_make_plan(const char *host, int port, const char *called_aet, PacsOptions *opts,
									List *keys, const PacsTarget *target);

/* The storage classes a C-GET association proposes, or NULL (*n 0) for the kernel's default set. */
extern pgs_net_storage *pacs_plan_storage(RetrievePlan *plan, int *n);

/*
 * Run fn(arg) in a subtransaction, in memory context work. An error rolls the subtransaction back and is
 * returned (copied into work), so that one instance or one listing can fail without the retrieval; a cancel
 * is never swallowed. NULL when fn succeeded. (pacs_subxact.c)
 */
extern ErrorData *pacs_in_subtransaction(void (*fn) (void *), void *arg, MemoryContext work);

/* ---- shared state (pacs_shmem.c): activity rows and the routing of C-MOVE sub-operations ---- */

typedef enum PacsActivityKind
{
	PACS_ACTIVITY_NONE = 0,
	PACS_ACTIVITY_RETRIEVE,
	PACS_ACTIVITY_RECEIVER
} PacsActivityKind;

typedef enum PacsCounter
{
	PACS_COUNT_STORED,
	PACS_COUNT_DUPLICATES,
	PACS_COUNT_QUARANTINED,
	PACS_COUNT_FAILED,
	PACS_COUNT_ASSOCIATIONS,
	PACS_COUNT_REFUSED,
	PACS_COUNT_BYTES,
	PACS_NUM_COUNTERS
} PacsCounter;

extern void pacs_shmem_request(void);

/* This process's row of screen.pacs_activity (no-ops when pgscreen is not preloaded). */
extern void pacs_activity_begin(PacsActivityKind kind, const char *peer);
extern void pacs_activity_state(const char *state, const char *peer);
extern void pacs_activity_count(PacsCounter counter, int64 delta);
extern void pacs_activity_remaining(int remaining);
extern void pacs_activity_error(const char *message);
extern void pacs_activity_end(void);

/* Receivers at work (so a C-MOVE has somewhere to go). */
extern int	pacs_receivers_running(void);

/* C-MOVE routing, retrieving side: open a route for our calling AE title; returns the message ID to use. */
extern uint16 pacs_route_open(const char *originator_aet);
extern void pacs_route_close(void);

/* Whether a receiver has offered this session a delivery (a wake test for pacs_wait). */
extern bool pacs_mail_offered(void *unused);

/* Take the offered delivery: the segment to attach. */
extern bool pacs_mail_take(dsm_handle *segment);
extern void pacs_mail_answer(uint16 status, const char *comment);

/* Receiving side: the slot routing (aet, id), -1 for none; *ended is true for a retrieval that has ended. */
extern int	pacs_route_find(const char *originator_aet, int message_id, bool *ended);
extern bool pacs_mail_offer(int slot, const char *originator_aet, int message_id, dsm_handle segment);

/* 1 answered (status filled), 0 still waiting, -1 the retrieval went away. */
extern int	pacs_mail_poll(int slot, uint16 *status, char *comment, size_t comment_size);
extern void pacs_mail_withdraw(int slot);

/* ---- the receiver (pacs_receiver.c) ---- */

extern void pacs_receiver_register(void);
extern PGDLLEXPORT void pgscreen_receiver_main(Datum arg);


#endif
