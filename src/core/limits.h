/* Every limit of paygate in one place, each with the reason for its value (after SQLite's
 * sqliteLimit.h). Change one here and only here; tests and docs read them from here. */
#ifndef PAY_CORE_LIMITS_H
#define PAY_CORE_LIMITS_H

/* --- HTTP ------------------------------------------------------------------------------ */

/* Largest request body. Our biggest legitimate body is a B2C order form (a few KiB of base64
 * plus a certificate, ~4 KiB) or an API call; 64 KiB leaves room and bounds memory per
 * connection: 1,000 connections cost at most 64 MiB. */
#define PAY_HTTP_BODY_MAX 65536

/* Largest total size of request headers. Browsers send ~1-2 KiB; 8 KiB is nginx's
 * large_client_header_buffers default. */
#define PAY_HTTP_HEADER_MAX 8192

/* Concurrent connections per server ([server] max_connections). At the cap a new connection
 * displaces the connection that has waited longest for its request to arrive (a slow or idle
 * client), or is refused when every connection is busy in a handler. Each connection in a
 * blocking handler holds a worker thread (below): 1,024 of them stay within a small server's
 * memory, and 1,024 sockets within the default fd limit. */
#define PAY_HTTP_CONNECTIONS_MAX 1024

/* Highest max_connections an operator may set: a connection waiting for its request costs a
 * socket and ~32 KiB, one in a blocking handler a worker thread as well. */
#define PAY_HTTP_CONNECTIONS_CEILING 65536

/* Event threads of a server ([server] threads; 0 or unset: one per online CPU): each runs
 * libmicrohttpd's epoll loop over its share of the connections. More than the CPUs only adds
 * context switches; 64 is far beyond any machine this runs on. */
#define PAY_HTTP_THREADS_MAX 64

/* Worker threads a server keeps for handlers that may block (a commit, an outbound call,
 * Argon2id), started with it and never retired: enough for a quiet server's occasional page.
 * Busier moments start more, up to one per connection (no handler waits for a thread). */
#define PAY_HTTP_WORKERS_KEEP 4

/* Milliseconds a worker above PAY_HTTP_WORKERS_KEEP waits for work before it exits: long
 * enough that a steady load keeps its threads (no thread start per request), short enough
 * that a burst's threads go soon after it. */
#define PAY_HTTP_WORKER_IDLE_MS 10000

/* GET /healthz runs the server's health check (a database ping) at most once per this many
 * milliseconds and answers the last result in between: a load balancer polling it thousands of
 * times a second costs one check a second, and a failing database shows within a second. */
#define PAY_HTTP_HEALTH_CACHE_MS 1000

/* Longest read_timeout and idle_timeout an operator may set, in seconds: an hour is already
 * far beyond any legitimate client. */
#define PAY_HTTP_TIMEOUT_CEILING_S 3600

/* Extra connections libmicrohttpd accepts above the cap, so a newcomer is accepted while the
 * connection it displaces is still closing; beyond the cap plus this, it refuses at once. */
#define PAY_HTTP_CONNECTIONS_HEADROOM 64

/* Concurrent connections from one client address ([server] max_connections_per_ip): one
 * address cannot hold more than a quarter of the cap, and displacement at the cap rotates
 * the rest. It stays well above honest needs: a carrier-grade NAT puts many consumers behind
 * one address (a browser opens up to 6 connections per host), and a merchant's server may run
 * a hundred API calls at once (tests/platform/test_platform_pay.c does). */
#define PAY_HTTP_CONNECTIONS_PER_IP_MAX 256

/* Milliseconds a client has to send a whole request, TLS handshake, headers and body, from
 * the moment its connection is ready for one (accepted, or the previous response sent);
 * [server] read_timeout. Sending a byte now and then does not extend it (slowloris). Headers
 * are one packet; the largest body (PAY_HTTP_BODY_MAX) takes 13 s at 5 KB/s, a poor mobile
 * link. Also the longest a kept-alive connection may sit idle between requests. */
#define PAY_HTTP_READ_TIMEOUT_MS 15000

/* Seconds without any traffic after which libmicrohttpd closes a connection ([server]
 * idle_timeout): the bound on a client that stops reading its response. */
#define PAY_HTTP_CONNECTION_TIMEOUT_S 30

/* Path parameters in one route ("/v1/trades/{id}/refunds/{rid}" has two). */
#define PAY_HTTP_PATH_PARAMS_MAX 4

/* Fields in one urlencoded form; the B2C gateway form has 4, our pages fewer than 20. */
#define PAY_HTTP_FORM_FIELDS_MAX 64

/* Lines per second per server from libmicrohttpd's log (a failed or cut connection is one
 * line): enough to see what happens, too few for an attack to fill the disk. */
#define PAY_HTTP_LIBRARY_LOG_PER_S 10

/* Seconds a server waits for in-flight requests after SIGTERM before it exits anyway. */
#define PAY_HTTP_SHUTDOWN_GRACE_S 10

/* Retry-After of every 503 answer (DB_BUSY, DB_FULL, DB_UNAVAILABLE, UNAVAILABLE): the
 * request was not completed and the same request may be sent again. A few seconds: a busy
 * database frees in milliseconds, a full disk when an operator frees space; a client that
 * retries sooner is only refused again, so the value is a hint to keep retries sparse. */
#define PAY_HTTP_RETRY_AFTER_S 5

/* GnuTLS priorities of HTTPS servers ([server] tls_priorities): TLS 1.2 and 1.3 only,
 * forward-secret key exchange (ECDHE; TLS 1.3 is always so) with AEAD ciphers only (AES-GCM,
 * ChaCha20-Poly1305), in the server's order. No TLS 1.0/1.1, no static RSA key exchange, no
 * CBC: what testssl.sh and PCI DSS 4.2.1 ask of a payment server. Browsers since 2014 and
 * every maintained HTTP library speak this. */
#define PAY_HTTP_TLS_PRIORITIES                                                                    \
    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"         \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

/* Longest [server] tls_priorities string (a config value is at most PAY_CONFIG_VALUE_MAX). */
#define PAY_HTTP_TLS_PRIORITIES_MAX 255

/* --- outbound HTTP (libcurl) ------------------------------------------------------------ */

/* Connect and total timeouts for server-to-server calls. A bank that does not answer in 10 s
 * is treated as down; the caller retries from its outbox. */
