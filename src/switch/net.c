/* The card network's message layer (net.h): fields, response codes, sealed card data and
 * signed calls, shared by the switch and the banks. */
#include "switch/net.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "http/client.h"
#include "http/codec.h"
#include "http/server.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- response codes ------------------------------------------------------------------------ */

static const struct pay_net_rc rcs[] = {
    {"00", "approved"},
    {"05", "do not honour"},
    {"12", "invalid transaction"},
    {"13", "invalid amount"},
    {"14", "invalid card number"},
    {"25", "unable to locate the original transaction"},
    {"30", "format error"},
    {"51", "insufficient funds"},
    {"54", "expired card"},
    {"55", "incorrect verification code"},
    {"57", "transaction not permitted to the cardholder"},
    {"58", "transaction not permitted to the acquirer"},
    {"75", "too many verification tries; the card is locked"},
    {"91", "issuer or switch inoperative"},
    {"92", "unable to route the transaction"},
    {"94", "duplicate transmission"},
    {"96", "system malfunction"},
    {"N7", "card data mismatch (expiry, CVN2, name or phone)"},
};

const struct pay_net_rc *pay_net_rc_table(size_t *n)
{
    *n = sizeof rcs / sizeof rcs[0];
    return rcs;
}

const char *pay_net_rc_text(const char *code)
{
    for (size_t i = 0; code && i < sizeof rcs / sizeof rcs[0]; i++)
        if (strcmp(rcs[i].code, code) == 0)
            return rcs[i].text;
    return NULL;
}

/* --- fields -------------------------------------------------------------------------------- */

bool pay_net_trace_valid(const char *s)
{
    return s && strlen(s) == PAY_NET_TRACE_LEN && strspn(s, "0123456789") == PAY_NET_TRACE_LEN;
}

bool pay_net_code_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 2 && n <= PAY_NET_CODE_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

const char *pay_net_str(const json_t *m, const char *k, size_t max, struct pay_error *e)
{
    json_t *v = json_object_get(m, k);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
        pay_error_set(e, v ? PAY_ERR_FIELD_INVALID : PAY_ERR_FIELD_MISSING, k,
                      "%s must be a string of 1-%zu characters", k, max);
        return NULL;
    }
    return json_string_value(v);
}

const char *pay_net_trace(const json_t *m, const char *k, struct pay_error *e)
{
    const char *s = pay_net_str(m, k, PAY_NET_TRACE_LEN, e);
    if (s && !pay_net_trace_valid(s)) {
        pay_error_set(e, PAY_ERR_FIELD_INVALID, k, "%s must be %d digits", k, PAY_NET_TRACE_LEN);
        return NULL;
    }
    return s;
}

bool pay_net_amount(const json_t *m, const char *k, int64_t *out, struct pay_error *e)
{
    json_t *v = json_object_get(m, k);
    if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
        json_integer_value(v) > PAY_AMOUNT_MAX_MINOR) {
        pay_error_set(e, PAY_ERR_AMOUNT_INVALID, k,
                      "%s must be an integer number of minor units, 1..%lld", k,
                      (long long)PAY_AMOUNT_MAX_MINOR);
        return false;
    }
    *out = (int64_t)json_integer_value(v);
    return true;
}

static const char *sv(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

void pay_net_fingerprint(const json_t *m, char out[PAY_SHA256_HEX_LEN])
{
    struct pay_buf b;
    pay_buf_init(&b, 4096);
    json_t *amount = json_object_get(m, "de4");
    int rc = pay_buf_printf(&b, "%s|%s|%lld|%s|%s|%s|%s|%s", sv(m, "mti"), sv(m, "de3"),
                            json_is_integer(amount) ? (long long)json_integer_value(amount) : -1LL,
                            sv(m, "de49"), sv(m, "de42"), sv(m, "de90"),
                            sv(json_object_get(m, "de2"), "token"),
                            sv(json_object_get(m, "de61"), "verificationId"));
    pay_sha256_hex(out, rc == 0 ? pay_buf_str(&b) : "", rc == 0 ? b.len : 0);
    pay_buf_fini(&b);
}

void pay_net_date(int64_t ms, char out[PAY_NET_DATE_LEN])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, PAY_NET_DATE_LEN, "%Y-%m-%d", &tm);
}

bool pay_net_date_parse(const char *s, int64_t *day_ms)
{
    int y, m, d;
    char tail;
    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1970 ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    char back[PAY_NET_DATE_LEN];
    pay_net_date(ms, back);
    if (strcmp(back, s) != 0) /* 2026-02-30 */
        return false;
    *day_ms = ms;
    return true;
}

