/* The merchant portal (商户后台, docs/portal.md): team members of a merchant with roles, their
 * login (password + TOTP) and sessions (portal_members.c), the merchant's keys and notify hosts
 * (portal_keys.c), and the pages (portal_pages.c, portal_actions.c). Internal to
 * src/platform. */
#ifndef PAY_PLATFORM_PORTAL_H
#define PAY_PLATFORM_PORTAL_H

#include "platform/platform.h"

#include "crypto/sig.h"

/* Roles: what each may do is decided by pay_portal_may only. */
enum pay_portal_role {
    PAY_PORTAL_OWNER = 1, /* everything, and the team, keys and notify hosts */
    PAY_PORTAL_FINANCE,   /* trades, exports, refunds */
    PAY_PORTAL_SUPPORT,   /* trades and notifications; no money moves */
};
enum pay_portal_action {
    PAY_PORTAL_VIEW = 1, /* trades, their notifications and refunds, the CSV export */
    PAY_PORTAL_RESEND,   /* send a notification again */
    PAY_PORTAL_REFUND,   /* owner, finance */
    PAY_PORTAL_KEYS,     /* keys and notify hosts: owner */
    PAY_PORTAL_TEAM,     /* members: owner */
    PAY_PORTAL_PAYOUTS,  /* payouts and bills: owner, finance */
};
bool pay_portal_may(enum pay_portal_role role, enum pay_portal_action action);
/* "owner" | "finance" | "support" <-> the enum; 0 for anything else. */
enum pay_portal_role pay_portal_role_parse(const char *s);
const char *pay_portal_role_name(enum pay_portal_role r);
/* The role's name for people, in req's language. */
struct pay_http_request;
const char *pay_portal_role_text(struct pay_http_request *req, enum pay_portal_role r);

/* A logged-in member, as a session gives it. */
struct pay_portal_user {
    char id[PAY_ID_MAX];
    char merchant_id[PAY_PLATFORM_MERCHANT_ID_MAX + 1];
    char merchant_name[PAY_TEXT_FIELD_MAX + 1];
    char login[PAY_PLATFORM_LOGIN_MAX + 1];
    enum pay_portal_role role;
    char csrf[PAY_PLATFORM_TOKEN_TEXT_MAX];
};

/* The writes below record themselves in the audit trail (docs/audit.md) in their own
 * transaction, as actor: "operator" (the CLI) or "portal:<member id>"; a login records the
 * client's address (source) and its failures too. */

/* Adds a member of merchant_id: login an e-mail address, password 10 to PAY_PASSWORD_MAX
 * characters (Argon2id), a fresh TOTP secret (sealed) whose base32 text goes to
 * totp_out for the member's authenticator app (shown once, never again). id_out "pu_...".
 * DUPLICATE (login), NOT_FOUND (merchant_id), FIELD_INVALID naming the field. */
enum pay_err pay_portal_member_add(struct pay_platform *p, const char *actor,
                                   const char *merchant_id, const char *login, const char *password,
                                   const char *role, char id_out[PAY_ID_MAX],
                                   char totp_out[PAY_PLATFORM_TOTP_TEXT_MAX],
                                   struct pay_error *err);
/* The same inside the caller's transaction, for a member whose password was hashed before
 * (an approved application's owner); nothing checked but the database's constraints. */
enum pay_err pay_portal_member_insert_tx(struct pay_platform *p, struct pay_store_tx *tx,
                                         const char *actor, const char *merchant_id,
                                         const char *login, const char *password_hash,
                                         const char *role, char id_out[PAY_ID_MAX],
                                         char totp_out[PAY_PLATFORM_TOTP_TEXT_MAX],
                                         struct pay_error *err);
/* something@something.tld of [A-Za-z0-9._+-], at most PAY_PLATFORM_LOGIN_MAX bytes. */
bool pay_portal_email_valid(const char *s);
/* Checks login + password + TOTP code (each try counted first, store/attempts.h; a code is
 * used once) and opens a session: token_out is the cookie value. CREDENTIALS_INVALID (the
 * same for an unknown login) or LOCKED. */
enum pay_err pay_portal_login(struct pay_platform *p, const char *login, const char *password,
                              const char *totp, const char *source,
                              char token_out[PAY_PLATFORM_TOKEN_TEXT_MAX], struct pay_error *err);
/* The member of a live session (idle less than session_idle), touching it; UNAUTHENTICATED
 * otherwise (also for a disabled member or a suspended merchant). */
enum pay_err pay_portal_session_get(struct pay_platform *p, const char *token,
                                    struct pay_portal_user *u, struct pay_error *err);
void pay_portal_session_end(struct pay_platform *p, const char *token);
/* The merchant's members as JSON [{id, login, role}] (new reference in *out). */
enum pay_err pay_portal_members_list(struct pay_platform *p, const char *merchant_id, json_t **out,
                                     struct pay_error *err);

/* --- keys (portal_keys.c) ------------------------------------------------------------------ */

/* The row of pf_merchant_keys for key_id of merchant_id: *found false when there is none (the
 * onboarding key of pf_merchants then counts, for key_id = merchant id); else its key in *out
 * when it may sign now, SIGNATURE_INVALID when revoked or past its end; DB errors as the
 * store's. */
enum pay_err pay_portal_key_row(struct pay_platform *p, const char *key_id, const char *merchant_id,
                                bool *found, struct pay_sig_pubkey *out);
/* The merchant's keys as JSON [{key_id, alg, fingerprint, created_ms, not_after_ms,
 * revoked_ms, state}] (new reference). */
enum pay_err pay_portal_keys_list(struct pay_platform *p, const char *merchant_id, json_t **out,
                                  struct pay_error *err);