#define PAY_CLIENT_CONNECT_TIMEOUT_MS 3000
#define PAY_CLIENT_TOTAL_TIMEOUT_MS   10000

/* Largest response body we read from another server. */
#define PAY_CLIENT_RESPONSE_MAX 1048576

/* --- JSON ------------------------------------------------------------------------------- */

/* Deepest nesting accepted in a request; our APIs use at most 3 levels. Bounds recursion. */
#define PAY_JSON_DEPTH_MAX 16

/* --- strings and identifiers ------------------------------------------------------------ */

/* Longest merchant-chosen identifier (out_trade_no, out_refund_no, Idempotency-Key); Alipay
 * allows 64. */
#define PAY_MERCHANT_ID_FIELD_MAX 64

/* Longest free-text field (subject, goods name). */
#define PAY_TEXT_FIELD_MAX 256

/* Longest URL we store or call (notify_url, return_url, merURL). */
#define PAY_URL_MAX 1024

/* Length of a paygate id: prefix (up to 4) + '_' + 26 chars of base32 (48-bit time + 80 bits
 * randomness) + NUL. */
#define PAY_ID_MAX 32

/* --- money ------------------------------------------------------------------------------ */

/* Largest amount of one payment or refund, in minor units: 10^13 minor units is 100 billion
 * CNY, well above any single online payment, and far below INT64_MAX so that sums of many
 * such amounts cannot overflow in a batch. */
#define PAY_AMOUNT_MAX_MINOR 10000000000000LL

/* Longest decimal money string we parse ("-92233720368547758.07" fits). */
#define PAY_MONEY_TEXT_MAX 32

/* --- security --------------------------------------------------------------------------- */

/* Replay window for signed requests: a timestamp further than this from our clock is stale,
 * and nonces are remembered this long. 5 minutes (docs/protocol.md). */
#define PAY_SIGNATURE_WINDOW_S 300

/* Nonces remembered per process inside the window; at 10,000 signed requests/s for 300 s a
 * cache must hold 3 million; beyond this the oldest are evicted and stale timestamps
 * (refused anyway) cover the gap. */
#define PAY_NONCE_CACHE_MAX 4194304

/* Failed password / code attempts before a lock, and how long the lock lasts (PCI DSS 8.3.4:
 * at most 10 tries, at least 30 minutes). */
#define PAY_LOCKOUT_ATTEMPTS   5
#define PAY_LOCKOUT_DURATION_S 1800

/* One-time SMS codes: how long one is valid. */
#define PAY_OTP_TTL_S 300

/* Idle web session lifetime (platform consumers). */
#define PAY_SESSION_IDLE_S 900

/* --- logging ---------------------------------------------------------------------------- */

/* Longest log line; longer lines are cut and end in "...". */
#define PAY_LOG_LINE_MAX 2048

/* --- storage and ledger ----------------------------------------------------------------- */

/* Commands the ledger committer applies in one transaction. Larger batches amortise the
 * fsync further but hold callers longer; 8,192 keeps a batch under ~10 ms on SQLite. */
#define PAY_LEDGER_BATCH_MAX 8192

/* Bytes of accounts the ledger keeps in memory between write transactions (its account
 * cache; pay_ledger_set_account_cache_bytes changes it). An entry costs 224 bytes, so the
 * default holds a working set of a million accounts (a platform's wallets and merchants):
 * past its cache, each account a batch touches costs an indexed lookup (two b-tree seeks)
 * before the transfer. The memory is used only as accounts are touched. */
#define PAY_LEDGER_ACCOUNT_CACHE_BYTES (256u * 1024 * 1024)
/* Longest `database` setting: an SQLite path or a PostgreSQL URL with its parameters (host
 * lists, sslmode, certificate paths). */
#define PAY_DATABASE_MAX 1024

/* `paygate backup` (store/backup.c, store/cmd_backup.c): the longest path of a file it copies
 * or writes (a data folder is a few levels deep; longer is refused, naming the path), the
 * folder depth it walks (a server's data folder is at most 3 deep: demo banks/<code>/keys),
 * and the read/write chunk of a plain file's copy. */
#define PAY_PATH_MAX          1024
#define PAY_BACKUP_DEPTH_MAX  8
#define PAY_BACKUP_COPY_CHUNK 65536

/* Prepared statements cached per store connection. */
#define PAY_STORE_STMT_CACHE_MAX 128

/* Attempts of one transaction on "busy"/serialisation failures before giving up. */
#define PAY_STORE_RETRY_MAX 8

/* Milliseconds SQLite waits on a lock before reporting busy. */
#define PAY_STORE_BUSY_TIMEOUT_MS 5000
/* PostgreSQL backend (store_pg.c): parameters of one statement and bytea columns of one row read
 * side by side, more than any paygate query binds or selects (a statement past either is an
 * INTERNAL error, a column past the second an assertion). */
#define PAY_STORE_PG_PARAMS_MAX 64
#define PAY_STORE_PG_BLOB_COLS  32
/* Statements whose answer nobody waits for (a read transaction's BEGIN, savepoints), held to go
 * with the next statement in one round trip, and the longest of them; past the count they are
 * sent on their own (store_pg.c, "Deferred statements"). */
#define PAY_STORE_PG_PENDING_MAX     16
#define PAY_STORE_PG_PENDING_SQL_MAX 64
/* Statements a write transaction queued with pay_store_exec_deferred (and the savepoints behind
 * them) before their answers are read: past it they are collected in one round trip. Bounds
 * what libpq buffers and what one failure can leave unanswered; a payment queues ~6. */
#define PAY_STORE_PG_QUEUED_MAX 64

/* --- money (core) ----------------------------------------------------------------------- */

/* Parts of one pay_money_split (a refund across its sub-orders, a fee shared among parties);
 * the largest-remainder pass is O(n^2), so n stays small. */
#define PAY_MONEY_SPLIT_PARTS_MAX 1024

/* --- configuration files ------------------------------------------------------------------ */

/* Largest config file read; ours is ~5 KiB of mostly comments. */
#define PAY_CONFIG_FILE_MAX 65536

/* key = value entries in one config file; each server reads fewer than 50. */
#define PAY_CONFIG_ENTRIES_MAX 256

/* Longest section or key name, and longest value (a path or URL; inih itself cuts lines at
 * 200 bytes, which pay_config_load reports as an error rather than splitting the line). */
