/* libpaygate: a merchant's direct contract with a paygate bank (docs/bank.md): the signed B2C
 * order form (tranData, merSignMsg, merCert), the bank's notification check, and the signed
 * refund API. The merchant's certificate and key come from `paygate bank merchant add`. */
#include "sdk/internal.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "crypto/sign.h"
#include "crypto/x509.h"
#include "http/client.h"
#include "http/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct paygate_bank {
    char url[512];
    char mer_id[72];
    char mer_acct[72];
    char *key_pem;
    char *cert_pem;
    char *bank_cert_pem;
    struct pay_rsa_key *key;
    struct pay_http_client_options http;
};

void paygate_bank_free(paygate_bank *b)
{
    if (!b)
        return;
    if (b->key_pem)
        pay_wipe(b->key_pem, strlen(b->key_pem));
    free(b->key_pem);
    free(b->cert_pem);
    free(b->bank_cert_pem);
    pay_rsa_key_free(b->key);
    free(b);
}

static char *read_in(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return pay_file_read(path, 1 << 20, NULL);
}

static int load_files(paygate_bank *b, const paygate_bank_config *cfg, paygate_error *err)
{
    b->key_pem = read_in(cfg->merchant_dir, "merchant.key");
    b->cert_pem = read_in(cfg->merchant_dir, "merchant.crt");
    char *js = read_in(cfg->merchant_dir, "merchant.json");
    b->bank_cert_pem = pay_file_read(cfg->bank_cert_file, 1 << 20, NULL);
    json_t *j = js ? json_loads(js, 0, NULL) : NULL;
    free(js);
    pay_sdk_str(j, "merID", b->mer_id, sizeof b->mer_id);
    pay_sdk_str(j, "merAcct", b->mer_acct, sizeof b->mer_acct);
    json_decref(j);
    if (!b->key_pem || !b->cert_pem || !b->bank_cert_pem || !b->mer_id[0] || !b->mer_acct[0])
        return pay_sdk_fail(err, PAYGATE_ERR_IO, 0, NULL,
                            "cannot read merchant.key/.crt/.json in %s or %s", cfg->merchant_dir,
                            cfg->bank_cert_file);
    if (pay_rsa_key_from_pem(b->key_pem, strlen(b->key_pem), &b->key) != 0)
        return pay_sdk_fail(err, PAYGATE_ERR_IO, 0, NULL, "merchant.key is not an RSA key");
    if (cfg->ca_file) {
        char *ca = pay_file_read(cfg->ca_file, 1 << 20, NULL);
        struct pay_error e = {0};
        enum pay_err ve =
            ca ? pay_x509_verify(b->bank_cert_pem, ca, cfg->bank_code ? cfg->bank_code : "",
                                 (int64_t)time(NULL), NULL, &e)
               : PAY_ERR_CERT_INVALID;
        free(ca);
        if (ve != PAY_ERR_OK)
            return pay_sdk_fail(err, PAYGATE_ERR_SIGNATURE, 0, "CERT_INVALID",
                                "bank certificate not issued by %s for %s: %s", cfg->ca_file,
                                cfg->bank_code ? cfg->bank_code : "", e.detail);
    }
    return PAYGATE_OK;
}

paygate_bank *paygate_bank_new(const paygate_bank_config *cfg, paygate_error *err)
{
    if (!cfg || !cfg->gateway_url || !cfg->merchant_dir || !cfg->bank_cert_file ||
        strlen(cfg->gateway_url) >= 512) {
        pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL,
                     "gateway_url, merchant_dir and bank_cert_file needed");
        return NULL;
    }
    if (pay_crypto_init() != 0) {
        pay_sdk_fail(err, PAYGATE_ERR_INTERNAL, 0, NULL, "crypto init failed");
        return NULL;
    }
    paygate_bank *b = calloc(1, sizeof *b);
    if (!b) {
        pay_sdk_fail(err, PAYGATE_ERR_INTERNAL, 0, NULL, "out of memory");
        return NULL;
    }
    pay_str_copy(b->url, sizeof b->url, cfg->gateway_url);
    size_t n = strlen(b->url);
    while (n > 0 && b->url[n - 1] == '/')
        b->url[--n] = '\0';
    b->http.total_timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
    b->http.allow_private_addresses = cfg->allow_loopback != 0;
    if (load_files(b, cfg, err) != PAYGATE_OK) {
        paygate_bank_free(b);
        return NULL;
    }
    return b;
}

