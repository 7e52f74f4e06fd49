/* bench/switch_driver: the load of bench/switch. T threads each loop one signed authorization
 * (0100, CVN2, the card data sealed for its trace) after another, every answer's signature
 * checked (pay_net_call, the client the banks use) and its de39 required to be 00:
 *
 *   --mode switch   as an acquirer member (--member-dir: member.key, switch.crt, member.json)
 *                   to the switch's POST /net/v1/authorizations: acquirer -> switch -> issuer;
 *   --mode issuer   as the switch itself (--switch-keys: its keys/ folder) straight to the
 *                   issuer's POST /net/v1/issuer/authorizations (--issuer-dir: the issuer's
 *                   member folder, for its sealing key and certificate): the one-bank path,
 *                   the same authorization without the switch in the middle;
 *   --mode fsync    no server: each thread appends 4 KiB to its own file in --dir and
 *                   fdatasyncs it, the disk's floor for anything that is durable before it
 *                   answers (each authorization is at least one commit at the issuer, two more
 *                   at the switch).
 *
 * Cards: --cards FILE, lines "PAN YYMM CVN2" (each thread takes the next card in turn).
 * Traces: --trace-base B, thread i's k-th message has trace B + k * T + i (12 digits), so runs
 * with bases far apart never reuse one. Only what completes inside the measured window (after
 * --warmup seconds) counts. The last line is machine-readable:
 *   RESULT completed=... rate=... p50_ms=... p99_ms=... failures=...
 * Exit 0 when every answer verified and approved, 1 otherwise, 2 on bad usage. */
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "crypto/sign.h"
#include "crypto/x509.h"
#include "switch/net.h"

#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS_MAX     64
#define CARDS_MAX       64
#define LATENCIES_MAX   (1u << 20)
#define CALL_TIMEOUT_MS 30000L /* a stuck answer is a failure, not a hang */

enum mode { MODE_SWITCH, MODE_ISSUER, MODE_FSYNC };

struct card {
    char pan[20], exp[5], cvn2[4];
};

static struct {
    enum mode mode;
    const char *url, *member_dir, *switch_keys, *issuer_dir, *cards_file, *dir;
    int threads;
    double seconds, warmup_s;
    long long trace_base;
} cfg = {.threads = 8, .seconds = 10, .warmup_s = 1, .trace_base = 1};

static struct pay_net_peer peer;         /* who we call and who we are to it */
static uint8_t seal_pk[PAY_SEAL_PK_LEN]; /* the card data is sealed to it */
static char acquirer[PAY_NET_CODE_MAX + 1] = "bench";
static struct card cards[CARDS_MAX];
static size_t n_cards;
static atomic_int measuring, stopping;
static atomic_llong completed, failures;
static atomic_int failures_shown;
static uint32_t *latencies_us;
static atomic_uint n_latencies;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static char *read_file(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *t = pay_file_read(path, 1 << 20, NULL);
    if (!t)
        fprintf(stderr, "switch_driver: cannot read %s\n", path);
    return t;
}

/* The acquirer's side: our member key, the switch's certificate and sealing key. */
static int load_member(void)
{
    char *key = read_file(cfg.member_dir, "member.key");
    char *cert = read_file(cfg.member_dir, "switch.crt");
    char *json = read_file(cfg.member_dir, "member.json");
    json_t *j = json ? json_loads(json, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(j, "code"));
    const char *sw = json_string_value(json_object_get(j, "switchCode"));
    const char *pk = json_string_value(json_object_get(j, "switchSealKey"));
    struct pay_rsa_key *k = NULL;
    int rc = key && cert && code && sw && pk && pay_seal_pk_from_text(seal_pk, pk) == 0 &&
                     pay_rsa_key_from_pem(key, strlen(key), &k) == 0
                 ? 0
                 : -1;
    if (rc == 0) {
        pay_str_copy(acquirer, sizeof acquirer, code);
        peer.key_id = strdup(code);
        peer.key = k;
        peer.peer_key_id = strdup(sw);
        peer.peer_cert_pem = cert;
        cert = NULL;
    }
    free(key);
    free(cert);
    free(json);
    json_decref(j);
    return rc;
}

/* The switch's side: its signing key (keyId = its code), the issuer's certificate and sealing
 * key (the public half of the issuer's seal.key). */
