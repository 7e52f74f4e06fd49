/* Model test: a seeded random sequence of ledger operations (creates, duplicates, conflicting
 * duplicates, pendings, posts, voids, timeouts, linked chains, overdraft attempts, closes,
 * bad input) applied both to the ledger and to a plain in-memory reference model written
 * independently here; every result and every final balance must match. The seed is printed
 * on failure; rerun with PAYGATE_MODEL_SEED=<seed> (default: a fixed seed; "random" draws one).
 * PAYGATE_MODEL_OPS overrides the count.
 * It runs twice: with the default account cache and with one so small that it evicts after
 * nearly every transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "ledger/ledger.h"
#include "lib/harness.h"
#include "lib/testdb.h"

#define N_ACCTS 48
#define MAX_T   400000

/* --- the reference model ------------------------------------------------------------------ */

struct m_acct {
    bool exists;
    char currency[4];
    int32_t code;
    uint32_t flags;
    char owner[PAY_LEDGER_ID_MAX + 1];
    int64_t bal[4]; /* dp, dpo, cp, cpo */
};

struct m_tr {
    bool exists;
    int debit, credit; /* account indexes */
    int64_t amount;    /* resolved */
    char currency[4];
    int32_t code;
    uint32_t flags;
    int pending; /* index or -1 */
    uint32_t timeout_s;
    char user_data[PAY_LEDGER_ID_MAX + 1];
    int64_t created_ms;
    uint32_t resolved; /* pendings: flags of the resolution, 0 if none */
};

struct model {
    struct m_acct a[N_ACCTS];
    struct m_tr *t;
    int n_t;     /* next fresh transfer index */
    int64_t now; /* fake clock, ms */
    /* chain journal */
    struct m_acct snap[N_ACCTS];
    int journal[64];
    int n_journal;
    int resolved_journal[64];
    int n_resolved_journal;
};

