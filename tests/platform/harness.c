/* See harness.h. */
#include "harness.h"

#include "core/clock.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "http/client.h"
#include "http/codec.h"
#include "lib/harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *h_paygate;

void h_reply_fini(struct h_reply *r)
{
    json_decref(r->json);
    free(r->body);
    memset(r, 0, sizeof *r);
}

const char *h_str(json_t *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && o; t = strtok_r(NULL, ".", &save))
        o = json_object_get(o, t);
    return json_is_string(o) ? json_string_value(o) : "";
}

const char *h_err_code(const struct h_reply *r)
{
    return h_str(r->json, "error.code");
}

int h_run(const char *const *argv)
{
    int rc = th_run(argv);
    assert_true(rc >= 0);
    return rc;
}

int h_run_pf(const struct h_platform *pf, const char *const *argv)
{
    const char *full[32];
    size_t n = 0;
    while (argv[n] && n < 29) {
        full[n] = argv[n];
        n++;
    }
    assert_null(argv[n]);
    full[n++] = "--database";
    full[n++] = pf->db;
    full[n] = NULL;
    return h_run(full);
}

void h_add_consumer(struct h_platform *pf, const char *login, const char *password,
                    const char *pay_password)
{
    const char *argv[] = {h_paygate,        "platform",   "consumer", "add",        "--data-dir",
                          pf->dir,          "--login",    login,      "--password", password,
                          "--pay-password", pay_password, NULL};
    assert_int_equal(h_run_pf(pf, argv), 0);
}

void h_wallet_credit(struct h_platform *pf, const char *login, const char *amount)
{
    const char *argv[] = {h_paygate,    "platform", "wallet",   "credit", "--data-dir", pf->dir,
                          "--consumer", login,      "--amount", amount,   NULL};
    assert_int_equal(h_run_pf(pf, argv), 0);
}

static void add_merchant(struct h_platform *pf, struct h_merchant *m, const char *id, int seed)
{
    uint8_t s[PAY_ED25519_SEED_LEN];
    memset(s, seed, sizeof s);
    pay_ed25519_from_seed(&m->key, s);
    snprintf(m->id, sizeof m->id, "%s", id);
    char path[300], text[PAY_ED25519_KEY_TEXT_LEN];
    snprintf(path, sizeof path, "%s/%s.pub", pf->dir, id);
    pay_ed25519_pk_to_text(text, m->key.pk);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", text);
    fclose(f);
    const char *argv[] = {h_paygate,
                          "platform",
                          "merchant",
                          "add",
                          "--data-dir",
                          pf->dir,
                          "--id",
                          id,
                          "--name",
                          id,
                          "--public-key-file",
                          path,
                          "--notify-host",
                          "127.0.0.1",
                          "--allow-private-hosts",
                          "--fee-bp",
                          "60",
                          NULL};
    assert_int_equal(h_run_pf(pf, argv), 0);
}

void h_setup(struct h_platform *pf, struct h_merchant *ma, struct h_merchant *mb,
             const char *extra_ini)
{
    assert_int_equal(pay_crypto_init(), 0);
    memset(pf, 0, sizeof *pf);
    assert_int_equal(th_tmpdir(pf->dir, sizeof pf->dir, "paygate-pf"), 0);
    char path[300];
    snprintf(path, sizeof path, "%s/platform.db", pf->dir);
    assert_int_equal(th_db_new("platform", path, pf->db, sizeof pf->db), 0);
    snprintf(path, sizeof path, "%s/platform.ini", pf->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "[platform]\nsweep_interval = 100ms\n%s\n[notify]\nretry_schedule = 1s,1s,1s\n"
            "allow_private_hosts = true\npoll_interval = 100ms\ntimeout = 2s\n",
            extra_ini ? extra_ini : "");
    fclose(f);
    if (ma)
        add_merchant(pf, ma, "m_a", 1);
    if (mb)
        add_merchant(pf, mb, "m_b", 2);
}

