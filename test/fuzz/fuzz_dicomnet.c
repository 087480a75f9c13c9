/* libFuzzer target: what a DICOM peer controls in kernels/dicomnet -- received instances and query text. */
#include "../../kernels/dicomnet/dicomnet.h"
#include "../../kernels/dicomnet/peer_allowlist.h"

#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
const char *__asan_default_options(void);

/*
 * dcmtk sizes a value buffer from the length an element declares; a hostile length means one short-lived
 * allocation of up to 4 GB, which fails cleanly (std::bad_alloc, caught) or is freed at once. Under ASan
 * every such allocation is zero-filled in shadow memory and takes a third of a second, so the fuzzer caps
 * allocations instead, turning them into the same clean failure.
 */
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=256";
}

static int
numeric_hosts_only(const char *text)
{
	for (const char *at = strchr(text, '@'); at != NULL; at = strchr(at + 1, '@'))
		if (!(at[1] >= '0' && at[1] <= '9') && at[1] != ':')
			return 0;
	return 1;
}

/*
 * The bytes are an instance as it would arrive (the identifiers are read from it as the receiver does),
 * and also lines "key=value" added to a query and an allow-list text, as SQL callers and settings give them.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	pgs_net_uids uids;
	pgs_net_query *q;
	pgs_error	err;
	char	   *text = malloc(len + 1);
	char	   *line;
	char	   *save = NULL;

	pgs_net_instance_uids(data, len, &uids, &err);

	memcpy(text, data, len);
	text[len] = '\0';
	if (pgs_net_query_create((pgs_qr_level) (len % 4), &q, &err) == PGS_OK)
	{
		for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		{
			char	   *eq = strchr(line, '=');

			if (eq)
				*eq = '\0';
			pgs_net_query_add(q, line, eq ? eq + 1 : NULL, &err);
			pgs_net_query_has(q, line);
		}
		pgs_net_query_add_return_keys(q, (pgs_qr_model) (len % 2), &err);
		pgs_net_query_free(q);
	}
	/* host names would make the fuzzer resolve DNS names: only entries with numeric addresses */
	memcpy(text, data, len);
	text[len] = '\0';
	if (strspn(text, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_.,@/: \n") == len && numeric_hosts_only(text))
	{
		static pgs_peer_allowlist list;

		pgs_peer_allowlist_parse(text, &list, &err);
	}
	free(text);
	return 0;
}
