/* Risk control (风控, docs/risk.md): the rules a payment attempt is judged by, read from a
 * commented text file (risk_rules.c), and the decision taken on the attempt in the transaction
 * that records it, with counters read from the database (risk.c) so that every platform process
 * on one database sees the same ones. */
#ifndef PAY_PLATFORM_RISK_H
#define PAY_PLATFORM_RISK_H

#include "core/errors.h"
#include "core/limits.h"
#include "crypto/crypto.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct pay_store_tx;
struct pay_platform;

/* Decisions, in rising order of severity: the strictest rule that fires decides. */
enum pay_risk_action {
    PAY_RISK_ALLOW = 0,
    PAY_RISK_STEP_UP = 1, /* pay only after a second factor (a passkey: fingerprint or face) */
    PAY_RISK_REVIEW = 2,  /* not paid until an operator looks at it */
    PAY_RISK_DENY = 3,
};

/* What a rule counts or compares against: the attempt's consumer (wallet), card, device, client
 * address or merchant. */
enum pay_risk_scope {
    PAY_RISK_CONSUMER = 0,
    PAY_RISK_CARD,
    PAY_RISK_DEVICE,
    PAY_RISK_IP,
    PAY_RISK_MERCHANT,
    PAY_RISK_SCOPES
};

enum pay_risk_kind {
    PAY_RISK_VELOCITY_COUNT,  /* attempts of a scope within a window, this one included */
    PAY_RISK_VELOCITY_AMOUNT, /* amounts paid or held of a scope within a window, plus this one */
    PAY_RISK_SINGLE,          /* this attempt's amount */
    PAY_RISK_BLACKLIST,       /* the scope's value is listed */
    PAY_RISK_NEW_DEVICE,      /* a device the consumer never paid from, and the amount */
    PAY_RISK_SCORE,           /* the learned model's score of the attempt (risk_model.c) */
};

/* --- the learned score (risk_model.c; docs/risk.md, "The learned score") ------------------- */

/* What the model reads of an attempt, each a number computed by pay_risk_features_tx from the
 * attempt and the counters of pf_risk_attempts (names: pay_risk_feature_names). */
enum pay_risk_feature {
    PAY_RISK_F_AMOUNT_LOG2,     /* log2 of the amount in minor units */
    PAY_RISK_F_CONSUMER_1M,     /* the consumer's attempts in the last minute */
    PAY_RISK_F_CONSUMER_1H,     /* ... hour */
    PAY_RISK_F_CONSUMER_24H,    /* ... day */
    PAY_RISK_F_UNPAID_1H,       /* the consumer's attempts of the last hour that did not pay */
    PAY_RISK_F_HISTORY_LOG2,    /* log2(1 + the consumer's paid attempts in 30 days) */
    PAY_RISK_F_AMOUNT_VS_USUAL, /* log2 of amount over the consumer's mean paid amount (30 d) */
    PAY_RISK_F_NEW_DEVICE,      /* 1: the consumer never paid from this device */
    PAY_RISK_F_DEVICE_1H,       /* the device's attempts in the last hour */
    PAY_RISK_F_IP_1H,           /* the client address's attempts in the last hour */
    PAY_RISK_F_CARD_1H,         /* the card's attempts in the last hour */
    PAY_RISK_F_WITHDRAWAL,      /* 1: the attempt takes money out (method withdrawal) */
    PAY_RISK_FEATURES
};
extern const char *const pay_risk_feature_names[PAY_RISK_FEATURES];

/* A logistic regression over the standardised features, as `paygate risk train` writes it: the
 * score is 1 / (1 + e^-(bias + sum w[i] * (x[i] - mean[i]) / sd[i])). Doubles live in the score
 * only; a rule compares it, in thousandths, with its threshold. Immutable once loaded. */
struct pay_risk_model {
    double bias, w[PAY_RISK_FEATURES], mean[PAY_RISK_FEATURES], sd[PAY_RISK_FEATURES];
    char sha256[PAY_SHA256_HEX_LEN]; /* of the file: which model decided */
};

/* Reads the model file at path (CONFIG_INVALID naming the file and line). Free with free(). */
enum pay_err pay_risk_model_load(const char *path, struct pay_risk_model **out,
                                 struct pay_error *err);
/* Writes m to path (0600, through a temporary file and a rename) with a header of comments
 * (lines of text, may be NULL). 0 or -1 with errno. */
int pay_risk_model_write(const char *path, const struct pay_risk_model *m, const char *comments);
/* Features x as text, "amount_log2=… consumer_1m=… …" (every feature by name, exactly: %.17g),
 * into out (PAY_RISK_FEATURES_TEXT_MAX), as a review keeps them; and back: 0, or -1 when a
 * feature is missing, repeated, unknown or not a finite number. */
void pay_risk_features_text(const double x[PAY_RISK_FEATURES], char *out, size_t size);
int pay_risk_features_parse(const char *text, double x[PAY_RISK_FEATURES]);
/* The score of features x, in thousandths (0..1000). */
int pay_risk_model_score(const struct pay_risk_model *m, const double x[PAY_RISK_FEATURES]);

struct pay_risk_rule {
    char name[PAY_RISK_NAME_MAX + 1];
    enum pay_risk_kind kind;
    enum pay_risk_scope scope;
    int64_t window_ms;
    int64_t threshold;                  /* a count, or minor units of currency */
    char currency[4];                   /* amount rules apply to attempts in this currency only */
    char value[PAY_RISK_VALUE_MAX + 1]; /* the blacklisted value */
    enum pay_risk_action action;
    int line;
    char text[PAY_RISK_RULE_TEXT_MAX + 1]; /* its words as written, one space apart (console) */
    struct pay_risk_model *model;          /* a score rule's model (owned by the rule set) */
};

