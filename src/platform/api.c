/* The open API's request phases, in one place for every endpoint: authenticate (the merchant's
 * signature; keyId = merchant id), check the merchant, then for a GET run the endpoint, for a
 * POST check the Idempotency-Key, run the endpoint and store its answer in one committer
 * command, and answer with a body signed by the platform. Error answers are signed too, so a
 * merchant can trust a refusal as much as a success. */
#include "platform/api.h"
#include "platform/portal.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "http/codec.h"
#include "http/server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* Every non-HTML answer of the platform is signed here (the http framework's hook), the
 * framework's own 404/405/413/415 included, so a merchant can trust a refusal as much as a
 * success and treat anything unsigned as a network error (docs/api.md). */
void pay_platform_sign_answer(void *ctx, struct pay_http_request *req, int status, const void *body,
                              size_t len)
{
    struct pay_platform *p = ctx;
    char sig[PAY_SIG_HEADER_MAX];
    struct pay_error err = {0};
    struct pay_sig_signer s = {PAY_SIG_ED25519, p->key_id, &p->key, NULL};
    if (pay_sig_sign_answer(&s, pay_http_req_header(req, PAY_SIG_REQUEST_HEADER), status, body, len,
                            pay_clock_real_ms() / 1000, sig, sizeof sig, &err) != PAY_ERR_OK ||
        pay_http_respond_header(req, PAY_SIG_RESPONSE_HEADER, sig) != 0)
        PAY_ERROR("api.sign_failed", "status=%d detail=\"%s\"", status, err.detail);
}

/* Sends body (JSON text) with status; signed on its way out by pay_platform_sign_answer. */
static void send_raw(struct api_call *c, int status, const char *body)
{
    pay_http_respond_bytes(c->req, status, "application/json", body, strlen(body));
}

/* The answer as text (heap, caller frees): out when e is OK, else the error (err when it
 * carries e, else e alone; INTERNAL when out could not be encoded) as pay_http_respond_error
 * sends it, with that error in *used (code OK for a success). */
static char *answer_text(enum pay_err e, const struct pay_error *err, json_t *out, int *status,
                         struct pay_error *used)
{
    *used = (struct pay_error){0};
    char *s = e == PAY_ERR_OK && out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (e == PAY_ERR_OK && s)
        return s;
    if (e != PAY_ERR_OK && err->code == e)
        *used = *err;
    else
        used->code = e != PAY_ERR_OK ? e : PAY_ERR_INTERNAL;
    free(s);
    return pay_http_error_json(used, status);
}

/* Sends an answer made by answer_text: an error through the one error path (counted in
 * /metrics, a 5xx logged), producing the same bytes; a success as it is. Both are signed on
 * their way out by pay_platform_sign_answer. */
static void send_text(struct api_call *c, int status, const char *text,
                      const struct pay_error *used)
{
    if (used->code != PAY_ERR_OK)
        pay_http_respond_error(c->req, used);
    else
        send_raw(c, text ? status : 500, text ? text : "{}");
}

static void send_answer(struct api_call *c, enum pay_err e, const struct pay_error *err,
                        json_t *out, int status)
{
    struct pay_error used;
    char *s = answer_text(e, err, out, &status, &used);
    send_text(c, status, s, &used);
    free(s);
}

/* The signed target is the request target exactly as sent (docs/protocol.md); a GET by
 * merchant key also needs its one query parameter, checked here. */
static enum pay_err build_target(struct api_call *c, const struct api_op_def *def,
                                 struct pay_error *err)
{
    const char *param = def->query_param;
    if (param) {
        const char *v = pay_http_req_query(c->req, param);
        if (!v)
            return pay_error_set(err, PAY_ERR_FIELD_MISSING, param, NULL);
        if (!pay_platform_api_token_valid(v, PAY_MERCHANT_ID_FIELD_MAX))
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, param, "1-64 of A-Z a-z 0-9 _ - .");
        c->query_value = v;
    }
    if (!pay_str_copy(c->target, sizeof c->target, pay_http_req_target(c->req)))
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "path", NULL);
    return PAY_ERR_OK;
}

/* The verifier's key look-up for one call (ctx = struct api_call *): the merchant is read
 * here, once per request, and what authenticate needs once the signature checks out (status,
 * fee, notify hosts) is kept from the same read. */