#define PAY_CONFIG_NAME_MAX  64
#define PAY_CONFIG_VALUE_MAX 256

/* --- the test clock (core/clock.h) ------------------------------------------------------------ */

/* Largest step of a test clock either way (POST /sandbox/clock): 400 days passes every window
 * paygate keeps (a 90-day refund window, a year of card expiry) in one step, while a typo of
 * a few zeros too many is refused rather than sent past the year 10000 of RFC 3339 times. */
#define PAY_CLOCK_STEP_MAX_MS (400LL * 24 * 3600 * 1000)

/* Longest path of the file a server's test clock is kept in (a data dir is at most 511
 * bytes in the [server] settings, plus "/fake-clock"). */
#define PAY_CLOCK_FILE_MAX 600

/* --- signed requests (docs/protocol.md) ------------------------------------------------ */

/* Longest signature header value: an RSA-4096 signature is 683 base64url chars, plus keyId,
 * ts, nonce and the syntax; 1 KiB holds it and stays well inside PAY_HTTP_HEADER_MAX. */
#define PAY_SIG_HEADER_MAX 1024

/* Longest keyId (merchant or bank id, or "<id>.<key version>"). */
#define PAY_SIG_KEY_ID_MAX 64

/* Nonce length bounds: at least 16 chars (96+ bits when random), at most 64 (a UUID fits). */
#define PAY_SIG_NONCE_MIN 16
#define PAY_SIG_NONCE_MAX 64

/* --- bank (docs/bank.md) ------------------------------------------------------------------ */

/* How long the bank waits for a merchant's answer to a B2C notification before it shows the
 * consumer the result anyway (ICBC: the notification and the result page are serial, so a
 * slow merchant must not keep the consumer waiting past a browser's patience). */
#define PAY_BANK_NOTIFY_TIMEOUT_MS 5000

/* Requests per minute per client IP to the gateway pages, and card-number / password / SMS
 * attempts per minute per card: above a human's pace, far below a guessing script's. */
#define PAY_BANK_RATE_PER_IP_PER_MIN   120
#define PAY_BANK_RATE_PER_CARD_PER_MIN 20

/* SMS messages kept in memory for the sandbox outbox page. */
#define PAY_BANK_SMS_OUTBOX_MAX 200

/* --- the merchant portal (docs/portal.md) -------------------------------------------------- */

/* Trades on one page of the portal's list: a screenful on a phone, and a bounded read. */
#define PAY_PORTAL_PAGE_ROWS 50
/* Rows of one CSV export: a month of a busy small merchant; more is a report job, not a
 * download made inside one request (the read holds a snapshot while it runs). */
#define PAY_PORTAL_EXPORT_ROWS_MAX 10000
/* Keys a merchant may hold at once (usable, not revoked and not past their end): the one in
 * use, the next one and a spare; a longer list is a rotation that never finished. */
#define PAY_PORTAL_KEYS_MAX 3
/* How long the keys in use keep working after a new one is uploaded, at most: long enough
 * to roll a fleet of servers, short enough that a leaked old key dies soon. */
#define PAY_PORTAL_KEY_OVERLAP_DAYS_MAX 30
/* Team members of one merchant. */
#define PAY_PORTAL_MEMBERS_MAX 50
/* Applications waiting for the operator at once: the public form writes to the database, so
 * its backlog is bounded (a flood is refused with RATE_LIMITED, nothing written). */
#define PAY_PORTAL_APPLICATIONS_PENDING_MAX 1000

/* --- languages and time zones (docs/i18n.md) ---------------------------------------------- */

/* Largest message catalog (a .po file in web/po/). Every page's text in one language is ~60 KiB; 1
 * MiB leaves room for years of pages and bounds what a bad file costs at start-up. */
#define PAY_I18N_PO_FILE_MAX 1048576

/* Entries in one catalog, and the longest msgid or msgstr in bytes (after unescaping). Our
 * longest message is a paragraph of ~300 bytes. */
#define PAY_I18N_ENTRIES_MAX 8192
#define PAY_I18N_MESSAGE_MAX 4096

/* Languages one server offers (the source language English plus one per catalog). */
#define PAY_I18N_LANGS_MAX 16

/* Items of an Accept-Language header that are looked at; browsers send 2-6, and the rest of a
 * longer list cannot change the outcome in practice. Bounds the work per request. */
#define PAY_I18N_ACCEPT_ITEMS_MAX 32

/* Largest TZif file (/usr/share/zoneinfo/...; the biggest in tzdata is ~3 KiB, fat ones up
 * to ~10 KiB) and the most transitions read from it. */
#define PAY_TZ_FILE_MAX        65536
#define PAY_TZ_TRANSITIONS_MAX 4096

/* --- audit trail (docs/audit.md) ----------------------------------------------------------- */

/* Longest actor, action, target, outcome or source of an audit entry in bytes: ids, logins and
 * IP addresses are far shorter; a bound keeps a buggy caller from filling the log. */
#define PAY_AUDIT_TEXT_MAX 128
/* Longest detail note of an entry: a few key=value pairs people read. */
#define PAY_AUDIT_DETAIL_MAX 512
/* A checkpoint (the chain's head signed by the server's key) every this many entries: a
 * signature per 32 appends costs ~1 us per entry with Ed25519 (~30 us with RSA-2048) and bounds
 * what can be cut from the end of the log unnoticed between two checkpoints. */
#define PAY_AUDIT_CHECKPOINT_EVERY 32
/* Entries on one page of the consoles' audit view. */
#define PAY_AUDIT_PAGE_MAX 200
/* Bytes of a checkpoint's signed message: a tag, seq, hash, time and the key id. */
#define PAY_AUDIT_CHECKPOINT_MSG_MAX (64 + 8 + 32 + 8 + 4 + PAY_AUDIT_TEXT_MAX)

/* --- transparency log and receipts (docs/receipts.md) -------------------------------------- */

/* Hashes in one inclusion or consistency proof: a tree of n leaves needs at most
 * ceil(log2(n)) + 1, so 65 covers every size a 64-bit count can name. */
#define PAY_MERKLE_PROOF_MAX 65
/* Bytes of one leaf's encoding: a tag, four texts of at most 64 bytes with their lengths, the
 * amount and the time; far below this. */
#define PAY_TRANSLOG_LEAF_MAX 1024
/* Longest text of a leaf (an id, an out_trade_no, a method, a currency): the API's ids are at
 * most 64 bytes. */
