/* Integration test of the merchant portal (/portal, docs/portal.md) against the real
 * `paygate platform`: members added by the CLI log in with password and TOTP; roles are
 * enforced on the server both ways (support cannot refund or manage keys, finance cannot manage
 * keys, owner can); the trade list's search, filters and CSV export; a partial refund in two
 * steps that moves money once however often the confirmation is sent; sending a notification
 * again; keys with their own keyIds, an overlap window on the platform's clock and
 * revocation, checked by signed API calls; notify hosts; the team; CSRF, framing, logout and
 * the lockout; one merchant never sees another's trades. Ends with the wallet's balance in
 * the ledger and `ledger verify`. */
#include "harness.h"
#include "lib/harness.h"

#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "http/client.h"
#include "http/codec.h"
#include "store/store.h"
#include "sdk/paygate.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSUMER "portal-buyer@example.com"
#define PW       "portal-password-1"

static struct h_platform pf;
static struct h_merchant ma, mb;
static struct h_notify_sink sink;
static char trade1[64], trade2[64], trade3[64], trade_b[64];

/* A member: its TOTP secret (from the CLI), the code steps it has used, its session. */
struct member {
    const char *login, *merchant, *role;
    char secret[64];
    int logins;
    char cookie[600]; /* pf_portal=... */
    char csrf[128];
};
static struct member owner = {.login = "owner@a.example", .merchant = "m_a", .role = "owner"},
                     finance = {.login = "finance@a.example", .merchant = "m_a", .role = "finance"},
                     support = {.login = "support@a.example", .merchant = "m_a", .role = "support"},
                     locked = {.login = "locked@a.example", .merchant = "m_a", .role = "support"},
                     owner_b = {.login = "owner@b.example", .merchant = "m_b", .role = "owner"};

static const char *accept_language = "Accept-Language: en";

struct resp {
    long status;
    char *body;
    char set_cookie[512]; /* the first Set-Cookie, up to ';' */
    char location[256];
    char ctype[128];
    char frame[256]; /* Content-Security-Policy */
};

static void resp_fini(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

static void header_copy(const struct pay_http_client_response *r, const char *name, char *out,
                        size_t n, bool to_semicolon)
{
    char buf[1024];
    const char *v = pay_http_client_response_header(r, name, buf, sizeof buf);
    snprintf(out, n, "%.*s", v ? (int)(to_semicolon ? strcspn(v, ";") : strlen(v)) : 0, v ? v : "");
}

/* One request with a Cookie header (or NULL) and an urlencoded form (or NULL). */
static void req(const char *method, const char *path, const char *cookie, const char *form,
                struct resp *out)
{
    char url[512], ch[700];
    snprintf(url, sizeof url, "%s%s", pf.url, path);
    snprintf(ch, sizeof ch, "Cookie: %s", cookie ? cookie : "");
    const char *headers[4] = {accept_language, cookie ? ch : NULL, NULL, NULL};
    if (form)
        headers[cookie ? 2 : 1] = "Content-Type: application/x-www-form-urlencoded";
    struct pay_http_client_options opt = {.allow_private_addresses = true, .response_max = 4 << 20};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request(method, url, headers, form, form ? strlen(form) : 0,
                                             &opt, &r, NULL),
                     0);
    memset(out, 0, sizeof *out);
    out->status = r.status;
    out->body = strdup(pay_buf_str(&r.body));
    header_copy(&r, "Set-Cookie", out->set_cookie, sizeof out->set_cookie, true);
    header_copy(&r, "Location", out->location, sizeof out->location, false);
    header_copy(&r, "Content-Type", out->ctype, sizeof out->ctype, false);
    header_copy(&r, "Content-Security-Policy", out->frame, sizeof out->frame, false);
    pay_http_client_response_fini(&r);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The error page's code (id="code"), or "". */
static const char *page_code(const char *html)
{
    static char code[64];
    const char *p = strstr(html, "<code id=\"code\">");
    snprintf(code, sizeof code, "%.*s", p ? (int)strcspn(p + 16, "<") : 0, p ? p + 16 : "");
    return code;
}

static void member_add(struct member *m)
{
    char cmd[1024], line[512];
    snprintf(cmd, sizeof cmd,
             "'%s' platform member add --data-dir '%s' --merchant %s --login %s --role %s"
             " --password " PW,
             h_paygate, pf.dir, m->merchant, m->login, m->role);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "totp_secret ", 12) == 0)
            snprintf(m->secret, sizeof m->secret, "%.*s", (int)strcspn(line + 12, "\n"), line + 12);
    assert_int_equal(pclose(f), 0);
    assert_true(strlen(m->secret) >= 16);
}

