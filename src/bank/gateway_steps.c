/* The steps of the B2C payment page after the order arrived: card number, card password
 * (which sends the SMS code), SMS code, confirmation and debit, result. Every password and SMS
 * code try is counted on the card (store/attempts.h) before it is checked; past the limit the
 * card is locked and nothing more is checked. The result page is gateway_result.c. */
#include "bank/gateway.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "i18n/i18n.h"
#include "store/attempts.h"

#include <stdio.h>
#include <string.h>

static void render(struct pay_http_request *req, int status, const char *tpl,
                   const struct gw_session *s, const struct pay_bank_card *c, const char *error)
{
    json_t *ctx = gw_page_ctx(req, s, error);
    if (ctx && c) {
        gw_card_ctx(ctx, c);
        /* the customer's reserved message, after the card number and before any secret is
         * asked: only the real bank can show it (docs/bank.md, "Reserved message") */
        char reserved[PAY_RESERVED_MESSAGE_MAX + 1];
        json_object_set_new(ctx, "reserved",
                            pay_bank_reserved_open(pay_http_req_ctx(req), c, reserved)
                                ? json_string(reserved)
                                : json_false());
        pay_wipe(reserved, sizeof reserved);
    }
    pay_http_respond_template(req, status, tpl, ctx);
    json_decref(ctx);
}

static const char *msg_of(struct pay_http_request *req, const struct pay_error *e)
{
    return pay_http_req_error_text(req, e);
}

/* --- card number ---------------------------------------------------------------------------- */

struct card_op {
    struct pay_bank *b;
    const char *session, *pan;
    struct pay_bank_card card;
};

static enum pay_err card_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct card_op *c = ctx;
    enum pay_err rc = pay_bank_card_find(c->b, tx, c->pan, &c->card, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_card_usable(&c->card, pay_clock_now_ms(), err);
    if (rc != PAY_ERR_OK)
        return rc;
    return pay_store_exec(tx, err,
                          "UPDATE bank_sessions SET card_id = $2, stage = 'password',"
                          " sms_hash = NULL WHERE id = $1",
                          "tt", c->session, c->card.id);
}

enum pay_err gw_card_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    struct gw_session s;
    enum pay_err rc = gw_step_begin(req, &s, err);
    if (rc != PAY_ERR_OK || gw_already_paid(req, &s))
        return rc;
    char pan[20];
    const char *in = pay_http_req_form_get(req, "cardNo");
    if (!in || pay_bank_pan_normalise(in, pan) != 0 || !pay_bank_luhn_valid(pan)) {
        render(req, 400, "card", &s, NULL,
               pay_http_req_tr(req, "This is not a valid card number."));
        return PAY_ERR_OK;
    }
    char idx[PAY_SHA256_HEX_LEN];
    pay_bank_pan_index(b, pan, idx);
    if (!pay_bank_rate_allow(b, "card", idx, PAY_BANK_RATE_PER_CARD_PER_MIN))
        return pay_error_set(err, PAY_ERR_RATE_LIMITED, "cardNo", NULL);
    struct card_op c = {.b = b, .session = s.id, .pan = pan};
    rc = pay_committer_submit(b->committer, card_apply, &c, err);
    pay_wipe(pan, sizeof pan);
    if (rc == PAY_ERR_CARD_INVALID && gw_net_offered(b, in)) { /* through the card network */
        gw_net_card_page(req, &s, 200, in, NULL, NULL);
        return PAY_ERR_OK;
    }
    if (rc == PAY_ERR_CARD_INVALID || rc == PAY_ERR_LOCKED || rc == PAY_ERR_CARD_EXPIRED) {
        render(req, pay_err_http_status(rc), "card", &s, NULL,
               rc == PAY_ERR_CARD_INVALID
                   ? pay_http_req_tr(req, "This card is not a card of this bank.")
                   : msg_of(req, err));
        return PAY_ERR_OK;
    }
    if (rc != PAY_ERR_OK)
        return rc;
    render(req, 200, "password", &s, &c.card, NULL);
    return PAY_ERR_OK;
}

/* --- card password (then the SMS code is sent) -------------------------------------------- */

