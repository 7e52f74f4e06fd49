/* The bank as the issuer of the card network (docs/switch.md): the switch brings
 * authorizations (0100), captures (0220), reversals (0400) and refunds (0200) for the bank's
 * cards, signed with its key. Each is applied exactly once, in one committer transaction with
 * its ledger transfer and its answer: a repeat (same acquirer, trace and type) answers the same
 * text; a trace reused for another message is 94. An authorization is checked like the bank's
 * own card payments (card status, expiry, CVN2 counted on the card's lock, balance) and holds
 * the amount (a pending transfer card -> interbank payable, expiring after PAY_NET_AUTH_HOLD_S);
 * a capture posts the hold, a reversal voids it, a refund credits the card back. */
#include "bank/net_issuer.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/money.h"
#include "crypto/crypto.h"
#include "http/server.h"
#include "store/attempts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- rows seen before --------------------------------------------------------------------- */

/* A message seen before: its answer again, or refused (94; 12 for an authorization that a
 * reversal overtook). *found says whether it was. */
static enum pay_err replay(struct pay_store_tx *tx, struct iss_msg *m, bool *found,
                           struct pay_error *e)
{
    struct pay_store_stmt *st = pay_store_query(
        tx, e,
        "SELECT fingerprint, answer FROM bank_net_issued WHERE acquirer = $1 AND trace = $2"
        " AND mti = $3",
        "ttt", m->acq, m->trace, m->mti);
    if (!st)
        return e->code;
    int r = pay_store_step(st, e);
    *found = r == 1;
    if (r == 1 && !pay_store_col_text(st, 0)[0])
        iss_answer(m, "12", "", "reversed before it arrived");
    else if (r == 1 && strcmp(pay_store_col_text(st, 0), m->fp) != 0)
        iss_answer(m, "94", "", "this trace was used for another message");
    else if (r == 1) {
        free(m->answer);
        m->answer = strdup(pay_store_col_text(st, 1));
        snprintf(m->rc, sizeof m->rc, "--");
    }
    pay_store_done(st);
    return r < 0 ? e->code : PAY_ERR_OK;
}

/* --- the ledger ----------------------------------------------------------------------------------
 */

/* One transfer of the network's (ids "ni<kind>:<acquirer>:<trace>"); its result. */
static enum pay_err net_transfer(struct iss_msg *m, struct pay_store_tx *tx, char kind,
                                 const char *trace, uint32_t flags, const char *pending_of,
                                 const char *from, const char *to, int32_t code,
                                 enum pay_ledger_result *res, struct pay_error *e)
{
    struct pay_ledger_transfer t;
    memset(&t, 0, sizeof t);
    snprintf(t.id, sizeof t.id, "ni%c:%s:%s", kind, m->acq, trace);
    if (pending_of)
        snprintf(t.pending_id, sizeof t.pending_id, "nia:%s:%s", m->acq, pending_of);
    pay_str_copy(t.debit_account_id, sizeof t.debit_account_id, from ? from : "");
    pay_str_copy(t.credit_account_id, sizeof t.credit_account_id, to ? to : "");
    snprintf(t.currency, sizeof t.currency, PAY_BANK_CURRENCY);
    PAY_ASSERT_MSG(m->amount > 0 && m->amount <= PAY_AMOUNT_MAX_MINOR, "net %s", t.id);
    t.amount_minor = (flags & PAY_LEDGER_TF_VOID_PENDING) ? 0 : m->amount;
    t.code = code;
    t.flags = flags;
    t.timeout_s = (flags & PAY_LEDGER_TF_PENDING) ? PAY_NET_AUTH_HOLD_S : 0;
    pay_str_copy(t.user_data, sizeof t.user_data, m->rrn ? m->rrn : "");
    return pay_ledger_tx_transfer(m->b->ledger, tx, &t, res, e);
}

/* --- authorization -----------------------------------------------------------------------------
 */

/* The card of the message and whether it may pay; *rc "" when it may. */
static enum pay_err auth_card(struct pay_store_tx *tx, struct iss_msg *m, int64_t now,
                              const char **rc, struct pay_error *e)
{
    enum pay_err r;
    *rc = "";
    if (strcmp(m->method, "SMS") == 0)
        r = iss_verified_card(tx, m, now, rc, e);
    else
        r = pay_bank_card_find(m->b, tx, m->data.pan, &m->card, e);
    if (r == PAY_ERR_CARD_INVALID) {
        memset(e, 0, sizeof *e);
        *rc = "14";
        return PAY_ERR_OK;
    }
    if (r != PAY_ERR_OK || (*rc)[0])
        return r;
    r = iss_card_usable(m, now, rc, e);
    if (r == PAY_ERR_OK && !(*rc)[0] && strcmp(m->method, "CVN2") == 0)
        r = iss_check_card_data(tx, m, now, rc, e);
    return r;
}

