"""The C and Arduino library zips hold what they promise and build as shipped.

Host: make and cmake with gcc, then the example runs. Cortex-M4F: the C library's Makefile with
arm-none-eabi-gcc (example linked with newlib's nosys stubs); the Arduino library's src/*.c with
arm-none-eabi-gcc and its sketch as C++ with arm-none-eabi-g++ against a small Arduino.h stub,
linked together with the stub's few functions so C/C++ linkage mistakes show.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workers.deploy.library import (
    LibraryBuildError,
    arduino_name,
    build_arduino_library,
    build_c_library,
    c_identifier,
    c_string,
)

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc is not installed"
)

ARDUINO_STUB_H = r"""
/* Arduino.h - the little of the Arduino core the example sketch uses, for a compile test. */
#pragma once
#include <stddef.h>
#include <stdint.h>
extern "C" unsigned long micros(void);
void delay(unsigned long ms);
class SerialPort {
  public:
    void begin(unsigned long baud);
    explicit operator bool() const;
    size_t print(const char *text);
    size_t print(unsigned long value);
    size_t println(const char *text);
    size_t println(unsigned long value);
    size_t println(double value, int digits = 2);
};
extern SerialPort Serial;
"""

ARDUINO_STUB_CPP = r"""
#include <Arduino.h>
#include <stdio.h>
SerialPort Serial;
extern "C" unsigned long micros(void) { return 0; }
void delay(unsigned long) {}
void SerialPort::begin(unsigned long) {}
SerialPort::operator bool() const { return true; }
size_t SerialPort::print(const char *text) { return (size_t)printf("%s", text); }
size_t SerialPort::print(unsigned long value) { return (size_t)printf("%lu", value); }
size_t SerialPort::println(const char *text) { return (size_t)printf("%s\n", text); }
size_t SerialPort::println(unsigned long value) { return (size_t)printf("%lu\n", value); }
size_t SerialPort::println(double value, int digits)
{
    return (size_t)printf("%.*f\n", digits, value);
}
void setup();
void loop();
int main() { setup(); loop(); return 0; }
"""


def parse_scores(output: str) -> dict[str, float]:
    """{label: score} from the example's `score <label>: <value>` lines."""
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"score (\S+): (\S+)", output)}