static struct model M;
#define DEFAULT_SEED 20261206ULL
static unsigned long long seed;
static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int pick(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static int acct_index(const char *id)
{
    if (id[0] != 'a')
        return -1;
    long i = strtol(id + 1, NULL, 10);
    return i >= 0 && i < N_ACCTS ? (int)i : -1;
}

static int tr_index(const char *id)
{
    if (id[0] != 't' || id[1] < '0' || id[1] > '9')
        return -1;
    long i = strtol(id + 1, NULL, 10);
    return i >= 0 && i < MAX_T ? (int)i : -1;
}

static bool currency_ok(const char *c)
{
    return strlen(c) == 3 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' &&
           c[2] >= 'A' && c[2] <= 'Z';
}

static enum pay_ledger_result m_create_account(const struct pay_ledger_account *w)
{
    int i = acct_index(w->id);
    if (!currency_ok(w->currency))
        return PAY_LEDGER_CURRENCY_INVALID;
    if ((w->flags & ~3u) || (w->flags & 3u) == 3u)
        return PAY_LEDGER_FLAGS_INVALID;
    struct m_acct *a = &M.a[i];
    if (a->exists) {
        if ((a->flags & ~(uint32_t)PAY_LEDGER_AF_CLOSED) != w->flags)
            return PAY_LEDGER_EXISTS_WITH_DIFFERENT_FLAGS;
        if (strcmp(a->currency, w->currency))
            return PAY_LEDGER_EXISTS_WITH_DIFFERENT_CURRENCY;
        if (a->code != w->code)
            return PAY_LEDGER_EXISTS_WITH_DIFFERENT_CODE;
        if (strcmp(a->owner, w->owner))
            return PAY_LEDGER_EXISTS_WITH_DIFFERENT_OWNER;
        return PAY_LEDGER_EXISTS;
    }
    *a = (struct m_acct){.exists = true, .code = w->code, .flags = w->flags};
    memcpy(a->currency, w->currency, 4);
    snprintf(a->owner, sizeof a->owner, "%s", w->owner);
    return PAY_LEDGER_OK;
}

#define RESOLVE (PAY_LEDGER_TF_POST_PENDING | PAY_LEDGER_TF_VOID_PENDING)

static enum pay_ledger_result m_static(const struct pay_ledger_transfer *w)
{
    uint32_t kind = w->flags & (PAY_LEDGER_TF_PENDING | RESOLVE);
    if ((w->flags & ~15u) || (kind & (kind - 1)))
        return PAY_LEDGER_FLAGS_INVALID;
    bool resolve = kind & RESOLVE;
    if (resolve && !w->pending_id[0])
        return PAY_LEDGER_PENDING_ID_REQUIRED;
    if (!resolve && w->pending_id[0])
        return PAY_LEDGER_PENDING_ID_MUST_BE_EMPTY;
    if (w->timeout_s && kind != PAY_LEDGER_TF_PENDING)
        return PAY_LEDGER_TIMEOUT_RESERVED_FOR_PENDING;
    if (w->amount_minor < 0 || (!resolve && w->amount_minor == 0))
        return PAY_LEDGER_AMOUNT_MUST_BE_POSITIVE;
    if (w->amount_minor > 10000000000000LL)
        return PAY_LEDGER_AMOUNT_TOO_LARGE;
    if (w->debit_account_id[0] && !strcmp(w->debit_account_id, w->credit_account_id))
        return PAY_LEDGER_ACCOUNTS_MUST_DIFFER;
    if ((!resolve || w->currency[0]) && !currency_ok(w->currency))
        return PAY_LEDGER_CURRENCY_INVALID;
    return PAY_LEDGER_OK;
}

static const char *acct_name(int i, char *buf)
{
    snprintf(buf, 8, "a%d", i);
    return buf;
}

static enum pay_ledger_result m_compare(const struct m_tr *h, const struct pay_ledger_transfer *w)
{
    bool resolve = w->flags & RESOLVE;
    char b[8];
    if (h->flags != w->flags)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_FLAGS;
    char pid[16] = "";
    if (h->pending >= 0)
        snprintf(pid, sizeof pid, "t%d", h->pending);
    if (strcmp(pid, w->pending_id))
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_PENDING_ID;
    if ((!resolve || w->debit_account_id[0]) && strcmp(acct_name(h->debit, b), w->debit_account_id))
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT;
    if ((!resolve || w->credit_account_id[0]) &&
        strcmp(acct_name(h->credit, b), w->credit_account_id))
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT;
    int64_t amt = w->amount_minor;
    if (resolve && amt == 0)
        amt = M.t[h->pending].amount;
    if (h->amount != amt)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_AMOUNT;
    if ((!resolve || w->currency[0]) && strcmp(h->currency, w->currency))
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_CURRENCY;
    if (h->code != w->code)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_CODE;
    if (h->timeout_s != w->timeout_s)
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_TIMEOUT;
    if (strcmp(h->user_data, w->user_data))
        return PAY_LEDGER_EXISTS_WITH_DIFFERENT_USER_DATA;
    return PAY_LEDGER_EXISTS;
}

static void m_record(int ti, const struct pay_ledger_transfer *w, int d, int c, int64_t amt,
                     const char *cur, int pending)
{
    struct m_tr *t = &M.t[ti];
    *t = (struct m_tr){.exists = true,
                       .debit = d,
                       .credit = c,
                       .amount = amt,
                       .code = w->code,
                       .flags = w->flags,
                       .pending = pending,
                       .timeout_s = w->timeout_s,
                       .created_ms = M.now};
    memcpy(t->currency, cur, 4);
    snprintf(t->user_data, sizeof t->user_data, "%s", w->user_data);
    if (M.n_journal < 64)
        M.journal[M.n_journal++] = ti;
}

static enum pay_ledger_result m_new(const struct pay_ledger_transfer *w, int ti)
{
    int d = acct_index(w->debit_account_id), c = acct_index(w->credit_account_id);
    if (d < 0 || !M.a[d].exists)
        return PAY_LEDGER_DEBIT_ACCOUNT_NOT_FOUND;
    if (c < 0 || !M.a[c].exists)
        return PAY_LEDGER_CREDIT_ACCOUNT_NOT_FOUND;
    struct m_acct *da = &M.a[d], *ca = &M.a[c];
    if (strcmp(da->currency, w->currency) || strcmp(ca->currency, w->currency))
        return PAY_LEDGER_CURRENCY_MISMATCH;
    if ((da->flags | ca->flags) & PAY_LEDGER_AF_CLOSED)
        return PAY_LEDGER_ACCOUNT_CLOSED;
    int64_t amt = w->amount_minor;
    if ((da->flags & 1) && da->bal[0] + da->bal[1] + amt > da->bal[3])
        return PAY_LEDGER_EXCEEDS_CREDITS;
    if ((ca->flags & 2) && ca->bal[2] + ca->bal[3] + amt > ca->bal[1])
        return PAY_LEDGER_EXCEEDS_DEBITS;
    bool pending = w->flags & PAY_LEDGER_TF_PENDING;
    da->bal[pending ? 0 : 1] += amt;
    ca->bal[pending ? 2 : 3] += amt;
    m_record(ti, w, d, c, amt, w->currency, -1);
    return PAY_LEDGER_OK;
}

static enum pay_ledger_result m_resolve_check(const struct pay_ledger_transfer *w, int pi)
{
    const struct m_tr *p = &M.t[pi];
    char b[8];
    if (!(p->flags & PAY_LEDGER_TF_PENDING))
        return PAY_LEDGER_PENDING_TRANSFER_NOT_PENDING;
    if (w->debit_account_id[0] && strcmp(w->debit_account_id, acct_name(p->debit, b)))
        return PAY_LEDGER_PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT;
    if (w->credit_account_id[0] && strcmp(w->credit_account_id, acct_name(p->credit, b)))
        return PAY_LEDGER_PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT;
    if (w->currency[0] && strcmp(w->currency, p->currency))
        return PAY_LEDGER_PENDING_TRANSFER_HAS_DIFFERENT_CURRENCY;
    if (p->resolved & PAY_LEDGER_TF_POST_PENDING)
        return PAY_LEDGER_PENDING_TRANSFER_ALREADY_POSTED;
    if (p->resolved & PAY_LEDGER_TF_VOID_PENDING)
        return PAY_LEDGER_PENDING_TRANSFER_ALREADY_VOIDED;
    if (p->resolved & PAY_LEDGER_TF_EXPIRED)
        return PAY_LEDGER_PENDING_TRANSFER_EXPIRED;
    if (p->timeout_s && M.now >= p->created_ms + (int64_t)p->timeout_s * 1000)
        return PAY_LEDGER_PENDING_TRANSFER_EXPIRED;
    if ((w->flags & PAY_LEDGER_TF_POST_PENDING) && w->amount_minor > p->amount)
        return PAY_LEDGER_EXCEEDS_PENDING_AMOUNT;
    if ((w->flags & PAY_LEDGER_TF_VOID_PENDING) && w->amount_minor && w->amount_minor != p->amount)
        return PAY_LEDGER_PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT;
    return PAY_LEDGER_OK;
}

static void m_release(int pi, uint32_t how, int64_t posted)
{
    struct m_tr *p = &M.t[pi];
    M.a[p->debit].bal[0] -= p->amount;
    M.a[p->credit].bal[2] -= p->amount;
    M.a[p->debit].bal[1] += posted;
    M.a[p->credit].bal[3] += posted;
    p->resolved = how;
    if (M.n_resolved_journal < 64)
        M.resolved_journal[M.n_resolved_journal++] = pi;
}

static enum pay_ledger_result m_transfer(const struct pay_ledger_transfer *w)
{
    enum pay_ledger_result r = m_static(w);
    if (r != PAY_LEDGER_OK)
        return r;
    int ti = tr_index(w->id);
    if (M.t[ti].exists)
        return m_compare(&M.t[ti], w);
    if (!(w->flags & RESOLVE))
        return m_new(w, ti);
    int pi = tr_index(w->pending_id);
    if (pi < 0 || !M.t[pi].exists)
        return PAY_LEDGER_PENDING_TRANSFER_NOT_FOUND;
    if ((r = m_resolve_check(w, pi)) != PAY_LEDGER_OK)
        return r;
    struct m_tr *p = &M.t[pi];
    bool post = w->flags & PAY_LEDGER_TF_POST_PENDING;
    int64_t amt = post && w->amount_minor ? w->amount_minor : p->amount;
    int d = p->debit, c = p->credit;
    char cur[4];
    memcpy(cur, p->currency, 4);
    m_release(pi, w->flags & RESOLVE, post ? amt : 0);
    m_record(ti, w, d, c, amt, cur, pi);
    return PAY_LEDGER_OK;
}

/* Applies n transfers with the ledger's chain rules. */
static void m_transfers(const struct pay_ledger_transfer *w, size_t n, enum pay_ledger_result *res)
{
    for (size_t i = 0; i < n; i++) {
        if (!(w[i].flags & PAY_LEDGER_TF_LINKED)) {
            res[i] = m_transfer(&w[i]);
            continue;
        }
        size_t j = i;
        while (j < n && (w[j].flags & PAY_LEDGER_TF_LINKED))
            j++;
        if (j == n) {
            for (size_t k = i; k < n; k++)
                res[k] = PAY_LEDGER_LINKED_EVENT_FAILED;
            res[n - 1] = PAY_LEDGER_LINKED_EVENT_CHAIN_OPEN;
            return;
        }
        memcpy(M.snap, M.a, sizeof M.a);
        M.n_journal = M.n_resolved_journal = 0;
        size_t failed = SIZE_MAX;
        for (size_t k = i; k <= j && failed == SIZE_MAX; k++) {
            res[k] = m_transfer(&w[k]);
            if (res[k] != PAY_LEDGER_OK && res[k] != PAY_LEDGER_EXISTS)
                failed = k;
        }
        if (failed != SIZE_MAX) {
            memcpy(M.a, M.snap, sizeof M.a);
            for (int k = 0; k < M.n_journal; k++)
                M.t[M.journal[k]].exists = false;
            for (int k = 0; k < M.n_resolved_journal; k++)
                M.t[M.resolved_journal[k]].resolved = 0;
            for (size_t k = i; k <= j; k++)
                if (k != failed)
                    res[k] = PAY_LEDGER_LINKED_EVENT_FAILED;
        }
        i = j;
    }
}

static size_t m_expire(void)
{
    size_t n = 0;
    for (int i = 0; i < M.n_t; i++) {
        struct m_tr *p = &M.t[i];
        if (p->exists && (p->flags & PAY_LEDGER_TF_PENDING) && p->timeout_s && !p->resolved &&
            p->created_ms + (int64_t)p->timeout_s * 1000 <= M.now) {
            m_release(i, PAY_LEDGER_TF_EXPIRED, 0);
            n++;
        }
    }
    return n;
}

/* --- the generator -------------------------------------------------------------------------- */

static const char *const currencies[] = {"CNY", "USD"};

static void gen_account(struct pay_ledger_account *a)
{
    memset(a, 0, sizeof *a);
    int i = pick(N_ACCTS);
    snprintf(a->id, sizeof a->id, "a%d", i);
    /* Stable attributes per index so most re-creations are plain duplicates. */
    memcpy(a->currency, currencies[i % 2], 4);
    a->flags = (uint32_t)(i % 3 == 0 ? 0 : i % 3 == 1 ? 1 : 2);
    a->code = i % 5;
    snprintf(a->owner, sizeof a->owner, "o%d", i % 7);
    int mutate = pick(20);
    if (mutate == 0)
        a->code++;
    else if (mutate == 1)
        a->flags = a->flags == 1 ? 0 : 1;
    else if (mutate == 2)
        memcpy(a->currency, currencies[(i + 1) % 2], 4);
    else if (mutate == 3)
        memcpy(a->currency, "usd", 4);
}

static int existing_tr(void)
{
    return M.n_t ? pick(M.n_t) : 0;
}

/* Recently attempted pending transfers (some failed or were rolled back: NOT_FOUND). */
static int pend_ring[256];
static int n_pend;

static int existing_pending(void)
{
    if (n_pend == 0 || pick(20) == 0)
        return existing_tr();
    int n = n_pend < 256 ? n_pend : 256;
    return pend_ring[pick(n)];
}

static void gen_plain(struct pay_ledger_transfer *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "t%d", M.n_t++);
    int cur = pick(2);
    int d = pick(N_ACCTS / 2) * 2 + cur, c = pick(N_ACCTS / 2) * 2 + cur;
    if (pick(30) == 0)
        c = pick(N_ACCTS); /* maybe another currency */
    snprintf(t->debit_account_id, sizeof t->debit_account_id, "a%d", d);
    snprintf(t->credit_account_id, sizeof t->credit_account_id, "a%d", c);
    memcpy(t->currency, currencies[cur], 4);
    t->amount_minor = pick(10) == 0 ? 1 + pick(1000000) : 1 + pick(1000);
    t->code = pick(3);
    snprintf(t->user_data, sizeof t->user_data, pick(2) ? "trade%d" : "", pick(100));
    int kind = pick(12);
    if (kind == 0)
        t->amount_minor = 0;
    else if (kind == 1)
        t->pending_id[0] = 't';
    else if (kind == 2)
        t->timeout_s = 5;
    else if (kind == 3)
        memcpy(t->currency, "X1Z", 4);
}

