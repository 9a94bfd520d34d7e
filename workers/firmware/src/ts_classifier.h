/* ts_classifier.h - run_classifier(): raw signal window -> DSP -> compiled model -> scores and label.
 *
 * The DSP stage is the identity (the raw window is the model's input) unless the build defines
 * TS_HAVE_DSP and links the impulse's DSP glue, a ts_impulse_dsp.h/.c pair (written per impulse,
 * usually calling the blocks of workers/dsp/c/ts_dsp.h) providing:
 *     #define TS_DSP_INPUT_VALUES  <raw values per window>
 *     #define TS_DSP_OUTPUT_VALUES <features, equal to the model's input element count>
 *     int ts_impulse_dsp_run(const float *signal, size_t len, float *features, size_t n);
 * returning 0 on success. Its scratch buffers are its own static arrays.
 *
 * With TS_HAVE_ANOMALY defined as well, the build links the impulse's K-means anomaly block, a
 * ts_anomaly.h/.c pair written per impulse (workers/deploy/anomaly.py) providing
 * TS_ANOMALY_CLUSTERS, TS_ANOMALY_FEATURES, ts_anomaly_threshold and
 *     float ts_anomaly_score(const float *features);
 * run_classifier() then scores the window's features after the model and returns it in
 * `anomaly`.
 */
#ifndef TS_CLASSIFIER_H
#define TS_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "ts_model.h"

#ifdef TS_HAVE_DSP
#include "ts_impulse_dsp.h"
#define TS_SIGNAL_VALUES TS_DSP_INPUT_VALUES
#else
#define TS_SIGNAL_VALUES TS_MODEL_INPUT0_ELEMENTS
#endif

#define TS_SCORE_COUNT TS_MODEL_OUTPUT0_ELEMENTS

#ifdef TS_HAVE_ANOMALY
#include "ts_anomaly.h"
#endif

typedef struct {
    float scores[TS_SCORE_COUNT]; /* output 0, dequantized with its scale and zero point */
    int label_index;              /* argmax of scores (first one on ties) */
    float anomaly;                /* anomaly score; NaN when no anomaly block is linked */
    uint32_t dsp_ticks;           /* ts_port ticks spent in the DSP stage */
    uint32_t inference_ticks;     /* ts_port ticks spent in quantize + invoke + dequantize */
} ts_result_t;

typedef enum {
    TS_OK = 0,
    TS_ERR_SIGNAL_LENGTH = 1, /* len differs from TS_SIGNAL_VALUES */
    TS_ERR_DSP = 2,
    TS_ERR_INVOKE = 3,
    TS_ERR_MODEL_TYPE = 4, /* an input or output type this library cannot convert */
} ts_status_t;

/* Classifies one window of len raw values (len must be TS_SIGNAL_VALUES). Input 0 of the model
 * gets the features quantized as q = round(x / scale) + zero_point (halves away from zero,
 * saturated to the type's range, as TFLite's QUANTIZE kernel does). */
ts_status_t run_classifier(const float *signal, size_t len, ts_result_t *out);

/* Profiling markers: empty, distinct functions that the QEMU insncount plugin watches. Each
 * begin/end pair brackets one region of run_classifier. */
void ts_profile_dsp_begin(void);
void ts_profile_dsp_end(void);
void ts_profile_invoke_begin(void);
void ts_profile_invoke_end(void);
#ifdef TS_HAVE_ANOMALY
void ts_profile_anomaly_begin(void);
void ts_profile_anomaly_end(void);
#endif

#endif
