/* The cardholder's verification for the online payment page (银联在线支付, docs/switch.md):
 * the switch brings the card data the shopper typed, sealed to us (number, expiry, CVN2, the
 * cardholder's phone); we check it like a CVN2 authorization (each try counted on the card's
 * lock) and text a one-time code to the card's phone (sandbox outbox), keeping only its keyed
 * hash; the code comes back sealed to us (data element 52), is checked in constant time (each
 * try counted on the card's lock too, so a few wrong codes lock the card), and expires on the
 * bank's clock. A right code makes the verification VERIFIED, and the one authorization that
 * names it (de61.verificationId, for the same token, amount and acquirer) uses it. */
#include "bank/net_issuer.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/ids.h"
#include "crypto/password.h"
#include "http/server.h"
#include "i18n/i18n.h"
#include "store/attempts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the authorization that names a verification ---------------------------------------------- */

enum pay_err iss_verified_card(struct pay_store_tx *tx, struct iss_msg *m, int64_t now,
                               const char **rc, struct pay_error *e)
{
    (void)now;
    *rc = "";
    struct pay_store_stmt *st = pay_store_query(
        tx, e,
        "SELECT card_id, token, amount_minor, acquirer, state FROM bank_net_verifications"
        " WHERE id = $1",
        "t", m->vid);
    if (!st)
        return e->code;
    int r = pay_store_step(st, e);
    char card_id[PAY_ID_MAX] = "";
    bool verified = false, same = false;
    if (r == 1) {
        pay_store_col_copy(st, 0, card_id, sizeof card_id);
        verified = strcmp(pay_store_col_text(st, 4), "VERIFIED") == 0;
        same = m->token && strcmp(pay_store_col_text(st, 1), m->token) == 0 &&
               pay_store_col_int64(st, 2) == m->amount &&
               strcmp(pay_store_col_text(st, 3), m->acq) == 0;
    }
    pay_store_done(st);
    if (r < 0)
        return e->code;
    if (!verified) /* none, not yet, failed, expired, or used by another authorization */
        *rc = "55";
    else if (!same)
        *rc = "12";
    return (*rc)[0] ? PAY_ERR_OK : pay_bank_card_get(tx, card_id, &m->card, e);
}

enum pay_err iss_mark_verification_used(struct pay_store_tx *tx, struct iss_msg *m,
                                        struct pay_error *e)
{
    if (!m->vid || strcmp(m->method, "SMS") != 0)
        return PAY_ERR_OK;
    return pay_store_exec(tx, e,
                          "UPDATE bank_net_verifications SET state = 'USED', used_trace = $2"
                          " WHERE id = $1 AND state = 'VERIFIED'",
                          "tt", m->vid, m->trace);
}

/* --- POST /net/v1/issuer/verifications: the card, checked; a code texted ---------------------- */

struct verify_op {
    struct iss_msg *m;
    char id[PAY_ID_MAX];
    char code[PAY_OTP_DIGITS + 1];
    char code_hash[PAY_OTP_HASH_LEN];
    const char *rc;
    bool repeat; /* the switch sent this trace before: its verification, no new code */
};

static enum pay_err verify_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *e)
{
    struct verify_op *v = ctx;
    struct iss_msg *m = v->m;
    int64_t now = pay_clock_now_ms();
    v->rc = "";
    v->repeat = false;
    struct pay_store_stmt *st = pay_store_query(
        tx, e, "SELECT id, card_id FROM bank_net_verifications WHERE trace = $1", "t", m->trace);
    if (!st)
        return e->code;
    int r = pay_store_step(st, e);
    if ((v->repeat = r == 1)) {
        pay_store_col_copy(st, 0, v->id, sizeof v->id);
        pay_store_col_copy(st, 1, m->card.id, sizeof m->card.id);
    }
    pay_store_done(st);
    if (r != 0)
        return r < 0 ? e->code : pay_bank_card_get(tx, m->card.id, &m->card, e);
    enum pay_err rc = pay_bank_card_find(m->b, tx, m->data.pan, &m->card, e);
    if (rc == PAY_ERR_CARD_INVALID) {
        memset(e, 0, sizeof *e);
        v->rc = "14";
        return PAY_ERR_OK;
    }
    if (rc == PAY_ERR_OK)
        rc = iss_card_usable(m, now, &v->rc, e);
    if (rc == PAY_ERR_OK && !v->rc[0])
        rc = iss_check_card_data(tx, m, now, &v->rc, e);
    if (rc != PAY_ERR_OK || v->rc[0])
        return rc;
    return pay_store_exec(tx, e,
                          "INSERT INTO bank_net_verifications (id, trace, acquirer, card_id,"
                          " token, amount_minor, code_hash, state, expires_ms, created_ms)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, 'SENT', $8, $9)",
                          "tttttitii", v->id, m->trace, m->acq, m->card.id, m->token, m->amount,
                          v->code_hash, now + m->b->opt.sms_ttl_ms, now);
}

