// SCU side: open an association for C-ECHO, C-FIND, C-GET or C-MOVE and send the requests (responses: net_next.cpp).
#include "net_internal.h"

#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/diutil.h"

#include <cstdio>
#include <cstring>

namespace
{

const char *const uncompressed_syntaxes[] = {
	UID_LittleEndianExplicitTransferSyntax,
	UID_LittleEndianImplicitTransferSyntax,
};

#define MAX_CONTEXTS 128

const char *
service_sop_class(pgs_net_service service, pgs_qr_model model)
{
	bool		patient = model == PGS_QR_MODEL_PATIENT;

	switch (service)
	{
		case PGS_NET_ECHO:
			return UID_VerificationSOPClass;
		case PGS_NET_FIND:
			return patient ? UID_FINDPatientRootQueryRetrieveInformationModel :
				UID_FINDStudyRootQueryRetrieveInformationModel;
		case PGS_NET_GET:
			return patient ? UID_GETPatientRootQueryRetrieveInformationModel :
				UID_GETStudyRootQueryRetrieveInformationModel;
		case PGS_NET_MOVE:
			return patient ? UID_MOVEPatientRootQueryRetrieveInformationModel :
				UID_MOVEStudyRootQueryRetrieveInformationModel;
	}
	return UID_VerificationSOPClass;
}

const char *
service_name(pgs_net_service service)
{
	switch (service)
	{
		case PGS_NET_ECHO:
			return "verification (C-ECHO)";
		case PGS_NET_FIND:
			return "query (C-FIND)";
		case PGS_NET_GET:
			return "retrieve (C-GET)";
		case PGS_NET_MOVE:
			return "retrieve (C-MOVE)";
	}
	return "?";
}

bool
is_uncompressed(const char *ts)
{
	return std::strcmp(ts, UID_LittleEndianExplicitTransferSyntax) == 0 ||
		std::strcmp(ts, UID_LittleEndianImplicitTransferSyntax) == 0 ||
		std::strcmp(ts, UID_BigEndianExplicitTransferSyntax) == 0;
}

// Presentation contexts of one association: IDs are odd, 1..255.
struct ContextList
{
	T_ASC_Parameters *params;
	int			count;
	OFCondition cond;

