/* QR codes for the cashier (libqrencode), drawn as inline SVG: one path of unit squares, a
 * quiet zone of four modules, crisp at any size. */
#include "platform/platform.h"

#include "core/buf.h"
#include "core/limits.h"

#include <qrencode.h>
#include <stdlib.h>

char *pay_platform_qr_svg(const char *text)
{
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!q)
        return NULL;
    int w = q->width, quiet = 4, size = w + 2 * quiet;
    struct pay_buf b;
    pay_buf_init(&b, PAY_QR_SVG_MAX);
    int bad = pay_buf_printf(&b,
                             "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
                             " width=\"240\" height=\"240\" shape-rendering=\"crispEdges\""
                             " role=\"img\" aria-label=\"QR code\" id=\"qr\">"
                             "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path d=\"",
                             size, size, size, size);
    for (int y = 0; y < w && !bad; y++)
        for (int x = 0; x < w && !bad; x++)
            if (q->data[y * w + x] & 1) /* bit 0: dark module */
                bad = pay_buf_printf(&b, "M%d %dh1v1h-1z", x + quiet, y + quiet);
    if (!bad)
        bad = pay_buf_puts(&b, "\" fill=\"#000\"/></svg>");
    QRcode_free(q);
    char *svg = bad ? NULL : pay_buf_steal(&b);
    pay_buf_fini(&b);
    return svg;
}
