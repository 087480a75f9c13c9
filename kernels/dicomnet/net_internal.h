/* Internal to kernels/dicomnet (C++ only): the association handle and helpers the SCU and SCP files share. */
#ifndef PGS_NET_INTERNAL_H
#define PGS_NET_INTERNAL_H

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/dimse.h"
#include "dcmtk/dcmtls/tlslayer.h"

#include <new>

#include "dicomnet.h"

enum pgs_net_operation
{
	PGS_NET_OP_NONE,
	PGS_NET_OP_ECHO,
	PGS_NET_OP_FIND,
	PGS_NET_OP_GET,
	PGS_NET_OP_MOVE
};

struct pgs_net_assoc
{
	T_ASC_Network *net;
	T_ASC_Association *assoc;
	DcmTLSTransportLayer *tls;
	int			is_scp;
	int			acse_timeout_s;
	int			dimse_timeout_s;
	uint64_t	max_instance_bytes;

	/* SCU: the SOP class of the service the association was opened for (C-FIND/C-GET/C-MOVE model) */
	char		service_sop_class[PGS_UID_MAX + 1];

	/* the SCU request whose responses pgs_net_next reads */
	pgs_net_operation op;
	T_ASC_PresentationContextID op_pres_id;
	DIC_US		op_message_id;

	/* a C-STORE request read by pgs_net_next and not yet answered */
	int			store_pending;
	T_ASC_PresentationContextID store_pres_id;
	T_DIMSE_C_StoreRQ store_request;
};

/* One-time set-up: dcmtk's logger silenced (kernels never print), no reverse DNS, dictionary present. */
pgs_status	pgs_net_library_init(pgs_error *err);

/* Apply the timeouts of cfg to dcmtk's global settings (our processes run one association at a time). */
void		pgs_net_apply_timeouts(const pgs_net_config *cfg);

/* Record a dcmtk condition as a failure: "<what>: <dcmtk's text>", with a code matching its kind. */
pgs_status	pgs_net_fail_cond(pgs_error *err, const OFCondition &cond, const char *what);

/* A TLS layer for the requestor or acceptor role, with certificates loaded and the peer verified. */
pgs_status	pgs_net_make_tls(const pgs_net_tls *tls, T_ASC_NetworkRole role, DcmTLSTransportLayer **out,
							 pgs_error *err);

pgs_net_assoc *pgs_net_assoc_new(const pgs_net_config *cfg);

/* Drop the network and TLS layer and free the handle (the association itself is already gone). */
void		pgs_net_assoc_free(pgs_net_assoc *a);

/*
 * Read the dataset of a C-STORE request into a Part 10 file (new meta header, then the bytes as received)
 * and fill ev's INSTANCE fields. A dataset that is too large, unparsable or names other UIDs than the
 * request is read to its end and refused (ev->data NULL, ev->refused_status set); only network failures
 * return an error.
 */
pgs_status	pgs_net_receive_instance(pgs_net_assoc *a, T_ASC_PresentationContextID pres_id,
									 const T_DIMSE_C_StoreRQ *request, const pgs_allocator *alloc,
									 pgs_net_event *ev, pgs_error *err);

/* Read the identifiers out of a parsed dataset. */
void		pgs_net_read_uids(DcmItem *dataset, pgs_net_uids *uids);

/* Convert a response identifier to UTF-8 DICOM JSON, allocated through alloc. */
pgs_status	pgs_net_dataset_json(DcmDataset *dataset, const pgs_allocator *alloc, char **json, size_t *len,
								 pgs_error *err);

/* The query's dataset (owned by the query). */
DcmDataset *pgs_net_query_dataset(const pgs_net_query *q);

/* Image storage SOP classes and the transfer syntaxes we accept, in order of preference. */
extern const char *const pgs_net_image_sop_classes[];
extern const int pgs_net_image_sop_class_count;
extern const char *const pgs_net_stored_transfer_syntaxes[];
extern const int pgs_net_stored_transfer_syntax_count;

/* dcmtk takes lists of UIDs as const char ** although it never writes to them. */
static inline const char **
pgs_net_uid_list(const char *const *list)
{
	return const_cast<const char **>(list);
}

/* Run body, turning any C++ exception into a failure; for every extern "C" entry that returns a status. */
#define PGS_NET_GUARD(err, body) \
	try { body } \
	catch (const std::bad_alloc &) { return pgs_fail((err), PGS_ERR_NO_MEMORY, "out of memory in dcmtk"); } \
	catch (...) { return pgs_fail((err), PGS_ERR_INTERNAL, "unexpected C++ exception in dcmtk"); }

#endif
