// Reading one message per call on an open association (responses, C-STORE and C-ECHO requests) and answering C-STOREs.
#include "net_internal.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcuid.h"

#include <cstdio>
#include <cstring>

namespace
{

void
clear_event(pgs_net_event *ev)
{
	std::memset(ev, 0, sizeof(*ev));
	ev->remaining = ev->completed = ev->failed = ev->warning = -1;
	ev->move_originator_id = -1;
}

bool
is_pending(DIC_US status)
{
	return status == 0xFF00 || status == 0xFF01;
}

// The dataset that may follow a response (failed SOP instance list, offending elements) is read and dropped.
pgs_status
skip_dataset(pgs_net_assoc *a, pgs_error *err)
{
	DIC_UL		bytes = 0,
				pdvs = 0;
	OFCondition cond = DIMSE_ignoreDataSet(a->assoc, DIMSE_NONBLOCKING, a->dimse_timeout_s, &bytes, &pdvs);

	return cond.good() ? PGS_OK : pgs_net_fail_cond(err, cond, "could not read the dataset of a response");
}

void
read_error_comment(DcmDataset *detail, pgs_net_event *ev)
{
	OFString	comment;

	if (detail && detail->findAndGetOFString(DCM_ErrorComment, comment).good())
		std::snprintf(ev->error_comment, sizeof(ev->error_comment), "%s", comment.c_str());
}

pgs_status
check_response_to(pgs_net_assoc *a, DIC_US responded_to, pgs_net_operation expected, const char *what,
				  pgs_error *err)
{
	if (a->op != expected)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "the peer sent a %s response nobody asked for", what);
	if (responded_to != a->op_message_id)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "the peer answered message %u, expected %u", responded_to,
						a->op_message_id);
	return PGS_OK;
}

pgs_status
on_find_response(pgs_net_assoc *a, T_DIMSE_C_FindRSP *rsp, DcmDataset *detail, const pgs_allocator *alloc,
				 pgs_net_event *ev, pgs_error *err)
{
	pgs_status	st = check_response_to(a, rsp->MessageIDBeingRespondedTo, PGS_NET_OP_FIND, "C-FIND", err);
	T_ASC_PresentationContextID pres_id;
	DcmDataset *identifier = NULL;
	OFCondition cond;

	if (st != PGS_OK)
		return st;
	ev->status = rsp->DimseStatus;
	read_error_comment(detail, ev);
	if (!is_pending(rsp->DimseStatus))
	{
		ev->kind = PGS_NET_EVENT_DONE;
		a->op = PGS_NET_OP_NONE;
		return rsp->DataSetType == DIMSE_DATASET_NULL ? PGS_OK : skip_dataset(a, err);
	}
	if (rsp->DataSetType == DIMSE_DATASET_NULL)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "the peer sent a pending C-FIND response without an identifier");
	cond = DIMSE_receiveDataSetInMemory(a->assoc, DIMSE_NONBLOCKING, a->dimse_timeout_s, &pres_id, &identifier,
										NULL, NULL);
	if (cond.bad())
	{
		delete identifier;
		return pgs_net_fail_cond(err, cond, "could not read a C-FIND match");
	}
	ev->kind = PGS_NET_EVENT_MATCH;
	pgs_net_read_uids(identifier, &ev->uids);
	st = pgs_net_dataset_json(identifier, alloc, &ev->json, &ev->json_len, err);
	delete identifier;
	return st;
}

