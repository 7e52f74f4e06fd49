/* Bound cards of consumers: what the platform keeps of a card is the bank, the bank's
 * agreement token and BIN + last four. The token is a bearer credential (whoever holds it can
 * debit the card), so it is stored sealed (XChaCha20-Poly1305, src/crypto/aead.h) with the
 * keyring of platform-aead.keys; the associated data is the card id, so a sealed token cannot
 * be moved to another row. Bank, BIN and last four stay in clear for display. */
#include "platform/platform.h"

#include "core/clock.h"
#include "crypto/ids.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

#define SEALED_MAX PAY_AEAD_SEALED_LEN(PAY_MERCHANT_ID_FIELD_MAX)

static int token_seal(const struct pay_platform *p, const char *card_id, const char *token,
                      char out[SEALED_MAX])
{
    return pay_aead_seal(&p->aead, token, strlen(token), card_id, strlen(card_id), out, SEALED_MAX);
}

/* Opens a sealed token into out (PAY_MERCHANT_ID_FIELD_MAX + 1); -1 when it does not open. */
static int token_open(const struct pay_platform *p, const char *card_id, const char *sealed,
                      char *out)
{
    size_t n = 0;
    if (pay_aead_open(&p->aead, sealed, card_id, strlen(card_id), out, PAY_MERCHANT_ID_FIELD_MAX,
                      &n) != 0)
        return -1;
    out[n] = '\0';
    return 0;
}

struct list_ctx {
    struct pay_platform *p;
    const char *consumer_id, *card_id;
    struct pay_platform_card *out;
    size_t max, n;
};

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    l->n = 0;
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT id, bank, agreement_token, bin, last4 FROM pf_cards WHERE consumer_id = $1"
        " AND (CAST($2 AS TEXT) IS NULL OR id = $2) ORDER BY id",
        "tt", l->consumer_id, l->card_id);
    if (!st)
        return err->code;
    while (l->n < l->max && pay_store_step(st, err) == 1) {
        struct pay_platform_card *c = &l->out[l->n];
        pay_store_col_copy(st, 0, c->id, sizeof c->id);
        if (token_open(l->p, c->id, pay_store_col_text(st, 2), c->token) != 0) {
            /* a lost or wrong key: the card cannot be used, but the others can */
            PAY_WARN("card.token_unreadable", "card=%s", c->id);
            continue;
        }
        pay_store_col_copy(st, 1, c->bank, sizeof c->bank);
        pay_store_col_copy(st, 3, c->bin, sizeof c->bin);
        pay_store_col_copy(st, 4, c->last4, sizeof c->last4);
        l->n++;
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

enum pay_err pay_platform_cards_list(struct pay_platform *p, const char *consumer_id,
                                     const char *card_id, struct pay_platform_card *out, size_t max,
                                     size_t *n_out, struct pay_error *err)
{
    struct list_ctx l = {p, consumer_id, card_id, out, max, 0};
    enum pay_err e = pay_store_run_read(p->store, list_tx, &l, err);
    *n_out = l.n;
    return e;
}

struct add_ctx {
    struct pay_platform *p;
    const char *consumer_id;
    const struct pay_platform_card *c;
    const char *sealed;
};

static enum pay_err add_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct add_ctx *a = ctx;
    enum pay_err e = pay_store_exec(
        tx, err,
        "INSERT INTO pf_cards (id, consumer_id, bank, agreement_token, bin, last4, created_ms,"
        " token_sealed) VALUES ($1,$2,$3,$4,$5,$6,$7,1)",
        "tttttti", a->c->id, a->consumer_id, a->c->bank, a->sealed, a->c->bin, a->c->last4,
        pay_clock_now_ms());
    if (e != PAY_ERR_OK)
        return e;
    char actor[PAY_AUDIT_TEXT_MAX], detail[PAY_AUDIT_DETAIL_MAX];
    snprintf(actor, sizeof actor, "consumer:%s", a->consumer_id);
    snprintf(detail, sizeof detail, "bank=%s card=%s******%s", a->c->bank, a->c->bin, a->c->last4);
    return pay_platform_audit(
        a->p, tx,
        &(struct pay_audit_entry){
            .actor = actor, .action = "card.bind", .target = a->c->id, .detail = detail},
        err);
}

enum pay_err pay_platform_card_add(struct pay_platform *p, const char *consumer_id,
                                   const struct pay_platform_card *c, struct pay_error *err)
{
    char sealed[SEALED_MAX];
    if (token_seal(p, c->id, c->token, sealed) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot seal the agreement token");
    struct add_ctx a = {p, consumer_id, c, sealed};
    return pay_platform_write(p, add_tx, &a, err);
}

/* Migration 8: tokens stored in clear by older versions (token_sealed = 0), sealed at open
 * with the card id as associated data, as token_seal does. */
const struct pay_platform_legacy pay_platform_legacy_cards = {
    "pf_cards", "token_sealed", {"agreement_token", NULL}, ""};
