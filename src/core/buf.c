/* Bounded growable buffer. */
#include "core/buf.h"

#include "core/assertions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void pay_buf_init(struct pay_buf *b, size_t max)
{
    PAY_ASSERT(max > 0);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void pay_buf_fini(struct pay_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void pay_buf_reset(struct pay_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int reserve(struct pay_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int pay_buf_append(struct pay_buf *b, const void *p, size_t n)
{
    if (reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int pay_buf_puts(struct pay_buf *b, const char *s)
{
    return pay_buf_append(b, s, strlen(s));
}

int pay_buf_vprintf(struct pay_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int pay_buf_printf(struct pay_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = pay_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *pay_buf_steal(struct pay_buf *b)
{
    char *p = b->data;
    if (p == NULL)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

const char *pay_buf_str(const struct pay_buf *b)
{
    return b->data ? b->data : "";
}

char *pay_file_read(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    if (f == NULL)
        return NULL;
    struct pay_buf b;
    pay_buf_init(&b, max);
    char chunk[8192];
    size_t n;
    int bad = 0, too_large = 0;
    while (!bad && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        too_large = bad = pay_buf_append(&b, chunk, n);
    bad |= ferror(f);
    fclose(f);
    if (bad) {
        pay_buf_fini(&b);
        errno = too_large ? EFBIG : EIO;
        return NULL;
    }
    if (len != NULL)
        *len = b.len;
    return pay_buf_steal(&b);
}

int pay_file_write(const char *path, const void *data, size_t len, int mode)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    /* open() applied the umask: set the mode the caller asked for before the file appears */
    if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0 || close(fd) != 0 ||
        rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

bool pay_str_copy(char *dst, size_t size, const char *src)
{
    PAY_ASSERT(dst != NULL && size > 0);
    if (!src)
        src = "";
    size_t n = strnlen(src, size);
    if (n < size) {
        memmove(dst, src, n + 1);
        return true;
    }
    n = size - 1; /* src[n], the first byte left out, must start a character */
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
        n--;
    memmove(dst, src, n);
    dst[n] = '\0';
    return false;
}

long pay_utf8_bad_at(const char *text, size_t n, const char *allowed_ctl)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 || c == 0x7f) && (c == 0 || strchr(allowed_ctl, (int)c) == NULL))
                return (long)i;
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf)
            k = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, cp = c & 0x07, min = 0x10000;
        else
            return (long)i;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
                return (long)i;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return (long)i;
        i += k + 1;
    }
    return -1;
}

long pay_utf8_chars(const char *s)
{
    size_t n = strlen(s);
    if (pay_utf8_bad_at(s, n, "") >= 0)
        return -1;
    long chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)s[i] & 0xc0) != 0x80; /* count lead bytes only */
    return chars;
}

void pay_enc_bytes(struct pay_enc *w, const void *src, size_t n)
{
    PAY_ASSERT(n <= w->size - w->len);
    if (n > 0)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

void pay_enc_u64(struct pay_enc *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    pay_enc_bytes(w, b, sizeof b);
}

void pay_enc_text(struct pay_enc *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    PAY_ASSERT(n <= UINT32_MAX);
    uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    pay_enc_bytes(w, b, sizeof b);
    pay_enc_bytes(w, s ? s : "", n);
}
