/* The audit log on a real SQLite file, or in the pg suite a PostgreSQL database of its own
 * (docs/audit.md): the canonical encoding's test vector,
 * the chain and its signed checkpoints (Ed25519 and RSA), appends that roll back with their
 * transaction, refused entries, the append-only triggers, the consoles' filters, and every
 * kind of tampering `paygate audit verify` must name: an edited, removed or reordered entry,
 * a cut end, a forged or removed checkpoint, a chain rewritten with fresh hashes, a foreign
 * key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "lib/harness.h"
#include "lib/testdb.h"

/* docs/audit.md's vector: the entry below, first in its log, at 1764000000000 (its Python
 * reference implementation gives the same). */
#define AUDIT_VECTOR_HASH "c4d89ff642d0920a1e979b9ed928442acc36ef6c025a82d80b8ebc1cf43ea53e"

static struct pay_ed25519_key key, other_key;
static pay_audit_signer signer;

struct fixture {
    char dir[256], path[600]; /* path: the SQLite file or the PostgreSQL URL */
    struct pay_store *s;
};

static struct pay_store *open_store(const char *path)
{
    const struct pay_store_component *schema[] = {&pay_audit_schema, NULL};
    struct pay_store_options o = {.readers = 1, .unsafe_no_sync = true};
    struct pay_store *s = NULL;
    struct pay_error err = {0};
    assert_int_equal(pay_store_open(path, &o, schema, &s, &err), PAY_ERR_OK);
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(th_tmpdir(f->dir, sizeof f->dir, "paygate-audit"), 0);
    char file[300];
    snprintf(file, sizeof file, "%s/audit.db", f->dir);
    assert_int_equal(th_db_new("audit", file, f->path, sizeof f->path), 0);
    f->s = open_store(f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pay_store_close(f->s);
    th_tmpdir_done(f->dir);
    free(f);
    return 0;
}

struct append_ctx {
    const pay_audit_signer *signer;
    int from, n;
    enum pay_err fail_with; /* the body's answer after appending (OK: commit) */
};

static enum pay_err append_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct append_ctx *a = ctx;
    for (int i = a->from; i < a->from + a->n; i++) {
        char actor[32], target[32], detail[64];
        snprintf(actor, sizeof actor, "consumer:c_%d", i % 3);
        snprintf(target, sizeof target, "tr_%d", i);
        snprintf(detail, sizeof detail, "amount_minor=%d currency=CNY", 100 * i);
        struct pay_audit_entry e = {.actor = actor,
                                    .action = i % 2 ? "trade.pay" : "login",
                                    .target = target,
                                    .outcome = i % 5 == 0 ? "CREDENTIALS_INVALID" : NULL,
                                    .source = "127.0.0.1",
                                    .detail = detail};
        enum pay_err e2 = pay_audit_append(tx, a->signer, &e, NULL, err);
        if (e2 != PAY_ERR_OK)
            return e2;
    }
    return a->fail_with == PAY_ERR_OK ? PAY_ERR_OK : pay_error_set(err, a->fail_with, "x", NULL);
}

static void append(struct pay_store *s, int from, int n)
{
    struct append_ctx a = {&signer, from, n, PAY_ERR_OK};
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_tx(s, append_tx, &a, &err), PAY_ERR_OK);
}

/* Runs verify with key k; returns the problems and leaves the report in out (heap). */
static size_t verify(struct pay_store *s, const struct pay_sig_pubkey *k, char **out)
{
    size_t len = 0, problems = 0;
    FILE *mem = open_memstream(out, &len);
    struct pay_error err = {0};
    assert_int_equal(pay_audit_verify(s, k, mem, &problems, &err), PAY_ERR_OK);
    fclose(mem);
    return problems;
}

static struct pay_sig_pubkey ed_pub(const struct pay_ed25519_key *k)
{
    struct pay_sig_pubkey p = {.alg = PAY_SIG_ED25519};
    memcpy(p.ed25519, k->pk, sizeof p.ed25519);
    return p;
}

