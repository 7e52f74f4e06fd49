/* See harness.h. */
#include "harness.h"
#include "core/clock.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "crypto/sign.h"
#include "crypto/x509.h"
#include "http/codec.h"
#include "http/server.h"

#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bin(void)
{
    return th_binary_env();
}

int h_paygate(struct pay_buf *out, const char *fmt, ...)
{
    char args[2048], cmd[2600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s", bin(), args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        if (out && pay_buf_append(out, buf, n) != 0)
            break;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int h_bank_start(struct bank_proc *b, const char *extra)
{
    memset(b, 0, sizeof *b);
    if (th_tmpdir(b->dir, sizeof b->dir, "paygate-bank-test") != 0)
        return -1;
    char file[300];
    snprintf(file, sizeof file, "%s/data/bank.db", b->dir);
    if (th_db_new("bank", file, b->db, sizeof b->db) != 0)
        return -1;
    th_db_flag(b->db, b->db_flag, sizeof b->db_flag);
    for (int i = 1; i <= 2; i++)
        if (h_paygate(NULL,
                      "bank merchant add --data-dir %s/data%s --code test --fast-hash --mer-id M%d"
                      " --name 'Test Shop %d' --referrer-domain shop.test --notify-domain"
                      " 127.0.0.1 --out %s/M%d/ 2>>%s/cli.log",
                      b->dir, b->db_flag, i, i, b->dir, i, b->dir) != 0) {
            char d[300];
            snprintf(d, sizeof d, "%s/M%d", b->dir, i);
            return -1;
        }
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "exec '%s' bank serve --data-dir %s/data%s --demo-data --fast-hash --print-url-file"
             " %s/url --notify-timeout 1s --notify-retry 1s,1s,1s,1s %s >%s/stdout.txt"
             " 2>%s/bank.log",
             bin(), b->dir, b->db_flag, b->dir, extra ? extra : "", b->dir, b->dir);
    b->pid = th_spawn_sh(cmd);
    char path[300];
    snprintf(path, sizeof path, "%s/url", b->dir);
    return th_wait_url_file(b->pid, path, b->url, sizeof b->url, TH_START_TIMEOUT_MS);
}

int h_issue_card(const struct bank_proc *b, const char *name, const char *phone, char pan[20])
{
    struct pay_buf out;
    pay_buf_init(&out, 65536);
    int rc =
        h_paygate(&out, "bank customer add --data-dir %s/data%s --name %s --phone %s 2>>%s/cli.log",
                  b->dir, b->db_flag, name, phone, b->dir);
    char cus[64] = "";
    if (rc == 0 && sscanf(pay_buf_str(&out), "customer %63s", cus) != 1)
        rc = -1;
    pay_buf_reset(&out);
    if (rc == 0)
        rc = h_paygate(&out,
                       "bank card add --data-dir %s/data%s --customer %s --fast-hash 2>>%s/cli.log",
                       b->dir, b->db_flag, cus, b->dir);
    const char *num = strstr(pay_buf_str(&out), "number ");
    if (rc != 0 || !num || sscanf(num, "number %19s", pan) != 1)
        rc = -1;
    pay_buf_fini(&out);
    return rc;
}

void h_bank_stop(struct bank_proc *b)
{
    th_stop(&b->pid, SIGTERM);
}

int h_bank_remove(const struct bank_proc *b)
{
    return th_tmpdir_done(b->dir);
}

int h_bank_ledger_verify(const struct bank_proc *b)
{
    return th_ledger_verify(bin(), b->db);
}

size_t h_bank_scan(const struct bank_proc *b, const char *const *files, size_t n_files,
                   const char (*needles)[64], size_t n_needles)
{
    /* control: the cluster's files do hold what the bank stores in clear (a merchant name) */
    static const char stored[1][64] = {"Test Shop 1"};
    if (th_db_is_pg() && th_db_scan_cluster(stored, 1, false) == 0) {
        fprintf(stderr, "h_bank_scan: the cluster's files lack a stored value: scan is blind\n");
        return 1;
    }
    return th_scan_files(b->dir, files, n_files, needles, n_needles) +
           th_db_scan_cluster(needles, n_needles, true);
}

void h_resp_fini(struct h_resp *r)
{
    free(r->body);
    r->body = NULL;
}

static void take_cookie(struct pay_http_client_response *resp, char *cookie, size_t n)
{
    char buf[512];
    if (!cookie || !pay_http_client_response_header(resp, "Set-Cookie", buf, sizeof buf))
        return;
    size_t len = strcspn(buf, ";");
    buf[len] = '\0';
    snprintf(cookie, n, "%s", buf);
}

int h_post(const char *url, const char *form, char *cookie, size_t cookie_n, const char *referer,
           struct h_resp *r)
{
    char ck[300] = "", rf[600] = "";
    const char *headers[4] = {"Content-Type: application/x-www-form-urlencoded", NULL, NULL, NULL};
    int h = 1;
    if (cookie && cookie[0]) {
        snprintf(ck, sizeof ck, "Cookie: %s", cookie);
        headers[h++] = ck;
    }
    if (referer) {
        snprintf(rf, sizeof rf, "Referer: %s", referer);
        headers[h++] = rf;
    }
    struct pay_http_client_options opt = {.allow_private_addresses = true,
                                          .total_timeout_ms = 20000};
    struct pay_http_client_response resp;
    memset(&resp, 0, sizeof resp);
    struct pay_error e = {0};
    int64_t t0 = pay_clock_mono_ms();
    enum pay_err rc =
        pay_http_client_request("POST", url, headers, form, strlen(form), &opt, &resp, &e);
    r->elapsed_ms = pay_clock_mono_ms() - t0;
    if (rc != PAY_ERR_OK) {
        pay_http_client_response_fini(&resp);
        return -1;
    }
    r->status = resp.status;
    r->body = strdup(pay_buf_str(&resp.body));
    take_cookie(&resp, cookie, cookie_n);
    pay_http_client_response_fini(&resp);
    return 0;
}

int h_get(const char *url, struct h_resp *r)
{
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response resp;
    memset(&resp, 0, sizeof resp);
    struct pay_error e = {0};
    if (pay_http_client_request("GET", url, NULL, NULL, 0, &opt, &resp, &e) != PAY_ERR_OK) {
        pay_http_client_response_fini(&resp);
        return -1;
    }
    r->status = resp.status;
    r->body = strdup(pay_buf_str(&resp.body));
    pay_http_client_response_fini(&resp);
    return 0;
}

int h_csrf(const char *html, char *out, size_t n)
{
    const char *k = "name=\"csrf\" value=\"";
    const char *p = html ? strstr(html, k) : NULL;
    if (!p)
        return -1;
    p += strlen(k);
    size_t len = strcspn(p, "\"");
    if (len == 0 || len >= n)
        return -1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

int h_sms_code(const struct bank_proc *b, const char *phone, char out[7])
{
    char url[256];
    snprintf(url, sizeof url, "%s/sandbox/sms?format=json", b->url);
    struct h_resp r = {0};
    if (h_get(url, &r) != 0)
        return -1;
    json_t *j = json_loads(r.body, 0, NULL);
    h_resp_fini(&r);
    int rc = -1;
    json_t *m = json_object_get(j, "messages");
    for (size_t i = 0; rc != 0 && i < json_array_size(m); i++) {
        json_t *e = json_array_get(m, i);
        const char *text = json_string_value(json_object_get(e, "text"));
        const char *ph = json_string_value(json_object_get(e, "phone"));
        const char *c = json_string_value(json_object_get(e, "code"));
        /* the code is given apart and is also in the text, whatever its language */
        if (ph && strcmp(ph, phone) == 0 && c && strlen(c) == 6 && text && strstr(text, c)) {
            memcpy(out, c, 7);
            rc = 0;
        }
    }
    json_decref(j);
    return rc;
}

/* --- the test merchant ----------------------------------------------------------------------- */

static struct pay_http_server *msrv;
static atomic_int mode, notified, bad_sigs;
/* H_SLOW: the merchant holds its answer until the test changes the mode (the bank must answer
 * its consumer without it); mode_cv is signalled on every change. */
static pthread_mutex_t mode_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mode_cv; /* pay_clock_cond_init in h_merchant_start */
static char *bank_cert;

static enum pay_err notify_handler(struct pay_http_request *req, struct pay_error *err)
{
    const char *data64 = pay_http_req_form_get(req, "notifyData");
    const char *sig = pay_http_req_form_get(req, "signMsg");
    char data[4096];
    size_t len = 0;
    bool ok = data64 && sig && bank_cert &&
              pay_base64_decode(data, sizeof data - 1, data64, strlen(data64), &len) == 0 &&
              pay_x509_verify_data(bank_cert, data, len, sig) == 0;
    if (ok)
        atomic_fetch_add(&notified, 1);
    else
        atomic_fetch_add(&bad_sigs, 1);
    int m = atomic_load(&mode);
    if (m == H_SLOW) { /* held until the test moves on (bounded: a minute) */
        struct timespec until = pay_clock_deadline_us(60 * 1000000LL);
        pthread_mutex_lock(&mode_mu);
        while (atomic_load(&mode) == H_SLOW &&
               pthread_cond_timedwait(&mode_cv, &mode_mu, &until) == 0)
            ;
        pthread_mutex_unlock(&mode_mu);
    }
    pay_http_respond_text(req, m == H_ERROR ? 500 : 200, m == H_ERROR ? "error" : "OK");
    return PAY_ERR_OK;
}

int h_merchant_start(const struct bank_proc *b)
{
    pay_clock_cond_init(&mode_cv);
    char url[256];
    snprintf(url, sizeof url, "%s/b2c/bank-cert.pem", b->url);
    struct h_resp r = {0};
    if (h_get(url, &r) != 0 || r.status != 200)
        return -1;
    bank_cert = r.body;
    static const struct pay_http_route routes[] = {
        {"POST", "/notify", PAY_HTTP_API, PAY_HTTP_BODY_FORM, notify_handler, NULL}};
    struct pay_http_config cfg = {.name = "test-merchant", .listen = "127.0.0.1:0"};
    struct pay_error e = {0};
    if (pay_http_server_new(&cfg, &msrv, &e) != PAY_ERR_OK ||
        pay_http_server_add_routes(msrv, routes, 1, &e) != PAY_ERR_OK ||
        pay_http_server_start(msrv, &e) != PAY_ERR_OK)
        return -1;
    return 0;
}

void h_merchant_stop(void)
{
    pay_http_server_free(msrv);
    msrv = NULL;
    free(bank_cert);
    bank_cert = NULL;
}

void h_merchant_mode(enum h_mode m)
{
    pthread_mutex_lock(&mode_mu);
    atomic_store(&mode, (int)m);
    pthread_cond_broadcast(&mode_cv);
    pthread_mutex_unlock(&mode_mu);
}
int h_merchant_notified(void)
{
    return atomic_load(&notified);
}
int h_merchant_bad_signatures(void)
{
    return atomic_load(&bad_sigs);
}
const char *h_merchant_url(void)
{
    return pay_http_server_url(msrv);
}

char *h_order_doc(const struct bank_proc *b, const char *mer, const char *order_id, int64_t amount,
                  const char *notify_type, const char *mer_url)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s/merchant.json", b->dir, mer);
    json_t *mj = json_load_file(path, 0, NULL);
    char murl[300];
    snprintf(murl, sizeof murl, "%s/notify", h_merchant_url());
    json_t *d = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "interfaceName",
        "PAYGATE_B2C_PAY", "interfaceVersion", "1.0", "orderId", order_id, "orderDate",
        "20261125103000", "amount", (json_int_t)amount, "currency", "CNY", "merID", mer, "merAcct",
        json_string_value(json_object_get(mj, "merAcct")), "merURL", mer_url ? mer_url : murl,
        "notifyType", notify_type, "resultType", "0", "merVAR", "var-42", "goodsName", "Green tea");
    char *s = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    json_decref(mj);
    return s;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65537);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

