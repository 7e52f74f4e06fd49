/* The strict PO reader: what translators' tools write reads back exactly (multi-line strings,
 * escapes, contexts, fuzzy flags, comments), and every mistake is an error naming the file and
 * the line, never a message that silently falls back to English. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n/po.h"

#define HEADER                                                                                     \
    "msgid \"\"\n"                                                                                 \
    "msgstr \"\"\n"                                                                                \
    "\"Content-Type: text/plain; charset=UTF-8\\n\"\n"                                             \
    "\"Language: zh_CN\\n\"\n\n"

static struct pay_po *parse_ok(const char *text)
{
    struct pay_po *po = NULL;
    struct pay_error e = {0};
    enum pay_err rc = pay_po_parse(text, strlen(text), "t.po", &po, &e);
    if (rc != PAY_ERR_OK)
        fail_msg("unexpected error: %s", e.detail);
    return po;
}

/* Parses text, which must fail; the error's detail must contain want ("t.po:7: ..."). */
static void parse_fails(const char *text, const char *want)
{
    struct pay_po *po = NULL;
    struct pay_error e = {0};
    assert_int_equal(pay_po_parse(text, strlen(text), "t.po", &po, &e), PAY_ERR_CONFIG_INVALID);
    assert_null(po);
    assert_string_equal(e.field, "po");
    if (strstr(e.detail, want) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", e.detail, want);
}

static void reads_what_tools_write(void **state)
{
    (void)state;
    struct pay_po *po = parse_ok(HEADER "# translator comment\n"
                                        "#. extracted comment\n"
                                        "#: web/bank/templates/card.html:7\n"
                                        "msgid \"Card number\"\n"
                                        "msgstr \"卡号\"\n"
                                        "\n"
                                        "#, python-brace-format\n"
                                        "msgctxt \"trade state\"\n"
                                        "msgid \"\"\n"
                                        "\"Pay {amount} \"\n"
                                        "\"to {merchant}\"\n"
                                        "msgstr \"向 {merchant} \\\"支付\\\"\\n\\t{amount}\"\n"
                                        "\n"
                                        "#, fuzzy\n"
                                        "#| msgid \"Old\"\n"
                                        "msgid \"Guess\"\n"
                                        "msgstr \"猜\"\n"
                                        "msgid \"Later\"\n"
                                        "msgstr \"\"\n");
    assert_string_equal(po->language, "zh_CN");
    assert_int_equal(po->n, 4);
    assert_null(po->entries[0].ctxt);
    assert_string_equal(po->entries[0].id, "Card number");
    assert_string_equal(po->entries[0].str, "卡号");
    assert_int_equal(po->entries[0].line, 9);
    assert_string_equal(po->entries[1].ctxt, "trade state");
    assert_string_equal(po->entries[1].id, "Pay {amount} to {merchant}");
    assert_string_equal(po->entries[1].str, "向 {merchant} \"支付\"\n\t{amount}");
    assert_false(po->entries[1].fuzzy);
    assert_true(po->entries[2].fuzzy);
    assert_string_equal(po->entries[3].str, ""); /* not translated yet: allowed, unused */
    assert_int_equal(po->entries[3].line, 23);
    pay_po_free(po);
}

static void header_rules(void **state)
{
    (void)state;
    parse_fails("msgid \"Card\"\nmsgstr \"卡\"\n", "t.po:1: the header entry");
    parse_fails("msgid \"\"\nmsgstr \"\"\n\"Language: zh_CN\\n\"\n", "t.po:1: the header must say");
    parse_fails("msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=GBK\\n\"\n",
                "charset=UTF-8");
    parse_fails("msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n",
                "Language:");
    parse_fails("msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n"
                "\"Language: Chinese\\n\"\n",
                "ll or ll_CC");
    parse_fails("", "t.po:1: no header entry");
    parse_fails(HEADER "msgid \"\"\nmsgstr \"x\"\n", "t.po:6: a second entry with an empty msgid");
}

static void syntax_errors_name_their_line(void **state)
{
    (void)state;
    parse_fails(HEADER "msgid \"a\"\nmsgstr \"b\"\n\nmsgid \"a\"\nmsgstr \"c\"\n",
                "t.po:9: duplicate of the entry at line 6");
    parse_fails(HEADER "msgid \"a\"\nmsgid_plural \"as\"\nmsgstr[0] \"b\"\n",
                "t.po:7: plural forms are not supported");
    parse_fails(HEADER "#~ msgid \"gone\"\n#~ msgstr \"走了\"\n", "t.po:6: an obsolete entry");
    parse_fails(HEADER "msgid \"a\"\nmsgstr \"b\\x\"\n", "t.po:7: unknown escape \\x");
    parse_fails(HEADER "msgid \"a\"\nmsgstr \"b\n", "t.po:7: the string is not closed");
    parse_fails(HEADER "msgid \"a\"\nmsgstr \"b\" c\n", "t.po:7: text after the closing quote");
    parse_fails(HEADER "msgid \"a\"\r\nmsgstr \"b\"\n", "t.po:6: a CR character");
    parse_fails(HEADER "msgid \"a\"\n", "t.po:6: msgid without msgstr");
    parse_fails(HEADER "msgstr \"b\"\n", "t.po:6: msgstr must follow its msgid");
    parse_fails(HEADER "msgid \"a\"\n# late\nmsgstr \"b\"\n", "t.po:7: a comment inside an entry");
    parse_fails(HEADER "msgid \"a\"\nmsgctxt \"c\"\nmsgstr \"b\"\n",
                "t.po:7: msgctxt must come first");
    parse_fails(HEADER "msgid \"a\"\nmsgstr \"b\"\n\"c\" d\n", "t.po:8: text after");
    parse_fails(HEADER "\"orphan\"\n", "t.po:6: a string that continues no keyword");
    parse_fails(HEADER "msgid \"a\"\nmsgstr \"tab\there\"\n", "t.po:7: a control character");
    parse_fails(HEADER "msgid \"a\"\nmsgstr \"\xff\"\n", "t.po:7: not valid UTF-8");
    parse_fails(HEADER "msgid \"a\"\nmsgstr \"\xed\xa0\x80\"\n", "not valid UTF-8"); /* surrogate */
    parse_fails("\xef\xbb\xbf" HEADER, "byte order mark");
    parse_fails(HEADER "msgkey \"a\"\n", "t.po:6: unknown keyword msgkey");
}

static void placeholders_must_match(void **state)
{
    (void)state;
    parse_fails(HEADER "msgid \"Pay {amount}\"\nmsgstr \"支付 {amont}\"\n",
                "t.po:7: msgstr must use exactly the {placeholders} of its msgid");
    parse_fails(HEADER "msgid \"Pay {amount}\"\nmsgstr \"支付\"\n", "t.po:7: msgstr must use");
    parse_fails(HEADER "msgid \"Pay {amount\"\nmsgstr \"x\"\n", "t.po:6: msgid: a '{' opens");
    parse_fails(HEADER "msgid \"a}\"\nmsgstr \"x\"\n", "t.po:6: msgid: a '}' closes");
    parse_fails(HEADER "msgid \"a {}\"\nmsgstr \"x\"\n", "an empty {} placeholder");
    /* reordered and repeated is fine; an untranslated or fuzzy entry is not checked */
    struct pay_po *po = parse_ok(HEADER "msgid \"{a} to {b}\"\nmsgstr \"{b}{a}{a}\"\n\n"
                                        "#, fuzzy\nmsgid \"{c}\"\nmsgstr \"{d}\"\n");
    pay_po_free(po);
    assert_true(pay_po_placeholders_same("{x.y} {z}", "{z}, {x.y}"));
    assert_false(pay_po_placeholders_same("{x}", "{xy}"));
    assert_false(pay_po_placeholders_same("{x}", "no"));
    assert_null(pay_po_placeholders_check("plain text, no braces"));
}

static void limits(void **state)
{
    (void)state;
    size_t n = 5000;
    char *big = malloc(n + 200);
    assert_non_null(big);
    int k = snprintf(big, 200, "%smsgid \"a\"\nmsgstr \"", HEADER);
    memset(big + k, 'x', n);
    snprintf(big + k + n, 100, "\"\n");
    parse_fails(big, "t.po:7: a message longer than 4096 bytes");
    free(big);
}

static void loads_files_and_the_shipped_catalog(void **state)
{
    (void)state;
    struct pay_po *po = NULL;
    struct pay_error e = {0};
    assert_int_equal(pay_po_load("/nonexistent/zh_CN.po", &po, &e), PAY_ERR_CONFIG_INVALID);
    assert_non_null(strstr(e.detail, "cannot read /nonexistent/zh_CN.po"));
    const char *root = getenv("PAYGATE_SOURCE_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/web/po/zh_CN.po", root ? root : ".");
    if (pay_po_load(path, &po, &e) != PAY_ERR_OK)
        fail_msg("%s: %s", path, e.detail);
    assert_string_equal(po->language, "zh_CN");
    assert_true(po->n > 300);
    pay_po_free(po);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_what_tools_write),
        cmocka_unit_test(header_rules),
        cmocka_unit_test(syntax_errors_name_their_line),
        cmocka_unit_test(placeholders_must_match),
        cmocka_unit_test(limits),
        cmocka_unit_test(loads_files_and_the_shipped_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
