/* The signed-request scheme: docs/protocol.md's test vectors (read from the document itself),
 * strict header parsing, every verification failure, and the nonce cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/sig.h"
#include "vectors.h"

static const char *vec(const char *name)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
        if (strcmp(vectors[i].name, name) == 0)
            return vectors[i].value;
    fail_msg("no vector %s", name);
    return NULL;
}

static int64_t vec_i64(const char *name)
{
    return strtoll(vec(name), NULL, 10);
}

static char *read_doc(void)
{
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    assert_non_null(root); /* set by tests/meson.build's test_env */
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/protocol.md", root);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* "\n" in the document's values stands for a line feed. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] == 'n') {
            *w++ = '\n';
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static void doc_vectors_match_constants(void **state)
{
    (void)state;
    char *doc = read_doc();
    char *begin = strstr(doc, "<!-- test-vectors:begin -->");
    char *end = strstr(doc, "<!-- test-vectors:end -->");
    assert_non_null(begin);
    assert_non_null(end);
    *end = '\0';
    size_t found = 0;
    for (char *line = begin; line != NULL && *line;) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        char *eq = strstr(line, " =");
        if (eq != NULL && line[0] != '`' && line[0] != '<') {
            *eq = '\0';
            for (char *t = eq - 1; t > line && *t == ' '; t--)
                *t = '\0';
            char *value = eq + 2;
            if (*value == ' ')
                value++;
            unescape(value);
            assert_string_equal(value, vec(line));
            found++;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    assert_int_equal(found, sizeof vectors / sizeof vectors[0]);
    /* The RSA test key printed in the document is the one the tests use. */
    assert_non_null(strstr(read_doc(), rsa_test_key_pem));
}

static void vector_key(struct pay_ed25519_key *k)
{
    uint8_t seed[32];
    size_t n = 0;
    assert_int_equal(pay_hex_decode(seed, sizeof seed, vec("ed25519.seed_hex"), 64, &n), 0);
    pay_ed25519_from_seed(k, seed);
    char hex[65], text[PAY_ED25519_KEY_TEXT_LEN];
    assert_int_equal(pay_hex_encode(hex, sizeof hex, k->pk, 32), 0);
    assert_string_equal(hex, vec("ed25519.public_key_hex"));
    pay_ed25519_pk_to_text(text, k->pk);
    assert_string_equal(text, vec("ed25519.public_key_b64"));
}

/* Key look-up for the tests: a fixed table of (keyId, public key). */
struct keytab {
    struct {
        const char *id;
        struct pay_sig_pubkey pk;
    } keys[4];
    int n;
    int released;
};

static enum pay_err lookup(void *ctx, const char *key_id, struct pay_sig_pubkey *out)
{
    struct keytab *t = ctx;
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->keys[i].id, key_id) == 0) {
            *out = t->keys[i].pk;
            return PAY_ERR_OK;
        }
    return PAY_ERR_SIGNATURE_INVALID;
}

static void release(void *ctx, struct pay_sig_pubkey *k)
{
    (void)k;
    ((struct keytab *)ctx)->released++;
}

static void add_ed(struct keytab *t, const char *id, const uint8_t pk[32])
{
    t->keys[t->n].id = id;
    t->keys[t->n].pk.alg = PAY_SIG_ED25519;
    memcpy(t->keys[t->n].pk.ed25519, pk, 32);
    t->n++;
}

