/* Cards: numbers from the bank's BIN with a Luhn digit, CVV2 derived (never stored) from the
 * number and expiry with a secret key as issuers do, numbers stored only sealed (AEAD) with a
 * keyed-hash index for look-ups, Argon2id card passwords and the failed-attempt lock. */
#include "bank/bank.h"
#include "core/buf.h"
#include "core/clock.h"
#include "crypto/ids.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "store/attempts.h"
#include "i18n/i18n.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define ATTEMPTS_TABLE "bank_attempts"

int pay_bank_luhn_digit(const char *digits)
{
    int sum = 0;
    size_t n = strlen(digits);
    for (size_t i = 0; i < n; i++) {
        int d = digits[n - 1 - i] - '0';
        if (i % 2 == 0) { /* doubled: these sit at odd positions once the check digit is added */
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return (10 - sum % 10) % 10;
}

bool pay_bank_luhn_valid(const char *pan)
{
    size_t n = strlen(pan);
    if (n < 13 || n > 19 || strspn(pan, "0123456789") != n)
        return false;
    char body[20];
    memcpy(body, pan, n - 1);
    body[n - 1] = '\0';
    return pay_bank_luhn_digit(body) == pan[n - 1] - '0';
}

int pay_bank_pan_normalise(const char *in, char out[20])
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        if (*p < '0' || *p > '9' || n >= 19)
            return -1;
        out[n++] = *p;
    }
    out[n] = '\0';
    return n >= 13 ? 0 : -1;
}

void pay_bank_pan_mask(const char *pan, char out[PAY_BANK_MASKED_MAX])
{
    size_t n = strlen(pan);
    if (n < 13) {
        snprintf(out, PAY_BANK_MASKED_MAX, "******");
        return;
    }
    snprintf(out, PAY_BANK_MASKED_MAX, "%.6s%.*s%s", pan, (int)(n - 10), "*********", pan + n - 4);
}

void pay_bank_cvv2(const struct pay_bank *b, const char *pan, const char *expiry, char out[4])
{
    char msg[40];
    /* MMYY of "MM/YY" */
    int len = snprintf(msg, sizeof msg, "%s|%.2s%.2s", pan, expiry, expiry + 3);
    uint8_t mac[PAY_HMAC_SHA256_LEN];
    pay_hmac_sha256(mac, b->keys.cvv_key, sizeof b->keys.cvv_key, msg, (size_t)len);
    uint32_t v =
        ((uint32_t)mac[0] << 24) | ((uint32_t)mac[1] << 16) | ((uint32_t)mac[2] << 8) | mac[3];
    snprintf(out, 4, "%03u", v % 1000u);
    pay_wipe(msg, sizeof msg);
    pay_wipe(mac, sizeof mac);
}

int pay_bank_expiry_past(const char *expiry, int64_t now_ms)
{
    if (strlen(expiry) != 5 || expiry[2] != '/' || strspn(expiry, "0123456789") != 2 ||
        strspn(expiry + 3, "0123456789") != 2)
        return -1;
    int mm = (expiry[0] - '0') * 10 + (expiry[1] - '0');
    int yy = (expiry[3] - '0') * 10 + (expiry[4] - '0');
    if (mm < 1 || mm > 12)
        return -1;
    time_t now = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    int cur = (tm.tm_year + 1900) * 12 + tm.tm_mon; /* months since year 0 */
    int exp = (2000 + yy) * 12 + (mm - 1);
    return cur > exp ? 1 : 0;
}

void pay_bank_pan_index(const struct pay_bank *b, const char *pan, char out[PAY_SHA256_HEX_LEN])
{
    pay_keyed_hash_hex(out, b->keys.index_key, pan, strlen(pan));
}

static const char card_cols[] =
    "SELECT c.id, c.bin, c.last4, c.expiry, c.kind, c.account_id, c.phone, c.password_hash,"
    " COALESCE(a.locked_until_ms, 0), c.customer_id, COALESCE(u.reserved_sealed, '')"
    " FROM bank_cards c LEFT JOIN bank_attempts a ON a.subject = 'card:' || c.id"
    " LEFT JOIN bank_customers u ON u.id = c.customer_id";