// C-GET and C-MOVE responses carry the same fields.
template <typename Response>
pgs_status
on_retrieve_response(pgs_net_assoc *a, Response *rsp, pgs_net_operation op, unsigned remaining_flag,
					 unsigned completed_flag, unsigned failed_flag, unsigned warning_flag, DcmDataset *detail,
					 pgs_net_event *ev, pgs_error *err)
{
	pgs_status	st = check_response_to(a, rsp->MessageIDBeingRespondedTo, op,
									   op == PGS_NET_OP_GET ? "C-GET" : "C-MOVE", err);

	if (st != PGS_OK)
		return st;
	ev->status = rsp->DimseStatus;
	ev->remaining = (rsp->opts & remaining_flag) ? rsp->NumberOfRemainingSubOperations : -1;
	ev->completed = (rsp->opts & completed_flag) ? rsp->NumberOfCompletedSubOperations : -1;
	ev->failed = (rsp->opts & failed_flag) ? rsp->NumberOfFailedSubOperations : -1;
	ev->warning = (rsp->opts & warning_flag) ? rsp->NumberOfWarningSubOperations : -1;
	read_error_comment(detail, ev);
	if (is_pending(rsp->DimseStatus))
		ev->kind = PGS_NET_EVENT_PROGRESS;
	else
	{
		ev->kind = PGS_NET_EVENT_DONE;
		a->op = PGS_NET_OP_NONE;
	}
	return rsp->DataSetType == DIMSE_DATASET_NULL ? PGS_OK : skip_dataset(a, err);
}

pgs_status
answer_echo(pgs_net_assoc *a, T_ASC_PresentationContextID pres_id, T_DIMSE_C_EchoRQ *rq, pgs_net_event *ev,
			pgs_error *err)
{
	OFCondition cond = DIMSE_sendEchoResponse(a->assoc, pres_id, rq, STATUS_Success, NULL);

	if (cond.bad())
		return pgs_net_fail_cond(err, cond, "could not answer a C-ECHO request");
	ev->kind = PGS_NET_EVENT_ECHOED;
	return PGS_OK;
}

pgs_status
next_message(pgs_net_assoc *a, const pgs_allocator *alloc, pgs_net_event *ev, pgs_error *err)
{
	T_DIMSE_Message msg;
	T_ASC_PresentationContextID pres_id = 0;
	DcmDataset *detail = NULL;
	OFCondition cond;
	pgs_status	st;

	if (a->store_pending)
		return pgs_fail(err, PGS_ERR_INTERNAL, "the previous C-STORE request has not been answered");
	cond = DIMSE_receiveCommand(a->assoc, DIMSE_NONBLOCKING, a->dimse_timeout_s, &pres_id, &msg, &detail);
	if (cond.bad())
	{
		delete detail;
		if (a->is_scp && cond == DUL_PEERREQUESTEDRELEASE)
		{
			ASC_acknowledgeRelease(a->assoc);
			ev->kind = PGS_NET_EVENT_DONE;
			ev->released = 1;
			return PGS_OK;
		}
		if (a->is_scp && (cond == DUL_PEERABORTEDASSOCIATION || cond == DUL_NETWORKCLOSED))
		{
			ev->kind = PGS_NET_EVENT_DONE;
			ev->released = 0;
			return PGS_OK;
		}
		return pgs_net_fail_cond(err, cond, "could not read a message from the peer");
	}

	switch (msg.CommandField)
	{
		case DIMSE_C_ECHO_RSP:
			st = check_response_to(a, msg.msg.CEchoRSP.MessageIDBeingRespondedTo, PGS_NET_OP_ECHO, "C-ECHO", err);
			if (st == PGS_OK)
			{
				ev->kind = PGS_NET_EVENT_DONE;
				ev->status = msg.msg.CEchoRSP.DimseStatus;
				a->op = PGS_NET_OP_NONE;
			}
			break;
		case DIMSE_C_FIND_RSP:
			st = on_find_response(a, &msg.msg.CFindRSP, detail, alloc, ev, err);
			break;
		case DIMSE_C_GET_RSP:
			st = on_retrieve_response(a, &msg.msg.CGetRSP, PGS_NET_OP_GET, O_GET_NUMBEROFREMAININGSUBOPERATIONS,
									  O_GET_NUMBEROFCOMPLETEDSUBOPERATIONS, O_GET_NUMBEROFFAILEDSUBOPERATIONS,
									  O_GET_NUMBEROFWARNINGSUBOPERATIONS, detail, ev, err);
			break;
		case DIMSE_C_MOVE_RSP:
			st = on_retrieve_response(a, &msg.msg.CMoveRSP, PGS_NET_OP_MOVE, O_MOVE_NUMBEROFREMAININGSUBOPERATIONS,
									  O_MOVE_NUMBEROFCOMPLETEDSUBOPERATIONS, O_MOVE_NUMBEROFFAILEDSUBOPERATIONS,
									  O_MOVE_NUMBEROFWARNINGSUBOPERATIONS, detail, ev, err);
			break;
		case DIMSE_C_STORE_RQ:
			// Accepted from a peer that connected to us, or during our own C-GET; nowhere else.
			if (!a->is_scp && a->op != PGS_NET_OP_GET)
			{
				st = pgs_fail(err, PGS_ERR_BAD_DATA, "the peer sent a C-STORE request outside a C-GET");
				break;
			}
			st = pgs_net_receive_instance(a, pres_id, &msg.msg.CStoreRQ, alloc, ev, err);
			if (st == PGS_OK)
			{
				a->store_pending = 1;
				a->store_pres_id = pres_id;
				a->store_request = msg.msg.CStoreRQ;
			}
			break;
		case DIMSE_C_ECHO_RQ:
			if (!a->is_scp)
			{
				st = pgs_fail(err, PGS_ERR_BAD_DATA, "the peer sent a C-ECHO request to an SCU");
				break;
			}
			st = answer_echo(a, pres_id, &msg.msg.CEchoRQ, ev, err);
			break;
		default:
			st = pgs_fail(err, PGS_ERR_UNSUPPORTED, "the peer sent a DIMSE command (0x%04X) pgscreen does not serve here",
						  (unsigned) msg.CommandField);
			break;
	}
	delete detail;
	return st;
}

}								// namespace

