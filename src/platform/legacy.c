/* Sealing at open what older versions stored in clear: agreement tokens (migration 8), TOTP
 * secrets (migration 11) and the typed account of old withdrawals (migration 12). A migration
 * marks such rows with a flag column = 0; this seals their columns with the platform's AEAD
 * keyring in batches (each batch one transaction, with secure_delete on so the clear text is
 * overwritten in the page rather than left in free space) and sets the flag. */
#include "platform/platform.h"

#include "crypto/crypto.h"

#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "core/log.h"

#define BATCH  32
#define SEALED PAY_AEAD_SEALED_LEN(PAY_PLATFORM_LEGACY_PLAIN_MAX)

struct legacy_ctx {
    struct pay_platform *p;
    const struct pay_platform_legacy *spec;
    size_t sealed;
};

struct legacy_row {
    char id[PAY_ID_MAX];
    char col[2][SEALED];
};

/* Seals value of row id ("" stays "": nothing to hide) into out; 0 or -1. */
static int seal_value(const struct legacy_ctx *l, const char *id, const char *value, char *out)
{
    char aad[PAY_ID_MAX + 16];
    int an = snprintf(aad, sizeof aad, "%s%s", l->spec->aad_prefix, id);
    out[0] = '\0';
    if (!value || !value[0])
        return 0;
    if (an < 0 || (size_t)an >= sizeof aad || strlen(value) > PAY_PLATFORM_LEGACY_PLAIN_MAX)
        return -1;
    return pay_aead_seal(&l->p->aead, value, strlen(value), aad, (size_t)an, out, SEALED);
}

static int read_batch(struct pay_store_tx *tx, struct legacy_ctx *l, struct legacy_row *rows,
                      size_t *n, struct pay_error *err)
{
    const struct pay_platform_legacy *s = l->spec;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT id, %s, %s FROM %s WHERE %s = 0 LIMIT $1", s->cols[0],
             s->cols[1] ? s->cols[1] : "''", s->table, s->flag);
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, "i", (int64_t)BATCH);
    if (!st)
        return -1;
    int rc = 0;
    while (*n < BATCH && (rc = pay_store_step(st, err)) == 1) {
        struct legacy_row *r = &rows[(*n)++];
        pay_store_col_copy(st, 0, r->id, sizeof r->id);
        for (int c = 0; c < 2 && rc == 1; c++)
            if (seal_value(l, r->id, pay_store_col_text(st, 1 + c), r->col[c]) != 0)
                rc = -1, pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot seal %s", s->table);
    }
    pay_store_done(st);
    return rc < 0 ? -1 : 0;
}

static enum pay_err legacy_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct legacy_ctx *l = ctx;
    const struct pay_platform_legacy *s = l->spec;
    l->sealed = 0;
    if (pay_store_dialect(pay_store_tx_store(tx)) == PAY_STORE_SQLITE && /* SQLite files only */
        pay_store_exec(tx, err, "PRAGMA secure_delete = ON", "") != PAY_ERR_OK)
        return err->code;
    struct legacy_row rows[BATCH];
    size_t n = 0;
    int rc = read_batch(tx, l, rows, &n, err);
    char sql[256];
    if (s->cols[1])
        snprintf(sql, sizeof sql, "UPDATE %s SET %s = $2, %s = $3, %s = 1 WHERE id = $1", s->table,
                 s->cols[0], s->cols[1], s->flag);
    else
        snprintf(sql, sizeof sql, "UPDATE %s SET %s = $2, %s = 1 WHERE id = $1", s->table,
                 s->cols[0], s->flag);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if ((s->cols[1]
                 ? pay_store_exec(tx, err, sql, "ttt", rows[i].id, rows[i].col[0], rows[i].col[1])
                 : pay_store_exec(tx, err, sql, "tt", rows[i].id, rows[i].col[0])) != PAY_ERR_OK)
            rc = -1;
    pay_wipe(rows, sizeof rows);
    l->sealed = n;
    return rc < 0 ? err->code : PAY_ERR_OK;
}

/* Rows with nothing to seal ("" everywhere) are marked in one statement, not batch by batch. */
static enum pay_err empty_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    const struct pay_platform_legacy *s = ctx;
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE %s SET %s = 1 WHERE %s = 0 AND %s = ''%s%s%s", s->table,
             s->flag, s->flag, s->cols[0], s->cols[1] ? " AND " : "", s->cols[1] ? s->cols[1] : "",
             s->cols[1] ? " = ''" : "");
    return (pay_store_exec(tx, err, sql, ""));
}

enum pay_err pay_platform_seal_legacy(struct pay_platform *p,
                                      const struct pay_platform_legacy *spec, struct pay_error *err)
{
    struct legacy_ctx l = {p, spec, 0};
    size_t total = 0;
    enum pay_err e = pay_store_run_tx(p->store, empty_tx, (void *)spec, err);
    while (e == PAY_ERR_OK) {
        e = pay_store_run_tx(p->store, legacy_tx, &l, err);
        total += l.sealed;
        if (l.sealed < BATCH)
            break;
    }
    if (e == PAY_ERR_OK && total > 0)
        PAY_INFO("platform.legacy_sealed", "table=%s rows=%zu", spec->table, total);
    return e;
}
