/* Unit tests of kernels/dicomnet: query checks, allow-lists, instance parsing, and an SCU talking to our SCP over loopback. */
#include "../../kernels/dicomnet/dicomnet.h"
#include "../../kernels/dicomnet/peer_allowlist.h"
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pgs_error err;

#define CT_SMALL "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"

static pgs_status
add_key(pgs_qr_level level, const char *key, const char *value)
{
	pgs_net_query *q;
	pgs_status	st;

	pgs_error_clear(&err);
	if (pgs_net_query_create(level, &q, &err) != PGS_OK)
		return err.code;
	st = pgs_net_query_add(q, key, value, &err);
	pgs_net_query_free(q);
	return st;
}

static void
test_query_keys_and_values(void)
{
	/* keywords, tags in three spellings, return keys */
	CHECK_OK(add_key(PGS_QR_STUDY, "PatientID", "12*"), &err);
	CHECK_OK(add_key(PGS_QR_STUDY, "(0010,0020)", "12?4"), &err);
	CHECK_OK(add_key(PGS_QR_STUDY, "0010,0020", NULL), &err);
	CHECK_OK(add_key(PGS_QR_STUDY, "00100020", ""), &err);
	CHECK_OK(add_key(PGS_QR_STUDY, "ReferencedStudySequence", NULL), &err);
	/* date and time ranges as DICOM writes them */
	CHECK_OK(add_key(PGS_QR_STUDY, "StudyDate", "20180101-20181231"), &err);
	CHECK_OK(add_key(PGS_QR_STUDY, "StudyDate", "-20181231"), &err);
	CHECK_OK(add_key(PGS_QR_STUDY, "StudyDate", "20180101-"), &err);
	CHECK_OK(add_key(PGS_QR_STUDY, "StudyTime", "0800-1200"), &err);
	CHECK_OK(add_key(PGS_QR_STUDY, "StudyTime", "083000.25"), &err);
	CHECK_OK(add_key(PGS_QR_STUDY, "StudyInstanceUID", "1.2.3\\1.2.4"), &err);
	CHECK_OK(add_key(PGS_QR_STUDY, "ModalitiesInStudy", "MG"), &err);
	CHECK_OK(add_key(PGS_QR_STUDY, "PatientName", "M\xc3\xbcller^*"), &err);

	CHECK_FAILS(add_key(PGS_QR_STUDY, "PatientIdentifier", "1"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strstr(err.message, "unknown DICOM attribute \"PatientIdentifier\"") != NULL, "%s", err.message);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "StudyDate", "2018-01-01"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strstr(err.message, "StudyDate must be a date YYYYMMDD") != NULL, "%s", err.message);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "StudyDate", "20181301"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "StudyDate", "2018*"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "StudyTime", "2500"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "StudyInstanceUID", "1.2.*"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strstr(err.message, "without wildcards") != NULL, "%s", err.message);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "ModalitiesInStudy", "mg"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strstr(err.message, "upper-case") != NULL, "%s", err.message);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "QueryRetrieveLevel", "STUDY"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "(0009,0010)", "x"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strstr(err.message, "private") != NULL, "%s", err.message);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "(0002,0010)", NULL), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "PixelData", "1"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "ReferencedStudySequence", "x"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "PatientID", "a\nb"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "NumberOfStudyRelatedInstances", "12a"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "AccessionNumber", "12345678901234567"), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(add_key(PGS_QR_STUDY, "", "1"), PGS_ERR_INVALID_ARGUMENT, &err);
}

