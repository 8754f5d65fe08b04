/* clientip: who the client is, for lock-out counting and the audit log.
 *
 * REMOTE_ADDR, unless the peer is a trusted proxy: then the right-most
 * X-Forwarded-For address that is not itself a trusted proxy.  Addresses
 * are canonical text (inet_ntop), IPv4-mapped IPv6 written as IPv4. */
#ifndef AGENTAUTH_CLIENTIP_H
#define AGENTAUTH_CLIENTIP_H

#include <stddef.h>

#include "http.h"

#define CIDR_MAX 32
#define CLIENT_IP_MAX 46   /* INET6_ADDRSTRLEN */

struct cidr {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct cidr_list {
	struct cidr items[CIDR_MAX];
	size_t n;
};

/* Parses a comma- or space-separated list such as "10.0.0.0/8, ::1".
 * A bare address means the single host.  Returns 0, or -1 with err. */
int cidr_list_parse(struct cidr_list *list, const char *text, char *err, size_t errlen);

/* 1 if the address text ip is inside one of the list's networks. */
int cidr_list_contains(const struct cidr_list *list, const char *ip);

/* Canonical form of the address text ip into out (CLIENT_IP_MAX bytes), or
 * "" when it is not an IP address.  Returns 0 or -1 (not an address). */
int ip_canonical(const char *ip, size_t len, char *out);

/* The client address of req under the trusted proxy list, into out
 * (CLIENT_IP_MAX bytes); "" when REMOTE_ADDR is not an address. */
void client_ip(const struct request *req, const struct cidr_list *trusted, char *out);

#endif
