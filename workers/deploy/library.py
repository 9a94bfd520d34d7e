"""C and Arduino library zips of a trained impulse: compiled model, DSP, glue and run_classifier().

Both zips hold one top-level folder, so unpacking never scatters files:

    <slug>/                          C library (build_c_library)
        src/                         every .c/.h of the library, flat
        examples/main.c              classifies a real window baked in as a const array
        Makefile, CMakeLists.txt, README.md

    TinyStudio_<Name>/               Arduino library (build_arduino_library)
        library.properties
        src/                         the same sources plus TinyStudio_<Name>.h
        examples/TinyStudio_<Name>/TinyStudio_<Name>.ino

The sources are: the model compiler's output (ts_model.*, its kernels), the DSP blocks
(ts_dsp.*), the impulse glue (ts_impulse_dsp.*), run_classifier() copied from the firmware
(ts_classifier.*, ts_port.h), a timer port (ts_port_library.c), with an anomaly block its K-means
scorer (ts_anomaly.*, workers/deploy/anomaly.py, the firmware's too) and tinystudio.h/.c (label
names, status messages, the documented entry point).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workers.compiler import compile_model
from workers.deploy.anomaly import AnomalyBlock, AnomalyStateError, write_anomaly
from workers.deploy.glue import DspGlue, ImpulseSpecError, write_impulse_dsp
from workers.dsp.c_config import C_SOURCES, c_float

FIRMWARE_SRC = Path(__file__).resolve().parents[1] / "firmware" / "src"
# What run_classifier() needs from the firmware's sources, copied as they are (the header with
# one define added, see _classifier_header).
CLASSIFIER_FILES = ("ts_classifier.h", "ts_classifier.c", "ts_port.h")
TEMPLATES = Path(__file__).resolve().parent / "templates"
LIBRARY_VERSION = "1.0.0"


class LibraryBuildError(RuntimeError):
    """The library could not be assembled (model, labels and DSP disagree, or compile failed)."""


@dataclass
class LibraryReport:
    """What a library zip holds and the figures of the impulse inside it."""

    kind: str  # "c-library" or "arduino-library"
    zip_path: Path
    name: str  # the impulse's name as the user gave it
    library_name: str  # the folder, CMake target or Arduino library name
    files: list[str]  # paths inside the zip
    labels: list[str]
    signal_values: int  # raw values per window: run_classifier's `len`
    feature_values: int  # features per window: the model's input elements
    dsp_blocks: list[str]
    dsp_scratch_floats: int
    model: dict[str, Any] = field(default_factory=dict)  # the compiler's CompileReport
    zip_bytes: int = 0
    anomaly: dict[str, Any] | None = None  # the anomaly block (AnomalyBlock.as_dict) if any

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        d = asdict(self)
        d["zip_path"] = str(self.zip_path)
        return d


@dataclass
class _Staged:
    """The library's sources written into a temporary folder."""

    src: Path
    glue: DspGlue
    model: dict[str, Any]
    input_elements: int
    output_elements: int
    anomaly: AnomalyBlock | None = None


def c_identifier(name: str) -> str:
    """A lowercase C identifier from a free-form name ("Gesture detector" -> gesture_detector)."""
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    if not slug:
        return "impulse"
    return f"m_{slug}" if slug[0].isdigit() else slug


def arduino_name(name: str) -> str:
    """The Arduino library name: TinyStudio_ + the name in CamelCase."""
    words = re.findall(r"[0-9a-zA-Z]+", name)
    camel = "".join(w[:1].upper() + w[1:] for w in words) or "Impulse"
    return f"TinyStudio_{camel}"


def c_string(text: str) -> str:
    """A C string literal of `text` (UTF-8; quotes, backslashes and controls escaped)."""
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= byte < 127:
            out.append(ch)
        else:
            # Octal escapes take at most 3 digits, so a following digit cannot be swallowed.
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def model_macro(header: str, macro: str) -> int:
    """The integer value of `macro` in a compiled model's ts_model.h text."""
    m = re.search(rf"#define\s+{macro}\s+\(?(-?\d+)\)?", header)
    if m is None:
        raise LibraryBuildError(f"ts_model.h does not define {macro}")
    return int(m.group(1))