static void
test_query_duplicates_and_return_keys(void)
{
	pgs_net_query *q;

	CHECK_OK(pgs_net_query_create(PGS_QR_SERIES, &q, &err), &err);
	CHECK_OK(pgs_net_query_add(q, "Modality", "MG", &err), &err);
	CHECK_FAILS(pgs_net_query_add(q, "(0008,0060)", "CR", &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strstr(err.message, "appears twice") != NULL, "%s", err.message);
	CHECK(pgs_net_query_has(q, "SeriesInstanceUID") == 0);
	CHECK_OK(pgs_net_query_add_return_keys(q, PGS_QR_MODEL_PATIENT, &err), &err);
	CHECK(pgs_net_query_has(q, "SeriesInstanceUID") == 1);
	CHECK(pgs_net_query_has(q, "PatientID") == 1);
	CHECK(pgs_net_query_has(q, "NoSuchThing") == -1);
	pgs_net_query_free(q);
}

static void
test_aet_checks(void)
{
	CHECK_OK(pgs_net_check_aet("ORTHANC", "called AE title", &err), &err);
	CHECK_OK(pgs_net_check_aet("  PACS 1  ", "called AE title", &err), &err);
	CHECK_FAILS(pgs_net_check_aet("", "called AE title", &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_net_check_aet("ABCDEFGHIJKLMNOPQ", "called AE title", &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strcmp(err.message, "called AE title \"ABCDEFGHIJKLMNOPQ\" is longer than 16 characters") == 0, "%s",
		   err.message);
	CHECK_FAILS(pgs_net_check_aet("A\\B", "calling AE title", &err), PGS_ERR_INVALID_ARGUMENT, &err);
}

static struct sockaddr_storage
address(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':'))
	{
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &ss;

		a6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, text, &a6->sin6_addr);
	}
	else
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *) &ss;

		a4->sin_family = AF_INET;
		inet_pton(AF_INET, text, &a4->sin_addr);
	}
	return ss;
}

