/* Card binding and agreement payments over the signed API (docs/bank.md): verify a card by
 * number, expiry and CVV2 (an SMS code goes to the card's phone), confirm with the code to get
 * an agreement token (stored hashed, bound to the merchant), revoke it, debit with it. */
#include "bank/api.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "i18n/i18n.h"
#include "store/attempts.h"

#include <stdio.h>
#include <string.h>

/* --- POST /api/v1/cards/verify ------------------------------------------------------------------
 */

struct verify_op {
    struct pay_bank *b;
    const char *mer_id, *pan, *expiry, *cvv2, *phone;
    char id[PAY_ID_MAX], sms_hash[PAY_OTP_HASH_LEN];
    struct pay_bank_card card;
};

static enum pay_err verify_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct verify_op *v = ctx;
    int64_t now = pay_clock_now_ms();
    enum pay_err rc = pay_bank_card_find(v->b, tx, v->pan, &v->card, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_card_usable(&v->card, now, err);
    if (rc != PAY_ERR_OK)
        return rc;
    struct pay_store_attempt attempt;
    rc = pay_bank_card_attempt_reserve(tx, v->card.id, now, &attempt, err);
    if (rc != PAY_ERR_OK)
        return rc; /* LOCKED: nothing counted, nothing checked */
    char cvv[4];
    pay_bank_cvv2(v->b, v->pan, v->card.expiry, cvv);
    bool ok = strcmp(v->expiry, v->card.expiry) == 0 && strlen(v->cvv2) == 3 &&
              pay_ct_equal(cvv, v->cvv2, 3) && (!v->phone || strcmp(v->phone, v->card.phone) == 0);
    pay_wipe(cvv, sizeof cvv);
    if (!ok &&
        (rc = pay_bank_audit_card_refused(v->b, tx, "merchant", v->mer_id, "card.verify",
                                          v->card.id, PAY_ERR_CARD_INVALID, err)) != PAY_ERR_OK)
        return rc;
    if (!ok) /* the reservation is the failure: it stays counted on the card */
        return pay_store_keep(tx, pay_error_set(err, PAY_ERR_CARD_INVALID, "cvv2", NULL));
    rc = pay_bank_card_attempt_succeeded(tx, v->card.id, &attempt, err);
    if (rc != PAY_ERR_OK)
        return rc;
    return pay_store_exec(tx, err,
                          "INSERT INTO bank_verifications (id, mer_id, card_id, sms_hash,"
                          " expires_ms, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
                          "ttttii", v->id, v->mer_id, v->card.id, v->sms_hash,
                          now + v->b->opt.sms_ttl_ms, now);
}

enum pay_err api_cards_verify(struct pay_http_request *req, struct pay_error *err)
{
    struct api_call c;
    if (!api_begin(req, &c))
        return PAY_ERR_OK;
    struct verify_op v = {.b = c.b, .mer_id = c.m.mer_id};
    char pan[20], code[PAY_OTP_DIGITS + 1];
    const char *in = api_str(&c, "cardNo", 23, err);
    v.expiry = in ? api_str(&c, "expiry", 5, err) : NULL;
    v.cvv2 = v.expiry ? api_str(&c, "cvv2", 3, err) : NULL;
    v.phone = json_string_value(json_object_get(c.body, "phone"));
    v.pan = pan;
    if (v.cvv2 && (pay_bank_pan_normalise(in, pan) != 0 || !pay_bank_luhn_valid(pan)))
        pay_error_set(err, PAY_ERR_CARD_INVALID, "cardNo", NULL);
    else if (v.cvv2 && !pay_bank_rate_allow(c.b, "card", pan, PAY_BANK_RATE_PER_CARD_PER_MIN))
        pay_error_set(err, PAY_ERR_RATE_LIMITED, "cardNo", NULL);
    else if (v.cvv2 && pay_id_new("cv", v.id) == PAY_ERR_OK) {
        pay_otp_generate(code);
        pay_otp_hash(v.sms_hash, c.b->keys.otp_key, v.id, code);
        pay_committer_submit(c.b->committer, verify_apply, &v, err);
    }
    if (err->code == PAY_ERR_OK && v.cvv2) {
        /* an API call carries no person's language: the bank's default one; the text holds
         * the code, so it stays in a local buffer that is wiped */
        char text[400];
        if (pay_i18n_trfn(pay_http_req_lang(req), text, sizeof text,
                          "[{bank}] Code {code}: you are binding your card to {merchant}. Valid "
                          "for 5 minutes; never share it.",
                          "bank", pay_bank_display_name(c.b, req), "code", code, "merchant",
                          c.m.name, NULL) == 0)
            pay_bank_sms_send(c.b, v.card.phone, text, code);
        pay_wipe(text, sizeof text);
        size_t pl = strlen(v.card.phone);
        api_reply(&c, 200,
                  json_pack("{s:s, s:s}", "verificationId", v.id, "phoneLast4",
                            pl >= 4 ? v.card.phone + pl - 4 : ""));
    } else {
        api_fail(&c, err);
    }
    pay_wipe(pan, sizeof pan);
    pay_wipe(code, sizeof code);
    api_end(&c);
    return PAY_ERR_OK;
}