struct pw_op {
    struct pay_bank *b;
    const struct gw_session *s;
    char sms_hash[PAY_OTP_HASH_LEN];
    struct pay_store_attempt attempt;
    struct pay_bank_card card;
};

static enum pay_err card_read_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *e)
{
    struct pw_op *p = ctx;
    return pay_bank_card_get(tx, p->s->card_id, &p->card, e);
}

/* Counts the try before the password is checked (LOCKED past the limit: nothing checked). */
static enum pay_err pw_reserve_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pw_op *p = ctx;
    int64_t now = pay_clock_now_ms();
    enum pay_err rc = pay_bank_card_get(tx, p->s->card_id, &p->card, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_card_usable(&p->card, now, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_card_attempt_reserve(tx, p->s->card_id, now, &p->attempt, err);
    return rc;
}

/* The password was right: forgive the try and move to the SMS step. */
static enum pay_err pw_right_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pw_op *p = ctx;
    enum pay_err rc = pay_bank_card_attempt_succeeded(tx, p->s->card_id, &p->attempt, err);
    if (rc == PAY_ERR_OK)
        rc =
            pay_store_exec(tx, err,
                           "UPDATE bank_sessions SET stage = 'sms', sms_hash = $2,"
                           " sms_expires_ms = $3 WHERE id = $1",
                           "tti", p->s->id, p->sms_hash, pay_clock_now_ms() + p->b->opt.sms_ttl_ms);
    return rc;
}

/* The SMS, in the language of the page that asked for it, signed with the bank's name; the
 * text holds the code, so it is built in a local buffer and wiped. */
static void send_code(struct pay_http_request *req, const struct gw_session *s, const char *phone,
                      const char *code)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    char text[400];
    if (pay_i18n_trfn(pay_http_req_lang(req), text, sizeof text,
                      "[{bank}] Code {code}: you are paying {amount} to {merchant} (order "
                      "{order}). Valid for 5 minutes; never share it.",
                      "bank", pay_bank_display_name(b, req), "code", code, "amount",
                      pay_http_req_money(req, s->amount_minor, s->currency), "merchant",
                      s->merchant_name, "order", s->order_id, NULL) == 0)
        pay_bank_sms_send(b, phone, text, code);
    pay_wipe(text, sizeof text);
}

/* "Wrong card password. 3 attempts left." / "... The card is now locked for 30 minutes.", in
 * the reader's language (one message per count form: the catalogs have no plural forms). */
static const char *wrong_text(struct pay_http_request *req, bool sms,
                              const struct pay_store_attempt *a)
{
    char n[24];
    if (a->left == 0) {
        snprintf(n, sizeof n, "%d", PAY_LOCKOUT_DURATION_S / 60);
        return sms ? pay_http_req_trf(
                         req, "Wrong SMS code. The card is now locked for {minutes} minutes.",
                         "minutes", n, NULL)
                   : pay_http_req_trf(
                         req, "Wrong card password. The card is now locked for {minutes} minutes.",
                         "minutes", n, NULL);
    }
    snprintf(n, sizeof n, "%lld", (long long)a->left);
    if (a->left == 1)
        return sms ? pay_http_req_trf(req, "Wrong SMS code. {left} attempt left.", "left", n, NULL)
                   : pay_http_req_trf(req, "Wrong card password. {left} attempt left.", "left", n,
                                      NULL);
    return sms ? pay_http_req_trf(req, "Wrong SMS code. {left} attempts left.", "left", n, NULL)
               : pay_http_req_trf(req, "Wrong card password. {left} attempts left.", "left", n,
                                  NULL);
}

/* Reserve a try (one write), check the password outside any transaction (Argon2id is slow),
 * then record a right one (another write). */
