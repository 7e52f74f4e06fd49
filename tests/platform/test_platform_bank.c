/* Integration test of paying through a bank: two real `paygate bank` processes, the platform
 * as their merchant, a consumer who picks a bank on the cashier and walks the bank's pages
 * (card, password, SMS code, confirm); the bank's notification completes the trade. Also: a
 * refund of a bank payment sent back through the bank, a bank payment that arrives after the
 * trade was closed (refunded automatically), a bound card (top-up, payment with an SMS code,
 * withdrawals to it chosen from a list, also across a bank outage; 50 parallel wrong SMS
 * codes), and the money checked at the bank and on the platform's ledger. */
#include "harness.h"
#include "lib/clock.h"
#include "lib/harness.h"

#include "core/limits.h"
#include "crypto/crypto.h"
#include "crypto/password.h"
#include "sdk/paygate.h"
#include "http/client.h"
#include "http/codec.h"
#include "ledger/ledger.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ctype.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct bank {
    char code[16], bin[8], dir[256], url[128], acct[80];
    pid_t pid;
    char db[PAY_DATABASE_MAX + 1];       /* <dir>/data/bank.db, or its PostgreSQL URL */
    char db_flag[PAY_DATABASE_MAX + 20]; /* " --database URL" in the pg suite */
};

static struct h_platform pf;
static struct h_merchant ma;

/* Every secret the tests type or receive, for the scan at the end: SMS and TOTP codes, CVV2s
 * and the TOTP secret (the passwords and card numbers are constants). */
static char used[64][72];
static size_t n_used;

static void remember(const char *secret)
{
    assert_true(n_used < sizeof used / sizeof used[0]);
    snprintf(used[n_used++], sizeof used[0], "%s", secret);
}
static struct h_notify_sink sink;
static struct bank banks[2] = {{.code = "icbc", .bin = "622202"}, {.code = "abc", .bin = "622848"}};

/* Runs `paygate bank serve` on b's data dir on a free port and waits for its URL. */
static void bank_spawn(struct bank *b)
{
    char path[300], cmd[4096];
    snprintf(path, sizeof path, "%s/url", b->dir);
    unlink(path);
    b->url[0] = '\0';
    snprintf(cmd, sizeof cmd,
             "exec '%s' bank serve --data-dir %s/data%s --code %s --bin %s --demo-data"
             " --fast-hash --listen 127.0.0.1:0 --print-url-file %s/url --notify-timeout 5s"
             " >>%s/stdout.txt 2>>%s/bank.log",
             h_paygate, b->dir, b->db_flag, b->code, b->bin, b->dir, b->dir, b->dir);
    b->pid = th_spawn_sh(cmd);
    assert_int_equal(th_wait_url_file(b->pid, path, b->url, sizeof b->url, TH_START_TIMEOUT_MS), 0);
}

static void bank_start(struct bank *b)
{
    assert_int_equal(th_tmpdir(b->dir, sizeof b->dir, "paygate-pfbank"), 0);
    char file[300];
    snprintf(file, sizeof file, "%s/data/bank.db", b->dir);
    assert_int_equal(th_db_new(b->code, file, b->db, sizeof b->db), 0);
    th_db_flag(b->db, b->db_flag, sizeof b->db_flag);
    assert_int_equal(
        th_sh("'%s' bank merchant add --data-dir %s/data%s --code %s --bin %s --fast-hash"
              " --mer-id PAYGATE --name PayGate --referrer-domain 127.0.0.1"
              " --notify-domain 127.0.0.1 --allow-no-referer --out %s/mer"
              " >%s/cli.log 2>&1",
              h_paygate, b->dir, b->db_flag, b->code, b->bin, b->dir, b->dir),
        0);
    char json[1024], path[300];
    snprintf(path, sizeof path, "%s/mer/merchant.json", b->dir);
    th_read_text(path, json, sizeof json);
    json_t *j = json_loads(json, 0, NULL);
    snprintf(b->acct, sizeof b->acct, "%s", h_str(j, "merAcct"));
    json_decref(j);
    assert_true(b->acct[0] != '\0');
    bank_spawn(b);
}

static void bank_stop(struct bank *b)
{
    th_stop(&b->pid, SIGTERM);
    th_tmpdir_done(b->dir);
}

static int group_setup(void **state)
{
    for (int i = 0; i < 2; i++)
        bank_start(&banks[i]);
    /* on the test clock: retries come when a test moves it (th_clock_advance) */
    h_setup(&pf, &ma, NULL,
            "timeout_min = 1s\nbanks = icbc,abc\nsandbox_sms = true\n[server]\nfake_clock = true");
    h_add_consumer(&pf, "13900000009", "correct horse", "135790");
    h_add_consumer(&pf, "13900000010", "correct horse", "135790"); /* legacy rows */
    char ini[300];
    snprintf(ini, sizeof ini, "%s/platform.ini", pf.dir);
    FILE *f = fopen(ini, "a");
    assert_non_null(f);
    for (int i = 0; i < 2; i++) {
        struct bank *b = &banks[i];
        fprintf(f,
                "[bank.%s]\nname = Bank %s\ngateway_url = %s\nmer_id = PAYGATE\nmer_acct = %s\n"
                "key_file = %s/mer/merchant.key\ncert_file = %s/mer/merchant.crt\n"
                "bank_cert_file = %s/data/keys/sign.crt\nca_file = %s/data/keys/ca.crt\n"
                "allow_private = true\n",
                b->code, b->code, b->url, b->acct, b->dir, b->dir, b->dir, b->dir);
    }
    fclose(f);
    h_start(&pf);
    h_sink_start(&sink, pf.pk, 0);
    return 0;
}

static int group_teardown(void **state)
{
    h_sink_stop(&sink);
    h_teardown(&pf);
    for (int i = 0; i < 2; i++)
        bank_stop(&banks[i]);
    return 0;
}

/* --- browsing two sites (h_browser in harness.h) ------------------------------------------- */

/* The bank's newest SMS code for phone, remembered for the secrets scan. */
static void sms_code(const struct bank *bk, const char *phone, char out[7])
{
    h_bank_sms_code(bk->url, phone, out);
    remember(out);
}

