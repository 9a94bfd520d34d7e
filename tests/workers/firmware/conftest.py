"""Fixtures of the firmware tests: tinyfc, a tiny int8 fully connected model written as C by
hand that honours the compiled-model contract (workers/compiler/README.md), and its firmware builds.

`write_tinyfc(out_dir, inputs=..., outputs=...)` (fixture `make_tinyfc`) writes `ts_model.h` and
`ts_model.c` with seeded random weights and returns a `TinyFC` whose `reference()` computes in
numpy, with the same integer arithmetic as TFLite's reference kernels, what the firmware must
answer for a window: quantized outputs, dequantized scores and the label index.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from workers.boards import get_board, list_boards
from workers.firmware.build import FirmwareBuild, build_firmware

VIRTUAL_BOARDS = [b.id for b in list_boards(kind="virtual")]
TINYFC_LABELS = ["idle", "wave", "ring", "tap"]

_HEADER = """\
/* ts_model.h - tinyfc: one int8 fully connected layer ({inputs} -> {outputs}), test model. */
#ifndef TS_MODEL_H
#define TS_MODEL_H

#include <stdint.h>

#ifndef TS_TYPE_FLOAT32
#define TS_TYPE_FLOAT32 0
#endif
#ifndef TS_TYPE_INT32
#define TS_TYPE_INT32 2
#endif
#ifndef TS_TYPE_UINT8
#define TS_TYPE_UINT8 3
#endif
#ifndef TS_TYPE_INT16
#define TS_TYPE_INT16 7
#endif
#ifndef TS_TYPE_INT8
#define TS_TYPE_INT8 9
#endif

#define TS_MODEL_ARENA_BYTES {arena}
#define TS_MODEL_INPUT_COUNT 1
#define TS_MODEL_OUTPUT_COUNT 1
#define TS_MODEL_INPUT0_TYPE TS_TYPE_INT8
#define TS_MODEL_INPUT0_ELEMENTS {inputs}
#define TS_MODEL_INPUT0_BYTES {inputs}
#define TS_MODEL_INPUT0_SCALE {in_scale}f
#define TS_MODEL_INPUT0_ZERO_POINT {in_zp}
#define TS_MODEL_INPUT0_RANK 2
#define TS_MODEL_INPUT0_DIMS {{1, {inputs}}}
#define TS_MODEL_OUTPUT0_TYPE TS_TYPE_INT8
#define TS_MODEL_OUTPUT0_ELEMENTS {outputs}
#define TS_MODEL_OUTPUT0_BYTES {outputs}
#define TS_MODEL_OUTPUT0_SCALE {out_scale}f
#define TS_MODEL_OUTPUT0_ZERO_POINT {out_zp}
#define TS_MODEL_OUTPUT0_RANK 2
#define TS_MODEL_OUTPUT0_DIMS {{1, {outputs}}}

void *ts_model_input(int index);
void *ts_model_output(int index);
int ts_model_invoke(void);
extern const char *const ts_model_op_names[];

#endif
"""

_SOURCE = """\
/* ts_model.c - tinyfc: out = requantize(bias + sum((in - in_zp) * w)) + out_zp, TFLite-style. */
#include "ts_model.h"

#include <stddef.h>
#include <stdint.h>

#define IN_N {inputs}
#define OUT_N {outputs}
#define IN_ZP {in_zp}
#define OUT_ZP {out_zp}
#define MULTIPLIER {multiplier}
#define SHIFT {shift}

static const int8_t ts_model_weights[OUT_N][IN_N] = {{
{weights}
}};
static const int32_t ts_model_bias[OUT_N] = {{{bias}}};

static int8_t ts_model_arena[TS_MODEL_ARENA_BYTES] __attribute__((aligned(16)));

const char *const ts_model_op_names[] = {{"FULLY_CONNECTED"}};

void *ts_model_input(int index)
{{
    return index == 0 ? (void *)&ts_model_arena[0] : NULL;
}}

void *ts_model_output(int index)
{{
    return index == 0 ? (void *)&ts_model_arena[{out_offset}] : NULL;
}}

/* gemmlowp's SaturatingRoundingDoublingHighMul, as in TFLite's reference kernels. */
static int32_t high_mul(int32_t a, int32_t b)
{{
    if (a == b && a == INT32_MIN) {{
        return INT32_MAX;
    }}
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}}

/* gemmlowp's RoundingDivideByPOT. */
static int32_t divide_pot(int32_t x, int exponent)
{{
    int32_t mask = (int32_t)((1u << exponent) - 1u);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}}

