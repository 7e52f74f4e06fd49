/* Example: verify a bank's notification (the raw form body on stdin), then fulfil once.
 * Run: ./bank_notification BANK_URL MERCHANT_DIR BANK_CERT < body */
#include <paygate.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s BANK_URL MERCHANT_DIR BANK_CERT < body\n", argv[0]);
        return 2;
    }
    static char body[65536];
    size_t len = fread(body, 1, sizeof body, stdin);
    paygate_error err = {0};
    paygate_bank_config cfg = {.gateway_url = argv[1],
                               .merchant_dir = argv[2],
                               .bank_cert_file = argv[3],
                               .allow_loopback = 1};
    paygate_bank *b = paygate_bank_new(&cfg, &err);
    paygate_bank_notification n;
    paygate_seen_db *seen = paygate_seen_db_open("notify-seen.db");
    int rc = b && seen ? paygate_bank_notify_verify(b, body, len, 0, &n, &err) : PAYGATE_ERR_ARG;
    if (rc == PAYGATE_OK)
        rc = paygate_notify_once(n.notify_id, paygate_seen_db_fn, seen);
    if (rc == PAYGATE_OK)
        printf("order %s paid (%lld %s): fulfil it\n", n.order_id, (long long)n.amount, n.currency);
    else
        printf("%s: %s\n", paygate_status_name(rc), err.message);
    paygate_seen_db_close(seen);
    paygate_bank_free(b);
    return rc == PAYGATE_OK || rc == PAYGATE_DUPLICATE ? 0 : 1;
}
