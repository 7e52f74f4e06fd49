/* Shared by route.c (checking and recording a financial message) and forward.c (sending it on
 * to the issuer and recording the answer). Internal to src/switch. */
#ifndef PAY_SWITCH_ROUTE_H
#define PAY_SWITCH_ROUTE_H

#include "switch/switch.h"

struct route_kind {
    const char *path, *mti, *resp_mti, *proc, *issuer_path;
};
const struct route_kind *route_kind_of_mti(const char *mti);

enum route_outcome {
    ROUTE_REPLY,   /* m->answer is the answer */
    ROUTE_FORWARD, /* recorded as SENT: forward to m->iss */
};

/* One message from an acquirer while the switch handles it. */
struct route_msg {
    struct pay_switch *sw;
    struct pay_http_request *req;
    const struct pay_switch_member *acq;
    json_t *in; /* the acquirer's message (borrowed) */
    const struct route_kind *kind;
    /* its fields (borrowed from in) */
    const char *trace, *orig, *mer_id, *mer_name, *token_in, *sealed_in, *method, *vid;
    int64_t amount;
    char fp[PAY_SHA256_HEX_LEN];
    struct pay_net_card card; /* opened from de2.sealed (an authorization with card data) */
    bool have_card;
    char pan_index[PAY_SHA256_HEX_LEN];
    /* what the record transaction found or made (reset by route_msg_reset) */
    enum route_outcome outcome;
    char *answer; /* heap: the answer text */
    char token[PAY_NET_TOKEN_MAX + 1], bin[7], last4[5];
    char issuer[PAY_NET_CODE_MAX + 1], rrn[PAY_NET_RRN_LEN + 1], rc[PAY_NET_RC_LEN];
    struct pay_switch_member iss; /* the issuer, for ROUTE_FORWARD */
};

void route_msg_reset(struct route_msg *m);
/* route_answer.c: whether m is an authorization (0100). */
bool route_is_auth(const struct route_msg *m);
/* The answer to the acquirer (new reference). settle_date "" = today; text NULL = rc's. */
json_t *route_answer(const struct route_msg *m, const char *rc, const char *auth_code,
                     const char *settle_date, const char *text);
/* Records m as answered by the switch itself with rc (inside tx); m->answer set. */
enum pay_err route_final(struct pay_store_tx *tx, struct route_msg *m, const char *rc,
                         const char *text, struct pay_error *e);
/* The card's token, made on the card's first message (routed by the BIN table); a card no
 * member issues, or an unknown token, is answered (92, 14) with *routable false. */
enum pay_err route_token_for_card(struct pay_store_tx *tx, struct route_msg *m, bool *routable,
                                  struct pay_error *e);
/* Sends a recorded message to its issuer, records the answer (or its absence) and sets
 * m->answer (forward.c). */
enum pay_err route_forward(struct route_msg *m, struct pay_error *e);

#endif
