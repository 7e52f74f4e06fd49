/* The fault-injection VFS shim (store/faults.h), after SQLite's own test VFSes: each file
 * opened through it wraps the real VFS's file, which lives right behind the wrapper in the
 * memory SQLite allocates (szOsFile covers both). */
#include "store/faults.h"

#include "core/faults.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>

#define SHIM_NAME "paygate-faults"

static sqlite3_vfs *real_vfs; /* the default VFS before the shim, set once */
static sqlite3_vfs shim_vfs;
static int install_rc = -1;

struct shim_file {
    sqlite3_file base;  /* pMethods = shim_io while the real file is open */
    sqlite3_file *real; /* points right behind this struct */
};

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((struct shim_file *)f)->real;
}

/* SQLite's answer for a failed call of kind op. */
static int fault_rc(enum pay_fault_op op, enum pay_fault_error e)
{
    if (e == PAY_FAULT_FULL && op != PAY_FAULT_READ)
        return SQLITE_FULL;
    switch (op) {
    case PAY_FAULT_READ:
        return SQLITE_IOERR_READ;
    case PAY_FAULT_WRITE:
        return SQLITE_IOERR_WRITE;
    case PAY_FAULT_SYNC:
        return SQLITE_IOERR_FSYNC;
    case PAY_FAULT_TRUNCATE:
        return SQLITE_IOERR_TRUNCATE;
    }
    return SQLITE_IOERR;
}

/* --- the four calls that may fail ---------------------------------------------------------- */

static int shim_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    enum pay_fault_error e = pay_fault_hit(PAY_FAULT_READ);
    if (e != PAY_FAULT_NONE)
        return fault_rc(PAY_FAULT_READ, e);
    sqlite3_file *r = real_of(f);
    return r->pMethods->xRead(r, buf, n, off);
}

static int shim_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    enum pay_fault_error e = pay_fault_hit(PAY_FAULT_WRITE);
    if (e != PAY_FAULT_NONE)
        return fault_rc(PAY_FAULT_WRITE, e);
    sqlite3_file *r = real_of(f);
    return r->pMethods->xWrite(r, buf, n, off);
}

static int shim_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    enum pay_fault_error e = pay_fault_hit(PAY_FAULT_TRUNCATE);
    if (e != PAY_FAULT_NONE)
        return fault_rc(PAY_FAULT_TRUNCATE, e);
    sqlite3_file *r = real_of(f);
    return r->pMethods->xTruncate(r, size);
}

static int shim_sync(sqlite3_file *f, int flags)
{
    enum pay_fault_error e = pay_fault_hit(PAY_FAULT_SYNC);
    if (e != PAY_FAULT_NONE)
        return fault_rc(PAY_FAULT_SYNC, e);
    sqlite3_file *r = real_of(f);
    return r->pMethods->xSync(r, flags);
}

/* --- the rest: forwarded ------------------------------------------------------------------- */

static int shim_close(sqlite3_file *f)
{
    sqlite3_file *r = real_of(f);
    int rc = r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
    f->pMethods = NULL;
    return rc;
}

static int shim_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xFileSize(r, size);
}

static int shim_lock(sqlite3_file *f, int level)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xLock(r, level);
}

static int shim_unlock(sqlite3_file *f, int level)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xUnlock(r, level);
}

static int shim_check_reserved(sqlite3_file *f, int *out)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xCheckReservedLock(r, out);
}

static int shim_file_control(sqlite3_file *f, int op, void *arg)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xFileControl(r, op, arg);
}

static int shim_sector_size(sqlite3_file *f)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xSectorSize(r);
}

static int shim_device_characteristics(sqlite3_file *f)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xDeviceCharacteristics(r);
}

/* The shared-memory index of the WAL is mapped memory, not I/O calls: forwarded as it is. */
static int shim_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xShmMap(r, pg, pgsz, extend, pp);
}

static int shim_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xShmLock(r, offset, n, flags);
}

static void shim_shm_barrier(sqlite3_file *f)
{
    sqlite3_file *r = real_of(f);
    r->pMethods->xShmBarrier(r);
}

static int shim_shm_unmap(sqlite3_file *f, int delete_flag)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xShmUnmap(r, delete_flag);
}

static int shim_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xFetch(r, off, n, pp);
}

static int shim_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xUnfetch(r, off, p);
}

static const sqlite3_io_methods shim_io = {
    .iVersion = 3,
    .xClose = shim_close,
    .xRead = shim_read,
    .xWrite = shim_write,
    .xTruncate = shim_truncate,
    .xSync = shim_sync,
    .xFileSize = shim_file_size,
    .xLock = shim_lock,
    .xUnlock = shim_unlock,
    .xCheckReservedLock = shim_check_reserved,
    .xFileControl = shim_file_control,
    .xSectorSize = shim_sector_size,
    .xDeviceCharacteristics = shim_device_characteristics,
    .xShmMap = shim_shm_map,
    .xShmLock = shim_shm_lock,
    .xShmBarrier = shim_shm_barrier,
    .xShmUnmap = shim_shm_unmap,
    .xFetch = shim_fetch,
    .xUnfetch = shim_unfetch,
};

/* A real file whose methods are older than version 3 would lack the calls above; the unix
 * VFS's are version 3. Such a file is used without the shim rather than crash. */
static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)vfs;
    struct shim_file *s = (struct shim_file *)f;
    s->real = (sqlite3_file *)(s + 1);
    s->real->pMethods = NULL;
    int rc = real_vfs->xOpen(real_vfs, name, s->real, flags, out);
    /* SQLite calls xClose when pMethods is set, also after a failed open. */
    f->pMethods = s->real->pMethods ? &shim_io : NULL;
    if (rc == SQLITE_OK && s->real->pMethods->iVersion < 3)
        rc = SQLITE_CANTOPEN;
    return rc;
}

/* The VFS-level calls go to the real VFS, as the real VFS (some look at their own pAppData). */
static int shim_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int shim_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int shim_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *shim_dlopen(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return real_vfs->xDlOpen(real_vfs, name);
}

static void shim_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    real_vfs->xDlError(real_vfs, n, out);
}

static void (*shim_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return real_vfs->xDlSym(real_vfs, h, sym);
}

static void shim_dlclose(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    real_vfs->xDlClose(real_vfs, h);
}

static int shim_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int shim_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return real_vfs->xSleep(real_vfs, us);
}

static int shim_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int shim_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xGetLastError(real_vfs, n, out);
}

static int shim_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static void install(void)
{
    /* As the store's first open does (store_sqlite.c): only possible before SQLite starts,
     * which sqlite3_vfs_find does. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs || real_vfs->iVersion < 2)
        return;
    shim_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile,
        .mxPathname = real_vfs->mxPathname,
        .zName = SHIM_NAME,
        .xOpen = shim_open,
        .xDelete = shim_delete,
        .xAccess = shim_access,
        .xFullPathname = shim_full_pathname,
        .xDlOpen = shim_dlopen,
        .xDlError = shim_dlerror,
        .xDlSym = shim_dlsym,
        .xDlClose = shim_dlclose,
        .xRandomness = shim_randomness,
        .xSleep = shim_sleep,
        .xCurrentTime = shim_current_time,
        .xGetLastError = shim_last_error,
        .xCurrentTimeInt64 = shim_current_time64,
    };
    if (sqlite3_vfs_register(&shim_vfs, 1) != SQLITE_OK)
        return;
    pay_fault_layer_installed();
    install_rc = 0;
}

int pay_store_faults_install(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install);
    return install_rc;
}
