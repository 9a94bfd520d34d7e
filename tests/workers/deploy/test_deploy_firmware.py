"""Board firmware of a trained impulse: built, run on the virtual Cortex-M4 in QEMU, and its
`classify` answers equal the host C library's run_classifier() on the same windows."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workers.boards import BoardNotFoundError, get_board
from workers.deploy.firmware import FirmwareUnavailableError, build_board_firmware
from workers.firmware.profile import profile
from workers.firmware.qemu import VirtualBoardSession
from workers.learn.kmeans import anomaly_scores

needs_tools = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="arm-none-eabi-gcc and qemu-system-arm are needed",
)


@pytest.fixture(scope="module")
def firmware(trained_impulse: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    t = trained_impulse
    return build_board_firmware(
        board_id="virtual-cortex-m4",
        **t.build_args(),
        out_dir=tmp_path_factory.mktemp("firmware"),
        model_name="gesture-detector",
    )


@pytest.fixture(scope="module")
def firmware_with_anomaly(trained_impulse: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    t = trained_impulse
    out_dir = tmp_path_factory.mktemp("firmware-anomaly")
    build, report = build_board_firmware(
        board_id="virtual-cortex-m4",
        **t.build_args(),
        out_dir=out_dir,
        model_name="gesture-detector",
        anomaly=t.anomaly,
    )
    return build, report, out_dir


@needs_tools
@pytest.mark.slow
def test_firmware_classify_equals_the_host_library(
    firmware: Any, trained_impulse: Any, host_classifier: Any
) -> None:
    build, report = firmware
    t = trained_impulse
    # A few windows of every class, one of them near a class boundary if there is one.
    picks = [int(np.flatnonzero(t.y == label)[k]) for label in range(3) for k in (0, 5)]
    host = host_classifier.classify(t.windows[picks])

    with VirtualBoardSession(get_board("virtual-cortex-m4"), build.elf) as board:
        info = board.info()
        assert info["signal_values"] == 150
        assert info["labels"] == t.labels
        assert info["inputs"][0]["elements"] == report["dsp"]["feature_values"]
        answers = [board.classify(t.windows[i]) for i in picks]
    assert not board.is_running()

    for k, answer in enumerate(answers):
        # Scores travel as the shortest decimal of their float32, so they compare exactly.
        np.testing.assert_array_equal(
            np.asarray(answer["scores"], dtype=np.float32), host["scores"][k]
        )
        assert answer["label_index"] == host["label"][k]
        assert answer["label"] == t.labels[host["label"][k]]
        assert answer["anomaly"] is None  # the firmware has no anomaly block


@needs_tools
def test_firmware_report_splits_flash_and_ram(firmware: Any) -> None:
    build, report = firmware
    assert build.elf.is_file() and build.bin.is_file()
    assert report["board"] == "virtual-cortex-m4"
    assert report["dsp"] == {
        "blocks": ["spectral-analysis", "flatten"],
        "signal_values": 150,
        "feature_values": 36,
        "scratch_floats": report["dsp"]["scratch_floats"],
    }
    assert report["firmware"]["flash"]["dsp_code"] > 0
    assert report["firmware"]["flash"]["model_weights"] >= report["model"]["weights_bytes"]
    # The glue's scratch buffer is counted as a DSP buffer.
    assert report["firmware"]["ram"]["dsp_buffers"] >= 4 * report["dsp"]["scratch_floats"]
    assert report["firmware"]["flash_bytes"] == build.flash_bytes


@pytest.mark.parametrize(
    ("board_id", "reason"),
    [
        ("esp32-s3-devkitc-1", "no xtensa-lx7 toolchain"),
        ("raspberry-pi-pico", "no TinyStudio firmware port"),
    ],
)
def test_boards_without_firmware_point_to_the_libraries(
    board_id: str, reason: str, trained_impulse: Any, tmp_path: Path
) -> None:
    t = trained_impulse
    with pytest.raises(FirmwareUnavailableError) as caught:
        build_board_firmware(
            board_id=board_id,
            **t.build_args(),
            out_dir=tmp_path,
        )
    message = str(caught.value)
    assert "cannot build firmware" in message and reason in message
    assert "C library" in message and "Arduino library" in message
    assert caught.value.alternatives == ("c-library", "arduino-library")
    assert not any(tmp_path.iterdir())  # refused before compiling anything


def test_unknown_boards_are_named(trained_impulse: Any, tmp_path: Path) -> None:
    t = trained_impulse
    with pytest.raises(BoardNotFoundError, match="virtual-cortex-m4"):
        build_board_firmware(
            board_id="cortex-m99",
            **t.build_args(),
            out_dir=tmp_path,
        )


def unlike_the_training_data(windows: np.ndarray, seed: int = 3) -> np.ndarray:
    """Windows no class looks like: the idle windows with a large, slow drift on every axis."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, windows.shape[1])[None, :, None]
    drift = rng.uniform(3.0, 6.0, (len(windows), 1, windows.shape[2])) * t
    return (windows + drift).astype(np.float32)


