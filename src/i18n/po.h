/* A small, strict reader of gettext PO files: the message catalogs under web/po/ that
 * translators edit with their usual tools (Poedit, Lokalize, msgmerge) and that the servers
 * read at start-up (docs/i18n.md). Strict means every mistake is an error naming the file and
 * line, not a message that silently shows in English:
 *   - UTF-8 only (the header must say charset=UTF-8), LF line ends, no control characters;
 *   - keywords msgctxt, msgid, msgstr, in that order; strings "..." with the escapes \n \t \\
 *     and \" only, continued on following lines that hold only a string;
 *   - no plural forms (msgid_plural), no obsolete entries (#~), no duplicate ctxt+msgid;
 *   - the header entry (msgid "") first, with a Language: field;
 *   - {name} placeholders well formed, and a translation uses exactly those of its msgid.
 * Comments (#, #. #: #|) are allowed before an entry; of the flags (#,) only fuzzy matters. */
#ifndef PAY_I18N_PO_H
#define PAY_I18N_PO_H

#include "core/errors.h"

#include <stdbool.h>
#include <stddef.h>

struct pay_po_entry {
    char *ctxt; /* msgctxt; NULL when the entry has none */
    char *id;   /* msgid, unescaped */
    char *str;  /* msgstr, unescaped; "" when not translated */
    bool fuzzy; /* #, fuzzy: a guess awaiting review, so not used */
    int line;   /* line of the msgid keyword, for messages */
};

struct pay_po {
    struct pay_po_entry *entries; /* in file order, without the header entry */
    size_t n;
    char language[16]; /* the header's Language: value, e.g. "zh_CN" */
};

/* Parses a PO file held in text (len bytes). origin names it in errors ("zh_CN.po"). On
 * success *out is a new catalog that the caller frees with pay_po_free(); on failure *out is
 * NULL and err is CONFIG_INVALID with "origin:line: reason" in its detail. */
enum pay_err pay_po_parse(const char *text, size_t len, const char *origin, struct pay_po **out,
                          struct pay_error *err) __attribute__((warn_unused_result));

/* Reads and parses the file at path (at most PAY_I18N_PO_FILE_MAX bytes); errors name the
 * file's base name and line. */
enum pay_err pay_po_load(const char *path, struct pay_po **out, struct pay_error *err)
    __attribute__((warn_unused_result));

void pay_po_free(struct pay_po *po); /* NULL is fine */

/* Checks the {name} placeholders of a message: every '{' opens a name of [A-Za-z0-9_.] that
 * '}' closes, and there is no other brace. Returns NULL when well formed, else the reason. */
const char *pay_po_placeholders_check(const char *text);

/* True when a and b hold the same set of placeholder names (each may repeat). Both must be
 * well formed (pay_po_placeholders_check). */
bool pay_po_placeholders_same(const char *a, const char *b);

#endif
