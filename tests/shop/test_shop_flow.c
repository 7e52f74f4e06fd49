/* The demo shop driven as a shopper would, on real servers on ports they chose: `paygate
 * platform`, `paygate bank` and three `paygate shop`s (one with a bank contract, one whose
 * notifications cannot reach it, one whose platform is down). Catalogue, cart (its cookie,
 * unknown products, posts from another site), checkout through the platform's cashier
 * (wallet) and through the shop's bank (card, password, SMS code), each order paid exactly
 * once, notifications signed with the platform's and the bank's real keys but for another
 * amount, merchant, currency or order refused, duplicates answered and not fulfilled twice,
 * refunds through both, the query fallback and an unreachable platform. Money is checked
 * at every step: the consumer's wallet, the shop's balance at the platform (fee included),
 * the bank's view of the order, and both ledgers verified at the end. */
#include "paygate.h"

#include "../platform/harness.h"
#include "core/buf.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "crypto/sign.h"
#include "crypto/x509.h"
#include "http/client.h"
#include "http/codec.h"
#include "lib/harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define LOGIN        "13800000001"
#define PASSWORD     "demo-pass-1"
#define PAY_PASSWORD "123456"

static struct h_platform pf;
static char dir[256];
static char bank_url[128], shop_url[128], late_url[128], down_url[128], closed_url[64];
static pid_t bank_pid, shop_pid, late_pid, down_pid;
static int closed_fd = -1; /* bound, never listening: every connection to it is refused */

/* Set by the purchases, used by the notification and refund tests. */
static char pf_order[40], pf_trade[40], bank_order[40];

/* --- servers ------------------------------------------------------------------------------ */

