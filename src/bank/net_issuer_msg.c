/* The frame of every message the switch brings to the issuer (net_issuer.c's financial
 * messages, net_verify.c's cardholder verification): the signed request read and checked, the
 * common fields parsed, the card data checked against the card, the answer written and sent.
 * Calls neither of those files, which both call it (docs/hacking.md, "Call loops"). */
#include "bank/net_issuer.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "http/server.h"
#include "store/attempts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- answers and rows ---------------------------------------------------------------------- */

static const char *resp_mti(const char *mti)
{
    return strcmp(mti, PAY_NET_MTI_AUTH) == 0      ? PAY_NET_MTI_AUTH_RESP
           : strcmp(mti, PAY_NET_MTI_CAPTURE) == 0 ? PAY_NET_MTI_CAPTURE_RESP
           : strcmp(mti, PAY_NET_MTI_REFUND) == 0  ? PAY_NET_MTI_REFUND_RESP
                                                   : PAY_NET_MTI_REVERSAL_RESP;
}

/* Sets m->answer (heap) and m->rc: the answer to the switch. */
void iss_answer(struct iss_msg *m, const char *rc, const char *auth_code, const char *text)
{
    json_t *a =
        json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "mti", resp_mti(m->mti), "de3",
                  m->proc, "de4", (json_int_t)m->amount, "de11", m->trace, "de32", m->acq, "de39",
                  rc, "de44", text ? text : pay_net_rc_text(rc), "de49", PAY_BANK_CURRENCY);
    if (a && m->rrn)
        json_object_set_new(a, "de37", json_string(m->rrn));
    if (a && auth_code && auth_code[0])
        json_object_set_new(a, "de38", json_string(auth_code));
    if (a && m->orig)
        json_object_set_new(a, "de90", json_string(m->orig));
    if (a && m->token)
        json_object_set_new(a, "de2", json_pack("{s:s}", "token", m->token));
    free(m->answer);
    m->answer = a ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(a);
    pay_str_copy(m->rc, sizeof m->rc, rc);
}

/* Answers rc and keeps the message's row with state (an authorization's) and the answer. */
enum pay_err iss_store(struct pay_store_tx *tx, struct iss_msg *m, const char *state,
                       const char *rc, const char *auth_code, const char *text, struct pay_error *e)
{
    iss_answer(m, rc, auth_code, text);
    if (!m->answer)
        return pay_error_set(e, PAY_ERR_INTERNAL, "", "cannot write the answer");
    return pay_store_exec(
        tx, e,
        "INSERT INTO bank_net_issued (acquirer, trace, mti, fingerprint, original_trace, card_id,"
        " token, amount_minor, rrn, response_code, auth_code, state, answer, created_ms)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        "tttttttittttti", m->acq, m->trace, m->mti, m->fp, m->orig ? m->orig : "", m->card.id,
        m->token ? m->token : "", m->amount, m->rrn ? m->rrn : "", rc, auth_code ? auth_code : "",
        state, m->answer, pay_clock_now_ms());
}

/* --- the card data ------------------------------------------------------------------------- */

enum pay_err iss_check_card_data(struct pay_store_tx *tx, struct iss_msg *m, int64_t now,
                                 const char **rc, struct pay_error *e)
{
    struct pay_store_attempt attempt;
    *rc = "";
    enum pay_err r = pay_bank_card_attempt_reserve(tx, m->card.id, now, &attempt, e);
    if (r == PAY_ERR_LOCKED) {
        memset(e, 0, sizeof *e);
        *rc = "75";
        return PAY_ERR_OK;
    }
    if (r != PAY_ERR_OK)
        return r;
    char cvv[4], yymm[5];
    pay_bank_cvv2(m->b, m->data.pan, m->card.expiry, cvv);
    snprintf(yymm, sizeof yymm, "%.2s%.2s", m->card.expiry + 3, m->card.expiry);
    bool ok = strcmp(m->data.exp, yymm) == 0 && strlen(m->data.cvn2) == 3 &&
              pay_ct_equal(cvv, m->data.cvn2, 3) &&
              (!m->data.phone[0] || strcmp(m->data.phone, m->card.phone) == 0);
    pay_wipe(cvv, sizeof cvv);
    if (!ok) { /* the reservation stays counted: a failure */
        *rc = attempt.left == 0 ? "75" : "N7";
        return PAY_ERR_OK;
    }
    return pay_bank_card_attempt_succeeded(tx, m->card.id, &attempt, e);
}

enum pay_err iss_card_usable(struct iss_msg *m, int64_t now, const char **rc, struct pay_error *e)
{
    enum pay_err r = pay_bank_card_usable(&m->card, now, e);
    *rc = "";
    if (r == PAY_ERR_LOCKED || r == PAY_ERR_CARD_EXPIRED) {
        memset(e, 0, sizeof *e);
        *rc = r == PAY_ERR_LOCKED ? "75" : "54";
        return PAY_ERR_OK;
    }
    return r;
}

