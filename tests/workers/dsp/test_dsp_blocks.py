"""The DSP block registry: schemas, parameter validation and output shapes."""

from __future__ import annotations

import numpy as np
import pytest

from workers.dsp import BLOCKS, DspParamError, get_block

EXPECTED_BLOCKS = {"raw", "flatten", "spectral-analysis", "mfcc", "mfe", "spectrogram"}

# (block, params, frequency_hz, window_samples, axes) covering each block's main options.
SHAPE_CASES = [
    ("raw", {}, 100.0, 100, 3),
    ("raw", {"scale-axes": 0.5}, 62.5, 125, 1),
    ("flatten", {}, 100.0, 100, 3),
    ("flatten", {"minimum": False, "kurtosis": False}, 10.0, 37, 2),
    ("spectral-analysis", {}, 100.0, 100, 3),
    (
        "spectral-analysis",
        {"filter-type": "low", "filter-cutoff": 8.0, "fft-length": 64},
        100.0,
        200,
        3,
    ),
    (
        "spectral-analysis",
        {"filter-type": "high", "filter-cutoff": 10.0, "filter-order": 0},
        100.0,
        50,
        2,
    ),
    (
        "spectral-analysis",
        {"spectral-power-edges": [0.1, 0.5, 1.0, 2.0, 5.0], "fft-length": 128},
        62.5,
        125,
        3,
    ),
    ("mfcc", {}, 16000.0, 16000, 1),
    ("mfcc", {"frame_stride": 0.02, "win_size": 0}, 16000.0, 8000, 1),
    ("mfcc", {"num_cepstral": 20, "num_filters": 40, "fft_length": 512}, 8000.0, 8000, 2),
    ("mfe", {}, 16000.0, 16000, 1),
    ("mfe", {"num_filters": 32, "frame_length": 0.032, "frame_stride": 0.016}, 16000.0, 4000, 1),
    ("spectrogram", {}, 16000.0, 16000, 1),
    ("spectrogram", {"fft_length": 64, "frame_length": 0.5, "frame_stride": 0.25}, 100.0, 300, 3),
]


def test_registry_holds_every_block_under_its_name() -> None:
    assert set(BLOCKS) == EXPECTED_BLOCKS
    for name, block in BLOCKS.items():
        assert block.name == name
        assert block.title and block.description
        assert block.__doc__ and "Output shape" in block.__doc__
        assert get_block(name) is block


def test_unknown_block_is_refused_by_name() -> None:
    with pytest.raises(DspParamError) as err:
        get_block("wavelet")
    assert err.value.field == "block"
    assert "wavelet" in str(err.value) and "mfcc" in str(err.value)


@pytest.mark.parametrize("name", sorted(EXPECTED_BLOCKS))
def test_schema_is_an_object_schema_whose_defaults_validate(name: str) -> None:
    block = BLOCKS[name]
    schema = block.parameters_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    defaults = {}
    for key, prop in schema["properties"].items():
        assert prop["type"] in {"number", "integer", "boolean", "string", "array"}
        assert prop["title"] and prop["description"]
        assert "default" in prop
        defaults[key] = prop["default"]
    assert block.validate_params({}) == block.validate_params(defaults)


def test_defaults_follow_the_published_blocks() -> None:
    mfcc = BLOCKS["mfcc"].defaults()
    assert (mfcc["num_cepstral"], mfcc["frame_length"], mfcc["frame_stride"]) == (13, 0.02, 0.01)
    assert (mfcc["num_filters"], mfcc["fft_length"], mfcc["pre_cof"]) == (32, 256, 0.98)
    assert mfcc["win_size"] == 101
    mfe = BLOCKS["mfe"].defaults()
    assert (mfe["num_filters"], mfe["noise_floor_db"], mfe["fft_length"]) == (40, -52.0, 256)
    spectral = BLOCKS["spectral-analysis"].defaults()
    assert spectral["filter-type"] == "none" and spectral["fft-length"] == 16
    assert spectral["filter-cutoff"] == 3.0 and spectral["filter-order"] == 6
    assert spectral["do-log"] is True and spectral["do-fft-overlap"] is True
    assert BLOCKS["spectrogram"].defaults()["fft_length"] == 128
    assert all(BLOCKS["flatten"].defaults()[k] is True for k in ("average", "rms", "kurtosis"))


@pytest.mark.parametrize(
    ("name", "params", "field", "hint"),
    [
        ("raw", {"scale": 2}, "scale", "unknown parameter"),
        ("raw", {"scale-axes": "2"}, "scale-axes", "number"),
        ("flatten", {"average": 1}, "average", "true or false"),
        (
            "flatten",
            {
                k: False
                for k in ("average", "minimum", "maximum", "rms", "stdev", "skewness", "kurtosis")
            },
            "average",
            "at least one",
        ),
        ("spectral-analysis", {"filter-type": "band"}, "filter-type", "'low'"),
        ("spectral-analysis", {"filter-order": 5}, "filter-order", "one of"),
        ("spectral-analysis", {"fft-length": 100}, "fft-length", "one of"),
        ("spectral-analysis", {"filter-cutoff": 0}, "filter-cutoff", "greater than 0"),
        (
            "spectral-analysis",
            {"spectral-power-edges": [1, 0.5]},
            "spectral-power-edges",
            "increasing",
        ),
        (
            "spectral-analysis",
            {"spectral-power-edges": "1, x"},
            "spectral-power-edges",
            "list of numbers",
        ),
        ("mfcc", {"win_size": 100}, "win_size", "odd"),
        ("mfcc", {"num_cepstral": 40}, "num_cepstral", "num_filters"),
        ("mfcc", {"num_cepstral": 2.5}, "num_cepstral", "whole number"),
        ("mfcc", {"pre_cof": 1.5}, "pre_cof", "at most 1"),
        ("mfe", {"noise_floor_db": 5}, "noise_floor_db", "at most 0"),
        ("spectrogram", {"frame_length": -0.1}, "frame_length", "greater than 0"),
    ],
)
def test_bad_parameters_name_the_field_and_the_fix(
    name: str, params: dict, field: str, hint: str
) -> None:
    with pytest.raises(DspParamError) as err:
        BLOCKS[name].validate_params(params)
    assert isinstance(err.value, ValueError)
    assert err.value.field == field
    assert hint in str(err.value)


