/* Test harness for the platform's integration tests: runs the real `paygate platform` binary
 * on a random loopback port with a temp data dir, a test merchant that signs its requests
 * with an Ed25519 key and checks the platform's signed answers, and an in-process notify
 * endpoint (http/server.h) that records what it receives. */
#ifndef PAY_TESTS_PLATFORM_HARNESS_H
#define PAY_TESTS_PLATFORM_HARNESS_H

#include "core/limits.h"
#include "crypto/sig.h"
#include "crypto/sign.h"
#include "http/server.h"
#include "lib/testdb.h" /* its own PostgreSQL database in the pg suite */

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

extern const char *h_paygate; /* the binary, from argv[1] */

struct h_platform {
    char dir[256];
    char url[128];
    pid_t pid;
    char db[PAY_DATABASE_MAX + 1];  /* <dir>/platform.db, or a PostgreSQL URL in the pg suite */
    uint8_t pk[PAY_ED25519_PK_LEN]; /* the platform's key, from the well-known URL */
};

struct h_merchant {
    char id[33];
    struct pay_ed25519_key key;
};

/* A reply, with its signature already checked (sig_ok). */
struct h_reply {
    long status;
    json_t *json; /* parsed body, NULL if not JSON; freed by h_reply_fini */
    char *body;
    bool sig_ok;
    bool replayed;        /* Idempotent-Replayed: true */
    char retry_after[16]; /* the Retry-After header, "" when none */
};
void h_reply_fini(struct h_reply *r);
/* error.code of a reply, or "" */
const char *h_err_code(const struct h_reply *r);
const char *h_str(json_t *o, const char *path); /* "a.b" lookup of a string, or "" */

/* Creates the data dir and config (extra_ini appended), adds merchants "m_a" and "m_b"
 * (notify host 127.0.0.1), fills keys into ma/mb. Does not start the server. */
void h_setup(struct h_platform *pf, struct h_merchant *ma, struct h_merchant *mb,
             const char *extra_ini);
void h_start(struct h_platform *pf);
void h_stop(struct h_platform *pf, int sig); /* SIGTERM or SIGKILL; waits */
void h_teardown(struct h_platform *pf);      /* removes the dir */
/* Stops the platform (SIGTERM, must exit 0), asserts `paygate ledger verify` finds no
 * violation in its database, then removes the dir. */
void h_teardown_verified(struct h_platform *pf);
int h_run(const char *const *argv); /* runs the binary, returns exit status */
/* Runs an offline `paygate platform ...` command (argv as for h_run) on pf's database: adds
 * --database pf->db. Its exit status. */
int h_run_pf(const struct h_platform *pf, const char *const *argv);
/* How often needle occurs in what the platform wrote of its database: platform.db and its WAL,
 * or in the pg suite every file of the cluster (tables, indexes, WAL; tests/lib/testdb.h). */
size_t h_count_in_db(const struct h_platform *pf, const char *needle);
/* `paygate platform consumer add` on the data dir (login, password, payment password);
 * asserts it succeeded. */
void h_add_consumer(struct h_platform *pf, const char *login, const char *password,
                    const char *pay_password);
/* `paygate platform wallet credit`: credits amount ("10.00") to the consumer's wallet;
 * asserts it succeeded. */
void h_wallet_credit(struct h_platform *pf, const char *login, const char *amount);

/* A signed call. body may be NULL (GET). idem may be NULL (no header). */
void h_call(struct h_platform *pf, const struct h_merchant *m, const char *method,
            const char *target, const char *body, const char *idem, struct h_reply *out);
/* h_call that does not assert an answer came: false (out zeroed) when the connection failed
 * (the node is gone); calls from other threads than the test's use this one. */
bool h_call_try(struct h_platform *pf, const struct h_merchant *m, const char *method,
                const char *target, const char *body, const char *idem, struct h_reply *out);
/* Same, with a raw Authorization header (or NULL: unsigned) instead of signing. */
void h_call_raw(struct h_platform *pf, const char *method, const char *target, const char *body,
                const char *auth, const char *idem, const char *req_nonce, struct h_reply *out);
/* Same as h_call_raw with another Content-Type (NULL: none at all). */
void h_call_typed(struct h_platform *pf, const char *method, const char *target, const char *ctype,
                  const char *body, const char *auth, const char *idem, const char *req_nonce,
                  struct h_reply *out);
/* POST /v1/trades with this out_trade_no and amount; asserts 201; returns the trade id
 * (static buffer, copy it). */
const char *h_create_trade(struct h_platform *pf, const struct h_merchant *m, const char *otn,
                           const char *amount, const char *notify_url);

/* A field of the trade as GET /v1/trades/{id} answers it ("state", "pay_method"; "" when none;
 * static buffer, copy it). */
const char *h_trade_field(struct h_platform *pf, const struct h_merchant *m, const char *trade_id,
                          const char *field);

