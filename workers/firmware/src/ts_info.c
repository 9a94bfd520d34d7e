/* ts_info.c - the answer to `info`: the model, its tensors, RAM and flash (PROTOCOL.md).
 *
 * The only part of the application that reads the compiled model's figures (arena, tensor
 * types, scales, shapes), so that ts_app.c compiles to the same object for every model of an
 * impulse and the firmware build takes it from the object cache. */
#include <stdint.h>

#include "ts_build_config.h" /* first: it may set TS_REPLAY_CAPACITY */
#include "ts_app.h"
#include "ts_classifier.h"
#include "ts_port.h"
#include "ts_text.h"

extern char __flash_used__[];
extern char __data_start__[], __data_end__[], __bss_start__[], __bss_end__[];

static const char *type_name(int type)
{
    switch (type) {
    case 0: return "float32";
    case 2: return "int32";
    case 3: return "uint8";
    case 7: return "int16";
    case 9: return "int8";
    default: return "unknown";
    }
}

static void json_tensor(ts_line_t *line, int type, uint32_t elements, float scale, int32_t zp,
                        const int32_t *dims, uint32_t rank)
{
    ts_line_str(line, "{\"type\":");
    ts_line_json_str(line, type_name(type));
    ts_line_str(line, ",\"elements\":");
    ts_line_uint(line, elements);
    ts_line_str(line, ",\"shape\":[");
    if (dims) {
        for (uint32_t i = 0; i < rank; i++) {
            if (i) {
                ts_line_str(line, ",");
            }
            ts_line_int(line, dims[i]);
        }
    } else {
        ts_line_uint(line, elements);
    }
    ts_line_str(line, "],\"scale\":");
    ts_line_float(line, scale);
    ts_line_str(line, ",\"zero_point\":");
    ts_line_int(line, zp);
    ts_line_str(line, "}");
}

void ts_app_info(void)
{
    ts_line_t line;
    ts_app_start_answer(&line);
    ts_line_str(&line, "{\"protocol\":");
    ts_line_uint(&line, TS_PROTOCOL_VERSION);
    ts_line_str(&line, ",\"board\":");
    ts_line_json_str(&line, TS_BOARD_ID);
    ts_line_str(&line, ",\"model\":");
    ts_line_json_str(&line, TS_MODEL_NAME);
    ts_line_str(&line, ",\"arena_bytes\":");
    ts_line_uint(&line, TS_MODEL_ARENA_BYTES);
    ts_line_str(&line, ",\"signal_values\":");
    ts_line_uint(&line, TS_SIGNAL_VALUES);
    ts_line_str(&line, ",\"labels\":[");
    for (int i = 0; i < TS_SCORE_COUNT; i++) {
        if (i) {
            ts_line_str(&line, ",");
        }
        ts_app_label_name(&line, i);
    }
    ts_line_str(&line, "],\"input_count\":");
    ts_line_uint(&line, TS_MODEL_INPUT_COUNT);
    ts_line_str(&line, ",\"inputs\":[");
#if defined(TS_MODEL_INPUT0_DIMS) && defined(TS_MODEL_INPUT0_RANK)
    static const int32_t in_dims[] = TS_MODEL_INPUT0_DIMS;
    json_tensor(&line, TS_MODEL_INPUT0_TYPE, TS_MODEL_INPUT0_ELEMENTS, TS_MODEL_INPUT0_SCALE,
                TS_MODEL_INPUT0_ZERO_POINT, in_dims, TS_MODEL_INPUT0_RANK);
#else
    json_tensor(&line, TS_MODEL_INPUT0_TYPE, TS_MODEL_INPUT0_ELEMENTS, TS_MODEL_INPUT0_SCALE,
                TS_MODEL_INPUT0_ZERO_POINT, 0, 0u);
#endif
    ts_line_str(&line, "],\"output_count\":");
    ts_line_uint(&line, TS_MODEL_OUTPUT_COUNT);
    ts_line_str(&line, ",\"outputs\":[");
#if defined(TS_MODEL_OUTPUT0_DIMS) && defined(TS_MODEL_OUTPUT0_RANK)
    static const int32_t out_dims[] = TS_MODEL_OUTPUT0_DIMS;
    json_tensor(&line, TS_MODEL_OUTPUT0_TYPE, TS_MODEL_OUTPUT0_ELEMENTS, TS_MODEL_OUTPUT0_SCALE,
                TS_MODEL_OUTPUT0_ZERO_POINT, out_dims, TS_MODEL_OUTPUT0_RANK);
#else
    json_tensor(&line, TS_MODEL_OUTPUT0_TYPE, TS_MODEL_OUTPUT0_ELEMENTS, TS_MODEL_OUTPUT0_SCALE,
                TS_MODEL_OUTPUT0_ZERO_POINT, 0, 0u);
#endif
    /* RAM = arena + stack (painted, one DSP + inference pass) + static (the rest of .data and
     * .bss), the same figure the studio's build report gives. */
    uint32_t data_bss = (uint32_t)((uintptr_t)__data_end__ - (uintptr_t)__data_start__) +
                        (uint32_t)((uintptr_t)__bss_end__ - (uintptr_t)__bss_start__);
    uint32_t static_bytes = data_bss - (uint32_t)TS_MODEL_ARENA_BYTES;
    uint32_t ram_total = (uint32_t)TS_MODEL_ARENA_BYTES + ts_app_inference_stack_bytes + static_bytes;
    ts_line_str(&line, "],\"flash_bytes\":");
    ts_line_uint(&line, (uint32_t)(uintptr_t)__flash_used__);
    ts_line_str(&line, ",\"ram_bytes\":");
    ts_line_uint(&line, ram_total);
    ts_line_str(&line, ",\"ram\":{\"total_bytes\":");
    ts_line_uint(&line, ram_total);
    ts_line_str(&line, ",\"arena_bytes\":");
    ts_line_uint(&line, (uint32_t)TS_MODEL_ARENA_BYTES);
    ts_line_str(&line, ",\"stack_bytes\":");
    ts_line_uint(&line, ts_app_inference_stack_bytes);
    ts_line_str(&line, ",\"static_bytes\":");
    ts_line_uint(&line, static_bytes);
    ts_line_str(&line, ",\"stack_reserved_bytes\":");
    ts_line_uint(&line, (uint32_t)ts_port_stack_size());
    ts_line_str(&line, "},\"stack_used_bytes\":");
    ts_line_uint(&line, (uint32_t)ts_port_stack_used());
    ts_line_str(&line, ",\"replay_capacity\":");
    ts_line_uint(&line, TS_REPLAY_CAPACITY);
    ts_line_str(&line, ",\"timing\":");
    ts_line_json_str(&line, TS_TIMING);
    ts_line_str(&line, ",\"anomaly\":");
#ifdef TS_HAVE_ANOMALY
    ts_line_str(&line, "{\"block\":\"anomaly-kmeans\",\"clusters\":");
    ts_line_uint(&line, TS_ANOMALY_CLUSTERS);
    ts_line_str(&line, ",\"features\":");
    ts_line_uint(&line, TS_ANOMALY_FEATURES);
    ts_line_str(&line, ",\"threshold\":");
    ts_line_float(&line, ts_anomaly_threshold);
    ts_line_str(&line, "}");
#else
    ts_line_str(&line, "null"); /* no anomaly block: classify answers "anomaly":null */
#endif
    ts_line_str(&line, "}");
    ts_app_send_out(&line);
}