#define PAY_TRANSLOG_TEXT_MAX 64
/* Leaves a proof is computed over in memory (their hashes, 32 bytes each: 64 MiB at most).
 * Above it the log answers UNAVAILABLE for proofs until it keeps its inner nodes. */
#define PAY_TRANSLOG_TREE_MAX (2 * 1024 * 1024)
/* A signed tree head at most this often (business time) while payments arrive: a receipt is
 * complete, co-signed, within a minute of its payment. */
#define PAY_TRANSLOG_HEAD_INTERVAL_MS (60 * 1000)
/* Witnesses (banks) a head is sent to, and co-signatures a receipt carries. */
#define PAY_TRANSLOG_WITNESS_MAX 16
/* Bytes of a tree head's signed message and of a co-signature's: tags, names, numbers, root. */
#define PAY_TRANSLOG_HEAD_MSG_MAX  (64 + 4 + PAY_TRANSLOG_TEXT_MAX + 8 + 8 + 32)
#define PAY_TRANSLOG_COSIG_MSG_MAX (64 + 4 + PAY_TRANSLOG_TEXT_MAX + PAY_TRANSLOG_HEAD_MSG_MAX)
/* What a head's anchor transaction carries (docs/receipts.md, "Anchoring on the chain"): the
 * head's signed message and its 64-byte Ed25519 signature. */
#define PAY_TRANSLOG_ANCHOR_DATA_MAX (PAY_TRANSLOG_HEAD_MSG_MAX + 64)
/* Largest receipt file `paygate receipt verify` reads, and largest public key file. */
#define PAY_TRANSLOG_RECEIPT_FILE_MAX 65536
#define PAY_TRANSLOG_KEY_FILE_MAX     65536

/* --- card network (docs/switch.md) -------------------------------------------------------- */

/* Digits of a systems trace audit number (data element 11). ISO 8583 has six and lets them
 * wrap every day; twelve never wrap in a member's lifetime (a million messages a second for
 * eleven days), so a trace alone names one message of its member for ever. */
#define PAY_NET_TRACE_LEN 12

/* Digits of a retrieval reference number (data element 37), assigned by the switch. */
#define PAY_NET_RRN_LEN 12

/* Digits of a BIN table prefix: at least 2 (a whole card scheme's range), at most 11 (a
 * 16-digit card number less its serial's last digits and the check digit). The longest prefix
 * that matches a card number names its issuer. */
#define PAY_NET_BIN_PREFIX_MIN 2
#define PAY_NET_BIN_PREFIX_MAX 11

/* How long the switch waits for an issuer's answer before it answers the acquirer 91 and
 * reverses the authorization at the issuer itself. Below the acquirer's wait, so the acquirer
 * hears the switch's 91 rather than nothing; card networks keep it under ten seconds. */
#define PAY_NET_ISSUER_TIMEOUT_MS 8000

/* How long an acquirer waits for the switch's answer before it treats the authorization as
 * unanswered (and reverses it): above the switch's wait for the issuer, below a shopper's
 * patience on a payment page. Also the default of a signed call between members. */
#define PAY_NET_CALL_TIMEOUT_MS 10000

/* How long an issuer holds an approved authorization that is never captured: the hold
 * expires and the money is the cardholder's again (card networks: about a week). */
#define PAY_NET_AUTH_HOLD_S (7 * 24 * 3600)

/* Retries of a message that must get through (a reversal, a capture, a refund): the first
 * after a second, doubling, at most five minutes apart, with no limit on attempts. */
#define PAY_NET_RETRY_FIRST_MS 1000
#define PAY_NET_RETRY_MAX_MS   300000

/* Lifetime of a session of the online payment page (银联在线支付): the shopper has a
 * quarter of an hour from the merchant's order to the SMS code. */
#define PAY_NET_SESSION_TTL_MS (15 * 60 * 1000LL)

/* Largest clearing file a member reads: about 250 bytes a transaction, so a quarter of a
 * million transactions of one member in one day. */
#define PAY_NET_CLEARING_FILE_MAX (64u * 1024 * 1024)

/* Largest interchange or network fee rate a switch may be configured with, in basis points
 * (10%: far above any card scheme's). */
#define PAY_NET_FEE_BP_MAX 1000

/* --- audit (src/audit) ----------------------------------------------------------------------- */

/* Reports beyond this many are counted, not printed: a log rewritten from the start would
 * otherwise print one line per entry. */
#define PAY_AUDIT_REPORT_LINES_MAX 100
#define PAY_AUDIT_KEY_FILE_MAX     65536

/* --- reserved messages (预留信息: bank customers, wallet users) ------------------------------ */

/* A reserved message is a short phrase its owner chose and a real page shows before it asks for
 * a secret, so a phishing copy (which cannot know it) gives itself away. Banks allow a few
 * dozen characters (ICBC: 30); measured in characters, stored sealed, so the byte bound is
 * four bytes per character of UTF-8. */
#define PAY_RESERVED_MESSAGE_CHARS_MAX 30
#define PAY_RESERVED_MESSAGE_MAX       (4 * PAY_RESERVED_MESSAGE_CHARS_MAX)

/* --- bank (src/bank) ------------------------------------------------------------------------- */

/* an unseen card result is dropped after this */
#define PAY_BANK_CARD_REVEAL_TTL_MS (10 * 60 * 1000)
#define PAY_BANK_MOVEMENTS_PAGE_MAX 50
/* entries of the notification retry schedule */
#define PAY_BANK_RETRY_MAX 16
#define PAY_BANK_CODE_MAX  16
#define PAY_BANK_NAME_MAX  64
#define PAY_BANK_PATH_MAX  1024
/* "622202******0015" */
#define PAY_BANK_MASKED_MAX  24
#define PAY_BANK_SESSION_MAX 64
/* a payment page older than this must start over */
#define PAY_BANK_SESSION_TTL_MS (15 * 60 * 1000LL)
/* decoded order document; ours are ~500 bytes */
#define PAY_BANK_TRAN_DATA_MAX   8192
#define PAY_BANK_CERT_PEM_MAX    8192
#define PAY_BANK_MEMBER_FILE_MAX 65536

/* --- cli (src/cli) --------------------------------------------------------------------------- */

/* The highest --base-port: the sandbox chain's wallet page listens on N+6. */
#define PAY_DEMO_BASE_PORT_MAX 65529
/* The demo's anchor key and gas wallet get ether from the sandbox chain when they hold less than
 * 1 ether: hundreds of transactions' gas at the sandbox's fees. */
