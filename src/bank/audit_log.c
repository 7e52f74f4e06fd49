/* The bank's audit trail (docs/audit.md): appends signed with the bank's RSA signing key, events
 * recorded on their own, the start-up entry that notes configuration changes. The admin page
 * that shows it is admin_audit.c (the admin pages call this file; it calls none of them). */
#include "bank/bank.h"

#include "audit/audit_page.h"
#include "core/log.h"
#include "http/server.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

enum pay_err pay_bank_audit(struct pay_bank *b, struct pay_store_tx *tx,
                            const struct pay_audit_entry *e, struct pay_error *err)
{
    return pay_audit_append(tx, &b->audit_signer, e, NULL, err);
}

void pay_bank_audit_event(struct pay_bank *b, const struct pay_audit_entry *e)
{
    struct pay_error err = {0};
    if (pay_audit_record(b->store, &b->audit_signer, e, &err) != PAY_ERR_OK)
        PAY_ERROR("audit.write_failed", "action=%s err=%s detail=%s", e->action,
                  pay_err_name(err.code), err.detail);
}

void pay_bank_audit_refused(struct pay_bank *b, struct pay_http_request *req, const char *action,
                            enum pay_err code)
{
    char target[PAY_AUDIT_TEXT_MAX + 1];
    snprintf(target, sizeof target, "%.*s", PAY_AUDIT_TEXT_MAX, pay_http_req_path(req));
    pay_bank_audit_event(b, &(struct pay_audit_entry){.actor = "admin",
                                                      .action = action,
                                                      .target = target,
                                                      .outcome = pay_err_name(code),
                                                      .source = pay_http_req_remote_ip(req)});
}

/* What the bank runs with, as text: every option but the secrets (the admin token counts only
 * as set or not) and the listening address (tests pick a new port each start). */
static void options_sha256(const struct pay_bank_options *o, char out[PAY_SHA256_HEX_LEN])
{
    char text[4096];
    int n = snprintf(text, sizeof text,
                     "name=%s\nname_en=%s\ncode=%s\nbin=%s\nbrand_color=%s\nweb_root=%s\n"
                     "admin_token=%s\ndemo_data=%d\nfast_hash=%d\nallow_private_notify=%d\n"
                     "notify_timeout_ms=%" PRId64 "\nsms_ttl_ms=%" PRId64 "\nretry_ms=",
                     o->name, o->name_en, o->code, o->bin, o->brand_color, o->web_root,
                     o->admin_token[0] ? "set" : "unset", o->demo_data, o->fast_hash,
                     o->allow_private_notify, o->notify_timeout_ms, o->sms_ttl_ms);
    for (size_t i = 0; i < o->retry_n && n > 0 && (size_t)n < sizeof text; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%" PRId64 ",", o->retry_ms[i]);
    pay_sha256_hex(out, text, n > 0 && (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

static enum pay_err start_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_bank *b = ctx;
    char config[PAY_SHA256_HEX_LEN];
    options_sha256(&b->opt, config);
    return pay_audit_start_tx(tx, &b->audit_signer, b->opt.code, config, err);
}

enum pay_err pay_bank_audit_start(struct pay_bank *b, struct pay_error *err)
{
    return pay_committer_submit(b->committer, start_tx, b, err);
}

enum pay_err pay_bank_audit_money(struct pay_bank *b, struct pay_store_tx *tx, const char *who,
                                  const char *who_id, const char *action, const char *target,
                                  int64_t amount_minor, const char *note, struct pay_error *err)
{
    char actor[PAY_AUDIT_TEXT_MAX + 1], detail[PAY_AUDIT_DETAIL_MAX + 1];
    snprintf(actor, sizeof actor, "%s%s%.*s", who, who_id ? ":" : "", PAY_AUDIT_TEXT_MAX / 2,
             who_id ? who_id : "");
    snprintf(detail, sizeof detail, "amount_minor=%" PRId64 " currency=%s%s%.400s", amount_minor,
             PAY_BANK_CURRENCY, note && note[0] ? " " : "", note ? note : "");
    return pay_bank_audit(b, tx,
                          &(struct pay_audit_entry){
                              .actor = actor, .action = action, .target = target, .detail = detail},
                          err);
}

enum pay_err pay_bank_audit_card_refused(struct pay_bank *b, struct pay_store_tx *tx,
                                         const char *who, const char *who_id, const char *action,
                                         const char *card_id, enum pay_err code,
                                         struct pay_error *err)
{
    char actor[PAY_AUDIT_TEXT_MAX + 1];
    snprintf(actor, sizeof actor, "%s%s%.*s", who, who_id ? ":" : "", PAY_AUDIT_TEXT_MAX / 2,
             who_id ? who_id : "");
    struct pay_audit_entry e = {
        .actor = actor, .action = action, .target = card_id, .outcome = pay_err_name(code)};
    if (tx)
        return pay_bank_audit(b, tx, &e, err);
    pay_bank_audit_event(b, &e);
    return PAY_ERR_OK;
}
