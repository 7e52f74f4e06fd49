/* The platform's database schema (store component "platform"), in numbered migrations. The
 * ledger's own tables come from pay_ledger_schema; these tables refer to ledger accounts by
 * id only (see accounts.c). Append new migrations; never edit a published one. */
#include "platform/platform.h"

static const struct pay_store_migration migrations[] = {
    {1,
     /* Merchants: their verification key, notify hosts, fee and settlement account. */
     "CREATE TABLE pf_merchants ("
     " id TEXT PRIMARY KEY,"
     " name TEXT NOT NULL,"
     " key_alg TEXT NOT NULL CHECK (key_alg IN ('ed25519','rsa')),"
     " public_key TEXT NOT NULL,"
     " notify_hosts TEXT NOT NULL,"
     " fee_bp BIGINT NOT NULL CHECK (fee_bp BETWEEN 0 AND 10000),"
     " settle_bank TEXT NOT NULL DEFAULT '',"
     " settle_account TEXT NOT NULL DEFAULT '',"
     " status TEXT NOT NULL CHECK (status IN ('active','suspended')),"
     " created_ms BIGINT NOT NULL);"
     /* Trades: one row per merchant order, with its state machine fields. */
     "CREATE TABLE pf_trades ("
     " id TEXT PRIMARY KEY,"
     " merchant_id TEXT NOT NULL REFERENCES pf_merchants(id),"
     " out_trade_no TEXT NOT NULL,"
     " amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
     " currency TEXT NOT NULL,"
     " subject TEXT NOT NULL,"
     " body TEXT NOT NULL DEFAULT '',"
     " notify_url TEXT NOT NULL DEFAULT '',"
     " return_url TEXT NOT NULL DEFAULT '',"
     " product TEXT NOT NULL,"
     " state TEXT NOT NULL CHECK (state IN"
     "  ('WAIT_BUYER_PAY','TRADE_SUCCESS','TRADE_CLOSED','TRADE_FINISHED')),"
     " created_ms BIGINT NOT NULL,"
     " expire_ms BIGINT NOT NULL,"
     " paid_ms BIGINT NOT NULL DEFAULT 0,"
     " closed_ms BIGINT NOT NULL DEFAULT 0,"
     " finished_ms BIGINT NOT NULL DEFAULT 0,"
     " pay_method TEXT NOT NULL DEFAULT '',"
     " payer TEXT NOT NULL DEFAULT '',"
     " fee_minor BIGINT NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),"
     " refunded_minor BIGINT NOT NULL DEFAULT 0"
     "  CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),"
     " fee_refunded_minor BIGINT NOT NULL DEFAULT 0"
     "  CHECK (fee_refunded_minor >= 0 AND fee_refunded_minor <= fee_minor),"
     " close_reason TEXT NOT NULL DEFAULT '',"
     " UNIQUE (merchant_id, out_trade_no));"
     "CREATE INDEX pf_trades_expiry ON pf_trades(state, expire_ms);"
     "CREATE INDEX pf_trades_paid ON pf_trades(state, paid_ms);"
     /* Refunds: out_refund_no unique per trade (as Alipay's out_request_no). */
     "CREATE TABLE pf_refunds ("
     " id TEXT PRIMARY KEY,"
     " trade_id TEXT NOT NULL REFERENCES pf_trades(id),"
     " merchant_id TEXT NOT NULL,"
     " out_refund_no TEXT NOT NULL,"
     " amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
     " fee_minor BIGINT NOT NULL CHECK (fee_minor >= 0),"
     " currency TEXT NOT NULL,"
     " reason TEXT NOT NULL DEFAULT '',"
     " status TEXT NOT NULL CHECK (status IN ('SUCCESS','PROCESSING')),"
     " created_ms BIGINT NOT NULL,"
     " UNIQUE (trade_id, out_refund_no));"
     /* Idempotency-Key records: the first answer to a POST, replayed for the same body. */
     "CREATE TABLE pf_idempotency ("
     " merchant_id TEXT NOT NULL,"
     " key TEXT NOT NULL,"
     " request_hash TEXT NOT NULL,"
     " status TEXT NOT NULL CHECK (status IN ('in_progress','done')),"
     " response_status BIGINT NOT NULL DEFAULT 0,"
     " response_body TEXT NOT NULL DEFAULT '',"
     " created_ms BIGINT NOT NULL,"
     " PRIMARY KEY (merchant_id, key));"
     /* The notification outbox and every delivery attempt. */
     "CREATE TABLE pf_notify_outbox ("
     " id TEXT PRIMARY KEY,"
     " merchant_id TEXT NOT NULL,"
     " trade_id TEXT NOT NULL,"
     " event TEXT NOT NULL,"
     " url TEXT NOT NULL,"
     " payload TEXT NOT NULL,"
     " status TEXT NOT NULL CHECK (status IN ('pending','delivered','failed')),"
     " attempts BIGINT NOT NULL DEFAULT 0,"
     " next_attempt_ms BIGINT NOT NULL,"
     " created_ms BIGINT NOT NULL,"
     " delivered_ms BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX pf_notify_due ON pf_notify_outbox(status, next_attempt_ms);"
     "CREATE INDEX pf_notify_trade ON pf_notify_outbox(trade_id);"
     "CREATE TABLE pf_notify_attempts ("
     " notify_id TEXT NOT NULL REFERENCES pf_notify_outbox(id),"
     " attempt BIGINT NOT NULL,"
     " started_ms BIGINT NOT NULL,"
     " http_status BIGINT NOT NULL,"
     " result TEXT NOT NULL,"
     " PRIMARY KEY (notify_id, attempt))"},
    {2,
     /* Consumers: login (phone or email), Argon2id hashes of the login and the payment
      * password, lockout counters. Sessions: only the SHA-256 of the cookie token is kept. */
     "CREATE TABLE pf_consumers ("
     " id TEXT PRIMARY KEY,"
     " login TEXT NOT NULL UNIQUE,"
     " password_hash TEXT NOT NULL,"
     " pay_password_hash TEXT NOT NULL,"
     " totp_secret TEXT NOT NULL DEFAULT '',"
     " failed_logins BIGINT NOT NULL DEFAULT 0,"
     " login_locked_until_ms BIGINT NOT NULL DEFAULT 0,"
     " failed_pays BIGINT NOT NULL DEFAULT 0,"
     " pay_locked_until_ms BIGINT NOT NULL DEFAULT 0,"
     " created_ms BIGINT NOT NULL);"
     "CREATE TABLE pf_sessions ("
     " token_hash TEXT PRIMARY KEY,"
     " consumer_id TEXT NOT NULL REFERENCES pf_consumers(id),"
     " csrf TEXT NOT NULL,"
     " created_ms BIGINT NOT NULL,"
     " last_seen_ms BIGINT NOT NULL)"},
    {3,
     /* Orders the platform sent to a bank's B2C gateway for a trade (one per attempt: banks
      * refuse a reused order id). status: created -> paid, or late (paid after the trade
      * closed; refunded automatically) -> late_refunded. */
     "CREATE TABLE pf_bank_orders ("
     " order_id TEXT PRIMARY KEY,"
     " trade_id TEXT NOT NULL REFERENCES pf_trades(id),"
     " bank TEXT NOT NULL,"
     " amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
     " currency TEXT NOT NULL,"
     " status TEXT NOT NULL CHECK (status IN ('created','paid','late','late_refunded')),"
     " serial TEXT NOT NULL DEFAULT '',"
     " created_ms BIGINT NOT NULL);"
     "CREATE INDEX pf_bank_orders_trade ON pf_bank_orders(trade_id);"
     "CREATE INDEX pf_bank_orders_status ON pf_bank_orders(status)"},
    {4,
     /* Bound cards: the bank's agreement token and BIN + last four only, never the number. */
     "CREATE TABLE pf_cards ("
     " id TEXT PRIMARY KEY,"
     " consumer_id TEXT NOT NULL REFERENCES pf_consumers(id),"
     " bank TEXT NOT NULL,"
     " agreement_token TEXT NOT NULL,"
     " bin TEXT NOT NULL,"
     " last4 TEXT NOT NULL,"
     " created_ms BIGINT NOT NULL);"
     "CREATE INDEX pf_cards_consumer ON pf_cards(consumer_id)"},
    {5,
     /* Agreements: a consumer lets a merchant charge the wallet without the cashier
      * (product "agreement"); one per consumer and merchant. */
     "CREATE TABLE pf_agreements ("
     " id TEXT PRIMARY KEY,"
     " consumer_id TEXT NOT NULL REFERENCES pf_consumers(id),"
     " merchant_id TEXT NOT NULL REFERENCES pf_merchants(id),"
     " status TEXT NOT NULL CHECK (status IN ('active','revoked')),"
     " created_ms BIGINT NOT NULL,"
     " UNIQUE (consumer_id, merchant_id))"},
    {6,
     /* Optional TOTP: a secret waiting for its first code, and the last accepted time step
      * (a code is accepted once). */
     "ALTER TABLE pf_consumers ADD COLUMN totp_pending TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE pf_consumers ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0"},
    {7,
     /* One-time SMS codes (stored as keyed hashes only), bound to their purpose. */
     "CREATE TABLE pf_sms_codes ("
     " id TEXT PRIMARY KEY,"
     " consumer_id TEXT NOT NULL,"
     " purpose TEXT NOT NULL,"
     " code_hash TEXT NOT NULL,"
     " expires_ms BIGINT NOT NULL,"
     " attempts BIGINT NOT NULL DEFAULT 0,"
     " used BIGINT NOT NULL DEFAULT 0,"
     " created_ms BIGINT NOT NULL)"},
    {8,
     /* Agreement tokens are sealed (AEAD, cards.c); rows of older versions hold them in clear
      * (token_sealed = 0) until pay_platform_seal_legacy seals them at open. */
     "ALTER TABLE pf_cards ADD COLUMN token_sealed BIGINT NOT NULL DEFAULT 0"},
    {9,
     /* Withdrawals: the id is the bank's transferId (the transfer is idempotent by it); a
      * pending row is retried until the bank answers definitively (withdrawals.c). */
     "CREATE TABLE pf_withdrawals ("
     " id TEXT PRIMARY KEY,"
     " consumer_id TEXT NOT NULL REFERENCES pf_consumers(id),"
     " bank TEXT NOT NULL,"
     " to_account TEXT NOT NULL,"
     " amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
     " currency TEXT NOT NULL,"
     " status TEXT NOT NULL CHECK (status IN ('pending','succeeded','failed')),"
     " attempts BIGINT NOT NULL DEFAULT 0,"
     " next_attempt_ms BIGINT NOT NULL,"
     " last_error TEXT NOT NULL DEFAULT '',"
     " created_ms BIGINT NOT NULL,"
     " done_ms BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX pf_withdrawals_due ON pf_withdrawals(status, next_attempt_ms);"
     "CREATE INDEX pf_withdrawals_consumer ON pf_withdrawals(consumer_id, created_ms)"},
    {10,
     /* Attempt guards (store/attempts.h): every try of a login password, payment password,
      * TOTP or SMS code is counted here before it is checked, so parallel tries cannot pass
      * the lock. Subjects: "login:<id>", "pay:<id>", "totp:<id>", "sms:<id>". The counters
      * and locks of migration 2 move here (a running lock keeps its end). */
     "CREATE TABLE pf_attempts ("
     " subject TEXT PRIMARY KEY,"
     " seq BIGINT NOT NULL DEFAULT 0,"
     " forgiven_seq BIGINT NOT NULL DEFAULT 0,"
     " lock_seq BIGINT NOT NULL DEFAULT 0,"
     " locked_until_ms BIGINT NOT NULL DEFAULT 0);"
     "INSERT INTO pf_attempts (subject, seq, locked_until_ms)"
     " SELECT 'login:' || id, CASE WHEN failed_logins < 4 THEN failed_logins ELSE 4 END,"
     " login_locked_until_ms FROM pf_consumers"
     " WHERE failed_logins > 0 OR login_locked_until_ms > 0;"
     "INSERT INTO pf_attempts (subject, seq, locked_until_ms)"
     " SELECT 'pay:' || id, CASE WHEN failed_pays < 4 THEN failed_pays ELSE 4 END,"
     " pay_locked_until_ms FROM pf_consumers"
     " WHERE failed_pays > 0 OR pay_locked_until_ms > 0;"
     "ALTER TABLE pf_consumers DROP COLUMN failed_logins;"
     "ALTER TABLE pf_consumers DROP COLUMN login_locked_until_ms;"
     "ALTER TABLE pf_consumers DROP COLUMN failed_pays;"
     "ALTER TABLE pf_consumers DROP COLUMN pay_locked_until_ms"},
    {11,
     /* TOTP secrets are sealed (AEAD, totp.c); rows of older versions hold them in clear
      * (totp_sealed = 0) until pay_platform_seal_legacy seals them at open. */
     "ALTER TABLE pf_consumers ADD COLUMN totp_sealed BIGINT NOT NULL DEFAULT 0"},
    {12,
     /* Withdrawals go to a bound card chosen from a list (card_id; to_account stays ''), never
      * to a typed account. Rows of older versions hold a typed account in clear
      * (to_account_sealed = 0) until pay_platform_seal_legacy seals it at open; a pending one
      * is retried to it. */
     "ALTER TABLE pf_withdrawals ADD COLUMN card_id TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE pf_withdrawals ADD COLUMN to_account_sealed BIGINT NOT NULL DEFAULT 0"},
    {13,
     /* Escrow trades (担保交易, docs/platform.md): two more states, the shipment and its
      * deadlines, and the consumer who paid (buyer_id: whoever confirms receipt). The state's
      * CHECK changes, so pf_trades is rebuilt the way SQLite documents it; pf_refunds and
      * pf_bank_orders refer to it, so the foreign keys are checked at the commit (deferred):
      * dropping the table counts their rows as violations, putting the rows back uncounts
      * them. Per merchant: how long a buyer has to confirm before it happens by itself (0:
      * [platform] escrow_confirm_timeout). After-sales refund requests (售后): the consumer
      * asks, the merchant approves or rejects, past the deadline the operator decides; at
      * most one open request per trade. */
     "PRAGMA defer_foreign_keys = ON;"
     "CREATE TABLE pf_trades_v12 AS SELECT * FROM pf_trades;"
     "DROP TABLE pf_trades;"
     "CREATE TABLE pf_trades ("
     " id TEXT PRIMARY KEY,"
     " merchant_id TEXT NOT NULL REFERENCES pf_merchants(id),"
     " out_trade_no TEXT NOT NULL,"
     " amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),"
     " currency TEXT NOT NULL,"
     " subject TEXT NOT NULL,"
     " body TEXT NOT NULL DEFAULT '',"
     " notify_url TEXT NOT NULL DEFAULT '',"
     " return_url TEXT NOT NULL DEFAULT '',"
     " product TEXT NOT NULL,"
     " state TEXT NOT NULL CHECK (state IN"
     "  ('WAIT_BUYER_PAY','TRADE_SUCCESS','TRADE_CLOSED','TRADE_FINISHED',"
     "   'WAIT_SELLER_SEND_GOODS','WAIT_BUYER_CONFIRM_GOODS')),"
     " created_ms INTEGER NOT NULL,"
     " expire_ms INTEGER NOT NULL,"
     " paid_ms INTEGER NOT NULL DEFAULT 0,"
     " closed_ms INTEGER NOT NULL DEFAULT 0,"
     " finished_ms INTEGER NOT NULL DEFAULT 0,"
     " pay_method TEXT NOT NULL DEFAULT '',"
     " payer TEXT NOT NULL DEFAULT '',"
     " fee_minor INTEGER NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),"
     " refunded_minor INTEGER NOT NULL DEFAULT 0"
     "  CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),"
     " fee_refunded_minor INTEGER NOT NULL DEFAULT 0"
     "  CHECK (fee_refunded_minor >= 0 AND fee_refunded_minor <= fee_minor),"
     " close_reason TEXT NOT NULL DEFAULT '',"
     " buyer_id TEXT NOT NULL DEFAULT '',"
     " ship_due_ms INTEGER NOT NULL DEFAULT 0,"
     " shipped_ms INTEGER NOT NULL DEFAULT 0,"
     " confirm_due_ms INTEGER NOT NULL DEFAULT 0,"
     " logistics_company TEXT NOT NULL DEFAULT '',"
     " tracking_no TEXT NOT NULL DEFAULT '',"
     " UNIQUE (merchant_id, out_trade_no));"
     "INSERT INTO pf_trades (id, merchant_id, out_trade_no, amount_minor, currency, subject, body,"
     " notify_url, return_url, product, state, created_ms, expire_ms, paid_ms, closed_ms,"
     " finished_ms, pay_method, payer, fee_minor, refunded_minor, fee_refunded_minor,"
     " close_reason, buyer_id)"
     " SELECT id, merchant_id, out_trade_no, amount_minor, currency, subject, body, notify_url,"
     " return_url, product, state, created_ms, expire_ms, paid_ms, closed_ms, finished_ms,"
     " pay_method, payer, fee_minor, refunded_minor, fee_refunded_minor, close_reason,"
     " CASE WHEN pay_method IN ('wallet','qr','agreement') THEN payer ELSE '' END"
     " FROM pf_trades_v12;"
     "DROP TABLE pf_trades_v12;"
     "CREATE INDEX pf_trades_expiry ON pf_trades(state, expire_ms);"
     "CREATE INDEX pf_trades_paid ON pf_trades(state, paid_ms);"
     "CREATE INDEX pf_trades_ship_due ON pf_trades(state, ship_due_ms);"
     "CREATE INDEX pf_trades_confirm_due ON pf_trades(state, confirm_due_ms);"
     "CREATE INDEX pf_trades_buyer ON pf_trades(buyer_id, created_ms);"
     "ALTER TABLE pf_merchants ADD COLUMN escrow_confirm_ms INTEGER NOT NULL DEFAULT 0"
     " CHECK (escrow_confirm_ms >= 0);"
     "CREATE TABLE pf_refund_requests ("
     " id TEXT PRIMARY KEY,"
     " trade_id TEXT NOT NULL REFERENCES pf_trades(id),"
     " merchant_id TEXT NOT NULL,"
     " consumer_id TEXT NOT NULL,"
     " amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),"
     " currency TEXT NOT NULL,"
     " reason TEXT NOT NULL,"
     " goods_returned INTEGER NOT NULL CHECK (goods_returned IN (0, 1)),"
     " status TEXT NOT NULL CHECK (status IN"
     "  ('WAIT_MERCHANT','WAIT_OPERATOR','APPROVED','REJECTED')),"
     " deadline_ms INTEGER NOT NULL,"
     " created_ms INTEGER NOT NULL,"
     " decided_ms INTEGER NOT NULL DEFAULT 0,"
     " decided_by TEXT NOT NULL DEFAULT '' CHECK (decided_by IN ('','merchant','operator')),"
     " reject_reason TEXT NOT NULL DEFAULT '',"
     " refund_id TEXT NOT NULL DEFAULT '');"
     "CREATE INDEX pf_refund_requests_trade ON pf_refund_requests(trade_id);"
     "CREATE INDEX pf_refund_requests_due ON pf_refund_requests(status, deadline_ms);"
     "CREATE UNIQUE INDEX pf_refund_requests_open ON pf_refund_requests(trade_id)"
     " WHERE status IN ('WAIT_MERCHANT','WAIT_OPERATOR')"},
    {14,
     /* Settlement (docs/settlement.md): each merchant's cycle (T+N business days) and minimum;
      * one payout per merchant, business day and currency (its id is the bank's transferId);
      * the days whose run has started. */
     "ALTER TABLE pf_merchants ADD COLUMN settle_days INTEGER NOT NULL DEFAULT 1"
     " CHECK (settle_days BETWEEN 0 AND 30);"
     "ALTER TABLE pf_merchants ADD COLUMN settle_min_minor INTEGER NOT NULL DEFAULT 0"
     " CHECK (settle_min_minor >= 0);"
     "CREATE TABLE pf_settlements ("
     " id TEXT PRIMARY KEY,"
     " merchant_id TEXT NOT NULL REFERENCES pf_merchants(id),"
     " business_date TEXT NOT NULL,"
     " currency TEXT NOT NULL,"
     " bank TEXT NOT NULL,"
     " to_account TEXT NOT NULL,"
     " amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),"
     " from_ms INTEGER NOT NULL,"
     " cutoff_ms INTEGER NOT NULL,"
     " reserved_minor INTEGER NOT NULL CHECK (reserved_minor >= 0),"
     " status TEXT NOT NULL CHECK (status IN ('pending','paid','failed')),"
     " attempts INTEGER NOT NULL DEFAULT 0,"
     " next_attempt_ms INTEGER NOT NULL,"
     " last_error TEXT NOT NULL DEFAULT '',"
     " created_ms INTEGER NOT NULL,"
     " done_ms INTEGER NOT NULL DEFAULT 0,"
     " UNIQUE (merchant_id, business_date, currency));"
     "CREATE INDEX pf_settlements_due ON pf_settlements(status, next_attempt_ms);"
     "CREATE INDEX pf_settlements_merchant ON pf_settlements(merchant_id, created_ms);"
     "CREATE TABLE pf_settlement_runs ("
     " business_date TEXT PRIMARY KEY,"
     " ran_ms INTEGER NOT NULL)"},
    {15,
     /* The merchant portal (docs/portal.md). Team members of a merchant log in with a
      * password (Argon2id) and a TOTP code (secret sealed, associated data "totp:<id>");
      * their tries are counted in pf_attempts ("portal:<id>"). Sessions keep the SHA-256 of
      * the cookie only. Merchant keys beside the one of pf_merchants: each has its own keyId
      * ("<merchant>.k<n>"), an end (not_after_ms, 0: none) and a revocation; a row whose
      * key_id is the merchant id governs the key of pf_merchants once a rotation began. */
     "CREATE TABLE pf_portal_users ("
     " id TEXT PRIMARY KEY,"
     " merchant_id TEXT NOT NULL REFERENCES pf_merchants(id),"
     " login TEXT NOT NULL UNIQUE,"
     " password_hash TEXT NOT NULL,"
     " role TEXT NOT NULL CHECK (role IN ('owner','finance','support')),"
     " totp_secret TEXT NOT NULL,"
     " totp_last_step INTEGER NOT NULL DEFAULT 0,"
     " status TEXT NOT NULL CHECK (status IN ('active','disabled')),"
     " created_ms INTEGER NOT NULL);"
     "CREATE INDEX pf_portal_users_merchant ON pf_portal_users(merchant_id);"
     "CREATE TABLE pf_portal_sessions ("
     " token_hash TEXT PRIMARY KEY,"
     " user_id TEXT NOT NULL REFERENCES pf_portal_users(id),"
     " csrf TEXT NOT NULL,"
     " created_ms INTEGER NOT NULL,"
     " last_seen_ms INTEGER NOT NULL);"
     "CREATE TABLE pf_merchant_keys ("
     " key_id TEXT PRIMARY KEY,"
     " merchant_id TEXT NOT NULL REFERENCES pf_merchants(id),"
     " key_alg TEXT NOT NULL CHECK (key_alg IN ('ed25519','rsa')),"
     " public_key TEXT NOT NULL,"
     " created_ms INTEGER NOT NULL,"
     " not_after_ms INTEGER NOT NULL DEFAULT 0,"
     " revoked_ms INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX pf_merchant_keys_merchant ON pf_merchant_keys(merchant_id);"
     "CREATE INDEX pf_trades_merchant ON pf_trades(merchant_id, created_ms)"},
    {16,
     /* Self-service onboarding (docs/portal.md, "Becoming a merchant"): an application from
      * the public page, waiting for the operator. The applicant follows it by a link whose
      * token is kept as its SHA-256 only; the owner's password is an Argon2id hash from the
      * start. Approved: the merchant, its owner and a sandbox key are made in one transaction,
      * and what the applicant must see once (the TOTP secret, the private key) waits sealed
      * (credentials, associated data "application:<id>") until it is shown, then is gone. */
     "CREATE TABLE pf_applications ("
     " id TEXT PRIMARY KEY,"
     " status TEXT NOT NULL CHECK (status IN ('pending','approved','rejected')),"
     " company TEXT NOT NULL,"
     " contact TEXT NOT NULL,"
     " email TEXT NOT NULL,"
     " phone TEXT NOT NULL,"
     " website TEXT NOT NULL,"
     " settle_bank TEXT NOT NULL,"
     " settle_account TEXT NOT NULL,"
     " volume_minor INTEGER NOT NULL CHECK (volume_minor >= 0),"
     " currency TEXT NOT NULL,"
     " password_hash TEXT NOT NULL,"
     " token_hash TEXT NOT NULL UNIQUE,"
     " merchant_id TEXT NOT NULL DEFAULT '',"
     " credentials TEXT NOT NULL DEFAULT '',"
     " note TEXT NOT NULL DEFAULT '',"
     " created_ms INTEGER NOT NULL,"
     " decided_ms INTEGER NOT NULL DEFAULT 0,"
     " revealed_ms INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX pf_applications_status ON pf_applications(status, created_ms)"},
    {17,
     /* Passkeys (WebAuthn, passkeys.c): a consumer's credentials (id = base64url of the
      * credential id; the public key as the verifier needs it: a P-256 point or an Ed25519
      * key) and the challenges in flight, each used once before it expires. Written for both
      * backends: BIGINT, and BYTEA for the key (PostgreSQL's binary type; to SQLite a type
      * of NUMERIC affinity, which keeps a bound blob as it is). */
     "CREATE TABLE pf_passkeys (id TEXT PRIMARY KEY,"
     " consumer_id TEXT NOT NULL REFERENCES pf_consumers(id), alg BIGINT NOT NULL,"
     " public_key BYTEA NOT NULL, sign_count BIGINT NOT NULL, name TEXT NOT NULL,"
     " created_ms BIGINT NOT NULL, last_used_ms BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX pf_passkeys_consumer ON pf_passkeys(consumer_id);"
     "CREATE TABLE pf_webauthn_challenges (challenge TEXT PRIMARY KEY,"
     " consumer_id TEXT NOT NULL, purpose TEXT NOT NULL, expires_ms BIGINT NOT NULL)"},
    {18,
     /* Replay nonces of signed API requests (store/nonces.h), shared by every platform process
      * on a PostgreSQL database; unused on SQLite, where one process keeps them in memory. */
     "CREATE TABLE pf_nonces ("
     " key_id TEXT NOT NULL,"
     " nonce TEXT NOT NULL,"
     " expires_s BIGINT NOT NULL,"
     " PRIMARY KEY (key_id, nonce));"
     "CREATE INDEX pf_nonces_expires ON pf_nonces(expires_s)"},
    /* The wallet user's reserved message (预留信息, reserved.c), sealed; '' when none. */
    {19, "ALTER TABLE pf_consumers ADD COLUMN reserved_sealed TEXT NOT NULL DEFAULT ''"},
    {20,
     /* Reconciliation with the banks (docs/reconciliation.md): every run of a bank's day, with
      * the statement file's totals and both sides' balances; the differences it found, one per
      * bank, day and reference (a rerun updates them), each open until the operator resolves
      * it (accept_bank, accept_ours, write_off with its ledger transfer) or a rerun no longer
      * finds it (cleared). */
     "CREATE TABLE pf_recon_runs ("
     " id TEXT PRIMARY KEY,"
     " bank TEXT NOT NULL,"
     " business_date TEXT NOT NULL,"
     " source TEXT NOT NULL CHECK (source IN ('scheduler','command')),"
     " status TEXT NOT NULL CHECK (status IN ('matched','differences','resolved','failed')),"
     " error TEXT NOT NULL DEFAULT '',"
     " from_ms BIGINT NOT NULL,"
     " to_ms BIGINT NOT NULL,"
     " bank_count BIGINT NOT NULL,"
     " bank_credit_minor BIGINT NOT NULL,"
     " bank_debit_minor BIGINT NOT NULL,"
     " bank_opening_minor BIGINT NOT NULL,"
     " bank_closing_minor BIGINT NOT NULL,"
     " our_opening_minor BIGINT NOT NULL,"
     " our_closing_minor BIGINT NOT NULL,"
     " matched BIGINT NOT NULL,"
     " differences BIGINT NOT NULL,"
     " file_sha256 TEXT NOT NULL DEFAULT '',"
     " created_ms BIGINT NOT NULL);"
     "CREATE INDEX pf_recon_runs_day ON pf_recon_runs(bank, business_date, created_ms);"
     "CREATE INDEX pf_recon_runs_created ON pf_recon_runs(created_ms);"
     "CREATE TABLE pf_recon_diffs ("
     " id TEXT PRIMARY KEY,"
     " bank TEXT NOT NULL,"
     " business_date TEXT NOT NULL,"
     " reference TEXT NOT NULL,"
     " class TEXT NOT NULL CHECK (class IN ('bank_only','ours_only','amount','status')),"
     " kind TEXT NOT NULL,"
     " currency TEXT NOT NULL,"
     " bank_minor BIGINT NOT NULL,"
     " our_minor BIGINT NOT NULL,"
     " bank_serial TEXT NOT NULL DEFAULT '',"
     " our_status TEXT NOT NULL DEFAULT '',"
     " status TEXT NOT NULL CHECK (status IN ('open','resolved','cleared')),"
     " resolution TEXT NOT NULL DEFAULT ''"
     "  CHECK (resolution IN ('','accept_bank','accept_ours','write_off')),"
     " note TEXT NOT NULL DEFAULT '',"
     " resolved_by TEXT NOT NULL DEFAULT '',"
     " transfer_id TEXT NOT NULL DEFAULT '',"
     " first_run TEXT NOT NULL,"
     " last_run TEXT NOT NULL,"
     " created_ms BIGINT NOT NULL,"
     " resolved_ms BIGINT NOT NULL DEFAULT 0,"
     " UNIQUE (bank, business_date, reference));"
     "CREATE INDEX pf_recon_diffs_status ON pf_recon_diffs(status, business_date)"},
    {21,
     /* Fees with a minimum and a cap per merchant (docs/platform.md, "Fees"): per payment, in
      * minor units of its currency; a cap of 0 is none. */
     "ALTER TABLE pf_merchants ADD COLUMN fee_min_minor BIGINT NOT NULL DEFAULT 0"
     " CHECK (fee_min_minor >= 0);"
     "ALTER TABLE pf_merchants ADD COLUMN fee_cap_minor BIGINT NOT NULL DEFAULT 0"
     " CHECK (fee_cap_minor >= 0)"},
    {22,
     /* Risk control (risk.c, docs/risk.md): every payment attempt judged, with what it was
      * judged on, the decision, the rules that fired and which rule file (its SHA-256); paid
      * once the payment went through. The velocity counters are counts and sums over these
      * rows by scope and time, hence one index per scope. Portable SQL (BIGINT). */
     "CREATE TABLE pf_risk_attempts (id TEXT PRIMARY KEY, at_ms BIGINT NOT NULL,"
     " trade_id TEXT NOT NULL, method TEXT NOT NULL, consumer_id TEXT NOT NULL,"
     " card TEXT NOT NULL, device TEXT NOT NULL, ip TEXT NOT NULL, merchant_id TEXT NOT NULL,"
     " amount_minor BIGINT NOT NULL CHECK (amount_minor > 0), currency TEXT NOT NULL,"
     " decision TEXT NOT NULL CHECK (decision IN ('allow','step-up','review','deny')),"
     " reasons TEXT NOT NULL, stepped_up BIGINT NOT NULL, rules_sha256 TEXT NOT NULL,"
     " paid BIGINT NOT NULL);"
     "CREATE INDEX pf_risk_consumer ON pf_risk_attempts(consumer_id, at_ms);"
     "CREATE INDEX pf_risk_card ON pf_risk_attempts(card, at_ms);"
     "CREATE INDEX pf_risk_device ON pf_risk_attempts(device, at_ms);"
     "CREATE INDEX pf_risk_ip ON pf_risk_attempts(ip, at_ms);"
     "CREATE INDEX pf_risk_merchant ON pf_risk_attempts(merchant_id, at_ms);"
     "CREATE INDEX pf_risk_trade ON pf_risk_attempts(trade_id)"},
    {23,
     /* The chain rail (docs/chain.md). A trade's deposit: its own address (child addr_index of
      * the platform's xpub), the tokens asked at the rate locked when it was made, what has
      * been confirmed and what of it paid the trade. The watcher's blocks: the hashes of the
      * last blocks it read (its durable position, and where a reorganisation forked). The
      * token transfers to deposit addresses it saw: 'seen' until confirmed, then 'credited'
      * (booked in the ledger); a 'seen' one whose block is reorganised away is deleted. The
      * returns of held tokens: signed and stored before they are sent (a rerun sends the same
      * transaction again, never a second one), then confirmed or failed. */
     "CREATE TABLE pf_chain_deposits ("
     " trade_id TEXT PRIMARY KEY REFERENCES pf_trades(id),"
     " address TEXT NOT NULL UNIQUE,"
     " addr_index BIGINT NOT NULL UNIQUE CHECK (addr_index >= 0),"
     " asset TEXT NOT NULL,"
     " due_minor BIGINT NOT NULL CHECK (due_minor > 0),"
     " received_minor BIGINT NOT NULL DEFAULT 0 CHECK (received_minor >= 0),"
     " applied_minor BIGINT NOT NULL DEFAULT 0 CHECK (applied_minor >= 0),"
     " returned_minor BIGINT NOT NULL DEFAULT 0 CHECK (returned_minor >= 0),"
     " status TEXT NOT NULL CHECK (status IN ('waiting','paid')),"
     " rate_minor BIGINT NOT NULL CHECK (rate_minor > 0),"
     " created_ms BIGINT NOT NULL);"
     "CREATE TABLE pf_chain_blocks ("
     " number BIGINT PRIMARY KEY,"
     " hash TEXT NOT NULL);"
     "CREATE TABLE pf_chain_transfers ("
     " id TEXT PRIMARY KEY,"
     " tx_hash TEXT NOT NULL,"
     " log_index BIGINT NOT NULL,"
     " block_number BIGINT NOT NULL,"
     " block_hash TEXT NOT NULL,"
     " trade_id TEXT NOT NULL REFERENCES pf_chain_deposits(trade_id),"
     " from_address TEXT NOT NULL,"
     " amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
     " status TEXT NOT NULL CHECK (status IN ('seen','credited')),"
     " seen_ms BIGINT NOT NULL,"
     " credited_ms BIGINT NOT NULL DEFAULT 0,"
     " UNIQUE (tx_hash, log_index));"
     "CREATE INDEX pf_chain_transfers_status ON pf_chain_transfers(status, block_number);"
     "CREATE INDEX pf_chain_transfers_trade ON pf_chain_transfers(trade_id);"
     "CREATE TABLE pf_chain_returns ("
     " id TEXT PRIMARY KEY,"
     " trade_id TEXT NOT NULL REFERENCES pf_chain_deposits(trade_id),"
     " to_address TEXT NOT NULL,"
     " amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
     " nonce BIGINT NOT NULL,"
     " raw_tx TEXT NOT NULL,"
     " tx_hash TEXT NOT NULL UNIQUE,"
     " status TEXT NOT NULL CHECK (status IN ('signed','sent','confirmed','failed')),"
     " created_ms BIGINT NOT NULL,"
     " done_ms BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX pf_chain_returns_status ON pf_chain_returns(status)"},
    {24,
     /* anchors of the payment log's heads on the chain (chain_anchor.c, docs/receipts.md) */
     "CREATE TABLE pf_chain_anchors ("
     " id TEXT PRIMARY KEY,"
     " tree_size BIGINT NOT NULL CHECK (tree_size > 0),"
     " address TEXT NOT NULL,"
     " nonce BIGINT NOT NULL,"
     " raw_tx TEXT NOT NULL,"
     " tx_hash TEXT NOT NULL UNIQUE,"
     " status TEXT NOT NULL CHECK (status IN ('signed','sent','confirmed','dropped')),"
     " block_number BIGINT NOT NULL DEFAULT 0,"
     " block_hash TEXT NOT NULL DEFAULT '',"
     " created_ms BIGINT NOT NULL,"
     " done_ms BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX pf_chain_anchors_status ON pf_chain_anchors(status, tree_size)"},
    {25,
     /* The merchant portal's refund requests, a merchant's newest first (docs/portal.md). */
     "CREATE INDEX pf_refund_requests_merchant ON pf_refund_requests(merchant_id, created_ms)"},
    {26,
     /* Risk reviews (docs/risk.md, "Review"): a payment the rules held for a check, one per
      * trade, with what the payment would have been (method, the consumer's wallet, reference)
      * so that an approval makes exactly that payment; then who decided, when and why.
      * The counters' indexes made covering (docs/risk.md, "Cost"): a velocity sum reads the
      * index alone, never the table (p99 of a decision 213 -> 106 us in bench/risk). */
     "CREATE TABLE pf_risk_reviews ("
     " trade_id TEXT PRIMARY KEY REFERENCES pf_trades(id),"
     " attempt_id TEXT NOT NULL,"
     " method TEXT NOT NULL,"
     " pay_method TEXT NOT NULL,"
     " consumer_id TEXT NOT NULL,"
     " reference TEXT NOT NULL,"
     " merchant_id TEXT NOT NULL,"
     " amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
     " currency TEXT NOT NULL,"
     " reasons TEXT NOT NULL,"
     " status TEXT NOT NULL CHECK (status IN ('pending','approved','rejected')),"
     " note TEXT NOT NULL DEFAULT '',"
     " decided_by TEXT NOT NULL DEFAULT '',"
     " created_ms BIGINT NOT NULL,"
     " decided_ms BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX pf_risk_reviews_status ON pf_risk_reviews(status, created_ms);"
     "DROP INDEX pf_risk_consumer;"
     "DROP INDEX pf_risk_card;"
     "DROP INDEX pf_risk_device;"
     "DROP INDEX pf_risk_ip;"
     "DROP INDEX pf_risk_merchant;"
     "CREATE INDEX pf_risk_consumer ON pf_risk_attempts"
     " (consumer_id, at_ms, paid, currency, amount_minor);"
     "CREATE INDEX pf_risk_card ON pf_risk_attempts(card, at_ms, paid, currency, amount_minor);"
     "CREATE INDEX pf_risk_device ON pf_risk_attempts(device, at_ms, paid, currency, amount_minor);"
     "CREATE INDEX pf_risk_ip ON pf_risk_attempts(ip, at_ms, paid, currency, amount_minor);"
     "CREATE INDEX pf_risk_merchant ON pf_risk_attempts"
     " (merchant_id, at_ms, paid, currency, amount_minor)"},
    {27,
     /* A review holds the money (docs/risk.md, "Review"): the pending ledger transfer that
      * reserves the payment in the consumer's wallet until the operator decides; "" for a
      * review held before (its approval pays afresh, its rejection has nothing to release). */
     "ALTER TABLE pf_risk_reviews ADD COLUMN hold_id TEXT NOT NULL DEFAULT ''"},
    {28,
     /* A review's outcome is a label for `paygate risk train` (docs/risk.md, "A learned score"):
      * the features the attempt was judged by, kept with it ("name=value ..."; "" before). */
     "ALTER TABLE pf_risk_reviews ADD COLUMN features TEXT NOT NULL DEFAULT ''"},
    {29,
     /* An agreement debit's step-up (docs/risk.md, "Step-up"): the merchant relays the code,
      * not its challenge; the trade's codes ("stepup:<trade>") are found by purpose. */
     "CREATE INDEX pf_sms_codes_purpose ON pf_sms_codes(purpose, created_ms)"},
};

