/* `paygate shop`: a small online store built only on libpaygate (src/sdk/paygate.h) for its
 * payments: catalogue, cart, checkout through the platform's cashier or a bank's online
 * banking, notification handlers that mark an order paid exactly once, an order page that
 * queries the platform when a notification is late, "my orders" and an admin page with
 * refunds. Storage is the store (src/store): shop.db in its data folder, or the [server]
 * database (a PostgreSQL URL). */
#ifndef PAY_SHOP_SHOP_H
#define PAY_SHOP_SHOP_H

#include "http/server.h"
#include "core/limits.h" /* PAY_PLATFORM_LOGISTICS_MAX: a shipment's fields, the platform's rule */
#include "sdk/paygate.h"
#include "store/store.h"

#include <stdint.h>

struct shop_product {
    const char *id;
    const char *name; /* English; translated where shown */
    int64_t price;    /* CNY minor units */
};

struct shop {
    struct pay_store *store; /* the orders */
    paygate_client *platform;
    paygate_bank *bank; /* NULL when the shop has no bank contract */
    paygate_seen_db *seen;
    char public_url[256];
    char platform_url[256];   /* where the shopper's wallet is (confirm receipt, after-sales) */
    char bank_name[64];       /* the shop's bank on its pages */
    char bank_name_en[64];    /* on English pages; "": bank_name */
    bool staff_from_anywhere; /* [shop] staff_from = any: staff pages for every client (else
                                 loopback clients only, docs/shop.md "Staff login") */
};

extern const struct shop_product shop_products[];
extern const size_t shop_n_products;

/* An order row. Its life (docs/shop.md):
 *   pending --paid--> paid --shipped--> shipped --receipt confirmed (escrow)--> received
 *   paid, shipped --refunded in full--> refunded  (partial refunds keep the state)
 *   cod --shipped--> shipped;  cod, shipped --cash collected--> received | --refused--> closed */
struct shop_order {
    char id[40];
    char sid[40];
    char items[512];
    int64_t amount;
    char method[12]; /* platform, escrow (担保交易 on the platform), bank, cod (货到付款) */
    char state[12];  /* pending, cod, paid, shipped, received, refunded, closed */
    char trade_id[40];
    int64_t refunded;
    int fulfilments; /* how many times the order was fulfilled: must end at 1 */
    char paid_via[12];
    int64_t created_at;
    char logistics_company[72]; /* the shipment ("" until shipped) */
    char tracking_no[72];
    int64_t shipped_at;
    int refunds; /* refunds made from the admin page: the next one's number is refunds + 1 */
};

/* Opens (creating, migrating) the orders' database: a path or a postgresql:// URL. 0, or -1
 * with *err filled. */
int shop_db_open(struct shop *s, const char *database, struct pay_error *err);
void shop_db_close(struct shop *s);
int shop_order_insert(struct shop *s, const struct shop_order *o);
int shop_order_get(struct shop *s, const char *id, struct shop_order *o); /* 0 or -1 */
/* Marks a pending order paid; 1 when this call did it (fulfil now), 0 when it was not pending. */
int shop_order_mark_paid(struct shop *s, const char *id, const char *trade_id, const char *via);
/* Refund number seq (refunds + 1) made from the admin page: refunded becomes total (what the
 * order has had back with it), the order refunded when that is all of it. 1 when this call
 * recorded it, 0 when refund seq was recorded already (or the order is not paid or shipped). */
int shop_order_refund_add(struct shop *s, const char *id, int seq, int64_t total);
/* What the platform says the order has had back (a refund notification): refunded only grows;
 * all of it makes the order refunded. 1 when it changed the order, else 0. */
int shop_order_refund_sync(struct shop *s, const char *id, int64_t total);
/* A paid order shipped (the shipment's fields already checked). 1 when this call did it. */
int shop_order_ship(struct shop *s, const char *id, const char *company, const char *tracking_no);
/* An escrow order whose buyer confirmed receipt (the platform's TRADE_FINISHED). 1 when this
 * call did it. */
int shop_order_received(struct shop *s, const char *id);
int shop_order_set_trade(struct shop *s, const char *id, const char *trade_id);
/* Orders of a session (sid) or all (sid NULL), newest first; calls fn for each. */
void shop_order_list(struct shop *s, const char *sid,
                     void (*fn)(void *ctx, const struct shop_order *o), void *ctx);

/* Cash on delivery and the books (shop_books.c). */
#define SHOP_BOOK_ACCOUNTS 3
extern const char *const shop_book_accounts[SHOP_BOOK_ACCOUNTS]; /* cod_receivable, cash, sales */
struct shop_book_entry {
    char order_id[40];
    char kind[12]; /* owed, collected, refused */
    char debit[16], credit[16];
    int64_t amount;
    int64_t created_at;
};
struct shop_books {
    int64_t balance[SHOP_BOOK_ACCOUNTS]; /* debits - credits, per shop_book_accounts */
    struct shop_book_entry entries[PAY_SHOP_BOOK_ENTRIES_MAX]; /* newest first */
    size_t n;
};
/* Stores a new COD order (o's id, sid, items, amount): it goes to fulfilment unpaid (state
 * cod), and the books owe its amount. 0, or -1 (its id taken, or the store failed). */
