/* OpenSSL plumbing shared by the RSA, Ed25519-PEM and X.509 code: PEM in and out, one sign and
 * verify path for RSA-SHA256 and Ed25519, and writing secret files with mode 0600. */
#include "crypto/internal.h"
#include "crypto/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

/* Refuses to prompt on the terminal for the passphrase of an encrypted key. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

EVP_PKEY *pay_pkey_from_pem(const char *pem, size_t len, int want_private)
{
    if (len > INT32_MAX)
        return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        return NULL;
    EVP_PKEY *k = want_private ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
                               : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    ERR_clear_error(); /* keep OpenSSL's per-thread error queue from growing */
    return k;
}

char *pay_bio_to_string(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

char *pay_pkey_to_pem(EVP_PKEY *pkey, int private_key)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    if (bio == NULL)
        return NULL;
    int ok = private_key ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_bio_PUBKEY(bio, pkey);
    char *s = ok == 1 ? pay_bio_to_string(bio) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    return s;
}

/* RSA signs a SHA-256 digest (PKCS#1 v1.5 is the default padding); Ed25519 signs the message
 * itself, so it takes no digest. */
static const EVP_MD *digest_for(EVP_PKEY *pkey)
{
    return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ? EVP_sha256() : NULL;
}

static int supported(EVP_PKEY *pkey)
{
    int id = EVP_PKEY_get_base_id(pkey);
    return id == EVP_PKEY_RSA || id == EVP_PKEY_ED25519;
}

int pay_pkey_sign(EVP_PKEY *pkey, const void *msg, size_t len, uint8_t *sig, size_t sig_size,
                  size_t *sig_len)
{
    if (!supported(pkey) || (size_t)EVP_PKEY_get_size(pkey) > sig_size)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = sig_size;
    int ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, digest_for(pkey), NULL, pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &n, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    if (!ok)
        return -1;
    *sig_len = n;
    return 0;
}

int pay_pkey_verify(EVP_PKEY *pkey, const void *msg, size_t len, const uint8_t *sig, size_t sig_len)
{
    if (!supported(pkey))
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, digest_for(pkey), NULL, pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok ? 0 : -1;
}

int pay_secret_file_write(const char *path, const void *data, size_t len)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    /* fchmod: the file may have existed with wider permissions before O_TRUNC. */
    int ok = left == 0 && fchmod(fd, 0600) == 0 && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

char *pay_secret_file_read(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    if (f == NULL)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf != NULL ? fread(buf, 1, max + 1, f) : 0;
    int bad = buf == NULL || ferror(f) || n > max;
    fclose(f);
    if (bad) {
        if (buf != NULL)
            pay_wipe(buf, max + 1);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