/* PostgreSQL runs 1..12 and 17 on as written; 13 to 16 are written for SQLite (its table rebuild,
 * its INTEGER): there the same changes in place, with BIGINT. pf_trades keeps its rows, indexes and
 * the foreign keys that refer to it; only the state's CHECK (named by PostgreSQL after the
 * column) is replaced. */
static const struct pay_store_migration migrations_pg[] = {
    {1, NULL},
    {2, NULL},
    {3, NULL},
    {4, NULL},
    {5, NULL},
    {6, NULL},
    {7, NULL},
    {8, NULL},
    {9, NULL},
    {10, NULL},
    {11, NULL},
    {12, NULL},
    {13, "ALTER TABLE pf_trades DROP CONSTRAINT pf_trades_state_check;"
         "ALTER TABLE pf_trades ADD CONSTRAINT pf_trades_state_check CHECK (state IN"
         " ('WAIT_BUYER_PAY','TRADE_SUCCESS','TRADE_CLOSED','TRADE_FINISHED',"
         "  'WAIT_SELLER_SEND_GOODS','WAIT_BUYER_CONFIRM_GOODS'));"
         "ALTER TABLE pf_trades ADD COLUMN buyer_id TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE pf_trades ADD COLUMN ship_due_ms BIGINT NOT NULL DEFAULT 0;"
         "ALTER TABLE pf_trades ADD COLUMN shipped_ms BIGINT NOT NULL DEFAULT 0;"
         "ALTER TABLE pf_trades ADD COLUMN confirm_due_ms BIGINT NOT NULL DEFAULT 0;"
         "ALTER TABLE pf_trades ADD COLUMN logistics_company TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE pf_trades ADD COLUMN tracking_no TEXT NOT NULL DEFAULT '';"
         "UPDATE pf_trades SET buyer_id = payer WHERE pay_method IN ('wallet','qr','agreement');"
         "CREATE INDEX pf_trades_ship_due ON pf_trades(state, ship_due_ms);"
         "CREATE INDEX pf_trades_confirm_due ON pf_trades(state, confirm_due_ms);"
         "CREATE INDEX pf_trades_buyer ON pf_trades(buyer_id, created_ms);"
         "ALTER TABLE pf_merchants ADD COLUMN escrow_confirm_ms BIGINT NOT NULL DEFAULT 0"
         " CHECK (escrow_confirm_ms >= 0);"
         "CREATE TABLE pf_refund_requests ("
         " id TEXT PRIMARY KEY,"
         " trade_id TEXT NOT NULL REFERENCES pf_trades(id),"
         " merchant_id TEXT NOT NULL,"
         " consumer_id TEXT NOT NULL,"
         " amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
         " currency TEXT NOT NULL,"
         " reason TEXT NOT NULL,"
         " goods_returned BIGINT NOT NULL CHECK (goods_returned IN (0, 1)),"
         " status TEXT NOT NULL CHECK (status IN"
         "  ('WAIT_MERCHANT','WAIT_OPERATOR','APPROVED','REJECTED')),"
         " deadline_ms BIGINT NOT NULL,"
         " created_ms BIGINT NOT NULL,"
         " decided_ms BIGINT NOT NULL DEFAULT 0,"
         " decided_by TEXT NOT NULL DEFAULT '' CHECK (decided_by IN ('','merchant','operator')),"
         " reject_reason TEXT NOT NULL DEFAULT '',"
         " refund_id TEXT NOT NULL DEFAULT '');"
         "CREATE INDEX pf_refund_requests_trade ON pf_refund_requests(trade_id);"
         "CREATE INDEX pf_refund_requests_due ON pf_refund_requests(status, deadline_ms);"
         "CREATE UNIQUE INDEX pf_refund_requests_open ON pf_refund_requests(trade_id)"
         " WHERE status IN ('WAIT_MERCHANT','WAIT_OPERATOR')"},
    {14, "ALTER TABLE pf_merchants ADD COLUMN settle_days BIGINT NOT NULL DEFAULT 1"
         " CHECK (settle_days BETWEEN 0 AND 30);"
         "ALTER TABLE pf_merchants ADD COLUMN settle_min_minor BIGINT NOT NULL DEFAULT 0"
         " CHECK (settle_min_minor >= 0);"
         "CREATE TABLE pf_settlements ("
         " id TEXT PRIMARY KEY,"
         " merchant_id TEXT NOT NULL REFERENCES pf_merchants(id),"
         " business_date TEXT NOT NULL,"
         " currency TEXT NOT NULL,"
         " bank TEXT NOT NULL,"
         " to_account TEXT NOT NULL,"
         " amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
         " from_ms BIGINT NOT NULL,"
         " cutoff_ms BIGINT NOT NULL,"
         " reserved_minor BIGINT NOT NULL CHECK (reserved_minor >= 0),"
         " status TEXT NOT NULL CHECK (status IN ('pending','paid','failed')),"
         " attempts BIGINT NOT NULL DEFAULT 0,"
         " next_attempt_ms BIGINT NOT NULL,"
         " last_error TEXT NOT NULL DEFAULT '',"
         " created_ms BIGINT NOT NULL,"
         " done_ms BIGINT NOT NULL DEFAULT 0,"
         " UNIQUE (merchant_id, business_date, currency));"
         "CREATE INDEX pf_settlements_due ON pf_settlements(status, next_attempt_ms);"
         "CREATE INDEX pf_settlements_merchant ON pf_settlements(merchant_id, created_ms);"
         "CREATE TABLE pf_settlement_runs ("
         " business_date TEXT PRIMARY KEY,"
         " ran_ms BIGINT NOT NULL)"},
    {15,
     /* 15 with BIGINT for SQLite's INTEGER */
     "CREATE TABLE pf_portal_users ("
     " id TEXT PRIMARY KEY,"
     " merchant_id TEXT NOT NULL REFERENCES pf_merchants(id),"
     " login TEXT NOT NULL UNIQUE,"
     " password_hash TEXT NOT NULL,"
     " role TEXT NOT NULL CHECK (role IN ('owner','finance','support')),"
     " totp_secret TEXT NOT NULL,"
     " totp_last_step BIGINT NOT NULL DEFAULT 0,"
     " status TEXT NOT NULL CHECK (status IN ('active','disabled')),"
     " created_ms BIGINT NOT NULL);"
     "CREATE INDEX pf_portal_users_merchant ON pf_portal_users(merchant_id);"
     "CREATE TABLE pf_portal_sessions ("
     " token_hash TEXT PRIMARY KEY,"
     " user_id TEXT NOT NULL REFERENCES pf_portal_users(id),"
     " csrf TEXT NOT NULL,"
     " created_ms BIGINT NOT NULL,"
     " last_seen_ms BIGINT NOT NULL);"
     "CREATE TABLE pf_merchant_keys ("
     " key_id TEXT PRIMARY KEY,"
     " merchant_id TEXT NOT NULL REFERENCES pf_merchants(id),"
     " key_alg TEXT NOT NULL CHECK (key_alg IN ('ed25519','rsa')),"
     " public_key TEXT NOT NULL,"
     " created_ms BIGINT NOT NULL,"
     " not_after_ms BIGINT NOT NULL DEFAULT 0,"
     " revoked_ms BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX pf_merchant_keys_merchant ON pf_merchant_keys(merchant_id);"
     "CREATE INDEX pf_trades_merchant ON pf_trades(merchant_id, created_ms)"},
    {16,
     /* 16 with BIGINT for SQLite's INTEGER */
     "CREATE TABLE pf_applications ("
     " id TEXT PRIMARY KEY,"
     " status TEXT NOT NULL CHECK (status IN ('pending','approved','rejected')),"
     " company TEXT NOT NULL,"
     " contact TEXT NOT NULL,"
     " email TEXT NOT NULL,"
     " phone TEXT NOT NULL,"
     " website TEXT NOT NULL,"
     " settle_bank TEXT NOT NULL,"
     " settle_account TEXT NOT NULL,"
     " volume_minor BIGINT NOT NULL CHECK (volume_minor >= 0),"
     " currency TEXT NOT NULL,"
     " password_hash TEXT NOT NULL,"
     " token_hash TEXT NOT NULL UNIQUE,"
     " merchant_id TEXT NOT NULL DEFAULT '',"
     " credentials TEXT NOT NULL DEFAULT '',"
     " note TEXT NOT NULL DEFAULT '',"
     " created_ms BIGINT NOT NULL,"
     " decided_ms BIGINT NOT NULL DEFAULT 0,"
     " revealed_ms BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX pf_applications_status ON pf_applications(status, created_ms)"},
    {0, NULL},
};

const struct pay_store_component pay_platform_schema = {.name = "platform",
                                                        .migrations = migrations,
                                                        .count = sizeof migrations /
                                                                 sizeof migrations[0],
                                                        .pg = migrations_pg};
