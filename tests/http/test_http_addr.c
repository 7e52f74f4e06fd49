/* The SSRF guard's decision (http/addr.h), without opening any connection: every range of the
 * IANA IPv4 and IPv6 special-purpose registries is refused, at its first and last address,
 * while its global neighbours are not; and several hundred URL spellings of special addresses
 * (decimal, octal, hex, short forms, IPv6 forms, userinfo, case, trailing dots, names that
 * resolve to loopback) are each refused, on the literal and on every address the resolver
 * gives for it. The real client against loopback only: test_http_server.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http/addr.h"
#include "http/codec.h"

/* The registries as this test reads them (IANA, 2025), written out independently of
 * src/http/addr.c so a row missing there fails here. */
static const char *const special_v4[] = {
    "0.0.0.0/8",       "10.0.0.0/8",     "100.64.0.0/10",  "127.0.0.0/8",     "169.254.0.0/16",
    "172.16.0.0/12",   "192.0.0.0/24",   "192.0.0.0/29",   "192.0.0.8/32",    "192.0.0.9/32",
    "192.0.0.10/32",   "192.0.0.170/32", "192.0.0.171/32", "192.0.2.0/24",    "192.31.196.0/24",
    "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",    "240.0.0.0/4",     "255.255.255.255/32",
};

static const char *const special_v6[] = {
    "::/128",         "::1/128",        "::/96",
    "64:ff9b::/96",   "64:ff9b:1::/48", "100::/64",
    "100:0:0:1::/64", "2001::/23",      "2001::/32",
    "2001:1::1/128",  "2001:1::2/128",  "2001:1::3/128",
    "2001:2::/48",    "2001:3::/32",    "2001:4:112::/48",
    "2001:10::/28",   "2001:20::/28",   "2001:30::/28",
    "2001:db8::/32",  "2002::/16",      "2620:4f:8000::/48",
    "3fff::/20",      "5f00::/16",      "fc00::/7",
    "fe80::/10",      "fec0::/10",      "ff00::/8",
};

/* Just outside a special range, and global: must pass. */
static const char *const global[] = {
    "1.1.1.1",         "8.8.8.8",         "9.255.255.255",
    "11.0.0.0",        "100.63.255.255",  "100.128.0.0",
    "126.255.255.255", "128.0.0.0",       "169.253.255.255",
    "169.255.0.0",     "172.15.255.255",  "172.32.0.0",
    "191.255.255.255", "192.0.1.255",     "192.0.3.0",
    "192.167.255.255", "192.169.0.0",     "198.17.255.255",
    "198.20.0.0",      "198.51.99.255",   "198.51.101.0",
    "203.0.112.255",   "203.0.114.0",     "223.255.255.255",
    "::ffff:8.8.8.8",  "2001:200::1",     "2001:db7:ffff::1",
    "2001:db9::1",     "2003::1",         "2606:4700::1111",
    "2620:4f:7fff::1", "2620:4f:8001::1", "2a00:1450:4001::200e",
    "3ffe:ffff::1",
};

static int parse_cidr(const char *cidr, int *family, uint8_t net[16], unsigned *bits)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", cidr);
    char *slash = strchr(buf, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    *bits = (unsigned)strtoul(slash + 1, NULL, 10);
    *family = strchr(buf, ':') ? AF_INET6 : AF_INET;
    return inet_pton(*family, buf, net) == 1 ? 0 : -1;
}

static const struct pay_addr_range *judge(int family, const uint8_t *a)
{
    struct sockaddr_storage ss = {0};
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a, 4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a, 16);
    }
    return pay_addr_special((struct sockaddr *)&ss);
}

/* The first and the last address of the range, and one in the middle, are all special. */
static void check_range(const char *cidr)
{
    int family = 0;
    uint8_t net[16], a[16];
    unsigned bits = 0;
    if (parse_cidr(cidr, &family, net, &bits) != 0)
        fail_msg("bad CIDR in the test: %s", cidr);
    size_t len = family == AF_INET ? 4 : 16;
    for (int which = 0; which < 3; which++) {
        memcpy(a, net, len);
        for (unsigned bit = bits; bit < len * 8; bit++) {
            if (which == 1 || (which == 2 && bit == bits))
                a[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
        }
        if (judge(family, a) == NULL) {
            char text[INET6_ADDRSTRLEN];
            inet_ntop(family, a, text, sizeof text);
            fail_msg("%s (in %s) is not refused", text, cidr);
        }
    }
}

static void registries_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof special_v4 / sizeof special_v4[0]; i++)
        check_range(special_v4[i]);
    for (size_t i = 0; i < sizeof special_v6 / sizeof special_v6[0]; i++)
        check_range(special_v6[i]);
    /* everything outside 2000::/3 is reserved or unassigned */
    check_range("::/8");
    check_range("4000::/2");
    check_range("8000::/1");
}

