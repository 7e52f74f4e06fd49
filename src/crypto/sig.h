/* The signed-message scheme of every server-to-server call (docs/protocol.md is the
 * specification; its test vectors are checked by tests/crypto/test_sig.c).
 *
 * A request carries `Authorization: PAYGATE-ED25519 keyId="m_123", ts="1764000000",
 * nonce="...", sig="<base64url>"` (or PAYGATE-RSA-SHA256) over the canonical string
 *     METHOD "\n" TARGET "\n" TS "\n" NONCE "\n" hex(SHA-256(body)) "\n"
 * and a response carries `Paygate-Signature: <same grammar>` over
 *     STATUS "\n" TS "\n" NONCE "\n" REQUEST_NONCE "\n" hex(SHA-256(body)) "\n".
 * Verification: the timestamp within PAY_SIGNATURE_WINDOW_S of our clock, the signature
 * (constant time), then the nonce not seen before for that keyId. */
#ifndef PAY_CRYPTO_SIG_H
#define PAY_CRYPTO_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/errors.h"
#include "core/limits.h"
#include "crypto/sign.h"

#define PAY_SIG_REQUEST_HEADER  "Authorization"
#define PAY_SIG_RESPONSE_HEADER "Paygate-Signature"
#define PAY_SIG_SCHEME_ED25519  "PAYGATE-ED25519"
#define PAY_SIG_SCHEME_RSA      "PAYGATE-RSA-SHA256"

/* Longest canonical string: method, target (PAY_URL_MAX), ts, nonce, hash, newlines. */
#define PAY_SIG_CANONICAL_MAX (PAY_SIG_METHOD_MAX + PAY_URL_MAX + 2 * PAY_SIG_NONCE_MAX + 128)

enum pay_sig_alg {
    PAY_SIG_ALG_NONE = 0,
    PAY_SIG_ED25519,
    PAY_SIG_RSA_SHA256,
};

/* A parsed signature header. Caller-owned. */
struct pay_sig_header {
    enum pay_sig_alg alg;
    char key_id[PAY_SIG_KEY_ID_MAX + 1];
    int64_t ts;
    char nonce[PAY_SIG_NONCE_MAX + 1];
    uint8_t sig[PAY_RSA_SIG_MAX];
    size_t sig_len;
};

/* Parses a header value (len bytes, no header name) strictly: one scheme, one space, then
 * exactly the params keyId, ts, nonce, sig (any order, each once) as name="value" separated by
 * "," and optional spaces; no escapes, no unknown params, bounded lengths, signature length
 * right for the algorithm. Returns PAY_ERR_OK, PAY_ERR_SIGNATURE_MISSING (NULL or empty) or
 * PAY_ERR_SIGNATURE_MALFORMED (e->detail says why). */
enum pay_err pay_sig_header_parse(const char *value, size_t len, struct pay_sig_header *out,
                                  struct pay_error *e) __attribute__((warn_unused_result));

/* A random nonce for a request or response: 22 base64url chars (128 bits). */
void pay_sig_nonce_generate(char out[PAY_SIG_NONCE_MAX + 1]);

/* Canonical strings (exposed for SDKs, tests and docs). Return the length written (NUL
 * terminated), or -1 for an invalid part (method not [A-Z]{1,16}, target not printable ASCII
 * starting with '/', nonce not [A-Za-z0-9_-]{16,64}, status not 100..599, negative ts) or too
 * small a buffer (PAY_SIG_CANONICAL_MAX is enough). request_nonce may be "" (unsigned or
 * unreadable request). */
int pay_sig_canonical_request(char *out, size_t out_size, const char *method, const char *target,
                              int64_t ts, const char *nonce, const void *body, size_t body_len);
int pay_sig_canonical_response(char *out, size_t out_size, int status, int64_t ts,
                               const char *nonce, const char *request_nonce, const void *body,
                               size_t body_len);

/* Who signs: the key id the peer knows us by and our private key (borrowed). */
struct pay_sig_signer {
    enum pay_sig_alg alg;
    const char *key_id;
    const struct pay_ed25519_key *ed25519; /* alg == PAY_SIG_ED25519 */
    const struct pay_rsa_key *rsa;         /* alg == PAY_SIG_RSA_SHA256, private */
};

/* Sign: writes the header value (without "Authorization: ") into out (PAY_SIG_HEADER_MAX is
 * enough). nonce comes from pay_sig_nonce_generate (keep it to check the response). Returns
 * PAY_ERR_OK, PAY_ERR_FIELD_INVALID (bad method/target/nonce) or PAY_ERR_INTERNAL. */