int64_t pay_net_clearing_net(bool acquired, bool refund, int64_t amount, int64_t interchange,
                             int64_t fee)
{
    PAY_ASSERT(amount > 0 && amount <= PAY_AMOUNT_MAX_MINOR && interchange >= 0 && fee >= 0 &&
               interchange <= amount && fee <= amount);
    int64_t net = 0;
    if (refund)
        PAY_ASSERT(pay_money_sub(0, acquired ? amount : 0, &net) == PAY_ERR_OK &&
                   pay_money_add(net, acquired ? 0 : amount, &net) == PAY_ERR_OK);
    else
        PAY_ASSERT(pay_money_sub(acquired ? amount : interchange, acquired ? interchange : amount,
                                 &net) == PAY_ERR_OK &&
                   pay_money_sub(net, fee, &net) == PAY_ERR_OK);
    return net;
}

/* --- card data ----------------------------------------------------------------------------- */

void pay_net_card_wipe(struct pay_net_card *c)
{
    pay_wipe(c, sizeof *c);
}

bool pay_net_luhn_valid(const char *pan)
{
    size_t n = strlen(pan);
    if (n < 13 || n > 19 || strspn(pan, "0123456789") != n)
        return false;
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = pan[n - 1 - i] - '0';
        if (i % 2 == 1 && (d *= 2) > 9)
            d -= 9;
        sum += d;
    }
    return sum % 10 == 0;
}

/* "MM/YY", "MMYY" or "MM / YY" into YYMM; -1 when it is none of these. */
static int expiry_yymm(const char *in, char out[5])
{
    char d[5];
    size_t n = 0;
    for (const char *p = in; p && *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n == 4)
                return -1;
            d[n++] = *p;
        } else if (*p != '/' && *p != ' ') {
            return -1;
        }
    }
    int month = n == 4 ? (d[0] - '0') * 10 + (d[1] - '0') : 0;
    if (month < 1 || month > 12)
        return -1;
    snprintf(out, 5, "%c%c%c%c", d[2], d[3], d[0], d[1]);
    return 0;
}

const char *pay_net_card_read(const char *no, const char *exp, const char *cvn2,
                              struct pay_net_card *c)
{
    memset(c, 0, sizeof *c);
    size_t n = 0;
    for (const char *p = no; p && *p && n < sizeof c->pan; p++)
        if (*p != ' ' && *p != '-')
            c->pan[n++] = *p;
    if (!no || n >= sizeof c->pan || !pay_net_luhn_valid((c->pan[n] = '\0', c->pan))) {
        pay_net_card_wipe(c);
        return N_("This is not a valid card number.");
    }
    if (!exp || expiry_yymm(exp, c->exp) != 0)
        return N_("Enter the card's expiry date as MM/YY.");
    if (!cvn2 || strlen(cvn2) != 3 || strspn(cvn2, "0123456789") != 3)
        return N_("Enter the 3-digit CVN2 from the back of the card.");
    memcpy(c->cvn2, cvn2, 4);
    return NULL;
}

enum pay_err pay_net_card_seal(const uint8_t pk[PAY_SEAL_PK_LEN], const char *context,
                               const struct pay_net_card *c, char **out, struct pay_error *e)
{
    json_t *j = json_pack("{s:s}", "pan", c->pan);
    if (j && c->exp[0])
        json_object_set_new(j, "exp", json_string(c->exp));
    if (j && c->cvn2[0])
        json_object_set_new(j, "cvn2", json_string(c->cvn2));
    if (j && c->name[0])
        json_object_set_new(j, "name", json_string(c->name));
    if (j && c->phone[0])
        json_object_set_new(j, "phone", json_string(c->phone));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    size_t n = text ? strlen(text) : 0;
    *out = text ? malloc(PAY_SEAL_TEXT_LEN(n)) : NULL;
    enum pay_err rc = PAY_ERR_OK;
    if (!*out || pay_seal(pk, context, text, n, *out, PAY_SEAL_TEXT_LEN(n)) != 0) {
        free(*out);
        *out = NULL;
        rc = pay_error_set(e, PAY_ERR_INTERNAL, "de2", "cannot seal the card data");
    }
    if (text) {
        pay_wipe(text, n);
        free(text);
    }
    return rc;
}

