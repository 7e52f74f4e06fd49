/* The bank as a member of the card network (docs/switch.md): its member folder (certificate and
 * key from the switch's CA, its sealing key, the switch's certificate and sealing key), its
 * interbank ledger accounts, network management (0800 sign-on), signed calls to the switch, and
 * the key its answers to the switch are signed with. */
#include "bank/bank.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *member_file(const struct pay_bank *b, const char *name)
{
    char path[PAY_BANK_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", b->opt.switch_member_dir, name);
    return pay_file_read(path, PAY_BANK_MEMBER_FILE_MAX, NULL);
}

static enum pay_err bad(struct pay_error *err, const char *what)
{
    return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "switch_member_dir", "%s", what);
}

/* member.json: our code (must be ours), our roles, the switch's code and sealing key. */
static enum pay_err read_member_json(struct pay_bank *b, struct pay_error *err)
{
    char *text = member_file(b, "member.json");
    json_t *j = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(text);
    const char *code = json_string_value(json_object_get(j, "code"));
    const char *roles = json_string_value(json_object_get(j, "roles"));
    const char *sw = json_string_value(json_object_get(j, "switchCode"));
    const char *pk = json_string_value(json_object_get(j, "switchSealKey"));
    enum pay_err rc = PAY_ERR_OK;
    if (!code || !roles || !sw || !pk || !pay_net_code_valid(sw) ||
        pay_seal_pk_from_text(b->net.switch_seal_pk, pk) != 0)
        rc = bad(err, "member.json is missing or not the switch's");
    else if (strcmp(code, b->opt.code) != 0)
        rc = pay_error_set(err, PAY_ERR_CONFIG_INVALID, "switch_member_dir",
                           "the member folder is member %s's, this bank is %s", code, b->opt.code);
    if (rc == PAY_ERR_OK) {
        pay_str_copy(b->net.switch_code, sizeof b->net.switch_code, sw);
        b->net.issuer = strstr(roles, "issuer") != NULL;
        b->net.acquirer = strstr(roles, "acquirer") != NULL;
    }
    json_decref(j);
    return rc;
}

/* The certificates: the switch's and ours, both issued by the switch's CA. */
static enum pay_err load_certs(struct pay_bank *b, struct pay_error *err)
{
    char *ca = member_file(b, "switch-ca.crt"), *key = member_file(b, "member.key");
    char *seal = member_file(b, "seal.key");
    struct pay_bank_net *n = &b->net;
    n->switch_cert_pem = member_file(b, "switch.crt");
    n->member_cert_pem = member_file(b, "member.crt");
    struct pay_error ce = {0};
    int64_t now = pay_clock_real_ms() / 1000;
    enum pay_err rc = PAY_ERR_OK;
    if (!ca || !key || !seal || !n->switch_cert_pem || !n->member_cert_pem)
        rc = bad(err, "the member folder lacks switch-ca.crt, switch.crt, member.crt, member.key"
                      " or seal.key");
    else if (pay_x509_verify(n->switch_cert_pem, ca, n->switch_code, now, NULL, &ce) !=
                 PAY_ERR_OK ||
             pay_x509_verify(n->member_cert_pem, ca, b->opt.code, now, NULL, &ce) != PAY_ERR_OK)
        rc = pay_error_set(err, PAY_ERR_CONFIG_INVALID, "switch_member_dir",
                           "a certificate does not chain to the switch's CA: %s", ce.detail);
    else if (pay_rsa_key_from_pem(key, strlen(key), &n->member_key) != 0)
        rc = bad(err, "member.key is not an RSA private key");
    else if (seal[strcspn(seal, "\r\n")] = '\0', pay_seal_sk_from_text(&n->seal, seal) != 0)
        rc = bad(err, "seal.key is not a sealing key");
    char *pub = rc == PAY_ERR_OK ? pay_x509_public_pem(n->switch_cert_pem) : NULL;
    if (rc == PAY_ERR_OK && (!pub || pay_rsa_key_from_pem(pub, strlen(pub), &n->switch_key.key)))
        rc = bad(err, "switch.crt holds no RSA key");
    n->switch_key.code = n->switch_code;
    free(pub);
    free(ca);
    if (key)
        pay_wipe(key, strlen(key));
    if (seal)
        pay_wipe(seal, strlen(seal));
    free(key);
    free(seal);
    return rc;
}

