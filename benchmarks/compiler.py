"""Benchmarks the model compiler on the MLPerf Tiny models and ten common architectures.

For each model it prints (and writes as JSON) our arena against the lower bound and against
TFLM's arena (when the `tflite-micro` package is installed), the flash of our inference code
without weights, weights bytes against the .tflite size, instructions per inference and per MAC
on a virtual Cortex-M4 (QEMU mps2-an386, `-icount shift=0`, the firmware's insncount plugin),
and bit-exactness against LiteRT's reference kernels.

    python -m benchmarks.compiler [--inputs 1000] [--json out.json] [--per-op]
                                  [--models NAME ...] [--architectures NAME ...]

The second set is ten Keras architectures with random weights (benchmarks/architectures.py),
quantized as uploaded float models are.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.compiler import compile_model, verify  # noqa: E402

MODELS_DIR = ROOT / "tests" / "data" / "models"
MODELS = (
    "ad01_int8",
    "kws_ref_model",
    "pretrainedResnet_quant",
    "str_ww_ref_model",
    "vww_96_int8",
)


def cortex_m4(tflite: bytes, dsp: bool, per_op: bool) -> tuple[Any, bool | None]:
    """One inference on the virtual Cortex-M4 (instructions, code bytes, painted stack and its
    static bound; None without the toolchain), and whether its outputs equal LiteRT's
    reference for a random input."""
    from workers.compiler.cortex_m import CortexMUnavailable, run_on_cortex_m4
    from workers.compiler.tflite_reader import read_model
    from workers.compiler.verify import random_inputs, run_reference

    model = read_model(tflite)
    ins = [model.tensors[i] for i in model.inputs]
    outs = [model.tensors[i] for i in model.outputs]
    sample = random_inputs(ins, 1, seed=99)[0]
    try:
        run = run_on_cortex_m4(tflite, sample, dsp=dsp, per_op=per_op)
    except CortexMUnavailable:
        return None, None
    if per_op:
        print("  instructions per op:", run.per_op_instructions, file=sys.stderr)
    expected = run_reference(tflite, [sample], ins, outs)[0]
    return run, b"".join(run.outputs) == expected


def tflm_arena_isolated(tflite: bytes) -> tuple[int | None, int | None, int | None]:
    """tflm_arena in a child process: TFLM's Python interpreter crashes the process on some
    models (a dense autoencoder among the Keras set); such a model gets no TFLM figures."""
    with tempfile.TemporaryDirectory(prefix="ts-tflm-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(tflite)
        child = subprocess.run(
            [sys.executable, "-c",
             "import json, sys; from benchmarks.compiler import tflm_arena; "
             "print(json.dumps(tflm_arena(open(sys.argv[1], 'rb').read())))", str(path)],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
    if child.returncode != 0:
        reason = f"exit {child.returncode}"
        print(f"  TFLM's interpreter failed on this model ({reason})", file=sys.stderr)
        return None, None, None
    total, head, smallest = json.loads(child.stdout.strip().splitlines()[-1])
    return total, head, smallest


def tflm_arena(tflite: bytes) -> tuple[int | None, int | None, int | None]:
    """TFLM's arena: print_allocations() total and head (activations), and the smallest arena
    that still allocates (found by bisection)."""
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        return None, None, None

    def allocates(size: int) -> bool:
        try:
            interpreter = runtime.Interpreter.from_bytes(tflite, arena_size=size)
            del interpreter
            return True
        except RuntimeError:
            return False

    high = 1 << 16
    while not allocates(high):
        high *= 2
    low = 0
    while high - low > 16:
        mid = (low + high) // 2
        if allocates(mid):
            high = mid
        else:
            low = mid
    reported = None
    interpreter = runtime.Interpreter.from_bytes(tflite, arena_size=high + 4096)
    read_fd, write_fd = os.pipe()
    saved = os.dup(2)
    os.dup2(write_fd, 2)
    try:
        interpreter.print_allocations()
    finally:
        os.dup2(saved, 2)
        os.close(write_fd)
    text = os.read(read_fd, 1 << 20).decode(errors="replace")
    os.close(read_fd)
    match = re.search(r"allocation total (\d+)", text)
    if match:
        reported = int(match.group(1))
    head = re.search(r"allocation head (\d+)", text)
    return reported, int(head.group(1)) if head else None, high


def measure(name: str, tflite: bytes, inputs: int, per_op: bool) -> dict[str, Any]:
    """One model's row: arena against its bound and TFLM's, code, stack, instructions, and
    exactness on `inputs` random inputs; printed as it is measured."""
    with tempfile.TemporaryDirectory(prefix="ts-bench-") as tmp:
        report = compile_model(tflite, Path(tmp))
    portable, m4_exact = cortex_m4(tflite, False, per_op)
    dsp, dsp_exact = cortex_m4(tflite, True, per_op)
    instructions = portable.instructions if portable else None
    code = portable.code_bytes if portable else 0
    dsp_instructions = dsp.instructions if dsp else None
    stack = dsp.stack_bytes if dsp else None
    tflm_total, tflm_head, tflm_min = tflm_arena_isolated(tflite)
    result = verify(tflite, inputs, seed=7) if inputs else None
    row: dict[str, Any] = {
        "model": name,
        "arena_bytes": report.arena_bytes,
        "lower_bound": report.lower_bound,
        "tflm_arena_total": tflm_total,
        "tflm_arena_head": tflm_head,
        "tflm_arena_min": tflm_min,
        "code_bytes_m4": code,
        "code_bytes_m4_dsp": dsp.code_bytes if dsp else None,
        # The DSP build's (the studio's firmware uses it): painted, and bounded statically.
        "stack_bytes_m4_dsp": stack,
        "stack_bound_bytes_m4_dsp": dsp.stack_bound_bytes if dsp else None,
        "ram_bytes_m4_dsp": report.arena_bytes + stack if stack is not None else None,
        "weights_bytes": report.weights_bytes,
        "tflite_bytes": report.tflite_bytes,
        "macs": report.macs,
        "ops": sorted(set(report.ops)),
        "m4_instructions": instructions,
        "m4_instructions_dsp": dsp_instructions,
        "instructions_per_mac": (instructions / report.macs) if instructions else None,
        "instructions_per_mac_dsp": (dsp_instructions / report.macs) if dsp_instructions else None,
        "m4_output_matches_reference": m4_exact and dsp_exact,
        "inputs_checked": result.inputs if result else 0,
        "inputs_differing": result.differing if result else None,
    }
    per_mac = row["instructions_per_mac"]
    per_mac_dsp = row["instructions_per_mac_dsp"]
    exact = f"{row['inputs_checked'] - (row['inputs_differing'] or 0)}/{row['inputs_checked']}"
    print(
        f"{name:32s} {report.arena_bytes:>7} {report.lower_bound:>7} "
        f"{report.arena_bytes / report.lower_bound:>5.2f} {tflm_total!s:>10} "
        f"{tflm_head!s:>9} {tflm_min!s:>8} {code:>7} {report.weights_bytes:>8} "
        f"{report.tflite_bytes:>8} {report.macs:>9} "
        f"{per_mac and round(per_mac, 2)!s:>8} {per_mac_dsp and round(per_mac_dsp, 2)!s:>5} "
        f"{stack!s:>5} {row['stack_bound_bytes_m4_dsp']!s:>5} {row['ram_bytes_m4_dsp']!s:>7} "
        f"{row['m4_output_matches_reference']!s:>5} {exact:>9}",
        flush=True,
    )
    return row


def main() -> None:
    from benchmarks.architectures import ARCHITECTURES, build_all

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1000, help="random inputs for exactness")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results" / "compiler.json"
    )
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument(
        "--architectures", nargs="*", default=list(ARCHITECTURES),
        help="Keras architectures built with random weights (benchmarks/architectures.py)",
    )  # fmt: skip
    parser.add_argument("--per-op", action="store_true", help="print instructions per op")
    args = parser.parse_args()

    header = (
        f"{'model':32s} {'arena':>7} {'bound':>7} {'ratio':>5} {'TFLM total':>10} "
        f"{'TFLM head':>9} {'TFLM min':>8} {'code M4':>7} {'weights':>8} {'.tflite':>8} "
        f"{'MACs':>9} {'insn/MAC':>8} {'DSP':>5} {'stack':>5} {'bound':>5} {'RAM':>7} "
        f"{'M4 ok':>5} {'exact':>9}"
    )
    print(header)
    rows = [
        measure(name, (MODELS_DIR / f"{name}.tflite").read_bytes(), args.inputs, args.per_op)
        for name in args.models
    ]
    with tempfile.TemporaryDirectory(prefix="ts-arch-") as tmp:
        built = build_all(args.architectures, Path(tmp)) if args.architectures else {}
    rows += [
        {**measure(f"keras:{name}", tflite, args.inputs, args.per_op), "set": "keras"}
        for name, tflite in built.items()
    ]
    args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