/* A rule set as read from one file; immutable once loaded (shared by reference). */
struct pay_risk_rules {
    struct pay_risk_rule *rule; /* heap */
    size_t n;
    char sha256[PAY_SHA256_HEX_LEN]; /* of the file's bytes: which rules decided */
};

/* Reads and checks the rules file at path into *out (free with pay_risk_rules_free). Every
 * mistake is CONFIG_INVALID with "path:line" in field and what is wrong in detail; nothing is
 * kept of a bad file. */
enum pay_err pay_risk_rules_load(const char *path, struct pay_risk_rules **out,
                                 struct pay_error *err);
/* The same from text (origin names it in errors). */
enum pay_err pay_risk_rules_parse(const char *text, const char *origin, struct pay_risk_rules **out,
                                  struct pay_error *err);
void pay_risk_rules_free(struct pay_risk_rules *r);

const char *pay_risk_action_name(enum pay_risk_action a); /* "allow", "step-up", ... */
const char *pay_risk_scope_name(enum pay_risk_scope s);   /* "consumer", "card", ... */

/* One payment attempt as the engine sees it; strings borrowed, "" when unknown. */
struct pay_risk_attempt {
    const char *trade_id;
    const char *method; /* wallet | passkey | agreement | card */
    int64_t amount_minor;
    const char *currency;
    const char *value[PAY_RISK_SCOPES]; /* consumer id, card id, device id, ip, merchant id */
    const char *login;                  /* the consumer's login: blacklists match it too */
    bool stepped_up;                    /* confirmed by a passkey: step-up is satisfied */
    int64_t at_ms;                      /* when (simulations); 0: the business clock's now */
};

/* The decision: the action and the names of the rules that fired, space-separated. */
struct pay_risk_decision {
    enum pay_risk_action action;
    char reasons[PAY_RISK_REASONS_MAX + 1];
    char id[PAY_ID_MAX]; /* the recorded attempt (ra_...) */
    /* A review's features as the attempt was judged (from the attempts before it): kept with
     * the review so that its outcome can label them for `risk train`. Only for a review. */
    bool have_features;
    double x[PAY_RISK_FEATURES];
};

/* The engine's own state in a platform: the rules now in force and the file they came from. A
 * decision holds mu while it reads the rules; a reload parses the file first and only swaps the
 * pointer under mu, so no request waits for the file or is refused during a reload. */
struct pay_risk {
    pthread_mutex_t mu;
    struct pay_risk_rules *rules; /* NULL: no rules file, everything allowed and recorded */
    char path[PAY_RISK_PATH_MAX + 1];
};

/* Loads path ("" = no rules) into r. CONFIG_INVALID as pay_risk_rules_load. */
enum pay_err pay_risk_init(struct pay_risk *r, const char *path, struct pay_error *err);
void pay_risk_fini(struct pay_risk *r);
/* Reads the file again (SIGHUP): a good file replaces the rules at once, between two decisions;
 * a bad one is logged (risk.reload_failed, file:line and why) and the old rules stay. Returns
 * the load's code. */
enum pay_err pay_risk_reload(struct pay_risk *r, struct pay_error *err);

/* Decides attempt a inside tx: the counters of its scopes from pf_risk_attempts, the rules,
 * then the attempt recorded with its decision and reasons (the caller's transaction: recorded
 * exactly when what it decided is). */
enum pay_err pay_risk_decide_tx(struct pay_risk *r, struct pay_store_tx *tx,
                                const struct pay_risk_attempt *a, struct pay_risk_decision *d,
                                struct pay_error *err);
/* Marks the recorded attempt id as paid (its amount counts towards amount rules from now on). */
enum pay_err pay_risk_paid_tx(struct pay_store_tx *tx, const char *id, struct pay_error *err);

/* The features of attempt a at now_ms (0: the business clock) into x, read inside tx from the
 * attempts recorded before it: the same numbers at training and at decision time. */
enum pay_err pay_risk_features_tx(struct pay_store_tx *tx, const struct pay_risk_attempt *a,
                                  int64_t now_ms, double x[PAY_RISK_FEATURES],
                                  struct pay_error *err);

/* The code a refused decision answers with: RISK_DENIED, RISK_REVIEW or RISK_STEP_UP
 * (PAY_ERR_OK for allow), field "risk", the registry's plain message: never the rule. */
enum pay_err pay_risk_refusal(const struct pay_risk_decision *d, struct pay_error *err);

/* --- simulations (`paygate risk simulate|generate|train`, cmd_risk*.c) ---------------------- */

/* Simulated time starts here (2026-01-01T00:00:00Z); each attempt's t= is an offset from it. */
#define PAY_RISK_SIM_EPOCH_MS 1767225600000LL

/* One line of an attempts file, its words pointing into the line. */
struct pay_risk_sim_line {
    struct pay_risk_attempt a;
    const char *label, *amount;
    int64_t t_ms;
    bool unpaid;
    char trade_id[32];
};
/* Parses line (modified) into *s; 0 (an attempt), 1 (blank or comment) or -1 with why. */
int pay_risk_sim_parse(char *line, int no, struct pay_risk_sim_line *s, const char **why);

#endif