#define PAY_DEMO_CHAIN_GAS_MIN_WEI 1000000000000000000LL
/* Start-up of the servers takes seconds (keys, demo customers hashed with Argon2id); these
 * bounds only catch a server that hangs, on a slow or loaded machine. */
#define PAY_DEMO_START_TIMEOUT_MS 120000

/* --- core (src/core) ------------------------------------------------------------------------- */

/* More options than any command has: the table of seen options lives on the stack. */
#define PAY_CLI_OPTS_MAX 64
/* Largest exponent in money.c's currency table; bounds its powers of ten. */
#define PAY_MONEY_EXPONENT_MAX 4
#define PAY_MONEY_DISPLAY_MAX  48
#define PAY_TIME_TEXT_MAX      32

/* --- crypto (src/crypto) --------------------------------------------------------------------- */

#define PAY_AEAD_KEYS_MAX 16
/* chars of a key id, [A-Za-z0-9_-]+ */
#define PAY_AEAD_KEY_ID_MAX 16
/* 48-bit time: ms since 1970, good until the year 10889. */
#define PAY_ID_TIME_MAX_MS ((1LL << 48) - 1)
/* Longest prefix: 1 to 4 lower-case ASCII letters ("tr", "rf", "mch", "acct"). */
#define PAY_ID_PREFIX_MAX           4
#define PAY_NONCE_CACHE_GEN_CAP_MIN 64
#define PAY_TOTP_SECRET_TEXT_MAX    64
/* longer passwords are refused (bounds the hashing input) */
#define PAY_PASSWORD_MAX      256
#define PAY_SIG_TS_DIGITS_MAX 18
#define PAY_SIG_METHOD_MAX    16
/* Key files are small: a 4096-bit RSA private key PEM is ~3.3 KiB. */
#define PAY_KEY_FILE_MAX 16384
#define PAY_RSA_BITS_MIN 2048
#define PAY_RSA_BITS_MAX 4096
/* bytes of a signature by a 4096-bit key */
#define PAY_RSA_SIG_MAX  512
#define PAY_X509_SIG_MAX 512
/* Serial numbers are 16 random bytes (positive): 32 lowercase hex digits + NUL fits. */
#define PAY_X509_SERIAL_HEX_MAX 48
#define PAY_X509_DAYS_MAX       3650
/* CN and O, as X.509's ub-common-name */
#define PAY_X509_NAME_MAX  64
#define PAY_CRYPTO_PEM_MAX 65536
/* bytes of a context string */
#define PAY_SEAL_CONTEXT_MAX 96
/* bytes of a plaintext: card data, a code */
#define PAY_SEAL_PLAIN_MAX 512

/* --- http (src/http) ------------------------------------------------------------------------- */

/* all response headers of one response */
#define PAY_CLIENT_HEADERS_MAX 16384
/* longest ?back= path the switch returns to */
#define PAY_HTTP_LANG_BACK_MAX 2048
/* largest file served from web_root/static */
#define PAY_HTTP_STATIC_FILE_MAX 1048576
#define PAY_HTTP_TPL_NAME_MAX    64
/* nested sections */
#define PAY_HTTP_TPL_STACK_MAX 32
/* nested partials */
#define PAY_HTTP_TPL_PARTIALS_MAX 8
/* one template file */
#define PAY_HTTP_TPL_FILE_MAX 262144
/* a {{t "..."}} message in a template */
#define PAY_HTTP_TPL_MSG_MAX 1024
/* its ctx="..." */
#define PAY_HTTP_TPL_CTXT_MAX 128

/* --- i18n (src/i18n) ------------------------------------------------------------------------- */

/* "2026-02-01 07:30:00" + NUL */
#define PAY_TZ_TEXT_MAX 24

/* --- ledger (src/ledger) --------------------------------------------------------------------- */

/* Longest account or transfer id and user_data (ids: [A-Za-z0-9_.:-]). */
#define PAY_LEDGER_ID_MAX 64
/* Savepoints nested inside one transaction that the undo log can track. The committer uses
 * 1 (the command) + 1 (a linked chain inside it); callbacks may nest a few more. */
#define PAY_LEDGER_SAVEPOINT_DEPTH_MAX 32

/* --- platform (src/platform) ----------------------------------------------------------------- */

#define PAY_BALANCE_CURRENCIES_MAX   32
#define PAY_OPERATOR_SESSION_S       3600
#define PAY_DASHBOARD_CURRENCIES_MAX 16
#define PAY_DASHBOARD_MERCHANTS_MAX  200
/* the longest legacy value: a token, a TOTP secret, an account id */
#define PAY_PLATFORM_LEGACY_PLAIN_MAX 64
#define PAY_PLATFORM_NOTIFY_LEASE_MS  5000
/* Most retry delays in a notification schedule. */
#define PAY_PLATFORM_NOTIFY_SCHEDULE_MAX 16
/* Longest merchant id: [a-z0-9_]{1,32} (it is also a keyId and part of ledger account ids). */
#define PAY_PLATFORM_MERCHANT_ID_MAX 32
/* Registered notify hosts per merchant, and the longest text of the list. */
#define PAY_PLATFORM_NOTIFY_HOSTS_MAX      16
#define PAY_PLATFORM_NOTIFY_HOSTS_TEXT_MAX 1024
/* A merchant's own escrow auto-confirmation time: 1 hour to 90 days (Taobao: 10 days, longer
 * for goods that travel far). */
#define PAY_PLATFORM_ESCROW_CONFIRM_MIN_MS (3600LL * 1000)
#define PAY_PLATFORM_ESCROW_CONFIRM_MAX_MS (90LL * 24 * 3600 * 1000)
/* Trade timeout bounds: 1 minute to 15 days, as Alipay's timeout_express. */
#define PAY_PLATFORM_TIMEOUT_MIN_MS (60LL * 1000)
#define PAY_PLATFORM_TIMEOUT_MAX_MS (15LL * 24 * 3600 * 1000)
#define PAY_PLATFORM_LOGIN_MAX      64
/* base64url of 32 bytes is 43 chars */
#define PAY_PLATFORM_TOKEN_TEXT_MAX 64
#define PAY_PLATFORM_TOTP_TEXT_MAX  64
/* An Idempotency-Key left "in_progress" (by a version that claimed keys in a transaction of
 * their own) longer than this, its process having died mid-request, may be taken over by a
 * retry; creating trades and refunds is safe to re-run because out_trade_no and out_refund_no
 * are unique. */