static void expect_clean(struct pay_store *s, const char *summary)
{
    struct pay_sig_pubkey pk = ed_pub(&key);
    char *out = NULL;
    size_t problems = verify(s, &pk, &out);
    if (problems != 0 || !strstr(out, summary))
        print_error("%s", out);
    assert_int_equal(problems, 0);
    assert_non_null(strstr(out, summary));
    free(out);
}

/* Runs ctx's statements (separated by ';', none inside a literal) one by one. */
static enum pay_err script_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    enum pay_err e = PAY_ERR_OK;
    for (const char *p = ctx; *p && e == PAY_ERR_OK;) {
        size_t n = strcspn(p, ";");
        char one[512];
        assert_true(n < sizeof one);
        memcpy(one, p, n);
        one[n] = '\0';
        if (one[strspn(one, " ")])
            e = pay_store_exec(tx, err, one, "");
        p += n + (p[n] == ';');
    }
    return e;
}

/* Tampers with the database as someone with write access would: the append-only triggers
 * disabled (SQLite: dropped, with the sqlite3 tool), then sql. */
static void tamper(struct fixture *f, const char *sql)
{
    if (th_db_is_pg()) {
        size_t cap = strlen(sql) + 200;
        char *all = malloc(cap);
        assert_non_null(all);
        snprintf(all, cap,
                 "ALTER TABLE audit_log DISABLE TRIGGER USER;"
                 " ALTER TABLE audit_checkpoints DISABLE TRIGGER USER; %s",
                 sql);
        struct pay_error err = {0};
        assert_int_equal(pay_store_run_tx(f->s, script_tx, all, &err), PAY_ERR_OK);
        free(all);
        return;
    }
    pay_store_close(f->s);
    char file[400];
    snprintf(file, sizeof file, "%s/tamper.sql", f->dir);
    FILE *out = fopen(file, "w");
    assert_non_null(out);
    fprintf(out,
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
            " DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER audit_checkpoints_no_delete;"
            " %s\n",
            sql);
    fclose(out);
    assert_int_equal(th_sh("sqlite3 '%s' < '%s'", f->path, file), 0);
    f->s = open_store(f->path);
}

/* verify names exactly what is expected: problems found and the line present. */
static void expect_caught(struct fixture *f, const char *line)
{
    struct pay_sig_pubkey pk = ed_pub(&key);
    char *out = NULL;
    size_t problems = verify(f->s, &pk, &out);
    if (problems == 0 || !strstr(out, line))
        print_error("wanted \"%s\" in:\n%s", line, out);
    assert_true(problems > 0);
    assert_non_null(strstr(out, line));
    free(out);
}

/* --- tests -------------------------------------------------------------------------------- */

/* The documented vector of docs/audit.md: SHA-256 over the canonical bytes of one entry. */
static void vector(void **state)
{
    (void)state;
    static const uint8_t zero[PAY_SHA256_LEN];
    struct pay_audit_entry e = {.actor = "operator",
                                .action = "merchant.add",
                                .target = "m_shop",
                                .source = "127.0.0.1",
                                .detail = "fee_bp=60"};
    uint8_t h[PAY_SHA256_LEN];
    char hex[PAY_HEX_LEN(PAY_SHA256_LEN)];
    pay_audit_entry_hash(zero, 1764000000000LL, &e, h);
    assert_int_equal(pay_hex_encode(hex, sizeof hex, h, sizeof h), 0);
    assert_string_equal(hex, AUDIT_VECTOR_HASH);
    /* the outcome NULL is "ok", and every field is in the hash */
    e.outcome = "ok";
    pay_audit_entry_hash(zero, 1764000000000LL, &e, h);
    assert_int_equal(pay_hex_encode(hex, sizeof hex, h, sizeof h), 0);
    assert_string_equal(hex, AUDIT_VECTOR_HASH);
    e.detail = "fee_bp=61";
    pay_audit_entry_hash(zero, 1764000000000LL, &e, h);
    assert_int_equal(pay_hex_encode(hex, sizeof hex, h, sizeof h), 0);
    assert_string_not_equal(hex, AUDIT_VECTOR_HASH);
    /* length prefixes: moving a byte from one field to the next changes the hash */
    uint8_t a[PAY_SHA256_LEN], b[PAY_SHA256_LEN];
    pay_audit_entry_hash(zero, 1,
                         &(struct pay_audit_entry){.action = "x", .actor = "ab", .target = "c"}, a);
    pay_audit_entry_hash(zero, 1,
                         &(struct pay_audit_entry){.action = "x", .actor = "a", .target = "bc"}, b);
    assert_memory_not_equal(a, b, sizeof a);
}