char *h_order_form(const struct bank_proc *b, const char *mer, const char *doc, bool tamper)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s/merchant.key", b->dir, mer);
    char *key = read_all(path);
    snprintf(path, sizeof path, "%s/%s/merchant.crt", b->dir, mer);
    char *crt = read_all(path);
    char sig[1024];
    if (!key || !crt || pay_x509_sign(key, doc, strlen(doc), sig, sizeof sig) != 0) {
        free(key);
        free(crt);
        return NULL;
    }
    char *sent = strdup(doc);
    char *amt = tamper ? strstr(sent, "\"amount\":") : NULL;
    if (amt) /* the consumer edits the amount after the merchant signed: 1xxx -> 9xxx */
        amt[9] = '9';
    size_t dl = strlen(sent), cl = strlen(crt);
    char *d64 = malloc(PAY_BASE64_LEN(dl)), *c64 = malloc(PAY_BASE64_LEN(cl));
    pay_base64_encode(d64, PAY_BASE64_LEN(dl), sent, dl);
    pay_base64_encode(c64, PAY_BASE64_LEN(cl), crt, cl);
    struct pay_buf f;
    pay_buf_init(&f, 1 << 20);
    int rc = pay_form_append(&f, "interfaceName", "PAYGATE_B2C_PAY") |
             pay_form_append(&f, "interfaceVersion", "1.0") | pay_form_append(&f, "tranData", d64) |
             pay_form_append(&f, "merSignMsg", sig) | pay_form_append(&f, "merCert", c64);
    free(key);
    free(crt);
    free(sent);
    free(d64);
    free(c64);
    char *out = rc == 0 ? pay_buf_steal(&f) : NULL;
    pay_buf_fini(&f);
    return out;
}

