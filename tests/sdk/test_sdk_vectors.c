/* libpaygate against the published test vectors of docs/protocol.md (read from the file, so
 * the SDK and the spec cannot drift). Uses only the public header, as a merchant would. */
#include "paygate.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char vec[64][2][1024];
static int n_vec;
static char rsa_pem[4096];

static const char *v(const char *name)
{
    for (int i = 0; i < n_vec; i++)
        if (strcmp(vec[i][0], name) == 0)
            return vec[i][1];
    fail_msg("vector %s missing", name);
    return "";
}

/* Reads "name = value" lines between the markers and the first PRIVATE KEY block. */
static int load(void **state)
{
    char path[512], line[2048];
    snprintf(path, sizeof path, "%s/docs/protocol.md", getenv("PAYGATE_SOURCE_ROOT"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int in = 0, in_key = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strstr(line, "test-vectors:begin"))
            in = 1;
        else if (strstr(line, "test-vectors:end"))
            in = 0;
        else if (in && strchr(line, '=') && n_vec < 64) {
            char *eq = strstr(line, " = ");
            if (!eq)
                eq = strstr(line, " =");
            *eq = '\0';
            char *val = eq + 2;
            if (*val == ' ')
                val++;
            char *end = line + strcspn(line, " ");
            *end = '\0';
            snprintf(vec[n_vec][0], sizeof vec[n_vec][0], "%.64s", line);
            snprintf(vec[n_vec][1], sizeof vec[n_vec][1], "%.1000s", val);
            n_vec++;
        }
        if (strcmp(line, "-----BEGIN PRIVATE KEY-----") == 0 && !rsa_pem[0])
            in_key = 1;
        if (in_key) {
            size_t used = strlen(rsa_pem);
            snprintf(rsa_pem + used, sizeof rsa_pem - used, "%s\n", line);
            if (strcmp(line, "-----END PRIVATE KEY-----") == 0)
                in_key = 0;
        }
    }
    fclose(f);
    assert_true(n_vec >= 30);
    return 0;
}

static void seed(unsigned char out[32])
{
    const char *hex = v("ed25519.seed_hex");
    for (int i = 0; i < 32; i++) {
        unsigned x;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &x), 1);
        out[i] = (unsigned char)x;
    }
}

static void request_vector_signs_byte_for_byte(void **state)
{
    unsigned char sd[32];
    seed(sd);
    paygate_signer s = {.key_id = v("request.key_id"), .ed25519_seed = sd};
    char hdr[1200];
    const char *body = v("request.body");
    assert_int_equal(paygate_sign_request(&s, v("request.method"), v("request.target"),
                                          strtoll(v("request.ts"), NULL, 10), v("request.nonce"),
                                          body, strlen(body), hdr, sizeof hdr),
                     PAYGATE_OK);
    assert_string_equal(hdr, v("request.header"));
}

static void rsa_vector_signs_byte_for_byte(void **state)
{
    assert_true(rsa_pem[0] != '\0');
    paygate_signer s = {.key_id = v("rsa.key_id"), .rsa_private_pem = rsa_pem};
    char hdr[1200];
    assert_int_equal(paygate_sign_request(&s, v("rsa.method"), v("rsa.target"),
                                          strtoll(v("rsa.ts"), NULL, 10), v("rsa.nonce"), "", 0,
                                          hdr, sizeof hdr),
                     PAYGATE_OK);
    assert_string_equal(hdr, v("rsa.header"));
}

static void response_vector_verifies(void **state)
{
    const char *body = v("response.body");
    int64_t ts = strtoll(v("response.ts"), NULL, 10);
    assert_int_equal(paygate_verify_response(v("response.key_id"), v("ed25519.public_key_b64"),
                                             v("response.header"),
                                             (int)strtol(v("response.status"), NULL, 10),
                                             v("response.request_nonce"), body, strlen(body), ts),
                     PAYGATE_OK);
    /* another request's nonce: a recorded answer cannot be replayed to it */
    assert_int_equal(paygate_verify_response(v("response.key_id"), v("ed25519.public_key_b64"),
                                             v("response.header"), 200, "another-nonce-0000001",
                                             body, strlen(body), ts),
                     PAYGATE_ERR_SIGNATURE);
    /* a tampered body */
    char bad[256];
    snprintf(bad, sizeof bad, "%s", body);
    bad[10] ^= 1;
    assert_int_equal(paygate_verify_response(v("response.key_id"), v("ed25519.public_key_b64"),
                                             v("response.header"), 200, v("response.request_nonce"),
                                             bad, strlen(bad), ts),
                     PAYGATE_ERR_SIGNATURE);
    /* another status */
    assert_int_equal(paygate_verify_response(v("response.key_id"), v("ed25519.public_key_b64"),
                                             v("response.header"), 201, v("response.request_nonce"),
                                             body, strlen(body), ts),
                     PAYGATE_ERR_SIGNATURE);
    /* 301 s later: stale */
    assert_int_equal(paygate_verify_response(v("response.key_id"), v("ed25519.public_key_b64"),
                                             v("response.header"), 200, v("response.request_nonce"),
                                             body, strlen(body), ts + 301),
                     PAYGATE_ERR_STALE);
}

static void status_names(void **state)
{
    assert_string_equal(paygate_status_name(PAYGATE_DUPLICATE), "DUPLICATE");
    assert_string_equal(paygate_status_name(PAYGATE_ERR_SIGNATURE), "SIGNATURE");
    assert_int_equal(paygate_notify_once("", NULL, NULL), PAYGATE_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_vector_signs_byte_for_byte),
        cmocka_unit_test(rsa_vector_signs_byte_for_byte),
        cmocka_unit_test(response_vector_verifies),
        cmocka_unit_test(status_names),
    };
    return cmocka_run_group_tests(tests, load, NULL);
}
