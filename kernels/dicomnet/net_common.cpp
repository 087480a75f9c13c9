// Shared by SCU and SCP: library set-up, configuration defaults, TLS layers, error texts, ending associations.
#include "net_internal.h"

#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmnet/dulstruc.h"
#include "dcmtk/dcmtls/tlstrans.h"
#include "dcmtk/oflog/oflog.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

pgs_status
pgs_net_library_init(pgs_error *err)
{
	static bool done = false;

	if (!done)
	{
		// Kernels never print: dcmtk's messages would land in the server log with no context. Failures
		// come back through OFCondition and are reported by the caller.
		OFLog::configure(OFLogger::OFF_LOG_LEVEL);
		// Peers are identified by address; a reverse lookup only adds a DNS dependency and delays.
		dcmDisableGethostbyaddr.set(OFTrue);
		// dcmtk leaves Nagle's algorithm on unless TCP_NODELAY is set in the environment, and DIMSE's
		// small request/response exchanges then wait for delayed ACKs (40 ms each on Linux).
		setenv("TCP_NODELAY", "1", 0);
		done = true;
	}
	if (!dcmDataDict.isDictionaryLoaded())
		return pgs_fail(err, PGS_ERR_UNSUPPORTED,
						"the DICOM data dictionary is not loaded (dcmtk looks for it in DCMDICTPATH or %s)",
						DCM_DICT_DEFAULT_PATH);
	return PGS_OK;
}

void
pgs_net_apply_timeouts(const pgs_net_config *cfg)
{
	dcmConnectionTimeout.set(cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : -1);
	// Socket-level limits under the DIMSE one, so a peer that stops reading or writing mid-PDU is noticed.
	dcmSocketSendTimeout.set(cfg->dimse_timeout_s > 0 ? cfg->dimse_timeout_s : 60);
	dcmSocketReceiveTimeout.set(cfg->dimse_timeout_s > 0 ? cfg->dimse_timeout_s : 60);
}

extern "C" void
pgs_net_config_init(pgs_net_config *cfg)
{
	std::memset(cfg, 0, sizeof(*cfg));
	cfg->aet = "PGSCREEN";
	cfg->connect_timeout_s = 10;
	cfg->acse_timeout_s = 30;
	cfg->dimse_timeout_s = 60;
	cfg->max_pdu = 65536;
	cfg->max_instance_bytes = 1000u * 1024u * 1024u;	// under the 1 GB limit of a bytea
}

static bool
is_network_condition(const OFCondition &cond)
{
	if (cond.module() != OFM_dcmnet)
		return false;
	switch (cond.code())
	{
		case DULC_TCPINITERROR:
		case DULC_UNKNOWNHOST:
		case DULC_REQUESTASSOCIATIONFAILED:
		case DULC_READTIMEOUT:
		case DULC_NETWORKCLOSED:
		case DULC_TCPIOERROR:
		case DULC_TLSERROR:
		case DULC_PEERABORTEDASSOCIATION:
		case DULC_PEERREQUESTEDRELEASE:
		case DIMSEC_NODATAAVAILABLE:
		case DIMSEC_READPDVFAILED:
		case DIMSEC_RECEIVEFAILED:
		case DIMSEC_SENDFAILED:
			return true;
		default:
			return false;
	}
}

