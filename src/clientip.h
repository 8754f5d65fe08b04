/* clientip: who the client is, for lock-out counting and the audit log.
 *
 * REMOTE_ADDR, unless the peer is a trusted proxy: then the right-most
 * X-Forwarded-For address that is not itself a trusted proxy.  Addresses
 * are canonical text (inet_ntop), IPv4-mapped IPv6 written as IPv4.  The
 * lock-out counters count an IPv6 address by its network (client_key). */
#ifndef AGENTAUTH_CLIENTIP_H
#define AGENTAUTH_CLIENTIP_H

#include <stddef.h>

#define CIDR_MAX 32
#define CLIENT_IP_MAX 46   /* INET6_ADDRSTRLEN */
#define CLIENT_KEY_MAX (CLIENT_IP_MAX + 4)   /* and "/128" */

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

/* The client address under the trusted proxy list, into out (CLIENT_IP_MAX
 * bytes); "" when remote_addr (REMOTE_ADDR, may be NULL) is not an address.
 * forwarded_for[0..nforwarded) are the X-Forwarded-For values in the order
 * the web server passed them, read as one list as if joined by ','; all
 * borrowed.  Only read when remote_addr is in trusted (which may be NULL). */
void client_ip(const char *remote_addr, const char *const *forwarded_for, size_t nforwarded,
    const struct cidr_list *trusted, char *out);

/* The lock-out counters' key of the client address ip (as client_ip wrote
 * it) into out (CLIENT_KEY_MAX bytes): an IPv6 address's network of
 * ipv6_prefix bits (0 to 128) as "2001:db8:1:2::/64", or the address alone
 * when ipv6_prefix is 128; an IPv4 (or IPv4-mapped) address itself.
 * Returns 0, or -1 with out "" when ip is "" or not an address. */
int client_key(const char *ip, unsigned ipv6_prefix, char *out);

#endif
