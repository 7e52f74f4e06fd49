/* The financial messages at the switch (docs/switch.md): an acquirer's authorization (0100),
 * capture (0220), reversal (0400) or refund (0200) is checked, recorded under the acquirer's
 * trace (data element 11) before anything else happens, routed to the card's issuer (the BIN
 * table, or the original authorization), forwarded with the card data re-sealed to the issuer,
 * and the issuer's answer recorded before the acquirer hears it. A repeat of a trace answers
 * exactly what the first answered (or is forwarded again while no answer is recorded); a trace
 * reused for another message is 94. An authorization the issuer does not answer is 91 and the
 * switch reverses it at the issuer itself (worker.c). */
#include "switch/route.h"
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct route_kind kinds[] = {
    {"/net/v1/authorizations", PAY_NET_MTI_AUTH, PAY_NET_MTI_AUTH_RESP, PAY_NET_PROC_PURCHASE,
     "/net/v1/issuer/authorizations"},
    {"/net/v1/captures", PAY_NET_MTI_CAPTURE, PAY_NET_MTI_CAPTURE_RESP, PAY_NET_PROC_PURCHASE,
     "/net/v1/issuer/captures"},
    {"/net/v1/reversals", PAY_NET_MTI_REVERSAL, PAY_NET_MTI_REVERSAL_RESP, PAY_NET_PROC_PURCHASE,
     "/net/v1/issuer/reversals"},
    {"/net/v1/refunds", PAY_NET_MTI_REFUND, PAY_NET_MTI_REFUND_RESP, PAY_NET_PROC_REFUND,
     "/net/v1/issuer/refunds"},
};

const struct route_kind *route_kind_of_mti(const char *mti)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].mti, mti) == 0)
            return &kinds[i];
    return NULL;
}

/* --- the message's fields ------------------------------------------------------------------ */

static enum pay_err parse_card(struct route_msg *m, struct pay_error *e)
{
    json_t *de2 = json_object_get(m->in, "de2"), *de61 = json_object_get(m->in, "de61");
    m->token_in = json_string_value(json_object_get(de2, "token"));
    m->sealed_in = json_string_value(json_object_get(de2, "sealed"));
    if (!json_is_object(de2) || (!m->token_in == !m->sealed_in))
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de2",
                             "de2 holds either the card data sealed to the switch or a token");
    m->method = pay_net_str(de61, "method", 8, e);
    if (!m->method)
        return pay_error_set(e, e->code, "de61.method",
                             "de61.method: CVN2 or SMS (the cardholder's verification)");
    m->vid = json_string_value(json_object_get(de61, "verificationId"));
    if (strcmp(m->method, "SMS") == 0 && (!m->vid || !m->token_in))
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de61.verificationId",
                             "an SMS-verified authorization names its verification and token");
    if (strcmp(m->method, "CVN2") == 0 && !m->sealed_in)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de2",
                             "a CVN2 authorization carries the sealed card data");
    if (strcmp(m->method, "SMS") != 0 && strcmp(m->method, "CVN2") != 0)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de61.method", "CVN2 or SMS");
    m->mer_id = pay_net_str(m->in, "de42", PAY_MERCHANT_ID_FIELD_MAX, e);
    m->mer_name = m->mer_id ? pay_net_str(m->in, "de43", PAY_TEXT_FIELD_MAX, e) : NULL;
    if (!m->mer_name)
        return e->code;
    if (!m->sealed_in)
        return PAY_ERR_OK;
    char ctx[PAY_SEAL_CONTEXT_MAX + 1];
    snprintf(ctx, sizeof ctx, "de2:%s:%s", m->acq->code, m->trace);
    enum pay_err rc = pay_net_card_open(&m->sw->keys.seal, ctx, m->sealed_in, &m->card, e);
    if (rc == PAY_ERR_OK) {
        m->have_card = true;
        pay_keyed_hash_hex(m->pan_index, m->sw->keys.index_key, m->card.pan, strlen(m->card.pan));
    }
    return rc;
}