int ts_model_invoke(void)
{{
    const int8_t *in = (const int8_t *)&ts_model_arena[0];
    int8_t *out = (int8_t *)&ts_model_arena[{out_offset}];
    for (int o = 0; o < OUT_N; o++) {{
        int32_t acc = ts_model_bias[o];
        for (int i = 0; i < IN_N; i++) {{
            acc += ((int32_t)in[i] - IN_ZP) * (int32_t)ts_model_weights[o][i];
        }}
        int left = SHIFT > 0 ? SHIFT : 0;
        int right = SHIFT > 0 ? 0 : -SHIFT;
        int32_t v = divide_pot(high_mul(acc * (1 << left), MULTIPLIER), right) + OUT_ZP;
        out[o] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
    }}
    return 0;
}}
"""


def _c_float(value: np.float32) -> str:
    # The double holding a float32 exactly; its repr read back as a float literal is that float32.
    return repr(float(value))


def _quantize_multiplier(real: float) -> tuple[int, int]:
    mantissa, exponent = math.frexp(real)
    q = round(mantissa * (1 << 31))
    if q == 1 << 31:
        q //= 2
        exponent += 1
    return q, exponent


def _high_mul(a: np.ndarray, b: int) -> np.ndarray:
    ab = a.astype(np.int64) * np.int64(b)
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    total = ab + nudge
    # C's int64 division truncates toward zero.
    return (np.sign(total) * (np.abs(total) // (1 << 31))).astype(np.int64)


def _divide_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0).astype(np.int64)
    return (x >> exponent) + (remainder > threshold).astype(np.int64)


@dataclass(frozen=True)
class TinyFC:
    """The parameters of a written tinyfc model and its numpy twin."""

    inputs: int
    outputs: int
    in_scale: np.float32
    in_zp: int
    out_scale: np.float32
    out_zp: int
    weights: np.ndarray  # int8 [outputs, inputs]
    bias: np.ndarray  # int32 [outputs]
    multiplier: int
    shift: int

    @property
    def arena_bytes(self) -> int:
        return self.out_offset + (self.outputs + 15) // 16 * 16

    @property
    def out_offset(self) -> int:
        return (self.inputs + 15) // 16 * 16

    def quantize(self, window: np.ndarray) -> np.ndarray:
        """Quantize as the firmware does: round(x / scale) half away from zero, + zp, saturate."""
        v = (window.astype(np.float32) / self.in_scale).astype(np.float64)
        rounded = np.sign(v) * np.floor(np.abs(v) + 0.5)
        return np.clip(rounded + self.in_zp, -128, 127).astype(np.int64)

    def reference(self, window: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Returns (int8 outputs, float32 scores, label index) for one window."""
        q_in = self.quantize(window)
        acc = self.bias.astype(np.int64) + (self.weights.astype(np.int64) @ (q_in - self.in_zp))
        acc32 = acc.astype(np.int32).astype(np.int64)  # the C accumulator is int32
        left = max(self.shift, 0)
        right = max(-self.shift, 0)
        v = _divide_pot(_high_mul(acc32 * (1 << left), self.multiplier), right) + self.out_zp
        q_out = np.clip(v, -128, 127).astype(np.int8)
        scores = (q_out.astype(np.int32) - self.out_zp).astype(np.float32) * self.out_scale
        return q_out, scores.astype(np.float32), int(np.argmax(scores))


def write_tinyfc(
    out_dir: Path, *, inputs: int = 32, outputs: int = 4, seed: int = 0, in_scale: float = 0.05
) -> TinyFC:
    """Writes ts_model.h/ts_model.c for a seeded random tinyfc model into out_dir."""
    rng = np.random.default_rng(seed)
    in_scale = np.float32(in_scale)
    out_scale = np.float32(1.0 / 256.0)
    model = TinyFC(
        inputs=inputs,
        outputs=outputs,
        in_scale=in_scale,
        in_zp=-3,
        out_scale=out_scale,
        out_zp=-128,
        weights=rng.integers(-127, 128, size=(outputs, inputs), dtype=np.int64).astype(np.int8),
        bias=rng.integers(-2000, 2000, size=outputs, dtype=np.int64).astype(np.int32),
        multiplier=0,
        shift=0,
    )
    # Requantization chosen so accumulators of inputs within a few units stay mostly inside int8.
    real = 48.0 / (math.sqrt(inputs) * 3000.0)
    multiplier, shift = _quantize_multiplier(real)
    model = TinyFC(**{**model.__dict__, "multiplier": multiplier, "shift": shift})
    rows = ",\n".join("    {" + ",".join(str(int(w)) for w in row) + "}" for row in model.weights)
    fields = {
        "inputs": inputs,
        "outputs": outputs,
        "in_scale": _c_float(in_scale),
        "in_zp": model.in_zp,
        "out_scale": _c_float(out_scale),
        "out_zp": model.out_zp,
        "arena": model.arena_bytes,
        "out_offset": model.out_offset,
        "weights": rows,
        "bias": ",".join(str(int(b)) for b in model.bias),
        "multiplier": multiplier,
        "shift": shift,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ts_model.h").write_text(_HEADER.format(**fields))
    (out_dir / "ts_model.c").write_text(_SOURCE.format(**fields))
    return model


@pytest.fixture(scope="session")
def make_tinyfc() -> Callable[..., TinyFC]:
    """Factory: write_tinyfc(out_dir, inputs=, outputs=, seed=) -> TinyFC."""
    return write_tinyfc


@pytest.fixture(scope="session")
def tinyfc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TinyFC]:
    """A 32-input, 4-class tinyfc model directory and its numpy twin."""
    model_dir = tmp_path_factory.mktemp("tinyfc")
    return model_dir, write_tinyfc(model_dir, inputs=32, outputs=4)


@pytest.fixture(scope="session")
def virtual_builds(
    tinyfc: tuple[Path, TinyFC], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, FirmwareBuild]:
    """The tinyfc firmware built for every virtual board (labels TINYFC_LABELS)."""
    out = tmp_path_factory.mktemp("firmware")
    return {
        board_id: build_firmware(
            get_board(board_id), tinyfc[0], out / board_id, labels=TINYFC_LABELS
        )
        for board_id in VIRTUAL_BOARDS
    }
