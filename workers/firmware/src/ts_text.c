/* ts_text.c - number parsing and formatting for the line protocol, without printf or malloc. */
#include "ts_text.h"

#include <string.h>

/* 10^0 .. 10^22 are exact doubles, which makes the common parse a single correctly rounded op. */
static const double k_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static double scale_pow10(double v, int32_t exp10)
{
    while (exp10 > 22) {
        v *= 1e22;
        exp10 -= 22;
    }
    while (exp10 < -22) {
        v /= 1e22;
        exp10 += 22;
    }
    return exp10 >= 0 ? v * k_pow10[exp10] : v / k_pow10[-exp10];
}

int ts_parse_float(const char *text, size_t len, float *out)
{
    size_t i = 0;
    int negative = 0;
    if (i < len && (text[i] == '-' || text[i] == '+')) {
        negative = text[i] == '-';
        i++;
    }
    uint64_t mantissa = 0;
    int32_t exp10 = 0;
    int digits = 0;
    int significant = 0;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
        if (significant < 19) {
            mantissa = mantissa * 10u + (uint64_t)(text[i] - '0');
            significant += mantissa != 0u;
        } else {
            exp10++; /* digits past the 19th only shift the value */
        }
    }
    if (i < len && text[i] == '.') {
        for (i++; i < len && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
            if (significant < 19) {
                mantissa = mantissa * 10u + (uint64_t)(text[i] - '0');
                significant += mantissa != 0u;
                exp10--;
            }
        }
    }
    if (digits == 0) {
        return -1;
    }
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        int exp_negative = 0;
        if (i < len && (text[i] == '-' || text[i] == '+')) {
            exp_negative = text[i] == '-';
            i++;
        }
        int32_t e = 0;
        size_t start = i;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
            if (e < 10000) {
                e = e * 10 + (text[i] - '0');
            }
        }
        if (i == start) {
            return -1;
        }
        exp10 += exp_negative ? -e : e;
    }
    if (i != len) {
        return -1;
    }
    double v = scale_pow10((double)mantissa, exp10);
    *out = (float)(negative ? -v : v);
    return 0;
}

int ts_parse_uint(const char *text, size_t len, uint32_t *out)
{
    if (len == 0u || len > 9u) {
        return -1;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return -1;
        }
        v = v * 10u + (uint32_t)(text[i] - '0');
    }
    *out = v;
    return 0;
}

void ts_line_init(ts_line_t *line, char *buf, size_t cap)
{
    ts_line_init_sink(line, buf, cap, 0);
}

void ts_line_init_sink(ts_line_t *line, char *buf, size_t cap, ts_sink_t sink)
{
    line->buf = buf;
    line->len = 0;
    line->cap = cap;
    line->overflow = 0;
    line->sink = sink;
}

void ts_line_flush(ts_line_t *line)
{
    if (line->sink && line->len) {
        line->sink(line->buf, line->len);
        line->len = 0;
    }
}

static void put_char(ts_line_t *line, char c)
{
    if (line->len == line->cap) {
        ts_line_flush(line);
    }
    if (line->len < line->cap) {
        line->buf[line->len++] = c;
    } else {
        line->overflow = 1;
    }
}

void ts_line_str(ts_line_t *line, const char *s)
{
    while (*s) {
        put_char(line, *s++);
    }
}

void ts_line_json_str(ts_line_t *line, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put_char(line, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            put_char(line, '\\');
            put_char(line, (char)c);
        } else if (c < 0x20u) {
            ts_line_str(line, "\\u00");
            put_char(line, hex[c >> 4]);
            put_char(line, hex[c & 0xFu]);
        } else {
            put_char(line, (char)c);
        }
    }
    put_char(line, '"');
}

void ts_line_uint(ts_line_t *line, uint32_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0u) {
        put_char(line, tmp[--n]);
    }
}

void ts_line_int(ts_line_t *line, int32_t v)
{
    if (v < 0) {
        put_char(line, '-');
        ts_line_uint(line, (uint32_t)0u - (uint32_t)v);
    } else {
        ts_line_uint(line, (uint32_t)v);
    }
}

/* Writes |v| (finite, non-zero) with `digits` significant digits into out; returns length. */
static size_t format_digits(char *out, double v, int digits)
{
    int32_t e10 = 0;
    while (v >= 10.0) {
        v /= 10.0;
        e10++;
    }
    while (v < 1.0) {
        v *= 10.0;
        e10--;
    }
    uint64_t limit = 1;
    for (int i = 0; i < digits; i++) {
        limit *= 10u;
    }
    uint64_t m = (uint64_t)(scale_pow10(v, digits - 1) + 0.5);
    if (m >= limit) {
        m /= 10u;
        e10++;
    }
    char d[9];
    for (int i = digits - 1; i >= 0; i--) {
        d[i] = (char)('0' + m % 10u);
        m /= 10u;
    }
    int used = digits;
    while (used > 1 && d[used - 1] == '0') {
        used--;
    }
    size_t n = 0;
    if (e10 >= -5 && e10 < digits) {
        if (e10 < 0) {
            out[n++] = '0';
            out[n++] = '.';
            for (int32_t z = -1; z > e10; z--) {
                out[n++] = '0';
            }
            for (int i = 0; i < used; i++) {
                out[n++] = d[i];
            }
        } else {
            for (int i = 0; i <= e10; i++) {
                out[n++] = i < used ? d[i] : '0';
            }
            if (used > e10 + 1) {
                out[n++] = '.';
                for (int i = e10 + 1; i < used; i++) {
                    out[n++] = d[i];
                }
            }
        }
    } else {
        out[n++] = d[0];
        if (used > 1) {
            out[n++] = '.';
            for (int i = 1; i < used; i++) {
                out[n++] = d[i];
            }
        }
        out[n++] = 'e';
        if (e10 < 0) {
            out[n++] = '-';
            e10 = -e10;
        }
        if (e10 >= 10) {
            out[n++] = (char)('0' + e10 / 10);
        }
        out[n++] = (char)('0' + e10 % 10);
    }
    return n;
}

void ts_line_float(ts_line_t *line, float v)
{
    if (v != v || v > 3.4028235e38f || v < -3.4028235e38f) {
        ts_line_str(line, "null");
        return;
    }
    if (v == 0.0f) {
        put_char(line, '0');
        return;
    }
    if (v < 0.0f) {
        put_char(line, '-');
        v = -v;
    }
    char text[32];
    size_t n = 0;
    for (int digits = 6; digits <= 9; digits++) {
        n = format_digits(text, (double)v, digits);
        float back;
        if (ts_parse_float(text, n, &back) == 0 && back == v) {
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        put_char(line, text[i]);
    }
}