static enum pay_err parse(struct route_msg *m, struct pay_error *e)
{
    const char *mti = pay_net_str(m->in, "mti", 4, e);
    if (mti && strcmp(mti, m->kind->mti) != 0)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "mti", "mti must be %s here", m->kind->mti);
    const char *proc = mti ? pay_net_str(m->in, "de3", 6, e) : NULL;
    if (proc && strcmp(proc, m->kind->proc) != 0)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de3", "de3 must be %s here", m->kind->proc);
    m->trace = proc ? pay_net_trace(m->in, "de11", e) : NULL;
    const char *acq = m->trace ? pay_net_str(m->in, "de32", PAY_NET_CODE_MAX, e) : NULL;
    if (acq && strcmp(acq, m->acq->code) != 0)
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de32", "de32 must be your own code, %s",
                             m->acq->code);
    const char *cur = acq ? pay_net_str(m->in, "de49", 3, e) : NULL;
    if (cur && strcmp(cur, PAY_SWITCH_CURRENCY) != 0)
        return pay_error_set(e, PAY_ERR_CURRENCY_MISMATCH, "de49", "the network clears CNY");
    if (!cur || !pay_net_amount(m->in, "de4", &m->amount, e))
        return e->code;
    if (!route_is_auth(m)) {
        m->orig = pay_net_trace(m->in, "de90", e);
        if (!m->orig)
            return e->code;
        if (strcmp(m->orig, m->trace) == 0)
            return pay_error_set(e, PAY_ERR_FIELD_INVALID, "de90",
                                 "de90 names the original message, not this one");
    }
    pay_net_fingerprint(m->in, m->fp);
    return route_is_auth(m) ? parse_card(m, e) : PAY_ERR_OK;
}

/* Records this message as answered by the switch itself (rc) and keeps the answer. */
enum pay_err route_final(struct pay_store_tx *tx, struct route_msg *m, const char *rc,
                         const char *text, struct pay_error *e)
{
    free(m->answer);
    m->answer = pay_switch_answer_text(route_answer(m, rc, "", "", text));
    if (!m->answer)
        return pay_error_set(e, PAY_ERR_INTERNAL, "", "cannot write the answer");
    pay_str_copy(m->rc, sizeof m->rc, rc);
    m->outcome = ROUTE_REPLY;
    int64_t now = pay_clock_now_ms();
    return pay_store_exec(
        tx, e,
        "INSERT INTO switch_msgs (acquirer, trace, mti, proc, fingerprint, issuer, token,"
        " amount_minor, currency, original_trace, merchant_id, merchant_name, rrn,"
        " response_code, state, answer, created_ms, answered_ms) VALUES ($1, $2, $3, $4, $5,"
        " $6, $7, $8, $9, $10, $11, $12, $13, $14, 'ANSWERED', $15, $16, $16)",
        "tttttttittttttti", m->acq->code, m->trace, m->kind->mti, m->kind->proc, m->fp, m->issuer,
        m->token, m->amount, PAY_SWITCH_CURRENCY, m->orig ? m->orig : "",
        m->mer_id ? m->mer_id : "", m->mer_name ? m->mer_name : "", m->rrn, rc, m->answer, now);
}

/* An answer that is not kept (a repeat of it is judged again): 94, 58, a late 12. */
static void answer_unkept(struct route_msg *m, const char *rc, const char *text)
{
    free(m->answer);
    m->answer = pay_switch_answer_text(route_answer(m, rc, "", "", text));
    pay_str_copy(m->rc, sizeof m->rc, rc);
    m->outcome = ROUTE_REPLY;
}

/* --- recording ------------------------------------------------------------------------------ */

static enum pay_err record_sent(struct pay_store_tx *tx, struct route_msg *m, struct pay_error *e)
{
    enum pay_err rc = pay_switch_member_get(tx, m->issuer, &m->iss, e);
    if (rc != PAY_ERR_OK || m->iss.revoked || !m->iss.issuer || !m->iss.url[0]) {
        pay_switch_member_fini(&m->iss);
        memset(e, 0, sizeof *e);
        return route_final(tx, m, "91", "the issuer is not signed on to the network", e);
    }
    m->outcome = ROUTE_FORWARD;
    return pay_store_exec(
        tx, e,
        "INSERT INTO switch_msgs (acquirer, trace, mti, proc, fingerprint, issuer, token,"
        " amount_minor, currency, original_trace, merchant_id, merchant_name, rrn, state,"
        " created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'SENT', $14)",
        "tttttttittttti", m->acq->code, m->trace, m->kind->mti, m->kind->proc, m->fp, m->issuer,
        m->token, m->amount, PAY_SWITCH_CURRENCY, m->orig ? m->orig : "",
        m->mer_id ? m->mer_id : "", m->mer_name ? m->mer_name : "", m->rrn, pay_clock_now_ms());
}

/* The token of the card (made the first time the network sees the card), or the token the
 * acquirer holds; its issuer, BIN and last four. */
