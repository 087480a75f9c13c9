/* DICOM networking (dcmtk dcmnet + dcmtls) behind a C interface: SCU and SCP associations, one step per call. */
#ifndef PGS_DICOMNET_H
#define PGS_DICOMNET_H

#include <stddef.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every exchange is driven step by step from C: a call sends one request or reads one message and
 * returns, so the caller (a PostgreSQL backend or background worker) runs its own code -- inserts,
 * interrupts, waits on its latch -- between messages with no C++ frame on the stack. To wait, poll
 * pgs_net_data_pending() and, when it says no, sleep on pgs_net_socket() becoming readable; then call
 * pgs_net_next(), which reads exactly one message (blocking at most the DIMSE timeout mid-message).
 */

#define PGS_AET_MAX 16			/* characters in an AE title */
#define PGS_UID_MAX 64			/* characters in a UID */

typedef struct pgs_net_tls
{
	int			enabled;
	const char *cert_file;		/* our certificate, PEM */
	const char *key_file;		/* its private key, PEM, not encrypted (may be the certificate's file) */
	const char *ca_file;		/* certificates trusted for the peer, PEM; the peer must present one */
} pgs_net_tls;

typedef struct pgs_net_config
{
	const char *aet;			/* our AE title: calling (SCU) or called (SCP) */
	int			connect_timeout_s;	/* TCP connect */
	int			acse_timeout_s; /* association request/accept/release */
	int			dimse_timeout_s;	/* silence while a DIMSE message is expected or half read */
	uint32_t	max_pdu;		/* largest PDU we accept, in bytes (4096 .. 131072) */
	uint64_t	max_instance_bytes; /* larger received datasets are refused (read and dropped) */
	pgs_net_tls tls;
} pgs_net_config;

void		pgs_net_config_init(pgs_net_config *cfg);

/* Query/retrieve levels and information models (PS3.4 C.3, C.6). */
typedef enum pgs_qr_level
{
	PGS_QR_PATIENT,
	PGS_QR_STUDY,
	PGS_QR_SERIES,
	PGS_QR_IMAGE
} pgs_qr_level;

typedef enum pgs_qr_model
{
	PGS_QR_MODEL_STUDY,
	PGS_QR_MODEL_PATIENT
} pgs_qr_model;

/* What an SCU association is opened for: the presentation contexts it proposes. */
typedef enum pgs_net_service
{
	PGS_NET_ECHO,
	PGS_NET_FIND,
	PGS_NET_GET,				/* also proposes the image storage classes with the SCP role */
	PGS_NET_MOVE
} pgs_net_service;

/* ---- queries (identifiers of C-FIND, C-GET and C-MOVE) ---- */

typedef struct pgs_net_query pgs_net_query;

pgs_status	pgs_net_query_create(pgs_qr_level level, pgs_net_query **out, pgs_error *err);

/*
 * Add a key by keyword ("PatientID") or tag ("(0010,0020)" or "00100020"). value NULL asks for the
 * attribute back (universal matching); otherwise it is a matching value, checked against what the
 * attribute's VR allows: wildcards * and ? where DICOM permits them, ranges for DA/TM/DT, lists of UIDs
 * separated by backslashes. Errors name the key and say what is wrong.
 */
pgs_status	pgs_net_query_add(pgs_net_query *q, const char *key, const char *value, pgs_error *err);

/* Add the level's usual return keys (IDs, dates, descriptions, counts) that the query lacks. */
pgs_status	pgs_net_query_add_return_keys(pgs_net_query *q, pgs_qr_model model, pgs_error *err);

/* 1 if the query holds the attribute (by keyword or tag), 0 if not, -1 if the key is not valid. */
int			pgs_net_query_has(const pgs_net_query *q, const char *key);

void		pgs_net_query_free(pgs_net_query *q);

/* Parse an AE title for use: trims spaces, 1..16 characters of the default repertoire, no backslash. */
pgs_status	pgs_net_check_aet(const char *aet, const char *what, pgs_error *err);

/* ---- associations ---- */

typedef struct pgs_net_assoc pgs_net_assoc;

