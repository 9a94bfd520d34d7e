/* tinystudio.c - @NAME@: label names, status messages and tinystudio_classify(). */
#include "tinystudio.h"

#include <math.h>

/* The DSP blocks must give exactly the features the model takes. */
typedef char ts_check_features[(TS_DSP_OUTPUT_VALUES == TS_MODEL_INPUT0_ELEMENTS) ? 1 : -1];
typedef char ts_check_labels[(TS_LABEL_COUNT == TS_SCORE_COUNT) ? 1 : -1];

const char *const ts_label_names[TS_LABEL_COUNT] = {@LABELS@};
const char *const ts_axis_names[TS_AXIS_COUNT] = {@AXIS_NAMES@};

@ANOMALY_CODE@

const char *ts_status_message(ts_status_t status)
{
    switch (status) {
    case TS_OK:
        return "ok";
    case TS_ERR_SIGNAL_LENGTH:
        return "signal length differs from TS_SIGNAL_VALUES";
    case TS_ERR_DSP:
        return "a DSP block refused its configuration";
    case TS_ERR_INVOKE:
        return "the model failed to run";
    case TS_ERR_MODEL_TYPE:
        return "the model has an input or output type the library cannot convert";
    }
    return "unknown status";
}
