/* libFuzzer driver: urlencoded form decoding. Every accepted form must have unique, non-empty
 * names, values of valid UTF-8, at most PAY_HTTP_FORM_FIELDS_MAX fields, and must re-encode
 * and decode to the same fields. */
#include "core/limits.h"
#include "http/codec.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const struct pay_form *f)
{
    struct pay_buf b;
    pay_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < f->n; i++)
        assert(pay_form_append(&b, f->fields[i].name, f->fields[i].value) == 0);
    struct pay_form g;
    assert(pay_form_decode(b.data ? b.data : "", b.len, &g, NULL) == PAY_ERR_OK);
    assert(g.n == f->n);
    for (size_t i = 0; i < f->n; i++) {
        assert(strcmp(g.fields[i].name, f->fields[i].name) == 0);
        assert(strcmp(g.fields[i].value, f->fields[i].value) == 0);
    }
    pay_form_fini(&g);
    pay_buf_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pay_form f;
    struct pay_error e = {0};
    enum pay_err rc = pay_form_decode((const char *)data, size, &f, &e);
    if (rc != PAY_ERR_OK) {
        assert(rc == PAY_ERR_FORM_INVALID && f.n == 0 && e.detail[0] != '\0');
        return 0;
    }
    assert(f.n <= PAY_HTTP_FORM_FIELDS_MAX);
    for (size_t i = 0; i < f.n; i++) {
        assert(f.fields[i].name[0] != '\0');
        assert(strlen(f.fields[i].value) == f.fields[i].value_len); /* no NUL inside */
        for (size_t k = 0; k < i; k++)
            assert(strcmp(f.fields[i].name, f.fields[k].name) != 0);
    }
    check_roundtrip(&f);
    pay_form_fini(&f);
    return 0;
}