static void ed25519_request_vector(void **state)
{
    (void)state;
    struct pay_ed25519_key k;
    vector_key(&k);
    const char *body = vec("request.body");
    char canon[PAY_SIG_CANONICAL_MAX], hash[PAY_SHA256_HEX_LEN];
    pay_sha256_hex(hash, body, strlen(body));
    assert_string_equal(hash, vec("request.body_sha256"));
    int n =
        pay_sig_canonical_request(canon, sizeof canon, vec("request.method"), vec("request.target"),
                                  vec_i64("request.ts"), vec("request.nonce"), body, strlen(body));
    assert_int_equal(n, strlen(vec("request.canonical")));
    assert_string_equal(canon, vec("request.canonical"));

    struct pay_sig_signer s = {PAY_SIG_ED25519, "m_123", &k, NULL};
    char hdr[PAY_SIG_HEADER_MAX];
    assert_int_equal(pay_sig_sign_request(&s, "POST", vec("request.target"), body, strlen(body),
                                          vec_i64("request.ts"), vec("request.nonce"), hdr,
                                          sizeof hdr, NULL),
                     PAY_ERR_OK);
    assert_string_equal(hdr, vec("request.header"));

    struct keytab t = {0};
    add_ed(&t, "m_123", k.pk);
    struct pay_nonce_cache *nc = pay_nonce_cache_mem_new(1024, PAY_SIGNATURE_WINDOW_S);
    struct pay_sig_verifier v = {lookup, release, &t, nc, 0};
    struct pay_sig_header h;
    struct pay_error e;
    assert_int_equal(pay_sig_verify_request(&v, hdr, "POST", vec("request.target"), body,
                                            strlen(body), vec_i64("request.ts") + 10, &h, &e),
                     PAY_ERR_OK);
    assert_string_equal(h.key_id, "m_123");
    assert_int_equal(t.released, 1);
    pay_nonce_cache_free(nc);
    pay_ed25519_key_fini(&k);
}

static void ed25519_response_vector(void **state)
{
    (void)state;
    struct pay_ed25519_key k;
    vector_key(&k);
    const char *body = vec("response.body");
    char canon[PAY_SIG_CANONICAL_MAX];
    assert_true(pay_sig_canonical_response(canon, sizeof canon, 200, vec_i64("response.ts"),
                                           vec("response.nonce"), vec("response.request_nonce"),
                                           body, strlen(body)) > 0);
    assert_string_equal(canon, vec("response.canonical"));
    struct pay_sig_signer s = {PAY_SIG_ED25519, "platform", &k, NULL};
    char hdr[PAY_SIG_HEADER_MAX];
    assert_int_equal(pay_sig_sign_response(&s, 200, vec("response.request_nonce"), body,
                                           strlen(body), vec_i64("response.ts"),
                                           vec("response.nonce"), hdr, sizeof hdr, NULL),
                     PAY_ERR_OK);
    assert_string_equal(hdr, vec("response.header"));

    struct keytab t = {0};
    add_ed(&t, "platform", k.pk);
    struct pay_sig_verifier v = {lookup, NULL, &t, NULL, 0};
    int64_t now = vec_i64("response.ts");
    assert_int_equal(pay_sig_verify_response(&v, hdr, 200, vec("response.request_nonce"), body,
                                             strlen(body), now, NULL, NULL),
                     PAY_ERR_OK);
    /* Bound to the request nonce, the status and the body. */
    assert_int_equal(pay_sig_verify_response(&v, hdr, 200, "another-request-nonce", body,
                                             strlen(body), now, NULL, NULL),
                     PAY_ERR_SIGNATURE_INVALID);
    assert_int_equal(pay_sig_verify_response(&v, hdr, 500, vec("response.request_nonce"), body,
                                             strlen(body), now, NULL, NULL),
                     PAY_ERR_SIGNATURE_INVALID);
    assert_int_equal(pay_sig_verify_response(&v, hdr, 200, vec("response.request_nonce"), "{}", 2,
                                             now, NULL, NULL),
                     PAY_ERR_SIGNATURE_INVALID);
    pay_ed25519_key_fini(&k);
}

