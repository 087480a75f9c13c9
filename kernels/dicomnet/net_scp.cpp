// SCP side: take an accepted socket, read the association request, then accept (storage + verification) or reject.
#include "net_internal.h"

#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/dul.h"

#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace
{

const char *const verification_syntaxes[] = {
	UID_LittleEndianExplicitTransferSyntax,
	UID_BigEndianExplicitTransferSyntax,
	UID_LittleEndianImplicitTransferSyntax,
};

}								// namespace

extern "C" pgs_status
pgs_net_scp_receive(int fd, const pgs_net_config *cfg, pgs_net_assoc **out, pgs_net_request *req, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		pgs_status	st;
		pgs_net_assoc *a;
		OFCondition cond;

		*out = NULL;
		std::memset(req, 0, sizeof(*req));
		if ((st = pgs_net_library_init(err)) != PGS_OK)
		{
			close(fd);
			return st;
		}
		pgs_net_apply_timeouts(cfg);
		a = pgs_net_assoc_new(cfg);
		a->is_scp = 1;

		// dcmtk's inetd mode: with dcmExternalSocketHandle set, the acceptor network binds nothing and
		// the next association is read from this socket instead of accept(). Reset straight after, so no
		// later call picks up a stale descriptor.
		dcmExternalSocketHandle.set(fd);
		cond = ASC_initializeNetwork(NET_ACCEPTOR, 0, cfg->acse_timeout_s, &a->net);
		if (cond.good() && cfg->tls.enabled)
		{
			st = pgs_net_make_tls(&cfg->tls, NET_ACCEPTOR, &a->tls, err);
			if (st == PGS_OK && ASC_setTransportLayer(a->net, a->tls, 0).bad())
				st = pgs_fail(err, PGS_ERR_INTERNAL, "could not install the TLS layer");
			if (st != PGS_OK)
			{
				dcmExternalSocketHandle.set(-1);
				pgs_net_assoc_free(a);
				close(fd);
				return st;
			}
		}
		if (cond.good())
			cond = ASC_receiveAssociation(a->net, &a->assoc, (long) cfg->max_pdu, NULL, NULL,
										  cfg->tls.enabled ? OFTrue : OFFalse, DUL_NOBLOCK,
										  cfg->acse_timeout_s);
		dcmExternalSocketHandle.set(-1);
		if (cond.bad())
		{
			// Once dcmtk holds the socket, destroying the association closes it.
			if (a->assoc == NULL)
				close(fd);
			pgs_net_assoc_free(a);
			return pgs_net_fail_cond(err, cond, "could not read the association request");
		}
		ASC_getAPTitles(a->assoc->params, req->calling_aet, sizeof(req->calling_aet), req->called_aet,
						sizeof(req->called_aet), NULL, 0);
		*out = a;
		return PGS_OK;
	})
}

extern "C" void
pgs_net_scp_reject(pgs_net_assoc *a, pgs_net_reject_reason reason)
{
	try
	{
		T_ASC_RejectParameters rej;

		if (a == NULL)
			return;
		switch (reason)
		{
			case PGS_NET_REJECT_CALLING_AET:
				rej.result = ASC_RESULT_REJECTEDPERMANENT;
				rej.source = ASC_SOURCE_SERVICEUSER;
				rej.reason = ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED;
				break;
			case PGS_NET_REJECT_CALLED_AET:
			default:
				rej.result = ASC_RESULT_REJECTEDPERMANENT;
				rej.source = ASC_SOURCE_SERVICEUSER;
				rej.reason = ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED;
				break;
		}
		if (a->assoc)
		{
			ASC_rejectAssociation(a->assoc, &rej);
			ASC_dropAssociation(a->assoc);
		}
		pgs_net_assoc_free(a);
	}
	catch (...)
	{
	}
}

extern "C" pgs_status
pgs_net_scp_accept(pgs_net_assoc *a, int accept_non_images, int *storage_contexts, pgs_error *err)
{
	PGS_NET_GUARD(err, {
		const char *verification[] = {UID_VerificationSOPClass};
		T_ASC_Parameters *params = a->assoc->params;
		OFCondition cond;
		int			accepted = 0;

		*storage_contexts = 0;
		cond = ASC_acceptContextsWithPreferredTransferSyntaxes(params, verification, 1,
																			 pgs_net_uid_list(verification_syntaxes), 3);
		if (cond.good())
		{
			if (accept_non_images)
				cond = ASC_acceptContextsWithPreferredTransferSyntaxes(
					params, dcmAllStorageSOPClassUIDs, numberOfDcmAllStorageSOPClassUIDs,
					pgs_net_uid_list(pgs_net_stored_transfer_syntaxes), pgs_net_stored_transfer_syntax_count);
			else
				cond = ASC_acceptContextsWithPreferredTransferSyntaxes(
					params, pgs_net_uid_list(pgs_net_image_sop_classes), pgs_net_image_sop_class_count,
					pgs_net_uid_list(pgs_net_stored_transfer_syntaxes), pgs_net_stored_transfer_syntax_count);
		}
		if (cond.bad())
			return pgs_net_fail_cond(err, cond, "could not negotiate presentation contexts");
		for (int i = 0; i < ASC_countPresentationContexts(params); i++)
		{
			T_ASC_PresentationContext pc;

			if (ASC_getPresentationContext(params, i, &pc).good() && pc.resultReason == ASC_P_ACCEPTANCE &&
				std::strcmp(pc.abstractSyntax, UID_VerificationSOPClass) != 0)
				accepted++;
		}
		cond = ASC_acknowledgeAssociation(a->assoc);
		if (cond.bad())
			return pgs_net_fail_cond(err, cond, "could not acknowledge the association");
		*storage_contexts = accepted;
		return PGS_OK;
	})
}
