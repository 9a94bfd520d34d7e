/* ts_app.c - the TinyStudio serial application: the line protocol of PROTOCOL.md over the UART. */
#include <stdint.h>
#include <string.h>

#include "ts_build_config.h" /* first: it may set TS_REPLAY_CAPACITY */
#include "ts_app.h"
#include "ts_classifier.h"
#include "ts_port.h"
#include "ts_text.h"

#define CMD_MAX 128u
#define TOKEN_MAX 48u
#define OUT_MAX 128u /* answers stream out through this buffer */

#ifdef TS_LABEL_COUNT
static const char *const ts_labels[TS_LABEL_COUNT] = TS_LABELS;
#endif

/* The raw window being uploaded by `classify`: run_classifier's input. */
float ts_window[TS_SIGNAL_VALUES];
/* Sensor readings replayed by `stream` (virtual boards have no real sensor). */
float ts_replay[TS_REPLAY_CAPACITY];

typedef enum { MODE_IDLE, MODE_CLASSIFY, MODE_REPLAY } upload_mode_t;

static struct {
    upload_mode_t mode;
    uint32_t expected;   /* values announced by `classify begin N` */
    uint32_t count;      /* values received so far in this upload */
    uint32_t replay_axes;
    float replay_hz;
    uint32_t replay_readings; /* complete readings in ts_replay */
    float replay_default_hz;
} up = {MODE_IDLE, 0, 0, 1, 1.0f, 0, 1.0f};

static struct {
    char cmd[CMD_MAX];
    size_t cmd_len;
    int cmd_overflow;
    int at_line_start;
    int data_line;        /* this line carries values */
    int inline_classify;  /* this line is `classify v1,v2,...` */
    char token[TOKEN_MAX];
    size_t token_len;
    const char *error;    /* first error met on this data line */
} rd = {{0}, 0, 0, 1, 0, 0, {0}, 0, 0};

static char out_buf[OUT_MAX];

/* Set by measure_inference_stack(), see ts_app.h. */
uint32_t ts_app_inference_stack_bytes;

static void send_line(const char *s)
{
    ts_port_write(s, strlen(s));
    ts_port_write("\n", 1u);
}

void ts_app_start_answer(ts_line_t *line)
{
    ts_line_init_sink(line, out_buf, OUT_MAX, ts_port_write);
}

void ts_app_send_out(ts_line_t *line)
{
    ts_line_flush(line);
    ts_port_write("\n", 1u);
}

static void send_err(const char *reason, const char *detail)
{
    ts_line_t line;
    ts_app_start_answer(&line);
    ts_line_str(&line, "ERR ");
    ts_line_str(&line, reason);
    if (detail) {
        ts_line_str(&line, detail);
    }
    ts_app_send_out(&line);
}

void ts_app_label_name(ts_line_t *line, int index)
{
#ifdef TS_LABEL_COUNT
    if (index >= 0 && index < TS_LABEL_COUNT) {
        ts_line_json_str(line, ts_labels[index]);
        return;
    }
#endif
    char tmp[12];
    ts_line_t t;
    ts_line_init(&t, tmp, sizeof tmp - 1u);
    ts_line_int(&t, index);
    tmp[t.len] = 0;
    ts_line_json_str(line, tmp);
}

static uint32_t ticks_to_us(uint32_t ticks)
{
    return (uint32_t)((uint64_t)ticks * 1000000u / ts_port_ticks_per_second());
}

static void classify_window(void)
{
    static ts_result_t result;
    ts_status_t status = run_classifier(ts_window, up.count, &result);
    if (status != TS_OK) {
        static const char *const reasons[] = {"", "signal length", "dsp failed", "invoke failed",
                                              "model type not supported"};
        send_err("classify: ", reasons[status]);
        return;
    }
    ts_line_t line;
    ts_app_start_answer(&line);
    ts_line_str(&line, "{\"label\":");
    ts_app_label_name(&line, result.label_index);
    ts_line_str(&line, ",\"label_index\":");
    ts_line_int(&line, result.label_index);
    ts_line_str(&line, ",\"scores\":[");
    for (int i = 0; i < TS_SCORE_COUNT; i++) {
        if (i) {
            ts_line_str(&line, ",");
        }
        ts_line_float(&line, result.scores[i]);
    }
    ts_line_str(&line, "],\"anomaly\":");
    ts_line_float(&line, result.anomaly);
    ts_line_str(&line, ",\"dsp_us\":");
    ts_line_uint(&line, ticks_to_us(result.dsp_ticks));
    ts_line_str(&line, ",\"inference_us\":");
    ts_line_uint(&line, ticks_to_us(result.inference_ticks));
    ts_line_str(&line, ",\"timing\":");
    ts_line_json_str(&line, TS_TIMING);
    ts_line_str(&line, "}");
    ts_app_send_out(&line);
}

/* Splits `text` into at most `max` space-separated words; returns the word count. */
static size_t split_words(char *text, char **words, size_t max)
{
    size_t n = 0;
    char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t') {
            *p++ = 0;
        }
        if (!*p) {
            break;
        }
        if (n == max) {
            return max + 1u;
        }
        words[n++] = p;
        while (*p && *p != ' ' && *p != '\t') {
            p++;
        }
    }
    return n;
}