enum pay_err gw_password_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    struct gw_session s;
    enum pay_err rc = gw_step_begin(req, &s, err);
    if (rc != PAY_ERR_OK || gw_already_paid(req, &s))
        return rc;
    if (strcmp(s.stage, "password") != 0 && strcmp(s.stage, "sms") != 0)
        return pay_error_set(err, PAY_ERR_ORDER_STATE, "", N_("Enter the card number first."));
    const char *pw = pay_http_req_form_get(req, "password");
    struct pw_op p = {.b = b, .s = &s};
    rc = pay_store_run_read(b->store, card_read_tx, &p, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!pay_bank_rate_allow(b, "card", p.card.id, PAY_BANK_RATE_PER_CARD_PER_MIN))
        return pay_error_set(err, PAY_ERR_RATE_LIMITED, "password", NULL);
    rc = pay_committer_submit(b->committer, pw_reserve_apply, &p, err);
    if (rc == PAY_ERR_LOCKED)
        (void)pay_bank_audit_card_refused(b, NULL, "cardholder", NULL, "card.password", p.card.id,
                                          rc, NULL);
    if (rc == PAY_ERR_LOCKED || rc == PAY_ERR_CARD_EXPIRED) {
        render(req, pay_err_http_status(rc), "password", &s, &p.card, msg_of(req, err));
        return PAY_ERR_OK;
    }
    if (rc != PAY_ERR_OK)
        return rc;
    if (!(pw && strlen(pw) <= PAY_PASSWORD_MAX &&
          pay_pwhash_verify(p.card.password_hash, pw, strlen(pw)) == 0)) {
        PAY_WARN("bank.card_password_wrong", "card=%s left=%lld", p.card.id,
                 (long long)p.attempt.left);
        (void)pay_bank_audit_card_refused(
            b, NULL, "cardholder", NULL, "card.password", p.card.id,
            p.attempt.left == 0 ? PAY_ERR_LOCKED : PAY_ERR_CREDENTIALS_INVALID, NULL);
        render(req, p.attempt.left == 0 ? 423 : 401, "password", &s, &p.card,
               wrong_text(req, false, &p.attempt));
        return PAY_ERR_OK;
    }
    char code[PAY_OTP_DIGITS + 1];
    pay_otp_generate(code);
    pay_otp_hash(p.sms_hash, b->keys.otp_key, s.id, code);
    rc = pay_committer_submit(b->committer, pw_right_apply, &p, err);
    if (rc == PAY_ERR_OK)
        send_code(req, &s, p.card.phone, code);
    pay_wipe(code, sizeof code);
    if (rc != PAY_ERR_OK)
        return rc;
    render(req, 200, "sms", &s, &p.card, NULL);
    return PAY_ERR_OK;
}

/* --- SMS code ------------------------------------------------------------------------------- */

struct sms_op {
    struct pay_bank *b;
    const struct gw_session *s;
    const char *code;
    struct pay_store_attempt attempt; /* seq 0: no try was counted */
    struct pay_bank_card card;
};

/* The session's live code hash ("" when used or expired), re-read in the transaction: a code
 * is single use. */
static enum pay_err live_code(struct pay_store_tx *tx, const struct gw_session *s, int64_t now,
                              char hash[PAY_OTP_HASH_LEN], struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT COALESCE(sms_hash, ''), sms_expires_ms FROM bank_sessions WHERE id = $1",
        "t", s->id);
    if (!st)
        return err->code;
    hash[0] = '\0';
    if (pay_store_step(st, err) == 1 && pay_store_col_int64(st, 1) >= now)
        pay_store_col_copy(st, 0, hash, PAY_OTP_HASH_LEN);
    pay_store_done(st);
    return PAY_ERR_OK;
}

