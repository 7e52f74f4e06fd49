/* Receipts anyone can verify (docs/receipts.md), end to end: the real platform and two real
 * banks as witnesses, on the test clock. Trades paid by wallet on the cashier, by wallet on the
 * QR code's phone page, and by online banking at a bank each get a receipt once a tree head is
 * due (moved by the clock, never waited for); each receipt verifies with `paygate receipt
 * verify` and only the published keys (the platform's well-known key, each bank's
 * /api/v1/bank-key.pem); the next head is co-signed by both banks through a consistency proof
 * and the public consistency proof between them verifies. Then each kind of tampering is
 * caught by its own error: a receipt edited (leaf, root, co-signature) by the command; a forked
 * head and a head without its consistency proof, signed with the platform's own key, by the
 * banks (409 LOG_INCONSISTENT); a leaf row edited in the platform's database by the platform
 * itself (500 TRANSLOG_CORRUPT for receipts, and no head signed over it). */
#include "harness.h"
#include "lib/clock.h"
#include "lib/harness.h"
#include "lib/testdb.h"

#include "core/buf.h"
#include "core/limits.h"
#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "crypto/sign.h"
#include "http/client.h"
#include "http/codec.h"
#include "translog/translog.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bank {
    char code[16], bin[8], dir[256], url[128], acct[80];
    char db[PAY_DATABASE_MAX + 1], db_flag[PAY_DATABASE_MAX + 32]; /* SQLite or PostgreSQL */
    pid_t pid;
};

static struct h_platform pf;
static struct h_merchant ma, mb;
static struct bank banks[2] = {{.code = "icbc", .bin = "622202"}, {.code = "abc", .bin = "622848"}};
static char paid[3][40];   /* trade ids paid by wallet, QR, online banking */
static char keys_dir[300]; /* the published keys, as files: platform.pem, icbc.pem, abc.pem */

static void bank_start(struct bank *b)
{
    assert_int_equal(th_tmpdir(b->dir, sizeof b->dir, "paygate-rcbank"), 0);
    char json[1024], path[300], cmd[8192];
    snprintf(path, sizeof path, "%s/data/bank.db", b->dir);
    assert_int_equal(th_db_new(b->code, path, b->db, sizeof b->db), 0);
    th_db_flag(b->db, b->db_flag, sizeof b->db_flag);
    assert_int_equal(
        th_sh("'%s' bank merchant add --data-dir %s/data%s --code %s --bin %s --fast-hash"
              " --mer-id PAYGATE --name PayGate --referrer-domain 127.0.0.1"
              " --notify-domain 127.0.0.1 --allow-no-referer --out %s/mer >%s/cli.log 2>&1",
              h_paygate, b->dir, b->db_flag, b->code, b->bin, b->dir, b->dir),
        0);
    snprintf(path, sizeof path, "%s/mer/merchant.json", b->dir);
    th_read_text(path, json, sizeof json);
    json_t *j = json_loads(json, 0, NULL);
    snprintf(b->acct, sizeof b->acct, "%s", h_str(j, "merAcct"));
    json_decref(j);
    snprintf(path, sizeof path, "%s/url", b->dir);
    snprintf(cmd, sizeof cmd,
             "exec '%s' bank serve --data-dir %s/data%s --code %s --bin %s --demo-data"
             " --fast-hash --listen 127.0.0.1:0 --print-url-file %s/url >>%s/stdout.txt"
             " 2>>%s/bank.log",
             h_paygate, b->dir, b->db_flag, b->code, b->bin, b->dir, b->dir, b->dir);
    b->pid = th_spawn_sh(cmd);
    assert_int_equal(th_wait_url_file(b->pid, path, b->url, sizeof b->url, TH_START_TIMEOUT_MS), 0);
}