static enum pay_err card_token(struct pay_store_tx *tx, struct route_msg *m, bool *known,
                               struct pay_error *e)
{
    return pay_switch_token_find(tx, m->token_in, m->token_in ? NULL : m->pan_index, m->token,
                                 m->issuer, m->bin, m->last4, known, e);
}

enum pay_err pay_switch_token_find(struct pay_store_tx *tx, const char *token,
                                   const char *pan_index, char token_out[PAY_NET_TOKEN_MAX + 1],
                                   char issuer[PAY_NET_CODE_MAX + 1], char bin[7], char last4[5],
                                   bool *known, struct pay_error *e)
{
    struct pay_store_stmt *st =
        token
            ? pay_store_query(
                  tx, e, "SELECT token, issuer, bin, last4 FROM switch_tokens WHERE token = $1",
                  "t", token)
            : pay_store_query(
                  tx, e, "SELECT token, issuer, bin, last4 FROM switch_tokens WHERE pan_index = $1",
                  "t", pan_index);
    if (!st)
        return e->code;
    int r = pay_store_step(st, e);
    if (r == 1) {
        pay_store_col_copy(st, 0, token_out, PAY_NET_TOKEN_MAX + 1);
        pay_store_col_copy(st, 1, issuer, PAY_NET_CODE_MAX + 1);
        pay_store_col_copy(st, 2, bin, 7);
        pay_store_col_copy(st, 3, last4, 5);
    }
    pay_store_done(st);
    *known = r == 1;
    return r < 0 ? e->code : PAY_ERR_OK;
}

enum pay_err pay_switch_token_make(struct pay_store_tx *tx, const char *pan, const char *pan_index,
                                   char token[PAY_NET_TOKEN_MAX + 1],
                                   char issuer[PAY_NET_CODE_MAX + 1], char bin[7], char last4[5],
                                   struct pay_error *e)
{
    enum pay_err rc = pay_switch_route(tx, pan, issuer, e);
    if (rc == PAY_ERR_OK)
        rc = pay_id_new("tok", token);
    if (rc != PAY_ERR_OK)
        return rc;
    size_t n = strlen(pan);
    snprintf(bin, 7, "%.6s", pan);
    pay_str_copy(last4, 5, pan + n - 4);
    return pay_store_exec(tx, e,
                          "INSERT INTO switch_tokens (token, pan_index, issuer, bin, last4,"
                          " created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
                          "ttttti", token, pan_index, issuer, bin, last4, pay_clock_now_ms());
}

enum pay_err route_token_for_card(struct pay_store_tx *tx, struct route_msg *m, bool *routable,
                                  struct pay_error *e)
{
    bool known = false;
    enum pay_err rc = card_token(tx, m, &known, e);
    *routable = true;
    if (rc != PAY_ERR_OK || known)
        return rc;
    if (m->token_in) {
        *routable = false;
        return route_final(tx, m, "14", "unknown token", e);
    }
    rc = pay_switch_token_make(tx, m->card.pan, m->pan_index, m->token, m->issuer, m->bin, m->last4,
                               e);
    if (rc == PAY_ERR_NOT_FOUND) {
        memset(e, 0, sizeof *e);
        *routable = false;
        return route_final(tx, m, "92", "no member issues this card", e);
    }
    return rc;
}

static enum pay_err record_auth(struct pay_store_tx *tx, struct route_msg *m, struct pay_error *e)
{
    bool routable = false;
    enum pay_err rc = route_token_for_card(tx, m, &routable, e);
    if (rc != PAY_ERR_OK || !routable)
        return rc;
    int64_t n = 0;
    rc = pay_switch_seq_next(tx, "rrn", &n, e);
    if (rc == PAY_ERR_OK)
        snprintf(m->rrn, sizeof m->rrn, "%0*lld", PAY_NET_RRN_LEN, (long long)n);
    return rc == PAY_ERR_OK ? record_sent(tx, m, e) : rc;
}

/* The original authorization of a capture, reversal or refund. */
struct original {
    bool found;
    char state[16], rc[PAY_NET_RC_LEN];
    bool reversed;
};

