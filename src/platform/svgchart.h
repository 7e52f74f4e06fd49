/* A tiny inline-SVG bar chart renderer for server-rendered pages (the operator dashboard):
 * bars with a label under each and a value text above it, heights computed with integer
 * arithmetic (money is never a floating point number), every text XML-escaped. No scripts,
 * no style attributes (the pages' CSP allows neither): presentation attributes and classes
 * styled by a stylesheet of the page. */
#ifndef PAY_PLATFORM_SVGCHART_H
#define PAY_PLATFORM_SVGCHART_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

struct pay_svg_bar {
    const char *label;      /* under the bar, e.g. "11-26" or "wallet" */
    int64_t value;          /* >= 0 (negatives are drawn as 0); the bar's height scales by it */
    const char *value_text; /* above the bar, e.g. "12.34"; NULL: none */
};

/* Renders n bars (n <= PAY_SVG_BARS_MAX) as an <svg> element titled `title` (aria-label and
 * <title>). Returns a malloc'd NUL-terminated string the caller frees, or NULL (out of memory
 * or n too large). Every bar is one <rect class="bar">, so a page's bar count is countable. */
char *pay_svg_bar_chart(const char *title, const struct pay_svg_bar *bars, size_t n);

/* Appends s to out XML-escaped (& < > " '); returns 0, or -1 when out is full. */
struct pay_buf;
int pay_svg_escape(struct pay_buf *out, const char *s);

#endif