/* The seqs of the checkpoints, "32,64", into ctx (64 bytes). */
static enum pay_err checkpoint_seqs_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    char *out = ctx;
    out[0] = '\0';
    struct pay_store_stmt *st =
        pay_store_query(tx, err, "SELECT seq FROM audit_checkpoints ORDER BY seq", "");
    if (!st)
        return err->code;
    while (pay_store_step(st, err) == 1) {
        size_t n = strlen(out);
        snprintf(out + n, 64 - n, "%s%lld", n ? "," : "", (long long)pay_store_col_int64(st, 0));
    }
    pay_store_done(st);
    return PAY_ERR_OK;
}

static void chain_and_checkpoints(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 40);
    append(f->s, 41, 30);
    expect_clean(f->s, "70 entries, last signed checkpoint at entry 64, 0 problem(s)");
    /* the checkpoints: every 32nd entry */
    struct pay_error err = {0};
    char seqs[64] = "";
    assert_int_equal(pay_store_run_read(f->s, checkpoint_seqs_tx, seqs, &err), PAY_ERR_OK);
    assert_string_equal(seqs, "32,64");
}

static void rollback_takes_the_entry(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 3);
    struct append_ctx a = {&signer, 4, 2, PAY_ERR_FIELD_INVALID};
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_tx(f->s, append_tx, &a, &err), PAY_ERR_FIELD_INVALID);
    append(f->s, 4, 2); /* numbered 4 and 5: nothing of the rolled-back ones is left */
    expect_clean(f->s, "5 entries, last signed checkpoint at entry 0, 0 problem(s)");
}

static uint64_t statements(struct pay_store *s)
{
    struct pay_store_stats st;
    pay_store_get_stats(s, &st);
    return st.prepares + st.cache_hits;
}

/* The head is read once per write transaction: its appends remember it (a round trip each on
 * PostgreSQL otherwise). 10 appends: the transaction's generation, one read, 10 inserts. */
static void appends_read_the_head_once(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 2);
    uint64_t before = statements(f->s);
    append(f->s, 3, 10);
    assert_int_equal(statements(f->s) - before, 12);
    expect_clean(f->s, "12 entries, last signed checkpoint at entry 0, 0 problem(s)");
}

/* A savepoint rolled back inside the transaction undoes an append: the next append reads the
 * head again and follows the entry before it. */
static enum pay_err undone_inside_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct append_ctx a = {&signer, 1, 1, PAY_ERR_OK};
    (void)ctx;
    enum pay_err e = append_tx(tx, &a, err);
    if (e == PAY_ERR_OK)
        e = pay_store_savepoint(tx, err);
    a.from = 2;
    if (e == PAY_ERR_OK && (e = append_tx(tx, &a, err)) == PAY_ERR_OK)
        e = pay_store_rollback_to(tx, err);
    a.from = 3;
    return e == PAY_ERR_OK ? append_tx(tx, &a, err) : e;
}

static void savepoint_rollback_forgets_the_head(void **state)
{
    struct fixture *f = *state;
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_tx(f->s, undone_inside_tx, NULL, &err), PAY_ERR_OK);
    expect_clean(f->s, "2 entries, last signed checkpoint at entry 0, 0 problem(s)");
    append(f->s, 4, 1); /* and the next transaction follows them */
    expect_clean(f->s, "3 entries, last signed checkpoint at entry 0, 0 problem(s)");
}

