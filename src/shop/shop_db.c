/* The shop's orders, in the store (src/store: an SQLite file by default, or PostgreSQL): one
 * table under component "shop". The state changes that matter (pending -> paid) are single
 * conditional UPDATEs in their own write transaction, so a notification and a query racing
 * each other cannot both fulfil an order. */
#include "shop/shop.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIGRATION_3                                                                                \
    "ALTER TABLE orders ADD COLUMN logistics_company TEXT NOT NULL DEFAULT '';"                    \
    "ALTER TABLE orders ADD COLUMN tracking_no TEXT NOT NULL DEFAULT '';"                          \
    "ALTER TABLE orders ADD COLUMN shipped_at BIGINT NOT NULL DEFAULT 0;"                          \
    "ALTER TABLE orders ADD COLUMN refunds BIGINT NOT NULL DEFAULT 0"

/* Cash on delivery's books (shop_books.c): a journal of balanced entries. */
#define MIGRATION_4                                                                                \
    "CREATE TABLE books(id TEXT PRIMARY KEY, order_id TEXT NOT NULL, kind TEXT NOT NULL,"          \
    " debit TEXT NOT NULL, credit TEXT NOT NULL, amount BIGINT NOT NULL CHECK(amount > 0),"        \
    " created_at BIGINT NOT NULL, seq BIGINT NOT NULL);"                                           \
    "CREATE INDEX books_seq ON books(seq)"

/* Staff accounts, their sessions and the attempt guard of their logins (shop_staff.c). */
#define MIGRATION_5                                                                                \
    "CREATE TABLE staff(login TEXT PRIMARY KEY, password_hash TEXT NOT NULL,"                      \
    " role TEXT NOT NULL, created_at BIGINT NOT NULL);"                                            \
    "CREATE TABLE staff_sessions(token_hash TEXT PRIMARY KEY, login TEXT NOT NULL,"                \
    " csrf TEXT NOT NULL, created_ms BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL);"              \
    "CREATE TABLE staff_attempts(subject TEXT PRIMARY KEY, seq BIGINT NOT NULL DEFAULT 0,"         \
    " forgiven_seq BIGINT NOT NULL DEFAULT 0, lock_seq BIGINT NOT NULL DEFAULT 0,"                 \
    " locked_until_ms BIGINT NOT NULL DEFAULT 0)"

/* The staff's audit trail (shop_staff_audit.c): logins, failed tries, lockouts, logouts and
 * passwords set, never a password. */
#define MIGRATION_6                                                                                \
    "CREATE TABLE staff_audit(seq BIGINT NOT NULL, at_ms BIGINT NOT NULL, login TEXT NOT NULL,"    \
    " action TEXT NOT NULL, source TEXT NOT NULL, detail TEXT NOT NULL);"                          \
    "CREATE INDEX staff_audit_seq ON staff_audit(seq)"

static const struct pay_store_migration migrations[] = {
    /* As the shop made it before it used the store (IF NOT EXISTS: such a file upgrades). */
    {1, "CREATE TABLE IF NOT EXISTS orders(id TEXT PRIMARY KEY, sid TEXT NOT NULL,"
        " items TEXT NOT NULL, amount BIGINT NOT NULL CHECK(amount > 0),"
        " method TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
        " trade_id TEXT NOT NULL DEFAULT '', refunded BIGINT NOT NULL DEFAULT 0,"
        " fulfilments BIGINT NOT NULL DEFAULT 0, paid_via TEXT NOT NULL DEFAULT"
        " '', created_at BIGINT NOT NULL)"},
    /* Newest first by an explicit sequence (it was SQLite's rowid). */
    {2, "ALTER TABLE orders ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;"
        "UPDATE orders SET seq = rowid;"
        "CREATE INDEX orders_seq ON orders(seq)"},
    /* Shipping and partial refunds (docs/shop.md). */
    {3, MIGRATION_3},
    {4, MIGRATION_4},
    {5, MIGRATION_5},
    {6, MIGRATION_6},
};
/* PostgreSQL has no rowid (and no old rows). */
static const struct pay_store_migration migrations_pg[] = {
    {1, NULL},
    {2, "ALTER TABLE orders ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;"
        "CREATE INDEX orders_seq ON orders(seq)"},
    {3, MIGRATION_3},
    {4, MIGRATION_4},
    {0, NULL},
};
static const struct pay_store_component shop_schema = {
    .name = "shop",
    .migrations = migrations,
    .count = sizeof migrations / sizeof migrations[0],
    .pg = migrations_pg,
};

int shop_db_open(struct shop *s, const char *database, struct pay_error *err)
{
    const struct pay_store_component *comps[] = {&shop_schema, NULL};
    struct pay_store_options o = {.readers = 2};
    return pay_store_open(database, &o, comps, &s->store, err) == PAY_ERR_OK ? 0 : -1;
}