static enum pay_err call_key_lookup(void *ctx, const char *key_id, struct pay_sig_pubkey *out)
{
    struct api_call *c = ctx;
    struct pay_platform_merchant m;
    struct pay_error err = {0};
    char mid[PAY_PLATFORM_MERCHANT_ID_MAX + 1];
    bool row = false;
    memset(out, 0, sizeof *out);
    /* keyId: the merchant id, or a key of its portal's rotations "<merchant id>.k<n>" */
    if (pay_platform_merchant_of_key(key_id, mid) != 0)
        return PAY_ERR_SIGNATURE_INVALID;
    enum pay_err g = pay_platform_merchant_get(c->p, mid, &m, &err);
    if (g == PAY_ERR_DB_BUSY || pay_store_failure(g))
        return g; /* the database could not say: 503, not "bad signature" */
    if (g != PAY_ERR_OK)
        return PAY_ERR_SIGNATURE_INVALID; /* unknown keyId: same answer as a bad signature */
    /* a row of the portal's keys decides (revoked, ended); without one, the onboarding key */
    enum pay_err e = pay_portal_key_row(c->p, key_id, mid, &row, out);
    if (e == PAY_ERR_OK && !row)
        e = strcmp(key_id, mid) == 0 ? pay_platform_merchant_pubkey(&m, out)
                                     : PAY_ERR_SIGNATURE_INVALID;
    c->fee_bp = m.fee_bp;
    pay_str_copy(c->notify_hosts, sizeof c->notify_hosts, m.notify_hosts);
    c->merchant_active = strcmp(m.status, "active") == 0;
    c->merchant_read = true;
    pay_platform_merchant_fini(&m);
    return e;
}

static enum pay_err authenticate(struct api_call *c, const struct api_op_def *def,
                                 struct pay_error *err)
{
    const char *hdr = pay_http_req_header(c->req, PAY_SIG_REQUEST_HEADER);
    struct pay_sig_header parsed;
    enum pay_err e = build_target(c, def, err);
    if (e != PAY_ERR_OK)
        return e;
    struct pay_sig_verifier v = {call_key_lookup, pay_platform_merchant_key_release, c,
                                 c->p->nonces, 0};
    e = pay_sig_verify_request(&v, hdr, pay_http_req_method(c->req), c->target, c->body,
                               c->body_len, pay_clock_real_ms() / 1000, &parsed, err);
    if (e != PAY_ERR_OK)
        return err->code == e ? e : pay_error_set(err, e, "Authorization", NULL);
    /* keyId: the merchant id, or one of its portal keys "<merchant id>.k<n>" */
    if (pay_platform_merchant_of_key(parsed.key_id, c->merchant_id) != 0) /* lookup refused */
        return pay_error_set(err, PAY_ERR_SIGNATURE_INVALID, "Authorization", NULL);
    PAY_ASSERT(c->merchant_read); /* a signature checks out only with the looked-up key */
    if (!c->merchant_active)
        return pay_error_set(err, PAY_ERR_MERCHANT_SUSPENDED, "", NULL);
    return PAY_ERR_OK;
}

static enum pay_err idem_key(struct api_call *c, struct pay_error *err)
{
    const char *k = pay_http_req_header(c->req, "Idempotency-Key");
    if (!k)
        return pay_error_set(err, PAY_ERR_FIELD_MISSING, "Idempotency-Key",
                             "every POST needs an Idempotency-Key header");
    if (!pay_platform_api_token_valid(k, PAY_MERCHANT_ID_FIELD_MAX))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "Idempotency-Key",
                             "1-64 of A-Z a-z 0-9 _ - .");
    c->idem_key = k;
    return PAY_ERR_OK;
}

/* --- POST: one committer command per request ------------------------------------------ *
 * The Idempotency-Key check, the endpoint's writes, their notification rows and the stored
 * answer are one command of the committer's batch: one transaction shared with the batch's
 * other requests, one fsync for all of them. The answer is made inside the command (so it is
 * the one stored) and sent, signed, once the batch is durable; no thread waits meanwhile (the
 * request is suspended, and the command's done callback resumes it). */

/* A POST in flight: in the request's arena, alive until the answer is sent. */
struct post_call {
    struct api_call c;
    const struct api_op_def *def;
    struct pay_platform_idem idem;
    char hash[PAY_SHA256_HEX_LEN];
    enum pay_err prepared; /* what decoding the body and prepare said */
    struct pay_error prepare_err;
    /* the command's verdict, made again by every run */
    int status;
    char *text;            /* heap */
    struct pay_error used; /* the error text holds; code OK for a success */
    bool replayed;
};