pgs_status
pgs_net_fail_cond(pgs_error *err, const OFCondition &cond, const char *what)
{
	const char *text = cond.text();
	pgs_status	code = is_network_condition(cond) ? PGS_ERR_IO : PGS_ERR_BAD_DATA;

	if (cond == DIMSE_NODATAAVAILABLE)
		return pgs_fail(err, PGS_ERR_IO, "%s: timed out waiting for the peer", what);
	if (cond == DUL_PEERABORTEDASSOCIATION)
		return pgs_fail(err, PGS_ERR_IO, "%s: the peer aborted the association", what);
	if (cond == DUL_PEERREQUESTEDRELEASE)
		return pgs_fail(err, PGS_ERR_IO, "%s: the peer released the association before answering", what);
	// Other conditions come from what the peer sent, and dcmtk's texts may quote it ("Unrecognized PDU
	// type: 53"): whatever answers on a port must not be readable through our errors. The condition's
	// numbers say which check failed.
	if (code == PGS_ERR_BAD_DATA)
		return pgs_fail(err, code, "%s: the peer's answer is not valid DICOM (dcmtk condition %u/%u)", what,
						(unsigned) cond.module(), (unsigned) cond.code());
	// dcmtk's texts start with a capital ("TCP Initialization Error: ..."); keep them as they are, they
	// name the failing call precisely.
	return pgs_fail(err, code, "%s: %s", what, text && *text ? text : "unknown dcmtk condition");
}

pgs_status
pgs_net_make_tls(const pgs_net_tls *tls, T_ASC_NetworkRole role, DcmTLSTransportLayer **out, pgs_error *err)
{
	OFCondition cond;
	DcmTLSTransportLayer *layer;

	*out = NULL;
	if (!tls->cert_file || !*tls->cert_file || !tls->key_file || !*tls->key_file)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "TLS needs a certificate file and a private key file");
	if (!tls->ca_file || !*tls->ca_file)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"TLS needs a file of trusted certificates to verify the peer against");
	layer = new DcmTLSTransportLayer(role, NULL, OFTrue);
	cond = layer->setTLSProfile(TSP_Profile_BCP195_ND);
	if (cond.good())
		cond = layer->activateCipherSuites();
	if (cond.bad())
	{
		delete layer;
		return pgs_net_fail_cond(err, cond, "could not set up TLS");
	}
	if (layer->setPrivateKeyFile(tls->key_file, DCF_Filetype_PEM).bad())
	{
		delete layer;
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "could not load the TLS private key from \"%s\"", tls->key_file);
	}
	if (layer->setCertificateFile(tls->cert_file, DCF_Filetype_PEM).bad())
	{
		delete layer;
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "could not load the TLS certificate from \"%s\"", tls->cert_file);
	}
	if (!layer->checkPrivateKeyMatchesCertificate())
	{
		delete layer;
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "the TLS private key \"%s\" does not match the certificate \"%s\"",
						tls->key_file, tls->cert_file);
	}
	if (layer->addTrustedCertificateFile(tls->ca_file, DCF_Filetype_PEM).bad())
	{
		delete layer;
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "could not load trusted certificates from \"%s\"", tls->ca_file);
	}
	// Both sides must prove who they are: the peer's certificate is required and verified.
	layer->setCertificateVerification(DCV_requireCertificate);
	*out = layer;
	return PGS_OK;
}

pgs_net_assoc *
pgs_net_assoc_new(const pgs_net_config *cfg)
{
	pgs_net_assoc *a = new pgs_net_assoc;

	std::memset(a, 0, sizeof(*a));
	a->acse_timeout_s = cfg->acse_timeout_s;
	a->dimse_timeout_s = cfg->dimse_timeout_s > 0 ? cfg->dimse_timeout_s : 60;
	a->max_instance_bytes = cfg->max_instance_bytes;
	a->op = PGS_NET_OP_NONE;
	return a;
}

void
pgs_net_assoc_free(pgs_net_assoc *a)
{
	if (a == NULL)
		return;
	if (a->assoc)
		ASC_destroyAssociation(&a->assoc);
	if (a->net)
		ASC_dropNetwork(&a->net);
	delete a->tls;
	delete a;
}

namespace
{

// getSocket() is protected; naming it through a derived class gives a pointer to member that may be
// applied to any connection (nothing is instantiated).
struct ConnectionSocket : public DcmTransportConnection
{
	static int	of(DcmTransportConnection *conn)
	{
		DcmNativeSocketType (DcmTransportConnection::*get) () = &ConnectionSocket::getSocket;

		return (int) (conn->*get) ();
	}
};

}								// namespace

