/* Risk control at the platform's payment points (docs/risk.md): the attempt's inputs (the
 * signed device cookie, the client address, the trade) and a payment that runs only when the
 * risk engine allows it, recorded with its decision in the payment's own transaction; a payment
 * the rules send to review is held there for the operator, its amount reserved in the consumer's
 * wallet (risk_review.c decides it). */
#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "http/server.h"
#include "platform/platform.h"
#include "platform/risk.h"

#include <string.h>

#define DEVICE_COOKIE   "pf_device"
#define DEVICE_RAW      16                            /* random bytes of a device id */
#define DEVICE_MAC      16                            /* bytes of its HMAC kept in the cookie */
#define DEVICE_ID_TEXT  PAY_BASE64URL_LEN(DEVICE_RAW) /* with its NUL */
#define DEVICE_MAC_TEXT PAY_BASE64URL_LEN(DEVICE_MAC)

/* The cookie's MAC of id, as text: HMAC-SHA256 under a key derived from the signing key. */
static void device_mac(const struct pay_platform *p, const char *id, char out[DEVICE_MAC_TEXT])
{
    static const char label[] = "paygate platform device cookie v1";
    uint8_t key[PAY_HMAC_SHA256_LEN], mac[PAY_HMAC_SHA256_LEN];
    pay_hmac_sha256(key, p->key.sk, sizeof p->key.sk, label, sizeof label - 1);
    pay_hmac_sha256(mac, key, sizeof key, id, strlen(id));
    pay_wipe(key, sizeof key);
    PAY_ASSERT(pay_base64url_encode(out, DEVICE_MAC_TEXT, mac, DEVICE_MAC) == 0);
}

const char *pay_platform_device_id(struct pay_http_request *req)
{
    struct pay_platform *p = pay_http_req_ctx(req);
    const char *c = pay_http_req_cookie(req, DEVICE_COOKIE);
    const char *dot = c ? strchr(c, '.') : NULL;
    char id[DEVICE_ID_TEXT], want[DEVICE_MAC_TEXT];
    if (dot && (size_t)(dot - c) == DEVICE_ID_TEXT - 1 && strlen(dot + 1) == DEVICE_MAC_TEXT - 1) {
        memcpy(id, c, DEVICE_ID_TEXT - 1);
        id[DEVICE_ID_TEXT - 1] = '\0';
        device_mac(p, id, want);
        if (pay_ct_equal(want, dot + 1, DEVICE_MAC_TEXT - 1))
            return pay_http_req_printf(req, "%s", id);
    }
    /* none, or not ours: a device we have not seen. A page (GET) gives it its id for good; a
     * form posted without one is judged as a device never seen, as it is. */
    uint8_t raw[DEVICE_RAW];
    pay_random_bytes(raw, sizeof raw);
    PAY_ASSERT(pay_base64url_encode(id, sizeof id, raw, sizeof raw) == 0);
    device_mac(p, id, want);
    if (strcmp(pay_http_req_method(req), "GET") == 0)
        pay_http_respond_cookie(req, DEVICE_COOKIE, pay_http_req_printf(req, "%s.%s", id, want),
                                PAY_RISK_DEVICE_COOKIE_S, 0);
    return pay_http_req_printf(req, "%s", id);
}

bool pay_platform_is_refusal(enum pay_err e)
{
    return e != PAY_ERR_OK && e != PAY_ERR_INTERNAL && !pay_store_retryable(e) &&
           !pay_store_failure(e);
}

/* The pending ledger transfer "<trade>.hold" reserving trade t's amount in the consumer's
 * wallet for the account the payment would credit (the merchant's, or its escrow's): posted on
 * approval, voided on rejection (risk_review.c). BALANCE_INSUFFICIENT holds nothing. */
static enum pay_err hold_money_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                  const struct pay_platform_trade *t, const char *consumer_id,
                                  char hold_id[PAY_LEDGER_ID_MAX + 1], struct pay_error *err)
{
    struct pay_ledger_transfer x = {.amount_minor = t->amount_minor,
                                    .code = PAY_PF_XFER_RISK_HOLD,
                                    .flags = PAY_LEDGER_TF_PENDING}; /* no timeout: the operator */
    bool escrow = strcmp(t->product, "escrow") == 0;
    enum pay_ledger_result r = PAY_LEDGER_OK;
    enum pay_err e;
    if ((e = pay_platform_account_ensure(p, tx, PAY_PF_ACCT_WALLET, consumer_id, t->currency,
                                         x.debit_account_id, err)) != PAY_ERR_OK ||
        (e = pay_platform_account_ensure(p, tx, escrow ? PAY_PF_ACCT_ESCROW : PAY_PF_ACCT_MERCHANT,
                                         t->merchant_id, t->currency, x.credit_account_id, err)) !=
            PAY_ERR_OK)
        return e;
    snprintf(x.id, sizeof x.id, "%s.hold", t->id);
    pay_str_copy(x.currency, sizeof x.currency, t->currency);
    pay_str_copy(x.user_data, sizeof x.user_data, t->id);
    if ((e = pay_ledger_tx_transfer(p->ledger, tx, &x, &r, err)) != PAY_ERR_OK)
        return e;
    pay_str_copy(hold_id, PAY_LEDGER_ID_MAX + 1, x.id);
    return pay_platform_ledger_error(r, err);
}

