/* Backups of a server's data folder: its SQLite databases through SQLite's online backup API,
 * its other files (keys, keyrings) byte for byte (backup.c; `paygate backup`). */
#ifndef PAY_STORE_BACKUP_H
#define PAY_STORE_BACKUP_H

#include "core/errors.h"

/* A consistent copy of the SQLite database src (servers may be writing to it) in the new file
 * dst (0600; refused when it exists), integrity-checked, fsynced; *pages: its size in pages.
 * DB_IO naming the file on failure (nothing is left at dst). */
enum pay_err pay_store_backup_sqlite(const char *src, const char *dst, long *pages,
                                     struct pay_error *err);

/* src (a regular file, not followed through a symlink) copied to the new file dst with the
 * owner's bits of its mode only, fsynced; DB_IO on failure (nothing left at dst). */
enum pay_err pay_store_backup_file(const char *src, const char *dst, struct pay_error *err);

/* `paygate backup` (cmd_backup.c) */
int pay_cmd_backup(int argc, char **argv);

#endif