struct one_ctx {
    struct pay_audit_entry e;
};

static enum pay_err one_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    return pay_audit_append(tx, &signer, &((struct one_ctx *)ctx)->e, NULL, err);
}

static void refused_entries(void **state)
{
    struct fixture *f = *state;
    struct pay_error err = {0};
    struct one_ctx c = {{.actor = "admin", .action = "Card Issue"}};
    assert_int_equal(pay_store_run_tx(f->s, one_tx, &c, &err), PAY_ERR_FIELD_INVALID);
    assert_string_equal(err.field, "audit.action");
    char big[PAY_AUDIT_DETAIL_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    c.e = (struct pay_audit_entry){.actor = "admin", .action = "card.issue", .detail = big};
    assert_int_equal(pay_store_run_tx(f->s, one_tx, &c, &err), PAY_ERR_FIELD_INVALID);
    assert_string_equal(err.field, "audit.detail");
    c.e.detail = "ok";
    c.e.checkpoint = true;
    assert_int_equal(pay_store_run_tx(f->s, one_tx, &c, &err), PAY_ERR_OK);
    expect_clean(f->s, "1 entries, last signed checkpoint at entry 1, 0 problem(s)");
}

static enum pay_err exec_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    return pay_store_exec(tx, err, ctx, "");
}

static void append_only(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 33);
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_tx(f->s, exec_tx, "UPDATE audit_log SET detail = 'x'", &err),
                     PAY_ERR_DB_CONSTRAINT);
    assert_int_equal(pay_store_run_tx(f->s, exec_tx, "DELETE FROM audit_log WHERE seq = 2", &err),
                     PAY_ERR_DB_CONSTRAINT);
    assert_int_equal(
        pay_store_run_tx(f->s, exec_tx, "DELETE FROM audit_checkpoints WHERE seq = 32", &err),
        PAY_ERR_DB_CONSTRAINT);
    expect_clean(f->s, "33 entries, last signed checkpoint at entry 32, 0 problem(s)");
}

struct list_ctx {
    struct pay_audit_filter f;
    json_t *out;
    int64_t total;
};

static enum pay_err list_tx(struct pay_store_tx *tx, void *ctx, struct pay_error *err)
{
    struct list_ctx *l = ctx;
    json_decref(l->out);
    return pay_audit_list(tx, &l->f, &l->out, &l->total, err);
}

static json_t *list(struct pay_store *s, struct list_ctx *l)
{
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_read(s, list_tx, l, &err), PAY_ERR_OK);
    return l->out;
}

static void filters(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 30);
    struct list_ctx l = {0};
    json_t *a = list(f->s, &l);
    assert_int_equal(json_array_size(a), 30);
    assert_int_equal(l.total, 30);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "seq")), 30);
    snprintf(l.f.actor, sizeof l.f.actor, "consumer:c_1"); /* i % 3 == 1: 10 of them */
    assert_int_equal(json_array_size(list(f->s, &l)), 10);
    snprintf(l.f.action, sizeof l.f.action, "trade."); /* and odd: 5 */
    assert_int_equal(json_array_size(list(f->s, &l)), 5);
    memset(&l.f, 0, sizeof l.f);
    snprintf(l.f.outcome, sizeof l.f.outcome, "refused"); /* i % 5 == 0: 6 */
    a = list(f->s, &l);
    assert_int_equal(json_array_size(a), 6);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "outcome")),
                        "CREDENTIALS_INVALID");
    snprintf(l.f.outcome, sizeof l.f.outcome, "ok");
    assert_int_equal(json_array_size(list(f->s, &l)), 24);
    memset(&l.f, 0, sizeof l.f);
    snprintf(l.f.target, sizeof l.f.target, "tr_7");
    a = list(f->s, &l);
    assert_int_equal(json_array_size(a), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "seq")), 7);
    memset(&l.f, 0, sizeof l.f);
    l.f.limit = 10;
    l.f.before_seq = 11; /* the page before entry 11: 10 down to 1 */
    a = list(f->s, &l);
    assert_int_equal(json_array_size(a), 10);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 9), "seq")), 1);
    memset(&l.f, 0, sizeof l.f);
    l.f.from_ms = pay_clock_now_ms() + 1; /* the future: none */
    assert_int_equal(json_array_size(list(f->s, &l)), 0);
    json_decref(l.out);
}

