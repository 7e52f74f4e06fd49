/* The shop's orders on the store: an order is paid once however often the notification and the
 * query race to mark it; lists come newest first; a shop.db made before the shop used the store
 * (no schema_migrations, ordered by rowid) upgrades with its orders in order; the staff's
 * accounts, login tries and sessions. On SQLite, and
 * in the pg suite on PostgreSQL (the upgrade is SQLite's alone). */
#include "lib/tmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/password.h"
#include "lib/testdb.h"
#include "shop/shop.h"

static char dir[256], db[600];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-shopdb"), 0);
    char file[320];
    snprintf(file, sizeof file, "%s/shop.db", dir);
    return th_db_new("shop", file, db, sizeof db);
}

static int teardown(void **state)
{
    (void)state;
    return th_tmpdir_done(dir);
}

static void order(struct shop_order *o, const char *id, int64_t amount)
{
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", id);
    snprintf(o->sid, sizeof o->sid, "sess1");
    snprintf(o->items, sizeof o->items, "tea:1");
    snprintf(o->method, sizeof o->method, "platform");
    o->amount = amount;
}

struct listed {
    char ids[8][40];
    int n;
};

static void collect(void *ctx, const struct shop_order *o)
{
    struct listed *l = ctx;
    if (l->n < 8)
        snprintf(l->ids[l->n++], sizeof l->ids[0], "%s", o->id);
}

static void paid_once_newest_first(void **state)
{
    (void)state;
    struct shop s = {0};
    struct pay_error err = {0};
    assert_int_equal(shop_db_open(&s, db, &err), 0);
    struct shop_order o;
    order(&o, "o1", 1200);
    assert_int_equal(shop_order_insert(&s, &o), 0);
    assert_int_equal(shop_order_insert(&s, &o), -1); /* the id is taken */
    order(&o, "o2", 300);
    assert_int_equal(shop_order_insert(&s, &o), 0);
    assert_int_equal(shop_order_mark_paid(&s, "o1", "T1", "notify"), 1);
    assert_int_equal(shop_order_mark_paid(&s, "o1", "T1", "query"), 0); /* already paid */
    assert_int_equal(shop_order_get(&s, "o1", &o), 0);
    assert_string_equal(o.state, "paid");
    assert_string_equal(o.trade_id, "T1");
    assert_string_equal(o.paid_via, "notify");
    assert_int_equal(o.fulfilments, 1);
    assert_int_equal(o.amount, 1200);
    assert_int_equal(shop_order_refund_add(&s, "o1", 1, 1200), 1);
    assert_int_equal(shop_order_get(&s, "o1", &o), 0);
    assert_string_equal(o.state, "refunded");
    assert_int_equal(o.refunds, 1);
    assert_int_equal(shop_order_get(&s, "nope", &o), -1);
    struct listed l = {0};
    shop_order_list(&s, "sess1", collect, &l);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.ids[0], "o2");
    assert_string_equal(l.ids[1], "o1");
    shop_db_close(&s);
}

/* Shipping, partial refunds counted once whichever of the admin's record and the platform's
 * notification comes first, receipt, and the moves that are refused. */
