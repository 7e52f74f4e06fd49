/* Checking the docs against the servers: reading docs/<file>.md, walking its runnable examples
 * (a ```http request block, then the ```response block of its answer, with <!-- test: ... -->
 * markers in the prose between examples), and comparing the shape of a documented JSON answer
 * with a real one: the set of field paths, nested objects and array elements included, must be
 * the same. Used by tests/platform/test_platform_docs.c and tests/bank/test_bank_docs.c. */
#ifndef PAY_TESTS_LIB_DOCS_H
#define PAY_TESTS_LIB_DOCS_H

#include <jansson.h>
#include <stddef.h>

/* docs/<name> of $PAYGATE_SOURCE_ROOT (".." when unset) as a heap string (caller frees);
 * NULL when unreadable. */
char *th_doc_read(const char *name);

/* One example: the request block, the response block after it and the prose before the
 * request (since the previous example), each a heap string; line of the request block. */
struct th_doc_example {
    char *before, *request, *response;
    int line;
};
/* The next example at or after *pos in doc (start with *pos = doc): 1 with *ex filled (free
 * with th_doc_example_fini) and *pos moved past it, 0 when there is none, -1 when a request
 * block has no response block right after it. */
int th_doc_next_example(const char *doc, const char **pos, struct th_doc_example *ex);
void th_doc_example_fini(struct th_doc_example *ex);

/* A request block: "METHOD TARGET", header lines, an empty line, the body (to the end, without
 * the final newline). Points into text, which it modifies; at most 8 headers. */
struct th_doc_request {
    const char *method, *target, *body; /* body NULL when none */
    const char *names[8], *values[8];
    size_t n_headers;
};
int th_doc_request_parse(char *text, struct th_doc_request *r); /* 0 or -1 */
/* A header of the request (case-insensitive name), NULL when absent. */
const char *th_doc_request_header(const struct th_doc_request *r, const char *name);
/* A response block: the status on the first line, the body after it. *body points into text. */
int th_doc_response_parse(const char *text, long *status, const char **body); /* 0 or -1 */

/* The markers in prose: the text after "<!-- test: " + verb + " " up to " -->" of the first
 * such marker, copied into out (n bytes); 1 when found, else 0. */
int th_doc_marker(const char *prose, const char *verb, char *out, size_t n);

/* Compares the shapes of a documented JSON value and a real one: every field path
 * ("a.b", "list[].c") of either must be in the other, and a path's JSON types must agree where
 * neither is null; for error answers the codes must be equal. Prints each difference to stderr
 * as "<where>: ..." and returns how many there were (0 = same shape). */
size_t th_json_shape_diff(json_t *want, json_t *got, const char *where);

/* Replaces every "<name>" in text with the value vars gives for name (pairs of name, value,
 * NULL-terminated); unknown names are left as they are. Heap result, caller frees. */
char *th_doc_fill(const char *text, const char *const *vars);

#endif
