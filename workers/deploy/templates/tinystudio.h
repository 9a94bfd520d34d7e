/*
 * tinystudio.h - @NAME@: a TinyStudio impulse as a C library.
 *
 * One call classifies one window of raw sensor values:
 *
 *     ts_result_t result;
 *     ts_status_t status = tinystudio_classify(signal, TS_SIGNAL_VALUES, &result);
 *
 * tinystudio_classify() is run_classifier() (ts_classifier.h) plus the anomaly score when the
 * impulse has an anomaly block; run_classifier() may be called directly, it then leaves
 * `anomaly` as NaN.
 *
 * Input (`signal`, `len`): one window of @WINDOW_SAMPLES@ samples x @AXES@ axes = TS_SIGNAL_VALUES
 * (@SIGNAL_VALUES@) floats, sampled at @FREQUENCY_HZ@ Hz (@WINDOW_MS@ ms), time-major and
 * interleaved: signal[t * TS_AXIS_COUNT + a] is axis a (ts_axis_names[a]) at sample t, in the
 * same units as the studio's training data. `len` must equal TS_SIGNAL_VALUES.
 *
 * What happens: the DSP blocks (@BLOCKS@) turn the window into TS_FEATURE_COUNT (@FEATURES@)
 * features (ts_impulse_dsp.h); each feature is quantized to the model's int8 input as
 * q = round(x / scale) + zero_point (halves away from zero, saturated); the compiled model runs
 * (ts_model.h); its output is dequantized.
 *
 * Output (`*out`, a ts_result_t):
 *   scores[TS_SCORE_COUNT]  one score per label, in the order of ts_label_names[]
 *                           (probabilities for a softmax model), dequantized float32;
 *   label_index             index of the highest score (the first one on ties), so the
 *                           label is ts_label_names[out->label_index];
 *   anomaly                 the anomaly score (distance to the nearest cluster's edge in
 *                           standardised feature units, above ts_anomaly_threshold means
 *                           anomalous), or NaN when the impulse has no anomaly block;
 *   dsp_ticks,              time spent in the DSP stage and in quantize + model + dequantize,
 *   inference_ticks         in ts_port_ticks() units: divide by ts_port_ticks_per_second().
 *                           On boards without a known timer both functions return 0 (no
 *                           timing): define your own ts_port_ticks() and
 *                           ts_port_ticks_per_second() to replace the weak defaults in
 *                           ts_port_library.c (e.g. the DWT cycle counter and the core clock).
 *
 * Errors (ts_status_t, ts_status_message() names them):
 *   TS_OK                 success, *out is filled;
 *   TS_ERR_SIGNAL_LENGTH  len != TS_SIGNAL_VALUES (nothing is computed);
 *   TS_ERR_DSP            a DSP block refused its configuration;
 *   TS_ERR_INVOKE         the model failed to run;
 *   TS_ERR_MODEL_TYPE     the model has an input or output type the library cannot convert.
 *
 * Memory: no heap. Static RAM is the model's arena (TS_MODEL_ARENA_BYTES), the feature buffer
 * and the DSP scratch buffer; the functions are not reentrant (one classification at a time).
 */
#ifndef TINYSTUDIO_H
#define TINYSTUDIO_H

#ifdef __cplusplus
extern "C" {
#endif

#include "ts_classifier.h"
#include "ts_port.h"

#define TS_IMPULSE_NAME @NAME_STRING@
#define TS_AXIS_COUNT TS_DSP_AXES
#define TS_FEATURE_COUNT TS_DSP_OUTPUT_VALUES
#define TS_LABEL_COUNT @LABEL_COUNT@
#define TS_HAVE_ANOMALY @HAVE_ANOMALY@

/* Label names in score order, and the names of the window's axes. */
extern const char *const ts_label_names[TS_LABEL_COUNT];
extern const char *const ts_axis_names[TS_AXIS_COUNT];

/* The anomaly threshold (0 when the impulse has no anomaly block). */
extern const float ts_anomaly_threshold;

/* run_classifier() plus the anomaly score (see above). */
ts_status_t tinystudio_classify(const float *signal, size_t len, ts_result_t *out);

/* A short English description of a status, e.g. "signal length differs from TS_SIGNAL_VALUES". */
const char *ts_status_message(ts_status_t status);

#ifdef __cplusplus
}
#endif

#endif /* TINYSTUDIO_H */
