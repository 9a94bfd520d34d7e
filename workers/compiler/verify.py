"""Checks generated C against LiteRT's reference kernels: same inputs, byte-identical outputs."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workers.compiler.codegen import GeneratedModel, generate, write_sources
from workers.compiler.kernel_files import kernel_sources
from workers.compiler.litert import reference_interpreter
from workers.compiler.tflite_reader import Model, Tensor, read_model

HOST_CFLAGS = ("-std=c99", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror")


@dataclass
class VerifyResult:
    """How many of `inputs` random inputs gave outputs different from LiteRT's reference."""

    inputs: int
    differing: int
    max_abs_diff: float = 0.0
    first_differing: list[int] = field(default_factory=list)
    # For the first differing input: the first op whose output differs, e.g. "3 ADD (layer 'x')".
    first_differing_op: str | None = None

    @property
    def identical(self) -> bool:
        """True if every output of every input matched byte for byte."""
        return self.differing == 0


class HostBuildError(RuntimeError):
    """gcc could not build the generated C for the host."""


def _harness(prefix: str, inputs: list[Tensor], outputs: list[Tensor]) -> str:
    upper = prefix.upper()
    reads = "\n".join(
        f"        if (fread({prefix}_input({i}), 1, {upper}_INPUT{i}_BYTES, stdin) != "
        f"{upper}_INPUT{i}_BYTES) return 0;"
        for i in range(len(inputs))
    )
    writes = "\n".join(
        f"        fwrite({prefix}_output({o}), 1, {upper}_OUTPUT{o}_BYTES, stdout);"
        for o in range(len(outputs))
    )
    return f"""/* Host harness: reads inputs from stdin until EOF, writes outputs to stdout. */
#include <stdio.h>

#include "{prefix}.h"

int main(void)
{{
    for (;;) {{
{reads}
        if ({prefix}_invoke() != 0) return 2;
{writes}
    }}
}}
"""


_TRACE_SOURCE = """/* Writes every op's output to stderr: int32 op index, int32 bytes, the bytes. */
#include <stdint.h>
#include <stdio.h>

void ts_trace(int32_t op, const void *data, int32_t bytes)
{
    fwrite(&op, sizeof op, 1, stderr);
    fwrite(&bytes, sizeof bytes, 1, stderr);
    fwrite(data, 1, (size_t)bytes, stderr);
}
"""