/* --- POST /api/v1/cards/confirm -----------------------------------------------------------------
 */

struct confirm_op {
    struct pay_bank *b;
    const char *mer_id, *vid, *code, *token_hash;
    char agreement_id[PAY_ID_MAX];
    struct pay_bank_card card;
};

static enum pay_err confirm_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct confirm_op *f = ctx;
    int64_t now = pay_clock_now_ms();
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT card_id, sms_hash FROM bank_verifications WHERE id = $1 AND mer_id = $2"
        " AND used = 0 AND expires_ms >= $3",
        "tti", f->vid, f->mer_id, now);
    if (!st)
        return err->code;
    char card_id[PAY_ID_MAX] = "", hash[PAY_OTP_HASH_LEN] = "";
    if (pay_store_step(st, err) == 1) {
        pay_store_col_copy(st, 0, card_id, sizeof card_id);
        pay_store_col_copy(st, 1, hash, sizeof hash);
    }
    pay_store_done(st);
    if (!card_id[0])
        return pay_error_set(err, PAY_ERR_SMS_CODE_INVALID, "verificationId",
                             "the verification is unknown, used or expired");
    enum pay_err rc = pay_bank_card_get(tx, card_id, &f->card, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_card_usable(&f->card, now, err);
    if (rc != PAY_ERR_OK)
        return rc;
    struct pay_store_attempt attempt;
    rc = pay_bank_card_attempt_reserve(tx, card_id, now, &attempt, err);
    if (rc != PAY_ERR_OK)
        return rc; /* LOCKED: nothing counted, nothing checked */
    if (pay_otp_verify(hash, f->b->keys.otp_key, f->vid, f->code) != 0) { /* the reservation */
        rc = pay_bank_audit_card_refused(f->b, tx, "merchant", f->mer_id, "card.sms_code", card_id,
                                         PAY_ERR_SMS_CODE_INVALID, err);
        return rc != PAY_ERR_OK ? rc
                                : pay_store_keep(tx, pay_error_set(err, PAY_ERR_SMS_CODE_INVALID,
                                                                   "smsCode", NULL));
    }
    rc = pay_bank_card_attempt_succeeded(tx, card_id, &attempt, err);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err, "UPDATE bank_verifications SET used = 1 WHERE id = $1", "t",
                            f->vid);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err,
                            "INSERT INTO bank_agreements (id, token_hash, mer_id, card_id,"
                            " created_ms) VALUES ($1, $2, $3, $4, $5)",
                            "tttti", f->agreement_id, f->token_hash, f->mer_id, card_id, now);
    char detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "card=%s", card_id);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit(f->b, tx,
                            &(struct pay_audit_entry){.actor = "cardholder",
                                                      .action = "agreement.sign",
                                                      .target = f->agreement_id,
                                                      .detail = detail},
                            err);
    return rc;
}

static void token_hash(const char *token, char out[PAY_SHA256_HEX_LEN])
{
    pay_sha256_hex(out, token, strlen(token));
}