/* Cashier -> bank choice -> the bank's pages up to the confirmation page. */
static void to_bank_confirm(struct h_browser *b, const char *trade_id, const struct bank *bk)
{
    char url[256], form[256];
    snprintf(url, sizeof url, "%s/cashier/%s", pf.url, trade_id);
    h_browser_req(b, "GET", url, NULL, false);
    assert_int_equal(b->status, 200);
    char bank_button[64];
    snprintf(bank_button, sizeof bank_button, "id=\"bank-%s\"", bk->code);
    assert_non_null(strstr(b->page, bank_button));
    snprintf(form, sizeof form, "csrf=%s&bank=%s", b->csrf_cookie, bk->code);
    snprintf(url, sizeof url, "%s/cashier/%s/pay/bank", pf.url, trade_id);
    h_browser_req(b, "POST", url, form, false);
    assert_int_equal(b->status, 200);
    assert_non_null(strstr(b->page, "data-page=\"bank-redirect\""));
    static const char *const names[] = {"interfaceName", "interfaceVersion", "tranData",
                                        "merSignMsg", "merCert"};
    struct pay_buf f;
    pay_buf_init(&f, 65536);
    for (size_t i = 0; i < 5; i++) {
        char *v = calloc(1, 16384);
        th_input_value(b->page, names[i], v, 16384);
        assert_true(v[0] != '\0');
        assert_int_equal(pay_form_append(&f, names[i], v), 0);
        free(v);
    }
    assert_non_null(strstr(b->page, bk->url)); /* the form goes to the chosen bank */
    snprintf(url, sizeof url, "%s/b2c/pay", bk->url);
    h_browser_req(b, "POST", url, pay_buf_str(&f), true);
    pay_buf_fini(&f);
    if (b->status != 200)
        fprintf(stderr, "b2c/pay -> %ld %.600s\n", b->status, b->page);
    assert_int_equal(b->status, 200);
    assert_non_null(strstr(b->page, "data-page=\"card\""));
    char pan[20];
    snprintf(pan, sizeof pan, "%s0000000015", bk->bin); /* demo card 1 (Luhn digit 5) */
    h_bank_step(b, bk->url, "/b2c/card", "cardNo", pan);
    h_bank_step(b, bk->url, "/b2c/password", "password", "123456");
    char code[7];
    sms_code(bk, "13800000001", code);
    h_bank_step(b, bk->url, "/b2c/sms", "smsCode", code);
    assert_non_null(strstr(b->page, "data-page=\"confirm\""));
}

static const char *trade_state(const char *id, const char *field)
{
    return h_trade_field(&pf, &ma, id, field);
}

static char paid_id[64];

static void pay_by_online_banking(void **state)
{
    snprintf(paid_id, sizeof paid_id, "%s", h_create_trade(&pf, &ma, "bank-1", "123.00", sink.url));
    struct h_browser b = {0};
    to_bank_confirm(&b, paid_id, &banks[0]);
    h_bank_step(&b, banks[0].url, "/b2c/confirm", NULL, NULL);
    assert_non_null(strstr(b.page, "data-page=\"result\""));
    h_browser_fini(&b);
    /* HS: the bank notified the platform before it showed the result page */
    assert_string_equal(trade_state(paid_id, "state"), "TRADE_SUCCESS");
    assert_string_equal(trade_state(paid_id, "pay_method"), "bank");
    assert_string_equal(trade_state(paid_id, "fee.value"), "0.74"); /* 60 bp of 123.00 */
    assert_int_equal(h_sink_wait(&sink, 1, 60000), 1);
    assert_string_equal(sink.last_state, "TRADE_SUCCESS");
}

static void refund_through_bank(void **state)
{
    char body[256], path[256];
    struct h_reply r;
    snprintf(body, sizeof body,
             "{\"out_refund_no\":\"brf-1\",\"amount\":{\"value\":\"23.00\",\"currency\":\"CNY\"}}");
    snprintf(path, sizeof path, "/v1/trades/%s/refunds", paid_id);
    h_call(&pf, &ma, "POST", path, body, "brf-1", &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(h_str(r.json, "status"), "PROCESSING");
    char rid[64];
    snprintf(rid, sizeof rid, "%s", h_str(r.json, "refund_id"));
    h_reply_fini(&r);
    snprintf(path, sizeof path, "/v1/trades/%s/refunds/%s", paid_id, rid);
    /* the sweeper sends it to the bank and books the answer: once it has looked, it is done */
    assert_int_equal(th_clock_advance(pf.url, 0), 0);
    h_call(&pf, &ma, "GET", path, NULL, NULL, &r);
    assert_string_equal(h_str(r.json, "status"), "SUCCESS");
    h_reply_fini(&r);
    /* the merchant heard of the payment, the refund, and the refund's success */
    assert_int_equal(h_sink_wait(&sink, 3, 60000), 3);
}

static void late_notification_refunded(void **state)
{
    char id[64], path[128];
    snprintf(id, sizeof id, "%s", h_create_trade(&pf, &ma, "bank-late", "50.00", NULL));
    struct h_browser b = {0};
    to_bank_confirm(&b, id, &banks[1]);
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s/close", id); /* closed while at the bank */
    h_call(&pf, &ma, "POST", path, NULL, "late-close", &r);
    assert_int_equal(r.status, 200);
    h_reply_fini(&r);
    h_bank_step(&b, banks[1].url, "/b2c/confirm", NULL, NULL); /* the bank takes the money anyway */
    h_browser_fini(&b);
    assert_string_equal(trade_state(id, "state"), "TRADE_CLOSED");
    /* the sweeper sends it back through the bank's refund API when it looks next */
    assert_int_equal(th_clock_advance(pf.url, 0), 0);
    assert_int_equal(th_sh("'%s' bank movements --data-dir %s/data%s --account %s 2>/dev/null |"
                           " grep -q ' rf:.*DR *5000 CNY'",
                           h_paygate, banks[1].dir, banks[1].db_flag, banks[1].acct),
                     0);
}

/* The demo card's CVV2, as `paygate bank demo-cards` shows it (on a pipe, never in a file). */
static void demo_cvv2(const struct bank *bk, const char *pan, char out[4])
{
    char cmd[2048], text[4096] = "";
    snprintf(cmd, sizeof cmd, "'%s' bank demo-cards --data-dir %s/data%s", h_paygate, bk->dir,
             bk->db_flag);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(text, 1, sizeof text - 1, p);
    text[n] = '\0';
    assert_int_equal(pclose(p), 0);
    const char *line = strstr(text, pan), *c = line ? strstr(line, "cvv2 ") : NULL;
    assert_non_null(c);
    snprintf(out, 4, "%.3s", c + 5);
    remember(out);
}

/* The newest code in the platform's sandbox SMS outbox. */
static void platform_sms(char out[8])
{
    char url[256];
    snprintf(url, sizeof url, "%s/sandbox/sms", pf.url);
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &opt, &r, NULL), 0);
    json_t *j = json_loads(pay_buf_str(&r.body), 0, NULL);
    pay_http_client_response_fini(&r);
    json_t *m = json_array_get(json_object_get(j, "messages"), 0);
    const char *c = h_str(m, "code");
    assert_int_equal(strlen(c), 6);
    assert_non_null(strstr(h_str(m, "text"), c)); /* the code apart is the one in the text */
    snprintf(out, 8, "%s", c);
    json_decref(j);
    remember(out);
}

