/* The shop's staff accounts from the command line (docs/shop.md "Staff login"): `paygate shop
 * staff` sets a login's password and role, and a shop without any account makes its first
 * admin when it starts, its password written only to a 0600 file in the data folder. */
#include "shop/shop.h"

#include "core/buf.h"
#include "core/cli_opts.h"
#include "core/config.h"
#include "crypto/crypto.h"
#include "http/settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file the first admin's credentials go to, in the data folder. */
#define FIRST_ADMIN_FILE  "shop-admin.txt"
#define FIRST_ADMIN_LOGIN "admin"

/* A new password: PAY_SHOP_PASSWORD_BYTES random bytes as base64url text. 0 or -1. */
static int password_new(char out[PAY_BASE64URL_LEN(PAY_SHOP_PASSWORD_BYTES)])
{
    return pay_random_token(out, PAY_BASE64URL_LEN(PAY_SHOP_PASSWORD_BYTES),
                            PAY_SHOP_PASSWORD_BYTES);
}

int shop_staff_first(struct shop *s, const char *data_dir)
{
    int64_t n = 0;
    struct pay_error err = {0};
    if (shop_staff_count(s, &n, &err) != PAY_ERR_OK)
        return fprintf(stderr, "paygate shop: staff: %s %s\n", pay_err_name(err.code), err.detail),
               -1;
    if (n > 0)
        return 0;
    char pw[PAY_BASE64URL_LEN(PAY_SHOP_PASSWORD_BYTES)], path[1100], text[160];
    snprintf(path, sizeof path, "%s/%s", data_dir, FIRST_ADMIN_FILE);
    int len = snprintf(text, sizeof text, "login %s\npassword ", FIRST_ADMIN_LOGIN);
    int rc = -1;
    /* the file first: an account whose password nobody can read would lock the shop out */
    if (password_new(pw) == 0 &&
        (len += snprintf(text + len, sizeof text - (size_t)len, "%s\n", pw)) < (int)sizeof text &&
        pay_file_write(path, text, (size_t)len, 0600) == 0 &&
        shop_staff_set(s, FIRST_ADMIN_LOGIN, pw, SHOP_ROLE_ADMIN, "start", &err) == PAY_ERR_OK)
        rc = 0;
    pay_wipe(pw, sizeof pw);
    pay_wipe(text, sizeof text);
    if (rc != 0)
        return fprintf(stderr, "paygate shop: cannot make the first admin (%s): %s %s\n", path,
                       err.code ? pay_err_name(err.code) : strerror(errno), err.detail),
               -1;
    printf("shop staff: login %s, its password in %s (change it: paygate shop staff --help)\n",
           FIRST_ADMIN_LOGIN, path);
    fflush(stdout);
    return 0;
}

/* The password of --password-file (its first line; "-": standard input) into pw. 0 or -1. */
static int password_read(const char *file, char *pw, size_t n)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f)
        return fprintf(stderr, "paygate shop staff: %s: %s\n", file, strerror(errno)), -1;
    bool ok = fgets(pw, (int)n, f) != NULL;
    if (f != stdin)
        fclose(f);
    pw[ok ? strcspn(pw, "\r\n") : 0] = '\0';
    return ok ? 0 : (fprintf(stderr, "paygate shop staff: %s: no password\n", file), -1);
}

struct staff_opts {
    const char *login, *role, *password_file, *config;
    struct pay_server_settings srv;
};

/* --config FILE's [server] (data_dir, database), before the flags that override it. 0 or 2. */
static int staff_config(struct staff_opts *o, int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--config") != 0)
            continue;
        struct pay_config *cfg = NULL;
        struct pay_error err = {0};
        enum pay_err e = pay_config_load(argv[i + 1], &cfg, &err);
        if (e == PAY_ERR_OK)
            e = pay_server_settings_read(&o->srv, cfg, &err);
        pay_config_free(cfg);
        if (e != PAY_ERR_OK)
            return fprintf(stderr, "paygate shop staff: %s %s: %s\n", pay_err_name(e), err.field,
                           err.detail),
                   2;
    }
    return 0;
}