/* The verification request's fields: de3 330000, de11 (the switch's trace), de32, de33 (the
 * switch), de4, de49, de2 (token and the card data sealed to us under de2:<de33>:<de11>). */
static enum pay_err verify_parse(struct iss_msg *m, struct pay_error *e)
{
    m->mti = PAY_NET_MTI_AUTH;
    m->method = "SMS";
    m->proc = pay_net_str(m->in, "de3", 6, e);
    if (m->proc && strcmp(m->proc, PAY_NET_PROC_VERIFY) != 0)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de3", "de3 must be %s here",
                             PAY_NET_PROC_VERIFY);
    m->trace = m->proc ? pay_net_trace(m->in, "de11", e) : NULL;
    m->acq = m->trace ? pay_net_str(m->in, "de32", PAY_NET_CODE_MAX, e) : NULL;
    const char *sw = m->acq ? pay_net_str(m->in, "de33", PAY_NET_CODE_MAX, e) : NULL;
    const char *cur = sw ? pay_net_str(m->in, "de49", 3, e) : NULL;
    if (!cur || !pay_net_amount(m->in, "de4", &m->amount, e))
        return e->code;
    if (!pay_net_code_valid(m->acq) || strcmp(sw, m->b->net.switch_code) != 0)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, pay_net_code_valid(m->acq) ? "de33" : "de32",
                             "not a member code of this network");
    if (strcmp(cur, PAY_BANK_CURRENCY) != 0)
        return pay_error_set(e, PAY_ERR_CURRENCY_MISMATCH, "de49", "the network clears CNY");
    json_t *de2 = json_object_get(m->in, "de2");
    m->token = pay_net_str(de2, "token", PAY_NET_TOKEN_MAX, e);
    m->mer_name = json_string_value(json_object_get(m->in, "de43"));
    if (!m->token)
        return pay_error_set(e, e->code, "de2.token", "de2.token: the card's token");
    char ctx[PAY_SEAL_CONTEXT_MAX + 1];
    snprintf(ctx, sizeof ctx, "de2:%s:%s", sw, m->trace);
    enum pay_err rc = pay_net_card_open(
        &m->b->net.seal, ctx, json_string_value(json_object_get(de2, "sealed")), &m->data, e);
    if (rc == PAY_ERR_OK && (!m->data.exp[0] || !m->data.cvn2[0] || !m->data.phone[0]))
        rc = pay_error_set(e, PAY_ERR_FIELD_INVALID, "de2",
                           "the card data needs the expiry, CVN2 and the cardholder's phone");
    return rc;
}

/* The text with the code, in the bank's default language (a message between banks carries no
 * person's language); sent to the card's phone through the sandbox outbox, then wiped. */
static void send_code(struct pay_http_request *req, struct iss_msg *m, const char *code)
{
    char text[400];
    const char *merchant =
        m->mer_name && strlen(m->mer_name) <= PAY_TEXT_FIELD_MAX ? m->mer_name : m->acq;
    if (pay_i18n_trfn(pay_http_req_lang(req), text, sizeof text,
                      "[{bank}] Code {code}: UnionPay online payment of {amount} to {merchant}. "
                      "Valid for 5 minutes; never share it.",
                      "bank", pay_bank_display_name(m->b, req), "code", code, "amount",
                      pay_http_req_money(req, m->amount, PAY_BANK_CURRENCY), "merchant", merchant,
                      NULL) == 0)
        pay_bank_sms_send(m->b, m->card.phone, text, code);
    pay_wipe(text, sizeof text);
}

