/* EIP-1559 transactions: 0x02 || rlp([chain_id, nonce, max_priority_fee_per_gas,
 * max_fee_per_gas, gas_limit, to, value, data, access_list, y_parity, r, s]), signed over the
 * Keccak-256 of the same without the signature's three fields. */
#include "chain/tx.h"

#include "chain/keccak.h"
#include "core/assertions.h"
#include "crypto/crypto.h"

#include <pthread.h>
#include <string.h>

/* The RLP bytes of one transaction: bounded by its data (PAY_CHAIN_TX_DATA_MAX) plus the
 * fixed fields. */
#define RLP_MAX (PAY_CHAIN_TX_DATA_MAX + 256)

struct rlp {
    uint8_t b[RLP_MAX];
    size_t n;
};

static void put(struct rlp *r, const void *p, size_t n)
{
    PAY_ASSERT(r->n + n <= sizeof r->b);
    memcpy(r->b + r->n, p, n);
    r->n += n;
}

/* A header: short form below 56 bytes, else the length's big-endian bytes. */
static void header(struct rlp *r, uint8_t base, size_t len)
{
    if (len < 56) {
        uint8_t h = (uint8_t)(base + len);
        put(r, &h, 1);
        return;
    }
    uint8_t be[8];
    int k = 0;
    for (size_t v = len; v > 0; v >>= 8)
        be[7 - k++] = (uint8_t)v;
    uint8_t h = (uint8_t)(base + 55 + k);
    put(r, &h, 1);
    put(r, be + 8 - k, (size_t)k);
}

static void bytes(struct rlp *r, const uint8_t *p, size_t n)
{
    if (n == 1 && p[0] < 0x80) { /* a single low byte is its own encoding */
        put(r, p, 1);
        return;
    }
    header(r, 0x80, n);
    if (n > 0)
        put(r, p, n);
}

/* An integer: big-endian without leading zeros; 0 is the empty string. */
static void uint(struct rlp *r, uint64_t v)
{
    uint8_t be[8];
    int k = 0;
    for (; v > 0; v >>= 8)
        be[7 - k++] = (uint8_t)v;
    bytes(r, be + 8 - k, (size_t)k);
}

/* A 32-byte big-endian number (r, s) without its leading zeros. */
static void word(struct rlp *r, const uint8_t w[32])
{
    size_t z = 0;
    while (z < 32 && w[z] == 0)
        z++;
    bytes(r, w + z, 32 - z);
}

/* The nine unsigned fields, as a list's payload. */
static void fields(struct rlp *r, const struct pay_chain_tx *tx)
{
    static const uint8_t empty_list = 0xc0; /* access_list: none */
    uint(r, tx->chain_id);
    uint(r, tx->nonce);
    uint(r, tx->max_priority_fee_per_gas);
    uint(r, tx->max_fee_per_gas);
    uint(r, tx->gas_limit);
    bytes(r, tx->to, PAY_CHAIN_ADDRESS_LEN);
    uint(r, tx->value_wei);
    bytes(r, tx->data, tx->data_len);
    put(r, &empty_list, 1);
}

/* 0x02 || list(payload) into out. */
static void typed(struct rlp *out, const struct rlp *payload)
{
    static const uint8_t type = 0x02;
    out->n = 0;
    put(out, &type, 1);
    header(out, 0xc0, payload->n);
    put(out, payload->b, payload->n);
}

void pay_chain_transfer_call(const uint8_t to[PAY_CHAIN_ADDRESS_LEN], uint64_t amount,
                             uint8_t out[PAY_CHAIN_TRANSFER_CALL_LEN])
{
    static const uint8_t selector[4] = {0xa9, 0x05, 0x9c, 0xbb}; /* transfer(address,uint256) */
    memset(out, 0, PAY_CHAIN_TRANSFER_CALL_LEN);
    memcpy(out, selector, 4);
    memcpy(out + 4 + 12, to, PAY_CHAIN_ADDRESS_LEN);
    for (int i = 0; i < 8; i++)
        out[PAY_CHAIN_TRANSFER_CALL_LEN - 1 - i] = (uint8_t)(amount >> (8 * i));
}

int pay_chain_tx_sign(const struct pay_chain_tx *tx, const uint8_t key[32], char *raw,
                      size_t raw_size, char hash[67])
{
    if (tx->chain_id == 0 || tx->max_fee_per_gas < tx->max_priority_fee_per_gas ||
        tx->data_len > PAY_CHAIN_TX_DATA_MAX || (tx->data == NULL && tx->data_len > 0))
        return -1;
    static struct rlp payload, whole; /* large: kept off the stack */
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    uint8_t h[PAY_KECCAK256_LEN], r[32], s[32];
    int recid = 0, rc = -1;
    payload.n = 0;
    fields(&payload, tx);
    typed(&whole, &payload);
    pay_keccak256(h, whole.b, whole.n);
    if (pay_chain_sign(key, h, r, s, &recid) == 0) {
        uint(&payload, (uint64_t)recid);
        word(&payload, r);
        word(&payload, s);
        typed(&whole, &payload);
        pay_keccak256(h, whole.b, whole.n);
        raw[0] = '0', hash[0] = '0';
        raw[1] = 'x', hash[1] = 'x';
        rc = raw_size >= 3 && pay_hex_encode(raw + 2, raw_size - 2, whole.b, whole.n) == 0 &&
                     pay_hex_encode(hash + 2, 65, h, sizeof h) == 0
                 ? 0
                 : -1;
    }
    pay_wipe(&payload, sizeof payload);
    pay_wipe(&whole, sizeof whole);
    pthread_mutex_unlock(&mu);
    return rc;
}
