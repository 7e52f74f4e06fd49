/* Forwarding a recorded message to its issuer (route.h): the card data re-sealed to the issuer,
 * the switch's fields added (data elements 33, 37), the issuer's signed answer checked and
 * recorded before the acquirer hears it. No answer to an authorization is recorded as 91 with a
 * reversal the switch owes the issuer; no answer to a capture, reversal or refund is answered
 * 91 but not kept, so the acquirer's repeat forwards it again. */
#include "switch/route.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The message as the issuer gets it (new reference; NULL when it cannot be made). */
static json_t *issuer_msg(const struct route_msg *m, struct pay_error *e)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "mti", m->kind->mti, "de3",
                          m->kind->proc, "de4", (json_int_t)m->amount, "de11", m->trace, "de32",
                          m->acq->code, "de33", m->sw->opt.code, "de37", m->rrn, "de49",
                          PAY_SWITCH_CURRENCY);
    json_t *de2 = json_pack("{s:s}", "token", m->token);
    if (!o || !de2) {
        json_decref(o);
        json_decref(de2);
        return NULL;
    }
    json_object_set_new(o, "de2", de2);
    if (!route_is_auth(m)) {
        json_object_set_new(o, "de90", json_string(m->orig));
        return o;
    }
    json_object_set_new(o, "de42", json_string(m->mer_id));
    json_object_set_new(o, "de43", json_string(m->mer_name));
    json_object_set(o, "de61", json_object_get(m->in, "de61"));
    if (m->have_card) { /* re-sealed to the issuer, bound to this message */
        char ctx[PAY_SEAL_CONTEXT_MAX + 1], *sealed = NULL;
        snprintf(ctx, sizeof ctx, "de2:%s:%s", m->acq->code, m->trace);
        if (pay_net_card_seal(m->iss.seal_pk, ctx, &m->card, &sealed, e) != PAY_ERR_OK) {
            json_decref(o);
            return NULL;
        }
        json_object_set_new(de2, "sealed", json_string(sealed));
        pay_wipe(sealed, strlen(sealed));
        free(sealed);
    }
    return o;
}

/* The issuer's answer as read: de39 one of ours, de38 and de44 optional and bounded. */
struct issuer_answer {
    char rc[PAY_NET_RC_LEN];
    char auth_code[8];
    char text[PAY_TEXT_FIELD_MAX + 1];
};

static bool read_answer(json_t *a, long status, struct issuer_answer *out)
{
    memset(out, 0, sizeof *out);
    const char *rc = json_string_value(json_object_get(a, "de39"));
    const char *ac = json_string_value(json_object_get(a, "de38"));
    const char *text = json_string_value(json_object_get(a, "de44"));
    if (status != 200 || !rc || !pay_net_rc_text(rc) || (ac && strlen(ac) > 6) ||
        (text && strlen(text) > PAY_TEXT_FIELD_MAX))
        return false;
    pay_str_copy(out->rc, sizeof out->rc, rc);
    pay_str_copy(out->auth_code, sizeof out->auth_code, ac ? ac : "");
    pay_str_copy(out->text, sizeof out->text, text ? text : "");
    return true;
}

struct answer_op {
    struct route_msg *m;
    const struct issuer_answer *a; /* NULL: no answer */
};

/* The answer that is kept when another forward of the same message recorded first. */
static enum pay_err kept_answer(struct pay_store_tx *tx, struct route_msg *m, struct pay_error *e)
{
    struct pay_store_stmt *st =
        pay_store_query(tx, e, "SELECT answer FROM switch_msgs WHERE acquirer = $1 AND trace = $2",
                        "tt", m->acq->code, m->trace);
    if (!st)
        return e->code;
    if (pay_store_step(st, e) == 1 && pay_store_col_text(st, 0)[0])
        m->answer = strdup(pay_store_col_text(st, 0));
    pay_store_done(st);
    return m->answer ? PAY_ERR_OK : pay_error_set(e, PAY_ERR_INTERNAL, "", "no kept answer");
}