static const char *path_in(const char *name)
{
    static char p[4][400];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

static void start_bank(void)
{
    assert_int_equal(th_sh("mkdir -p %s && '%s' bank merchant add --data-dir %s --code icbc "
                           "--bin 622202 --fast-hash --mer-id SHOP0001 --name Teahouse "
                           "--referrer-domain 127.0.0.1 --notify-domain 127.0.0.1 "
                           "--allow-no-referer --out %s >%s 2>&1",
                           path_in("bank"), h_paygate, path_in("bank/data"), path_in("mer"),
                           path_in("bank/cli.log")),
                     0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "exec '%s' bank serve --data-dir %s --code icbc --bin 622202 --demo-data "
             "--fast-hash --listen 127.0.0.1:0 --print-url-file %s --notify-timeout 5s "
             ">%s 2>&1",
             h_paygate, path_in("bank/data"), path_in("bank/url"), path_in("bank/out.log"));
    bank_pid = th_spawn_sh(cmd);
    assert_int_equal(th_wait_url_file(bank_pid, path_in("bank/url"), bank_url, sizeof bank_url,
                                      TH_START_TIMEOUT_MS),
                     0);
}

/* Starts `paygate shop` named name with extra flags; its URL into url. */
static pid_t start_shop(const char *name, const char *platform_url, const char *extra, char *url,
                        size_t n)
{
    char cmd[2048], data[300], url_file[310];
    snprintf(data, sizeof data, "%s", path_in(name));
    snprintf(url_file, sizeof url_file, "%s.url", data);
    snprintf(cmd, sizeof cmd,
             "exec '%s' shop --data-dir %s --platform-url %s --merchant-id shop --key-file %s "
             "--listen 127.0.0.1:0 --print-url-file %s %s >%s.log 2>&1",
             h_paygate, data, platform_url, path_in("shop.key"), url_file, extra, data);
    pid_t pid = th_spawn_sh(cmd);
    assert_int_equal(th_wait_url_file(pid, url_file, url, n, TH_START_TIMEOUT_MS), 0);
    return pid;
}

static int group_setup(void **state)
{
    h_setup(&pf, NULL, NULL, NULL);
    snprintf(dir, sizeof dir, "%s", pf.dir);
    assert_int_equal(th_sh("'%s' platform keygen --out %s >/dev/null && '%s' platform merchant add "
                           "--data-dir %s --id shop --name Teahouse --public-key-file %s.pub "
                           "--notify-host 127.0.0.1 --allow-private-hosts --fee-bp 60 >/dev/null",
                           h_paygate, path_in("shop.key"), h_paygate, dir, path_in("shop.key")),
                     0);
    h_add_consumer(&pf, LOGIN, PASSWORD, PAY_PASSWORD);
    h_wallet_credit(&pf, LOGIN, "1000.00");
    h_start(&pf);
    start_bank();
    closed_fd = th_loopback_socket(false, closed_url, sizeof closed_url);
    assert_true(closed_fd >= 0);
    char extra[1400], pk[64];
    snprintf(extra, sizeof extra,
             "--bank-url %s --bank-name 'Test Bank' --bank-merchant-dir %s --bank-cert %s "
             "--bank-ca %s --bank-code icbc",
             bank_url, path_in("mer"), path_in("bank/data/keys/sign.crt"),
             path_in("bank/data/keys/ca.crt"));
    shop_pid = start_shop("shop", pf.url, extra, shop_url, sizeof shop_url);
    snprintf(extra, sizeof extra, "--public-url %s", closed_url);
    late_pid = start_shop("late", pf.url, extra, late_url, sizeof late_url);
    pay_ed25519_pk_to_text(pk, pf.pk);
    snprintf(extra, sizeof extra, "--platform-key %s", pk);
    down_pid = start_shop("down", closed_url, extra, down_url, sizeof down_url);
    return 0;
}

static int group_teardown(void **state)
{
    assert_int_equal(th_stop(&shop_pid, SIGTERM), 0);
    assert_int_equal(th_stop(&late_pid, SIGTERM), 0);
    assert_int_equal(th_stop(&down_pid, SIGTERM), 0);
    assert_int_equal(th_stop(&bank_pid, SIGTERM), 0);
    assert_int_equal(th_ledger_verify(h_paygate, path_in("bank/data/bank.db")), 0);
    close(closed_fd);
    h_teardown_verified(&pf); /* stops the platform, verifies its ledger, removes dir */
    return 0;
}

/* --- the shopper's browser ---------------------------------------------------------------- */

struct shopper {
    char sid[64];
    char cart[256];
    char staff[80], login_csrf[80]; /* the back office's session and its login form's token */
    char csrf[80];                  /* the staff session's CSRF token (post() sends it) */
    long status;
    char location[600];
    char *page;
};

static void take_cookie(struct shopper *s, const char *line)
{
    const char *v = line + strlen("Set-Cookie: ");
    size_t n = strcspn(v, ";\r\n");
    char *slot = strncmp(v, "shop_sid=", 9) == 0           ? s->sid
                 : strncmp(v, "shop_cart=", 10) == 0       ? s->cart
                 : strncmp(v, "shop_staff=", 11) == 0      ? s->staff
                 : strncmp(v, "shop_login_csrf=", 16) == 0 ? s->login_csrf
                                                           : NULL;
    if (slot) {
        const char *eq = strchr(v, '=') + 1;
        snprintf(slot, slot == s->cart ? sizeof s->cart : sizeof s->sid, "%.*s",
                 (int)(n - (size_t)(eq - v)), eq);
    }
}

/* One request to base + path with the shopper's cookies; Origin when origin is not NULL (a
 * browser sends it with every POST). Updates cookies, status, Location and page. */
static void shop_req(struct shopper *s, const char *base, const char *method, const char *path,
                     const char *form, const char *origin)
{
    char url[700], cookie[600], origin_h[200];
    snprintf(url, sizeof url, "%s%s", base, path);
    snprintf(cookie, sizeof cookie,
             "Cookie: shop_sid=%s; shop_cart=%s; shop_staff=%s; shop_login_csrf=%s", s->sid,
             s->cart, s->staff, s->login_csrf);
    snprintf(origin_h, sizeof origin_h, "Origin: %s", origin ? origin : "");
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", cookie,
                             origin ? origin_h : NULL, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true,
                                          .total_timeout_ms = 30000};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request(method, url, headers, form, form ? strlen(form) : 0,
                                             &opt, &r, NULL),
                     PAY_ERR_OK);
    s->status = r.status;
    free(s->page);
    s->page = strdup(pay_buf_str(&r.body));
    s->location[0] = '\0';
    for (const char *l = pay_buf_str(&r.headers); l && *l;) {
        if (strncasecmp(l, "Set-Cookie: ", 12) == 0)
            take_cookie(s, l);
        else if (strncasecmp(l, "Location: ", 10) == 0)
            snprintf(s->location, sizeof s->location, "%.*s", (int)strcspn(l + 10, "\r\n"), l + 10);
        const char *end = strstr(l, "\r\n");
        l = end ? end + 2 : NULL;
    }
    pay_http_client_response_fini(&r);
}

static void get(struct shopper *s, const char *base, const char *path)
{
    shop_req(s, base, "GET", path, NULL, NULL);
}
/* A form posted from the shop's own page: with the staff session's CSRF token when logged in. */
static void post(struct shopper *s, const char *base, const char *path, const char *form)
{
    char f[1024];
    if (s->csrf[0])
        snprintf(f, sizeof f, "%s%scsrf=%s", form, form[0] ? "&" : "", s->csrf);
    shop_req(s, base, "POST", path, s->csrf[0] ? f : form, base);
}
static void shopper_fini(struct shopper *s)
{
    free(s->page);
    s->page = NULL;
}

/* The text of element id="id" (up to the next '<') in page; "" when absent. */
static const char *text_of(const char *page, const char *id)
{
    static char out[128];
    char key[80];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *p = page ? strstr(page, key) : NULL;
    out[0] = '\0';
    if (p && (p = strchr(p, '>')))
        snprintf(out, sizeof out, "%.*s", (int)strcspn(p + 1, "<"), p + 1);
    return out;
}

/* The state code of the order page (data-state of id="order-state"; people see its name). */
static const char *order_state(const char *page)
{
    static char out[32];
    const char *p = page ? strstr(page, "id=\"order-state\"") : NULL;
    const char *q = p ? strstr(p, "data-state=\"") : NULL;
    out[0] = '\0';
    if (q)
        snprintf(out, sizeof out, "%.*s", (int)strcspn(q + 12, "\""), q + 12);
    return out;
}

