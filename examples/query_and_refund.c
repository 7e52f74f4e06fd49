/* Example: the query fallback and a refund. When a notification is late, ask the platform;
 * refunds are idempotent by your refund number, so retrying after a timeout is safe.
 * Run: ./query_and_refund http://127.0.0.1:8083 shop shop.key ORDER-1 REFUND-1 500 */
#include <paygate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s URL MERCHANT KEY_FILE ORDER_NO REFUND_NO CENTS\n", argv[0]);
        return 2;
    }
    paygate_error err = {0};
    paygate_config cfg = {
        .platform_url = argv[1], .merchant_id = argv[2], .key_file = argv[3], .allow_loopback = 1};
    paygate_client *c = paygate_client_new(&cfg, &err);
    paygate_trade t;
    int rc = c ? paygate_trade_query(c, argv[4], &t, &err) : PAYGATE_ERR_ARG;
    if (rc == PAYGATE_OK)
        printf("trade %s is %s (%lld of %lld refunded)\n", t.trade_id, t.state,
               (long long)t.refunded, (long long)t.amount);
    paygate_refund r;
    if (rc == PAYGATE_OK && strcmp(t.state, "TRADE_SUCCESS") == 0) {
        rc = paygate_trade_refund(c, t.trade_id, argv[5], strtoll(argv[6], NULL, 10), "CNY",
                                  "example", &r, &err);
        if (rc == PAYGATE_OK)
            printf("refund %s: %s\n", r.refund_id, r.status);
    }
    if (rc != PAYGATE_OK)
        fprintf(stderr, "%s: %s %s\n", paygate_status_name(rc), err.code, err.message);
    paygate_client_free(c);
    return rc == PAYGATE_OK ? 0 : 1;
}
