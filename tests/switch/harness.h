/* Test harness of the card network (tests/switch): the real `paygate switch` and `paygate bank`
 * binaries (PAYGATE_BIN) on port 0 with temp data dirs and test clocks, members admitted with
 * `paygate switch member add`, and a test acquirer that signs messages with a member's key and
 * seals card data to the switch (the same net.c client the banks use). Plus reads of a bank's
 * ledger and the scan for card data. */
#ifndef PAY_TESTS_SWITCH_HARNESS_H
#define PAY_TESTS_SWITCH_HARNESS_H

#include "bank/harness.h" /* bank_proc, h_paygate, h_post, h_get, h_sms_code, h_demo_cvv2 */
#include "crypto/sign.h"
#include "lib/clock.h"
#include "switch/net.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Demo cards (docs/bank.md) of the two test banks: CCB's BIN 621700, ICBC's 622202. */
#define SW_CCB_BIN  "621700"
#define SW_ICBC_BIN "622202"

struct sw_proc {
    char dir[256];
    char url[128];
    pid_t pid;
    char extra[256];                     /* extra serve flags, kept for restarts */
    char db[PAY_DATABASE_MAX + 1];       /* data/switch.db, or a PostgreSQL URL in the pg suite */
    char db_flag[PAY_DATABASE_MAX + 20]; /* " --database 'URL'" in the pg suite, else "" */
};

/* A switch in a new temp dir with members icbc and ccb (issuer,acquirer; BINs 622202 and
 * 621700; settlement accounts funded), started on the test clock. 0 or -1. */
int sw_start(struct sw_proc *s, const char *extra_args);
/* Starts the switch again on the same data dir (extra_args replaces the kept ones when not
 * NULL). 0 or -1. */
int sw_restart(struct sw_proc *s, const char *extra_args);
void sw_stop(struct sw_proc *s, int sig);
/* "<switch dir>/<code>": the member folder `member add` wrote. */
void sw_member_dir(const struct sw_proc *s, const char *code, char *out, size_t n);

/* A bank (code ccb or icbc, its BIN) as a member of the switch, demo data, fake clock, with the
 * bank harness's merchant M1 (<b->dir>/M1); its data dir is <b->dir>/data as the bank harness
 * expects. 0 or -1. */
int sw_bank_start(struct bank_proc *b, const struct sw_proc *s, const char *code, const char *bin,
                  const char *extra_args);
/* Starts it again on the same data dir (a new port: it signs on again). */
int sw_bank_restart(struct bank_proc *b, const struct sw_proc *s, const char *code, const char *bin,
                    const char *extra_args);

/* The test acquirer: a member's key, the switch's certificate and sealing key. */
struct sw_acq {
    char code[PAY_NET_CODE_MAX + 1];
    char switch_code[PAY_NET_CODE_MAX + 1];
    char url[128];
    struct pay_rsa_key *key;
    char *switch_cert;
    uint8_t seal_pk[PAY_SEAL_PK_LEN];
    long long next_trace;
};
int sw_acq_open(struct sw_acq *a, const struct sw_proc *s, const char *code);
void sw_acq_close(struct sw_acq *a);
/* A new trace number (12 digits). */
void sw_trace(struct sw_acq *a, char out[PAY_NET_TRACE_LEN + 1]);
/* Sends msg (consumed) to the switch's path; the answer (caller decrefs) and *status, or NULL
 * when there was no trustworthy answer (*err says why). */
json_t *sw_send(const struct sw_acq *a, const char *path, json_t *msg, long *status,
                struct pay_error *err);
/* An authorization (0100) of pan with its CVN2 and expiry YYMM, sealed to the switch for this
 * trace (new reference). */
json_t *sw_auth_msg(const struct sw_acq *a, const char *trace, const char *pan, const char *exp,
                    const char *cvn2, int64_t amount);
/* A capture (0220), reversal (0400) or refund (0200) of the authorization orig. */
json_t *sw_followup_msg(const struct sw_acq *a, const char *mti, const char *trace,
                        const char *orig, int64_t amount);
/* de39 of an answer ("" when none). */
const char *sw_rc(const json_t *answer);

/* The four balances of a ledger account in a bank's database (read while it runs):
 * debits_pending, debits_posted, credits_pending, credits_posted. 0 or -1. */
int sw_bank_account(const struct bank_proc *b, const char *account_id, int64_t out[4]);
/* The same in the switch's database (settle:<code>, clear:<code>). */
int sw_switch_account(const struct sw_proc *s, const char *account_id, int64_t out[4]);
/* The account of the bank's demo card with serial n (its customer's phone is 1380000000n). */
int sw_card_account(const struct bank_proc *b, int serial, char out[65]);
/* A query's first column of its first row as text, from a database (read while its server
 * runs); "" when no row. 0 or -1. */
int sw_db_text(const char *db, const char *sql, const char *arg, char *out, size_t n);
/* The demo card with serial n of BIN bin (bin + 9 digits + Luhn). */
void sw_demo_pan(const char *bin, int serial, char out[20]);

/* Scans the files (relative to dir) for the needles, and in the pg suite the cluster's files
 * too (after checking that they do hold a value the switch stores: else the scan is blind).
 * The number of hits (0: none). */
int sw_scan(const char *dir, const char *const *files, size_t n_files, const char (*needles)[64],
            size_t n_needles);

/* Waits up to ms for needle to appear in file path (a log line: an event). 0 or -1. */
int sw_wait_log(const char *path, const char *needle, int ms);

#endif