static void gen_pending(struct pay_ledger_transfer *t)
{
    gen_plain(t);
    t->flags = PAY_LEDGER_TF_PENDING;
    t->pending_id[0] = 0;
    t->timeout_s = pick(3) == 0 ? (uint32_t)(1 + pick(20)) : 0;
    pend_ring[n_pend++ % 256] = tr_index(t->id);
}

static void gen_resolve(struct pay_ledger_transfer *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "t%d", M.n_t++);
    int pi = existing_pending();
    snprintf(t->pending_id, sizeof t->pending_id, "t%d", pi);
    t->flags = pick(2) ? PAY_LEDGER_TF_POST_PENDING : PAY_LEDGER_TF_VOID_PENDING;
    int64_t pa = M.t[pi].exists ? M.t[pi].amount : 100;
    int k = pick(6);
    t->amount_minor = k == 0 ? 0 : k == 1 ? pa : k == 2 ? pa + 1 : 1 + pick((int)(pa > 0 ? pa : 1));
    if (pick(5) == 0 && M.t[pi].exists) {
        snprintf(t->debit_account_id, sizeof t->debit_account_id, "a%d",
                 pick(8) ? M.t[pi].debit : pick(N_ACCTS));
        memcpy(t->currency, M.t[pi].currency, 4);
    }
    if (pick(40) == 0)
        t->pending_id[0] = 0;
}