/* The order id of the newest row of a shopper's "my orders" ("" when none). */
static const char *newest_order(struct shopper *s, const char *base)
{
    static char id[40];
    get(s, base, "/orders");
    assert_int_equal(s->status, 200);
    const char *p = strstr(s->page, "id=\"row-");
    id[0] = '\0';
    if (p)
        snprintf(id, sizeof id, "%.*s", (int)strcspn(p + 8, "\""), p + 8);
    return id;
}

/* The value of the first hidden input named name after marker in page ("" when absent). */
static const char *hidden_after(const char *page, const char *marker, const char *name)
{
    static char out[128];
    char key[64];
    snprintf(key, sizeof key, "name=\"%s\" value=\"", name);
    const char *p = page ? strstr(page, marker) : NULL;
    p = p ? strstr(p, key) : NULL;
    out[0] = '\0';
    if (p)
        snprintf(out, sizeof out, "%.*s", (int)strcspn(p + strlen(key), "\""), p + strlen(key));
    return out;
}

/* Logs s in to base's back office (docs/shop.md "Staff login") as the first admin, whose
 * password the shop wrote to <its data folder>/shop-admin.txt. */
static void staff_login(struct shopper *s, const char *base, const char *data)
{
    char file[400], form[300];
    snprintf(file, sizeof file, "%s/shop-admin.txt", path_in(data));
    char *text = pay_file_read(file, 4096, NULL);
    assert_non_null(text);
    const char *pw = strstr(text, "password ");
    assert_non_null(pw);
    get(s, base, "/admin/login");
    assert_int_equal(s->status, 200);
    snprintf(form, sizeof form, "csrf=%s&login=admin&password=%.*s",
             hidden_after(s->page, "id=\"login-form\"", "csrf"), (int)strcspn(pw + 9, "\n"),
             pw + 9);
    free(text);
    /* without Origin (a client, not a browser): the late shop's public URL is not its own */
    shop_req(s, base, "POST", "/admin/login", form, NULL);
    assert_int_equal(s->status, 303);
    assert_string_equal(s->location, "/admin");
    get(s, base, "/courier");
    assert_int_equal(s->status, 200);
    snprintf(s->csrf, sizeof s->csrf, "%s", hidden_after(s->page, "id=\"logout\"", "csrf"));
    assert_true(strlen(s->csrf) > 16);
}

/* The logged-in admin of base (one per shop, for the whole run). */
static struct shopper *admin_of(const char *base)
{
    static struct shopper admins[3];
    static const char *bases[3];
    const char *const data[3] = {"shop", "late", "down"};
    const char *const urls[3] = {shop_url, late_url, down_url};
    for (int i = 0; i < 3; i++)
        if (strcmp(base, urls[i]) == 0) {
            if (bases[i] != base)
                staff_login(&admins[i], base, data[i]);
            bases[i] = base;
            return &admins[i];
        }
    fail_msg("no shop at %s", base);
    return NULL;
}

/* The admin page's row of an order (its HTML, "" when absent). */
static const char *admin_row(const char *base, const char *order)
{
    static char row[2048];
    struct shopper *a = admin_of(base);
    get(a, base, "/admin");
    assert_int_equal(a->status, 200);
    char key[80];
    snprintf(key, sizeof key, "<tr id=\"row-%s\"", order);
    const char *p = strstr(a->page, key), *e = p ? strstr(p, "</tr>") : NULL;
    row[0] = '\0';
    if (p && e)
        snprintf(row, sizeof row, "%.*s", (int)(e - p), p);
    return row;
}

/* Waits (up to 20 s) for the platform's notification to mark the order paid. */
static void wait_paid(const char *base, const char *order)
{
    for (int i = 0; i < 400 && !strstr(admin_row(base, order), "state-paid"); i++)
        usleep(50000);
    assert_non_null(strstr(admin_row(base, order), "state-paid"));
}

/* The consumer's wallet balance as the wallet page shows it ("829.00"). */
static const char *wallet_balance(void)
{
    static char out[32];
    struct h_browser b = {0};
    snprintf(b.session, sizeof b.session, "%s", h_wallet_login(&pf, LOGIN, PASSWORD));
    assert_true(b.session[0] != '\0');
    char url[256];
    snprintf(url, sizeof url, "%s/wallet", pf.url);
    h_browser_req(&b, "GET", url, NULL, false);
    /* the amount as scripts read it (data-amount); people see "¥829.00" */
    const char *p = strstr(b.page, "id=\"balance\" data-amount=\"");
    assert_non_null(p);
    p += strlen("id=\"balance\" data-amount=\"");
    snprintf(out, sizeof out, "%.*s", (int)strcspn(p, "\""), p);
    h_browser_fini(&b);
    return out;
}

/* The shop's balance at the platform, as its admin page shows it: "available/fees". */
static const char *platform_balance(const char *base)
{
    static char out[64];
    struct shopper *a = admin_of(base);
    get(a, base, "/admin");
    const char *row = strstr(a->page, "<tr data-currency=\"CNY\">");
    char avail[24] = "", fees[24] = "";
    if (row) {
        static const char a_key[] = "class=\"available\" data-amount=\"";
        static const char f_key[] = "class=\"fees\" data-amount=\"";
        const char *p = strstr(row, a_key), *q = strstr(row, f_key);
        if (p)
            snprintf(avail, sizeof avail, "%.*s", (int)strcspn(p + strlen(a_key), "\""),
                     p + strlen(a_key));
        if (q)
            snprintf(fees, sizeof fees, "%.*s", (int)strcspn(q + strlen(f_key), "\""),
                     q + strlen(f_key));
    }
    snprintf(out, sizeof out, "%s/%s", avail, fees);
    return out;
}