/* GET url into the file path (a published key). */
static void fetch_to(const char *url, const char *path, const char *json_field)
{
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request("GET", url, NULL, NULL, 0, &opt, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (json_field) {
        json_t *j = json_loads(pay_buf_str(&r.body), 0, NULL);
        fputs(h_str(j, json_field), f);
        json_decref(j);
    } else {
        fputs(pay_buf_str(&r.body), f);
    }
    fclose(f);
    pay_http_client_response_fini(&r);
}

static int group_setup(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++)
        bank_start(&banks[i]);
    h_setup(&pf, &ma, &mb,
            "timeout_min = 1s\nbanks = icbc,abc\nsandbox_sms = true\n[server]\nfake_clock = true");
    h_add_consumer(&pf, "13900000021", "correct horse", "135790");
    h_wallet_credit(&pf, "13900000021", "500.00");
    char ini[300];
    snprintf(ini, sizeof ini, "%s/platform.ini", pf.dir);
    FILE *f = fopen(ini, "a");
    assert_non_null(f);
    for (int i = 0; i < 2; i++)
        fprintf(f,
                "[bank.%s]\nname = Bank %s\ngateway_url = %s\nmer_id = PAYGATE\nmer_acct = %s\n"
                "key_file = %s/mer/merchant.key\ncert_file = %s/mer/merchant.crt\n"
                "bank_cert_file = %s/data/keys/sign.crt\nca_file = %s/data/keys/ca.crt\n"
                "allow_private = true\n",
                banks[i].code, banks[i].code, banks[i].url, banks[i].acct, banks[i].dir,
                banks[i].dir, banks[i].dir, banks[i].dir);
    fclose(f);
    h_start(&pf);
    char url[300], path[1400];
    snprintf(keys_dir, sizeof keys_dir, "%s/keys-published", pf.dir);
    assert_int_equal(th_sh("mkdir -p '%s'", keys_dir), 0);
    snprintf(url, sizeof url, "%s/.well-known/paygate-platform-key", pf.url);
    snprintf(path, sizeof path, "%s/platform.pem", keys_dir);
    fetch_to(url, path, "public_key_pem");
    for (int i = 0; i < 2; i++) {
        snprintf(url, sizeof url, "%s/api/v1/bank-key.pem", banks[i].url);
        snprintf(path, sizeof path, "%s/%.15s.pem", keys_dir, banks[i].code);
        fetch_to(url, path, NULL);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    h_teardown_verified(&pf);
    for (int i = 0; i < 2; i++) {
        th_stop(&banks[i].pid, SIGTERM);
        th_tmpdir_done(banks[i].dir);
    }
    return 0;
}

/* GET /v1/trades/{id}/receipt as merchant m; the status, the receipt saved to file when 200. */
static long get_receipt(const struct h_merchant *m, const char *trade_id, const char *file,
                        char *code, size_t code_n)
{
    char path[128];
    struct h_reply r;
    snprintf(path, sizeof path, "/v1/trades/%s/receipt", trade_id);
    h_call(&pf, m, "GET", path, NULL, NULL, &r);
    assert_true(r.sig_ok);
    long status = r.status;
    if (code)
        snprintf(code, code_n, "%s", h_err_code(&r));
    if (status == 200 && file) {
        FILE *f = fopen(file, "w");
        assert_non_null(f);
        fputs(r.body, f);
        fclose(f);
    }
    h_reply_fini(&r);
    return status;
}

/* `paygate receipt verify FILE` with the published keys (extra: more options); its exit
 * status, and its output in out. */
static int verify_cli(const char *file, const char *extra, char *out, size_t n)
{
    char log[400];
    snprintf(log, sizeof log, "%s.out", file);
    int rc = th_sh("'%s' receipt verify '%s' --platform-key '%s/platform.pem'"
                   " --witness icbc='%s/icbc.pem' --witness abc='%s/abc.pem' %s >'%s' 2>&1",
                   h_paygate, file, keys_dir, keys_dir, keys_dir, extra ? extra : "", log);
    th_read_text(log, out, n);
    return rc;
}

static void receipt_file(int i, char *path, size_t n)
{
    snprintf(path, n, "%s/receipt-%d.json", pf.dir, i);
}

/* Online banking: the cashier's bank choice, then the bank's own pages (card, password, SMS
 * code, confirm); the bank's notification pays the trade. */
static void pay_at_bank(const char *trade_id, const struct bank *bk)
{
    struct h_browser b = {0};
    char url[256], form[256];
    snprintf(url, sizeof url, "%s/cashier/%s", pf.url, trade_id);
    h_browser_req(&b, "GET", url, NULL, false);
    snprintf(form, sizeof form, "csrf=%s&bank=%s", b.csrf_cookie, bk->code);
    snprintf(url, sizeof url, "%s/cashier/%s/pay/bank", pf.url, trade_id);
    h_browser_req(&b, "POST", url, form, false);
    assert_int_equal(b.status, 200);
    static const char *const names[] = {"interfaceName", "interfaceVersion", "tranData",
                                        "merSignMsg", "merCert"};
    struct pay_buf f;
    pay_buf_init(&f, 65536);
    for (size_t i = 0; i < 5; i++) {
        char *v = calloc(1, 16384);
        th_input_value(b.page, names[i], v, 16384);
        char *dec = calloc(1, 16384); /* the templates escape '=', '+', '/' in base64 */
        size_t o = 0;
        for (const char *p = v; *p && o + 1 < 16384; o++) {
            int c = 0, len = 0;
            if (sscanf(p, "&#%d;%n", &c, &len) == 1 && len > 0) {
                dec[o] = (char)c;
                p += len;
            } else if (strncmp(p, "&amp;", 5) == 0) {
                dec[o] = '&';
                p += 5;
            } else
                dec[o] = *p++;
        }
        assert_int_equal(pay_form_append(&f, names[i], dec), 0);
        free(v);
        free(dec);
    }
    snprintf(url, sizeof url, "%s/b2c/pay", bk->url);
    h_browser_req(&b, "POST", url, pay_buf_str(&f), true);
    pay_buf_fini(&f);
    assert_int_equal(b.status, 200);
    char pan[20], code[7];
    snprintf(pan, sizeof pan, "%s0000000015", bk->bin); /* demo card 1 */
    h_bank_step(&b, bk->url, "/b2c/card", "cardNo", pan);
    h_bank_step(&b, bk->url, "/b2c/password", "password", "123456");
    h_bank_sms_code(bk->url, "13800000001", code);
    h_bank_step(&b, bk->url, "/b2c/sms", "smsCode", code);
    h_bank_step(&b, bk->url, "/b2c/confirm", NULL, NULL);
    assert_non_null(strstr(b.page, "data-page=\"result\""));
    h_browser_fini(&b);
}

static json_t *load_json(const char *path)
{
    json_t *j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    return j;
}

static void every_payment_has_a_verifying_receipt(void **state)
{
    (void)state;
    const char *methods[3] = {"wallet", "qr", "bank"};
    for (int i = 0; i < 3; i++) {
        char otn[32];
        snprintf(otn, sizeof otn, "rc-%d", i);
        snprintf(paid[i], sizeof paid[i], "%s", h_create_trade(&pf, &ma, otn, "12.30", NULL));
    }
    assert_int_equal(h_cashier_pay_wallet(&pf, paid[0], "13900000021", "correct horse", "135790"),
                     200);
    assert_int_equal(h_qr_pay_wallet(&pf, paid[1], "13900000021", "correct horse", "135790"), 200);
    pay_at_bank(paid[2], &banks[0]);
    char code[64], path[300], out[4096];
    /* paid, in the log, but no head is due yet: the clock has not moved */
    assert_int_equal(get_receipt(&ma, paid[0], NULL, code, sizeof code), 409);
    assert_string_equal(code, "RECEIPT_PENDING");
    assert_int_equal(th_clock_advance(pf.url, PAY_TRANSLOG_HEAD_INTERVAL_MS), 0);
    for (int i = 0; i < 3; i++) {
        receipt_file(i, path, sizeof path);
        assert_int_equal(get_receipt(&ma, paid[i], path, NULL, 0), 200);
        json_t *r = load_json(path);
        assert_string_equal(h_str(r, "leaf.trade_id"), paid[i]);
        assert_string_equal(h_str(r, "leaf.method"), methods[i]);
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(r, "leaf"), "amount_minor")), 1230);
        assert_int_equal(json_array_size(json_object_get(r, "cosignatures")), 2);
        json_decref(r);
        if (verify_cli(path, NULL, out, sizeof out) != 0)
            fail_msg("%s", out);
        assert_non_null(strstr(out, "valid"));
    }
    /* a trade not paid has none; another merchant's trade is not found */
    const char *open = h_create_trade(&pf, &ma, "rc-open", "1.00", NULL);
    assert_int_equal(get_receipt(&ma, open, NULL, code, sizeof code), 409);
    assert_string_equal(code, "TRADE_STATE_INVALID");
    assert_int_equal(get_receipt(&mb, paid[0], NULL, code, sizeof code), 404);
    assert_string_equal(code, "TRADE_NOT_FOUND");
}

