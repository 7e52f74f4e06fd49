/* The special-purpose address tables of the SSRF guard, each row with the RFC that defines it
 * (IANA IPv4 and IPv6 Special-Purpose Address Registries, as of 2025), and the reading of IP
 * literals in every spelling resolvers accept. */
#include "http/addr.h"

#include "core/assertions.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* More specific rows come before the ranges that hold them, so the name is the precise one. */
static const struct pay_addr_range v4_table[] = {
    {"0.0.0.0", 32, "this host on this network", "RFC 1122 section 3.2.1.3"},
    {"0.0.0.0", 8, "this network", "RFC 791 section 3.2"},
    {"10.0.0.0", 8, "private-use", "RFC 1918"},
    {"100.64.0.0", 10, "shared address space (carrier-grade NAT)", "RFC 6598"},
    {"127.0.0.0", 8, "loopback", "RFC 1122 section 3.2.1.3"},
    {"169.254.0.0", 16, "link-local", "RFC 3927"},
    {"172.16.0.0", 12, "private-use", "RFC 1918"},
    {"192.0.0.0", 29, "IPv4 service continuity prefix", "RFC 7335"},
    {"192.0.0.8", 32, "IPv4 dummy address", "RFC 7600"},
    {"192.0.0.9", 32, "Port Control Protocol anycast", "RFC 7723"},
    {"192.0.0.10", 32, "TURN anycast", "RFC 8155"},
    {"192.0.0.170", 31, "NAT64/DNS64 discovery", "RFC 8880"},
    {"192.0.0.0", 24, "IETF protocol assignments", "RFC 6890 section 2.1"},
    {"192.0.2.0", 24, "documentation (TEST-NET-1)", "RFC 5737"},
    {"192.31.196.0", 24, "AS112-v4", "RFC 7535"},
    {"192.52.193.0", 24, "automatic multicast tunneling", "RFC 7450"},
    {"192.88.99.0", 24, "6to4 relay anycast (deprecated)", "RFC 7526"},
    {"192.168.0.0", 16, "private-use", "RFC 1918"},
    {"192.175.48.0", 24, "direct delegation AS112 service", "RFC 7534"},
    {"198.18.0.0", 15, "benchmarking", "RFC 2544"},
    {"198.51.100.0", 24, "documentation (TEST-NET-2)", "RFC 5737"},
    {"203.0.113.0", 24, "documentation (TEST-NET-3)", "RFC 5737"},
    {"224.0.0.0", 4, "multicast", "RFC 5771"},
    {"255.255.255.255", 32, "limited broadcast", "RFC 919 section 7, RFC 8190"},
    {"240.0.0.0", 4, "reserved", "RFC 1112 section 4"},
};

/* ::ffff:0:0/96 (IPv4-mapped, RFC 4291) is not here: it is judged by its IPv4 address. */
static const struct pay_addr_range v6_table[] = {
    {"::", 128, "unspecified", "RFC 4291"},
    {"::1", 128, "loopback", "RFC 4291"},
    {"::", 96, "IPv4-compatible (deprecated)", "RFC 4291 section 2.5.5.1"},
    {"64:ff9b::", 96, "IPv4/IPv6 translation (NAT64)", "RFC 6052"},
    {"64:ff9b:1::", 48, "local-use IPv4/IPv6 translation", "RFC 8215"},
    {"100::", 64, "discard-only", "RFC 6666"},
    {"100:0:0:1::", 64, "dummy IPv6 prefix", "RFC 9780"},
    {"2001::", 32, "Teredo", "RFC 4380, RFC 8190"},
    {"2001:1::1", 128, "Port Control Protocol anycast", "RFC 7723"},
    {"2001:1::2", 128, "TURN anycast", "RFC 8155"},
    {"2001:1::3", 128, "DNS-SD service registration protocol anycast", "RFC 9665"},
    {"2001:2::", 48, "benchmarking", "RFC 5180"},
    {"2001:3::", 32, "automatic multicast tunneling", "RFC 7450"},
    {"2001:4:112::", 48, "AS112-v6", "RFC 7535"},
    {"2001:10::", 28, "ORCHID (deprecated)", "RFC 4843"},
    {"2001:20::", 28, "ORCHIDv2", "RFC 7343"},
    {"2001:30::", 28, "drone remote ID entity tags", "RFC 9374"},
    {"2001::", 23, "IETF protocol assignments", "RFC 2928"},
    {"2001:db8::", 32, "documentation", "RFC 3849"},
    {"2002::", 16, "6to4", "RFC 3056"},
    {"2620:4f:8000::", 48, "direct delegation AS112 service", "RFC 7534"},
    {"3fff::", 20, "documentation", "RFC 9637"},
    {"5f00::", 16, "segment routing (SRv6) SIDs", "RFC 9602"},
    {"fc00::", 7, "unique-local", "RFC 4193"},
    {"fe80::", 10, "link-local unicast", "RFC 4291"},
    {"fec0::", 10, "site-local (deprecated)", "RFC 3879"},
    {"ff00::", 8, "multicast", "RFC 4291"},
};