void shop_db_close(struct shop *s)
{
    pay_store_close(s->store);
    s->store = NULL;
}

/* One write statement: what it does and its parameters. */
struct write {
    enum { W_INSERT, W_PAID, W_REFUND_ADD, W_REFUND_SYNC, W_TRADE, W_SHIP, W_RECEIVED } op;
    const char *t[4];
    int64_t i, seq;
    int changes;
};

static enum pay_err write_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct write *w = ctx;
    enum pay_err e = PAY_ERR_INTERNAL;
    switch (w->op) {
    case W_INSERT: /* seq: newest first in the lists (writers are serialised by the store) */
        e = pay_store_exec(tx, err,
                           "INSERT INTO orders(id, sid, items, amount, method, created_at, seq)"
                           " VALUES ($1, $2, $3, $4, $5, $6,"
                           " (SELECT coalesce(max(seq), 0) + 1 FROM orders))",
                           "tttiti", w->t[0], w->t[1], w->t[2], w->i, w->t[3],
                           pay_clock_now_ms() / 1000);
        break;
    case W_PAID:
        e = pay_store_exec(tx, err,
                           "UPDATE orders SET state = 'paid', fulfilments = fulfilments + 1,"
                           " paid_via = $1, trade_id = CASE WHEN $2 = '' THEN trade_id ELSE $2 END"
                           " WHERE id = $3 AND state = 'pending'",
                           "ttt", w->t[0], w->t[1], w->t[2]);
        break;
    case W_REFUND_ADD: /* $3: the refund's number; refunded never shrinks (a notification
                          of this very refund may have raised it first) */
        e = pay_store_exec(tx, err,
                           "UPDATE orders SET refunds = $3,"
                           " refunded = CASE WHEN refunded < $1 THEN $1 ELSE refunded END,"
                           " state = CASE WHEN $1 >= amount THEN 'refunded' ELSE state END"
                           " WHERE id = $2 AND refunds = $3 - 1 AND state IN ('paid', 'shipped')",
                           "iti", w->i, w->t[0], w->seq);
        break;
    case W_REFUND_SYNC:
        e = pay_store_exec(tx, err,
                           "UPDATE orders SET refunded = $1,"
                           " state = CASE WHEN $1 >= amount THEN 'refunded' ELSE state END"
                           " WHERE id = $2 AND refunded < $1"
                           " AND state IN ('paid', 'shipped', 'received')",
                           "it", w->i, w->t[0]);
        break;
    case W_SHIP:
        e = pay_store_exec(tx, err,
                           "UPDATE orders SET state = 'shipped', logistics_company = $1,"
                           " tracking_no = $2, shipped_at = $3 WHERE id = $4"
                           " AND state IN ('paid', 'cod')",
                           "ttit", w->t[0], w->t[1], pay_clock_now_ms() / 1000, w->t[2]);
        break;
    case W_RECEIVED:
        e = pay_store_exec(tx, err,
                           "UPDATE orders SET state = 'received' WHERE id = $1"
                           " AND state IN ('paid', 'shipped')",
                           "t", w->t[0]);
        break;
    case W_TRADE:
        e = pay_store_exec(tx, err, "UPDATE orders SET trade_id = $1 WHERE id = $2", "tt", w->t[0],
                           w->t[1]);
        break;
    }
    w->changes = e == PAY_ERR_OK ? (int)pay_store_changes(tx) : -1;
    return e;
}

/* Returns the rows changed, or -1. */
static int run_write(struct shop *s, struct write *w)
{
    struct pay_error err = {0};
    return pay_store_run_tx(s->store, write_body, w, &err) == PAY_ERR_OK ? w->changes : -1;
}

int shop_order_insert(struct shop *s, const struct shop_order *o)
{
    struct write w = {.op = W_INSERT, .t = {o->id, o->sid, o->items, o->method}, .i = o->amount};
    return run_write(s, &w) == 1 ? 0 : -1;
}

/* An order: pending until paid (once), shipped, received (escrow), or refunded in full. */
static const struct pay_state_move order_moves[] = {
    {"pending", "paid"},  {"paid", "shipped"},     {"shipped", "received"},  {"paid", "received"},
    {"paid", "refunded"}, {"shipped", "refunded"}, {"received", "refunded"}, {"cod", "shipped"},
    {"cod", "received"},  {"cod", "closed"},       {"shipped", "closed"},
};

int shop_order_mark_paid(struct shop *s, const char *id, const char *trade_id, const char *via)
{
    PAY_ASSERT(pay_state_move_legal(order_moves, PAY_STATE_MOVES(order_moves), "pending", "paid"));
    struct write w = {.op = W_PAID, .t = {via, trade_id, id}};
    return run_write(s, &w);
}

