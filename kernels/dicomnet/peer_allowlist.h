/* Allow-lists of DICOM peers ("AET", "AET@address", "AET@address/prefix", "AET@hostname"), parsed once, matched per association. */
#ifndef PGS_PEER_ALLOWLIST_H
#define PGS_PEER_ALLOWLIST_H

#include <sys/socket.h>

#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PGS_PEER_MAX_RULES 128

typedef struct pgs_peer_rule
{
	char		aet[17];		/* trimmed, compared exactly (AE titles are case sensitive) */
	int			any_host;		/* no @host part: the AE title is accepted from any address */
	int			family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int			prefix_bits;
} pgs_peer_rule;

typedef struct pgs_peer_allowlist
{
	int			count;
	pgs_peer_rule rules[PGS_PEER_MAX_RULES];
} pgs_peer_allowlist;

/*
 * Parse a comma- or whitespace-separated list. A host name is resolved now, each of its addresses becoming
 * a rule; an IPv4-mapped IPv6 peer address matches IPv4 rules. An empty list admits nobody.
 */
pgs_status	pgs_peer_allowlist_parse(const char *text, pgs_peer_allowlist *list, pgs_error *err);

/* 1 if some rule admits this address (checked at connect time, before any DICOM is read). */
int			pgs_peer_address_allowed(const pgs_peer_allowlist *list, const struct sockaddr *addr);

/* 1 if a rule admits this calling AE title from this address. */
int			pgs_peer_allowed(const pgs_peer_allowlist *list, const char *calling_aet, const struct sockaddr *addr);

/* Numeric form of an address, "127.0.0.1" or "::1", for logs. */
void		pgs_peer_address_text(const struct sockaddr *addr, char *buf, size_t bufsize);

#ifdef __cplusplus
}
#endif

#endif
