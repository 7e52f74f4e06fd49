/* The operator API: onboarding merchants over HTTP (the same checks as `paygate platform
 * merchant add`). Enabled only when [platform] operator_token is set; every call carries
 * `Authorization: Bearer <token>` (compared in constant time). */
#include "platform/platform.h"

#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static enum pay_err auth(struct pay_http_request *req, struct pay_platform *p,
                         struct pay_error *err)
{
    const char *h = pay_http_req_header(req, "Authorization");
    size_t n = strlen(p->set.operator_token);
    if (n == 0 || !h || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) != n ||
        !pay_ct_equal(h + 7, p->set.operator_token, n))
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "Authorization", NULL);
    return PAY_ERR_OK;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* notify_hosts: ["a.example", "b.example"] -> "a.example,b.example" */
static enum pay_err hosts(json_t *o, struct pay_platform_merchant *m, struct pay_error *err)
{
    json_t *a = json_object_get(o, "notify_hosts"), *v;
    size_t i, used = 0;
    if (!json_is_array(a) || json_array_size(a) == 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "notify_hosts",
                             "a non-empty array of host names");
    json_array_foreach(a, i, v)
    {
        int w = json_is_string(v) ? snprintf(m->notify_hosts + used, sizeof m->notify_hosts - used,
                                             "%s%s", used ? "," : "", json_string_value(v))
                                  : -1;
        if (w < 0 || (size_t)w >= sizeof m->notify_hosts - used)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "notify_hosts", NULL);
        used += (size_t)w;
    }
    return PAY_ERR_OK;
}

static enum pay_err h_add(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e = auth(req, p, err);
    json_t *o = pay_http_req_json(req);
    if (e != PAY_ERR_OK)
        return e;
    if (!o)
        return pay_error_set(err, PAY_ERR_JSON_INVALID, "", NULL);
    struct pay_platform_merchant m = {.fee_bp = p->set.default_fee_bp};
    const char *id = jstr(o, "id"), *name = jstr(o, "name"), *key = jstr(o, "public_key");
    json_t *fee = json_object_get(o, "fee_bp");
    if (!id || !name || !key)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING,
                             !id     ? "id"
                             : !name ? "name"
                                     : "public_key",
                             NULL);
    if (fee && !json_is_integer(fee))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "fee_bp", "an integer");
    if (fee)
        m.fee_bp = (int64_t)json_integer_value(fee);
    snprintf(m.id, sizeof m.id, "%s", id);
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.settle_bank, sizeof m.settle_bank, "%s",
             jstr(o, "settle_bank") ? jstr(o, "settle_bank") : "");
    snprintf(m.settle_account, sizeof m.settle_account, "%s",
             jstr(o, "settle_account") ? jstr(o, "settle_account") : "");
    m.alg = strncmp(key, "-----BEGIN", 10) == 0 ? PAY_SIG_RSA_SHA256 : PAY_SIG_ED25519;
    if ((e = hosts(o, &m, err)) != PAY_ERR_OK)
        return e;
    m.public_key = strdup(key);
    e = m.public_key ? pay_platform_merchant_add(p, &m, err)
                     : pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    PAY_INFO("operator.merchant_add", "merchant=%s result=%s", m.id, pay_err_name(e));
    if (e == PAY_ERR_OK)
        pay_http_respond_json(
            req, 201,
            json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "id", m.id, "name", m.name, "notify_hosts",
                      m.notify_hosts, "fee_bp", (json_int_t)m.fee_bp, "key_alg",
                      m.alg == PAY_SIG_ED25519 ? "ed25519" : "rsa", "status", "active"));
    pay_platform_merchant_fini(&m);
    return e;
}

enum pay_err pay_platform_operator_routes_add(struct pay_platform *p, struct pay_error *err)
{
    const struct pay_http_route routes[] = {
        {"POST", "/operator/v1/merchants", PAY_HTTP_API, PAY_HTTP_BODY_JSON, h_add, p},
    };
    return pay_http_server_add_routes(p->http, routes, 1, err);
}