/* Counts the try, then checks the code (a keyed hash: quick enough for the committer). */
static enum pay_err sms_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct sms_op *m = ctx;
    int64_t now = pay_clock_now_ms();
    m->attempt = (struct pay_store_attempt){0};
    char hash[PAY_OTP_HASH_LEN];
    enum pay_err rc = pay_bank_card_get(tx, m->s->card_id, &m->card, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_card_usable(&m->card, now, err);
    if (rc == PAY_ERR_OK)
        rc = live_code(tx, m->s, now, hash, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!hash[0])
        return pay_error_set(err, PAY_ERR_SMS_CODE_INVALID, "smsCode",
                             N_("The SMS code has expired or was used; request a new one."));
    rc = pay_bank_card_attempt_reserve(tx, m->card.id, now, &m->attempt, err);
    if (rc != PAY_ERR_OK)
        return rc; /* LOCKED: nothing counted, the code not checked */
    if (!(m->code && strlen(m->code) == PAY_OTP_DIGITS &&
          pay_otp_verify(hash, m->b->keys.otp_key, m->s->id, m->code) == 0)) { /* committed */
        enum pay_err code = m->attempt.left == 0 ? PAY_ERR_LOCKED : PAY_ERR_SMS_CODE_INVALID;
        rc = pay_bank_audit_card_refused(m->b, tx, "cardholder", NULL, "card.sms_code", m->card.id,
                                         code, err);
        return rc != PAY_ERR_OK ? rc
                                : pay_store_keep(tx, pay_error_set(err, code, "smsCode", NULL));
    } /* the reservation: a failure */
    rc = pay_bank_card_attempt_succeeded(tx, m->card.id, &m->attempt, err);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err,
                            "UPDATE bank_sessions SET stage = 'confirm', sms_hash = NULL"
                            " WHERE id = $1",
                            "t", m->s->id);
    return rc;
}

enum pay_err gw_sms_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    struct gw_session s;
    enum pay_err rc = gw_step_begin(req, &s, err);
    if (rc != PAY_ERR_OK || gw_already_paid(req, &s))
        return rc;
    if (strcmp(s.stage, "sms") != 0)
        return pay_error_set(err, PAY_ERR_ORDER_STATE, "", N_("Enter the card password first."));
    if (!pay_bank_rate_allow(b, "card", s.card_id, PAY_BANK_RATE_PER_CARD_PER_MIN))
        return pay_error_set(err, PAY_ERR_RATE_LIMITED, "smsCode", NULL);
    struct sms_op m = {.b = b, .s = &s, .code = pay_http_req_form_get(req, "smsCode")};
    rc = pay_committer_submit(b->committer, sms_apply, &m, err);
    if (rc == PAY_ERR_LOCKED || rc == PAY_ERR_CARD_EXPIRED || rc == PAY_ERR_SMS_CODE_INVALID) {
        bool wrong = rc != PAY_ERR_CARD_EXPIRED && m.attempt.seq != 0; /* a counted try */
        render(req, pay_err_http_status(rc), "sms", &s, &m.card,
               wrong ? wrong_text(req, true, &m.attempt) : msg_of(req, err));
        return PAY_ERR_OK;
    }
    if (rc != PAY_ERR_OK)
        return rc;
    render(req, 200, "confirm", &s, &m.card, NULL);
    return PAY_ERR_OK;
}

/* --- confirmation: the debit ----------------------------------------------------------------- */

struct confirm_op {
    struct pay_bank *b;
    const struct gw_session *s;
    bool newly_paid;
    char notify_id[PAY_ID_MAX];
    struct pay_bank_card card;
};

static enum pay_err confirm_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct confirm_op *c = ctx;
    struct pay_bank *b = c->b;
    int64_t now = pay_clock_now_ms();
    c->newly_paid = false;
    c->notify_id[0] = '\0';
    struct pay_bank_merchant m;
    enum pay_err rc = pay_bank_merchant_get(tx, c->s->mer_id, &m, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_card_get(tx, c->s->card_id, &c->card, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_card_usable(&c->card, now, err);
    if (rc != PAY_ERR_OK)
        return rc;
    /* only a CREATED order is debited: a double submit finds it PAID and changes nothing */
    PAY_ASSERT(pay_bank_order_move_legal("CREATED", "PAID"));
    PAY_ASSERT_MSG(c->s->amount_minor > 0, "order %s", c->s->order_pk);
    rc = pay_store_exec(tx, err,
                        "UPDATE bank_orders SET status = 'PAID', card_id = $2, paid_ms = $3"
                        " WHERE id = $1 AND status = 'CREATED'",
                        "tti", c->s->order_pk, c->card.id, now);
    if (rc != PAY_ERR_OK || pay_store_changes(tx) == 0)
        return rc;
    char tid[PAY_ID_MAX + 8];
    snprintf(tid, sizeof tid, "pay:%s", c->s->order_pk);
    rc = pay_bank_transfer(b, tx, tid, c->card.account_id, m.account_id, c->s->amount_minor,
                           PAY_BANK_XFER_PAYMENT, c->s->order_id, err);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, err, "UPDATE bank_sessions SET stage = 'done' WHERE id = $1", "t",
                            c->s->id);
    if (rc == PAY_ERR_OK && strcmp(c->s->notify_type, "HS") == 0)
        rc = pay_bank_notify_create(b, tx, c->s->order_pk, now, c->notify_id, err);
    char note[PAY_AUDIT_TEXT_MAX * 3];
    snprintf(note, sizeof note, "merchant=%.64s order=%.64s card=%s", c->s->mer_id, c->s->order_id,
             c->card.id);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_audit_money(b, tx, "cardholder", NULL, "b2c.pay", c->s->order_pk,
                                  c->s->amount_minor, note, err);
    c->newly_paid = rc == PAY_ERR_OK;
    return rc;
}

