/* Test harness for the bank's integration tests: runs the real `paygate bank` binary
 * (PAYGATE_BIN) on a random port with a temp data dir, plays the consumer's browser over
 * HTTP, and runs an in-process test merchant that signs orders and receives notifications. */
#ifndef PAY_TESTS_BANK_HARNESS_H
#define PAY_TESTS_BANK_HARNESS_H

#include "core/buf.h"
#include "core/limits.h"
#include "http/client.h"
#include "lib/harness.h" /* the shared part: processes, temp dirs, file scans */
#include "lib/testdb.h"  /* its own PostgreSQL database in the pg suite */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct bank_proc {
    char dir[256];
    char url[128];
    pid_t pid;
    char db[PAY_DATABASE_MAX + 1]; /* its database: <dir>/data/bank.db, or a PostgreSQL URL */
    /* " --database 'URL'" in the pg suite, else "": append it to every `paygate bank` command
     * on this bank's data dir */
    char db_flag[PAY_DATABASE_MAX + 20];
};

/* Runs `paygate <args>` (a shell-quoted string), stdout into out (may be NULL); exit status. */
int h_paygate(struct pay_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes a temp dir, adds merchant M1 (and M2), starts the bank with demo data. 0 or -1. */
int h_bank_start(struct bank_proc *b, const char *extra_args);
void h_bank_stop(struct bank_proc *b); /* SIGTERM and reap; the dir stays */
/* Done with the bank's temp dir: th_finish removes it (or keeps it; see lib/harness.h). 0. */
int h_bank_remove(const struct bank_proc *b);
/* `paygate ledger verify` on the bank's database: its exit status (0 = clean). */
int h_bank_ledger_verify(const struct bank_proc *b);
/* The secrets scan of what the bank wrote: the files (relative to its dir; its SQLite
 * database among them) and, in the pg suite, the cluster's files (tests/lib/testdb.h). */
size_t h_bank_scan(const struct bank_proc *b, const char *const *files, size_t n_files,
                   const char (*needles)[64], size_t n_needles);

/* The CVV2 of demo card pan, from `paygate bank demo-cards` (it depends on the bank's
 * cvv.key; the server itself prints no card data). 0, or -1 when there is no such card. */
int h_demo_cvv2(const struct bank_proc *b, const char *pan, char out[4]);
/* The bank's signing key from GET /api/v1/bank-key.pem; free with pay_rsa_key_free. NULL on
 * failure. */
struct pay_rsa_key *h_bank_signing_key(const struct bank_proc *b);
/* true when header (NULL: absent) is the bank's (keyId "test") valid Paygate-Signature of an
 * answer with status and body to the request whose nonce was request_nonce. */
bool h_bank_answer_signed(struct pay_rsa_key *key, const char *header, long status,
                          const char *request_nonce, const void *body, size_t len);
/* A customer (name, phone) with a debit card of their own, card password 123456, issued with
 * `paygate bank customer add` and `card add` (--fast-hash); its number into pan. 0 or -1. */
int h_issue_card(const struct bank_proc *b, const char *name, const char *phone, char pan[20]);

/* Copies tmpl into out (n bytes), each "{name}" replaced by the value of that name in
 * vars, a NULL-terminated list of name, value pairs ({"acct", "acct_01...", NULL}); a
 * "{...}" not in vars is copied as it is. The table tests' requests are written so. */
void h_fill(const char *tmpl, const char *const *vars, char *out, size_t n);

/* One HTTP exchange; status, body and the session cookie (updated from Set-Cookie). */
struct h_resp {
    long status;
    char *body; /* heap; free with h_resp_fini */
    int64_t elapsed_ms;
};
void h_resp_fini(struct h_resp *r);
int h_post(const char *url, const char *form, char *cookie, size_t cookie_n, const char *referer,
           struct h_resp *r);
int h_get(const char *url, struct h_resp *r);
/* Copies the value of the hidden csrf field of a page; -1 when none. */
int h_csrf(const char *html, char *out, size_t n);
/* The newest sandbox SMS code sent to phone; -1 when none. */
int h_sms_code(const struct bank_proc *b, const char *phone, char out[7]);

/* The test merchant: signs orders with <dir>/<mer>/merchant.{key,crt}; receives
 * notifications at <url>/notify and answers per mode. */
enum h_mode { H_OK, H_ERROR, H_SLOW };
int h_merchant_start(const struct bank_proc *b);
void h_merchant_stop(void);
void h_merchant_mode(enum h_mode m);
int h_merchant_notified(void);       /* notifications received with a valid signature */
int h_merchant_bad_signatures(void); /* received with an invalid one */
const char *h_merchant_url(void);
/* The gateway form body for an order (JSON text of the document). mer is "M1" etc. */
char *h_order_form(const struct bank_proc *b, const char *mer, const char *doc_json,
                   bool tamper_amount);
/* Pays an HS order of mer through the gateway's pages as a consumer would (order form with
 * the shop.test Referer, card pan, password 123456, the SMS code sent to phone, confirm);
 * needs h_merchant_start. 0 when the result page says the payment succeeded, else -1. */
int h_b2c_pay(const struct bank_proc *b, const char *mer, const char *order_id, int64_t amount,
              const char *pan, const char *phone);
/* A standard order document for mer/order id/amount/notify type; heap. */
char *h_order_doc(const struct bank_proc *b, const char *mer, const char *order_id, int64_t amount,
                  const char *notify_type, const char *mer_url);

#endif