void h_start(struct h_platform *pf)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char ini[300], log[300];
    snprintf(ini, sizeof ini, "%s/platform.ini", pf->dir);
    snprintf(log, sizeof log, "%s/platform.log", pf->dir);
    pf->pid = fork();
    assert_true(pf->pid >= 0);
    if (pf->pid == 0) {
        dup2(fds[1], 1);
        int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(lfd, 2);
        close(fds[0]);
        execl(h_paygate, h_paygate, "platform", "--config", ini, "--listen", "127.0.0.1:0",
              "--data-dir", pf->dir, "--database", pf->db, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[256] = {0};
    size_t n = 0;
    struct pollfd p = {fds[0], POLLIN, 0};
    while (n < sizeof line - 1 && poll(&p, 1, 20000) == 1) {
        ssize_t k = read(fds[0], line + n, 1);
        if (k <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(fds[0]);
    const char *u = strstr(line, "http://");
    assert_non_null(u);
    snprintf(pf->url, sizeof pf->url, "%s", u);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    char url[256];
    snprintf(url, sizeof url, "%s/.well-known/paygate-platform-key", pf->url);
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &opt, &r, NULL),
                     PAY_ERR_OK);
    json_t *j = json_loads(pay_buf_str(&r.body), 0, NULL);
    assert_non_null(j);
    assert_int_equal(pay_ed25519_pk_from_text(pf->pk, h_str(j, "public_key")), 0);
    json_decref(j);
    pay_http_client_response_fini(&r);
}

void h_stop(struct h_platform *pf, int sig)
{
    if (pf->pid <= 0)
        return;
    int rc = th_stop(&pf->pid, sig);
    if (sig == SIGTERM)
        assert_int_equal(rc, 0);
}

void h_teardown(struct h_platform *pf)
{
    h_stop(pf, SIGTERM);
    assert_int_equal(th_tmpdir_done(pf->dir), 0);
}

size_t h_count_in_db(const struct h_platform *pf, const char *needle)
{
    if (th_db_is_pg()) {
        char n[1][64];
        snprintf(n[0], sizeof n[0], "%s", needle);
        return th_db_scan_cluster((const char(*)[64])n, 1, true);
    }
    size_t total = 0;
    static const char *const suffix[] = {"/platform.db", "/platform.db-wal"};
    for (size_t i = 0; i < 2; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s%s", pf->dir, suffix[i]);
        total += th_count_in_file(path, needle);
    }
    return total;
}

void h_teardown_verified(struct h_platform *pf)
{
    h_stop(pf, SIGTERM);
    assert_int_equal(h_ledger_verify(pf), 0);
    h_teardown(pf);
}

static enum pay_err pf_lookup(void *ctx, const char *key_id, struct pay_sig_pubkey *out)
{
    memset(out, 0, sizeof *out);
    out->alg = PAY_SIG_ED25519;
    memcpy(out->ed25519, ctx, PAY_ED25519_PK_LEN);
    return strcmp(key_id, "paygate-platform") == 0 ? PAY_ERR_OK : PAY_ERR_SIGNATURE_INVALID;
}

void h_call_raw(struct h_platform *pf, const char *method, const char *target, const char *body,
                const char *auth, const char *idem, const char *req_nonce, struct h_reply *out)
{
    h_call_typed(pf, method, target, "application/json", body, auth, idem, req_nonce, out);
}

/* h_call_typed; false (out zeroed) when no HTTP answer came. */
static bool call_typed(struct h_platform *pf, const char *method, const char *target,
                       const char *ctype, const char *body, const char *auth, const char *idem,
                       const char *req_nonce, struct h_reply *out)
{
    memset(out, 0, sizeof *out);
    char url[2048], ah[PAY_SIG_HEADER_MAX + 32], ih[128], th[128];
    snprintf(url, sizeof url, "%s%s", pf->url, target);
    snprintf(th, sizeof th, "Content-Type:%s%s", ctype ? " " : "", ctype ? ctype : "");
    const char *headers[4] = {th, NULL, NULL, NULL};
    size_t h = 1;
    if (auth) {
        snprintf(ah, sizeof ah, "Authorization: %s", auth);
        headers[h++] = ah;
    }
    if (idem) {
        snprintf(ih, sizeof ih, "Idempotency-Key: %s", idem);
        headers[h++] = ih;
    }
    struct pay_http_client_options opt = {.allow_private_addresses = true,
                                          .total_timeout_ms = 30000};
    struct pay_http_client_response r = {0};
    struct pay_error err = {0};
    if (pay_http_client_request(method, url, headers, body, body ? strlen(body) : 0, &opt, &r,
                                &err) != PAY_ERR_OK) {
        pay_http_client_response_fini(&r);
        return false;
    }
    out->status = r.status;
    out->body = strdup(pay_buf_str(&r.body));
    out->json = json_loads(out->body, 0, NULL);
    char sig[PAY_SIG_HEADER_MAX], rep[16];
    const char *sh = pay_http_client_response_header(&r, PAY_SIG_RESPONSE_HEADER, sig, sizeof sig);
    out->replayed = pay_http_client_response_header(&r, "Idempotent-Replayed", rep, sizeof rep) &&
                    strcmp(rep, "true") == 0;
    if (!pay_http_client_response_header(&r, "Retry-After", out->retry_after,
                                         sizeof out->retry_after))
        out->retry_after[0] = '\0';
    struct pay_sig_verifier v = {pf_lookup, NULL, pf->pk, NULL, 0};
    out->sig_ok = sh && pay_sig_verify_response(&v, sh, (int)r.status, req_nonce, out->body,
                                                strlen(out->body), pay_clock_real_ms() / 1000, NULL,
                                                &err) == PAY_ERR_OK;
    pay_http_client_response_fini(&r);
    return true;
}

void h_call_typed(struct h_platform *pf, const char *method, const char *target, const char *ctype,
                  const char *body, const char *auth, const char *idem, const char *req_nonce,
                  struct h_reply *out)
{
    assert_true(call_typed(pf, method, target, ctype, body, auth, idem, req_nonce, out));
}

bool h_call_try(struct h_platform *pf, const struct h_merchant *m, const char *method,
                const char *target, const char *body, const char *idem, struct h_reply *out)
{
    char nonce[PAY_SIG_NONCE_MAX + 1], auth[PAY_SIG_HEADER_MAX];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_ED25519, m->id, &m->key, NULL};
    assert_int_equal(pay_sig_sign_request(&s, method, target, body, body ? strlen(body) : 0,
                                          pay_clock_real_ms() / 1000, nonce, auth, sizeof auth,
                                          NULL),
                     PAY_ERR_OK);
    return call_typed(pf, method, target, "application/json", body, auth, idem, nonce, out);
}

