"""The impulse's DSP glue in C: ts_impulse_dsp.h/.c turn one raw window into the model's features.

The glue calls the C twins of the impulse's DSP blocks (workers/dsp/c/ts_dsp.h) with configs
from workers/dsp/c_config.py, and lays their outputs out exactly as the studio's numpy pipeline
does (backend/impulses/service.py `features_of`): one block's output as it is, several blocks'
outputs each flattened and concatenated in impulse order. Both flatten row-major, so the glue
simply writes block k's features right after block k-1's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workers.dsp import get_block
from workers.dsp.c_config import C_SOURCES, CBlockConfig, c_block_config, c_float
from workers.windowing import DEFAULT_PADDING
from workers.windowing import window_samples as samples_per_window

GLUE_HEADER = "ts_impulse_dsp.h"
GLUE_SOURCE = "ts_impulse_dsp.c"

# ts_impulse_dsp_run's return codes (ts_classifier.c only tests for nonzero).
RC_LENGTH = -1
RC_BLOCK = -2


class ImpulseSpecError(ValueError):
    """An impulse (input block, DSP blocks, axes) that cannot be turned into device code."""


@dataclass(frozen=True)
class ImpulseInput:
    """The impulse's input block, as the studio stores it."""

    window_ms: float
    stride_ms: float
    frequency_hz: float
    # How the studio pads a stored sample shorter than a window; a device streams full windows,
    # so the generated code never pads: these are kept to describe the impulse faithfully.
    zero_pad: bool = True
    padding: str = DEFAULT_PADDING

    @property
    def window_samples(self) -> int:
        """Samples in one window at the impulse rate."""
        return samples_per_window(self.window_ms, self.frequency_hz)


@dataclass(frozen=True)
class DspStage:
    """One DSP block of the impulse with its C config and where its features land."""

    block: str
    params: dict[str, Any]
    config: CBlockConfig
    output_shape: tuple[int, ...]
    offset: int  # index of its first feature in the concatenated feature vector


@dataclass(frozen=True)
class DspGlue:
    """What write_impulse_dsp wrote and the figures a build or a report needs."""

    header: Path
    source: Path
    impulse_input: ImpulseInput
    axes: int
    window_samples: int
    input_values: int  # TS_DSP_INPUT_VALUES: window_samples * axes raw values
    output_values: int  # TS_DSP_OUTPUT_VALUES: features handed to the model
    scratch_floats: int  # the one static scratch buffer, shared by the blocks in turn
    stages: list[DspStage] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        """The glue's two files."""
        return [self.header, self.source]

    @property
    def dsp_sources(self) -> tuple[Path, ...]:
        """The DSP block library the glue calls (ts_dsp.h, ts_dsp.c)."""
        return C_SOURCES


def impulse_input_of(value: ImpulseInput | Mapping[str, Any] | Any) -> ImpulseInput:
    """An ImpulseInput from a dict or any object with the input block's attributes."""
    if isinstance(value, ImpulseInput):
        return value
    names = ("window_ms", "stride_ms", "frequency_hz", "zero_pad", "padding")
    if isinstance(value, Mapping):
        missing = [n for n in names[:3] if n not in value]
        if missing:
            raise ImpulseSpecError(f"impulse input lacks {', '.join(missing)}")
        got = {n: value[n] for n in names if n in value}
    else:
        got = {n: getattr(value, n) for n in names if hasattr(value, n)}
        if len(got) < 3:
            raise ImpulseSpecError(
                f"impulse input {value!r} lacks window_ms, stride_ms or frequency_hz"
            )
    return ImpulseInput(
        window_ms=float(got["window_ms"]),
        stride_ms=float(got["stride_ms"]),
        frequency_hz=float(got["frequency_hz"]),
        zero_pad=bool(got.get("zero_pad", True)),
        padding=str(got.get("padding", DEFAULT_PADDING)),
    )


def _block_spec(spec: Mapping[str, Any] | Any) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, Mapping):
        name, params = spec.get("block"), spec.get("params") or {}
    else:
        name, params = getattr(spec, "block", None), getattr(spec, "params", None) or {}
    if not isinstance(name, str):
        raise ImpulseSpecError(f"a DSP block needs a block name, got {spec!r}")
    return name, dict(params)


def plan_impulse_dsp(
    *,
    impulse_input: ImpulseInput | Mapping[str, Any] | Any,
    dsp_blocks: Sequence[Mapping[str, Any] | Any],
    axes: int,
) -> tuple[ImpulseInput, list[DspStage]]:
    """The C configs and feature offsets of every DSP block, without writing anything."""
    given = impulse_input_of(impulse_input)
    if axes < 1:
        raise ImpulseSpecError(f"axes must be at least 1, got {axes}")
    if not dsp_blocks:
        raise ImpulseSpecError("the impulse has no DSP block (use the raw block to pass values)")
    samples = given.window_samples
    stages: list[DspStage] = []
    offset = 0
    for spec in dsp_blocks:
        name, params = _block_spec(spec)
        block = get_block(name)
        checked = block.validate_params(params)
        shape = block.output_shape(samples, axes, given.frequency_hz, checked)
        config = c_block_config(name, checked, given.frequency_hz, samples, axes)
        stages.append(DspStage(name, checked, config, tuple(shape), offset))
        offset += config.output_floats
    return given, stages


