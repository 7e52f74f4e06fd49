/* Route patterns: "/v1/trades/{id}/refunds" — literal segments and {name} parameters. */
#include "http/internal.h"

#include <ctype.h>
#include <string.h>

int pay_http_pattern_valid(const char *pattern)
{
    if (pattern == NULL || pattern[0] != '/')
        return 0;
    int params = 0;
    for (const char *p = pattern; *p;) {
        const char *seg = p + 1; /* p is at a '/' */
        size_t n = strcspn(seg, "/");
        if (n > 0 && seg[0] == '{') {
            if (n < 3 || seg[n - 1] != '}' || ++params > PAY_HTTP_PATH_PARAMS_MAX)
                return 0;
            for (size_t i = 1; i + 1 < n; i++)
                if (!(islower((unsigned char)seg[i]) || isdigit((unsigned char)seg[i]) ||
                      seg[i] == '_'))
                    return 0;
        } else if (memchr(seg, '{', n) != NULL || memchr(seg, '}', n) != NULL) {
            return 0;
        }
        p = seg + n;
    }
    return 1;
}

int pay_http_route_match(const char *pattern, const char *path, struct pay_http_param *params,
                         size_t *n)
{
    *n = 0;
    const char *p = pattern, *q = path;
    while (*p == '/' && *q == '/') {
        p++, q++;
        size_t pn = strcspn(p, "/"), qn = strcspn(q, "/");
        if (pn > 0 && p[0] == '{') {
            if (qn == 0 || *n == PAY_HTTP_PATH_PARAMS_MAX)
                return 0;
            params[(*n)++] = (struct pay_http_param){p + 1, pn - 2, q, qn};
        } else if (pn != qn || memcmp(p, q, pn) != 0) {
            return 0;
        }
        p += pn, q += qn;
    }
    return *p == '\0' && *q == '\0';
}