/* --- reading and answering ---------------------------------------------------------------- */

static enum pay_err parse_auth(struct iss_msg *m, struct pay_error *e)
{
    json_t *de61 = json_object_get(m->in, "de61");
    m->method = pay_net_str(de61, "method", 8, e);
    m->vid = json_string_value(json_object_get(de61, "verificationId"));
    m->mer_name = json_string_value(json_object_get(m->in, "de43"));
    if (!m->method || (strcmp(m->method, "SMS") != 0 && strcmp(m->method, "CVN2") != 0))
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de61.method", "CVN2 or SMS");
    if (strcmp(m->method, "SMS") == 0 && !m->vid)
        return pay_error_set(e, PAY_ERR_FIELD_MISSING, "de61.verificationId", NULL);
    if (strcmp(m->method, "CVN2") != 0)
        return PAY_ERR_OK;
    char ctx[PAY_SEAL_CONTEXT_MAX + 1];
    snprintf(ctx, sizeof ctx, "de2:%s:%s", m->acq, m->trace);
    return pay_net_card_open(
        &m->b->net.seal, ctx,
        json_string_value(json_object_get(json_object_get(m->in, "de2"), "sealed")), &m->data, e);
}

enum pay_err iss_parse(struct iss_msg *m, const char *mti, const char *proc, struct pay_error *e)
{
    const char *got = pay_net_str(m->in, "mti", 4, e);
    if (got && strcmp(got, mti) != 0)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "mti", "mti must be %s here", mti);
    m->mti = mti;
    m->proc = got ? pay_net_str(m->in, "de3", 6, e) : NULL;
    if (m->proc && strcmp(m->proc, proc) != 0)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de3", "de3 must be %s here", proc);
    m->trace = m->proc ? pay_net_trace(m->in, "de11", e) : NULL;
    m->acq = m->trace ? pay_net_str(m->in, "de32", PAY_NET_CODE_MAX, e) : NULL;
    if (m->acq && !pay_net_code_valid(m->acq))
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de32", "not a member code");
    const char *cur = m->acq ? pay_net_str(m->in, "de49", 3, e) : NULL;
    if (cur && strcmp(cur, PAY_BANK_CURRENCY) != 0)
        return pay_error_set(e, PAY_ERR_CURRENCY_MISMATCH, "de49", "the network clears CNY");
    if (!cur || !pay_net_amount(m->in, "de4", &m->amount, e))
        return e->code;
    m->rrn = json_string_value(json_object_get(m->in, "de37"));
    m->token = json_string_value(json_object_get(json_object_get(m->in, "de2"), "token"));
    if (strcmp(mti, PAY_NET_MTI_AUTH) != 0 && !(m->orig = pay_net_trace(m->in, "de90", e)))
        return e->code;
    pay_net_fingerprint(m->in, m->fp);
    return strcmp(mti, PAY_NET_MTI_AUTH) == 0 ? parse_auth(m, e) : PAY_ERR_OK;
}

bool iss_begin(struct pay_http_request *req, struct iss_msg *m)
{
    struct pay_bank *b = pay_http_req_ctx(req);
    memset(m, 0, sizeof *m);
    m->b = b;
    struct pay_error e = {0};
    char key_id[PAY_SIG_KEY_ID_MAX + 1];
    struct pay_sig_verifier v = {pay_net_cert_key_lookup, NULL, &b->net.switch_key, b->nonces, 0};
    enum pay_err rc = b->net.enabled
                          ? pay_net_request_check(req, &v, key_id, &m->in, &e)
                          : pay_error_set(&e, PAY_ERR_NOT_FOUND, "", "not a card network member");
    if (rc == PAY_ERR_OK && !b->net.issuer)
        rc = pay_error_set(&e, PAY_ERR_FORBIDDEN, "", "this bank is not an issuer of the network");
    if (rc == PAY_ERR_OK)
        return true;
    json_decref(m->in);
    m->in = NULL;
    pay_net_fail(req, &e);
    return false;
}

void iss_end(struct pay_http_request *req, struct iss_msg *m, enum pay_err rc,
             const struct pay_error *e)
{
    if (rc == PAY_ERR_OK && m->answer) {
        PAY_INFO("bank.net_issued", "acquirer=%s trace=%s mti=%s amount=%lld card=%s rc=%s", m->acq,
                 m->trace, m->mti, (long long)m->amount, m->card.id, m->rc);
        pay_net_reply_text(req, m->answer);
    } else {
        pay_net_fail(req, e->code ? e : &(struct pay_error){.code = PAY_ERR_INTERNAL});
    }
    free(m->answer);
    pay_net_card_wipe(&m->data);
    json_decref(m->in);
}