	bool		add(const char *abstract, const char *const *syntaxes, int n, T_ASC_SC_ROLE role)
	{
		if (cond.bad() || count >= MAX_CONTEXTS)
			return false;
		cond = ASC_addPresentationContext(params, (T_ASC_PresentationContextID) (2 * count + 1), abstract,
										  pgs_net_uid_list(syntaxes), n, role);
		count++;
		return cond.good();
	}
};

// As C-GET's requestor we take the SCP role for storage: the PACS sends on our association.
void
add_storage_class(ContextList &list, const char *sop_class, const char *ts, int *wanted)
{
	list.add(sop_class, uncompressed_syntaxes, 2, ASC_SC_ROLE_SCP);
	++*wanted;
	if (ts != NULL)
	{
		if (!is_uncompressed(ts))
		{
			list.add(sop_class, &ts, 1, ASC_SC_ROLE_SCP);
			++*wanted;
		}
		return;
	}
	// the PACS did not say: one context per compressed syntax pgscreen stores
	for (int i = 0; i < pgs_net_stored_transfer_syntax_count; i++)
	{
		if (is_uncompressed(pgs_net_stored_transfer_syntaxes[i]))
			continue;
		list.add(sop_class, &pgs_net_stored_transfer_syntaxes[i], 1, ASC_SC_ROLE_SCP);
		++*wanted;
	}
}

pgs_status
add_contexts(T_ASC_Parameters *params, pgs_net_service service, pgs_qr_model model, const pgs_net_storage *storage,
			 int nstorage, pgs_error *err)
{
	ContextList list = {params, 0, EC_Normal};
	int			wanted = 1;

	list.add(service_sop_class(service, model), uncompressed_syntaxes, 2, ASC_SC_ROLE_DEFAULT);
	if (service == PGS_NET_GET && nstorage == 0)
	{
		for (int i = 0; i < pgs_net_image_sop_class_count; i++)
		{
			// uncompressed, and the two JPEG 2000 syntaxes (first in the stored list) a PACS rarely transcodes
			list.add(pgs_net_image_sop_classes[i], uncompressed_syntaxes, 2, ASC_SC_ROLE_SCP);
			list.add(pgs_net_image_sop_classes[i], &pgs_net_stored_transfer_syntaxes[0], 1, ASC_SC_ROLE_SCP);
			list.add(pgs_net_image_sop_classes[i], &pgs_net_stored_transfer_syntaxes[1], 1, ASC_SC_ROLE_SCP);
			wanted += 3;
		}
	}
	else if (service == PGS_NET_GET)
	{
		for (int i = 0; i < nstorage; i++)
		{
			bool		seen = false;

			// one class may come with several syntaxes: its uncompressed context once
			for (int j = 0; j < i && !seen; j++)
				seen = std::strcmp(storage[j].sop_class_uid, storage[i].sop_class_uid) == 0;
			if (!seen)
				add_storage_class(list, storage[i].sop_class_uid, storage[i].transfer_syntax_uid, &wanted);
			else if (storage[i].transfer_syntax_uid && !is_uncompressed(storage[i].transfer_syntax_uid))
			{
				list.add(storage[i].sop_class_uid, &storage[i].transfer_syntax_uid, 1, ASC_SC_ROLE_SCP);
				wanted++;
			}
		}
	}
	if (list.cond.bad())
		return pgs_net_fail_cond(err, list.cond, "could not prepare the association request");
	if (wanted > MAX_CONTEXTS)
		return pgs_fail(err, PGS_ERR_LIMIT,
						"the retrieval needs %d presentation contexts, more than the %d of one association", wanted,
						MAX_CONTEXTS);
	return PGS_OK;
}

const char *
reject_reason_text(const T_ASC_RejectParameters &rej)
{
	switch (rej.reason)
	{
		case ASC_REASON_SU_NOREASON:
			return "no reason given";
		case ASC_REASON_SU_APPCONTEXTNAMENOTSUPPORTED:
			return "application context name not supported";
		case ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED:
			return "calling AE title not recognized";
		case ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED:
			return "called AE title not recognized";
		case ASC_REASON_SP_ACSE_NOREASON:
			return "no reason given (ACSE)";
		case ASC_REASON_SP_ACSE_PROTOCOLVERSIONNOTSUPPORTED:
			return "protocol version not supported";
		case ASC_REASON_SP_PRES_TEMPORARYCONGESTION:
			return "temporary congestion";
		case ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED:
			return "local limit exceeded";
	}
	return "unknown reason";
}

pgs_status
fail_rejected(pgs_net_assoc *a, const char *where, pgs_error *err)
{
	T_ASC_RejectParameters rej;

	if (ASC_getRejectParameters(a->assoc->params, &rej).bad())
		return pgs_fail(err, PGS_ERR_IO, "association rejected by %s", where);
	return pgs_fail(err, PGS_ERR_IO, "association rejected by %s (%s): %s", where,
					rej.result == ASC_RESULT_REJECTEDTRANSIENT ? "transient" : "permanent",
					reject_reason_text(rej));
}

pgs_status
send_request(pgs_net_assoc *a, T_DIMSE_Message *msg, DcmDataset *identifier, const char *what, pgs_error *err)
{
	OFCondition cond = DIMSE_sendMessageUsingMemoryData(a->assoc, a->op_pres_id, msg, NULL, identifier, NULL, NULL);

	if (cond.bad())
		return pgs_net_fail_cond(err, cond, what);
	return PGS_OK;
}

pgs_status
check_ready(pgs_net_assoc *a, pgs_net_operation op, pgs_error *err)
{
	if (a == NULL || a->assoc == NULL || a->is_scp)
		return pgs_fail(err, PGS_ERR_INTERNAL, "no SCU association is open");
	if (a->op != PGS_NET_OP_NONE)
		return pgs_fail(err, PGS_ERR_INTERNAL, "a request is still outstanding on this association");
	if ((op == PGS_NET_OP_ECHO) != (std::strcmp(a->service_sop_class, UID_VerificationSOPClass) == 0))
		return pgs_fail(err, PGS_ERR_INTERNAL, "the association was opened for another service");
	return PGS_OK;
}

}								// namespace

