"""Generates dependency-free C99 for an int8 (or 16x8) TFLite model: const weights, one arena,
op calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workers.compiler.checks import VIEW_OPS, UnsupportedModelError, check_output_shape, unsupported
from workers.compiler.emit import (
    C_TYPES,
    TYPE_MACROS,
    Emitter,
    OpContext,
    c_float,
    comment_text,
    same_padding,
)
from workers.compiler.fold import fold_shape_ops
from workers.compiler.kernel_files import copy_kernels
from workers.compiler.op_table import (
    IN_PLACE_OPS,
    ROW_BY_ROW_OPS,
    handler_for,
)
from workers.compiler.planner import MemoryPlan, PlannedOp, Reuse, check_plan, plan_memory
from workers.compiler.tflite_reader import PADDINGS, Model, Operator, Tensor, TfliteFormatError


@dataclass
class GeneratedModel:
    """The C sources of one compiled model and the figures that describe it."""

    files: dict[str, str]
    ops: list[str]
    arena_bytes: int
    lower_bound: int
    weights_bytes: int
    macs: int
    plan: MemoryPlan
    inputs: list[Tensor] = field(default_factory=list)
    outputs: list[Tensor] = field(default_factory=list)


def _row_overlap(model: Model, op: Operator) -> int | None:
    """Bytes the output must start before the input so that row-by-row execution is safe."""
    x = model.tensors[op.inputs[0]]
    y = model.tensors[op.outputs[0]]
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != 1:
        return None
    _, ih, iw, ic = x.shape
    _, oh, ow, oc = y.shape
    opts = op.options
    stride = int(opts.get("stride_h", 1) or 1)
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        kh = model.tensors[op.inputs[1]].shape[1]
        dilation = int(opts.get("dilation_h_factor", 1) or 1)
    else:
        kh = int(opts.get("filter_height", 1) or 1)
        dilation = 1
    padding = PADDINGS.get(int(opts.get("padding", 1)), "VALID")
    pad_top = same_padding(ih, oh, kh, stride, dilation) if padding == "SAME" else 0
    row_in = iw * ic * x.dtype.itemsize
    row_out = ow * oc * y.dtype.itemsize
    # Output row r must end before the first input row that row r still reads.
    return max((r + 1) * row_out - max(0, stride * r - pad_top) * row_in for r in range(oh))


def _planned_ops(model: Model) -> list[PlannedOp]:
    planned = []
    for op in model.operators:
        inputs = [i for i in op.inputs if i >= 0 and not model.tensors[i].is_constant]
        outputs = [i for i in op.outputs if i >= 0]
        reuse = Reuse.NONE
        reusable: tuple[int, ...] = (0,)
        overlap = 0
        if op.opcode in VIEW_OPS:
            reuse = Reuse.VIEW
            inputs = inputs[:1]
        elif op.opcode in IN_PLACE_OPS:
            reuse = Reuse.IN_PLACE
            all_inputs = [i for i in op.inputs if i >= 0]
            reusable = tuple(
                inputs.index(all_inputs[p])
                for p in IN_PLACE_OPS[op.opcode]
                if p < len(all_inputs) and all_inputs[p] in inputs
            )
        elif op.opcode in ROW_BY_ROW_OPS and inputs and inputs[0] == op.inputs[0]:
            rows = _row_overlap(model, op)
            if rows is not None:
                reuse = Reuse.OVERLAP
                overlap = rows
        planned.append(
            PlannedOp(
                inputs=inputs,
                outputs=outputs,
                reuse=reuse,
                reusable_inputs=reusable,
                overlap=overlap,
            )
        )
    return planned


def check_supported(model: Model) -> None:
    """Raises `UnsupportedModelError` naming the first op the compiler cannot handle."""
    for op in model.operators:
        handler_for(model, op)
    for index in model.inputs + model.outputs:
        t = model.tensors[index]
        if t.type_code not in C_TYPES:
            raise UnsupportedModelError(f"model input/output {t.name!r} has type {t.type_name}")


def generate(model: Model, prefix: str = "ts_model") -> GeneratedModel:
    """Plans memory and emits `<prefix>.h` and `<prefix>.c` for the model."""
    model = fold_shape_ops(model)
    check_supported(model)
    sizes: dict[int, int] = {}
    alignments: dict[int, int] = {}
    for t in model.tensors:
        if not t.is_constant:
            try:
                sizes[t.index] = t.nbytes
            except ValueError as exc:
                raise UnsupportedModelError(str(exc)) from exc
            alignments[t.index] = max(1, t.dtype.itemsize)
    planned = _planned_ops(model)
    plan = plan_memory(planned, sizes, model.inputs, model.outputs, alignments)
    # Cheap insurance: never emit code whose live tensors overlap by mistake.
    check_plan(plan, sizes)
    em = Emitter(model, prefix, plan)
    upper = prefix.upper()
    for op in model.operators:
        ctx = OpContext(em, op)
        layer = comment_text(model.tensors[op.outputs[0]].name)
        em.body.append(f"/* {op.index}: {op.opcode} -> {layer} */")
        try:
            check_output_shape(model, op)
            handler_for(model, op)(ctx)
        except (UnsupportedModelError, TfliteFormatError):
            raise
        except (
            AssertionError,
            IndexError,
            KeyError,
            ValueError,
            TypeError,
            ZeroDivisionError,
        ) as exc:
            # A handler meeting tensors its operator cannot have (a damaged or hand-edited file:
            # missing quantization, shapes that disagree) refuses the model by the operator.
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise unsupported(model, op, f"its tensors do not fit the operator ({detail})") from exc
        out_index = op.outputs[0]
        em.body.append(
            f"{upper}_TRACE({op.index}, {em.tensor_ptr(out_index, 'const void')}, "
            f"{model.tensors[out_index].nbytes});"
        )

    arena = max(plan.arena_bytes, 1)
    inputs = [model.tensors[i] for i in model.inputs]
    outputs = [model.tensors[i] for i in model.outputs]
    header = _header(prefix, upper, arena, inputs, outputs)
    source = _source(prefix, upper, arena, em, model, inputs, outputs)
    return GeneratedModel(
        files={f"{prefix}.h": header, f"{prefix}.c": source},
        ops=[op.opcode for op in model.operators],
        arena_bytes=plan.arena_bytes,
        lower_bound=plan.lower_bound,
        weights_bytes=em.weights_bytes,
        macs=em.macs,
        plan=plan,
        inputs=inputs,
        outputs=outputs,
    )


def _io_macros(upper: str, kind: str, tensors: list[Tensor]) -> list[str]:
    lines = []
    for i, t in enumerate(tensors):
        scale, zp = (t.quantization.scale, t.quantization.zero_point) if t.quantization else (0, 0)
        base = f"#define {upper}_{kind}{i}"
        dims = ", ".join(str(d) for d in t.shape)
        lines += [
            f"{base}_TYPE        {TYPE_MACROS[t.type_code]}",
            f"{base}_ELEMENTS    {t.elements}",
            f"{base}_BYTES       {t.nbytes}",
            f"{base}_SCALE       {c_float(scale)}",
            f"{base}_ZERO_POINT  ({zp})",
            f"{base}_RANK        {len(t.shape)}",
            f"{base}_DIMS        {{{dims}}}",
        ]
    return lines


def _header(
    prefix: str, upper: str, arena: int, inputs: list[Tensor], outputs: list[Tensor]
) -> str:
    guard = f"{upper}_H"
    lines = [
        f"/* {prefix}: a compiled TinyStudio model. Write inputs through {prefix}_input(),",
        f" * call {prefix}_invoke(), read outputs through {prefix}_output(). */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        "#ifndef TS_TYPE_FLOAT32",
        "#define TS_TYPE_FLOAT32 0",
        "#endif",
        "#ifndef TS_TYPE_INT32",
        "#define TS_TYPE_INT32 2",
        "#endif",
        "#ifndef TS_TYPE_UINT8",
        "#define TS_TYPE_UINT8 3",
        "#endif",
        "#ifndef TS_TYPE_INT16",
        "#define TS_TYPE_INT16 7",
        "#endif",
        "#ifndef TS_TYPE_INT8",
        "#define TS_TYPE_INT8 9",
        "#endif",
        "",
        f"#define {upper}_ARENA_BYTES        {arena}",
        f"#define {upper}_INPUT_COUNT        {len(inputs)}",
        f"#define {upper}_OUTPUT_COUNT       {len(outputs)}",
        *_io_macros(upper, "INPUT", inputs),
        *_io_macros(upper, "OUTPUT", outputs),
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        f"void *{prefix}_input(int index);",
        f"void *{prefix}_output(int index);",
        f"int {prefix}_invoke(void);",
        f"extern const char *const {prefix}_op_names[];",
        f"extern const int {prefix}_op_count;",
        "",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "",
        f"#endif /* {guard} */",
        "",
    ]
    return "\n".join(lines)


def _source(
    prefix: str,
    upper: str,
    arena: int,
    em: Emitter,
    model: Model,
    inputs: list[Tensor],
    outputs: list[Tensor],
) -> str:
    in_offsets = ", ".join(str(em.plan.offsets[t.index]) for t in inputs) or "0"
    out_offsets = ", ".join(str(em.plan.offsets[t.index]) for t in outputs) or "0"
    names = ", ".join(f'"{op.opcode}"' for op in model.operators)
    body = "\n    ".join(em.body)
    gathered = em.gathered_window
    refusal = (
        f"this model gathers convolution windows of {gathered} bytes: "
        f"TS_CONV_GATHER_BYTES must be at least {gathered}"
    )
    gather_check = (
        f"""
