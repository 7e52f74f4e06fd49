/* bench/ledger: durable transfers per second through the committer with 64 submitting
 * threads between N accounts, and two baselines on the same disk in the same run: one
 * database transaction per transfer (SQLite synchronous=FULL, or PostgreSQL
 * synchronous_commit=on) and a raw write+fdatasync loop. Prints all three, the ratios, the CPU
 * per transfer (whole process and committer thread), the store's commits and statements per
 * batch and, on PostgreSQL, its WAL syncs per batch (pg_stat_wal).
 * usage: bench_ledger [--database URL] [dir] [seconds] [transfers per command] [accounts] [ids]
 *        (defaults: an SQLite file in /var/tmp, 5 1 1000 thread; --database: a PostgreSQL
 *        database whose ledger tables are dropped first, so give it one of its own;
 *        bench/ledger_pg runs both engines on a throwaway cluster next to pgbench)
 * ids: "thread" (b<thread>-<n>: 64 insertion points in the transfer id index, as in the
 * earlier rounds) or "time" (a process-wide counter first, like the platform's time-ordered
 * ids: new ids go to the right edge of the index). */
#include "ledger/ledger.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define THREADS      64
#define MAX_PER_CMD  64
#define ACCOUNTS_MAX 10000000
/* Accounts per create command while setting up: one batch (one commit) per chunk. */
#define CREATE_CHUNK 8192

static int n_accounts = 1000;
static bool time_ids;
static const char *database; /* --database: a PostgreSQL URL, else NULL (an SQLite file) */
static unsigned long id_seq; /* time-ordered ids: atomically incremented */

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

/* Bytes this process has passed to write/pwrite so far (/proc/self/io wchar): the WAL frames
 * and checkpoint copies SQLite writes; -1 if unreadable. */
static double written_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    double v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "wchar:", 6) == 0)
            v = strtod(line + 6, NULL);
    if (f)
        fclose(f);
    return v;
}

static enum pay_err drop_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    return pay_store_exec(
        tx, err,
        "DROP TABLE IF EXISTS ledger_accounts, ledger_transfers, ledger_pending_timeouts,"
        " schema_migrations",
        NULL);
}

/* An empty PostgreSQL database for the run: the ledger's tables of an earlier run dropped. */
static void pg_wipe(void)
{
    struct pay_store *s = NULL;
    struct pay_error err;
    if (pay_store_open(database, NULL, NULL, &s, &err) != PAY_ERR_OK ||
        pay_store_run_tx(s, drop_body, NULL, &err) != PAY_ERR_OK) {
        fprintf(stderr, "bench: cannot empty the database: %s\n", err.detail);
        exit(1);
    }
    pay_store_close(s);
}

/* PostgreSQL's count of WAL syncs (pg_stat_wal.wal_sync, the whole cluster), -1 elsewhere. */
static enum pay_err wal_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(tx, err, "SELECT wal_sync FROM pg_stat_wal", NULL);
    int rc = st ? pay_store_step(st, err) : -1;
    *(int64_t *)ctx = rc == 1 ? pay_store_col_int64(st, 0) : -1;
    pay_store_done(st);
    return PAY_ERR_OK;
}

static enum pay_err empty_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)tx, (void)ctx, (void)err;
    return PAY_ERR_OK;
}

/* A server process reports its WAL counters at the end of a transaction at most once a
 * second: wait a second, let the committer run one (empty) batch, then read. Both go through
 * the ledger's own committer and store: another writer would, rightly, make the ledger drop
 * its account cache. */
static int64_t wal_syncs(struct pay_committer *c, struct pay_store *s)
{
    int64_t n = -1;
    if (!database)
        return n;
    nanosleep(&(struct timespec){1, 100 * 1000000L}, NULL);
    if (pay_committer_submit(c, empty_body, NULL, NULL) == PAY_ERR_OK)
        pay_store_run_read(s, wal_body, &n, NULL);
    return n;
}

