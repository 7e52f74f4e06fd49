/* Example: take a payment through the platform — create a trade and send the consumer to
 * the cashier. Build: cc take_payment.c $(pkg-config --cflags --libs paygate)
 * Run:   ./take_payment http://127.0.0.1:8083 shop shop.key ORDER-1 12.30 */
#include <paygate.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s PLATFORM_URL MERCHANT_ID KEY_FILE ORDER_NO AMOUNT_CENTS\n",
                argv[0]);
        return 2;
    }
    paygate_error err = {0};
    paygate_config cfg = {
        .platform_url = argv[1], .merchant_id = argv[2], .key_file = argv[3], .allow_loopback = 1};
    paygate_client *c = paygate_client_new(&cfg, &err);
    if (!c) {
        fprintf(stderr, "client: %s %s\n", err.code, err.message);
        return 1;
    }
    paygate_trade_request req = {.out_trade_no = argv[4],
                                 .amount = strtoll(argv[5], NULL, 10),
                                 .subject = "Example order",
                                 .notify_url = "http://127.0.0.1:9000/notify"};
    paygate_trade t;
    int rc = paygate_trade_create(c, &req, &t, &err);
    if (rc == PAYGATE_OK)
        printf("trade %s: send the consumer to %s\n", t.trade_id, t.cashier_url);
    else
        fprintf(stderr, "create: %s %s\n", err.code, err.message);
    paygate_client_free(c);
    return rc == PAYGATE_OK ? 0 : 1;
}