static void json_release(void *j)
{
    json_decref(j);
}

static void post_release(void *arg)
{
    struct post_call *pc = arg;
    free(pc->idem.body);
    free(pc->text);
}

/* The endpoint's writes in a savepoint of their own: an error undoes them (unless the endpoint
 * keeps them), and the stored answer says why. */
static enum pay_err post_run_apply(struct post_call *pc, struct pay_store_tx *tx, int *status,
                                   json_t **out, struct pay_error *operr)
{
    struct pay_error serr = {0};
    enum pay_err e = pay_store_savepoint(tx, operr);
    if (e != PAY_ERR_OK)
        return e;
    e = pc->def->apply(&pc->c, tx, status, out, operr);
    enum pay_err end = e == PAY_ERR_OK || pc->c.keep ? pay_store_release(tx, &serr)
                                                     : pay_store_rollback_to(tx, &serr);
    if (end != PAY_ERR_OK) {
        json_decref(*out);
        *out = NULL;
        *operr = serr;
        return end;
    }
    return e;
}

/* The command (on the committer thread; it may run again if the batch is retried). */
static enum pay_err post_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct post_call *pc = ctx;
    free(pc->text);
    pc->text = NULL;
    pc->replayed = pc->c.keep = pc->c.wake = false;
    struct pay_error operr = {0};
    enum pay_err e = pay_platform_idem_check_tx(tx, &pc->idem, &operr);
    int status = 200;
    json_t *out = NULL;
    if (e == PAY_ERR_OK && pc->idem.state == PAY_IDEM_REPLAY) {
        pc->status = pc->idem.status;
        pc->text = pc->idem.body;
        pc->idem.body = NULL;
        pc->used = (struct pay_error){0}; /* sent as stored, byte for byte */
        pc->replayed = true;
        return PAY_ERR_OK;
    }
    bool refused = e == PAY_ERR_IDEMPOTENCY_KEY_REUSED || e == PAY_ERR_IDEMPOTENCY_IN_PROGRESS;
    if (e == PAY_ERR_OK && (e = pc->prepared) != PAY_ERR_OK)
        operr = pc->prepare_err;
    else if (e == PAY_ERR_OK)
        e = post_run_apply(pc, tx, &status, &out, &operr);
    pc->text = answer_text(e, &operr, out, &status, &pc->used);
    json_decref(out);
    pc->status = status;
    if (pc->text == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    if (refused)
        return PAY_ERR_OK; /* answered, nothing stored */
    if (status >= 500) {   /* not an answer to keep: undo everything, a retry may run again */
        *err = operr;
        return e != PAY_ERR_OK ? e : pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    }
    return pay_platform_idem_store_tx(tx, &pc->idem, status, pc->text, err);
}

/* On the committer thread, once the batch is durable (or failed): hands the answer to the
 * request and resumes it; the event thread signs and sends it. */
static void post_done(void *ctx, enum pay_err code, const struct pay_error *err)
{
    struct post_call *pc = ctx;
    if (code == PAY_ERR_OK) {
        if (pc->replayed)
            pay_http_respond_header(pc->c.req, "Idempotent-Replayed", "true");
        send_text(&pc->c, pc->status, pc->text, &pc->used);
        if (pc->c.wake)
            pay_platform_wake(pc->c.p);
    } else {
        send_answer(&pc->c, code, err, NULL, 0);
    }
    pay_http_req_resume(pc->c.req);
}

/* The request's hash for Idempotency-Key: "POST target\n" and the body bytes. */
static enum pay_err post_hash(struct post_call *pc)
{
    struct pay_buf b;
    pay_buf_init(&b, PAY_HTTP_BODY_MAX + PAY_URL_MAX + 16);
    bool ok = pay_buf_printf(&b, "POST %s\n", pc->c.target) == 0 &&
              pay_buf_append(&b, pc->c.body, pc->c.body_len) == 0;
    if (ok)
        pay_sha256_hex(pc->hash, b.data, b.len);
    pay_buf_fini(&b);
    return ok ? PAY_ERR_OK : PAY_ERR_INTERNAL;
}

/* Decodes the body and runs the endpoint's prepare; a failure is the answer the command
 * stores (a retry with the same bytes gets the same refusal). */