extern "C" pgs_status
pgs_net_next(pgs_net_assoc *a, const pgs_allocator *alloc, pgs_net_event *ev, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		clear_event(ev);
		if (a == NULL || a->assoc == NULL)
			return pgs_fail(err, PGS_ERR_INTERNAL, "no association is open");
		if (!a->is_scp && a->op == PGS_NET_OP_NONE)
			return pgs_fail(err, PGS_ERR_INTERNAL, "no request is outstanding on this association");
		return next_message(a, alloc, ev, err);
	})
}

extern "C" pgs_status
pgs_net_store_reply(pgs_net_assoc *a, uint16_t status, const char *error_comment, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		T_DIMSE_Message msg;
		T_DIMSE_C_StoreRSP *rsp = &msg.msg.CStoreRSP;
		DcmDataset *detail = NULL;
		OFCondition cond;

		if (a == NULL || a->assoc == NULL || !a->store_pending)
			return pgs_fail(err, PGS_ERR_INTERNAL, "no C-STORE request is waiting for an answer");
		std::memset(&msg, 0, sizeof(msg));
		msg.CommandField = DIMSE_C_STORE_RSP;
		rsp->MessageIDBeingRespondedTo = a->store_request.MessageID;
		std::snprintf(rsp->AffectedSOPClassUID, sizeof(DIC_UI), "%s", a->store_request.AffectedSOPClassUID);
		std::snprintf(rsp->AffectedSOPInstanceUID, sizeof(DIC_UI), "%s", a->store_request.AffectedSOPInstanceUID);
		rsp->opts = O_STORE_AFFECTEDSOPCLASSUID | O_STORE_AFFECTEDSOPINSTANCEUID;
		rsp->DataSetType = DIMSE_DATASET_NULL;
		rsp->DimseStatus = status;
		if (error_comment && *error_comment && status != STATUS_Success)
		{
			char		comment[65];

			// Error Comment is LO: 64 characters.
			std::snprintf(comment, sizeof(comment), "%s", error_comment);
			detail = new DcmDataset;
			detail->putAndInsertString(DCM_ErrorComment, comment);
		}
		a->store_pending = 0;
		cond = DIMSE_sendMessageUsingMemoryData(a->assoc, a->store_pres_id, &msg, detail, NULL, NULL, NULL);
		delete detail;
		return cond.good() ? PGS_OK : pgs_net_fail_cond(err, cond, "could not send the C-STORE response");
	})
}