static bool copy_field(json_t *o, const char *k, char *dst, size_t n, const char *charset,
                       size_t min)
{
    json_t *v = json_object_get(o, k);
    if (!v)
        return min == 0;
    size_t len = json_is_string(v) ? json_string_length(v) : n;
    if (len < min || len >= n || (charset && strspn(json_string_value(v), charset) != len))
        return false;
    memcpy(dst, json_string_value(v), len + 1);
    return true;
}

enum pay_err pay_net_card_open(const struct pay_seal_key *k, const char *context,
                               const char *sealed, struct pay_net_card *c, struct pay_error *e)
{
    char pt[PAY_SEAL_PLAIN_MAX + 1];
    size_t n = 0;
    memset(c, 0, sizeof *c);
    if (!sealed || pay_seal_open(k, context, sealed, pt, sizeof pt, &n) != 0)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de2",
                             "the card data is not sealed to us for this message");
    json_t *j = json_loadb(pt, n, JSON_REJECT_DUPLICATES, NULL);
    pay_wipe(pt, sizeof pt);
    static const char digits[] = "0123456789";
    bool ok = json_is_object(j) && copy_field(j, "pan", c->pan, sizeof c->pan, digits, 13) &&
              copy_field(j, "exp", c->exp, sizeof c->exp, digits, 0) &&
              copy_field(j, "cvn2", c->cvn2, sizeof c->cvn2, digits, 0) &&
              copy_field(j, "name", c->name, sizeof c->name, NULL, 0) &&
              copy_field(j, "phone", c->phone, sizeof c->phone, "+0123456789", 0) &&
              pay_net_luhn_valid(c->pan) && (!c->exp[0] || strlen(c->exp) == 4) &&
              (!c->cvn2[0] || strlen(c->cvn2) == 3);
    json_decref(j); /* jansson's own copies of the strings are freed, not wiped: short-lived */
    if (!ok) {
        pay_net_card_wipe(c);
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de2",
                             "the sealed card data is not a card number with expiry and CVN2");
    }
    return PAY_ERR_OK;
}

/* --- signed calls -------------------------------------------------------------------------- */

/* Checks the peer's Paygate-Signature over the answer, bound to our request's nonce. */
static enum pay_err verify_answer(const struct pay_net_peer *p,
                                  const struct pay_http_client_response *r,
                                  const char *request_nonce, struct pay_error *e)
{
    char hv[PAY_SIG_HEADER_MAX];
    const char *h = pay_http_client_response_header(r, PAY_SIG_RESPONSE_HEADER, hv, sizeof hv);
    struct pay_sig_header sh;
    struct pay_error pe = {0};
    if (!h || pay_sig_header_parse(h, strlen(h), &sh, &pe) != PAY_ERR_OK ||
        sh.alg != PAY_SIG_RSA_SHA256 || strcmp(sh.key_id, p->peer_key_id) != 0)
        return pay_error_set(e, PAY_ERR_UPSTREAM_FAILED, "", "%s: unsigned answer (HTTP %ld)",
                             p->peer_key_id, r->status);
    int64_t now = pay_clock_real_ms() / 1000;
    if (sh.ts < now - PAY_SIGNATURE_WINDOW_S || sh.ts > now + PAY_SIGNATURE_WINDOW_S)
        return pay_error_set(e, PAY_ERR_UPSTREAM_FAILED, "", "%s: stale answer", p->peer_key_id);
    char canon[PAY_SIG_CANONICAL_MAX], sig64[PAY_BASE64_LEN(PAY_RSA_SIG_MAX)];
    int n =
        pay_sig_canonical_response(canon, sizeof canon, (int)r->status, sh.ts, sh.nonce,
                                   request_nonce, r->body.data ? r->body.data : "", r->body.len);
    if (n < 0 || pay_base64_encode(sig64, sizeof sig64, sh.sig, sh.sig_len) != 0 ||
        pay_x509_verify_data(p->peer_cert_pem, canon, (size_t)n, sig64) != 0)
        return pay_error_set(e, PAY_ERR_UPSTREAM_FAILED, "", "%s: bad answer signature",
                             p->peer_key_id);
    return PAY_ERR_OK;
}