static enum pay_err auth_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *e)
{
    struct iss_msg *m = ctx;
    int64_t now = pay_clock_now_ms();
    bool found = false;
    memset(&m->card, 0, sizeof m->card);
    enum pay_err r = replay(tx, m, &found, e);
    if (r != PAY_ERR_OK || found)
        return r;
    const char *rc = "";
    r = auth_card(tx, m, now, &rc, e);
    if (r != PAY_ERR_OK)
        return r;
    if (rc[0])
        return iss_store(tx, m, "DECLINED", rc, "", NULL, e);
    enum pay_ledger_result res;
    r = net_transfer(m, tx, 'a', m->trace, PAY_LEDGER_TF_PENDING, NULL, m->card.account_id,
                     m->b->net.payable, PAY_BANK_XFER_NET_PURCHASE, &res, e);
    if (r != PAY_ERR_OK)
        return r;
    if (res != PAY_LEDGER_OK)
        return iss_store(tx, m, "DECLINED", res == PAY_LEDGER_EXCEEDS_CREDITS ? "51" : "05", "",
                         NULL, e);
    char code[8];
    snprintf(code, sizeof code, "%06u", pay_random_uniform(1000000u));
    r = iss_mark_verification_used(tx, m, e);
    return r == PAY_ERR_OK ? iss_store(tx, m, "APPROVED", "00", code, NULL, e) : r;
}

/* --- captures, reversals, refunds
 * ----------------------------------------------------------------- */

struct orig {
    bool found;
    char state[16];
    int64_t amount_minor, captured_minor, refunded_minor;
};

static enum pay_err load_orig(struct pay_store_tx *tx, struct iss_msg *m, struct orig *o,
                              struct pay_error *e)
{
    memset(o, 0, sizeof *o);
    struct pay_store_stmt *st = pay_store_query(
        tx, e,
        "SELECT state, amount_minor, captured_minor, refunded_minor, card_id FROM bank_net_issued"
        " WHERE acquirer = $1 AND trace = $2 AND mti = $3",
        "ttt", m->acq, m->orig, PAY_NET_MTI_AUTH);
    if (!st)
        return e->code;
    int r = pay_store_step(st, e);
    if (r == 1) {
        o->found = true;
        pay_store_col_copy(st, 0, o->state, sizeof o->state);
        o->amount_minor = pay_store_col_int64(st, 1);
        o->captured_minor = pay_store_col_int64(st, 2);
        o->refunded_minor = pay_store_col_int64(st, 3);
        pay_store_col_copy(st, 4, m->card.id, sizeof m->card.id);
    }
    pay_store_done(st);
    return r < 0 ? e->code : PAY_ERR_OK;
}

static enum pay_err set_orig(struct pay_store_tx *tx, struct iss_msg *m, const char *state,
                             int64_t captured_minor, int64_t refunded_minor, struct pay_error *e)
{
    return pay_store_exec(tx, e,
                          "UPDATE bank_net_issued SET state = $4, captured_minor = $5,"
                          " refunded_minor = $6 WHERE acquirer = $1 AND trace = $2 AND mti = $3",
                          "ttttii", m->acq, m->orig, PAY_NET_MTI_AUTH, state, captured_minor,
                          refunded_minor);
}

/* A reversal whose authorization has not arrived: the authorization is refused when it does. */
static enum pay_err tombstone(struct pay_store_tx *tx, struct iss_msg *m, struct pay_error *e)
{
    return pay_store_exec(tx, e,
                          "INSERT INTO bank_net_issued (acquirer, trace, mti, fingerprint,"
                          " response_code, state, created_ms) VALUES ($1, $2, $3, '', '12',"
                          " 'VOID', $4)",
                          "ttti", m->acq, m->orig, PAY_NET_MTI_AUTH, pay_clock_now_ms());
}

/* What every follow-up does first: a repeat is answered again, else its original is loaded;
 * an original that never arrived or was voided is answered 25 (a reversal of one that never
 * arrived leaves a tombstone, so the authorization is refused when it comes). *done: answered. */
