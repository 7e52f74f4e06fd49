/* The fault plan (core/faults.h): which calls fail for nth, nth + sticky and one_in plans,
 * that only the plan's operations count, that a seed repeats its failures, and that plans of
 * the wrong shape are refused naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "core/faults.h"

static void nth_fails_once(void **state)
{
    (void)state;
    struct pay_fault_plan p = {.ops = PAY_FAULT_WRITE, .error = PAY_FAULT_FULL, .nth = 3};
    assert_int_equal(pay_fault_arm(&p, NULL), PAY_ERR_OK);
    assert_int_equal(pay_fault_hit(PAY_FAULT_WRITE), PAY_FAULT_NONE);
    assert_int_equal(pay_fault_hit(PAY_FAULT_SYNC), PAY_FAULT_NONE); /* not in ops: not counted */
    assert_int_equal(pay_fault_hit(PAY_FAULT_WRITE), PAY_FAULT_NONE);
    assert_int_equal(pay_fault_hit(PAY_FAULT_WRITE), PAY_FAULT_FULL);
    assert_int_equal(pay_fault_hit(PAY_FAULT_WRITE), PAY_FAULT_NONE);
    struct pay_fault_state s;
    pay_fault_get(&s);
    assert_true(s.armed);
    assert_int_equal(s.counted, 4);
    assert_int_equal(s.injected, 1);
    assert_int_equal(s.calls[1], 4); /* write */
    assert_int_equal(s.calls[2], 1); /* sync */
    pay_fault_clear();
}

static void sticky_fails_until_cleared(void **state)
{
    (void)state;
    struct pay_fault_plan p = {
        .ops = PAY_FAULT_WRITE | PAY_FAULT_SYNC, .error = PAY_FAULT_IO, .nth = 2, .sticky = true};
    assert_int_equal(pay_fault_arm(&p, NULL), PAY_ERR_OK);
    assert_int_equal(pay_fault_hit(PAY_FAULT_SYNC), PAY_FAULT_NONE);
    for (int i = 0; i < 50; i++)
        assert_int_equal(pay_fault_hit(i % 2 ? PAY_FAULT_WRITE : PAY_FAULT_SYNC), PAY_FAULT_IO);
    assert_int_equal(pay_fault_hit(PAY_FAULT_READ), PAY_FAULT_NONE);
    pay_fault_clear();
    assert_int_equal(pay_fault_hit(PAY_FAULT_WRITE), PAY_FAULT_NONE);
    struct pay_fault_state s;
    pay_fault_get(&s);
    assert_false(s.armed);
    assert_int_equal(s.injected, 50); /* still readable after the clear */
}

/* The failures of a seeded plan: which of 1000 calls fail. */
static int draw(uint64_t seed, char fails[1000])
{
    struct pay_fault_plan p = {
        .ops = PAY_FAULT_SYNC, .error = PAY_FAULT_FULL, .one_in = 10, .seed = seed};
    assert_int_equal(pay_fault_arm(&p, NULL), PAY_ERR_OK);
    int n = 0;
    for (int i = 0; i < 1000; i++) {
        fails[i] = pay_fault_hit(PAY_FAULT_SYNC) != PAY_FAULT_NONE;
        n += fails[i];
    }
    pay_fault_clear();
    return n;
}

static void one_in_is_seeded(void **state)
{
    (void)state;
    char a[1000], b[1000], c[1000];
    int na = draw(42, a), nb = draw(42, b), nc = draw(43, c);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    /* about one in ten: far outside these bounds only if the generator were broken */
    assert_in_range(na, 50, 150);
    assert_in_range(nc, 50, 150);
}

static void bad_plans_refused(void **state)
{
    (void)state;
    struct {
        struct pay_fault_plan p;
        const char *field;
    } bad[] = {
        {{.ops = 0, .error = PAY_FAULT_IO, .nth = 1}, "ops"},
        {{.ops = 1u << 7, .error = PAY_FAULT_IO, .nth = 1}, "ops"},
        {{.ops = PAY_FAULT_WRITE, .error = PAY_FAULT_NONE, .nth = 1}, "error"},
        {{.ops = PAY_FAULT_WRITE, .error = PAY_FAULT_IO}, "nth"},
        {{.ops = PAY_FAULT_WRITE, .error = PAY_FAULT_IO, .nth = 1, .one_in = 2}, "one_in"},
        {{.ops = PAY_FAULT_WRITE, .error = PAY_FAULT_IO, .one_in = 2, .sticky = true}, "sticky"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pay_error err = {0};
        assert_int_equal(pay_fault_arm(&bad[i].p, &err), PAY_ERR_FIELD_INVALID);
        assert_string_equal(err.field, bad[i].field);
    }
    struct pay_fault_state s;
    pay_fault_get(&s);
    assert_false(s.armed);
}

static void names_round_trip(void **state)
{
    (void)state;
    const char *ops[] = {"read", "write", "sync", "truncate"};
    for (int i = 0; i < 4; i++) {
        unsigned bit = pay_fault_op_parse(ops[i]);
        assert_int_equal(bit, 1u << i);
        assert_string_equal(pay_fault_op_name((enum pay_fault_op)bit), ops[i]);
    }
    assert_int_equal(pay_fault_op_parse("fsync"), 0);
    assert_int_equal(pay_fault_error_parse("full"), PAY_FAULT_FULL);
    assert_int_equal(pay_fault_error_parse("io"), PAY_FAULT_IO);
    assert_int_equal(pay_fault_error_parse("enospc"), PAY_FAULT_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nth_fails_once),   cmocka_unit_test(sticky_fails_until_cleared),
        cmocka_unit_test(one_in_is_seeded), cmocka_unit_test(bad_plans_refused),
        cmocka_unit_test(names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