static int load_as_switch(void)
{
    char *key = read_file(cfg.switch_keys, "sign.key");
    char *cert = read_file(cfg.issuer_dir, "member.crt");
    char *seal = read_file(cfg.issuer_dir, "seal.key");
    char *json = read_file(cfg.issuer_dir, "member.json");
    json_t *j = json ? json_loads(json, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(j, "code"));
    const char *sw = json_string_value(json_object_get(j, "switchCode"));
    struct pay_rsa_key *k = NULL;
    struct pay_seal_key sk;
    if (seal)
        seal[strcspn(seal, "\r\n")] = '\0';
    int rc = key && cert && seal && code && sw && pay_seal_sk_from_text(&sk, seal) == 0 &&
                     pay_rsa_key_from_pem(key, strlen(key), &k) == 0
                 ? 0
                 : -1;
    if (rc == 0) {
        memcpy(seal_pk, sk.pk, sizeof seal_pk);
        pay_seal_key_fini(&sk);
        peer.key_id = strdup(sw);
        peer.key = k;
        peer.peer_key_id = strdup(code);
        peer.peer_cert_pem = cert;
        cert = NULL;
        pay_str_copy(acquirer, sizeof acquirer, "bench"); /* no member: de32 is only read */
    }
    free(key);
    free(cert);
    free(seal);
    free(json);
    json_decref(j);
    return rc;
}

static int load_cards(void)
{
    FILE *f = fopen(cfg.cards_file, "r");
    if (!f)
        return -1;
    while (n_cards < CARDS_MAX && fscanf(f, "%19s %4s %3s", cards[n_cards].pan, cards[n_cards].exp,
                                         cards[n_cards].cvn2) == 3)
        n_cards++;
    fclose(f);
    return n_cards > 0 ? 0 : -1;
}

/* The authorization of card c under trace (heap text, caller frees; NULL on failure). */
static char *auth_body(const struct card *c, const char *trace)
{
    struct pay_net_card nc;
    memset(&nc, 0, sizeof nc);
    pay_str_copy(nc.pan, sizeof nc.pan, c->pan);
    pay_str_copy(nc.exp, sizeof nc.exp, c->exp);
    pay_str_copy(nc.cvn2, sizeof nc.cvn2, c->cvn2);
    char ctx[PAY_SEAL_CONTEXT_MAX + 1], *sealed = NULL;
    snprintf(ctx, sizeof ctx, "de2:%s:%s", acquirer, trace);
    if (pay_net_card_seal(seal_pk, ctx, &nc, &sealed, NULL) != PAY_ERR_OK)
        return NULL;
    json_t *m = json_pack("{s:s, s:{s:s}, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "mti",
                          PAY_NET_MTI_AUTH, "de2", "sealed", sealed, "de3", PAY_NET_PROC_PURCHASE,
                          "de4", (json_int_t)1, "de11", trace, "de32", acquirer, "de42", "M1",
                          "de43", "Bench Shop", "de49", "CNY", "de61", "method", "CVN2");
    if (m && cfg.mode == MODE_ISSUER) { /* what the switch adds on its way */
        json_object_set_new(m, "de33", json_string(peer.key_id));
        json_object_set_new(m, "de37", json_string(trace));
    }
    char *body = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(m);
    free(sealed);
    return body;
}

static void fail(const char *trace, const char *why)
{
    atomic_fetch_add(&failures, 1);
    if (atomic_fetch_add(&failures_shown, 1) < 5)
        fprintf(stderr, "switch_driver: trace %s: %s\n", trace, why);
}

static void count(int64_t t0)
{
    if (!atomic_load(&measuring))
        return;
    atomic_fetch_add(&completed, 1);
    unsigned i = atomic_fetch_add(&n_latencies, 1);
    if (i < LATENCIES_MAX)
        latencies_us[i] = (uint32_t)(mono_us() - t0);
}

static void one_auth(int id, long long k)
{
    char trace[PAY_NET_TRACE_LEN + 1];
    snprintf(trace, sizeof trace, "%012lld", cfg.trace_base + k * cfg.threads + id);
    char *body = auth_body(&cards[(size_t)(k * cfg.threads + id) % n_cards], trace);
    int64_t t0 = mono_us();
    long status = 0;
    json_t *answer = NULL;
    struct pay_error e = {0};
    const char *path =
        cfg.mode == MODE_ISSUER ? "/net/v1/issuer/authorizations" : "/net/v1/authorizations";
    enum pay_err rc = body ? pay_net_call(&peer, path, body, &status, &answer, &e)
                           : pay_error_set(&e, PAY_ERR_INTERNAL, "", "cannot write the message");
    const char *de39 = json_string_value(json_object_get(answer, "de39"));
    if (rc != PAY_ERR_OK)
        fail(trace, e.detail);
    else if (status != 200 || !de39 || strcmp(de39, "00") != 0)
        fail(trace, de39 ? de39 : "not an answer with de39");
    else
        count(t0);
    json_decref(answer);
    free(body);
}

static void one_fsync(int fd, const char *block)
{
    int64_t t0 = mono_us();
    if (write(fd, block, 4096) != 4096 || fdatasync(fd) != 0)
        fail("-", "write or fdatasync failed");
    else
        count(t0);
}