static void rsa_vector(void **state)
{
    (void)state;
    struct pay_rsa_key *rk = NULL;
    assert_int_equal(pay_rsa_key_from_pem(rsa_test_key_pem, strlen(rsa_test_key_pem), &rk), 0);
    assert_int_equal(pay_rsa_key_bits(rk), 2048);
    char canon[PAY_SIG_CANONICAL_MAX];
    assert_true(pay_sig_canonical_request(canon, sizeof canon, "GET", vec("rsa.target"),
                                          vec_i64("rsa.ts"), vec("rsa.nonce"), "", 0) > 0);
    assert_string_equal(canon, vec("rsa.canonical"));
    struct pay_sig_signer s = {PAY_SIG_RSA_SHA256, "m_rsa", NULL, rk};
    char hdr[PAY_SIG_HEADER_MAX];
    assert_int_equal(pay_sig_sign_request(&s, "GET", vec("rsa.target"), "", 0, vec_i64("rsa.ts"),
                                          vec("rsa.nonce"), hdr, sizeof hdr, NULL),
                     PAY_ERR_OK);
    assert_string_equal(hdr, vec("rsa.header"));

    /* Verify with the public half only. */
    char *pub_pem = pay_rsa_public_pem(rk);
    struct pay_rsa_key *pub = NULL;
    assert_int_equal(pay_rsa_key_from_pem(pub_pem, strlen(pub_pem), &pub), 0);
    assert_false(pay_rsa_key_is_private(pub));
    struct keytab t = {0};
    t.keys[0].id = "m_rsa";
    t.keys[0].pk.alg = PAY_SIG_RSA_SHA256;
    t.keys[0].pk.rsa = pub;
    t.n = 1;
    struct pay_nonce_cache *nc = pay_nonce_cache_mem_new(64, PAY_SIGNATURE_WINDOW_S);
    struct pay_sig_verifier v = {lookup, NULL, &t, nc, 0};
    int64_t now = vec_i64("rsa.ts");
    assert_int_equal(
        pay_sig_verify_request(&v, hdr, "GET", vec("rsa.target"), "", 0, now, NULL, NULL),
        PAY_ERR_OK);
    assert_int_equal(
        pay_sig_verify_request(&v, hdr, "GET", vec("rsa.target"), "", 0, now, NULL, NULL),
        PAY_ERR_NONCE_REPLAYED);
    /* The same RSA signature presented under the Ed25519 scheme: refused (alg is bound). */
    char swapped[PAY_SIG_HEADER_MAX];
    snprintf(swapped, sizeof swapped, "PAYGATE-ED25519%s", hdr + strlen("PAYGATE-RSA-SHA256"));
    assert_int_equal(
        pay_sig_verify_request(&v, swapped, "GET", vec("rsa.target"), "", 0, now, NULL, NULL),
        PAY_ERR_SIGNATURE_MALFORMED); /* 256-byte sig is not an Ed25519 sig */
    pay_nonce_cache_free(nc);
    free(pub_pem);
    pay_rsa_key_free(pub);
    pay_rsa_key_free(rk);
}

static const char *sig86 =
    "kEVDFhGsAYxhp-azC5aETaZq8JH6-CXujkfPBuP1fC43SvuWeks1f_RSgwyf4MuCHwnFKYJuZOw2n-"
    "Ku5ue5BA";

static enum pay_err parse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static enum pay_err parse(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    struct pay_sig_header h;
    struct pay_error e;
    return pay_sig_header_parse(buf, strlen(buf), &h, &e);
}

static void header_parse_accepts(void **state)
{
    (void)state;
    struct pay_sig_header h;
    const char *hdr = vec("request.header");
    assert_int_equal(pay_sig_header_parse(hdr, strlen(hdr), &h, NULL), PAY_ERR_OK);
    assert_int_equal(h.alg, PAY_SIG_ED25519);
    assert_string_equal(h.key_id, "m_123");
    assert_int_equal(h.ts, 1764000000);
    assert_string_equal(h.nonce, "n0nce-0123456789abcdef");
    assert_int_equal(h.sig_len, 64);
    /* Any order, no or several spaces after commas. */
    assert_int_equal(parse("PAYGATE-ED25519 sig=\"%s\",nonce=\"abcdefghijklmnop\",  ts=\"0\", "
                           "keyId=\"bank.v2:x-1\"",
                           sig86),
                     PAY_ERR_OK);
}

