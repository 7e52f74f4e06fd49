/* A real `paygate bank` beside the platform, for the tests of money that comes in and goes out
 * through it (settlement, reconciliation): its data dir with the platform as its merchant
 * PAYGATE (and any shops' accounts), served on a free loopback port; the platform's
 * [bank.CODE] section pointing at it; a consumer's wallet with the bank's demo card bound and
 * wallet payments to a merchant. */
#ifndef PAY_TESTS_PLATFORM_SANDBOX_BANK_H
#define PAY_TESTS_PLATFORM_SANDBOX_BANK_H

#include "harness.h"

#include <stdint.h>
#include <sys/types.h>

#define H_BANK_CARD_PHONE "13800000001" /* the demo card's phone: its SMS codes */

struct h_bank {
    char code[16], bin[8]; /* set by the test: "icbc", "622202" */
    char dir[256], url[128];
    char acct[80]; /* the platform's account (merchant PAYGATE, certificate in dir/mer) */
    pid_t pid;
};

/* A temp dir (name starting with tmp_prefix) with the bank's data dir and merchant PAYGATE in
 * it; not served yet. */
void h_bank_init(struct h_bank *bk, const char *tmp_prefix);
/* Another merchant of the bank (a shop the platform pays out to): certificate in dir/name, its
 * account into acct. Before h_bank_serve. */
void h_bank_merchant(const struct h_bank *bk, const char *mer_id, const char *name, char acct[80]);
/* `paygate bank serve` with its demo data and serve_flags ("" or e.g. " --fake-clock") on a
 * free loopback port; waits for its URL. */
void h_bank_serve(struct h_bank *bk, const char *serve_flags);
/* Stops the bank and removes its dir. */
void h_bank_stop(struct h_bank *bk);

/* Appends the platform's [bank.CODE] section for bk to pf's platform.ini (before h_start). */
void h_bank_configure(const struct h_platform *pf, const struct h_bank *bk);

/* Logs b in on pf's wallet as login ("correct horse") and binds the bank's demo card
 * BIN0000000015 (its CVV2 from `bank demo-cards`, the SMS code the bank sent); the card's id
 * into card. b stays on the wallet's page. */
void h_bank_bind_card(const struct h_platform *pf, const struct h_bank *bk, struct h_browser *b,
                      const char *login, char card[64]);

/* A trade of m ("Tea", timeout 1 day) paid by login's wallet on the cashier. */
void h_pay_by_wallet(struct h_platform *pf, const struct h_merchant *m, const char *otn,
                     const char *amount, const char *login, const char *pay_password);
/* "12.34" in minor units (asserts the form). */
int64_t h_minor(const char *value);
/* The merchant's available CNY balance (GET /v1/balance), in minor units. */
int64_t h_available_minor(struct h_platform *pf, const struct h_merchant *m);

#endif
