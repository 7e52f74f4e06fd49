/* EIP-681 URIs for ERC-20 transfers. */
#include "chain/uri.h"

#include "core/assertions.h"

#include <stdio.h>

int pay_chain_payment_uri(const uint8_t token[PAY_CHAIN_ADDRESS_LEN], int64_t chain_id,
                          const uint8_t to[PAY_CHAIN_ADDRESS_LEN], int64_t amount_minor, char *out,
                          size_t n)
{
    PAY_ASSERT(chain_id > 0 && amount_minor > 0);
    char t[PAY_CHAIN_ADDRESS_TEXT_LEN], a[PAY_CHAIN_ADDRESS_TEXT_LEN];
    pay_chain_address_format(token, t);
    pay_chain_address_format(to, a);
    int len = snprintf(out, n, "ethereum:%s@%lld/transfer?address=%s&uint256=%lld", t,
                       (long long)chain_id, a, (long long)amount_minor);
    return len > 0 && (size_t)len < n ? len : -1;
}
