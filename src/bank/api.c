/* The signed server-to-server API (/api/v1/..., docs/bank.md). Not built yet: this build
 * serves no API routes (see the report in docs/bank.md "Status"). */
#include "bank/bank.h"
#include "http/server.h"

const struct pay_http_route *pay_bank_api_routes(size_t *n)
{
    *n = 0;
    return NULL;
}
