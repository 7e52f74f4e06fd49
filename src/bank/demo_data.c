/* `--demo-data`: a few customers with known test cards (derived from the BIN, so stable
 * across runs) and a demo merchant. Idempotent: a card whose number already exists is kept.
 * The server prints no card data (its output is its log); `paygate bank demo-cards` lists the
 * cards with their CVV2s on the operator's terminal. */
#include "bank/bank.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct demo_card {
    int serial;
    const char *name, *kind, *expiry, *state;
    const char *reserved; /* the customer's reserved message (docs/bank.md) */
    int64_t balance_minor, limit_minor;
    bool locked;
};

static const struct demo_card demo[] = {
    {1, "Alice Success", "debit", "12/30", "always succeeds", "春眠不觉晓", 10000000, 0, false},
    {2, "Bob NoFunds", "debit", "12/30", "no funds", "处处闻啼鸟", 0, 0, false},
    {3, "Carol Expired", "debit", "01/20", "expired", "夜来风雨声", 10000000, 0, false},
    {4, "Dave Locked", "debit", "12/30", "locked", "花落知多少", 10000000, 0, true},
    {5, "Erin Credit", "credit", "12/30", "credit card, limit 50000.00", "床前明月光", 0, 5000000,
     false},
};

struct demo_op {
    struct pay_bank *b;
    const struct demo_card *d;
    char pan[20], cvv[4];
    bool existed;
};

static enum pay_err demo_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct demo_op *o = ctx;
    struct pay_bank *b = o->b;
    char body[40];
    snprintf(body, sizeof body, "%.6s%09d", b->opt.bin, o->d->serial);
    snprintf(o->pan, sizeof o->pan, "%.15s%d", body, pay_bank_luhn_digit(body));
    struct pay_bank_card c;
    o->existed = pay_bank_card_find(b, tx, o->pan, &c, err) == PAY_ERR_OK;
    memset(err, 0, sizeof *err);
    if (o->existed) {
        pay_bank_cvv2(b, o->pan, o->d->expiry, o->cvv);
        return PAY_ERR_OK;
    }
    char phone[24], cus[PAY_ID_MAX], card_id[PAY_ID_MAX];
    snprintf(phone, sizeof phone, "1380000000%d", o->d->serial);
    enum pay_err rc = pay_bank_customer_create(b, tx, o->d->name, phone, cus, err);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_reserved_set(b, tx, cus, o->d->reserved, err);
    struct pay_bank_card_new n = {.customer_id = cus,
                                  .kind = o->d->kind,
                                  .password = "123456",
                                  .expiry = o->d->expiry,
                                  .phone = phone,
                                  .credit_limit_minor = o->d->limit_minor,
                                  .serial = o->d->serial,
                                  .locked_until_ms = o->d->locked ? INT64_MAX / 2 : 0};
    if (rc == PAY_ERR_OK)
        rc = pay_bank_card_issue(b, tx, &n, o->pan, o->cvv, card_id, err);
    if (rc != PAY_ERR_OK || o->d->balance_minor == 0)
        return rc;
    struct pay_bank_card got;
    rc = pay_bank_card_get(tx, card_id, &got, err);
    char tid[PAY_LEDGER_ID_MAX + 16];
    snprintf(tid, sizeof tid, "demo:%s", got.account_id);
    if (rc == PAY_ERR_OK)
        rc = pay_bank_transfer(b, tx, tid, b->cash_account, got.account_id, o->d->balance_minor,
                               PAY_BANK_XFER_DEPOSIT, "demo deposit", err);
    return rc;
}

static enum pay_err demo_merchant(struct pay_bank *b, struct pay_error *err)
{
    char dir[PAY_BANK_PATH_MAX + 32], crt[PAY_BANK_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/demo-merchant", b->opt.data_dir);
    snprintf(crt, sizeof crt, "%s/merchant.crt", dir);
    char *have = pay_bank_read_file(crt, 65536);
    if (have) {
        free(have);
        return PAY_ERR_OK;
    }
    mkdir(dir, 0700);
    struct pay_bank_merchant m = {.allow_no_referer = true};
    snprintf(m.mer_id, sizeof m.mer_id, "DEMO0001");
    snprintf(m.name, sizeof m.name, "Demo Shop");
    snprintf(m.referrer_domain, sizeof m.referrer_domain, "127.0.0.1");
    snprintf(m.notify_domain, sizeof m.notify_domain, "127.0.0.1");
    char serial[64];
    return pay_bank_merchant_add(b, &m, dir, serial, err);
}

enum pay_err pay_bank_demo_data(struct pay_bank *b, bool print, struct pay_error *err)
{
    for (size_t i = 0; i < sizeof demo / sizeof demo[0]; i++) {
        struct demo_op o = {.b = b, .d = &demo[i]};
        enum pay_err rc = pay_committer_submit(b->committer, demo_apply, &o, err);
        pay_wipe(&o, sizeof o);
        if (rc != PAY_ERR_OK)
            return rc;
    }
    enum pay_err rc = demo_merchant(b, err);
    /* No card data here: a server's output ends up in its log. The numbers are documented
     * (docs/bank.md); the CVV2s are derived from this bank's keys and shown on request. */
    if (rc == PAY_ERR_OK && print)
        printf("demo cards of %s (BIN %s): docs/bank.md; numbers and CVV2s:"
               " paygate bank demo-cards --data-dir %s\n"
               "demo merchant DEMO0001: key and certificate in %s/demo-merchant/\n",
               b->opt.name, b->opt.bin, b->opt.data_dir, b->opt.data_dir);
    fflush(stdout);
    return rc;
}

/* --- `paygate bank demo-cards` ---------------------------------------------------------------- */

struct list_ctx {
    struct pay_bank *b;
    const struct demo_card *d;
    char pan[20];
    bool found;
};

static enum pay_err exists_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    struct pay_bank_card c;
    l->found = pay_bank_card_find(l->b, tx, l->pan, &c, err) == PAY_ERR_OK;
    pay_wipe(&c, sizeof c);
    return PAY_ERR_OK;
}

int pay_bank_demo_cards_print(struct pay_bank *b, FILE *out)
{
    fprintf(out, "demo cards of %s (BIN %s), card password 123456:\n", b->opt.name, b->opt.bin);
    int listed = 0;
    for (size_t i = 0; i < sizeof demo / sizeof demo[0]; i++) {
        struct list_ctx l = {.b = b, .d = &demo[i]};
        char body[40], cvv[4];
        struct pay_error err = {0};
        snprintf(body, sizeof body, "%.6s%09d", b->opt.bin, demo[i].serial);
        snprintf(l.pan, sizeof l.pan, "%.15s%d", body, pay_bank_luhn_digit(body));
        if (pay_store_run_read(b->store, exists_tx, &l, &err) != PAY_ERR_OK || !l.found)
            continue;
        pay_bank_cvv2(b, l.pan, demo[i].expiry, cvv);
        fprintf(out, "  %s  exp %s  cvv2 %s  phone 1380000000%d  %s\n", l.pan, demo[i].expiry, cvv,
                demo[i].serial, demo[i].state);
        pay_wipe(&l, sizeof l);
        pay_wipe(cvv, sizeof cvv);
        listed++;
    }
    return listed > 0 ? 0 : -1;
}
