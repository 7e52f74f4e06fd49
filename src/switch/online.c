/* The online payment page's sessions (银联在线支付, docs/switch.md): an acquirer opens one for
 * an order of its merchant (signed POST /net/v1/online/sessions) and sends the shopper's browser
 * to the switch's page; the card the shopper types there is routed by the BIN table to its
 * issuer, sealed to it, and the issuer checks it and texts an SMS code to the card's phone; the
 * code goes to the issuer sealed too; once it is right the session is VERIFIED and the browser
 * goes back to the acquirer, which reads the session (signed GET) and authorizes the payment
 * with the card's token and the issuer's verification (0100, de61.method SMS). The switch keeps
 * the token, BIN and last four digits, never the number, CVN2 or code. */
#include "switch/switch.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "http/codec.h"
#include "http/server.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- loading --------------------------------------------------------------------------------- */

struct load_io {
    const char *id, *acquirer; /* acquirer: by (acquirer, ref = id) instead */
    struct pay_switch_online *s;
    bool found;
};

static enum pay_err load_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct load_io *io = ctx;
    struct pay_switch_online *s = io->s;
    static const char cols[] =
        "SELECT id, acquirer, ref, amount_minor, merchant_id, merchant_name, return_url, csrf,"
        " state, issuer, token, bin, last4, phone_hint, verification_id, expires_ms FROM"
        " switch_online";
    char sql[sizeof cols + 64];
    snprintf(sql, sizeof sql, "%s%s", cols,
             io->acquirer ? " WHERE acquirer = $2 AND ref = $1" : " WHERE id = $1");
    struct pay_store_stmt *st = io->acquirer
                                    ? pay_store_query(tx, err, sql, "tt", io->id, io->acquirer)
                                    : pay_store_query(tx, err, sql, "t", io->id);
    if (!st)
        return err->code;
    int r = pay_store_step(st, err);
    if ((io->found = r == 1)) {
#define COPY(f, i) pay_store_col_copy(st, i, s->f, sizeof s->f)
        COPY(id, 0);
        COPY(acquirer, 1);
        COPY(ref, 2);
        s->amount_minor = pay_store_col_int64(st, 3);
        COPY(merchant_id, 4);
        COPY(merchant_name, 5);
        COPY(return_url, 6);
        COPY(csrf, 7);
        COPY(state, 8);
        COPY(issuer, 9);
        COPY(token, 10);
        COPY(bin, 11);
        COPY(last4, 12);
        COPY(phone_hint, 13);
        COPY(verification_id, 14);
        s->expires_ms = pay_store_col_int64(st, 15);
#undef COPY
    }
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_switch_online_load(struct pay_switch *sw, const char *id,
                                    struct pay_switch_online *out, struct pay_error *err)
{
    memset(out, 0, sizeof *out);
    struct load_io io = {.id = id, .s = out};
    enum pay_err rc = id && strlen(id) <= PAY_NET_ONLINE_ID_MAX
                          ? pay_store_run_read(sw->store, load_tx, &io, err)
                          : PAY_ERR_OK;
    if (rc != PAY_ERR_OK)
        return rc;
    if (!io.found || pay_clock_now_ms() >= out->expires_ms)
        return pay_error_set(err, PAY_ERR_UNAUTHENTICATED, "session",
                             N_("This payment has expired; start again from the merchant's "
                                "page."));
    return PAY_ERR_OK;
}

/* --- the session's changes ------------------------------------------------------------------- */

struct update_op {
    const struct pay_switch_online *s;
    const char *state;
};

/* Writes the session's state and card (token, issuer, verification) as they are in s. */
static enum pay_err update_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct update_op *u = ctx;
    const struct pay_switch_online *s = u->s;
    return pay_store_exec(tx, err,
                          "UPDATE switch_online SET state = $2, issuer = $3, token = $4, bin = $5,"
                          " last4 = $6, phone_hint = $7, verification_id = $8 WHERE id = $1 AND"
                          " state <> 'VERIFIED'",
                          "tttttttt", s->id, u->state, s->issuer, s->token, s->bin, s->last4,
                          s->phone_hint, s->verification_id);
}

static enum pay_err set_state(struct pay_switch *sw, struct pay_switch_online *s, const char *state,
                              struct pay_error *err)
{
    struct update_op u = {s, state};
    enum pay_err rc = pay_committer_submit(sw->committer, update_apply, &u, err);
    if (rc == PAY_ERR_OK)
        pay_str_copy(s->state, sizeof s->state, state);
    return rc;
}