static enum pay_err record_no_answer(struct pay_store_tx *tx, struct route_msg *m,
                                     struct pay_error *e)
{
    int64_t now = pay_clock_now_ms();
    snprintf(m->rc, sizeof m->rc, "91");
    m->answer = pay_switch_answer_text(route_answer(m, "91", "", "", "the issuer did not answer"));
    if (!m->answer)
        return pay_error_set(e, PAY_ERR_INTERNAL, "", "cannot write the answer");
    if (!route_is_auth(m)) /* not kept: the acquirer's repeat forwards it again */
        return PAY_ERR_OK;
    enum pay_err rc = pay_store_exec(tx, e,
                                     "UPDATE switch_msgs SET state = 'NO_ANSWER', response_code ="
                                     " '91', answer = $3, answered_ms = $4 WHERE acquirer = $1 AND"
                                     " trace = $2 AND state = 'SENT'",
                                     "ttti", m->acq->code, m->trace, m->answer, now);
    if (rc == PAY_ERR_OK && pay_store_changes(tx) == 0) {
        free(m->answer);
        m->answer = NULL;
        return kept_answer(tx, m, e);
    }
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, e,
                            "INSERT INTO switch_reversals (acquirer, trace, issuer, state,"
                            " next_attempt_ms, created_ms) VALUES ($1, $2, $3, 'PENDING', $4, $4)"
                            " ON CONFLICT (acquirer, trace) DO NOTHING",
                            "ttti", m->acq->code, m->trace, m->issuer, now);
    return rc;
}

static enum pay_err answer_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *e)
{
    struct answer_op *op = ctx;
    struct route_msg *m = op->m;
    free(m->answer);
    m->answer = NULL;
    if (!op->a)
        return record_no_answer(tx, m, e);
    char date[PAY_NET_DATE_LEN] = "";
    bool cleared = !route_is_auth(m) && strcmp(m->kind->mti, PAY_NET_MTI_REVERSAL) != 0 &&
                   strcmp(op->a->rc, "00") == 0; /* approved captures and refunds */
    if (cleared)                                 /* the business day the switch clears it in */
        pay_net_date(pay_clock_now_ms(), date);
    pay_str_copy(m->rc, sizeof m->rc, op->a->rc);
    m->answer =
        pay_switch_answer_text(route_answer(m, op->a->rc, op->a->auth_code, date, op->a->text));
    if (!m->answer)
        return pay_error_set(e, PAY_ERR_INTERNAL, "", "cannot write the answer");
    enum pay_err rc = pay_store_exec(
        tx, e,
        "UPDATE switch_msgs SET state = 'ANSWERED', response_code = $3, auth_code = $4,"
        " settle_date = $5, answer = $6, answered_ms = $7 WHERE acquirer = $1 AND trace = $2"
        " AND state = 'SENT'",
        "tttttti", m->acq->code, m->trace, op->a->rc, op->a->auth_code, date, m->answer,
        pay_clock_now_ms());
    if (rc == PAY_ERR_OK && pay_store_changes(tx) == 0) { /* another forward answered first */
        free(m->answer);
        m->answer = NULL;
        return kept_answer(tx, m, e);
    }
    if (rc == PAY_ERR_OK && cleared) /* the positions move with the answer that clears it */
        rc = pay_switch_clear_tx(m->sw, tx, m->acq->code, m->trace, m->kind->proc, m->issuer,
                                 m->amount, date, e);
    return rc;
}

/* Tests only (test_fault = stall-after-issuer, fake clock): the issuer's approval is recorded
 * and the acquirer never hears it, until the test kills the switch. */
static void fault_stall(const struct route_msg *m)
{
    if (strcmp(m->sw->opt.test_fault, "stall-after-issuer") != 0 || !route_is_auth(m))
        return;
    PAY_WARN("switch.fault_stall", "acquirer=%s trace=%s rc=%s", m->acq->code, m->trace, m->rc);
    for (;;)
        pause();
}

enum pay_err route_forward(struct route_msg *m, struct pay_error *e)
{
    json_t *msg = issuer_msg(m, e);
    if (!msg)
        return e->code ? e->code : pay_error_set(e, PAY_ERR_INTERNAL, "", "cannot write");
    long status = 0;
    json_t *answer = NULL;
    struct pay_error ce = {0};
    enum pay_err rc =
        pay_switch_call(m->sw, &m->iss, m->kind->issuer_path, msg, &status, &answer, &ce);
    json_decref(msg);
    struct issuer_answer a;
    bool answered = rc == PAY_ERR_OK && read_answer(answer, status, &a);
    json_decref(answer);
    if (!answered)
        PAY_WARN("switch.issuer_no_answer",
                 "issuer=%s acquirer=%s trace=%s mti=%s status=%ld"
                 " error=\"%s\"",
                 m->iss.code, m->acq->code, m->trace, m->kind->mti, status, ce.detail);
    struct answer_op op = {m, answered ? &a : NULL};
    rc = pay_committer_submit(m->sw->committer, answer_apply, &op, e);
    if (rc == PAY_ERR_OK && answered)
        fault_stall(m);
    return rc;
}