/* The member's next code: each login uses a later step than the one before (a code is
 * accepted once, and one step ahead is within the accepted drift). */
static void totp_next(struct member *m, char code[8])
{
    uint8_t key[40];
    size_t n = 0;
    assert_int_equal(pay_base32_decode(key, sizeof key, m->secret, strlen(m->secret), &n), 0);
    int64_t t = pay_clock_real_ms() / 1000 + (int64_t)m->logins * PAY_TOTP_STEP_S;
    assert_true(m->logins < 2);
    assert_int_equal(pay_totp_code(key, n, t, PAY_TOTP_DIGITS, code, 8), 0);
    m->logins++;
}

/* GET the login page, POST the form; the answer of the POST into *r. */
static void login_try(const char *login, const char *password, const char *code, struct resp *r)
{
    char csrf[128], cookie[600], form[512];
    req("GET", "/portal/login", NULL, NULL, r);
    assert_int_equal(r->status, 200);
    th_input_value(r->body, "csrf", csrf, sizeof csrf);
    snprintf(cookie, sizeof cookie, "%s", r->set_cookie);
    assert_non_null(strstr(cookie, "pf_portal_csrf="));
    resp_fini(r);
    snprintf(form, sizeof form, "csrf=%s&login=%s&password=%s&totp=%s", csrf, login, password,
             code);
    req("POST", "/portal/login", cookie, form, r);
}

static void login(struct member *m)
{
    char code[8];
    struct resp r;
    totp_next(m, code);
    login_try(m->login, PW, code, &r);
    assert_int_equal(r.status, 303);
    assert_string_equal(r.location, "/portal/trades");
    assert_non_null(strstr(r.set_cookie, "pf_portal="));
    snprintf(m->cookie, sizeof m->cookie, "%s", r.set_cookie);
    resp_fini(&r);
    req("GET", "/portal/trades", m->cookie, NULL, &r);
    assert_int_equal(r.status, 200);
    th_input_value(r.body, "csrf", m->csrf, sizeof m->csrf);
    assert_true(strlen(m->csrf) > 16);
    resp_fini(&r);
}

/* GET path as member m. */
static void get(struct member *m, const char *path, struct resp *r)
{
    req("GET", path, m->cookie, NULL, r);
}

/* POST form (the session's csrf added first) as member m. */
static void post(struct member *m, const char *path, const char *form, struct resp *r)
{
    char body[4096];
    snprintf(body, sizeof body, "csrf=%s%s%s", m->csrf, form[0] ? "&" : "", form);
    req("POST", path, m->cookie, body, r);
}