/* Bytes of the platform's database contain needle? (Agreement tokens are sealed: "agt_" must
 * never be stored in clear.) */
static bool db_contains(const char *needle)
{
    return h_count_in_db(&pf, needle) > 0;
}

static char bound_card[64]; /* the card bound by bind_card_topup_and_pay */

static void bind_card_topup_and_pay(void **state)
{
    struct h_browser b = {0};
    h_pf_get(&pf, &b, "/wallet");
    h_pf_post(&pf, &b, "/wallet/login", "login=13900000009&password=correct+horse");
    assert_int_equal(b.status, 303);
    h_pf_get(&pf, &b, "/wallet");
    assert_non_null(strstr(b.page, "bind-form"));
    char cvv[4], form[256], pan[20];
    snprintf(pan, sizeof pan, "%s0000000015", banks[0].bin);
    demo_cvv2(&banks[0], pan, cvv);
    snprintf(form, sizeof form, "bank=icbc&cardNo=%s&expiry=12%%2F30&cvv2=%s", pan, cvv);
    h_pf_post(&pf, &b, "/wallet/cards/verify", form);
    if (b.status != 200)
        fprintf(stderr, "verify: %ld %.500s\n", b.status, b.page);
    assert_int_equal(b.status, 200);
    char vid[80], code[7];
    th_input_value(b.page, "verification_id", vid, sizeof vid);
    assert_true(vid[0] != '\0');
    sms_code(&banks[0], "13800000001", code);
    snprintf(form, sizeof form, "bank=icbc&verification_id=%s&smsCode=%s", vid, code);
    h_pf_post(&pf, &b, "/wallet/cards/confirm", form);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "data-notice=\"card-bound\""));
    assert_non_null(strstr(b.page, "0015")); /* BIN + last four only */
    assert_null(strstr(b.page, pan));
    assert_false(db_contains("agt_")); /* the agreement token is stored sealed */
    const char *card = strstr(b.page, "data-card=\"");
    assert_non_null(card);
    char card_id[64];
    snprintf(card_id, sizeof card_id, "%.*s", (int)strcspn(card + 11, "\""), card + 11);
    snprintf(bound_card, sizeof bound_card, "%s", card_id);
    /* top up 300.00 from the card */
    snprintf(form, sizeof form, "card_id=%s&amount=300.00&pay_password=135790", card_id);
    h_pf_post(&pf, &b, "/wallet/topup", form);
    if (b.status != 200)
        fprintf(stderr, "topup: %ld %.500s\n", b.status, b.page);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "id=\"balance\" data-amount=\"300.00\""));
    /* withdraw 100.00 to the bound card, chosen from the list: the form has no account field */
    assert_null(strstr(b.page, "name=\"to_account\""));
    snprintf(form, sizeof form, "card_id=%s&amount=100.00&pay_password=135790", card_id);
    h_pf_post(&pf, &b, "/wallet/withdraw", form);
    if (b.status != 200)
        fprintf(stderr, "withdraw: %ld %.500s\n", b.status, b.page);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "id=\"balance\" data-amount=\"200.00\""));
    /* listed by the card's bank and last four */
    assert_non_null(strstr(b.page, "<td data-bank=\"icbc\">Bank icbc ····0015</td>"));
    /* a typed account (the old form) is refused and moves nothing */
    char json[1024], path0[300];
    snprintf(path0, sizeof path0, "%s/data/demo-merchant/merchant.json", banks[0].dir);
    th_read_text(path0, json, sizeof json);
    json_t *dm = json_loads(json, 0, NULL);
    snprintf(form, sizeof form, "bank=icbc&to_account=%s&amount=1.00&pay_password=135790",
             h_str(dm, "merAcct"));
    json_decref(dm);
    h_pf_post(&pf, &b, "/wallet/withdraw", form);
    assert_int_equal(b.status, 400);
    assert_non_null(strstr(b.page, "请选择一张已绑定的银行卡")); /* in Chinese, the default */
    assert_non_null(strstr(b.page, "id=\"balance\" data-amount=\"200.00\""));
    snprintf(form, sizeof form, "card_id=%s&amount=900.00&pay_password=135790", card_id);
    h_pf_post(&pf, &b, "/wallet/withdraw", form); /* more than the wallet holds */
    assert_int_equal(b.status, 409);
    /* pay a trade with the bound card on the cashier */
    char id[64], path[128];
    snprintf(id, sizeof id, "%s", h_create_trade(&pf, &ma, "card-1", "45.00", NULL));
    snprintf(path, sizeof path, "/cashier/%s", id);
    h_pf_get(&pf, &b, path);
    assert_non_null(strstr(b.page, "card-form"));
    snprintf(form, sizeof form, "card_id=%s&pay_password=135790", card_id);
    snprintf(path, sizeof path, "/cashier/%s/pay/card", id);
    h_pf_post(&pf, &b, path, form);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "sms-form")); /* a code went to the consumer's phone */
    assert_non_null(strstr(b.page, "data-page=\"cashier-sms\""));
    char challenge[64], pf_code[8];
    th_input_value(b.page, "challenge", challenge, sizeof challenge);
    platform_sms(pf_code);
    snprintf(form, sizeof form, "card_id=%s&challenge=%s&smsCode=000000", card_id, challenge);
    if (strcmp(pf_code, "000000") == 0)
        snprintf(form, sizeof form, "card_id=%s&challenge=%s&smsCode=111111", card_id, challenge);
    snprintf(path, sizeof path, "/cashier/%s/pay/card/confirm", id);
    h_pf_post(&pf, &b, path, form); /* a wrong code */
    assert_int_equal(b.status, 401);
    assert_string_equal(trade_state(id, "state"), "WAIT_BUYER_PAY");
    snprintf(form, sizeof form, "card_id=%s&challenge=%s&smsCode=%s", card_id, challenge, pf_code);
    h_pf_post(&pf, &b, path, form);
    if (b.status != 200)
        fprintf(stderr, "card pay: %ld %.500s\n", b.status, b.page);
    assert_int_equal(b.status, 200);
    assert_string_equal(trade_state(id, "state"), "TRADE_SUCCESS");
    assert_string_equal(trade_state(id, "pay_method"), "card");
    h_browser_fini(&b);
}