static void
test_allowlist(void)
{
	static pgs_peer_allowlist list;
	struct sockaddr_storage lo = address("127.0.0.1"),
				lan = address("10.1.2.3"),
				other = address("192.168.0.9"),
				mapped = address("::ffff:10.1.9.9"),
				v6 = address("fd00::5");
	char		text[64];

	CHECK_OK(pgs_peer_allowlist_parse("MODALITY1, ORTHANC@127.0.0.1  PACS@10.0.0.0/8,V6@fd00::/16", &list, &err), &err);
	CHECK(list.count == 4);
	CHECK(pgs_peer_allowed(&list, "MODALITY1", (struct sockaddr *) &other));
	CHECK(pgs_peer_allowed(&list, "ORTHANC", (struct sockaddr *) &lo));
	CHECK(!pgs_peer_allowed(&list, "ORTHANC", (struct sockaddr *) &lan));
	CHECK(pgs_peer_allowed(&list, "PACS", (struct sockaddr *) &lan));
	CHECK(pgs_peer_allowed(&list, "PACS", (struct sockaddr *) &mapped));
	CHECK(!pgs_peer_allowed(&list, "PACS", (struct sockaddr *) &other));
	CHECK(!pgs_peer_allowed(&list, "pacs", (struct sockaddr *) &lan));	/* AE titles are case sensitive */
	CHECK(pgs_peer_allowed(&list, "V6", (struct sockaddr *) &v6));
	CHECK(!pgs_peer_allowed(&list, "UNKNOWN", (struct sockaddr *) &lo));
	/* MODALITY1 has no host part, so every address may at least say hello */
	CHECK(pgs_peer_address_allowed(&list, (struct sockaddr *) &other));

	CHECK_OK(pgs_peer_allowlist_parse("ORTHANC@127.0.0.1, PACS@10.0.0.0/8", &list, &err), &err);
	CHECK(pgs_peer_address_allowed(&list, (struct sockaddr *) &lan));
	CHECK(!pgs_peer_address_allowed(&list, (struct sockaddr *) &other));
	CHECK_OK(pgs_peer_allowlist_parse("", &list, &err), &err);
	CHECK(list.count == 0 && !pgs_peer_address_allowed(&list, (struct sockaddr *) &lo));
	CHECK_OK(pgs_peer_allowlist_parse("LOCAL@localhost", &list, &err), &err);
	CHECK(pgs_peer_allowed(&list, "LOCAL", (struct sockaddr *) &lo));

	CHECK_FAILS(pgs_peer_allowlist_parse("@10.0.0.1", &list, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_peer_allowlist_parse("A@10.0.0.0/40", &list, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_peer_allowlist_parse("A@10.0.0.0/x", &list, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_peer_allowlist_parse("ABCDEFGHIJKLMNOPQ", &list, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_peer_allowlist_parse("A@no-such-host.invalid", &list, &err), PGS_ERR_INVALID_ARGUMENT, &err);

	pgs_peer_address_text((struct sockaddr *) &mapped, text, sizeof(text));
	CHECKF(strcmp(text, "10.1.9.9") == 0, "%s", text);
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	unsigned char *data;
	struct stat st;

	if (f == NULL || fstat(fileno(f), &st) != 0)
		return NULL;
	data = malloc((size_t) st.st_size);
	*len = fread(data, 1, (size_t) st.st_size, f);
	fclose(f);
	return data;
}

static void
test_instance_uids(void)
{
	pgs_net_uids uids;
	size_t		len;
	unsigned char *data = read_file(CT_SMALL, &len);

	if (data == NULL)
	{
		printf("# %s missing (python3-pydicom not installed); skipped\n", CT_SMALL);
		return;
	}
	CHECK_OK(pgs_net_instance_uids(data, len, &uids, &err), &err);
	CHECKF(strcmp(uids.sop_instance_uid, "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322") == 0, "%s",
		   uids.sop_instance_uid);
	CHECKF(strcmp(uids.sop_class_uid, "1.2.840.10008.5.1.4.1.1.2") == 0, "%s", uids.sop_class_uid);
	CHECKF(strcmp(uids.transfer_syntax_uid, "1.2.840.10008.1.2.1") == 0, "%s", uids.transfer_syntax_uid);
	CHECK(uids.study_instance_uid[0] != '\0' && uids.series_instance_uid[0] != '\0');
	CHECK(pgs_net_is_image_sop_class(uids.sop_class_uid));
	CHECK(!pgs_net_is_image_sop_class("1.2.840.10008.5.1.4.1.1.88.11"));	/* Basic Text SR */

	/*
	 * Cut inside the pixel data (the last 32 KB): an error. A cut that happens to fall between two elements
	 * leaves a shorter but well-formed dataset, so elsewhere the test only asks for no crash.
	 */
	CHECK_FAILS(pgs_net_instance_uids(data, len - 1, &uids, &err), PGS_ERR_BAD_DATA, &err);
	CHECK_FAILS(pgs_net_instance_uids(data, len - 1000, &uids, &err), PGS_ERR_BAD_DATA, &err);
	for (size_t cut = 1; cut < len; cut += 97)
		(void) pgs_net_instance_uids(data, cut, &uids, &err);
	CHECK_FAILS(pgs_net_instance_uids(data, 0, &uids, &err), PGS_ERR_BAD_DATA, &err);
	free(data);
}

static void
test_connect_refused(void)
{
	pgs_net_config cfg;
	pgs_net_assoc *a = NULL;

	pgs_net_config_init(&cfg);
	cfg.connect_timeout_s = 2;
	/* port 1 on loopback: nothing listens there */
	CHECK_FAILS(pgs_net_connect("127.0.0.1", 1, "NOBODY", &cfg, PGS_NET_ECHO, PGS_QR_MODEL_STUDY, NULL, 0, &a, &err),
				PGS_ERR_IO, &err);
	CHECKF(strstr(err.message, "could not associate with NOBODY at 127.0.0.1:1") != NULL, "%s", err.message);
	CHECK(a == NULL);
	CHECK_FAILS(pgs_net_connect("127.0.0.1", 70000, "X", &cfg, PGS_NET_ECHO, PGS_QR_MODEL_STUDY, NULL, 0, &a, &err),
				PGS_ERR_INVALID_ARGUMENT, &err);
	cfg.max_pdu = 100;
	CHECK_FAILS(pgs_net_connect("127.0.0.1", 104, "X", &cfg, PGS_NET_ECHO, PGS_QR_MODEL_STUDY, NULL, 0, &a, &err),
				PGS_ERR_INVALID_ARGUMENT, &err);
}

/* Serve one association on a listening socket, accepting calling AE "FRIEND" only. Runs in a child. */
static int
serve_one(int listener)
{
	int			fd = accept(listener, NULL, NULL);
	pgs_net_config cfg;
	pgs_net_assoc *a;
	pgs_net_request req;
	pgs_net_event ev;
	int			contexts;

	pgs_net_config_init(&cfg);
	cfg.aet = "UNITSCP";
	if (fd < 0 || pgs_net_scp_receive(fd, &cfg, &a, &req, &err) != PGS_OK)
		return 2;
	if (strcmp(req.calling_aet, "FRIEND") != 0)
	{
		pgs_net_scp_reject(a, PGS_NET_REJECT_CALLING_AET);
		return 0;
	}
	if (pgs_net_scp_accept(a, 0, &contexts, &err) != PGS_OK)
		return 3;
	for (;;)
	{
		if (pgs_net_next(a, &pgs_malloc_allocator, &ev, &err) != PGS_OK)
		{
			pgs_net_abort(a);
			return 4;
		}
		if (ev.kind == PGS_NET_EVENT_DONE)
			break;
	}
	pgs_net_release(a);
	return ev.released ? 0 : 5;
}

static int
listen_loopback(int *port)
{
	struct sockaddr_in sa;
	socklen_t	len = sizeof(sa);
	int			s = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *) &sa, sizeof(sa)) != 0 || listen(s, 4) != 0 ||
		getsockname(s, (struct sockaddr *) &sa, &len) != 0)
		return -1;
	*port = ntohs(sa.sin_port);
	return s;
}

static void
test_echo_over_loopback(void)
{
	int			port = 0;
	int			listener = listen_loopback(&port);
	pid_t		child;
	pgs_net_config cfg;
	pgs_net_assoc *a = NULL;
	pgs_net_event ev;
	int			status = -1;

	CHECK(listener >= 0);
	child = fork();
	if (child == 0)
	{
		int			rc = serve_one(listener);

		rc = rc ? rc : serve_one(listener);
		_exit(rc);
	}
	pgs_net_config_init(&cfg);
	cfg.aet = "FRIEND";
	cfg.dimse_timeout_s = 10;
	CHECK_OK(pgs_net_connect("127.0.0.1", port, "UNITSCP", &cfg, PGS_NET_ECHO, PGS_QR_MODEL_STUDY, NULL, 0, &a, &err), &err);
	if (a)
	{
		CHECK(pgs_net_socket(a) >= 0);
		CHECK_OK(pgs_net_echo_start(a, &err), &err);
		CHECK_OK(pgs_net_next(a, &pgs_malloc_allocator, &ev, &err), &err);
		CHECK(ev.kind == PGS_NET_EVENT_DONE && ev.status == 0);
		/* asking to C-FIND on an echo association is a caller bug the kernel catches */
		CHECK_FAILS(pgs_net_find_start(a, NULL, &err), PGS_ERR_INTERNAL, &err);
		pgs_net_release(a);
	}

	/* the second association comes from an AE title the SCP does not know */
	cfg.aet = "STRANGER";
	a = NULL;
	CHECK_FAILS(pgs_net_connect("127.0.0.1", port, "UNITSCP", &cfg, PGS_NET_ECHO, PGS_QR_MODEL_STUDY, NULL, 0, &a, &err),
				PGS_ERR_IO, &err);
	CHECKF(strstr(err.message, "association rejected by UNITSCP at 127.0.0.1:") != NULL &&
		   strstr(err.message, "(permanent): calling AE title not recognized") != NULL, "%s", err.message);
	waitpid(child, &status, 0);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SCP child exited with %d", status);
	close(listener);
}

static void
test_status_text(void)
{
	char		buf[80];

	pgs_net_status_text(0xA700, buf, sizeof(buf));
	CHECKF(strcmp(buf, "0xA700 refused: out of resources") == 0, "%s", buf);
	pgs_net_status_text(0xB000, buf, sizeof(buf));
	CHECK(strstr(buf, "warning") != NULL);
	pgs_net_status_text(0xC123, buf, sizeof(buf));
	CHECK(strstr(buf, "unable to process") != NULL);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_query_keys_and_values);
	RUN(test_query_duplicates_and_return_keys);
	RUN(test_aet_checks);
	RUN(test_allowlist);
	RUN(test_instance_uids);
	RUN(test_connect_refused);
	RUN(test_echo_over_loopback);
	RUN(test_status_text);
	return unit_done();
}