#define PAY_PLATFORM_IDEMPOTENCY_STALE_MS 60000
/* Largest SVG we build: a version-10 code (57x57) at ~12 bytes per dark module. */
#define PAY_QR_SVG_MAX 65536
/* [bank.<code>] sections checked by name; more banks than this is not a real set-up. */
#define PAY_PLATFORM_BANK_SECTIONS_MAX 32
#define PAY_SVG_CHART_MAX              (256 * 1024)
#define PAY_SVG_BARS_MAX               64
#define PAY_WALLET_CARDS_MAX           16
/* longer than one bank call */
#define PAY_WITHDRAWAL_LEASE_MS (2 * 60 * 1000)
/* backoff: 1 s, 2 s, 4 s, ... up to PAY_WITHDRAWAL_RETRY_MAX_MS */
#define PAY_WITHDRAWAL_RETRY_MIN_MS 1000
#define PAY_WITHDRAWAL_RETRY_MAX_MS (5 * 60 * 1000)

/* Requests shown per list: the oldest waiting first would be better paged; the console shows
 * the newest this many of each status. */
#define PAY_PLATFORM_LIST_MAX 100
/* The demo shop's books page (src/shop/shop_books.c) lists this many of the newest entries; the
 * balances above it sum every entry. */
#define PAY_SHOP_BOOK_ENTRIES_MAX 200
/* The shop's staff accounts (src/shop/shop_staff.c, docs/shop.md "Staff login"): a login of
 * 1..PAY_SHOP_LOGIN_MAX characters of [a-z0-9._-]; a password of at least PAY_SHOP_PASSWORD_MIN
 * characters (it guards refunds, like the merchant portal's); one made by the shop has
 * PAY_SHOP_PASSWORD_BYTES random bytes (22 characters, 128 bits). Session and CSRF tokens:
 * PAY_SHOP_TOKEN_BYTES random bytes as base64url text; a session ends after PAY_SESSION_IDLE_S
 * without a request. */
#define PAY_SHOP_LOGIN_MAX      32
#define PAY_SHOP_PASSWORD_MIN   10
#define PAY_SHOP_PASSWORD_BYTES 16
#define PAY_SHOP_TOKEN_BYTES    32
#define PAY_SHOP_TOKEN_TEXT_MAX 64
/* The admin page shows this many of the newest entries of the staff's audit trail (logins,
 * failed tries, lockouts, logouts, passwords set: src/shop/shop_staff_audit.c); the table keeps
 * every entry. */
#define PAY_SHOP_STAFF_EVENTS_SHOWN 50
/* Logistics company and tracking number of a shipment: bounded like other merchant fields. */
#define PAY_PLATFORM_LOGISTICS_MAX 64
/* Requests listed per trade (API, wallet page): a consumer asking again and again is bounded
 * by one open request at a time and by what is left to refund; this caps the page. */
#define PAY_PLATFORM_REQUESTS_PER_TRADE_MAX 32
/* Trades listed on the wallet's front page (newest first). */
#define PAY_PLATFORM_WALLET_TRADES_MAX 20
/* A payout claimed for a bank call: not sent again before this (a process killed mid-call
 * leaves it due again afterwards). */
#define PAY_PLATFORM_SETTLE_LEASE_MS (2 * 60 * 1000LL)
/* A payout the bank could not answer is sent again after 1 s, 2 s, 4 s, ... at most 5 min. */
#define PAY_PLATFORM_SETTLE_RETRY_MIN_MS 1000LL
#define PAY_PLATFORM_SETTLE_RETRY_MAX_MS (5 * 60 * 1000LL)
/* Merchants paid per run, and transfers walked per merchant to find the cut-off. */
#define PAY_PLATFORM_SETTLE_MERCHANTS_MAX 1000
#define PAY_PLATFORM_SETTLE_WALK_PAGE     64
/* Settlements listed at once, and trades or refunds listed with one. */
#define PAY_PLATFORM_SETTLE_LIST_MAX  100
#define PAY_PLATFORM_SETTLE_ITEMS_MAX 500
/* Movements of a merchant's bill: a day's list; past this a bill is refused (asking for it
 * by parts is not there yet). */
#define PAY_PLATFORM_BILL_ROWS_MAX     65536
#define PAY_PLATFORM_TB_CURRENCIES_MAX 16
/* A portal password guards refunds and keys: longer than a wallet's. */
#define PAY_PLATFORM_PORTAL_PASSWORD_MIN 10

/* --- store (src/store) ----------------------------------------------------------------------- */

#define PAY_STORE_ATTEMPTS_SQL_MAX 320
/* The nonce cache's two statements (store/nonces.c) around a table name of at most 63
 * characters: the longest, the INSERT, is 171 characters plus the name twice. */
#define PAY_STORE_NONCES_SQL_MAX 320
/* The nonce cache purges expired rows at most this often (seconds of the checks' time): an
 * expired nonce is taken over by its insert anyway, so the purge only keeps the table small,
 * and a purge per signed request was a statement of its own in every check. */
#define PAY_STORE_NONCES_PURGE_S 60
/* Savepoint depths pay_store_keep can mark (bits of pay_store_tx.kept). */
#define PAY_STORE_KEEP_DEPTH_MAX 63
#define PAY_STORE_TX_HOOKS_MAX   4

/* --- switch (src/switch) --------------------------------------------------------------------- */

/* members settled in one run (the sandbox network has a few) */
#define PAY_SWITCH_SETTLE_MEMBERS_MAX 256
/* member and switch codes: [a-z0-9]{2,16} */
#define PAY_NET_CODE_MAX 16
/* "tok_" + 26 */
#define PAY_NET_TOKEN_MAX   32
#define PAY_SWITCH_PATH_MAX 1024
#define PAY_SWITCH_NAME_MAX 64
/* ids of the online payment page: a session (32 characters of a 24-byte random token), an
 * acquirer's reference to its order, an issuer's verification ("vrf_" + 26) */
#define PAY_NET_ONLINE_ID_MAX 64

/* --- passkeys (WebAuthn; src/crypto/webauthn.h, docs/platform.md) -------------------------- */