/* Everything outside 2000::/3 that no row above names: not global unicast (IANA IPv6 address
 * space registry: reserved by the IETF or unassigned). */
static const struct pay_addr_range v6_not_global = {"", 0, "not global unicast (outside 2000::/3)",
                                                    "RFC 4291 section 2.4"};
static const struct pay_addr_range not_ip = {"", 0, "not an IPv4 or IPv6 address", ""};

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, net, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

static const struct pay_addr_range *lookup(int family, const uint8_t *a,
                                           const struct pay_addr_range *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t net[16];
        int ok = inet_pton(family, t[i].prefix, net);
        PAY_ASSERT(ok == 1); /* the tables are constants, checked by tests/http/test_http_addr.c */
        if (prefix_match(a, net, t[i].bits))
            return &t[i];
    }
    return NULL;
}

static const struct pay_addr_range *v4_special(const uint8_t *a)
{
    return lookup(AF_INET, a, v4_table, sizeof v4_table / sizeof v4_table[0]);
}

static const struct pay_addr_range *v6_special(const uint8_t *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, sizeof mapped) == 0) /* ::ffff:a.b.c.d is a.b.c.d on the wire */
        return v4_special(a + 12);
    const struct pay_addr_range *r =
        lookup(AF_INET6, a, v6_table, sizeof v6_table / sizeof v6_table[0]);
    if (r == NULL && (a[0] & 0xe0) != 0x20)
        r = &v6_not_global;
    return r;
}

const struct pay_addr_range *pay_addr_special(const struct sockaddr *sa)
{
    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        return v4_special((const uint8_t *)&s4->sin_addr.s_addr);
    }
    if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        return v6_special(s6->sin6_addr.s6_addr);
    }
    return &not_ip;
}

bool pay_addr_is_private(const struct sockaddr *sa)
{
    return pay_addr_special(sa) != NULL;
}

int pay_addr_literal_parse(const char *host, struct sockaddr_storage *out)
{
    char buf[INET6_ADDRSTRLEN + 64];
    size_t n = host ? strlen(host) : 0;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, host, n + 1);
    if (buf[0] == '[') { /* [v6] as in a URL */
        if (n < 3 || buf[n - 1] != ']')
            return -1;
        memmove(buf, buf + 1, n - 2);
        buf[n -= 2] = '\0';
    }
    char *zone = strchr(buf, '%'); /* fe80::1%eth0, or %25eth0 as a URL spells it */
    if (zone != NULL && strchr(buf, ':') != NULL)
        *zone = '\0', n = (size_t)(zone - buf);
    if (n > 1 && buf[n - 1] == '.') /* "192.0.2.1." is the same host */
        buf[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)buf[i])) /* inet_aton would ignore what follows a space */
            return -1;
    memset(out, 0, sizeof *out);
    if (strchr(buf, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
        if (inet_pton(AF_INET6, buf, &s6->sin6_addr) != 1)
            return -1;
        s6->sin6_family = AF_INET6;
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)out;
    if (inet_aton(buf, &s4->sin_addr) == 0) /* the forms getaddrinfo and curl accept too */
        return -1;
    s4->sin_family = AF_INET;
    return 0;
}

int pay_addr_text_special(const char *host, const struct pay_addr_range **range)
{
    struct sockaddr_storage ss;
    const struct pay_addr_range *r = NULL;
    int rc = -1;
    if (pay_addr_literal_parse(host, &ss) == 0) {
        r = pay_addr_special((const struct sockaddr *)&ss);
        rc = r != NULL;
    }
    if (range != NULL)
        *range = r;
    return rc;
}

int pay_addr_text_is_private(const char *host)
{
    return pay_addr_text_special(host, NULL);
}

const char *pay_addr_range_describe(const struct pay_addr_range *r, char *buf, size_t n)
{
    if (r->prefix[0] == '\0') /* the rows that are not one prefix */
        snprintf(buf, n, "%s%s%s", r->name, r->rfc[0] ? ", " : "", r->rfc);
    else
        snprintf(buf, n, "%s/%u, %s, %s", r->prefix, r->bits, r->name, r->rfc);
    return buf;
}

const struct pay_addr_range *pay_addr_ipv4_table(size_t *n)
{
    *n = sizeof v4_table / sizeof v4_table[0];
    return v4_table;
}

const struct pay_addr_range *pay_addr_ipv6_table(size_t *n)
{
    *n = sizeof v6_table / sizeof v6_table[0];
    return v6_table;
}