/* Convolution windows of up to {gathered} bytes are gathered (their filters are laid out so). */
#if TS_CONV_GATHER_BYTES < {gathered}
#error "{refusal}"
#endif
"""
        if gathered
        else ""
    )
    return f"""/* {prefix}: generated by the TinyStudio model compiler. Do not edit. */
#include "{prefix}.h"

#include <string.h>

#include "ts_kernels.h"
{gather_check}
/* Hook called after every op with its output (op index, data, bytes); off unless defined. */
#ifndef {upper}_TRACE
#define {upper}_TRACE(op, data, bytes) ((void)0)
#endif

/* The one arena holding every activation tensor; offsets come from the memory planner. */
#if defined(__GNUC__)
static uint8_t {prefix}_arena[{arena}] __attribute__((aligned(16)));
#else
static uint8_t {prefix}_arena[{arena}];
#endif

static const int32_t {prefix}_input_offsets[] = {{{in_offsets}}};
static const int32_t {prefix}_output_offsets[] = {{{out_offsets}}};

const char *const {prefix}_op_names[] = {{{names}}};
const int {prefix}_op_count = {len(model.operators)};

{"".join(em.data)}
void *{prefix}_input(int index)
{{
    if (index < 0 || index >= {upper}_INPUT_COUNT) {{
        return NULL;
    }}
    return {prefix}_arena + {prefix}_input_offsets[index];
}}

void *{prefix}_output(int index)
{{
    if (index < 0 || index >= {upper}_OUTPUT_COUNT) {{
        return NULL;
    }}
    return {prefix}_arena + {prefix}_output_offsets[index];
}}

int {prefix}_invoke(void)
{{
    {body}
    return 0;
}}
"""


def write_sources(generated: GeneratedModel, out_dir: Path) -> list[Path]:
    """Writes the model's C files and the shared kernels into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generated.files.items():
        path = out_dir / name
        path.write_text(text)
        written.append(path)
    return written + copy_kernels(out_dir)