enum pay_err pay_platform_risk_review_hold_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                              struct pay_platform_trade *t,
                                              const struct pay_risk_attempt *a,
                                              const struct pay_risk_decision *d,
                                              const struct pay_platform_payment *pm,
                                              struct pay_error *err)
{
    PAY_ASSERT(d->action == PAY_RISK_REVIEW && pm->source_kind == PAY_PF_ACCT_WALLET);
    PAY_ASSERT(t->amount_minor == a->amount_minor && !t->risk_review[0]);
    char hold_id[PAY_LEDGER_ID_MAX + 1], features[PAY_RISK_FEATURES_TEXT_MAX] = "";
    if (d->have_features) /* the outcome labels them for `risk train` */
        pay_risk_features_text(d->x, features, sizeof features);
    enum pay_err e = hold_money_tx(p, tx, t, pm->source_owner, hold_id, err);
    if (e == PAY_ERR_OK)
        e = pay_store_exec(
            tx, err,
            "INSERT INTO pf_risk_reviews (trade_id, attempt_id, method, pay_method, consumer_id,"
            " reference, merchant_id, amount_minor, currency, reasons, status, created_ms,"
            " hold_id, features) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending',"
            " $11, $12, $13) ON CONFLICT (trade_id) DO NOTHING",
            "tttttttittitt", t->id, d->id, a->method, pm->method, pm->source_owner,
            pm->reference ? pm->reference : "", t->merchant_id, t->amount_minor, t->currency,
            d->reasons, pay_clock_now_ms(), hold_id, features);
    if (e != PAY_ERR_OK)
        return e;
    if (pay_store_changes(tx) != 1) /* not a refusal: the whole attempt is rolled back */
        return pay_error_set(err, PAY_ERR_INTERNAL, "trade_id", "reviewed before");
    pay_str_copy(t->risk_review, sizeof t->risk_review, "pending");
    char actor[PAY_AUDIT_TEXT_MAX], detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(actor, sizeof actor, "consumer:%s", pm->source_owner);
    snprintf(detail, sizeof detail, "amount_minor=%lld %s method=%s merchant=%s reasons=%.200s",
             (long long)t->amount_minor, t->currency, pm->method, t->merchant_id, d->reasons);
    e = pay_platform_audit(
        p, tx,
        &(struct pay_audit_entry){
            .actor = actor, .action = "risk.review_hold", .target = t->id, .detail = detail},
        err);
    /* the merchant is told the trade is under review (docs/api.md, "Notifications") */
    return e == PAY_ERR_OK ? pay_platform_notify_enqueue(tx, t, "trade.review", NULL, err) : e;
}

/* The login of the attempt's consumer, read in tx when the route knows only the id (an
 * agreement debit, its step-up confirmed: the merchant's server names the agreement, not the
 * buyer): a consumer blacklist names either (docs/risk.md, "Rules"), so each route is judged on
 * both. login: PAY_PLATFORM_LOGIN_MAX + 1 bytes, the attempt's login then points into it. */
static enum pay_err attempt_login_tx(struct pay_store_tx *tx, struct pay_risk_attempt *a,
                                     char *login, struct pay_error *err)
{
    const char *id = a->value[PAY_RISK_CONSUMER];
    if ((a->login && a->login[0]) || !id || !id[0])
        return PAY_ERR_OK;
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT login FROM pf_consumers WHERE id = $1", "t", id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    login[0] = '\0';
    if (rc == 1)
        pay_store_col_copy(st, 0, login, PAY_PLATFORM_LOGIN_MAX + 1);
    pay_store_done(st);
    if (rc < 0)
        return err->code;
    a->login = login;
    return PAY_ERR_OK;
}