static void global_neighbours_pass(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof global / sizeof global[0]; i++) {
        const struct pay_addr_range *r = NULL;
        if (pay_addr_text_special(global[i], &r) != 0) {
            char why[160];
            fail_msg("%s refused as %s", global[i],
                     r ? pay_addr_range_describe(r, why, sizeof why) : "not a literal");
        }
    }
}

/* The implementation's own rows: each prefix parses, has no host bits, is itself refused,
 * and names an RFC. */
static void tables_well_formed(void **state)
{
    (void)state;
    const struct pay_addr_range *t[2];
    size_t n[2];
    t[0] = pay_addr_ipv4_table(&n[0]);
    t[1] = pay_addr_ipv6_table(&n[1]);
    for (int f = 0; f < 2; f++) {
        int family = f == 0 ? AF_INET : AF_INET6;
        size_t len = f == 0 ? 4 : 16;
        for (size_t i = 0; i < n[f]; i++) {
            uint8_t a[16];
            assert_int_equal(inet_pton(family, t[f][i].prefix, a), 1);
            assert_true(t[f][i].bits <= len * 8);
            for (unsigned bit = t[f][i].bits; bit < len * 8; bit++)
                if (a[bit / 8] & (0x80 >> (bit % 8)))
                    fail_msg("%s/%u has host bits set", t[f][i].prefix, t[f][i].bits);
            assert_non_null(judge(family, a));
            assert_non_null(strstr(t[f][i].rfc, "RFC "));
        }
    }
    char why[160];
    const struct pay_addr_range *r = NULL;
    assert_int_equal(pay_addr_text_special("198.51.100.7", &r), 1);
    assert_string_equal(pay_addr_range_describe(r, why, sizeof why),
                        "198.51.100.0/24, documentation (TEST-NET-2), RFC 5737");
    assert_int_equal(pay_addr_text_special("::ffff:192.168.1.1", &r), 1); /* by its IPv4 */
    assert_string_equal(r->prefix, "192.168.0.0");
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    assert_true(pay_addr_is_private(&unix_sa));
}

/* --- URL spellings ----------------------------------------------------------------------- */

static const char *const hand_written[] = {
    "http://3221225985/",
    "http://0300.0000.0002.0001/",
    "http://0xc0000201/",
    "http://0XC0000201/",
    "http://192.513/",
    "http://192.0.513/",
    "http://0xc0.0.2.1/",
    "http://0xc0.0x0.0x02.0x01/",
    "http://[::ffff:192.0.2.1]/",
    "http://[::ffff:c000:201]/",
    "http://[::FFFF:C000:0201]/",
    "http://[64:ff9b::c000:201]/",
    "http://[64:ff9b::192.0.2.1]/",
    "http://[64:ff9b::808:808]/", /* NAT64 is refused whatever it embeds */
    "http://[2001:db8::1]/",
    "http://[2001:DB8::1]/",
    "http://[2001:0db8:0000:0000:0000:0000:0000:0001]/",
    "http://[fe80::1%25eth0]/",
    "http://[fe80::1]/",
    "http://[FE80::ABCD]:8080/x",
    "http://[fc00::1]/",
    "http://[fd12:3456:789a::1]/",
    "http://[::1]/",
    "http://[::]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::127.0.0.1]/",
    "http://[ff02::1]/",
    "http://[2001::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[2002:c000:201::1]/",
    "http://[2002:808:808::1]/", /* 6to4 is refused whatever it embeds */
    "http://[64:ff9b:1::1]/",
    "http://[100::1]/",
    "http://[3fff::1]/",
    "http://[5f00::1]/",
    "http://[fec0::1]/",
    "http://[2620:4f:8000::1]/",
    "http://[2001:2::1]/",
    "http://[2001:10::1]/",
    "http://[::ffff:0:c000:201]/",
    "http://[1::1]/",
    "http://a@192.0.2.1/",
    "http://user:pw@[2001:db8::1]/",
    "http://192.0.2.1:80@shop.example/",
    "http://shop.example@192.0.2.1/",
    "http://localhost/",
    "http://LOCALHOST/",
    "http://LocalHost:8080/notify",
    "http://0/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://127.1/",
    "http://127.0.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "HTTP://192.0.2.1/",
    "hTTpS://192.0.2.1/",
    "https://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://0xa9fea9fe/",
    "http://2852039166/",
};

