/* `paygate backup --data-dir D --out DIR`: a restorable copy of a server's data folder while
 * the server runs (docs/deploy.md "Backups"). Every SQLite database (*.db) through the online
 * backup API, every other file as it is, the WAL's -wal/-shm/-journal files left out (the
 * database copies already hold every committed page). One line per file as it goes. */
#include "store/backup.h"

#include "core/buf.h"
#include "core/cli_opts.h"
#include "core/limits.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct backup_tally {
    long databases, files, pages;
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The files SQLite makes beside a database while it is open: the copy never needs them. */
static bool sqlite_side_file(const char *name)
{
    return ends_with(name, ".db-wal") || ends_with(name, ".db-shm") ||
           ends_with(name, ".db-journal") || ends_with(name, ".part");
}

static int copy_dir(const char *from, const char *to, const char *shown, int depth,
                    struct backup_tally *t);

/* One entry of a folder: a subfolder, a database, another file; symlinks and the rest are
 * refused (a data folder holds none; following one could copy files from anywhere). */
static int copy_entry(const char *from, const char *to, const char *shown, int depth,
                      struct backup_tally *t)
{
    struct stat st;
    struct pay_error err = {0};
    if (lstat(from, &st) != 0) {
        fprintf(stderr, "paygate backup: cannot read %s: %s\n", from, strerror(errno));
        return 1;
    }
    if (S_ISDIR(st.st_mode))
        return copy_dir(from, to, shown, depth + 1, t);
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "paygate backup: %s is not a file or folder (a symlink?): refused\n", from);
        return 1;
    }
    enum pay_err e;
    if (ends_with(from, ".db")) {
        long pages = 0;
        e = pay_store_backup_sqlite(from, to, &pages, &err);
        if (e == PAY_ERR_OK) {
            printf("  %-40s database, %ld pages, integrity ok\n", shown, pages);
            t->databases++, t->pages += pages;
        }
    } else {
        e = pay_store_backup_file(from, to, &err);
        if (e == PAY_ERR_OK) {
            printf("  %-40s %lld bytes\n", shown, (long long)st.st_size);
            t->files++;
        }
    }
    if (e != PAY_ERR_OK)
        fprintf(stderr, "paygate backup: %s: %s\n", pay_err_name(e), err.detail);
    fflush(stdout);
    return e == PAY_ERR_OK ? 0 : 1;
}

static int copy_dir(const char *from, const char *to, const char *shown, int depth,
                    struct backup_tally *t)
{
    if (depth > PAY_BACKUP_DEPTH_MAX) {
        fprintf(stderr, "paygate backup: %s is deeper than %d folders: refused\n", from,
                PAY_BACKUP_DEPTH_MAX);
        return 1;
    }
    DIR *d = opendir(from);
    if (!d || mkdir(to, 0700) != 0) {
        fprintf(stderr, "paygate backup: %s %s: %s\n", d ? "cannot create" : "cannot read",
                d ? to : from, strerror(errno));
        if (d)
            closedir(d);
        return 1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            sqlite_side_file(de->d_name))
            continue;
        char src[PAY_PATH_MAX], dst[PAY_PATH_MAX], name[PAY_PATH_MAX];
        if (snprintf(src, sizeof src, "%s/%s", from, de->d_name) >= (int)sizeof src ||
            snprintf(dst, sizeof dst, "%s/%s", to, de->d_name) >= (int)sizeof dst - 8 ||
            snprintf(name, sizeof name, "%s%s%s", shown, *shown ? "/" : "", de->d_name) >=
                (int)sizeof name) {
            fprintf(stderr, "paygate backup: a path under %s is longer than %d bytes\n", from,
                    PAY_PATH_MAX);
            rc = 1;
        } else
            rc = copy_entry(src, dst, name, depth, t);
    }
    closedir(d);
    return rc;
}

int pay_cmd_backup(int argc, char **argv)
{
    const char *data_dir = NULL, *out = NULL;
    const struct pay_cli_opt opts[] = {
        PAY_CLI_REQ("--data-dir", "DIR", "the server's data folder (its data_dir)", &data_dir),
        PAY_CLI_REQ("--out", "DIR", "the backup folder to create (it must not exist)", &out),
        PAY_CLI_END};
    if (pay_cli_wants_help(argc, argv)) {
        printf("usage: paygate backup --data-dir DIR --out DIR\n\n"
               "Copies a server's data folder while the server runs: each SQLite database\n"
               "(*.db) through SQLite's online backup API (the database as of one commit,\n"
               "integrity-checked), every other file (keys, keyrings) as it is; the copies\n"
               "are 0600/0700. A database on PostgreSQL is not in the folder: back it up\n"
               "with pg_dump or pg_basebackup (docs/deploy.md). To restore, stop the server\n"
               "and put the folder back as its data_dir. Exit 0 when every file was copied.\n\n");
        pay_cli_usage(stdout, opts);
        return 0;
    }
    int bad = pay_cli_parse("backup", opts, argc, argv, 1, NULL, NULL);
    if (bad)
        return bad;
    struct stat st;
    if (stat(data_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "paygate backup: --data-dir %s is not a folder\n", data_dir);
        return PAY_CLI_USAGE;
    }
    if (lstat(out, &st) == 0) {
        fprintf(stderr, "paygate backup: --out %s exists: a backup never overwrites\n", out);
        return PAY_CLI_USAGE;
    }
    printf("paygate backup: %s -> %s\n", data_dir, out);
    struct backup_tally t = {0};
    if (copy_dir(data_dir, out, "", 0, &t) != 0) {
        fprintf(stderr, "paygate backup: failed; %s is incomplete: remove it\n", out);
        return 1;
    }
    printf("paygate backup: done: %ld database(s) (%ld pages), %ld other file(s)\n", t.databases,
           t.pages, t.files);
    return 0;
}
