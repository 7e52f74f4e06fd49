/* A test server's disk failed over HTTP (tests/lib/faults.h). */
#include "faults.h"

#include "http/client.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const struct pay_http_client_options local = {.allow_private_addresses = true,
                                                     .total_timeout_ms = 30000};

/* method base_url/sandbox/faults [body]; the parsed answer (json_decref it), or NULL. */
static json_t *faults_call(const char *method, const char *base_url, const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s/sandbox/faults", base_url);
    const char *const headers[] = {"Content-Type: application/json", NULL};
    struct pay_http_client_response res = {0};
    struct pay_error err = {0};
    enum pay_err e = pay_http_client_request(method, url, body ? headers : NULL, body,
                                             body ? strlen(body) : 0, &local, &res, &err);
    json_t *j = NULL;
    if (e == PAY_ERR_OK && res.status == 200)
        j = json_loads(pay_buf_str(&res.body), 0, NULL);
    else
        fprintf(stderr, "th_faults: %s /sandbox/faults: %s %ld %s\n", method, pay_err_name(e),
                res.status, err.detail[0] ? err.detail : pay_buf_str(&res.body));
    pay_http_client_response_fini(&res);
    return j;
}

int th_faults_arm(const char *base_url, const char *plan_json)
{
    json_t *j = faults_call("POST", base_url, plan_json);
    int rc = j && json_is_true(json_object_get(j, "armed")) ? 0 : -1;
    json_decref(j);
    return rc;
}

int th_faults_clear(const char *base_url)
{
    json_t *j = faults_call("DELETE", base_url, NULL);
    int rc = j && json_is_false(json_object_get(j, "armed")) ? 0 : -1;
    json_decref(j);
    return rc;
}

int64_t th_faults_injected(const char *base_url)
{
    json_t *j = faults_call("GET", base_url, NULL);
    int64_t n = j ? (int64_t)json_integer_value(json_object_get(j, "injected")) : -1;
    json_decref(j);
    return n;
}