def build_host_binary(
    generated: GeneratedModel,
    work_dir: Path,
    prefix: str,
    trace: bool = False,
    defines: Sequence[str] = (),
) -> Path:
    """Writes the sources and a stdin/stdout harness into `work_dir`, builds it with gcc
    (`defines` such as "TS_POOL_CHUNK=3" set the generated C's build options)."""
    write_sources(generated, work_dir)
    (work_dir / "harness.c").write_text(_harness(prefix, generated.inputs, generated.outputs))
    binary = work_dir / ("harness_trace" if trace else "harness")
    sources = [
        str(work_dir / "harness.c"),
        str(work_dir / f"{prefix}.c"),
        *map(str, kernel_sources(work_dir)),
    ]
    extra: list[str] = [f"-D{d}" for d in defines]
    if trace:
        (work_dir / "trace.c").write_text(_TRACE_SOURCE)
        (work_dir / "trace.h").write_text(
            "#include <stdint.h>\nvoid ts_trace(int32_t op, const void *data, int32_t bytes);\n"
        )
        sources.append(str(work_dir / "trace.c"))
        extra += [f"-D{prefix.upper()}_TRACE=ts_trace", "-include", str(work_dir / "trace.h")]
    cmd = ["gcc", *HOST_CFLAGS, *extra, "-I", str(work_dir), "-o", str(binary), *sources, "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise HostBuildError(f"gcc failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return binary


def float_input_ranges(model: Model) -> dict[int, tuple[float, float]]:
    """For float model inputs quantized by a QUANTIZE op: the range its int8 output covers
    (a little beyond, so saturation is exercised too)."""
    ranges: dict[int, tuple[float, float]] = {}
    for op in model.operators:
        if op.opcode != "QUANTIZE" or op.inputs[0] not in model.inputs:
            continue
        q = model.tensors[op.outputs[0]].quantization
        if q is not None and q.scale > 0:
            low = q.scale * (-128 - q.zero_point)
            high = q.scale * (127 - q.zero_point)
            margin = 0.05 * (high - low)
            ranges[op.inputs[0]] = (low - margin, high + margin)
    return ranges


def random_inputs(
    tensors: list[Tensor],
    count: int,
    seed: int = 0,
    float_ranges: dict[int, tuple[float, float]] | None = None,
) -> list[list[np.ndarray]]:
    """Random inputs per tensor: integers over their full range, floats over `float_ranges`
    (by tensor index), else the tensor's quantized range, else [-1, 1]."""
    rng = np.random.default_rng(seed)
    batches: list[list[np.ndarray]] = []
    for t in tensors:
        shape = (count, *t.shape)
        if t.dtype == np.int8:
            batches.append(list(rng.integers(-128, 128, size=shape, dtype=np.int8)))
        elif t.dtype == np.uint8:
            batches.append(list(rng.integers(0, 256, size=shape, dtype=np.uint8)))
        elif t.dtype == np.int16:
            batches.append(list(rng.integers(-32768, 32768, size=shape, dtype=np.int16)))
        elif t.dtype == np.float32:
            low, high = -1.0, 1.0
            if float_ranges and t.index in float_ranges:
                low, high = float_ranges[t.index]
            elif t.quantization is not None and t.quantization.scale > 0:
                low = t.quantization.scale * (-128 - t.quantization.zero_point)
                high = t.quantization.scale * (127 - t.quantization.zero_point)
            batches.append(list(rng.uniform(low, high, size=shape).astype(np.float32)))
        else:
            raise ValueError(f"cannot make random inputs of type {t.type_name}")
    return [list(sample) for sample in zip(*batches, strict=True)]


def run_host(binary: Path, samples: list[list[np.ndarray]], outputs: list[Tensor]) -> list[bytes]:
    """Runs every sample through the host binary in one process; one bytes blob per sample."""
    stdin = b"".join(arr.tobytes() for sample in samples for arr in sample)
    proc = subprocess.run([str(binary)], input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"host binary failed with {proc.returncode}: {proc.stderr[-2000:]!r}")
    per_sample = sum(t.nbytes for t in outputs)
    data = proc.stdout
    if len(data) != per_sample * len(samples):
        raise RuntimeError(
            f"host binary wrote {len(data)} bytes, expected {per_sample * len(samples)}"
        )
    return [data[i * per_sample : (i + 1) * per_sample] for i in range(len(samples))]


def run_reference(
    tflite_bytes: bytes,
    samples: list[list[np.ndarray]],
    inputs: list[Tensor],
    outputs: list[Tensor],
) -> list[bytes]:
    """Runs every sample through LiteRT with the reference kernels (tensors matched by index)."""
    interpreter = reference_interpreter(tflite_bytes)
    in_indices = [t.index for t in inputs]
    out_indices = [t.index for t in outputs]
    results = []
    for sample in samples:
        for index, tensor, arr in zip(in_indices, inputs, sample, strict=True):
            interpreter.set_tensor(index, arr.reshape(tensor.shape))
        interpreter.invoke()
        results.append(b"".join(interpreter.get_tensor(i).tobytes() for i in out_indices))
    return results


def first_differing_op(
    tflite_bytes: bytes, generated: GeneratedModel, binary: Path, sample: list[np.ndarray]
) -> str | None:
    """Runs one input through the traced binary and LiteRT; names the first op that differs."""
    model = read_model(tflite_bytes)
    stdin = b"".join(arr.tobytes() for arr in sample)
    proc = subprocess.run([str(binary)], input=stdin, capture_output=True, check=False)
    traced: dict[int, bytes] = {}
    data = proc.stderr
    pos = 0
    while pos + 8 <= len(data):
        op_index, size = np.frombuffer(data, dtype=np.int32, count=2, offset=pos)
        traced[int(op_index)] = data[pos + 8 : pos + 8 + int(size)]
        pos += 8 + int(size)
    interpreter = reference_interpreter(tflite_bytes, preserve_all_tensors=True)
    for tensor, arr in zip(generated.inputs, sample, strict=True):
        interpreter.set_tensor(tensor.index, arr.reshape(tensor.shape))
    interpreter.invoke()
    for op in model.operators:
        expected = interpreter.get_tensor(op.outputs[0]).tobytes()
        if traced.get(op.index) != expected:
            layer = model.tensors[op.outputs[0]].name
            return f"{op.index} {op.opcode} (layer {layer!r})"
    return None


def verify(
    tflite_bytes: bytes,
    n: int = 100,
    seed: int = 0,
    work_dir: Path | None = None,
    real_inputs: list[np.ndarray] | None = None,
    defines: Sequence[str] = (),
) -> VerifyResult:
    """Compiles the model for the host and compares `n` random inputs with LiteRT's reference.

    `real_inputs` (one array per model input, first axis the samples, e.g. quantized windows
    of a dataset) are checked as well, after the random ones; `defines` set build options of
    the generated C (see the compiler's README).
    """
    model = read_model(tflite_bytes)
    prefix = "ts_model"
    generated = generate(model, prefix)
    samples = random_inputs(generated.inputs, n, seed, float_input_ranges(model))
    if real_inputs is not None:
        if len(real_inputs) != len(generated.inputs):
            raise ValueError(f"model has {len(generated.inputs)} inputs, got {len(real_inputs)}")
        converted = [
            np.asarray(batch).astype(t.dtype, copy=False).reshape(-1, *t.shape)
            for batch, t in zip(real_inputs, generated.inputs, strict=True)
        ]
        samples += [list(sample) for sample in zip(*converted, strict=True)]
    n = len(samples)
    with tempfile.TemporaryDirectory(prefix="ts-verify-") as tmp:
        directory = work_dir or Path(tmp)
        binary = build_host_binary(generated, directory, prefix, defines=defines)
        # The generated C and LiteRT run at the same time (two processes, two cores).
        with ThreadPoolExecutor(max_workers=1) as pool:
            host = pool.submit(run_host, binary, samples, generated.outputs)
            theirs = run_reference(tflite_bytes, samples, generated.inputs, generated.outputs)
            ours = host.result()
        differing = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
        culprit = None
        if differing:
            traced = build_host_binary(generated, directory, prefix, trace=True, defines=defines)
            culprit = first_differing_op(tflite_bytes, generated, traced, samples[differing[0]])
    max_diff = 0.0
    if differing:
        dtypes = [t.dtype for t in generated.outputs]
        for i in differing[:50]:
            offset = 0
            for t, dt in zip(generated.outputs, dtypes, strict=True):
                a = np.frombuffer(ours[i], dtype=dt, count=t.elements, offset=offset)
                b = np.frombuffer(theirs[i], dtype=dt, count=t.elements, offset=offset)
                diff = np.abs(a.astype(np.float64) - b.astype(np.float64)).max()
                max_diff = max(max_diff, float(diff))
                offset += t.nbytes
    return VerifyResult(
        inputs=n,
        differing=len(differing),
        max_abs_diff=max_diff,
        first_differing=differing[:10],
        first_differing_op=culprit,
    )
