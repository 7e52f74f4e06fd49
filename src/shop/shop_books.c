/* Cash on delivery (货到付款) and the shop's books (docs/shop.md "Cash on delivery"): a COD
 * order goes to fulfilment unpaid; the courier records the delivery, cash collected or
 * refused. The books are a journal in the shop's store: each row one balanced entry (an amount
 * debited to one account and credited to another), written in the same transaction as the
 * order's state change it records, once (its id is the order's and the event's):
 *
 *   placed (goes out unpaid)   debit cod_receivable   credit sales            COD owed
 *   delivered, cash collected  debit cash             credit cod_receivable   collected
 *   refused                    debit sales            credit cod_receivable   nothing owed
 *
 * so cod_receivable is what couriers owe for parcels out, cash what they collected. */
#include "shop/shop.h"

#include "core/assertions.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const shop_book_accounts[SHOP_BOOK_ACCOUNTS] = {"cod_receivable", "cash", "sales"};

static enum pay_err book(struct pay_store_tx *tx, const char *order_id, const char *kind,
                         const char *debit, const char *credit, int64_t amount,
                         struct pay_error *err)
{
    PAY_ASSERT_MSG(amount > 0 && strcmp(debit, credit) != 0, "book %s %s", order_id, kind);
    char id[64]; /* one entry per order and event: a second one is refused by the key */
    snprintf(id, sizeof id, "%.39s:%.12s", order_id, kind);
    return pay_store_exec(tx, err,
                          "INSERT INTO books(id, order_id, kind, debit, credit, amount, created_at,"
                          " seq) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                          " (SELECT coalesce(max(seq), 0) + 1 FROM books))",
                          "tttttii", id, order_id, kind, debit, credit, amount,
                          pay_clock_now_ms() / 1000);
}

struct place {
    const struct shop_order *o;
};

static enum pay_err place_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const struct shop_order *o = ((struct place *)ctx)->o;
    enum pay_err e = pay_store_exec(
        tx, err,
        "INSERT INTO orders(id, sid, items, amount, method, state, fulfilments, paid_via,"
        " created_at, seq) VALUES ($1, $2, $3, $4, 'cod', 'cod', 1, 'cod', $5,"
        " (SELECT coalesce(max(seq), 0) + 1 FROM orders))",
        "tttii", o->id, o->sid, o->items, o->amount, pay_clock_now_ms() / 1000);
    return e == PAY_ERR_OK ? book(tx, o->id, "owed", "cod_receivable", "sales", o->amount, err) : e;
}

int shop_cod_place(struct shop *s, const struct shop_order *o)
{
    PAY_ASSERT_MSG(o->amount > 0, "order %s", o->id);
    struct pay_error err = {0};
    struct place p = {o};
    return pay_store_run_tx(s->store, place_body, &p, &err) == PAY_ERR_OK ? 0 : -1;
}

struct deliver {
    const char *id;
    bool collected;
    int changed;
};

static enum pay_err deliver_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct deliver *d = ctx;
    d->changed = 0;
    struct pay_store_stmt *st = pay_store_query(tx, err,
                                                "SELECT amount FROM orders WHERE id = $1 AND "
                                                "method = 'cod' AND state IN ('cod', 'shipped')",
                                                "t", d->id);
    if (!st)
        return err->code;
    int rc = pay_store_step(st, err);
    int64_t amount = rc == 1 ? pay_store_col_int64(st, 0) : 0;
    pay_store_done(st);
    if (rc != 1) /* delivered already, or no such COD order: nothing changes */
        return rc < 0 ? err->code : PAY_ERR_OK;
    enum pay_err e = pay_store_exec(tx, err,
                                    "UPDATE orders SET state = $1, paid_via = $2 WHERE id = $3"
                                    " AND state IN ('cod', 'shipped')",
                                    "ttt", d->collected ? "received" : "closed",
                                    d->collected ? "cash" : "cod", d->id);
    if (e == PAY_ERR_OK)
        e = d->collected ? book(tx, d->id, "collected", "cash", "cod_receivable", amount, err)
                         : book(tx, d->id, "refused", "sales", "cod_receivable", amount, err);
    d->changed = e == PAY_ERR_OK;
    return e;
}

int shop_cod_deliver(struct shop *s, const char *id, bool collected)
{
    struct deliver d = {id, collected, 0};
    struct pay_error err = {0};
    return pay_store_run_tx(s->store, deliver_body, &d, &err) == PAY_ERR_OK ? d.changed : -1;
}

struct read_books {
    struct shop_books *b;
};

/* Adds amount to the balance of account (debit: +, credit: -) when it is one of the books'. */
static enum pay_err post_to(struct shop_books *b, const char *account, int64_t amount)
{
    for (size_t i = 0; i < SHOP_BOOK_ACCOUNTS; i++)
        if (strcmp(account, shop_book_accounts[i]) == 0)
            return pay_money_add(b->balance[i], amount, &b->balance[i]);
    return PAY_ERR_OK;
}

/* The accounts' balances (sums per debit and credit pair) and the newest entries. */
static enum pay_err books_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct shop_books *b = ((struct read_books *)ctx)->b;
    memset(b, 0, sizeof *b);
    struct pay_store_stmt *st = pay_store_query(
        tx, err,
        "SELECT debit, credit, CAST(sum(amount) AS BIGINT) FROM books GROUP BY debit, credit",
        NULL);
    int rc = st ? 0 : -1;
    enum pay_err e = PAY_ERR_OK;
    while (st && e == PAY_ERR_OK && (rc = pay_store_step(st, err)) == 1) {
        int64_t sum = pay_store_col_int64(st, 2);
        e = post_to(b, pay_store_col_text(st, 0), sum);
        if (e == PAY_ERR_OK)
            e = post_to(b, pay_store_col_text(st, 1), -sum);
    }
    pay_store_done(st);
    if (rc < 0 || e != PAY_ERR_OK)
        return rc < 0 ? err->code : pay_error_set(err, e, "", "the books' sums overflow");
    st = pay_store_query(tx, err,
                         "SELECT order_id, kind, debit, credit, amount, created_at FROM books"
                         " ORDER BY seq DESC LIMIT $1",
                         "i", (int64_t)PAY_SHOP_BOOK_ENTRIES_MAX);
    if (!st)
        return err->code;
    while (b->n < PAY_SHOP_BOOK_ENTRIES_MAX && (rc = pay_store_step(st, err)) == 1) {
        struct shop_book_entry *en = &b->entries[b->n++];
        pay_store_col_copy(st, 0, en->order_id, sizeof en->order_id);
        pay_store_col_copy(st, 1, en->kind, sizeof en->kind);
        pay_store_col_copy(st, 2, en->debit, sizeof en->debit);
        pay_store_col_copy(st, 3, en->credit, sizeof en->credit);
        en->amount = pay_store_col_int64(st, 4);
        en->created_at = pay_store_col_int64(st, 5);
    }
    pay_store_done(st);
    return rc < 0 ? err->code : PAY_ERR_OK;
}

int shop_books_read(struct shop *s, struct shop_books *b)
{
    struct read_books r = {b};
    struct pay_error err = {0};
    if (pay_store_run_read(s->store, books_body, &r, &err) != PAY_ERR_OK)
        return -1;
    int64_t sum = 0; /* debits equal credits: the balances cancel out */
    for (size_t i = 0; i < SHOP_BOOK_ACCOUNTS; i++)
        PAY_ASSERT(pay_money_add(sum, b->balance[i], &sum) == PAY_ERR_OK);
    PAY_ASSERT_MSG(sum == 0, "the shop's books do not balance: %lld", (long long)sum);
    return 0;
}