/* A duplicate of an existing transfer, possibly with one field changed. */
static bool gen_duplicate(struct pay_ledger_transfer *t)
{
    int i = existing_tr();
    const struct m_tr *h = &M.t[i];
    if (!h->exists || (h->flags & PAY_LEDGER_TF_LINKED))
        return false;
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "t%d", i);
    snprintf(t->debit_account_id, sizeof t->debit_account_id, "a%d", h->debit);
    snprintf(t->credit_account_id, sizeof t->credit_account_id, "a%d", h->credit);
    memcpy(t->currency, h->currency, 4);
    t->amount_minor = h->amount;
    t->code = h->code;
    t->flags = h->flags;
    if (h->pending >= 0)
        snprintf(t->pending_id, sizeof t->pending_id, "t%d", h->pending);
    t->timeout_s = h->timeout_s;
    snprintf(t->user_data, sizeof t->user_data, "%s", h->user_data);
    switch (pick(8)) {
    case 0:
        t->amount_minor++;
        break;
    case 1:
        t->code++;
        break;
    case 2:
        snprintf(t->user_data, sizeof t->user_data, "other");
        break;
    case 3:
        snprintf(t->credit_account_id, sizeof t->credit_account_id, "a%d", pick(N_ACCTS));
        break;
    case 4:
        if (!t->timeout_s && !t->pending_id[0])
            t->flags ^= PAY_LEDGER_TF_PENDING;
        break;
    default:
        break; /* exact duplicate */
    }
    return true;
}

