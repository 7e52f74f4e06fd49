/* The connector for paygate's own sandbox bank (docs/bank.md): B2C order form (tranData,
 * merSignMsg, merCert), HS notifications (notifyData, signMsg), and the refund API signed
 * with PAYGATE-RSA-SHA256 by our merchant certificate's key. */
#include "platform/connector.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "crypto/x509.h"
#include "http/client.h"
#include "http/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Base64 of a NUL-terminated text; heap, caller frees. */
static char *b64(const char *s)
{
    size_t n = strlen(s), cap = PAY_BASE64_LEN(n);
    char *out = malloc(cap);
    if (out && pay_base64_encode(out, cap, s, n) != 0) {
        free(out);
        out = NULL;
    }
    return out;
}

static enum pay_err gateway_form(const struct pay_platform_bank *b, const char *order_id,
                                 int64_t amount_minor, const char *currency, const char *goods,
                                 const char *notify_url, const char *return_url,
                                 const char *mer_var, char *action, json_t **fields,
                                 struct pay_error *err)
{
    char date[16];
    time_t now = (time_t)(pay_clock_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y%m%d%H%M%S", &tm);
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
        "s:s}",
        "interfaceName", "PAYGATE_B2C_PAY", "interfaceVersion", "1.0", "orderId", order_id,
        "orderDate", date, "amount", (json_int_t)amount_minor, "currency", currency, "merID",
        b->mer_id, "merAcct", b->mer_acct, "merURL", notify_url, "notifyType", "HS", "resultType",
        "0", "merVAR", mer_var, "goodsName", goods, "returnURL", return_url);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    char sig[1024];
    char *tran = text ? b64(text) : NULL, *cert = b64(b->cert_pem);
    bool ok = tran && cert && pay_x509_sign(b->key_pem, text, strlen(text), sig, sizeof sig) == 0;
    *fields = ok ? json_pack("{s:s, s:s, s:s, s:s, s:s}", "interfaceName", "PAYGATE_B2C_PAY",
                             "interfaceVersion", "1.0", "tranData", tran, "merSignMsg", sig,
                             "merCert", cert)
                 : NULL;
    free(text);
    free(tran);
    free(cert);
    if (!*fields)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot sign the order for %s", b->code);
    if (snprintf(action, PAY_URL_MAX + 1, "%s/b2c/pay", b->gateway_url) > PAY_URL_MAX)
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "gateway_url", "too long");
    return PAY_ERR_OK;
}

/* The string field k of o into dst (absent or not a string: ""); false when it is too long
 * (a cut id would name another order). */
static bool cpy(char *dst, size_t n, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return pay_str_copy(dst, n, json_is_string(v) ? json_string_value(v) : "");
}

static enum pay_err parse_notice(const struct pay_platform_bank *b, const struct pay_form *f,
                                 struct pay_bank_notice *out, struct pay_error *err)
{
    const char *data = pay_form_get(f, "notifyData"), *sig = pay_form_get(f, "signMsg");
    if (!data || !sig)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, data ? "signMsg" : "notifyData", NULL);
    size_t n = strlen(data), len = 0;
    char *raw = malloc(n + 1);
    if (!raw || pay_base64_decode(raw, n, data, n, &len) != 0) {
        free(raw);
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "notifyData", "not base64");
    }
    raw[len] = '\0';
    /* The bank's certificate was checked against its CA at start-up (banks.c). */
    if (pay_x509_verify_data(b->bank_cert_pem, raw, len, sig) != 0) {
        free(raw);
        return pay_error_set(err, PAY_ERR_SIGNATURE_INVALID, "signMsg", NULL);
    }
    json_t *o = json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (!json_is_object(o)) {
        json_decref(o);
        return pay_error_set(err, PAY_ERR_JSON_INVALID, "notifyData", NULL);
    }
    char mer[65], status[16];
    bool fit = cpy(mer, sizeof mer, o, "merID") & cpy(status, sizeof status, o, "tranStatus") &
               cpy(out->order_id, sizeof out->order_id, o, "orderId") &
               cpy(out->serial, sizeof out->serial, o, "tranSerialNo") &
               cpy(out->notify_id, sizeof out->notify_id, o, "notifyId") &
               cpy(out->currency, sizeof out->currency, o, "currency");
    if (!fit) {
        json_decref(o);
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "notifyData",
                             "a field of the notice is longer than any of ours");
    }
    json_t *amt = json_object_get(o, "amount");
    out->amount_minor = json_is_integer(amt) ? (int64_t)json_integer_value(amt) : -1;
    out->success = strcmp(status, "SUCCESS") == 0;
    json_decref(o);
    if (strcmp(mer, b->mer_id) != 0 || out->amount_minor <= 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "notifyData", "not our order");
    return PAY_ERR_OK;
}