static void header_parse_rejects(void **state)
{
    (void)state;
    struct pay_sig_header h;
    assert_int_equal(pay_sig_header_parse(NULL, 0, &h, NULL), PAY_ERR_SIGNATURE_MISSING);
    assert_int_equal(pay_sig_header_parse("", 0, &h, NULL), PAY_ERR_SIGNATURE_MISSING);
#define BAD(...) assert_int_equal(parse(__VA_ARGS__), PAY_ERR_SIGNATURE_MALFORMED)
    BAD("PAYGATE-ED25519");
    BAD("PAYGATE-ED25519 ");
    BAD("paygate-ed25519 keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", sig86);
    BAD("Bearer keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519  keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\""); /* no sig */
    BAD("PAYGATE-ED25519 keyId=\"m\", keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", "
        "sig=\"%s\"",
        sig86); /* duplicate */
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\", "
        "alg=\"x\"",
        sig86); /* unknown */
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\",", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\" ", sig86);
    BAD("PAYGATE-ED25519 keyId=m, ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519 keyId = \"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\" , ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\\\"x\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"",
        sig86); /* escape */
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s", sig86);
    BAD("PAYGATE-ED25519 keyId=\"\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m n\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"%065d\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", 0,
        sig86); /* keyId too long */
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"01\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"-1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1e9\", nonce=\"abcdefghijklmnop\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"9999999999999999999\", nonce=\"abcdefghijklmnop\", "
        "sig=\"%s\"",
        sig86); /* 19 digits: more than any time needs */
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1\", nonce=\"short\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmno+\", sig=\"%s\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1\", nonce=\"%065d\", sig=\"%s\"", 0, sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s==\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%.84s\"", sig86);
    BAD("PAYGATE-ED25519 keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%.85sB\"",
        sig86); /* non-canonical last char */
    BAD("PAYGATE-RSA-SHA256 keyId=\"m\", ts=\"1\", nonce=\"abcdefghijklmnop\", sig=\"%s\"",
        sig86); /* RSA signature shorter than 2048 bits */
#undef BAD
    /* An embedded NUL is not part of any value. */
    char nul[] = "PAYGATE-ED25519 keyId=\"m\0\", ts=\"1\"";
    assert_int_equal(pay_sig_header_parse(nul, sizeof nul - 1, &h, NULL),
                     PAY_ERR_SIGNATURE_MALFORMED);
    /* Longer than the limit. */
    char big[PAY_SIG_HEADER_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(pay_sig_header_parse(big, strlen(big), &h, NULL), PAY_ERR_SIGNATURE_MALFORMED);
}

/* A fresh merchant key, its table entry, and a verifier with a small nonce cache. */
struct fixture {
    struct pay_ed25519_key k, other;
    struct keytab t;
    struct pay_nonce_cache *nc;
    struct pay_sig_verifier v;
    struct pay_sig_signer s;
};

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    pay_ed25519_generate(&f->k);
    pay_ed25519_generate(&f->other);
    add_ed(&f->t, "m_1", f->k.pk);
    add_ed(&f->t, "m_other", f->other.pk);
    f->nc = pay_nonce_cache_mem_new(1024, PAY_SIGNATURE_WINDOW_S);
    f->v = (struct pay_sig_verifier){lookup, release, &f->t, f->nc, 0};
    f->s = (struct pay_sig_signer){PAY_SIG_ED25519, "m_1", &f->k, NULL};
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    pay_nonce_cache_free(f->nc);
    free(f);
    return 0;
}

static const int64_t NOW = 1764000000;
static const char BODY[] = "{\"amount\":\"1.00\"}";