/* The payer's copy, from the wallet (its session): the same receipt as the merchant's. */
static void payer_downloads_the_receipt(void **state)
{
    (void)state;
    const char *session = h_wallet_login(&pf, "13900000021", "correct horse");
    assert_true(session[0] != '\0');
    char url[300], cookie[300];
    snprintf(url, sizeof url, "%s/wallet/trades/%s/receipt", pf.url, paid[1]);
    snprintf(cookie, sizeof cookie, "Cookie: pf_session=%s", session);
    const char *headers[] = {cookie, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(pay_http_client_request("GET", url, headers, NULL, 0, &opt, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    char path[300], mine_path[300], out[4096];
    snprintf(mine_path, sizeof mine_path, "%s/payer-copy.json", pf.dir);
    FILE *f = fopen(mine_path, "w");
    assert_non_null(f);
    fputs(pay_buf_str(&r.body), f);
    fclose(f);
    pay_http_client_response_fini(&r);
    json_t *mine = load_json(mine_path);
    receipt_file(1, path, sizeof path);
    json_t *merchants = load_json(path);
    /* the same payment at the same place; the head is the newest one when it is asked for */
    assert_true(json_equal(json_object_get(mine, "leaf"), json_object_get(merchants, "leaf")));
    assert_true(
        json_equal(json_object_get(mine, "leaf_index"), json_object_get(merchants, "leaf_index")));
    json_decref(mine);
    json_decref(merchants);
    if (verify_cli(mine_path, NULL, out, sizeof out) != 0)
        fail_msg("%s", out);
}

/* The verifier docs/receipts.md gives in Python, copied from the page and run as it is: it
 * accepts every real receipt and refuses an edited one, as `paygate receipt verify` does. */
static void docs_python_verifier_agrees(void **state)
{
    (void)state;
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    assert_non_null(root);
    char script[300], path[300], out[300];
    snprintf(script, sizeof script, "%s/verify_receipt.py", pf.dir);
    snprintf(out, sizeof out, "%s/py.out", pf.dir);
    assert_int_equal(
        th_sh("awk '/^# verify_receipt.py/{f=1} f&&/^```/{exit} f' '%s/docs/receipts.md'"
              " >'%s' && test -s '%s'",
              root, script, script),
        0);
    if (th_sh("python3 -c 'import cryptography' 2>/dev/null") != 0)
        fail_msg("python3's cryptography package is missing (scripts/deps.sh test installs it)");
    for (int i = 0; i < 3; i++) {
        receipt_file(i, path, sizeof path);
        int rc = th_sh("python3 '%s' '%s' '%s/platform.pem' icbc='%s/icbc.pem' abc='%s/abc.pem'"
                       " >'%s' 2>&1",
                       script, path, keys_dir, keys_dir, keys_dir, out);
        char text[512];
        th_read_text(out, text, sizeof text);
        if (rc != 0 || strcmp(text, "valid\n") != 0)
            fail_msg("receipt %d: exit %d: %s", i, rc, text);
    }
    receipt_file(0, path, sizeof path);
    json_t *r = load_json(path);
    json_object_set_new(json_object_get(r, "leaf"), "amount_minor", json_integer(1));
    snprintf(path, sizeof path, "%s/py-tampered.json", pf.dir);
    assert_int_equal(json_dump_file(r, path, JSON_COMPACT), 0);
    json_decref(r);
    assert_int_equal(th_sh("python3 '%s' '%s' '%s/platform.pem' icbc='%s/icbc.pem' >'%s' 2>&1",
                           script, path, keys_dir, keys_dir, out),
                     1);
    assert_true(th_count_in_file(out, "RECEIPT_PROOF_INVALID") == 1);
}

/* GET path (public) and its JSON. */
static json_t *get_public(const char *path, long want)
{
    struct h_reply r;
    h_call_raw(&pf, "GET", path, NULL, NULL, NULL, "", &r); /* unsigned: REQUEST_NONCE "" */
    assert_true(r.sig_ok);
    if (r.status != want)
        fail_msg("%s: %ld %s", path, r.status, r.body);
    json_t *j = json_incref(r.json);
    h_reply_fini(&r);
    return j;
}

static void root_of(json_t *head, pay_merkle_hash out)
{
    size_t n = 0;
    const char *hex = h_str(head, "root_hash");
    assert_int_equal(pay_hex_decode(out, PAY_SHA256_LEN, hex, strlen(hex), &n), 0);
}

/* The next head extends the first: both banks co-sign it through a consistency proof, and the
 * public proof between the two heads verifies. */
static void next_head_is_consistent(void **state)
{
    (void)state;
    json_t *first = get_public("/v1/log/head", 200);
    assert_int_equal(json_integer_value(json_object_get(first, "tree_size")), 3);
    const char *t = h_create_trade(&pf, &ma, "rc-3", "3.00", NULL);
    assert_int_equal(h_cashier_pay_wallet(&pf, t, "13900000021", "correct horse", "135790"), 200);
    assert_int_equal(th_clock_advance(pf.url, PAY_TRANSLOG_HEAD_INTERVAL_MS), 0);
    json_t *second = get_public("/v1/log/head", 200);
    assert_int_equal(json_integer_value(json_object_get(second, "tree_size")), 4);
    assert_int_equal(json_array_size(json_object_get(second, "cosignatures")), 2);
    json_t *c = get_public("/v1/log/consistency?first=3&second=4", 200);
    pay_merkle_hash r3, r4, proof[PAY_MERKLE_PROOF_MAX];
    size_t n = 0;
    struct pay_error err = {0};
    root_of(first, r3);
    root_of(second, r4);
    assert_int_equal(pay_translog_hashes_from_json(json_object_get(c, "proof"), "proof", proof,
                                                   PAY_MERKLE_PROOF_MAX, &n, &err),
                     PAY_ERR_OK);
    assert_true(pay_merkle_verify_consistency(3, 4, r3, r4, proof, n));
    json_decref(get_public("/v1/log/consistency?first=4&second=5", 400));
    json_decref(get_public("/v1/log/consistency?first=x&second=4", 400));
    json_decref(c);
    json_decref(first);
    json_decref(second);
}

/* Writes r (a receipt, changed) to path; runs the command on it; its output must name want. */
static void expect_refused(json_t *r, const char *extra, const char *want)
{
    char path[300], out[4096];
    snprintf(path, sizeof path, "%s/tampered.json", pf.dir);
    assert_int_equal(json_dump_file(r, path, JSON_COMPACT), 0);
    int rc = verify_cli(path, extra, out, sizeof out);
    if (rc != 1 || !strstr(out, want))
        fail_msg("wanted %s (exit 1), got exit %d: %s", want, rc, out);
    json_decref(r);
}

static void tampered_receipt_is_caught(void **state)
{
    (void)state;
    char path[300], out[4096];
    receipt_file(2, path, sizeof path);
    json_t *r = load_json(path);
    json_t *c = json_deep_copy(r);
    json_object_set_new(json_object_get(c, "leaf"), "amount_minor", json_integer(123));
    expect_refused(c, NULL, "RECEIPT_PROOF_INVALID");
    c = json_deep_copy(r);
    json_object_set_new(json_object_get(c, "leaf"), "method", json_string("wallet"));
    expect_refused(c, NULL, "RECEIPT_PROOF_INVALID");
    c = json_deep_copy(r);
    json_object_set_new(json_object_get(c, "tree_head"), "root_hash",
                        json_string("00000000000000000000000000000000"
                                    "00000000000000000000000000000000"));
    expect_refused(c, NULL, "RECEIPT_HEAD_SIGNATURE_INVALID");
    c = json_deep_copy(r);
    json_array_remove(json_object_get(c, "cosignatures"), 0);
    expect_refused(c, NULL, "RECEIPT_WITNESS_INVALID");
    /* one of the two witnesses is enough when the verifier says so */
    c = json_deep_copy(r);
    json_array_remove(json_object_get(c, "cosignatures"), 0);
    snprintf(path, sizeof path, "%s/one-witness.json", pf.dir);
    assert_int_equal(json_dump_file(c, path, JSON_COMPACT), 0);
    json_decref(c);
    assert_int_equal(verify_cli(path, "--quorum 1", out, sizeof out), 0);
    json_decref(r);
}

/* POSTs body to the bank's witness API signed with the platform's merchant key there. */
static long bank_cosign(const struct bank *b, const char *body, char *code, size_t n)
{
    char key_path[300], url[256], nonce[PAY_SIG_NONCE_MAX + 1], sig[PAY_SIG_HEADER_MAX],
        auth[PAY_SIG_HEADER_MAX + 32];
    snprintf(key_path, sizeof key_path, "%s/mer/merchant.key", b->dir);
    struct pay_rsa_key *k = NULL;
    assert_int_equal(pay_rsa_key_load(key_path, &k), 0);
    pay_sig_nonce_generate(nonce);
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, "PAYGATE", NULL, k};
    struct pay_error err = {0};
    assert_int_equal(pay_sig_sign_request(&s, "POST", "/api/v1/witness/cosign", body, strlen(body),
                                          time(NULL), nonce, sig, sizeof sig, &err),
                     PAY_ERR_OK);
    pay_rsa_key_free(k);
    snprintf(auth, sizeof auth, "Authorization: %s", sig);
    snprintf(url, sizeof url, "%s/api/v1/witness/cosign", b->url);
    const char *headers[] = {"Content-Type: application/json", auth, NULL};
    struct pay_http_client_options opt = {.allow_private_addresses = true};
    struct pay_http_client_response r = {0};
    assert_int_equal(
        pay_http_client_request("POST", url, headers, body, strlen(body), &opt, &r, NULL), 0);
    json_t *j = json_loads(pay_buf_str(&r.body), 0, NULL);
    snprintf(code, n, "%s", h_str(j, "error.code"));
    json_decref(j);
    long status = r.status;
    pay_http_client_response_fini(&r);
    return status;
}

/* A head the platform's own key signs (its key file, as a platform gone rogue would). */
static char *signed_head_body(int64_t size, int64_t ts, const pay_merkle_hash root, int64_t from)
{
    char path[300];
    snprintf(path, sizeof path, "%s/platform-signing-key.pem", pf.dir);
    struct pay_ed25519_key k;
    assert_int_equal(pay_ed25519_key_load(path, &k), 0);
    struct pay_translog_head h = {.tree_size = size, .timestamp_ms = ts};
    snprintf(h.origin, sizeof h.origin, "paygate-test");
    memcpy(h.root, root, PAY_SHA256_LEN);
    uint8_t msg[PAY_TRANSLOG_HEAD_MSG_MAX];
    pay_ed25519_sign(h.sig, msg, pay_translog_head_message(&h, msg, sizeof msg), &k);
    char key[64], rhex[65], sig[100];
    assert_int_equal(pay_base64_encode(key, sizeof key, k.pk, PAY_ED25519_PK_LEN), 0);
    assert_int_equal(pay_hex_encode(rhex, sizeof rhex, root, PAY_SHA256_LEN), 0);
    assert_int_equal(pay_base64_encode(sig, sizeof sig, h.sig, PAY_ED25519_SIG_LEN), 0);
    pay_ed25519_key_fini(&k);
    json_t *b =
        json_pack("{s:s, s:{s:s, s:I, s:I, s:s, s:s, s:s}, s:I, s:[]}", "logKey", key, "head",
                  "origin", h.origin, "tree_size", (json_int_t)size, "timestamp_ms", (json_int_t)ts,
                  "root_hash", rhex, "key_id", "paygate-platform", "signature", sig,
                  "consistencyFrom", (json_int_t)from, "consistencyProof");
    char *text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    return text;
}

static void forked_head_is_refused_by_the_banks(void **state)
{
    (void)state;
    json_t *head = get_public("/v1/log/head", 200);
    int64_t size = json_integer_value(json_object_get(head, "tree_size"));
    int64_t ts = json_integer_value(json_object_get(head, "timestamp_ms"));
    pay_merkle_hash root;
    root_of(head, root);
    json_decref(head);
    char code[64];
    for (int i = 0; i < 2; i++) {
        /* the same size, another root: a fork */
        root[0] ^= 0x01;
        char *body = signed_head_body(size, ts + 1, root, size);
        assert_int_equal(bank_cosign(&banks[i], body, code, sizeof code), 409);
        assert_string_equal(code, "LOG_INCONSISTENT");
        free(body);
        /* a bigger tree with no proof that it extends the co-signed one */
        body = signed_head_body(size + 5, ts + 2, root, size);
        assert_int_equal(bank_cosign(&banks[i], body, code, sizeof code), 409);
        assert_string_equal(code, "LOG_INCONSISTENT");
        free(body);
        root[0] ^= 0x01;
    }
    /* the refusals changed nothing: the platform's next head is co-signed by both */
    const char *t = h_create_trade(&pf, &ma, "rc-4", "4.00", NULL);
    assert_int_equal(h_cashier_pay_wallet(&pf, t, "13900000021", "correct horse", "135790"), 200);
    assert_int_equal(th_clock_advance(pf.url, PAY_TRANSLOG_HEAD_INTERVAL_MS), 0);
    head = get_public("/v1/log/head", 200);
    assert_int_equal(json_integer_value(json_object_get(head, "tree_size")), size + 1);
    assert_int_equal(json_array_size(json_object_get(head, "cosignatures")), 2);
    json_decref(head);
}

/* Runs sql on the platform's database with the database's own tool, as its owner could. */
static void edit_platform_db(const char *sql)
{
    if (th_db_is_pg())
        assert_int_equal(th_sh("psql -q -v ON_ERROR_STOP=1 '%s' -c \"%s\"", pf.db, sql), 0);
    else
        assert_int_equal(th_sh("sqlite3 '%s' \"%s\"", pf.db, sql), 0);
}

/* A leaf row edited in the platform's database (sqlite3 or psql, the platform stopped): no
 * receipt is served over it, and no head is signed over the edited history. */
static void edited_log_row_is_caught(void **state)
{
    (void)state;
    h_stop(&pf, SIGTERM);
    edit_platform_db("UPDATE translog_leaves SET amount_minor = 1 WHERE idx = 1");
    h_start(&pf);
    char code[64];
    assert_int_equal(get_receipt(&ma, paid[0], NULL, code, sizeof code), 500);
    assert_string_equal(code, "TRANSLOG_CORRUPT");
    json_t *head = get_public("/v1/log/head", 200);
    int64_t size = json_integer_value(json_object_get(head, "tree_size"));
    json_decref(head);
    const char *t = h_create_trade(&pf, &ma, "rc-5", "5.00", NULL);
    assert_int_equal(h_cashier_pay_wallet(&pf, t, "13900000021", "correct horse", "135790"), 200);
    assert_int_equal(th_clock_advance(pf.url, PAY_TRANSLOG_HEAD_INTERVAL_MS), 0);
    head = get_public("/v1/log/head", 200);
    assert_int_equal(json_integer_value(json_object_get(head, "tree_size")), size); /* none */
    json_decref(head);
    char log[300];
    snprintf(log, sizeof log, "%s/platform.log", pf.dir);
    assert_true(th_count_in_file(log, "translog.corrupt") > 0);
    /* put it back: the log hashes to its heads again (and the ledger check at the end runs) */
    h_stop(&pf, SIGTERM);
    edit_platform_db("UPDATE translog_leaves SET amount_minor = 1230 WHERE idx = 1");
    h_start(&pf);
    char path[300];
    receipt_file(1, path, sizeof path);
    assert_int_equal(get_receipt(&ma, paid[1], path, NULL, 0), 200);
}

int main(int argc, char **argv)
{
    h_paygate = th_binary_arg(argc, argv);
    assert_int_equal(pay_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_payment_has_a_verifying_receipt),
        cmocka_unit_test(next_head_is_consistent),
        cmocka_unit_test(tampered_receipt_is_caught),
        cmocka_unit_test(payer_downloads_the_receipt),
        cmocka_unit_test(docs_python_verifier_agrees),
        cmocka_unit_test(forked_head_is_refused_by_the_banks),
        cmocka_unit_test(edited_log_row_is_caught),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