/* The merchant's own view of a bank order, through the SDK (paygate_bank_query). */
static void bank_order_status(const char *order, paygate_bank_order_status *st)
{
    paygate_bank_config bc = {.gateway_url = bank_url,
                              .merchant_dir = path_in("mer"),
                              .bank_cert_file = path_in("bank/data/keys/sign.crt"),
                              .allow_loopback = 1};
    paygate_error e = {0};
    paygate_bank *b = paygate_bank_new(&bc, &e);
    assert_non_null(b);
    assert_int_equal(paygate_bank_query(b, order, st, &e), PAYGATE_OK);
    paygate_bank_free(b);
}

/* --- catalogue and cart ------------------------------------------------------------------- */

static void catalogue_and_cart(void **state)
{
    struct shopper s = {0};
    get(&s, shop_url, "/");
    assert_int_equal(s.status, 200);
    assert_non_null(strstr(s.page, "id=\"product-pot\""));
    assert_non_null(strstr(s.page, "¥288.00"));
    assert_int_equal(strlen(s.sid), 22); /* the session cookie, set on the first visit */
    char sid[64];
    snprintf(sid, sizeof sid, "%s", s.sid);

    post(&s, shop_url, "/cart/add", "product=tea");
    assert_int_equal(s.status, 303);
    assert_string_equal(s.location, "/cart");
    post(&s, shop_url, "/cart/add", "product=tea");
    post(&s, shop_url, "/cart/add", "product=cup");
    assert_string_equal(s.cart, "tea:2.cup:1");
    get(&s, shop_url, "/cart");
    assert_string_equal(text_of(s.page, "cart-total"), "¥171.00"); /* 2 × 68.00 + 35.00 */
    assert_non_null(strstr(s.page, "id=\"pay-bank\""));            /* this shop has a bank */
    assert_string_equal(s.sid, sid);                               /* the same session */

    post(&s, shop_url, "/cart/add", "product=samovar");
    assert_int_equal(s.status, 400);
    assert_non_null(strstr(s.page, "FIELD_INVALID"));
    shop_req(&s, shop_url, "POST", "/cart/add", "product=pot", "http://evil.example");
    assert_int_equal(s.status, 403);
    shop_req(&s, shop_url, "POST", "/cart/clear", "", "http://evil.example");
    assert_int_equal(s.status, 403);
    get(&s, shop_url, "/cart");
    assert_string_equal(text_of(s.page, "cart-total"), "¥171.00"); /* none of it changed it */

    post(&s, shop_url, "/cart/clear", "");
    assert_int_equal(s.status, 303);
    get(&s, shop_url, "/cart");
    assert_non_null(strstr(s.page, "id=\"cart-empty\""));
    shopper_fini(&s);
}

static void empty_cart_checkout_goes_back_to_the_cart(void **state)
{
    struct shopper s = {0};
    get(&s, shop_url, "/");
    post(&s, shop_url, "/checkout", "method=platform");
    assert_int_equal(s.status, 303);
    assert_string_equal(s.location, "/cart");
    assert_string_equal(newest_order(&s, shop_url), ""); /* no order was made */
    shop_req(&s, shop_url, "POST", "/checkout", "method=platform", "http://evil.example");
    assert_int_equal(s.status, 403);
    get(&s, shop_url, "/orders/S20990101000000nosuch");
    assert_int_equal(s.status, 404);
    shopper_fini(&s);
}

/* --- through the platform ----------------------------------------------------------------- */

/* Checks out the shopper's cart through the platform; the trade id into trade (40). */
static void checkout_platform(struct shopper *s, const char *base, char *trade)
{
    post(s, base, "/checkout", "method=platform");
    assert_int_equal(s->status, 303);
    char prefix[200];
    snprintf(prefix, sizeof prefix, "%s/cashier/tr_", pf.url);
    assert_memory_equal(s->location, prefix, strlen(prefix));
    snprintf(trade, 40, "%s", strrchr(s->location, '/') + 1);
    assert_string_equal(s->cart, ""); /* the cart is emptied by the order */
}