static enum pay_err load_original(struct pay_store_tx *tx, struct route_msg *m, struct original *o,
                                  struct pay_error *e)
{
    memset(o, 0, sizeof *o);
    struct pay_store_stmt *st =
        pay_store_query(tx, e,
                        "SELECT state, response_code, reversed, issuer, token, rrn FROM switch_msgs"
                        " WHERE acquirer = $1 AND trace = $2 AND mti = $3",
                        "ttt", m->acq->code, m->orig, PAY_NET_MTI_AUTH);
    if (!st)
        return e->code;
    int r = pay_store_step(st, e);
    if (r == 1) {
        o->found = true;
        pay_store_col_copy(st, 0, o->state, sizeof o->state);
        pay_store_col_copy(st, 1, o->rc, sizeof o->rc);
        o->reversed = pay_store_col_int64(st, 2) != 0;
        pay_store_col_copy(st, 3, m->issuer, sizeof m->issuer);
        pay_store_col_copy(st, 4, m->token, sizeof m->token);
        pay_store_col_copy(st, 5, m->rrn, sizeof m->rrn);
    }
    pay_store_done(st);
    return r < 0 ? e->code : PAY_ERR_OK;
}

/* A reversal whose original never arrived: the original is refused when it comes. */
static enum pay_err tombstone(struct pay_store_tx *tx, struct route_msg *m, struct pay_error *e)
{
    return pay_store_exec(tx, e,
                          "INSERT INTO switch_msgs (acquirer, trace, mti, proc, fingerprint, state,"
                          " created_ms) VALUES ($1, $2, $3, $4, '', 'VOID', $5)",
                          "tttti", m->acq->code, m->orig, PAY_NET_MTI_AUTH, PAY_NET_PROC_PURCHASE,
                          pay_clock_now_ms());
}

static enum pay_err record_followup(struct pay_store_tx *tx, struct route_msg *m,
                                    struct pay_error *e)
{
    struct original o;
    enum pay_err rc = load_original(tx, m, &o, e);
    bool reversal = strcmp(m->kind->mti, PAY_NET_MTI_REVERSAL) == 0;
    if (rc != PAY_ERR_OK)
        return rc;
    if (!o.found && reversal) {
        rc = tombstone(tx, m, e);
        return rc == PAY_ERR_OK
                   ? route_final(tx, m, "25", "original not found: refused if it arrives later", e)
                   : rc;
    }
    if (!o.found || strcmp(o.state, "VOID") == 0)
        return route_final(tx, m, "25", NULL, e);
    bool approved = strcmp(o.state, "ANSWERED") == 0 && strcmp(o.rc, "00") == 0;
    bool in_flight = strcmp(o.state, "SENT") == 0;
    if (reversal && (o.reversed || strcmp(o.state, "NO_ANSWER") == 0 || (!approved && !in_flight)))
        return route_final(tx, m, "00", "nothing is held for the original", e);
    if (!reversal && (o.reversed || !approved))
        return route_final(tx, m, "12",
                           o.reversed ? "the authorization was reversed"
                                      : "the authorization was not approved",
                           e);
    if (reversal)
        rc = pay_store_exec(tx, e,
                            "UPDATE switch_msgs SET reversed = 1 WHERE acquirer = $1 AND trace = $2"
                            " AND mti = $3",
                            "ttt", m->acq->code, m->orig, PAY_NET_MTI_AUTH);
    return rc == PAY_ERR_OK ? record_sent(tx, m, e) : rc;
}

/* A message seen before: its kept answer, forwarded again (no answer yet), or refused. */
static enum pay_err record_repeat(struct pay_store_tx *tx, struct route_msg *m,
                                  struct pay_store_stmt *st, struct pay_error *e)
{
    const char *state = pay_store_col_text(st, 1);
    if (strcmp(state, "VOID") == 0) {
        answer_unkept(m, "12", "reversed before it arrived");
        return PAY_ERR_OK;
    }
    if (strcmp(pay_store_col_text(st, 0), m->fp) != 0) {
        answer_unkept(m, "94", "this trace was used for another message");
        return PAY_ERR_OK;
    }
    pay_store_col_copy(st, 3, m->issuer, sizeof m->issuer);
    pay_store_col_copy(st, 4, m->token, sizeof m->token);
    pay_store_col_copy(st, 5, m->rrn, sizeof m->rrn);
    if (pay_store_col_text(st, 2)[0]) {
        m->answer = strdup(pay_store_col_text(st, 2));
        m->outcome = ROUTE_REPLY;
        return m->answer ? PAY_ERR_OK : pay_error_set(e, PAY_ERR_INTERNAL, "", "out of memory");
    }
    bool known = false; /* forwarded again: the token's BIN and last four for the answer */
    const char *token_in = m->token_in;
    m->token_in = m->token;
    enum pay_err rc = route_is_auth(m) ? card_token(tx, m, &known, e) : PAY_ERR_OK;
    m->token_in = token_in;
    if (rc == PAY_ERR_OK)
        rc = pay_switch_member_get(tx, m->issuer, &m->iss, e);
    if (rc == PAY_ERR_OK)
        m->outcome = ROUTE_FORWARD;
    return rc;
}

