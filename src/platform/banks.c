/* The banks the platform integrates, from the INI file:
 *   [platform] banks = icbc,abc
 *   [bank.icbc] name, protocol (paygate-bank), gateway_url, api_url, mer_id, mer_acct,
 *               key_file, cert_file, bank_cert_file, ca_file, allow_private, unionpay (a card
 *               network acquirer: the cashier offers 银联卡支付 through it)
 * The bank's signing certificate is checked against its CA (CN = bank code) at start-up. */
#include "platform/connector.h"
#include "platform/platform.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/timeutil.h"
#include "crypto/x509.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return NULL;
    char *buf = calloc(1, 65537);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (buf && n == 65536) {
        free(buf);
        return NULL;
    }
    return buf;
}

static enum pay_err load_file(const struct pay_config *c, const char *sec, const char *key,
                              char **out, struct pay_error *err)
{
    const char *path = pay_config_get(c, sec, key, NULL);
    *out = slurp(path);
    if (!*out)
        return pay_config_error(c, sec, key, err, "cannot read %s", path ? path : "(not set)");
    return PAY_ERR_OK;
}

/* [sec] key (absent: dflt) into dst; CONFIG_INVALID naming the line when it does not fit. */
static enum pay_err cfg_copy(const struct pay_config *c, const char *sec, const char *key,
                             const char *dflt, char *dst, size_t n, struct pay_error *err)
{
    if (pay_str_copy(dst, n, pay_config_get(c, sec, key, dflt)))
        return PAY_ERR_OK;
    return pay_config_error(c, sec, key, err, "longer than %zu bytes", n - 1);
}

static enum pay_err load_bank(struct pay_platform_bank *b, const struct pay_config *c,
                              const char *code, struct pay_error *err)
{
    static const char *const keys[] = {
        "name",    "name_en",       "protocol", "gateway_url", "api_url",
        "mer_id",  "mer_acct",      "key_file", "cert_file",   "bank_cert_file",
        "ca_file", "allow_private", "unionpay", NULL};
    char sec[64];
    snprintf(sec, sizeof sec, "bank.%s", code);
    pay_str_copy(b->code, sizeof b->code, code);
    enum pay_err e = pay_config_check_keys(c, sec, keys, err);
    if (e != PAY_ERR_OK)
        return e;
    const char *proto = pay_config_get(c, sec, "protocol", "paygate-bank");
    if (strcmp(proto, pay_connector_paygate_bank.protocol) != 0)
        return pay_config_error(c, sec, "protocol", err, "unknown protocol %s", proto);
    b->conn = &pay_connector_paygate_bank;
    if ((e = cfg_copy(c, sec, "name", code, b->name, sizeof b->name, err)) != PAY_ERR_OK ||
        (e = cfg_copy(c, sec, "name_en", "", b->name_en, sizeof b->name_en, err)) != PAY_ERR_OK ||
        (e = cfg_copy(c, sec, "gateway_url", "", b->gateway_url, sizeof b->gateway_url, err)) !=
            PAY_ERR_OK ||
        (e = cfg_copy(c, sec, "api_url", b->gateway_url, b->api_url, sizeof b->api_url, err)) !=
            PAY_ERR_OK ||
        (e = cfg_copy(c, sec, "mer_id", "", b->mer_id, sizeof b->mer_id, err)) != PAY_ERR_OK ||
        (e = cfg_copy(c, sec, "mer_acct", "", b->mer_acct, sizeof b->mer_acct, err)) != PAY_ERR_OK)
        return e;
    if (!b->gateway_url[0] || !b->mer_id[0] || !b->mer_acct[0])
        return pay_config_error(c, sec, "gateway_url", err,
                                "gateway_url, mer_id and mer_acct are required");
    if ((e = pay_config_get_bool(c, sec, "allow_private", false, &b->allow_private, err)) !=
            PAY_ERR_OK ||
        (e = pay_config_get_bool(c, sec, "unionpay", false, &b->unionpay, err)) != PAY_ERR_OK ||
        (e = load_file(c, sec, "key_file", &b->key_pem, err)) != PAY_ERR_OK ||
        (e = load_file(c, sec, "cert_file", &b->cert_pem, err)) != PAY_ERR_OK ||
        (e = load_file(c, sec, "bank_cert_file", &b->bank_cert_pem, err)) != PAY_ERR_OK ||
        (e = load_file(c, sec, "ca_file", &b->ca_pem, err)) != PAY_ERR_OK)
        return e;
    if (pay_x509_verify(b->bank_cert_pem, b->ca_pem, b->code, pay_clock_real_ms() / 1000, NULL,
                        err) != PAY_ERR_OK)
        return pay_config_error(c, sec, "bank_cert_file", err, "not the bank's certificate: %s",
                                err->detail);
    return PAY_ERR_OK;
}

enum pay_err pay_platform_banks_load(struct pay_platform_settings *s, const struct pay_config *c,
                                     struct pay_error *err)
{
    const char *list = pay_config_get(c, "platform", "banks", "");
    char buf[256];
    if (!pay_str_copy(buf, sizeof buf, list))
        return pay_config_error(c, "platform", "banks", err, "longer than %zu bytes",
                                sizeof buf - 1);
    size_t n = buf[0] ? 1 : 0;
    for (char *q = buf; *q; q++)
        n += *q == ',';
    if (n == 0)
        return PAY_ERR_OK;
    s->banks = calloc(n, sizeof *s->banks);
    if (!s->banks)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    char *save = NULL;
    for (char *code = strtok_r(buf, ",", &save); code; code = strtok_r(NULL, ",", &save)) {
        enum pay_err e = load_bank(&s->banks[s->n_banks++], c, code, err);
        if (e != PAY_ERR_OK)
            return e;
    }
    return PAY_ERR_OK;
}

void pay_platform_banks_free(struct pay_platform_bank *banks, size_t n)
{
    for (size_t i = 0; banks && i < n; i++) {
        free(banks[i].key_pem);
        free(banks[i].cert_pem);
        free(banks[i].bank_cert_pem);
        free(banks[i].ca_pem);
    }
    free(banks);
}

const struct pay_platform_bank *pay_platform_bank_find(const struct pay_platform *p,
                                                       const char *code)
{
    for (size_t i = 0; code && i < p->set.n_banks; i++)
        if (strcmp(p->set.banks[i].code, code) == 0)
            return &p->set.banks[i];
    return NULL;
}