static void shipped_refunded_in_parts(void **state)
{
    (void)state;
    struct shop s = {0};
    struct pay_error err = {0};
    assert_int_equal(shop_db_open(&s, db, &err), 0);
    struct shop_order o;
    order(&o, "e1", 10000);
    assert_int_equal(shop_order_insert(&s, &o), 0);
    assert_int_equal(shop_order_ship(&s, "e1", "SF Express", "SF1"), 0); /* not paid */
    assert_int_equal(shop_order_refund_add(&s, "e1", 1, 100), 0);
    assert_int_equal(shop_order_mark_paid(&s, "e1", "T2", "notify"), 1);
    assert_int_equal(shop_order_ship(&s, "e1", "顺丰速运", "SF1234567890"), 1);
    assert_int_equal(shop_order_ship(&s, "e1", "EMS", "E2"), 0); /* shipped once */
    assert_int_equal(shop_order_get(&s, "e1", &o), 0);
    assert_string_equal(o.state, "shipped");
    assert_string_equal(o.logistics_company, "顺丰速运");
    assert_string_equal(o.tracking_no, "SF1234567890");
    assert_true(o.shipped_at > 0);
    /* refund 1 (30.00): the notification of it first, then the admin's record */
    assert_int_equal(shop_order_refund_sync(&s, "e1", 3000), 1);
    assert_int_equal(shop_order_refund_add(&s, "e1", 1, 3000), 1);
    assert_int_equal(shop_order_refund_add(&s, "e1", 1, 3000), 0); /* its form posted again */
    assert_int_equal(shop_order_refund_sync(&s, "e1", 3000), 0);   /* its notification again */
    assert_int_equal(shop_order_get(&s, "e1", &o), 0);
    assert_int_equal(o.refunded, 3000);
    assert_int_equal(o.refunds, 1);
    assert_string_equal(o.state, "shipped");
    /* refund 2 (20.00) recorded before its notification; an older notification changes nothing */
    assert_int_equal(shop_order_refund_add(&s, "e1", 2, 5000), 1);
    assert_int_equal(shop_order_refund_sync(&s, "e1", 3000), 0);
    assert_int_equal(shop_order_refund_sync(&s, "e1", 5000), 0);
    assert_int_equal(shop_order_get(&s, "e1", &o), 0);
    assert_int_equal(o.refunded, 5000);
    /* the buyer confirms receipt; then nothing more is shipped or refunded from the admin */
    assert_int_equal(shop_order_received(&s, "e1"), 1);
    assert_int_equal(shop_order_received(&s, "e1"), 0);
    assert_int_equal(shop_order_refund_add(&s, "e1", 3, 6000), 0);
    assert_int_equal(shop_order_get(&s, "e1", &o), 0);
    assert_string_equal(o.state, "received");
    /* a refund the platform made of all of it (an approved request) refunds the order */
    order(&o, "e2", 4500);
    assert_int_equal(shop_order_insert(&s, &o), 0);
    assert_int_equal(shop_order_mark_paid(&s, "e2", "T3", "notify"), 1);
    assert_int_equal(shop_order_refund_sync(&s, "e2", 4500), 1);
    assert_int_equal(shop_order_get(&s, "e2", &o), 0);
    assert_string_equal(o.state, "refunded");
    assert_int_equal(o.refunded, 4500);
    shop_db_close(&s);
}

static int64_t book_balance(struct shop *s, const char *account)
{
    struct shop_books *b = calloc(1, sizeof *b);
    assert_non_null(b);
    assert_int_equal(shop_books_read(s, b), 0); /* asserts the books balance */
    int64_t v = INT64_MIN;
    for (size_t i = 0; i < SHOP_BOOK_ACCOUNTS; i++)
        if (strcmp(shop_book_accounts[i], account) == 0)
            v = b->balance[i];
    free(b);
    return v;
}

/* Cash on delivery: placed unpaid and owed in the books, shipped, collected once; another
 * refused: closed, nothing owed; each entry written once whatever is posted twice. */
static void cash_on_delivery_books(void **state)
{
    (void)state;
    struct shop s = {0};
    struct pay_error err = {0};
    assert_int_equal(shop_db_open(&s, db, &err), 0);
    struct shop_order o;
    order(&o, "c1", 6800);
    assert_int_equal(shop_cod_place(&s, &o), 0);
    assert_int_equal(shop_cod_place(&s, &o), -1); /* the id is taken: nothing booked twice */
    order(&o, "c2", 4500);
    assert_int_equal(shop_cod_place(&s, &o), 0);
    assert_int_equal(shop_order_get(&s, "c1", &o), 0);
    assert_string_equal(o.state, "cod");
    assert_string_equal(o.method, "cod");
    assert_int_equal(o.fulfilments, 1); /* goes to fulfilment unpaid */
    assert_int_equal(book_balance(&s, "cod_receivable"), 11300);
    assert_int_equal(book_balance(&s, "sales"), -11300);
    assert_int_equal(book_balance(&s, "cash"), 0);
    assert_int_equal(shop_order_ship(&s, "c1", "顺丰速运", "SF9"), 1);
    assert_int_equal(shop_cod_deliver(&s, "c1", true), 1);
    assert_int_equal(shop_cod_deliver(&s, "c1", true), 0);  /* recorded once */
    assert_int_equal(shop_cod_deliver(&s, "c1", false), 0); /* and not refused after */
    assert_int_equal(shop_order_get(&s, "c1", &o), 0);
    assert_string_equal(o.state, "received");
    assert_string_equal(o.paid_via, "cash");
    assert_int_equal(book_balance(&s, "cod_receivable"), 4500);
    assert_int_equal(book_balance(&s, "cash"), 6800);
    assert_int_equal(shop_cod_deliver(&s, "c2", false), 1);
    assert_int_equal(shop_cod_deliver(&s, "c2", true), 0);
    assert_int_equal(shop_order_get(&s, "c2", &o), 0);
    assert_string_equal(o.state, "closed");
    assert_int_equal(book_balance(&s, "cod_receivable"), 0); /* nothing owed */
    assert_int_equal(book_balance(&s, "sales"), -6800);
    assert_int_equal(book_balance(&s, "cash"), 6800);
    /* an order paid online is no COD order */
    order(&o, "p1", 100);
    assert_int_equal(shop_order_insert(&s, &o), 0);
    assert_int_equal(shop_order_mark_paid(&s, "p1", "T", "notify"), 1);
    assert_int_equal(shop_cod_deliver(&s, "p1", true), 0);
    assert_int_equal(book_balance(&s, "cash"), 6800);
    shop_db_close(&s);
}

