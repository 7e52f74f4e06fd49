/* bench/ledger: durable transfers per second through the committer with 64 submitting
 * threads, and two baselines on the same disk in the same run: one SQLite transaction per
 * transfer (synchronous=FULL) and a raw write+fdatasync loop. Prints all three and the ratios.
 * usage: bench_ledger [dir] [seconds] [transfers per command]   (defaults: /var/tmp 5 1) */
#include "ledger/ledger.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define THREADS     64
#define ACCOUNTS    1000
#define MAX_PER_CMD 64

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the whole process (all threads), seconds: robust against a busy machine. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of this process's thread named `name` (the committer names itself
 * pay-committer), from /proc; -1 if not found. */
static double thread_cpu_s(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    double cpu = -1;
    for (struct dirent *de; d && (de = readdir(d));) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = 0;
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        if (!open || !close || (size_t)(close - open - 1) != strlen(name) ||
            strncmp(open + 1, name, strlen(name)) != 0)
            continue;
        unsigned long ut = 0, st = 0; /* fields 14 and 15, after the state (field 3) */
        if (sscanf(close + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %lu", &ut, &st) == 2)
            cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    if (d)
        closedir(d);
    return cpu;
}

static struct pay_ledger *open_ledger(const char *path, struct pay_store **s)
{
    const struct pay_store_component *schema[] = {&pay_ledger_schema, NULL};
    struct pay_ledger *lg = NULL;
    struct pay_error err;
    unlink(path);
    if (pay_store_open(path, NULL, schema, s, &err) != PAY_ERR_OK ||
        pay_ledger_new(*s, NULL, NULL, &lg, &err) != PAY_ERR_OK) {
        fprintf(stderr, "bench: %s: %s\n", path, err.detail);
        exit(1);
    }
    return lg;
}

static void make_transfer(struct pay_ledger_transfer *t, const char *tag, long th, unsigned long n,
                          unsigned *seed)
{
    memset(t, 0, sizeof *t);
    int from = rand_r(seed) % ACCOUNTS, to = (from + 1 + rand_r(seed) % (ACCOUNTS - 1)) % ACCOUNTS;
    snprintf(t->id, sizeof t->id, "%s%ld-%lu", tag, th, n);
    snprintf(t->debit_account_id, sizeof t->debit_account_id, "acc%d", from);
    snprintf(t->credit_account_id, sizeof t->credit_account_id, "acc%d", to);
    memcpy(t->currency, "CNY", 4);
    t->amount_minor = 1 + rand_r(seed) % 10000;
}

struct shared {
    struct pay_committer *c;
    double deadline;
    int per_cmd;
    unsigned long done[THREADS];
};

struct worker {
    struct shared *sh;
    long index;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    unsigned seed = (unsigned)w->index + 1;
    struct pay_ledger_transfer t[MAX_PER_CMD];
    enum pay_ledger_result r[MAX_PER_CMD];
    for (unsigned long n = 0; now_s() < w->sh->deadline;) {
        for (int k = 0; k < w->sh->per_cmd; k++)
            make_transfer(&t[k], "b", w->index, n++, &seed);
        if (pay_committer_transfers(w->sh->c, t, (size_t)w->sh->per_cmd, r, NULL) != PAY_ERR_OK)
            abort();
        for (int k = 0; k < w->sh->per_cmd; k++)
            if (r[k] != PAY_LEDGER_OK)
                abort();
        w->sh->done[w->index] += (unsigned long)w->sh->per_cmd;
    }
    return NULL;
}

static void create_accounts(struct pay_committer *c)
{
    static struct pay_ledger_account a[ACCOUNTS];
    static enum pay_ledger_result r[ACCOUNTS];
    for (int i = 0; i < ACCOUNTS; i++) {
        memset(&a[i], 0, sizeof a[i]);
        snprintf(a[i].id, sizeof a[i].id, "acc%d", i);
        memcpy(a[i].currency, "CNY", 4);
    }
    if (pay_committer_create_accounts(c, a, ACCOUNTS, r, NULL) != PAY_ERR_OK)
        abort();
}

static double bench_committer(const char *dir, double seconds, int per_cmd, double *batch_avg,
                              double *cpu_us, double *committer_us)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bench-committer.db", dir);
    struct pay_store *s;
    struct pay_ledger *lg = open_ledger(path, &s);
    struct shared sh = {.per_cmd = per_cmd};
    if (pay_committer_start(lg, NULL, &sh.c, NULL) != PAY_ERR_OK)
        abort();
    create_accounts(sh.c);
    struct pay_committer_stats before, after;
    pay_committer_get_stats(sh.c, &before);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    double t0 = now_s(), c0 = cpu_s(), k0 = thread_cpu_s("pay-committer");
    sh.deadline = t0 + seconds;
    for (long i = 0; i < THREADS; i++) {
        w[i] = (struct worker){&sh, i};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    unsigned long total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        total += sh.done[i];
    }
    double elapsed = now_s() - t0;
    *cpu_us = (cpu_s() - c0) * 1e6 / (double)(total ? total : 1);
    *committer_us = (thread_cpu_s("pay-committer") - k0) * 1e6 / (double)(total ? total : 1);
    pay_committer_get_stats(sh.c, &after);
    *batch_avg = (double)(after.commands - before.commands) /
                 (double)(after.batches - before.batches ? after.batches - before.batches : 1);
    pay_committer_stop(sh.c);
    size_t v = 0;
    if (pay_ledger_verify(s, stderr, &v, NULL) != PAY_ERR_OK || v)
        abort();
    pay_ledger_free(lg);
    pay_store_close(s);
    unlink(path);
    return (double)total / elapsed;
}

struct one_ctx {
    struct pay_ledger *lg;
    struct pay_ledger_transfer *t;
};

static enum pay_store_status one_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct one_ctx *o = ctx;
    enum pay_ledger_result r;
    enum pay_err e = pay_ledger_tx_transfer(o->lg, tx, o->t, &r, err);
    return e == PAY_ERR_OK && r == PAY_LEDGER_OK ? PAY_STORE_COMMIT : PAY_STORE_HARD;
}

