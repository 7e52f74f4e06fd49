/* libpaygate internals shared by its source files (not installed). */
#ifndef PAY_SDK_INTERNAL_H
#define PAY_SDK_INTERNAL_H

#include "sdk/paygate.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>

/* Fills err (may be NULL) and returns status. */
int pay_sdk_fail(paygate_error *err, int status, int http_status, const char *code, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));
/* Copies a string member of o (or "") into out (cap n). */
/* Copies o[key] (a string; missing: "") into out. false when it did not fit: out then holds a
 * cut copy that must not be used. */
bool pay_sdk_str(json_t *o, const char *key, char *out, size_t n);
/* Reads {"value","currency"} money into minor units; -1 when absent or malformed. */
int pay_sdk_money(json_t *o, const char *key, int64_t *minor, char currency[4]);
/* Fills a trade from its JSON object. */
/* The trade object of an answer or a notification into *t. PAYGATE_OK, or PAYGATE_ERR_INTERNAL
 * (err filled: which field) when a field is longer than paygate_trade holds: a newer platform's
 * value this SDK cannot carry whole, never handed on cut. */
int pay_sdk_trade_from_json(json_t *o, paygate_trade *t, paygate_error *err);
/* The platform's public key of a client (32 bytes) and its nonce cache. */
const unsigned char *pay_sdk_client_pk(const paygate_client *c);
struct pay_nonce_cache *pay_sdk_client_nonces(paygate_client *c);
const char *pay_sdk_client_merchant(const paygate_client *c);

#endif