/* The audit trail of staff_logins_and_sessions, newest first: every account set, login, wrong
 * try (the name tried), lockout, locked try and logout, and never a password. */
static void staff_audit_as_done(struct shop *s)
{
    static const char *const want[][2] = {
        {"login", "courier1"},       {"login_failed", "courier1"}, {"password_changed", "courier1"},
        {"login_failed", "other"},   {"login_failed", "nobody"},   {"login", "courier1"},
        {"login_locked", "admin"},   {"lockout", "admin"},         {"login_failed", "admin"},
        {"login_failed", "admin"},   {"login_failed", "admin"},    {"login_failed", "admin"},
        {"logout", "courier1"},      {"login", "courier1"},        {"account_created", "courier1"},
        {"account_created", "admin"}};
    struct shop_staff_event ev[20];
    size_t n_ev = 0;
    assert_int_equal(shop_staff_audit_read(s, ev, 20, &n_ev), 0);
    assert_int_equal(n_ev, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n_ev; i++) {
        assert_string_equal(ev[i].action, want[i][0]);
        assert_string_equal(ev[i].login, want[i][1]);
        assert_string_equal(ev[i].source, i >= 14 || i == 2 ? "cli" : "127.0.0.1");
        assert_null(strstr(ev[i].detail, "long-enough"));
        assert_null(strstr(ev[i].detail, "wrong-password"));
        assert_true(ev[i].at_ms > 0 && (i == 0 || ev[i].at_ms <= ev[i - 1].at_ms));
    }
    assert_string_equal(ev[7].detail, "left=0");
    assert_string_equal(ev[8].detail, "left=1");
    assert_string_equal(ev[15].detail, "role=admin");
}

