/* libFuzzer driver: request-body JSON decoding (depth limit, duplicate keys, UTF-8). Any input
 * must give either an object or an error with a message, never a crash or a leak. */
#include "core/limits.h"
#include "http/codec.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = NULL;
    struct pay_error e = {0};
    enum pay_err rc = pay_json_decode((const char *)data, size, &j, &e);
    if (rc == PAY_ERR_OK) {
        assert(json_is_object(j));
        char *s = json_dumps(j, JSON_COMPACT); /* what we would echo must re-encode */
        assert(s != NULL);
        free(s);
        json_decref(j);
    } else {
        assert(j == NULL);
        assert(rc == PAY_ERR_JSON_INVALID || rc == PAY_ERR_JSON_TOO_DEEP);
        assert(e.detail[0] != '\0');
    }
    return 0;
}