extern "C" int
pgs_net_socket(const pgs_net_assoc *a)
{
	try
	{
		DcmTransportConnection *conn;

		if (a == NULL || a->assoc == NULL)
			return -1;
		conn = DUL_getTransportConnection(a->assoc->DULassociation);
		return conn ? ConnectionSocket::of(conn) : -1;
	}
	catch (...)
	{
		return -1;
	}
}

extern "C" int
pgs_net_data_pending(pgs_net_assoc *a)
{
	try
	{
		const PRIVATE_ASSOCIATIONKEY *key;

		if (a == NULL || a->assoc == NULL)
			return 0;
		// PDVs of a PDU already read (a peer may pack the next message into it) are invisible to the
		// socket; DUL_NextPDV hands them out while pdvIndex is not -1.
		key = (const PRIVATE_ASSOCIATIONKEY *) a->assoc->DULassociation;
		if (key != NULL && key->pdvIndex != -1)
			return 1;
		// Checks TLS-buffered bytes too, which poll() on the socket cannot see.
		return ASC_dataWaiting(a->assoc, 0) ? 1 : 0;
	}
	catch (...)
	{
		return 1;				// let pgs_net_next find out what is wrong
	}
}

extern "C" void
pgs_net_release(pgs_net_assoc *a)
{
	try
	{
		if (a == NULL)
			return;
		if (a->assoc)
		{
			// An SCP has acknowledged the peer's release already (pgs_net_next); it only closes.
			if (a->is_scp)
				ASC_dropSCPAssociation(a->assoc);
			else if (ASC_releaseAssociation(a->assoc).bad())
				ASC_abortAssociation(a->assoc);
		}
		pgs_net_assoc_free(a);
	}
	catch (...)
	{
	}
}

extern "C" void
pgs_net_abort(pgs_net_assoc *a)
{
	try
	{
		if (a == NULL)
			return;
		if (a->assoc)
			ASC_abortAssociation(a->assoc);
		pgs_net_assoc_free(a);
	}
	catch (...)
	{
	}
}

extern "C" void
pgs_net_status_text(uint16_t status, char *buf, size_t bufsize)
{
	const char *meaning;

	if (status == 0x0000)
		meaning = "success";
	else if (status == 0xFF00 || status == 0xFF01)
		meaning = "pending";
	else if (status == 0xFE00)
		meaning = "cancelled";
	else if (status == 0x0124)
		meaning = "refused: not authorized";
	else if (status == 0x0122)
		meaning = "refused: SOP class not supported";
	else if (status == 0xA700 || status == 0xA701 || status == 0xA702)
		meaning = "refused: out of resources";
	else if (status == 0xA801)
		meaning = "refused: move destination unknown";
	else if (status == 0xA900)
		meaning = "error: identifier does not match SOP class";
	else if ((status & 0xF000) == 0xC000)
		meaning = "error: unable to process";
	else if (status == 0xB000)
		meaning = "warning: sub-operations complete, one or more failures";
	else if ((status & 0xF000) == 0xB000)
		meaning = "warning";
	else if ((status & 0xF000) == 0xA000)
		meaning = "refused";
	else
		meaning = "failure";
	std::snprintf(buf, bufsize, "0x%04X %s", status, meaning);
}

extern "C" pgs_status
pgs_net_check_aet(const char *aet, const char *what, pgs_error *err)
{
	size_t		len;

	if (aet == NULL)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s must not be null", what);
	while (*aet == ' ')
		aet++;
	len = std::strlen(aet);
	while (len > 0 && aet[len - 1] == ' ')
		len--;
	if (len == 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s must not be empty", what);
	if (len > PGS_AET_MAX)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%s \"%.*s\" is longer than 16 characters", what,
						(int) len, aet);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) aet[i];

		if (c < 0x20 || c > 0x7e || c == '\\')
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
							"%s \"%.*s\" may hold printable ASCII characters other than backslash only", what,
							(int) len, aet);
	}
	return PGS_OK;
}
