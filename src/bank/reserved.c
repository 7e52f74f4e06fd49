/* The customer's reserved message (预留信息, docs/bank.md "Reserved message"): a phrase the
 * customer chose, which the payment pages show after the card number and before the card
 * password is asked, so that a phishing copy of the page — which cannot know it — gives itself
 * away. Stored sealed (keys/aead.key, associated data "reserved:<customer id>"), never logged. */
#include "bank/bank.h"
#include "crypto/crypto.h"
#include "http/codec.h"

#include <stdio.h>
#include <string.h>

static void aad_of(const char *customer_id, char out[PAY_ID_MAX + 16])
{
    snprintf(out, PAY_ID_MAX + 16, "reserved:%s", customer_id);
}

enum pay_err pay_bank_reserved_set(struct pay_bank *b, struct pay_store_tx *tx,
                                   const char *customer_id, const char *message,
                                   struct pay_error *err)
{
    enum pay_err rc = pay_reserved_message_check(message, err);
    if (rc != PAY_ERR_OK)
        return rc;
    char aad[PAY_ID_MAX + 16], sealed[PAY_AEAD_SEALED_LEN(PAY_RESERVED_MESSAGE_MAX)];
    aad_of(customer_id, aad);
    if (pay_aead_seal(&b->keys.aead, message, strlen(message), aad, strlen(aad), sealed,
                      sizeof sealed) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot seal the reserved message");
    rc = pay_store_exec(tx, err, "UPDATE bank_customers SET reserved_sealed = $2 WHERE id = $1",
                        "tt", customer_id, sealed);
    if (rc == PAY_ERR_OK && pay_store_changes(tx) == 0)
        rc = pay_error_set(err, PAY_ERR_NOT_FOUND, "customer", "no customer %s", customer_id);
    return rc;
}

bool pay_bank_reserved_open(const struct pay_bank *b, const struct pay_bank_card *c,
                            char out[PAY_RESERVED_MESSAGE_MAX + 1])
{
    out[0] = '\0';
    if (!c->reserved_sealed[0] || !c->customer_id[0])
        return false;
    char aad[PAY_ID_MAX + 16];
    aad_of(c->customer_id, aad);
    size_t n = 0;
    if (pay_aead_open(&b->keys.aead, c->reserved_sealed, aad, strlen(aad), out,
                      PAY_RESERVED_MESSAGE_MAX, &n) != 0)
        return false;
    out[n] = '\0';
    return n > 0;
}