/* --- the card: routed, sealed to the issuer, checked there ---------------------------------- */

struct route_op {
    struct pay_switch *sw;
    const struct pay_net_card *card;
    char pan_index[PAY_SHA256_HEX_LEN];
    char token[PAY_NET_TOKEN_MAX + 1], issuer[PAY_NET_CODE_MAX + 1], bin[7], last4[5];
    char trace[PAY_NET_TRACE_LEN + 1];
    bool routable;
};

/* The card's token (made on its first sight, by the BIN table) and a trace of the switch's own
 * for the verification. */
static enum pay_err route_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct route_op *r = ctx;
    bool known = false;
    r->routable = true;
    enum pay_err rc = pay_switch_token_find(tx, NULL, r->pan_index, r->token, r->issuer, r->bin,
                                            r->last4, &known, err);
    if (rc == PAY_ERR_OK && !known)
        rc = pay_switch_token_make(tx, r->card->pan, r->pan_index, r->token, r->issuer, r->bin,
                                   r->last4, err);
    if (rc == PAY_ERR_NOT_FOUND) {
        memset(err, 0, sizeof *err);
        r->routable = false;
        return PAY_ERR_OK;
    }
    int64_t n = 0;
    if (rc == PAY_ERR_OK)
        rc = pay_switch_seq_next(tx, "vtrace", &n, err);
    if (rc == PAY_ERR_OK)
        snprintf(r->trace, sizeof r->trace, "%0*lld", PAY_NET_TRACE_LEN, (long long)n);
    return rc;
}

static void answer_set(struct pay_switch_online_answer *a, const char *rc, const char *text)
{
    pay_str_copy(a->rc, sizeof a->rc, rc);
    pay_str_copy(a->text, sizeof a->text, text ? text : pay_net_rc_text(rc));
}

/* The issuer's answer as read into a (de39 one of ours; de44, de61's state and tries bounded);
 * false when it is no answer. */
static bool read_issuer(json_t *j, long status, struct pay_switch_online_answer *a)
{
    const char *rc = json_string_value(json_object_get(j, "de39"));
    const char *text = json_string_value(json_object_get(j, "de44"));
    json_t *de61 = json_object_get(j, "de61");
    const char *state = json_string_value(json_object_get(de61, "state"));
    json_t *left = json_object_get(de61, "triesLeft");
    if (status != 200 || !pay_net_rc_text(rc))
        return false;
    answer_set(a, rc, text && strlen(text) <= PAY_TEXT_FIELD_MAX ? text : NULL);
    pay_str_copy(a->state, sizeof a->state, state && strlen(state) < sizeof a->state ? state : "");
    a->tries_left = json_is_integer(left) ? (int)json_integer_value(left) : 0;
    return true;
}

/* A signed call to the session's issuer; the answer read into a (91 when there is none). */
static enum pay_err call_issuer(struct pay_switch *sw, const char *issuer, const char *path,
                                json_t *msg, struct pay_switch_online_answer *a, json_t **answer,
                                struct pay_error *err)
{
    struct pay_switch_member iss;
    long status = 0;
    struct pay_error ce = {0};
    *answer = NULL;
    enum pay_err rc = pay_switch_member_load(sw, issuer, &iss, err);
    if (rc != PAY_ERR_OK) {
        pay_switch_member_fini(&iss);
        return rc;
    }
    if (!msg || iss.revoked || !iss.issuer ||
        pay_switch_call(sw, &iss, path, msg, &status, answer, &ce) != PAY_ERR_OK ||
        !read_issuer(*answer, status, a)) {
        PAY_WARN("switch.online_no_answer", "issuer=%s path=%s status=%ld error=\"%s\"", issuer,
                 path, status, ce.detail);
        answer_set(a, "91", NULL);
    }
    pay_switch_member_fini(&iss);
    return PAY_ERR_OK;
}

/* The verification request (0100, de3 330000): the card data sealed to the issuer under the
 * context de2:<switch>:<trace>. New reference, NULL when it cannot be made. */