/* Adds public_key (as pay_platform_merchant_key_set reads it) under a new keyId
 * "<merchant>.k<n>" (into key_id_out); every key in use until now ends overlap_days days later
 * (0..PAY_PORTAL_KEY_OVERLAP_DAYS_MAX). FIELD_INVALID (public_key, overlap_days, or more than
 * PAY_PORTAL_KEYS_MAX usable keys). */
enum pay_err pay_portal_key_add(struct pay_platform *p, const char *actor, const char *merchant_id,
                                const char *public_key, int64_t overlap_days,
                                char key_id_out[PAY_SIG_KEY_ID_MAX + 1], struct pay_error *err);
/* Revokes one of the merchant's keys now. NOT_FOUND (key_id); FIELD_INVALID for the key in use
 * (the newest, the one without an end: upload its successor first, then revoke it). */
enum pay_err pay_portal_key_revoke(struct pay_platform *p, const char *actor,
                                   const char *merchant_id, const char *key_id,
                                   struct pay_error *err);
/* Replaces the merchant's notify hosts (comma-separated) after the checks of onboarding. */
enum pay_err pay_portal_hosts_set(struct pay_platform *p, const char *actor,
                                  const char *merchant_id, const char *hosts,
                                  struct pay_error *err);

/* --- onboarding (portal_apply.c, portal_approve.c) ----------------------------------------- */

/* An application as the public form sends it (strings borrowed). */
struct pay_portal_application {
    const char *company, *contact, *email, *phone, *website;
    const char *settle_bank, *settle_account;
    int64_t volume_minor; /* expected monthly volume, CNY */
    const char *password; /* the future owner's */
};
/* Checks every field (FIELD_MISSING / FIELD_INVALID / FIELD_TOO_LONG / ENCODING_INVALID naming
 * it); host gets the website's host (the merchant's notify host once approved). */
enum pay_err pay_portal_application_check(const struct pay_portal_application *a,
                                          const char *password2, char host[256],
                                          struct pay_error *err);
/* Records a pending application (the password as an Argon2id hash); token_out is the private
 * link's token (only its SHA-256 is kept). DUPLICATE (email) when the address has an account or
 * a pending application; RATE_LIMITED past PAY_PORTAL_APPLICATIONS_PENDING_MAX waiting. */
enum pay_err pay_portal_apply(struct pay_platform *p, const struct pay_portal_application *a,
                              const char *password2, const char *source,
                              char token_out[PAY_PLATFORM_TOKEN_TEXT_MAX], struct pay_error *err);
/* An application as its link shows it. */
struct pay_portal_application_status {
    char id[PAY_ID_MAX];
    char status[16]; /* pending | approved | rejected */
    char company[PAY_TEXT_FIELD_MAX + 1];
    char email[PAY_PLATFORM_LOGIN_MAX + 1];
    char merchant_id[PAY_PLATFORM_MERCHANT_ID_MAX + 1];
    char note[PAY_TEXT_FIELD_MAX + 1];
    int64_t created_ms, decided_ms, revealed_ms;
};
/* NOT_FOUND for an unknown token. */
enum pay_err pay_portal_application_status(struct pay_platform *p, const char *token,
                                           struct pay_portal_application_status *s,
                                           struct pay_error *err);
/* The approved application's credentials {merchant_id, key_id, login, totp_secret,
 * private_key}, once (new reference in *out; the caller wipes nothing: they are gone from the
 * database). FORBIDDEN when not approved or shown already. */
enum pay_err pay_portal_application_reveal(struct pay_platform *p, const char *token,
                                           const char *source, json_t **out, struct pay_error *err);
/* Approves a pending application as merchant merchant_id with fee_bp (see portal_approve.c).
 * FIELD_INVALID (merchant_id; id when decided already), DUPLICATE (a merchant or login taken),
 * URL_FORBIDDEN (the website's host as notify host), NOT_FOUND. */
enum pay_err pay_portal_application_approve(struct pay_platform *p, const char *app_id,
                                            const char *merchant_id, int64_t fee_bp,
                                            struct pay_error *err);
enum pay_err pay_portal_application_reject(struct pay_platform *p, const char *app_id,
                                           const char *note, struct pay_error *err);
/* The latest 100 applications, pending first, as JSON (new reference). */
enum pay_err pay_portal_applications_list(struct pay_platform *p, json_t **out,
                                          struct pay_error *err);

/* --- pages (portal_pages.c, portal_actions.c) --------------------------------------------- */

#define PAY_PORTAL_COOKIE      "pf_portal"
#define PAY_PORTAL_CSRF_COOKIE "pf_portal_csrf"

/* The member of req's session, or NULL: a GET without a session is answered with a redirect
 * to the login page (*e OK), a POST gets UNAUTHENTICATED; a POST's csrf must match the
 * session's (CSRF_INVALID). The struct is request memory. */
struct pay_portal_user *pay_portal_page_user(struct pay_http_request *req, enum pay_err *e,
                                             struct pay_error *err);
/* FORBIDDEN naming the role that may not do action. */
enum pay_err pay_portal_forbidden(struct pay_http_request *req, const struct pay_portal_user *u,
                                  struct pay_error *err);
/* The context every portal page starts from: platform, merchant, member, role, csrf, nav. */
json_t *pay_portal_page_ctx(struct pay_http_request *req, const struct pay_platform *p,
                            const struct pay_portal_user *u, const char *section);
/* An amount for a page: {"value": "20.00", "text": "¥20.00"} (new reference). */
json_t *pay_portal_money(struct pay_http_request *req, int64_t minor, const char *currency);

/* `paygate platform member add` (portal_cli.c). */
int pay_portal_cli_member_add(int argc, char **argv);

#endif
