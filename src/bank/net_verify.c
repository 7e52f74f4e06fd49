/* The cardholder's verification for the online payment page (银联在线支付): the switch sends
 * the card data the shopper typed, the issuer checks it and sends an SMS code, the code comes
 * back, and an authorization names the verification (docs/switch.md). */
#include "bank/net_issuer.h"

#include <string.h>

enum pay_err iss_verified_card(struct pay_store_tx *tx, struct iss_msg *m, int64_t now,
                               const char **rc, struct pay_error *e)
{
    (void)tx;
    (void)m;
    (void)now;
    (void)e;
    *rc = "57"; /* stage 2 */
    return PAY_ERR_OK;
}

enum pay_err iss_mark_verification_used(struct pay_store_tx *tx, struct iss_msg *m,
                                        struct pay_error *e)
{
    (void)tx;
    (void)m;
    (void)e;
    return PAY_ERR_OK;
}
