/* [chain] of the platform's INI file (docs/chain.md, "Configuration"). */
#include "platform/chain.h"

#include "core/buf.h"
#include "core/config.h"
#include "core/money.h"
#include "crypto/crypto.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <string.h>

static const char *const chain_keys[] = {"rpc_url",
                                         "allow_private",
                                         "chain_id",
                                         "token",
                                         "asset",
                                         "decimals",
                                         "xpub",
                                         "confirmations",
                                         "poll_interval",
                                         "rate",
                                         "rate_currency",
                                         "anchor_key_file",
                                         "anchor_interval",
                                         NULL};

static enum pay_err required(const struct pay_config *c, const char *key, const char **out,
                             struct pay_error *err)
{
    *out = pay_config_get(c, "chain", key, NULL);
    if (*out == NULL || (*out)[0] == '\0')
        return pay_config_error(c, "chain", key, err, "required when [chain] is there");
    return PAY_ERR_OK;
}

/* The token, its asset code and scale; the asset is registered with the money layer. */
static enum pay_err read_token(struct pay_platform_chain_settings *s, const struct pay_config *c,
                               struct pay_error *err)
{
    const char *token, *asset;
    int64_t decimals = 0;
    enum pay_err e;
    if ((e = required(c, "token", &token, err)) != PAY_ERR_OK ||
        (e = required(c, "asset", &asset, err)) != PAY_ERR_OK ||
        (e = pay_config_get_int(c, "chain", "decimals", -1, 0, PAY_MONEY_ASSET_EXPONENT_MAX,
                                &decimals, err)) != PAY_ERR_OK)
        return e;
    if (decimals < 0)
        return pay_config_error(c, "chain", "decimals", err, "required: the token's decimals()");
    if (pay_chain_address_parse(token, "token", s->token, err) != PAY_ERR_OK)
        return pay_config_error(c, "chain", "token", err, "%s", err->detail);
    pay_chain_address_format(s->token, s->token_text);
    if (pay_asset_register(asset, (int)decimals, err) != PAY_ERR_OK)
        return pay_config_error(c, "chain", "asset", err, "%s", err->detail);
    memcpy(s->asset, asset, 4);
    s->decimals = (int)decimals;
    return PAY_ERR_OK;
}

/* rate = how many units of rate_currency one whole token is worth ("7.25"). */
static enum pay_err read_rate(struct pay_platform_chain_settings *s, const struct pay_config *c,
                              struct pay_error *err)
{
    const char *cur, *rate;
    enum pay_err e;
    if ((e = required(c, "rate_currency", &cur, err)) != PAY_ERR_OK ||
        (e = required(c, "rate", &rate, err)) != PAY_ERR_OK)
        return e;
    if (pay_currency_lookup(cur) < 0 || strcmp(cur, s->asset) == 0)
        return pay_config_error(c, "chain", "rate_currency", err, "a currency trades are in");
    memcpy(s->rate_currency, cur, 4);
    if (pay_money_parse_amount(rate, cur, "rate", &s->rate_minor, err) != PAY_ERR_OK)
        return pay_config_error(c, "chain", "rate", err, "%s", err->detail);
    return PAY_ERR_OK;
}

static enum pay_err read_node(struct pay_platform_chain_settings *s, const struct pay_config *c,
                              struct pay_error *err)
{
    const char *url, *xpub;
    enum pay_err e;
    if ((e = required(c, "rpc_url", &url, err)) != PAY_ERR_OK ||
        (e = required(c, "xpub", &xpub, err)) != PAY_ERR_OK)
        return e;
    if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        !pay_str_copy(s->rpc.url, sizeof s->rpc.url, url))
        return pay_config_error(c, "chain", "rpc_url", err, "an http(s) URL of the node");
    if (pay_chain_xpub_parse(xpub, "xpub", &s->xpub, err) != PAY_ERR_OK)
        return pay_config_error(c, "chain", "xpub", err, "%s", err->detail);
    if ((e = pay_config_get_bool(c, "chain", "allow_private", false, &s->rpc.allow_private, err)) !=
            PAY_ERR_OK ||
        (e = pay_config_get_int(c, "chain", "chain_id", 0, 1, INT64_MAX, &s->chain_id, err)) !=
            PAY_ERR_OK)
        return e;
    if (s->chain_id == 0)
        return pay_config_error(c, "chain", "chain_id", err, "required (EIP-155 chain id)");
    return PAY_ERR_OK;
}