static json_t *verify_msg(struct pay_switch *sw, const struct pay_switch_online *s,
                          const struct route_op *r, const struct pay_net_card *card,
                          const uint8_t issuer_pk[PAY_SEAL_PK_LEN], struct pay_error *err)
{
    char ctx[PAY_SEAL_CONTEXT_MAX + 1], *sealed = NULL;
    snprintf(ctx, sizeof ctx, "de2:%s:%s", sw->opt.code, r->trace);
    if (pay_net_card_seal(issuer_pk, ctx, card, &sealed, err) != PAY_ERR_OK)
        return NULL;
    json_t *m =
        json_pack("{s:s, s:{s:s, s:s}, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "mti",
                  PAY_NET_MTI_AUTH, "de2", "sealed", sealed, "token", r->token, "de3",
                  PAY_NET_PROC_VERIFY, "de4", (json_int_t)s->amount_minor, "de11", r->trace, "de32",
                  s->acquirer, "de33", sw->opt.code, "de42", s->merchant_id, "de43",
                  s->merchant_name, "de49", PAY_SWITCH_CURRENCY, "de61", "method", "SMS");
    pay_wipe(sealed, strlen(sealed));
    free(sealed);
    return m;
}

enum pay_err pay_switch_online_card(struct pay_switch *sw, struct pay_switch_online *s,
                                    const struct pay_net_card *card,
                                    struct pay_switch_online_answer *a, struct pay_error *err)
{
    memset(a, 0, sizeof *a);
    struct route_op r = {.sw = sw, .card = card};
    pay_keyed_hash_hex(r.pan_index, sw->keys.index_key, card->pan, strlen(card->pan));
    enum pay_err rc = pay_committer_submit(sw->committer, route_apply, &r, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!r.routable) {
        answer_set(a, "92", NULL);
        return PAY_ERR_OK;
    }
    struct pay_switch_member iss;
    rc = pay_switch_member_load(sw, r.issuer, &iss, err);
    json_t *msg = rc == PAY_ERR_OK ? verify_msg(sw, s, &r, card, iss.seal_pk, err) : NULL;
    pay_switch_member_fini(&iss);
    json_t *answer = NULL;
    if (rc == PAY_ERR_OK)
        rc = call_issuer(sw, r.issuer, "/net/v1/issuer/verifications", msg, a, &answer, err);
    json_decref(msg);
    json_t *de61 = json_object_get(answer, "de61");
    const char *vid = json_string_value(json_object_get(de61, "verificationId"));
    const char *hint = json_string_value(json_object_get(de61, "phoneHint"));
    if (rc == PAY_ERR_OK && strcmp(a->rc, "00") == 0 &&
        (!vid || !pay_str_copy(s->verification_id, sizeof s->verification_id, vid)))
        answer_set(a, "96", "the issuer's answer names no verification");
    if (rc == PAY_ERR_OK && strcmp(a->rc, "00") == 0) {
        pay_str_copy(s->issuer, sizeof s->issuer, r.issuer);
        pay_str_copy(s->token, sizeof s->token, r.token);
        pay_str_copy(s->bin, sizeof s->bin, r.bin);
        pay_str_copy(s->last4, sizeof s->last4, r.last4);
        pay_str_copy(s->phone_hint, sizeof s->phone_hint, hint ? hint : "");
        rc = set_state(sw, s, "CODE_SENT", err);
    }
    json_decref(answer);
    PAY_INFO("switch.online_card", "session_acquirer=%s ref=%s issuer=%s token=%s rc=%s",
             s->acquirer, s->ref, r.issuer, r.token, a->rc);
    return rc;
}

/* --- the SMS code --------------------------------------------------------------------------- */

enum pay_err pay_switch_online_code(struct pay_switch *sw, struct pay_switch_online *s,
                                    const char *code, struct pay_switch_online_answer *a,
                                    struct pay_error *err)
{
    memset(a, 0, sizeof *a);
    struct pay_switch_member iss;
    enum pay_err rc = pay_switch_member_load(sw, s->issuer, &iss, err);
    char ctx[PAY_SEAL_CONTEXT_MAX + 1], sealed[PAY_SEAL_TEXT_LEN(PAY_OTP_DIGITS)];
    snprintf(ctx, sizeof ctx, "de52:%s", s->verification_id);
    if (rc == PAY_ERR_OK && pay_seal(iss.seal_pk, ctx, code, strlen(code), sealed, sizeof sealed))
        rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot seal the code");
    pay_switch_member_fini(&iss);
    if (rc != PAY_ERR_OK)
        return rc;
    /* de52 (PIN data in ISO 8583): the code, sealed to the issuer for this verification */
    json_t *msg =
        json_pack("{s:s, s:I, s:s, s:s, s:{s:s}, s:{s:s, s:s}}", "de3", PAY_NET_PROC_VERIFY, "de4",
                  (json_int_t)s->amount_minor, "de32", s->acquirer, "de33", sw->opt.code, "de52",
                  "sealed", sealed, "de61", "method", "SMS", "verificationId", s->verification_id);
    json_t *answer = NULL;
    rc = call_issuer(sw, s->issuer, "/net/v1/issuer/verifications/confirm", msg, a, &answer, err);
    json_decref(msg);
    json_decref(answer);
    if (rc == PAY_ERR_OK && strcmp(a->rc, "00") == 0 && strcmp(a->state, "VERIFIED") == 0)
        rc = set_state(sw, s, "VERIFIED", err);
    else if (rc == PAY_ERR_OK &&
             (strcmp(a->state, "FAILED") == 0 || strcmp(a->state, "EXPIRED") == 0)) {
        s->verification_id[0] = '\0'; /* a new code needs the card again */
        rc = set_state(sw, s, "NEW", err);
    }
    PAY_INFO("switch.online_code", "session_acquirer=%s ref=%s issuer=%s rc=%s state=%s",
             s->acquirer, s->ref, s->issuer, a->rc, a->state);
    return rc;
}