int shop_order_refund_add(struct shop *s, const char *id, int seq, int64_t total)
{
    PAY_ASSERT(pay_state_move_legal(order_moves, PAY_STATE_MOVES(order_moves), "paid", "refunded"));
    PAY_ASSERT_MSG(total > 0 && seq > 0, "order %s", id);
    struct write w = {.op = W_REFUND_ADD, .t = {id}, .i = total, .seq = seq};
    return run_write(s, &w);
}

int shop_order_refund_sync(struct shop *s, const char *id, int64_t total)
{
    PAY_ASSERT_MSG(total >= 0, "order %s", id);
    struct write w = {.op = W_REFUND_SYNC, .t = {id}, .i = total};
    return total > 0 ? run_write(s, &w) : 0;
}

int shop_order_ship(struct shop *s, const char *id, const char *company, const char *tracking_no)
{
    PAY_ASSERT(pay_state_move_legal(order_moves, PAY_STATE_MOVES(order_moves), "paid", "shipped"));
    PAY_ASSERT(strlen(company) <= PAY_PLATFORM_LOGISTICS_MAX &&
               strlen(tracking_no) <= PAY_PLATFORM_LOGISTICS_MAX);
    struct write w = {.op = W_SHIP, .t = {company, tracking_no, id}};
    return run_write(s, &w);
}

int shop_order_received(struct shop *s, const char *id)
{
    PAY_ASSERT(
        pay_state_move_legal(order_moves, PAY_STATE_MOVES(order_moves), "shipped", "received"));
    struct write w = {.op = W_RECEIVED, .t = {id}};
    return run_write(s, &w);
}

int shop_order_set_trade(struct shop *s, const char *id, const char *trade_id)
{
    struct write w = {.op = W_TRADE, .t = {trade_id, id}};
    return run_write(s, &w);
}

static void row(struct pay_store_stmt *st, struct shop_order *o)
{
#define COL(i, f) pay_store_col_copy(st, i, o->f, sizeof o->f)
    memset(o, 0, sizeof *o);
    COL(0, id);
    COL(1, sid);
    COL(2, items);
    o->amount = pay_store_col_int64(st, 3);
    COL(4, method);
    COL(5, state);
    COL(6, trade_id);
    o->refunded = pay_store_col_int64(st, 7);
    o->fulfilments = (int)pay_store_col_int64(st, 8);
    COL(9, paid_via);
    o->created_at = pay_store_col_int64(st, 10);
    COL(11, logistics_company);
    COL(12, tracking_no);
    o->shipped_at = pay_store_col_int64(st, 13);
    o->refunds = (int)pay_store_col_int64(st, 14);
#undef COL
}

#define COLS                                                                                       \
    "id, sid, items, amount, method, state, trade_id, refunded, fulfilments, paid_via, "           \
    "created_at,"                                                                                  \
    " logistics_company, tracking_no, shipped_at, refunds"

/* Reads up to cap rows of sql (one text parameter, or none when arg is NULL) into rows. */
struct read {
    const char *sql, *arg;
    struct shop_order *rows;
    int cap, n;
};

static enum pay_err read_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct read *r = ctx;
    struct pay_store_stmt *st = r->arg ? pay_store_query(tx, err, r->sql, "t", r->arg)
                                       : pay_store_query(tx, err, r->sql, NULL);
    if (!st)
        return err->code;
    int rc = 0;
    r->n = 0;
    while (r->n < r->cap && (rc = pay_store_step(st, err)) == 1)
        row(st, &r->rows[r->n++]);
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

int shop_order_get(struct shop *s, const char *id, struct shop_order *o)
{
    struct read r = {"SELECT " COLS " FROM orders WHERE id = $1", id, o, 1, 0};
    struct pay_error err = {0};
    return pay_store_run_read(s->store, read_body, &r, &err) == PAY_ERR_OK && r.n == 1 ? 0 : -1;
}

void shop_order_list(struct shop *s, const char *sid,
                     void (*fn)(void *ctx, const struct shop_order *o), void *ctx)
{
    struct read r = {sid ? "SELECT " COLS " FROM orders WHERE sid = $1 ORDER BY seq DESC LIMIT 100"
                         : "SELECT " COLS " FROM orders ORDER BY seq DESC LIMIT 100",
                     sid, calloc(100, sizeof *r.rows), 100, 0};
    struct pay_error err = {0};
    if (r.rows && pay_store_run_read(s->store, read_body, &r, &err) == PAY_ERR_OK)
        for (int i = 0; i < r.n; i++) /* outside the transaction: fn may query */
            fn(ctx, &r.rows[i]);
    free(r.rows);
}
