/* JSON-RPC 2.0 over the project's HTTP client, and the node calls of the watcher. Every field
 * of an answer is checked for shape before use: the node is outside our trust boundary. */
#include "chain/rpc.h"

#include "core/assertions.h"
#include "core/buf.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "http/client.h"

#include <stdlib.h>
#include <string.h>

/* keccak256("Transfer(address,address,uint256)"), the ERC-20 event's topic 0 */
#define TRANSFER_TOPIC "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

static enum pay_err bad_answer(struct pay_error *err, const char *method, const char *what)
{
    return pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "chain", "%s: %s", method, what);
}

/* The "result" of a JSON-RPC answer body, or the node's error. */
static enum pay_err answer_result(const char *method, const char *body, json_t **result,
                                  struct pay_error *err)
{
    json_error_t je;
    json_t *doc = json_loads(body, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        return bad_answer(err, method, "the answer is not a JSON-RPC object");
    }
    json_t *e = json_object_get(doc, "error"), *r = json_object_get(doc, "result");
    enum pay_err rc = PAY_ERR_OK;
    if (e != NULL && !json_is_null(e)) {
        const char *msg = json_string_value(json_object_get(e, "message"));
        rc = pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "chain", "%s: the node says: %.200s",
                           method, msg ? msg : "(no message)");
    } else if (r == NULL) {
        rc = bad_answer(err, method, "the answer has no result");
    } else {
        *result = json_incref(r);
    }
    json_decref(doc);
    return rc;
}

enum pay_err pay_chain_rpc_call(const struct pay_chain_rpc *c, const char *method, json_t *params,
                                json_t **result, struct pay_error *err)
{
    PAY_ASSERT(c != NULL && method != NULL && result != NULL);
    *result = NULL;
    json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 1, "method", method,
                            "params", params ? params : json_array());
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (body == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    struct pay_http_client_options opt = {
        .total_timeout_ms = PAY_CHAIN_RPC_TIMEOUT_MS,
        .response_max = PAY_CHAIN_RPC_RESPONSE_MAX,
        .allow_private_addresses = c->allow_private,
    };
    struct pay_http_client_response resp;
    memset(&resp, 0, sizeof resp);
    enum pay_err rc =
        pay_http_client_request("POST", c->url, headers, body, strlen(body), &opt, &resp, err);
    free(body);
    if (rc == PAY_ERR_OK && resp.status != 200)
        rc = pay_error_set(err, PAY_ERR_UPSTREAM_FAILED, "chain", "%s: HTTP status %ld", method,
                           resp.status);
    if (rc == PAY_ERR_OK)
        rc = answer_result(method, pay_buf_str(&resp.body), result, err);
    pay_http_client_response_fini(&resp);
    return rc;
}

int pay_chain_quantity_parse(const char *text, int64_t *out)
{
    if (text == NULL || text[0] != '0' || text[1] != 'x' || text[2] == '\0')
        return -1;
    size_t len = strlen(text + 2);
    if (len > 16 || (len > 1 && text[2] == '0'))
        return -1;
    uint64_t v = 0;
    for (const char *p = text + 2; *p; p++) {
        int d = (*p >= '0' && *p <= '9') ? *p - '0' : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static bool is_hex_digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return false;
    }
    return true;
}

int pay_chain_word_amount(const char *text, int64_t *out)
{
    if (text == NULL || strlen(text) != 66 || text[0] != '0' || text[1] != 'x' ||
        !is_hex_digits(text + 2, 64))
        return -1;
    uint8_t w[32];
    size_t n = 0;
    char lower[65];
    for (int i = 0; i < 64; i++)
        lower[i] =
            (char)((text[2 + i] >= 'A' && text[2 + i] <= 'F') ? text[2 + i] + 32 : text[2 + i]);
    lower[64] = '\0';
    if (pay_hex_decode(w, sizeof w, lower, 64, &n) != 0 || n != 32)
        return -1;
    for (int i = 0; i < 24; i++)
        if (w[i] != 0)
            return 1;
    uint64_t v = 0;
    for (int i = 24; i < 32; i++)
        v = v << 8 | w[i];
    if (v > (uint64_t)INT64_MAX)
        return 1;
    *out = (int64_t)v;
    return 0;
}

