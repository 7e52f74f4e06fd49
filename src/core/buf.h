/* A growable byte buffer with a hard cap (after curl's dynbuf): every buffer that grows from
 * outside input is bounded. The data is always NUL-terminated for convenience. */
#ifndef PAY_CORE_BUF_H
#define PAY_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pay_buf {
    char *data; /* NULL until the first append; owned by the buffer */
    size_t len;
    size_t cap;
    size_t max; /* appends that would make len exceed max fail and change nothing */
};

void pay_buf_init(struct pay_buf *b, size_t max);
void pay_buf_fini(struct pay_buf *b);  /* frees data; b may be reused after pay_buf_init */
void pay_buf_reset(struct pay_buf *b); /* len = 0, keeps the memory */

/* Return 0, or -1 when the cap would be exceeded or memory is short (b unchanged). */
int pay_buf_append(struct pay_buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
int pay_buf_puts(struct pay_buf *b, const char *s) __attribute__((warn_unused_result));
int pay_buf_printf(struct pay_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));
int pay_buf_vprintf(struct pay_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0), warn_unused_result));

/* Hands the data to the caller, who frees it with free(); b is left empty.
 * Returns "" (heap allocated) for an empty buffer, NULL only when out of memory. */
char *pay_buf_steal(struct pay_buf *b);

/* The contents as a string; "" when empty. Valid until the next change to b. */
const char *pay_buf_str(const struct pay_buf *b);

/* The one bounded string copy (check_source.sh refuses snprintf(dst, n, "%s", src)): copies
 * src (NULL reads as "") into dst of size bytes (size > 0), always NUL-terminated. Returns
 * true when all of src fit; false when it was cut, dst then holding the longest prefix that
 * fits without splitting a UTF-8 character. A copy of outside input checks the result and
 * refuses what does not fit (FIELD_TOO_LONG, a usage error) instead of going on with less. */
bool pay_str_copy(char *dst, size_t size, const char *src);

/* Validates n bytes of UTF-8 (no overlongs, no surrogates, <= U+10FFFF, no NUL) and refuses
 * control characters other than those in allowed_ctl. Returns the offset of the first bad
 * byte, or -1 when all of it is good. */
long pay_utf8_bad_at(const char *s, size_t n, const char *allowed_ctl);

/* The number of characters (code points) of the NUL-terminated s, or -1 when it is not valid
 * UTF-8 or holds a control character: how text people type is measured against a limit
 * counted in characters (a Chinese character is 3 bytes). */
long pay_utf8_chars(const char *s);

/* Reads the whole file at path into a NUL-terminated heap string that the caller frees.
 * NULL when it cannot be opened or read (errno tells why) or is larger than max bytes
 * (errno = EFBIG). *len (may be NULL) receives the length. For secrets use
 * pay_secret_file_read (crypto), which also wipes its buffers. */
char *pay_file_read(const char *path, size_t max, size_t *len);

/* Writes len bytes of data to path with the given mode, atomically: into "<path>.tmp", fsync,
 * then renamed over path, so a reader sees the old file, no file, or the whole new one (never
 * a partial write). 0, or -1 (errno tells why; the temporary file is removed). */
int pay_file_write(const char *path, const void *data, size_t len, int mode);

/* A writer of canonical encodings into a fixed buffer, for what is hashed or signed (the audit
 * log's entries, the transparency log's leaves and tree heads): big-endian integers, and texts
 * as a 4-byte big-endian byte length and the bytes. The caller sizes the buffer for the
 * largest encoding; writing past it is a bug (asserted). */
struct pay_enc {
    uint8_t *p;
    size_t len, size;
};
void pay_enc_bytes(struct pay_enc *w, const void *src, size_t n);
void pay_enc_u64(struct pay_enc *w, uint64_t v);
void pay_enc_text(struct pay_enc *w, const char *s); /* NULL as "" */

#endif