/* The data-status of withdrawal id on the wallet page ("" when not listed). */
static const char *withdrawal_status(const char *page, const char *id, char out[16])
{
    char key[96];
    snprintf(key, sizeof key, "data-id=\"%s\" data-status=\"", id);
    const char *p = strstr(page, key);
    snprintf(out, 16, "%.*s", p ? (int)strcspn(p + strlen(key), "\"") : 0,
             p ? p + strlen(key) : "");
    return out;
}

/* How many attempts the platform made to send withdrawal id: its log has one wallet.withdraw
 * line per attempt ("... wallet.withdraw rid=- id=wd_... attempt=N ..."). */
static int withdraw_attempts(const char *id)
{
    char path[300], needle[96];
    snprintf(path, sizeof path, "%s/platform.log", pf.dir);
    snprintf(needle, sizeof needle, " id=%s ", id);
    char *text = calloc(1, 1 << 22);
    assert_non_null(text);
    th_read_text(path, text, 1 << 22);
    int n = 0;
    for (const char *p = strstr(text, "wallet.withdraw "); p;
         p = strstr(p + 1, "wallet.withdraw ")) {
        const char *at = strstr(p, " id=");
        n += at != NULL && strncmp(at, needle, strlen(needle)) == 0;
    }
    free(text);
    return n;
}

/* The id of the newest withdrawal on the wallet page. */
static void newest_withdrawal(const char *page, char out[64])
{
    const char *p = strstr(page, "class=\"withdrawal\" data-id=\"");
    assert_non_null(p);
    p += strlen("class=\"withdrawal\" data-id=\"");
    snprintf(out, 64, "%.*s", (int)strcspn(p, "\""), p);
}

/* The bank is down when the consumer withdraws: the withdrawal is pending with the money
 * held, also across a restart of the platform; when the bank is back the worker completes it
 * with the same transferId, exactly once.
 * A withdrawal the bank refuses (unknown account) gives the money back. */