void h_call(struct h_platform *pf, const struct h_merchant *m, const char *method,
            const char *target, const char *body, const char *idem, struct h_reply *out)
{
    assert_true(h_call_try(pf, m, method, target, body, idem, out));
}

const char *h_create_trade(struct h_platform *pf, const struct h_merchant *m, const char *otn,
                           const char *amount, const char *notify_url)
{
    static char id[64];
    char body[1024], idem[80];
    snprintf(body, sizeof body,
             "{\"out_trade_no\":\"%s\",\"amount\":{\"value\":\"%s\",\"currency\":\"CNY\"},"
             "\"subject\":\"test order\"%s%s%s}",
             otn, amount, notify_url ? ",\"notify_url\":\"" : "", notify_url ? notify_url : "",
             notify_url ? "\"" : "");
    snprintf(idem, sizeof idem, "create-%s", otn);
    struct h_reply r;
    h_call(pf, m, "POST", "/v1/trades", body, idem, &r);
    if (r.status != 201)
        fprintf(stderr, "create: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    assert_true(r.sig_ok);
    snprintf(id, sizeof id, "%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    return id;
}

const char *h_trade_field(struct h_platform *pf, const struct h_merchant *m, const char *trade_id,
                          const char *field)
{
    static char out[64];
    char path[128];
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s", trade_id);
    h_call(pf, m, "GET", path, NULL, NULL, &r);
    snprintf(out, sizeof out, "%s", h_str(r.json, field));
    h_reply_fini(&r);
    return out;
}

bool h_notifications_delivered(struct h_platform *pf, const struct h_merchant *m,
                               const char *trade_id, int ms)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/notifications?trade_id=%s", trade_id);
    for (int waited = 0; waited <= ms; waited += 50) {
        struct h_reply r;
        h_call(pf, m, "GET", path, NULL, NULL, &r);
        json_t *list = json_object_get(r.json, "notifications"), *n;
        size_t i, delivered = 0;
        json_array_foreach(list, i, n) delivered += strcmp(h_str(n, "status"), "delivered") == 0;
        bool done = json_array_size(list) > 0 && delivered == json_array_size(list);
        h_reply_fini(&r);
        if (done)
            return true;
        usleep(50000);
    }
    return false;
}

/* --- notify sink ------------------------------------------------------------------------- */

static enum pay_err sink_notify(struct pay_http_request *req, struct pay_error *err)
{
    struct h_notify_sink *s = pay_http_req_ctx(req);
    size_t len = 0;
    const char *body = pay_http_req_body(req, &len);
    const char *sig = pay_http_req_header(req, PAY_SIG_RESPONSE_HEADER);
    struct pay_error e = {0};
    struct pay_sig_verifier v = {pf_lookup, NULL, (void *)s->platform_pk, s->nonces, 0};
    /* the signature covers the target as received: path and query (docs/api.md) */
    bool ok = sig && pay_sig_verify_request(&v, sig, "POST", pay_http_req_target(req), body, len,
                                            pay_clock_real_ms() / 1000, NULL, &e) == PAY_ERR_OK;
    json_t *j = json_loads(body, 0, NULL);
    pthread_mutex_lock(&s->mu);
    s->hits++;
    s->bad_sigs += ok ? 0 : 1;
    bool fail = s->fail_first > 0;
    if (fail)
        s->fail_first--;
    else if (s->n_ids < 64) {
        s->bodies[s->n_ids] = strndup(body, len);
        snprintf(s->ids[s->n_ids++], 32, "%s", h_str(j, "notify_id"));
        snprintf(s->last_state, sizeof s->last_state, "%s", h_str(j, "trade.state"));
    }
    pthread_mutex_unlock(&s->mu);
    json_decref(j);
    if (fail)
        pay_http_respond_text(req, 500, "try later");
    else
        pay_http_respond_text(req, 200, "success");
    return PAY_ERR_OK;
}

void h_sink_start(struct h_notify_sink *s, const uint8_t *platform_pk, int fail_first)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->platform_pk = platform_pk;
    s->fail_first = fail_first;
    s->nonces = pay_nonce_cache_mem_new(1024, 300);
    assert_int_equal(th_notify_server_start("sink", sink_notify, s, &s->srv, s->url, sizeof s->url),
                     0);
}

