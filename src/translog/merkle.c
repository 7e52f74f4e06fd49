/* RFC 9162's Merkle tree hash, its proofs (section 2.1.3.1 PATH, 2.1.4.1 PROOF/SUBPROOF) and
 * their verification (2.1.3.2, 2.1.4.2), written from the RFC's text. The tree is built from
 * the leaf hashes each time: O(n) hashes per proof, fine for a log read per receipt. */
#include "translog/merkle.h"

#include "core/assertions.h"

#include <string.h>

void pay_merkle_leaf_hash(const void *leaf, size_t len, pay_merkle_hash out)
{
    uint8_t buf[1 + PAY_TRANSLOG_LEAF_MAX];
    PAY_ASSERT(len <= PAY_TRANSLOG_LEAF_MAX);
    buf[0] = 0x00;
    memcpy(buf + 1, leaf, len);
    pay_sha256(out, buf, 1 + len);
}

void pay_merkle_node_hash(const pay_merkle_hash left, const pay_merkle_hash right,
                          pay_merkle_hash out)
{
    uint8_t buf[1 + 2 * PAY_SHA256_LEN];
    buf[0] = 0x01;
    memcpy(buf + 1, left, PAY_SHA256_LEN);
    memcpy(buf + 1 + PAY_SHA256_LEN, right, PAY_SHA256_LEN);
    pay_sha256(out, buf, sizeof buf);
}

/* The largest power of two smaller than n (n > 1): where the RFC splits D[0:n]. */
static uint64_t split_of(uint64_t n)
{
    PAY_ASSERT(n > 1);
    uint64_t k = 1;
    while (k < n - k) /* k * 2 < n without overflow */
        k <<= 1;
    return k;
}

void pay_merkle_root(pay_merkle_hash *leaves, uint64_t n, pay_merkle_hash out)
{
    if (n == 0) {
        pay_sha256(out, "", 0);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], PAY_SHA256_LEN);
        return;
    }
    uint64_t k = split_of(n);
    pay_merkle_hash l, r;
    pay_merkle_root(leaves, k, l);
    pay_merkle_root(leaves + k, n - k, r);
    pay_merkle_node_hash(l, r, out);
}

size_t pay_merkle_inclusion_proof(pay_merkle_hash *leaves, uint64_t n, uint64_t m,
                                  pay_merkle_hash *proof)
{
    PAY_ASSERT(m < n);
    if (n == 1)
        return 0;
    uint64_t k = split_of(n);
    size_t len;
    if (m < k) {
        len = pay_merkle_inclusion_proof(leaves, k, m, proof);
        pay_merkle_root(leaves + k, n - k, proof[len]);
    } else {
        len = pay_merkle_inclusion_proof(leaves + k, n - k, m - k, proof);
        pay_merkle_root(leaves, k, proof[len]);
    }
    PAY_ASSERT(len + 1 <= PAY_MERKLE_PROOF_MAX);
    return len + 1;
}

/* SUBPROOF(m, D[0:n], b). */
static size_t subproof(pay_merkle_hash *leaves, uint64_t n, uint64_t m, bool b,
                       pay_merkle_hash *proof)
{
    if (m == n) {
        if (b)
            return 0;
        pay_merkle_root(leaves, n, proof[0]);
        return 1;
    }
    uint64_t k = split_of(n);
    size_t len;
    if (m <= k) {
        len = subproof(leaves, k, m, b, proof);
        pay_merkle_root(leaves + k, n - k, proof[len]);
    } else {
        len = subproof(leaves + k, n - k, m - k, false, proof);
        pay_merkle_root(leaves, k, proof[len]);
    }
    PAY_ASSERT(len + 1 <= PAY_MERKLE_PROOF_MAX);
    return len + 1;
}

size_t pay_merkle_consistency_proof(pay_merkle_hash *leaves, uint64_t n, uint64_t m,
                                    pay_merkle_hash *proof)
{
    PAY_ASSERT(m > 0 && m <= n);
    return subproof(leaves, n, m, true, proof);
}

bool pay_merkle_verify_inclusion(uint64_t index, uint64_t size, const pay_merkle_hash leaf_hash,
                                 pay_merkle_hash *proof, size_t len, const pay_merkle_hash root)
{
    if (index >= size)
        return false;
    uint64_t fn = index, sn = size - 1;
    pay_merkle_hash r;
    memcpy(r, leaf_hash, PAY_SHA256_LEN);
    for (size_t i = 0; i < len; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            pay_merkle_node_hash(proof[i], r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            pay_merkle_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && pay_ct_equal(r, root, PAY_SHA256_LEN);
}

static bool is_power_of_two(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

bool pay_merkle_verify_consistency(uint64_t first, uint64_t second,
                                   const pay_merkle_hash first_root,
                                   const pay_merkle_hash second_root, pay_merkle_hash *proof,
                                   size_t len)
{
    if (first > second)
        return false;
    if (first == second)
        return len == 0 && pay_ct_equal(first_root, second_root, PAY_SHA256_LEN);
    if (first == 0)
        return len == 0;
    if (len == 0)
        return false;
    /* The path starts with first_root itself when the old tree is a complete subtree. */
    bool prepend = is_power_of_two(first);
    const uint8_t *start = prepend ? first_root : proof[0];
    size_t next = prepend ? 0 : 1;
    uint64_t fn = first - 1, sn = second - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    pay_merkle_hash fr, sr;
    memcpy(fr, start, PAY_SHA256_LEN);
    memcpy(sr, start, PAY_SHA256_LEN);
    for (size_t i = next; i < len; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            pay_merkle_node_hash(proof[i], fr, fr);
            pay_merkle_node_hash(proof[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            pay_merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && pay_ct_equal(fr, first_root, PAY_SHA256_LEN) &&
           pay_ct_equal(sr, second_root, PAY_SHA256_LEN);
}