static void platform_purchase_paid_once(void **state)
{
    assert_string_equal(wallet_balance(), "1000.00");
    struct shopper s = {0};
    get(&s, shop_url, "/");
    post(&s, shop_url, "/cart/add", "product=tea");
    post(&s, shop_url, "/cart/add", "product=tea");
    post(&s, shop_url, "/cart/add", "product=cup");
    checkout_platform(&s, shop_url, pf_trade);
    snprintf(pf_order, sizeof pf_order, "%s", newest_order(&s, shop_url));
    assert_true(pf_order[0] == 'S');

    char path[80];
    snprintf(path, sizeof path, "/orders/%s", pf_order);
    get(&s, shop_url, path); /* not paid yet: the query finds WAIT_BUYER_PAY */
    assert_int_equal(s.status, 200);
    assert_string_equal(order_state(s.page), "pending");
    assert_string_equal(text_of(s.page, "order-amount"), "¥171.00");

    assert_int_equal(h_cashier_pay_wallet(&pf, pf_trade, LOGIN, PASSWORD, PAY_PASSWORD), 200);
    wait_paid(shop_url, pf_order);
    const char *row = admin_row(shop_url, pf_order);
    assert_non_null(strstr(row, "<td class=\"fulfilments\">1</td>"));
    assert_non_null(strstr(row, "data-via=\"notify\""));
    get(&s, shop_url, path);
    assert_string_equal(order_state(s.page), "paid");

    /* the money: the wallet paid 171.00; the shop is owed 171.00 less the 0.6% fee
     * (102.6 fen, rounded half to even: 1.03) */
    assert_string_equal(wallet_balance(), "829.00");
    assert_string_equal(platform_balance(shop_url), "169.97/1.03");

    struct shopper other = {0};
    assert_string_equal(newest_order(&other, shop_url), ""); /* my orders are mine */
    shopper_fini(&other);
    shopper_fini(&s);
}

/* body POSTed to the shop's /notify/platform, signed with the platform's real signing key (or,
 * with other_key, a key of our own; not at all without sign). Returns the shop's status; its
 * answer into answer (32). */
static long notify_platform_body(const char *body, bool other_key, bool sign, char *answer)
{
    struct pay_ed25519_key key;
    if (other_key) {
        uint8_t seed[PAY_ED25519_SEED_LEN];
        memset(seed, 7, sizeof seed);
        pay_ed25519_from_seed(&key, seed);
    } else
        assert_int_equal(pay_ed25519_key_load(path_in("platform-signing-key.pem"), &key), 0);
    char nonce[PAY_SIG_NONCE_MAX + 1], sig[PAY_SIG_HEADER_MAX + 1], h[1200];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer sg = {
        .alg = PAY_SIG_ED25519, .key_id = "paygate-platform", .ed25519 = &key};
    assert_int_equal(pay_sig_sign_request(&sg, "POST", "/notify/platform", body, strlen(body),
                                          (int64_t)time(NULL), nonce, sig, sizeof sig, NULL),
                     PAY_ERR_OK);
    pay_ed25519_key_fini(&key);
    snprintf(h, sizeof h, "Paygate-Signature: %s", sig);
    const char *headers[] = {"Content-Type: application/json", sign ? h : NULL, NULL};
    char url[256];
    snprintf(url, sizeof url, "%s/notify/platform", shop_url);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(
        pay_http_client_request("POST", url, headers, body, strlen(body), &opt, &r, NULL), 0);
    snprintf(answer, 32, "%s", pay_buf_str(&r.body));
    long status = r.status;
    pay_http_client_response_fini(&r);
    return status;
}

/* A trade notification for the shop (see notify_platform_body). */
static long notify_platform(const char *order, const char *amount, const char *currency,
                            const char *merchant, const char *state_, const char *notify_id,
                            bool other_key, bool sign, char *answer)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"event\":\"trade.state\",\"notify_id\":\"%s\",\"trade\":{\"trade_id\":\"%s\","
             "\"merchant_id\":\"%s\",\"out_trade_no\":\"%s\",\"state\":\"%s\",\"amount\":"
             "{\"value\":\"%s\",\"currency\":\"%s\"}}}",
             notify_id, pf_trade, merchant, order, state_, amount, currency);
    return notify_platform_body(body, other_key, sign, answer);
}

/* The merchant portal's test notification (docs/portal.md): the shop answers success to the
 * platform's, for itself, and refuses one unsigned, signed by another key or for another
 * merchant; nothing is fulfilled. */
static void portal_test_notification_answered(void **state)
{
    (void)state;
    char a[32];
    const char *shop_test = "{\"event\":\"test\",\"merchant_id\":\"shop\",\"notify_id\":"
                            "\"nt_test1\",\"sent_at\":\"2026-12-07T01:00:00Z\"}";
    const char *other_test = "{\"event\":\"test\",\"merchant_id\":\"m_other\",\"notify_id\":"
                             "\"nt_test2\",\"sent_at\":\"2026-12-07T01:00:00Z\"}";
    assert_int_equal(notify_platform_body(shop_test, false, true, a), 200);
    assert_string_equal(a, "success");
    assert_int_equal(notify_platform_body(shop_test, false, false, a), 400); /* unsigned */
    assert_int_equal(notify_platform_body(shop_test, true, true, a), 400);   /* not the platform */
    assert_int_equal(notify_platform_body(other_test, false, true, a), 400);
    assert_string_equal(a, "refused");
}