static void tamper_edit(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 70);
    tamper(f, "UPDATE audit_log SET detail = 'amount_minor=1 currency=CNY' WHERE seq = 10;");
    expect_caught(f, "entry 10: edited (its contents do not match its hash)");
}

static void tamper_delete(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 70);
    tamper(f, "DELETE FROM audit_log WHERE seq = 20;");
    expect_caught(f, "entry 20: missing (removed)");
}

static void tamper_delete_renumbered(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 70);
    /* removed, and the later ones renumbered to close the gap */
    tamper(f, "DELETE FROM audit_log WHERE seq = 20;"
              " UPDATE audit_log SET seq = -seq WHERE seq > 20;"
              " UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0;");
    expect_caught(f, "entry 20: the entry written before it is missing (removed or replaced)");
}

static void tamper_reorder(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 70);
    tamper(f, "UPDATE audit_log SET seq = -1 WHERE seq = 40;"
              " UPDATE audit_log SET seq = 40 WHERE seq = 41;"
              " UPDATE audit_log SET seq = 41 WHERE seq = -1;");
    expect_caught(f, "entry 40: out of order (it was written right after entry 41)");
    expect_caught(f, "entry 41: out of order (it was written right after entry 39)");
}

static void tamper_cut_end(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 70);
    tamper(f, "DELETE FROM audit_log WHERE seq >= 60;");
    expect_caught(f, "entries 60 to 64: missing (removed from the end; a signed checkpoint names"
                     " entry 64)");
}

static void tamper_checkpoints(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 70);
    tamper(f, "UPDATE audit_checkpoints SET at_ms = at_ms + 1 WHERE seq = 32;"
              " DELETE FROM audit_checkpoints WHERE seq = 64;");
    expect_caught(f, "checkpoint at entry 32: not signed by this server's key (edited)");
    expect_caught(f, "entry 64: its checkpoint is missing (removed)");
}

/* An editor who knows the scheme rewrites entry 50 and every hash after it: the chain is
 * whole again, but the signed checkpoint at 64 no longer matches. */
static void tamper_rehashed(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 70);
    char sql[65536];
    size_t n = (size_t)snprintf(sql, sizeof sql,
                                "UPDATE audit_log SET detail = 'amount_minor=1' WHERE seq = 50;");
    uint8_t prev[PAY_SHA256_LEN];
    struct list_ctx l = {.f = {.limit = 100}};
    json_t *a = list(f->s, &l); /* newest first */
    /* a blob literal: SQLite's x'..', PostgreSQL's bytea '\x..' */
    const char *hex_open = th_db_is_pg() ? "'\\x" : "x'";
    assert_int_equal(
        pay_hex_decode(prev, sizeof prev,
                       json_string_value(json_object_get(json_array_get(a, 70 - 49), "hash")), 64,
                       &(size_t){0}),
        0);
    for (int seq = 50; seq <= 70; seq++) {
        json_t *r = json_array_get(a, (size_t)(70 - seq));
        struct pay_audit_entry e = {
            .actor = json_string_value(json_object_get(r, "actor")),
            .action = json_string_value(json_object_get(r, "action")),
            .target = json_string_value(json_object_get(r, "target")),
            .outcome = json_string_value(json_object_get(r, "outcome")),
            .source = json_string_value(json_object_get(r, "source")),
            .detail =
                seq == 50 ? "amount_minor=1" : json_string_value(json_object_get(r, "detail"))};
        uint8_t h[PAY_SHA256_LEN];
        char ph[65], hh[65];
        pay_audit_entry_hash(prev, json_integer_value(json_object_get(r, "at_ms")), &e, h);
        pay_hex_encode(ph, sizeof ph, prev, sizeof prev);
        pay_hex_encode(hh, sizeof hh, h, sizeof h);
        n += (size_t)snprintf(
            sql + n, sizeof sql - n,
            " UPDATE audit_log SET prev_hash = %s%s', hash = %s%s' WHERE seq = %d;", hex_open, ph,
            hex_open, hh, seq);
        memcpy(prev, h, sizeof prev);
    }
    json_decref(l.out);
    assert_true(n < sizeof sql);
    tamper(f, sql);
    expect_caught(f, "entry 64: does not match its signed checkpoint (rewritten)");
}