/* --- the acquirers' API ---------------------------------------------------------------------- */

/* A reference or an id: 1..PAY_NET_ONLINE_ID_MAX of [A-Za-z0-9_-]. */
static bool id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= PAY_NET_ONLINE_ID_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

struct open_op {
    struct pay_switch_online s;
    bool clash; /* the reference names another order */
};

static enum pay_err open_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct open_op *o = ctx;
    const struct pay_switch_online *s = &o->s;
    enum pay_err rc = pay_store_exec(
        tx, err,
        "INSERT INTO switch_online (id, acquirer, ref, amount_minor, merchant_id, merchant_name,"
        " return_url, csrf, state, expires_ms, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7,"
        " $8, 'NEW', $9, $10) ON CONFLICT (acquirer, ref) DO NOTHING",
        "tttittttii", s->id, s->acquirer, s->ref, s->amount_minor, s->merchant_id, s->merchant_name,
        s->return_url, s->csrf, s->expires_ms, pay_clock_now_ms());
    if (rc != PAY_ERR_OK || pay_store_changes(tx) == 1)
        return rc;
    struct pay_switch_online kept; /* a repeat: the session it opened, if it is the same order */
    memset(&kept, 0, sizeof kept);
    struct load_io io = {.id = s->ref, .acquirer = s->acquirer, .s = &kept};
    rc = load_tx(tx, &io, err);
    o->clash = rc == PAY_ERR_OK && (!io.found || kept.amount_minor != s->amount_minor ||
                                    strcmp(kept.merchant_id, s->merchant_id) != 0 ||
                                    strcmp(kept.return_url, s->return_url) != 0);
    if (rc == PAY_ERR_OK && !o->clash)
        o->s = kept;
    return rc;
}

/* The fields of a request to open a session, into o->s. */
static enum pay_err open_parse(struct pay_switch *sw, const json_t *in, const char *acquirer,
                               struct open_op *o, struct pay_error *e)
{
    struct pay_switch_online *s = &o->s;
    const char *ref = pay_net_str(in, "ref", PAY_NET_ONLINE_ID_MAX, e);
    const char *mer = ref ? pay_net_str(in, "de42", PAY_MERCHANT_ID_FIELD_MAX, e) : NULL;
    const char *name = mer ? pay_net_str(in, "de43", PAY_TEXT_FIELD_MAX, e) : NULL;
    const char *cur = name ? pay_net_str(in, "de49", 3, e) : NULL;
    const char *ret = cur ? pay_net_str(in, "returnUrl", PAY_URL_MAX, e) : NULL;
    if (!ret || !pay_net_amount(in, "de4", &s->amount_minor, e))
        return e->code;
    if (!id_valid(ref))
        return pay_error_set(e, PAY_ERR_FIELD_INVALID, "ref", "ref must be 1-%d of [A-Za-z0-9_-]",
                             PAY_NET_ONLINE_ID_MAX);
    if (strcmp(cur, PAY_SWITCH_CURRENCY) != 0)
        return pay_error_set(e, PAY_ERR_CURRENCY_MISMATCH, "de49", "the network clears CNY");
    struct pay_url u;
    if (pay_url_parse(ret, "returnUrl", &u, e) != PAY_ERR_OK)
        return e->code;
    pay_str_copy(s->acquirer, sizeof s->acquirer, acquirer);
    pay_str_copy(s->ref, sizeof s->ref, ref);
    pay_str_copy(s->merchant_id, sizeof s->merchant_id, mer);
    pay_str_copy(s->merchant_name, sizeof s->merchant_name, name);
    pay_str_copy(s->return_url, sizeof s->return_url, ret);
    s->expires_ms = pay_clock_now_ms() + PAY_NET_SESSION_TTL_MS;
    (void)sw;
    if (pay_random_token(s->id, sizeof s->id, 24) != 0 ||
        pay_random_token(s->csrf, sizeof s->csrf, 24) != 0)
        return pay_error_set(e, PAY_ERR_INTERNAL, "", NULL);
    return PAY_ERR_OK;
}