static void platform_notifications_checked(void **state)
{
    char a[32];
    const char *before = "<td class=\"fulfilments\">1</td>";
    assert_int_equal(notify_platform(pf_order, "171.00", "CNY", "shop", "TRADE_SUCCESS", "nt_x1",
                                     false, false, a),
                     400); /* unsigned */
    assert_int_equal(
        notify_platform(pf_order, "171.00", "CNY", "shop", "TRADE_SUCCESS", "nt_x2", true, true, a),
        400); /* signed, but not by the platform */
    assert_int_equal(
        notify_platform(pf_order, "1.00", "CNY", "shop", "TRADE_SUCCESS", "nt_x3", false, true, a),
        400); /* another amount */
    assert_int_equal(notify_platform(pf_order, "171.00", "USD", "shop", "TRADE_SUCCESS", "nt_x4",
                                     false, true, a),
                     400); /* another currency */
    assert_int_equal(notify_platform(pf_order, "171.00", "CNY", "m_other", "TRADE_SUCCESS", "nt_x5",
                                     false, true, a),
                     400); /* another merchant's trade */
    assert_int_equal(notify_platform("S20990101000000nosuch", "171.00", "CNY", "shop",
                                     "TRADE_SUCCESS", "nt_x6", false, true, a),
                     400); /* no such order */
    assert_string_equal(a, "refused");
    /* genuine, for the paid order: answered, not fulfilled again; twice: a duplicate */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(notify_platform(pf_order, "171.00", "CNY", "shop", "TRADE_SUCCESS",
                                         "nt_again", false, true, a),
                         200);
        assert_string_equal(a, "success");
    }
    assert_non_null(strstr(admin_row(shop_url, pf_order), before));
    assert_non_null(strstr(admin_row(shop_url, pf_order), "state-paid"));

    /* a pending order told its trade closed stays pending and unpaid */
    struct shopper s = {0};
    get(&s, shop_url, "/");
    post(&s, shop_url, "/cart/add", "product=fan");
    char trade[40];
    checkout_platform(&s, shop_url, trade);
    char order[40];
    snprintf(order, sizeof order, "%s", newest_order(&s, shop_url));
    assert_int_equal(
        notify_platform(order, "45.00", "CNY", "shop", "TRADE_CLOSED", "nt_closed", false, true, a),
        200);
    assert_non_null(strstr(admin_row(shop_url, order), "state-pending"));
    assert_non_null(strstr(admin_row(shop_url, order), "<td class=\"fulfilments\">0</td>"));
    /* and cannot be refunded */
    char path[80];
    snprintf(path, sizeof path, "/admin/orders/%s/refund", order);
    struct shopper *admin = admin_of(shop_url);
    post(admin, shop_url, path, "");
    assert_int_equal(admin->status, 409);
    assert_non_null(strstr(admin->page, "TRADE_STATE_INVALID"));
    shopper_fini(&s);
}

/* --- through the shop's bank -------------------------------------------------------------- */

static void bank_purchase_paid_once(void **state)
{
    struct shopper s = {0};
    get(&s, shop_url, "/");
    post(&s, shop_url, "/cart/add", "product=pot");
    post(&s, shop_url, "/checkout", "method=bank");
    assert_int_equal(s.status, 200);
    char action[200];
    snprintf(action, sizeof action, "action=\"%s/b2c/pay\"", bank_url);
    assert_non_null(strstr(s.page, action));

    /* the browser posts the shop's signed form to the bank and pays there */
    static const char *const names[] = {"interfaceName", "interfaceVersion", "tranData",
                                        "merSignMsg", "merCert"};
    struct pay_buf f;
    pay_buf_init(&f, 65536);
    char *v = malloc(16384);
    assert_non_null(v);
    for (size_t i = 0; i < 5; i++) {
        th_input_value(s.page, names[i], v, 16384);
        assert_true(v[0] != '\0');
        assert_int_equal(pay_form_append(&f, names[i], v), 0);
    }
    free(v);
    snprintf(bank_order, sizeof bank_order, "%s", newest_order(&s, shop_url));
    struct h_browser b = {0};
    char url[256], code[7];
    snprintf(url, sizeof url, "%s/b2c/pay", bank_url);
    h_browser_req(&b, "POST", url, pay_buf_str(&f), true);
    pay_buf_fini(&f);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "data-page=\"card\""));
    h_bank_step(&b, bank_url, "/b2c/card", "cardNo", "6222020000000015");
    h_bank_step(&b, bank_url, "/b2c/password", "password", "123456");
    h_bank_sms_code(bank_url, "13800000001", code);
    h_bank_step(&b, bank_url, "/b2c/sms", "smsCode", code);
    h_bank_step(&b, bank_url, "/b2c/confirm", NULL, NULL);
    assert_non_null(strstr(b.page, "data-page=\"result\""));
    h_browser_fini(&b);

    /* the bank notified the shop before it showed its result page */
    const char *row = admin_row(shop_url, bank_order);
    assert_non_null(strstr(row, "state-paid"));
    assert_non_null(strstr(row, "<td class=\"fulfilments\">1</td>"));
    assert_non_null(strstr(row, "data-via=\"notify\""));
    paygate_bank_order_status st;
    bank_order_status(bank_order, &st);
    assert_string_equal(st.status, "PAID");
    assert_int_equal(st.amount, 28800);
    assert_int_equal(st.refunded, 0);
    shopper_fini(&s);
}