enum pay_err pay_sig_sign_request(const struct pay_sig_signer *s, const char *method,
                                  const char *target, const void *body, size_t body_len, int64_t ts,
                                  const char *nonce, char *out, size_t out_size,
                                  struct pay_error *e);
enum pay_err pay_sig_sign_response(const struct pay_sig_signer *s, int status,
                                   const char *request_nonce, const void *body, size_t body_len,
                                   int64_t ts, const char *nonce, char *out, size_t out_size,
                                   struct pay_error *e);

/* Signs the answer to a request whose Authorization header value is request_header: with a
 * fresh nonce, time now, and as REQUEST_NONCE the nonce of that header when it parses, else
 * "" (an unsigned or unreadable request, docs/protocol.md). Whether the request verified does
 * not matter: a refusal binds to the request it refuses. out as for pay_sig_sign_response. */
enum pay_err pay_sig_sign_answer(const struct pay_sig_signer *s, const char *request_header,
                                 int status, const void *body, size_t body_len, int64_t now,
                                 char *out, size_t out_size, struct pay_error *e);

/* --- verification ------------------------------------------------------------------------ */

/* A peer's public key as the lookup callback returns it. */
struct pay_sig_pubkey {
    enum pay_sig_alg alg;
    uint8_t ed25519[PAY_ED25519_PK_LEN];
    const struct pay_rsa_key *rsa; /* borrowed; valid until release (or verify) returns */
};

/* The public key in a PEM text: an Ed25519 public key, else an RSA key (public or private;
 * *rsa gets it, freed by the caller with pay_rsa_key_free, and key->rsa borrows it). 0, or -1
 * when it is neither. */
int pay_sig_pubkey_from_pem(const char *pem, size_t len, struct pay_sig_pubkey *key,
                            struct pay_rsa_key **rsa) __attribute__((warn_unused_result));

/* Remembers nonces inside the replay window. A small interface so a database-backed cache
 * (shared by several processes) can replace the in-memory one. */
struct pay_nonce_cache {
    /* Records (key_id, nonce) for a message with timestamp ts; returns PAY_ERR_OK when it was
     * new, PAY_ERR_NONCE_REPLAYED when it was seen inside the window. Thread-safe. */
    enum pay_err (*check_and_add)(struct pay_nonce_cache *c, const char *key_id, const char *nonce,
                                  int64_t ts, int64_t now);
    void (*destroy)(struct pay_nonce_cache *c);
};

/* In-memory cache for one process: remembers each nonce for twice the window (a message
 * stamped up to one window in the future is acceptable for two windows), at most
 * max_entries (PAY_NONCE_CACHE_MAX in production); beyond that the oldest half is evicted.
 * Heap object, free with pay_nonce_cache_free; NULL when out of memory. */
struct pay_nonce_cache *pay_nonce_cache_mem_new(size_t max_entries, int64_t window_s);
void pay_nonce_cache_free(struct pay_nonce_cache *c);

/* What verification needs: the key look-up (keyId -> public key; return PAY_ERR_OK, or an
 * error such as PAY_ERR_SIGNATURE_INVALID for an unknown keyId), an optional release of
 * what lookup handed out, the nonce cache, and the window (0: PAY_SIGNATURE_WINDOW_S). */
struct pay_sig_verifier {
    enum pay_err (*lookup)(void *ctx, const char *key_id, struct pay_sig_pubkey *out);
    void (*release)(void *ctx, struct pay_sig_pubkey *key);
    void *ctx;
    struct pay_nonce_cache *nonces; /* required for requests; NULL skips it for responses */
    int64_t window_s;
};

/* Verifies a request's Authorization header value (NULL when absent) at time now. On
 * PAY_ERR_OK, *out (if not NULL) holds the parsed header (keyId = the authenticated peer).
 * Errors: SIGNATURE_MISSING, SIGNATURE_MALFORMED, TIMESTAMP_STALE, SIGNATURE_INVALID (also
 * for algorithm mismatch with the key), NONCE_REPLAYED, or whatever lookup returned. */
enum pay_err pay_sig_verify_request(const struct pay_sig_verifier *v, const char *header,
                                    const char *method, const char *target, const void *body,
                                    size_t body_len, int64_t now, struct pay_sig_header *out,
                                    struct pay_error *e) __attribute__((warn_unused_result));
/* Verifies a response's Paygate-Signature header against the status, the body and the nonce
 * of the request we sent. Same errors. */
enum pay_err pay_sig_verify_response(const struct pay_sig_verifier *v, const char *header,
                                     int status, const char *request_nonce, const void *body,
                                     size_t body_len, int64_t now, struct pay_sig_header *out,
                                     struct pay_error *e) __attribute__((warn_unused_result));

#endif