extern "C" pgs_status
pgs_net_connect(const char *host, int port, const char *called_aet, const pgs_net_config *cfg,
				pgs_net_service service, pgs_qr_model model, const pgs_net_storage *storage, int nstorage,
				pgs_net_assoc **out, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		pgs_status	st;
		pgs_net_assoc *a;
		T_ASC_Parameters *params = NULL;
		OFCondition cond;
		char		peer[300];
		char		where[320];

		*out = NULL;
		if ((st = pgs_net_library_init(err)) != PGS_OK ||
			(st = pgs_net_check_aet(cfg->aet, "calling AE title", err)) != PGS_OK ||
			(st = pgs_net_check_aet(called_aet, "called AE title", err)) != PGS_OK)
			return st;
		if (host == NULL || *host == '\0' || std::strlen(host) > 255 || std::strchr(host, ':') != NULL)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "host must be a host name or an IPv4 address");
		if (port < 1 || port > 65535)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "port %d is out of range (1..65535)", port);
		if (cfg->max_pdu < ASC_MINIMUMPDUSIZE || cfg->max_pdu > ASC_MAXIMUMPDUSIZE)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "maximum PDU size %u is out of range (%u..%u)",
							cfg->max_pdu, (unsigned) ASC_MINIMUMPDUSIZE, (unsigned) ASC_MAXIMUMPDUSIZE);
		std::snprintf(peer, sizeof(peer), "%s:%d", host, port);
		std::snprintf(where, sizeof(where), "%s at %s", called_aet, peer);

		pgs_net_apply_timeouts(cfg);
		a = pgs_net_assoc_new(cfg);
		std::snprintf(a->service_sop_class, sizeof(a->service_sop_class), "%s", service_sop_class(service, model));
		cond = ASC_initializeNetwork(NET_REQUESTOR, 0, cfg->acse_timeout_s, &a->net);
		if (cond.bad())
		{
			pgs_net_assoc_free(a);
			return pgs_net_fail_cond(err, cond, "could not initialise the network");
		}
		if (cfg->tls.enabled)
		{
			st = pgs_net_make_tls(&cfg->tls, NET_REQUESTOR, &a->tls, err);
			if (st == PGS_OK && ASC_setTransportLayer(a->net, a->tls, 0).bad())
				st = pgs_fail(err, PGS_ERR_INTERNAL, "could not install the TLS layer");
			if (st != PGS_OK)
			{
				pgs_net_assoc_free(a);
				return st;
			}
		}
		cond = ASC_createAssociationParameters(&params, (long) cfg->max_pdu);
		if (cond.good())
			cond = ASC_setAPTitles(params, cfg->aet, called_aet, NULL);
		if (cond.good())
			cond = ASC_setTransportLayerType(params, cfg->tls.enabled ? OFTrue : OFFalse);
		if (cond.good())
			cond = ASC_setPresentationAddresses(params, "localhost", peer);
		if (cond.bad())
		{
			if (params)
				ASC_destroyAssociationParameters(&params);
			pgs_net_assoc_free(a);
			return pgs_net_fail_cond(err, cond, "could not prepare the association request");
		}
		st = add_contexts(params, service, model, storage, nstorage, err);
		if (st != PGS_OK)
		{
			ASC_destroyAssociationParameters(&params);
			pgs_net_assoc_free(a);
			return st;
		}

		cond = ASC_requestAssociation(a->net, params, &a->assoc);
		if (cond.bad())
		{
			if (a->assoc == NULL)
				ASC_destroyAssociationParameters(&params);
			if (cond == DUL_ASSOCIATIONREJECTED)
				st = fail_rejected(a, where, err);
			else
			{
				char		what[400];

				std::snprintf(what, sizeof(what), "could not associate with %s", where);
				st = pgs_net_fail_cond(err, cond, what);
				if (err)
					err->code = PGS_ERR_IO;
				st = PGS_ERR_IO;
			}
			pgs_net_assoc_free(a);
			return st;
		}
		a->op_pres_id = ASC_findAcceptedPresentationContextID(a->assoc, a->service_sop_class);
		if (a->op_pres_id == 0)
		{
			ASC_abortAssociation(a->assoc);
			pgs_net_assoc_free(a);
			return pgs_fail(err, PGS_ERR_UNSUPPORTED, "%s does not offer %s%s", where, service_name(service),
							service == PGS_NET_ECHO ? "" :
							model == PGS_QR_MODEL_PATIENT ? " in the patient-root model" : " in the study-root model");
		}
		*out = a;
		return PGS_OK;
	})
}

extern "C" pgs_status
pgs_net_echo_start(pgs_net_assoc *a, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		T_DIMSE_Message msg;
		pgs_status	st = check_ready(a, PGS_NET_OP_ECHO, err);

		if (st != PGS_OK)
			return st;
		std::memset(&msg, 0, sizeof(msg));
		msg.CommandField = DIMSE_C_ECHO_RQ;
		msg.msg.CEchoRQ.MessageID = a->assoc->nextMsgID++;
		std::snprintf(msg.msg.CEchoRQ.AffectedSOPClassUID, sizeof(DIC_UI), "%s", UID_VerificationSOPClass);
		msg.msg.CEchoRQ.DataSetType = DIMSE_DATASET_NULL;
		st = send_request(a, &msg, NULL, "could not send the C-ECHO request", err);
		if (st == PGS_OK)
		{
			a->op = PGS_NET_OP_ECHO;
			a->op_message_id = msg.msg.CEchoRQ.MessageID;
		}
		return st;
	})
}