static struct pay_ledger *open_ledger(const char *path, struct pay_store **s)
{
    const struct pay_store_component *schema[] = {&pay_ledger_schema, NULL};
    struct pay_ledger *lg = NULL;
    struct pay_error err;
    if (pay_store_open(path, NULL, schema, s, &err) != PAY_ERR_OK ||
        pay_ledger_new(*s, &lg, &err) != PAY_ERR_OK) {
        fprintf(stderr, "bench: %s: %s\n", path, err.detail);
        exit(1);
    }
    return lg;
}

static void make_transfer(struct pay_ledger_transfer *t, const char *tag, long th, unsigned long n,
                          unsigned *seed)
{
    memset(t, 0, sizeof *t);
    int from = rand_r(seed) % n_accounts;
    int to = (from + 1 + rand_r(seed) % (n_accounts - 1)) % n_accounts;
    if (time_ids)
        snprintf(t->id, sizeof t->id, "%s%012lu-%ld", tag,
                 __atomic_fetch_add(&id_seq, 1, __ATOMIC_RELAXED), th);
    else
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

/* Creates acc0 .. acc<n_accounts - 1> through the committer, CREATE_CHUNK per command (one
 * commit each): a million accounts take seconds, not one fsync each. */
static void create_accounts(struct pay_committer *c)
{
    static struct pay_ledger_account a[CREATE_CHUNK];
    static enum pay_ledger_result r[CREATE_CHUNK];
    for (int base = 0; base < n_accounts; base += CREATE_CHUNK) {
        int n = n_accounts - base < CREATE_CHUNK ? n_accounts - base : CREATE_CHUNK;
        for (int i = 0; i < n; i++) {
            memset(&a[i], 0, sizeof a[i]);
            snprintf(a[i].id, sizeof a[i].id, "acc%d", base + i);
            memcpy(a[i].currency, "CNY", 4);
        }
        if (pay_committer_create_accounts(c, a, (size_t)n, r, NULL) != PAY_ERR_OK)
            abort();
        for (int i = 0; i < n; i++)
            if (r[i] != PAY_LEDGER_OK)
                abort();
    }
}

struct committer_run {
    double rate;         /* durable transfers/s */
    double batch_avg;    /* commands per batch */
    double cpu_us;       /* CPU per transfer, every thread of the process */
    double committer_us; /* CPU per transfer, the committer thread alone */
    double written_b;    /* bytes written (write syscalls) per transfer */
    double commits;      /* the store's commits per batch: 1 */
    double statements;   /* statements run (prepared or from the cache) per batch */
    double wal_syncs;    /* PostgreSQL: pg_stat_wal.wal_sync per batch; -1 on SQLite */
};

static struct committer_run bench_committer(struct pay_committer *c, struct pay_store *s,
                                            double seconds, int per_cmd)
{
    struct shared sh = {.c = c, .per_cmd = per_cmd};
    struct pay_committer_stats before, after;
    struct pay_store_stats s0, s1;
    int64_t wal0 = wal_syncs(c, s);
    pay_committer_get_stats(c, &before);
    pay_store_get_stats(s, &s0);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    double t0 = now_s(), c0 = cpu_s(), k0 = thread_cpu_s("pay-committer"), w0 = written_bytes();
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
    double elapsed = now_s() - t0, per = (double)(total ? total : 1);
    struct committer_run run = {.rate = (double)total / elapsed};
    run.cpu_us = (cpu_s() - c0) * 1e6 / per;
    run.committer_us = (thread_cpu_s("pay-committer") - k0) * 1e6 / per;
    run.written_b = (written_bytes() - w0) / per;
    pay_committer_get_stats(c, &after);
    pay_store_get_stats(s, &s1);
    uint64_t batches = after.batches - before.batches;
    double nb = (double)(batches ? batches : 1);
    run.batch_avg = (double)(after.commands - before.commands) / nb;
    run.commits = (double)(s1.commits - s0.commits) / nb;
    run.statements = (double)(s1.prepares + s1.cache_hits - s0.prepares - s0.cache_hits) / nb;
    int64_t wal1 = wal_syncs(c, s); /* minus the one of its own empty batch */
    run.wal_syncs = wal0 >= 0 && wal1 >= 0 ? (double)(wal1 - wal0 - 1) / nb : -1;
    return run;
}

struct one_ctx {
    struct pay_ledger *lg;
    struct pay_ledger_transfer *t;
};

static enum pay_err one_body(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct one_ctx *o = ctx;
    enum pay_ledger_result r;
    enum pay_err e = pay_ledger_tx_transfer(o->lg, tx, o->t, &r, err);
    if (e == PAY_ERR_OK && r != PAY_LEDGER_OK)
        e = pay_error_set(err, PAY_ERR_INTERNAL, "", "%s", pay_ledger_result_name(r));
    return e;
}

/* Baseline 1: the same ledger, one transaction (one commit, one fsync) per transfer. */
static double bench_tx_per_transfer(struct pay_ledger *lg, double seconds)
{
    unsigned seed = 1;
    unsigned long n = 0;
    double t0 = now_s();
    while (now_s() - t0 < seconds) {
        struct pay_ledger_transfer t;
        make_transfer(&t, "s", 0, n, &seed);
        struct one_ctx o = {lg, &t};
        if (pay_store_run_tx(pay_ledger_store(lg), one_body, &o, NULL) != PAY_ERR_OK)
            abort();
        n++;
    }
    return (double)n / (now_s() - t0);
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

static void remove_db(const char *path)
{
    if (database) {
        pg_wipe();
        return;
    }
    char side[600];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* What main measured, for print_report. */
struct report {
    const struct committer_run *run;
    int per_cmd;
    const char *ids;
    double loads;
    size_t cached;
    double single, fsyncs, create_s, verify_s;
};

/* The human-readable report and the one line for scripts. */
static void print_report(const struct report *rep, const char *dir)
{
    const struct committer_run *run = rep->run;
    int per_cmd = rep->per_cmd;
    const char *ids = rep->ids;
    double loads = rep->loads, single = rep->single, fsyncs = rep->fsyncs;
    double create_s = rep->create_s, verify_s = rep->verify_s;
    char where[1024]; /* a URL's password masked */
    pay_store_redact(database ? database : dir, where, sizeof where);
    const char *engine = database ? "PostgreSQL" : "SQLite";
    printf("bench/ledger on %s (%s), %d submitting threads, %d transfer(s) per command,"
           " %d accounts, %s ids\n",
           where, engine, THREADS, per_cmd, n_accounts, ids);
    printf("  committer (batched, durable)       %10.0f transfers/s  (%.1f commands/batch)\n",
           run->rate, run->batch_avg);
    printf("  CPU per transfer, all threads       %10.1f us\n", run->cpu_us);
    printf("  CPU per transfer, committer thread  %10.1f us\n", run->committer_us);
    printf("  bytes written per transfer          %10.0f (WAL frames and checkpoints)\n",
           run->written_b);
    printf("  account loads from the database     %10.3f per transfer (%zu cached)\n", loads,
           rep->cached);
    printf("  commits per batch                   %10.2f\n", run->commits);
    printf("  statements per batch                %10.1f\n", run->statements);
    if (run->wal_syncs >= 0)
        printf("  WAL syncs per batch (pg_stat_wal)   %10.2f\n", run->wal_syncs);
    printf("  one %-10s transaction/transfer %10.0f transfers/s\n", engine, single);
    printf("  raw write+fdatasync loop            %10.0f fsyncs/s\n", fsyncs);
    printf("  committer / one-tx-per-transfer     %10.1fx\n", run->rate / single);
    printf("  committer / fdatasync loop          %10.1fx\n", run->rate / fsyncs);
    /* A batch holds at most one command per caller and costs one fsync: at 1 transfer per
     * command the rate is at most THREADS x batches/s. */
    double batches = run->rate / (run->batch_avg * per_cmd);
    printf("  batches (commits) per second        %10.0f  (%.0f us each)\n", batches,
           1e6 / batches);
    printf("  setup: %d accounts created in %.1f s; ledger verify clean in %.1f s\n", n_accounts,
           create_s, verify_s);
    /* One line for scripts (bench/ledger_rounds.sh). */
    printf("result engine=%s per_cmd=%d accounts=%d ids=%s rate=%.0f batch=%.1f cpu_us=%.2f"
           " committer_us=%.2f written_b=%.0f loads=%.3f single=%.0f fsyncs=%.0f ratio=%.2f"
           " commits=%.2f statements=%.1f wal_syncs=%.2f\n",
           database ? "postgresql" : "sqlite", per_cmd, n_accounts, ids, run->rate, run->batch_avg,
           run->cpu_us, run->committer_us, run->written_b, loads, single, fsyncs,
           run->rate / single, run->commits, run->statements, run->wal_syncs);
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--database") == 0) {
        database = argv[2];
        argv += 2;
        argc -= 2;
    }
    const char *dir = argc > 1 ? argv[1] : "/var/tmp";
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 5.0;
    int per_cmd = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 1;
    n_accounts = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 1000;
    const char *ids = argc > 5 ? argv[5] : "thread";
    time_ids = strcmp(ids, "time") == 0;
    if (per_cmd < 1 || per_cmd > MAX_PER_CMD || seconds <= 0 || n_accounts < 2 ||
        n_accounts > ACCOUNTS_MAX || (!time_ids && strcmp(ids, "thread") != 0) ||
        (database && !pay_store_is_postgres(database))) {
        fprintf(stderr,
                "usage: bench_ledger [--database postgresql://...] [dir] [seconds]"
                " [transfers per command 1..64] [accounts 2..%d] [ids thread|time]\n",
                ACCOUNTS_MAX);
        return 2;
    }
    double fsyncs = bench_fdatasync(dir, seconds / 2);
    char path[1024];
    if (database)
        snprintf(path, sizeof path, "%s", database);
    else
        snprintf(path, sizeof path, "%s/bench-ledger.db", dir);
    remove_db(path);
    struct pay_store *s;
    struct pay_ledger *lg = open_ledger(path, &s);
    struct pay_committer *c;
    if (pay_committer_start(lg, NULL, &c, NULL) != PAY_ERR_OK)
        abort();
    double t0 = now_s();
    create_accounts(c);
    double create_s = now_s() - t0;
    pay_committer_stop(c);
    double single = bench_tx_per_transfer(lg, seconds / 2);
    struct pay_ledger_cache_stats cache0, cache1;
    pay_ledger_get_cache_stats(lg, &cache0);
    if (pay_committer_start(lg, NULL, &c, NULL) != PAY_ERR_OK)
        abort();
    /* For profilers: attach to the thread named pay-committer now (perf record -t). */
    fprintf(stderr, "bench: timed committer run starts (pid %d, %.0f s)\n", (int)getpid(), seconds);
    struct committer_run run = bench_committer(c, s, seconds, per_cmd);
    pay_committer_stop(c);
    pay_ledger_get_cache_stats(lg, &cache1);
    double loads = (double)(cache1.loads - cache0.loads) / (run.rate * seconds);
    t0 = now_s();
    size_t v = 0;
    if (pay_ledger_verify(s, stderr, &v, NULL) != PAY_ERR_OK || v)
        abort();
    double verify_s = now_s() - t0;
    pay_ledger_free(lg);
    pay_store_close(s);
    remove_db(path);
    struct report r = {&run,   per_cmd, ids,      loads,   cache1.entries,
                       single, fsyncs,  create_s, verify_s};
    print_report(&r, dir);
    return 0;
}