static void sign(struct fixture *f, const char *nonce, int64_t ts, char hdr[PAY_SIG_HEADER_MAX])
{
    assert_int_equal(pay_sig_sign_request(&f->s, "POST", "/v1/refunds?x=1", BODY, strlen(BODY), ts,
                                          nonce, hdr, PAY_SIG_HEADER_MAX, NULL),
                     PAY_ERR_OK);
}

static enum pay_err verify(struct fixture *f, const char *hdr, const char *method,
                           const char *target, const char *body, int64_t now)
{
    struct pay_error e;
    return pay_sig_verify_request(&f->v, hdr, method, target, body, strlen(body), now, NULL, &e);
}

static void verify_failures(void **state)
{
    struct fixture *f = *state;
    char hdr[PAY_SIG_HEADER_MAX], nonce[PAY_SIG_NONCE_MAX + 1];
    pay_sig_nonce_generate(nonce);
    assert_int_equal(strlen(nonce), 22);
    sign(f, nonce, NOW, hdr);
    assert_int_equal(verify(f, NULL, "POST", "/v1/refunds?x=1", BODY, NOW),
                     PAY_ERR_SIGNATURE_MISSING);
    assert_int_equal(verify(f, "PAYGATE-ED25519 nope", "POST", "/v1/refunds?x=1", BODY, NOW),
                     PAY_ERR_SIGNATURE_MALFORMED);
    /* Outside the window either way; exactly at the edge is still accepted later. */
    assert_int_equal(verify(f, hdr, "POST", "/v1/refunds?x=1", BODY, NOW + 301),
                     PAY_ERR_TIMESTAMP_STALE);
    assert_int_equal(verify(f, hdr, "POST", "/v1/refunds?x=1", BODY, NOW - 301),
                     PAY_ERR_TIMESTAMP_STALE);
    /* Milliseconds instead of seconds (13 digits): it parses, and it is stale, with a hint. */
    char ms[PAY_SIG_HEADER_MAX], ms_nonce[PAY_SIG_NONCE_MAX + 1];
    struct pay_error me = {0};
    pay_sig_nonce_generate(ms_nonce);
    sign(f, ms_nonce, NOW * 1000, ms);
    assert_int_equal(pay_sig_verify_request(&f->v, ms, "POST", "/v1/refunds?x=1", BODY,
                                            strlen(BODY), NOW, NULL, &me),
                     PAY_ERR_TIMESTAMP_STALE);
    assert_non_null(strstr(me.detail, "milliseconds"));
    /* the field is the header to blame (docs/protocol.md), on a request and on an answer */
    assert_string_equal(me.field, PAY_SIG_REQUEST_HEADER);
    memset(&me, 0, sizeof me);
    assert_int_equal(pay_sig_verify_request(&f->v, "PAYGATE-ED25519 nope", "POST", "/v1/x", BODY,
                                            strlen(BODY), NOW, NULL, &me),
                     PAY_ERR_SIGNATURE_MALFORMED);
    assert_string_equal(me.field, "Authorization");
    memset(&me, 0, sizeof me);
    assert_int_equal(
        pay_sig_verify_response(&f->v, NULL, 200, "n", BODY, strlen(BODY), NOW, NULL, &me),
        PAY_ERR_SIGNATURE_MISSING);
    assert_string_equal(me.field, "Paygate-Signature");
    /* Tampered body, target, query, method. */
    assert_int_equal(verify(f, hdr, "POST", "/v1/refunds?x=1", "{\"amount\":\"9.00\"}", NOW),
                     PAY_ERR_SIGNATURE_INVALID);
    assert_int_equal(verify(f, hdr, "POST", "/v1/refunds?x=2", BODY, NOW),
                     PAY_ERR_SIGNATURE_INVALID);
    assert_int_equal(verify(f, hdr, "POST", "/v1/refunds", BODY, NOW), PAY_ERR_SIGNATURE_INVALID);
    assert_int_equal(verify(f, hdr, "PUT", "/v1/refunds?x=1", BODY, NOW),
                     PAY_ERR_SIGNATURE_INVALID);
    /* Corrupted signature: flip one character of sig. */
    char bad[PAY_SIG_HEADER_MAX];
    snprintf(bad, sizeof bad, "%s", hdr);
    char *sig = strstr(bad, "sig=\"") + 10;
    *sig = *sig == 'A' ? 'B' : 'A';
    assert_int_equal(verify(f, bad, "POST", "/v1/refunds?x=1", BODY, NOW),
                     PAY_ERR_SIGNATURE_INVALID);
    /* Another merchant's keyId with this signature (wrong key), and an unknown keyId. */
    snprintf(bad, sizeof bad, "%s", hdr);
    char *kid = strstr(bad, "keyId=\"m_1\"");
    memcpy(kid, "keyId=\"m_2\"", 11);
    assert_int_equal(verify(f, bad, "POST", "/v1/refunds?x=1", BODY, NOW),
                     PAY_ERR_SIGNATURE_INVALID);
    struct pay_sig_signer wrong = {PAY_SIG_ED25519, "m_1", &f->other, NULL};
    assert_int_equal(pay_sig_sign_request(&wrong, "POST", "/v1/refunds?x=1", BODY, strlen(BODY),
                                          NOW, nonce, bad, sizeof bad, NULL),
                     PAY_ERR_OK);
    assert_int_equal(verify(f, bad, "POST", "/v1/refunds?x=1", BODY, NOW),
                     PAY_ERR_SIGNATURE_INVALID);
    /* None of the failures used up the nonce: the genuine message still passes, once. */
    assert_int_equal(verify(f, hdr, "POST", "/v1/refunds?x=1", BODY, NOW + 300), PAY_ERR_OK);
    assert_int_equal(verify(f, hdr, "POST", "/v1/refunds?x=1", BODY, NOW + 300),
                     PAY_ERR_NONCE_REPLAYED);
    assert_int_equal(f->t.released, 8); /* every successful look-up was released */
}