/* The bank's error, as our registry's code when it names one (CARD_INVALID, LOCKED, ...). */
static enum pay_err bank_error(const struct pay_platform_bank *b, long status, json_t *o,
                               struct pay_error *err)
{
    json_t *c = json_object_get(json_object_get(o, "error"), "code");
    json_t *m = json_object_get(json_object_get(o, "error"), "message");
    const char *name = json_is_string(c) ? json_string_value(c) : "";
    for (int i = 1; i < PAY_ERR__COUNT; i++)
        if (strcmp(pay_err_name((enum pay_err)i), name) == 0 && i != PAY_ERR_INTERNAL)
            return pay_error_set(err, (enum pay_err)i, "", "%s: %.150s", b->name,
                                 json_is_string(m) ? json_string_value(m) : name);
    return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "bank %s answered %ld", b->code, status);
}

/* Checks the bank's Paygate-Signature on an answer: RSA-SHA256 by the bank's signing
 * certificate (checked against its CA at start-up) over the canonical response string bound
 * to our request's nonce, with a fresh timestamp. */
static enum pay_err verify_answer(const struct pay_platform_bank *b,
                                  const struct pay_http_client_response *r,
                                  const char *request_nonce, struct pay_error *err)
{
    char hv[PAY_SIG_HEADER_MAX];
    const char *h = pay_http_client_response_header(r, PAY_SIG_RESPONSE_HEADER, hv, sizeof hv);
    struct pay_sig_header sh;
    if (!h || pay_sig_header_parse(h, strlen(h), &sh, err) != PAY_ERR_OK ||
        sh.alg != PAY_SIG_RSA_SHA256 || strcmp(sh.key_id, b->code) != 0)
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "bank %s: unsigned answer", b->code);
    int64_t now = pay_clock_real_ms() / 1000;
    if (sh.ts < now - PAY_SIGNATURE_WINDOW_S || sh.ts > now + PAY_SIGNATURE_WINDOW_S)
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "bank %s: stale answer", b->code);
    char canon[PAY_SIG_CANONICAL_MAX], sig64[PAY_BASE64_LEN(PAY_RSA_SIG_MAX)];
    int n =
        pay_sig_canonical_response(canon, sizeof canon, (int)r->status, sh.ts, sh.nonce,
                                   request_nonce, r->body.data ? r->body.data : "", r->body.len);
    if (n < 0 || pay_base64_encode(sig64, sizeof sig64, sh.sig, sh.sig_len) != 0 ||
        pay_x509_verify_data(b->bank_cert_pem, canon, (size_t)n, sig64) != 0)
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "bank %s: bad answer signature",
                             b->code);
    return PAY_ERR_OK;
}

/* Sends a request to the bank's API signed with our certificate's key (body "" for a GET)
 * and checks the answer's signature; r is the caller's (fini it). */