/* Replaces the first `from` in the platform's INI file with `to`. */
static void replace_in_ini(const char *from, const char *to)
{
    char path[300], text[16384], out[sizeof text + 256];
    snprintf(path, sizeof path, "%s/platform.ini", pf.dir);
    assert_true(th_read_text(path, text, sizeof text) < sizeof text - 1);
    char *at = strstr(text, from);
    assert_non_null(at);
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(out, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void withdrawal_survives_bank_outage(void **state)
{
    struct h_browser b = {0};
    h_pf_get(&pf, &b, "/wallet");
    h_pf_post(&pf, &b, "/wallet/login", "login=13900000009&password=correct+horse");
    assert_int_equal(b.status, 303);
    h_pf_get(&pf, &b, "/wallet");
    assert_non_null(strstr(b.page, "id=\"balance\" data-amount=\"200.00\""));
    char form[256], id[64], st[16];
    kill(banks[0].pid, SIGTERM); /* the bank is unreachable */
    waitpid(banks[0].pid, NULL, 0);
    banks[0].pid = 0;
    snprintf(form, sizeof form, "card_id=%s&amount=50.00&pay_password=135790", bound_card);
    h_pf_post(&pf, &b, "/wallet/withdraw", form);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(b.page, "data-notice=\"withdrawal-pending\""));
    assert_non_null(strstr(b.page, "id=\"balance\" data-amount=\"150.00\"")); /* held, not lost */
    newest_withdrawal(b.page, id);
    assert_string_equal(withdrawal_status(b.page, id, st), "pending");
    /* the retry comes 1 s after the first attempt (backoff 1 s, 2 s, ...), not before */
    assert_int_equal(withdraw_attempts(id), 1);
    assert_int_equal(th_clock_advance(pf.url, 999), 0);
    assert_int_equal(withdraw_attempts(id), 1);
    assert_int_equal(th_clock_advance(pf.url, 1), 0);
    assert_int_equal(withdraw_attempts(id), 2); /* the retry happened, and failed */
    h_pf_get(&pf, &b, "/wallet");
    assert_string_equal(withdrawal_status(b.page, id, st), "pending");
    h_stop(&pf, SIGTERM); /* the pending withdrawal survives a restart of the platform */
    /* the bank comes back on a new free port (its old one may have been taken meanwhile),
     * which the restarted platform reads from its configuration */
    char old_url[sizeof banks[0].url];
    snprintf(old_url, sizeof old_url, "%s", banks[0].url);
    bank_spawn(&banks[0]);
    replace_in_ini(old_url, banks[0].url);
    h_start(&pf); /* with its test clock where it was */
    assert_int_equal(th_clock_advance(pf.url, 1999), 0);
    assert_int_equal(withdraw_attempts(id), 2);
    assert_int_equal(th_clock_advance(pf.url, 1), 0); /* the third attempt, 2 s later */
    assert_int_equal(withdraw_attempts(id), 3);
    h_pf_get(&pf, &b, "/wallet");
    assert_string_equal(withdrawal_status(b.page, id, st), "succeeded");
    assert_non_null(strstr(b.page, "id=\"balance\" data-amount=\"150.00\""));
    /* exactly one transfer at the bank with that transferId */
    assert_int_equal(
        th_sh("test $('%s' bank movements --data-dir %s/data%s --account %s | grep -c '%s')"
              " -eq 1",
              h_paygate, banks[0].dir, banks[0].db_flag, banks[0].acct, id),
        0);
    /* a refusal is definitive: the money goes back to the wallet. The bank refuses a transfer
     * larger than the platform's reserve there (295.00 by now); the sandbox funds the wallet */
    h_wallet_credit(&pf, "13900000009", "1000.00");
    snprintf(form, sizeof form, "card_id=%s&amount=900.00&pay_password=135790", bound_card);
    h_pf_post(&pf, &b, "/wallet/withdraw", form);
    assert_int_equal(b.status, 402);
    h_pf_get(&pf, &b, "/wallet");
    newest_withdrawal(b.page, id);
    assert_string_equal(withdrawal_status(b.page, id, st), "failed");
    assert_non_null(strstr(b.page, "id=\"balance\" data-amount=\"1150.00\""));
    h_browser_fini(&b);
}

/* 50 wrong SMS codes at once on the cashier's card payment: at most the limit are checked
 * ("N attempts left", then "locked"), the others refused unchecked, and the right code sent
 * after them is refused: the trade stays unpaid. */
static void parallel_wrong_sms_codes(void **state)
{
    enum { N = 50 };
    struct h_browser b = {0};
    h_pf_get(&pf, &b, "/wallet");
    h_pf_post(&pf, &b, "/wallet/login", "login=13900000009&password=correct+horse");
    assert_int_equal(b.status, 303);
    char id[64], path[128], form[256], challenge[64], code[8], wrong[8], csrf[128];
    snprintf(id, sizeof id, "%s", h_create_trade(&pf, &ma, "card-burst", "5.00", NULL));
    snprintf(path, sizeof path, "/cashier/%s", id);
    h_pf_get(&pf, &b, path);
    snprintf(form, sizeof form, "card_id=%s&pay_password=135790", bound_card);
    snprintf(path, sizeof path, "/cashier/%s/pay/card", id);
    h_pf_post(&pf, &b, path, form);
    assert_int_equal(b.status, 200);
    th_input_value(b.page, "challenge", challenge, sizeof challenge);
    th_input_value(b.page, "csrf", csrf, sizeof csrf);
    platform_sms(code);
    snprintf(wrong, sizeof wrong, "%s", code);
    wrong[5] = (char)(wrong[5] == '9' ? '0' : wrong[5] + 1);
    static struct h_shot shots[N];
    for (int i = 0; i < N; i++) {
        memset(&shots[i], 0, sizeof shots[i]);
        snprintf(shots[i].url, sizeof shots[i].url, "%s/cashier/%s/pay/card/confirm", pf.url, id);
        snprintf(shots[i].form, sizeof shots[i].form, "csrf=%s&card_id=%s&challenge=%s&smsCode=%s",
                 csrf, bound_card, challenge, wrong);
        snprintf(shots[i].cookie, sizeof shots[i].cookie,
                 "Cookie: pf_csrf=%s; pf_session=%s; lang=en", /* English: the wording counts */
                 b.csrf_cookie, b.session);
    }
    h_fire_all(shots, N);
    int left = 0, last = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        left += shots[i].status == 401 && strstr(shots[i].page, "wrong code;") &&
                strstr(shots[i].page, " left");
        last += shots[i].status == 423 && strstr(shots[i].page, "wrong code; locked for") != NULL;
        refused += shots[i].status == 423 && strstr(shots[i].page, "locked after") != NULL;
    }
    assert_int_equal(left, PAY_LOCKOUT_ATTEMPTS - 1);
    assert_int_equal(last, 1);
    assert_int_equal(refused, N - PAY_LOCKOUT_ATTEMPTS);
    struct h_shot right = shots[0];
    snprintf(right.form, sizeof right.form, "csrf=%s&card_id=%s&challenge=%s&smsCode=%s", csrf,
             bound_card, challenge, code);
    h_fire_all(&right, 1);
    assert_int_equal(right.status, 423);
    assert_string_equal(trade_state(id, "state"), "WAIT_BUYER_PAY");
    h_browser_fini(&b);
}

static int64_t balance(struct pay_ledger *lg, const char *id)
{
    return h_ledger_debit_balance(lg, id);
}

static void ledger_and_bank_agree(void **state)
{
    /* the late refund's booking follows the bank's answer: done once the sweeper looked */
    assert_int_equal(th_clock_advance(pf.url, 0), 0);
    h_stop(&pf, SIGTERM);
    struct pay_store *s = NULL;
    struct pay_ledger *lg = h_ledger_open(&pf, &s);
    /* reserve at icbc: 123.00 in, 23.00 refunded, 300.00 top-up, 45.00 card payment, 100.00 and
     * 50.00 withdrawn; at abc:
     * 50.00 in and back */
    assert_int_equal(balance(lg, "pf.reserve.icbc.CNY"), 10000 + 30000 + 4500 - 10000 - 5000);
    assert_int_equal(balance(lg, "pf.reserve.abc.CNY"), 0);
    assert_int_equal(balance(lg, "pf.refunds.CNY"), 0);
    /* merchant: 123.00 - 0.74 fee - (23.00 - 0.13 fee share) + 45.00 - 0.27 fee */
    assert_int_equal(-balance(lg, "pf.merchant.m_a.CNY"), 12300 - 74 - (2300 - 13) + 4500 - 27);
    h_ledger_close(s, lg);
    assert_int_equal(h_ledger_verify(&pf), 0);
    for (int i = 0; i < 2; i++) /* and the banks' ledgers are clean too */
        assert_int_equal(th_ledger_verify(h_paygate, banks[i].db), 0);
    /* the platform's merchant account at icbc holds what the reserve says */
    assert_int_equal(th_sh("'%s' bank movements --data-dir %s/data%s --account %s | grep -q 12300",
                           h_paygate, banks[0].dir, banks[0].db_flag, banks[0].acct),
                     0);
}

