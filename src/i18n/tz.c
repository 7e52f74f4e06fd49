/* Time zones (see tz.h): a TZif reader (RFC 8536, versions 1-4) and the POSIX TZ rule of its
 * footer, with integer-only calendar arithmetic. */
#include "i18n/tz.h"

#include "core/buf.h"
#include "core/limits.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One end of daylight saving time in a POSIX TZ rule: Jn, n or Mm.w.d, then /time. */
struct edge {
    char kind; /* 'J' (1-365, no Feb 29), 'N' (0-365), 'M' */
    int day, week, month;
    int32_t time_s; /* local time of the change, may be < 0 or > 24 h (RFC 8536) */
};

struct rule {
    int32_t std_off, dst_off; /* east positive */
    bool has_dst;
    struct edge start, end;
};

struct pay_tz {
    char name[64];
    int64_t *trans; /* transition instants, Unix seconds, ascending */
    uint8_t *idx;   /* the type that starts at each */
    size_t n_trans;
    int32_t *utoff; /* offset of each type */
    size_t n_types;
    bool has_rule;
    struct rule rule; /* after the last transition (or always, for built-in zones) */
};

/* --- the calendar (after Howard Hinnant's chrono algorithms) --------------------------- */

int64_t pay_tz_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void pay_tz_civil_from_days(int64_t z, int64_t *year, int *month, int *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (m <= 2);
    *month = m;
    *day = d;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* --- POSIX TZ rules ("CST-8", "CET-1CEST,M3.5.0,M10.5.0/3") ---------------------------- */

/* [+-]hh[:mm[:ss]] with hh <= max_h; the seconds it means, or INT32_MIN when malformed. */
static int32_t parse_hms(const char **s, int max_h)
{
    const char *p = *s;
    int sign = *p == '-' ? -1 : 1;
    if (*p == '+' || *p == '-')
        p++;
    int32_t v[3] = {0, 0, 0};
    for (int part = 0; part < 3; part++) {
        if (part > 0 && *p != ':')
            break;
        if (part > 0)
            p++;
        if (*p < '0' || *p > '9')
            return INT32_MIN;
        int n = 0;
        for (int k = 0; k < 3 && *p >= '0' && *p <= '9'; k++)
            n = n * 10 + (*p++ - '0');
        if ((part == 0 && n > max_h) || (part > 0 && n > 59))
            return INT32_MIN;
        v[part] = n;
    }
    *s = p;
    return sign * (v[0] * 3600 + v[1] * 60 + v[2]);
}

static bool parse_abbr(const char **s)
{
    const char *p = *s;
    if (*p == '<') {
        p = strchr(p, '>');
        if (p == NULL)
            return false;
        *s = p + 1;
        return true;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    if (p - *s < 3)
        return false;
    *s = p;
    return true;
}

static bool parse_num(const char **s, int lo, int hi, int *out)
{
    const char *p = *s;
    int n = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4)
        n = n * 10 + (*p++ - '0'), digits++;
    if (digits == 0 || n < lo || n > hi)
        return false;
    *s = p;
    *out = n;
    return true;
}

static bool parse_edge(const char **s, struct edge *e)
{
    const char *p = *s;
    bool ok;
    if (*p == 'M') {
        p++;
        e->kind = 'M';
        ok = parse_num(&p, 1, 12, &e->month) && *p++ == '.' && parse_num(&p, 1, 5, &e->week) &&
             *p++ == '.' && parse_num(&p, 0, 6, &e->day);
    } else if (*p == 'J') {
        p++;
        e->kind = 'J';
        ok = parse_num(&p, 1, 365, &e->day);
    } else {
        e->kind = 'N';
        ok = parse_num(&p, 0, 365, &e->day);
    }
    e->time_s = 7200;
    if (ok && *p == '/') {
        p++;
        e->time_s = parse_hms(&p, 167);
        ok = e->time_s != INT32_MIN;
    }
    *s = p;
    return ok;
}

static bool parse_rule(const char *s, struct rule *r)
{
    memset(r, 0, sizeof *r);
    int32_t off;
    if (!parse_abbr(&s) || (off = parse_hms(&s, 24)) == INT32_MIN)
        return false;
    r->std_off = -off; /* POSIX offsets are west positive */
    if (*s == '\0')
        return true;
    if (!parse_abbr(&s))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if ((off = parse_hms(&s, 24)) == INT32_MIN)
            return false;
        r->dst_off = -off;
    }
    /* a DST zone without rules has no defined changes: refuse rather than guess */
    return *s++ == ',' && parse_edge(&s, &r->start) && *s++ == ',' && parse_edge(&s, &r->end) &&
           *s == '\0';
}