/* --- driving both ---------------------------------------------------------------------------- */

struct run {
    struct pay_ledger *lg;
    int ops_left, ops_done;
};

static unsigned long hist[PAY_LEDGER__RESULT_COUNT];
static unsigned long expired_total;

static void fail_result(const char *what, size_t k, int want, int got)
{
    fprintf(stderr, "model test: seed %llu: %s element %zu: model %s, ledger %s\n", seed, what, k,
            pay_ledger_result_name(want), pay_ledger_result_name(got));
    fail();
}

static enum pay_err do_transfers(struct pay_ledger *lg, struct pay_store_tx *tx,
                                 struct pay_ledger_transfer *t, size_t n)
{
    enum pay_ledger_result want[8], got[8];
    m_transfers(t, n, want);
    struct pay_error err;
    enum pay_err e = pay_ledger_tx_transfers(lg, tx, t, n, got, &err);
    if (e != PAY_ERR_OK)
        fprintf(stderr, "seed %llu: %s %s\n", seed, pay_err_name(e), err.detail);
    assert_int_equal(e, PAY_ERR_OK);
    for (size_t k = 0; k < n; k++)
        hist[got[k]]++;
    for (size_t k = 0; k < n; k++)
        if (want[k] != got[k])
            fail_result(t[k].id, k, want[k], got[k]);
    return e;
}

