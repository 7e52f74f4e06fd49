/* EIP-681 payment requests: the URI a wallet opens (or scans as a QR code) to pay a deposit
 * address in the token, e.g.
 * ethereum:0xTOKEN@1337/transfer?address=0xDEPOSIT&uint256=12500000 */
#ifndef PAY_CHAIN_URI_H
#define PAY_CHAIN_URI_H

#include "chain/keys.h"
#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

/* Writes the ERC-20 transfer request of amount_minor (> 0) token units to `to` on chain
 * chain_id (> 0); addresses in EIP-55 form. Returns the length, or -1 when out is too small. */
int pay_chain_payment_uri(const uint8_t token[PAY_CHAIN_ADDRESS_LEN], int64_t chain_id,
                          const uint8_t to[PAY_CHAIN_ADDRESS_LEN], int64_t amount_minor, char *out,
                          size_t n);

#endif