/* The day (days since 1970) on which an edge falls in year y. */
static int64_t edge_day(const struct edge *e, int64_t y)
{
    int64_t jan1 = pay_tz_days_from_civil(y, 1, 1);
    if (e->kind == 'J')
        return jan1 + e->day - 1 + (leap(y) && e->day >= 60);
    if (e->kind == 'N')
        return jan1 + e->day;
    int64_t first = pay_tz_days_from_civil(y, e->month, 1);
    int dow = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    int d = 1 + (e->day - dow + 7) % 7 + (e->week - 1) * 7;
    if (d > month_days(y, e->month))
        d -= 7;
    return first + d - 1;
}

static int32_t rule_offset(const struct rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int64_t y;
    int m, d;
    pay_tz_civil_from_days(floor_div(t + r->std_off, 86400), &y, &m, &d);
    /* the start is given in standard time, the end in daylight time */
    int64_t start = edge_day(&r->start, y) * 86400 + r->start.time_s - r->std_off;
    int64_t end = edge_day(&r->end, y) * 86400 + r->end.time_s - r->dst_off;
    bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? r->dst_off : r->std_off;
}

/* --- TZif ------------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static size_t block_size(const struct counts *c, size_t tsize)
{
    return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) + c->isstd +
           c->isut;
}

static bool read_header(const unsigned char *p, size_t len, struct counts *c, char *version)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    *version = (char)p[4];
    *c = (struct counts){be32(p + 20), be32(p + 24), be32(p + 28),
                         be32(p + 32), be32(p + 36), be32(p + 40)};
    return c->type >= 1 && c->type <= 256 && c->time <= PAY_TZ_TRANSITIONS_MAX &&
           c->chars <= 4096 && c->leap <= 1024 && c->isstd <= 256 && c->isut <= 256;
}

/* Parses a TZif file into tz; a string saying what is wrong, or NULL. */
static const char *parse_tzif(struct pay_tz *tz, const unsigned char *p, size_t len)
{
    struct counts c;
    char version;
    if (!read_header(p, len, &c, &version))
        return "not a TZif file";
    size_t tsize = 4, at = 44;
    if (version >= '2') { /* skip the 32-bit block for the 64-bit one */
        at += block_size(&c, 4);
        if (at > len || !read_header(p + at, len - at, &c, &version))
            return "a damaged TZif file";
        at += 44;
        tsize = 8;
    }
    if (c.leap > 0)
        return "a zone with leap seconds (right/...) is not supported";
    if (at + block_size(&c, tsize) > len)
        return "a truncated TZif file";
    tz->trans = calloc(c.time + 1, sizeof *tz->trans);
    tz->idx = calloc(c.time + 1, 1);
    tz->utoff = calloc(c.type, sizeof *tz->utoff);
    if (!tz->trans || !tz->idx || !tz->utoff)
        return "out of memory";
    const unsigned char *t = p + at, *ix = t + c.time * tsize, *ty = ix + c.time;
    for (size_t i = 0; i < c.time; i++) {
        tz->trans[i] = tsize == 8 ? be64(t + 8 * i) : (int32_t)be32(t + 4 * i);
        tz->idx[i] = ix[i];
        if (ix[i] >= c.type || (i > 0 && tz->trans[i] <= tz->trans[i - 1]))
            return "a damaged TZif file";
    }
    for (size_t i = 0; i < c.type; i++)
        tz->utoff[i] = (int32_t)be32(ty + 6 * i);
    tz->n_trans = c.time;
    tz->n_types = c.type;
    at += block_size(&c, tsize);
    if (tsize == 8 && at < len && p[at] == '\n') { /* the footer: a POSIX TZ rule */
        const unsigned char *nl = memchr(p + at + 1, '\n', len - at - 1);
        char footer[128];
        if (nl && nl - (p + at + 1) > 0 && (size_t)(nl - (p + at + 1)) < sizeof footer) {
            snprintf(footer, sizeof footer, "%.*s", (int)(nl - (p + at + 1)), p + at + 1);
            tz->has_rule = parse_rule(footer, &tz->rule);
        }
    }
    return NULL;
}