enum pay_err api_cards_confirm(struct pay_http_request *req, struct pay_error *err)
{
    struct api_call c;
    if (!api_begin(req, &c))
        return PAY_ERR_OK;
    char token[64] = "agt_", hash[PAY_SHA256_HEX_LEN];
    struct confirm_op f = {.b = c.b, .mer_id = c.m.mer_id, .token_hash = hash};
    f.vid = api_str(&c, "verificationId", PAY_ID_MAX, err);
    f.code = f.vid ? api_str(&c, "smsCode", PAY_OTP_DIGITS, err) : NULL;
    if (f.code && pay_random_token(token + 4, sizeof token - 4, 32) == 0 &&
        pay_id_new("ag", f.agreement_id) == PAY_ERR_OK) {
        token_hash(token, hash);
        pay_committer_submit(c.b->committer, confirm_apply, &f, err);
    }
    if (f.code && err->code == PAY_ERR_OK) {
        PAY_INFO("bank.agreement_created", "agreement=%s mer_id=%s card=%s", f.agreement_id,
                 c.m.mer_id, f.card.id);
        api_reply(&c, 200,
                  json_pack("{s:s, s:s, s:s, s:s}", "agreementToken", token, "cardBin", f.card.bin,
                            "cardLast4", f.card.last4, "cardType", f.card.kind));
    } else {
        api_fail(&c, err);
    }
    pay_wipe(token, sizeof token);
    api_end(&c);
    return PAY_ERR_OK;
}

/* --- POST /api/v1/agreements/revoke -------------------------------------------------------------
 */

struct revoke_op {
    struct pay_bank *b;
    const char *mer_id, *hash;
};

static enum pay_err revoke_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct revoke_op *r = ctx;
    enum pay_err rc = pay_store_exec(tx, err,
                                     "UPDATE bank_agreements SET revoked_ms = $3 WHERE"
                                     " token_hash = $1 AND mer_id = $2 AND revoked_ms = 0",
                                     "tti", r->hash, r->mer_id, pay_clock_now_ms());
    if (rc == PAY_ERR_OK && pay_store_changes(tx) == 0)
        return pay_error_set(err, PAY_ERR_AGREEMENT_INVALID, "agreementToken", NULL);
    return rc;
}

enum pay_err api_agreements_revoke(struct pay_http_request *req, struct pay_error *err)
{
    struct api_call c;
    if (!api_begin(req, &c))
        return PAY_ERR_OK;
    char hash[PAY_SHA256_HEX_LEN];
    const char *token = api_str(&c, "agreementToken", 64, err);
    struct revoke_op r = {.b = c.b, .mer_id = c.m.mer_id, .hash = hash};
    if (token)
        token_hash(token, hash);
    if (token && pay_committer_submit(c.b->committer, revoke_apply, &r, err) == PAY_ERR_OK)
        api_reply(&c, 200, json_pack("{s:b}", "revoked", 1));
    else
        api_fail(&c, err);
    api_end(&c);
    return PAY_ERR_OK;
}

/* --- POST /api/v1/agreements/debit --------------------------------------------------------------
 */

struct debit_op {
    struct pay_bank *b;
    const char *mer_id, *mer_acct, *hash, *order_id, *goods;
    int64_t amount_minor;
    char pk[PAY_ID_MAX];
};

static enum pay_err debit_replay(struct pay_store_tx *tx, struct debit_op *d, bool *found,
                                 struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, amount_minor, channel FROM bank_orders WHERE mer_id = $1 AND order_id = $2",
        "tt", d->mer_id, d->order_id);
    if (!st)
        return err->code;
    *found = pay_store_step(st, err) == 1;
    enum pay_err rc = PAY_ERR_OK;
    if (*found) {
        pay_store_col_copy(st, 0, d->pk, sizeof d->pk);
        if (pay_store_col_int64(st, 1) != d->amount_minor ||
            strcmp(pay_store_col_text(st, 2), "agreement") != 0)
            rc = pay_error_set(err, PAY_ERR_DUPLICATE, "orderId", "order %s exists", d->order_id);
    }
    pay_store_done(st);
    return rc;
}

