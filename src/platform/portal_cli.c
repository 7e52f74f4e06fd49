/* `paygate platform member add`: a team member of a merchant for the portal (docs/portal.md),
 * the way an operator makes a merchant's first owner; the owner adds the others in the portal.
 * Prints the member's TOTP secret and its otpauth:// URI once, for an authenticator app, or
 * writes them to --secret-file (mode 0600, a new file) instead (the demo keeps it there). */
#include "platform/portal.h"

#include "core/cli_opts.h"
#include "crypto/crypto.h"
#include "crypto/password.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* "totp_secret S\nURI\n" into a new file of mode 0600; 0 or -1. */
static int secret_file(const char *path, const char *secret, const char *uri)
{
    char text[700];
    int n = snprintf(text, sizeof text, "totp_secret %s\n%s\n", secret, uri);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    int rc = fd >= 0 && n > 0 && (size_t)n < sizeof text && write(fd, text, (size_t)n) == n &&
                     fsync(fd) == 0
                 ? 0
                 : -1;
    if (fd >= 0)
        close(fd);
    pay_wipe(text, sizeof text);
    return rc;
}

int pay_portal_cli_member_add(int argc, char **argv)
{
    const char *v[7] = {NULL};
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--data-dir", "DIR", "the platform's data folder", &v[0]),
        PAY_CLI_OPT("--database", "DB",
                    "the database the server uses, as its [server] database (a postgresql://"
                    " URL); default DIR/platform.db",
                    &v[6]),
        PAY_CLI_REQ("--merchant", "ID", "the merchant the member works for", &v[1]),
        PAY_CLI_REQ("--login", "EMAIL", "the member's e-mail address", &v[2]),
        PAY_CLI_REQ("--role", "ROLE", "owner, finance or support", &v[3]),
        PAY_CLI_REQ("--password", "PW", "first password, 10 characters or more", &v[4]),
        PAY_CLI_OPT("--secret-file", "FILE", "write the TOTP secret there (0600), not to stdout",
                    &v[5]),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv)) {
        printf("usage: paygate platform member add [options]\n\nAdds a member of a merchant's "
               "team for the merchant portal (docs/portal.md)\nand prints its TOTP secret once."
               "\nOptions:\n");
        pay_cli_usage(stdout, opts);
        return 0;
    }
    int bad = pay_cli_parse("platform member add", opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    struct pay_platform *p = NULL;
    struct pay_error err = {0};
    char id[PAY_ID_MAX], totp[PAY_PLATFORM_TOTP_TEXT_MAX], uri[512];
    uint8_t key[PAY_TOTP_SECRET_LEN + 8];
    size_t kn = 0;
    enum pay_err e = pay_platform_open_offline(v[0], v[6], &p, &err);
    if (e == PAY_ERR_OK)
        e = pay_portal_member_add(p, "operator", v[1], v[2], v[4], v[3], id, totp, &err);
    pay_platform_close(p);
    if (e != PAY_ERR_OK) {
        fprintf(stderr, "paygate platform: %s %s: %s\n", pay_err_name(e), err.field,
                err.detail[0] ? err.detail : pay_err_message(e));
        return 1;
    }
    int rc = pay_base32_decode(key, sizeof key, totp, strlen(totp), &kn) == 0
                 ? pay_totp_uri(uri, sizeof uri, "paygate", v[2], key, kn)
                 : -1;
    pay_wipe(key, sizeof key);
    printf("member %s of %s added as %s (%s)\n", v[2], v[1], id, v[3]);
    if (v[5] && secret_file(v[5], totp, rc == 0 ? uri : "") != 0) {
        fprintf(stderr, "paygate platform: cannot write %s (it must not exist)\n", v[5]);
        rc = -1;
    } else if (!v[5]) {
        printf("totp_secret %s\n%s\n", totp, rc == 0 ? uri : "");
    }
    pay_wipe(totp, sizeof totp);
    pay_wipe(uri, sizeof uri);
    return v[5] && rc != 0 ? 1 : 0;
}