/* --- zones ------------------------------------------------------------------------------ */

static bool name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '/' || strstr(s, "..") || strstr(s, "//"))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+-") == n;
}

/* Zones that work without tzdata (minimal containers); Shanghai has had no DST since 1991. */
static const char *builtin_rule(const char *name)
{
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return "UTC0";
    if (strcmp(name, "Asia/Shanghai") == 0 || strcmp(name, "PRC") == 0)
        return "CST-8";
    return NULL;
}

enum pay_err pay_tz_load(const char *name, struct pay_tz **out, struct pay_error *err)
{
    *out = NULL;
    if (name == NULL || name[0] == '\0')
        name = PAY_TZ_DEFAULT;
    if (!name_valid(name))
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "time_zone",
                             "time_zone %.64s: not a zone name such as Asia/Shanghai", name);
    struct pay_tz *tz = calloc(1, sizeof *tz);
    if (tz == NULL)
        return pay_error_set(err, PAY_ERR_INTERNAL, "", "out of memory");
    pay_str_copy(tz->name, sizeof tz->name, name);
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", name);
    size_t len = 0;
    unsigned char *data = (unsigned char *)pay_file_read(path, PAY_TZ_FILE_MAX, &len);
    const char *why = data ? parse_tzif(tz, data, len) : NULL;
    free(data);
    if (data == NULL && builtin_rule(name) != NULL)
        tz->has_rule = parse_rule(builtin_rule(name), &tz->rule);
    else if (data == NULL)
        why = "no such zone in the system's tzdata (install tzdata)";
    if (why != NULL) {
        pay_tz_free(tz);
        return pay_error_set(err, PAY_ERR_CONFIG_INVALID, "time_zone", "time_zone %.64s: %s", name,
                             why);
    }
    *out = tz;
    return PAY_ERR_OK;
}

void pay_tz_free(struct pay_tz *tz)
{
    if (tz == NULL)
        return;
    free(tz->trans);
    free(tz->idx);
    free(tz->utoff);
    free(tz);
}

const char *pay_tz_name(const struct pay_tz *tz)
{
    return tz ? tz->name : "UTC";
}

int32_t pay_tz_offset_s(const struct pay_tz *tz, int64_t t)
{
    if (tz == NULL)
        return 0;
    if (tz->n_trans == 0 || t >= tz->trans[tz->n_trans - 1]) {
        if (tz->has_rule)
            return rule_offset(&tz->rule, t);
        return tz->n_trans ? tz->utoff[tz->idx[tz->n_trans - 1]] : tz->utoff[0];
    }
    if (t < tz->trans[0])
        return tz->utoff[0];             /* before the first transition: type 0 (RFC 8536) */
    size_t lo = 0, hi = tz->n_trans - 1; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->utoff[tz->idx[lo]];
}

void pay_tz_civil(const struct pay_tz *tz, int64_t utc_ms, struct pay_tz_civil *out)
{
    int64_t s = floor_div(utc_ms, 1000);
    int32_t off = pay_tz_offset_s(tz, s);
    int64_t local = s + off, days = floor_div(local, 86400), secs = local - days * 86400;
    pay_tz_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(secs / 3600);
    out->minute = (int)(secs / 60 % 60);
    out->second = (int)(secs % 60);
    out->weekday = (int)(((days + 4) % 7 + 7) % 7);
    out->offset_s = off;
}

int pay_tz_format(const struct pay_tz *tz, int64_t utc_ms, char out[PAY_TZ_TEXT_MAX])
{
    struct pay_tz_civil c;
    pay_tz_civil(tz, utc_ms, &c);
    out[0] = '\0';
    if (c.year < 0 || c.year > 9999)
        return -1;
    return snprintf(out, PAY_TZ_TEXT_MAX, "%04d-%02d-%02d %02d:%02d:%02d", (int)c.year, c.month,
                    c.day, c.hour, c.minute, c.second);
}

int64_t pay_tz_day_start_ms(const struct pay_tz *tz, int64_t utc_ms)
{
    struct pay_tz_civil c;
    pay_tz_civil(tz, utc_ms, &c);
    int64_t midnight = pay_tz_days_from_civil(c.year, c.month, c.day) * 86400; /* local */
    int64_t guess = midnight - c.offset_s;
    return (midnight - pay_tz_offset_s(tz, guess)) * 1000; /* the offset at midnight itself */
}