/* A storage SOP class a C-GET should be able to receive, and the transfer syntax the PACS holds it in. */
typedef struct pgs_net_storage
{
	const char *sop_class_uid;
	const char *transfer_syntax_uid;	/* NULL when unknown: every syntax pgscreen stores is proposed */
} pgs_net_storage;

/*
 * Open an association as SCU: TCP connect, optional TLS, A-ASSOCIATE. A rejection says who and why.
 * For PGS_NET_GET, storage lists the classes to receive (a PACS sends an instance only on a presentation
 * context of its class, and can rarely transcode JPEG 2000, so each compressed syntax gets a context of its
 * own); nstorage 0 proposes every image class in the uncompressed and JPEG 2000 syntaxes. More than one
 * association's 128 presentation contexts is a PGS_ERR_LIMIT failure.
 */
pgs_status	pgs_net_connect(const char *host, int port, const char *called_aet, const pgs_net_config *cfg,
							pgs_net_service service, pgs_qr_model model, const pgs_net_storage *storage,
							int nstorage, pgs_net_assoc **out, pgs_error *err);

/* Send a C-ECHO request on an ECHO association; its response comes back as a DONE event. */
pgs_status	pgs_net_echo_start(pgs_net_assoc *a, pgs_error *err);

pgs_status	pgs_net_find_start(pgs_net_assoc *a, const pgs_net_query *q, pgs_error *err);
pgs_status	pgs_net_get_start(pgs_net_assoc *a, const pgs_net_query *q, pgs_error *err);

/* C-MOVE to destination_aet with the given message ID (the PACS tags its sub-operations with it). */
pgs_status	pgs_net_move_start(pgs_net_assoc *a, const pgs_net_query *q, const char *destination_aet,
							   uint16_t message_id, pgs_error *err);

/* Ask the peer to stop the outstanding C-FIND/C-GET/C-MOVE (C-CANCEL); its final response follows. */
pgs_status	pgs_net_cancel(pgs_net_assoc *a, pgs_error *err);

int			pgs_net_socket(const pgs_net_assoc *a);

/* 1 when pgs_net_next() can start reading a message now (buffered PDVs, TLS or socket data). */
int			pgs_net_data_pending(pgs_net_assoc *a);

/* Identifiers of a received instance or a C-FIND match (empty strings when absent). */
typedef struct pgs_net_uids
{
	char		patient_id[PGS_UID_MAX + 1];
	char		study_instance_uid[PGS_UID_MAX + 1];
	char		series_instance_uid[PGS_UID_MAX + 1];
	char		sop_instance_uid[PGS_UID_MAX + 1];
	char		sop_class_uid[PGS_UID_MAX + 1];
	char		transfer_syntax_uid[PGS_UID_MAX + 1];	/* MATCH: Available Transfer Syntax UID, if given */
} pgs_net_uids;

typedef enum pgs_net_event_kind
{
	PGS_NET_EVENT_MATCH = 1,	/* C-FIND pending response: one match */
	PGS_NET_EVENT_INSTANCE,		/* C-STORE request (C-GET sub-operation or SCP): answer with store_reply */
	PGS_NET_EVENT_PROGRESS,		/* C-GET/C-MOVE pending response */
	PGS_NET_EVENT_DONE,			/* SCU: final response; SCP: the peer released or aborted */
	PGS_NET_EVENT_ECHOED		/* SCP: a C-ECHO request was answered; nothing for the caller to do */
} pgs_net_event_kind;

