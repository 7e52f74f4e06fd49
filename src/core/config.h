/* Configuration files: INI (parsed by inih) loaded into a bounded, read-only table of
 * section/key/value entries, with typed getters whose errors name the file, line, section and
 * key, and a check that reports unknown keys so that typos do not pass silently.
 *
 * Syntax: `[section]`, then `key = value` lines; comments start a line with ';' or '#', or
 * follow a value after " ;". Every key belongs to a section; a key given twice in one section
 * is an error, as is a line longer than inih's 200-byte line buffer. Names are case-sensitive.
 * A loaded config is never changed, so any number of threads may read it. */
#ifndef PAY_CORE_CONFIG_H
#define PAY_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/errors.h"

struct pay_config; /* opaque */

/* Reads and parses the file at path (at most PAY_CONFIG_FILE_MAX bytes). On success *out is a
 * new config that the caller frees with pay_config_free(); on failure *out is NULL and err says
 * why (CONFIG_INVALID: "FILE:LINE: reason", or the open error). */
enum pay_err pay_config_load(const char *path, struct pay_config **out, struct pay_error *err)
    __attribute__((warn_unused_result));

/* As pay_config_load, from text in memory; origin names it in messages ("<defaults>"). */
enum pay_err pay_config_parse_string(const char *text, const char *origin, struct pay_config **out,
                                     struct pay_error *err) __attribute__((warn_unused_result));

void pay_config_free(struct pay_config *cfg); /* NULL is fine */

/* The value of [section] key, or def when it is not set. Owned by cfg. */
const char *pay_config_get(const struct pay_config *cfg, const char *section, const char *key,
                           const char *def);

/* True if [section] has at least one key. */
bool pay_config_has_section(const struct pay_config *cfg, const char *section);

/* An integer in [min, max] (decimal, optional '-', no spaces or leading zeros); def when not
 * set (def itself is not range-checked). CONFIG_INVALID naming the key and the reason
 * otherwise. *out is written only on success. */
enum pay_err pay_config_get_int(const struct pay_config *cfg, const char *section, const char *key,
                                int64_t def, int64_t min, int64_t max, int64_t *out,
                                struct pay_error *err) __attribute__((warn_unused_result));

/* true/yes/1 or false/no/0 (any case); def when not set. */
enum pay_err pay_config_get_bool(const struct pay_config *cfg, const char *section, const char *key,
                                 bool def, bool *out, struct pay_error *err)
    __attribute__((warn_unused_result));

/* A duration such as "30s", "4m", "1h" (see pay_time_parse_duration_ms) in milliseconds. */
enum pay_err pay_config_get_duration_ms(const struct pay_config *cfg, const char *section,
                                        const char *key, int64_t def_ms, int64_t *out_ms,
                                        struct pay_error *err) __attribute__((warn_unused_result));

/* CONFIG_INVALID for the first key of [section] that is not in allowed (a NULL-terminated
 * list), naming it, its line and the known keys. OK if every key is known or the section is
 * absent. */
enum pay_err pay_config_check_keys(const struct pay_config *cfg, const char *section,
                                   const char *const allowed[], struct pay_error *err)
    __attribute__((warn_unused_result));

/* CONFIG_INVALID for the first section not in allowed (NULL-terminated). */
enum pay_err pay_config_check_sections(const struct pay_config *cfg, const char *const allowed[],
                                       struct pay_error *err) __attribute__((warn_unused_result));

/* Fills err with CONFIG_INVALID about [section] key in the house format
 * ("paygate.ini:12: [server] listen: <reason>", field "server.listen") for checks that callers
 * make themselves (an address that does not parse, a file that does not exist). */
enum pay_err pay_config_error(const struct pay_config *cfg, const char *section, const char *key,
                              struct pay_error *err, const char *reason_fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