@pytest.fixture(scope="module")
def arduino_zip(trained_impulse: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    t = trained_impulse
    example = int(np.flatnonzero(t.y == 1)[0])
    return build_arduino_library(
        name="Gesture detector",
        **t.build_args(axis_names=t.axis_names),
        out_zip=tmp_path_factory.mktemp("arduino") / "gesture-detector-arduino.zip",
        example_window=t.windows[example],
        example_label=t.labels[t.y[example]],
    )


def test_c_library_zip_holds_sources_build_files_and_example(
    host_classifier: Any, trained_impulse: Any
) -> None:
    report = host_classifier.report
    names = set(report.files)
    top = "gesture_detector/"
    for name in (
        "Makefile", "CMakeLists.txt", "README.md", "examples/main.c", "src/tinystudio.h",
        "src/tinystudio.c", "src/ts_classifier.h", "src/ts_classifier.c", "src/ts_port.h",
        "src/ts_port_library.c", "src/ts_impulse_dsp.h", "src/ts_impulse_dsp.c", "src/ts_dsp.h",
        "src/ts_dsp.c", "src/ts_model.h", "src/ts_model.c", "src/ts_anomaly.h",
        "src/ts_anomaly.c",
    ):  # fmt: skip
        assert top + name in names, name
    with zipfile.ZipFile(report.zip_path) as zf:
        assert sorted(zf.namelist()) == sorted(report.files)
    assert report.kind == "c-library" and report.library_name == "gesture_detector"
    assert report.signal_values == 50 * 3
    # spectral: rms, skewness, kurtosis + 3 bins under the 8 Hz low-pass; flatten: 6 statistics
    assert report.feature_values == 3 * (3 + 3) + 3 * 6
    assert report.dsp_blocks == ["spectral-analysis", "flatten"]
    assert report.model["ops"] and report.model["arena_bytes"] > 0
    assert report.anomaly == {
        "block": "anomaly-kmeans",
        "clusters": 4,
        "features": 36,
        "threshold": trained_impulse.anomaly["threshold"],
    }

    src = host_classifier.root / "src"
    api = (src / "tinystudio.h").read_text()
    for documented in ("TS_ERR_SIGNAL_LENGTH", "label_index", "anomaly", "inference_ticks"):
        assert documented in api
    assert (
        'ts_label_names[TS_LABEL_COUNT] = {"idle", "shake", "wave"}'
        in (src / "tinystudio.c").read_text()
    )
    # The example's window is a real training window, not zeros.
    main_c = (host_classifier.root / "examples" / "main.c").read_text()
    assert "labelled 'wave'" in main_c
    assert len(re.findall(r"-?\d+\.\d+(?:e-?\d+)?f", main_c)) >= report.signal_values


def test_c_library_builds_with_make_and_its_example_gives_the_studio_scores(
    trained_impulse: Any, host_classifier: Any, tools: Any, tmp_path: Path
) -> None:
    t = trained_impulse
    root = tools.unpack(host_classifier.report.zip_path, tmp_path)
    log = tools.run(["make"], cwd=root)
    assert "warning" not in log.lower(), log
    output = tools.run([root / "build" / "example"])
    scores = parse_scores(output)
    assert list(scores) == t.labels

    example = int(np.flatnonzero(t.y == 2)[3])
    studio = tools.studio_int8_scores(t.tflite, t.features[example : example + 1])[0]
    np.testing.assert_allclose(list(scores.values()), studio, atol=5e-7)  # printed with %.6f
    assert f"label: {t.labels[int(studio.argmax())]}" in output
    assert "expected: wave" in output
    assert re.search(r"anomaly: -?\d+\.\d+ \(threshold", output)
    assert re.search(r"dsp: [\d.]+ us, inference: [\d.]+ us", output)


def test_c_library_builds_with_cmake(host_classifier: Any, tools: Any, tmp_path: Path) -> None:
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    root = tools.unpack(host_classifier.report.zip_path, tmp_path)
    tools.run(["cmake", "-S", root, "-B", tmp_path / "build", "-DCMAKE_BUILD_TYPE=Release"])
    tools.run(["cmake", "--build", tmp_path / "build"])
    output = tools.run([tmp_path / "build" / "gesture_detector_example"])
    assert set(parse_scores(output)) == {"idle", "shake", "wave"}
    assert "label: wave" in output
    assert (tmp_path / "build" / "libgesture_detector.a").is_file()


def test_c_library_builds_for_cortex_m4_with_its_makefile(
    host_classifier: Any, tools: Any, tmp_path: Path
) -> None:
    root = tools.unpack(host_classifier.report.zip_path, tmp_path)
    log = tools.run(
        [
            "make", "CC=arm-none-eabi-gcc", "AR=arm-none-eabi-ar",
            f"ARCH_FLAGS={' '.join(tools.cortex_m4f)}", "LDFLAGS=--specs=nosys.specs",
        ],
        cwd=root,
    )  # fmt: skip
    assert "warning" not in log.lower(), log
    elf = root / "build" / "example"
    header = tools.run(["arm-none-eabi-readelf", "-h", "-A", elf])
    assert "ARM" in header and "Tag_FP_arch: VFPv4-D16" in header
    symbols = tools.run(["arm-none-eabi-nm", elf])
    for symbol in ("run_classifier", "tinystudio_classify", "ts_impulse_dsp_run", "ts_dsp_flatten"):
        assert f" T {symbol}" in symbols, symbol


def test_arduino_library_zip_layout(arduino_zip: Any) -> None:
    lib = "TinyStudio_GestureDetector"
    assert arduino_zip.library_name == lib
    names = set(arduino_zip.files)
    assert f"{lib}/library.properties" in names
    assert f"{lib}/examples/{lib}/{lib}.ino" in names
    assert f"{lib}/src/{lib}.h" in names
    sources = [n for n in names if n.startswith(f"{lib}/src/")]
    assert all(n.count("/") == 2 for n in sources), "src/ must be flat"
    assert {f"{lib}/src/ts_model.c", f"{lib}/src/ts_impulse_dsp.c", f"{lib}/src/ts_dsp.c"} <= names
    with zipfile.ZipFile(arduino_zip.zip_path) as zf:
        properties = zf.read(f"{lib}/library.properties").decode()
    fields = dict(line.split("=", 1) for line in properties.splitlines() if "=" in line)
    assert fields["name"] == lib
    assert fields["includes"] == f"{lib}.h"
    assert fields["architectures"] == "*"
    assert {"version", "author", "maintainer", "sentence", "paragraph", "category", "url"} <= set(
        fields
    )


def test_arduino_library_compiles_and_links_for_cortex_m4(
    arduino_zip: Any, tools: Any, tmp_path: Path
) -> None:
    symbols = compile_arduino_sketch(arduino_zip, tools, tmp_path)
    assert " T tinystudio_classify" in symbols and " T ts_port_ticks" in symbols
    assert "ts_anomaly_score" not in symbols


def test_arduino_library_with_an_anomaly_block_compiles_and_links_for_cortex_m4(
    trained_impulse: Any, tools: Any, tmp_path: Path
) -> None:
    t = trained_impulse
    library = build_arduino_library(
        name="Gesture detector",
        **t.build_args(axis_names=t.axis_names),
        out_zip=tmp_path / "gesture-detector-arduino.zip",
        anomaly=t.anomaly,
        example_window=t.windows[0],
    )
    assert f"{library.library_name}/src/ts_anomaly.c" in library.files
    symbols = compile_arduino_sketch(library, tools, tmp_path)
    assert " T tinystudio_classify" in symbols and " T ts_anomaly_score" in symbols


def test_library_and_firmware_share_one_anomaly_generator(
    trained_impulse: Any, host_classifier: Any, tmp_path: Path
) -> None:
    from workers.deploy.firmware import build_board_firmware

    t = trained_impulse
    build_board_firmware(
        board_id="virtual-cortex-m4",
        **t.build_args(),
        out_dir=tmp_path,
        anomaly=t.anomaly,
    )
    for name in ("ts_anomaly.h", "ts_anomaly.c"):
        library = (host_classifier.root / "src" / name).read_text()
        assert library == (tmp_path / "dsp" / name).read_text(), name
    assert (
        "ts_anomaly_score(ts_impulse_dsp_features())"
        in (host_classifier.root / "src" / "tinystudio.c").read_text()
    )
    readme = (host_classifier.root / "README.md").read_text()
    assert "`src/ts_anomaly.h/.c` | the K-means anomaly block (4 clusters" in readme


def compile_arduino_sketch(library: Any, tools: Any, tmp_path: Path) -> str:
    """Compiles the library's src/*.c and its example sketch for Cortex-M4F and links them with
    the Arduino stub; returns the image's symbol table."""
    root = tools.unpack(library.zip_path, tmp_path / "lib")
    lib = library.library_name
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "Arduino.h").write_text(ARDUINO_STUB_H)
    (stub / "arduino_stub.cpp").write_text(ARDUINO_STUB_CPP)
    flags = [*tools.cortex_m4f, "-O2", "-Wall", "-DARDUINO=10819", f"-I{root / 'src'}"]
    objects = []
    for source in sorted((root / "src").glob("*.c")):
        obj = tmp_path / (source.stem + ".o")
        tools.run(["arm-none-eabi-gcc", *flags, "-std=gnu11", "-c", source, "-o", obj])
        objects.append(obj)
    # The IDE turns a sketch into C++ by adding #include <Arduino.h> at its top.
    sketch = tmp_path / "sketch.cpp"
    ino = root / "examples" / lib / f"{lib}.ino"
    sketch.write_text("#include <Arduino.h>\n" + ino.read_text())
    for source in (sketch, stub / "arduino_stub.cpp"):
        obj = tmp_path / (source.stem + ".o")
        tools.run(
            ["arm-none-eabi-g++", *flags, f"-I{stub}", "-std=gnu++17", "-fno-exceptions",
             "-fno-rtti", "-c", source, "-o", obj]
        )  # fmt: skip
        objects.append(obj)
    elf = tmp_path / "sketch.elf"
    tools.run(["arm-none-eabi-g++", *tools.cortex_m4f, "--specs=nosys.specs", *objects, "-lm",
               "-o", elf])  # fmt: skip
    return tools.run(["arm-none-eabi-nm", elf])