/* What older versions stored in clear: an agreement token (migration 8), a TOTP secret
 * (migration 11) and the typed account of a withdrawal (migration 12). */
static enum pay_err legacy_rows_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    (void)ctx;
    enum pay_err e = pay_store_exec(
        tx, err,
        "INSERT INTO pf_cards (id, consumer_id, bank, agreement_token, bin, last4, created_ms,"
        " token_sealed) SELECT 'ca_legacy', consumer_id, 'icbc', 'agt_legacyClearToken', '622202',"
        " '0099', 1, 0 FROM pf_cards LIMIT 1",
        "");
    if (e == PAY_ERR_OK)
        e = pay_store_exec(tx, err,
                           "UPDATE pf_consumers SET totp_secret = 'LEGACYCLEARTOTPSECRET234',"
                           " totp_sealed = 0 WHERE login = '13900000010'",
                           "");
    if (e == PAY_ERR_OK)
        e = pay_store_exec(
            tx, err,
            "INSERT INTO pf_withdrawals (id, consumer_id, bank, to_account, amount_minor, currency,"
            " status, next_attempt_ms, created_ms, done_ms, to_account_sealed) SELECT 'wd_legacy',"
            " consumer_id, 'icbc', 'acct_legacyTypedAccount', 100, 'CNY', 'failed', 1, 1, 1, 0"
            " FROM pf_cards LIMIT 1",
            "");
    return e;
}

/* Secrets stored in clear by an older version are sealed at the next start (the flag columns
 * of migrations 8, 11 and 12 say which), and the card still works (it is listed with its last
 * four). SQLite only: such rows exist only in SQLite files of old versions, and only SQLite
 * overwrites a deleted row in place (secure_delete; PostgreSQL keeps old row versions until
 * VACUUM, docs/store.md). */
static void legacy_secrets_sealed_at_start(void **state)
{
    const struct pay_store_component *comps[] = {&pay_ledger_schema, NULL};
    struct pay_store *s = NULL;
    assert_int_equal(pay_store_open(pf.db, NULL, comps, &s, NULL), PAY_ERR_OK);
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_tx(s, legacy_rows_tx, NULL, &err), PAY_ERR_OK);
    pay_store_close(s);
    static const char *const clear[] = {"agt_legacyClearToken", "LEGACYCLEARTOTPSECRET234",
                                        "acct_legacyTypedAccount"};
    for (size_t i = 0; i < 3; i++)
        assert_true(db_contains(clear[i]));
    h_start(&pf);
    h_stop(&pf, SIGTERM);
    for (size_t i = 0; i < 3; i++)
        assert_false(db_contains(clear[i]));
    assert_false(db_contains("agt_"));
    assert_int_equal(h_ledger_verify(&pf), 0);
}

/* --- every payment route, then a scan of every file for the secrets used -------------------- */

