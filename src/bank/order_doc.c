/* The B2C order document (tranData): base64 of a JSON object signed by the merchant's
 * certificate key (merSignMsg over the exact decoded bytes). Checked in the order of
 * docs/bank.md: certificate, signature, fields, contract, merURL domain, Referer. */
#include "bank/bank.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "http/codec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pay_bank_id_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= max &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") == n;
}

static enum pay_err get_str(json_t *o, const char *k, bool req, char *out, size_t n,
                            struct pay_error *err)
{
    json_t *v = json_object_get(o, k);
    if (!v) {
        out[0] = '\0';
        return req ? pay_error_set(err, PAY_ERR_FIELD_MISSING, k, "%s is required", k) : PAY_ERR_OK;
    }
    if (!json_is_string(v))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, k, "%s must be a string", k);
    if (json_string_length(v) >= n)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, k, "%s is too long", k);
    pay_str_copy(out, n, json_string_value(v));
    return PAY_ERR_OK;
}

static enum pay_err check_known(json_t *o, struct pay_error *err)
{
    static const char *const known[] = {
        "interfaceName", "interfaceVersion", "orderId", "orderDate",  "amount",     "currency",
        "merID",         "merAcct",          "merURL",  "notifyType", "resultType", "merVAR",
        "goodsName",     "returnURL",        NULL};
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = strcmp(known[i], key) == 0;
        if (!ok)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "tranData", "unknown field %.40s",
                                 key);
    }
    return PAY_ERR_OK;
}

static enum pay_err doc_fields(json_t *o, struct pay_bank_order_doc *d, struct pay_error *err)
{
    char iname[32], iver[8];
    enum pay_err rc = check_known(o, err);
#define STR(k, dst, req)                                                                           \
    if (rc == PAY_ERR_OK)                                                                          \
    rc = get_str(o, k, req, dst, sizeof dst, err)
    STR("interfaceName", iname, true);
    STR("interfaceVersion", iver, true);
    STR("orderId", d->order_id, true);
    STR("orderDate", d->order_date, true);
    STR("currency", d->currency, true);
    STR("merAcct", d->mer_acct, true);
    STR("merURL", d->mer_url, true);
    STR("notifyType", d->notify_type, true);
    STR("resultType", d->result_type, true);
    STR("merVAR", d->mer_var, false);
    STR("goodsName", d->goods_name, true);
    STR("returnURL", d->return_url, false);
#undef STR
    if (rc != PAY_ERR_OK)
        return rc;
    if (strcmp(iname, "PAYGATE_B2C_PAY") != 0 || strcmp(iver, "1.0") != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "interfaceName",
                             "interface must be PAYGATE_B2C_PAY 1.0");
    if (!pay_bank_id_ok(d->order_id, PAY_MERCHANT_ID_FIELD_MAX))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "orderId", "1-64 of [A-Za-z0-9_.:-]");
    if (strlen(d->order_date) != 14 || strspn(d->order_date, "0123456789") != 14)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "orderDate", "YYYYMMDDhhmmss");
    json_t *amt = json_object_get(o, "amount");
    if (!amt)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "amount", "amount is required");
    if (!json_is_integer(amt))
        return pay_error_set(err, PAY_ERR_AMOUNT_INVALID, "amount",
                             "amount must be an integer count of minor units");
    d->amount_minor = (int64_t)json_integer_value(amt);
    if (d->amount_minor <= 0)
        return pay_error_set(err, PAY_ERR_AMOUNT_NOT_POSITIVE, "amount", NULL);
    if (d->amount_minor > PAY_AMOUNT_MAX_MINOR)
        return pay_error_set(err, PAY_ERR_AMOUNT_TOO_LARGE, "amount", NULL);
    if (pay_currency_lookup(d->currency) < 0)
        return pay_error_set(err, PAY_ERR_CURRENCY_UNKNOWN, "currency", NULL);
    if (strcmp(d->notify_type, "HS") != 0 && strcmp(d->notify_type, "AG") != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "notifyType", "HS or AG");
    if (strcmp(d->result_type, "0") != 0 && strcmp(d->result_type, "1") != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "resultType", "0 or 1");
    if (!d->goods_name[0])
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "goodsName", "goodsName is empty");
    return PAY_ERR_OK;
}

