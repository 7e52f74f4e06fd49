/* The online payment page (银联在线支付), hosted by the switch (docs/switch.md). */
#include "switch/switch.h"
#include "http/server.h"

const struct pay_http_route *pay_switch_page_routes(size_t *n)
{
    *n = 0; /* stage 2 */
    return NULL;
}