static int server_flag(void *ctx, int argc, char **argv, int i)
{
    return pay_server_settings_flag(&((struct staff_opts *)ctx)->srv, argc, argv, i);
}

static void staff_usage(const struct pay_cli_opt *opts)
{
    printf("usage: paygate shop staff (--config FILE | --data-dir DIR) --login NAME\n"
           "                          [--role admin|courier] [--password-file FILE]\n\n"
           "Sets the password (and role) of a login of the shop's staff, creating it when new;\n"
           "its open sessions end. Without --password-file a password is made and printed once.\n"
           "An admin may do everything; a courier opens only the courier page. A shop without\n"
           "any account makes login admin when it starts (password in DIR/" FIRST_ADMIN_FILE ";\n"
           "setting admin's password here removes that file).\n\n"
           "Options:\n");
    pay_cli_usage(stdout, opts);
    printf("  --data-dir DIR, --database URL   the shop's data folder and database (override\n"
           "                                   [server] of --config)\n");
}

/* Sets the account; the first admin's file goes when its password changes. 0 or 1. */
static int staff_set(const struct staff_opts *o, const char *pw)
{
    struct shop s = {0};
    struct pay_error err = {0};
    char db[PAY_DATABASE_MAX + 1], path[1100];
    if (pay_server_settings_database(&o->srv, "shop.db", db, sizeof db) != 0 ||
        shop_db_open(&s, db, &err) != 0)
        return fprintf(stderr, "paygate shop staff: cannot open the database: %s %s\n",
                       pay_err_name(err.code), err.detail),
               1;
    enum pay_err e = shop_staff_set(&s, o->login, pw, shop_role_parse(o->role), "cli", &err);
    shop_db_close(&s);
    if (e != PAY_ERR_OK)
        return fprintf(stderr, "paygate shop staff: %s %s: %s\n", pay_err_name(e), err.field,
                       err.detail),
               1;
    snprintf(path, sizeof path, "%s/%s", o->srv.data_dir, FIRST_ADMIN_FILE);
    if (strcmp(o->login, FIRST_ADMIN_LOGIN) == 0 && unlink(path) == 0)
        printf("removed %s (it held the old password)\n", path);
    return 0;
}

int shop_cmd_staff(int argc, char **argv)
{
    struct staff_opts o = {.role = "admin"};
    const struct pay_cli_opt opts[] = {
        PAY_CLI_OPT("--config", "FILE", "the shop's INI file: its [server] data_dir, database",
                    &o.config),
        PAY_CLI_REQ("--login", "NAME", "the login (1-32 of a-z 0-9 . _ -)", &o.login),
        PAY_CLI_OPT("--role", "ROLE", "admin (default) or courier", &o.role),
        PAY_CLI_OPT("--password-file", "FILE", "the password, its first line (-: stdin)",
                    &o.password_file),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv)) {
        staff_usage(opts);
        return 0;
    }
    pay_server_settings_init(&o.srv, "127.0.0.1:0", NULL);
    o.srv.data_dir[0] = '\0';
    if (staff_config(&o, argc, argv) != 0)
        return 2;
    if (pay_cli_parse("shop staff", opts, argc, argv, 1, server_flag, &o) != 0)
        return 2;
    if (!o.srv.data_dir[0])
        return fprintf(stderr, "paygate shop staff: --data-dir (or --config) is required\n"), 2;
    if (pay_crypto_init() != 0)
        return fprintf(stderr, "paygate shop staff: the crypto library did not start\n"), 1;
    char pw[PAY_PASSWORD_MAX + 2];
    bool made = !o.password_file;
    if (made ? password_new(pw) != 0 : password_read(o.password_file, pw, sizeof pw) != 0)
        return 1;
    int rc = staff_set(&o, pw);
    if (rc == 0)
        printf(made ? "staff %s (%s): password %s\n" : "staff %s (%s): password set%s\n", o.login,
               o.role, made ? pw : "");
    pay_wipe(pw, sizeof pw);
    return rc;
}