enum pay_err gw_confirm_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    struct gw_session s;
    enum pay_err rc = gw_step_begin(req, &s, err);
    if (rc != PAY_ERR_OK || gw_already_paid(req, &s))
        return rc;
    if (strcmp(s.stage, "confirm") != 0)
        return pay_error_set(err, PAY_ERR_ORDER_STATE, "", N_("Verify the SMS code first."));
    struct confirm_op c = {.b = b, .s = &s};
    rc = pay_committer_submit(b->committer, confirm_apply, &c, err);
    if (rc == PAY_ERR_INSUFFICIENT_FUNDS || rc == PAY_ERR_LOCKED || rc == PAY_ERR_CARD_EXPIRED) {
        PAY_WARN("bank.payment_refused", "order=%s code=%s", s.order_pk, pay_err_name(rc));
        render(req, pay_err_http_status(rc), "confirm", &s, &c.card, msg_of(req, err));
        return PAY_ERR_OK;
    }
    if (rc != PAY_ERR_OK)
        return rc;
    if (c.newly_paid) {
        PAY_INFO("bank.order_paid", "order=%s mer_id=%s order_id=%s amount=%lld", s.order_pk,
                 s.mer_id, s.order_id, (long long)s.amount_minor);
        if (c.notify_id[0]) /* ICBC step 7: notify first (bounded), then the result page */
            pay_bank_notify_attempt(b, c.notify_id);
    }
    gw_render_result(req, b, s.id);
    return PAY_ERR_OK;
}

/* --- POST /b2c/restart: another card ---------------------------------------------------- */

static enum pay_err restart_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const struct gw_session *s = ctx;
    return pay_store_exec(tx, err,
                          "UPDATE bank_sessions SET stage = 'card', card_id = NULL,"
                          " sms_hash = NULL, sms_expires_ms = 0 WHERE id = $1 AND stage <> 'done'",
                          "t", s->id);
}

enum pay_err gw_restart_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    struct gw_session s;
    enum pay_err rc = gw_step_begin(req, &s, err);
    if (rc != PAY_ERR_OK || gw_already_paid(req, &s))
        return rc;
    if ((rc = pay_committer_submit(b->committer, restart_apply, &s, err)) != PAY_ERR_OK)
        return rc;
    render(req, 200, "card", &s, NULL, NULL);
    return PAY_ERR_OK;
}

/* --- GET /b2c/page: the current step again ------------------------------------------------ */

enum pay_err gw_page_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    struct gw_session s;
    enum pay_err rc = gw_session_load(b, pay_http_req_cookie(req, "bank_session"), &s, err);
    if (rc != PAY_ERR_OK || gw_already_paid(req, &s))
        return rc;
    if (!s.card_id[0] || strcmp(s.stage, "card") == 0) {
        render(req, 200, "card", &s, NULL, NULL);
        return PAY_ERR_OK;
    }
    struct pw_op p = {.s = &s};
    rc = pay_store_run_read(b->store, card_read_tx, &p, err);
    if (rc != PAY_ERR_OK)
        return rc;
    const char *tpl = strcmp(s.stage, "sms") == 0       ? "sms"
                      : strcmp(s.stage, "confirm") == 0 ? "confirm"
                                                        : "password";
    render(req, 200, tpl, &s, &p.card, NULL);
    pay_wipe(&p.card, sizeof p.card);
    return PAY_ERR_OK;
}