void h_sink_stop(struct h_notify_sink *s)
{
    pay_http_server_free(s->srv);
    for (int i = 0; i < s->n_ids; i++)
        free(s->bodies[i]);
    pay_nonce_cache_free(s->nonces);
    pthread_mutex_destroy(&s->mu);
}

int h_sink_wait(struct h_notify_sink *s, int n, int ms)
{
    int got = 0;
    for (int waited = 0; waited <= ms; waited += 50) {
        pthread_mutex_lock(&s->mu);
        got = s->n_ids;
        pthread_mutex_unlock(&s->mu);
        if (got >= n)
            break;
        usleep(50000);
    }
    return got;
}

size_t h_ledger_verify(struct h_platform *pf)
{
    return (size_t)th_ledger_verify(h_paygate, pf->db);
}

/* --- a minimal browser for the cashier ---------------------------------------------------------
 */

/* Keeps the cookies of every Set-Cookie line (pf_csrf, pf_session, pf_device; the bank's one). */
static void browser_cookie(struct h_browser *b, struct pay_http_client_response *r, bool to_bank)
{
    const char *h = pay_buf_str(&r->headers);
    for (const char *p = h; (p = strcasestr(p, "Set-Cookie: ")) != NULL;) {
        p += strlen("Set-Cookie: ");
        char v[512];
        snprintf(v, sizeof v, "%.*s", (int)strcspn(p, ";\r\n"), p);
        if (strncmp(v, "pf_csrf=", 8) == 0)
            snprintf(b->csrf_cookie, sizeof b->csrf_cookie, "%.127s", v + 8);
        else if (strncmp(v, "pf_session=", 11) == 0)
            snprintf(b->session, sizeof b->session, "%.127s", v + 11);
        else if (strncmp(v, "pf_device=", 10) == 0) /* risk control's device cookie */
            snprintf(b->device, sizeof b->device, "%.127s", v + 10);
        else if (to_bank)
            snprintf(b->bank_cookie, sizeof b->bank_cookie, "%.255s", v);
    }
}