static int word_is(const char *word, const char *expected)
{
    return strcmp(word, expected) == 0;
}

static int parse_hz(const char *word, float *hz)
{
    return ts_parse_float(word, strlen(word), hz) != 0 || !(*hz > 0.0f) || *hz > 1.0e6f;
}

/* Prints replayed readings at `hz` until a `stop` line arrives, sleeping between readings. */
static void cmd_stream(float hz)
{
    char stop[8];
    size_t stop_len = 0;
    uint32_t tps = ts_port_ticks_per_second();
    uint32_t period = (uint32_t)((float)tps / hz + 0.5f);
    if (period == 0u) {
        period = 1u;
    }
    uint32_t next = ts_port_ticks();
    uint32_t reading = 0;
    for (;;) {
        int c;
        while ((c = ts_port_read_byte()) >= 0) {
            if (c == '\n') {
                if (stop_len == 4u && memcmp(stop, "stop", 4u) == 0) {
                    send_line("OK stopped");
                    return;
                }
                stop_len = 0;
            } else if (c != '\r') {
                if (stop_len < sizeof stop) {
                    stop[stop_len] = (char)c;
                }
                stop_len++;
            }
        }
        uint32_t now = ts_port_ticks();
        if ((int32_t)(now - next) < 0) {
            ts_port_sleep_until(next); /* or until a byte arrives */
            continue;
        }
        next += period;
        if ((int32_t)(now - next) > (int32_t)tps) {
            next = now; /* fell more than a second behind: resynchronise instead of bursting */
        }
        ts_line_t line;
        ts_app_start_answer(&line);
        const float *values = &ts_replay[reading * up.replay_axes];
        for (uint32_t a = 0; a < up.replay_axes; a++) {
            if (a) {
                ts_line_str(&line, ",");
            }
            ts_line_float(&line, values[a]);
        }
        ts_app_send_out(&line);
        reading = reading + 1u == up.replay_readings ? 0u : reading + 1u;
    }
}

static void dispatch(char *text)
{
    char *w[5];
    size_t n = split_words(text, w, 4u);
    if (n == 0u) {
        return; /* empty lines are ignored */
    }
    if (n > 4u) {
        send_err("too many words", 0);
        return;
    }
    if (up.mode != MODE_IDLE) {
        if (up.mode == MODE_CLASSIFY && n == 2u && word_is(w[0], "classify") && word_is(w[1], "end")) {
            up.mode = MODE_IDLE;
            if (up.count != up.expected) {
                send_err("classify: values received differ from classify begin", 0);
                return;
            }
            classify_window();
        } else if (up.mode == MODE_REPLAY && n == 2u && word_is(w[0], "replay") && word_is(w[1], "end")) {
            up.mode = MODE_IDLE;
            if (up.count == 0u || up.count % up.replay_axes != 0u) {
                up.replay_readings = 0;
                send_err("replay: value count is not a multiple of the axis count", 0);
                return;
            }
            up.replay_readings = up.count / up.replay_axes;
            up.replay_default_hz = up.replay_hz;
            ts_line_t line;
            ts_app_start_answer(&line);
            ts_line_str(&line, "OK replay ");
            ts_line_uint(&line, up.replay_readings);
            ts_line_str(&line, " readings");
            ts_app_send_out(&line);
        } else if (n == 1u && word_is(w[0], "abort")) {
            up.mode = MODE_IDLE;
            send_line("OK aborted");
        } else {
            up.mode = MODE_IDLE;
            send_err("upload aborted by command ", w[0]);
        }
        return;
    }
    if (n == 1u && word_is(w[0], "info")) {
        ts_app_info();
    } else if (word_is(w[0], "classify")) {
        uint32_t count;
        if (n == 3u && word_is(w[1], "begin") && ts_parse_uint(w[2], strlen(w[2]), &count) == 0) {
            if (count != TS_SIGNAL_VALUES) {
                send_err("classify: the window needs exactly signal_values values", 0);
                return;
            }
            up.mode = MODE_CLASSIFY;
            up.expected = count;
            up.count = 0;
            send_line("OK classify begin");
        } else if (n == 2u && word_is(w[1], "file")) {
            /* The window as signal_values little-endian float32 in the host file window.f32:
             * a virtual board's host hands a long window over at once instead of as text. */
            if (ts_port_read_host_file("window.f32", ts_window, sizeof ts_window) != 0) {
                send_err("classify file: no window.f32 of signal_values float32 on the host", 0);
                return;
            }
            up.count = TS_SIGNAL_VALUES;
            classify_window();
        } else {
            send_err("usage: classify v1,v2,... | classify begin N | classify file", 0);
        }
    } else if (word_is(w[0], "replay")) {
        uint32_t axes = 0;
        float hz = 0.0f;
        if (n == 4u && word_is(w[1], "begin") && ts_parse_uint(w[2], strlen(w[2]), &axes) == 0 &&
            axes > 0u && axes <= 64u && parse_hz(w[3], &hz) == 0) {
            up.mode = MODE_REPLAY;
            up.count = 0;
            up.replay_axes = axes;
            up.replay_hz = hz;
            up.replay_readings = 0;
            send_line("OK replay begin");
        } else {
            send_err("usage: replay begin AXES HZ", 0);
        }
    } else if (word_is(w[0], "stream")) {
        float hz = up.replay_default_hz;
        if (n > 2u || (n == 2u && parse_hz(w[1], &hz) != 0)) {
            send_err("usage: stream [HZ]", 0);
        } else if (up.replay_readings == 0u) {
            send_err("stream: no replay data (send replay begin/values/replay end first)", 0);
        } else {
            cmd_stream(hz);
        }
    } else if (n == 1u && word_is(w[0], "stop")) {
        send_line("OK stopped");
    } else if (n == 1u && word_is(w[0], "abort")) {
        send_line("OK aborted");
    } else if (n == 1u && word_is(w[0], "exit")) {
#if TS_SEMIHOSTING
        send_line("OK exit");
        ts_port_exit(0);
#else
        send_err("exit: only virtual boards can exit", 0);
#endif
    } else {
        send_err("unknown command ", w[0]);
    }
}

