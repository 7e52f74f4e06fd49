/* src/chain's keys against published vectors: Keccak-256 (the empty string, "abc", the ERC-20
 * Transfer topic and transfer selector), BIP-32 test vector 1 (private and public derivation,
 * serialisation both ways), EIP-55's own examples, and addresses of known private keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "chain/keccak.h"
#include "chain/keys.h"
#include "crypto/crypto.h"

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    assert_int_equal(pay_hex_encode(out, n * 2 + 1, b, n), 0);
}

static void keccak_hex(const char *text, const char *want)
{
    uint8_t h[PAY_KECCAK256_LEN];
    char hex[65];
    pay_keccak256(h, text, strlen(text));
    hex_of(h, sizeof h, hex);
    assert_string_equal(hex, want);
}

static void keccak_vectors(void **state)
{
    (void)state;
    keccak_hex("", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    keccak_hex("abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    keccak_hex("Transfer(address,address,uint256)",
               "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
    uint8_t h[PAY_KECCAK256_LEN];
    pay_keccak256(h, "transfer(address,uint256)", 25);
    assert_memory_equal(h, "\xa9\x05\x9c\xbb", 4);
}

/* BIP-32 test vector 1: seed 000102030405060708090a0b0c0d0e0f. */
static const char *const v1_m_xprv = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiCh"
                                     "kVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
static const char *const v1_m_xpub = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ"
                                     "29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8";
static const char *const v1_0h_xpub = "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6"
                                      "LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw";
static const char *const v1_0h_1_xpub = "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3U"
                                        "FHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ";
static const char *const v1_0h_1_2h_xpub =
    "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4V"
    "UNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5";
static const char *const v1_0h_1_2h_2_xpub =
    "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbq"
    "BqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV";

static void bip32_private_derivation(void **state)
{
    (void)state;
    uint8_t seed[16];
    for (int i = 0; i < 16; i++)
        seed[i] = (uint8_t)i;
    struct pay_chain_xprv m, c0, c1, c2;
    struct pay_error err;
    char text[PAY_CHAIN_XKEY_TEXT_LEN];
    assert_int_equal(pay_chain_xprv_from_seed(seed, sizeof seed, &m, &err), PAY_ERR_OK);
    assert_int_equal(pay_chain_xprv_format(&m, text, sizeof text), 0);
    assert_string_equal(text, v1_m_xprv);
    assert_int_equal(pay_chain_xpub_format(&m.pub, text, sizeof text), 0);
    assert_string_equal(text, v1_m_xpub);
    assert_int_equal(pay_chain_xprv_child(&m, PAY_CHAIN_HARDENED | 0, &c0, &err), PAY_ERR_OK);
    assert_int_equal(pay_chain_xpub_format(&c0.pub, text, sizeof text), 0);
    assert_string_equal(text, v1_0h_xpub);
    assert_int_equal(pay_chain_xprv_child(&c0, 1, &c1, &err), PAY_ERR_OK);
    assert_int_equal(pay_chain_xpub_format(&c1.pub, text, sizeof text), 0);
    assert_string_equal(text, v1_0h_1_xpub);
    assert_int_equal(pay_chain_xprv_child(&c1, PAY_CHAIN_HARDENED | 2, &c2, &err), PAY_ERR_OK);
    assert_int_equal(pay_chain_xpub_format(&c2.pub, text, sizeof text), 0);
    assert_string_equal(text, v1_0h_1_2h_xpub);
    /* an xprv parses back to the same key */
    struct pay_chain_xprv back;
    assert_int_equal(pay_chain_xprv_parse(v1_m_xprv, "xprv", &back, &err), PAY_ERR_OK);
    assert_memory_equal(back.key, m.key, 32);
    assert_memory_equal(back.pub.pubkey, m.pub.pubkey, 33);
}

/* The platform's side: only the xpub, and public derivation gives the same children. */
static void bip32_public_derivation(void **state)
{
    (void)state;
    struct pay_chain_xpub p, c;
    struct pay_error err;
    char text[PAY_CHAIN_XKEY_TEXT_LEN];
    assert_int_equal(pay_chain_xpub_parse(v1_0h_xpub, "xpub", &p, &err), PAY_ERR_OK);
    assert_int_equal(pay_chain_xpub_child(&p, 1, &c, &err), PAY_ERR_OK);
    assert_int_equal(pay_chain_xpub_format(&c, text, sizeof text), 0);
    assert_string_equal(text, v1_0h_1_xpub);
    assert_int_equal(pay_chain_xpub_parse(v1_0h_1_2h_xpub, "xpub", &p, &err), PAY_ERR_OK);
    assert_int_equal(pay_chain_xpub_child(&p, 2, &c, &err), PAY_ERR_OK);
    assert_int_equal(pay_chain_xpub_format(&c, text, sizeof text), 0);
    assert_string_equal(text, v1_0h_1_2h_2_xpub);
    /* no hardened child from a public key */
    assert_int_equal(pay_chain_xpub_child(&p, PAY_CHAIN_HARDENED, &c, &err), PAY_ERR_FIELD_INVALID);
}