def _header_text(given: ImpulseInput, stages: list[DspStage], axes: int, outputs: int) -> str:
    samples = given.window_samples
    blocks = ", ".join(s.block for s in stages)
    layout = "\n".join(
        f" *   [{s.offset}, {s.offset + s.config.output_floats}) {s.block} "
        f"{'x'.join(str(d) for d in s.output_shape)}"
        for s in stages
    )
    return f"""\
/*
 * ts_impulse_dsp.h - this impulse's DSP stage ({blocks}), written by TinyStudio.
 *
 * Input: one window of {samples} samples x {axes} axes = {samples * axes} floats, time-major and
 * interleaved (t0 axis0, t0 axis1, ..., t1 axis0, ...), sampled at {given.frequency_hz:g} Hz
 * ({given.window_ms:g} ms). Output: {outputs} features, flattened row-major, blocks in order:
{layout}
 * exactly as the studio computes them (the tolerance of each block is in ts_dsp.h).
 */
#ifndef TS_IMPULSE_DSP_H
#define TS_IMPULSE_DSP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {{
#endif

#define TS_DSP_FREQUENCY_HZ {c_float(given.frequency_hz)}
#define TS_DSP_WINDOW_SAMPLES {samples}
#define TS_DSP_AXES {axes}
#define TS_DSP_INPUT_VALUES {samples * axes}
#define TS_DSP_OUTPUT_VALUES {outputs}
#define TS_DSP_BLOCK_COUNT {len(stages)}

#define TS_DSP_ERR_LENGTH ({RC_LENGTH}) /* len or n differ from the values above */
#define TS_DSP_ERR_BLOCK ({RC_BLOCK})  /* a DSP block refused its configuration */

/* Features of one window: signal[len] -> features[n]; 0 on success. Uses one static scratch
 * buffer, so it is not reentrant. */
int ts_impulse_dsp_run(const float *signal, size_t len, float *features, size_t n);

/* The features of the last successful ts_impulse_dsp_run() (its `features` buffer), or NULL. */
const float *ts_impulse_dsp_features(void);

#ifdef __cplusplus
}}
#endif

#endif /* TS_IMPULSE_DSP_H */
"""


def _source_text(stages: list[DspStage], scratch: int) -> str:
    configs = "\n".join(s.config.declaration(f"ts_impulse_block{i}") for i, s in enumerate(stages))
    calls = "\n".join(
        f"    if ({s.config.function}(&ts_impulse_block{i}, signal, features + {s.offset}u, "
        f"{'ts_impulse_scratch' if s.config.scratch_floats else 'NULL'}) != TS_DSP_OK) {{\n"
        f"        return TS_DSP_ERR_BLOCK;\n"
        f"    }}"
        for i, s in enumerate(stages)
    )
    # A zero-length array is not C99; blocks without scratch are passed NULL instead.
    scratch_decl = (
        f"/* Working memory of the blocks; they run one after the other, so they share it. */\n"
        f"static float ts_impulse_scratch[{scratch}];\n"
        if scratch
        else ""
    )
    return f"""\
/* ts_impulse_dsp.c - this impulse's DSP stage, written by TinyStudio; see ts_impulse_dsp.h. */
#include "ts_impulse_dsp.h"

#include "ts_dsp.h"

{configs}

{scratch_decl}
static const float *ts_impulse_last_features;

const float *ts_impulse_dsp_features(void)
{{
    return ts_impulse_last_features;
}}

int ts_impulse_dsp_run(const float *signal, size_t len, float *features, size_t n)
{{
    ts_impulse_last_features = NULL;
    if (signal == NULL || features == NULL || len != TS_DSP_INPUT_VALUES ||
        n != TS_DSP_OUTPUT_VALUES) {{
        return TS_DSP_ERR_LENGTH;
    }}
{calls}
    ts_impulse_last_features = features;
    return 0;
}}
"""


def write_impulse_dsp(
    out_dir: Path,
    *,
    impulse_input: ImpulseInput | Mapping[str, Any] | Any,
    dsp_blocks: Sequence[Mapping[str, Any] | Any],
    axes: int,
) -> DspGlue:
    """Writes ts_impulse_dsp.h/.c for the impulse into `out_dir` and describes them.

    `impulse_input` has window_ms, stride_ms, frequency_hz (and zero_pad and padding, which only
    matter when the studio cuts stored samples); `dsp_blocks` are {"block": name, "params":
    {...}} in impulse order.
    Raises DspParamError for block parameters the blocks refuse, ImpulseSpecError otherwise.
    """
    given, stages = plan_impulse_dsp(impulse_input=impulse_input, dsp_blocks=dsp_blocks, axes=axes)
    outputs = sum(s.config.output_floats for s in stages)
    scratch = max(s.config.scratch_floats for s in stages)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header = out_dir / GLUE_HEADER
    source = out_dir / GLUE_SOURCE
    header.write_text(_header_text(given, stages, axes, outputs))
    source.write_text(_source_text(stages, scratch))
    return DspGlue(
        header=header,
        source=source,
        impulse_input=given,
        axes=axes,
        window_samples=given.window_samples,
        input_values=given.window_samples * axes,
        output_values=outputs,
        scratch_floats=scratch,
        stages=stages,
    )


def numpy_features(
    windows: np.ndarray,
    *,
    impulse_input: ImpulseInput | Mapping[str, Any] | Any,
    dsp_blocks: Sequence[Mapping[str, Any] | Any],
) -> np.ndarray:
    """The studio's features of `windows` (n, samples, axes), flattened: float32 (n, features).

    The same computation as the studio's feature generation, kept here so that packaging can
    bake expected outputs without importing the API process.
    """
    given = impulse_input_of(impulse_input)
    windows = np.asarray(windows, dtype=np.float32)
    parts = []
    for spec in dsp_blocks:
        name, params = _block_spec(spec)
        out = get_block(name).process(windows, given.frequency_hz, params)
        parts.append(out.reshape(len(windows), -1))
    return np.concatenate(parts, axis=1).astype(np.float32)