static void nonce_is_per_key(void **state)
{
    struct fixture *f = *state;
    char hdr[PAY_SIG_HEADER_MAX];
    sign(f, "shared-nonce-0000001", NOW, hdr);
    assert_int_equal(verify(f, hdr, "POST", "/v1/refunds?x=1", BODY, NOW), PAY_ERR_OK);
    struct pay_sig_signer s2 = {PAY_SIG_ED25519, "m_other", &f->other, NULL};
    assert_int_equal(pay_sig_sign_request(&s2, "POST", "/v1/refunds?x=1", BODY, strlen(BODY), NOW,
                                          "shared-nonce-0000001", hdr, sizeof hdr, NULL),
                     PAY_ERR_OK);
    assert_int_equal(verify(f, hdr, "POST", "/v1/refunds?x=1", BODY, NOW), PAY_ERR_OK);
}

static void sign_rejects_bad_parts(void **state)
{
    struct fixture *f = *state;
    char hdr[PAY_SIG_HEADER_MAX], canon[PAY_SIG_CANONICAL_MAX];
    struct pay_error e;
    assert_int_equal(pay_sig_sign_request(&f->s, "post", "/x", "", 0, NOW, "abcdefghijklmnop", hdr,
                                          sizeof hdr, &e),
                     PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_sig_sign_request(&f->s, "GET", "x", "", 0, NOW, "abcdefghijklmnop", hdr,
                                          sizeof hdr, &e),
                     PAY_ERR_FIELD_INVALID);
    assert_int_equal(pay_sig_sign_request(&f->s, "GET", "/a b", "", 0, NOW, "abcdefghijklmnop", hdr,
                                          sizeof hdr, &e),
                     PAY_ERR_FIELD_INVALID);
    assert_int_equal(
        pay_sig_sign_request(&f->s, "GET", "/", "", 0, NOW, "short", hdr, sizeof hdr, &e),
        PAY_ERR_FIELD_INVALID);
    assert_int_equal(
        pay_sig_sign_request(&f->s, "GET", "/", "", 0, NOW, "abcdefghijklmnop", hdr, 20, &e),
        PAY_ERR_INTERNAL); /* buffer too small */
    assert_int_equal(
        pay_sig_canonical_response(canon, sizeof canon, 99, NOW, "abcdefghijklmnop", "", "", 0),
        -1);
    assert_true(pay_sig_canonical_response(canon, sizeof canon, 400, NOW, "abcdefghijklmnop", "",
                                           "", 0) > 0);
    assert_int_equal(
        pay_sig_canonical_request(canon, 10, "GET", "/", NOW, "abcdefghijklmnop", "", 0), -1);
}

