/* See sandbox_bank.h. */
#include "sandbox_bank.h"

#include "lib/harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

void h_bank_init(struct h_bank *bk, const char *tmp_prefix)
{
    assert_int_equal(th_tmpdir(bk->dir, sizeof bk->dir, tmp_prefix), 0);
    h_bank_merchant(bk, "PAYGATE", "mer", bk->acct);
}

void h_bank_merchant(const struct h_bank *bk, const char *mer_id, const char *name, char acct[80])
{
    assert_int_equal(th_sh("'%s' bank merchant add --data-dir %s/data --code %s --bin %s"
                           " --fast-hash --mer-id %s --name %s --referrer-domain 127.0.0.1"
                           " --notify-domain 127.0.0.1 --allow-no-referer --out %s/%s"
                           " >>%s/cli.log 2>&1",
                           h_paygate, bk->dir, bk->code, bk->bin, mer_id, mer_id, bk->dir, name,
                           bk->dir),
                     0);
    char json[1024], path[300];
    snprintf(path, sizeof path, "%s/%s/merchant.json", bk->dir, name);
    th_read_text(path, json, sizeof json);
    json_t *j = json_loads(json, 0, NULL);
    snprintf(acct, 80, "%s", h_str(j, "merAcct"));
    json_decref(j);
    assert_true(acct[0] != '\0');
}

void h_bank_serve(struct h_bank *bk, const char *serve_flags)
{
    char path[300], cmd[4096];
    snprintf(path, sizeof path, "%s/url", bk->dir);
    snprintf(cmd, sizeof cmd,
             "exec '%s' bank serve --data-dir %s/data --code %s --bin %s --demo-data"
             " --fast-hash%s --listen 127.0.0.1:0 --print-url-file %s/url >>%s/stdout.txt"
             " 2>>%s/bank.log",
             h_paygate, bk->dir, bk->code, bk->bin, serve_flags, bk->dir, bk->dir, bk->dir);
    bk->pid = th_spawn_sh(cmd);
    assert_int_equal(th_wait_url_file(bk->pid, path, bk->url, sizeof bk->url, TH_START_TIMEOUT_MS),
                     0);
}

void h_bank_stop(struct h_bank *bk)
{
    th_stop(&bk->pid, SIGTERM);
    th_tmpdir_done(bk->dir);
}

void h_bank_configure(const struct h_platform *pf, const struct h_bank *bk)
{
    char ini[300];
    snprintf(ini, sizeof ini, "%s/platform.ini", pf->dir);
    FILE *f = fopen(ini, "a");
    assert_non_null(f);
    fprintf(f,
            "[bank.%s]\nname = Bank %s\ngateway_url = %s\nmer_id = PAYGATE\nmer_acct = %s\n"
            "key_file = %s/mer/merchant.key\ncert_file = %s/mer/merchant.crt\n"
            "bank_cert_file = %s/data/keys/sign.crt\nca_file = %s/data/keys/ca.crt\n"
            "allow_private = true\n",
            bk->code, bk->code, bk->url, bk->acct, bk->dir, bk->dir, bk->dir, bk->dir);
    fclose(f);
}

/* The CVV2 of the bank's demo card pan, from `paygate bank demo-cards`. */
static void demo_cvv2(const struct h_bank *bk, const char *pan, char cvv[4])
{
    char cmd[600], text[4096] = "";
    snprintf(cmd, sizeof cmd, "'%s' bank demo-cards --data-dir %s/data", h_paygate, bk->dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    text[fread(text, 1, sizeof text - 1, p)] = '\0';
    assert_int_equal(pclose(p), 0);
    const char *c = strstr(text, pan) ? strstr(strstr(text, pan), "cvv2 ") : NULL;
    assert_non_null(c);
    snprintf(cvv, 4, "%.3s", c + 5);
}

void h_bank_bind_card(const struct h_platform *pf, const struct h_bank *bk, struct h_browser *b,
                      const char *login, char card[64])
{
    char form[256], pan[20], cvv[4];
    h_pf_get(pf, b, "/wallet");
    snprintf(form, sizeof form, "login=%s&password=correct+horse", login);
    h_pf_post(pf, b, "/wallet/login", form);
    assert_int_equal(b->status, 303);
    h_pf_get(pf, b, "/wallet");
    snprintf(pan, sizeof pan, "%s0000000015", bk->bin);
    demo_cvv2(bk, pan, cvv);
    snprintf(form, sizeof form, "bank=%s&cardNo=%s&expiry=12%%2F30&cvv2=%s", bk->code, pan, cvv);
    h_pf_post(pf, b, "/wallet/cards/verify", form);
    assert_int_equal(b->status, 200);
    char vid[80], code[7];
    th_input_value(b->page, "verification_id", vid, sizeof vid);
    h_bank_sms_code(bk->url, H_BANK_CARD_PHONE, code);
    snprintf(form, sizeof form, "bank=%s&verification_id=%s&smsCode=%s", bk->code, vid, code);
    h_pf_post(pf, b, "/wallet/cards/confirm", form);
    assert_int_equal(b->status, 200);
    const char *k = strstr(b->page, "data-card=\"");
    assert_non_null(k);
    snprintf(card, 64, "%.*s", (int)strcspn(k + 11, "\""), k + 11);
    assert_true(card[0] != '\0');
}

void h_pay_by_wallet(struct h_platform *pf, const struct h_merchant *m, const char *otn,
                     const char *amount, const char *login, const char *pay_password)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"out_trade_no\":\"%s\",\"amount\":{\"value\":\"%s\",\"currency\":\"CNY\"},"
             "\"subject\":\"Tea\",\"timeout\":\"1d\"}",
             otn, amount);
    struct h_reply r;
    h_call(pf, m, "POST", "/v1/trades", body, otn, &r);
    assert_int_equal(r.status, 201);
    char id[64];
    snprintf(id, sizeof id, "%s", h_str(r.json, "trade_id"));
    h_reply_fini(&r);
    assert_int_equal(h_cashier_pay_wallet(pf, id, login, "correct+horse", pay_password), 200);
}

int64_t h_minor(const char *value)
{
    long long yuan = 0, fen = 0;
    assert_int_equal(sscanf(value, "%lld.%lld", &yuan, &fen), 2);
    return yuan * 100 + fen;
}

int64_t h_available_minor(struct h_platform *pf, const struct h_merchant *m)
{
    struct h_reply r;
    h_call(pf, m, "GET", "/v1/balance?currency=CNY", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    int64_t v =
        h_minor(h_str(json_array_get(json_object_get(r.json, "balances"), 0), "available.value"));
    h_reply_fini(&r);
    return v;
}
