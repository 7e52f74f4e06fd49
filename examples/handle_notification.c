/* Example: handle a platform notification exactly once. Your web framework hands you the
 * request target (path and query as received, undecoded), the Paygate-Signature header and
 * the raw body; here they come from the command line and stdin. Answer 200 "success" only
 * after the outcome is stored.
 * Run: ./handle_notification URL MERCHANT KEY_FILE '/notify?shop=1' 'PAYGATE-ED25519 ...' < body */
#include <paygate.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s PLATFORM_URL MERCHANT_ID KEY_FILE TARGET SIGNATURE < body\n",
                argv[0]);
        return 2;
    }
    static char body[65536];
    size_t len = fread(body, 1, sizeof body, stdin);
    paygate_error err = {0};
    paygate_config cfg = {
        .platform_url = argv[1], .merchant_id = argv[2], .key_file = argv[3], .allow_loopback = 1};
    paygate_client *c = paygate_client_new(&cfg, &err);
    paygate_seen_db *seen = paygate_seen_db_open("notify-seen.db");
    paygate_notification n;
    int rc = c && seen ? paygate_notify_verify(c, argv[4], argv[5], body, len, 0, &n, &err)
                       : PAYGATE_ERR_INTERNAL;
    if (rc == PAYGATE_OK) /* look the order up by n.trade.out_trade_no and compare the amount */
        rc = paygate_notify_once(n.notify_id, paygate_seen_db_fn, seen);
    if (rc == PAYGATE_OK && strcmp(n.trade.state, "TRADE_SUCCESS") == 0)
        printf("order %s paid: ship it\n", n.trade.out_trade_no);
    else if (rc == PAYGATE_DUPLICATE)
        printf("seen %s before: nothing to do\n", n.notify_id);
    else if (rc != PAYGATE_OK)
        printf("refused: %s %s\n", paygate_status_name(rc), err.message);
    paygate_seen_db_close(seen);
    paygate_client_free(c);
    return rc == PAYGATE_OK || rc == PAYGATE_DUPLICATE ? 0 : 1;
}
