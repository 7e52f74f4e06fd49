/* Example: pay directly at your bank (B2C). Prints the signed form that sends the consumer's
 * browser to the bank; the bank then notifies notify_url (see bank_notification.c).
 * Run: ./bank_order_form http://127.0.0.1:8081 MERCHANT_DIR BANK_CERT ORDER-7 28800 */
#include <paygate.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s BANK_URL MERCHANT_DIR BANK_CERT ORDER_ID CENTS\n", argv[0]);
        return 2;
    }
    paygate_error err = {0};
    paygate_bank_config cfg = {.gateway_url = argv[1],
                               .merchant_dir = argv[2],
                               .bank_cert_file = argv[3],
                               .allow_loopback = 1};
    paygate_bank *b = paygate_bank_new(&cfg, &err);
    paygate_bank_order o = {.order_id = argv[4],
                            .amount = strtoll(argv[5], NULL, 10),
                            .goods_name = "Teapot",
                            .notify_url = "http://127.0.0.1:9000/notify/bank"};
    char *form = b ? paygate_bank_order_form(b, &o, &err) : NULL;
    if (form)
        printf("%s", form);
    else
        fprintf(stderr, "%s %s\n", err.code, err.message);
    free(form);
    paygate_bank_free(b);
    return form ? 0 : 1;
}