static void nonce_cache_window_and_eviction(void **state)
{
    (void)state;
    struct pay_nonce_cache *c = pay_nonce_cache_mem_new(8, 300);
    assert_int_equal(c->check_and_add(c, "k", "n1", NOW, NOW), PAY_ERR_OK);
    assert_int_equal(c->check_and_add(c, "k", "n1", NOW, NOW + 1), PAY_ERR_NONCE_REPLAYED);
    assert_int_equal(c->check_and_add(c, "k2", "n1", NOW, NOW + 1), PAY_ERR_OK);
    /* Remembered for at least twice the window. */
    assert_int_equal(c->check_and_add(c, "k", "n1", NOW, NOW + 599), PAY_ERR_NONCE_REPLAYED);
    assert_int_equal(c->check_and_add(c, "k", "n1", NOW, NOW + 1300), PAY_ERR_OK);
    /* Bounded: with 8 entries (4 per generation) the oldest are evicted. */
    char n[16];
    for (int i = 0; i < 12; i++) {
        snprintf(n, sizeof n, "x%d", i);
        assert_int_equal(c->check_and_add(c, "k", n, NOW, NOW + 1400), PAY_ERR_OK);
    }
    assert_int_equal(c->check_and_add(c, "k", "x11", NOW, NOW + 1400), PAY_ERR_NONCE_REPLAYED);
    assert_int_equal(c->check_and_add(c, "k", "x0", NOW, NOW + 1400), PAY_ERR_OK);
    pay_nonce_cache_free(c);
}

struct race {
    struct pay_nonce_cache *c;
    int accepted;
};

static void *race_thread(void *arg)
{
    struct race *r = arg;
    char n[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(n, sizeof n, "nonce-%d", i);
        if (r->c->check_and_add(r->c, "k", n, NOW, NOW) == PAY_ERR_OK)
            r->accepted++;
    }
    return NULL;
}

static void nonce_cache_threads(void **state)
{
    (void)state;
    struct pay_nonce_cache *c = pay_nonce_cache_mem_new(PAY_NONCE_CACHE_MAX, 300);
    struct race r[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (struct race){c, 0};
        assert_int_equal(pthread_create(&th[i], NULL, race_thread, &r[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += r[i].accepted;
    }
    assert_int_equal(total, 2000); /* each nonce accepted exactly once across threads */
    pay_nonce_cache_free(c);
}

int main(void)
{
    if (pay_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doc_vectors_match_constants),
        cmocka_unit_test(ed25519_request_vector),
        cmocka_unit_test(ed25519_response_vector),
        cmocka_unit_test(rsa_vector),
        cmocka_unit_test(header_parse_accepts),
        cmocka_unit_test(header_parse_rejects),
        cmocka_unit_test_setup_teardown(verify_failures, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(nonce_is_per_key, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(sign_rejects_bad_parts, fixture_setup, fixture_teardown),
        cmocka_unit_test(nonce_cache_window_and_eviction),
        cmocka_unit_test(nonce_cache_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