static char *b64(const char *s, size_t len)
{
    size_t cap = (len + 2) / 3 * 4 + 1;
    char *out = malloc(cap);
    if (out && pay_base64_encode(out, cap, s, len) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* The order document in the field order of docs/bank.md. Heap JSON text. */
static char *order_doc(const paygate_bank *b, const paygate_bank_order *o)
{
    char date[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y%m%d%H%M%S", &tm);
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "interfaceName",
                          "PAYGATE_B2C_PAY", "interfaceVersion", "1.0", "orderId", o->order_id,
                          "orderDate", date, "amount", (json_int_t)o->amount, "currency",
                          o->currency ? o->currency : "CNY", "merID", b->mer_id, "merAcct",
                          b->mer_acct, "merURL", o->notify_url, "notifyType", "HS", "resultType",
                          "0", "merVAR", o->mer_var ? o->mer_var : "", "goodsName", o->goods_name);
    if (d && o->return_url && *o->return_url)
        json_object_set_new(d, "returnURL", json_string(o->return_url));
    char *text = d ? json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(d);
    return text;
}

char *paygate_bank_order_form(paygate_bank *b, const paygate_bank_order *o, paygate_error *err)
{
    if (!b || !o || !o->order_id || !o->goods_name || !o->notify_url || o->amount <= 0) {
        pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "order_id, amount, goods_name, notify_url");
        return NULL;
    }
    char *doc = order_doc(b, o);
    char sig[1024];
    char *tran = doc ? b64(doc, strlen(doc)) : NULL;
    char *cert = b64(b->cert_pem, strlen(b->cert_pem));
    int ok =
        doc && tran && cert && pay_x509_sign(b->key_pem, doc, strlen(doc), sig, sizeof sig) == 0;
    struct pay_buf h;
    pay_buf_init(&h, 1 << 20);
    if (ok) {
        ok = pay_buf_puts(&h, "<form id=\"paygate-bank-form\" method=\"post\" "
                              "data-autosubmit=\"1\" action=\"") == 0 &&
             pay_html_escape(&h, b->url) == 0 &&
             pay_buf_printf(&h,
                            "/b2c/pay\">\n<input type=\"hidden\" name=\"interfaceName\" "
                            "value=\"PAYGATE_B2C_PAY\">\n<input type=\"hidden\" "
                            "name=\"interfaceVersion\" value=\"1.0\">\n<input type=\"hidden\" "
                            "name=\"tranData\" value=\"%s\">\n<input type=\"hidden\" "
                            "name=\"merSignMsg\" value=\"%s\">\n<input type=\"hidden\" "
                            "name=\"merCert\" value=\"%s\">\n<button type=\"submit\" "
                            "id=\"to-bank\">Continue to the bank</button>\n</form>\n",
                            tran, sig, cert) == 0;
    }
    free(doc);
    free(tran);
    free(cert);
    if (!ok) {
        pay_buf_fini(&h);
        pay_sdk_fail(err, PAYGATE_ERR_INTERNAL, 0, NULL, "cannot build the order form");
        return NULL;
    }
    return pay_buf_steal(&h);
}

static int parse_notify(paygate_bank *b, const char *data, size_t dlen, int64_t expected,
                        paygate_bank_notification *out, paygate_error *err)
{
    json_t *j = json_loadb(data, dlen, 0, NULL);
    char mer[72];
    pay_sdk_str(j, "merID", mer, sizeof mer);
    pay_sdk_str(j, "orderId", out->order_id, sizeof out->order_id);
    pay_sdk_str(j, "tranSerialNo", out->tran_serial_no, sizeof out->tran_serial_no);
    pay_sdk_str(j, "notifyId", out->notify_id, sizeof out->notify_id);
    pay_sdk_str(j, "tranStatus", out->status, sizeof out->status);
    pay_sdk_str(j, "currency", out->currency, sizeof out->currency);
    pay_sdk_str(j, "merVAR", out->mer_var, sizeof out->mer_var);
    json_t *amt = json_object_get(j, "amount");
    out->amount = json_is_integer(amt) ? (int64_t)json_integer_value(amt) : -1;
    json_decref(j);
    if (strcmp(mer, b->mer_id) != 0)
        return pay_sdk_fail(err, PAYGATE_ERR_MISMATCH, 400, "MERCHANT_MISMATCH",
                            "notification for merID %s", mer);
    if (out->amount <= 0 || !out->order_id[0] || !out->notify_id[0])
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 400, "FIELD_INVALID", "notifyData incomplete");
    if (expected > 0 && out->amount != expected)
        return pay_sdk_fail(err, PAYGATE_ERR_MISMATCH, 400, "AMOUNT_MISMATCH",
                            "amount %lld, expected %lld", (long long)out->amount,
                            (long long)expected);
    PAY_ASSERT(out->amount > 0 && (expected <= 0 || out->amount == expected));
    return PAYGATE_OK;
}

