/* Inline-SVG bar charts (see svgchart.h): integer geometry, escaped text. */
#include "platform/svgchart.h"

#include "core/buf.h"
#include "core/limits.h"

#include <stdlib.h>
#include <string.h>

#define PLOT_H  160 /* bar area height in SVG units */
#define TOP     22  /* room for the value texts */
#define BOTTOM  22  /* room for the labels */
#define LEFT    8
#define BAR_W   40
#define BAR_GAP 12
/* Values above this are scaled down first, so value * PLOT_H never overflows int64. */
#define SAFE_MAX (INT64_MAX / (PLOT_H + 1))

int pay_svg_escape(struct pay_buf *out, const char *s)
{
    int bad = 0;
    for (const char *c = s ? s : ""; *c && !bad; c++) {
        switch (*c) {
        case '&':
            bad = pay_buf_puts(out, "&amp;");
            break;
        case '<':
            bad = pay_buf_puts(out, "&lt;");
            break;
        case '>':
            bad = pay_buf_puts(out, "&gt;");
            break;
        case '"':
            bad = pay_buf_puts(out, "&quot;");
            break;
        case '\'':
            bad = pay_buf_puts(out, "&#39;");
            break;
        default:
            bad = pay_buf_append(out, c, 1);
        }
    }
    return bad ? -1 : 0;
}

/* Height of a bar in [0, PLOT_H]: value * PLOT_H / max, rounded down, at least 1 for a
 * non-zero value so a small amount is still visible. */
static int64_t bar_height(int64_t value, int64_t max)
{
    if (value <= 0 || max <= 0)
        return 0;
    if (max > SAFE_MAX) {
        int64_t d = max / SAFE_MAX + 1;
        value /= d;
        max /= d;
    }
    int64_t h = value * PLOT_H / max;
    return h < 1 ? 1 : h;
}

static int one_bar(struct pay_buf *b, const struct pay_svg_bar *bar, size_t i, int64_t max)
{
    int64_t h = bar_height(bar->value, max);
    long x = LEFT + (long)i * (BAR_W + BAR_GAP), base = TOP + PLOT_H;
    int bad = pay_buf_printf(b,
                             "<g class=\"col\"><rect class=\"bar\" x=\"%ld\" y=\"%lld\" "
                             "width=\"%d\" height=\"%lld\" fill=\"#2f6fdf\"><title>",
                             x, (long long)(base - h), BAR_W, (long long)h);
    bad |= pay_svg_escape(b, bar->label);
    bad |= pay_buf_puts(b, ": ");
    bad |= pay_svg_escape(b, bar->value_text ? bar->value_text : "");
    bad |= pay_buf_printf(b,
                          "</title></rect><text class=\"val\" x=\"%ld\" y=\"%lld\" "
                          "text-anchor=\"middle\" font-size=\"10\">",
                          x + BAR_W / 2, (long long)(base - h - 4));
    bad |= pay_svg_escape(b, bar->value_text ? bar->value_text : "");
    bad |= pay_buf_printf(b,
                          "</text><text class=\"lbl\" x=\"%ld\" y=\"%ld\" "
                          "text-anchor=\"middle\" font-size=\"10\">",
                          x + BAR_W / 2, base + 15);
    bad |= pay_svg_escape(b, bar->label);
    bad |= pay_buf_puts(b, "</text></g>");
    return bad ? -1 : 0;
}

char *pay_svg_bar_chart(const char *title, const struct pay_svg_bar *bars, size_t n)
{
    if (n > PAY_SVG_BARS_MAX)
        return NULL;
    int64_t max = 0;
    for (size_t i = 0; i < n; i++)
        if (bars[i].value > max)
            max = bars[i].value;
    long w = LEFT * 2 + (long)n * (BAR_W + BAR_GAP), h = TOP + PLOT_H + BOTTOM;
    struct pay_buf b;
    pay_buf_init(&b, PAY_SVG_CHART_MAX);
    int bad = pay_buf_printf(&b,
                             "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
                             "viewBox=\"0 0 %ld %ld\" width=\"%ld\" height=\"%ld\" role=\"img\" "
                             "aria-label=\"",
                             w, h, w, h);
    bad |= pay_svg_escape(&b, title);
    bad |= pay_buf_puts(&b, "\"><title>");
    bad |= pay_svg_escape(&b, title);
    bad |= pay_buf_printf(&b,
                          "</title><line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%ld\" "
                          "y2=\"%d\" stroke=\"#888\"/>",
                          LEFT, TOP + PLOT_H, w - LEFT, TOP + PLOT_H);
    for (size_t i = 0; i < n && !bad; i++)
        bad |= one_bar(&b, &bars[i], i, max);
    bad |= pay_buf_puts(&b, "</svg>");
    if (bad) {
        pay_buf_fini(&b);
        return NULL;
    }
    return pay_buf_steal(&b);
}