static enum pay_err card_row(struct pay_store_stmt *st, struct pay_bank_card *c,
                             struct pay_error *err)
{
    int r = pay_store_step(st, err);
    if (r < 0) {
        pay_store_done(st);
        return err->code ? err->code : PAY_ERR_INTERNAL;
    }
    if (r == 0) {
        pay_store_done(st);
        return pay_error_set(err, PAY_ERR_CARD_INVALID, "cardNo", "no such card");
    }
    memset(c, 0, sizeof *c);
    pay_store_col_copy(st, 0, c->id, sizeof c->id);
    pay_store_col_copy(st, 1, c->bin, sizeof c->bin);
    pay_store_col_copy(st, 2, c->last4, sizeof c->last4);
    pay_store_col_copy(st, 3, c->expiry, sizeof c->expiry);
    pay_store_col_copy(st, 4, c->kind, sizeof c->kind);
    pay_store_col_copy(st, 5, c->account_id, sizeof c->account_id);
    pay_store_col_copy(st, 6, c->phone, sizeof c->phone);
    pay_store_col_copy(st, 7, c->password_hash, sizeof c->password_hash);
    c->locked_until_ms = pay_store_col_int64(st, 8);
    pay_store_col_copy(st, 9, c->customer_id, sizeof c->customer_id);
    pay_store_col_copy(st, 10, c->reserved_sealed, sizeof c->reserved_sealed);
    pay_store_done(st);
    return PAY_ERR_OK;
}

enum pay_err pay_bank_card_find(struct pay_bank *b, struct pay_store_tx *tx, const char *pan,
                                struct pay_bank_card *out, struct pay_error *err)
{
    char idx[PAY_SHA256_HEX_LEN];
    pay_bank_pan_index(b, pan, idx);
    char sql[sizeof card_cols + 40];
    snprintf(sql, sizeof sql, "%s WHERE c.pan_index = $1", card_cols);
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, "t", idx);
    if (!st)
        return err->code;
    return card_row(st, out, err);
}

enum pay_err pay_bank_card_get(struct pay_store_tx *tx, const char *card_id,
                               struct pay_bank_card *out, struct pay_error *err)
{
    char sql[sizeof card_cols + 40];
    snprintf(sql, sizeof sql, "%s WHERE c.id = $1", card_cols);
    struct pay_store_stmt *st = pay_store_query(tx, err, sql, "t", card_id);
    if (!st)
        return err->code;
    return card_row(st, out, err);
}

static void subject_of(const char *card_id, char out[PAY_ID_MAX + 8])
{
    snprintf(out, PAY_ID_MAX + 8, "card:%s", card_id);
}

enum pay_err pay_bank_card_attempt_reserve(struct pay_store_tx *tx, const char *card_id,
                                           int64_t now_ms, struct pay_store_attempt *out,
                                           struct pay_error *err)
{
    char subject[PAY_ID_MAX + 8];
    subject_of(card_id, subject);
    enum pay_err rc = pay_store_attempt_reserve(tx, ATTEMPTS_TABLE, subject, now_ms, out, err);
    char minutes[24]; /* pages show the detail translated */
    snprintf(minutes, sizeof minutes, "%d", PAY_LOCKOUT_DURATION_S / 60);
    if (rc == PAY_ERR_LOCKED)
        pay_i18n_error_set(err, PAY_ERR_LOCKED, "cardNo",
                           "the card is locked after too many failed attempts; try again in "
                           "{minutes} minutes",
                           "minutes", minutes, NULL);
    return rc;
}

enum pay_err pay_bank_card_attempt_succeeded(struct pay_store_tx *tx, const char *card_id,
                                             const struct pay_store_attempt *a,
                                             struct pay_error *err)
{
    char subject[PAY_ID_MAX + 8];
    subject_of(card_id, subject);
    return pay_store_attempt_succeeded(tx, ATTEMPTS_TABLE, subject, a, err);
}

enum pay_err pay_bank_card_usable(const struct pay_bank_card *c, int64_t now_ms,
                                  struct pay_error *err)
{
    char minutes[24];
    snprintf(minutes, sizeof minutes, "%d", PAY_LOCKOUT_DURATION_S / 60);
    if (c->locked_until_ms > now_ms)
        return pay_i18n_error_set(err, PAY_ERR_LOCKED, "cardNo",
                                  "the card is locked after too many failed attempts; try again "
                                  "in {minutes} minutes",
                                  "minutes", minutes, NULL);
    if (pay_bank_expiry_past(c->expiry, now_ms) != 0)
        return pay_error_set(err, PAY_ERR_CARD_EXPIRED, "cardNo", NULL);
    return PAY_ERR_OK;
}