static enum pay_err record_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *e)
{
    struct route_msg *m = ctx;
    route_msg_reset(m); /* a rerun of the batch starts over */
    struct pay_store_stmt *st =
        pay_store_query(tx, e,
                        "SELECT fingerprint, state, answer, issuer, token, rrn FROM switch_msgs"
                        " WHERE acquirer = $1 AND trace = $2",
                        "tt", m->acq->code, m->trace);
    if (!st)
        return e->code;
    int r = pay_store_step(st, e);
    enum pay_err rc = r < 0 ? e->code : PAY_ERR_OK;
    if (r == 1)
        rc = record_repeat(tx, m, st, e);
    pay_store_done(st);
    if (r != 0)
        return rc;
    return route_is_auth(m) ? record_auth(tx, m, e) : record_followup(tx, m, e);
}

/* --- the handler ---------------------------------------------------------------------------- */

void route_msg_reset(struct route_msg *m)
{
    pay_switch_member_fini(&m->iss);
    memset(&m->iss, 0, sizeof m->iss);
    free(m->answer);
    m->answer = NULL;
    m->outcome = ROUTE_REPLY;
    m->token[0] = m->bin[0] = m->last4[0] = m->issuer[0] = m->rrn[0] = m->rc[0] = '\0';
}

static void log_msg(const struct route_msg *m)
{
    PAY_INFO("switch.msg", "acquirer=%s trace=%s mti=%s amount=%lld issuer=%s token=%s rc=%s",
             m->acq->code, m->trace, m->kind->mti, (long long)m->amount, m->issuer, m->token,
             m->rc);
}

static enum pay_err handle(struct pay_http_request *req, const struct route_kind *k,
                           struct pay_error *err)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    struct pay_switch_member acq;
    json_t *in = NULL;
    if (!pay_switch_api_begin(req, &acq, &in))
        return PAY_ERR_OK;
    struct route_msg m = {.sw = sw, .req = req, .acq = &acq, .in = in, .kind = k};
    enum pay_err rc = parse(&m, err);
    if (rc == PAY_ERR_OK && !acq.acquirer)
        answer_unkept(&m, "58", "you are not an acquirer of this network");
    else if (rc == PAY_ERR_OK)
        rc = pay_committer_submit(sw->committer, record_apply, &m, err);
    if (rc == PAY_ERR_OK && m.outcome == ROUTE_FORWARD)
        rc = route_forward(&m, err);
    if (rc == PAY_ERR_OK && m.answer) {
        log_msg(&m);
        pay_net_reply_text(req, m.answer);
    } else {
        pay_net_fail(req, err->code ? err : &(struct pay_error){.code = PAY_ERR_INTERNAL});
    }
    route_msg_reset(&m);
    pay_net_card_wipe(&m.card);
    json_decref(in);
    pay_switch_member_fini(&acq);
    return PAY_ERR_OK;
}

static enum pay_err auth_handler(struct pay_http_request *req, struct pay_error *err)
{
    return handle(req, &kinds[0], err);
}
static enum pay_err capture_handler(struct pay_http_request *req, struct pay_error *err)
{
    return handle(req, &kinds[1], err);
}
static enum pay_err reversal_handler(struct pay_http_request *req, struct pay_error *err)
{
    return handle(req, &kinds[2], err);
}
static enum pay_err refund_handler(struct pay_http_request *req, struct pay_error *err)
{
    return handle(req, &kinds[3], err);
}

static struct pay_http_route routes[] = {
    {"POST", "/net/v1/authorizations", PAY_HTTP_API, PAY_HTTP_BODY_RAW, auth_handler, NULL},
    {"POST", "/net/v1/captures", PAY_HTTP_API, PAY_HTTP_BODY_RAW, capture_handler, NULL},
    {"POST", "/net/v1/reversals", PAY_HTTP_API, PAY_HTTP_BODY_RAW, reversal_handler, NULL},
    {"POST", "/net/v1/refunds", PAY_HTTP_API, PAY_HTTP_BODY_RAW, refund_handler, NULL},
};

const struct pay_http_route *pay_switch_route_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