/* The trade as the API shows it (refunded amount as "value"). */
static void api_refunded(const char *trade_id, char *out, size_t n)
{
    char target[128];
    struct h_reply r;
    snprintf(target, sizeof target, "/v1/trades/%s", trade_id);
    h_call(&pf, &ma, "GET", target, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(out, n, "%s", h_str(r.json, "refunded.value"));
    h_reply_fini(&r);
}

struct audit_count {
    int64_t login_ok, login_refused, refund, resend, key_add, key_revoke, member_add;
};

static enum pay_err audit_count_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct audit_count *c = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT action, outcome, actor FROM audit_log WHERE action LIKE 'portal.%'", "");
    if (!st)
        return err ? err->code : PAY_ERR_INTERNAL;
    while (pay_store_step(st, err) == 1) {
        const char *a = pay_store_col_text(st, 0), *o = pay_store_col_text(st, 1);
        bool ok = strcmp(o, "ok") == 0;
        c->login_ok += strcmp(a, "portal.login") == 0 && ok;
        c->login_refused += strcmp(a, "portal.login") == 0 && !ok;
        c->refund += strcmp(a, "portal.refund") == 0;
        c->resend += strcmp(a, "portal.resend") == 0;
        c->key_add += strcmp(a, "portal.key_add") == 0;
        c->key_revoke += strcmp(a, "portal.key_revoke") == 0;
        c->member_add += strcmp(a, "portal.member_add") == 0;
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

static int group_setup(void **state)
{
    (void)state;
    h_setup(&pf, &ma, &mb, "[server]\nfake_clock = true");
    member_add(&owner), member_add(&finance), member_add(&support), member_add(&locked);
    member_add(&owner_b);
    h_start(&pf);
    h_sink_start(&sink, pf.pk, 0);
    h_add_consumer(&pf, CONSUMER, "password-123", "123456");
    h_wallet_credit(&pf, CONSUMER, "100.00");
    snprintf(trade1, sizeof trade1, "%s", h_create_trade(&pf, &ma, "order-1", "10.00", sink.url));
    snprintf(trade2, sizeof trade2, "%s", h_create_trade(&pf, &ma, "order-2", "20.00", sink.url));
    snprintf(trade3, sizeof trade3, "%s", h_create_trade(&pf, &ma, "order-3", "5.00", NULL));
    snprintf(trade_b, sizeof trade_b, "%s", h_create_trade(&pf, &mb, "order-b", "7.00", NULL));
    assert_int_equal(h_cashier_pay_wallet(&pf, trade1, CONSUMER, "password-123", "123456"), 200);
    assert_int_equal(h_cashier_pay_wallet(&pf, trade2, CONSUMER, "password-123", "123456"), 200);
    assert_int_equal(h_cashier_pay_wallet(&pf, trade_b, CONSUMER, "password-123", "123456"), 200);
    assert_int_equal(h_sink_wait(&sink, 2, 20000), 2); /* the two payments notified */
    return 0;
}

/* After everything the portal did: the ledger verifies, the audit trail's chain holds and it
 * names what the team did (checked here, not in the teardown, so a failure fails a test). */
static void ledger_and_audit_trail(void **state)
{
    (void)state;
    h_sink_stop(&sink);
    h_stop(&pf, SIGTERM);
    assert_int_equal(h_ledger_verify(&pf), 0);
    char db[300];
    snprintf(db, sizeof db, "%s/platform.db", pf.dir);
    const char *verify[] = {h_paygate, "audit", "verify", "--database", db, NULL};
    assert_int_equal(h_run(verify), 0);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&pf, &s);
    struct audit_count c = {0};
    assert_int_equal(pay_store_run_read(s, audit_count_tx, &c, NULL), PAY_ERR_OK);
    h_ledger_close(s, lg);
    assert_int_equal(c.login_ok, 4);      /* support, finance, owner, owner_b */
    assert_int_equal(c.login_refused, 8); /* 2 at first, 6 in the lockout test */
    assert_int_equal(c.refund, 2);        /* the confirmation sent twice: two asks of one refund */
    assert_int_equal(c.resend, 1);
    assert_int_equal(c.key_add, 2);
    assert_int_equal(c.key_revoke, 1);
    assert_int_equal(c.member_add, 6); /* five by the CLI (operator), one in the portal */
}

static int group_teardown(void **state)
{
    (void)state;
    h_teardown(&pf);
    return 0;
}

/* No session: the login page (401), never data; wrong code or password: refused the same
 * way; right: a session cookie that is HttpOnly and SameSite=Strict; pages cannot be framed. */
static void login_needs_password_and_code(void **state)
{
    (void)state;
    struct resp r;
    req("GET", "/portal/trades", NULL, NULL, &r);
    assert_int_equal(r.status, 303);
    assert_string_equal(r.location, "/portal/login");
    assert_null(strstr(r.body, "order-1"));
    resp_fini(&r);
    req("POST", "/portal/trades/x/refund", NULL, "csrf=x&amount=1.00&confirm=yes", &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(page_code(r.body), "UNAUTHENTICATED");
    resp_fini(&r);
    accept_language = "X-No-Language: 1"; /* Chinese unless asked otherwise */
    req("GET", "/portal/login", NULL, NULL, &r);
    assert_non_null(strstr(r.body, "<html lang=\"zh-CN\">"));
    assert_non_null(strstr(r.body, "商户后台"));
    resp_fini(&r);
    accept_language = "Accept-Language: en";
    login_try(support.login, PW, "000000", &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "id=\"error\""));
    assert_null(strstr(r.set_cookie, "pf_portal="));
    resp_fini(&r);
    login_try("nobody@a.example", PW, "000000", &r);
    assert_int_equal(r.status, 401);
    resp_fini(&r);
    login(&support);
    login(&finance);
    login(&owner);
    login(&owner_b);
    get(&support, "/portal/trades", &r);
    assert_non_null(strstr(r.frame, "frame-ancestors 'none'"));
    assert_non_null(strstr(r.body, "data-role=\"support\""));
    resp_fini(&r);
    /* a login form posted without its CSRF cookie is refused */
    req("POST", "/portal/login", NULL, "csrf=abcdefghijklmnopqrstuvwxyz&login=x&password=y", &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(page_code(r.body), "CSRF_INVALID");
    resp_fini(&r);
}

/* Five wrong passwords lock the member; then even the right one (with a right code) is
 * refused unchecked. */
static void lockout(void **state)
{
    (void)state;
    struct resp r;
    for (int i = 0; i < 5; i++) {
        login_try(locked.login, "wrong-password-x", "000000", &r);
        assert_int_equal(r.status, i < 4 ? 401 : 423);
        resp_fini(&r);
    }
    char code[8];
    totp_next(&locked, code);
    login_try(locked.login, PW, code, &r);
    assert_int_equal(r.status, 423);
    assert_null(strstr(r.set_cookie, "pf_portal="));
    resp_fini(&r);
}

/* The list shows the merchant's trades only; filters and search narrow it; the CSV has the
 * same rows; a bad filter names its field. */
static void trades_search_filter_export(void **state)
{
    (void)state;
    struct resp r;
    get(&finance, "/portal/trades", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(count(r.body, "class=\"trade\""), 3);
    assert_null(strstr(r.body, "order-b"));
    resp_fini(&r);
    get(&finance, "/portal/trades?state=TRADE_SUCCESS", &r);
    assert_int_equal(count(r.body, "class=\"trade\""), 2);
    assert_int_equal(count(r.body, "data-state=\"TRADE_SUCCESS\""), 2);
    resp_fini(&r);
    get(&finance, "/portal/trades?q=order-2", &r);
    assert_int_equal(count(r.body, "class=\"trade\""), 1);
    assert_non_null(strstr(r.body, trade2));
    resp_fini(&r);
    get(&finance, "/portal/trades?from=2000-01-01&to=2000-01-02", &r);
    assert_int_equal(count(r.body, "class=\"trade\""), 0);
    assert_non_null(strstr(r.body, "id=\"no-trades\""));
    resp_fini(&r);
    get(&finance, "/portal/trades?state=PAID", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(page_code(r.body), "FIELD_INVALID");
    assert_non_null(strstr(r.body, "<code id=\"field\">state</code>"));
    resp_fini(&r);
    get(&support, "/portal/trades.csv?state=TRADE_SUCCESS", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.ctype, "text/csv"));
    assert_int_equal(count(r.body, "\r\n"), 3); /* header and two trades */
    assert_non_null(strstr(r.body, "trade_id,out_trade_no,created_at,state,amount"));
    assert_non_null(strstr(r.body, ",order-2,"));
    assert_non_null(strstr(r.body, ",TRADE_SUCCESS,20.00,CNY,0.12,0.00,wallet,"));
    assert_null(strstr(r.body, "order-3"));
    resp_fini(&r);
    get(&owner_b, "/portal/trades", &r);
    assert_int_equal(count(r.body, "class=\"trade\""), 1);
    assert_non_null(strstr(r.body, "order-b"));
    resp_fini(&r);
    char path[128];
    snprintf(path, sizeof path, "/portal/trades/%s", trade1);
    get(&owner_b, path, &r); /* another merchant's trade does not exist for them */
    assert_int_equal(r.status, 404);
    assert_string_equal(page_code(r.body), "TRADE_NOT_FOUND");
    resp_fini(&r);
}

/* A key as the keys form sends it (base64 has + and /, so percent-encoded). */
static void key_form(const struct pay_ed25519_key *k, int days, char *out, size_t n)
{
    char pk[PAY_ED25519_KEY_TEXT_LEN];
    struct pay_buf b;
    pay_ed25519_pk_to_text(pk, k->pk);
    pay_buf_init(&b, 512);
    char d[16];
    snprintf(d, sizeof d, "%d", days);
    assert_int_equal(pay_form_append(&b, "public_key", pk), 0);
    assert_int_equal(pay_form_append(&b, "overlap_days", d), 0);
    snprintf(out, n, "%s", pay_buf_str(&b));
    pay_buf_fini(&b);
}

/* Support may look and re-send but not refund or touch keys; finance may refund but not touch
 * keys or the team; nothing a refusal was asked to do happens. */
static void roles_enforced(void **state)
{
    (void)state;
    struct resp r;
    char path[128], refunded[32];
    snprintf(path, sizeof path, "/portal/trades/%s", trade1);
    get(&support, path, &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "id=\"refund-form\""));
    assert_non_null(strstr(r.body, "id=\"refund-not-allowed\""));
    resp_fini(&r);
    snprintf(path, sizeof path, "/portal/trades/%s/refund", trade1);
    post(&support, path, "amount=1.00&confirm=yes&out_refund_no=portal-support-try", &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(page_code(r.body), "FORBIDDEN");
    resp_fini(&r);
    api_refunded(trade1, refunded, sizeof refunded);
    assert_string_equal(refunded, "0.00");
    const char *owner_only[] = {"/portal/keys", "/portal/team"};
    for (size_t i = 0; i < 2; i++) {
        get(&support, owner_only[i], &r);
        assert_int_equal(r.status, 403);
        resp_fini(&r);
        get(&finance, owner_only[i], &r);
        assert_int_equal(r.status, 403);
        assert_string_equal(page_code(r.body), "FORBIDDEN");
        resp_fini(&r);
        get(&owner, owner_only[i], &r);
        assert_int_equal(r.status, 200);
        resp_fini(&r);
    }
    char form[512];
    key_form(&mb.key, 7, form, sizeof form);
    post(&finance, "/portal/keys", form, &r);
    assert_int_equal(r.status, 403);
    resp_fini(&r);
    post(&support, "/portal/notify-hosts", "notify_hosts=evil.example", &r);
    assert_int_equal(r.status, 403);
    resp_fini(&r);
    get(&owner, "/portal/keys", &r); /* still the one key, the hosts as they were */
    assert_int_equal(count(r.body, "class=\"key\""), 1);
    assert_non_null(strstr(r.body, "value=\"127.0.0.1\""));
    resp_fini(&r);
}

/* Finance refunds 3.00 of 10.00: the first POST only shows the confirmation (nothing moves);
 * the confirmation moves the money; sending it again moves nothing more; more than is left
 * is refused; without the CSRF token nothing happens. */
static void refund_two_steps_once(void **state)
{
    (void)state;
    struct resp r;
    char path[128], form[512], no[128], refunded[32];
    snprintf(path, sizeof path, "/portal/trades/%s/refund", trade1);
    post(&finance, path, "amount=3.00&reason=broken+box", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "data-page=\"portal-refund-confirm\""));
    assert_non_null(strstr(r.body, "data-amount=\"3.00\""));
    th_input_value(r.body, "out_refund_no", no, sizeof no);
    assert_true(strncmp(no, "portal-", 7) == 0);
    resp_fini(&r);
    api_refunded(trade1, refunded, sizeof refunded);
    assert_string_equal(refunded, "0.00");
    snprintf(form, sizeof form, "amount=3.00&reason=broken+box&out_refund_no=%s&confirm=yes", no);
    for (int i = 0; i < 2; i++) {
        post(&finance, path, form, &r);
        assert_int_equal(r.status, 303);
        assert_non_null(strstr(r.location, "done=refunded"));
        resp_fini(&r);
        api_refunded(trade1, refunded, sizeof refunded);
        assert_string_equal(refunded, "3.00");
    }
    post(&finance, path, "amount=7.01&reason=x", &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(page_code(r.body), "REFUND_EXCEEDS_PAID");
    resp_fini(&r);
    req("POST", path, finance.cookie, "amount=1.00&confirm=yes&out_refund_no=portal-nocsrf", &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(page_code(r.body), "CSRF_INVALID");
    resp_fini(&r);
    api_refunded(trade1, refunded, sizeof refunded);
    assert_string_equal(refunded, "3.00");
    snprintf(path, sizeof path, "/portal/trades/%s", trade1);
    get(&finance, path, &r);
    assert_int_equal(count(r.body, "class=\"refund\""), 1);
    assert_non_null(strstr(r.body, "id=\"refunded\" data-amount=\"3.00\""));
    resp_fini(&r);
    assert_int_equal(h_sink_wait(&sink, 3, 20000), 3); /* the refund's notification */
    /* the merchant's money: 9.94 + 19.88 paid net of fees, 2.99 back (3.00 less the fee's
     * refunded share, 0.01): 26.83, moved once */
    struct h_reply b;
    h_call(&pf, &ma, "GET", "/v1/balance", NULL, NULL, &b);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.body, "\"available\":{\"currency\":\"CNY\",\"value\":\"26.83\"}"));
    h_reply_fini(&b);
}

/* Support sends trade2's payment notification again: a new notification reaches the merchant
 * and the trade's page lists both. */
static void resend_notification(void **state)
{
    (void)state;
    struct resp r;
    char path[256], nid[64];
    snprintf(path, sizeof path, "/portal/trades/%s", trade2);
    get(&support, path, &r);
    assert_int_equal(count(r.body, "class=\"notification\""), 1);
    const char *p = strstr(r.body, "data-notify=\"");
    assert_non_null(p);
    snprintf(nid, sizeof nid, "%.*s", (int)strcspn(p + 13, "\""), p + 13);
    resp_fini(&r);
    int before = h_sink_wait(&sink, 0, 0);
    snprintf(path, sizeof path, "/portal/trades/%s/notifications/%s/resend", trade2, nid);
    post(&support, path, "", &r);
    assert_int_equal(r.status, 303);
    assert_non_null(strstr(r.location, "done=resent"));
    resp_fini(&r);
    assert_int_equal(h_sink_wait(&sink, before + 1, 20000), before + 1);
    snprintf(path, sizeof path, "/portal/trades/%s/notifications/nt_unknown/resend", trade2);
    post(&support, path, "", &r);
    assert_int_equal(r.status, 404);
    resp_fini(&r);
    snprintf(path, sizeof path, "/portal/trades/%s", trade2);
    get(&support, path, &r);
    assert_int_equal(count(r.body, "class=\"notification\""), 2);
    resp_fini(&r);
}

/* The overview: three charts of 14 daily bars and the paid total (any role). Payouts and bills:
 * owner and finance, not support; a bill is the day's ledger movements with a TOTAL; a bad date
 * names the field. */
static void overview_payouts_bills(void **state)
{
    (void)state;
    struct resp r;
    get(&support, "/portal/overview", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "data-page=\"portal-overview\""));
    assert_int_equal(count(r.body, "<rect class=\"bar\""), 3 * 14);
    assert_non_null(strstr(r.body, "id=\"total-paid\" data-amount=\"30.00\""));
    assert_null(strstr(r.body, "<script"));
    assert_null(strstr(r.body, "href=\"/portal/payouts\"")); /* not in support's menu */
    resp_fini(&r);
    const char *money_pages[] = {"/portal/payouts", "/portal/bills"};
    for (size_t i = 0; i < 2; i++) {
        get(&support, money_pages[i], &r);
        assert_int_equal(r.status, 403);
        assert_string_equal(page_code(r.body), "FORBIDDEN");
        resp_fini(&r);
        get(&finance, money_pages[i], &r);
        assert_int_equal(r.status, 200);
        resp_fini(&r);
    }
    get(&finance, "/portal/payouts", &r);
    assert_non_null(strstr(r.body, "id=\"no-payouts\""));
    resp_fini(&r);
    get(&finance, "/portal/bills", &r);
    assert_int_equal(count(r.body, "class=\"bill-trade\""), 14);
    const char *d = strstr(r.body, "data-date=\"");
    assert_non_null(d);
    char path[128];
    snprintf(path, sizeof path, "/portal/bills.csv?date=%.10s&type=trade", d + 11);
    resp_fini(&r);
    get(&finance, path, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.ctype, "text/csv"));
    assert_true(strncmp(r.body, "time,type,trade_id,", 19) == 0);
    assert_non_null(strstr(r.body, "\r\nTOTAL,"));
    resp_fini(&r);
    get(&support, path, &r);
    assert_int_equal(r.status, 403);
    resp_fini(&r);
    get(&finance, "/portal/bills.csv?date=2026-13-01&type=trade", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(page_code(r.body), "FIELD_INVALID");
    assert_non_null(strstr(r.body, ">date<"));
    resp_fini(&r);
}

/* Receipts: a paid trade's for the merchant (with fee and net) and for the shopper (without),
 * none for an unpaid trade, none of another merchant's trade. */
static void receipts(void **state)
{
    (void)state;
    struct resp r;
    char path[128];
    snprintf(path, sizeof path, "/portal/trades/%s/receipt", trade2);
    get(&support, path, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "data-page=\"receipt\""));
    assert_non_null(strstr(r.body, "data-amount=\"20.00\""));
    assert_non_null(strstr(r.body, "id=\"fee\""));
    assert_non_null(strstr(r.body, "id=\"net\""));
    assert_non_null(strstr(r.body, "/static/receipt.css"));
    resp_fini(&r);
    snprintf(path, sizeof path, "/portal/trades/%s/receipt", trade3);
    get(&owner, path, &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(page_code(r.body), "TRADE_STATE_INVALID");
    resp_fini(&r);
    snprintf(path, sizeof path, "/portal/trades/%s/receipt", trade_b);
    get(&owner, path, &r);
    assert_int_equal(r.status, 404);
    resp_fini(&r);
    snprintf(path, sizeof path, "/cashier/%s/receipt", trade2);
    req("GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "data-amount=\"20.00\""));
    assert_null(strstr(r.body, "id=\"fee\""));
    assert_null(strstr(r.body, CONSUMER)); /* nothing names the payer */
    resp_fini(&r);
}