static enum pay_err api_call(const struct pay_platform_bank *b, const char *method,
                             const char *path, const char *body, size_t response_max,
                             struct pay_http_client_response *r, struct pay_error *err)
{
    struct pay_rsa_key *k = NULL;
    if (pay_rsa_key_from_pem(b->key_pem, strlen(b->key_pem), &k) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "bad key for bank %s", b->code);
    char nonce[PAY_SIG_NONCE_MAX + 1], sig[PAY_SIG_HEADER_MAX], auth[PAY_SIG_HEADER_MAX + 32];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, b->mer_id, NULL, k};
    enum pay_err e = pay_sig_sign_request(&s, method, path, body, strlen(body),
                                          pay_clock_real_ms() / 1000, nonce, sig, sizeof sig, err);
    pay_rsa_key_free(k);
    if (e != PAY_ERR_OK)
        return e;
    snprintf(auth, sizeof auth, "Authorization: %s", sig);
    const char *headers[] = {auth, body[0] ? "Content-Type: application/json" : NULL, NULL};
    char url[PAY_URL_MAX + 64];
    snprintf(url, sizeof url, "%s%s", b->api_url, path);
    struct pay_http_client_options opt = {.allow_private_addresses = b->allow_private,
                                          .response_max = response_max};
    e = pay_http_client_request(method, url, headers, body, strlen(body), &opt, r, err);
    if (e == PAY_ERR_OK)
        e = verify_answer(b, r, nonce, err);
    return e;
}

/* POSTs a JSON body to the bank's API; *out is the answer's object (caller decrefs). */
static enum pay_err api_post(const struct pay_platform_bank *b, const char *path, const char *body,
                             json_t **out, struct pay_error *err)
{
    struct pay_http_client_response r = {0};
    enum pay_err e = api_call(b, "POST", path, body, 0, &r, err);
    if (e == PAY_ERR_OK) {
        *out = json_loads(pay_buf_str(&r.body), 0, NULL);
        if (r.status != 200)
            e = bank_error(b, r.status, *out, err);
    }
    pay_http_client_response_fini(&r);
    return e;
}

static enum pay_err refund(const struct pay_platform_bank *b, const char *order_id,
                           const char *refund_id, int64_t amount_minor, struct pay_error *err)
{
    json_t *req = json_pack("{s:s, s:s, s:I}", "orderId", order_id, "refundId", refund_id, "amount",
                            (json_int_t)amount_minor);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    json_t *out = NULL;
    enum pay_err e = api_post(b, "/api/v1/refunds", body, &out, err);
    free(body);
    json_t *st = json_object_get(out, "status");
    if (e == PAY_ERR_OK && !(json_is_string(st) && strcmp(json_string_value(st), "SUCCESS") == 0))
        e = pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "bank refund not successful");
    json_decref(out);
    return e;
}

/* Posts req (consumed) and returns the answer object (caller decrefs). */
static enum pay_err call(const struct pay_platform_bank *b, const char *path, json_t *req,
                         json_t **out, struct pay_error *err)
{
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    *out = NULL;
    if (!body)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    enum pay_err e = api_post(b, path, body, out, err);
    pay_wipe(body, strlen(body)); /* may hold a card number */
    free(body);
    return e;
}

static enum pay_err out_str(json_t *o, const char *k, char *dst, size_t n, struct pay_error *err)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= n)
        return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "bank answer lacks %s", k);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return PAY_ERR_OK;
}

static enum pay_err card_verify(const struct pay_platform_bank *b, const char *card_no,
                                const char *expiry, const char *cvv2, char *verification_id,
                                struct pay_error *err)
{
    json_t *out = NULL;
    enum pay_err e = call(
        b, "/api/v1/cards/verify",
        json_pack("{s:s, s:s, s:s}", "cardNo", card_no, "expiry", expiry, "cvv2", cvv2), &out, err);
    if (e == PAY_ERR_OK)
        e = out_str(out, "verificationId", verification_id, PAY_MERCHANT_ID_FIELD_MAX + 1, err);
    json_decref(out);
    return e;
}

