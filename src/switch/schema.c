/* The switch's own tables (component "switch"); the settlement accounts live in the ledger's.
 * Card numbers never appear: a card is a token with its issuer, BIN and last four digits,
 * found again by a keyed hash of its number (pan_index). SQL that SQLite and PostgreSQL both
 * run: BIGINT, ON CONFLICT, no AUTOINCREMENT. */
#include "switch/switch.h"

static const struct pay_store_migration migrations[] = {
    {1, "CREATE TABLE switch_info (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
        "CREATE TABLE switch_seq (name TEXT PRIMARY KEY, next BIGINT NOT NULL);"
        /* roles: what the member may do; url: where its issuer endpoints are, from its last
         * sign-on (0800); seal_pk: the key card data is sealed to for it */
        "CREATE TABLE switch_members (code TEXT PRIMARY KEY, name TEXT NOT NULL,"
        "  roles TEXT NOT NULL CHECK (roles IN ('issuer','acquirer','issuer,acquirer')),"
        "  cert_serial TEXT NOT NULL, cert_pem TEXT NOT NULL, public_pem TEXT NOT NULL,"
        "  seal_pk TEXT NOT NULL, url TEXT NOT NULL DEFAULT '',"
        "  signed_on_ms BIGINT NOT NULL DEFAULT 0, revoked_ms BIGINT NOT NULL DEFAULT 0,"
        "  settle_account TEXT NOT NULL, created_ms BIGINT NOT NULL);"
        "CREATE TABLE switch_bins (prefix TEXT PRIMARY KEY,"
        "  member TEXT NOT NULL REFERENCES switch_members(code), created_ms BIGINT NOT NULL);"
        "CREATE TABLE switch_tokens (token TEXT PRIMARY KEY, pan_index TEXT NOT NULL UNIQUE,"
        "  issuer TEXT NOT NULL, bin TEXT NOT NULL, last4 TEXT NOT NULL,"
        "  created_ms BIGINT NOT NULL);"
        /* One row per message of an acquirer (its trace is the key: a repeat finds it). state:
         * SENT (forwarded, no answer yet), ANSWERED, NO_ANSWER (the issuer did not answer an
         * authorization: 91, and the switch reverses it), VOID (a reversal came first: the
         * authorization is refused when it arrives). answer: the exact text answered. */
        "CREATE TABLE switch_msgs (acquirer TEXT NOT NULL, trace TEXT NOT NULL,"
        "  mti TEXT NOT NULL, proc TEXT NOT NULL, fingerprint TEXT NOT NULL,"
        "  issuer TEXT NOT NULL DEFAULT '', token TEXT NOT NULL DEFAULT '',"
        "  amount_minor BIGINT NOT NULL DEFAULT 0, currency TEXT NOT NULL DEFAULT '',"
        "  original_trace TEXT NOT NULL DEFAULT '', merchant_id TEXT NOT NULL DEFAULT '',"
        "  merchant_name TEXT NOT NULL DEFAULT '', rrn TEXT NOT NULL DEFAULT '',"
        "  auth_code TEXT NOT NULL DEFAULT '', response_code TEXT NOT NULL DEFAULT '',"
        "  state TEXT NOT NULL CHECK (state IN ('SENT','ANSWERED','NO_ANSWER','VOID')),"
        "  reversed BIGINT NOT NULL DEFAULT 0, settle_date TEXT NOT NULL DEFAULT '',"
        "  answer TEXT NOT NULL DEFAULT '', created_ms BIGINT NOT NULL,"
        "  answered_ms BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (acquirer, trace));"
        "CREATE INDEX switch_msgs_settle ON switch_msgs(settle_date);"
        /* Reversals the switch owes an issuer: authorizations it forwarded and could not
         * answer. Sent until the issuer answers, with backoff. */
        "CREATE TABLE switch_reversals (acquirer TEXT NOT NULL, trace TEXT NOT NULL,"
        "  issuer TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('PENDING','DONE')),"
        "  attempts BIGINT NOT NULL DEFAULT 0, next_attempt_ms BIGINT NOT NULL,"
        "  response_code TEXT NOT NULL DEFAULT '', last_error TEXT NOT NULL DEFAULT '',"
        "  created_ms BIGINT NOT NULL, PRIMARY KEY (acquirer, trace));"
        "CREATE INDEX switch_reversals_due ON switch_reversals(state, next_attempt_ms)"},
    /* Settlement (docs/switch.md): one run per business day, once every message of that day is
     * answered; one row per member with its net position (acquired less issued, refunds the
     * other way) and the ledger transfer that settled it (between its clearing account and its
     * settlement account). The positions of a day sum to zero. */
    {2, "CREATE TABLE switch_settlement_runs (settle_date TEXT PRIMARY KEY,"
        "  members BIGINT NOT NULL, moved_minor BIGINT NOT NULL, created_ms BIGINT NOT NULL);"
        "CREATE TABLE switch_settlements (settle_date TEXT NOT NULL, member TEXT NOT NULL,"
        "  acquired_minor BIGINT NOT NULL, issued_minor BIGINT NOT NULL,"
        "  net_minor BIGINT NOT NULL, transfer_id TEXT NOT NULL DEFAULT '',"
        "  created_ms BIGINT NOT NULL, PRIMARY KEY (settle_date, member))"},
    /* The online payment page (银联在线支付): one session per acquirer's order (ref), opened by
     * the acquirer; NEW until the issuer has sent the cardholder an SMS code (CODE_SENT), then
     * VERIFIED when the code was right: the acquirer authorizes with the token and the
     * verification. No card data: the card is its token, BIN and last four digits. */
    {3, "CREATE TABLE switch_online (id TEXT PRIMARY KEY, acquirer TEXT NOT NULL,"
        "  ref TEXT NOT NULL, amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),"
        "  merchant_id TEXT NOT NULL, merchant_name TEXT NOT NULL, return_url TEXT NOT NULL,"
        "  csrf TEXT NOT NULL,"
        "  state TEXT NOT NULL CHECK (state IN ('NEW','CODE_SENT','VERIFIED')),"
        "  issuer TEXT NOT NULL DEFAULT '', token TEXT NOT NULL DEFAULT '',"
        "  bin TEXT NOT NULL DEFAULT '', last4 TEXT NOT NULL DEFAULT '',"
        "  phone_hint TEXT NOT NULL DEFAULT '', verification_id TEXT NOT NULL DEFAULT '',"
        "  expires_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL, UNIQUE (acquirer, ref))"},
    /* Fees (docs/switch.md, "Clearing and settlement"): each cleared purchase's interchange
     * (acquirer -> issuer) and the network's fee from each side, booked with its clearing; a
     * member's settlement nets them too, and a day's run records the network's fee income. */
    {4, "ALTER TABLE switch_msgs ADD COLUMN interchange_minor BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE switch_msgs ADD COLUMN acq_fee_minor BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE switch_msgs ADD COLUMN iss_fee_minor BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE switch_settlements ADD COLUMN interchange_minor BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE switch_settlements ADD COLUMN fees_minor BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE switch_settlement_runs ADD COLUMN fees_minor BIGINT NOT NULL DEFAULT 0"},
};

const struct pay_store_component pay_switch_schema = {
    "switch", migrations, sizeof migrations / sizeof migrations[0], NULL};
