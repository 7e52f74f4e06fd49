/* The database a test runs on. By default SQLite, a file in the test's temp folder; in the
 * `pg` suite (tests/lib/pg_cluster.sh runs the test next to a throwaway cluster and sets
 * PAYGATE_TEST_PG), a PostgreSQL database of its own, made fresh for each call. Plain C, no
 * cmocka: every function returns a status the test asserts on. */
#ifndef PAY_TESTS_LIB_TESTDB_H
#define PAY_TESTS_LIB_TESTDB_H

#include <stdbool.h>
#include <stddef.h>

/* true in the pg suite. */
bool th_db_is_pg(void);

/* The password every pg-suite URL carries (the cluster trusts local users and never asks for
 * it), so that a test can check it reaches no log. */
#define TH_DB_PASSWORD "pgtest-never-logged"

/* The database for one test (label: a-z, 0-9, _): sqlite_path copied when not in the pg suite,
 * else the URL of a new, empty database label_<pid>_<n> (UTF8, C collation), with
 * TH_DB_PASSWORD in it (or, on a cluster reached over TCP, tests/lib/ha_cluster.sh's: the port
 * PAYGATE_TEST_PG_PORT and the password file PGPASSFILE). Into out (n bytes). 0, or -1 (why printed
 * on stderr). */
int th_db_new(const char *label, const char *sqlite_path, char *out, size_t n);

/* The command-line flag naming database for a paygate command: " --database 'URL'" when it is
 * a PostgreSQL URL, "" for SQLite (the data folder's file is the default). Into out. */
void th_db_flag(const char *database, char *out, size_t n);

/* Runs sql (psql -c) on the pg suite's cluster as its superuser, in database "postgres".
 * 0, or -1 (also outside the pg suite). */
int th_db_admin(const char *sql);

/* How often each of the n_needles needles occurs in what the pg suite's cluster wrote to its
 * disk (every file of its data folder: tables, indexes, WAL), printing "found <needle> in
 * <file>" on stderr for each hit when report; 0 outside the pg suite. Call it where a test
 * scans the SQLite files for secrets (and once for a value that is stored, so a scan that
 * cannot find anything does not pass). */
size_t th_db_scan_cluster(const char (*needles)[64], size_t n_needles, bool report);

#endif
