/* The bank as the acquirer of the card network (docs/switch.md): a shopper pays one of our
 * merchants with another bank's card. The authorization (0100) is recorded as SENT with its
 * trace before it leaves, the card data sealed to the switch for this trace; the answer is
 * recorded in one transaction with what it does (an approval pays the order and credits the
 * merchant from the interbank receivable, and queues the capture). No answer in time is a
 * decline for the shopper and a reversal (0400) queued for the switch, sent until it answers,
 * so nobody is debited for a payment we did not record. Captures and reversals are sent by the
 * worker (and right away after an approval), each on its own trace, so a repeat is harmless. */
#include "bank/bank.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUE_BATCH 16
/* A bank that could not sign on (the switch down) tries again this often. */
#define BANK_NET_SIGNON_RETRY_MS 2000

static enum pay_err next_trace(struct pay_store_tx *tx, char out[PAY_NET_TRACE_LEN + 1],
                               struct pay_error *e)
{
    enum pay_err rc = pay_store_exec(tx, e, "UPDATE bank_net_trace SET next = next + 1", "");
    struct pay_store_stmt *st =
        rc == PAY_ERR_OK ? pay_store_query(tx, e, "SELECT next - 1 FROM bank_net_trace", "") : NULL;
    if (!st)
        return e->code ? e->code : rc;
    int r = pay_store_step(st, e);
    if (r == 1)
        snprintf(out, PAY_NET_TRACE_LEN + 1, "%0*lld", PAY_NET_TRACE_LEN,
                 (long long)pay_store_col_int64(st, 0));
    pay_store_done(st);
    PAY_ASSERT_MSG(r != 0, "bank_net_trace has no row");
    return r == 1 ? PAY_ERR_OK : e->code;
}

/* A capture or reversal of orig, sent by the worker until the switch answers. */
static enum pay_err queue(struct pay_store_tx *tx, const char *mti, const char *orig,
                          const char *order_pk, int64_t amount_minor, struct pay_error *e)
{
    char trace[PAY_NET_TRACE_LEN + 1];
    enum pay_err rc = next_trace(tx, trace, e);
    int64_t now = pay_clock_now_ms();
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, e,
                            "INSERT INTO bank_net_acquired (trace, mti, original_trace, order_pk,"
                            " amount_minor, state, next_attempt_ms, created_ms) VALUES ($1, $2,"
                            " $3, $4, $5, 'PENDING', $6, $6)",
                            "ttttii", trace, mti, orig, order_pk, amount_minor, now);
    return rc;
}

/* --- the authorization ------------------------------------------------------------------------ */

static enum pay_err begin_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *e)
{
    struct pay_bank_net_auth *a = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, e,
        "SELECT o.status, (SELECT COUNT(*) FROM bank_net_acquired n WHERE n.order_pk = o.id AND"
        " n.mti = '0100' AND n.state = 'SENT') FROM bank_orders o WHERE o.id = $1",
        "t", a->order_pk);
    if (!st)
        return e->code;
    int r = pay_store_step(st, e);
    bool payable = r == 1 && strcmp(pay_store_col_text(st, 0), "CREATED") == 0;
    bool in_flight = r == 1 && pay_store_col_int64(st, 1) > 0;
    pay_store_done(st);
    if (r < 0)
        return e->code;
    if (!payable || in_flight)
        return pay_error_set(e, PAY_ERR_ORDER_STATE, "",
                             in_flight ? N_("A payment of this order is in progress.")
                                       : N_("This order cannot be paid any more."));
    enum pay_err rc = next_trace(tx, a->trace, e);
    if (rc == PAY_ERR_OK)
        rc = pay_store_exec(tx, e,
                            "INSERT INTO bank_net_acquired (trace, mti, order_pk, amount_minor,"
                            " state, created_ms) VALUES ($1, '0100', $2, $3, 'SENT', $4)",
                            "ttii", a->trace, a->order_pk, a->amount_minor, pay_clock_now_ms());
    return rc;
}

/* The switch's answer as read (status 200, de39 one of ours); NULL fields when absent. */
struct auth_answer {
    bool answered;
    const char *rc, *text, *auth_code, *rrn, *token, *last4;
};

