/* The shop's orders in SQLite. One connection behind a mutex: the shop is small, and the
 * state changes that matter (pending -> paid) are single conditional UPDATEs, so a
 * notification and a query racing each other cannot both fulfil an order. */
#include "shop/shop.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/clock.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int shop_db_open(struct shop *s, const char *path)
{
    pthread_mutex_init(&s->mu, NULL);
    /* private: created 0600 before SQLite opens it (its -wal and -shm get the same mode) */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || close(fd) != 0)
        return -1;
    if (sqlite3_open(path, &s->db) != SQLITE_OK)
        return -1;
    sqlite3_busy_timeout(s->db, 5000);
    return sqlite3_exec(s->db,
                        "PRAGMA journal_mode=WAL;"
                        "CREATE TABLE IF NOT EXISTS orders(id TEXT PRIMARY KEY, sid TEXT NOT NULL,"
                        " items TEXT NOT NULL, amount INTEGER NOT NULL CHECK(amount > 0),"
                        " method TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
                        " trade_id TEXT NOT NULL DEFAULT '', refunded INTEGER NOT NULL DEFAULT 0,"
                        " fulfilments INTEGER NOT NULL DEFAULT 0, paid_via TEXT NOT NULL DEFAULT"
                        " '', created_at INTEGER NOT NULL)",
                        NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
}

void shop_db_close(struct shop *s)
{
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
}

/* Runs one statement with text/int parameters ("s" / "i" in types); returns changes or -1. */
static int exec(struct shop *s, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        for (int i = 0; types[i]; i++) {
            if (types[i] == 's')
                sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        }
        if (sqlite3_step(st) == SQLITE_DONE)
            rc = sqlite3_changes(s->db);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    va_end(ap);
    return rc;
}

int shop_order_insert(struct shop *s, const struct shop_order *o)
{
    return exec(s,
                "INSERT INTO orders(id, sid, items, amount, method, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                "sssisi", o->id, o->sid, o->items, o->amount, o->method,
                pay_clock_now_ms() / 1000) == 1
               ? 0
               : -1;
}

/* An order: pending until paid (once), then refunded (in full, once). */
static const struct pay_state_move order_moves[] = {
    {"pending", "paid"},
    {"paid", "refunded"},
};

int shop_order_mark_paid(struct shop *s, const char *id, const char *trade_id, const char *via)
{
    PAY_ASSERT(pay_state_move_legal(order_moves, PAY_STATE_MOVES(order_moves), "pending", "paid"));
    return exec(s,
                "UPDATE orders SET state = 'paid', fulfilments = fulfilments + 1, paid_via = ?,"
                " trade_id = CASE WHEN ? = '' THEN trade_id ELSE ? END"
                " WHERE id = ? AND state = 'pending'",
                "ssss", via, trade_id, trade_id, id);
}

int shop_order_set_refunded(struct shop *s, const char *id, int64_t refunded)
{
    PAY_ASSERT(pay_state_move_legal(order_moves, PAY_STATE_MOVES(order_moves), "paid", "refunded"));
    PAY_ASSERT_MSG(refunded > 0, "order %s", id);
    return exec(
        s, "UPDATE orders SET refunded = ?, state = 'refunded' WHERE id = ? AND state = 'paid'",
        "is", refunded, id);
}

int shop_order_set_trade(struct shop *s, const char *id, const char *trade_id)
{
    return exec(s, "UPDATE orders SET trade_id = ? WHERE id = ?", "ss", trade_id, id);
}

static void row(sqlite3_stmt *st, struct shop_order *o)
{
#define COL(i, f) pay_str_copy(o->f, sizeof o->f, (const char *)sqlite3_column_text(st, i))
    memset(o, 0, sizeof *o);
    COL(0, id);
    COL(1, sid);
    COL(2, items);
    o->amount = sqlite3_column_int64(st, 3);
    COL(4, method);
    COL(5, state);
    COL(6, trade_id);
    o->refunded = sqlite3_column_int64(st, 7);
    o->fulfilments = sqlite3_column_int(st, 8);
    COL(9, paid_via);
    o->created_at = sqlite3_column_int64(st, 10);
#undef COL
}

#define COLS                                                                                       \
    "id, sid, items, amount, method, state, trade_id, refunded, fulfilments, paid_via, created_at"

int shop_order_get(struct shop *s, const char *id, struct shop_order *o)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT " COLS " FROM orders WHERE id = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) {
            row(st, o);
            rc = 0;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void shop_order_list(struct shop *s, const char *sid,
                     void (*fn)(void *ctx, const struct shop_order *o), void *ctx)
{
    struct shop_order *rows = calloc(100, sizeof *rows);
    int n = 0;
    if (!rows)
        return;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    const char *sql = sid ? "SELECT " COLS
                            " FROM orders WHERE sid = ? ORDER BY rowid DESC LIMIT 100"
                          : "SELECT " COLS " FROM orders ORDER BY rowid DESC LIMIT 100";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sid)
            sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
        while (n < 100 && sqlite3_step(st) == SQLITE_ROW)
            row(st, &rows[n++]);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < n; i++) /* outside the lock: fn may query */
        fn(ctx, &rows[i]);
    free(rows);
}
