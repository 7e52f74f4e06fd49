/* Bound cards of consumers: what the platform keeps of a card is the bank, the bank's
 * agreement token and BIN + last four. */
#include "platform/platform.h"

#include "core/ids.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <string.h>

struct list_ctx {
    const char *consumer_id, *card_id;
    struct pay_platform_card *out;
    size_t max, n;
};

static enum pay_store_status list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    l->n = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, bank, agreement_token, bin, last4 FROM pf_cards WHERE consumer_id = $1"
        " AND ($2 IS NULL OR id = $2) ORDER BY id",
        "tt", l->consumer_id, l->card_id);
    if (!st)
        return pay_store_status_of(err->code);
    while (l->n < l->max && pay_store_step(st, err) == 1) {
        struct pay_platform_card *c = &l->out[l->n++];
        snprintf(c->id, sizeof c->id, "%s", pay_store_col_text(st, 0));
        snprintf(c->bank, sizeof c->bank, "%s", pay_store_col_text(st, 1));
        snprintf(c->token, sizeof c->token, "%s", pay_store_col_text(st, 2));
        snprintf(c->bin, sizeof c->bin, "%s", pay_store_col_text(st, 3));
        snprintf(c->last4, sizeof c->last4, "%s", pay_store_col_text(st, 4));
    }
    pay_store_done(st);
    return PAY_STORE_COMMIT;
}

enum pay_err pay_platform_cards_list(struct pay_platform *p, const char *consumer_id,
                                     const char *card_id, struct pay_platform_card *out, size_t max,
                                     size_t *n_out, struct pay_error *err)
{
    struct list_ctx l = {consumer_id, card_id, out, max, 0};
    enum pay_err e = pay_store_run_read(p->store, list_tx, &l, err);
    *n_out = l.n;
    return e;
}

struct add_ctx {
    const char *consumer_id;
    const struct pay_platform_card *c;
};

static enum pay_store_status add_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct add_ctx *a = ctx;
    return pay_store_status_of(pay_store_exec(
        tx, err,
        "INSERT INTO pf_cards (id, consumer_id, bank, agreement_token, bin, last4, created_ms)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7)",
        "tttttti", a->c->id, a->consumer_id, a->c->bank, a->c->token, a->c->bin, a->c->last4,
        pay_time_now_ms()));
}

enum pay_err pay_platform_card_add(struct pay_platform *p, const char *consumer_id,
                                   const struct pay_platform_card *c, struct pay_error *err)
{
    struct add_ctx a = {consumer_id, c};
    return pay_store_run_tx(p->store, add_tx, &a, err);
}