static const char *const v4_targets[] = {
    "0.0.0.0",         "0.1.2.3",     "10.0.0.1",        "100.64.0.1",      "100.127.255.254",
    "127.0.0.1",       "127.1.2.3",   "169.254.169.254", "172.16.0.1",      "172.31.255.255",
    "192.0.0.1",       "192.0.0.171", "192.0.2.1",       "192.31.196.1",    "192.52.193.1",
    "192.88.99.1",     "192.168.1.1", "192.175.48.1",    "198.18.0.1",      "198.19.255.255",
    "198.51.100.7",    "203.0.113.9", "224.0.0.1",       "239.255.255.250", "240.0.0.1",
    "255.255.255.255",
};

#define SPELLINGS 17

/* The k-th spelling of IPv4 address x (host order) as a URL. */
static void spell(uint32_t x, int k, char *out, size_t n)
{
    unsigned a = x >> 24, b = (x >> 16) & 255, c = (x >> 8) & 255, d = x & 255;
    unsigned hi = x >> 16, lo = x & 0xffff;
    switch (k) {
    case 0:
        snprintf(out, n, "http://%u.%u.%u.%u/", a, b, c, d);
        break;
    case 1:
        snprintf(out, n, "http://%u/", x);
        break;
    case 2:
        snprintf(out, n, "http://0%o.0%o.0%o.0%o/", a, b, c, d);
        break;
    case 3:
        snprintf(out, n, "http://0x%x/", x);
        break;
    case 4:
        snprintf(out, n, "http://0X%08X:8080/", x);
        break;
    case 5:
        snprintf(out, n, "http://0x%02x.0x%02x.0x%02x.0x%02x/", a, b, c, d);
        break;
    case 6:
        snprintf(out, n, "http://%u.%u.%u/", a, b, c * 256 + d);
        break;
    case 7:
        snprintf(out, n, "http://%u.%u/", a, x & 0xffffff);
        break;
    case 8:
        snprintf(out, n, "http://%u.%u.%u.%u./", a, b, c, d);
        break;
    case 9:
        snprintf(out, n, "https://%u.%u.%u.%u:8443/notify?x=1", a, b, c, d);
        break;
    case 10:
        snprintf(out, n, "http://user@%u.%u.%u.%u/", a, b, c, d);
        break;
    case 11:
        snprintf(out, n, "http://[::ffff:%u.%u.%u.%u]/", a, b, c, d);
        break;
    case 12:
        snprintf(out, n, "http://[::ffff:%x:%x]/", hi, lo);
        break;
    case 13:
        snprintf(out, n, "http://[0:0:0:0:0:FFFF:%X:%X]:80/", hi, lo);
        break;
    case 14:
        snprintf(out, n, "http://[64:ff9b::%u.%u.%u.%u]/", a, b, c, d);
        break;
    case 15:
        snprintf(out, n, "http://[2002:%x:%x::1]/", hi, lo);
        break;
    default:
        snprintf(out, n, "http://[::%u.%u.%u.%u]/", a, b, c, d);
        break;
    }
}

static bool same_address(const struct sockaddr *x, const struct sockaddr_storage *y)
{
    if (x->sa_family != y->ss_family)
        return false;
    if (x->sa_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)(const void *)x)->sin_addr,
                      &((const struct sockaddr_in *)y)->sin_addr, 4) == 0;
    return memcmp(&((const struct sockaddr_in6 *)(const void *)x)->sin6_addr,
                  &((const struct sockaddr_in6 *)y)->sin6_addr, 16) == 0;
}

/* Every address the resolver gives for host must be refused. A literal is resolved with
 * AI_NUMERICHOST (no DNS query leaves the machine) and must mean what our literal reading
 * says; only localhost-style names are looked up (the hosts file answers them). Returns the
 * number of addresses judged, or -1 (message in why) when one passes. */
static int resolved_refused(const char *host, const struct sockaddr_storage *literal, char *why,
                            size_t n)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    hints.ai_flags = literal ? AI_NUMERICHOST : 0;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return 0; /* nothing to connect to: the connection cannot be made */
    int judged = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next, judged++) {
        if (literal && !same_address(ai->ai_addr, literal)) {
            snprintf(why, n, "the resolver reads %.100s differently", host);
            judged = -1;
            break;
        }
        if (!pay_addr_is_private(ai->ai_addr)) {
            snprintf(why, n, "%.100s resolves to an allowed address", host);
            judged = -1;
            break;
        }
    }
    freeaddrinfo(res);
    return judged;
}

/* Whether url would be refused, the way a server handles a notify URL: the URL parser, the
 * literal check of trade creation and merchant registration, and the connect-time guard on
 * each resolved address. Fills why with the reason it is NOT refused. */