/* The session as its acquirer reads it (new reference). */
static json_t *session_json(struct pay_switch *sw, const struct pay_switch_online *s)
{
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "sessionId", s->id, "url", "", "ref",
                  s->ref, "state", s->state, "de4", (json_int_t)s->amount_minor, "de42",
                  s->merchant_id, "de49", PAY_SWITCH_CURRENCY, "de100", sw->opt.code);
    if (!j)
        return NULL;
    json_object_set_new(j, "url", json_sprintf("%s/upop/%s", sw->url, s->id));
    if (strcmp(s->state, "VERIFIED") == 0) {
        json_object_set_new(
            j, "de2",
            json_pack("{s:s, s:s, s:s}", "token", s->token, "bin", s->bin, "last4", s->last4));
        json_object_set_new(
            j, "de61",
            json_pack("{s:s, s:s}", "method", "SMS", "verificationId", s->verification_id));
    }
    return j;
}

static enum pay_err open_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    struct pay_switch_member m;
    json_t *in = NULL;
    if (!pay_switch_api_begin(req, &m, &in))
        return PAY_ERR_OK;
    struct open_op *o = calloc(1, sizeof *o);
    enum pay_err rc = !o            ? pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory")
                      : !m.acquirer ? pay_error_set(err, PAY_ERR_FORBIDDEN, "de32",
                                                    "you are not an acquirer of this network")
                                    : open_parse(sw, in, m.code, o, err);
    if (rc == PAY_ERR_OK)
        rc = pay_committer_submit(sw->committer, open_apply, o, err);
    if (rc == PAY_ERR_OK && o->clash)
        rc = pay_error_set(err, PAY_ERR_DUPLICATE, "ref",
                           "ref %s opened a session for another order", o->s.ref);
    if (rc == PAY_ERR_OK) {
        pay_str_copy(o->s.state, sizeof o->s.state, o->s.state[0] ? o->s.state : "NEW");
        PAY_INFO("switch.online_opened", "acquirer=%s ref=%s amount=%lld", m.code, o->s.ref,
                 (long long)o->s.amount_minor);
        pay_net_reply(req, 200, session_json(sw, &o->s));
    } else {
        pay_net_fail(req, err);
    }
    free(o);
    json_decref(in);
    pay_switch_member_fini(&m);
    return PAY_ERR_OK;
}

static enum pay_err read_handler(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_switch *sw = pay_http_req_ctx(req);
    struct pay_switch_member m;
    json_t *in = NULL;
    if (!pay_switch_api_begin(req, &m, &in))
        return PAY_ERR_OK;
    struct pay_switch_online s;
    struct load_io io = {.id = pay_http_req_param(req, "id"), .s = &s};
    memset(&s, 0, sizeof s);
    enum pay_err rc =
        id_valid(io.id) ? pay_store_run_read(sw->store, load_tx, &io, err) : PAY_ERR_OK;
    if (rc == PAY_ERR_OK && (!io.found || strcmp(s.acquirer, m.code) != 0))
        rc = pay_error_set(err, PAY_ERR_NOT_FOUND, "id", "no session %s of yours", io.id);
    if (rc == PAY_ERR_OK)
        pay_net_reply(req, 200, session_json(sw, &s));
    else
        pay_net_fail(req, err);
    json_decref(in);
    pay_switch_member_fini(&m);
    return PAY_ERR_OK;
}

static struct pay_http_route routes[] = {
    {"POST", "/net/v1/online/sessions", PAY_HTTP_API, PAY_HTTP_BODY_RAW, open_handler, NULL},
    {"GET", "/net/v1/online/sessions/{id}", PAY_HTTP_API, PAY_HTTP_BODY_RAW, read_handler, NULL},
};

const struct pay_http_route *pay_switch_online_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