/* Waits up to ms until the trade has notifications and the platform records every one as
 * delivered (it does so after the merchant's answer: an event to poll for, with a deadline).
 * true when they are. */
bool h_notifications_delivered(struct h_platform *pf, const struct h_merchant *m,
                               const char *trade_id, int ms);

/* The notify endpoint: answers "success" after `fail_first` failures (HTTP 500). */
struct h_notify_sink {
    struct pay_http_server *srv;
    char url[128];
    const uint8_t *platform_pk;
    struct pay_nonce_cache *nonces; /* a retried notification has a fresh nonce */
    pthread_mutex_t mu;
    int fail_first;
    int hits;     /* requests received */
    int bad_sigs; /* requests whose Paygate-Signature did not verify */
    char ids[64][32];
    char *bodies[64]; /* their raw bodies (heap) */
    int n_ids;        /* notify ids of the successful answers, in order */
    char last_state[32];
};
void h_sink_start(struct h_notify_sink *s, const uint8_t *platform_pk, int fail_first);
void h_sink_stop(struct h_notify_sink *s);
/* Waits up to ms for at least n successful deliveries; returns the count. */
int h_sink_wait(struct h_notify_sink *s, int n, int ms);

/* A minimal browser over the platform (and a bank): keeps the platform's pf_csrf/pf_session
 * cookies and one bank cookie, the last page and its hidden csrf input. */
struct h_browser {
    char csrf_cookie[128]; /* pf_csrf */
    char session[128];     /* pf_session */
    char bank_cookie[256]; /* name=value of the bank's last Set-Cookie */
    char last_csrf[128];   /* from the last page's hidden csrf input */
    char device[128];      /* pf_device: the device cookie risk control gave this browser */
    long status;
    char *page; /* the last page; heap, freed by h_browser_fini and the next request */
};
/* One request to url (form: a urlencoded body or NULL) with the platform's cookies, or the
 * bank's when to_bank; updates the cookies, status, page and last_csrf. Asserts transport
 * success. */
void h_browser_req(struct h_browser *b, const char *method, const char *url, const char *form,
                   bool to_bank);
void h_browser_fini(struct h_browser *b); /* frees the page */
/* A wallet or cashier form of pf posted like a browser: path on pf's URL, the last page's csrf
 * input plus fields ("a=1&b=2", escaped). */
void h_pf_post(const struct h_platform *pf, struct h_browser *b, const char *path,
               const char *fields);
/* GET path on pf's URL; asserts 200. */
void h_pf_get(const struct h_platform *pf, struct h_browser *b, const char *path);

/* Parallel posts: every shot is prepared (url, urlencoded form, "Cookie: ..." header or ""),
 * then h_fire_all sends them all at once (one thread each, released together by a barrier)
 * and fills in each answer's status and the start of its page. Asserts every one was sent. */
struct h_shot {
    char url[256], form[512], cookie[400];
    long status;
    char page[8192];
    bool sent;
    pthread_barrier_t *start; /* set by h_fire_all */
};
void h_fire_all(struct h_shot *shots, int n);

/* One step of a bank's B2C pages: POSTs the csrf of the last bank page (and field=value
 * unless field is NULL) to bank_url + path with the bank's cookie; asserts 200. */
void h_bank_step(struct h_browser *b, const char *bank_url, const char *path, const char *field,
                 const char *value);
/* The newest sandbox SMS code the bank at bank_url sent to phone; asserts there is one. */
void h_bank_sms_code(const char *bank_url, const char *phone, char out[7]);

/* Pays trade_id on the cashier by wallet balance as a browser would (GET, log in, pay);
 * returns the final HTTP status. */
long h_cashier_pay_wallet(struct h_platform *pf, const char *trade_id, const char *login,
                          const char *password, const char *pay_password);

/* The same on the phone's page a scanned QR code opens (/m/pay): the trade is paid "qr". */
long h_qr_pay_wallet(struct h_platform *pf, const char *trade_id, const char *login,
                     const char *password, const char *pay_password);

/* Logs in on /wallet; returns the session cookie value (static buffer) or "" on failure. */
const char *h_wallet_login(struct h_platform *pf, const char *login, const char *password);
/* GET /wallet with that session: 1 when the page shows a logged-in wallet, else 0. */
int h_wallet_logged_in(struct h_platform *pf, const char *session);

/* The ledger in the (stopped) platform's database, for balance checks (ledger_view.c):
 * opens the store into *s; close both with h_ledger_close. Asserts success. */
struct pay_store;
struct pay_ledger;
struct pay_ledger *h_ledger_open(struct h_platform *pf, struct pay_store **s);
void h_ledger_close(struct pay_store *s, struct pay_ledger *lg);
/* debits_posted - credits_posted of account id; 0 when there is no such account. */
int64_t h_ledger_debit_balance(struct pay_ledger *lg, const char *id);

/* Platform ledger verification on the platform's database: `paygate ledger verify`'s exit
 * status (0 = clean). */
size_t h_ledger_verify(struct h_platform *pf);

#endif