int shop_cod_place(struct shop *s, const struct shop_order *o);
/* The courier's record of a COD order's delivery: cash collected (the order received, the
 * cash booked) or refused (closed, nothing owed). 1 when this call recorded it, 0 when the
 * order is no COD order out for delivery (delivered already), -1 on a store failure. */
int shop_cod_deliver(struct shop *s, const char *id, bool collected);
/* The books: every account's balance, the newest entries. 0, or -1. Asserts they balance. */
int shop_books_read(struct shop *s, struct shop_books *b);

/* Staff: the people who log in to the shop's back office (shop_staff.c; docs/shop.md "Staff
 * login"). An admin may do everything, a courier only the courier page. Passwords are
 * Argon2id hashes (crypto/password.h); every login try is counted before its password is
 * checked (store/attempts.h: subject "staff:<login>", every unknown login sharing "staff:?"),
 * so parallel tries cannot pass PAY_LOCKOUT_ATTEMPTS. */
enum shop_role {
    SHOP_ROLE_ADMIN = 1, /* orders, refunds, shipping, books, and the courier page */
    SHOP_ROLE_COURIER,   /* the courier page only */
};
/* "admin" | "courier" <-> the enum (0 for anything else). */
enum shop_role shop_role_parse(const char *s);
const char *shop_role_name(enum shop_role r);
/* A logged-in member of staff, as a session gives it. */
struct shop_staff {
    char login[PAY_SHOP_LOGIN_MAX + 1];
    enum shop_role role;
    char csrf[PAY_SHOP_TOKEN_TEXT_MAX]; /* every form of the session carries it */
};
/* 1..PAY_SHOP_LOGIN_MAX of [a-z0-9._-]. */
bool shop_login_valid(const char *login);
/* Creates login, or gives it a new password and role (its sessions end), audited in the same
 * transaction (account_created or password_changed, from source: "cli", "start"). FIELD_INVALID
 * naming login, password (shorter than PAY_SHOP_PASSWORD_MIN or longer than PAY_PASSWORD_MAX)
 * or role. */
enum pay_err shop_staff_set(struct shop *s, const char *login, const char *password,
                            enum shop_role role, const char *source, struct pay_error *err);
/* How many accounts exist (into *n). */
enum pay_err shop_staff_count(struct shop *s, int64_t *n, struct pay_error *err);
/* Checks login + password, the try counted first, and opens a session: token_out is the
 * cookie's value, *who its member. CREDENTIALS_INVALID (its detail says how many tries are
 * left) or LOCKED (nothing checked). Audited with source (the client's address): login (with
 * the session), login_failed, lockout (the wrong try that locked it) or login_locked. */
enum pay_err shop_staff_login(struct shop *s, const char *login, const char *password,
                              const char *source, char token_out[PAY_SHOP_TOKEN_TEXT_MAX],
                              struct shop_staff *who, struct pay_error *err);
/* The member of a live session (used within PAY_SESSION_IDLE_S), touching it;
 * UNAUTHENTICATED otherwise. */
enum pay_err shop_staff_session(struct shop *s, const char *token, struct shop_staff *who,
                                struct pay_error *err);
/* Ends the session of token; audited as logout of login from source when it was live. */
void shop_staff_logout(struct shop *s, const char *token, const char *login, const char *source);

/* The staff's audit trail (shop_staff_audit.c; docs/shop.md "Staff audit trail"): one entry per
 * login, failed try, lockout, logout and password set; never a password. */
struct shop_staff_event {
    int64_t at_ms;
    char login[PAY_SHOP_LOGIN_MAX + 1]; /* the login (tried): "?" when not a valid login name */
    char action[24]; /* login, login_failed, lockout, login_locked, logout, account_created,
                      * password_changed */
    char source[64]; /* the client's address; "cli" (`paygate shop staff`); "start" */
    char detail[64]; /* "role=admin", "left=3" */
};
/* Appends an entry inside tx (the transaction of what it records). login: a valid login
 * (shop_login_valid), or "?" for a name tried that is none (never kept: it may be a password). */
enum pay_err shop_staff_audit_tx(struct pay_store_tx *tx, const char *login, const char *action,
                                 const char *source, const char *detail, struct pay_error *err);
/* The same in a transaction of its own (a refused login changes nothing else); a failure is
 * logged. */
void shop_staff_audit(struct shop *s, const char *login, const char *action, const char *source,
                      const char *detail);
/* The newest max entries, newest first, into out (*n of them). 0, or -1. */
int shop_staff_audit_read(struct shop *s, struct shop_staff_event *out, size_t max, size_t *n);
/* At start (cmd_shop_staff.c): a shop without any account makes login admin with a new
 * password, written to <data_dir>/shop-admin.txt (0600) and nowhere else. 0 or -1. */
int shop_staff_first(struct shop *s, const char *data_dir);
/* `paygate shop staff` (argv[0] "staff"): sets a login's password and role. Exit status. */
int shop_cmd_staff(int argc, char **argv);

/* The routes of every file (cmd_shop.c adds shop_pages.c's, shop_pay.c's, shop_admin.c's and
 * shop_courier.c's). */
enum pay_err shop_add_routes(struct shop *s, struct pay_http_server *srv, struct pay_error *err);

/* `paygate shop` (cmd_shop.c, linked into the paygate binary, src/cli): run the demo shop. Takes
 * the arguments after the command's name (argv[0] is it), handles --help, returns the exit status.
 */
int pay_cmd_shop(int argc, char **argv);

#endif
