/* The switch's answer to an acquirer's financial message (docs/switch.md), built by route.c
 * (what the switch answers itself) and forward.c (the issuer's answer passed on). Apart from
 * both so that neither calls the other back: route.c forwards through forward.c, and both
 * answer through this file (docs/hacking.md, "Call loops"). */
#include "switch/route.h"
#include "core/clock.h"

#include <string.h>

bool route_is_auth(const struct route_msg *m)
{
    return strcmp(m->kind->mti, PAY_NET_MTI_AUTH) == 0;
}

json_t *route_answer(const struct route_msg *m, const char *rc, const char *auth_code,
                     const char *settle_date, const char *text)
{
    char today[PAY_NET_DATE_LEN];
    pay_net_date(pay_clock_now_ms(), today);
    json_t *a = json_pack(
        "{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "mti", m->kind->resp_mti, "de3",
        m->kind->proc, "de4", (json_int_t)m->amount, "de11", m->trace, "de15",
        settle_date && settle_date[0] ? settle_date : today, "de32", m->acq->code, "de39", rc,
        "de44", text && text[0] ? text : pay_net_rc_text(rc), "de49", PAY_SWITCH_CURRENCY);
    if (!a)
        return NULL;
    if (m->rrn[0])
        json_object_set_new(a, "de37", json_string(m->rrn));
    if (auth_code && auth_code[0])
        json_object_set_new(a, "de38", json_string(auth_code));
    if (m->orig)
        json_object_set_new(a, "de90", json_string(m->orig));
    if (m->issuer[0])
        json_object_set_new(a, "de100", json_string(m->issuer));
    if (route_is_auth(m) && m->token[0])
        json_object_set_new(
            a, "de2",
            json_pack("{s:s, s:s, s:s}", "token", m->token, "bin", m->bin, "last4", m->last4));
    return a;
}

char *pay_switch_answer_text(json_t *answer)
{
    char *t = answer ? json_dumps(answer, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(answer);
    return t;
}