void h_browser_req(struct h_browser *b, const char *method, const char *url, const char *form,
                   bool to_bank)
{
    char cookie[512];
    if (to_bank)
        snprintf(cookie, sizeof cookie, "Cookie: %s", b->bank_cookie);
    else
        snprintf(cookie, sizeof cookie, "Cookie: pf_csrf=%s; pf_session=%s%s%s", b->csrf_cookie,
                 b->session, b->device[0] ? "; pf_device=" : "", b->device);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", cookie, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true,
                                          .total_timeout_ms = 30000};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request(method, url, headers, form, form ? strlen(form) : 0,
                                             &opt, &r, NULL),
                     PAY_ERR_OK);
    b->status = r.status;
    free(b->page);
    b->page = strdup(pay_buf_str(&r.body));
    browser_cookie(b, &r, to_bank);
    const char *m = strstr(b->page, "name=\"csrf\" value=\"");
    if (m) {
        m += strlen("name=\"csrf\" value=\"");
        snprintf(b->last_csrf, sizeof b->last_csrf, "%.*s", (int)strcspn(m, "\""), m);
    }
    pay_http_client_response_fini(&r);
}

void h_browser_fini(struct h_browser *b)
{
    free(b->page);
    b->page = NULL;
}

void h_pf_post(const struct h_platform *pf, struct h_browser *b, const char *path,
               const char *fields)
{
    char csrf[128], url[256], form[1024];
    th_input_value(b->page, "csrf", csrf, sizeof csrf);
    snprintf(form, sizeof form, "csrf=%s&%s", csrf, fields);
    snprintf(url, sizeof url, "%s%s", pf->url, path);
    h_browser_req(b, "POST", url, form, false);
}

void h_pf_get(const struct h_platform *pf, struct h_browser *b, const char *path)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", pf->url, path);
    h_browser_req(b, "GET", url, NULL, false);
    assert_int_equal(b->status, 200);
}

/* A request to the platform's path. */
static void hb_req(struct h_platform *pf, struct h_browser *b, const char *method, const char *path,
                   const char *form)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", pf->url, path);
    h_browser_req(b, method, url, form, false);
}

void h_bank_step(struct h_browser *b, const char *bank_url, const char *path, const char *field,
                 const char *value)
{
    char url[256];
    struct pay_buf f;
    pay_buf_init(&f, 1024);
    assert_int_equal(pay_form_append(&f, "csrf", b->last_csrf), 0);
    if (field)
        assert_int_equal(pay_form_append(&f, field, value), 0);
    snprintf(url, sizeof url, "%s%s", bank_url, path);
    h_browser_req(b, "POST", url, pay_buf_str(&f), true);
    pay_buf_fini(&f);
    if (b->status != 200)
        fprintf(stderr, "%s -> %ld %.400s\n", path, b->status, b->page);
    assert_int_equal(b->status, 200);
}

void h_bank_sms_code(const char *bank_url, const char *phone, char out[7])
{
    char url[256];
    snprintf(url, sizeof url, "%s/sandbox/sms?format=json", bank_url);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &opt, &r, NULL), 0);
    json_t *j = json_loads(pay_buf_str(&r.body), 0, NULL);
    pay_http_client_response_fini(&r);
    json_t *m = json_object_get(j, "messages");
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(m); i++) {
        json_t *e = json_array_get(m, i);
        const char *text = h_str(e, "text"), *c = h_str(e, "code");
        if (strcmp(h_str(e, "phone"), phone) == 0 && strstr(text, c)) {
            snprintf(out, 7, "%.6s", c); /* the newest comes first */
            break;
        }
    }
    json_decref(j);
    assert_int_equal(strlen(out), 6);
}

