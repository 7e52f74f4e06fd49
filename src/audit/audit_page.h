/* The consoles' audit pages (docs/audit.md "Consoles"): both servers read the same filter from
 * the query string and give their template the same data. */
#ifndef PAY_AUDIT_AUDIT_PAGE_H
#define PAY_AUDIT_AUDIT_PAGE_H

#include "audit/audit.h"

struct pay_http_request;

/* The filter of an audit page from req's query: actor, action (prefixes), target, outcome
 * ("ok", "refused" or a code), from and to (dates YYYY-MM-DD of the page's zone, both
 * included), before (an entry number: the next older page). FIELD_INVALID naming the
 * parameter for a bad date, number or a text too long. */
enum pay_err pay_audit_filter_from_query(struct pay_http_request *req, struct pay_audit_filter *f,
                                         struct pay_error *err);

/* The template's data: {entries (each with "at", its time for the page, and "refused"),
 * filter (the query's values), total, shown, older (the "before" of the next page, when there
 * is one)}. Takes entries' reference; returns a new object. */
json_t *pay_audit_page_json(struct pay_http_request *req, const struct pay_audit_filter *f,
                            json_t *entries, int64_t total);

#endif
