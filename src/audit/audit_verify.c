/* `paygate audit verify`'s check of a whole log: numbering, each entry's hash, the chain and
 * the signed checkpoints; every problem is named by the entry it is found at (docs/audit.md). */
#include "audit/audit.h"

#include "core/assertions.h"
#include "core/limits.h"
#include "crypto/sign.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct link {
    int64_t seq;
    uint8_t hash[PAY_SHA256_LEN];
};

struct verify {
    struct pay_store_tx *tx;
    const struct pay_sig_pubkey *key;
    FILE *out;
    size_t problems;
    struct link *links;   /* every entry's (seq, stored hash) in seq order */
    struct link *by_hash; /* the same sorted by hash, to find an entry by its hash */
    size_t n;
};

static void report(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct verify *v, const char *fmt, ...)
{
    if (++v->problems > PAY_AUDIT_REPORT_LINES_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(v->out, fmt, ap);
    va_end(ap);
    fputc('\n', v->out);
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(((const struct link *)a)->hash, ((const struct link *)b)->hash, PAY_SHA256_LEN);
}

/* The entry whose stored hash is h, or NULL. */
static const struct link *find_hash(const struct verify *v, const uint8_t *h)
{
    struct link key = {0};
    memcpy(key.hash, h, PAY_SHA256_LEN);
    return bsearch(&key, v->by_hash, v->n, sizeof key, cmp_hash);
}

static enum pay_err load_links(struct verify *v, struct pay_error *err)
{
    struct pay_store_stmt *st =
        pay_store_query(v->tx, err, "SELECT seq, hash FROM audit_log ORDER BY seq", "");
    if (!st)
        return err->code;
    size_t cap = 0;
    int r;
    while ((r = pay_store_step(st, err)) == 1) {
        if (v->n == cap) {
            cap = cap ? cap * 2 : 1024;
            struct link *grown = realloc(v->links, cap * sizeof *grown);
            PAY_ASSERT_MSG(grown, "out of memory reading the audit log");
            v->links = grown;
        }
        size_t len = 0;
        const void *h = pay_store_col_blob(st, 1, &len);
        struct link *l = &v->links[v->n++];
        l->seq = pay_store_col_int64(st, 0);
        memset(l->hash, 0, sizeof l->hash);
        memcpy(l->hash, h, len < PAY_SHA256_LEN ? len : PAY_SHA256_LEN);
    }
    pay_store_done(st);
    if (r < 0)
        return err->code;
    v->by_hash = malloc((v->n ? v->n : 1) * sizeof *v->by_hash);
    PAY_ASSERT_MSG(v->by_hash, "out of memory reading the audit log");
    if (v->n)
        memcpy(v->by_hash, v->links, v->n * sizeof *v->links);
    qsort(v->by_hash, v->n, sizeof *v->by_hash, cmp_hash);
    return PAY_ERR_OK;
}

static bool texts_in_bounds(struct pay_store_stmt *st)
{
    for (int c = 2; c <= 7; c++) {
        const char *t = pay_store_col_text(st, c);
        if (!t || strlen(t) > (c == 7 ? PAY_AUDIT_DETAIL_MAX : PAY_AUDIT_TEXT_MAX))
            return false;
    }
    return true;
}

/* One entry (row i of links): its own hash, then its place in the chain. */
static void check_entry(struct verify *v, size_t i, struct pay_store_stmt *st, bool *gap_before)
{
    int64_t seq = v->links[i].seq;
    size_t plen = 0, hlen = 0;
    const uint8_t *prev = pay_store_col_blob(st, 8, &plen);
    const void *hash = pay_store_col_blob(st, 9, &hlen);
    if (plen != PAY_SHA256_LEN || hlen != PAY_SHA256_LEN || !texts_in_bounds(st)) {
        report(v, "entry %lld: edited (a field no entry can hold)", (long long)seq);
        return;
    }
    struct pay_audit_entry e = {.actor = pay_store_col_text(st, 2),
                                .action = pay_store_col_text(st, 3),
                                .target = pay_store_col_text(st, 4),
                                .outcome = pay_store_col_text(st, 5),
                                .source = pay_store_col_text(st, 6),
                                .detail = pay_store_col_text(st, 7)};
    uint8_t h[PAY_SHA256_LEN];
    pay_audit_entry_hash(prev, pay_store_col_int64(st, 1), &e, h);
    if (!pay_ct_equal(h, hash, PAY_SHA256_LEN)) {
        report(v, "entry %lld: edited (its contents do not match its hash)", (long long)seq);
        return;
    }
    static const uint8_t zero[PAY_SHA256_LEN];
    const uint8_t *expected = i == 0 ? zero : v->links[i - 1].hash;
    if (memcmp(prev, expected, PAY_SHA256_LEN) == 0 || *gap_before)
        return; /* in place, or already reported as following a removal */
    const struct link *after = find_hash(v, prev);
    if (after)
        report(v, "entry %lld: out of order (it was written right after entry %lld)",
               (long long)seq, (long long)after->seq);
    else if (memcmp(prev, zero, PAY_SHA256_LEN) == 0)
        report(v, "entry %lld: out of order (it was written as the first entry)", (long long)seq);
    else
        report(v, "entry %lld: the entry written before it is missing (removed or replaced)",
               (long long)seq);
}

static enum pay_err check_entries(struct verify *v, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        v->tx, err,
        "SELECT seq, at_ms, actor, action, target, outcome, source, detail, prev_hash, hash"
        " FROM audit_log ORDER BY seq",
        "");
    if (!st)
        return err->code;
    int r;
    for (size_t i = 0; (r = pay_store_step(st, err)) == 1 && i < v->n; i++) {
        int64_t expected_seq = i == 0 ? 1 : v->links[i - 1].seq + 1;
        bool gap = v->links[i].seq != expected_seq;
        if (gap && v->links[i].seq == expected_seq + 1)
            report(v, "entry %lld: missing (removed)", (long long)expected_seq);
        else if (gap)
            report(v, "entries %lld to %lld: missing (removed)", (long long)expected_seq,
                   (long long)(v->links[i].seq - 1));
        check_entry(v, i, st, &gap);
    }
    pay_store_done(st);
    return r < 0 ? err->code : PAY_ERR_OK;
}