static void one_op(struct pay_ledger *lg, struct pay_store_tx *tx)
{
    struct pay_ledger_transfer t[8];
    struct pay_error err;
    int op = pick(100);
    if (op < 6) {
        struct pay_ledger_account a;
        gen_account(&a);
        enum pay_ledger_result want = m_create_account(&a), got;
        assert_int_equal(pay_ledger_tx_create_accounts(lg, tx, &a, 1, &got, &err), PAY_ERR_OK);
        if (want != got)
            fail_result(a.id, 0, want, got);
    } else if (op < 40) {
        gen_plain(&t[0]);
        do_transfers(lg, tx, t, 1);
    } else if (op < 55) {
        gen_pending(&t[0]);
        do_transfers(lg, tx, t, 1);
    } else if (op < 72) {
        gen_resolve(&t[0]);
        do_transfers(lg, tx, t, 1);
    } else if (op < 82) {
        if (gen_duplicate(&t[0]))
            do_transfers(lg, tx, t, 1);
    } else if (op < 94) {
        size_t n = 2 + (size_t)pick(3);
        for (size_t k = 0; k < n; k++) {
            int kind = pick(4);
            if (kind == 0)
                gen_pending(&t[k]);
            else if (kind == 1)
                gen_resolve(&t[k]);
            else
                gen_plain(&t[k]);
            t[k].flags |= PAY_LEDGER_TF_LINKED;
        }
        if (pick(10))
            t[n - 1].flags &= ~(uint32_t)PAY_LEDGER_TF_LINKED; /* else: chain left open */
        do_transfers(lg, tx, t, n);
    } else if (op < 97) {
        int64_t step = 1000 * (1 + pick(5));
        M.now += step; /* the model's clock and the ledger's (the test clock) move together */
        assert_int_equal(pay_clock_advance(step, NULL), PAY_ERR_OK);
    } else if (op < 99) {
        size_t got = 0, want = m_expire();
        assert_int_equal(pay_ledger_tx_expire(lg, tx, M.now, SIZE_MAX, &got, &err), PAY_ERR_OK);
        if (got != want)
            fail_result("expire", 0, (int)want, (int)got);
        expired_total += got;
    } else {
        int i = pick(N_ACCTS);
        char id[8];
        snprintf(id, sizeof id, "a%d", i);
        if (pick(4) == 0 && M.a[i].exists && (i == 9 || i == 20 || i == 33)) {
            enum pay_ledger_result got;
            assert_int_equal(pay_ledger_tx_close_account(lg, tx, id, &got, &err), PAY_ERR_OK);
            assert_int_equal(got, PAY_LEDGER_OK);
            M.a[i].flags |= PAY_LEDGER_AF_CLOSED;
        }
    }
}

static enum pay_err group_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)err;
    struct run *r = ctx;
    int n = 1 + pick(300);
    for (int i = 0; i < n && r->ops_left > 0; i++, r->ops_left--, r->ops_done++)
        one_op(r->lg, tx);
    return PAY_ERR_OK;
}

/* The model side of the initial accounts a0..a39 (a40..a47 stay uncreated: *_NOT_FOUND). */
static void fill_account(struct pay_ledger_account *a, int i)
{
    memset(a, 0, sizeof *a);
    snprintf(a->id, sizeof a->id, "a%d", i);
    memcpy(a->currency, currencies[i % 2], 4);
    a->flags = (uint32_t)(i % 3 == 0 ? 0 : i % 3 == 1 ? 1 : 2);
    a->code = i % 5;
    snprintf(a->owner, sizeof a->owner, "o%d", i % 7);
}