static enum pay_err card_confirm(const struct pay_platform_bank *b, const char *verification_id,
                                 const char *sms_code, char *token, char *bin, char *last4,
                                 struct pay_error *err)
{
    json_t *out = NULL;
    enum pay_err e = call(
        b, "/api/v1/cards/confirm",
        json_pack("{s:s, s:s}", "verificationId", verification_id, "smsCode", sms_code), &out, err);
    if (e == PAY_ERR_OK)
        e = out_str(out, "agreementToken", token, PAY_MERCHANT_ID_FIELD_MAX + 1, err);
    if (e == PAY_ERR_OK)
        e = out_str(out, "cardBin", bin, 7, err);
    if (e == PAY_ERR_OK)
        e = out_str(out, "cardLast4", last4, 5, err);
    json_decref(out);
    return e;
}

static enum pay_err agreement_debit(const struct pay_platform_bank *b, const char *token,
                                    const char *order_id, int64_t amount_minor,
                                    const char *currency, const char *goods, struct pay_error *err)
{
    json_t *out = NULL;
    enum pay_err e = call(b, "/api/v1/agreements/debit",
                          json_pack("{s:s, s:s, s:I, s:s, s:s}", "agreementToken", token, "orderId",
                                    order_id, "amount", (json_int_t)amount_minor, "currency",
                                    currency, "goodsName", goods),
                          &out, err);
    json_t *st = json_object_get(out, "status");
    if (e == PAY_ERR_OK && !(json_is_string(st) && strcmp(json_string_value(st), "PAID") == 0))
        e = pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "bank debit not PAID");
    json_decref(out);
    return e;
}

static enum pay_err transfer(const struct pay_platform_bank *b, const char *transfer_id,
                             const char *agreement_token, const char *to_account,
                             int64_t amount_minor, const char *currency, struct pay_error *err)
{
    json_t *out = NULL;
    enum pay_err e =
        call(b, "/api/v1/transfers",
             json_pack("{s:s, s:s, s:s, s:I, s:s}", "transferId", transfer_id, "fromAccount",
                       b->mer_acct, agreement_token ? "agreementToken" : "toAccount",
                       agreement_token ? agreement_token : to_account, "amount",
                       (json_int_t)amount_minor, "currency", currency),
             &out, err);
    json_t *st = json_object_get(out, "status");
    if (e == PAY_ERR_OK && !(json_is_string(st) && strcmp(json_string_value(st), "SUCCESS") == 0))
        e = pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "bank transfer not SUCCESS");
    json_decref(out);
    return e;
}

static enum pay_err witness_cosign(const struct pay_platform_bank *b, json_t *req, json_t **out,
                                   struct pay_error *err)
{
    return call(b, "/api/v1/witness/cosign", req, out, err);
}

/* GET /api/v1/statement-file?date=D: the signed CSV, kept byte for byte. */
static enum pay_err statement_file(const struct pay_platform_bank *b, const char *date,
                                   struct pay_buf *out, struct pay_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/statement-file?date=%.10s", date);
    struct pay_http_client_response r = {0};
    enum pay_err e = api_call(b, "GET", path, "", PAY_STATEMENT_FILE_MAX, &r, err);
    if (e == PAY_ERR_OK && r.status != 200) {
        json_t *o = json_loads(pay_buf_str(&r.body), 0, NULL);
        e = bank_error(b, r.status, o, err);
        json_decref(o);
    }
    if (e == PAY_ERR_OK && pay_buf_append(out, r.body.data ? r.body.data : "", r.body.len) != 0)
        e = pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "", "bank %s: statement too large",
                          b->code);
    pay_http_client_response_fini(&r);
    return e;
}

const struct pay_platform_connector pay_connector_paygate_bank = {
    "paygate-bank", gateway_form,    parse_notice, refund,         card_verify,
    card_confirm,   agreement_debit, transfer,     witness_cosign, statement_file};