int paygate_bank_notify_verify(paygate_bank *b, const void *body, size_t len,
                               int64_t expected_amount, paygate_bank_notification *out,
                               paygate_error *err)
{
    if (!b || !body || !out)
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "bank, body, out needed");
    memset(out, 0, sizeof *out);
    struct pay_form f = {0};
    if (pay_form_decode(body, len, &f, NULL) != PAY_ERR_OK)
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 400, "FORM_INVALID", "body is not a form");
    const char *nd = pay_form_get(&f, "notifyData"), *sm = pay_form_get(&f, "signMsg");
    size_t cap = nd ? strlen(nd) + 4 : 0, dlen = 0;
    char *data = cap ? malloc(cap) : NULL;
    int rc;
    if (!nd || !sm || !data || pay_base64_decode(data, cap, nd, strlen(nd), &dlen) != 0)
        rc = pay_sdk_fail(err, PAYGATE_ERR_SIGNATURE, 400, "SIGNATURE_MISSING",
                          "notifyData or signMsg missing");
    else if (pay_x509_verify_data(b->bank_cert_pem, data, dlen, sm) != 0)
        rc = pay_sdk_fail(err, PAYGATE_ERR_SIGNATURE, 401, "SIGNATURE_INVALID",
                          "signMsg does not verify with the bank's certificate");
    else
        rc = parse_notify(b, data, dlen, expected_amount, out, err);
    free(data);
    pay_form_fini(&f);
    return rc;
}

/* Checks the bank's Paygate-Signature (RSA, by the key of its certificate) over the answer. */
static int check_bank_answer(const paygate_bank *b, struct pay_http_client_response *r,
                             const char *nonce, paygate_error *err)
{
    char hv[PAY_SIG_HEADER_MAX + 1], canon[PAY_SIG_CANONICAL_MAX], sig64[1024];
    const char *h = pay_http_client_response_header(r, PAY_SIG_RESPONSE_HEADER, hv, sizeof hv);
    struct pay_sig_header sh;
    if (!h || pay_sig_header_parse(h, strlen(h), &sh, NULL) != PAY_ERR_OK ||
        sh.alg != PAY_SIG_RSA_SHA256)
        return pay_sdk_fail(err, PAYGATE_ERR_SIGNATURE, (int)r->status, "SIGNATURE_MISSING",
                            "bank answer not signed");
    int64_t now = (int64_t)time(NULL);
    if (sh.ts < now - PAY_SIGNATURE_WINDOW_S || sh.ts > now + PAY_SIGNATURE_WINDOW_S)
        return pay_sdk_fail(err, PAYGATE_ERR_STALE, (int)r->status, "TIMESTAMP_STALE",
                            "bank answer stale");
    int n = pay_sig_canonical_response(canon, sizeof canon, (int)r->status, sh.ts, sh.nonce, nonce,
                                       r->body.data, r->body.len);
    if (n < 0 || pay_base64_encode(sig64, sizeof sig64, sh.sig, sh.sig_len) < 0 ||
        pay_x509_verify_data(b->bank_cert_pem, canon, (size_t)n, sig64) != 0)
        return pay_sdk_fail(err, PAYGATE_ERR_SIGNATURE, (int)r->status, "SIGNATURE_INVALID",
                            "bank answer signature invalid");
    return PAYGATE_OK;
}