/* A test notification: signed, sent at once to the sink, which answers success, and the page
 * says so; not on a registered host: refused naming the field, nothing sent; support may not. */
static void test_notification(void **state)
{
    (void)state;
    struct resp r;
    char form[300];
    int before = h_sink_wait(&sink, 0, 0);
    snprintf(form, sizeof form, "url=%s", sink.url);
    post(&owner, "/portal/notify-test", form, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "id=\"test-result\" data-ok=\"true\" data-status=\"200\""));
    resp_fini(&r);
    assert_int_equal(h_sink_wait(&sink, before + 1, 20000), before + 1);
    pthread_mutex_lock(&sink.mu);
    assert_int_equal(sink.bad_sigs, 0);
    assert_non_null(strstr(sink.bodies[sink.n_ids - 1], "\"event\":\"test\""));
    assert_non_null(strstr(sink.bodies[sink.n_ids - 1], "\"merchant_id\":\"m_a\""));
    pthread_mutex_unlock(&sink.mu);
    post(&owner, "/portal/notify-test", "url=http://evil.example/notify", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(page_code(r.body), "NOTIFY_URL_INVALID");
    resp_fini(&r);
    post(&support, "/portal/notify-test", form, &r);
    assert_int_equal(r.status, 403);
    resp_fini(&r);
    assert_int_equal(h_sink_wait(&sink, 0, 0), before + 1);
}

