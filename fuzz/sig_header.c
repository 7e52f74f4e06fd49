/* libFuzzer driver for the signature header parser (pay_sig_header_parse): any bytes must be
 * either parsed into a well-formed header or rejected, never crash or overread. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "crypto/sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pay_sig_header h;
    struct pay_error e;
    enum pay_err rc = pay_sig_header_parse((const char *)data, size, &h, &e);
    if (rc == PAY_ERR_OK) {
        /* What the parser accepts obeys the grammar's bounds. */
        assert(h.alg == PAY_SIG_ED25519 || h.alg == PAY_SIG_RSA_SHA256);
        size_t kl = strlen(h.key_id), nl = strlen(h.nonce);
        assert(kl >= 1 && kl <= PAY_SIG_KEY_ID_MAX);
        assert(nl >= PAY_SIG_NONCE_MIN && nl <= PAY_SIG_NONCE_MAX);
        assert(h.ts >= 0);
        assert(h.sig_len > 0 && h.sig_len <= sizeof h.sig);
    } else {
        assert(rc == PAY_ERR_SIGNATURE_MISSING || rc == PAY_ERR_SIGNATURE_MALFORMED);
    }
    return 0;
}