/* A bank notification (notifyData signed with the key file key_pem) to the shop. */
static long notify_bank(const char *key_file, const char *order, int64_t amount,
                        const char *notify_id)
{
    char doc[600], sig[1024], *b64 = malloc(2048);
    assert_non_null(b64);
    snprintf(doc, sizeof doc,
             "{\"merID\":\"SHOP0001\",\"orderId\":\"%s\",\"tranSerialNo\":\"T1\",\"notifyId\":"
             "\"%s\",\"tranStatus\":\"SUCCESS\",\"currency\":\"CNY\",\"amount\":%lld,"
             "\"merVAR\":\"%s\"}",
             order, notify_id, (long long)amount, order);
    char *key = pay_file_read(key_file, 1 << 16, NULL);
    assert_non_null(key);
    assert_int_equal(pay_x509_sign(key, doc, strlen(doc), sig, sizeof sig), 0);
    free(key);
    assert_int_equal(pay_base64_encode(b64, 2048, doc, strlen(doc)), 0);
    struct pay_buf f;
    pay_buf_init(&f, 8192);
    assert_int_equal(pay_form_append(&f, "notifyData", b64) | pay_form_append(&f, "signMsg", sig) |
                         pay_form_append(&f, "merVAR", order),
                     0);
    free(b64);
    char url[256];
    snprintf(url, sizeof url, "%s/notify/bank", shop_url);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request("POST", url, headers, f.data, f.len, &opt, &r, NULL),
                     0);
    long status = r.status;
    pay_http_client_response_fini(&r);
    pay_buf_fini(&f);
    return status;
}

static void bank_notifications_checked(void **state)
{
    const char *bank_key = path_in("bank/data/keys/sign.key");
    assert_int_equal(notify_bank(path_in("mer/merchant.key"), bank_order, 28800, "bn_1"),
                     400);                                                 /* not the bank's key */
    assert_int_equal(notify_bank(bank_key, bank_order, 100, "bn_2"), 400); /* another amount */
    assert_int_equal(notify_bank(bank_key, "S20990101000000nosuch", 28800, "bn_3"), 400);
    assert_int_equal(notify_bank(bank_key, pf_order, 17100, "bn_4"), 400); /* a platform order */
    /* genuine for the paid order, twice: answered, fulfilled once all the same */
    assert_int_equal(notify_bank(bank_key, bank_order, 28800, "bn_5"), 200);
    assert_int_equal(notify_bank(bank_key, bank_order, 28800, "bn_5"), 200);
    assert_non_null(strstr(admin_row(shop_url, bank_order), "<td class=\"fulfilments\">1</td>"));

    char url[256];
    snprintf(url, sizeof url, "%s/notify/bank", shop_url);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request("POST", url, headers, "notifyData=%%%",
                                             strlen("notifyData=%%%"), &opt, &r, NULL),
                     0);
    assert_int_equal(r.status, 400); /* not even a form */
    pay_http_client_response_fini(&r);
}

/* --- refunds ------------------------------------------------------------------------------ */

static void refunds_return_the_money(void **state)
{
    struct shopper s = {0};
    char path[80];
    snprintf(path, sizeof path, "/admin/orders/%s/refund", pf_order);
    post(&s, shop_url, path, "amount=1.00&confirm=1&seq=1"); /* no session */
    assert_int_equal(s.status, 401);
    staff_login(&s, shop_url, "shop");
    shop_req(&s, shop_url, "POST", path, "", "http://evil.example");
    assert_int_equal(s.status, 403);
    shop_req(&s, shop_url, "POST", path, "amount=1.00&confirm=1&seq=1", shop_url); /* no token */
    assert_int_equal(s.status, 403);
    assert_non_null(strstr(s.page, "CSRF_INVALID"));
    assert_non_null(strstr(admin_row(shop_url, pf_order), "state-paid"));
    post(&s, shop_url, "/admin/orders/S20990101000000nosuch/refund", "");
    assert_int_equal(s.status, 404);

    /* the button shows what will be refunded; nothing moves before the confirmation */
    post(&s, shop_url, path, "amount=71.00");
    assert_int_equal(s.status, 200);
    assert_non_null(strstr(s.page, "data-page=\"refund_confirm\""));
    assert_non_null(strstr(s.page, "id=\"refund-amount\" data-amount=\"71.00\""));
    assert_non_null(strstr(admin_row(shop_url, pf_order), "state-paid"));
    post(&s, shop_url, path, "amount=171.01"); /* more than was paid */
    assert_int_equal(s.status, 409);
    assert_non_null(strstr(s.page, "REFUND_EXCEEDS_PAID"));
    post(&s, shop_url, path, "amount=71.00&confirm=1&seq=2"); /* not the refund it showed */
    assert_int_equal(s.status, 400);
    /* confirmed: 71.00 back, the order still paid; the same form again refunds nothing more */
    for (int i = 0; i < 2; i++) {
        post(&s, shop_url, path, "amount=71.00&confirm=1&seq=1");
        assert_int_equal(s.status, 303);
        assert_string_equal(s.location, "/admin");
    }
    const char *row = admin_row(shop_url, pf_order);
    assert_non_null(strstr(row, "state-paid"));
    assert_non_null(strstr(row, "<td data-amount=\"71.00\">¥71.00</td>"));
    assert_string_equal(wallet_balance(), "900.00"); /* 1000.00 - 171.00 + 71.00 */
    /* the rest (100.00, the form's default) in a second refund */
    post(&s, shop_url, path, "");
    assert_int_equal(s.status, 200);
    assert_non_null(strstr(s.page, "id=\"refund-amount\" data-amount=\"100.00\""));
    post(&s, shop_url, path, "amount=100.00&confirm=1&seq=2");
    assert_int_equal(s.status, 303);
    row = admin_row(shop_url, pf_order);
    assert_non_null(strstr(row, "state-refunded"));
    assert_non_null(strstr(row, "<td data-amount=\"171.00\">¥171.00</td>"));
    assert_string_equal(wallet_balance(), "1000.00"); /* all of it back, fee share included */
    assert_string_equal(platform_balance(shop_url), "0.00/0.00");
    post(&s, shop_url, path, ""); /* refunded already */
    assert_int_equal(s.status, 409);
    post(&s, shop_url, path, "amount=1.00&confirm=1&seq=3");
    assert_int_equal(s.status, 409);

    snprintf(path, sizeof path, "/admin/orders/%s/refund", bank_order);
    post(&s, shop_url, path, "confirm=1&seq=1");
    assert_int_equal(s.status, 303);
    assert_non_null(strstr(admin_row(shop_url, bank_order), "state-refunded"));
    paygate_bank_order_status st;
    bank_order_status(bank_order, &st);
    assert_string_equal(st.status, "REFUNDED");
    assert_int_equal(st.refunded, 28800);
    snprintf(path, sizeof path, "/orders/%s", bank_order);
    get(&s, shop_url, path);
    assert_string_equal(text_of(s.page, "order-refunded"), "¥288.00");
    shopper_fini(&s);
}

