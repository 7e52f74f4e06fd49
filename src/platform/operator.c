/* The operator API: onboarding merchants over HTTP (the same checks as `paygate platform
 * merchant add`). Enabled only when [platform] operator_token is set; every call carries
 * `Authorization: Bearer <token>` (compared in constant time). Its answers are signed with the
 * platform key like every API answer (pay_platform_sign_answer). */
#include "platform/platform.h"

#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"

static enum pay_err auth(struct pay_http_request *req, struct pay_platform *p,
                         struct pay_error *err)
{
    const char *h = pay_http_req_header(req, "Authorization");
    size_t n = strlen(p->set.operator_token);
    if (n == 0 || !h || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) != n ||
        !pay_ct_equal(h + 7, p->set.operator_token, n)) {
        pay_platform_audit_event(
            p, &(struct pay_audit_entry){.actor = "operator",
                                         .action = "operator.api",
                                         .target = pay_http_req_path(req),
                                         .outcome = pay_err_name(PAY_ERR_UNAUTHENTICATED),
                                         .source = pay_http_req_remote_ip(req)});
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "Authorization", NULL);
    }
    return PAY_ERR_OK;
}

/* A string member of at most max bytes: absent -> *out = NULL (FIELD_MISSING when
 * required). */
static enum pay_err str_member(json_t *o, const char *k, bool required, size_t max,
                               const char **out, struct pay_error *err)
{
    json_t *v = json_object_get(o, k);
    *out = json_is_string(v) ? json_string_value(v) : NULL;
    if (!v)
        return required ? pay_error_set(err, PAY_ERR_FIELD_MISSING, k, NULL) : PAY_ERR_OK;
    if (!*out)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, k, "must be a string");
    if (json_string_length(v) > max)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, k, "at most %zu bytes", max);
    return PAY_ERR_OK;
}

/* notify_hosts: ["a.example", "b.example"] -> "a.example,b.example" */
static enum pay_err hosts(json_t *o, struct pay_platform_merchant *m, struct pay_error *err)
{
    json_t *a = json_object_get(o, "notify_hosts"), *v;
    size_t i, used = 0;
    if (!a)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "notify_hosts", NULL);
    if (!json_is_array(a) || json_array_size(a) == 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "notify_hosts",
                             "a non-empty array of host names");
    json_array_foreach(a, i, v)
    {
        int w = json_is_string(v) ? snprintf(m->notify_hosts + used, sizeof m->notify_hosts - used,
                                             "%s%s", used ? "," : "", json_string_value(v))
                                  : -1;
        if (w < 0 || (size_t)w >= sizeof m->notify_hosts - used)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "notify_hosts",
                                 "an array of host names");
        used += (size_t)w;
    }
    return PAY_ERR_OK;
}

/* The body into *m (strings checked, the key normalised); the rules on values are
 * pay_platform_merchant_add's. */
static enum pay_err merchant_parse(json_t *o, struct pay_platform_merchant *m,
                                   struct pay_error *err)
{
    static const char *const keys[] = {
        "id",     "name",        "public_key",     "notify_hosts",
        "fee_bp", "settle_bank", "settle_account", "escrow_confirm_timeout",
        NULL};
    const char *id, *name, *key, *bank, *account, *confirm;
    json_t *fee = json_object_get(o, "fee_bp");
    enum pay_err e;
    if ((e = pay_platform_json_only_fields(o, keys, "", err)) != PAY_ERR_OK ||
        (e = str_member(o, "id", true, PAY_PLATFORM_MERCHANT_ID_MAX, &id, err)) != PAY_ERR_OK ||
        (e = str_member(o, "name", true, sizeof m->name - 1, &name, err)) != PAY_ERR_OK ||
        (e = str_member(o, "public_key", true, PAY_HTTP_BODY_MAX, &key, err)) != PAY_ERR_OK ||
        (e = str_member(o, "settle_bank", false, sizeof m->settle_bank - 1, &bank, err)) !=
            PAY_ERR_OK ||
        (e = str_member(o, "settle_account", false, sizeof m->settle_account - 1, &account, err)) !=
            PAY_ERR_OK ||
        (e = str_member(o, "escrow_confirm_timeout", false, 16, &confirm, err)) != PAY_ERR_OK ||
        (e = hosts(o, m, err)) != PAY_ERR_OK)
        return e;
    if (confirm && pay_time_parse_duration_ms(confirm, &m->escrow_confirm_ms, err) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "escrow_confirm_timeout",
                             "a duration such as 10d");
    if (fee && !json_is_integer(fee))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "fee_bp", "an integer");
    if (fee)
        m->fee_bp = (int64_t)json_integer_value(fee);
    pay_str_copy(m->id, sizeof m->id, id);
    pay_str_copy(m->name, sizeof m->name, name);
    pay_str_copy(m->settle_bank, sizeof m->settle_bank, bank ? bank : "");
    pay_str_copy(m->settle_account, sizeof m->settle_account, account ? account : "");
    return pay_platform_merchant_key_set(m, key, err);
}

/* The merchant as the operator API shows it: notify_hosts an array, as it was sent. */
static json_t *merchant_json(const struct pay_platform_merchant *m)
{
    json_t *hosts = json_array();
    for (const char *s = m->notify_hosts; hosts && *s;) {
        size_t len = strcspn(s, ",");
        json_array_append_new(hosts, json_stringn(s, len));
        s += len + (s[len] == ',');
    }
    return json_pack("{s:s, s:s, s:o, s:I, s:s, s:s}", "id", m->id, "name", m->name, "notify_hosts",
                     hosts, "fee_bp", (json_int_t)m->fee_bp, "key_alg",
                     m->alg == PAY_SIG_ED25519 ? "ed25519" : "rsa", "status", "active");
}

static enum pay_err h_add(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    enum pay_err e = auth(req, p, err);
    json_t *o = pay_http_req_json(req);
    if (e != PAY_ERR_OK)
        return e;
    if (!o)
        return pay_error_set(err, PAY_ERR_JSON_INVALID, "", "the body must be a JSON object");
    struct pay_platform_merchant m = {.fee_bp = p->set.default_fee_bp, .settle_days = 1};
    e = merchant_parse(o, &m, err);
    if (e == PAY_ERR_OK)
        e = pay_platform_merchant_add(p, &m, err);
    PAY_INFO("operator.merchant_add", "merchant=%s result=%s", m.id, pay_err_name(e));
    if (e == PAY_ERR_OK)
        pay_http_respond_json(req, 201, merchant_json(&m));
    pay_platform_merchant_fini(&m);
    return e;
}

const struct pay_http_route *pay_platform_operator_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"POST", "/operator/v1/merchants", PAY_HTTP_API, PAY_HTTP_BODY_JSON, h_add, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