/* anchor_key_file: one line of 64 hex digits (0x allowed), a file only its owner may read. */
static enum pay_err read_anchor(struct pay_platform_chain_settings *s, const struct pay_config *c,
                                struct pay_error *err)
{
    s->anchor_interval_ms = PAY_CHAIN_ANCHOR_INTERVAL_MS;
    enum pay_err e = pay_config_get_duration_ms(c, "chain", "anchor_interval",
                                                s->anchor_interval_ms, &s->anchor_interval_ms, err);
    const char *path = pay_config_get(c, "chain", "anchor_key_file", NULL);
    if (e != PAY_ERR_OK || path == NULL || path[0] == '\0')
        return e;
    struct stat st;
    if (stat(path, &st) != 0)
        return pay_config_error(c, "chain", "anchor_key_file", err, "cannot read %s", path);
    if ((st.st_mode & 077) != 0)
        return pay_config_error(c, "chain", "anchor_key_file", err,
                                "%s can be read by others: chmod 600 it", path);
    size_t len = 0, n = 0;
    char *text = pay_file_read(path, 80, &len);
    if (text == NULL)
        return pay_config_error(c, "chain", "anchor_key_file", err, "cannot read %s", path);
    text[strcspn(text, "\r\n")] = '\0';
    const char *hex = strncmp(text, "0x", 2) == 0 ? text + 2 : text;
    uint8_t pub[33], addr[PAY_CHAIN_ADDRESS_LEN];
    bool ok = strlen(hex) == 64 &&
              pay_hex_decode(s->anchor_key, sizeof s->anchor_key, hex, 64, &n) == 0 && n == 32 &&
              pay_chain_key_public(s->anchor_key, pub) == 0;
    pay_wipe(text, len);
    free(text);
    if (!ok) {
        pay_wipe(s->anchor_key, sizeof s->anchor_key);
        return pay_config_error(c, "chain", "anchor_key_file", err,
                                "not a secp256k1 private key as 64 hex digits");
    }
    pay_chain_address_of(pub, addr);
    pay_chain_address_format(addr, s->anchor_address);
    s->anchoring = true;
    return PAY_ERR_OK;
}

enum pay_err pay_platform_chain_settings_read(struct pay_platform_chain_settings *s,
                                              const struct pay_config *c, struct pay_error *err)
{
    memset(s, 0, sizeof *s);
    s->confirmations = 12;
    s->poll_ms = 2000;
    enum pay_err e = pay_config_check_keys(c, "chain", chain_keys, err);
    if (e != PAY_ERR_OK || !pay_config_has_section(c, "chain"))
        return e;
    if ((e = read_node(s, c, err)) != PAY_ERR_OK || (e = read_token(s, c, err)) != PAY_ERR_OK ||
        (e = read_rate(s, c, err)) != PAY_ERR_OK ||
        (e = pay_config_get_int(c, "chain", "confirmations", s->confirmations, 1,
                                PAY_CHAIN_CONFIRMATIONS_MAX, &s->confirmations, err)) !=
            PAY_ERR_OK ||
        (e = pay_config_get_duration_ms(c, "chain", "poll_interval", s->poll_ms, &s->poll_ms,
                                        err)) != PAY_ERR_OK)
        return e;
    if (s->poll_ms < 10)
        return pay_config_error(c, "chain", "poll_interval", err, "at least 10ms");
    if ((e = read_anchor(s, c, err)) != PAY_ERR_OK)
        return e;
    s->enabled = true;
    return PAY_ERR_OK;
}