static bool refused(const char *url, char *why, size_t n)
{
    struct pay_url u;
    struct pay_error e = {0};
    if (pay_url_parse(url, "notify_url", &u, &e) != PAY_ERR_OK)
        return true;
    struct sockaddr_storage lit;
    bool is_literal = pay_addr_literal_parse(u.host, &lit) == 0;
    if (is_literal && pay_addr_text_is_private(u.host) != 1) {
        snprintf(why, n, "literal %.100s is allowed", u.host);
        return false;
    }
    bool localhost_name = strcmp(u.host, "localhost") == 0;
    if (!is_literal && !localhost_name) {
        snprintf(why, n, "%.100s is a name this test does not resolve", u.host);
        return false;
    }
    int judged = resolved_refused(u.host, is_literal ? &lit : NULL, why, n);
    if (judged < 0)
        return false;
    if (judged == 0 && localhost_name) {
        snprintf(why, n, "localhost does not resolve here");
        return false;
    }
    return true;
}

static void url_spellings_refused(void **state)
{
    (void)state;
    char url[160], why[200];
    size_t count = 0;
    for (size_t i = 0; i < sizeof hand_written / sizeof hand_written[0]; i++, count++)
        if (!refused(hand_written[i], why, sizeof why))
            fail_msg("%s is not refused: %s", hand_written[i], why);
    for (size_t i = 0; i < sizeof v4_targets / sizeof v4_targets[0]; i++) {
        struct in_addr a;
        assert_int_equal(inet_pton(AF_INET, v4_targets[i], &a), 1);
        for (int k = 0; k < SPELLINGS; k++, count++) {
            spell(ntohl(a.s_addr), k, url, sizeof url);
            if (!refused(url, why, sizeof why))
                fail_msg("%s (%s) is not refused: %s", url, v4_targets[i], why);
        }
    }
    print_message("%zu URL spellings refused\n", count);
    assert_true(count >= 100);
}

/* The same decision lets global addresses through in the same spellings, so the refusals
 * above are the guard's and not the parser's. */
static void url_spellings_of_global_pass(void **state)
{
    (void)state;
    char url[160], why[200];
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, "93.184.215.14", &a), 1);
    for (int k = 0; k < SPELLINGS; k++) {
        spell(ntohl(a.s_addr), k, url, sizeof url);
        bool expect_refused = k == 10 || k >= 14; /* userinfo, NAT64, 6to4, IPv4-compatible */
        if (refused(url, why, sizeof why) != expect_refused)
            fail_msg("%s: refused should be %d (%s)", url, expect_refused, why);
    }
    const char *const pass[] = {"http://[2606:4700::1111]/", "https://[2a00:1450:4001::200e]:443/",
                                "http://[::ffff:8.8.8.8]/"};
    for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++)
        if (refused(pass[i], why, sizeof why))
            fail_msg("%s refused", pass[i]);
}

static void literal_spellings(void **state)
{
    (void)state;
    const char *const same[] = {"192.0.2.1",  "3221225985", "0300.0000.0002.0001",
                                "0xc0000201", "0XC0000201", "192.513",
                                "192.0.513",  "0xc0.0.2.1", "192.0.2.1."};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        struct sockaddr_storage ss;
        assert_int_equal(pay_addr_literal_parse(same[i], &ss), 0);
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        assert_int_equal(ss.ss_family, AF_INET);
        assert_int_equal(ntohl(s4->sin_addr.s_addr), 0xc0000201u);
    }
    const char *const v6[] = {"[fe80::1%25eth0]", "fe80::1%eth0", "[FE80::1]", "fe80::1."};
    for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++) {
        struct sockaddr_storage ss;
        if (pay_addr_literal_parse(v6[i], &ss) != 0)
            fail_msg("%s is not read as fe80::1", v6[i]);
        assert_int_equal(ss.ss_family, AF_INET6);
        assert_int_equal(pay_addr_text_is_private(v6[i]), 1);
    }
    const char *const names[] = {
        "localhost",   "shop.example", "1.2.3.4.example", "",     "[", "[]",
        "192.0.2.1 x", "0x",           "1e100.net",       "[::1", "."};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct sockaddr_storage ss;
        if (pay_addr_literal_parse(names[i], &ss) == 0)
            fail_msg("'%s' read as an IP literal", names[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registries_refused),    cmocka_unit_test(global_neighbours_pass),
        cmocka_unit_test(tables_well_formed),    cmocka_unit_test(literal_spellings),
        cmocka_unit_test(url_spellings_refused), cmocka_unit_test(url_spellings_of_global_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
