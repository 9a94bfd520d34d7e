/* ts_app.h - what the serial application's files share (ts_app.c: the protocol, ts_info.c: the
 * `info` answer). */
#ifndef TS_APP_H
#define TS_APP_H

#include <stdint.h>

#include "ts_text.h"

#define TS_PROTOCOL_VERSION 1

#ifndef TS_REPLAY_CAPACITY
#define TS_REPLAY_CAPACITY 4096
#endif

/* Stack bytes used by boot plus one DSP + inference pass, read from the painted stack right
 * after that pass: the stack part of the RAM figure. */
extern uint32_t ts_app_inference_stack_bytes;

/* An answer line: start it, append to it with ts_line_*, send it (with its newline). */
void ts_app_start_answer(ts_line_t *line);
void ts_app_send_out(ts_line_t *line);
/* The label of score `index` as a JSON string (its number when the build has no labels). */
void ts_app_label_name(ts_line_t *line, int index);
/* Answers `info`. */
void ts_app_info(void);

#endif
