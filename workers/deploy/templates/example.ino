/* @LIBRARY@.ino - @NAME@.
 *
 * Classifies one built-in window every two seconds and prints the scores on Serial. The window
 * is @EXAMPLE_NOTE@.
 * Fill `window` from your sensor instead (same axes, rate and units as the training data) to
 * classify live data.
 */
#include <@LIBRARY@.h>

/* TS_SIGNAL_VALUES raw values, time-major: sample 0's axes, then sample 1's, ... */
static const float window[TS_SIGNAL_VALUES] = {
@EXAMPLE_WINDOW@
};
static const char expected_label[] = @EXAMPLE_LABEL@;

void setup()
{
    Serial.begin(115200);
    while (!Serial) {
        delay(10);
    }
    Serial.print("impulse: ");
    Serial.println(TS_IMPULSE_NAME);
}

void loop()
{
    ts_result_t result;
    ts_status_t status = tinystudio_classify(window, TS_SIGNAL_VALUES, &result);
    if (status != TS_OK) {
        Serial.print("classification failed: ");
        Serial.println(ts_status_message(status));
        delay(2000);
        return;
    }
    for (int i = 0; i < TS_LABEL_COUNT; i++) {
        Serial.print(ts_label_names[i]);
        Serial.print(": ");
        Serial.println(result.scores[i], 5);
    }
    Serial.print("label: ");
    Serial.println(ts_label_names[result.label_index]);
    if (expected_label[0] != '\0') {
        Serial.print("expected: ");
        Serial.println(expected_label);
    }
    if (TS_HAVE_ANOMALY) {
        Serial.print("anomaly: ");
        Serial.println(result.anomaly, 5);
    }
    Serial.print("dsp us: ");
    Serial.print((unsigned long)result.dsp_ticks);
    Serial.print(", inference us: ");
    Serial.println((unsigned long)result.inference_ticks);
    delay(2000);
}