static void read_answer(json_t *j, long status, struct auth_answer *out)
{
    memset(out, 0, sizeof *out);
    const char *rc = json_string_value(json_object_get(j, "de39"));
    if (status != 200 || !rc || !pay_net_rc_text(rc))
        return;
    json_t *de2 = json_object_get(j, "de2");
    out->answered = true;
    out->rc = rc;
    out->text = json_string_value(json_object_get(j, "de44"));
    out->auth_code = json_string_value(json_object_get(j, "de38"));
    out->rrn = json_string_value(json_object_get(j, "de37"));
    out->token = json_string_value(json_object_get(de2, "token"));
    out->last4 = json_string_value(json_object_get(de2, "last4"));
}

struct answer_op {
    struct pay_bank_net_auth *a;
    const struct auth_answer *ans;
};

static const char *or_empty(const char *s, size_t max)
{
    return s && strlen(s) <= max ? s : "";
}

static enum pay_err answer_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *e)
{
    struct answer_op *op = ctx;
    struct pay_bank_net_auth *a = op->a;
    const struct auth_answer *ans = op->ans;
    a->approved = false;
    bool approved = ans->answered && strcmp(ans->rc, "00") == 0;
    enum pay_err rc = pay_store_exec(
        tx, e,
        "UPDATE bank_net_acquired SET state = $2, response_code = $3, auth_code = $4, rrn = $5,"
        " token = $6, last4 = $7 WHERE trace = $1 AND state = 'SENT'",
        "ttttttt", a->trace, ans->answered ? "ANSWERED" : "NO_ANSWER",
        ans->answered ? ans->rc : "91", or_empty(ans->auth_code, 6),
        or_empty(ans->rrn, PAY_NET_RRN_LEN), or_empty(ans->token, PAY_NET_TOKEN_MAX),
        or_empty(ans->last4, 4));
    if (rc != PAY_ERR_OK)
        return rc;
    if (pay_store_changes(tx) == 0) /* given up on already (a restart): its reversal is queued */
        return PAY_ERR_OK;
    if (!ans->answered)
        return queue(tx, PAY_NET_MTI_REVERSAL, a->trace, a->order_pk, a->amount_minor, e);
    if (!approved)
        return PAY_ERR_OK;
    bool taken = false;
    rc = a->on_approved(tx, a->ctx, a->trace, &taken, e);
    if (rc == PAY_ERR_OK)
        rc = queue(tx, taken ? PAY_NET_MTI_CAPTURE : PAY_NET_MTI_REVERSAL, a->trace, a->order_pk,
                   a->amount_minor, e);
    a->approved = rc == PAY_ERR_OK && taken;
    return rc;
}

/* de2 and de61 of the authorization: the card data sealed to the switch for this trace
 * (verified by CVN2 at the issuer), or the token of a card the issuer verified by SMS code on
 * the switch's page and that verification. NULL when the card cannot be sealed. */
static json_t *auth_card_fields(struct pay_bank *b, const struct pay_bank_net_auth *a,
                                json_t **de61, struct pay_error *e)
{
    if (a->vid) {
        *de61 = json_pack("{s:s, s:s}", "method", "SMS", "verificationId", a->vid);
        return json_pack("{s:s}", "token", a->token);
    }
    char ctx[PAY_SEAL_CONTEXT_MAX + 1], *sealed = NULL;
    snprintf(ctx, sizeof ctx, "de2:%s:%s", b->opt.code, a->trace);
    if (pay_net_card_seal(b->net.switch_seal_pk, ctx, a->card, &sealed, e) != PAY_ERR_OK)
        return NULL;
    json_t *de2 = json_pack("{s:s}", "sealed", sealed);
    pay_wipe(sealed, strlen(sealed));
    free(sealed);
    *de61 = json_pack("{s:s}", "method", "CVN2");
    return de2;
}