static enum pay_err make_pan(struct pay_bank *b, int64_t serial, char pan[20])
{
    char body[40];
    if (serial < 0) /* random serials start at 1e8: the demo cards keep the low ones */
        serial = 100000000 + (int64_t)pay_random_uniform(899999999u);
    snprintf(body, sizeof body, "%.6s%09lld", b->opt.bin, (long long)(serial % 1000000000));
    body[15] = '\0';
    char check = (char)('0' + pay_bank_luhn_digit(body));
    memcpy(pan, body, 15);
    pan[15] = check;
    pan[16] = '\0';
    return PAY_ERR_OK;
}

static enum pay_err insert_card(struct pay_bank *b, struct pay_store_tx *tx,
                                const struct pay_bank_card_new *c, const char *card_id,
                                const char *pan, const char *account_id, struct pay_error *err)
{
    char idx[PAY_SHA256_HEX_LEN];
    pay_bank_pan_index(b, pan, idx);
    char sealed[PAY_AEAD_SEALED_LEN(20)];
    char hash[PAY_PWHASH_STR_LEN];
    if (pay_aead_seal(&b->keys.aead, pan, strlen(pan), card_id, strlen(card_id), sealed,
                      sizeof sealed) != 0 ||
        pay_pwhash_hash(hash, c->password, strlen(c->password)) != 0)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "cannot seal or hash");
    char last4[5];
    pay_str_copy(last4, sizeof last4, pan + strlen(pan) - 4);
    enum pay_err rc = pay_store_exec(
        tx, err,
        "INSERT INTO bank_cards (id, pan_index, pan_sealed, bin, last4, expiry, kind, account_id,"
        " customer_id, phone, password_hash, created_ms)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        "ttttttttttti", card_id, idx, sealed, b->opt.bin, last4, c->expiry,
        strcmp(c->kind, "credit") == 0 ? "CREDIT" : "DEBIT", account_id, c->customer_id, c->phone,
        hash, pay_clock_now_ms());
    char subject[PAY_ID_MAX + 8];
    subject_of(card_id, subject);
    if (rc == PAY_ERR_OK && c->locked_until_ms > 0)
        rc = pay_store_attempt_lock(tx, ATTEMPTS_TABLE, subject, c->locked_until_ms, err);
    return rc;
}

enum pay_err pay_bank_card_issue(struct pay_bank *b, struct pay_store_tx *tx,
                                 const struct pay_bank_card_new *c, char pan_out[20],
                                 char cvv_out[4], char card_id_out[PAY_ID_MAX],
                                 struct pay_error *err)
{
    size_t plen = strlen(c->password);
    if (plen != 6 || strspn(c->password, "0123456789") != 6)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "password", "6 digits");
    if (pay_bank_expiry_past(c->expiry, 0) < 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "expiry", "MM/YY");
    bool credit = strcmp(c->kind, "credit") == 0;
    if (!credit && strcmp(c->kind, "debit") != 0)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "kind", "debit or credit");
    char acct[PAY_LEDGER_ID_MAX + 1];
    bool existing = c->account_id && c->account_id[0];
    enum pay_err rc = PAY_ERR_OK;
    if (existing) /* the caller checked its kind and owner */
        pay_str_copy(acct, sizeof acct, c->account_id);
    else
        rc = pay_bank_account_create(b, tx, credit ? "credit" : "deposit", c->customer_id, acct,
                                     err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (!existing && credit && c->credit_limit_minor > 0) {
        char tid[PAY_LEDGER_ID_MAX + 16];
        snprintf(tid, sizeof tid, "limit:%s", acct);
        rc = pay_bank_transfer(b, tx, tid, b->credit_lines_account, acct, c->credit_limit_minor,
                               PAY_BANK_XFER_CREDIT_LINE, "", err);
        if (rc != PAY_ERR_OK)
            return rc;
    }
    rc = pay_id_new("card", card_id_out);
    if (rc == PAY_ERR_OK)
        rc = make_pan(b, c->serial, pan_out);
    if (rc != PAY_ERR_OK)
        return rc;
    rc = insert_card(b, tx, c, card_id_out, pan_out, acct, err);
    if (rc == PAY_ERR_OK)
        pay_bank_cvv2(b, pan_out, c->expiry, cvv_out);
    return rc;
}
