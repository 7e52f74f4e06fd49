/* Fuzz target: the strict PO reader never crashes or reads past its input, and what it
 * accepts holds its promises: a language in the header, no empty msgid, and every used
 * translation with exactly its msgid's placeholders. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "i18n/po.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pay_po *po = NULL;
    struct pay_error e;
    if (pay_po_parse((const char *)data, size, "fuzz.po", &po, &e) != PAY_ERR_OK) {
        if (po != NULL || e.code != PAY_ERR_CONFIG_INVALID || strncmp(e.detail, "fuzz.po:", 8))
            abort();
        return 0;
    }
    if (po->language[0] == '\0')
        abort();
    for (size_t i = 0; i < po->n; i++) {
        const struct pay_po_entry *x = &po->entries[i];
        if (x->id[0] == '\0' || pay_po_placeholders_check(x->id) != NULL || x->line < 1)
            abort();
        if (x->str[0] && !x->fuzzy && !pay_po_placeholders_same(x->id, x->str))
            abort();
    }
    pay_po_free(po);
    return 0;
}