@needs_tools
@pytest.mark.slow
def test_firmware_with_an_anomaly_block_answers_the_studio_anomaly_scores(
    firmware_with_anomaly: Any, trained_impulse: Any, host_classifier: Any
) -> None:
    build, report, _ = firmware_with_anomaly
    t = trained_impulse
    picks = [int(np.flatnonzero(t.y == label)[k]) for label in range(3) for k in (0, 4, 9, 17)]
    odd = unlike_the_training_data(t.windows[np.flatnonzero(t.y == 0)[:4]])
    windows = np.concatenate([t.windows[picks], odd])
    host = host_classifier.classify(windows)
    from workers.deploy.glue import numpy_features

    studio_features = numpy_features(
        windows, impulse_input=t.impulse_input, dsp_blocks=t.dsp_blocks
    )
    studio = anomaly_scores(t.anomaly, studio_features)
    assert (studio[len(picks) :] > t.anomaly["threshold"]).all()  # the odd windows are anomalous

    with VirtualBoardSession(get_board("virtual-cortex-m4"), build.elf) as board:
        info = board.info()
        answers = [board.classify(w) for w in windows]
    # Floats travel as the shortest decimal that reads back as the same float32.
    threshold = info["anomaly"].pop("threshold")
    assert np.float32(threshold) == np.float32(t.anomaly["threshold"])
    assert info["anomaly"] == {"block": "anomaly-kmeans", "clusters": 4, "features": 36}
    assert report["anomaly"] == {
        "block": "anomaly-kmeans",
        "clusters": 4,
        "features": 36,
        "threshold": t.anomaly["threshold"],
    }
    device = np.asarray([a["anomaly"] for a in answers], dtype=np.float64)
    difference = np.abs(device - studio)
    print(f"\nanomaly scores: max abs difference device - studio {difference.max():.2e}")
    assert difference.max() <= 1e-3
    # The host library computes the same float32 expression (only FMA contraction may differ).
    np.testing.assert_allclose(device, host["anomaly"], rtol=1e-5, atol=1e-5)
    for k, answer in enumerate(answers):  # the classifier is untouched by the anomaly block
        np.testing.assert_array_equal(
            np.asarray(answer["scores"], dtype=np.float32), host["scores"][k]
        )


@needs_tools
def test_firmware_reports_the_anomaly_blocks_flash_and_ram(
    firmware: Any, firmware_with_anomaly: Any
) -> None:
    plain, plain_report = firmware
    build, report, _ = firmware_with_anomaly
    assert "anomaly" not in plain.flash and plain_report["anomaly"] is None
    # Constants: mean, std (36 each), 4 x 36 centres, 4 radii, the threshold; plus the code.
    assert build.flash["anomaly"] > 4 * (36 + 36 + 4 * 36 + 4 + 1)
    assert build.ram["anomaly"] == 4 * 36  # the standardised features
    assert build.flash_bytes > plain.flash_bytes
    assert "anomaly" in build.profile_symbols and "anomaly" not in plain.profile_symbols


@needs_tools
@pytest.mark.slow
def test_profile_counts_the_anomaly_blocks_instructions(
    firmware_with_anomaly: Any, trained_impulse: Any
) -> None:
    import workers.dsp

    _, report, out_dir = firmware_with_anomaly
    t = trained_impulse
    measured = profile(
        "virtual-cortex-m4",
        out_dir / "model",
        labels=t.labels,
        dsp_dirs=[out_dir / "dsp", Path(workers.dsp.__file__).parent / "c"],
        window=t.windows[0].reshape(-1),
    )
    counts = measured["latency"]["stage_instructions"]
    # 36 standardisations + 4 x 36 squared differences: a few hundred instructions at least.
    assert counts["anomaly"] > 4 * 36
    assert measured["latency"]["instructions"] == sum(counts.values())
    assert set(counts) == {"dsp", "inference", "anomaly"}
    assert measured["flash"]["parts"]["anomaly"] == report["firmware"]["flash"]["anomaly"]
    assert measured["ram"]["static_parts"]["anomaly"] == 4 * 36
    # The anomaly block is part of the impulse's own cost.
    ram, flash = report["firmware"]["ram"], report["firmware"]["flash"]
    impulse_ram = ram["arena"] + ram["dsp_buffers"] + ram["anomaly"]
    assert measured["ram"]["impulse_bytes"] == impulse_ram + measured["ram"]["stack_bytes"]
    impulse_flash = flash["model_weights"] + flash["model_code"] + flash["dsp_code"]
    assert measured["flash"]["impulse_bytes"] == impulse_flash + flash["anomaly"]
    expected = anomaly_scores(t.anomaly, t.features[:1])[0]
    assert abs(measured["probe"]["anomaly"] - expected) <= 1e-3
