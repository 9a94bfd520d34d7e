/* main.c - @NAME@.
 *
 * Classifies one built-in window and prints the scores. The window is
 * @EXAMPLE_NOTE@.
 * Replace it with your sensor's values (same axes, rate and units as the training data) to
 * classify live data.
 */
#include <stdio.h>

#include "tinystudio.h"

/* TS_SIGNAL_VALUES raw values, time-major: sample 0's axes, then sample 1's, ... */
static const float example_window[TS_SIGNAL_VALUES] = {
@EXAMPLE_WINDOW@
};
static const char example_label[] = @EXAMPLE_LABEL@;

int main(void)
{
    ts_result_t result;
    const ts_status_t status = tinystudio_classify(example_window, TS_SIGNAL_VALUES, &result);
    if (status != TS_OK) {
        printf("classification failed: %s\n", ts_status_message(status));
        return 1;
    }
    printf("impulse: %s\n", TS_IMPULSE_NAME);
    for (int i = 0; i < TS_LABEL_COUNT; i++) {
        printf("score %s: %.6f\n", ts_label_names[i], (double)result.scores[i]);
    }
    printf("label: %s\n", ts_label_names[result.label_index]);
    if (example_label[0] != '\0') {
        printf("expected: %s\n", example_label);
    }
    if (TS_HAVE_ANOMALY) {
        printf("anomaly: %.6f (threshold %.6f)\n", (double)result.anomaly,
               (double)ts_anomaly_threshold);
    }
    const uint32_t per_second = ts_port_ticks_per_second();
    if (per_second != 0u) {
        printf("dsp: %.1f us, inference: %.1f us\n",
               1e6 * (double)result.dsp_ticks / (double)per_second,
               1e6 * (double)result.inference_ticks / (double)per_second);
    }
    return 0;
}
