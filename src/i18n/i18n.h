/* Languages of the pages and messages people read (docs/i18n.md). The source language is
 * English: templates and C code hold English text, and each other language has a gettext
 * catalog <po_dir>/<ll_CC>.po (web/po/zh_CN.po), read once at start-up. Nothing here is
 * process-global: a language is a value handed around per request, so one process can answer
 * one request in Chinese and the next in English.
 *
 * Messages may hold {name} placeholders, filled in after translation (the translation keeps
 * them, in any order). Mark text in C for extraction with the functions below or with N_(),
 * which only marks: the text is translated later, where the language is known. */
#ifndef PAY_I18N_I18N_H
#define PAY_I18N_I18N_H

#include "core/buf.h"
#include "core/errors.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Marks a message for extraction (xgettext --keyword=N_) without translating it now; it is
 * translated later without a context (pay_i18n_tr, pay_http_req_tr, or as an error detail). */
#define N_(msgid) msgid

/* A message with its context, for tables: {"WAIT_BUYER_PAY", NC_("trade state", "Awaiting
 * payment")} in a static initializer, translated with pay_i18n_msg / pay_http_req_msg. The
 * context travels with the message, so extraction and look-up cannot disagree. */
struct pay_i18n_msg {
    const char *ctxt, *id;
};
#define NC_(ctxt, msgid)                                                                           \
    {                                                                                              \
        ctxt, msgid                                                                                \
    }

/* The source language: the msgids themselves. */
#define PAY_I18N_SOURCE_TAG "en"
/* The language of pages when nothing else decides (no cookie, no Accept-Language match). */
#define PAY_I18N_DEFAULT_TAG "zh-CN"
/* The context of the one entry that names a catalog's language in itself: msgid "English",
 * msgstr "中文". Shown on the language switch. */
#define PAY_I18N_NAME_CTXT "language name"

struct pay_i18n;      /* a server's languages; immutable after loading, shared by threads */
struct pay_i18n_lang; /* one language; lives as long as its pay_i18n */

/* Reads every <ll>.po / <ll_CC>.po in po_dir (strictly, see i18n/po.h; the file name must
 * match its Language: header) next to the source language English. po_dir NULL or missing:
 * English only. default_tag chooses the default language ("zh-CN", "en"; case-insensitive);
 * NULL or "": zh-CN when its catalog is there, else English. A default that is not available
 * is CONFIG_INVALID (field "language"). The caller frees *out with pay_i18n_free(). */
enum pay_err pay_i18n_load(const char *po_dir, const char *default_tag, struct pay_i18n **out,
                           struct pay_error *err) __attribute__((warn_unused_result));
void pay_i18n_free(struct pay_i18n *i18n); /* NULL is fine */

/* The languages, default first, then by tag. */
size_t pay_i18n_count(const struct pay_i18n *i18n);
const struct pay_i18n_lang *pay_i18n_at(const struct pay_i18n *i18n, size_t i);
const struct pay_i18n_lang *pay_i18n_default(const struct pay_i18n *i18n);
/* The language with this tag (case-insensitive, '_' read as '-'), or NULL. */
const struct pay_i18n_lang *pay_i18n_find(const struct pay_i18n *i18n, const char *tag);

/* The language of a request: the cookie's tag when it names an available language, else the
 * best match of Accept-Language (RFC 9110: highest q first, ties in header order; q=0 never;
 * "zh" or "zh-TW" find zh-CN when no closer match exists, "en-GB" finds en; "*" the
 * default), else the default. Both arguments may be NULL. Never NULL. */
const struct pay_i18n_lang *pay_i18n_negotiate(const struct pay_i18n *i18n, const char *cookie,
                                               const char *accept_language);

const char *pay_i18n_tag(const struct pay_i18n_lang *l);  /* "zh-CN" */
const char *pay_i18n_name(const struct pay_i18n_lang *l); /* "中文", in the language itself */

/* The translation of msgid (with msgctxt ctxt, or none when NULL) into l: the catalog's
 * msgstr when it has a translated, non-fuzzy entry, else msgid itself. l NULL: msgid. The
 * result lives as long as l's pay_i18n (or is msgid). Never NULL. */
const char *pay_i18n_tr(const struct pay_i18n_lang *l, const char *msgid);
const char *pay_i18n_trc(const struct pay_i18n_lang *l, const char *ctxt, const char *msgid);
const char *pay_i18n_msg(const struct pay_i18n_lang *l, const struct pay_i18n_msg *m);

/* How l's catalog holds (ctxt, msgid): 0 no entry, 1 an entry not (yet) translated or fuzzy,
 * 2 translated. The source language without a catalog answers 2 for everything. */
int pay_i18n_lookup(const struct pay_i18n_lang *l, const char *ctxt, const char *msgid);
/* The catalog's file name ("zh_CN.po"), "" for the source language without one. */
const char *pay_i18n_catalog_name(const struct pay_i18n_lang *l);

/* Fills in the {name} placeholders of text: emit() receives each literal run (is_value false)
 * and each value (true), which value() supplies by name (NULL: there is none). Returns 0, -1
 * when emit fails, -2 when a placeholder has no value (its name in missing[64]). */
typedef const char *(*pay_i18n_value_fn)(void *ctx, const char *name);
typedef int (*pay_i18n_emit_fn)(void *ctx, const char *s, size_t n, bool is_value);
int pay_i18n_expand(const char *text, pay_i18n_value_fn value, void *value_ctx,
                    pay_i18n_emit_fn emit, void *emit_ctx, char missing[64]);

/* Translates msgid into l and appends it to out with its placeholders filled from the
 * NULL-terminated list of name, value pairs: pay_i18n_trf(l, &b, "Pay {amount}", "amount",
 * "¥3.00", NULL). Not escaped (HTML templates escape what they show). 0, or -1 when a
 * placeholder has no value or out is full. */
int pay_i18n_trf(const struct pay_i18n_lang *l, struct pay_buf *out, const char *msgid, ...)
    __attribute__((sentinel));
int pay_i18n_vtrf(const struct pay_i18n_lang *l, struct pay_buf *out, const char *ctxt,
                  const char *msgid, va_list ap);
/* As pay_i18n_trf into the caller's fixed buffer (n bytes, NUL-terminated; "" on failure), for
 * texts that hold a secret (an SMS code): nothing is copied anywhere else, so the caller can
 * wipe it. 0, or -1 (a placeholder without value, or the text does not fit). */
int pay_i18n_trfn(const struct pay_i18n_lang *l, char *out, size_t n, const char *msgid, ...)
    __attribute__((sentinel));

/* An error whose detail carries values ("wrong code; 3 attempts left"): sets e like
 * pay_error_set with msgid's placeholders filled in English (what the JSON APIs show), and the
 * detail stays translatable: pay_i18n_tr_detail() finds its catalog entry again by the msgid's
 * shape. Returns code. */
enum pay_err pay_i18n_error_set(struct pay_error *e, enum pay_err code, const char *field,
                                const char *msgid, ...) __attribute__((sentinel));

/* An error detail (English text) in l: the translation of the entry whose msgid (no context)
 * is text, or whose msgid with {placeholders} matches text (the values are carried over into
 * the translation), appended to out. 1 when translated, 0 when there is no such entry, -1 when
 * out is full. */
int pay_i18n_tr_detail(const struct pay_i18n_lang *l, const char *text, struct pay_buf *out);

#endif