static int is_number_start(int c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.';
}

static int is_separator(int c)
{
    return c == ',' || c == ' ' || c == '\t' || c == ';';
}

static void flush_token(void)
{
    if (rd.token_len == 0u) {
        return;
    }
    float v = 0.0f;
    size_t len = rd.token_len;
    rd.token_len = 0;
    if (rd.error) {
        return;
    }
    if (len > TOKEN_MAX || ts_parse_float(rd.token, len, &v) != 0) {
        rd.error = "value is not a number";
        return;
    }
    if (up.mode == MODE_REPLAY) {
        if (up.count >= TS_REPLAY_CAPACITY) {
            rd.error = "replay: more values than replay_capacity";
            return;
        }
        ts_replay[up.count++] = v;
    } else {
        if (up.count >= TS_SIGNAL_VALUES) {
            rd.error = "classify: more values than signal_values";
            return;
        }
        ts_window[up.count++] = v;
    }
}

static void end_data_line(void)
{
    flush_token();
    if (rd.error) {
        send_err(rd.error, 0);
        up.mode = MODE_IDLE;
    } else if (rd.inline_classify) {
        up.mode = MODE_IDLE;
        if (up.count != TS_SIGNAL_VALUES) {
            send_err("classify: the window needs exactly signal_values values", 0);
        } else {
            classify_window();
        }
    }
    rd.inline_classify = 0;
    rd.data_line = 0;
    rd.error = 0;
}

static void feed(int c)
{
    if (c == '\r') {
        return;
    }
    if (rd.at_line_start) {
        rd.at_line_start = 0;
        rd.cmd_len = 0;
        rd.cmd_overflow = 0;
        rd.data_line = up.mode != MODE_IDLE && is_number_start(c);
    }
    if (rd.data_line) {
        if (c == '\n') {
            end_data_line();
            rd.at_line_start = 1;
        } else if (is_separator(c)) {
            flush_token();
        } else {
            if (rd.token_len < TOKEN_MAX) {
                rd.token[rd.token_len] = (char)c;
            }
            rd.token_len++;
        }
        return;
    }
    if (c == '\n') {
        rd.at_line_start = 1;
        if (rd.cmd_overflow) {
            send_err("line too long", 0);
            return;
        }
        rd.cmd[rd.cmd_len] = 0;
        dispatch(rd.cmd);
        return;
    }
    if (up.mode == MODE_IDLE && rd.cmd_len == 9u && memcmp(rd.cmd, "classify ", 9u) == 0 &&
        is_number_start(c)) {
        /* `classify v1,v2,...`: the rest of the line streams into the window. */
        up.mode = MODE_CLASSIFY;
        up.count = 0;
        rd.inline_classify = 1;
        rd.data_line = 1;
        rd.error = 0;
        rd.token_len = 0;
        rd.token[rd.token_len++] = (char)c;
        return;
    }
    if (rd.cmd_len + 1u < CMD_MAX) {
        rd.cmd[rd.cmd_len++] = (char)c;
    } else {
        rd.cmd_overflow = 1;
    }
}

/* Runs DSP + inference once on the all-zero window (ts_window before any upload) while the
 * stack is still as the reset handler painted it, so `info` can report the stack high-water
 * mark of a classification from the first answer on, and the same figure on every boot. */
static void measure_inference_stack(void)
{
    static ts_result_t result;
    (void)run_classifier(ts_window, TS_SIGNAL_VALUES, &result);
    ts_app_inference_stack_bytes = (uint32_t)ts_port_stack_used();
}

int main(void)
{
    ts_port_init();
    measure_inference_stack();
    send_line("OK tinystudio ready");
    for (;;) {
        int c = ts_port_read_byte();
        if (c >= 0) {
            feed(c);
        } else {
            ts_port_wait_for_input();
        }
    }
}
