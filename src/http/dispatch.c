/* Where handlers run and how their answers get back to the connection. libmicrohttpd runs a
 * few event threads (epoll); none of them may wait. A request that has arrived whole is
 *   - answered at once on its event thread when the framework answers it (404, 405, 413, 415,
 *     a body that does not decode), or when its route was added as inline (a handler that never
 *     blocks: /healthz, /metrics, static files, an API handler that only submits work);
 *   - otherwise handed to the worker pool (workers.c) with its connection suspended; the
 *     worker runs the handler, builds (and signs) the response and resumes the connection, and
 *     the event thread queues it.
 * A handler on either side may suspend its request (pay_http_req_suspend): it returns without
 * an answer, and whoever finishes the work answers and calls pay_http_req_resume from any
 * thread; the event thread then builds and queues the answer. `holds` counts who must let go
 * of the request before the connection resumes (the framework until the handler has returned,
 * the completer until it has answered), so neither touches a request the other has freed. */
#include "http/internal.h"

#include "core/assertions.h"
#include "core/log.h"

#include <string.h>
#include <strings.h>

/* --- the count of handlers in progress (shutdown waits for none) ------------------------ */

bool pay_http_handling_enter(struct pay_http_server *srv)
{
    atomic_fetch_add(&srv->handling, 1);
    if (!atomic_load(&srv->closing))
        return true;
    pay_http_handling_leave(srv);
    return false;
}

void pay_http_handling_leave(struct pay_http_server *srv)
{
    if (atomic_fetch_sub(&srv->handling, 1) == 1 && atomic_load(&srv->closing)) {
        pthread_mutex_lock(&srv->mu);
        pthread_cond_broadcast(&srv->cv);
        pthread_mutex_unlock(&srv->mu);
    }
}

/* --- running a handler ------------------------------------------------------------------ */

static enum pay_err decode_body(struct pay_http_request *req, struct pay_error *err)
{
    enum pay_http_body mode = req->route->r.body;
    if (mode == PAY_HTTP_BODY_AUTO) {
        const char *ct = pay_http_req_header(req, "Content-Type");
        if (ct && strncasecmp(ct, "application/json", 16) == 0)
            mode = PAY_HTTP_BODY_JSON;
        else if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
            mode = PAY_HTTP_BODY_FORM;
        else
            return PAY_ERR_OK;
    }
    if (mode == PAY_HTTP_BODY_JSON && req->body.len > 0 && !pay_http_req_is_json(req))
        return pay_error_set(err, PAY_ERR_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
                             "send the body as application/json");
    if (mode == PAY_HTTP_BODY_JSON && req->body.len > 0)
        return pay_json_decode(req->body.data, req->body.len, &req->json, err);
    if (mode == PAY_HTTP_BODY_FORM) {
        enum pay_err rc = pay_form_decode(req->body.data, req->body.len, &req->form, err);
        req->has_form = rc == PAY_ERR_OK;
        return rc;
    }
    return PAY_ERR_OK;
}

/* Answers rc as an error (with Allow for 405). */
static void respond_failure(struct pay_http_request *req, enum pay_err rc, struct pay_error *err)
{
    if (err->code != rc)
        pay_error_set(err, rc, "", NULL);
    if (rc == PAY_ERR_METHOD_NOT_ALLOWED)
        (void)pay_http_respond_header(req, "Allow", req->allow);
    pay_http_respond_error(req, err);
}

/* Decodes the body and runs the handler (or the handler's continuation on a worker); its
 * error, or a body that does not decode, becomes the answer. A handler that suspended its
 * request or continues elsewhere has no answer yet. */