static enum pay_err risk_pay_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                struct pay_risk_attempt *a, const struct pay_platform_payment *pm,
                                struct pay_error *err)
{
    struct pay_platform_trade t;
    struct pay_risk_decision d;
    struct pay_error ignore = {0};
    enum pay_err e = pay_platform_trade_load(tx, NULL, a->trade_id, NULL, &t, err);
    if (e != PAY_ERR_OK)
        return e;
    if (strcmp(t.state, PAY_TRADE_WAIT_BUYER_PAY) != 0) /* refused below; nothing to judge */
        return pay_platform_trade_pay_tx(p, tx, t.id, pm, err);
    if (strcmp(t.risk_review, "pending") == 0) /* waiting for the operator: nothing to record */
        return pay_error_set(err, PAY_ERR_RISK_REVIEW, "risk", NULL);
    a->amount_minor = t.amount_minor;
    a->currency = t.currency;
    a->value[PAY_RISK_MERCHANT] = t.merchant_id;
    if ((e = pay_risk_decide_tx(&p->risk, tx, a, &d, err)) != PAY_ERR_OK)
        return e;
    if (d.action == PAY_RISK_REVIEW &&
        (e = pay_platform_risk_review_hold_tx(p, tx, &t, a, &d, pm, err)) != PAY_ERR_OK)
        return e; /* BALANCE_INSUFFICIENT: nothing held, the attempt still recorded */
    if (d.action != PAY_RISK_ALLOW)
        return pay_risk_refusal(&d, err); /* recorded (and held): the caller keeps it */
    if ((e = pay_store_savepoint(tx, err)) != PAY_ERR_OK)
        return e;
    e = pay_platform_trade_pay_tx(p, tx, t.id, pm, err);
    if (e == PAY_ERR_OK && (e = pay_risk_paid_tx(tx, d.id, err)) == PAY_ERR_OK)
        return pay_store_release(tx, err);
    /* Our savepoint is closed whatever failed (a refusal, or a lost connection the committer
     * retries): a callback leaves no savepoint open. */
    if (pay_store_rollback_to(tx, &ignore) != PAY_ERR_OK && pay_platform_is_refusal(e))
        return ignore.code;
    return e; /* a refused payment (balance, state) stays counted as an attempt */
}

enum pay_err pay_platform_risk_pay_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                      struct pay_risk_attempt *a,
                                      const struct pay_platform_payment *pm, struct pay_error *err)
{
    char login[PAY_PLATFORM_LOGIN_MAX + 1];
    const char *given = a->login; /* the committer may run tx again: no pointer to our stack */
    enum pay_err e = attempt_login_tx(tx, a, login, err);
    if (e == PAY_ERR_OK)
        e = risk_pay_tx(p, tx, a, pm, err);
    a->login = given;
    return e;
}

struct wallet_pay {
    struct pay_platform *p;
    struct pay_risk_attempt a;
    struct pay_platform_payment pm;
};

static enum pay_err wallet_pay_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct wallet_pay *w = ctx;
    enum pay_err e = pay_platform_risk_pay_tx(w->p, tx, &w->a, &w->pm, err);
    return pay_platform_is_refusal(e) ? pay_store_keep(tx, e) : e;
}

enum pay_err pay_platform_risk_pay(struct pay_platform *p, struct pay_risk_attempt *a,
                                   const struct pay_platform_payment *pm, struct pay_error *err)
{
    struct wallet_pay w = {.p = p, .a = *a, .pm = *pm};
    return pay_platform_write(p, wallet_pay_tx, &w, err);
}

bool pay_platform_risk_notifies(enum pay_err e)
{
    return e == PAY_ERR_OK || e == PAY_ERR_RISK_REVIEW;
}

enum pay_err pay_platform_risk_keep(struct pay_store_tx *tx, enum pay_err e)
{
    return pay_platform_is_refusal(e) ? pay_store_keep(tx, e) : e;
}

void pay_platform_risk_reload(struct pay_platform *p)
{
    struct pay_error err = {0};
    enum pay_err e = pay_risk_reload(&p->risk, &err);
    char detail[PAY_AUDIT_DETAIL_MAX];
    pthread_mutex_lock(&p->risk.mu);
    snprintf(detail, sizeof detail, "file=%.200s sha256=%s%s%.190s", p->risk.path,
             p->risk.rules ? p->risk.rules->sha256 : "",
             e == PAY_ERR_OK ? "" : " refused: ", e == PAY_ERR_OK ? "" : err.detail);
    pthread_mutex_unlock(&p->risk.mu);
    pay_platform_audit_event(
        p, &(struct pay_audit_entry){.actor = "operator",
                                     .action = "risk.rules_reload",
                                     .target = "rules",
                                     .outcome = e == PAY_ERR_OK ? "ok" : pay_err_name(e),
                                     .source = "SIGHUP",
                                     .detail = detail});
}