/* --- the query fallback and an unreachable platform --------------------------------------- */

static void late_notification_found_by_query(void **state)
{
    struct shopper s = {0};
    get(&s, late_url, "/");
    /* posted without Origin: this shop's public URL is not where we reach it */
    shop_req(&s, late_url, "POST", "/cart/add", "product=cup", NULL);
    get(&s, late_url, "/cart");
    assert_null(strstr(s.page, "id=\"pay-bank\"")); /* no bank contract here */
    shop_req(&s, late_url, "POST", "/checkout", "method=bank", NULL);
    assert_int_equal(s.status, 400);
    assert_non_null(strstr(s.page, "FIELD_INVALID"));
    assert_string_equal(s.cart, "cup:1"); /* nothing ordered */
    char trade[40];
    shop_req(&s, late_url, "POST", "/checkout", "method=platform", NULL);
    assert_int_equal(s.status, 303);
    snprintf(trade, sizeof trade, "%s", strrchr(s.location, '/') + 1);
    char order[40], path[80];
    snprintf(order, sizeof order, "%s", newest_order(&s, late_url));
    assert_int_equal(h_cashier_pay_wallet(&pf, trade, LOGIN, PASSWORD, PAY_PASSWORD), 200);
    assert_string_equal(wallet_balance(), "965.00");
    assert_non_null(strstr(admin_row(late_url, order), "state-pending")); /* nothing arrived */
    snprintf(path, sizeof path, "/orders/%s", order);
    get(&s, late_url, path); /* the order page asks the platform */
    assert_string_equal(order_state(s.page), "paid");
    const char *row = admin_row(late_url, order);
    assert_non_null(strstr(row, "data-via=\"query\""));
    assert_non_null(strstr(row, "<td class=\"fulfilments\">1</td>"));
    get(&s, late_url, path); /* asked again: nothing changes */
    assert_non_null(strstr(admin_row(late_url, order), "<td class=\"fulfilments\">1</td>"));
    shopper_fini(&s);
}

static void platform_down(void **state)
{
    struct shopper s = {0};
    get(&s, down_url, "/admin"); /* no session: the login page */
    assert_int_equal(s.status, 303);
    assert_string_equal(s.location, "/admin/login");
    get(admin_of(down_url), down_url, "/admin");
    assert_int_equal(admin_of(down_url)->status, 200);
    assert_non_null(strstr(admin_of(down_url)->page, "id=\"platform-balance-error\""));
    get(&s, down_url, "/");
    post(&s, down_url, "/cart/add", "product=tea");
    shop_req(&s, down_url, "POST", "/checkout", "method=platform", NULL);
    assert_int_equal(s.status, 502);
    assert_non_null(strstr(s.page, "UPSTREAM_FAILED"));
    char order[40], path[80];
    snprintf(order, sizeof order, "%s", newest_order(&s, down_url));
    assert_true(order[0] == 'S'); /* kept, pending: the shopper may pay it later */
    snprintf(path, sizeof path, "/orders/%s", order);
    get(&s, down_url, path);
    assert_int_equal(s.status, 200);
    assert_string_equal(order_state(s.page), "pending");
    shopper_fini(&s);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(catalogue_and_cart),
        cmocka_unit_test(empty_cart_checkout_goes_back_to_the_cart),
        cmocka_unit_test(platform_purchase_paid_once),
        cmocka_unit_test(platform_notifications_checked),
        cmocka_unit_test(portal_test_notification_answered),
        cmocka_unit_test(bank_purchase_paid_once),
        cmocka_unit_test(bank_notifications_checked),
        cmocka_unit_test(refunds_return_the_money),
        cmocka_unit_test(late_notification_found_by_query),
        cmocka_unit_test(platform_down),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