/* Accounts admin and courier1 made in an empty store; a bad login or password refused. */
static void staff_accounts_made(struct shop *s)
{
    struct pay_error err = {0};
    int64_t n = -1;
    assert_int_equal(shop_staff_count(s, &n, &err), PAY_ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(shop_staff_set(s, "Admin", "long-enough-1", SHOP_ROLE_ADMIN, "cli", &err),
                     PAY_ERR_FIELD_INVALID);
    assert_int_equal(shop_staff_set(s, "admin", "short", SHOP_ROLE_ADMIN, "cli", &err),
                     PAY_ERR_FIELD_INVALID);
    assert_string_equal(err.field, "password");
    assert_int_equal(shop_staff_set(s, "admin", "long-enough-1", SHOP_ROLE_ADMIN, "cli", &err),
                     PAY_ERR_OK);
    assert_int_equal(shop_staff_set(s, "courier1", "long-enough-2", SHOP_ROLE_COURIER, "cli", &err),
                     PAY_ERR_OK);
    assert_int_equal(shop_staff_count(s, &n, &err), PAY_ERR_OK);
    assert_int_equal(n, 2);
}

/* The staff (shop_staff.c): accounts as Argon2id hashes, replaced by a new password (its sessions
 * end); logins counted before their check: tries left on each wrong password, then locked, and
 * the right password refused while locked; unknown logins answer the same from one shared
 * counter; sessions with their CSRF token, ended by logout. */
static void staff_logins_and_sessions(void **state)
{
    (void)state;
    struct shop s = {0};
    struct pay_error err = {0};
    struct shop_staff who;
    char token[PAY_SHOP_TOKEN_TEXT_MAX], token2[PAY_SHOP_TOKEN_TEXT_MAX];
    assert_int_equal(shop_db_open(&s, db, &err), 0);
    staff_accounts_made(&s);
    /* right: a session of the courier, with its CSRF token */
    assert_int_equal(
        shop_staff_login(&s, "courier1", "long-enough-2", "127.0.0.1", token, &who, &err),
        PAY_ERR_OK);
    assert_int_equal(who.role, SHOP_ROLE_COURIER);
    assert_true(strlen(who.csrf) > 40 && strlen(token) > 40);
    char csrf[PAY_SHOP_TOKEN_TEXT_MAX];
    snprintf(csrf, sizeof csrf, "%s", who.csrf);
    assert_int_equal(shop_staff_session(&s, token, &who, &err), PAY_ERR_OK);
    assert_string_equal(who.login, "courier1");
    assert_string_equal(who.csrf, csrf);
    assert_int_equal(shop_staff_session(&s, "not-a-session", &who, &err), PAY_ERR_UNAUTHENTICATED);
    shop_staff_logout(&s, token, "courier1", "127.0.0.1");
    assert_int_equal(shop_staff_session(&s, token, &who, &err), PAY_ERR_UNAUTHENTICATED);
    /* wrong: the tries left, then the lock; the right password is then refused unchecked */
    for (int left = 4; left >= 1; left--) {
        assert_int_equal(
            shop_staff_login(&s, "admin", "wrong-password", "127.0.0.1", token, &who, &err),
            PAY_ERR_CREDENTIALS_INVALID);
        char want[64];
        snprintf(want, sizeof want, "; %d attempt%s left", left, left == 1 ? "" : "s");
        assert_non_null(strstr(err.detail, want));
    }
    assert_int_equal(
        shop_staff_login(&s, "admin", "wrong-password", "127.0.0.1", token, &who, &err),
        PAY_ERR_LOCKED);
    assert_int_equal(shop_staff_login(&s, "admin", "long-enough-1", "127.0.0.1", token, &who, &err),
                     PAY_ERR_LOCKED);
    /* the courier's count is its own; unknown logins share one that answers alike */
    assert_int_equal(
        shop_staff_login(&s, "courier1", "long-enough-2", "127.0.0.1", token, &who, &err),
        PAY_ERR_OK);
    assert_int_equal(
        shop_staff_login(&s, "nobody", "wrong-password", "127.0.0.1", token2, &who, &err),
        PAY_ERR_CREDENTIALS_INVALID);
    assert_non_null(strstr(err.detail, "; 4 attempts left"));
    assert_int_equal(
        shop_staff_login(&s, "other", "wrong-password", "127.0.0.1", token2, &who, &err),
        PAY_ERR_CREDENTIALS_INVALID);
    assert_non_null(strstr(err.detail, "; 3 attempts left"));
    /* a new password ends the login's sessions */
    assert_int_equal(shop_staff_session(&s, token, &who, &err), PAY_ERR_OK);
    assert_int_equal(
        shop_staff_set(&s, "courier1", "long-enough-3", SHOP_ROLE_COURIER, "cli", &err),
        PAY_ERR_OK);
    assert_int_equal(shop_staff_session(&s, token, &who, &err), PAY_ERR_UNAUTHENTICATED);
    assert_int_equal(
        shop_staff_login(&s, "courier1", "long-enough-2", "127.0.0.1", token, &who, &err),
        PAY_ERR_CREDENTIALS_INVALID);
    assert_int_equal(
        shop_staff_login(&s, "courier1", "long-enough-3", "127.0.0.1", token, &who, &err),
        PAY_ERR_OK);
    staff_audit_as_done(&s);
    shop_db_close(&s);
}

/* SQLite only: the table as the shop made it itself, rows out of id order. */
static void old_file_upgrades(void **state)
{
    (void)state;
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(raw,
                     "CREATE TABLE IF NOT EXISTS orders(id TEXT PRIMARY KEY, sid TEXT NOT NULL,"
                     " items TEXT NOT NULL, amount INTEGER NOT NULL CHECK(amount > 0),"
                     " method TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
                     " trade_id TEXT NOT NULL DEFAULT '', refunded INTEGER NOT NULL DEFAULT 0,"
                     " fulfilments INTEGER NOT NULL DEFAULT 0, paid_via TEXT NOT NULL DEFAULT"
                     " '', created_at INTEGER NOT NULL);"
                     "INSERT INTO orders(id, sid, items, amount, method, created_at)"
                     " VALUES ('zz-first', 'sess1', 'tea:1', 100, 'bank', 1),"
                     " ('aa-second', 'sess1', 'tea:2', 200, 'platform', 1)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(raw);
    struct shop s = {0};
    struct pay_error err = {0};
    assert_int_equal(shop_db_open(&s, db, &err), 0);
    struct shop_order o;
    order(&o, "mm-third", 300);
    assert_int_equal(shop_order_insert(&s, &o), 0);
    struct listed l = {0};
    shop_order_list(&s, NULL, collect, &l);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.ids[0], "mm-third");
    assert_string_equal(l.ids[1], "aa-second");
    assert_string_equal(l.ids[2], "zz-first");
    assert_int_equal(shop_order_mark_paid(&s, "zz-first", "", "query"), 1);
    shop_db_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(paid_once_newest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(shipped_refunded_in_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(cash_on_delivery_books, setup, teardown),
        cmocka_unit_test_setup_teardown(staff_logins_and_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(old_file_upgrades, setup, teardown), /* SQLite only */
    };
    size_t n = sizeof tests / sizeof tests[0] - (th_db_is_pg() ? 1 : 0);
    if (pay_crypto_init() != 0)
        return 1;
    pay_pwhash_set_level(PAY_PWHASH_TEST_MIN); /* the staff's hashes: Argon2id's minimum */
    return th_finish(_cmocka_run_group_tests("shop orders", tests, n, NULL, NULL));
}