static void post_prepare(struct post_call *pc)
{
    struct api_call *c = &pc->c;
    pc->prepared = PAY_ERR_OK;
    if (c->body_len == 0) /* a POST without fields (close) may send no body */
        c->json = json_object();
    else
        pc->prepared = pay_json_decode(c->body, c->body_len, &c->json, &pc->prepare_err);
    if (c->json != NULL && pay_http_req_defer(c->req, json_release, c->json) != 0) {
        json_decref(c->json); /* never leaked; the request fails below */
        c->json = NULL;
        pc->prepared = pay_error_set(&pc->prepare_err, PAY_ERR_INTERNAL, "", "out of memory");
    }
    if (pc->prepared == PAY_ERR_OK)
        pc->prepared = pc->def->prepare(c, &pc->prepare_err);
}

static void run_post(struct post_call *pc, struct pay_error *err)
{
    struct api_call *c = &pc->c;
    enum pay_err e = PAY_ERR_OK;
    /* JSON only: a form or text/plain body would otherwise be read as JSON by accident. */
    if (c->body_len > 0 && !pay_http_req_is_json(c->req))
        e = pay_error_set(err, PAY_ERR_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
                          "send the body as application/json");
    if (e == PAY_ERR_OK)
        e = idem_key(c, err);
    if (e == PAY_ERR_OK && (e = post_hash(pc)) != PAY_ERR_OK)
        pay_error_set(err, e, "", "out of memory");
    if (e == PAY_ERR_OK && pay_http_req_defer(c->req, post_release, pc) != 0)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    if (e != PAY_ERR_OK) {
        send_answer(c, e, err, NULL, 0);
        return;
    }
    post_prepare(pc);
    pc->idem =
        (struct pay_platform_idem){c->merchant_id, c->idem_key, pc->hash, PAY_IDEM_NEW, 0, NULL};
    pay_http_req_suspend(c->req);
    e = pay_committer_submit_async(c->p->committer, post_apply, pc, post_done, pc, err);
    if (e != PAY_ERR_OK) { /* nothing queued: answer here */
        send_answer(c, e, err, NULL, 0);
        pay_http_req_resume(c->req);
    }
    /* from here on the request belongs to the command: touch nothing */
}

enum pay_err pay_platform_api_entry(struct pay_http_request *req, struct pay_error *err)
{
    const struct pay_platform_route_ctx *rc = pay_http_req_ctx(req);
    const struct api_op_def *def = rc->arg;
    struct post_call *pc = pay_http_req_alloc(req, sizeof *pc);
    if (pc == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    memset(pc, 0, sizeof *pc);
    pc->def = def;
    struct api_call *c = &pc->c;
    c->p = rc->p;
    c->req = req;
    c->body = pay_http_req_body(req, &c->body_len);
    enum pay_err e = authenticate(c, def, err);
    if (e != PAY_ERR_OK) {
        PAY_INFO("api.refused", "path=%s code=%s", pay_http_req_path(req), pay_err_name(e));
        send_answer(c, e, err, NULL, 0);
    } else if (def->apply != NULL) {
        run_post(pc, err); /* answered later, by the committer's done callback */
    } else {
        json_t *out = NULL;
        int status = 200;
        e = def->op(c, &status, &out, err);
        if (e != PAY_ERR_OK || out || status != API_ANSWERED)
            send_answer(c, e, err, out, status);
        json_decref(out);
    }
    return PAY_ERR_OK;
}

/* GET /.well-known/paygate-platform-key: how merchants learn the key that signs our answers
 * and notifications, and where the payment log's heads are anchored. */
static enum pay_err h_key(struct pay_http_request *req, struct pay_error *err)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    char text[PAY_ED25519_KEY_TEXT_LEN];
    pay_ed25519_pk_to_text(text, p->key.pk);
    char *pem = pay_ed25519_pk_to_pem(p->key.pk);
    if (!pem)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", NULL);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "key_id", p->key_id, "alg", "ed25519",
                          "public_key", text, "public_key_pem", pem);
    free(pem);
    if (o && p->set.chain.anchoring) /* where the payment log is anchored (docs/receipts.md) */
        json_object_set_new(o, "anchor",
                            json_pack("{s:I, s:s}", "chain_id", (json_int_t)p->set.chain.chain_id,
                                      "address", p->set.chain.anchor_address));
    pay_http_respond_json(req, 200, o);
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_platform_api_key_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/.well-known/paygate-platform-key", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_key, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
