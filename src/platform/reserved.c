/* The wallet user's reserved message (预留信息, docs/platform.md "Reserved message"): a phrase
 * the user chose in the wallet, which the cashier shows after login and before it asks for the
 * payment password, so a copy of the cashier — which cannot know it — gives itself away.
 * Stored sealed (platform-aead.keys, associated data "reserved:<consumer id>"), never logged;
 * the audit trail records that it changed, not what it says. */
#include "platform/platform.h"

#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "http/codec.h"

#include <stdio.h>
#include <string.h>

#define SEALED_MAX PAY_AEAD_SEALED_LEN(PAY_RESERVED_MESSAGE_MAX)

static void aad_of(const char *consumer_id, char out[PAY_ID_MAX + 16])
{
    snprintf(out, PAY_ID_MAX + 16, "reserved:%s", consumer_id);
}

struct reserved_op {
    struct pay_platform *p;
    const char *consumer_id, *sealed;
};

static enum pay_err reserved_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct reserved_op *r = ctx;
    enum pay_err rc =
        pay_store_exec(tx, err, "UPDATE pf_consumers SET reserved_sealed = $2 WHERE id = $1", "tt",
                       r->consumer_id, r->sealed);
    if (rc == PAY_ERR_OK && pay_store_changes(tx) == 0)
        rc = pay_error_set(err, PAY_ERR_NOT_FOUND, "consumer", "no such consumer");
    char actor[PAY_ID_MAX + 16];
    snprintf(actor, sizeof actor, "consumer:%s", r->consumer_id);
    if (rc == PAY_ERR_OK) /* that it changed, never what it says */
        rc = pay_platform_audit(r->p, tx,
                                &(struct pay_audit_entry){.actor = actor,
                                                          .action = "wallet.reserved_message",
                                                          .target = r->consumer_id},
                                err);
    return rc;
}

enum pay_err pay_platform_reserved_set(struct pay_platform *p, const char *consumer_id,
                                       const char *message, struct pay_error *err)
{
    enum pay_err rc = pay_reserved_message_check(message, err);
    if (rc != PAY_ERR_OK)
        return rc;
    char aad[PAY_ID_MAX + 16], sealed[SEALED_MAX];
    aad_of(consumer_id, aad);
    if (pay_aead_seal(&p->aead, message, strlen(message), aad, strlen(aad), sealed,
                      sizeof sealed) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot seal the reserved message");
    struct reserved_op r = {.p = p, .consumer_id = consumer_id, .sealed = sealed};
    return pay_platform_write(p, reserved_tx, &r, err);
}

struct reserved_read {
    const char *consumer_id;
    char sealed[SEALED_MAX];
};

static enum pay_err reserved_read_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct reserved_read *r = ctx;
    struct pay_store_stmt *st = pay_store_query(
        tx, err, "SELECT reserved_sealed FROM pf_consumers WHERE id = $1", "t", r->consumer_id);
    if (!st)
        return err->code;
    if (pay_store_step(st, err) == 1)
        pay_store_col_copy(st, 0, r->sealed, sizeof r->sealed);
    pay_store_done(st);
    return PAY_ERR_OK;
}

bool pay_platform_reserved_get(struct pay_platform *p, const char *consumer_id,
                               char out[PAY_RESERVED_MESSAGE_MAX + 1])
{
    out[0] = '\0';
    struct reserved_read r = {.consumer_id = consumer_id};
    struct pay_error err = {0};
    if (pay_store_run_read(p->store, reserved_read_tx, &r, &err) != PAY_ERR_OK || !r.sealed[0])
        return false;
    char aad[PAY_ID_MAX + 16];
    aad_of(consumer_id, aad);
    size_t n = 0;
    if (pay_aead_open(&p->aead, r.sealed, aad, strlen(aad), out, PAY_RESERVED_MESSAGE_MAX, &n) != 0)
        return false;
    out[n] = '\0';
    return n > 0;
}