static enum pay_err debit_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct debit_op *d = ctx;
    int64_t now = pay_clock_now_ms();
    bool found = false;
    enum pay_err rc = debit_replay(tx, d, &found, err);
    if (rc != PAY_ERR_OK || found)
        return rc;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT card_id FROM bank_agreements WHERE token_hash = $1 AND mer_id = $2"
                        " AND revoked_ms = 0",
                        "tt", d->hash, d->mer_id);
    if (!st)
        return err->code;
    char card_id[PAY_ID_MAX] = "";
    if (pay_store_step(st, err) == 1)
        pay_store_col_copy(st, 0, card_id, sizeof card_id);
    pay_store_done(st);
    if (!card_id[0])
        return pay_error_set(err, PAY_ERR_AGREEMENT_INVALID, "agreementToken", NULL);
    struct pay_bank_card card;
    rc = pay_bank_card_get(tx, card_id, &card, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_card_usable(&card, now, err);
    if (rc == PAY_ERR_OK)
        rc = pay_id_new("bo", d->pk);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err,
                            "INSERT INTO bank_orders (id, mer_id, order_id, amount_minor, currency,"
                            " channel, goods_name, status, card_id, created_ms, paid_ms) VALUES"
                            " ($1, $2, $3, $4, $5, 'agreement', $6, 'PAID', $7, $8, $8)",
                            "tttittti", d->pk, d->mer_id, d->order_id, d->amount_minor,
                            PAY_BANK_CURRENCY, d->goods, card_id, now);
    char tid[PAY_ID_MAX + 8];
    snprintf(tid, sizeof tid, "agr:%s", d->pk);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_transfer(d->b, tx, tid, card.account_id, d->mer_acct, d->amount_minor,
                               PAY_BANK_XFER_AGREEMENT, d->order_id, err);
    char note[PAY_AUDIT_TEXT_MAX * 2];
    snprintf(note, sizeof note, "order=%.64s card=%s", d->order_id, card_id);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit_money(d->b, tx, "merchant", d->mer_id, "agreement.debit", d->pk,
                                  d->amount_minor, note, err);
    return rc;
}

enum pay_err api_agreements_debit(struct pay_http_request *req, struct pay_error *err)
{
    struct api_call c;
    if (!api_begin(req, &c))
        return PAY_ERR_OK;
    char hash[PAY_SHA256_HEX_LEN];
    struct debit_op d = {.b = c.b, .mer_id = c.m.mer_id, .mer_acct = c.m.account_id, .hash = hash};
    const char *token = api_str(&c, "agreementToken", 64, err);
    d.order_id = token ? api_str(&c, "orderId", PAY_MERCHANT_ID_FIELD_MAX, err) : NULL;
    const char *cur = d.order_id ? api_str(&c, "currency", 3, err) : NULL;
    d.goods = cur ? api_str(&c, "goodsName", PAY_TEXT_FIELD_MAX, err) : NULL;
    if (d.order_id && !pay_bank_id_ok(d.order_id, PAY_MERCHANT_ID_FIELD_MAX))
        d.goods = NULL, pay_error_set(err, PAY_ERR_FIELD_INVALID, "orderId", NULL);
    if (cur && strcmp(cur, PAY_BANK_CURRENCY) != 0)
        d.goods = NULL, pay_error_set(err, PAY_ERR_CURRENCY_MISMATCH, "currency", NULL);
    if (token)
        token_hash(token, hash);
    if (d.goods && api_amount(&c, "amount", &d.amount_minor, err) &&
        pay_committer_submit(c.b->committer, debit_apply, &d, err) == PAY_ERR_OK)
        api_reply(&c, 200,
                  json_pack("{s:s, s:s, s:s, s:I, s:s}", "orderId", d.order_id, "tranSerialNo",
                            d.pk, "status", "PAID", "amount", (json_int_t)d.amount_minor,
                            "currency", PAY_BANK_CURRENCY));
    else
        api_fail(&c, err);
    api_end(&c);
    return PAY_ERR_OK;
}