static char *auth_body(struct pay_bank *b, const struct pay_bank_net_auth *a, struct pay_error *e)
{
    json_t *de61 = NULL, *de2 = auth_card_fields(b, a, &de61, e);
    json_t *m = de2 && de61 ? json_pack("{s:s, s:o, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "mti",
                                        PAY_NET_MTI_AUTH, "de2", de2, "de3", PAY_NET_PROC_PURCHASE,
                                        "de4", (json_int_t)a->amount_minor, "de11", a->trace,
                                        "de32", b->opt.code, "de42", a->mer_id, "de43", a->mer_name,
                                        "de49", PAY_BANK_CURRENCY, "de61", de61)
                            : NULL;
    if (!m) {
        json_decref(de2);
        json_decref(de61);
    }
    char *body = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(m);
    if (!body)
        pay_error_set(e, PAY_ERR_INTERNAL, "", "cannot write the authorization");
    return body;
}

enum pay_err pay_bank_net_authorize(struct pay_bank *b, struct pay_bank_net_auth *a,
                                    struct pay_error *err)
{
    PAY_ASSERT(b->net.enabled && a->amount_minor > 0 && a->on_approved);
    PAY_ASSERT_MSG(!a->card != !a->vid && (!a->vid || a->token), "card data or token and vid");
    a->rc[0] = a->text[0] = a->last4[0] = '\0';
    a->approved = false;
    enum pay_err rc = pay_committer_submit(b->committer, begin_apply, a, err);
    if (rc != PAY_ERR_OK)
        return rc;
    char *body = auth_body(b, a, err);
    long status = 0;
    json_t *answer = NULL;
    struct pay_error ce = {0};
    if (body &&
        pay_bank_net_call(b, "/net/v1/authorizations", body, &status, &answer, &ce) != PAY_ERR_OK)
        PAY_WARN("bank.net_no_answer", "trace=%s error=\"%s\"", a->trace, ce.detail);
    free(body);
    struct auth_answer ans;
    read_answer(answer, status, &ans);
    struct answer_op op = {a, &ans};
    rc = pay_committer_submit(b->committer, answer_apply, &op, err);
    pay_str_copy(a->rc, sizeof a->rc, ans.answered ? ans.rc : "91");
    pay_str_copy(a->text, sizeof a->text, or_empty(ans.text, PAY_TEXT_FIELD_MAX));
    pay_str_copy(a->last4, sizeof a->last4, or_empty(ans.last4, 4));
    json_decref(answer);
    PAY_INFO("bank.net_acquired", "order=%s trace=%s amount=%lld rc=%s approved=%d", a->order_pk,
             a->trace, (long long)a->amount_minor, a->rc, a->approved);
    if (rc == PAY_ERR_OK && (a->approved || !ans.answered))
        pay_bank_net_send_due(b); /* the capture, or the reversal, at once */
    return rc;
}

/* --- refunds ------------------------------------------------------------------------------ */

enum pay_err pay_bank_net_refund_tx(struct pay_bank *b, struct pay_store_tx *tx,
                                    const char *order_pk, const char *tid, const char *mer_acct,
                                    int64_t amount_minor, struct pay_error *err)
{
    char auth[PAY_NET_TRACE_LEN + 1] = "";
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT trace FROM bank_net_acquired WHERE order_pk = $1 AND mti = '0100' AND"
        " response_code = '00'",
        "t", order_pk);
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    if (r == 1)
        pay_store_col_copy(st, 0, auth, sizeof auth);
    pay_store_done(st);
    if (r < 0)
        return err->code;
    if (!auth[0] || !b->net.enabled)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "orderId", "no paid order %s", order_pk);
    /* the network will pay the card's bank: it owes us that much less */
    enum pay_err rc = pay_bank_transfer(b, tx, tid, mer_acct, b->net.receivable, amount_minor,
                                        PAY_BANK_XFER_NET_REFUND, auth, err);
    return rc == PAY_ERR_OK ? queue(tx, PAY_NET_MTI_REFUND, auth, order_pk, amount_minor, err) : rc;
}

/* --- captures, refunds and reversals ----------------------------------------------------- */

struct due {
    char trace[PAY_NET_TRACE_LEN + 1], mti[5], orig[PAY_NET_TRACE_LEN + 1];
    int64_t amount_minor, attempts;
};