/* One step of the gateway's pages: posts csrf (and field=value) to path, keeps the cookie. */
static int b2c_step(const struct bank_proc *b, const char *path, const char *field,
                    const char *value, char *cookie, size_t cookie_n, struct h_resp *r)
{
    char url[256], form[512], csrf[128] = "";
    if (h_csrf(r->body, csrf, sizeof csrf) != 0)
        return -1;
    snprintf(url, sizeof url, "%s%s", b->url, path);
    snprintf(form, sizeof form, "csrf=%s%s%s%s%s", csrf, field ? "&" : "", field ? field : "",
             field ? "=" : "", field ? value : "");
    h_resp_fini(r);
    return h_post(url, form, cookie, cookie_n, NULL, r) == 0 && r->status == 200 ? 0 : -1;
}

void h_fill(const char *tmpl, const char *const *vars, char *out, size_t n)
{
    size_t o = 0;
    while (*tmpl && o + 1 < n) {
        const char *v = NULL, *end = tmpl[0] == '{' ? strchr(tmpl, '}') : NULL;
        for (size_t i = 0; end && vars[i] && !v; i += 2)
            if (strlen(vars[i]) == (size_t)(end - tmpl - 1) &&
                strncmp(tmpl + 1, vars[i], strlen(vars[i])) == 0)
                v = vars[i + 1];
        if (!v) {
            out[o++] = *tmpl++;
            continue;
        }
        int w = snprintf(out + o, n - o, "%s", v);
        o = w < 0 || (size_t)w >= n - o ? n - 1 : o + (size_t)w;
        tmpl = end + 1;
    }
    out[o] = '\0';
}

