/* Two bank processes on one PostgreSQL database share the rate limiter's buckets (docs/store.md,
 * "Several nodes on one database"): a client that spreads its posts over both nodes meets the
 * limit of one node. 130 posts of the B2C entry from one address, alternately to each node, on
 * the test clock (it stands still: no refill): PAY_BANK_RATE_PER_IP_PER_MIN of them are looked
 * at (400: the form is empty), the rest answered 429 RATE_LIMITED. With a bucket per process
 * each node would have let its 65 through. The pg suite only. */
#include "harness.h"
#include "core/limits.h"
#include "lib/harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POSTS 130

static struct bank_proc bank, second; /* second: the same dir and database */

static int group_setup(void **state)
{
    (void)state;
    if (!th_db_is_pg() || h_bank_start(&bank, "--fake-clock") != 0)
        return -1;
    second = bank;
    char cmd[4096], path[300];
    snprintf(cmd, sizeof cmd,
             "exec '%s' bank serve --data-dir %s/data%s --fast-hash --fake-clock"
             " --print-url-file %s/url2 >%s/stdout2.txt 2>%s/bank2.log",
             th_binary_env(), bank.dir, bank.db_flag, bank.dir, bank.dir, bank.dir);
    second.pid = th_spawn_sh(cmd);
    snprintf(path, sizeof path, "%s/url2", bank.dir);
    return th_wait_url_file(second.pid, path, second.url, sizeof second.url, TH_START_TIMEOUT_MS);
}

static int group_teardown(void **state)
{
    (void)state;
    h_bank_stop(&second);
    h_bank_stop(&bank);
    return h_bank_remove(&bank);
}

static void one_bucket_over_both_nodes(void **state)
{
    (void)state;
    assert_string_not_equal(bank.url, second.url);
    int looked_at = 0, limited = 0;
    for (int i = 0; i < POSTS; i++) {
        char url[256];
        snprintf(url, sizeof url, "%s/b2c/pay", i % 2 ? second.url : bank.url);
        struct h_resp r = {0};
        assert_int_equal(h_post(url, "", NULL, 0, NULL, &r), 0);
        if (r.status == 429)
            limited++;
        else if (r.status == 400)
            looked_at++;
        else
            fail_msg("post %d: %ld %s", i, r.status, r.body);
        h_resp_fini(&r);
    }
    assert_int_equal(looked_at, PAY_BANK_RATE_PER_IP_PER_MIN);
    assert_int_equal(limited, POSTS - PAY_BANK_RATE_PER_IP_PER_MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_bucket_over_both_nodes),
    };
    return th_finish(cmocka_run_group_tests(tests, group_setup, th_teardown(group_teardown)));
}