static enum pay_err followup_begin(struct pay_store_tx *tx, struct iss_msg *m, struct orig *o,
                                   bool *done, struct pay_error *e)
{
    bool found = false;
    *done = true;
    enum pay_err r = replay(tx, m, &found, e);
    if (r != PAY_ERR_OK || found || (r = load_orig(tx, m, o, e)) != PAY_ERR_OK)
        return r;
    bool reversal = strcmp(m->mti, PAY_NET_MTI_REVERSAL) == 0;
    if (!o->found && reversal) {
        r = tombstone(tx, m, e);
        return r == PAY_ERR_OK ? iss_store(tx, m, "", "25", "",
                                           "original not found: refused if it arrives later", e)
                               : r;
    }
    if (!o->found || strcmp(o->state, "VOID") == 0)
        return iss_store(tx, m, "", "25", "", NULL, e);
    *done = false;
    return PAY_ERR_OK;
}

/* What every follow-up does last, after its ledger transfer: a transfer the ledger refused is
 * declined with rc and the ledger's reason (why: the text for it, NULL: the result's name);
 * otherwise the original moves to state with its sums and the message is approved. */
static enum pay_err followup_end(struct pay_store_tx *tx, struct iss_msg *m,
                                 enum pay_ledger_result res, const char *rc, const char *why,
                                 const char *state, int64_t captured_minor, int64_t refunded_minor,
                                 struct pay_error *e)
{
    if (res != PAY_LEDGER_OK)
        return iss_store(tx, m, "", rc, "", why ? why : pay_ledger_result_name(res), e);
    enum pay_err r = set_orig(tx, m, state, captured_minor, refunded_minor, e);
    return r == PAY_ERR_OK ? iss_store(tx, m, "", "00", "", NULL, e) : r;
}

/* The authorization's hold (m->orig) posted by a capture (its amount, m->amount) or voided. */
static enum pay_err hold_close(struct pay_store_tx *tx, struct iss_msg *m, bool post,
                               enum pay_ledger_result *res, struct pay_error *e)
{
    return net_transfer(m, tx, post ? 'c' : 'v', post ? m->trace : m->orig,
                        post ? PAY_LEDGER_TF_POST_PENDING : PAY_LEDGER_TF_VOID_PENDING, m->orig,
                        NULL, NULL, PAY_BANK_XFER_NET_PURCHASE, res, e);
}

static enum pay_err capture(struct pay_store_tx *tx, struct iss_msg *m, const struct orig *o,
                            struct pay_error *e)
{
    enum pay_err r;
    if (strcmp(o->state, "APPROVED") != 0)
        return iss_store(tx, m, "", "12", "",
                         strcmp(o->state, "CAPTURED") == 0   ? "already captured"
                         : strcmp(o->state, "REVERSED") == 0 ? "the authorization was reversed"
                                                             : "the authorization was declined",
                         e);
    if (m->amount > o->amount_minor)
        return iss_store(tx, m, "", "13", "", "more than the authorization", e);
    enum pay_ledger_result res;
    r = hold_close(tx, m, true, &res, e);
    if (r != PAY_ERR_OK)
        return r;
    return followup_end(tx, m, res, "12",
                        res == PAY_LEDGER_PENDING_TRANSFER_EXPIRED ? "the authorization expired"
                                                                   : NULL,
                        "CAPTURED", m->amount, 0, e);
}

static enum pay_err reversal(struct pay_store_tx *tx, struct iss_msg *m, const struct orig *o,
                             struct pay_error *e)
{
    enum pay_err r;
    if (strcmp(o->state, "CAPTURED") == 0)
        return iss_store(tx, m, "", "12", "", "captured: refund it instead", e);
    if (strcmp(o->state, "APPROVED") != 0) /* declined or reversed: nothing is held */
        return iss_store(tx, m, "", "00", "", "nothing is held", e);
    enum pay_ledger_result res;
    r = hold_close(tx, m, false, &res, e);
    if (r != PAY_ERR_OK)
        return r;
    /* an expired hold is released already: the reversal is done all the same */
    if (res != PAY_LEDGER_OK && res != PAY_LEDGER_PENDING_TRANSFER_EXPIRED)
        return pay_error_set(e, PAY_ERR_INTERNAL, "", "void of %s: %s", m->orig,
                             pay_ledger_result_name(res));
    return followup_end(tx, m, PAY_LEDGER_OK, "", NULL, "REVERSED", 0, 0, e);
}