struct claim_op {
    struct pay_bank *b;
    struct due d[DUE_BATCH];
    size_t n;
};

/* Authorizations with no answer for longer than a call can last (the bank stopped mid-call)
 * are given up: a reversal is queued for each. */
static enum pay_err give_up_stale(struct pay_store_tx *tx, int64_t now, struct pay_error *e)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, e,
        "SELECT trace, order_pk, amount_minor FROM bank_net_acquired WHERE mti = '0100' AND"
        " state = 'SENT' AND created_ms < $1 LIMIT 16",
        "i", now - 2 * PAY_NET_CALL_TIMEOUT_MS);
    if (!st)
        return e->code;
    struct due stale[16];
    char orders[16][PAY_ID_MAX];
    size_t n = 0;
    while (n < 16 && pay_store_step(st, e) == 1) {
        pay_store_col_copy(st, 0, stale[n].trace, sizeof stale[n].trace);
        pay_store_col_copy(st, 1, orders[n], sizeof orders[n]);
        stale[n++].amount_minor = pay_store_col_int64(st, 2);
    }
    pay_store_done(st);
    enum pay_err rc = PAY_ERR_OK;
    for (size_t i = 0; rc == PAY_ERR_OK && i < n; i++) {
        rc = pay_store_exec(tx, e,
                            "UPDATE bank_net_acquired SET state = 'NO_ANSWER', response_code ="
                            " '91' WHERE trace = $1",
                            "t", stale[i].trace);
        if (rc == PAY_ERR_OK)
            rc = queue(tx, PAY_NET_MTI_REVERSAL, stale[i].trace, orders[i], stale[i].amount_minor,
                       e);
    }
    return rc;
}

/* Claims due messages by moving their next attempt past a call's timeout (a lease). */
static enum pay_err claim_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *e)
{
    struct claim_op *c = ctx;
    int64_t now = pay_clock_now_ms();
    c->n = 0;
    enum pay_err rc = give_up_stale(tx, now, e);
    struct pay_store_stmt *st =
        rc == PAY_ERR_OK
            ? pay_store_query(tx, e,
                              "SELECT trace, mti, original_trace, amount_minor, attempts FROM"
                              " bank_net_acquired n WHERE state = 'PENDING' AND next_attempt_ms"
                              " <= $1 AND NOT (mti = '0200' AND EXISTS (SELECT 1 FROM"
                              " bank_net_acquired c WHERE c.mti = '0220' AND c.original_trace ="
                              " n.original_trace AND c.state <> 'DONE')) ORDER BY"
                              " next_attempt_ms LIMIT 16",
                              "i", now)
            : NULL;
    if (!st)
        return e->code ? e->code : rc;
    while (c->n < DUE_BATCH && pay_store_step(st, e) == 1) {
        struct due *d = &c->d[c->n++];
        pay_store_col_copy(st, 0, d->trace, sizeof d->trace);
        pay_store_col_copy(st, 1, d->mti, sizeof d->mti);
        pay_store_col_copy(st, 2, d->orig, sizeof d->orig);
        d->amount_minor = pay_store_col_int64(st, 3);
        d->attempts = pay_store_col_int64(st, 4);
    }
    pay_store_done(st);
    for (size_t i = 0; rc == PAY_ERR_OK && i < c->n; i++)
        rc = pay_store_exec(tx, e,
                            "UPDATE bank_net_acquired SET next_attempt_ms = $2 WHERE trace = $1",
                            "ti", c->d[i].trace, now + 2 * PAY_NET_CALL_TIMEOUT_MS);
    return rc;
}

struct done_op {
    const struct due *d;
    const char *rc, *settle_date; /* rc NULL: no answer */
    const char *error;
};