static void bip32_refusals(void **state)
{
    (void)state;
    struct pay_chain_xpub k;
    struct pay_chain_xprv x;
    struct pay_error err;
    char bad[PAY_CHAIN_XKEY_TEXT_LEN];
    /* one character changed: the checksum catches it */
    memcpy(bad, v1_m_xpub, strlen(v1_m_xpub) + 1);
    bad[20] = bad[20] == 'a' ? 'b' : 'a';
    assert_int_equal(pay_chain_xpub_parse(bad, "xpub", &k, &err), PAY_ERR_FIELD_INVALID);
    assert_string_equal(err.field, "xpub");
    assert_non_null(strstr(err.detail, "checksum"));
    /* a private key where a public one is wanted, and the other way round */
    assert_int_equal(pay_chain_xpub_parse(v1_m_xprv, "xpub", &k, &err), PAY_ERR_FIELD_INVALID);
    assert_non_null(strstr(err.detail, "version"));
    assert_int_equal(pay_chain_xprv_parse(v1_m_xpub, "xprv", &x, &err), PAY_ERR_FIELD_INVALID);
    /* not base58, too short, empty, NULL */
    assert_int_equal(pay_chain_xpub_parse("xpub0OIl", "xpub", &k, &err), PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_chain_xpub_parse("xpub661MyMwAqRbc", "xpub", &k, &err),
                     PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_chain_xpub_parse("", "xpub", &k, &err), PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_chain_xpub_parse(NULL, "xpub", &k, &err), PAY_ERR_FIELD_INVALID);
}

static void eip55(void **state)
{
    (void)state;
    static const char *const vectors[] = {
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        uint8_t a[PAY_CHAIN_ADDRESS_LEN];
        char text[PAY_CHAIN_ADDRESS_TEXT_LEN], lower[PAY_CHAIN_ADDRESS_TEXT_LEN];
        struct pay_error err;
        assert_int_equal(pay_chain_address_parse(vectors[i], "to", a, &err), PAY_ERR_OK);
        pay_chain_address_format(a, text);
        assert_string_equal(text, vectors[i]);
        /* all lower case carries no checksum and is accepted */
        for (int j = 0; j < 43; j++)
            lower[j] = (char)((text[j] >= 'A' && text[j] <= 'F') ? text[j] + 32 : text[j]);
        assert_int_equal(pay_chain_address_parse(lower, "to", a, &err), PAY_ERR_OK);
        /* one letter's case flipped: the checksum refuses it */
        for (int j = 2; j < 42; j++) {
            if (text[j] >= 'a' && text[j] <= 'f') {
                text[j] = (char)(text[j] - 32);
                break;
            }
        }
        assert_int_equal(pay_chain_address_parse(text, "to", a, &err), PAY_ERR_FIELD_INVALID);
        assert_string_equal(err.field, "to");
    }
    uint8_t a[PAY_CHAIN_ADDRESS_LEN];
    struct pay_error err;
    assert_int_equal(
        pay_chain_address_parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", "to", a, &err),
        PAY_ERR_FIELD_INVALID);
    assert_int_equal(
        pay_chain_address_parse("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedff", "to", a, &err),
        PAY_ERR_FIELD_INVALID);
    assert_int_equal(
        pay_chain_address_parse("0xgaAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "to", a, &err),
        PAY_ERR_FIELD_INVALID);
}

static void address_of_key(const char *key_hex, const char *want)
{
    uint8_t key[32], pub[33], a[PAY_CHAIN_ADDRESS_LEN];
    size_t n;
    char text[PAY_CHAIN_ADDRESS_TEXT_LEN];
    assert_int_equal(pay_hex_decode(key, sizeof key, key_hex, 64, &n), 0);
    assert_int_equal(pay_chain_key_public(key, pub), 0);
    pay_chain_address_of(pub, a);
    pay_chain_address_format(a, text);
    assert_string_equal(text, want);
}

static void addresses_of_keys(void **state)
{
    (void)state;
    address_of_key("0000000000000000000000000000000000000000000000000000000000000001",
                   "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
    /* ganache's deterministic account 0, the sandbox chain's deployer */
    address_of_key("4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d",
                   "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1");
    uint8_t zero[32] = {0}, pub[33];
    assert_int_equal(pay_chain_key_public(zero, pub), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keccak_vectors),
        cmocka_unit_test(bip32_private_derivation),
        cmocka_unit_test(bip32_public_derivation),
        cmocka_unit_test(bip32_refusals),
        cmocka_unit_test(eip55),
        cmocka_unit_test(addresses_of_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
