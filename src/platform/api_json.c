/* The open API's JSON, shared by every file of the platform (answers, notifications, pages):
 * money, times and a trade as docs/api.md shows them, the check that refuses unknown members
 * and the shape of merchants' own ids. It calls nothing else of the platform, so any file may
 * use it without tying itself to another (docs/hacking.md, "Platform routes"). */
#include "platform/platform.h"

#include "core/money.h"
#include "core/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

json_t *pay_platform_money_json(int64_t minor, const char *currency)
{
    char text[PAY_MONEY_TEXT_MAX + 1];
    if (pay_money_format(minor, currency, text, sizeof text) < 0)
        return NULL;
    return json_pack("{s:s, s:s}", "value", text, "currency", currency);
}

json_t *pay_platform_time_json(int64_t ms)
{
    char text[PAY_TIME_TEXT_MAX];
    if (ms <= 0 || pay_time_format_rfc3339(ms, text) < 0)
        return json_null();
    return json_string(text);
}

enum pay_err pay_platform_json_only_fields(json_t *o, const char *const *allowed,
                                           const char *prefix, struct pay_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], k) == 0;
        if (!ok) {
            char field[sizeof err->field];
            snprintf(field, sizeof field, "%s%s", prefix, k);
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, field, "unknown field");
        }
    }
    return PAY_ERR_OK;
}

bool pay_platform_api_token_valid(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
            return false;
    return true;
}

json_t *pay_platform_trade_json(const struct pay_platform_trade *t)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "trade_id", t->id, "merchant_id", t->merchant_id, "out_trade_no", t->out_trade_no, "amount",
        pay_platform_money_json(t->amount_minor, t->currency), "subject", t->subject, "product",
        t->product, "state", t->state, "notify_url", t->notify_url, "return_url", t->return_url,
        "created_at", pay_platform_time_json(t->created_ms), "expires_at",
        pay_platform_time_json(t->expire_ms), "paid_at", pay_platform_time_json(t->paid_ms),
        "closed_at", pay_platform_time_json(t->closed_ms), "fee",
        pay_platform_money_json(t->fee_minor, t->currency), "refunded",
        pay_platform_money_json(t->refunded_minor, t->currency), "finished_at",
        pay_platform_time_json(t->finished_ms));
    if (o && t->pay_method[0])
        json_object_set_new(o, "pay_method", json_string(t->pay_method));
    if (o && t->close_reason[0])
        json_object_set_new(o, "close_reason", json_string(t->close_reason));
    if (o && t->risk_review[0]) /* its payment was held for a risk review (docs/risk.md) */
        json_object_set_new(o, "risk_review", json_string(t->risk_review));
    if (o && strcmp(t->product, "escrow") == 0) /* the shipment and the escrow's deadlines */
        json_object_update_new(o, json_pack("{s:o, s:o, s:o, s:s, s:s}", "ship_by",
                                            pay_platform_time_json(t->ship_due_ms), "shipped_at",
                                            pay_platform_time_json(t->shipped_ms), "confirm_by",
                                            pay_platform_time_json(t->confirm_due_ms),
                                            "logistics_company", t->logistics_company,
                                            "tracking_no", t->tracking_no));
    return o;
}