static enum pay_err net_accounts(struct pay_bank *b, struct pay_error *err)
{
    struct pay_bank_net *n = &b->net;
    char *ids[] = {n->receivable, n->payable, n->settlement, n->fees};
    const char *names[] = {"receivable", "payable", "settlement", "fees"};
    struct pay_ledger_account a[4];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 4; i++) {
        snprintf(ids[i], PAY_LEDGER_ID_MAX + 1, "%s:net:%s", b->opt.code, names[i]);
        pay_str_copy(a[i].id, sizeof a[i].id, ids[i]);
        snprintf(a[i].currency, sizeof a[i].currency, PAY_BANK_CURRENCY);
        a[i].code = PAY_BANK_ACCT_INTERNAL;
        pay_str_copy(a[i].owner, sizeof a[i].owner, b->opt.code);
    }
    enum pay_ledger_result res[4];
    enum pay_err rc = pay_committer_create_accounts(b->committer, a, 4, res, err);
    for (int i = 0; rc == PAY_ERR_OK && i < 4; i++)
        if (res[i] != PAY_LEDGER_OK && res[i] != PAY_LEDGER_EXISTS)
            rc = pay_error_set(err, PAY_ERR_INTERNAL, "", "interbank account: %s",
                               pay_ledger_result_name(res[i]));
    return rc;
}

enum pay_err pay_bank_net_open(struct pay_bank *b, struct pay_error *err)
{
    if (!b->opt.switch_url[0] && !b->opt.switch_member_dir[0])
        return PAY_ERR_OK;
    if (!b->opt.switch_url[0] || !b->opt.switch_member_dir[0])
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID,
                             b->opt.switch_url[0] ? "switch_member_dir" : "switch_url",
                             "a member of the card network needs switch_url and "
                             "switch_member_dir");
    pay_str_copy(b->net.switch_url, sizeof b->net.switch_url, b->opt.switch_url);
    enum pay_err rc = read_member_json(b, err);
    if (rc == PAY_ERR_OK)
        rc = load_certs(b, err);
    if (rc == PAY_ERR_OK)
        rc = net_accounts(b, err);
    b->net.enabled = rc == PAY_ERR_OK;
    return rc;
}

void pay_bank_net_close(struct pay_bank *b)
{
    free(b->net.member_cert_pem);
    free(b->net.switch_cert_pem);
    pay_rsa_key_free(b->net.member_key);
    pay_rsa_key_free(b->net.switch_key.key);
    pay_seal_key_fini(&b->net.seal);
    memset(&b->net, 0, sizeof b->net);
}

enum pay_err pay_bank_net_call(struct pay_bank *b, const char *path, const char *body, long *status,
                               json_t **answer, struct pay_error *err)
{
    struct pay_net_peer p = {.base_url = b->net.switch_url,
                             .key_id = b->opt.code,
                             .key = b->net.member_key,
                             .peer_key_id = b->net.switch_code,
                             .peer_cert_pem = b->net.switch_cert_pem,
                             .response_max = PAY_NET_CLEARING_FILE_MAX * 2,
                             .allow_private = b->opt.allow_private_notify};
    return pay_net_call(&p, path, body, status, answer, err);
}

enum pay_err pay_bank_net_signon(struct pay_bank *b, struct pay_error *err)
{
    json_t *m = json_pack("{s:s, s:s, s:{s:s}}", "mti", PAY_NET_MTI_NETMGMT, "de70", "001", "de48",
                          "url", b->url);
    char *body = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(m);
    long status = 0;
    json_t *a = NULL;
    enum pay_err rc = body ? pay_bank_net_call(b, "/net/v1/signon", body, &status, &a, err)
                           : pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    const char *code = json_string_value(json_object_get(a, "de39"));
    if (rc == PAY_ERR_OK && (status != 200 || !code || strcmp(code, "00") != 0))
        rc = pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "",
                           "the switch refused the sign-on"
                           " (HTTP %ld)",
                           status);
    if (rc == PAY_ERR_OK) {
        b->net.signed_on = true;
        PAY_INFO("bank.net_signed_on", "switch=%s url=%s", b->net.switch_code, b->url);
    }
    free(body);
    json_decref(a);
    return rc;
}

const struct pay_rsa_key *pay_bank_net_answer_key(struct pay_bank *b, const char *path)
{
    return b->net.enabled && strncmp(path, "/net/", 5) == 0 ? b->net.member_key : NULL;
}