/* Longest credential id: WebAuthn allows up to 1023 bytes; platform authenticators use 16-64. */
#define PAY_WEBAUTHN_CRED_ID_MAX 1023
/* Largest attestation object accepted: "none" attestation is ~200 bytes, "packed" with a
 * certificate chain a few KiB; bounds what a bad client makes us parse. */
#define PAY_WEBAUTHN_ATTESTATION_MAX 16384
/* Largest clientDataJSON and authenticator data: browsers send ~150-400 bytes and ~37-200. */
#define PAY_WEBAUTHN_CLIENT_DATA_MAX 4096
#define PAY_WEBAUTHN_AUTH_DATA_MAX   4096
/* A registration or payment challenge lives this long (business time) and is used once: the
 * browser's prompt waits for a finger or face, a minute or two at most. */
#define PAY_WEBAUTHN_CHALLENGE_TTL_MS (5 * 60 * 1000)
/* Passkeys one consumer may register (one per phone and computer, with room to spare). */
#define PAY_WEBAUTHN_PASSKEYS_MAX 10
/* A passkey's name ("My phone") as the consumer typed it; a longer one is refused. */
#define PAY_WEBAUTHN_NAME_MAX 64

/* --- risk control (src/platform/risk*.c, docs/risk.md) ---------------------------------------- */

/* A rule's name ([a-z0-9_]) and a blacklisted value (a device id, an IP address, a login). */
#define PAY_RISK_NAME_MAX  32
#define PAY_RISK_VALUE_MAX 64
/* Rules in one file, and the file's size: a rule set an operator can still read through. */
#define PAY_RISK_RULES_MAX 256
#define PAY_RISK_FILE_MAX  (256 * 1024)
#define PAY_RISK_PATH_MAX  1024
/* The longest counting window: the counters' index is read back this far at most. */
#define PAY_RISK_WINDOW_MAX_MS (30LL * 24 * 3600 * 1000)
/* A velocity rule's count. */
#define PAY_RISK_COUNT_MAX 1000000
/* The names of the rules that fired, recorded with a decision (a longer list ends in "+"). */
#define PAY_RISK_REASONS_MAX 255
/* The device cookie lives two years: a device seen before stays known. */
#define PAY_RISK_DEVICE_COOKIE_S (2L * 365 * 24 * 3600)
/* The attempts file `paygate risk simulate` reads whole (a day of a busy shop's payments). */
#define PAY_RISK_SIM_FILE_MAX (64L * 1024 * 1024)
/* A model file of `paygate risk train`: a dozen lines of numbers and the comments above them. */
#define PAY_RISK_MODEL_FILE_MAX (64 * 1024)
/* The operator's note on a risk review (why it was rejected: support reads it to the consumer). */
#define PAY_RISK_NOTE_MAX 200
/* A rule as the console shows it: its words joined by one space (the longest rule, a blacklist
 * of a 64-byte value under a 32-byte name, takes about 120). */
#define PAY_RISK_RULE_TEXT_MAX 160
/* Reviews the console lists: those waiting (oldest first) and those decided (newest first). */
#define PAY_RISK_REVIEWS_SHOWN_MAX 100
/* A review's features as text, "name=%.17g" for each of the 12 (pay_risk_features_text): a
 * name of at most 16 bytes, a number of at most 24, a space: 12 x 42 = 504. */
#define PAY_RISK_FEATURES_TEXT_MAX 512
/* Decided reviews `paygate risk train --database` reads as labels (the newest first). */
#define PAY_RISK_TRAIN_REVIEWS_MAX 1000000

/* --- chain (src/chain, docs/chain.md) --------------------------------------------------------- */
/* A JSON-RPC answer: eth_getLogs of one block with every Transfer in it stays far below this;
 * a node that sends more is broken or hostile, and the call fails instead of filling memory. */
#define PAY_CHAIN_RPC_RESPONSE_MAX (4 * 1024 * 1024)
/* One call to the node: a local node answers in milliseconds; a remote one that takes longer is
 * treated as down for this pass (the watcher tries again at its next pass). */
#define PAY_CHAIN_RPC_TIMEOUT_MS 10000
/* Blocks the watcher keeps the hashes of, to find where a reorganisation forked: deeper than
 * this is not a reorganisation a payment system can follow by itself (it stops and says so). */
#define PAY_CHAIN_REORG_DEPTH_MAX 128
/* Blocks one watcher pass reads, so that a long catch-up still lets the process stop. */
#define PAY_CHAIN_PASS_BLOCKS_MAX 256
/* Confirmations a payment may be asked to wait for (config [chain] confirmations). */
#define PAY_CHAIN_CONFIRMATIONS_MAX 64
/* Transfer logs one block may hold for our token before the block is refused as implausible. */
#define PAY_CHAIN_LOGS_PER_BLOCK_MAX 10000
/* A BIP-32 seed: 128 to 512 bits, as the BIP says. */
#define PAY_CHAIN_SEED_MIN 16
#define PAY_CHAIN_SEED_MAX 64
/* An EIP-681 transfer URI: "ethereum:" + two addresses + a chain id + an amount is ~160. */
#define PAY_CHAIN_URI_MAX 200
/* Call data of a transaction the platform signs: an ERC-20 transfer is 68 bytes. */
#define PAY_CHAIN_TX_DATA_MAX 1024
/* A signed raw transaction as 0x-hex: its RLP (data plus ~200 bytes of fields) twice, + 3. */
#define PAY_CHAIN_RAW_TX_MAX (2 * (PAY_CHAIN_TX_DATA_MAX + 256) + 3)
/* Anchoring (docs/receipts.md): heads are anchored at most this often by default, so that a
 * busy log costs one transaction an hour, not one a minute (config [chain] anchor_interval). */
#define PAY_CHAIN_ANCHOR_INTERVAL_MS (3600 * 1000)
/* Returns one run of `paygate platform chain return` follows, and starts: the rest next run. */
#define PAY_CHAIN_RETURNS_BATCH 32
/* Non-ISO assets the money layer knows (core/money.h, pay_asset_register): a few tokens. */
#define PAY_MONEY_ASSETS_MAX 8
/* Decimals of a registered asset: ERC-20 tokens have up to 18 (then int64_t minor units hold
 * at most 9.2 tokens; the sandbox token has 6). Bounds the digits money.c produces. */
#define PAY_MONEY_ASSET_EXPONENT_MAX 18

/* --- relations the values above must keep (checked by the compiler) ------------------------- */

