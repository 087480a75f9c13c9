/* Parsing and matching of the receiver's allow-list of calling AE titles and the addresses they may come from. */
#include "peer_allowlist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An IPv4 peer reaching a dual-stack socket shows up as ::ffff:a.b.c.d; compare it as IPv4. */
static int
normalise_address(const struct sockaddr *sa, int *family, unsigned char *bytes)
{
	if (sa->sa_family == AF_INET)
	{
		*family = AF_INET;
		memcpy(bytes, &((const struct sockaddr_in *) sa)->sin_addr, 4);
		return 1;
	}
	if (sa->sa_family == AF_INET6)
	{
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *) sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6))
		{
			*family = AF_INET;
			memcpy(bytes, a6->s6_addr + 12, 4);
		}
		else
		{
			*family = AF_INET6;
			memcpy(bytes, a6->s6_addr, 16);
		}
		return 1;
	}
	return 0;
}

static int
prefix_matches(const unsigned char *a, const unsigned char *b, int bits)
{
	int			whole = bits / 8;
	int			rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (0xff << (8 - rest))) == 0;
}

static int
rule_admits_address(const pgs_peer_rule *rule, const struct sockaddr *addr)
{
	int			family;
	unsigned char bytes[16];

	if (rule->any_host)
		return 1;
	if (!normalise_address(addr, &family, bytes) || family != rule->family)
		return 0;
	return prefix_matches(rule->addr, bytes, rule->prefix_bits);
}

static pgs_status
add_rule(pgs_peer_allowlist *list, const pgs_peer_rule *rule, pgs_error *err)
{
	if (list->count >= PGS_PEER_MAX_RULES)
		return pgs_fail(err, PGS_ERR_LIMIT, "the allow-list has more than %d entries (after resolving host names)",
						PGS_PEER_MAX_RULES);
	list->rules[list->count++] = *rule;
	return PGS_OK;
}

/* "address", "address/prefix" or a host name resolved to all its addresses. */
static pgs_status
parse_host(const char *entry, const char *host, pgs_peer_rule *rule, pgs_peer_allowlist *list, pgs_error *err)
{
	char		addr_text[256];
	const char *slash = strchr(host, '/');
	size_t		addr_len = slash ? (size_t) (slash - host) : strlen(host);
	int			prefix = -1;
	struct addrinfo hints,
			   *res = NULL;
	int			rc;

	if (addr_len == 0 || addr_len >= sizeof(addr_text))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "allow-list entry \"%s\" has no valid host", entry);
	memcpy(addr_text, host, addr_len);
	addr_text[addr_len] = '\0';
	if (slash)
	{
		char	   *end;
		long		bits = strtol(slash + 1, &end, 10);

		if (slash[1] == '\0' || *end != '\0' || bits < 0 || bits > 128)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "allow-list entry \"%s\" has an invalid prefix length",
							entry);
		prefix = (int) bits;
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	/* A prefix only makes sense after a numeric address. */
	hints.ai_flags = prefix >= 0 ? AI_NUMERICHOST : 0;
	rc = getaddrinfo(addr_text, NULL, &hints, &res);
	if (rc != 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "allow-list entry \"%s\": could not resolve \"%s\": %s",
						entry, addr_text, gai_strerror(rc));
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
	{
		pgs_peer_rule r = *rule;
		int			max_bits;
		pgs_status	st;

		if (!normalise_address(ai->ai_addr, &r.family, r.addr))
			continue;
		max_bits = r.family == AF_INET ? 32 : 128;
		if (prefix > max_bits)
		{
			freeaddrinfo(res);
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
							"allow-list entry \"%s\" has a prefix longer than %d bits", entry, max_bits);
		}
		r.prefix_bits = prefix >= 0 ? prefix : max_bits;
		st = add_rule(list, &r, err);
		if (st != PGS_OK)
		{
			freeaddrinfo(res);
			return st;
		}
	}
	freeaddrinfo(res);
	return PGS_OK;
}

static pgs_status
parse_entry(const char *entry, pgs_peer_allowlist *list, pgs_error *err)
{
	pgs_peer_rule rule;
	const char *at = strchr(entry, '@');
	size_t		aet_len = at ? (size_t) (at - entry) : strlen(entry);

	memset(&rule, 0, sizeof(rule));
	if (aet_len == 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "allow-list entry \"%s\" has no AE title", entry);
	if (aet_len > 16)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "allow-list entry \"%s\": an AE title has at most 16 characters",
						entry);
	for (size_t i = 0; i < aet_len; i++)
	{
		unsigned char c = (unsigned char) entry[i];

		if (c < 0x21 || c > 0x7e || c == '\\')
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
							"allow-list entry \"%s\": an AE title has printable ASCII characters only", entry);
	}
	memcpy(rule.aet, entry, aet_len);
	rule.aet[aet_len] = '\0';
	if (at == NULL)
	{
		rule.any_host = 1;
		return add_rule(list, &rule, err);
	}
	return parse_host(entry, at + 1, &rule, list, err);
}

pgs_status
pgs_peer_allowlist_parse(const char *text, pgs_peer_allowlist *list, pgs_error *err)
{
	const char *p = text ? text : "";

	list->count = 0;
	while (*p)
	{
		char		entry[512];
		size_t		n = 0;
		pgs_status	st;

		while (*p == ',' || isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			break;
		while (*p && *p != ',' && !isspace((unsigned char) *p))
		{
			if (n + 1 >= sizeof(entry))
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "allow-list entry is too long");
			entry[n++] = *p++;
		}
		entry[n] = '\0';
		st = parse_entry(entry, list, err);
		if (st != PGS_OK)
			return st;
	}
	return PGS_OK;
}

int
pgs_peer_address_allowed(const pgs_peer_allowlist *list, const struct sockaddr *addr)
{
	for (int i = 0; i < list->count; i++)
		if (rule_admits_address(&list->rules[i], addr))
			return 1;
	return 0;
}

int
pgs_peer_allowed(const pgs_peer_allowlist *list, const char *calling_aet, const struct sockaddr *addr)
{
	for (int i = 0; i < list->count; i++)
		if (strcmp(list->rules[i].aet, calling_aet) == 0 && rule_admits_address(&list->rules[i], addr))
			return 1;
	return 0;
}

void
pgs_peer_address_text(const struct sockaddr *addr, char *buf, size_t bufsize)
{
	int			family;
	unsigned char bytes[16];

	if (!normalise_address(addr, &family, bytes) || inet_ntop(family, bytes, buf, (socklen_t) bufsize) == NULL)
		snprintf(buf, bufsize, "(unknown address)");
}