static const struct link *find_seq(const struct verify *v, int64_t seq)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->links[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->n && v->links[lo].seq == seq ? &v->links[lo] : NULL;
}

static bool signature_valid(const struct verify *v, struct pay_store_stmt *st, int64_t seq,
                            const uint8_t *hash)
{
    const char *key_id = pay_store_col_text(st, 3), *alg = pay_store_col_text(st, 4);
    size_t sig_len = 0;
    const uint8_t *sig = pay_store_col_blob(st, 5, &sig_len);
    if (!key_id || strlen(key_id) > PAY_AUDIT_TEXT_MAX || !alg || !sig)
        return false;
    uint8_t msg[PAY_AUDIT_CHECKPOINT_MSG_MAX];
    size_t len = pay_audit_checkpoint_message(seq, hash, pay_store_col_int64(st, 2), key_id, msg,
                                              sizeof msg);
    if (v->key->alg == PAY_SIG_ED25519)
        return strcmp(alg, "ed25519") == 0 && sig_len == PAY_ED25519_SIG_LEN &&
               pay_ed25519_verify(sig, msg, len, v->key->ed25519) == 0;
    return v->key->alg == PAY_SIG_RSA_SHA256 && strcmp(alg, "rsa-sha256") == 0 &&
           pay_rsa_verify(v->key->rsa, msg, len, sig, sig_len) == 0;
}

/* Every checkpoint: signed by the key, matching the entry it names, none past the end; and
 * every PAY_AUDIT_CHECKPOINT_EVERY-th entry has one. *last gets the newest valid one. */
static enum pay_err check_checkpoints(struct verify *v, int64_t *last, struct pay_error *err)
{
    struct pay_store_stmt *st = pay_store_query(
        v->tx, err, "SELECT seq, hash, at_ms, key_id, alg, sig FROM audit_checkpoints ORDER BY seq",
        "");
    if (!st)
        return err->code;
    int64_t end = v->n ? v->links[v->n - 1].seq : 0, next_due = PAY_AUDIT_CHECKPOINT_EVERY;
    int r;
    while ((r = pay_store_step(st, err)) == 1) {
        int64_t seq = pay_store_col_int64(st, 0);
        size_t hlen = 0;
        const uint8_t *hash = pay_store_col_blob(st, 1, &hlen);
        for (; next_due < seq && next_due <= end; next_due += PAY_AUDIT_CHECKPOINT_EVERY)
            report(v, "entry %lld: its checkpoint is missing (removed)", (long long)next_due);
        if (seq == next_due)
            next_due += PAY_AUDIT_CHECKPOINT_EVERY;
        const struct link *l = find_seq(v, seq);
        if (hlen != PAY_SHA256_LEN || !signature_valid(v, st, seq, hash))
            report(v, "checkpoint at entry %lld: not signed by this server's key (edited)",
                   (long long)seq);
        else if (seq > end)
            report(v,
                   "entries %lld to %lld: missing (removed from the end; a signed checkpoint"
                   " names entry %lld)",
                   (long long)(end + 1), (long long)seq, (long long)seq);
        else if (l && memcmp(l->hash, hash, PAY_SHA256_LEN) != 0)
            report(v, "entry %lld: does not match its signed checkpoint (rewritten)",
                   (long long)seq);
        else if (l)
            *last = seq;
    }
    pay_store_done(st);
    for (; r == 0 && next_due <= end; next_due += PAY_AUDIT_CHECKPOINT_EVERY)
        report(v, "entry %lld: its checkpoint is missing (removed)", (long long)next_due);
    return r < 0 ? err->code : PAY_ERR_OK;
}

static enum pay_err verify_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct verify *v = ctx;
    free(v->links);
    free(v->by_hash);
    v->links = v->by_hash = NULL;
    v->n = v->problems = 0; /* a rerun starts over */
    v->tx = tx;
    int64_t last = 0;
    enum pay_err rc = load_links(v, err);
    if (rc == PAY_ERR_OK)
        rc = check_entries(v, err);
    if (rc == PAY_ERR_OK)
        rc = check_checkpoints(v, &last, err);
    if (rc != PAY_ERR_OK)
        return rc;
    if (v->problems > PAY_AUDIT_REPORT_LINES_MAX)
        fprintf(v->out, "... and %zu more\n", v->problems - PAY_AUDIT_REPORT_LINES_MAX);
    fprintf(v->out,
            "audit verify: %zu entries, last signed checkpoint at entry %lld, %zu problem(s)\n",
            v->n, (long long)last, v->problems);
    return PAY_ERR_OK;
}

enum pay_err pay_audit_verify(struct pay_store *s, const struct pay_sig_pubkey *key, FILE *out,
                              size_t *problems, struct pay_error *err)
{
    PAY_ASSERT(s && key && out && problems);
    struct verify v = {.key = key, .out = out};
    enum pay_err rc = pay_store_run_read(s, verify_tx, &v, err);
    free(v.links);
    free(v.by_hash);
    *problems = v.problems;
    return rc;
}