/* "138****0001": enough of the phone for the shopper to know which one. */
static void phone_hint(const char *phone, char out[24])
{
    size_t n = strlen(phone);
    if (n < 8)
        snprintf(out, 24, "****");
    else
        snprintf(out, 24, "%.3s****%s", phone, phone + n - 4);
}

enum pay_err iss_verify_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct iss_msg m;
    if (!iss_begin(req, &m))
        return PAY_ERR_OK;
    struct verify_op v = {.m = &m};
    enum pay_err rc = verify_parse(&m, err);
    if (rc == PAY_ERR_OK && pay_id_new("vrf", v.id) == PAY_ERR_OK) {
        pay_otp_generate(v.code);
        pay_otp_hash(v.code_hash, m.b->keys.otp_key, v.id, v.code);
        rc = pay_committer_submit(m.b->committer, verify_apply, &v, err);
    }
    if (rc == PAY_ERR_OK) {
        iss_answer(&m, v.rc[0] ? v.rc : "00", "", NULL);
        json_t *a = m.answer ? json_loads(m.answer, 0, NULL) : NULL;
        char hint[24];
        phone_hint(m.card.phone, hint);
        if (a && !v.rc[0])
            json_object_set_new(a, "de61",
                                json_pack("{s:s, s:s, s:s}", "method", "SMS", "verificationId",
                                          v.id, "phoneHint", hint));
        free(m.answer);
        m.answer = a ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(a);
        if (!v.rc[0] && !v.repeat)
            send_code(req, &m, v.code);
    }
    pay_wipe(v.code, sizeof v.code);
    iss_end(req, &m, rc, err);
    return PAY_ERR_OK;
}

/* --- POST /net/v1/issuer/verifications/confirm: the code -------------------------------------- */

struct confirm_op {
    struct iss_msg *m;
    const char *vid;
    char code[PAY_OTP_DIGITS + 1];
    const char *rc, *state, *text;
    int64_t left;
};

/* A code for a verification that is not waiting for one: right only for one already VERIFIED
 * (or USED) by the same code, so a repeat of the switch's call answers the same. */
static void confirm_settled(struct confirm_op *c, const char *state, bool right)
{
    bool done = strcmp(state, "VERIFIED") == 0 || strcmp(state, "USED") == 0;
    c->state = done ? "VERIFIED" : state;
    c->rc = done && right ? "00" : strcmp(state, "FAILED") == 0 ? "75" : "55";
    c->text = strcmp(state, "EXPIRED") == 0 ? "the code has expired" : NULL;
}

static enum pay_err confirm_set(struct pay_store_tx *tx, struct confirm_op *c, const char *state,
                                bool tried, struct pay_error *e)
{
    c->state = state;
    return pay_store_exec(tx, e,
                          "UPDATE bank_net_verifications SET state = $2, tries = tries + $3"
                          " WHERE id = $1",
                          "tti", c->vid, state, (int64_t)(tried ? 1 : 0));
}

