/* Agreements (代扣协议): a consumer lets one merchant charge the wallet without the cashier;
 * the merchant then creates trades with product "agreement" and the agreement number, and
 * the platform pays them from the wallet at once. */
#include "platform/platform.h"

#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>

struct sign_ctx {
    const char *consumer_id, *merchant_id;
    char id[PAY_ID_MAX];
};

static enum pay_err sign_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct sign_ctx *s = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT (SELECT COUNT(*) FROM pf_merchants WHERE id = $2),"
        " (SELECT id FROM pf_agreements WHERE consumer_id = $1 AND merchant_id = $2)",
        "tt", s->consumer_id, s->merchant_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    bool merchant = rc == 1 && pay_store_col_int64(st, 0) == 1;
    bool have = rc == 1 && !pay_store_col_is_null(st, 1);
    if (have)
        pay_store_col_copy(st, 1, s->id, sizeof s->id);
    pay_store_done(st);
    if (rc != 1)
        return rc < 0 ? err->code : pay_error_set(err, PAY_ERR_INTERNAL, "", "no row");
    if (!merchant)
        return pay_error_set(err, PAY_ERR_NOT_FOUND, "merchant_id", "no such merchant");
    if (have)
        return (pay_store_exec(tx, err, "UPDATE pf_agreements SET status = 'active' WHERE id = $1",
                               "t", s->id));
    if (pay_id_new("ag", s->id) != PAY_ERR_OK)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "no randomness for an id");
    return (pay_store_exec(
        tx, err,
        "INSERT INTO pf_agreements (id, consumer_id, merchant_id, status, created_ms)"
        " VALUES ($1,$2,$3,'active',$4)",
        "ttti", s->id, s->consumer_id, s->merchant_id, pay_clock_now_ms()));
}

enum pay_err pay_platform_agreement_sign(struct pay_platform *p, const char *consumer_id,
                                         const char *merchant_id, char id_out[PAY_ID_MAX],
                                         struct pay_error *err)
{
    struct sign_ctx s = {consumer_id, merchant_id, ""};
    enum pay_err e = pay_platform_write(p, sign_tx, &s, err);
    if (e == PAY_ERR_OK)
        pay_str_copy(id_out, PAY_ID_MAX, s.id);
    return e;
}

struct find_ctx {
    const char *id, *merchant_id;
    char consumer_id[PAY_ID_MAX];
    bool found;
};

static enum pay_err find_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct find_ctx *f = ctx;
    struct pay_store_stmt *st =
        pay_store_query(tx, err,
                        "SELECT consumer_id FROM pf_agreements WHERE id = $1 AND merchant_id = $2"
                        " AND status = 'active'",
                        "tt", f->id, f->merchant_id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    f->found = rc == 1;
    if (rc == 1)
        pay_store_col_copy(st, 0, f->consumer_id, sizeof f->consumer_id);
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

enum pay_err pay_platform_agreement_consumer_tx(struct pay_store_tx *tx, const char *agreement_no,
                                                const char *merchant_id,
                                                char consumer_id[PAY_ID_MAX], struct pay_error *err)
{
    struct find_ctx f = {agreement_no, merchant_id, "", false};
    enum pay_err e = find_tx(tx, &f, err);
    if (e == PAY_ERR_OK && !f.found)
        return pay_error_set(err, PAY_ERR_AGREEMENT_INVALID, "agreement_no", NULL);
    if (e == PAY_ERR_OK)
        pay_str_copy(consumer_id, PAY_ID_MAX, f.consumer_id);
    return e;
}