static void foreign_key(void **state)
{
    struct fixture *f = *state;
    append(f->s, 1, 40);
    struct pay_sig_pubkey pk = ed_pub(&other_key);
    char *out = NULL;
    assert_int_equal(verify(f->s, &pk, &out), 1);
    assert_non_null(strstr(out, "checkpoint at entry 32: not signed by this server's key"));
    free(out);
}

/* The banks sign with RSA-SHA256. */
static void rsa_checkpoints(void **state)
{
    struct fixture *f = *state;
    struct pay_rsa_key *rsa = NULL, *rsa2 = NULL;
    assert_int_equal(pay_rsa_generate(2048, &rsa), 0);
    assert_int_equal(pay_rsa_generate(2048, &rsa2), 0);
    pay_audit_signer bank = {.alg = PAY_SIG_RSA_SHA256, .key_id = "icbc", .rsa = rsa};
    struct append_ctx a = {&bank, 1, 33, PAY_ERR_OK};
    struct pay_error err = {0};
    assert_int_equal(pay_store_run_tx(f->s, append_tx, &a, &err), PAY_ERR_OK);
    struct pay_sig_pubkey pk = {.alg = PAY_SIG_RSA_SHA256, .rsa = rsa};
    char *out = NULL;
    assert_int_equal(verify(f->s, &pk, &out), 0);
    assert_non_null(strstr(out, "33 entries, last signed checkpoint at entry 32"));
    free(out);
    pk.rsa = rsa2;
    assert_int_equal(verify(f->s, &pk, &out), 1);
    free(out);
    pk = ed_pub(&key); /* an Ed25519 key never accepts an RSA checkpoint */
    assert_int_equal(verify(f->s, &pk, &out), 1);
    free(out);
    pay_rsa_key_free(rsa);
    pay_rsa_key_free(rsa2);
}

int main(void)
{
    assert_int_equal(pay_crypto_init(), 0);
    uint8_t seed[PAY_ED25519_SEED_LEN];
    memset(seed, 1, sizeof seed);
    pay_ed25519_from_seed(&key, seed);
    memset(seed, 2, sizeof seed);
    pay_ed25519_from_seed(&other_key, seed);
    signer =
        (pay_audit_signer){.alg = PAY_SIG_ED25519, .key_id = "paygate-platform", .ed25519 = &key};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vector),
        cmocka_unit_test_setup_teardown(chain_and_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_takes_the_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(appends_read_the_head_once, setup, teardown),
        cmocka_unit_test_setup_teardown(savepoint_rollback_forgets_the_head, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(append_only, setup, teardown),
        cmocka_unit_test_setup_teardown(filters, setup, teardown),
        cmocka_unit_test_setup_teardown(tamper_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(tamper_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(tamper_delete_renumbered, setup, teardown),
        cmocka_unit_test_setup_teardown(tamper_reorder, setup, teardown),
        cmocka_unit_test_setup_teardown(tamper_cut_end, setup, teardown),
        cmocka_unit_test_setup_teardown(tamper_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(tamper_rehashed, setup, teardown),
        cmocka_unit_test_setup_teardown(foreign_key, setup, teardown),
        cmocka_unit_test_setup_teardown(rsa_checkpoints, setup, teardown),
    };
    return th_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
