/* pgscreen.pacs_allowed_destinations: which hosts and ports pacs_echo, pacs_find and pacs_retrieve may connect to. */
#include "pacs.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "utils/guc.h"
#include "utils/varlena.h"

char	   *pacs_allowed_destinations = NULL;

/* One entry: "*", or "host[/prefix][:port]" with host an IPv4 address (a prefix allowed) or a host name. */
typedef struct Destination
{
	bool		any;
	char		host[256];
	int			prefix_bits;	/* -1: none given */
	int			port;			/* 0: any port */
} Destination;

static bool
parse_destination(const char *text, Destination *d, char **why)
{
	char		buf[300];
	char	   *colon;
	char	   *slash;
	char	   *end;

	memset(d, 0, sizeof(*d));
	d->prefix_bits = -1;
	if (strcmp(text, "*") == 0)
	{
		d->any = true;
		return true;
	}
	if (strlen(text) >= sizeof(buf))
	{
		*why = psprintf("entry \"%.40s...\" is too long", text);
		return false;
	}
	strcpy(buf, text);
	if ((colon = strchr(buf, ':')) != NULL)
	{
		long		port = strtol(colon + 1, &end, 10);

		if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
		{
			*why = psprintf("entry \"%s\" has an invalid port (1..65535)", text);
			return false;
		}
		d->port = (int) port;
		*colon = '\0';
	}
	if ((slash = strchr(buf, '/')) != NULL)
	{
		long		bits = strtol(slash + 1, &end, 10);
		struct in_addr addr;

		*slash = '\0';
		if (slash[1] == '\0' || *end != '\0' || bits < 0 || bits > 32 || inet_pton(AF_INET, buf, &addr) != 1)
		{
			*why = psprintf("entry \"%s\" is not an IPv4 address with a prefix length of 0 to 32", text);
			return false;
		}
		d->prefix_bits = (int) bits;
	}
	if (buf[0] == '\0')
	{
		*why = psprintf("entry \"%s\" names no host", text);
		return false;
	}
	strlcpy(d->host, buf, sizeof(d->host));
	return true;
}

/* Calls fn for each entry; false (with *why) at the first that does not parse. */
static bool
for_each_destination(const char *setting, bool (*fn) (const Destination *, void *), void *arg, char **why)
{
	char	   *copy = pstrdup(setting);
	List	   *items;
	ListCell   *lc;

	if (!SplitGUCList(copy, ',', &items))
	{
		*why = pstrdup("the list does not parse");
		return false;
	}
	foreach(lc, items)
	{
		Destination d;

		if (!parse_destination(lfirst(lc), &d, why))
			return false;
		if (fn != NULL && fn(&d, arg))
			break;
	}
	return true;
}

static bool
check_allowed_destinations(char **newval, void **extra, GucSource source)
{
	char	   *why = NULL;

	if (for_each_destination(*newval, NULL, NULL, &why))
		return true;
	GUC_check_errdetail("%s; entries are *, host, host:port, address/prefix or address/prefix:port.", why);
	return false;
}

void
pacs_define_destination_setting(void)
{
	DefineCustomStringVariable("pgscreen.pacs_allowed_destinations",
							   "Where pacs_echo, pacs_find and pacs_retrieve may connect: host, host:port, IPv4 address/prefix[:port], or * for anywhere.",
							   "Superusers only. A host name is resolved when connecting; the connection goes to the address that was checked.",
							   &pacs_allowed_destinations, "127.0.0.1", PGC_SUSET, GUC_LIST_INPUT,
							   check_allowed_destinations, NULL, NULL);
}

typedef struct Candidate
{
	struct in_addr addr;
	int			port;
	bool		allowed;
} Candidate;

static bool
address_in(const struct in_addr *addr, const char *host, int prefix_bits)
{
	struct addrinfo hints = {0};
	struct addrinfo *res;
	bool		found = false;

	if (prefix_bits >= 0)
	{
		struct in_addr net;
		uint32		mask = prefix_bits == 0 ? 0 : htonl(~(uint32) 0 << (32 - prefix_bits));

		(void) inet_pton(AF_INET, host, &net);
		return (addr->s_addr & mask) == (net.s_addr & mask);
	}
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return false;
	for (struct addrinfo *ai = res; ai != NULL && !found; ai = ai->ai_next)
		found = ((struct sockaddr_in *) ai->ai_addr)->sin_addr.s_addr == addr->s_addr;
	freeaddrinfo(res);
	return found;
}

static bool
destination_admits(const Destination *d, void *arg)
{
	Candidate  *c = arg;

	c->allowed = d->any || ((d->port == 0 || d->port == c->port) && address_in(&c->addr, d->host, d->prefix_bits));
	return c->allowed;
}

/*
 * The numeric address to connect to for host:port, checked against the allow-list. The host is resolved once
 * here and the connection made to the address checked, so a second DNS answer cannot lead elsewhere.
 */
char *
pacs_destination_address(const char *host, int port)
{
	struct addrinfo hints = {0};
	struct addrinfo *res;
	char	   *why = NULL;
	char	   *result = NULL;
	Candidate	c = {{0}};

	/* What the network layer rejects itself (IPv6, empty names, bad ports) it reports in its own words. */
	if (host[0] == '\0' || strchr(host, ':') != NULL || strlen(host) > 255 || port < 1 || port > 65535)
		return pstrdup(host);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to the PACS: could not resolve host \"%s\"", host)));
	c.port = port;
	for (struct addrinfo *ai = res; ai != NULL && result == NULL; ai = ai->ai_next)
	{
		char		text[INET_ADDRSTRLEN];

		c.addr = ((struct sockaddr_in *) ai->ai_addr)->sin_addr;
		c.allowed = false;
		if (!for_each_destination(pacs_allowed_destinations, destination_admits, &c, &why))
			elog(ERROR, "pgscreen.pacs_allowed_destinations does not parse: %s", why);
		if (c.allowed && inet_ntop(AF_INET, &c.addr, text, sizeof(text)) != NULL)
			result = pstrdup(text);
	}
	freeaddrinfo(res);
	if (result == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("connections to %s:%d are not allowed", host, port),
				 errhint("A superuser lists the PACS pgscreen may connect to in pgscreen.pacs_allowed_destinations.")));
	return result;
}
