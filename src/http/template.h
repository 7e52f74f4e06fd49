/* A small HTML template renderer that escapes by default (a mustache subset) over a jansson
 * object as the context:
 *   {{name}} {{a.b}} {{.}}   value, HTML-escaped: & < > " ' (strings, integers, true/false;
 *                            null → ""); in element text or a quoted attribute value only:
 *                            inside a tag outside quotes the render fails
 *   {{{name}}}               raw, only for values made by pay_tpl_trusted(); any other
 *                            value is escaped as {{name}} would (safe default)
 *   {{#x}}...{{/x}}          section: once per array element (as the new context), once for
 *                            an object (as the new context), once for true/non-empty values
 *   {{^x}}...{{/x}}          inverted: when x is missing, null, false, "", 0 or []
 *   {{! comment }}  {{> partial}}  (partials from the same set; nesting is bounded)
 *   {{t "Pay {amount}"}}     text in the page's language (docs/i18n.md): the English message
 *   {{t "Order" ctx="noun"}} is looked up in the language's catalog (with msgctxt ctx), its
 *                            {name} placeholders are filled from the context like {{name}},
 *                            and all of it is escaped: a translation is text, never markup.
 *                            The message stands on one line, without '"' inside.
 * Templates are files <dir>/<name>.html loaded once at start-up. */
#ifndef PAY_HTTP_TEMPLATE_H
#define PAY_HTTP_TEMPLATE_H

#include "core/buf.h"
#include "core/errors.h"

#include <jansson.h>

struct pay_i18n_lang; /* i18n/i18n.h */

struct pay_tpl_set; /* opaque; immutable after loading, so shared by all threads */

/* Loads every *.html in dir (name = file name without ".html"). dir == NULL gives an empty
 * set. The caller frees *out with pay_tpl_set_free(). */
enum pay_err pay_tpl_set_load(const char *dir, struct pay_tpl_set **out, struct pay_error *err);
/* Adds or replaces a template from a string (copied). Not thread-safe: only while setting up. */
enum pay_err pay_tpl_set_add(struct pay_tpl_set *set, const char *name, const char *text);
void pay_tpl_set_free(struct pay_tpl_set *set);
int pay_tpl_set_has(const struct pay_tpl_set *set, const char *name);

/* Renders template `name` with ctx (borrowed; may be NULL) and appends the HTML to out.
 * Errors: INTERNAL with the template name and position in err->detail (unknown template,
 * unbalanced section, output over out's cap). */
enum pay_err pay_tpl_render(const struct pay_tpl_set *set, const char *name, const json_t *ctx,
                            struct pay_buf *out, struct pay_error *err);
/* What a page is rendered with besides its context. */
struct pay_tpl_args {
    const json_t *globals;            /* looked up after the context: every page's values
                                         ({{i18n.lang}}); NULL: none */
    const struct pay_i18n_lang *lang; /* {{t}}; NULL: the English source text */
};
enum pay_err pay_tpl_render_args(const struct pay_tpl_set *set, const char *name, const json_t *ctx,
                                 const struct pay_tpl_args *args, struct pay_buf *out,
                                 struct pay_error *err);

/* Calls fn for every {{t}} message of every template in set: the template's name, the line,
 * the context (NULL when none) and the message, for the catalog checks and the extraction of
 * a POT file (docs/i18n.md). A malformed tag, a message with a bad {placeholder} or fn
 * returning nonzero is CONFIG_INVALID naming the template and line. */
typedef int (*pay_tpl_message_fn)(void *ctx, const char *tpl, int line, const char *msgctxt,
                                  const char *msgid);
enum pay_err pay_tpl_set_messages(const struct pay_tpl_set *set, pay_tpl_message_fn fn, void *ctx,
                                  struct pay_error *err);

/* Renders a template given as a string (partials looked up in set, which may be NULL). */
enum pay_err pay_tpl_render_string(const struct pay_tpl_set *set, const char *tpl,
                                   const json_t *ctx, struct pay_buf *out, struct pay_error *err);

/* Marks html as trusted markup for {{{name}}}: returns a new reference (caller or the
 * containing object owns it), e.g. json_object_set_new(ctx, "qr", pay_tpl_trusted(svg)).
 * Only for markup the program built itself, never for anything from outside. */
json_t *pay_tpl_trusted(const char *html);

#endif
