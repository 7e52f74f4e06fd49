/* Backups of a server's data folder (`paygate backup`, docs/deploy.md "Backups"): SQLite
 * databases copied with SQLite's online backup API (a consistent snapshot while the server
 * keeps writing: one read transaction, so the copy is the database as of one commit), every
 * other file (keys, keyrings, certificates) copied byte for byte with its mode; each copy
 * written beside its final name, fsynced and renamed, so a backup folder never holds a
 * half-written file under a real name. */
#include "store/backup.h"

#include "core/limits.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum pay_err sqlite_fail(struct pay_error *err, sqlite3 *db, const char *what,
                                const char *path)
{
    return pay_error_set(err, PAY_ERR_DB_IO, "database", "%s %.300s: %s", what, path,
                         db ? sqlite3_errmsg(db) : "out of memory");
}

/* The copy in tmp, integrity-checked: "ok" from PRAGMA integrity_check or DB_IO. */
static enum pay_err check_copy(const char *tmp, struct pay_error *err)
{
    sqlite3 *db = NULL;
    enum pay_err rc = PAY_ERR_OK;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        rc = sqlite_fail(err, db, "cannot check the copy", tmp);
    else if (sqlite3_step(st) != SQLITE_ROW ||
             strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
        rc = pay_error_set(err, PAY_ERR_DB_IO, "database",
                           "the copy %.300s fails its integrity"
                           " check",
                           tmp);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* fsync of path's bytes (a file SQLite closed) */
static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

enum pay_err pay_store_backup_sqlite(const char *src, const char *dst, long *pages,
                                     struct pay_error *err)
{
    char tmp[PAY_PATH_MAX + 8];
    if (snprintf(tmp, sizeof tmp, "%s.part", dst) >= (int)sizeof tmp)
        return pay_error_set(err, PAY_ERR_FIELD_TOO_LONG, "out", "the path is too long");
    /* 0600 before SQLite writes a byte: the copy holds what the database holds */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return pay_error_set(err, PAY_ERR_DB_IO, "out", "cannot create %.300s: %s", tmp,
                             strerror(errno));
    close(fd);
    sqlite3 *from = NULL, *to = NULL;
    enum pay_err rc = PAY_ERR_OK;
    if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        rc = sqlite_fail(err, from, "cannot open", src);
    else if (sqlite3_busy_timeout(from, PAY_STORE_BUSY_TIMEOUT_MS) != SQLITE_OK ||
             sqlite3_open_v2(tmp, &to, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        rc = sqlite_fail(err, to, "cannot open", tmp);
    if (rc == PAY_ERR_OK) {
        sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
        if (!b)
            rc = sqlite_fail(err, to, "cannot back up", src);
        else {
            /* -1: every page in one step, i.e. in one read transaction of the source */
            int step = sqlite3_backup_step(b, -1);
            *pages = sqlite3_backup_pagecount(b);
            if (sqlite3_backup_finish(b) != SQLITE_OK || step != SQLITE_DONE)
                rc = sqlite_fail(err, to, "cannot back up", src);
            /* the copy took the source's WAL mode: back to one self-contained file (the
             * server sets WAL again when it opens a restored copy) */
            else if (sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK)
                rc = sqlite_fail(err, to, "cannot finish", tmp);
        }
    }
    sqlite3_close(to);
    sqlite3_close(from);
    if (rc == PAY_ERR_OK)
        rc = check_copy(tmp, err);
    if (rc == PAY_ERR_OK && (fsync_path(tmp) != 0 || rename(tmp, dst) != 0))
        rc = pay_error_set(err, PAY_ERR_DB_IO, "out", "cannot write %.300s: %s", dst,
                           strerror(errno));
    if (rc != PAY_ERR_OK)
        unlink(tmp);
    return rc;
}

enum pay_err pay_store_backup_file(const char *src, const char *dst, struct pay_error *err)
{
    struct stat st;
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0 || fstat(in, &st) != 0) {
        int e = errno;
        if (in >= 0)
            close(in);
        return pay_error_set(err, PAY_ERR_DB_IO, "data-dir", "cannot read %.300s: %s", src,
                             strerror(e));
    }
    char tmp[PAY_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.part", dst); /* dst is shorter than the .db's: it fits */
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0700);
    enum pay_err rc = PAY_ERR_OK;
    unsigned char buf[PAY_BACKUP_COPY_CHUNK];
    ssize_t n = 0;
    while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    explicit_bzero(buf, sizeof buf); /* keys pass through it */
    /* the copy keeps the owner's bits only: group and others never read a backup */
    if (out < 0 || n < 0 || fchmod(out, st.st_mode & 0700) != 0 || fsync(out) != 0)
        rc = pay_error_set(err, PAY_ERR_DB_IO, "out", "cannot copy %.300s: %s", src,
                           strerror(errno));
    if (out >= 0 && close(out) != 0 && rc == PAY_ERR_OK)
        rc = pay_error_set(err, PAY_ERR_DB_IO, "out", "cannot copy %.300s", src);
    close(in);
    if (rc == PAY_ERR_OK && rename(tmp, dst) != 0)
        rc = pay_error_set(err, PAY_ERR_DB_IO, "out", "cannot write %.300s: %s", dst,
                           strerror(errno));
    if (rc != PAY_ERR_OK && out >= 0)
        unlink(tmp);
    return rc;
}
