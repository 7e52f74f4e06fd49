/* RFC 9162's Merkle tree (src/translog/merkle.c) against two references: RFC 6962's own test
 * data (the certificate-transparency reference implementation's eight leaves, their roots,
 * inclusion and consistency proofs), and merkle_ref.py, an independent implementation of the
 * RFC's recursive definitions run by this test: every root, inclusion proof and consistency
 * proof of trees of 1..33 leaves must be byte for byte the reference's, every one must verify,
 * and every one altered (a bit flipped, a hash dropped or added, another index or size) must
 * not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "lib/harness.h"
#include "translog/merkle.h"

#define REF_MAX 33

static pay_merkle_hash leaves[REF_MAX];

static void unhex(const char *hex, pay_merkle_hash out)
{
    size_t n = 0;
    assert_int_equal(pay_hex_decode(out, PAY_SHA256_LEN, hex, 64, &n), 0);
    assert_int_equal(n, PAY_SHA256_LEN);
}

/* RFC 6962's reference leaves (certificate-transparency's merkle_tree_test.cc). */
static const struct {
    const char *data;
    size_t len;
} ct_leaves[8] = {{"", 0},
                  {"\x00", 1},
                  {"\x10", 1},
                  {"\x20\x21", 2},
                  {"\x30\x31", 2},
                  {"\x40\x41\x42\x43", 4},
                  {"\x50\x51\x52\x53\x54\x55\x56\x57", 8},
                  {"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16}};
static const char *const ct_roots[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

static void test_rfc6962_reference(void **state)
{
    (void)state;
    pay_merkle_hash ct[8], root, want, proof[PAY_MERKLE_PROOF_MAX];
    for (int i = 0; i < 8; i++)
        pay_merkle_leaf_hash(ct_leaves[i].data, ct_leaves[i].len, ct[i]);
    for (int n = 0; n <= 8; n++) {
        pay_merkle_root(ct, (uint64_t)n, root);
        unhex(ct_roots[n], want);
        assert_memory_equal(root, want, PAY_SHA256_LEN);
    }
    /* leaf 0 of 8: its sibling leaf 1, then the roots of [2,4) and [4,8) */
    static const char *const path0[3] = {
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
    assert_int_equal(pay_merkle_inclusion_proof(ct, 8, 0, proof), 3);
    for (int i = 0; i < 3; i++) {
        unhex(path0[i], want);
        assert_memory_equal(proof[i], want, PAY_SHA256_LEN);
    }
    /* consistency 6 -> 8 */
    static const char *const proof68[3] = {
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    assert_int_equal(pay_merkle_consistency_proof(ct, 8, 6, proof), 3);
    for (int i = 0; i < 3; i++) {
        unhex(proof68[i], want);
        assert_memory_equal(proof[i], want, PAY_SHA256_LEN);
    }
    pay_merkle_hash r6, r8;
    unhex(ct_roots[6], r6);
    unhex(ct_roots[8], r8);
    assert_true(pay_merkle_verify_consistency(6, 8, r6, r8, proof, 3));
    assert_false(pay_merkle_verify_consistency(6, 8, r8, r6, proof, 3));
}

/* The hashes of a reference line's list ("-" for none). */
static size_t parse_list(char *s, pay_merkle_hash *out)
{
    size_t n = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    for (char *p = s; *p; p += 64) {
        assert_true(n < PAY_MERKLE_PROOF_MAX);
        unhex(p, out[n++]);
        if (p[64] == ',')
            p++;
    }
    return n;
}

/* A proof altered each way must fail: a bit flipped in each hash, one hash dropped, one more. */
static void check_altered(uint64_t a, uint64_t b, bool inclusion, pay_merkle_hash *proof, size_t n,
                          const pay_merkle_hash x, const pay_merkle_hash root)
{
#define VERIFY(p, len)                                                                             \
    (inclusion ? pay_merkle_verify_inclusion(a, b, x, p, len, root)                                \
               : pay_merkle_verify_consistency(a, b, x, root, p, len))
    for (size_t i = 0; i < n; i++) {
        proof[i][i % PAY_SHA256_LEN] ^= 0x01;
        assert_false(VERIFY(proof, n));
        proof[i][i % PAY_SHA256_LEN] ^= 0x01;
    }
    if (n > 0)
        assert_false(VERIFY(proof, n - 1));
    if (n + 1 < PAY_MERKLE_PROOF_MAX) {
        memcpy(proof[n], root, PAY_SHA256_LEN);
        assert_false(VERIFY(proof, n + 1));
    }
    assert_true(VERIFY(proof, n));
#undef VERIFY
}

static void check_line(char *kind, uint64_t m, uint64_t n, char *list, size_t *counts)
{
    pay_merkle_hash want[PAY_MERKLE_PROOF_MAX], got[PAY_MERKLE_PROOF_MAX], root, first;
    size_t wn = parse_list(list, want), gn;
    pay_merkle_root(leaves, n, root);
    if (strcmp(kind, "root") == 0) {
        assert_int_equal(wn, 1);
        assert_memory_equal(root, want[0], PAY_SHA256_LEN);
        counts[0]++;
    } else if (strcmp(kind, "path") == 0) {
        gn = pay_merkle_inclusion_proof(leaves, n, m, got);
        assert_int_equal(gn, wn);
        if (wn > 0)
            assert_memory_equal(got, want, wn * PAY_SHA256_LEN);
        assert_true(pay_merkle_verify_inclusion(m, n, leaves[m], want, wn, root));
        if (m + 1 < n) /* the same leaf and proof claimed at another index */
            assert_false(pay_merkle_verify_inclusion(m + 1, n, leaves[m], want, wn, root));
        assert_false(pay_merkle_verify_inclusion(n, n, leaves[m], want, wn, root));
        check_altered(m, n, true, want, wn, leaves[m], root);
        counts[1]++;
    } else {
        assert_string_equal(kind, "proof");
        gn = pay_merkle_consistency_proof(leaves, n, m, got);
        assert_int_equal(gn, wn);
        if (wn > 0)
            assert_memory_equal(got, want, wn * PAY_SHA256_LEN);
        pay_merkle_root(leaves, m, first);
        assert_true(pay_merkle_verify_consistency(m, n, first, root, want, wn));
        if (m < n) {
            assert_false(pay_merkle_verify_consistency(m, n, root, root, want, wn));
            check_altered(m, n, false, want, wn, first, root);
        }
        counts[2]++;
    }
}

static void test_python_reference(void **state)
{
    (void)state;
    for (int i = 0; i < REF_MAX; i++) {
        char d[16];
        int len = snprintf(d, sizeof d, "leaf-%d", i);
        pay_merkle_leaf_hash(d, (size_t)len, leaves[i]);
    }
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    assert_non_null(root);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/translog/merkle_ref.py' %d", root, REF_MAX);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    static char line[PAY_MERKLE_PROOF_MAX * 65 + 64];
    size_t counts[3] = {0, 0, 0};
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char kind[8], a[24], b[24], *list = NULL;
        char *sp1 = strchr(line, ' ');
        assert_non_null(sp1);
        if (strncmp(line, "root ", 5) == 0) {
            assert_int_equal(sscanf(line, "%7s %23s", kind, b), 2);
            list = strchr(sp1 + 1, ' ') + 1;
            check_line(kind, 0, strtoull(b, NULL, 10), list, counts);
            continue;
        }
        assert_int_equal(sscanf(line, "%7s %23s %23s", kind, a, b), 3);
        list = strchr(strchr(sp1 + 1, ' ') + 1, ' ') + 1;
        check_line(kind, strtoull(a, NULL, 10), strtoull(b, NULL, 10), list, counts);
    }
    assert_int_equal(pclose(f), 0);
    /* every size, every index, every earlier size: nothing skipped */
    assert_int_equal(counts[0], REF_MAX);
    assert_int_equal(counts[1], REF_MAX * (REF_MAX + 1) / 2);
    assert_int_equal(counts[2], REF_MAX * (REF_MAX + 1) / 2);
}

static void test_edges(void **state)
{
    (void)state;
    pay_merkle_hash r0, r1, none[1];
    pay_merkle_root(leaves, 0, r0);
    pay_merkle_root(leaves, 1, r1);
    assert_true(pay_merkle_verify_consistency(0, 5, r0, r1, none, 0));
    assert_true(pay_merkle_verify_consistency(1, 1, r1, r1, none, 0));
    assert_false(pay_merkle_verify_consistency(1, 1, r1, r0, none, 0)); /* a fork at one size */
    assert_false(pay_merkle_verify_consistency(2, 1, r1, r1, none, 0)); /* shrinking */
    assert_false(pay_merkle_verify_consistency(1, 2, r1, r1, none, 0)); /* proof missing */
    assert_true(pay_merkle_verify_inclusion(0, 1, leaves[0], none, 0, leaves[0]));
    assert_false(pay_merkle_verify_inclusion(1, 1, leaves[0], none, 0, leaves[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6962_reference),
        cmocka_unit_test(test_python_reference),
        cmocka_unit_test(test_edges),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
