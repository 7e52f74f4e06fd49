/* `paygate demo`: the whole chain on one machine with no configuration. Creates a data folder
 * (SQLite files, keys, certificates), seeds it once (bank merchants, the shop as a platform
 * merchant, a consumer with a wallet balance), starts two sandbox banks, the platform and the
 * shop as child processes on loopback (fixed ports, or any free ones with --base-port 0),
 * prints the URLs they announced and the demo credentials, and on Ctrl-C / SIGTERM stops the
 * children in order (shop, platform, banks) and waits for them. Running it again reuses the
 * data folder. */
#include "cli/commands.h"
#include "cli/demo.h"
#include "core/buf.h"
#include "core/cli_opts.h"
#include "core/clock.h"
#include "core/limits.h"
#include "crypto/crypto.h"
#include "http/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static const char demo_intro[] =
    "usage: paygate demo [--data-dir DIR] [--base-port N] [--urls-file FILE]\n\n"
    "Runs the whole demo on 127.0.0.1: two sandbox banks (ports N and N+1), the payment\n"
    "platform (N+2), the demo shop (N+3), the card network switch (N+4, both banks its\n"
    "members: a CCB card pays at ICBC) and, when Node.js and chain/'s npm packages are there\n"
    "(scripts/deps.sh demo), the sandbox chain (N+5, its wallet page N+6: pay in PTD); N is\n"
    "8081 by default, and 0 puts every server on a free port. The first run creates DIR with\n"
    "the SQLite databases, keys and certificates and seeds demo data; later runs reuse it.\n"
    "Says which server is ready as it goes; once every server answers, prints their URLs,\n"
    "the demo credentials and \"ready\"; a server that cannot start (a port in use) is named\n"
    "and the demo exits 1. Ctrl-C or SIGTERM stops everything cleanly. Logs: DIR/logs/.\n\n"
    "Options:\n";

/* --base-port: 0, or a port from which the five fit below 65536 (1024 up: no root needed). */
static int parse_base_port(void *ctx, const char *v)
{
    char *end = NULL;
    long port = strtol(v, &end, 10);
    if (!*v || *end || (port != 0 && (port < 1024 || port > PAY_DEMO_BASE_PORT_MAX))) {
        fprintf(stderr, "paygate demo: --base-port '%s': 0 (any free ports) or 1024-%d\n", v,
                PAY_DEMO_BASE_PORT_MAX);
        return -1;
    }
    ((struct demo *)ctx)->base_port = (int)port;
    return 0;
}

/* The options into d and *dir; -1 when --help was shown (exit 0), else 0 or PAY_CLI_USAGE. */
static int demo_args(int argc, char **argv, struct demo *d, const char **dir)
{
    const struct pay_cli_opt opts[] = {
        PAY_CLI_OPT("--data-dir", "DIR", "data folder (default ./paygate-data), reused later", dir),
        PAY_CLI_EACH("--base-port", "N",
                     "banks N, N+1, platform N+2, shop N+3, switch N+4, chain N+5 and N+6"
                     " (8081); 0: free",
                     parse_base_port),
        PAY_CLI_OPT("--urls-file", "FILE", "once ready, write a line \"NAME URL\" per server here",
                    &d->urls_file),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv)) {
        fputs(demo_intro, stdout);
        pay_cli_usage(stdout, opts);
        return -1;
    }
    return pay_cli_parse("demo", opts, argc, argv, 1, NULL, d);
}

