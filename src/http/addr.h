/* The SSRF guard's decision: is an address one of the IANA special-purpose ranges (IPv4 and
 * IPv6 special-purpose address registries, plus multicast and everything outside IPv6 global
 * unicast)? Outbound calls refuse such addresses at connect time, after DNS, unless the
 * operator allows private hosts; merchant registration and trade creation refuse IP literals
 * of them in any spelling. See docs/http.md, "SSRF guard". */
#ifndef PAY_HTTP_ADDR_H
#define PAY_HTTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* One row of the tables: prefix/bits, what the range is, and where it is defined. */
struct pay_addr_range {
    const char *prefix; /* "192.0.2.0", "2001:db8::" */
    unsigned bits;
    const char *name; /* "documentation (TEST-NET-1)" */
    const char *rfc;  /* "RFC 5737" */
};

/* The special-purpose range sa is in, or NULL for an ordinary (global unicast) address. An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged by its IPv4 address; every other IPv6
 * form that embeds one (NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32,
 * IPv4-compatible ::/96) is a special range itself. A family other than IPv4 and IPv6 is
 * special too. The result points into a static table. */
const struct pay_addr_range *pay_addr_special(const struct sockaddr *sa);

/* pay_addr_special(sa) != NULL: what the connect-time guard refuses. */
bool pay_addr_is_private(const struct sockaddr *sa);

/* Reads a host as an IP literal in any spelling a URL parser or resolver accepts: IPv4 in
 * inet_aton's forms (dotted, decimal 3221225985, octal 0300.0.2.1, hex 0xc0000201, short
 * 192.2.1), IPv6 with or without brackets and with a zone (%25eth0, %eth0), either with one
 * trailing dot, any case. 0 and *out filled, or -1 when host is not an IP literal (a name). */
int pay_addr_literal_parse(const char *host, struct sockaddr_storage *out);

/* For host text: 1 when it is an IP literal (pay_addr_literal_parse) in a special range,
 * 0 when a literal outside them, -1 when not an IP literal. When range is not NULL it gets
 * the range (or NULL). */
int pay_addr_text_is_private(const char *host);
int pay_addr_text_special(const char *host, const struct pay_addr_range **range);

/* "192.0.2.0/24, documentation (TEST-NET-1), RFC 5737" into buf (n bytes). Returns buf. */
const char *pay_addr_range_describe(const struct pay_addr_range *r, char *buf, size_t n);

/* The whole tables, for tests and docs: *n rows each. */
const struct pay_addr_range *pay_addr_ipv4_table(size_t *n);
const struct pay_addr_range *pay_addr_ipv6_table(size_t *n);

#endif