static void *thread_main(void *arg)
{
    int id = (int)(intptr_t)arg, fd = -1;
    static const char block[4096];
    if (cfg.mode == MODE_FSYNC) {
        char path[1200];
        snprintf(path, sizeof path, "%s/fsync.%d", cfg.dir, id);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
        if (fd < 0) {
            fail("-", "cannot open the fsync file");
            return NULL;
        }
    }
    for (long long k = 0; !atomic_load(&stopping); k++) {
        if (cfg.mode == MODE_FSYNC)
            one_fsync(fd, block);
        else
            one_auth(id, k);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: switch_driver --mode switch --url URL --member-dir DIR --cards FILE\n"
            "       switch_driver --mode issuer --url URL --switch-keys DIR --issuer-dir DIR"
            " --cards FILE\n"
            "       switch_driver --mode fsync --dir DIR\n"
            "  [--threads T] [--seconds S] [--warmup S] [--trace-base N]\n");
}

static int parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"mode", 1, 0, 'm'},        {"url", 1, 0, 'u'},        {"member-dir", 1, 0, 'M'},
        {"switch-keys", 1, 0, 'k'}, {"issuer-dir", 1, 0, 'i'}, {"cards", 1, 0, 'c'},
        {"dir", 1, 0, 'd'},         {"threads", 1, 0, 't'},    {"seconds", 1, 0, 's'},
        {"warmup", 1, 0, 'w'},      {"trace-base", 1, 0, 'b'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            cfg.mode = strcmp(optarg, "issuer") == 0  ? MODE_ISSUER
                       : strcmp(optarg, "fsync") == 0 ? MODE_FSYNC
                                                      : MODE_SWITCH;
            break;
        case 'u':
            cfg.url = optarg;
            break;
        case 'M':
            cfg.member_dir = optarg;
            break;
        case 'k':
            cfg.switch_keys = optarg;
            break;
        case 'i':
            cfg.issuer_dir = optarg;
            break;
        case 'c':
            cfg.cards_file = optarg;
            break;
        case 'd':
            cfg.dir = optarg;
            break;
        case 't':
            cfg.threads = (int)strtol(optarg, NULL, 10);
            break;
        case 's':
            cfg.seconds = strtod(optarg, NULL);
            break;
        case 'w':
            cfg.warmup_s = strtod(optarg, NULL);
            break;
        case 'b':
            cfg.trace_base = strtoll(optarg, NULL, 10);
            break;
        default:
            return -1;
        }
    }
    if (cfg.threads < 1 || cfg.threads > THREADS_MAX || cfg.seconds <= 0 || cfg.warmup_s < 0)
        return -1;
    if (cfg.mode == MODE_FSYNC)
        return cfg.dir ? 0 : -1;
    if (!cfg.url || !cfg.cards_file || load_cards() != 0)
        return -1;
    peer.base_url = cfg.url;
    peer.timeout_ms = CALL_TIMEOUT_MS;
    peer.allow_private = true;
    if (cfg.mode == MODE_SWITCH)
        return cfg.member_dir ? load_member() : -1;
    return cfg.switch_keys && cfg.issuer_dir ? load_as_switch() : -1;
}

int main(int argc, char **argv)
{
    if (pay_crypto_init() != 0 || parse_args(argc, argv) != 0) {
        usage();
        return 2;
    }
    latencies_us = calloc(LATENCIES_MAX, sizeof *latencies_us);
    pthread_t th[THREADS_MAX];
    for (int i = 0; i < cfg.threads; i++)
        pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i);
    struct timespec w = {(time_t)cfg.warmup_s, (long)((cfg.warmup_s - (time_t)cfg.warmup_s) * 1e9)};
    nanosleep(&w, NULL); /* a benchmark's warm-up: measured time, not a test's wait */
    int64_t t0 = mono_us();
    atomic_store(&measuring, 1);
    struct timespec m = {(time_t)cfg.seconds, (long)((cfg.seconds - (time_t)cfg.seconds) * 1e9)};
    nanosleep(&m, NULL);
    atomic_store(&measuring, 0);
    double secs = (double)(mono_us() - t0) / 1e6;
    atomic_store(&stopping, 1);
    for (int i = 0; i < cfg.threads; i++)
        pthread_join(th[i], NULL);
    unsigned n = atomic_load(&n_latencies);
    n = n > LATENCIES_MAX ? LATENCIES_MAX : n;
    qsort(latencies_us, n, sizeof *latencies_us, cmp_u32);
    double p50 = n ? latencies_us[n / 2] / 1000.0 : 0,
           p99 = n ? latencies_us[n * 99 / 100] / 1000.0 : 0;
    long long done = atomic_load(&completed), failed = atomic_load(&failures);
    printf("RESULT completed=%lld rate=%.1f p50_ms=%.2f p99_ms=%.2f failures=%lld\n", done,
           (double)done / secs, p50, p99, failed);
    free(latencies_us);
    return failed == 0 && done > 0 ? 0 : 1;
}