void demo_path(const struct demo *d, char *out, size_t n, const char *fmt, ...)
{
    int k = snprintf(out, n, "%s/", d->dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + k, n - (size_t)k, fmt, ap);
    va_end(ap);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The child gets its own process group, so a terminal's Ctrl-C reaches only us and we stop the
 * children in order. */
pid_t demo_spawn(const struct demo *d, const char *log, char *const argv[], bool private)
{
    char lp[1200];
    demo_path(d, lp, sizeof lp, "logs/%s.log", log);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    int fd = open(lp, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int nul = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    if (nul >= 0)
        dup2(nul, 0);
    if (private)
        umask(077);
    execvp(argv[0], argv);
    _exit(127);
}

/* Runs an offline command to completion; its exit status. */
static int run(const struct demo *d, char *const argv[])
{
    pid_t pid = demo_spawn(d, "setup", argv, false);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RUN(d, ...)                                                                                \
    do {                                                                                           \
        char *const argv_[] = {(d)->self, __VA_ARGS__, NULL};                                      \
        if (run((d), argv_) != 0) {                                                                \
            fprintf(stderr, "paygate demo: setup step failed: %s (see %s/logs/setup.log)\n",       \
                    #__VA_ARGS__, (d)->dir);                                                       \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static int read_acct(const char *json_path, char out[64])
{
    char *text = pay_file_read(json_path, 65536, NULL);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    const char *a = json_string_value(json_object_get(j, "merAcct"));
    pay_str_copy(out, 64, a ? a : "");
    json_decref(j);
    free(text);
    return out[0] ? 0 : -1;
}

/* A bank contract (merchant certificate) unless it exists: the platform's at both banks,
 * the shop's at the first. */
static int seed_bank_merchant(struct demo *d, struct demo_bank *b, const char *mer_id,
                              const char *name, const char *out_name)
{
    char data[1200], out[1200], json[1300];
    demo_path(d, data, sizeof data, "banks/%s", b->code);
    demo_path(d, out, sizeof out, "banks/%s-%s", b->code, out_name);
    snprintf(json, sizeof json, "%s/merchant.json", out);
    if (!exists(json))
        RUN(d, "bank", "merchant", "add", "--data-dir", data, "--code", (char *)b->code, "--bin",
            (char *)b->bin, "--mer-id", (char *)mer_id, "--name", (char *)name, "--referrer-domain",
            "127.0.0.1", "--notify-domain", "127.0.0.1", "--allow-no-referer", "--out", out);
    return strcmp(out_name, "platform") == 0 ? read_acct(json, b->acct) : 0;
}

/* The bank's membership of the card network unless it exists: its member folder
 * banks/<code>-member (docs/switch.md), its BIN in the switch's table, central bank money in
 * its settlement account. */
static int seed_member(struct demo *d, const struct demo_bank *b)
{
    char data[1200], out[1200], json[1300];
    demo_path(d, data, sizeof data, "switch");
    demo_path(d, out, sizeof out, "banks/%s-member", b->code);
    snprintf(json, sizeof json, "%s/member.json", out);
    if (!exists(json))
        RUN(d, "switch", "member", "add", "--data-dir", data, "--member", (char *)b->code, "--name",
            (char *)b->name_en, "--roles", "issuer,acquirer", "--bin", (char *)b->bin, "--funds",
            "100000000000", "--out", out);
    return 0;
}

/* The platform side, once (marker file): the shop as a merchant, a consumer with money. */
static int seed_platform(struct demo *d)
{
    char pf[1200], key[1200], pub[1300], marker[1200];
    demo_path(d, pf, sizeof pf, "platform");
    demo_path(d, key, sizeof key, "shop/shop.key");
    snprintf(pub, sizeof pub, "%s.pub", key);
    demo_path(d, marker, sizeof marker, "platform/.demo-seeded");
    if (exists(marker))
        return 0;
    if (!exists(key))
        RUN(d, "platform", "keygen", "--out", key);
    RUN(d, "platform", "merchant", "add", "--data-dir", pf, "--id", "shop", "--name",
        "Teahouse demo shop", "--public-key-file", pub, "--notify-host", "127.0.0.1", "--fee-bp",
        "60", "--allow-private-hosts");
    RUN(d, "platform", "consumer", "add", "--data-dir", pf, "--login", "13800000001", "--password",
        "demo-pass-1", "--pay-password", "123456");
    RUN(d, "platform", "wallet", "credit", "--data-dir", pf, "--consumer", "13800000001",
        "--amount", "10000.00");
    char totp[1300];
    snprintf(totp, sizeof totp, "%s/portal-owner-totp", pf);
    if (!exists(totp)) /* the shop's owner in the merchant portal (docs/portal.md) */
        RUN(d, "platform", "member", "add", "--data-dir", pf, "--merchant", "shop", "--login",
            "owner@shop.example", "--role", "owner", "--password", "demo-portal-1", "--secret-file",
            totp);
    FILE *f = fopen(marker, "w");
    return f && fclose(f) == 0 ? 0 : -1;
}

/* The operator token of the demo platform: made once (random, 32 hex digits), kept in
 * DIR/platform/operator-token (mode 0600) so the console login survives restarts. */
static int load_operator_token(struct demo *d)
{
    char path[1200];
    demo_path(d, path, sizeof path, "platform/operator-token");
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(d->operator_token, 1, 32, f);
        fclose(f);
        d->operator_token[n] = '\0';
        if (n == 32)
            return 0;
    }
    unsigned char raw[16];
    pay_random_bytes(raw, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(d->operator_token + 2 * i, 3, "%02x", raw[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    int ok = write(fd, d->operator_token, 32) == 32;
    return close(fd) == 0 && ok ? 0 : -1;
}

/* platform.ini, on every start: the banks' URLs are the ones they announced this time (with
 * --base-port 0 they change from run to run); the platform's public URL is its bound one. */
static int write_platform_ini(struct demo *d)
{
    if (load_operator_token(d) != 0)
        return -1;
    char ini[1200];
    demo_path(d, ini, sizeof ini, "platform/platform.ini");
    /* it holds the operator token: 0600, also when an older run left it 0644 */
    int fd = open(ini, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 && fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f,
            "# written by `paygate demo` on every start\n[platform]\nsweep_interval = 1s\n"
            "banks = %s,%s\noperator_token = %s\n[notify]\n"
            "allow_private_hosts = true\nretry_schedule = 5s,15s,1m,5m,15m\npoll_interval = "
            "200ms\ntimeout = 5s\n",
            d->banks[0].code, d->banks[1].code, d->operator_token);
    for (int i = 0; i < 2; i++) {
        const struct demo_bank *b = &d->banks[i];
        fprintf(f,
                "[bank.%s]\nname = %s\nname_en = %s\ngateway_url = %s\nmer_id = PAYGATE\n"
                "mer_acct = %s\nkey_file = %s/banks/%s-platform/merchant.key\ncert_file = "
                "%s/banks/%s-platform/merchant.crt\nbank_cert_file = %s/banks/%s/keys/sign.crt\n"
                "ca_file = %s/banks/%s/keys/ca.crt\nallow_private = true\n",
                b->code, b->name, b->name_en, d->urls[i], b->acct, d->dir, b->code, d->dir, b->code,
                d->dir, b->code, d->dir, b->code);
    }
    demo_chain_ini(d, f);
    return fclose(f) == 0 ? 0 : -1;
}

static int seed(struct demo *d)
{
    char p[1200];
    const char *dirs[] = {"", "logs", "run", "banks", "platform", "shop", "switch"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        demo_path(d, p, sizeof p, "%s", dirs[i]);
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "paygate demo: cannot create %s: %s\n", p, strerror(errno));
            return -1;
        }
    }
    for (int i = 0; i < 2; i++)
        if (seed_bank_merchant(d, &d->banks[i], "PAYGATE", "PayGate platform", "platform") != 0 ||
            seed_member(d, &d->banks[i]) != 0)
            return -1;
    if (seed_bank_merchant(d, &d->banks[0], "SHOP0001", "Teahouse demo shop", "shop") != 0)
        return -1;
    return seed_platform(d);
}

/* True when a listener holds 127.0.0.1:port: binding it ourselves fails with EADDRINUSE
 * (with SO_REUSEADDR, as the servers bind, so a socket in TIME_WAIT does not count). */
static bool port_in_use(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return false;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool busy = bind(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno == EADDRINUSE;
    close(fd);
    return busy;
}

/* DIR/run/<name>.url: where child idx announces its URL (--print-url-file). */
static void url_file(const struct demo *d, int idx, char *out, size_t n)
{
    demo_path(d, out, n, "run/%s.url", d->names[idx]);
}

/* The listen address of child idx: its fixed port, or port 0. */
static void listen_of(const struct demo *d, int idx, char *out, size_t n)
{
    snprintf(out, n, "127.0.0.1:%d", d->base_port ? d->base_port + idx : 0);
}

/* Why child idx ended before it was ready (st from waitpid), naming its port when another
 * program holds it. */
static void start_failed(const struct demo *d, int idx, int st)
{
    int port = d->base_port ? d->base_port + idx : 0;
    if (port && port_in_use(port))
        fprintf(stderr,
                "paygate demo: %s cannot listen on 127.0.0.1:%d: the port is in use by another "
                "program (choose other ports with --base-port N, or any free ones with "
                "--base-port 0)\n",
                d->names[idx], port);
    else
        fprintf(stderr, "paygate demo: %s exited at start (%s %d; see %s/logs/%s.log)\n",
                d->names[idx], WIFEXITED(st) ? "exit status" : "signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), d->dir, d->names[idx]);
}

/* GET <url>/healthz answers 200. */
static bool healthy(const char *url)
{
    char target[PAY_URL_MAX + 16];
    snprintf(target, sizeof target, "%s/healthz", url);
    struct pay_http_client_options opt = {.allow_private_addresses = true,
                                          .total_timeout_ms = 5000};
    struct pay_http_client_response r = {0};
    bool ok = pay_http_client_request("GET", target, NULL, NULL, 0, &opt, &r, NULL) == PAY_ERR_OK &&
              r.status == 200;
    pay_http_client_response_fini(&r);
    return ok;
}

/* Waits until child idx is ready: it has written its URL file (it does so only once it has
 * bound its port, so that URL is its own, never another program's on the same port), that
 * URL's /healthz answers 200, and the child still runs. 0, or -1 after saying why: the
 * child exited (naming a port in use), or timeout_ms passed. */
static int wait_ready(struct demo *d, int idx, int timeout_ms)
{
    char file[1200];
    url_file(d, idx, file, sizeof file);
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        int st = 0;
        if (waitpid(d->pids[idx], &st, WNOHANG) == d->pids[idx]) {
            d->pids[idx] = 0;
            start_failed(d, idx, st);
            return -1;
        }
        char *url = pay_file_read(file, PAY_URL_MAX, NULL);
        if (url && url[0] && healthy(url) && waitpid(d->pids[idx], &st, WNOHANG) == 0) {
            pay_str_copy(d->urls[idx], sizeof d->urls[idx], url);
            free(url);
            return 0;
        }
        free(url);
        usleep(50000);
    }
    fprintf(stderr, "paygate demo: %s did not get ready within %d s (see %s/logs/%s.log)\n",
            d->names[idx], timeout_ms / 1000, d->dir, d->names[idx]);
    return -1;
}

void demo_progress(const char *name, const char *url, int64_t t0_ms)
{
    printf("paygate demo: %-9s up at %s (%.1f s)\n", name, url,
           (double)(pay_clock_mono_ms() - t0_ms) / 1000.0);
    fflush(stdout);
}

/* Starts child idx: `paygate ARGV... --listen L --print-url-file F`, argv NULL-terminated with
 * room for those four entries, then waits until it is ready (wait_ready). 0 or -1. */
static int start_child(struct demo *d, int idx, char **argv, int timeout_ms)
{
    char file[1200], listen[32];
    url_file(d, idx, file, sizeof file);
    listen_of(d, idx, listen, sizeof listen);
    unlink(file); /* an old run's URL must not pass for this child's */
    size_t n = 0;
    while (argv[n])
        n++;
    argv[n] = "--listen";
    argv[n + 1] = listen;
    argv[n + 2] = "--print-url-file";
    argv[n + 3] = file;
    argv[n + 4] = NULL;
    int64_t t0 = pay_clock_mono_ms();
    d->pids[idx] = demo_spawn(d, d->names[idx], argv, false);
    if (d->pids[idx] <= 0 || wait_ready(d, idx, timeout_ms) != 0)
        return -1;
    demo_progress(d->names[idx], d->urls[idx], t0);
    return 0;
}

static int start_bank(struct demo *d, int i)
{
    const struct demo_bank *b = &d->banks[i];
    char data[1200], member[1200];
    demo_path(d, data, sizeof data, "banks/%s", b->code);
    demo_path(d, member, sizeof member, "banks/%s-member", b->code);
    char *argv[] = {d->self,
                    "bank",
                    "serve",
                    "--data-dir",
                    data,
                    "--name",
                    (char *)b->name,
                    "--name-en",
                    (char *)b->name_en,
                    "--brand-color",
                    (char *)b->color,
                    "--code",
                    (char *)b->code,
                    "--bin",
                    (char *)b->bin,
                    "--demo-data",
                    "--switch-url",
                    d->urls[DEMO_SWITCH],
                    "--switch-member-dir",
                    member,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL};
    return start_child(d, i, argv, PAY_DEMO_START_TIMEOUT_MS);
}

/* The card network switch, started first: the banks sign on to it when they start. */
static int start_switch(struct demo *d)
{
    char data[1200];
    demo_path(d, data, sizeof data, "switch");
    char *argv[] = {d->self, "switch", "serve", "--data-dir", data, NULL, NULL, NULL, NULL, NULL};
    return start_child(d, DEMO_SWITCH, argv, PAY_DEMO_START_TIMEOUT_MS);
}

static int start_platform(struct demo *d)
{
    char data[1200], ini[1200];
    demo_path(d, data, sizeof data, "platform");
    demo_path(d, ini, sizeof ini, "platform/platform.ini");
    if (write_platform_ini(d) != 0) {
        fprintf(stderr, "paygate demo: cannot write %s\n", ini);
        return -1;
    }
    char *argv[] = {d->self, "platform", "--config", ini,  "--data-dir", data,
                    NULL,    NULL,       NULL,       NULL, NULL};
    return start_child(d, DEMO_PLATFORM, argv, PAY_DEMO_START_TIMEOUT_MS);
}

static int start_shop(struct demo *d)
{
    char data[1200], key[1200], mer[1200], cert[1200], ca[1200];
    demo_path(d, data, sizeof data, "shop");
    demo_path(d, key, sizeof key, "shop/shop.key");
    demo_path(d, mer, sizeof mer, "banks/%s-shop", d->banks[0].code);
    demo_path(d, cert, sizeof cert, "banks/%s/keys/sign.crt", d->banks[0].code);
    demo_path(d, ca, sizeof ca, "banks/%s/keys/ca.crt", d->banks[0].code);
    char *argv[] = {d->self,
                    "shop",
                    "--data-dir",
                    data,
                    "--platform-url",
                    d->urls[DEMO_PLATFORM],
                    "--merchant-id",
                    "shop",
                    "--key-file",
                    key,
                    "--bank-url",
                    d->urls[DEMO_BANK0],
                    "--bank-name",
                    (char *)d->banks[0].name,
                    "--bank-name-en",
                    (char *)d->banks[0].name_en,
                    "--bank-merchant-dir",
                    mer,
                    "--bank-cert",
                    cert,
                    "--bank-ca",
                    ca,
                    "--bank-code",
                    (char *)d->banks[0].code,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL};
    return start_child(d, DEMO_SHOP, argv, PAY_DEMO_START_TIMEOUT_MS);
}

/* --urls-file: one "NAME URL" line per server, written atomically once all are ready, so a
 * test that sees the file can use every URL in it. */
static int write_urls_file(const struct demo *d)
{
    if (!d->urls_file)
        return 0;
    char text[(DEMO_N + 1) * (PAY_URL_MAX + 32)];
    size_t n = 0;
    for (int i = 0; i < DEMO_N; i++)
        if (d->urls[i][0]) /* the chain's is empty when it is off */
            n += (size_t)snprintf(text + n, sizeof text - n, "%s %s\n", d->names[i], d->urls[i]);
    if (d->chain.on)
        n += (size_t)snprintf(text + n, sizeof text - n, "wallet %s\n", d->chain.wallet_url);
    if (pay_file_write(d->urls_file, text, n, 0600) == 0)
        return 0;
    fprintf(stderr, "paygate demo: cannot write %s: %s\n", d->urls_file, strerror(errno));
    return -1;
}

/* Stops the running children, newest first: SIGTERM, then SIGKILL after 15 s. */
static void stop_all(struct demo *d)
{
    for (int i = DEMO_N - 1; i >= 0; i--) {
        if (d->pids[i] <= 0)
            continue;
        kill(d->pids[i], SIGTERM);
        int st;
        for (int t = 0; t < 150 && waitpid(d->pids[i], &st, WNOHANG) == 0; t++)
            usleep(100000);
        if (waitpid(d->pids[i], &st, WNOHANG) == 0) {
            fprintf(stderr, "paygate demo: %s did not stop, killing it\n", d->names[i]);
            kill(d->pids[i], SIGKILL);
            waitpid(d->pids[i], &st, 0);
        }
        d->pids[i] = 0;
    }
}

/* A demo card number: BIN + 9-digit serial + Luhn digit (docs/bank.md). */
static void demo_card(const char *bin, int serial, char out[17])
{
    snprintf(out, 17, "%s%09d", bin, serial);
    int sum = 0;
    for (int i = 14; i >= 0; i--) {
        int dgt = out[i] - '0';
        if ((14 - i) % 2 == 0 && (dgt *= 2) > 9)
            dgt -= 9;
        sum += dgt;
    }
    out[15] = (char)('0' + (10 - sum % 10) % 10);
    out[16] = '\0';
}

static void print_summary(const struct demo *d)
{
    char c1[17], c2[17], c5[17], chain[2 * PAY_URL_MAX + 600] = "", staff[1300];
    /* the shop's first admin (docs/shop.md "Staff login"): where its password is, never the
     * password itself (this banner may end up in a log) */
    demo_path(d, staff, sizeof staff, "shop/shop-admin.txt");
    const char *where = exists(staff) ? "password in " : "";
    if (!where[0])
        snprintf(staff, sizeof staff, "password set with paygate shop staff");
    if (d->chain.on) /* docs/chain.md */
        snprintf(chain, sizeof chain,
                 "  chain           %s  (local EVM node, chain 1337; PTD token %s)\n"
                 "  sandbox wallet  %s  (pays the payment request of the cashier's PTD page\n"
                 "                  from a funded test account; 1 PTD = 7.25 CNY)\n"
                 "  payment log     anchored on the chain by %s\n\n",
                 d->urls[DEMO_CHAIN], d->chain.token, d->chain.wallet_url, d->chain.anchor_address);
    demo_card(d->banks[0].bin, 1, c1);
    demo_card(d->banks[0].bin, 5, c5);
    demo_card(d->banks[1].bin, 1, c2);
    printf("\npaygate demo is running (data: %s)\n\n"
           "  shop            %s/          (order admin: /admin)\n"
           "  shop staff      %s/admin/login  (login admin, %s%s)\n"
           "  platform        %s/wallet    (consumer wallet)\n"
           "  bank %-10s %s/admin     (SMS codes: /sandbox/sms)\n"
           "  bank %-10s %s/admin     (SMS codes: /sandbox/sms)\n"
           "  operator        %s/operator/dashboard  (token %s)\n"
           "  card network    %s  (both banks members: a %s card pays at %s)\n"
           "  merchant portal %s/portal  (owner@shop.example / demo-portal-1,\n"
           "                  TOTP secret in %s/platform/portal-owner-totp)\n\n"
           "  consumer login  13800000001 / demo-pass-1, payment password 123456 (wallet ¥10,000)\n"
           "  cards           %s (debit), %s (credit) at %s; %s at %s\n"
           "                  card password 123456, expiry 12/30; SMS codes at the bank's\n"
           "                  %s/sandbox/sms; CVV2s (to bind a card):\n"
           "                  paygate bank demo-cards --data-dir %s/banks/%s\n\n"
           "%s"
           "paygate demo: ready. Ctrl-C stops everything.\n",
           d->dir, d->urls[DEMO_SHOP], d->urls[DEMO_SHOP], where, staff, d->urls[DEMO_PLATFORM],
           d->banks[0].name_en, d->urls[DEMO_BANK0], d->banks[1].name_en, d->urls[DEMO_BANK1],
           d->urls[DEMO_PLATFORM], d->operator_token, d->urls[DEMO_SWITCH], d->banks[1].name_en,
           d->banks[0].name_en, d->urls[DEMO_PLATFORM], d->dir, c1, c5, d->banks[0].name_en, c2,
           d->banks[1].name_en, d->urls[DEMO_BANK0], d->dir, d->banks[0].code, chain);
    fflush(stdout);
}

/* Waits for SIGINT/SIGTERM (returns 0) or a child's death (returns 1). */
static int wait_for_end(struct demo *d)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig != SIGCHLD)
            return 0;
        for (int i = 0; i < DEMO_N; i++) {
            if (d->pids[i] > 0 && waitpid(d->pids[i], NULL, WNOHANG) == d->pids[i]) {
                fprintf(stderr, "paygate demo: %s stopped unexpectedly (see %s/logs/%s.log)\n",
                        d->names[i], d->dir, d->names[i]);
                d->pids[i] = 0;
                return 1;
            }
        }
    }
}

int pay_cmd_demo(int argc, char **argv)
{
    const char *dir = "paygate-data";
    struct demo d = {.base_port = 8081,
                     .banks = {{"icbc", "中国工商银行", "ICBC", "#c7000b", "622202", ""},
                               {"ccb", "中国建设银行", "CCB", "#0066b3", "621700", ""}},
                     .names = {"bank-icbc", "bank-ccb", "platform", "shop", "switch", "chain"}};
    int bad = demo_args(argc, argv, &d, &dir);
    if (bad)
        return bad < 0 ? 0 : bad;
    ssize_t n = readlink("/proc/self/exe", d.self, sizeof d.self - 1);
    if (n <= 0 || (dir[0] != '/' && !getcwd(d.dir, sizeof d.dir - 300)) || strlen(dir) > 700) {
        fprintf(stderr, "paygate demo: cannot find our own binary or the data dir\n");
        return 1;
    }
    d.self[n] = '\0';
    snprintf(d.dir + strlen(d.dir), sizeof d.dir - strlen(d.dir), "%s%s", dir[0] == '/' ? "" : "/",
             dir);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("paygate demo: %s data in %s\n", exists(d.dir) ? "reusing" : "creating", d.dir);
    fflush(stdout);
    if (d.urls_file)
        unlink(d.urls_file);
    int rc = seed(&d) == 0 && demo_chain_begin(&d) == 0 && start_switch(&d) == 0 &&
                     start_bank(&d, DEMO_BANK0) == 0 && start_bank(&d, DEMO_BANK1) == 0 &&
                     demo_chain_ready(&d) == 0 && start_platform(&d) == 0 && start_shop(&d) == 0 &&
                     write_urls_file(&d) == 0
                 ? 0
                 : 1;
    if (rc == 0) {
        print_summary(&d);
        rc = wait_for_end(&d);
        printf("paygate demo: stopping\n");
    }
    if (d.urls_file)
        unlink(d.urls_file); /* its URLs die with the servers */
    stop_all(&d);
    printf("paygate demo: stopped\n");
    return rc;
}