/* Decodes standard base64 text into a NUL-terminated heap buffer (caller frees). */
static char *b64_dup(const char *text, size_t max, size_t *len)
{
    if (!text)
        return NULL;
    char *out = malloc(max + 1);
    if (!out)
        return NULL;
    if (pay_base64_decode(out, max, text, strlen(text), len) != 0) {
        free(out);
        return NULL;
    }
    out[*len] = '\0';
    return out;
}

static enum pay_err check_urls(const struct pay_bank_order_doc *d,
                               const struct pay_bank_merchant *m, const char *referer,
                               struct pay_error *err)
{
    struct pay_url u;
    enum pay_err rc = pay_url_parse(d->mer_url, "merURL", &u, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!pay_bank_domain_match(u.host, m->notify_domain))
        return pay_error_set(err, PAY_ERR_URL_FORBIDDEN, "merURL",
                             "merURL host %.100s is outside the contract's domain", u.host);
    if (d->return_url[0] && pay_url_parse(d->return_url, "returnURL", &u, err) != PAY_ERR_OK)
        return err->code;
    if (!referer || !referer[0]) {
        if (m->allow_no_referer)
            return PAY_ERR_OK;
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "Referer",
                             "the order did not come from the merchant's site (no Referer)");
    }
    if (pay_url_parse(referer, "Referer", &u, err) != PAY_ERR_OK ||
        !pay_bank_domain_match(u.host, m->referrer_domain))
        return pay_error_set(err, PAY_ERR_FORBIDDEN, "Referer",
                             "the order did not come from the merchant's site");
    return PAY_ERR_OK;
}

static enum pay_err verify_parsed(struct pay_bank *b, struct pay_store_tx *tx, json_t *o,
                                  const char *raw, size_t raw_len, const char *sign_msg,
                                  const char *cert_pem, const char *referer,
                                  struct pay_bank_order_doc *d, struct pay_bank_merchant *m,
                                  struct pay_error *err)
{
    enum pay_err rc = get_str(o, "merID", true, d->mer_id, sizeof d->mer_id, err);
    if (rc != PAY_ERR_OK)
        return rc;
    rc = pay_bank_cert_check(b, tx, cert_pem, d->mer_id, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!sign_msg || pay_x509_verify_data(cert_pem, raw, raw_len, sign_msg) != 0)
        return pay_error_set(err, PAY_ERR_SIGNATURE_INVALID, "merSignMsg",
                             "the order's signature does not verify");
    rc = doc_fields(o, d, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_merchant_get(tx, d->mer_id, m, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (strcmp(d->mer_acct, m->account_id) != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "merAcct",
                             "merAcct is not the contract's account");
    if (strcmp(d->currency, PAY_BANK_CURRENCY) != 0)
        return pay_error_set(err, PAY_ERR_CURRENCY_MISMATCH, "currency",
                             "this bank accepts %s only", PAY_BANK_CURRENCY);
    return check_urls(d, m, referer, err);
}

enum pay_err pay_bank_order_verify(struct pay_bank *b, struct pay_store_tx *tx,
                                   const char *tran_data, const char *sign_msg,
                                   const char *mer_cert, const char *referer,
                                   struct pay_bank_order_doc *d, struct pay_bank_merchant *m,
                                   struct pay_error *err)
{
    memset(d, 0, sizeof *d);
    size_t raw_len = 0, pem_len = 0;
    char *raw = b64_dup(tran_data, PAY_BANK_TRAN_DATA_MAX, &raw_len);
    if (!raw)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "tranData", "tranData is not base64");
    char *pem = b64_dup(mer_cert, PAY_BANK_CERT_PEM_MAX, &pem_len);
    if (!pem) {
        free(raw);
        return pay_error_set(err, PAY_ERR_CERT_INVALID, "merCert", "merCert is not base64");
    }
    json_t *o = NULL;
    enum pay_err rc = pay_json_decode(raw, raw_len, &o, err);
    if (rc != PAY_ERR_OK)
        snprintf(err->field, sizeof err->field, "tranData");
    else
        rc = verify_parsed(b, tx, o, raw, raw_len, sign_msg, pem, referer, d, m, err);
    json_decref(o);
    free(raw);
    free(pem);
    return rc;
}