/* The wallet route at the cashier and the QR route on the phone page. */
static void pay_wallet_and_qr(void)
{
    char id[64], path[160];
    snprintf(id, sizeof id, "%s", h_create_trade(&pf, &ma, "scan-wallet", "3.00", NULL));
    assert_int_equal(h_cashier_pay_wallet(&pf, id, "13900000009", "correct+horse", "135790"), 200);
    assert_string_equal(trade_state(id, "state"), "TRADE_SUCCESS");
    struct h_reply r;
    h_call(&pf, &ma, "POST", "/v1/trades",
           "{\"out_trade_no\":\"scan-qr\",\"amount\":{\"value\":\"4.00\",\"currency\":"
           "\"CNY\"},\"subject\":\"coffee\",\"product\":\"qr\"}",
           "scan-qr", &r);
    assert_int_equal(r.status, 201);
    snprintf(id, sizeof id, "%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    struct h_browser phone = {0};
    snprintf(path, sizeof path, "/m/pay/%s", id);
    h_pf_get(&pf, &phone, path);
    snprintf(path, sizeof path, "/m/pay/%s/login", id);
    h_pf_post(&pf, &phone, path, "login=13900000009&password=correct+horse");
    assert_int_equal(phone.status, 303);
    snprintf(path, sizeof path, "/m/pay/%s", id);
    h_pf_get(&pf, &phone, path);
    snprintf(path, sizeof path, "/m/pay/%s/confirm", id);
    h_pf_post(&pf, &phone, path, "pay_password=135790");
    assert_int_equal(phone.status, 200);
    h_browser_fini(&phone);
    assert_string_equal(trade_state(id, "pay_method"), "qr");
}

/* A merchant paid directly at the bank (B2C, no platform): the bank's demo merchant signs the
 * order form with libpaygate and the consumer walks the bank's pages. */
static void pay_direct_at_bank(const struct bank *bk)
{
    char mer[300], cert[300], url[256];
    snprintf(mer, sizeof mer, "%s/data/demo-merchant", bk->dir);
    snprintf(cert, sizeof cert, "%s/data/keys/sign.crt", bk->dir);
    paygate_error e = {0};
    paygate_bank_config cfg = {
        .gateway_url = bk->url, .merchant_dir = mer, .bank_cert_file = cert, .allow_loopback = 1};
    paygate_bank *pb = paygate_bank_new(&cfg, &e);
    assert_non_null(pb);
    paygate_bank_order o = {.order_id = "SCAN-B2C-1",
                            .amount = 888,
                            .goods_name = "Tea",
                            .notify_url = "http://127.0.0.1:1/notify"};
    char *form = paygate_bank_order_form(pb, &o, &e);
    assert_non_null(form);
    paygate_bank_free(pb);
    static const char *const names[] = {"interfaceName", "interfaceVersion", "tranData",
                                        "merSignMsg", "merCert"};
    struct pay_buf f;
    pay_buf_init(&f, 1 << 16);
    for (size_t i = 0; i < 5; i++) {
        char *v = calloc(1, 16384);
        th_input_value(form, names[i], v, 16384);
        assert_int_equal(pay_form_append(&f, names[i], v), 0);
        free(v);
    }
    free(form);
    struct h_browser b = {0};
    snprintf(url, sizeof url, "%s/b2c/pay", bk->url);
    h_browser_req(&b, "POST", url, pay_buf_str(&f), true);
    pay_buf_fini(&f);
    assert_non_null(strstr(b.page, "data-page=\"card\""));
    char pan[20], code[7];
    snprintf(pan, sizeof pan, "%s0000000015", bk->bin);
    h_bank_step(&b, bk->url, "/b2c/card", "cardNo", pan);
    h_bank_step(&b, bk->url, "/b2c/password", "password", "123456");
    sms_code(bk, "13800000001", code);
    h_bank_step(&b, bk->url, "/b2c/sms", "smsCode", code);
    h_bank_step(&b, bk->url, "/b2c/confirm", NULL, NULL);
    assert_non_null(strstr(b.page, "data-page=\"result\""));
    h_browser_fini(&b);
}

/* Two-step login turned on (secret, first code), then a login with the next code. */
static void use_totp(void)
{
    struct h_browser b = {0};
    h_pf_get(&pf, &b, "/wallet");
    h_pf_post(&pf, &b, "/wallet/login", "login=13900000009&password=correct+horse");
    assert_int_equal(b.status, 303);
    h_pf_get(&pf, &b, "/wallet");
    h_pf_post(&pf, &b, "/wallet/totp", "x=1");
    const char *m = strstr(b.page, "id=\"totp-secret\">");
    assert_non_null(m);
    char secret[64], code[8], form[128];
    snprintf(secret, sizeof secret, "%.*s", (int)strcspn(m + 17, "<"), m + 17);
    remember(secret);
    uint8_t key[64];
    size_t n = 0;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(pay_base32_decode(key, sizeof key, secret, strlen(secret), &n), 0);
    for (int step = 0; step < 2; step++) {
        assert_int_equal(pay_totp_code(key, n, now + 30 * step, 6, code, sizeof code), 0);
        remember(code);
        if (step == 0) {
            snprintf(form, sizeof form, "code=%s", code);
            h_pf_post(&pf, &b, "/wallet/totp/confirm", form);
            assert_non_null(strstr(b.page, "data-notice=\"totp-on\""));
        } else {
            struct h_browser c = {0};
            h_pf_get(&pf, &c, "/wallet");
            snprintf(form, sizeof form, "login=13900000009&password=correct+horse&totp=%s", code);
            h_pf_post(&pf, &c, "/wallet/login", form);
            assert_int_equal(c.status, 303);
            h_browser_fini(&c);
        }
    }
    h_browser_fini(&b);
}

/* Files only their owner may read: databases with -wal/-shm, keys, keyrings. Directories too. */
static size_t open_files;

static int check_mode(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    static const char *const secret_suffix[] = {".db",  ".db-wal", ".db-shm",
                                                ".key", ".keys",   "-key.pem"};
    bool secret = type == FTW_D;
    for (size_t i = 0; i < sizeof secret_suffix / sizeof secret_suffix[0]; i++) {
        size_t n = strlen(name), k = strlen(secret_suffix[i]);
        secret |= n >= k && strcmp(name + n - k, secret_suffix[i]) == 0;
    }
    if (secret && (st->st_mode & 077)) {
        fprintf(stderr, "mode %03o: %s\n", (unsigned)(st->st_mode & 0777), path);
        open_files++;
    }
    return 0;
}

/* The scan. Needles that are bare digits (codes, digit passwords) count only with no digit
 * next to them and not as a request's duration ("us=N"), and only in text files: a binary
 * database holds every 6-digit run by chance sooner or later. Their forms in a message or a
 * form ("Code N", "smsCode=N", ...) and every other needle count everywhere. */
struct needle {
    char text[48];
    bool bare_digits;
};
static struct needle needles[160];
static size_t n_needles, hits, scanned;

/* The needle before + v + after. */
static void add_needle(bool bare, const char *before, const char *v, const char *after)
{
    assert_true(n_needles < sizeof needles / sizeof needles[0]);
    snprintf(needles[n_needles].text, sizeof needles[0].text, "%s%s%s", before, v, after);
    needles[n_needles++].bare_digits = bare;
}

static size_t count_in(const char *buf, size_t len, const struct needle *nd)
{
    size_t n = 0, k = strlen(nd->text);
    for (const char *p = buf; (p = memmem(p, len - (size_t)(p - buf), nd->text, k)) != NULL; p++) {
        bool lone = (p == buf || !isdigit((unsigned char)p[-1])) &&
                    (p + k == buf + len || !isdigit((unsigned char)p[k])) &&
                    !(p - buf >= 3 && memcmp(p - 3, "us=", 3) == 0);
        n += !nd->bare_digits || lone;
    }
    return n;
}

static int scan_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type != FTW_F || st->st_size == 0)
        return 0;
    size_t plen = strlen(path);
    const char *cluster = getenv("PAYGATE_TEST_PG_DATA"); /* the pg suite's: all binary pages */
    bool binary = (strstr(path, ".db") && (plen < 3 || strcmp(path + plen - 4, ".log") != 0)) ||
                  (th_db_is_pg() && cluster && strncmp(path, cluster, strlen(cluster)) == 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc((size_t)st->st_size);
    assert_non_null(buf);
    size_t len = fread(buf, 1, (size_t)st->st_size, f);
    fclose(f);
    scanned++;
    for (size_t i = 0; i < n_needles; i++) {
        if (binary && needles[i].bare_digits)
            continue;
        size_t h = count_in(buf, len, &needles[i]);
        if (h)
            fprintf(stderr, "found \"%s\" %zu times in %s\n", needles[i].text, h, path);
        hits += h;
    }
    free(buf);
    return 0;
}