def _classifier_header() -> str:
    """ts_classifier.h with TS_HAVE_DSP switched on: a library always links the impulse glue,
    and Arduino offers no way to pass -D flags, so the define lives in the header itself."""
    text = (FIRMWARE_SRC / "ts_classifier.h").read_text()
    anchor = "#define TS_CLASSIFIER_H\n"
    if anchor not in text:
        raise LibraryBuildError("ts_classifier.h has no TS_CLASSIFIER_H include guard")
    define = (
        "\n/* TinyStudio library: the impulse DSP glue (ts_impulse_dsp.h/.c) is always linked. */\n"
        "#ifndef TS_HAVE_DSP\n#define TS_HAVE_DSP 1\n#endif\n"
    )
    return text.replace(anchor, anchor + define, 1)


def _c_array(values: np.ndarray, per_line: int = 8) -> str:
    """Comma-separated float32 literals, `per_line` to a line, indented for an initialiser."""
    items = [c_float(float(v)) for v in np.asarray(values, dtype=np.float32).ravel()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n".join("    " + line for line in lines)


def _render(template: str, values: Mapping[str, str]) -> str:
    """Fills @KEY@ placeholders (C and CMake use braces, so str.format would not do)."""
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise LibraryBuildError(f"template {template} has unfilled placeholders {left}")
    return text


def _anomaly_code(anomaly: AnomalyBlock | None) -> str:
    """tinystudio_classify(): run_classifier() plus, with an anomaly block, its score
    (ts_anomaly.h/.c, written by workers.deploy.anomaly as for the firmware)."""
    if anomaly is None:
        return (
            "const float ts_anomaly_threshold = 0.0f;\n\n"
            "ts_status_t tinystudio_classify(const float *signal, size_t len, ts_result_t *out)\n"
            "{\n    return run_classifier(signal, len, out); /* no anomaly block: NaN */\n}"
        )
    return """#include "ts_anomaly.h"

/* The anomaly block scores the same features the model takes. */
typedef char ts_check_anomaly_features[(TS_ANOMALY_FEATURES == TS_FEATURE_COUNT) ? 1 : -1];

ts_status_t tinystudio_classify(const float *signal, size_t len, ts_result_t *out)
{
    const ts_status_t status = run_classifier(signal, len, out);
    if (status == TS_OK) {
        out->anomaly = ts_anomaly_score(ts_impulse_dsp_features());
    }
    return status;
}"""


def _stage(
    workdir: Path,
    *,
    name: str,
    impulse_input: Any,
    dsp_blocks: Sequence[Any],
    axes: int,
    axis_names: Sequence[str],
    labels: Sequence[str],
    tflite_int8: bytes,
    anomaly: Mapping[str, Any] | None,
) -> _Staged:
    """Compiles the model, writes the glue and the library files into workdir/src."""
    if len(axis_names) != axes:
        raise ImpulseSpecError(f"{len(axis_names)} axis names for {axes} axes")
    src = workdir / "src"
    src.mkdir(parents=True)
    report = compile_model(bytes(tflite_int8), src)
    glue = write_impulse_dsp(src, impulse_input=impulse_input, dsp_blocks=dsp_blocks, axes=axes)
    model_header = (src / "ts_model.h").read_text()
    inputs = model_macro(model_header, "TS_MODEL_INPUT0_ELEMENTS")
    outputs = model_macro(model_header, "TS_MODEL_OUTPUT0_ELEMENTS")
    if inputs != glue.output_values:
        raise LibraryBuildError(
            f"the DSP blocks give {glue.output_values} features but the model takes {inputs}"
        )
    if len(labels) != outputs:
        raise LibraryBuildError(f"{len(labels)} labels for a model with {outputs} outputs")
    for path in C_SOURCES:
        shutil.copyfile(path, src / path.name)
    for file_name in CLASSIFIER_FILES:
        shutil.copyfile(FIRMWARE_SRC / file_name, src / file_name)
    (src / "ts_classifier.h").write_text(_classifier_header())
    shutil.copyfile(TEMPLATES / "ts_port_library.c", src / "ts_port_library.c")
    block = None
    if anomaly is not None:
        try:
            block = write_anomaly(src, anomaly, features=glue.output_values)
        except AnomalyStateError as exc:
            raise LibraryBuildError(str(exc)) from None

    blocks = ", ".join(s.block for s in glue.stages)
    values = {
        "NAME": name.replace("*/", "* /"),
        "NAME_STRING": c_string(name),
        "BLOCKS": blocks,
        "WINDOW_MS": f"{glue.impulse_input.window_ms:g}",
        "FREQUENCY_HZ": f"{glue.impulse_input.frequency_hz:g}",
        "WINDOW_SAMPLES": str(glue.window_samples),
        "AXES": str(axes),
        "SIGNAL_VALUES": str(glue.input_values),
        "FEATURES": str(glue.output_values),
        "LABEL_COUNT": str(len(labels)),
        "LABELS": ", ".join(c_string(x) for x in labels),
        "AXIS_NAMES": ", ".join(c_string(x) for x in axis_names),
        "HAVE_ANOMALY": "1" if anomaly is not None else "0",
    }
    (src / "tinystudio.h").write_text(_render("tinystudio.h", values))
    values["ANOMALY_CODE"] = _anomaly_code(block)
    (src / "tinystudio.c").write_text(_render("tinystudio.c", values))
    return _Staged(src, glue, report.to_dict(), inputs, outputs, block)


def _example_window(example_window: np.ndarray | None, glue: DspGlue) -> np.ndarray:
    if example_window is None:
        return np.zeros(glue.input_values, dtype=np.float32)
    window = np.asarray(example_window, dtype=np.float32).ravel()
    if window.size != glue.input_values:
        raise LibraryBuildError(
            f"the example window holds {window.size} values; one window is "
            f"{glue.window_samples} samples x {glue.axes} axes = {glue.input_values}"
        )
    return window


def _per_line(axes: int) -> int:
    """Values per line of a baked window: whole samples, about eight values."""
    return axes * max(1, 8 // axes)


def _example_note(example_window: np.ndarray | None, example_label: str | None) -> str:
    if example_window is None:
        return "an all-zero window (no training window was given)"
    if example_label:
        return f"a real window of the training data, labelled {example_label!r}"
    return "a real window of the training data"


def _zip_folder(folder: Path, out_zip: Path) -> list[str]:
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(out_zip, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            arcname = str(path.relative_to(folder.parent))
            zf.write(path, arcname)
            names.append(arcname)
    return names


def build_c_library(
    *,
    name: str,
    impulse_input: Any,
    dsp_blocks: Sequence[Any],
    axes: int,
    axis_names: Sequence[str],
    labels: Sequence[str],
    tflite_int8: bytes,
    out_zip: Path,
    anomaly: Mapping[str, Any] | None = None,
    example_window: np.ndarray | None = None,
    example_label: str | None = None,
) -> LibraryReport:
    """Writes the C library zip of the impulse (sources, Makefile, CMakeLists.txt, example).

    `example_window` (window_samples x axes raw values, e.g. a training window) is baked into
    examples/main.c; `anomaly` is a K-means anomaly state (workers.learn) whose score
    run_classifier's wrapper tinystudio_classify() adds. Raises LibraryBuildError when the model,
    the DSP blocks and the labels disagree, and the compiler's errors for unsupported models.
    """
    slug = c_identifier(name)
    with tempfile.TemporaryDirectory(prefix="tinystudio-lib-") as tmp:
        root = Path(tmp) / slug
        staged = _stage(
            root,
            name=name,
            impulse_input=impulse_input,
            dsp_blocks=dsp_blocks,
            axes=axes,
            axis_names=axis_names,
            labels=labels,
            tflite_int8=tflite_int8,
            anomaly=anomaly,
        )
        window = _example_window(example_window, staged.glue)
        values = {
            "NAME": name.replace("*/", "* /"),
            "SLUG": slug,
            "EXAMPLE_NOTE": _example_note(example_window, example_label),
            "EXAMPLE_LABEL": c_string(example_label or ""),
            "EXAMPLE_WINDOW": _c_array(window, _per_line(axes)),
        }
        (root / "examples").mkdir()
        (root / "examples" / "main.c").write_text(_render("main.c", values))
        (root / "Makefile").write_text(_render("Makefile", values))
        (root / "CMakeLists.txt").write_text(_render("CMakeLists.txt", values))
        (root / "README.md").write_text(_readme(name, slug, staged, labels, arduino=False))
        files = _zip_folder(root, Path(out_zip))
    return _report("c-library", Path(out_zip), name, slug, files, labels, staged)


def build_arduino_library(
    *,
    name: str,
    impulse_input: Any,
    dsp_blocks: Sequence[Any],
    axes: int,
    axis_names: Sequence[str],
    labels: Sequence[str],
    tflite_int8: bytes,
    out_zip: Path,
    anomaly: Mapping[str, Any] | None = None,
    example_window: np.ndarray | None = None,
    example_label: str | None = None,
    url: str = "http://localhost:8000",
) -> LibraryReport:
    """Writes the Arduino library zip (library.properties, flat src/, one example sketch).

    Arguments as build_c_library; `url` is library.properties' url (the studio's address).
    """
    lib = arduino_name(name)
    with tempfile.TemporaryDirectory(prefix="tinystudio-arduino-") as tmp:
        root = Path(tmp) / lib
        staged = _stage(
            root,
            name=name,
            impulse_input=impulse_input,
            dsp_blocks=dsp_blocks,
            axes=axes,
            axis_names=axis_names,
            labels=labels,
            tflite_int8=tflite_int8,
            anomaly=anomaly,
        )
        window = _example_window(example_window, staged.glue)
        values = {
            "NAME": name.replace("*/", "* /"),
            "LIBRARY": lib,
            "SENTENCE": f"TinyStudio impulse {name}: classify {', '.join(labels)}.".replace(
                "\n", " "
            ),
            "EXAMPLE_NOTE": _example_note(example_window, example_label),
            "EXAMPLE_LABEL": c_string(example_label or ""),
            "EXAMPLE_WINDOW": _c_array(window, _per_line(axes)),
            "VERSION": LIBRARY_VERSION,
            "URL": url.replace("\n", " "),
        }
        (staged.src / f"{lib}.h").write_text(_render("arduino_library.h", values))
        (root / "library.properties").write_text(_render("library.properties", values))
        sketch = root / "examples" / lib
        sketch.mkdir(parents=True)
        (sketch / f"{lib}.ino").write_text(_render("example.ino", values))
        (root / "README.md").write_text(_readme(name, lib, staged, labels, arduino=True))
        files = _zip_folder(root, Path(out_zip))
    return _report("arduino-library", Path(out_zip), name, lib, files, labels, staged)


def _report(
    kind: str,
    out_zip: Path,
    name: str,
    library_name: str,
    files: list[str],
    labels: Sequence[str],
    staged: _Staged,
) -> LibraryReport:
    return LibraryReport(
        kind=kind,
        zip_path=out_zip,
        name=name,
        library_name=library_name,
        files=files,
        labels=list(labels),
        signal_values=staged.glue.input_values,
        feature_values=staged.glue.output_values,
        dsp_blocks=[s.block for s in staged.glue.stages],
        dsp_scratch_floats=staged.glue.scratch_floats,
        model=staged.model,
        zip_bytes=out_zip.stat().st_size,
        anomaly=staged.anomaly.as_dict() if staged.anomaly else None,
    )


def _readme(
    name: str, library_name: str, staged: _Staged, labels: Sequence[str], *, arduino: bool
) -> str:
    glue = staged.glue
    model = staged.model
    blocks = "\n".join(
        f"| {i} | {s.block} | {json.dumps(s.params, sort_keys=True)} | "
        f"{' x '.join(str(d) for d in s.output_shape)} |"
        for i, s in enumerate(glue.stages)
    )
    values = {
        "NAME": name,
        "LIBRARY": library_name,
        "WINDOW_MS": f"{glue.impulse_input.window_ms:g}",
        "FREQUENCY_HZ": f"{glue.impulse_input.frequency_hz:g}",
        "WINDOW_SAMPLES": str(glue.window_samples),
        "AXES": str(glue.axes),
        "SIGNAL_VALUES": str(glue.input_values),
        "FEATURES": str(glue.output_values),
        "BLOCK_TABLE": blocks,
        "LABELS": ", ".join(f"`{x}`" for x in labels),
        "OPS": ", ".join(dict.fromkeys(model.get("ops", []))),
        "ARENA_BYTES": str(model.get("arena_bytes", "?")),
        "WEIGHTS_BYTES": str(model.get("weights_bytes", "?")),
        "SCRATCH_BYTES": str(4 * glue.scratch_floats),
        "FEATURE_BYTES": str(4 * glue.output_values),
        "ANOMALY_ROW": _anomaly_row(staged.anomaly),
    }
    return _render("README_arduino.md" if arduino else "README_c.md", values)


def _anomaly_row(anomaly: AnomalyBlock | None) -> str:
    if anomaly is None:
        return ""
    return (
        f"| `src/ts_anomaly.h/.c` | the K-means anomaly block ({anomaly.clusters} clusters, "
        f"threshold {anomaly.threshold:.6g}) behind `anomaly` |"
    )
