/* /sandbox/faults on a server running on the test clock whose store goes through the
 * fault-injection layer (core/faults.h, store/faults.h): POST arms a plan of failing disk
 * calls, DELETE clears it (the disk recovers), GET shows the plan and what it has done, so a
 * test waits for "injected > 0" instead of sleeping. A server on the real clock has no such
 * route (404). docs/store.md, "Fault injection". */
#include "http/internal.h"

#include "core/clock.h"
#include "core/faults.h"
#include "core/log.h"

#include <string.h>

static json_t *ops_json(unsigned ops)
{
    json_t *a = json_array();
    for (int i = 0; i < PAY_FAULT_OP_KINDS && a; i++)
        if (ops & (1u << i))
            json_array_append_new(a, json_string(pay_fault_op_name((enum pay_fault_op)(1u << i))));
    return a;
}

static json_t *faults_json(void)
{
    struct pay_fault_state s;
    pay_fault_get(&s);
    json_t *plan = s.armed
                       ? json_pack("{s:o, s:s, s:I, s:b, s:I, s:I}", "ops", ops_json(s.plan.ops),
                                   "error", pay_fault_error_name(s.plan.error), "nth",
                                   (json_int_t)s.plan.nth, "sticky", s.plan.sticky, "one_in",
                                   (json_int_t)s.plan.one_in, "seed", (json_int_t)s.plan.seed)
                       : json_null();
    json_t *calls = json_object();
    for (int i = 0; i < PAY_FAULT_OP_KINDS && calls; i++)
        json_object_set_new(calls, pay_fault_op_name((enum pay_fault_op)(1u << i)),
                            json_integer((json_int_t)s.calls[i]));
    return json_pack("{s:b, s:o*, s:o*, s:I, s:I}", "armed", s.armed, "plan", plan, "calls", calls,
                     "counted", (json_int_t)s.counted, "injected", (json_int_t)s.injected);
}

static enum pay_err h_faults_get(struct pay_http_request *req, struct pay_error *err)
{
    (void)err;
    pay_http_respond_json(req, 200, faults_json());
    return PAY_ERR_OK;
}

/* A non-negative integer field; absent reads as 0. */
static enum pay_err uint_field(json_t *body, const char *name, uint64_t max, uint64_t *out,
                               struct pay_error *err)
{
    json_t *v = json_object_get(body, name);
    *out = 0;
    if (!v)
        return PAY_ERR_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, name, "an integer from 0 to %llu",
                             (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return PAY_ERR_OK;
}

static enum pay_err plan_parse(json_t *body, struct pay_fault_plan *p, struct pay_error *err)
{
    static const char *const known[] = {"ops", "error", "nth", "sticky", "one_in", "seed"};
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(known[k], key) != 0)
            k++;
        if (k == sizeof known / sizeof known[0])
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, key, "unknown field");
    }
    memset(p, 0, sizeof *p);
    json_t *ops = json_object_get(body, "ops");
    size_t i;
    json_array_foreach(ops, i, v)
    {
        unsigned bit = json_is_string(v) ? pay_fault_op_parse(json_string_value(v)) : 0;
        if (bit == 0)
            return pay_error_set(err, PAY_ERR_FIELD_INVALID, "ops",
                                 "a list of read, write, sync, truncate");
        p->ops |= bit;
    }
    json_t *e = json_object_get(body, "error");
    p->error = json_is_string(e) ? pay_fault_error_parse(json_string_value(e)) : PAY_FAULT_NONE;
    json_t *sticky = json_object_get(body, "sticky");
    if (sticky && !json_is_boolean(sticky))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "sticky", "true or false");
    p->sticky = json_is_true(sticky);
    uint64_t one_in = 0;
    enum pay_err rc = uint_field(body, "nth", INT64_MAX, &p->nth, err);
    if (rc == PAY_ERR_OK)
        rc = uint_field(body, "one_in", UINT32_MAX, &one_in, err);
    if (rc == PAY_ERR_OK)
        rc = uint_field(body, "seed", INT64_MAX, &p->seed, err);
    p->one_in = (uint32_t)one_in;
    return rc == PAY_ERR_OK ? pay_fault_arm(p, err) : rc; /* arm checks the plan's shape */
}

static enum pay_err h_faults_post(struct pay_http_request *req, struct pay_error *err)
{
    json_t *body = pay_http_req_json(req);
    if (!json_is_object(body))
        return pay_error_set(err, PAY_ERR_FIELD_INVALID, "", "a JSON object: the fault plan");
    struct pay_fault_plan p;
    enum pay_err e = plan_parse(body, &p, err);
    if (e != PAY_ERR_OK)
        return e;
    PAY_WARN("faults.armed", "ops=%u error=%s nth=%llu sticky=%d one_in=%u", p.ops,
             pay_fault_error_name(p.error), (unsigned long long)p.nth, p.sticky, p.one_in);
    pay_http_respond_json(req, 200, faults_json());
    return PAY_ERR_OK;
}

static enum pay_err h_faults_delete(struct pay_http_request *req, struct pay_error *err)
{
    (void)err;
    pay_fault_clear();
    struct pay_fault_state s;
    pay_fault_get(&s);
    PAY_WARN("faults.cleared", "injected=%llu", (unsigned long long)s.injected);
    pay_http_respond_json(req, 200, faults_json());
    return PAY_ERR_OK;
}

const struct pay_http_route *pay_http_sandbox_faults_routes(size_t *n)
{
    static const struct pay_http_route routes[] = {
        {"GET", "/sandbox/faults", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_faults_get, NULL},
        {"POST", "/sandbox/faults", PAY_HTTP_API, PAY_HTTP_BODY_JSON, h_faults_post, NULL},
        {"DELETE", "/sandbox/faults", PAY_HTTP_API, PAY_HTTP_BODY_RAW, h_faults_delete, NULL},
    };
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