static enum pay_store_status accounts_body(struct pay_store_tx *tx, void *ctx,
                                           struct pay_error *err)
{
    struct pay_ledger_account a = {.currency = "CNY"};
    enum pay_ledger_result r;
    for (int i = 0; i < ACCOUNTS; i++) {
        snprintf(a.id, sizeof a.id, "acc%d", i);
        if (pay_ledger_tx_create_accounts(ctx, tx, &a, 1, &r, err) != PAY_ERR_OK)
            return PAY_STORE_HARD;
    }
    return PAY_STORE_COMMIT;
}

/* Baseline 1: the same ledger, one SQLite transaction (one commit, one fsync) per transfer. */
static double bench_tx_per_transfer(const char *dir, double seconds)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bench-single.db", dir);
    struct pay_store *s;
    struct pay_ledger *lg = open_ledger(path, &s);
    if (pay_store_run_tx(s, accounts_body, lg, NULL) != PAY_ERR_OK)
        abort();
    unsigned seed = 1;
    unsigned long n = 0;
    double t0 = now_s();
    while (now_s() - t0 < seconds) {
        struct pay_ledger_transfer t;
        make_transfer(&t, "s", 0, n, &seed);
        struct one_ctx o = {lg, &t};
        if (pay_store_run_tx(s, one_body, &o, NULL) != PAY_ERR_OK)
            abort();
        n++;
    }
    double rate = (double)n / (now_s() - t0);
    pay_ledger_free(lg);
    pay_store_close(s);
    unlink(path);
    return rate;
}

/* Baseline 2: what the disk can do at all: append 128 bytes, fdatasync, repeat. */
static double bench_fdatasync(const char *dir, double seconds)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bench-fsync.dat", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0)
        abort();
    char rec[128];
    memset(rec, 'x', sizeof rec);
    unsigned long n = 0;
    double t0 = now_s();
    while (now_s() - t0 < seconds) {
        if (write(fd, rec, sizeof rec) != (ssize_t)sizeof rec || fdatasync(fd) != 0)
            abort();
        n++;
    }
    double rate = (double)n / (now_s() - t0);
    close(fd);
    unlink(path);
    return rate;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/var/tmp";
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 5.0;
    int per_cmd = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 1;
    if (per_cmd < 1 || per_cmd > MAX_PER_CMD || seconds <= 0) {
        fprintf(stderr, "usage: bench_ledger [dir] [seconds] [transfers per command 1..64]\n");
        return 2;
    }
    double fsyncs = bench_fdatasync(dir, seconds / 2);
    double single = bench_tx_per_transfer(dir, seconds / 2);
    double batch_avg = 0, cpu_us = 0, committer_us = 0;
    double committer = bench_committer(dir, seconds, per_cmd, &batch_avg, &cpu_us, &committer_us);
    printf("bench/ledger on %s, %d submitting threads, %d transfer(s) per command\n", dir, THREADS,
           per_cmd);
    printf("  committer (batched, durable)       %10.0f transfers/s  (%.1f commands/batch)\n",
           committer, batch_avg);
    printf("  CPU per transfer, all threads       %10.1f us\n", cpu_us);
    printf("  CPU per transfer, committer thread  %10.1f us\n", committer_us);
    printf("  one SQLite transaction per transfer %10.0f transfers/s\n", single);
    printf("  raw write+fdatasync loop            %10.0f fsyncs/s\n", fsyncs);
    printf("  committer / one-tx-per-transfer     %10.1fx\n", committer / single);
    printf("  committer / fdatasync loop          %10.1fx\n", committer / fsyncs);
    return 0;
}