static enum pay_err done_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *e)
{
    struct done_op *o = ctx;
    int64_t backoff = PAY_NET_RETRY_FIRST_MS;
    for (int64_t i = 0; i < o->d->attempts && backoff < PAY_NET_RETRY_MAX_MS; i++)
        backoff *= 2;
    if (backoff > PAY_NET_RETRY_MAX_MS)
        backoff = PAY_NET_RETRY_MAX_MS;
    return pay_store_exec(tx, e,
                          "UPDATE bank_net_acquired SET state = $2, attempts = attempts + 1,"
                          " next_attempt_ms = $3, response_code = $4, settle_date = $5,"
                          " last_error = $6 WHERE trace = $1 AND state = 'PENDING'",
                          "ttittt", o->d->trace, o->rc ? "DONE" : "PENDING",
                          pay_clock_now_ms() + backoff, o->rc ? o->rc : "",
                          o->settle_date ? o->settle_date : "", o->error);
}

static void send_one(struct pay_bank *b, const struct due *d)
{
    bool capture = strcmp(d->mti, PAY_NET_MTI_CAPTURE) == 0;
    bool refund = strcmp(d->mti, PAY_NET_MTI_REFUND) == 0; /* sent after its capture */
    const char *path = capture  ? "/net/v1/captures"
                       : refund ? "/net/v1/refunds"
                                : "/net/v1/reversals";
    json_t *m = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "mti", d->mti, "de3",
                          refund ? PAY_NET_PROC_REFUND : PAY_NET_PROC_PURCHASE, "de4",
                          (json_int_t)d->amount_minor, "de11", d->trace, "de32", b->opt.code,
                          "de49", PAY_BANK_CURRENCY, "de90", d->orig);
    char *body = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(m);
    long status = 0;
    json_t *answer = NULL;
    struct pay_error e = {0};
    enum pay_err r =
        body ? pay_bank_net_call(b, path, body, &status, &answer, &e) : PAY_ERR_INTERNAL;
    free(body);
    const char *rc = json_string_value(json_object_get(answer, "de39"));
    bool answered = r == PAY_ERR_OK && status == 200 && rc && pay_net_rc_text(rc);
    char error[200] = "";
    if (!answered)
        snprintf(error, sizeof error, "%s: %.150s (HTTP %ld)", pay_err_name(r ? r : e.code),
                 e.detail, status);
    struct done_op o = {d, answered ? rc : NULL, json_string_value(json_object_get(answer, "de15")),
                        error};
    struct pay_error de = {0};
    if (pay_committer_submit(b->committer, done_apply, &o, &de) != PAY_ERR_OK)
        PAY_ERROR("bank.net_record_failed", "trace=%s code=%s", d->trace, pay_err_name(de.code));
    if (answered && strcmp(rc, "00") != 0 && (capture || refund)) /* for reconciliation */
        PAY_ERROR("bank.net_refused", "mti=%s trace=%s orig=%s rc=%s", d->mti, d->trace, d->orig,
                  rc);
    PAY_INFO("bank.net_sent", "mti=%s trace=%s orig=%s rc=%s error=\"%s\"", d->mti, d->trace,
             d->orig, answered ? rc : "", error);
    json_decref(answer);
}

void pay_bank_net_send_due(struct pay_bank *b)
{
    if (!b->net.enabled || !b->net.acquirer)
        return;
    struct claim_op *c = calloc(1, sizeof *c);
    struct pay_error err = {0};
    if (!c)
        return;
    c->b = b;
    if (pay_committer_submit(b->committer, claim_apply, c, &err) == PAY_ERR_OK)
        for (size_t i = 0; i < c->n; i++)
            send_one(b, &c->d[i]);
    free(c);
}

/* Here rather than in net.c, which the others call and which calls none of them back
 * (docs/hacking.md, "Call loops"). */
void pay_bank_net_run(struct pay_bank *b)
{
    if (!b->net.enabled)
        return;
    struct pay_error err = {0};
    if (!b->net.signed_on && b->url[0] && pay_clock_mono_ms() >= b->net.signon_after_ms &&
        pay_bank_net_signon(b, &err) != PAY_ERR_OK) {
        PAY_WARN("bank.net_signon_failed", "switch=%s error=\"%s\"", b->net.switch_code,
                 err.detail);
        b->net.signon_after_ms = pay_clock_mono_ms() + BANK_NET_SIGNON_RETRY_MS;
    }
    pay_bank_net_send_due(b); /* the acquirer's captures and reversals */
}
