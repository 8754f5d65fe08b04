/* clientip: CIDR lists and X-Forwarded-For evaluation. */
#include "clientip.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Parses ip[0..len) into family and 4 or 16 bytes; IPv4-mapped IPv6
 * becomes IPv4.  Returns 0 or -1. */
static int
ip_parse(const char *ip, size_t len, int *family_r, unsigned char *addr)
{
	char buf[CLIENT_IP_MAX + 1];

	while (len > 0 && (*ip == ' ' || *ip == '\t')) {
		ip++;
		len--;
	}
	while (len > 0 && (ip[len - 1] == ' ' || ip[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, ip, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family_r = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
			memmove(addr, addr + 12, 4);
			*family_r = AF_INET;
		} else {
			*family_r = AF_INET6;
		}
		return 0;
	}
	return -1;
}

int
ip_canonical(const char *ip, size_t len, char *out)
{
	unsigned char addr[16];
	int family;

	out[0] = '\0';
	if (ip == NULL || ip_parse(ip, len, &family, addr) < 0)
		return -1;
	inet_ntop(family, addr, out, CLIENT_IP_MAX);
	return 0;
}

int
cidr_list_parse(struct cidr_list *list, const char *text, char *err, size_t errlen)
{
	const char *p = text;

	memset(list, 0, sizeof(*list));
	while (*p != '\0') {
		const char *start, *slash, *end;
		struct cidr *c;
		unsigned long prefix;
		size_t alen;
		int mapped;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != ',' && *p != '\t')
			p++;
		end = p;
		if (list->n == CIDR_MAX) {
			snprintf(err, errlen, "at most %d networks", CIDR_MAX);
			return -1;
		}
		c = &list->items[list->n];
		slash = memchr(start, '/', (size_t)(end - start));
		alen = (size_t)((slash != NULL ? slash : end) - start);
		if (ip_parse(start, alen, &c->family, c->addr) < 0) {
			snprintf(err, errlen, "\"%.*s\" is not an address or network",
			    (int)(end - start), start);
			return -1;
		}
		/* IPv4-mapped IPv6 ("::ffff:10.0.0.0/104") is stored as IPv4 */
		mapped = c->family == AF_INET && memchr(start, ':', alen) != NULL;
		c->prefix = c->family == AF_INET && !mapped ? 32 : 128;
		if (slash != NULL) {
			char *pend;
			if (!isdigit((unsigned char)slash[1])) {
				snprintf(err, errlen, "\"%.*s\" has a bad prefix length",
				    (int)(end - start), start);
				return -1;
			}
			prefix = strtoul(slash + 1, &pend, 10);
			if (pend != end || prefix > c->prefix || (mapped && prefix < 96)) {
				snprintf(err, errlen, "\"%.*s\" has a bad prefix length",
				    (int)(end - start), start);
				return -1;
			}
			c->prefix = (unsigned)prefix;
		}
		if (mapped)
			c->prefix -= 96;
		list->n++;
	}
	return 0;
}

static int
cidr_match(const struct cidr *c, int family, const unsigned char *addr)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (c->family != family)
		return 0;
	if (memcmp(c->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((c->addr[full] ^ addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static int
contains(const struct cidr_list *list, int family, const unsigned char *addr)
{
	for (size_t i = 0; list != NULL && i < list->n; i++)
		if (cidr_match(&list->items[i], family, addr))
			return 1;
	return 0;
}

int
cidr_list_contains(const struct cidr_list *list, const char *ip)
{
	unsigned char addr[16];
	int family;

	if (ip == NULL || ip_parse(ip, strlen(ip), &family, addr) < 0)
		return 0;
	return contains(list, family, addr);
}

void
client_ip(const char *remote_addr, const char *const *forwarded_for, size_t nforwarded,
    const struct cidr_list *trusted, char *out)
{
	unsigned char addr[16];
	int family;

	out[0] = '\0';
	if (remote_addr == NULL ||
	    ip_parse(remote_addr, strlen(remote_addr), &family, addr) < 0)
		return;
	inet_ntop(family, addr, out, CLIENT_IP_MAX);
	if (forwarded_for == NULL || nforwarded == 0 || !contains(trusted, family, addr))
		return;
	if (nforwarded == 1 && forwarded_for[0][0] == '\0')
		return;   /* an empty header: no hops */
	/* Walk the hops from the right, across the values as if they were
	 * joined by ',' (the last value is the one the nearest proxy added);
	 * the first hop that is not a trusted proxy is the client.  A
	 * malformed hop ends the walk: the last trusted hop seen is then the
	 * best we know. */
	for (size_t i = nforwarded; i-- > 0;) {
		const char *v = forwarded_for[i], *end = v + strlen(v);

		for (;;) {
			const char *start = end;

			while (start > v && start[-1] != ',')
				start--;
			if (ip_parse(start, (size_t)(end - start), &family, addr) < 0)
				return;
			inet_ntop(family, addr, out, CLIENT_IP_MAX);
			if (!contains(trusted, family, addr))
				return;
			if (start == v)
				break;
			end = start - 1;
		}
	}
}

int
client_key(const char *ip, unsigned ipv6_prefix, char *out)
{
	unsigned char addr[16];
	unsigned full, rest;
	size_t len;
	int family;

	out[0] = '\0';
	if (ip == NULL || ip_parse(ip, strlen(ip), &family, addr) < 0)
		return -1;
	if (family == AF_INET || ipv6_prefix >= 128) {
		inet_ntop(family, addr, out, CLIENT_IP_MAX);
		return 0;
	}
	/* the network: the bits after the prefix cleared */
	full = ipv6_prefix / 8;
	rest = ipv6_prefix % 8;
	if (rest != 0)
		addr[full++] &= (unsigned char)(0xff << (8 - rest));
	memset(addr + full, 0, sizeof(addr) - full);
	inet_ntop(AF_INET6, addr, out, CLIENT_IP_MAX);
	len = strlen(out);
	snprintf(out + len, CLIENT_KEY_MAX - len, "/%u", ipv6_prefix);
	return 0;
}
