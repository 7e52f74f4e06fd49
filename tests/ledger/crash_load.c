/* Load process of the crash test. `crash_load load <db> <ack-log> <run> [<failed-file>]` submits
 * transfers (plain, linked pairs, generic callbacks) from 8 threads through the committer
 * forever and appends the id of every acknowledged transfer to <ack-log>, one line per id
 * written with a single write(2) after the committer answered; the driver kills it with
 * SIGKILL at random. <failed-file> is created at the first commit that fails: the event the
 * driver waits for after crashing the database server (the load has met the dead server).
 * `crash_load check <db> <ack-log>` then requires every acknowledged id to be stored exactly
 * once (ids are unique in the table and in the log) and prints the counts. */
#include "ledger/ledger.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS  8
#define ACCOUNTS 20

static struct pay_ledger *lg;
static struct pay_committer *committer;
static int ack_fd;
static const char *run_tag;
static const char *failed_file; /* NULL: not asked */

/* A commit failed: says so once, by creating failed_file. */
static void failed(void)
{
    static atomic_bool said;
    if (failed_file == NULL || atomic_exchange(&said, true))
        return;
    int fd = open(failed_file, O_WRONLY | O_CREAT, 0600);
    if (fd >= 0)
        close(fd);
}

static void ack(const char *id)
{
    char line[PAY_LEDGER_ID_MAX + 2];
    int n = snprintf(line, sizeof line, "%s\n", id);
    if (write(ack_fd, line, (size_t)n) != n)
        abort();
}

static enum pay_err generic_apply(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_ledger_transfer t = *(struct pay_ledger_transfer *)ctx;
    enum pay_ledger_result r;
    enum pay_err e = pay_ledger_tx_transfer(lg, tx, &t, &r, err);
    if (e == PAY_ERR_OK && r != PAY_LEDGER_OK)
        e = pay_error_set(err, PAY_ERR_BALANCE_INSUFFICIENT, "", "%s", pay_ledger_result_name(r));
    return e;
}

static void fill(struct pay_ledger_transfer *t, unsigned *seed, long th, unsigned long n, int k)
{
    memset(t, 0, sizeof *t);
    int from = rand_r(seed) % ACCOUNTS, to = (from + 1 + rand_r(seed) % (ACCOUNTS - 1)) % ACCOUNTS;
    snprintf(t->id, sizeof t->id, "%s-%ld-%lu-%d", run_tag, th, n, k);
    snprintf(t->debit_account_id, sizeof t->debit_account_id, "c%d", from);
    snprintf(t->credit_account_id, sizeof t->credit_account_id, "c%d", to);
    memcpy(t->currency, "EUR", 4);
    t->amount_minor = 1 + rand_r(seed) % 1000;
}

static void *worker(void *arg)
{
    long th = (long)arg;
    unsigned seed = (unsigned)getpid() * 31u + (unsigned)th;
    for (unsigned long n = 0;; n++) {
        struct pay_ledger_transfer t[2];
        enum pay_ledger_result r[2];
        int kind = (int)(n % 3);
        fill(&t[0], &seed, th, n, 0);
        enum pay_err e;
        if (kind == 0) {
            e = pay_committer_transfers(committer, t, 1, r, NULL);
            if (e == PAY_ERR_OK && r[0] == PAY_LEDGER_OK)
                ack(t[0].id);
        } else if (kind == 1) {
            fill(&t[1], &seed, th, n, 1);
            t[0].flags = PAY_LEDGER_TF_LINKED;
            e = pay_committer_transfers(committer, t, 2, r, NULL);
            if (e == PAY_ERR_OK && r[0] == PAY_LEDGER_OK && r[1] == PAY_LEDGER_OK) {
                ack(t[0].id);
                ack(t[1].id);
            }
        } else {
            e = pay_committer_submit(committer, generic_apply, &t[0], NULL);
            /* the generic callback refuses an overdraft itself: not a failed commit */
            if (e == PAY_ERR_OK)
                ack(t[0].id);
            else if (e == PAY_ERR_BALANCE_INSUFFICIENT)
                e = PAY_ERR_OK;
        }
        if (e != PAY_ERR_OK)
            failed();
    }
    return NULL;
}

static int open_ledger(const char *db, struct pay_store **s)
{
    const struct pay_store_component *schema[] = {&pay_ledger_schema, NULL};
    struct pay_error err;
    if (pay_store_open(db, NULL, schema, s, &err) != PAY_ERR_OK ||
        pay_ledger_new(*s, &lg, &err) != PAY_ERR_OK) {
        fprintf(stderr, "crash_load: open %s: %s\n", db, err.detail);
        return -1;
    }
    return 0;
}

static int load(const char *db, const char *log)
{
    struct pay_store *s;
    if (open_ledger(db, &s) != 0)
        return 2;
    ack_fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (ack_fd < 0 || pay_committer_start(lg, NULL, &committer, NULL) != PAY_ERR_OK)
        return 2;
    struct pay_ledger_account a[ACCOUNTS];
    enum pay_ledger_result r[ACCOUNTS];
    memset(a, 0, sizeof a);
    for (int i = 0; i < ACCOUNTS; i++) {
        snprintf(a[i].id, sizeof a[i].id, "c%d", i);
        memcpy(a[i].currency, "EUR", 4);
    }
    if (pay_committer_create_accounts(committer, a, ACCOUNTS, r, NULL) != PAY_ERR_OK)
        return 2;
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL); /* never: the driver kills us */
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check(const char *db, const char *log)
{
    struct pay_store *s;
    if (open_ledger(db, &s) != 0)
        return 2;
    FILE *f = fopen(log, "r");
    size_t n = 0, cap = 1024, missing = 0, dup = 0;
    char **ids = malloc(cap * sizeof *ids), line[256];
    while (f && fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n')
            continue;
        line[len - 1] = 0;
        if (n == cap)
            ids = realloc(ids, (cap *= 2) * sizeof *ids);
        ids[n++] = strdup(line);
        struct pay_ledger_transfer t;
        bool found = false;
        if (pay_ledger_transfer_get(lg, line, &t, &found, NULL) != PAY_ERR_OK || !found) {
            if (missing++ < 10)
                printf("MISSING acknowledged transfer %s\n", line);
        }
    }
    qsort(ids, n, sizeof *ids, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0 && dup++ < 10)
            printf("DUPLICATE acknowledgement %s\n", ids[i]);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    if (f)
        fclose(f);
    printf("crash check: %zu acknowledged, %zu missing, %zu acknowledged twice\n", n, missing, dup);
    pay_ledger_free(lg);
    pay_store_close(s);
    return missing || dup ? 1 : 0;
}

int main(int argc, char **argv)
{
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "load") == 0) {
        run_tag = argv[4];
        failed_file = argc == 6 ? argv[5] : NULL;
        return load(argv[2], argv[3]);
    }
    if (argc == 4 && strcmp(argv[1], "check") == 0)
        return check(argv[2], argv[3]);
    fprintf(stderr,
            "usage: crash_load load <db> <ack-log> <run> [<failed-file>] | check <db> <ack-log>\n");
    return 2;
}
