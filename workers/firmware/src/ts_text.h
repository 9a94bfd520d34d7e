/* ts_text.h - number parsing and formatting for the line protocol, without printf or malloc. */
#ifndef TS_TEXT_H
#define TS_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Parses a decimal number ("-12", "0.5", "1e-3") of exactly `len` chars; returns 0 on success. */
int ts_parse_float(const char *text, size_t len, float *out);

/* Parses a non-negative decimal integer of exactly `len` chars; returns 0 on success. */
int ts_parse_uint(const char *text, size_t len, uint32_t *out);

/* Where a full line buffer is emptied (e.g. the UART). */
typedef void (*ts_sink_t)(const char *data, size_t n);

/* An output line built in a fixed buffer. Without a sink, text beyond the capacity is dropped
 * and flagged; with one, a full buffer is handed to the sink, so lines have no length limit. */
typedef struct {
    char *buf;
    size_t len;
    size_t cap;
    int overflow;
    ts_sink_t sink;
} ts_line_t;

void ts_line_init(ts_line_t *line, char *buf, size_t cap);
void ts_line_init_sink(ts_line_t *line, char *buf, size_t cap, ts_sink_t sink);
void ts_line_flush(ts_line_t *line); /* hands what is buffered to the sink */
void ts_line_str(ts_line_t *line, const char *s);
void ts_line_json_str(ts_line_t *line, const char *s); /* a quoted, escaped JSON string */
void ts_line_int(ts_line_t *line, int32_t v);
void ts_line_uint(ts_line_t *line, uint32_t v);
/* The shortest decimal (6 to 9 significant digits) that reads back as the same float32;
 * "null" for NaN or infinity, since JSON has no such numbers. */
void ts_line_float(ts_line_t *line, float v);

#endif