static void run_handler(struct pay_http_request *req)
{
    struct pay_error err = {0};
    enum pay_err rc = PAY_ERR_OK;
    pay_http_handler next = req->offload;
    req->offload = NULL;
    if (next == NULL && (rc = decode_body(req, &err)) == PAY_ERR_OK)
        next = req->route->r.handler;
    if (next != NULL)
        rc = next(req, &err);
    /* the completer of a suspended request answers it; an error here would race with that */
    PAY_ASSERT(rc == PAY_ERR_OK || (!req->suspended && req->offload == NULL));
    if (rc != PAY_ERR_OK)
        respond_failure(req, rc, &err);
}

/* Lets go of a hold on a parked request; the last one resumes its connection, after which the
 * request belongs to the event thread again (it may be freed at any moment). */
static void release(struct pay_http_request *req)
{
    if (atomic_fetch_sub(&req->holds, 1) != 1)
        return;
    PAY_ASSERT(req->parked); /* the framework's own hold goes only after park() */
    struct pay_http_server *srv = req->srv;
    MHD_resume_connection(req->conn);
    pay_http_handling_leave(srv);
}

void pay_http_req_suspend(struct pay_http_request *req)
{
    PAY_ASSERT(!req->suspended && req->offload == NULL); /* once per request */
    req->suspended = true;
    atomic_fetch_add(&req->holds, 1);
}

void pay_http_req_resume(struct pay_http_request *req)
{
    release(req);
}

enum pay_err pay_http_req_offload(struct pay_http_request *req, pay_http_handler next)
{
    PAY_ASSERT(req->route->inline_ && !req->suspended && req->offload == NULL && next != NULL);
    req->offload = next;
    return PAY_ERR_OK;
}

/* The worker's side: the handler, then the response built (and signed) here rather than on
 * the event thread. */
static void run_job(struct pay_http_job *j)
{
    struct pay_http_request *req =
        (struct pay_http_request *)(void *)((char *)j - offsetof(struct pay_http_request, job));
    pay_log_set_request_id(req->id);
    run_handler(req);
    PAY_ASSERT(req->offload == NULL); /* a worker may block: it has no reason to move on */
    if (!req->suspended)
        req->answer = pay_http_req_build_response(req);
    pay_log_set_request_id(NULL);
    release(req);
}

/* Suspends the connection (from its access handler only, as libmicrohttpd requires). */
static void park(struct pay_http_request *req)
{
    req->parked = true;
    MHD_suspend_connection(req->conn);
}

/* Parks the request and hands it to a worker, which holds the framework's hold from now. */
static enum MHD_Result to_worker(struct pay_http_request *req)
{
    park(req);
    req->job.run = run_job;
    pay_http_workers_submit(&req->srv->workers, &req->job);
    return MHD_YES;
}

/* --- the event thread's side ------------------------------------------------------------ */

enum MHD_Result pay_http_answer(struct pay_http_request *req)
{
    req->parked = false;
    struct MHD_Response *r = req->answer ? req->answer : pay_http_req_build_response(req);
    req->answer = NULL;
    if (r == NULL)
        return MHD_NO;
    req->queued = true;
    enum MHD_Result q = MHD_queue_response(req->conn, (unsigned)req->status, r);
    MHD_destroy_response(r);
    return q;
}

enum MHD_Result pay_http_dispatch(struct pay_http_request *req)
{
    struct pay_error err = {0};
    enum pay_err rc = req->early;
    if (rc == PAY_ERR_OK && req->body_too_large)
        rc = PAY_ERR_BODY_TOO_LARGE;
    if (rc != PAY_ERR_OK) {
        respond_failure(req, rc, &err);
        return pay_http_answer(req);
    }
    if (!pay_http_handling_enter(req->srv))
        return MHD_NO; /* shutting down: no new handler, the connection closes */
    atomic_store(&req->holds, 1);
    if (!req->route->inline_)
        return to_worker(req);
    run_handler(req);
    if (req->offload != NULL)
        return to_worker(req);
    if (!req->suspended) {
        pay_http_handling_leave(req->srv);
        return pay_http_answer(req);
    }
    park(req);
    release(req); /* the completer may have answered already: then it resumes now */
    return MHD_YES;
}
