/* `--demo-data`: a few customers with known test cards (derived from the BIN, so stable
 * across runs) and a demo merchant. Idempotent: a card whose number already exists is kept. */
#include "bank/bank.h"
#include "core/log.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct demo_card {
    int serial;
    const char *name, *kind, *expiry, *state;
    int64_t balance_minor, limit_minor;
    bool locked;
};

static const struct demo_card demo[] = {
    {1, "Alice Success", "debit", "12/30", "always succeeds", 10000000, 0, false},
    {2, "Bob NoFunds", "debit", "12/30", "no funds", 0, 0, false},
    {3, "Carol Expired", "debit", "01/20", "expired", 10000000, 0, false},
    {4, "Dave Locked", "debit", "12/30", "locked", 10000000, 0, true},
    {5, "Erin Credit", "credit", "12/30", "credit card, limit 50000.00", 0, 5000000, false},
};

struct demo_op {
    struct pay_bank_op op;
    const struct demo_card *d;
    char pan[20], cvv[4];
    bool existed;
};

static int demo_apply(struct pay_store_tx *tx, void *ctx)
{
    struct demo_op *o = ctx;
    struct pay_bank *b = o->op.b;
    struct pay_error *err = &o->op.err;
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
    if (print)
        printf("demo cards of %s (BIN %s), card password 123456:\n", b->opt.name, b->opt.bin);
    for (size_t i = 0; i < sizeof demo / sizeof demo[0]; i++) {
        struct demo_op o = {.d = &demo[i]};
        enum pay_err rc = pay_bank_write(b, demo_apply, &o.op, err);
        if (rc != PAY_ERR_OK)
            return rc;
        /* stdout only, never the log: the numbers are the documented test cards */
        if (print)
            printf("  %s  exp %s  cvv2 %s  phone 1380000000%d  %s\n", o.pan, demo[i].expiry, o.cvv,
                   demo[i].serial, demo[i].state);
    }
    enum pay_err rc = demo_merchant(b, err);
    if (rc == PAY_ERR_OK && print)
        printf("demo merchant DEMO0001: key and certificate in %s/demo-merchant/\n",
               b->opt.data_dir);
    fflush(stdout);
    return rc;
}