typedef struct pgs_net_event
{
	pgs_net_event_kind kind;

	/* MATCH: the identifier as DICOM JSON (PS3.18 F), UTF-8, allocated by the caller's allocator */
	char	   *json;
	size_t		json_len;

	/*
	 * MATCH and INSTANCE: identifiers. INSTANCE: the instance as a DICOM Part 10 file (a new file meta
	 * header, then the dataset exactly as it came over the wire), allocated by the caller's allocator; or
	 * data NULL and refused_status set when it was read but cannot be accepted (too large, unparsable,
	 * UIDs not matching the request) -- store_reply must still be called, with that status.
	 */
	pgs_net_uids uids;
	unsigned char *data;
	size_t		len;
	uint16_t	refused_status;
	char		refused_reason[128];
	char		move_originator_aet[PGS_AET_MAX + 1];	/* empty unless a C-MOVE sub-operation */
	int			move_originator_id; /* -1 unless a C-MOVE sub-operation */

	/* PROGRESS and DONE (SCU): status and sub-operation counts, -1 when the peer gave none */
	uint16_t	status;
	int			remaining;
	int			completed;
	int			failed;
	int			warning;
	char		error_comment[PGS_UID_MAX + 1];

	/* DONE (SCP): 1 when the peer released the association, 0 when it aborted or vanished */
	int			released;
} pgs_net_event;

pgs_status	pgs_net_next(pgs_net_assoc *a, const pgs_allocator *alloc, pgs_net_event *ev, pgs_error *err);

/* Answer the pending C-STORE (DIMSE status: 0x0000 success, 0xA700 out of resources, ...). */
pgs_status	pgs_net_store_reply(pgs_net_assoc *a, uint16_t status, const char *error_comment, pgs_error *err);

/* Status words we answer C-STOREs with, and a name for any status (e.g. "0xA700 refused: out of resources"). */
#define PGS_DIMSE_SUCCESS 0x0000
#define PGS_DIMSE_NOT_AUTHORIZED 0x0124
#define PGS_DIMSE_OUT_OF_RESOURCES 0xA700
#define PGS_DIMSE_DATASET_MISMATCH 0xA900
#define PGS_DIMSE_CANNOT_UNDERSTAND 0xC000
#define PGS_DIMSE_CANCELLED 0xFE00
void		pgs_net_status_text(uint16_t status, char *buf, size_t bufsize);

/* End the association: release (graceful, waits for the reply) or abort; both free the handle. NULL is fine. */
void		pgs_net_release(pgs_net_assoc *a);
void		pgs_net_abort(pgs_net_assoc *a);

/* ---- SCP: one association on an accepted socket ---- */

typedef struct pgs_net_request
{
	char		calling_aet[PGS_AET_MAX + 1];
	char		called_aet[PGS_AET_MAX + 1];
} pgs_net_request;

/*
 * Take over a connected socket (it is closed by pgs_net_release/abort/reject, or here on failure), run the
 * TLS handshake when cfg->tls.enabled and read the A-ASSOCIATE-RQ. The caller checks the AE titles and
 * then accepts or rejects.
 */
pgs_status	pgs_net_scp_receive(int fd, const pgs_net_config *cfg, pgs_net_assoc **out, pgs_net_request *req,
								pgs_error *err);

typedef enum pgs_net_reject_reason
{
	PGS_NET_REJECT_CALLING_AET, /* calling AE title not recognised (permanent) */
	PGS_NET_REJECT_CALLED_AET	/* called AE title not recognised (permanent) */
} pgs_net_reject_reason;

/* Send A-ASSOCIATE-RJ and free the handle. */
void		pgs_net_scp_reject(pgs_net_assoc *a, pgs_net_reject_reason reason);

/*
 * Accept the verification class and the storage classes of images (or, with accept_non_images, every
 * storage class dcmtk knows) in the transfer syntaxes pgscreen stores, preferring the proposed compressed
 * syntax so that images arrive as they were encoded; send A-ASSOCIATE-AC. *storage_contexts counts the
 * storage contexts accepted.
 */
pgs_status	pgs_net_scp_accept(pgs_net_assoc *a, int accept_non_images, int *storage_contexts, pgs_error *err);

/* ---- instances ---- */

/* Read the identifiers of a DICOM Part 10 file (or a bare dataset) without loading large values. */
pgs_status	pgs_net_instance_uids(const unsigned char *data, size_t len, pgs_net_uids *uids, pgs_error *err);

/* 1 if the SOP class UID is one of the image storage classes pgscreen negotiates by default. */
int			pgs_net_is_image_sop_class(const char *sop_class_uid);

#ifdef __cplusplus
}
#endif

#endif
