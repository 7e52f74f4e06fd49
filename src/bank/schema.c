/* The bank's own tables (component "bank"); money itself lives in the ledger's tables.
 * Card numbers appear only sealed (pan_sealed) and as a keyed hash (pan_index); CVV2 and SMS
 * codes never appear at all (codes are stored as keyed hashes). */
#include "bank/bank.h"

static const struct pay_store_migration migrations[] = {
    {1, "CREATE TABLE bank_info (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
        "CREATE TABLE bank_customers (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
        "  phone TEXT NOT NULL, created_ms BIGINT NOT NULL);"
        "CREATE TABLE bank_accounts (id TEXT PRIMARY KEY, kind TEXT NOT NULL"
        "  CHECK (kind IN ('deposit','credit','merchant')), owner TEXT NOT NULL,"
        "  currency TEXT NOT NULL, created_ms BIGINT NOT NULL);"
        "CREATE TABLE bank_cards (id TEXT PRIMARY KEY, pan_index TEXT NOT NULL UNIQUE,"
        "  pan_sealed TEXT NOT NULL, bin TEXT NOT NULL, last4 TEXT NOT NULL,"
        "  expiry TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('DEBIT','CREDIT')),"
        "  account_id TEXT NOT NULL REFERENCES bank_accounts(id), customer_id TEXT NOT NULL,"
        "  phone TEXT NOT NULL, password_hash TEXT NOT NULL,"
        "  failed_attempts BIGINT NOT NULL DEFAULT 0, locked_until_ms BIGINT NOT NULL DEFAULT 0,"
        "  created_ms BIGINT NOT NULL);"
        "CREATE TABLE bank_merchants (mer_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
        "  account_id TEXT NOT NULL REFERENCES bank_accounts(id), referrer_domain TEXT NOT NULL,"
        "  notify_domain TEXT NOT NULL, allow_no_referer BIGINT NOT NULL,"
        "  created_ms BIGINT NOT NULL);"
        "CREATE TABLE bank_certs (serial TEXT PRIMARY KEY, mer_id TEXT NOT NULL"
        "  REFERENCES bank_merchants(mer_id), cert_pem TEXT NOT NULL, public_pem TEXT NOT NULL,"
        "  revoked_ms BIGINT NOT NULL DEFAULT 0, created_ms BIGINT NOT NULL);"
        "CREATE TABLE bank_orders (id TEXT PRIMARY KEY, mer_id TEXT NOT NULL,"
        "  order_id TEXT NOT NULL, amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
        "  currency TEXT NOT NULL, channel TEXT NOT NULL, mer_url TEXT NOT NULL DEFAULT '',"
        "  notify_type TEXT NOT NULL DEFAULT 'AG', result_type TEXT NOT NULL DEFAULT '0',"
        "  mer_var TEXT NOT NULL DEFAULT '', goods_name TEXT NOT NULL DEFAULT '',"
        "  order_date TEXT NOT NULL DEFAULT '', return_url TEXT NOT NULL DEFAULT '',"
        "  status TEXT NOT NULL CHECK (status IN ('CREATED','PAID','REFUNDED')),"
        "  card_id TEXT, refunded_minor BIGINT NOT NULL DEFAULT 0"
        "  CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),"
        "  created_ms BIGINT NOT NULL, paid_ms BIGINT NOT NULL DEFAULT 0,"
        "  UNIQUE (mer_id, order_id));"
        "CREATE TABLE bank_refunds (id TEXT PRIMARY KEY, mer_id TEXT NOT NULL,"
        "  refund_id TEXT NOT NULL, order_pk TEXT NOT NULL REFERENCES bank_orders(id),"
        "  amount_minor BIGINT NOT NULL, created_ms BIGINT NOT NULL,"
        "  UNIQUE (mer_id, refund_id));"
        "CREATE TABLE bank_notifications (id TEXT PRIMARY KEY, order_pk TEXT NOT NULL"
        "  REFERENCES bank_orders(id), url TEXT NOT NULL, notify_data TEXT NOT NULL,"
        "  sign_msg TEXT NOT NULL, mer_var TEXT NOT NULL, status TEXT NOT NULL"
        "  CHECK (status IN ('PENDING','DELIVERED','FAILED')), attempts BIGINT NOT NULL"
        "  DEFAULT 0, next_attempt_ms BIGINT NOT NULL, last_status BIGINT NOT NULL DEFAULT 0,"
        "  last_error TEXT NOT NULL DEFAULT '', delivered_ms BIGINT NOT NULL DEFAULT 0);"
        "CREATE INDEX bank_notifications_due ON bank_notifications(status, next_attempt_ms);"
        "CREATE TABLE bank_sessions (id TEXT PRIMARY KEY, order_pk TEXT NOT NULL"
        "  REFERENCES bank_orders(id), csrf TEXT NOT NULL, stage TEXT NOT NULL,"
        "  card_id TEXT, sms_hash TEXT, sms_expires_ms BIGINT NOT NULL DEFAULT 0,"
        "  created_ms BIGINT NOT NULL);"
        "CREATE TABLE bank_verifications (id TEXT PRIMARY KEY, mer_id TEXT NOT NULL,"
        "  card_id TEXT NOT NULL, sms_hash TEXT NOT NULL, expires_ms BIGINT NOT NULL,"
        "  used BIGINT NOT NULL DEFAULT 0, created_ms BIGINT NOT NULL);"
        "CREATE TABLE bank_agreements (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,"
        "  mer_id TEXT NOT NULL, card_id TEXT NOT NULL, revoked_ms BIGINT NOT NULL DEFAULT 0,"
        "  created_ms BIGINT NOT NULL);"
        "CREATE TABLE bank_transfers (mer_id TEXT NOT NULL, transfer_id TEXT NOT NULL,"
        "  serial TEXT NOT NULL, from_account TEXT NOT NULL, to_account TEXT NOT NULL,"
        "  amount_minor BIGINT NOT NULL, currency TEXT NOT NULL, created_ms BIGINT NOT NULL,"
        "  PRIMARY KEY (mer_id, transfer_id))"},
    /* A replayed refund returns its first answer exactly: keep the order's refunded total
     * and the status as they were when the refund was made (older rows: rebuilt from the
     * refunds of the same order up to and including it; serials sort by creation). */
    {2, "ALTER TABLE bank_refunds ADD COLUMN refunded_after_minor BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE bank_refunds ADD COLUMN status TEXT NOT NULL DEFAULT 'SUCCESS';"
        "UPDATE bank_refunds SET refunded_after_minor = (SELECT SUM(r2.amount_minor)"
        "  FROM bank_refunds r2 WHERE r2.order_pk = bank_refunds.order_pk"
        "  AND (r2.created_ms < bank_refunds.created_ms OR (r2.created_ms ="
        "  bank_refunds.created_ms AND r2.id <= bank_refunds.id)))"},
    /* Attempt guards (store/attempts.h): every try of a card's password, SMS code or CVV2 is
     * counted here before it is checked, so parallel tries cannot pass the lock; subject
     * "card:<card id>". The card's counter and lock of migration 1 move here (a running lock
     * keeps its end). */
    {3, "CREATE TABLE bank_attempts (subject TEXT PRIMARY KEY, seq BIGINT NOT NULL DEFAULT 0,"
        "  forgiven_seq BIGINT NOT NULL DEFAULT 0, lock_seq BIGINT NOT NULL DEFAULT 0,"
        "  locked_until_ms BIGINT NOT NULL DEFAULT 0);"
        "INSERT INTO bank_attempts (subject, seq, locked_until_ms)"
        "  SELECT 'card:' || id, CASE WHEN failed_attempts < 4 THEN failed_attempts ELSE 4 END,"
        "  locked_until_ms FROM bank_cards"
        "  WHERE failed_attempts > 0 OR locked_until_ms > 0;"
        "ALTER TABLE bank_cards DROP COLUMN failed_attempts;"
        "ALTER TABLE bank_cards DROP COLUMN locked_until_ms"},
    /* The card network, issuer side (docs/switch.md): one row per message the switch brought,
     * keyed by the acquirer's trace and the message type (the switch's own reversal of an
     * authorization carries the authorization's trace). An authorization's state: APPROVED
     * (held), DECLINED, CAPTURED, REVERSED, or VOID (a reversal came before it: refused when it
     * arrives). answer: the exact text answered, for repeats. */
    {4, "CREATE TABLE bank_net_issued (acquirer TEXT NOT NULL, trace TEXT NOT NULL,"
        "  mti TEXT NOT NULL, fingerprint TEXT NOT NULL, original_trace TEXT NOT NULL DEFAULT '',"
        "  card_id TEXT NOT NULL DEFAULT '', token TEXT NOT NULL DEFAULT '',"
        "  amount_minor BIGINT NOT NULL DEFAULT 0, rrn TEXT NOT NULL DEFAULT '',"
        "  response_code TEXT NOT NULL, auth_code TEXT NOT NULL DEFAULT '',"
        "  state TEXT NOT NULL DEFAULT '', captured_minor BIGINT NOT NULL DEFAULT 0,"
        "  refunded_minor BIGINT NOT NULL DEFAULT 0, answer TEXT NOT NULL DEFAULT '',"
        "  cleared_date TEXT NOT NULL DEFAULT '', created_ms BIGINT NOT NULL,"
        "  PRIMARY KEY (acquirer, trace, mti),"
        "  CHECK (captured_minor >= 0 AND refunded_minor >= 0 AND refunded_minor <= captured_minor"
        "  AND captured_minor <= amount_minor))"},
    /* The card network, acquirer side (docs/switch.md): one row per message the bank sends the
     * switch, keyed by its own trace. An authorization: SENT (asked, no answer yet), ANSWERED
     * (de39 kept), NO_ANSWER (nothing heard: a reversal row follows). A capture or reversal:
     * PENDING (sent until the switch answers, with backoff), DONE. The card is only its token
     * and last four digits. bank_net_trace numbers the traces. */
    {5, "CREATE TABLE bank_net_acquired (trace TEXT PRIMARY KEY, mti TEXT NOT NULL,"
        "  original_trace TEXT NOT NULL DEFAULT '', order_pk TEXT NOT NULL,"
        "  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
        "  token TEXT NOT NULL DEFAULT '', last4 TEXT NOT NULL DEFAULT '',"
        "  rrn TEXT NOT NULL DEFAULT '', auth_code TEXT NOT NULL DEFAULT '',"
        "  response_code TEXT NOT NULL DEFAULT '', settle_date TEXT NOT NULL DEFAULT '',"
        "  state TEXT NOT NULL CHECK (state IN ('SENT','ANSWERED','NO_ANSWER','PENDING','DONE')),"
        "  attempts BIGINT NOT NULL DEFAULT 0, next_attempt_ms BIGINT NOT NULL DEFAULT 0,"
        "  last_error TEXT NOT NULL DEFAULT '', created_ms BIGINT NOT NULL);"
        "CREATE INDEX bank_net_acquired_order ON bank_net_acquired(order_pk);"
        "CREATE INDEX bank_net_acquired_due ON bank_net_acquired(state, next_attempt_ms);"
        "CREATE TABLE bank_net_trace (next BIGINT NOT NULL);"
        "INSERT INTO bank_net_trace (next) VALUES (1)"},
    /* The customer's reserved message (预留信息, reserved.c), sealed; '' when none. */
    {6, "ALTER TABLE bank_customers ADD COLUMN reserved_sealed TEXT NOT NULL DEFAULT ''"},
    /* Replay nonces of signed API requests (store/nonces.h), shared by every bank process on a
     * PostgreSQL database; unused on SQLite, where one process keeps them in memory. */
    {7, "CREATE TABLE bank_nonces (key_id TEXT NOT NULL, nonce TEXT NOT NULL,"
        "  expires_s BIGINT NOT NULL, PRIMARY KEY (key_id, nonce));"
        "CREATE INDEX bank_nonces_expires ON bank_nonces(expires_s)"},
    /* The rate limiter's buckets (rate.c), shared by every bank process on a PostgreSQL
     * database; unused on SQLite, where one process keeps them in memory. key: the keyed hash
     * of "<kind>:<key>"; units: 60000 a token. */
    {8, "CREATE TABLE bank_rates (key TEXT PRIMARY KEY, units BIGINT NOT NULL,"
        "  last_ms BIGINT NOT NULL);"
        "CREATE INDEX bank_rates_last ON bank_rates(last_ms)"},
    /* The online payment page of the card network (docs/switch.md, 银联在线支付). Issuer side:
     * one verification per card the switch brought (its trace), with the SMS code's keyed hash
     * (never the code), the wrong tries, its expiry; SENT, then VERIFIED by the right code
     * (FAILED after too many wrong ones, EXPIRED), then USED by the one authorization that
     * names it. Acquirer side: the switch's session of each order sent to the page. */
    {9, "CREATE TABLE bank_net_verifications (id TEXT PRIMARY KEY, trace TEXT NOT NULL UNIQUE,"
        "  acquirer TEXT NOT NULL, card_id TEXT NOT NULL, token TEXT NOT NULL,"
        "  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0), code_hash TEXT NOT NULL,"
        "  tries BIGINT NOT NULL DEFAULT 0,"
        "  state TEXT NOT NULL CHECK (state IN ('SENT','VERIFIED','FAILED','EXPIRED','USED')),"
        "  used_trace TEXT NOT NULL DEFAULT '', expires_ms BIGINT NOT NULL,"
        "  created_ms BIGINT NOT NULL);"
        "CREATE TABLE bank_net_online (session_id TEXT PRIMARY KEY, order_pk TEXT NOT NULL,"
        "  bank_session TEXT NOT NULL, created_ms BIGINT NOT NULL);"
        "CREATE INDEX bank_net_online_order ON bank_net_online(order_pk)"},
    /* The card network's clearing files booked (docs/switch.md, "Clearing files"): one row per
     * business day, with the file's hash (a second import of it changes nothing) and what it
     * booked against net:settlement. */
    {10, "CREATE TABLE bank_net_clearing (settle_date TEXT PRIMARY KEY,"
         "  file_sha256 TEXT NOT NULL, records BIGINT NOT NULL, acquired_minor BIGINT NOT NULL,"
         "  issued_minor BIGINT NOT NULL, interchange_minor BIGINT NOT NULL,"
         "  fees_minor BIGINT NOT NULL, net_minor BIGINT NOT NULL, imported_ms BIGINT NOT NULL)"},
};

const struct pay_store_component pay_bank_schema = {
    .name = "bank", .migrations = migrations, .count = sizeof migrations / sizeof migrations[0]};