static void setup_accounts(void)
{
    for (int i = 0; i < 40; i++) {
        struct pay_ledger_account a;
        fill_account(&a, i);
        assert_int_equal(m_create_account(&a), PAY_LEDGER_OK);
    }
}

static enum pay_err create_all_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_ledger *lg = ctx;
    for (int i = 0; i < 40; i++) {
        struct pay_ledger_account a;
        fill_account(&a, i);
        enum pay_ledger_result got;
        enum pay_err e = pay_ledger_tx_create_accounts(lg, tx, &a, 1, &got, err);
        if (e == PAY_ERR_OK && got != PAY_LEDGER_OK)
            e = pay_error_set(err, PAY_ERR_INTERNAL, "", "%s", pay_ledger_result_name(got));
        if (e != PAY_ERR_OK)
            return e;
    }
    /* Unflagged a0 (CNY) and a3 (USD) credit the asset-like accounts (flag 1: debits <= credits).
     */
    for (int i = 0; i < 40; i++) {
        if (i % 3 != 1)
            continue;
        struct pay_ledger_transfer t = {0};
        snprintf(t.id, sizeof t.id, "t%d", M.n_t++);
        snprintf(t.debit_account_id, sizeof t.debit_account_id, "a%d", (i % 2) ? 3 : 0);
        snprintf(t.credit_account_id, sizeof t.credit_account_id, "a%d", i);
        memcpy(t.currency, currencies[i % 2], 4);
        t.amount_minor = 50000;
        do_transfers(lg, tx, &t, 1);
    }
    return PAY_ERR_OK;
}