/* The desktop cashier (/cashier, paying at .../pay/wallet) or the page a scanned QR code opens
 * (/m/pay, paying at .../confirm). */
static long pay_wallet_at(struct h_platform *pf, const char *base, const char *pay,
                          const char *trade_id, const char *login, const char *password,
                          const char *pay_password)
{
    struct h_browser b = {0};
    char path[128], form[512];
    snprintf(path, sizeof path, "%s/%s", base, trade_id);
    hb_req(pf, &b, "GET", path, NULL);
    snprintf(form, sizeof form, "csrf=%s&login=%s&password=%s", b.last_csrf, login, password);
    snprintf(path, sizeof path, "%s/%s/login", base, trade_id);
    hb_req(pf, &b, "POST", path, form);
    snprintf(path, sizeof path, "%s/%s", base, trade_id);
    hb_req(pf, &b, "GET", path, NULL);
    snprintf(form, sizeof form, "csrf=%s&pay_password=%s", b.last_csrf, pay_password);
    snprintf(path, sizeof path, "%s/%s/%s", base, trade_id, pay);
    hb_req(pf, &b, "POST", path, form);
    h_browser_fini(&b);
    return b.status;
}

long h_cashier_pay_wallet(struct h_platform *pf, const char *trade_id, const char *login,
                          const char *password, const char *pay_password)
{
    return pay_wallet_at(pf, "/cashier", "pay/wallet", trade_id, login, password, pay_password);
}

long h_qr_pay_wallet(struct h_platform *pf, const char *trade_id, const char *login,
                     const char *password, const char *pay_password)
{
    return pay_wallet_at(pf, "/m/pay", "confirm", trade_id, login, password, pay_password);
}

const char *h_wallet_login(struct h_platform *pf, const char *login, const char *password)
{
    static struct h_browser b;
    char form[512];
    h_browser_fini(&b);
    memset(&b, 0, sizeof b);
    hb_req(pf, &b, "GET", "/wallet", NULL);
    snprintf(form, sizeof form, "csrf=%s&login=%s&password=%s", b.last_csrf, login, password);
    hb_req(pf, &b, "POST", "/wallet/login", form);
    h_browser_fini(&b);
    return b.status == 303 ? b.session : "";
}

int h_wallet_logged_in(struct h_platform *pf, const char *session)
{
    char url[512], cookie[256];
    snprintf(url, sizeof url, "%s/wallet", pf->url);
    snprintf(cookie, sizeof cookie, "Cookie: pf_session=%s", session);
    const char *headers[] = {cookie, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request("GET", url, headers, NULL, 0, &opt, &r, NULL), 0);
    int in = strstr(pay_buf_str(&r.body), "id=\"summary\"") != NULL;
    pay_http_client_response_fini(&r);
    return in;
}

/* --- parallel posts ----------------------------------------------------------------------- */

static void *fire(void *arg)
{
    struct h_shot *s = arg;
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             s->cookie[0] ? s->cookie : NULL, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true,
                                          .total_timeout_ms = 60000};
    struct pay_http_client_response r = {0};
    pthread_barrier_wait(s->start);
    s->sent = pay_http_client_request("POST", s->url, headers, s->form, strlen(s->form), &opt, &r,
                                      NULL) == PAY_ERR_OK;
    s->status = r.status;
    snprintf(s->page, sizeof s->page, "%s", pay_buf_str(&r.body));
    pay_http_client_response_fini(&r);
    return NULL;
}

void h_fire_all(struct h_shot *shots, int n)
{
    pthread_t *t = calloc((size_t)n, sizeof *t);
    assert_non_null(t);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        shots[i].start = &start;
        assert_int_equal(pthread_create(&t[i], NULL, fire, &shots[i]), 0);
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    free(t);
    for (int i = 0; i < n; i++)
        assert_true(shots[i].sent);
}
