/* The store's fault-injection layer, for tests only: a SQLite VFS shim over the default VFS
 * ("unix") whose files ask the process's fault plan (core/faults.h) before every xRead,
 * xWrite, xSync and xTruncate, and fail the chosen ones with SQLITE_IOERR_* or SQLITE_FULL
 * instead of performing them. Everything else is the real VFS's.
 *
 * Installing it makes it SQLite's default VFS for the rest of the process: every database
 * opened afterwards goes through it (a store's writer and readers alike). With no plan armed
 * it only forwards. Servers install it only when started with the test clock (fake_clock);
 * docs/store.md, "Fault injection". */
#ifndef PAY_STORE_FAULTS_H
#define PAY_STORE_FAULTS_H

/* Registers the shim as the default VFS (once per process; later calls do nothing) and tells
 * core/faults.h that a layer is present. Call it before opening the stores it should cover.
 * 0, or -1 when SQLite has no default VFS or refused the registration. */
int pay_store_faults_install(void);

#endif