@pytest.mark.parametrize(
    ("name", "params", "frequency_hz", "samples", "field", "hint"),
    [
        (
            "spectral-analysis",
            {"filter-type": "low", "filter-cutoff": 60.0},
            100.0,
            100,
            "filter-cutoff",
            "half the sampling frequency (50 Hz)",
        ),
        (
            "spectral-analysis",
            {"filter-type": "low", "filter-cutoff": 0.001},
            100.0,
            100,
            "filter-cutoff",
            "unstable",
        ),
        (
            "spectral-analysis",
            {"filter-type": "low", "filter-cutoff": 2.0, "filter-order": 0},
            100.0,
            100,
            "filter-cutoff",
            "masks every",
        ),
        (
            "spectral-analysis",
            {"filter-type": "high", "filter-cutoff": 50.0, "filter-order": 0},
            100.0,
            100,
            "filter-cutoff",
            "(50 Hz)",
        ),
        ("mfcc", {}, 16000.0, 200, "frame_length", "longer than the window"),
        ("mfcc", {"high_frequency": 9000}, 16000.0, 16000, "high_frequency", "8000"),
        ("mfcc", {"low_frequency": 8000}, 16000.0, 16000, "low_frequency", "below"),
        (
            "mfe",
            {"num_filters": 128, "fft_length": 64},
            16000.0,
            16000,
            "num_filters",
            "fewer filters",
        ),
        (
            "spectrogram",
            {"frame_stride": 1e-8},
            16000.0,
            16000,
            "frame_stride",
            "less than one sample",
        ),
    ],
)
def test_input_the_block_cannot_fit_is_refused_before_processing(
    name: str, params: dict, frequency_hz: float, samples: int, field: str, hint: str
) -> None:
    with pytest.raises(DspParamError) as err:
        BLOCKS[name].output_shape(samples, 1, frequency_hz, params)
    assert err.value.field == field
    assert hint in str(err.value)


@pytest.mark.parametrize(("name", "params", "frequency_hz", "samples", "axes"), SHAPE_CASES)
def test_output_shape_is_the_shape_process_returns(
    name: str, params: dict, frequency_hz: float, samples: int, axes: int
) -> None:
    block = BLOCKS[name]
    rng = np.random.default_rng(7)
    windows = (rng.normal(size=(3, samples, axes)) * 1000).astype(np.float32)
    shape = block.output_shape(samples, axes, frequency_hz, params)
    features = block.process(windows, frequency_hz, params)
    assert features.shape == (3, *shape)
    assert features.dtype == np.float32
    assert np.all(np.isfinite(features))
    # Vectorised over windows: a batch gives what each window gives on its own.
    single = block.process(windows[1:2], frequency_hz, params)
    np.testing.assert_array_equal(features[1:2], single)
    # Deterministic: same input, same bits.
    np.testing.assert_array_equal(features, block.process(windows, frequency_hz, params))


def test_empty_batch_gives_empty_features_of_the_right_shape() -> None:
    out = BLOCKS["mfcc"].process(np.zeros((0, 16000, 1), np.float32), 16000.0, {})
    assert out.shape == (0, 99, 13)


def test_windows_must_be_three_dimensional() -> None:
    with pytest.raises(DspParamError) as err:
        BLOCKS["raw"].process(np.zeros((10, 3), np.float32), 100.0, {})
    assert err.value.field == "windows"


@pytest.mark.parametrize(("name", "params", "frequency_hz", "samples", "axes"), SHAPE_CASES)
def test_every_feature_has_a_distinct_name(
    name: str, params: dict, frequency_hz: float, samples: int, axes: int
) -> None:
    block = BLOCKS[name]
    axis_names = [f"axis{i}" for i in range(axes)]
    names = block.feature_names(samples, axis_names, frequency_hz, params)
    assert len(names) == int(np.prod(block.output_shape(samples, axes, frequency_hz, params)))
    assert len(set(names)) == len(names)
    assert names[0].startswith("axis0")


def test_spectral_feature_names_give_the_band_of_each_bin() -> None:
    names = BLOCKS["spectral-analysis"].feature_names(
        20, ["accX"], 10.0, {"filter-type": "low", "filter-cutoff": 3.0}
    )
    assert names[:4] == [
        "accX RMS",
        "accX Skewness",
        "accX Kurtosis",
        "accX log10 Spectral Power 0.31 - 0.94 Hz",
    ]


@pytest.mark.parametrize(
    ("name", "params", "frequency_hz", "samples"),
    [("spectral-analysis", {"fft-length": 32}, 100.0, 64), ("mfcc", {}, 8000.0, 1600)],
)
def test_large_batches_are_processed_in_chunks_with_the_same_result(
    name: str, params: dict, frequency_hz: float, samples: int
) -> None:
    block = BLOCKS[name]
    rng = np.random.default_rng(11)
    windows = (rng.normal(size=(300, samples, 1)) * 1000).astype(np.float32)
    batch = block.process(windows, frequency_hz, params)
    for i in (0, 127, 128, 255, 256, 299):  # either side of the chunk boundaries
        np.testing.assert_array_equal(
            batch[i], block.process(windows[i : i + 1], frequency_hz, params)[0]
        )