static enum pay_err call_quantity(const struct pay_chain_rpc *c, const char *method, int64_t *out,
                                  struct pay_error *err)
{
    json_t *r;
    enum pay_err rc = pay_chain_rpc_call(c, method, NULL, &r, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (pay_chain_quantity_parse(json_string_value(r), out) != 0)
        rc = bad_answer(err, method, "not a quantity");
    json_decref(r);
    return rc;
}

enum pay_err pay_chain_rpc_head(const struct pay_chain_rpc *c, int64_t *number,
                                struct pay_error *err)
{
    return call_quantity(c, "eth_blockNumber", number, err);
}

enum pay_err pay_chain_rpc_chain_id(const struct pay_chain_rpc *c, int64_t *chain_id,
                                    struct pay_error *err)
{
    return call_quantity(c, "eth_chainId", chain_id, err);
}

/* A 32-byte hash as text: 0x + 64 hex digits, copied lower-cased into out (67). */
static bool hash_copy(const char *text, char out[67])
{
    if (text == NULL || strlen(text) != 66 || text[0] != '0' || text[1] != 'x' ||
        !is_hex_digits(text + 2, 64))
        return false;
    for (int i = 0; i < 66; i++)
        out[i] = (char)((text[i] >= 'A' && text[i] <= 'F') ? text[i] + 32 : text[i]);
    out[66] = '\0';
    return true;
}

enum pay_err pay_chain_rpc_block(const struct pay_chain_rpc *c, int64_t number,
                                 struct pay_chain_block *out, bool *found, struct pay_error *err)
{
    PAY_ASSERT(number >= 0);
    char q[24];
    snprintf(q, sizeof q, "0x%llx", (unsigned long long)number);
    json_t *r;
    enum pay_err rc =
        pay_chain_rpc_call(c, "eth_getBlockByNumber", json_pack("[s, b]", q, 0), &r, err);
    if (rc != PAY_ERR_OK)
        return rc;
    *found = !json_is_null(r);
    int64_t n = -1;
    if (*found &&
        (pay_chain_quantity_parse(json_string_value(json_object_get(r, "number")), &n) != 0 ||
         n != number || !hash_copy(json_string_value(json_object_get(r, "hash")), out->hash) ||
         !hash_copy(json_string_value(json_object_get(r, "parentHash")), out->parent_hash)))
        rc = bad_answer(err, "eth_getBlockByNumber", "a block without number or hashes");
    out->number = number;
    json_decref(r);
    return rc;
}

/* Topic (0x + 24 zero digits + 40 address digits) -> 20 bytes. */
static bool topic_address(const char *text, uint8_t out[PAY_CHAIN_ADDRESS_LEN])
{
    char h[67];
    size_t n = 0;
    if (!hash_copy(text, h) || strncmp(h + 2, "000000000000000000000000", 24) != 0)
        return false;
    return pay_hex_decode(out, PAY_CHAIN_ADDRESS_LEN, h + 26, 40, &n) == 0 &&
           n == PAY_CHAIN_ADDRESS_LEN;
}

/* One log of the answer into *l; false when it is not a Transfer of the shape ERC-20 says. */
static bool log_parse(json_t *log, const char *block_hash, struct pay_chain_transfer_log *l)
{
    json_t *topics = json_object_get(log, "topics");
    char bh[67];
    if (!json_is_array(topics) || json_array_size(topics) != 3 ||
        !hash_copy(json_string_value(json_object_get(log, "blockHash")), bh) ||
        strcmp(bh, block_hash) != 0 ||
        !hash_copy(json_string_value(json_object_get(log, "transactionHash")), l->tx_hash) ||
        pay_chain_quantity_parse(json_string_value(json_object_get(log, "logIndex")),
                                 &l->log_index) != 0 ||
        !topic_address(json_string_value(json_array_get(topics, 1)), l->from) ||
        !topic_address(json_string_value(json_array_get(topics, 2)), l->to))
        return false;
    if (json_is_true(json_object_get(log, "removed")))
        return false;
    int w =
        pay_chain_word_amount(json_string_value(json_object_get(log, "data")), &l->amount_minor);
    l->too_large = w == 1;
    return w >= 0;
}

enum pay_err pay_chain_rpc_transfer_logs(const struct pay_chain_rpc *c, const char *token,
                                         const char *block_hash,
                                         struct pay_chain_transfer_log **out, size_t *n,
                                         struct pay_error *err)
{
    *out = NULL;
    *n = 0;
    json_t *filter = json_pack("{s:s, s:s, s:[s]}", "blockHash", block_hash, "address", token,
                               "topics", TRANSFER_TOPIC);
    json_t *r;
    enum pay_err rc = pay_chain_rpc_call(c, "eth_getLogs", json_pack("[o]", filter), &r, err);
    if (rc != PAY_ERR_OK)
        return rc;
    size_t count = json_is_array(r) ? json_array_size(r) : 0;
    if (!json_is_array(r) || count > PAY_CHAIN_LOGS_PER_BLOCK_MAX) {
        json_decref(r);
        return bad_answer(err, "eth_getLogs", "not a list of logs, or too many");
    }
    struct pay_chain_transfer_log *logs = calloc(count ? count : 1, sizeof *logs);
    if (logs == NULL) {
        json_decref(r);
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        if (log_parse(json_array_get(r, i), block_hash, &logs[k]))
            k++;
        else
            PAY_WARN("chain.log_skipped", "block=%s index=%zu (not an ERC-20 Transfer)", block_hash,
                     i);
    }
    json_decref(r);
    *out = logs;
    *n = k;
    return PAY_ERR_OK;
}

/* --- sending transactions ------------------------------------------------------------------- */

enum pay_err pay_chain_rpc_quantity(const struct pay_chain_rpc *c, const char *method,
                                    json_t *params, int64_t *out, struct pay_error *err)
{
    json_t *r;
    enum pay_err e = pay_chain_rpc_call(c, method, params, &r, err);
    if (e != PAY_ERR_OK)
        return e;
    const char *t = json_string_value(r);
    size_t digits = t && strncmp(t, "0x", 2) == 0 ? strlen(t) - 2 : 0;
    /* beyond 63 bits: 17 digits or more, or 16 from 8 up (10 ether is 0x8ac7230489e80000) */
    if (digits > 0 && t[2] != '0' && is_hex_digits(t + 2, digits) &&
        (digits > 16 || (digits == 16 && strchr("89abcdefABCDEF", t[2]) != NULL)))
        *out = INT64_MAX;
    else if (pay_chain_quantity_parse(t, out) != 0)
        e = bad_answer(err, method, "not a quantity");
    json_decref(r);
    return e;
}

enum pay_err pay_chain_rpc_fees(const struct pay_chain_rpc *c, uint64_t *max_fee,
                                uint64_t *priority_fee, struct pay_error *err)
{
    json_t *b;
    enum pay_err e =
        pay_chain_rpc_call(c, "eth_getBlockByNumber", json_pack("[s, b]", "latest", 0), &b, err);
    if (e != PAY_ERR_OK)
        return e;
    int64_t base = 0, tip = 0;
    int bad =
        pay_chain_quantity_parse(json_string_value(json_object_get(b, "baseFeePerGas")), &base);
    json_decref(b);
    if (bad || base > INT32_MAX * 1000LL)
        return bad_answer(err, "eth_getBlockByNumber", "no usable base fee");
    if (pay_chain_rpc_quantity(c, "eth_maxPriorityFeePerGas", NULL, &tip, NULL) != PAY_ERR_OK ||
        tip > INT32_MAX * 1000LL)
        tip = 1000000000; /* 1 gwei when the node has no suggestion */
    *priority_fee = (uint64_t)tip;
    *max_fee = 2 * (uint64_t)base + (uint64_t)tip;
    return PAY_ERR_OK;
}

enum pay_err pay_chain_rpc_send_raw(const struct pay_chain_rpc *c, const char *raw,
                                    struct pay_error *err)
{
    json_t *r;
    struct pay_error e2 = {0};
    enum pay_err e =
        pay_chain_rpc_call(c, "eth_sendRawTransaction", json_pack("[s]", raw), &r, &e2);
    json_decref(r);
    if (e == PAY_ERR_OK || (e == PAY_ERR_UPSTREAM_FAILED &&
                            (strstr(e2.detail, "known") || strstr(e2.detail, "nonce too low"))))
        return PAY_ERR_OK;
    if (err)
        *err = e2;
    return e;
}

enum pay_err pay_chain_rpc_tx_receipt(const struct pay_chain_rpc *c, const char *tx_hash,
                                      struct pay_chain_tx_receipt *out, struct pay_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *r;
    enum pay_err e =
        pay_chain_rpc_call(c, "eth_getTransactionReceipt", json_pack("[s]", tx_hash), &r, err);
    if (e != PAY_ERR_OK)
        return e;
    if (!json_is_null(r)) {
        const char *status = json_string_value(json_object_get(r, "status"));
        out->succeeded = status && strcmp(status, "0x1") == 0;
        out->mined = pay_chain_quantity_parse(json_string_value(json_object_get(r, "blockNumber")),
                                              &out->block_number) == 0 &&
                     hash_copy(json_string_value(json_object_get(r, "blockHash")), out->block_hash);
    }
    json_decref(r);
    return e;
}