/* One signed JSON call to the bank's API; *out receives the parsed 200 answer. */
static int bank_call(paygate_bank *b, const char *target, json_t *req, json_t **out,
                     paygate_error *err)
{
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    char nonce[PAY_SIG_NONCE_MAX + 1], sig[PAY_SIG_HEADER_MAX + 1];
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {.alg = PAY_SIG_RSA_SHA256, .key_id = b->mer_id, .rsa = b->key};
    if (!body || pay_sig_sign_request(&s, "POST", target, body, strlen(body), (int64_t)time(NULL),
                                      nonce, sig, sizeof sig, NULL) != PAY_ERR_OK) {
        free(body);
        return pay_sdk_fail(err, PAYGATE_ERR_INTERNAL, 0, NULL, "cannot sign the request");
    }
    char auth[PAY_SIG_HEADER_MAX + 32], url[1200];
    snprintf(auth, sizeof auth, "Authorization: %s", sig);
    snprintf(url, sizeof url, "%s%s", b->url, target);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    struct pay_http_client_response r = {0};
    struct pay_error e = {0};
    int rc;
    if (pay_http_client_request("POST", url, headers, body, strlen(body), &b->http, &r, &e) !=
        PAY_ERR_OK)
        rc = pay_sdk_fail(err, PAYGATE_ERR_NETWORK, 0, pay_err_name(e.code), "bank %s: %s", target,
                          e.detail);
    else if ((rc = check_bank_answer(b, &r, nonce, err)) == PAYGATE_OK) {
        json_t *j = json_loads(pay_buf_str(&r.body), 0, NULL);
        if (r.status != 200) {
            json_t *eo = json_object_get(j, "error");
            rc = pay_sdk_fail(err, PAYGATE_ERR_REFUSED, (int)r.status,
                              json_string_value(json_object_get(eo, "code")), "%s",
                              pay_buf_str(&r.body));
            json_decref(j);
        } else
            *out = j;
    }
    pay_http_client_response_fini(&r);
    free(body);
    return rc;
}

int paygate_bank_refund(paygate_bank *b, const char *order_id, const char *refund_id,
                        int64_t amount, paygate_error *err)
{
    if (!b || !order_id || !refund_id || amount <= 0)
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "order_id, refund_id, amount");
    json_t *req = json_pack("{s:s,s:s,s:I}", "orderId", order_id, "refundId", refund_id, "amount",
                            (json_int_t)amount);
    json_t *ans = NULL;
    int rc = bank_call(b, "/api/v1/refunds", req, &ans, err);
    json_decref(req);
    json_decref(ans);
    return rc;
}

int paygate_bank_query(paygate_bank *b, const char *order_id, paygate_bank_order_status *out,
                       paygate_error *err)
{
    if (!b || !order_id || !out)
        return pay_sdk_fail(err, PAYGATE_ERR_ARG, 0, NULL, "order_id and out needed");
    memset(out, 0, sizeof *out);
    json_t *req = json_pack("{s:s}", "orderId", order_id);
    json_t *ans = NULL;
    int rc = bank_call(b, "/api/v1/orders/query", req, &ans, err);
    json_decref(req);
    if (rc == PAYGATE_OK) {
        pay_sdk_str(ans, "orderId", out->order_id, sizeof out->order_id);
        pay_sdk_str(ans, "status", out->status, sizeof out->status);
        pay_sdk_str(ans, "currency", out->currency, sizeof out->currency);
        pay_sdk_str(ans, "tranSerialNo", out->tran_serial_no, sizeof out->tran_serial_no);
        out->amount = (int64_t)json_integer_value(json_object_get(ans, "amount"));
        out->refunded = (int64_t)json_integer_value(json_object_get(ans, "refundedAmount"));
    }
    json_decref(ans);
    return rc;
}