/* cache_bytes: the ledger's account cache budget (0: the default). */
static void run_model(size_t cache_bytes)
{
    const char *env_seed = getenv("PAYGATE_MODEL_SEED");
    /* A fixed seed by default: `make test` never depends on which sequence it drew (this one
     * exercises every outcome below at both operation counts). PAYGATE_MODEL_SEED=random
     * explores new sequences; a failing seed is printed and can be replayed. */
    if (env_seed && strcmp(env_seed, "random") == 0)
        seed = (unsigned long long)time(NULL) ^ (unsigned long long)getpid();
    else
        seed = env_seed ? strtoull(env_seed, NULL, 10) : DEFAULT_SEED;
    rng_state = seed * 2654435761ULL + 1;
    int ops = 100000;
#if defined(__SANITIZE_ADDRESS__)
    ops = 20000; /* sanitizer builds are ~10x slower; the normal build runs the full count */
#endif
    if (getenv("PAYGATE_MODEL_OPS"))
        ops = (int)strtol(getenv("PAYGATE_MODEL_OPS"), NULL, 10);
    fprintf(stderr, "model test: seed %llu, %d operations\n", seed, ops);
    memset(&M, 0, sizeof M);
    memset(hist, 0, sizeof hist);
    expired_total = 0;
    M.t = calloc(MAX_T, sizeof *M.t);
    M.now = 1700000000000LL;
    pay_log_set_level(PAY_LOG_WARN); /* not a line per clock move */
    pay_clock_use_fake(M.now);
    char dir[256], file[300], path[300];
    assert_int_equal(th_tmpdir(dir, sizeof dir, "paygate-model"), 0);
    snprintf(file, sizeof file, "%s/ledger.db", dir);
    assert_int_equal(th_db_new("model", file, path, sizeof path), 0);
    const struct pay_store_component *schema[] = {&pay_ledger_schema, NULL};
    struct pay_store_options o = {.unsafe_no_sync = true};
    struct pay_store *s;
    struct pay_ledger *lg;
    assert_int_equal(pay_store_open(path, &o, schema, &s, NULL), PAY_ERR_OK);
    assert_int_equal(pay_ledger_new(s, &lg, NULL), PAY_ERR_OK);
    if (cache_bytes)
        pay_ledger_set_account_cache_bytes(lg, cache_bytes);
    setup_accounts();
    assert_int_equal(pay_store_run_tx(s, create_all_body, lg, NULL), PAY_ERR_OK);
    struct run r = {lg, ops, 0};
    while (r.ops_left > 0)
        assert_int_equal(pay_store_run_tx(s, group_body, &r, NULL), PAY_ERR_OK);
    assert_true(r.ops_done >= ops);
    /* Final balances, read back through the reader connections. */
    for (int i = 0; i < N_ACCTS; i++) {
        char id[8];
        snprintf(id, sizeof id, "a%d", i);
        struct pay_ledger_account a;
        bool found;
        assert_int_equal(pay_ledger_account_get(lg, id, &a, &found, NULL), PAY_ERR_OK);
        assert_int_equal(found, M.a[i].exists);
        if (!found)
            continue;
        int64_t got[4] = {a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted};
        for (int k = 0; k < 4; k++)
            if (got[k] != M.a[i].bal[k]) {
                fprintf(stderr,
                        "model test: seed %llu: %s balance %d: model %" PRId64 " ledger %" PRId64
                        "\n",
                        seed, id, k, M.a[i].bal[k], got[k]);
                fail();
            }
        assert_int_equal(a.flags, M.a[i].flags);
    }
    /* The sequence must have exercised every interesting outcome. */
    static const enum pay_ledger_result must[] = {PAY_LEDGER_OK,
                                                  PAY_LEDGER_EXISTS,
                                                  PAY_LEDGER_EXISTS_WITH_DIFFERENT_AMOUNT,
                                                  PAY_LEDGER_EXISTS_WITH_DIFFERENT_CODE,
                                                  PAY_LEDGER_EXISTS_WITH_DIFFERENT_USER_DATA,
                                                  PAY_LEDGER_EXISTS_WITH_DIFFERENT_FLAGS,
                                                  PAY_LEDGER_EXCEEDS_CREDITS,
                                                  PAY_LEDGER_EXCEEDS_DEBITS,
                                                  PAY_LEDGER_LINKED_EVENT_FAILED,
                                                  PAY_LEDGER_ACCOUNT_CLOSED,
                                                  PAY_LEDGER_PENDING_TRANSFER_ALREADY_POSTED,
                                                  PAY_LEDGER_PENDING_TRANSFER_ALREADY_VOIDED,
                                                  PAY_LEDGER_PENDING_TRANSFER_EXPIRED,
                                                  PAY_LEDGER_EXCEEDS_PENDING_AMOUNT,
                                                  PAY_LEDGER_ACCOUNTS_MUST_DIFFER,
                                                  PAY_LEDGER_CURRENCY_MISMATCH,
                                                  PAY_LEDGER_DEBIT_ACCOUNT_NOT_FOUND,
                                                  PAY_LEDGER_AMOUNT_MUST_BE_POSITIVE};
    for (int i = 0; i < PAY_LEDGER__RESULT_COUNT; i++)
        if (hist[i])
            fprintf(stderr, "  %-48s %lu\n", pay_ledger_result_name(i), hist[i]);
    fprintf(stderr, "  %-48s %lu\n", "(pending transfers expired)", expired_total);
    if (ops >= 20000) {
        for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
            assert_true(hist[must[i]] > 0);
        assert_true(expired_total > 0);
    }
    size_t violations = 99;
    assert_int_equal(pay_ledger_verify(s, stderr, &violations, NULL), PAY_ERR_OK);
    assert_int_equal(violations, 0);
    struct pay_ledger_cache_stats cs;
    pay_ledger_get_cache_stats(lg, &cs);
    fprintf(stderr, "  account cache: %lu hits, %lu loads, %lu evicted, %lu cleared\n",
            (unsigned long)cs.hits, (unsigned long)cs.loads, (unsigned long)cs.evicted,
            (unsigned long)cs.cleared);
    if (cache_bytes && ops >= 1000)
        assert_true(cs.evicted > 0); /* the small budget really evicted */
    pay_ledger_free(lg);
    pay_store_close(s);
    free(M.t);
    th_tmpdir_done(dir);
}

static void model_matches(void **state)
{
    (void)state;
    run_model(0);
}

/* The same with an account cache of ~2 KiB (about ten of the 48 accounts): nearly every
 * transaction ends by evicting, so every path reloads evicted accounts from the database. */
static void model_matches_with_a_small_account_cache(void **state)
{
    (void)state;
    run_model(2048);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_matches),
        cmocka_unit_test(model_matches_with_a_small_account_cache),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