_Static_assert(PAY_HTTP_CONNECTIONS_PER_IP_MAX <= PAY_HTTP_CONNECTIONS_MAX,
               "one client cannot be allowed more connections than the server has");
_Static_assert(PAY_HTTP_CONNECTIONS_MAX <= PAY_HTTP_CONNECTIONS_CEILING,
               "the default must be a value an operator may set");
_Static_assert(PAY_CLIENT_CONNECT_TIMEOUT_MS < PAY_CLIENT_TOTAL_TIMEOUT_MS,
               "connecting is part of the whole call");
_Static_assert(PAY_SIG_NONCE_MIN <= PAY_SIG_NONCE_MAX, "nonce length bounds");
_Static_assert(PAY_PLATFORM_TIMEOUT_MIN_MS < PAY_PLATFORM_TIMEOUT_MAX_MS, "trade timeout bounds");
_Static_assert(PAY_PLATFORM_ESCROW_CONFIRM_MIN_MS < PAY_PLATFORM_ESCROW_CONFIRM_MAX_MS,
               "escrow confirmation bounds");
_Static_assert(PAY_WITHDRAWAL_RETRY_MIN_MS <= PAY_WITHDRAWAL_RETRY_MAX_MS,
               "withdrawal backoff bounds");
_Static_assert(PAY_PLATFORM_SETTLE_RETRY_MIN_MS > 0 &&
                   PAY_PLATFORM_SETTLE_RETRY_MIN_MS <= PAY_PLATFORM_SETTLE_RETRY_MAX_MS,
               "a payout's backoff starts above 0 and below its cap");
_Static_assert(PAY_WITHDRAWAL_LEASE_MS > PAY_CLIENT_TOTAL_TIMEOUT_MS,
               "a withdrawal's lease outlasts the bank call it covers");
_Static_assert(PAY_PLATFORM_NOTIFY_LEASE_MS >= PAY_CLIENT_TOTAL_TIMEOUT_MS / 2,
               "a notification's lease covers most of a call to the merchant");
_Static_assert(PAY_PLATFORM_IDEMPOTENCY_STALE_MS > PAY_CLIENT_TOTAL_TIMEOUT_MS,
               "a claim is not taken over while its request may still be calling a bank");
_Static_assert(PAY_MONEY_ASSET_EXPONENT_MAX + 4 <= PAY_MONEY_TEXT_MAX,
               "an asset amount's text (its decimals, the point, a digit, a sign) fits");
_Static_assert(PAY_CHAIN_CONFIRMATIONS_MAX < PAY_CHAIN_REORG_DEPTH_MAX,
               "a block is still remembered when its payments reach their confirmations");
_Static_assert(PAY_RSA_BITS_MIN <= PAY_RSA_BITS_MAX, "RSA key size bounds");
_Static_assert(PAY_RSA_SIG_MAX * 8 >= PAY_RSA_BITS_MAX,
               "a signature buffer holds a signature by the largest key");
_Static_assert(PAY_X509_SIG_MAX >= PAY_RSA_SIG_MAX, "a certificate's signature fits");
_Static_assert(PAY_PLATFORM_MERCHANT_ID_MAX <= PAY_MERCHANT_ID_FIELD_MAX,
               "a merchant id fits every field that carries it");
_Static_assert(sizeof("pf.merchant.") - 1 + PAY_PLATFORM_MERCHANT_ID_MAX + 4 <= PAY_LEDGER_ID_MAX,
               "a merchant's ledger account id (pf.merchant.<id>.<cur>) fits a ledger id");
_Static_assert(PAY_ID_MAX <= PAY_LEDGER_ID_MAX, "an object id fits a ledger id (user_data)");
_Static_assert(PAY_LOCKOUT_ATTEMPTS > 0 && PAY_LOCKOUT_DURATION_S > PAY_OTP_TTL_S,
               "a lockout outlasts the code it guards");
_Static_assert(PAY_CONFIG_VALUE_MAX <= PAY_CONFIG_FILE_MAX, "a value fits its file");
_Static_assert(PAY_HTTP_TPL_MSG_MAX <= PAY_I18N_MESSAGE_MAX,
               "a template's message fits the catalog's");
_Static_assert(PAY_BANK_SESSION_TTL_MS > PAY_OTP_TTL_S * 1000LL,
               "a payment page lives longer than its SMS code");
_Static_assert(PAY_RISK_VALUE_MAX >= PAY_ID_MAX, "a consumer's id can be blacklisted");
_Static_assert(PAY_RISK_REASONS_MAX >= PAY_RISK_NAME_MAX + 1,
               "a fired rule's name fits the reasons");

/* Reconciliation (docs/reconciliation.md): a movement we booked this long after (or before) the
 * bank's day ends (or starts) still matches that day's bank movement (a notification that
 * arrived just after midnight); later than that it is a difference of the day. */
#define PAY_RECON_EDGE_MS (10 * 60 * 1000LL)
/* The sweeper looks for yesterday's reconciliation at most this often (so a bank that failed is
 * asked again an hour later, not every second). */
#define PAY_RECON_LOOK_MS (60 * 60 * 1000LL)
/* A bank's daily statement file (docs/reconciliation.md): the most a bank writes and the
 * platform reads (about 100 000 movements a day of one merchant account), so neither side
 * holds an unbounded answer in memory. */
#define PAY_STATEMENT_FILE_MAX (16 * 1024 * 1024)
/* Fields of a statement file's record the platform splits: the longest record, the header, has
 * 11; one more to tell a record with too many fields from a right one. */
#define PAY_RECON_RECORD_FIELDS_MAX 12
/* Transfers the bank reads from its ledger at a time while writing a statement file. */
#define PAY_BANK_STATEMENT_PAGE 256
/* Differences the operator console's reconciliation page lists, newest day first; the rest are
 * read per day (?date=). */
#define PAY_RECON_DIFFS_SHOWN_MAX 200
/* Reconciliation runs the console's page lists, newest first. */
#define PAY_RECON_RUNS_SHOWN_MAX 60
/* An operator's note on a resolution (who asked the bank, the case number...). */
#define PAY_RECON_NOTE_MAX 200

/* Payouts the operator console's settlements page lists, newest first: a page people read;
 * older ones stay in GET /v1/settlements of each merchant. */
#define PAY_OPERATOR_SETTLEMENTS_MAX 200

#endif
