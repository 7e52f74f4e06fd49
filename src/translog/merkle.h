/* RFC 9162's Merkle tree (section 2.1; the same as RFC 6962's): leaf and node hashes, the tree
 * hash of n leaves, inclusion and consistency proofs, and their verification, on SHA-256.
 * Pure functions on arrays of leaf hashes (only read; the pointers are not const because C17
 * does not convert a pointer to arrays into a const one): no storage, no allocation
 * (docs/receipts.md).
 *
 * Threads: every function is reentrant. */
#ifndef PAY_TRANSLOG_MERKLE_H
#define PAY_TRANSLOG_MERKLE_H

#include "core/limits.h"
#include "crypto/crypto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A hash of the tree: SHA-256, 32 bytes. */
typedef uint8_t pay_merkle_hash[PAY_SHA256_LEN];

/* SHA-256(0x00 || leaf): the hash of one leaf's bytes. */
void pay_merkle_leaf_hash(const void *leaf, size_t len, pay_merkle_hash out);
/* SHA-256(0x01 || left || right): an inner node. */
void pay_merkle_node_hash(const pay_merkle_hash left, const pay_merkle_hash right,
                          pay_merkle_hash out);

/* MTH(D[0:n]) over the leaf hashes leaves[0..n) (SHA-256 of nothing for n = 0). */
void pay_merkle_root(pay_merkle_hash *leaves, uint64_t n, pay_merkle_hash out);

/* PATH(m, D[0:n]): the inclusion proof of leaf m (m < n) into proof (room for
 * PAY_MERKLE_PROOF_MAX hashes); returns the number of hashes. */
size_t pay_merkle_inclusion_proof(pay_merkle_hash *leaves, uint64_t n, uint64_t m,
                                  pay_merkle_hash *proof);
/* PROOF(m, D[0:n]): the consistency proof from size m to size n (0 < m <= n; empty when
 * m == n) into proof (room for PAY_MERKLE_PROOF_MAX hashes); returns the number of hashes. */
size_t pay_merkle_consistency_proof(pay_merkle_hash *leaves, uint64_t n, uint64_t m,
                                    pay_merkle_hash *proof);

/* RFC 9162 2.1.3.2: true when proof (len hashes) shows the leaf whose hash is leaf_hash at
 * index in the tree of size with root root. */
bool pay_merkle_verify_inclusion(uint64_t index, uint64_t size, const pay_merkle_hash leaf_hash,
                                 pay_merkle_hash *proof, size_t len, const pay_merkle_hash root)
    __attribute__((warn_unused_result));
/* RFC 9162 2.1.4.2: true when proof (len hashes) shows that the tree of size first with root
 * first_root is a prefix of the tree of size second with root second_root. first == second
 * holds with an empty proof and equal roots; first == 0 with an empty proof. */
bool pay_merkle_verify_consistency(uint64_t first, uint64_t second,
                                   const pay_merkle_hash first_root,
                                   const pay_merkle_hash second_root, pay_merkle_hash *proof,
                                   size_t len) __attribute__((warn_unused_result));

#endif