extern "C" pgs_status
pgs_net_find_start(pgs_net_assoc *a, const pgs_net_query *q, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		T_DIMSE_Message msg;
		T_DIMSE_C_FindRQ *rq = &msg.msg.CFindRQ;
		pgs_status	st = check_ready(a, PGS_NET_OP_FIND, err);

		if (st != PGS_OK)
			return st;
		std::memset(&msg, 0, sizeof(msg));
		msg.CommandField = DIMSE_C_FIND_RQ;
		rq->MessageID = a->assoc->nextMsgID++;
		std::snprintf(rq->AffectedSOPClassUID, sizeof(DIC_UI), "%s", a->service_sop_class);
		rq->Priority = DIMSE_PRIORITY_MEDIUM;
		rq->DataSetType = DIMSE_DATASET_PRESENT;
		st = send_request(a, &msg, pgs_net_query_dataset(q), "could not send the C-FIND request", err);
		if (st == PGS_OK)
		{
			a->op = PGS_NET_OP_FIND;
			a->op_message_id = rq->MessageID;
		}
		return st;
	})
}

extern "C" pgs_status
pgs_net_get_start(pgs_net_assoc *a, const pgs_net_query *q, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		T_DIMSE_Message msg;
		T_DIMSE_C_GetRQ *rq = &msg.msg.CGetRQ;
		pgs_status	st = check_ready(a, PGS_NET_OP_GET, err);

		if (st != PGS_OK)
			return st;
		std::memset(&msg, 0, sizeof(msg));
		msg.CommandField = DIMSE_C_GET_RQ;
		rq->MessageID = a->assoc->nextMsgID++;
		std::snprintf(rq->AffectedSOPClassUID, sizeof(DIC_UI), "%s", a->service_sop_class);
		rq->Priority = DIMSE_PRIORITY_MEDIUM;
		rq->DataSetType = DIMSE_DATASET_PRESENT;
		st = send_request(a, &msg, pgs_net_query_dataset(q), "could not send the C-GET request", err);
		if (st == PGS_OK)
		{
			a->op = PGS_NET_OP_GET;
			a->op_message_id = rq->MessageID;
		}
		return st;
	})
}

extern "C" pgs_status
pgs_net_move_start(pgs_net_assoc *a, const pgs_net_query *q, const char *destination_aet, uint16_t message_id,
				   pgs_error *err)
{
	PGS_NET_GUARD(err, {
		T_DIMSE_Message msg;
		T_DIMSE_C_MoveRQ *rq = &msg.msg.CMoveRQ;
		pgs_status	st = check_ready(a, PGS_NET_OP_MOVE, err);

		if (st != PGS_OK || (st = pgs_net_check_aet(destination_aet, "move destination", err)) != PGS_OK)
			return st;
		std::memset(&msg, 0, sizeof(msg));
		msg.CommandField = DIMSE_C_MOVE_RQ;
		// The caller picks the ID: the PACS copies it into every sub-operation, which is how pgscreen's
		// receiver routes them back to this session.
		rq->MessageID = message_id;
		a->assoc->nextMsgID = (DIC_US) (message_id + 1);
		std::snprintf(rq->AffectedSOPClassUID, sizeof(DIC_UI), "%s", a->service_sop_class);
		rq->Priority = DIMSE_PRIORITY_MEDIUM;
		rq->DataSetType = DIMSE_DATASET_PRESENT;
		std::snprintf(rq->MoveDestination, sizeof(DIC_AE), "%s", destination_aet);
		st = send_request(a, &msg, pgs_net_query_dataset(q), "could not send the C-MOVE request", err);
		if (st == PGS_OK)
		{
			a->op = PGS_NET_OP_MOVE;
			a->op_message_id = rq->MessageID;
		}
		return st;
	})
}

extern "C" pgs_status
pgs_net_cancel(pgs_net_assoc *a, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		OFCondition cond;

		if (a == NULL || a->assoc == NULL || a->op == PGS_NET_OP_NONE)
			return PGS_OK;
		cond = DIMSE_sendCancelRequest(a->assoc, a->op_pres_id, a->op_message_id);
		return cond.good() ? PGS_OK : pgs_net_fail_cond(err, cond, "could not send C-CANCEL");
	})
}
