/* Test databases: SQLite files or fresh PostgreSQL databases in the pg suite; see testdb.h. */
#include "testdb.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

bool th_db_is_pg(void)
{
    const char *s = getenv("PAYGATE_TEST_PG");
    return s && s[0];
}

static const char *pg_user(void)
{
    const char *u = getenv("PAYGATE_TEST_PG_USER");
    return u && u[0] ? u : "postgres";
}

int th_db_new(const char *label, const char *sqlite_path, char *out, size_t n)
{
    if (!th_db_is_pg()) {
        int len = snprintf(out, n, "%s", sqlite_path);
        return len >= 0 && (size_t)len < n ? 0 : -1;
    }
    static int counter;
    char name[64], cmd[1024];
    snprintf(name, sizeof name, "%.32s_%ld_%d", label, (long)getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST));
    const char *sock = getenv("PAYGATE_TEST_PG");
    snprintf(cmd, sizeof cmd,
             "psql -X -q -v ON_ERROR_STOP=1 -h '%s' -U '%s' -d postgres -c 'CREATE DATABASE %s"
             " TEMPLATE template0 ENCODING '\\''UTF8'\\'' LOCALE '\\''C'\\'''",
             sock, pg_user(), name);
    int st = system(cmd);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "testdb: CREATE DATABASE %s failed (%s)\n", name, cmd);
        return -1;
    }
    /* A cluster reached over TCP with passwords (tests/lib/ha_cluster.sh: HAProxy in front of
     * Patroni's nodes) names its port and password file; pg_cluster.sh's trusts local users. */
    const char *port = getenv("PAYGATE_TEST_PG_PORT"), *passfile = getenv("PGPASSFILE");
    int len;
    if (port && port[0] && passfile && passfile[0])
        len = snprintf(out, n, "postgresql:///%s?host=%s&port=%s&user=%s&passfile=%s", name, sock,
                       port, pg_user(), passfile);
    else
        len = snprintf(out, n, "postgresql:///%s?host=%s&user=%s&password=%s", name, sock,
                       pg_user(), TH_DB_PASSWORD);
    return len >= 0 && (size_t)len < n ? 0 : -1;
}

int th_db_admin(const char *sql)
{
    if (!th_db_is_pg() || strchr(sql, '\''))
        return -1;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "psql -X -q -v ON_ERROR_STOP=1 -h '%s' -U '%s' -d postgres -c '%s' >/dev/null",
             getenv("PAYGATE_TEST_PG"), pg_user(), sql);
    int st = system(cmd);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

void th_db_flag(const char *database, char *out, size_t n)
{
    if (strncmp(database, "postgres", 8) == 0)
        snprintf(out, n, " --database '%s'", database);
    else
        snprintf(out, n, "%s", "");
}

static size_t scan_file(const char *path, const char (*needles)[64], size_t n_needles, bool report)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    struct stat stt;
    char *buf = fstat(fileno(f), &stt) == 0 ? malloc((size_t)stt.st_size + 1) : NULL;
    size_t len = buf ? fread(buf, 1, (size_t)stt.st_size, f) : 0;
    fclose(f);
    if (!buf)
        return 0;
    size_t hits = 0;
    for (size_t k = 0; k < n_needles; k++) {
        size_t nl = strlen(needles[k]);
        for (const char *p = buf; nl && (p = memmem(p, len - (size_t)(p - buf), needles[k], nl));
             p++) {
            if (report)
                fprintf(stderr, "found %s in %s\n", needles[k], path);
            hits++;
        }
    }
    free(buf);
    return hits;
}

static size_t scan_tree(const char *dir, const char (*needles)[64], size_t n_needles, bool report)
{
    DIR *d = opendir(dir);
    size_t hits = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            hits += scan_tree(path, needles, n_needles, report);
        else if (S_ISREG(st.st_mode))
            hits += scan_file(path, needles, n_needles, report);
    }
    if (d)
        closedir(d);
    return hits;
}

size_t th_db_scan_cluster(const char (*needles)[64], size_t n_needles, bool report)
{
    const char *data = getenv("PAYGATE_TEST_PG_DATA");
    if (!th_db_is_pg() || !data || !data[0])
        return 0;
    /* a checkpoint writes every table and index page to its file (the WAL has them already) */
    if (th_db_admin("CHECKPOINT") != 0)
        fprintf(stderr, "testdb: CHECKPOINT failed; scanning anyway\n");
    return scan_tree(data, needles, n_needles, report);
}