static void build_needles(void)
{
    n_needles = 0;
    for (int b = 0; b < 2; b++)
        for (int serial = 1; serial <= 5; serial++) { /* every demo card of both banks */
            char body[16], pan[20];
            snprintf(body, sizeof body, "%s%09d", banks[b].bin, serial);
            int sum = 0;
            for (int i = 14; i >= 0; i--) {
                int d = body[i] - '0';
                if ((14 - i) % 2 == 0 && (d *= 2) > 9)
                    d -= 9;
                sum += d;
            }
            snprintf(pan, sizeof pan, "%s%d", body, (10 - sum % 10) % 10);
            add_needle(false, "", pan, "");
            char grouped[24];
            snprintf(grouped, sizeof grouped, "%.4s %.4s %.4s %.4s", pan, pan + 4, pan + 8,
                     pan + 12);
            add_needle(false, "", grouped, "");
        }
    add_needle(false, "", "correct horse", "");
    add_needle(false, "", "correct+horse", "");
    static const char *const digit_secrets[] = {"135790", "123456"}; /* payment, card password */
    for (size_t i = 0; i < 2; i++) {
        add_needle(true, "", digit_secrets[i], "");
        add_needle(false, "password=", digit_secrets[i], "");
    }
    for (size_t i = 0; i < n_used; i++) {
        size_t len = strlen(used[i]);
        bool digits = strspn(used[i], "0123456789") == len;
        if (digits && len == 3) { /* a CVV2: only in its forms, a bare one is everywhere */
            add_needle(false, "cvv2=", used[i], "");
            add_needle(false, "\"cvv2\":\"", used[i], "\"");
            add_needle(false, "cvv2 ", used[i], "");
        } else if (digits) { /* an SMS or TOTP code */
            add_needle(true, "", used[i], "");
            add_needle(false, "Code ", used[i], "");
            add_needle(false, "code is ", used[i], "");
            add_needle(false, "验证码 ", used[i], "");   /* the SMS texts in Chinese */
            add_needle(false, "验证码为 ", used[i], ""); /* (docs/i18n.md) */
            add_needle(false, "Code=", used[i], "");
            add_needle(false, "code=", used[i], "");
            add_needle(false, "totp=", used[i], "");
        } else { /* the TOTP secret */
            add_needle(false, "", used[i], "");
        }
    }
}

/* Every payment route (online banking, refunds, the late payment, binding a card, top-up,
 * card payment with an SMS code, withdrawals: the tests above; wallet, QR, a merchant paying
 * directly at the bank, two-step login: here), then every file of the platform's and the
 * banks' folders (databases, WAL, shm, logs, the servers' output) is scanned for every card
 * number, CVV2, password and code used: none may be there. The files that hold secrets are
 * 0600 and the folders 0700 while the servers run. */
static void every_route_then_no_secret_anywhere(void **state)
{
    h_start(&pf);
    pay_wallet_and_qr();
    pay_direct_at_bank(&banks[0]);
    use_totp();
    open_files = 0;
    assert_int_equal(nftw(pf.dir, check_mode, 16, FTW_PHYS), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(nftw(banks[i].dir, check_mode, 16, FTW_PHYS), 0);
    assert_int_equal(open_files, 0);
    h_stop(&pf, SIGTERM); /* the logs are complete once every server has stopped */
    for (int i = 0; i < 2; i++)
        assert_int_equal(th_stop(&banks[i].pid, SIGTERM), 0);
    build_needles();
    assert_true(n_used >= 8); /* the codes, CVV2 and TOTP secret of the routes above */
    /* the scan finds what it looks for: a file holding a card number and a code as a leaking
     * log line would */
    char ctl[256], path[300];
    assert_int_equal(th_tmpdir(ctl, sizeof ctl, "paygate-scanctl"), 0);
    snprintf(path, sizeof path, "%s/leak.log", ctl);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "sms.sent text=\"Code %s\" card=%s us=%s\n", used[0], needles[0].text, used[0]);
    fclose(f);
    hits = scanned = 0;
    assert_int_equal(nftw(ctl, scan_file, 16, FTW_PHYS), 0);
    assert_int_equal(hits, 3); /* the card, "Code N" and the lone N; not "us=N" */
    th_tmpdir_done(ctl);
    hits = scanned = 0;
    assert_int_equal(nftw(pf.dir, scan_file, 16, FTW_PHYS), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(nftw(banks[i].dir, scan_file, 16, FTW_PHYS), 0);
    assert_true(scanned >= 12); /* databases, logs and outputs of three servers */
    if (th_db_is_pg()) {        /* the three databases: every file of the cluster, WAL included */
        assert_int_equal(th_db_admin("CHECKPOINT"), 0);
        size_t before = scanned;
        assert_int_equal(nftw(getenv("PAYGATE_TEST_PG_DATA"), scan_file, 16, FTW_PHYS), 0);
        assert_true(scanned > before + 100);
    }
    assert_int_equal(hits, 0);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pay_by_online_banking),
        cmocka_unit_test(refund_through_bank),
        cmocka_unit_test(late_notification_refunded),
        cmocka_unit_test(bind_card_topup_and_pay),
        cmocka_unit_test(withdrawal_survives_bank_outage),
        cmocka_unit_test(parallel_wrong_sms_codes),
        cmocka_unit_test(ledger_and_bank_agree),
        cmocka_unit_test(legacy_secrets_sealed_at_start), /* SQLite only */
        cmocka_unit_test(every_route_then_no_secret_anywhere),
    };
    struct CMUnitTest run[sizeof tests / sizeof tests[0]];
    size_t n = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (!th_db_is_pg() || tests[i].test_func != legacy_secrets_sealed_at_start)
            run[n++] = tests[i];
    return th_finish(_cmocka_run_group_tests("platform and banks", run, n, group_setup,
                                             th_teardown(group_teardown)));
}
