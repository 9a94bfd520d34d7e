"""run_classifier() in the C library gives the studio's int8 results on real windows.

The studio's int8 pipeline is: numpy DSP -> quantize the features (float32 x / scale, halves
away from zero, as workers.learn.predict does) -> LiteRT with the reference kernels ->
dequantize. The library runs the C DSP (float32, within 1e-4 of numpy), quantizes the same way
(TFLite's QUANTIZE kernel), runs the compiled model and dequantizes. So:
  - the compiled model itself is exact: C features quantized the device's way and run through
    LiteRT give the C scores bit for bit, on every window;
  - where the two int8 inputs agree, the scores are identical; where a feature sits on a
    quantization boundary they may differ by one output step; the label must agree everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workers.learn.kmeans import anomaly_scores


def test_library_scores_equal_the_studio_int8_pipeline(
    trained_impulse: Any, host_classifier: Any, tools: Any
) -> None:
    t = trained_impulse
    got = host_classifier.classify(t.windows)
    n = len(t.windows)
    assert n >= 100

    # 1. DSP: the C features are the studio's within the blocks' tolerance.
    floors = tools.feature_floors(t.dsp_blocks, t.impulse_input["frequency_hz"], t.windows)
    feature_error = np.abs(got["features"] - t.features) / np.maximum(np.abs(t.features), floors)
    # flatten's skewness and kurtosis included: they are taken about a refined mean, which keeps
    # an axis with a large offset and little spread (idle accZ: 9.81 +- 0.04) within 1e-4 too.
    assert feature_error.max() <= 1e-4, feature_error.max()

    # 2. The compiled model and run_classifier's quantization are exact on the C features.
    device_q = tools.quantize_like_device(t.tflite, got["features"])
    np.testing.assert_array_equal(got["scores"], tools.litert_reference(t.tflite, device_q))

    # 3. Against the studio's own pipeline from its numpy features.
    studio_q = tools.quantize_like_studio(t.tflite, t.features)
    studio = tools.litert_reference(t.tflite, studio_q)
    np.testing.assert_array_equal(got["label"], studio.argmax(axis=1))
    same_input = np.all(device_q == studio_q, axis=1)
    np.testing.assert_array_equal(got["scores"][same_input], studio[same_input])
    step = 1.0 / 256.0  # a softmax int8 output's scale
    assert np.abs(got["scores"] - studio).max() <= step + 1e-7

    # 4. The anomaly block: float32 in C, float64 in numpy, on the same (C) features; then
    # against the studio's features, which adds the DSP's rounding in standardised units.
    on_c_features = anomaly_scores(t.anomaly, got["features"])
    np.testing.assert_allclose(got["anomaly"], on_c_features, rtol=1e-5, atol=1e-5)
    expected_anomaly = anomaly_scores(t.anomaly, t.features)
    np.testing.assert_allclose(got["anomaly"], expected_anomaly, rtol=0, atol=1e-3)

    accuracy = float(np.mean(got["label"] == t.y))
    print(
        f"\n{n} windows: features max rel. error {feature_error.max():.2e}; "
        f"int8 inputs identical on {int(same_input.sum())}/{n} windows "
        f"({int(np.sum(device_q != studio_q))} of {device_q.size} values differ); "
        f"scores identical on {int(np.all(got['scores'] == studio, axis=1).sum())}/{n}; "
        f"max score difference {np.abs(got['scores'] - studio).max():.6f}; labels agree {n}/{n}; "
        f"accuracy {accuracy:.3f}; anomaly max abs diff "
        f"{np.abs(got['anomaly'] - expected_anomaly).max():.2e}"
    )
    assert accuracy > 0.9  # the toy model learned its task, so the labels mean something
