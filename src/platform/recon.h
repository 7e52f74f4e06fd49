/* Reconciliation with the banks (对账, docs/reconciliation.md): the bank's daily statement file
 * read and checked (recon_file.c), matched against the platform's own records and classified
 * (recon.c), each difference resolved by the operator (recon_resolve.c, operator_recon.c).
 * Internal to src/platform. */
#ifndef PAY_PLATFORM_RECON_H
#define PAY_PLATFORM_RECON_H

#include "core/errors.h"
#include "core/limits.h"
#include "crypto/crypto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pay_platform;
struct pay_platform_bank;

/* One movement of the statement file ("D" record). */
struct pay_recon_line {
    int64_t time_ms;
    char serial[PAY_LEDGER_ID_MAX + 1];    /* the bank's own id of the movement */
    char kind[24];                         /* PAYMENT, REFUND, AGREEMENT_DEBIT, TRANSFER, ... */
    bool credit;                           /* money into our reserve account */
    int64_t amount_minor;                  /* > 0 */
    char reference[PAY_LEDGER_ID_MAX + 1]; /* our order / refund / transfer id, or the bank's */
};

/* A statement file as read and checked: header, records, trailer. */
struct pay_recon_file {
    char bank[PAY_BANK_CODE_MAX + 1], mer_id[65], account[65], currency[4], date[11];
    int64_t from_ms, to_ms;               /* the bank's day, [from, to) in UTC */
    int64_t opening_minor, closing_minor; /* our account's balance at from and at to */
    int64_t credit_minor, debit_minor;    /* the trailer's totals */
    char sha256[PAY_SHA256_HEX_LEN];      /* of everything before the trailer */
    struct pay_recon_line *lines;         /* heap; pay_recon_file_fini */
    size_t n;
};

/* Reads text (len bytes) as a statement file of bank b for date: every record well formed, the
 * header naming b's code, our merchant id and account, the date; the trailer's count and totals
 * equal to the records', opening + credits - debits = closing, and its SHA-256 that of the
 * bytes before it. STATEMENT_INVALID saying which check failed. out is filled (fini it even on
 * failure). */
enum pay_err pay_recon_file_parse(const struct pay_platform_bank *b, const char *date,
                                  const char *text, size_t len, struct pay_recon_file *out,
                                  struct pay_error *err);
void pay_recon_file_fini(struct pay_recon_file *f);
/* "YYYY-MM-DDTHH:MM:SSZ" into Unix ms; false when it is not exactly that. */
bool pay_recon_time_parse(const char *text, int64_t *ms);

/* One run for bank code and date (YYYY-MM-DD, the bank's day): fetches the file, matches it,
 * stores the run and its differences (a rerun upserts them: a resolved one stays resolved, an
 * open one no longer found is cleared). source: "scheduler" or "command". The run's id into
 * run_id (PAY_ID_MAX), its outcome ("matched", "differences", "failed") into status (16). A
 * failed fetch is stored as a failed run and returned. Moves no money. */
enum pay_err pay_platform_reconcile(struct pay_platform *p, const char *bank, const char *date,
                                    const char *source, char *run_id, char *status,
                                    struct pay_error *err);
/* The sweeper's look: once a day, from [platform] reconcile_time, yesterday's run for every
 * bank (again at most hourly while it fails). */
void pay_platform_recon_work(struct pay_platform *p);

/* The operator resolves open difference diff_id: "accept_bank" (our records follow the bank:
 * a payment whose notification never came is booked as it would have been), "accept_ours"
 * (nothing moves; the bank is to correct it) or "write_off" (the difference moves between the
 * reserve's mirror and pf.suspense.<cur>, balanced). note: the operator's words (case number).
 * RECON_DIFFERENCE_NOT_FOUND, RECON_DIFFERENCE_RESOLVED, FIELD_INVALID (resolution). */
enum pay_err pay_platform_recon_resolve(struct pay_platform *p, const char *diff_id,
                                        const char *resolution, const char *note, const char *actor,
                                        struct pay_error *err);

#endif