int h_b2c_pay(const struct bank_proc *b, const char *mer, const char *order_id, int64_t amount,
              const char *pan, const char *phone)
{
    char *doc = h_order_doc(b, mer, order_id, amount, "HS", NULL);
    char *form = doc ? h_order_form(b, mer, doc, false) : NULL;
    char url[256], cookie[256] = "", code[7];
    struct h_resp r = {0};
    snprintf(url, sizeof url, "%s/b2c/pay", b->url);
    int rc =
        form && h_post(url, form, cookie, sizeof cookie, "http://shop.test/checkout", &r) == 0 &&
                r.status == 200
            ? 0
            : -1;
    free(doc);
    free(form);
    if (rc == 0)
        rc = b2c_step(b, "/b2c/card", "cardNo", pan, cookie, sizeof cookie, &r);
    if (rc == 0)
        rc = b2c_step(b, "/b2c/password", "password", "123456", cookie, sizeof cookie, &r);
    if (rc == 0)
        rc = h_sms_code(b, phone, code);
    if (rc == 0)
        rc = b2c_step(b, "/b2c/sms", "smsCode", code, cookie, sizeof cookie, &r);
    if (rc == 0)
        rc = b2c_step(b, "/b2c/confirm", NULL, NULL, cookie, sizeof cookie, &r);
    if (rc == 0 && !strstr(r.body, "data-status=\"paid\""))
        rc = -1;
    h_resp_fini(&r);
    return rc;
}

struct pay_rsa_key *h_bank_signing_key(const struct bank_proc *b)
{
    char url[256];
    snprintf(url, sizeof url, "%s/api/v1/bank-key.pem", b->url);
    struct h_resp r = {0};
    struct pay_rsa_key *k = NULL;
    if (h_get(url, &r) != 0 || r.status != 200 ||
        pay_rsa_key_from_pem(r.body, strlen(r.body), &k) != 0)
        k = NULL;
    h_resp_fini(&r);
    return k;
}

static enum pay_err bank_key_lookup(void *ctx, const char *key_id, struct pay_sig_pubkey *out)
{
    if (strcmp(key_id, "test") != 0)
        return PAY_ERR_SIGNATURE_INVALID;
    memset(out, 0, sizeof *out);
    out->alg = PAY_SIG_RSA_SHA256;
    out->rsa = ctx;
    return PAY_ERR_OK;
}

bool h_bank_answer_signed(struct pay_rsa_key *key, const char *header, long status,
                          const char *request_nonce, const void *body, size_t len)
{
    struct pay_sig_verifier v = {bank_key_lookup, NULL, key, NULL, 0};
    return header && pay_sig_verify_response(&v, header, (int)status, request_nonce, body, len,
                                             pay_clock_real_ms() / 1000, NULL, NULL) == PAY_ERR_OK;
}

int h_demo_cvv2(const struct bank_proc *b, const char *pan, char out[4])
{
    struct pay_buf text;
    pay_buf_init(&text, 65536);
    out[0] = '\0';
    const char *line =
        h_paygate(&text, "bank demo-cards --data-dir %s/data%s", b->dir, b->db_flag) == 0
            ? strstr(pay_buf_str(&text), pan)
            : NULL;
    const char *c = line ? strstr(line, "cvv2 ") : NULL;
    if (c)
        snprintf(out, 4, "%.3s", c + 5);
    pay_buf_fini(&text);
    return strlen(out) == 3 ? 0 : -1;
}
