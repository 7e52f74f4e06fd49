/* Moving a test server's clock (docs/http.md, "The test clock"): tests start a server with
 * fake_clock = true (--fake-clock) and move its business time instead of sleeping, then wait
 * for the event that follows — every worker of the server has looked at the new time. */
#ifndef PAY_TESTS_LIB_CLOCK_H
#define PAY_TESTS_LIB_CLOCK_H

#include <stdint.h>

/* How long th_clock_advance waits for the workers: far above the milliseconds it takes, so a
 * loaded machine never fails a test that would pass. */
#define TH_CLOCK_SETTLE_MS 60000

/* POST {"advance_ms": ms} to base_url/sandbox/clock, then polls GET /sandbox/clock until
 * every worker's seen_moves has reached the move (each has evaluated what is due at the new
 * time: sent the notifications, expired the trades and transfers, retried the transfers).
 * 0, or -1 with the reason on stderr. */
int th_clock_advance(const char *base_url, int64_t ms);

/* The server's business time (GET /sandbox/clock now_ms), or -1. */
int64_t th_clock_now_ms(const char *base_url);

#endif