static enum pay_err confirm_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *e)
{
    struct confirm_op *c = ctx;
    int64_t now = pay_clock_now_ms();
    c->rc = "55";
    c->text = NULL;
    c->left = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, e,
        "SELECT card_id, code_hash, state, expires_ms FROM bank_net_verifications WHERE id = $1",
        "t", c->vid);
    if (!st)
        return e->code;
    int r = pay_store_step(st, e);
    char card_id[PAY_ID_MAX] = "", hash[PAY_OTP_HASH_LEN] = "", state[16] = "";
    int64_t expires_ms = r == 1 ? pay_store_col_int64(st, 3) : 0;
    if (r == 1) {
        pay_store_col_copy(st, 0, card_id, sizeof card_id);
        pay_store_col_copy(st, 1, hash, sizeof hash);
        pay_store_col_copy(st, 2, state, sizeof state);
    }
    pay_store_done(st);
    if (r != 1) {
        c->rc = "25";
        c->state = "";
        return r < 0 ? e->code : PAY_ERR_OK;
    }
    bool right = pay_otp_verify(hash, c->m->b->keys.otp_key, c->vid, c->code) == 0;
    if (strcmp(state, "SENT") != 0) {
        confirm_settled(c, state, right);
        return PAY_ERR_OK;
    }
    if (now >= expires_ms) { /* checked before the code: an old code is never tried */
        c->text = "the code has expired";
        return confirm_set(tx, c, "EXPIRED", false, e);
    }
    struct pay_store_attempt attempt;
    enum pay_err rc = pay_bank_card_attempt_reserve(tx, card_id, now, &attempt, e);
    if (rc == PAY_ERR_LOCKED) {
        memset(e, 0, sizeof *e);
        c->rc = "75";
        return confirm_set(tx, c, "FAILED", false, e);
    }
    if (rc != PAY_ERR_OK)
        return rc;
    if (!right) { /* the reservation stays counted: a failure */
        c->left = attempt.left;
        c->rc = attempt.left == 0 ? "75" : "55";
        return confirm_set(tx, c, attempt.left == 0 ? "FAILED" : "SENT", true, e);
    }
    rc = pay_bank_card_attempt_succeeded(tx, card_id, &attempt, e);
    c->rc = "00";
    return rc == PAY_ERR_OK ? confirm_set(tx, c, "VERIFIED", true, e) : rc;
}

/* de61.verificationId and the code sealed to us in de52 under de52:<verificationId>. */
static enum pay_err confirm_parse(struct iss_msg *m, struct confirm_op *c, struct pay_error *e)
{
    m->mti = PAY_NET_MTI_AUTH;
    m->proc = PAY_NET_PROC_VERIFY;
    m->trace = "";
    m->acq = pay_net_str(m->in, "de32", PAY_NET_CODE_MAX, e);
    c->vid = m->acq ? pay_net_str(json_object_get(m->in, "de61"), "verificationId",
                                  PAY_NET_ONLINE_ID_MAX, e)
                    : NULL;
    if (!c->vid || !pay_net_amount(m->in, "de4", &m->amount, e))
        return e->code;
    char ctx[PAY_SEAL_CONTEXT_MAX + 1];
    size_t n = 0;
    snprintf(ctx, sizeof ctx, "de52:%s", c->vid);
    const char *sealed =
        json_string_value(json_object_get(json_object_get(m->in, "de52"), "sealed"));
    if (!sealed || pay_seal_open(&m->b->net.seal, ctx, sealed, c->code, sizeof c->code, &n) != 0 ||
        n != PAY_OTP_DIGITS || strspn(c->code, "0123456789") != PAY_OTP_DIGITS) {
        pay_wipe(c->code, sizeof c->code);
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de52",
                             "de52: a 6-digit code sealed to us for this verification");
    }
    return PAY_ERR_OK;
}

enum pay_err iss_confirm_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct iss_msg m;
    if (!iss_begin(req, &m))
        return PAY_ERR_OK;
    struct confirm_op c = {.m = &m};
    enum pay_err rc = confirm_parse(&m, &c, err);
    if (rc == PAY_ERR_OK)
        rc = pay_committer_submit(m.b->committer, confirm_apply, &c, err);
    pay_wipe(c.code, sizeof c.code);
    if (rc == PAY_ERR_OK) {
        json_t *a =
            json_pack("{s:s, s:I, s:s, s:s, s:s, s:{s:s, s:s, s:I}}", "de3", PAY_NET_PROC_VERIFY,
                      "de4", (json_int_t)m.amount, "de32", m.acq, "de39", c.rc, "de44",
                      c.text ? c.text : pay_net_rc_text(c.rc), "de61", "verificationId", c.vid,
                      "state", c.state ? c.state : "", "triesLeft", (json_int_t)c.left);
        m.answer = a ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        pay_str_copy(m.rc, sizeof m.rc, c.rc);
        json_decref(a);
    }
    iss_end(req, &m, rc, err);
    return PAY_ERR_OK;
}