def test_libraries_refuse_models_that_do_not_fit_the_impulse(
    trained_impulse: Any, tmp_path: Path
) -> None:
    t = trained_impulse
    common = {
        "name": "bad",
        "impulse_input": t.impulse_input,
        "axes": t.axes,
        "axis_names": t.axis_names,
        "tflite_int8": t.tflite,
        "out_zip": tmp_path / "bad.zip",
    }
    with pytest.raises(LibraryBuildError, match="2 labels for a model with 3 outputs"):
        build_c_library(**common, dsp_blocks=t.dsp_blocks, labels=["a", "b"])
    with pytest.raises(LibraryBuildError, match="give 150 features but the model takes 36"):
        build_arduino_library(**common, dsp_blocks=[{"block": "raw"}], labels=t.labels)
    with pytest.raises(
        LibraryBuildError, match="holds 10 values; one window is 50 samples x 3 axes = 150"
    ):
        build_c_library(
            **common, dsp_blocks=t.dsp_blocks, labels=t.labels, example_window=np.zeros(10)
        )
    wrong_state = {**t.anomaly, "centers": [row[:10] for row in t.anomaly["centers"]]}
    with pytest.raises(LibraryBuildError, match="expects 10 features; the DSP gives 36"):
        build_c_library(**common, dsp_blocks=t.dsp_blocks, labels=t.labels, anomaly=wrong_state)
    assert not (tmp_path / "bad.zip").exists()


def test_names_become_safe_identifiers_and_strings() -> None:
    assert c_identifier("Gesture detector v2!") == "gesture_detector_v2"
    assert c_identifier("3 words") == "m_3_words"
    assert c_identifier("***") == "impulse"
    assert arduino_name("gesture detector-v2") == "TinyStudio_GestureDetectorV2"
    assert c_string('a "b" \\ é\n') == '"a \\"b\\" \\\\ \\303\\251\\012"'


def test_c_strings_read_back_as_the_same_text(tmp_path: Path, tools: Any) -> None:
    text = 'wave "left" \\ é\t9'
    (tmp_path / "s.c").write_text(
        f"#include <stdio.h>\nint main(void) {{ fputs({c_string(text)}, stdout); return 0; }}\n"
    )
    tools.run(["gcc", "-std=c99", "-Wall", "-Werror", tmp_path / "s.c", "-o", tmp_path / "s"])
    out = subprocess.run([tmp_path / "s"], capture_output=True, check=True).stdout
    assert out.decode("utf-8") == text