static long api_get_status(const char *key_id, const struct pay_ed25519_key *key)
{
    struct h_merchant m;
    struct h_reply r;
    snprintf(m.id, sizeof m.id, "%s", key_id);
    m.key = *key;
    h_call(&pf, &m, "GET", "/v1/balance", NULL, NULL, &r);
    long st = r.status;
    if (st != 200)
        assert_string_equal(h_err_code(&r), "SIGNATURE_INVALID");
    h_reply_fini(&r);
    return st;
}

static void advance_days(int days)
{
    char body[64], url[256];
    snprintf(body, sizeof body, "{\"advance_ms\": %lld}", (long long)days * 86400000LL);
    snprintf(url, sizeof url, "%s/sandbox/clock", pf.url);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(
        pay_http_client_request("POST", url, headers, body, strlen(body), &opt, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    pay_http_client_response_fini(&r);
}

/* The owner uploads k1 (7 days' overlap): both keys sign; the key in use cannot be revoked,
 * the old one can, and is refused at once. k2 with 1 day's overlap: k1 ends a day later on
 * the platform's clock, k2 goes on. A bad key and a bad window are refused. */
static void keys_rotate_overlap_revoke(void **state)
{
    (void)state;
    struct pay_ed25519_key k1, k2;
    struct resp r;
    char form[512];
    pay_ed25519_generate(&k1);
    pay_ed25519_generate(&k2);
    assert_int_equal(api_get_status("m_a.k1", &k1), 401);
    key_form(&k1, 7, form, sizeof form);
    post(&owner, "/portal/keys", form, &r);
    assert_int_equal(r.status, 303);
    assert_non_null(strstr(r.location, "key_id=m_a.k1"));
    resp_fini(&r);
    assert_int_equal(api_get_status("m_a.k1", &k1), 200);
    assert_int_equal(api_get_status("m_a", &ma.key), 200);
    assert_int_equal(api_get_status("m_a.k1", &ma.key), 401); /* a keyId is bound to its key */
    post(&owner, "/portal/keys/revoke", "key_id=m_a.k1", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(page_code(r.body), "FIELD_INVALID");
    resp_fini(&r);
    post(&owner, "/portal/keys/revoke", "key_id=m_a", &r);
    assert_int_equal(r.status, 303);
    resp_fini(&r);
    assert_int_equal(api_get_status("m_a", &ma.key), 401);
    assert_int_equal(api_get_status("m_a.k1", &k1), 200);
    post(&owner, "/portal/keys", "public_key=not-a-key&overlap_days=1", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "<code id=\"field\">public_key</code>"));
    resp_fini(&r);
    key_form(&k2, 31, form, sizeof form);
    post(&owner, "/portal/keys", form, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "<code id=\"field\">overlap_days</code>"));
    resp_fini(&r);
    key_form(&k2, 1, form, sizeof form);
    post(&owner, "/portal/keys", form, &r);
    assert_int_equal(r.status, 303);
    assert_non_null(strstr(r.location, "key_id=m_a.k2"));
    resp_fini(&r);
    get(&owner, "/portal/keys", &r);
    assert_int_equal(count(r.body, "class=\"key\""), 3);
    assert_non_null(strstr(r.body, "data-key=\"m_a\" data-state=\"revoked\""));
    assert_non_null(strstr(r.body, "data-key=\"m_a.k1\" data-state=\"ending\""));
    assert_non_null(strstr(r.body, "data-key=\"m_a.k2\" data-state=\"active\""));
    resp_fini(&r);
    assert_int_equal(api_get_status("m_a.k1", &k1), 200);
    advance_days(2);
    assert_int_equal(api_get_status("m_a.k1", &k1), 401);
    assert_int_equal(api_get_status("m_a.k2", &k2), 200);
    /* the SDK signs with a portal key given as its merchant_id, and still knows its trades */
    char keyfile[512];
    snprintf(keyfile, sizeof keyfile, "%s/k2.pem", pf.dir);
    assert_int_equal(pay_ed25519_key_save(keyfile, &k2), 0);
    paygate_config cfg = {
        .platform_url = pf.url, .merchant_id = "m_a.k2", .key_file = keyfile, .allow_loopback = 1};
    paygate_error perr;
    paygate_client *c = paygate_client_new(&cfg, &perr);
    assert_non_null(c);
    paygate_trade t;
    assert_int_equal(paygate_trade_query(c, "order-1", &t, &perr), PAYGATE_OK);
    assert_string_equal(t.merchant_id, "m_a");
    paygate_client_free(c);
    pay_ed25519_key_fini(&k1);
    pay_ed25519_key_fini(&k2);
}

/* The owner sets notify hosts (checked as at onboarding) and adds a member, whose TOTP
 * secret is shown once. */
static void hosts_and_team(void **state)
{
    (void)state;
    struct resp r;
    post(&owner, "/portal/notify-hosts", "notify_hosts=127.0.0.1%2C+shop.example", &r);
    assert_int_equal(r.status, 303);
    resp_fini(&r);
    post(&owner, "/portal/notify-hosts", "notify_hosts=Bad_Host", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "<code id=\"field\">notify_hosts</code>"));
    resp_fini(&r);
    get(&owner, "/portal/keys", &r);
    assert_non_null(strstr(r.body, "value=\"127.0.0.1,shop.example\""));
    resp_fini(&r);
    post(&owner, "/portal/team", "login=new%40a.example&role=finance&password=short", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "<code id=\"field\">password</code>"));
    resp_fini(&r);
    post(&owner, "/portal/team", "login=new%40a.example&role=finance&password=long-enough-pw", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "id=\"totp-secret\""));
    assert_non_null(strstr(r.body, "<svg"));
    assert_int_equal(count(r.body, "class=\"member\""), 5);
    resp_fini(&r);
    get(&owner, "/portal/team", &r);
    assert_null(strstr(r.body, "id=\"totp-secret\"")); /* once only */
    resp_fini(&r);
}