enum pay_err pay_net_call(const struct pay_net_peer *p, const char *path, const char *body,
                          long *status, json_t **answer, struct pay_error *e)
{
    *status = 0;
    *answer = NULL;
    const char *method = body ? "POST" : "GET";
    size_t len = body ? strlen(body) : 0;
    char nonce[PAY_SIG_NONCE_MAX + 1], sig[PAY_SIG_HEADER_MAX], auth[PAY_SIG_HEADER_MAX + 32];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, p->key_id, NULL, p->key};
    enum pay_err rc = pay_sig_sign_request(&s, method, path, body ? body : "", len,
                                           pay_clock_real_ms() / 1000, nonce, sig, sizeof sig, e);
    if (rc != PAY_ERR_OK)
        return rc;
    snprintf(auth, sizeof auth, "Authorization: %s", sig);
    const char *headers[] = {auth, body ? "Content-Type: application/json" : NULL, NULL};
    char url[PAY_URL_MAX + 256];
    if (snprintf(url, sizeof url, "%s%s", p->base_url, path) >= (int)sizeof url)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "url", "URL too long");
    long timeout = p->timeout_ms > 0 ? p->timeout_ms : PAY_NET_CALL_TIMEOUT_MS;
    struct pay_http_client_options opt = {.total_timeout_ms = timeout,
                                          .connect_timeout_ms =
                                              timeout < PAY_CLIENT_CONNECT_TIMEOUT_MS ? timeout : 0,
                                          .response_max = p->response_max,
                                          .allow_private_addresses = p->allow_private};
    struct pay_http_client_response r;
    memset(&r, 0, sizeof r);
    rc = pay_http_client_request(method, url, headers, body, len, &opt, &r, e);
    if (rc == PAY_ERR_OK)
        rc = verify_answer(p, &r, nonce, e);
    if (rc == PAY_ERR_OK) {
        *answer =
            json_loadb(r.body.data ? r.body.data : "", r.body.len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(*answer)) {
            json_decref(*answer);
            *answer = NULL;
            rc = pay_error_set(e, PAY_ERR_UPSTREAM_FAILED, "", "%s: answer is not JSON",
                               p->peer_key_id);
        }
        *status = r.status;
    }
    pay_http_client_response_fini(&r);
    return rc;
}

/* --- the serving side ---------------------------------------------------------------------- */

enum pay_err pay_net_request_check(struct pay_http_request *req, const struct pay_sig_verifier *v,
                                   char key_id[PAY_SIG_KEY_ID_MAX + 1], json_t **body,
                                   struct pay_error *e)
{
    *body = NULL;
    size_t len = 0;
    const char *raw = pay_http_req_body(req, &len);
    struct pay_sig_header h;
    enum pay_err rc = pay_sig_verify_request(v, pay_http_req_header(req, PAY_SIG_REQUEST_HEADER),
                                             pay_http_req_method(req), pay_http_req_target(req),
                                             raw, len, pay_clock_real_ms() / 1000, &h, e);
    if (rc != PAY_ERR_OK)
        return e->code ? e->code : pay_error_set(e, rc, "", NULL);
    pay_str_copy(key_id, PAY_SIG_KEY_ID_MAX + 1, h.key_id);
    if (strcmp(pay_http_req_method(req), "POST") != 0)
        return PAY_ERR_OK;
    if (!pay_http_req_is_json(req))
        return pay_error_set(e, PAY_ERR_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
                             "send the body as application/json");
    rc = pay_json_decode(raw, len, body, e);
    if (rc == PAY_ERR_OK && !json_is_object(*body)) {
        json_decref(*body);
        *body = NULL;
        rc = pay_error_set(e, PAY_ERR_JSON_INVALID, "", "the message must be a JSON object");
    }
    return rc;
}

void pay_net_reply_text(struct pay_http_request *req, const char *json_text)
{
    pay_http_respond_bytes(req, 200, "application/json", json_text, strlen(json_text));
}

void pay_net_reply(struct pay_http_request *req, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (!text) {
        pay_http_respond_code(req, PAY_ERR_INTERNAL);
        return;
    }
    pay_http_respond_bytes(req, status, "application/json", text, strlen(text));
    free(text);
}

void pay_net_fail(struct pay_http_request *req, const struct pay_error *e)
{
    pay_http_respond_error(req, e); /* the one error path; signed by the server's hook */
}

enum pay_err pay_net_cert_key_lookup(void *ctx, const char *key_id, struct pay_sig_pubkey *out)
{
    const struct pay_net_cert_key *k = ctx;
    if (!k->key || strcmp(key_id, k->code) != 0)
        return PAY_ERR_SIGNATURE_INVALID;
    memset(out, 0, sizeof *out);
    out->alg = PAY_SIG_RSA_SHA256;
    out->rsa = k->key;
    return PAY_ERR_OK;
}