static enum pay_err refund(struct pay_store_tx *tx, struct iss_msg *m, const struct orig *o,
                           struct pay_error *e)
{
    enum pay_err r;
    if (strcmp(o->state, "CAPTURED") != 0)
        return iss_store(tx, m, "", "12", "", "only a captured purchase is refunded", e);
    int64_t left = 0, after = 0;
    r = pay_money_sub(o->captured_minor, o->refunded_minor, &left);
    PAY_ASSERT_MSG(r == PAY_ERR_OK && left >= 0, "refunds of %s:%s", m->acq, m->orig);
    if (m->amount > left)
        return iss_store(tx, m, "", "13", "", "more than is left to refund", e);
    r = pay_money_add(o->refunded_minor, m->amount, &after);
    PAY_ASSERT(r == PAY_ERR_OK && after <= o->captured_minor);
    char card_id[PAY_ID_MAX];
    pay_str_copy(card_id, sizeof card_id, m->card.id);
    r = pay_bank_card_get(tx, card_id, &m->card, e);
    enum pay_ledger_result res = PAY_LEDGER_OK;
    if (r == PAY_ERR_OK)
        r = net_transfer(m, tx, 'r', m->trace, 0, NULL, m->b->net.payable, m->card.account_id,
                         PAY_BANK_XFER_NET_REFUND, &res, e);
    if (r != PAY_ERR_OK)
        return r;
    return followup_end(tx, m, res, "05", NULL, "CAPTURED", o->captured_minor, after, e);
}

typedef enum pay_err (*followup_fn)(struct pay_store_tx *tx, struct iss_msg *m,
                                    const struct orig *o, struct pay_error *e);
struct followup_op {
    struct iss_msg *m;
    followup_fn fn;
};

/* A capture, reversal or refund: followup_begin, then what the kind does with its original. */
static enum pay_err followup_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *e)
{
    struct followup_op *op = ctx;
    struct orig o;
    bool done = false;
    enum pay_err r = followup_begin(tx, op->m, &o, &done, e);
    return r != PAY_ERR_OK || done ? r : op->fn(tx, op->m, &o, e);
}

/* --- the handlers
 * ----------------------------------------------------------------------------------- */

/* An authorization (apply) or a follow-up (fn) from the switch, applied in one transaction. */
static enum pay_err handle(struct pay_http_request *req, const char *mti, const char *proc,
                           pay_store_tx_fn apply, followup_fn fn, struct pay_error *err)
{
    struct iss_msg m;
    if (!iss_begin(req, &m))
        return PAY_ERR_OK;
    struct followup_op op = {&m, fn};
    enum pay_err rc = iss_parse(&m, mti, proc, err);
    if (rc == PAY_ERR_OK)
        rc = fn ? pay_committer_submit(m.b->committer, followup_apply, &op, err)
                : pay_committer_submit(m.b->committer, apply, &m, err);
    iss_end(req, &m, rc, err);
    return PAY_ERR_OK;
}

static enum pay_err auth_handler(struct pay_http_request *req, struct pay_error *err)
{
    return handle(req, PAY_NET_MTI_AUTH, PAY_NET_PROC_PURCHASE, auth_apply, NULL, err);
}
static enum pay_err capture_handler(struct pay_http_request *req, struct pay_error *err)
{
    return handle(req, PAY_NET_MTI_CAPTURE, PAY_NET_PROC_PURCHASE, NULL, capture, err);
}
static enum pay_err reversal_handler(struct pay_http_request *req, struct pay_error *err)
{
    return handle(req, PAY_NET_MTI_REVERSAL, PAY_NET_PROC_PURCHASE, NULL, reversal, err);
}
static enum pay_err refund_handler(struct pay_http_request *req, struct pay_error *err)
{
    return handle(req, PAY_NET_MTI_REFUND, PAY_NET_PROC_REFUND, NULL, refund, err);
}

static struct pay_http_route routes[] = {
    {"POST", "/net/v1/issuer/authorizations", PAY_HTTP_API, PAY_HTTP_BODY_RAW, auth_handler, NULL},
    {"POST", "/net/v1/issuer/captures", PAY_HTTP_API, PAY_HTTP_BODY_RAW, capture_handler, NULL},
    {"POST", "/net/v1/issuer/reversals", PAY_HTTP_API, PAY_HTTP_BODY_RAW, reversal_handler, NULL},
    {"POST", "/net/v1/issuer/refunds", PAY_HTTP_API, PAY_HTTP_BODY_RAW, refund_handler, NULL},
    {"POST", "/net/v1/issuer/verifications", PAY_HTTP_API, PAY_HTTP_BODY_RAW, iss_verify_handler,
     NULL},
    {"POST", "/net/v1/issuer/verifications/confirm", PAY_HTTP_API, PAY_HTTP_BODY_RAW,
     iss_confirm_handler, NULL},
};

const struct pay_http_route *pay_bank_net_issuer_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