/* Logout needs the CSRF token; afterwards the cookie opens nothing. */
static void logout_ends_session(void **state)
{
    (void)state;
    struct resp r;
    req("POST", "/portal/logout", support.cookie, "csrf=wrong-token-0123456789", &r);
    assert_int_equal(r.status, 403);
    resp_fini(&r);
    post(&support, "/portal/logout", "", &r);
    assert_int_equal(r.status, 303);
    assert_string_equal(r.location, "/portal/login");
    resp_fini(&r);
    get(&support, "/portal/trades", &r);
    assert_int_equal(r.status, 303);
    assert_string_equal(r.location, "/portal/login");
    resp_fini(&r);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(login_needs_password_and_code),
        cmocka_unit_test(lockout),
        cmocka_unit_test(trades_search_filter_export),
        cmocka_unit_test(roles_enforced),
        cmocka_unit_test(refund_two_steps_once),
        cmocka_unit_test(resend_notification),
        cmocka_unit_test(hosts_and_team),
        cmocka_unit_test(overview_payouts_bills),
        cmocka_unit_test(receipts),
        cmocka_unit_test(test_notification),
        cmocka_unit_test(logout_ends_session),
        cmocka_unit_test(keys_rotate_overlap_revoke), /* it moves the clock 2 days */
        cmocka_unit_test(ledger_and_audit_trail),     /* stops the platform */
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
